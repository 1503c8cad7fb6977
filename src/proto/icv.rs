// SPDX-License-Identifier: GPL-2.0

//! The Integrity Check Value (ICV) of an authenticated sync message.
//!
//! The seed specification ("syncd strong authentication extension") defines
//! the ICV as HMAC-MD5 truncated to 96 bits (RFC 2403), computed with
//! incremental updates in a fixed order:
//!
//! 1. the 16-byte auth header (sequence number, ICV field zeroed),
//! 2. the connection entries,
//! 3. the IPVS message header, last, because its `size` and `nr_conns`
//!    fields only become final once the message is complete.
//!
//! HMAC updates do not commute, so sender and receiver must use exactly this
//! order. [`sync_icv`] is the one place that encodes it.

/// Length in bytes of a full HMAC-MD5 output.
pub const HMAC_MD5_LEN: usize = 16;

/// Length in bytes of the truncated ICV carried on the wire (96 bits).
pub const ICV_LEN: usize = 12;

/// Length in bytes of the auth header: 32-bit sequence number plus ICV.
pub const AUTH_HDR_LEN: usize = 4 + ICV_LEN;

/// A truncated (96-bit) ICV as carried on the wire.
pub type Icv = [u8; ICV_LEN];

/// A keyed MAC with a 128-bit output (HMAC-MD5 for the seed format).
///
/// The module implements it over the kernel Crypto API `hmac(md5)` shash;
/// host tests implement it over the RustCrypto crates.
pub trait Mac {
    /// Error reported by the implementation (for example an errno).
    type Error;

    /// Computes the full MAC of the concatenation of `parts`, feeding each
    /// part as one incremental update, in order.
    fn mac(&self, parts: &[&[u8]]) -> Result<[u8; HMAC_MD5_LEN], Self::Error>;

    /// Compares two ICVs in constant time.
    ///
    /// The default is a branch-free comparison in plain Rust; the kernel
    /// implementation uses `crypto_memneq()`.
    fn icv_eq(&self, a: &Icv, b: &Icv) -> bool {
        ct_eq(a, b)
    }
}

/// Constant-time equality of two ICVs: the time taken does not depend on
/// where, or whether, they differ.
pub fn ct_eq(a: &Icv, b: &Icv) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | core::hint::black_box(x ^ y));
    diff == 0
}

/// Truncates a full HMAC-MD5 output to the 96-bit ICV (its first 12 bytes,
/// RFC 2403 section 2).
pub fn truncate_96(full: &[u8; HMAC_MD5_LEN]) -> Icv {
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&full[..ICV_LEN]);
    icv
}

/// Returns the auth header bytes as they enter the MAC: the sequence number
/// in network byte order followed by an all-zero ICV field.
pub fn auth_header_for_mac(seq: u32) -> [u8; AUTH_HDR_LEN] {
    let mut a = [0u8; AUTH_HDR_LEN];
    a[..4].copy_from_slice(&seq.to_be_bytes());
    a
}

/// Computes the ICV of a sync message in the seed's order:
/// `HMAC(auth header with zero ICV || entries || message header)`, truncated
/// to 96 bits.
///
/// `msg_hdr` is the IPVS message header exactly as sent (for v1, 8 bytes with
/// the final `size` and the auth flag; for v0, 4 bytes).
pub fn sync_icv<M: Mac>(
    mac: &M,
    seq: u32,
    entries: &[u8],
    msg_hdr: &[u8],
) -> Result<Icv, M::Error> {
    let a = auth_header_for_mac(seq);
    let full = mac.mac(&[&a, entries, msg_hdr])?;
    Ok(truncate_96(&full))
}

/// Recomputes the ICV of a received message and compares it, in constant
/// time, with the one it carried. Returns `Ok(true)` only on a match.
pub fn verify_sync_icv<M: Mac>(
    mac: &M,
    seq: u32,
    entries: &[u8],
    msg_hdr: &[u8],
    received: &Icv,
) -> Result<bool, M::Error> {
    let expected = sync_icv(mac, seq, entries, msg_hdr)?;
    Ok(mac.icv_eq(&expected, received))
}

