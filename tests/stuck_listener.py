#!/usr/bin/env python3
"""stuck_listener.py PORTFILE SECONDS [COUNTFILE] — a TCP peer that accepts
every connection on 127.0.0.1 and never reads from it: the output of a
stream it receives fills the kernel buffers and then stalls, like an ingest
that hung. Writes its port to PORTFILE, and the number of connections it
holds to COUNTFILE after each accept. Exits after SECONDS."""
import socket
import sys
import time


def main():
    portfile, seconds = sys.argv[1], float(sys.argv[2])
    countfile = sys.argv[3] if len(sys.argv) > 3 else None
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    with open(portfile, "w") as f:
        f.write(str(s.getsockname()[1]))
    held = []
    end = time.time() + seconds
    s.settimeout(1)
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        held.append(c)
        if countfile:
            with open(countfile, "w") as f:
                f.write(str(len(held)))


if __name__ == "__main__":
    main()
