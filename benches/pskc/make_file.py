"""Writes the PSKC benchmark file with python-pskc: N HOTP keys (20-byte random secrets,
serial BENCH-<n>), AES-128-CBC with the pre-shared key given, HMAC-SHA1 over each value.

usage: make_file.py N PSK_HEX OUT
"""

import os
import sys

from pskc import PSKC


def main():
    count, psk_hex, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    pskc = PSKC()
    pskc.encryption.setup_preshared_key(key=bytes.fromhex(psk_hex), algorithm="aes128-cbc")
    for n in range(count):
        pskc.add_key(
            id="BENCH-%d" % n,
            serial="BENCH-%d" % n,
            manufacturer="bench",
            secret=os.urandom(20),
            algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp",
            response_length=6,
            counter=0,
        )
    pskc.write(out)


if __name__ == "__main__":
    main()
