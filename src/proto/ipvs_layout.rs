// SPDX-License-Identifier: GPL-2.0

//! The layouts of IPVS's private sync structures that this module relies on.
//!
//! IPVS declares its sync message structures privately in
//! `net/netfilter/ipvs/ip_vs_sync.c`; no header exports them, so nothing
//! checks at build time that they still look the way [`super::msg`] reads
//! and writes them. This table is the one place where the crate states
//! them: [`super::msg`] takes its header lengths and field offsets from it,
//! and `scripts/wire-layout-guard.sh` compares it, field by field, with what
//! `pahole` reads from the DWARF of the kernel's own `ip_vs_sync.c`. If IPVS
//! ever changes its wire format, that check fails before a backup misparses.
//!
//! Sizes and offsets are in bytes, as `pahole` prints them. Only the two
//! message headers are used by the wire code; the entry structures are here
//! so that a change anywhere in the format is noticed (the auth header sits
//! between the message header and the first entry, and the entry sizes are
//! what an MTU-sized message is made of).

/// One member of a structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Member name as in the C declaration.
    pub name: &'static str,
    /// Offset from the start of the structure.
    pub offset: usize,
    /// Size of the member.
    pub size: usize,
}

/// One IPVS structure: its C name, total size and members in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Struct {
    /// Structure tag as in the C declaration (`struct <name>`).
    pub name: &'static str,
    /// `sizeof(struct <name>)`.
    pub size: usize,
    /// Every member, in declaration order.
    pub fields: &'static [Field],
}

/// Shorthand for the tables below.
const fn f(name: &'static str, offset: usize, size: usize) -> Field {
    Field { name, offset, size }
}

/// `struct ip_vs_sync_mesg`: the v1 message header.
pub const SYNC_MESG: Struct = Struct {
    name: "ip_vs_sync_mesg",
    size: 8,
    fields: &[
        f("reserved", 0, 1),
        f("syncid", 1, 1),
        f("size", 2, 2),
        f("nr_conns", 4, 1),
        f("version", 5, 1),
        f("spare", 6, 2),
    ],
};

/// `struct ip_vs_sync_mesg_v0`: the v0 message header.
pub const SYNC_MESG_V0: Struct = Struct {
    name: "ip_vs_sync_mesg_v0",
    size: 4,
    fields: &[f("nr_conns", 0, 1), f("syncid", 1, 1), f("size", 2, 2)],
};

/// `struct ip_vs_sync_v4`: a v1 IPv4 connection entry (options follow).
pub const SYNC_V4: Struct = Struct {
    name: "ip_vs_sync_v4",
    size: 36,
    fields: &[
        f("type", 0, 1),
        f("protocol", 1, 1),
        f("ver_size", 2, 2),
        f("flags", 4, 4),
        f("state", 8, 2),
        f("cport", 10, 2),
        f("vport", 12, 2),
        f("dport", 14, 2),
        f("fwmark", 16, 4),
        f("timeout", 20, 4),
        f("caddr", 24, 4),
        f("vaddr", 28, 4),
        f("daddr", 32, 4),
    ],
};

/// `struct ip_vs_sync_v6`: a v1 IPv6 connection entry (options follow).
pub const SYNC_V6: Struct = Struct {
    name: "ip_vs_sync_v6",
    size: 72,
    fields: &[
        f("type", 0, 1),
        f("protocol", 1, 1),
        f("ver_size", 2, 2),
        f("flags", 4, 4),
        f("state", 8, 2),
        f("cport", 10, 2),
        f("vport", 12, 2),
        f("dport", 14, 2),
        f("fwmark", 16, 4),
        f("timeout", 20, 4),
        f("caddr", 24, 16),
        f("vaddr", 40, 16),
        f("daddr", 56, 16),
    ],
};

/// `struct ip_vs_sync_conn_v0`: a v0 connection entry.
pub const SYNC_CONN_V0: Struct = Struct {
    name: "ip_vs_sync_conn_v0",
    size: 24,
    fields: &[
        f("reserved", 0, 1),
        f("protocol", 1, 1),
        f("cport", 2, 2),
        f("vport", 4, 2),
        f("dport", 6, 2),
        f("caddr", 8, 4),
        f("vaddr", 12, 4),
        f("daddr", 16, 4),
        f("flags", 20, 2),
        f("state", 22, 2),
    ],
};

/// `struct ip_vs_sync_conn_options`: TCP sequence adjustments of a v0
/// entry (two `struct ip_vs_seq` of three `__u32`).
pub const SYNC_CONN_OPTIONS: Struct = Struct {
    name: "ip_vs_sync_conn_options",
    size: 24,
    fields: &[f("in_seq", 0, 12), f("out_seq", 12, 12)],
};

/// Every structure the guard checks.
pub const ALL: [Struct; 6] = [
    SYNC_MESG,
    SYNC_MESG_V0,
    SYNC_V4,
    SYNC_V6,
    SYNC_CONN_V0,
    SYNC_CONN_OPTIONS,
];

/// Offset of member `name` of `s`, at compile time. Fails the build (const
/// evaluation panics) if there is no such member, so a renamed field in the
/// table cannot silently leave a stale offset in the wire code.
pub const fn offset_of(s: &Struct, name: &str) -> usize {
    let mut i = 0;
    while i < s.fields.len() {
        if const_str_eq(s.fields[i].name, name) {
            return s.fields[i].offset;
        }
        i += 1;
    }
    panic!("no such member in the IPVS layout table")
}

/// `a == b` for `&str` in a const context.
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members are in order, do not overlap, and fit in the structure;
    /// packed wire structures have no holes either.
    #[test]
    fn tables_are_consistent() {
        for s in ALL {
            let mut end = 0;
            for fld in s.fields {
                assert_eq!(fld.offset, end, "{}.{}: hole or overlap", s.name, fld.name);
                assert!(fld.size > 0);
                end = fld.offset + fld.size;
            }
            assert_eq!(end, s.size, "{}: members do not fill the structure", s.name);
        }
    }

    #[test]
    fn offset_of_finds_members() {
        assert_eq!(offset_of(&SYNC_MESG, "spare"), 6);
        assert_eq!(offset_of(&SYNC_MESG_V0, "size"), 2);
        assert_eq!(offset_of(&SYNC_V6, "daddr"), 56);
    }

    #[test]
    #[should_panic]
    fn offset_of_rejects_unknown_members() {
        let _ = offset_of(&SYNC_MESG, "sparse");
    }
}
