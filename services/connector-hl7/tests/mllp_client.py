"""Sends HL7 v2 message files over MLLP with the `hl7` package's MLLPClient (a client nobody
here wrote) and prints, per file, the ACK's MSA-1 and MSA-2 as JSON lines.

usage: mllp_client.py <host> <port> <file>...
"""

import json
import sys

import hl7
from hl7.client import MLLPClient


def main() -> None:
    host, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with MLLPClient(host, port) as client:
        for path in files:
            with open(path, "rb") as f:
                message = f.read()
            raw = client.send_message(message)  # bytes: sent as they are
            body = raw.strip(b"\x0b\x1c\r")
            encoding = "gb18030" if b"GB 18030" in body else "utf-8"
            ack = hl7.parse(body.decode(encoding))
            msa = ack.segment("MSA")
            print(
                json.dumps(
                    {
                        "file": path,
                        "code": str(msa[1]),
                        "control_id": str(msa[2]),
                        "version": str(ack.segment("MSH")[12]),
                        "receiving_facility": str(ack.segment("MSH")[6]),
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
