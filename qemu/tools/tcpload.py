#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal TCP traffic for the tests, faster than one socat per connection.

  tcpload.py server PORT          answer every connection with "pong"
  tcpload.py client HOST PORT N   open N connections; each must get "pong"
  tcpload.py hold HOST PORT FILE  open one connection, print its local
                                  ADDR:PORT once it got "pong", and keep it
                                  open (no FIN) until FILE exists (at most
                                  15 min: a failed test may never make it)
"""
import os
import socket
import socketserver
import sys
import time


class Pong(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"pong\n")


def main():
    if sys.argv[1] == "server":
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer.daemon_threads = True
        with socketserver.ThreadingTCPServer(("0.0.0.0", int(sys.argv[2])), Pong) as srv:
            srv.serve_forever()
    if sys.argv[1] == "hold":
        with socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5) as s:
            if s.recv(16) != b"pong\n":
                return 1
            addr, port = s.getsockname()[:2]
            print(f"{addr}:{port}", flush=True)
            end = time.monotonic() + 900
            while not os.path.exists(sys.argv[4]) and time.monotonic() < end:
                time.sleep(0.2)
        return 0
    host, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for i in range(n):
        with socket.create_connection((host, port), timeout=5) as s:
            data = s.recv(16)
            if data != b"pong\n":
                print(f"connection {i}: got {data!r}", file=sys.stderr)
                return 1
    print(f"{n} connections answered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
