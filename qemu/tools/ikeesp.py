#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Crafts IKE / NAT-T / ESP / AH packets and plays an IKE responder, for the
IPsec gate tests. Python standard library only (raw sockets; run as root).

  ikeesp.py ike --dst VIP --icookie HEX [--rcookie HEX] [--dport 500|4500]
                [--sport N] [--src ADDR] [--v1] [--reply-timeout S]
      Sends one IKE header (with the non-ESP marker on 4500). With
      --reply-timeout, waits for the responder's answer and prints its
      responder cookie in hex (exit 1 if none came).
      With --exthdrs N (IPv6), N Destination Options headers come before
      the UDP header (the whole packet is built here, raw).
  ikeesp.py keepalive --dst VIP            one NAT-T keepalive (4500 -> 4500)
  ikeesp.py esp --dst VIP --spi N [--proto esp|ah|udp] [--count N]
                [--expect icmp|silence] [--wait S]
      Sends ESP (IP proto 50), AH (51) or ESP in UDP 4500. With --expect,
      listens for ICMP protocol unreachable (ICMPv6 parameter problem,
      unrecognized next header) about it, for at most S seconds (5), and
      exits 1 if the expectation fails. Silence is concluded only from a
      positive control that arrived later: an ICMP echo request sent to
      VIP after the packets, from the same CPU, whose reply comes back on
      the path an error would have taken before it. Without the reply it
      prints "unknown" and exits 2. --exthdrs N (IPv6, ESP and AH): N
      Destination Options headers before it; the expected ICMPv6 points at
      the last one's next header.
  ikeesp.py esp-stream --dst VIP --spi N --seconds S [--stop-file F]
      Sends ESP packets as fast as one socket can for S seconds, or until
      the file F exists; prints how many it sent.
  ikeesp.py flood --dst VIP --src-prefix A.B --count N [--establish]
      Sends N IKE_SA_INIT messages from spoofed sources A.B.x.y:500
      (IPv4, raw IP header; x = 1 + i / 250, so 250 sources per /24),
      each with its own initiator cookie; with --establish, then a second
      message with a responder cookie from each (what establishes a client
      in direct routing).
  ikeesp.py flood --dst VIP --src-prefix A.B --count N --seconds S --pps R
      Sends IKE_SA_INIT from the same N sources in turn (0, 1, ..., N-1,
      0, ...), R a second, for S seconds: each source's entry is renewed
      every N / R seconds. Prints how many it sent.
  ikeesp.py flood6 --dst VIP6 --src-prefix P:Q --count N [--establish]
      The same over IPv6 from P:Q:i::1, each source in its own /64.
  ikeesp.py esp-flood --dst VIP (--src-prefix A.B | --src ADDR) --seconds S
      ESP from spoofed sources A.B.x.y (one per packet, cycling through
      62500), or all from ADDR (a victim an attacker wants ICMP sent to),
      as fast as one raw socket can for S seconds; prints the count.
  ikeesp.py responder --cookie HEX --log FILE [--per-sa]
      Real server: answers IKE on UDP 500 and 4500 (IPv4 and IPv6) with the
      given responder cookie (with --per-sa, its first 4 bytes and the
      initiator cookie's first 4, a cookie per IKE SA), and logs every IKE,
      ESP, AH and ESP-in-UDP packet it receives as
      "<kind> <source> <cookie-or-spi>" lines.
"""
import argparse
import ipaddress
import os
import select
import socket
import struct
import sys
import time

IPPROTO_ESP = 50
IPPROTO_AH = 51


def family(addr):
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def ike_header(icookie, rcookie, v1=False, extra=b""):
    version = 0x10 if v1 else 0x20
    exchange = 2 if v1 else 34   # Main Mode / IKE_SA_INIT
    length = 28 + len(extra)
    return (icookie + rcookie + struct.pack("!BBBBII", 0, version, exchange, 0, 0, length)
            + extra)


def v6_source(dst):
    """The source address the kernel picks for @dst."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect((dst, 9))
    return s.getsockname()[0]


def dest_opts_chain(n, proto):
    """@n Destination Options headers (8 bytes each, one PadN option), the
    last naming @proto."""
    chain = b""
    for i in range(n):
        chain += struct.pack("!BB", 60 if i + 1 < n else proto, 0) + b"\x01\x04" + bytes(4)
    return chain


def send_v6_exthdrs(dst, proto, payload, n, src=None):
    """Sends an IPv6 packet to @dst (from @src, default the address the
    kernel would pick) with @n Destination Options headers before @payload
    of protocol @proto (UDP: @payload is the UDP header and data, whose
    checksum is filled in here)."""
    src = src or v6_source(dst)
    s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    if proto == socket.IPPROTO_UDP:
        pseudo = s6 + d6 + struct.pack("!IxxxB", len(payload), socket.IPPROTO_UDP)
        c = checksum(pseudo + payload[:6] + b"\0\0" + payload[8:]) or 0xFFFF
        payload = payload[:6] + struct.pack("!H", c) + payload[8:]
    body = dest_opts_chain(n, proto) + payload
    first = 60 if n else proto
    pkt = struct.pack("!IHBB", 6 << 28, len(body), first, 64) + s6 + d6 + body
    # IPPROTO_RAW on an IPv6 raw socket: the header is ours (IPV6_HDRINCL).
    r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    r.sendto(pkt, (dst, 0))
    r.close()


def udp_socket(fam, port, src=None):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), port))
    return s


