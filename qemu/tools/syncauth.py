#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test and admin helper for ip_vs_sync_auth.

  syncauth.py key set KEY | key clear        set/clear the key (sockopt 1168)
  syncauth.py status [--json]                status via getsockopt
  syncauth.py counter NAME                   one counter from the status
  syncauth.py send [options]                 send a crafted sync message
  syncauth.py capture --iface IF --out FILE  save the next sync payload seen
                     [--count N | --seconds T]  (or N of them, or all for T s,
                     [--idle S] [--strict]      or until S s without one after
                                                the first; --strict: fail if
                                                the socket dropped a frame);
                                                of a fragmented datagram, the
                                                first fragment
  syncauth.py records --file FILE            how many payloads a capture holds
  syncauth.py entries --file FILE            of a capture's authenticated v1
                                             messages of IPv4 entries (36
                                             bytes): how many messages, how
                                             many entries by their size
                                             fields, how many an IPVS backup
                                             applies (the 8-bit Count Conns
                                             of each), the most one holds
  syncauth.py verify --file FILE --key KEY   check, in Python, the ICV of every
                     [--ext]                 captured payload (seed or extended
                                             layout); prints the count, fails
                                             on the first that does not verify
                     [--strict] [--ttl N]    and every header field, the entry
                     [--key-id N] [--min N]  walk, the TTL, the key ID; fails
                                             with fewer than N payloads
  syncauth.py resend --file FILE [--ttl N]   send a saved payload again
                     [--all] [--ports P,P..] [--raw --src ADDR]
                                             every saved payload, to each of
                                             these ports, from any source
                                             address (raw IP socket: an
                                             attacker spoofing a sender)
  syncauth.py inspect --file FILE            describe a saved payload
  syncauth.py ext mode seed|ext              extended format on/off (sockopt 1170)
  syncauth.py ext add ID KEY | activate ID | retire ID | clear | reset-replay
  syncauth.py ext status [--json]            extended-format status
  syncauth.py flood --seconds T [options]    forged messages as fast as
                                             possible (wrong key, seq +1 each)

