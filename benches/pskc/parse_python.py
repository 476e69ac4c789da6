"""The yardstick of the PSKC import benchmark: python-pskc parses the file, and every
secret is decrypted (python-pskc checks its MAC on access).

usage: parse_python.py FILE PSK_HEX
"""

import sys

from pskc import PSKC


def main():
    pskc = PSKC(sys.argv[1])
    pskc.encryption.key = bytes.fromhex(sys.argv[2])
    count = sum(1 for key in pskc.keys if key.secret)
    print("keys:", count)


if __name__ == "__main__":
    main()