def cmd_ike(a):
    icookie = bytes.fromhex(a.icookie)
    rcookie = bytes.fromhex(a.rcookie) if a.rcookie else bytes(8)
    msg = ike_header(icookie, rcookie, a.v1, b"\0" * 8)
    if a.dport == 4500:
        msg = bytes(4) + msg
    sport = a.sport if a.sport is not None else a.dport
    s = udp_socket(family(a.dst), sport, a.src)
    if a.exthdrs:
        udp = struct.pack("!HHHH", sport, a.dport, 8 + len(msg), 0) + msg
        send_v6_exthdrs(a.dst, socket.IPPROTO_UDP, udp, a.exthdrs)
    else:
        s.sendto(msg, (a.dst, a.dport))
    if a.reply_timeout is None:
        return 0
    s.settimeout(a.reply_timeout)
    try:
        data, _ = s.recvfrom(2048)
    except socket.timeout:
        print("no reply", file=sys.stderr)
        return 1
    if a.dport == 4500:
        data = data[4:]
    print(data[8:16].hex())
    return 0


def cmd_keepalive(a):
    s = udp_socket(family(a.dst), 4500)
    s.sendto(b"\xff", (a.dst, 4500))
    return 0


def icmp_matches(fam, data, dst, udp=False, exthdrs=0):
    """Is @data (from a raw ICMP socket) an ICMP error about our packet?
    For ESP/AH: protocol unreachable; for ESP in UDP: any unreachable.
    IPv6 behind @exthdrs Destination Options headers: parameter problem
    pointing at the last one's next-header byte."""
    if fam == socket.AF_INET:
        ihl = (data[0] & 0x0F) * 4
        icmp = data[ihl:]
        if len(icmp) < 8 + 20 or icmp[0] != 3 or (icmp[1] != 2 and not udp):
            return False
        inner = icmp[8:]
        protos = (socket.IPPROTO_UDP,) if udp else (IPPROTO_ESP, IPPROTO_AH)
        return inner[9] in protos and socket.inet_ntoa(inner[16:20]) == dst
    icmp = data
    if udp:
        return len(icmp) >= 8 + 40 and icmp[0] in (1, 4)
    if len(icmp) < 8 + 40 or icmp[0] != 4 or icmp[1] != 1:
        return False
    pointer = struct.unpack("!I", icmp[4:8])[0]
    inner = icmp[8:]
    if exthdrs:
        named, want = 60, 40 + 8 * (exthdrs - 1)
        if len(inner) < want + 1 or inner[want] not in (IPPROTO_ESP, IPPROTO_AH):
            return False
    else:
        named, want = inner[6], 6
    return (inner[6] == named and named in (60, IPPROTO_ESP, IPPROTO_AH) and pointer == want
            and socket.inet_ntop(socket.AF_INET6, inner[24:40]) == str(ipaddress.ip_address(dst)))


