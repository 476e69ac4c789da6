"""Writes a PSKC file with python-pskc (an independent implementation) for the import tests.

Reads a JSON specification on stdin and writes the PSKC XML to stdout:

    {"protection": {"kind": "plain"}
                 | {"kind": "psk", "key_hex": "...", "algorithm": "aes256-cbc",
                    "mac_algorithm": "hmac-sha256"}
                 | {"kind": "password", "password": "...", "iterations": 1000,
                    "algorithm": "aes128-cbc", "prf": "hmac-sha256" or null,
                    "mac_algorithm": "hmac-sha1"},
     "devices": [{"serial": "...", "manufacturer": "...", "user": "...",
                  "keys": [{"id": "...", "secret_hex": "...", "algorithm": "<URI>",
                            "digits": 8, "counter": 5, "time_interval": 60,
                            "suite": "HMAC-SHA256", "issuer": "..."}]}]}
"""

import io
import json
import sys

from pskc import PSKC


def main():
    spec = json.load(sys.stdin)
    pskc = PSKC()
    for device_spec in spec["devices"]:
        device = pskc.add_device(
            serial=device_spec.get("serial"),
            manufacturer=device_spec.get("manufacturer"),
            device_userid=device_spec.get("user"),
        )
        for key_spec in device_spec["keys"]:
            key = device.add_key(
                id=key_spec.get("id"),
                secret=bytes.fromhex(key_spec["secret_hex"]),
                algorithm=key_spec["algorithm"],
                response_length=key_spec.get("digits"),
                response_encoding="DECIMAL",
                algorithm_suite=key_spec.get("suite"),
                issuer=key_spec.get("issuer"),
            )
            if key_spec.get("counter") is not None:
                key.counter = key_spec["counter"]
            if key_spec.get("time_interval") is not None:
                key.time_offset = 0
                key.time_interval = key_spec["time_interval"]
    protection = spec["protection"]
    if protection["kind"] == "psk":
        pskc.encryption.setup_preshared_key(
            key=bytes.fromhex(protection["key_hex"]),
            algorithm=protection["algorithm"],
            key_name="Pre-shared-key",
        )
    elif protection["kind"] == "password":
        pskc.encryption.setup_pbkdf2(
            protection["password"],
            iterations=protection["iterations"],
            algorithm=protection["algorithm"],
            prf=protection.get("prf"),
        )
    if protection["kind"] != "plain" and protection.get("mac_algorithm"):
        pskc.mac.setup(algorithm=protection["mac_algorithm"])
    out = io.BytesIO()
    pskc.write(out)
    sys.stdout.buffer.write(out.getvalue())


if __name__ == "__main__":
    main()
