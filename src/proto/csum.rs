// SPDX-License-Identifier: GPL-2.0

//! Internet checksum arithmetic (RFC 1071, RFC 1624) for the datagrams the
//! module changes: one's-complement sums of byte ranges, folding, the IPv4
//! header checksum and the UDP pseudo-header.
//!
//! A partial sum is a `u32` that, modulo 2^16 - 1, is the sum of 16-bit
//! big-endian words added with end-around carry, as the kernel's `__wsum`
//! (only its folded value means anything; the byte order of the words
//! is the wire's: the functions here take and give checksums as the 16-bit
//! values the headers carry, in host order of their big-endian bytes).
//! Bytes that move by an even number of positions add the same to a sum,
//! which is what lets the module update a checksum instead of summing the
//! datagram again.

/// One's-complement sum of `data` (a trailing odd byte is the high half of
/// a last word), added to `sum`.
#[inline]
pub fn add_bytes(sum: u32, data: &[u8]) -> u32 {
    let mut acc = u64::from(sum);
    // Four bytes at a time: a 32-bit big-endian word is its two 16-bit
    // words, the high one times 2^16, which is 1 modulo 2^16 - 1, the
    // modulus of the one's-complement sum (the value of the partial sum
    // differs, its folded value does not). Fewer than 2^32 of them cannot
    // overflow `acc`.
    let mut quads = data.chunks_exact(4);
    for q in &mut quads {
        acc += u64::from(u32::from_be_bytes([q[0], q[1], q[2], q[3]]));
    }
    let mut words = quads.remainder().chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    fold32(acc)
}

/// Folds a 64-bit accumulation into a 32-bit partial sum.
fn fold32(mut acc: u64) -> u32 {
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Folds a partial sum to 16 bits (not complemented).
pub fn fold(sum: u32) -> u16 {
    let mut s = sum;
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Adds a partial sum to another.
pub fn add(a: u32, b: u32) -> u32 {
    fold32(u64::from(a) + u64::from(b))
}

/// Subtracts partial sum `b` from `a` (adds its one's complement).
pub fn sub(a: u32, b: u32) -> u32 {
    add(a, !b)
}

/// The checksum field value for a finished sum: the complement of the
/// folded sum.
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// Updates checksum field `check` for a 16-bit word of the covered data
/// that changed from `from` to `to` (RFC 1624, eqn. 3).
pub fn replace16(check: u16, from: u16, to: u16) -> u16 {
    let s = add(add(u32::from(!check), u32::from(!from)), u32::from(to));
    !fold(s)
}

/// Updates checksum field `check` for covered data whose sum changed by
/// `diff` (the new sum minus the old, as [`sub`] gives it).
pub fn replace_by_diff(check: u16, diff: u32) -> u16 {
    !fold(add(u32::from(!check), diff))
}

/// The IPv4 header checksum of `hdr` (with its checksum field, bytes 10
/// and 11, taken as zero).
#[inline]
pub fn ipv4_header(hdr: &[u8]) -> u16 {
    let (a, rest) = hdr.split_at(hdr.len().min(10));
    let b = rest.get(2..).unwrap_or(&[]);
    finish(add_bytes(add_bytes(0, a), b))
}

/// The partial sum of the UDP pseudo-header for IPv4 addresses `saddr`,
/// `daddr` and UDP length `len`.
pub fn pseudo_v4(saddr: [u8; 4], daddr: [u8; 4], len: u16) -> u32 {
    let s = add_bytes(add_bytes(0, &saddr), &daddr);
    add(s, 17 + u32::from(len))
}

/// The partial sum of the UDP pseudo-header for IPv6 addresses `saddr`,
/// `daddr` and UDP length `len` (RFC 8200, section 8.1).
pub fn pseudo_v6(saddr: [u8; 16], daddr: [u8; 16], len: u32) -> u32 {
    let s = add_bytes(add_bytes(0, &saddr), &daddr);
    add(add(s, len >> 16), add(len & 0xffff, 17))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// RFC 1071 as written: 16-bit words, carries added back at the end.
    fn reference(data: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            sum += u64::from(data[i]) << 8 | u64::from(data[i + 1]);
            i += 2;
        }
        if i < data.len() {
            sum += u64::from(data[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071, section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(add_bytes(0, &data)), 0xddf2);
        assert_eq!(finish(add_bytes(0, &data)), !0xddf2);
    }

    #[test]
    fn ipv4_header_known_answer() {
        // A well-known header: 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_header(&h), 0xb861);
        // The field's own bytes do not count.
        h[10] = 0x12;
        h[11] = 0x34;
        assert_eq!(ipv4_header(&h), 0xb861);
    }

    #[test]
    fn udp_v4_known_answer() {
        // UDP 10.0.3.1:8848 -> 224.0.0.81:8848, payload "abc": computed
        // independently from the definition.
        let (s, d) = ([10, 0, 3, 1], [224, 0, 0, 81]);
        let udp = [
            0x22, 0x90, 0x22, 0x90, 0x00, 0x0b, 0x00, 0x00, b'a', b'b', b'c',
        ];
        let mut all = Vec::new();
        all.extend_from_slice(&s);
        all.extend_from_slice(&d);
        all.extend_from_slice(&[0, 17, 0, 11]);
        all.extend_from_slice(&udp);
        let want = reference(&all);
        assert_eq!(finish(add_bytes(pseudo_v4(s, d, 11), &udp)), want);
    }

    proptest! {
        #[test]
        fn matches_rfc1071(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(finish(add_bytes(0, &data)), reference(&data));
        }

        /// Summing in pieces of even length gives the sum of the whole.
        #[test]
        fn sums_compose(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..150) {
            let cut = (cut * 2).min(data.len() & !1);
            let (a, b) = data.split_at(cut);
            prop_assert_eq!(fold(add(add_bytes(0, a), add_bytes(0, b))), fold(add_bytes(0, &data)));
        }

        /// Incremental updates give the checksum of the changed data.
        #[test]
        fn updates_match_recomputing(
            data in proptest::collection::vec(any::<u8>(), 2..300),
            at in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            let mut d = data.clone();
            if d.len() % 2 == 1 {
                d.push(0);
            }
            let i = at.index(d.len() / 2) * 2;
            let check = finish(add_bytes(0, &d));
            let old = u16::from_be_bytes([d[i], d[i + 1]]);
            let mut changed = d.clone();
            changed[i..i + 2].copy_from_slice(&new.to_be_bytes());
            let want = finish(add_bytes(0, &changed));
            // One's complement has two zeros: compare the folded sums.
            prop_assert_eq!(fold(u32::from(!replace16(check, old, new))), fold(u32::from(!want)));
            let diff = sub(add_bytes(0, &changed[i..i + 2]), add_bytes(0, &d[i..i + 2]));
            prop_assert_eq!(fold(u32::from(!replace_by_diff(check, diff))), fold(u32::from(!want)));
        }

        #[test]
        fn pseudo_v6_matches_definition(s in any::<[u8; 16]>(), d in any::<[u8; 16]>(), len in any::<u32>()) {
            let mut all = Vec::new();
            all.extend_from_slice(&s);
            all.extend_from_slice(&d);
            all.extend_from_slice(&len.to_be_bytes());
            all.extend_from_slice(&[0, 0, 0, 17]);
            prop_assert_eq!(fold(pseudo_v6(s, d, len)), !reference(&all));
        }
    }
}
