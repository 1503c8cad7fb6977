#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Many IPVS connections quickly, for the sync benchmarks.

  udpconns.py send --src CIP --dst VIP --port P --count N [--sport-base B]
                   [--procs K]
      one UDP datagram from each of N source ports (B, B+1, ...) to VIP:P,
      through one raw socket; each new source port is a new IPVS
      connection. With K processes, each sends every K-th port through its
      own socket (a guest with K CPUs makes connections up to K times as
      fast). Prints the number sent (--timed: and the seconds it took).
  udpconns.py sink PORT
      receive and discard UDP on PORT (the real server), so that it answers
      nothing, not even ICMP port unreachable.

Opening N TCP connections from Python under TCG takes minutes for 20 000;
this makes the same number of IPVS connection entries in seconds.
"""
import argparse
import os
import socket
import struct
import sys


def send_ports(a, first, step):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    payload = b"sync-bench"
    ulen = 8 + len(payload)
    # IPv4 header: the kernel fills in the total length, id and checksum
    # (IP_HDRINCL); the UDP checksum 0 means "none" over IPv4.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    pkt = bytearray(ip + struct.pack("!HHHH", 0, a.port, ulen, 0) + payload)
    for i in range(first, a.count, step):
        struct.pack_into("!H", pkt, 20, a.sport_base + i)
        s.sendto(pkt, (a.dst, 0))


def cmd_send(a):
    import time
    start = time.monotonic()
    kids = []
    for k in range(1, a.procs):
        pid = os.fork()
        if pid == 0:
            try:
                send_ports(a, k, a.procs)
            except BaseException as e:  # noqa: BLE001 - any failure is the child's status
                print(f"udpconns: process {k}: {e}", file=sys.stderr)
                os._exit(1)
            os._exit(0)
        kids.append(pid)
    failed = 0
    try:
        send_ports(a, 0, a.procs)
    finally:
        for pid in kids:
            _, status = os.waitpid(pid, 0)
            failed += status != 0
    if failed:
        sys.exit(f"udpconns: {failed} of {a.procs} processes failed")
    print(f"{a.count} {time.monotonic() - start:.3f}" if a.timed else a.count)


def cmd_sink(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    while True:
        s.recv(2048)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--src", required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--sport-base", type=int, default=10000)
    s.add_argument("--procs", type=int, default=1)
    s.add_argument("--timed", action="store_true")
    k = sub.add_parser("sink")
    k.add_argument("port", type=int)
    a = p.parse_args()
    if a.cmd == "send" and a.sport_base + a.count > 65536:
        p.error("source ports would pass 65535")
    if a.cmd == "send" and a.procs < 1:
        p.error("--procs must be at least 1")
    {"send": cmd_send, "sink": cmd_sink}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
