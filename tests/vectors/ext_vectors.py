#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Extended-format test vectors, computed from the documented layout.

Documentation/ip_vs_sync_auth.rst, "Restart-safe sequence numbers and key
rollover (extended format)", "Wire format": an IPVS v1 message whose
8-byte header carries spare = 0x0003 and whose size counts the whole
payload, then a 24-byte auth header

    key id (1) | alg = 1 (1) | sender (1) | reserved = 0 (1) |
    sequence (8, network byte order) | ICV (12)

then the connection entries unchanged. ICV = the first 12 bytes of
HMAC-MD5(key, A || C || H): A the 24-byte auth header with the ICV field
zero, C the entries, H the 8-byte IPVS header as sent.

The entries are IPVS's struct ip_vs_sync_v4 (net/netfilter/ipvs/
ip_vs_sync.c, 36 bytes, no options). Nothing here comes from the
module's Rust code: Python's hmac and hashlib do the MAC, struct the
bytes. Standard library only.

    python3 tests/vectors/ext_vectors.py           # the vectors, in hex
    python3 tests/vectors/ext_vectors.py --rust    # EXT_VECTORS for
                                                   # src/proto/vectors.rs
    python3 tests/vectors/ext_vectors.py --check   # also re-derive the
                                                   # seed vector pinned there
                                                   # and check the QEMU tests'
                                                   # qemu/tools/syncauth.py
                                                   # against these vectors