/// Largest auth header of any format (the extended format's 24 bytes).
pub const AUTH_HDR_MAX: usize = 24;

/// The ICV of the authenticated message `msg` (laid out as for
/// [`icv_in_place`]) from three parts in the seed's order, without writing
/// to `msg`: a copy of the auth header with its ICV field zeroed, the
/// entries, the IPVS header. Both formats use it when there is no room
/// for [`icv_in_place`]. Returns `None` if the lengths do not fit `msg` or
/// `auth_len` is not between [`ICV_LEN`] and [`AUTH_HDR_MAX`].
pub fn icv_from_parts<M: Mac>(
    msg: &[u8],
    hdr_len: usize,
    auth_len: usize,
    mac: &M,
) -> Option<Result<Icv, M::Error>> {
    let icv_off = auth_len.checked_sub(ICV_LEN)?;
    let (hdr, rest) = msg.split_at_checked(hdr_len)?;
    let (auth, entries) = rest.split_at_checked(auth_len)?;
    let mut auth_buf = [0u8; AUTH_HDR_MAX];
    let zeroed = auth_buf.get_mut(..auth_len)?;
    zeroed.copy_from_slice(auth);
    zeroed.get_mut(icv_off..)?.fill(0);
    Some(mac.mac(&[zeroed, entries, hdr]).map(|f| truncate_96(&f)))
}

/// Room after a message, in bytes, that lets [`icv_in_place`] and
/// [`tx_in_place`] feed the MAC one contiguous run: a copy of the IPVS
/// header (at most 8 bytes, v1) goes there.
pub const MAC_ROOM: usize = 8;

