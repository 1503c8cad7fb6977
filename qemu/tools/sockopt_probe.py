#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Calls the ip_vs_sync_auth sockopt with arbitrary arguments and prints the
errno name it returned ("OK" on success), for input-validation tests.

  sockopt_probe.py set HEXBYTES          setsockopt with these bytes
  sockopt_probe.py set-len N             setsockopt with N bytes of 0x41
  sockopt_probe.py set-fill C N          setsockopt with N times character C
  sockopt_probe.py set-null N            setsockopt with a NULL pointer, optlen N
  sockopt_probe.py get BUFLEN            getsockopt with a BUFLEN buffer
  sockopt_probe.py get-null BUFLEN       getsockopt with a NULL buffer
  sockopt_probe.py other OPTNAME         setsockopt of a neighbouring optname
  sockopt_probe.py ipsec-cmd CMD AF VIP FLAGS QUOTA
                                         setsockopt(1169) with a struct
                                         ipvsa_ipsec_cmd (AF 2 or 10)

The option is 1168 (the sync key) unless $SO names another.
"""
import ctypes
import errno
import ipaddress
import os
import socket
import struct
import sys

SO = int(os.environ.get("SO", "1168"))
libc = ctypes.CDLL(None, use_errno=True)


def result(rc):
    if rc == 0:
        return "OK"
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fd = s.fileno()
    op, arg = sys.argv[1], sys.argv[2]
    if op in ("set", "set-len", "set-fill"):
        if op == "set-fill":
            data = arg.encode() * int(sys.argv[3])
        else:
            data = bytes.fromhex(arg) if op == "set" else b"A" * int(arg)
        buf = ctypes.create_string_buffer(data, len(data))
        rc = libc.setsockopt(fd, socket.IPPROTO_IP, SO, buf, len(data))
    elif op == "set-null":
        rc = libc.setsockopt(fd, socket.IPPROTO_IP, SO, None, int(arg))
    elif op in ("get", "get-null"):
        n = ctypes.c_uint(int(arg))
        buf = ctypes.create_string_buffer(max(int(arg), 1)) if op == "get" else None
        rc = libc.getsockopt(fd, socket.IPPROTO_IP, SO, buf, ctypes.byref(n))
        if rc == 0:
            print(f"OK len={n.value}")
            return 0
    elif op == "ipsec-cmd":
        cmd, af, vip, flags, quota = sys.argv[2:7]
        packed = ipaddress.ip_address(vip).packed.ljust(16, b"\0")
        data = struct.pack("=II16sII", int(cmd), int(af), packed, int(flags), int(quota))
        buf = ctypes.create_string_buffer(data, len(data))
        rc = libc.setsockopt(fd, socket.IPPROTO_IP, 1169, buf, len(data))
    elif op == "other":
        buf = ctypes.create_string_buffer(b"x", 1)
        rc = libc.setsockopt(fd, socket.IPPROTO_IP, int(arg), buf, 1)
    else:
        raise SystemExit(__doc__)
    print(result(rc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