def echo_request(fam, ident, seq):
    """An ICMP (ICMPv6) echo request; the kernel sums ICMPv6 itself."""
    payload = b"ikeesp control"
    if fam == socket.AF_INET:
        csum = checksum(struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload)
        return struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload
    return struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload


def is_echo_reply(fam, data, ident, seq):
    if fam == socket.AF_INET:
        data = data[(data[0] & 0x0F) * 4:]
    want = 0 if fam == socket.AF_INET else 129
    return len(data) >= 8 and data[0] == want and struct.unpack("!HH", data[4:8]) == (ident, seq)


def cmd_esp(a):
    fam = family(a.dst)
    icmp = None
    # One CPU sends everything, so the packets (the control last) leave,
    # are handled by the peer and are answered in the order sent.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if a.expect:
        proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6
        icmp = socket.socket(fam, socket.SOCK_RAW, proto)
    body = struct.pack("!II", a.spi, 1) + b"\xab" * 32
    for i in range(a.count):
        if a.proto == "udp":
            s = udp_socket(fam, 4500)
            s.sendto(body, (a.dst, 4500))
            s.close()
        else:
            p = IPPROTO_ESP if a.proto == "esp" else IPPROTO_AH
            if p == IPPROTO_AH:
                # AH (next header ESP, payload length in 32-bit words - 2,
                # reserved, SPI, sequence, 12-byte ICV) over ESP: an AH+ESP
                # bundle. Over IPv6, IPVS skips AH as an extension header
                # and forwards by the ESP behind it.
                payload = (struct.pack("!BBHII", IPPROTO_ESP, 4, 0, a.spi, i + 1) + b"\xcd" * 12
                           + struct.pack("!II", a.spi, i + 1) + b"\xab" * 32)
            else:
                payload = struct.pack("!II", a.spi, i + 1) + b"\xab" * 32
            if a.exthdrs:
                send_v6_exthdrs(a.dst, p, payload, a.exthdrs)
                continue
            s = socket.socket(fam, socket.SOCK_RAW, p)
            s.sendto(payload, (a.dst, 0))
            s.close()
    if not icmp:
        return 0
    ident, seq = os.getpid() & 0xFFFF, a.spi & 0xFFFF
    if a.expect == "silence":
        icmp.sendto(echo_request(fam, ident, seq), (a.dst, 0))
    got = control = False
    deadline = time.monotonic() + a.wait
    # Read what has arrived even if this process was not scheduled until
    # after the deadline (a slow guest); stop when nothing is left then.
    while not got and not control:
        left = deadline - time.monotonic()
        r, _, _ = select.select([icmp], [], [], max(0, left))
        if not r:
            if left <= 0:
                break
            continue
        data = icmp.recv(4096)
        got = icmp_matches(fam, data, a.dst, a.proto == "udp", a.exthdrs)
        control = a.expect == "silence" and is_echo_reply(fam, data, ident, seq)
        if left < -1:
            break
    if a.expect == "silence" and not got and not control:
        print("unknown")
        print(f"no ICMP error and no echo reply from {a.dst} in {a.wait} s: "
              "silence not shown", file=sys.stderr)
        return 2
    print("icmp" if got else "silence")
    return 0 if (got == (a.expect == "icmp")) else 1


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(src, dst, proto, body, ident):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident & 0xFFFF, 0, 64,
                     proto, 0, src, dst)
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + body