Crafted messages (send) are IPVS v1 (or v0 with --v0) messages holding
--conns TCP (or --proto udp) entries from client --cip:--cport to --vip
and --rip port --vport, optionally authenticated with --key
and --seq exactly as the module does (HMAC-MD5-96 over auth header with zero
ICV || entries || header), and then optionally damaged with --mutate.
"""
# argparse, hashlib, hmac and json are imported where they are used: the
# tests' most frequent call, "counter NAME", needs none of them, and each
# start of this tool costs seconds in a TCG guest.
import errno
import socket
import struct
import sys

SO_SYNC_AUTH = 1168
GROUP = "224.0.0.81"
PORT = 8848
COUNTERS = ["tx_signed", "tx_error", "rx_accepted", "rx_drop_malformed",
            "rx_drop_bad_ttl", "rx_drop_bad_header", "rx_drop_replay",
            "rx_drop_bad_icv", "rx_drop_no_stream", "rx_drop_no_key", "rx_gro_split",
            "rx_plain", "tx_plain"]
STATUS_FMT = "=II16sII" + "Q" * len(COUNTERS)
AUTH_FLAG = 0x0001
EXT_FLAG = 0x0002
SO_SYNC_EXT = 1170
EXT_OPS = {"mode": 1, "add": 2, "activate": 3, "retire": 4, "clear": 5, "reset-replay": 6}
EXT_CMD_FMT = "=III64s"
EXT_STATUS_FMT = "=IIIIQ" + "IIQQ" * 2


def ext_cmd(op, ident=0, key=b""):
    s = ctl_socket()
    s.setsockopt(socket.IPPROTO_IP, SO_SYNC_EXT,
                 struct.pack(EXT_CMD_FMT, EXT_OPS[op], ident, len(key), key))


def ext_status():
    s = ctl_socket()
    raw = s.getsockopt(socket.IPPROTO_IP, SO_SYNC_EXT, struct.calcsize(EXT_STATUS_FMT))
    f = struct.unpack(EXT_STATUS_FMT, raw)
    st = {"version": f[0], "mode": "ext" if f[1] else "seed", "streams": f[2],
          "rx_unknown_key": f[4]}
    for i in range(2):
        kid, active, tx, rx = f[5 + 4 * i:9 + 4 * i]
        st[f"key{i}_id"] = kid
        st[f"key{i}_active"] = active
        st[f"key{i}_tx_signed"] = tx
        st[f"key{i}_rx_accepted"] = rx
    return st


def ctl_socket():
    # Any AF_INET socket reaches the sockopt; a UDP one needs no privilege.
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def set_key(key):
    s = ctl_socket()
    if key:
        s.setsockopt(socket.IPPROTO_IP, SO_SYNC_AUTH, key)
    else:
        s.setsockopt(socket.IPPROTO_IP, SO_SYNC_AUTH, None, 0)


def get_status():
    s = ctl_socket()
    raw = s.getsockopt(socket.IPPROTO_IP, SO_SYNC_AUTH, struct.calcsize(STATUS_FMT))
    # A module of status version 1 has fewer counters: those it lacks are
    # left out.
    n = (len(raw) - struct.calcsize("=II16sII")) // 8
    f = struct.unpack(f"=II16sII{n}Q", raw)
    st = {"version": f[0], "enabled": f[1],
          "algorithm": f[2].split(b"\0")[0].decode(), "streams": f[3],
          "stream_capacity": f[4]}
    st.update(dict(zip(COUNTERS, f[5:])))
    return st


def v4_entry(cip, cport, vip, vport, rip, rport, state=1, proto=6, timeout=300):
    # struct ip_vs_sync_v4 (36 bytes), ip_vs_sync.c
    return struct.pack("!BBHIHHHHII4s4s4s", 0, proto, 36, 0, state, cport, vport,
                       rport, 0, timeout, socket.inet_aton(cip),
                       socket.inet_aton(vip), socket.inet_aton(rip))


def v0_entry(cip, cport, vip, vport, rip, rport, state=1, proto=6):
    # struct ip_vs_sync_conn_v0 (24 bytes)
    return struct.pack("!BBHHH4s4s4sHH", 0, proto, cport, vport, rport,
                       socket.inet_aton(cip), socket.inet_aton(vip),
                       socket.inet_aton(rip), 0, state)


def icv(key, seq, entries, header):
    import hashlib  # pylint: disable=import-outside-toplevel
    import hmac  # pylint: disable=import-outside-toplevel
    a = struct.pack("!I", seq) + bytes(12)
    return hmac.new(key, a + entries + header, hashlib.md5).digest()[:12]


def build(args):
    ent = v0_entry if args.v0 else v4_entry
    proto = {"tcp": 6, "udp": 17}[getattr(args, "proto", "tcp")]
    vport = getattr(args, "vport", 80)
    # UDP connections have one state (0); TCP's 1 is ESTABLISHED.
    state = 0 if proto == 17 else 1
    if getattr(args, "state", None) is not None:
        state = args.state
    extra_args = {} if args.v0 else {"timeout": getattr(args, "conn_timeout", 300)}
    entries = b"".join(ent(args.cip, args.cport + i, args.vip, vport, args.rip, vport,
                           state=state, proto=proto, **extra_args)
                       for i in range(args.conns))
    auth = args.key is not None
    if auth and getattr(args, "ext", False):
        return build_ext(args, entries)
    extra = 16 if auth else 0
    if args.v0:
        hlen = 4
        size = hlen + extra + len(entries)
        header = struct.pack("!BBH", args.conns, args.syncid, size)
    else:
        hlen = 8
        size = hlen + extra + len(entries)
        spare = AUTH_FLAG if auth and not args.no_flag else 0
        if getattr(args, "spare", None) is not None:
            spare = args.spare
        header = struct.pack("!BBHBBH", 0, args.syncid, size, args.conns, 1, spare)
    if not auth:
        return header + entries
    mac = icv(args.key.encode(), args.seq, entries, header)
    return header + struct.pack("!I", args.seq) + mac + entries


def build_ext(args, entries):
    """An extended-format v1 message (24-byte header: key id, algorithm,
    sender thread, reserved, 64-bit seq, ICV)."""
    import hashlib  # pylint: disable=import-outside-toplevel
    import hmac  # pylint: disable=import-outside-toplevel
    size = 8 + 24 + len(entries)
    header = struct.pack("!BBHBBH", 0, args.syncid, size, args.conns, 1,
                         AUTH_FLAG | EXT_FLAG)
    auth0 = struct.pack("!BBBBQ", args.key_id, 1, args.sender, 0, args.seq) + bytes(12)
    mac = hmac.new(args.key.encode(), auth0 + entries + header, hashlib.md5).digest()[:12]
    return header + auth0[:12] + mac + entries


def mutate(msg, how, hlen):
    b = bytearray(msg)
    if how == "none":
        pass
    elif how == "truncate":
        b = b[:hlen + 10]
    elif how == "size":  # size field one too large
        struct.pack_into("!H", b, 2, struct.unpack_from("!H", b, 2)[0] + 1)
    elif how == "flip-header":
        b[1] ^= 0x01  # syncid
    elif how == "flip-seq":
        b[hlen + 3] ^= 0x01
    elif how == "flip-icv":
        b[hlen + 4] ^= 0x80
    elif how == "flip-entry":
        b[-1] ^= 0x01
    elif how == "oversize":
        b += bytes(64)  # trailing bytes: size no longer matches
    else:
        raise SystemExit(f"unknown mutation {how}")
    return bytes(b)


GROUP6 = "ff02::8848"


def send_payload6(payload, hops, src, port, iface):
    """Sends `payload` to the IPv6 sync group from address `src` (which
    this host must have) on interface `iface`."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
    idx = socket.if_nametoindex(iface)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    if src:
        s.bind((src, 0, 0, 0))
    s.sendto(payload, (GROUP6, port, 0, idx))