/// The ICV of the authenticated message `buf[..len]`: IPVS header of
/// `hdr_len` bytes, then an auth header of `auth_len` bytes whose last
/// [`ICV_LEN`] bytes are the ICV field, then the entries.
///
/// The seed's order (auth header with a zero ICV, entries, IPVS header) is
/// laid out contiguously in place and fed to the MAC as one update: the ICV
/// field is zeroed for the computation and then restored, and the header
/// is copied after the message, into `buf[len..len + hdr_len]`. The result
/// is the one [`sync_icv`] computes from three parts; one update of whole
/// MD5 blocks spares the MAC the buffering of two partial blocks.
///
/// Returns `None`, with `buf` untouched, if the lengths do not fit `buf`.
/// Otherwise `buf[..len]` is unchanged on return.
pub fn icv_in_place<M: Mac>(
    buf: &mut [u8],
    len: usize,
    hdr_len: usize,
    auth_len: usize,
    mac: &M,
) -> Option<Result<Icv, M::Error>> {
    let body = hdr_len.checked_add(auth_len)?;
    let icv_off = body.checked_sub(ICV_LEN)?;
    let end = len.checked_add(hdr_len)?;
    if icv_off < hdr_len || body > len || end > buf.len() {
        return None;
    }
    // All ranges below are within `buf`: icv_off + ICV_LEN == body <= len
    // and len + hdr_len == end <= buf.len().
    let mut saved = [0u8; ICV_LEN];
    let field = buf.get_mut(icv_off..body)?;
    saved.copy_from_slice(field);
    field.fill(0);
    buf.copy_within(..hdr_len, len);
    let full = mac.mac(&[buf.get(hdr_len..end)?]);
    buf.get_mut(icv_off..body)?.copy_from_slice(&saved);
    Some(full.map(|f| truncate_96(&f)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::RustCryptoHmacMd5;
    use super::*;
    use crate::vectors::{RFC2202_CASE5_DIGEST_96, RFC2202_HMAC_MD5};
    use hmac::{Hmac, Mac as _};
    use proptest::prelude::*;
    use std::vec::Vec;

    /// One-shot reference HMAC of a contiguous buffer.
    fn reference(key: &[u8], data: &[u8]) -> [u8; HMAC_MD5_LEN] {
        let mut h = <Hmac<md5::Md5>>::new_from_slice(key).unwrap();
        h.update(data);
        h.finalize().into_bytes().into()
    }

    #[test]
    fn icv_in_place_needs_its_room_and_restores_the_message() {
        let key = RustCryptoHmacMd5(b"k".to_vec());
        // v1 header (8), auth header (16), 4 bytes of entries, 8 of room.
        let mut buf: Vec<u8> = (0u8..36).collect();
        let before = buf.clone();
        assert!(icv_in_place(&mut buf[..35], 28, 8, 16, &key).is_none());
        assert!(icv_in_place(&mut buf, 23, 8, 16, &key).is_none());
        assert!(icv_in_place(&mut buf, 28, 8, ICV_LEN - 1, &key).is_none());
        assert!(icv_in_place(&mut buf, usize::MAX, 8, 16, &key).is_none());
        assert_eq!(buf, before);
        let icv = icv_in_place(&mut buf, 28, 8, 16, &key).unwrap().unwrap();
        assert_eq!(buf[..28], before[..28]);
        assert_eq!(buf[28..], before[..8]);
        let mut auth = [0u8; 16];
        auth[..4].copy_from_slice(&before[8..12]);
        let want = key.mac(&[&auth, &before[24..28], &before[..8]]).unwrap();
        assert_eq!(icv, truncate_96(&want));
    }

    #[test]
    fn icv_from_parts_checks_lengths_and_equals_icv_in_place() {
        let key = RustCryptoHmacMd5(b"k".to_vec());
        for auth_len in [AUTH_HDR_LEN, AUTH_HDR_MAX] {
            let len = 8 + auth_len + 4;
            let mut buf: Vec<u8> = (0u8..).take(len + 8).collect();
            let msg = buf[..len].to_vec();
            let parts = icv_from_parts(&msg, 8, auth_len, &key).unwrap().unwrap();
            assert_eq!(
                icv_in_place(&mut buf, len, 8, auth_len, &key),
                Some(Ok(parts))
            );
            // The entries may be empty, the headers may not be cut.
            assert!(icv_from_parts(&msg[..8 + auth_len], 8, auth_len, &key).is_some());
            assert!(icv_from_parts(&msg[..8 + auth_len - 1], 8, auth_len, &key).is_none());
        }
        let msg = [0u8; 64];
        assert!(icv_from_parts(&msg, 8, ICV_LEN - 1, &key).is_none());
        assert!(icv_from_parts(&msg, 8, AUTH_HDR_MAX + 1, &key).is_none());
        assert!(icv_from_parts(&msg, usize::MAX, 16, &key).is_none());
    }

    #[test]
    fn rfc2202_vectors_match_reference_and_table() {
        assert_eq!(RFC2202_HMAC_MD5.len(), 7);
        for v in &RFC2202_HMAC_MD5 {
            let m = RustCryptoHmacMd5(v.key.to_vec());
            assert_eq!(m.mac(&[v.data]).unwrap(), v.digest, "case {}", v.case);
            assert_eq!(reference(v.key, v.data), v.digest, "case {}", v.case);
        }
    }

    #[test]
    fn rfc2202_case5_truncated_to_96_bits() {
        let v = &RFC2202_HMAC_MD5[4];
        assert_eq!(v.case, 5);
        assert_eq!(truncate_96(&v.digest), RFC2202_CASE5_DIGEST_96);
    }

    #[test]
    fn split_updates_equal_one_shot() {
        // Incremental updates must give the one-shot digest of the
        // concatenation, whatever the split points.
        let v = &RFC2202_HMAC_MD5[6];
        let m = RustCryptoHmacMd5(v.key.to_vec());
        for cut in 0..=v.data.len() {
            let (x, y) = v.data.split_at(cut);
            assert_eq!(m.mac(&[x, &[], y]).unwrap(), v.digest);
        }
    }

    #[test]
    fn icv_uses_seed_order() {
        let m = RustCryptoHmacMd5(b"tot0234".to_vec());
        let hdr = [0u8, 150, 0x00, 0x3c, 1, 1, 0x00, 0x01];
        let entries = [0x11u8; 36];
        let icv = sync_icv(&m, 7, &entries, &hdr).unwrap();

        let mut concat = Vec::new();
        concat.extend_from_slice(&[0, 0, 0, 7]);
        concat.extend_from_slice(&[0; ICV_LEN]);
        concat.extend_from_slice(&entries);
        concat.extend_from_slice(&hdr);
        assert_eq!(icv, truncate_96(&reference(b"tot0234", &concat)));

        // The header-first order (what a naive implementation would do over
        // the datagram as laid out on the wire) gives a different value.
        let mut wire_order = Vec::new();
        wire_order.extend_from_slice(&hdr);
        wire_order.extend_from_slice(&[0, 0, 0, 7]);
        wire_order.extend_from_slice(&[0; ICV_LEN]);
        wire_order.extend_from_slice(&entries);
        assert_ne!(icv, truncate_96(&reference(b"tot0234", &wire_order)));
    }

    #[test]
    fn sequence_number_is_big_endian_and_covered() {
        assert_eq!(auth_header_for_mac(0x0102_0304)[..4], [1, 2, 3, 4]);
        assert_eq!(auth_header_for_mac(0x0102_0304)[4..], [0; ICV_LEN]);
        let m = RustCryptoHmacMd5(b"k".to_vec());
        let a = sync_icv(&m, 1, b"e", b"h").unwrap();
        let b = sync_icv(&m, 2, b"e", b"h").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn ct_eq_detects_every_byte() {
        let a = [0x5au8; ICV_LEN];
        assert!(ct_eq(&a, &a));
        for i in 0..ICV_LEN {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!ct_eq(&a, &b));
        }
    }

    proptest! {
        #[test]
        fn icv_equals_reference_over_concatenation(
            key in proptest::collection::vec(any::<u8>(), 1..=64),
            seq in any::<u32>(),
            entries in proptest::collection::vec(any::<u8>(), 0..1500),
            hdr in proptest::collection::vec(any::<u8>(), 4..=8),
        ) {
            let m = RustCryptoHmacMd5(key.clone());
            let mut concat = Vec::new();
            concat.extend_from_slice(&seq.to_be_bytes());
            concat.extend_from_slice(&[0; ICV_LEN]);
            concat.extend_from_slice(&entries);
            concat.extend_from_slice(&hdr);
            let icv = sync_icv(&m, seq, &entries, &hdr).unwrap();
            prop_assert_eq!(icv, truncate_96(&reference(&key, &concat)));
            prop_assert!(verify_sync_icv(&m, seq, &entries, &hdr, &icv).unwrap());
        }

        #[test]
        fn any_bit_flip_fails_verification(
            seq in any::<u32>(),
            entries in proptest::collection::vec(any::<u8>(), 1..300),
            hdr in proptest::collection::vec(any::<u8>(), 8..=8),
            bit in any::<proptest::sample::Index>(),
        ) {
            let m = RustCryptoHmacMd5(b"tot0234".to_vec());
            let icv = sync_icv(&m, seq, &entries, &hdr).unwrap();
            // Flip one bit anywhere in seq || icv || entries || header.
            let total_bits = (4 + ICV_LEN + entries.len() + hdr.len()) * 8;
            let b = bit.index(total_bits);
            let (mut seq2, mut icv2, mut entries2, mut hdr2) = (seq, icv, entries.clone(), hdr.clone());
            let byte = b / 8;
            let mask = 1u8 << (b % 8);
            if byte < 4 {
                seq2 ^= u32::from(mask) << (8 * (3 - byte));
            } else if byte < 4 + ICV_LEN {
                icv2[byte - 4] ^= mask;
            } else if byte < 4 + ICV_LEN + entries.len() {
                entries2[byte - 4 - ICV_LEN] ^= mask;
            } else {
                hdr2[byte - 4 - ICV_LEN - entries.len()] ^= mask;
            }
            prop_assert!(!verify_sync_icv(&m, seq2, &entries2, &hdr2, &icv2).unwrap());
        }
    }
}