The output is pinned in src/proto/vectors.rs (EXT_VECTORS), checked on the
host (cargo test, RustCrypto) and in the kernel (KUnit
ip_vs_sync_auth_sync ext_pinned_vectors_from_python, hmac(md5)).
"""
import hashlib
import hmac
import socket
import struct
import sys

AUTH_FLAG = 0x0001  # spare bit: auth header present
EXT_FLAG = 0x0002   # spare bit: extended format
ALG_HMAC_MD5_96 = 1
TCP, UDP = 6, 17


def sync_v4(proto, state, cip, cport, vip, vport, dip, dport, timeout, flags=0, fwmark=0):
    """struct ip_vs_sync_v4: type 0 (IPv4), protocol, ver_size (version 0
    in the top 4 bits, size 36), flags, state, cport, vport, dport, fwmark,
    timeout (seconds), caddr, vaddr, daddr; all big-endian."""
    e = struct.pack("!BBHIHHHHII", 0, proto, 36, flags, state, cport, vport, dport,
                    fwmark, timeout)
    e += socket.inet_aton(cip) + socket.inet_aton(vip) + socket.inet_aton(dip)
    assert len(e) == 36
    return e


def v1_header(syncid, size, nr_conns, spare):
    """Reserved 0, SyncID, Size, Count Conns, Version 1, Spare."""
    return struct.pack("!BBHBBH", 0, syncid, size, nr_conns, 1, spare)


def plain_message(syncid, entries):
    """The message as IPVS builds it (spare 0, size without auth header)."""
    body = b"".join(entries)
    return v1_header(syncid, 8 + len(body), len(entries), 0) + body


def ext_sign(key, key_id, sender, seq, syncid, entries):
    """(auth header with its ICV, whole message on the wire)."""
    body = b"".join(entries)
    hdr = v1_header(syncid, 8 + 24 + len(body), len(entries), AUTH_FLAG | EXT_FLAG)
    fixed = struct.pack("!BBBBQ", key_id, ALG_HMAC_MD5_96, sender, 0, seq)
    mac_input = fixed + bytes(12) + body + hdr
    icv = hmac.new(key, mac_input, hashlib.md5).digest()[:12]
    auth = fixed + icv
    return auth, hdr + auth + body


def seed_sign(key, seq, plain):
    """The seed format (v1), for --check: 16-byte header sequence || ICV,
    ICV over (seq || 12 zero bytes) || entries || header as sent."""
    hdr = bytearray(plain[:8])
    struct.pack_into("!H", hdr, 2, len(plain) + 16)
    struct.pack_into("!H", hdr, 6, AUTH_FLAG)
    body = plain[8:]
    icv = hmac.new(key, struct.pack("!I", seq) + bytes(12) + body + bytes(hdr),
                   hashlib.md5).digest()[:12]
    return bytes(hdr) + struct.pack("!I", seq) + icv + body


E1 = sync_v4(TCP, 1, "10.0.1.2", 40000, "10.0.1.1", 80, "10.0.2.2", 80, 300)
VECTORS = [
    # (name, key, key id, sender, sequence, SyncID, entries)
    ("key 1, thread 0, one TCP entry, seq 2065-01-24 + 0.5 s",
     b"tot0234", 1, 0, (3000000000 << 32) | (0x8000 << 16), 150, [E1]),
    ("key 2, thread 5, no entries, seq 2^63 + 1 (high bit set)",
     b"rollover-key-two", 2, 5, (1 << 63) | 1, 150, []),
    ("key 255, thread 63, three entries (TCP, UDP, TCP FIN_WAIT), seq 1, 64-byte key",
     bytes(range(0xa0, 0xe0)), 255, 63, 1, 7,
     [E1,
      sync_v4(UDP, 0, "192.0.2.77", 5353, "10.0.1.1", 5353, "10.0.2.3", 53, 120),
      sync_v4(TCP, 4, "10.0.1.200", 65535, "10.0.1.1", 443, "10.0.2.2", 8443, 120,
              flags=0x0100)]),
    ("key 7, thread 1, one entry, seq 0x00000000ffffffff (all low bits)",
     b"K", 7, 1, 0xFFFFFFFF, 150, [E1]),
]


def check_syncauth():
    """The QEMU tests' tool, qemu/tools/syncauth.py, against these vectors:
    its extended-format sender builds vector 1 byte for byte, its verifier
    accepts every vector with its key and field checks, and refuses each
    with the key one bit off or one byte of the message changed."""
    import argparse
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                        "qemu", "tools", "syncauth.py")
    spec = importlib.util.spec_from_file_location("syncauth", path)
    sa = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sa)
    name, key, kid, sender, seq, syncid, entries = VECTORS[0]
    args = argparse.Namespace(v0=False, proto="tcp", vport=80, cip="10.0.1.2", cport=40000,
                              vip="10.0.1.1", rip="10.0.2.2", conns=1, key=key.decode(),
                              ext=True, key_id=kid, sender=sender, seq=seq, syncid=syncid,
                              no_flag=False)
    ok = True
    if sa.build(args) != ext_sign(key, kid, sender, seq, syncid, entries)[1]:
        print(f"syncauth.py builds {name} differently", file=sys.stderr)
        ok = False
    for name, key, kid, sender, seq, syncid, entries in VECTORS:
        wire = ext_sign(key, kid, sender, seq, syncid, entries)[1]
        if sa.check_fields(255, wire, True, 255, kid) or not sa.verify_icv(wire, key, True):
            print(f"syncauth.py refuses {name}", file=sys.stderr)
            ok = False
        bad_key = bytes([key[0] ^ 1]) + key[1:]
        if sa.verify_icv(wire, bad_key, True):
            print(f"syncauth.py verifies {name} with a wrong key", file=sys.stderr)
            ok = False
        for i in range(len(wire)):
            bad = bytearray(wire)
            bad[i] ^= 0x20
            if not sa.check_fields(255, bytes(bad), True, 255, kid) and \
                    sa.verify_icv(bytes(bad), key, True):
                print(f"syncauth.py accepts {name} with byte {i} changed", file=sys.stderr)
                ok = False
    return ok


def rust_bytes(b, indent):
    if not b:
        return "&[]"
    pad = " " * indent
    lines = []
    for i in range(0, len(b), 14):
        lines.append(pad + "    " + " ".join(f"0x{x:02x}," for x in b[i:i + 14]))
    return "&[\n" + "\n".join(lines) + "\n" + pad + "]"


def main():
    rust = "--rust" in sys.argv
    if "--check" in sys.argv:
        # The seed vector of src/proto/vectors.rs (SYNC_VECTORS[0]) from
        # the same entry builder: the builder agrees with the pinned seed.
        want = bytes.fromhex(
            "0096003c0101000100000001" "7e8d9162147cd094369da4d4"
            "000600240000000000019c4000500050000000000000012c"
            "0a0001020a0001010a000202")
        got = seed_sign(b"tot0234", 1, plain_message(150, [E1]))
        if got != want:
            print("seed vector does not reproduce", file=sys.stderr)
            return 1
        if not check_syncauth():
            return 1
    if rust:
        print("/// Extended-format messages computed by tests/vectors/ext_vectors.py")
        print("/// (Python's hmac from the documented layout); regenerate with")
        print("/// `python3 tests/vectors/ext_vectors.py --rust`.")
        print(f"pub static EXT_VECTORS: [ExtVector; {len(VECTORS)}] = [")
    for name, key, kid, sender, seq, syncid, entries in VECTORS:
        plain = plain_message(syncid, entries)
        auth, wire = ext_sign(key, kid, sender, seq, syncid, entries)
        if rust:
            print("    ExtVector {")
            print(f"        name: \"{name}\",")
            print(f"        key: {rust_bytes(key, 8)},")
            print(f"        key_id: {kid},")
            print(f"        sender: {sender},")
            print(f"        seq: 0x{seq:016x},")
            print(f"        plain: {rust_bytes(plain, 8)},")
            print(f"        auth: {rust_bytes(wire, 8)},")
            print("    },")
        else:
            print(f"# {name}")
            print(f"key      {key.hex()}")
            print(f"key_id   {kid}  sender {sender}  seq 0x{seq:016x}  syncid {syncid}")
            print(f"plain    {plain.hex()}")
            print(f"auth hdr {auth.hex()}")
            print(f"icv      {auth[12:].hex()}")
            print(f"wire     {wire.hex()}")
    if rust:
        print("];")
    return 0


if __name__ == "__main__":
    sys.exit(main())
