"""A port where TCP connects hang: a listening socket whose accept queue is full.

Prints `PORT <n>` once the queue is full; the kernel then drops further SYNs, so clients
wait for their connect timeout (what an unreachable broker costs).
"""

import socket
import sys
import time


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(client)
    time.sleep(0.2)
    print("PORT %d" % port, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