def send_payload(payload, ttl, src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    if src:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        s.bind((src, 0))
    s.sendto(payload, (GROUP, port))


def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def raw_send(payload, ttl, src, port, sport=PORT):
    """Sends `payload` in a UDP datagram to the sync group from `src`,
    whatever addresses this host has: the IPv4 and UDP headers are built
    here and sent on a raw socket (IP_HDRINCL), as an attacker on the
    segment spoofing another sender would."""
    dst = socket.inet_aton(GROUP)
    srcb = socket.inet_aton(src)
    ulen = 8 + len(payload)
    pseudo = srcb + dst + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, port, ulen, 0) + payload
    csum = inet_csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, ttl, 17, 0, srcb, dst)
    ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + udp, (GROUP, 0))


def read_records(path):
    """The (ttl, payload) records of a capture file."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    off = 0
    while off + 3 <= len(data):
        ttl, n = struct.unpack_from("!BH", data, off)
        out.append((ttl, data[off + 3:off + 3 + n]))
        off += 3 + n
    return out


def udp_of(pkt, v6):
    """(hop limit or TTL, payload) of a sync datagram to the group, as the
    link layer delivered it (IPv4, or IPv6 without extension headers), or
    None."""
    if v6:
        group = socket.inet_pton(socket.AF_INET6, GROUP6)
        if len(pkt) < 48 or pkt[6] != 17 or pkt[24:40] != group:
            return None
        hops, off = pkt[7], 40
    else:
        off = (pkt[0] & 0x0F) * 4
        if pkt[9] != 17 or pkt[16:20] != socket.inet_aton(GROUP):
            return None
        # A later fragment has no UDP header: only the first one counts.
        if struct.unpack_from("!H", pkt, 6)[0] & 0x1FFF:
            return None
        hops = pkt[8]
    dport = struct.unpack_from("!H", pkt, off + 2)[0]
    if dport < PORT or dport >= PORT + 64:
        return None
    ulen = struct.unpack_from("!H", pkt, off + 4)[0]
    return hops, pkt[off + 8:off + ulen]


def capture(iface, out, count, timeout, seconds=None, v6=False, ready=None, idle=None,
            strict=False):
    import time
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                      socket.htons(0x86DD if v6 else 0x0800))
    # Room for bursts: a 64 KiB message is 45 frames (root may pass
    # net.core.rmem_max).
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, 0))
    if ready:
        # The socket sees every packet from here on: the caller may start.
        open(ready, "w").close()
    s.settimeout(timeout)
    got = 0
    end = time.monotonic() + seconds if seconds else None
    last = None
    with open(out, "wb") as f:
        while (got < count) if end is None else (time.monotonic() < end):
            if idle is not None and last is not None and time.monotonic() - last >= idle:
                break
            if end is not None:
                s.settimeout(max(0.05, min(end - time.monotonic(), 0.5)))
            try:
                pkt = s.recv(65535)
            except socket.timeout:
                if end is None:
                    raise
                continue
            found = udp_of(pkt, v6)
            if found is None:
                continue
            hops, payload = found
            f.write(struct.pack("!BH", hops, len(payload)) + payload)
            got += 1
            last = time.monotonic()
    if strict:
        # struct tpacket_stats: packets, drops (SOL_PACKET, PACKET_STATISTICS)
        _, drops = struct.unpack("II", s.getsockopt(263, 6, 8))
        if drops:
            sys.exit(f"capture: the socket dropped {drops} frames")


def flood(a):
    """Sends right-format, wrong-ICV messages with increasing sequence
    numbers (or, with --plain, one plaintext IPVS message over and over)
    for a.seconds; prints how many and the rate."""
    import time
    a.key = None if a.plain else (a.key or "not-the-key")
    msg = bytearray(build(a))
    hlen = 4 if a.v0 else 8
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
    if a.src:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.src))
        s.bind((a.src, 0))
    sent = 0
    seq = a.seq
    t0 = time.monotonic()
    end = t0 + a.seconds
    while True:
        for _ in range(64):
            if not a.plain:
                struct.pack_into("!I", msg, hlen, seq & 0xFFFFFFFF)
            try:
                s.sendto(msg, (GROUP, a.port))
                sent += 1
            except OSError:
                pass  # full socket buffer: the flood goes on
            seq += 1
        if time.monotonic() >= end:
            break
    dt = time.monotonic() - t0
    print(f"{sent} {int(sent / dt)} {len(msg)}")


def verify_icv(m, key, ext):
    """Whether the authenticated message `m` carries a correct ICV under
    `key`, recomputed here from the documented layout: HMAC-MD5 over the
    auth header with its ICV zeroed, then the entries, then the IPVS header
    as sent, truncated to 96 bits."""
    import hashlib  # pylint: disable=import-outside-toplevel
    import hmac  # pylint: disable=import-outside-toplevel
    if ext:
        hlen, alen = 8, 24
    else:
        hlen, alen = (8 if m[0] == 0 else 4), 16
    if len(m) < hlen + alen or struct.unpack_from("!H", m, 2)[0] != len(m):
        return False
    header, auth, entries = m[:hlen], m[hlen:hlen + alen], m[hlen + alen:]
    zeroed = auth[:alen - 12] + bytes(12)
    want = hmac.new(key, zeroed + entries + header, hashlib.md5).digest()[:12]
    return hmac.compare_digest(want, auth[alen - 12:])


def check_fields(ttl, m, ext, want_ttl=None, want_key_id=None):
    """Why the captured authenticated message `m` (received with TTL or hop
    limit `ttl`) breaks the documented wire format, or None. Checked from
    Documentation/ip_vs_sync_auth.rst, not from the module: the IPVS header
    (reserved 0 and version 1 for v1, spare 0x0001 or 0x0003, size equal to
    the payload length), the extended header (key ID not 0, algorithm 1,
    sender below 64, reserved 0), and the entries, which must be IPVS's own
    (ip_vs_sync_v4/v6 with their ver_size, 4-byte aligned, as many as Count
    Conns says, ending with the message) right after the auth header."""
    if want_ttl is not None and ttl != want_ttl:
        return f"TTL {ttl}, expected {want_ttl}"
    if len(m) < 8 or struct.unpack_from("!H", m, 2)[0] != len(m):
        return "size field is not the payload length"
    if m[0] != 0:
        if ext:
            return "not a v1 message"
        return None  # v0: no flag field; the ICV says the rest
    if m[5] != 1:
        return f"version {m[5]}"
    spare = struct.unpack_from("!H", m, 6)[0]
    if spare != (AUTH_FLAG | EXT_FLAG if ext else AUTH_FLAG):
        return f"spare {spare:#06x}"
    off = 8 + (24 if ext else 16)
    if len(m) < off:
        return "shorter than the auth header"
    if ext:
        kid, alg, sender, rsvd = m[8:12]
        if kid == 0 or (want_key_id is not None and kid != want_key_id):
            return f"key ID {kid}"
        if alg != 1 or sender >= 64 or rsvd != 0:
            return f"alg {alg} sender {sender} reserved {rsvd}"
    end = off
    for i in range(m[4]):
        if off + 36 > len(m):
            return f"entry {i} of {m[4]} past the end"
        ver_size = struct.unpack_from("!H", m, off + 2)[0]
        size = ver_size & 0x0FFF
        if ver_size >> 12 or size < (48 if m[off] & 1 else 36) or off + size > len(m):
            return f"entry {i}: ver_size {ver_size:#06x}"
        end = off + size
        off += (size + 3) & ~3  # the next entry starts 32-bit aligned
    if end != len(m):
        return f"the {m[4]} entries end at {end}, the message at {len(m)}"
    return None


def print_status(st, as_json):
    if as_json:
        import json  # pylint: disable=import-outside-toplevel
        print(json.dumps(st))
    else:
        for name, val in st.items():
            print(f"{name}: {val}")


def main():
    # "counter NAME" without argparse, the same as through it below.
    if len(sys.argv) == 3 and sys.argv[1] == "counter" and not sys.argv[2].startswith("-"):
        try:
            print(get_status()[sys.argv[2]])
        except OSError as e:
            print(f"syncauth: {errno.errorcode.get(e.errno, e.errno)}: {e.strerror}", file=sys.stderr)
            return 2
        return 0
    import argparse  # pylint: disable=import-outside-toplevel
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("key")
    k.add_argument("op", choices=["set", "clear", "raw"])
    k.add_argument("key", nargs="?", default="")
    st = sub.add_parser("status")
    st.add_argument("--json", action="store_true")
    c = sub.add_parser("counter")
    c.add_argument("name")
    s = sub.add_parser("send")
    s.add_argument("--key")
    s.add_argument("--seq", type=int, default=1)
    s.add_argument("--ttl", type=int, default=255)
    s.add_argument("--src")
    s.add_argument("--port", type=int, default=PORT)
    s.add_argument("--syncid", type=int, default=150)
    s.add_argument("--conns", type=int, default=1)
    s.add_argument("--cip", default="10.9.9.9")
    s.add_argument("--cport", type=int, default=40000)
    s.add_argument("--proto", choices=["tcp", "udp"], default="tcp")
    s.add_argument("--vport", type=int, default=80, help="virtual and real port")
    s.add_argument("--vip", default="10.0.1.1")
    s.add_argument("--rip", default="10.0.2.2")
    s.add_argument("--state", type=int, help="the entries' IPVS state (TCP: 3 SYN_RECV, ...)")
    s.add_argument("--conn-timeout", type=int, default=300,
                   help="v1: the entries' timeout, seconds (the backup's IPVS keeps them that long)")
    s.add_argument("--v0", action="store_true")
    s.add_argument("--no-flag", action="store_true")
    s.add_argument("--spare", type=lambda x: int(x, 0), help="v1: this spare field")
    s.add_argument("--mutate", default="none")
    s.add_argument("--ext", action="store_true", help="extended format")
    s.add_argument("--key-id", type=int, default=1)
    s.add_argument("--sender", type=int, default=0, help="extended: sync thread")
    s.add_argument("--syncids", help="one message per SyncID of these ranges (0-149,151-200)")
    s.add_argument("--count", type=int, default=1, help="this many messages, seq +1 each")
    s.add_argument("--raw", action="store_true", help="raw socket: any --src and --sport")
    s.add_argument("--sport", type=int, default=PORT)
    s.add_argument("--iface", help="IPv6: to the group ff02::8848 on this interface")
    fl = sub.add_parser("flood", parents=[], add_help=True)
    for name, kw in (("--key", {}), ("--seq", {"type": int, "default": 1}),
                     ("--ttl", {"type": int, "default": 255}), ("--src", {}),
                     ("--port", {"type": int, "default": PORT}),
                     ("--syncid", {"type": int, "default": 150}),
                     ("--conns", {"type": int, "default": 40}),
                     ("--cip", {"default": "10.9.9.9"}),
                     ("--cport", {"type": int, "default": 40000}),
                     ("--vip", {"default": "10.0.1.1"}), ("--rip", {"default": "10.0.2.2"}),
                     ("--seconds", {"type": float, "default": 10})):
        fl.add_argument(name, **kw)
    fl.add_argument("--plain", action="store_true", help="plaintext IPVS messages")
    fl.set_defaults(v0=False, no_flag=False)
    x = sub.add_parser("ext")
    x.add_argument("op", choices=list(EXT_OPS) + ["status"])
    x.add_argument("arg", nargs="?", default="")
    x.add_argument("key", nargs="?", default="")
    x.add_argument("--json", action="store_true")
    cap = sub.add_parser("capture")
    cap.add_argument("--iface", required=True)
    cap.add_argument("--out", required=True)
    cap.add_argument("--count", type=int, default=1)
    cap.add_argument("--timeout", type=float, default=10)
    cap.add_argument("--seconds", type=float, help="capture everything for this long")
    cap.add_argument("--v6", action="store_true", help="the IPv6 group ff02::8848")
    cap.add_argument("--ready", help="create this file once capturing")
    cap.add_argument("--idle", type=float,
                     help="--seconds: stop this long after the last payload")
    cap.add_argument("--strict", action="store_true",
                     help="fail if the socket dropped a frame")
    ent = sub.add_parser("entries")
    ent.add_argument("--file", required=True)
    rec = sub.add_parser("records")
    rec.add_argument("--file", required=True)
    ver = sub.add_parser("verify")
    ver.add_argument("--file", required=True)
    ver.add_argument("--key", required=True)
    ver.add_argument("--ext", action="store_true")
    ver.add_argument("--strict", action="store_true", help="check every header field too")
    ver.add_argument("--ttl", type=int, help="--strict: the TTL every payload came with")
    ver.add_argument("--key-id", type=int, help="--strict, --ext: the key ID of every payload")
    ver.add_argument("--min", type=int, default=0, help="fail with fewer payloads")
    ins = sub.add_parser("inspect")
    ins.add_argument("--file", required=True)
    r = sub.add_parser("resend")
    r.add_argument("--file", required=True)
    r.add_argument("--ttl", type=int, default=255)
    r.add_argument("--src")
    r.add_argument("--port", type=int, default=PORT)
    r.add_argument("--ports", help="comma-separated destination ports")
    r.add_argument("--all", action="store_true", help="every record, not the first")
    r.add_argument("--raw", action="store_true", help="raw socket: any --src")
    r.add_argument("--src-count", type=int, default=1,
                   help="--raw: from this many addresses, --src and up")
    r.add_argument("--iface", help="IPv6: to the group ff02::8848 on this interface")
    a = p.parse_args()

    try:
        if a.cmd == "key":
            if a.op == "set":
                set_key(a.key.encode())
            elif a.op == "raw":  # hex bytes, for length tests
                set_key(bytes.fromhex(a.key))
            else:
                set_key(b"")
        elif a.cmd == "status":
            print_status(get_status(), a.json)
        elif a.cmd == "counter":
            print(get_status()[a.name])
        elif a.cmd == "send":
            ids = [a.syncid]
            if a.syncids:
                ids = []
                for part in a.syncids.split(","):
                    lo, _, hi = part.partition("-")
                    ids.extend(range(int(lo), int(hi or lo) + 1))
            first = a.seq
            for i in range(a.count):
                a.seq = first + i
                for ident in ids:
                    a.syncid = ident
                    msg = build(a)
                    msg = mutate(msg, a.mutate, 4 if a.v0 else 8)
                    if a.iface:
                        send_payload6(msg, a.ttl, a.src, a.port, a.iface)
                    elif a.raw:
                        raw_send(msg, a.ttl, a.src, a.port, a.sport)
                    else:
                        send_payload(msg, a.ttl, a.src, a.port)
        elif a.cmd == "ext":
            if a.op == "status":
                print_status(ext_status(), a.json)
            elif a.op == "mode":
                ext_cmd("mode", {"seed": 0, "ext": 1}.get(a.arg, 99))
            elif a.op in ("add",):
                ext_cmd("add", int(a.arg), a.key.encode())
            elif a.op in ("activate", "retire"):
                ext_cmd(a.op, int(a.arg))
            else:
                ext_cmd(a.op)
        elif a.cmd == "flood":
            flood(a)
        elif a.cmd == "capture":
            capture(a.iface, a.out, a.count, a.timeout, a.seconds, a.v6, a.ready, a.idle,
                    a.strict)
        elif a.cmd == "records":
            print(len(read_records(a.file)))
        elif a.cmd == "entries":
            records = read_records(a.file)
            total = applied = largest = 0
            for i, (_, m) in enumerate(records):
                # v1 (reserved 0, version 1), the seed's auth flag, no
                # extended header: IPVS header, auth header, entries.
                size = struct.unpack_from("!H", m, 2)[0] if len(m) >= 8 else 0
                if (len(m) < 8 or m[0] != 0 or m[5] != 1
                        or struct.unpack_from("!H", m, 6)[0] != AUTH_FLAG
                        or size < 24 or (size - 24) % 36):
                    print(f"record {i}: not a seed-format v1 message of 36-byte entries",
                          file=sys.stderr)
                    return 1
                n = (size - 24) // 36
                if m[4] != n % 256:
                    print(f"record {i}: {n} entries, Count Conns {m[4]}", file=sys.stderr)
                    return 1
                total, applied, largest = total + n, applied + m[4], max(largest, n)
            print(len(records), total, applied, largest)
        elif a.cmd == "verify":
            records = read_records(a.file)
            if len(records) < a.min:
                print(f"{len(records)} payloads captured, expected at least {a.min}",
                      file=sys.stderr)
                return 1
            for i, (ttl, m) in enumerate(records):
                why = check_fields(ttl, m, a.ext, a.ttl, a.key_id) if a.strict else None
                if why:
                    print(f"record {i}: {why}", file=sys.stderr)
                    return 1
                if not verify_icv(m, a.key.encode(), a.ext):
                    print(f"record {i}: ICV does not verify", file=sys.stderr)
                    return 1
            print(len(records))
        elif a.cmd == "inspect":
            with open(a.file, "rb") as f:
                data = f.read()
            ttl, n = struct.unpack_from("!BH", data, 0)
            m = data[3:3 + n]
            layout = "v1" if m[0] == 0 else "v0"
            if layout == "v1" and struct.unpack_from("!H", m, 6)[0] & EXT_FLAG:
                kid, alg, sender, _, seq = struct.unpack_from("!BBBBQ", m, 8)
                print(f"ttl={ttl} layout=v1 size={struct.unpack_from('!H', m, 2)[0]} "
                      f"len={len(m)} spare={struct.unpack_from('!H', m, 6)[0]:#06x} "
                      f"key_id={kid} alg={alg} sender={sender} seq={seq:#018x}")
                return 0
            spare = struct.unpack_from("!H", m, 6)[0] if layout == "v1" else 0
            print(f"ttl={ttl} layout={layout} size={struct.unpack_from('!H', m, 2)[0]} "
                  f"len={len(m)} spare={spare:#06x}")
        elif a.cmd == "resend":
            records = read_records(a.file)
            if not a.all:
                records = records[:1]
            ports = [int(p) for p in a.ports.split(",")] if a.ports else [a.port]
            srcs = [a.src]
            if a.raw and a.src_count > 1:
                first = struct.unpack("!I", socket.inet_aton(a.src))[0]
                srcs = [socket.inet_ntoa(struct.pack("!I", first + i))
                        for i in range(a.src_count)]
            sent = 0
            for src in srcs:
                for _, payload in records:
                    for port in ports:
                        if a.iface:
                            send_payload6(payload, a.ttl, src, port, a.iface)
                        elif a.raw:
                            raw_send(payload, a.ttl, src, port)
                        else:
                            send_payload(payload, a.ttl, src, port)
                        sent += 1
            print(sent)
    except OSError as e:
        print(f"syncauth: {errno.errorcode.get(e.errno, e.errno)}: {e.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