# The responder cookie a spoofed flood "establishes" with.
FLOOD_RCOOKIE = bytes.fromhex("5a5a5a5a5a5a5a5a")


def flood_messages(i, establish):
    icookie = struct.pack("!Q", 0x5000000000000000 + i)
    yield ike_header(icookie, bytes(8))
    if establish:
        yield ike_header(icookie, FLOOD_RCOOKIE)


def cmd_flood(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    hi, lo = (int(x) for x in a.src_prefix.split("."))
    dst = socket.inet_aton(a.dst)
    if a.seconds is not None:
        # Paced: source n at start + n / pps, whatever the sends cost.
        start, sent = time.monotonic(), 0
        while True:
            due = start + sent / a.pps
            if due - start >= a.seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            i = sent % a.count
            src = bytes([hi, lo, 1 + i // 250, 1 + i % 250])
            payload = next(flood_messages(i, False))
            udp = struct.pack("!HHHH", 500, 500, 8 + len(payload), 0) + payload
            s.sendto(ipv4_packet(src, dst, socket.IPPROTO_UDP, udp, sent), (a.dst, 0))
            sent += 1
        print(sent)
        return 0
    for i in range(a.count):
        src = bytes([hi, lo, 1 + i // 250, 1 + i % 250])
        for payload in flood_messages(i, a.establish):
            udp = struct.pack("!HHHH", 500, 500, 8 + len(payload), 0) + payload
            s.sendto(ipv4_packet(src, dst, socket.IPPROTO_UDP, udp, i), (a.dst, 0))
    return 0


def cmd_flood6(a):
    for i in range(a.count):
        src = "%s:%x::1" % (a.src_prefix, i)
        for payload in flood_messages(i, a.establish):
            udp = struct.pack("!HHHH", 500, 500, 8 + len(payload), 0) + payload
            send_v6_exthdrs(a.dst, socket.IPPROTO_UDP, udp, 0, src)
    return 0


def cmd_esp_flood(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    hi, lo = (int(x) for x in (a.src_prefix or "0.0").split("."))
    dst = socket.inet_aton(a.dst)
    sent = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        for _ in range(64):
            i = sent % 62500
            if a.src:
                src = socket.inet_aton(a.src)
            else:
                src = bytes([hi, lo, 1 + i // 250, 1 + i % 250])
            body = struct.pack("!II", 0x7000 + i, 1) + b"\xab" * 32
            try:
                s.sendto(ipv4_packet(src, dst, IPPROTO_ESP, body, sent), (a.dst, 0))
                sent += 1
            except OSError:
                pass
    print(sent)
    return 0


def cmd_esp_stream(a):
    fam = family(a.dst)
    s = socket.socket(fam, socket.SOCK_RAW, IPPROTO_ESP)
    s.connect((a.dst, 0))
    payload = struct.pack("!II", a.spi, 1) + b"\xab" * 56
    sent = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        # --stop-file: ends early once the file exists (the caller decides
        # when; looked for every 64 packets).
        if a.stop_file and os.path.exists(a.stop_file):
            break
        for _ in range(64):
            try:
                s.send(payload)
                sent += 1
            except OSError:
                pass
    print(sent)
    return 0


def cmd_responder(a):
    base = bytes.fromhex(a.cookie)
    log = open(a.log, "a", buffering=1)
    socks = {}
    for fam in (socket.AF_INET, socket.AF_INET6):
        for port in (500, 4500):
            socks[udp_socket(fam, port)] = ("udp", fam, port)
        for proto, name in ((IPPROTO_ESP, "esp"), (IPPROTO_AH, "ah")):
            socks[socket.socket(fam, socket.SOCK_RAW, proto)] = (name, fam, proto)
    log.write("ready\n")
    while True:
        r, _, _ = select.select(list(socks), [], [])
        for s in r:
            kind, fam, port = socks[s]
            data, peer = s.recvfrom(4096)
            src = peer[0]
            if kind in ("esp", "ah"):
                if fam == socket.AF_INET:
                    data = data[(data[0] & 0x0F) * 4:]
                spi = data[4:8] if kind == "ah" else data[0:4]
                log.write("%s %s %s\n" % (kind, src, spi.hex()))
                continue
            if port == 4500:
                if data == b"\xff":
                    log.write("keepalive %s -\n" % src)
                    continue
                if data[:4] != bytes(4):
                    log.write("udp-esp %s %s\n" % (src, data[:4].hex()))
                    continue
                data = data[4:]
            if len(data) < 28:
                log.write("short %s -\n" % src)
                continue
            log.write("ike %s %s\n" % (src, data[8:16].hex()))
            # --per-sa: a responder SPI of its own for each IKE SA, as real
            # responders make (the server's 4 bytes, then the initiator's
            # first 4); else the server's fixed cookie.
            cookie = base[:4] + data[0:4] if a.per_sa else base
            reply = ike_header(data[0:8], cookie, data[17] >> 4 == 1)
            if port == 4500:
                reply = bytes(4) + reply
            s.sendto(reply, peer)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("ike")
    i.add_argument("--dst", required=True)
    i.add_argument("--icookie", required=True)
    i.add_argument("--rcookie")
    i.add_argument("--dport", type=int, default=500, choices=(500, 4500))
    i.add_argument("--sport", type=int)
    i.add_argument("--src", help="send from this address of the host")
    i.add_argument("--v1", action="store_true")
    i.add_argument("--reply-timeout", type=float)
    i.add_argument("--exthdrs", type=int, default=0, help="IPv6: Destination Options headers first")
    k = sub.add_parser("keepalive")
    k.add_argument("--dst", required=True)
    e = sub.add_parser("esp")
    e.add_argument("--dst", required=True)
    e.add_argument("--spi", type=int, required=True)
    e.add_argument("--proto", choices=("esp", "ah", "udp"), default="esp")
    e.add_argument("--count", type=int, default=1)
    e.add_argument("--expect", choices=("icmp", "silence"))
    e.add_argument("--wait", type=float, default=5.0)
    e.add_argument("--exthdrs", type=int, default=0, help="IPv6: Destination Options headers first")
    st = sub.add_parser("esp-stream")
    st.add_argument("--dst", required=True)
    st.add_argument("--spi", type=int, required=True)
    st.add_argument("--seconds", type=float, required=True)
    st.add_argument("--stop-file", default=None,
                    help="stop early once this file exists")
    for name in ("flood", "flood6"):
        f = sub.add_parser(name)
        f.add_argument("--dst", required=True)
        f.add_argument("--src-prefix", required=True)
        f.add_argument("--count", type=int, required=True)
        f.add_argument("--establish", action="store_true")
        if name == "flood":
            f.add_argument("--seconds", type=float)
            f.add_argument("--pps", type=float, default=10.0)
    ef = sub.add_parser("esp-flood")
    ef.add_argument("--dst", required=True)
    src = ef.add_mutually_exclusive_group(required=True)
    src.add_argument("--src-prefix")
    src.add_argument("--src")
    ef.add_argument("--seconds", type=float, required=True)
    r = sub.add_parser("responder")
    r.add_argument("--cookie", required=True)
    r.add_argument("--per-sa", action="store_true",
                   help="answer each IKE SA with its own cookie: COOKIE's first 4 bytes, then the initiator's")
    r.add_argument("--log", required=True)
    a = p.parse_args()
    return {"ike": cmd_ike, "keepalive": cmd_keepalive, "esp": cmd_esp,
            "flood": cmd_flood, "flood6": cmd_flood6, "esp-flood": cmd_esp_flood,
            "esp-stream": cmd_esp_stream, "responder": cmd_responder}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
