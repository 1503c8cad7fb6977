// SPDX-License-Identifier: GPL-2.0

//! Extended authentication header (opt-in): restart-safe 64-bit sequence
//! numbers and key IDs for hitless key rollover.
//!
//! The seed's 16-byte header ([`super::msg`]) stays the default. A
//! namespace configured for the extended format on every director uses this
//! one instead; the packet never selects it (a backup in seed mode drops
//! extended messages as [`DropReason::BadHeader`], and one in extended mode
//! drops seed messages the same way). IPVS v1 messages only:
//!
//! ```text
//! | v1 hdr (8) | key id (1) | alg (1) | sender (1) | reserved (1) | seq (8) | ICV (12) | entries ... |
//!   spare = AUTH_FLAG | EXT_FLAG
//! ```
//!
//! `sender` is the master's sync thread (0 .. [`MAX_SENDERS`] - 1), which
//! numbers its own messages: with the SyncID it names the backup's replay
//! stream ([`super::replay::StreamId::ext`]), so that the stream of a
//! message is authenticated, not taken from the port it arrives on.
//!
//! `size` counts the whole payload. The ICV is HMAC-MD5-96 in the seed's
//! order: the 24-byte auth header with a zero ICV, then the entries, then
//! the IPVS header exactly as sent. Stock IPVS backups see `spare != 0`,
//! parse the message as v0, read `nr_conns` 0 from its first byte and apply
//! nothing, as with the seed format.
//!
//! The sequence number is 64 bits: the master's real time, in seconds
//! (modulo 2^32) in the high half and 1/65536 s in the next 16 bits, or the
//! last number sent plus one if that is not later ([`next_seq`]). A master
//! that restarts (module reload, reboot, namespace re-created) thus starts
//! above every number it sent before, as long as its clock went forward;
//! backups keep their high-water mark, so every datagram captured before the
//! restart stays a replay. Numbers compare in RFC 1982 serial arithmetic on
//! 64 bits ([`seq_after`]), so the 2106 wrap of the seconds is harmless.
//!
//! Keys carry an ID (1..=255) in the header. A namespace holds up to two
//! keys ([`KeyRing`]), one of them active for sending; a backup verifies
//! with the key the header names. Rotation across a cluster is three
//! phases, each done on every director in any order: add the new key,
//! activate it, retire the old one (Documentation/ip_vs_sync_auth.rst).

use super::icv::{truncate_96, Icv, Mac, AUTH_HDR_MAX, ICV_LEN};
use super::msg::{
    get_be16, put_be16, tx_classify, tx_in_place, DropReason, Layout, TxError, AUTH_FLAG,
    MAX_SYNC_PAYLOAD, OFF_SIZE, OFF_V1_RESERVED, OFF_V1_SPARE, OFF_V1_VERSION, REQUIRED_TTL,
    V1_HDR_LEN,
};
pub use super::msg::{strip_verified, verify_checked_in_place, Checked, Verified};

/// Bit of the v1 `spare` field meaning "extended auth header".
pub const EXT_FLAG: u16 = 0x0002;
/// The `spare` field of an extended message.
pub const EXT_SPARE: u16 = AUTH_FLAG | EXT_FLAG;
/// Length of the extended auth header.
pub const EXT_AUTH_HDR_LEN: usize = 12 + ICV_LEN;
const _: () = assert!(EXT_AUTH_HDR_LEN <= AUTH_HDR_MAX);
/// The only algorithm so far: HMAC-MD5 truncated to 96 bits.
pub const ALG_HMAC_MD5_96: u8 = 1;

/// Sync threads a master can have (IPVS's `IPVS_SYNC_PORTS_MAX`): the
/// `sender` field is below this.
pub const MAX_SENDERS: u8 = 64;

const OFF_KEY_ID: usize = 0;
const OFF_ALG: usize = 1;
const OFF_SENDER: usize = 2;
const OFF_RSVD: usize = 3;
const OFF_SEQ: usize = 4;
const OFF_ICV: usize = 12;

/// Whether sequence number `a` comes after `b` (RFC 1982 serial arithmetic
/// on 64 bits). Exactly one of `seq_after(a, b)` and `seq_after(b, a)` holds
/// unless `a == b` or they are exactly 2^63 apart (then neither does).
pub const fn seq_after(a: u64, b: u64) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < (1 << 63)
}

/// The sequence number that real time `secs`.`nanos` stands for: seconds
/// modulo 2^32 in the high 32 bits, the fraction of the second in 1/65536
/// units in the next 16, and 0 in the low 16 (room for 65 536 messages per
/// 1/65536 s before a number runs ahead of the clock).
pub const fn time_seq(secs: u64, nanos: u32) -> u64 {
    let frac = ((nanos as u64) << 16) / 1_000_000_000;
    ((secs & 0xffff_ffff) << 32) | ((frac & 0xffff) << 16)
}

/// The number a master sends next, given the last one it sent on this
/// stream (0 if none) and [`time_seq`] of now: the clock's value if that is
/// after `prev`, otherwise `prev + 1`. Strictly increasing whatever the
/// clock does; a restarted master (prev = 0) starts from the clock.
pub const fn next_seq(prev: u64, now: u64) -> u64 {
    if prev == 0 || seq_after(now, prev) {
        now
    } else {
        prev.wrapping_add(1)
    }
}

/// Whether `seq` is within `window_secs` seconds of `now` (both
/// [`time_seq`] values), in either direction. A window of 0 disables the
/// check. Optional freshness for backups whose clocks are synchronised with
/// the master's: it bounds how old a message replayed to a backup that lost
/// its replay state (reboot) may be.
pub const fn is_fresh(seq: u64, now: u64, window_secs: u32) -> bool {
    if window_secs == 0 {
        return true;
    }
    let w = (window_secs as u64) << 32;
    let d = seq.wrapping_sub(now);
    // |seq - now| <= w in serial arithmetic.
    d <= w || d.wrapping_neg() <= w
}

/// Why a key operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Key ID 0 is reserved.
    BadId,
    /// A key with this ID is installed already (retire it first).
    Exists,
    /// Both slots are in use.
    Full,
    /// No key with this ID is installed.
    NotFound,
    /// The key is the active one; activate another before retiring it.
    Active,
}

/// Number of keys a namespace can hold: the current one and the next.
pub const KEY_SLOTS: usize = 2;

/// The keys of a namespace, by ID, and which one signs.
///
/// `K` is the key material (the kernel stores a prepared transform). The
/// ring never hands a key back out except for use: there is no way to read
/// key bytes through it.
#[derive(Debug)]
pub struct KeyRing<K> {
    slots: [Option<(u8, K)>; KEY_SLOTS],
    active: Option<u8>,
}

impl<K> Default for KeyRing<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> KeyRing<K> {
    /// An empty ring: nothing verifies, nothing is signed.
    pub const fn new() -> Self {
        KeyRing {
            slots: [None, None],
            active: None,
        }
    }

    /// Checks that a key with ID `id` can be added, without changing the
    /// ring, and returns the index of the slot [`KeyRing::add`] will use.
    /// Lets a caller prepare the key (allocate a transform) only when the
    /// operation can succeed, and keep per-slot data in step with the ring.
    pub fn can_add(&self, id: u8) -> Result<usize, KeyError> {
        if id == 0 {
            return Err(KeyError::BadId);
        }
        if self.get(id).is_some() {
            return Err(KeyError::Exists);
        }
        self.slots
            .iter()
            .position(Option::is_none)
            .ok_or(KeyError::Full)
    }

    /// Installs `key` under `id`: receive only, except that the first key
    /// of an empty ring becomes active (a fresh director signs with it).
    /// Returns the slot used, the one [`KeyRing::can_add`] named.
    pub fn add(&mut self, id: u8, key: K) -> Result<usize, KeyError> {
        let idx = self.can_add(id)?;
        let slot = self.slots.get_mut(idx).ok_or(KeyError::Full)?;
        *slot = Some((id, key));
        if self.active.is_none() {
            self.active = Some(id);
        }
        Ok(idx)
    }

    /// Makes key `id` the one that signs. The previous active key stays
    /// installed, so backups keep verifying both.
    pub fn activate(&mut self, id: u8) -> Result<(), KeyError> {
        self.get(id).ok_or(KeyError::NotFound)?;
        self.active = Some(id);
        Ok(())
    }

    /// Removes key `id` and returns it (for the caller to destroy). The
    /// active key cannot be retired: a master would otherwise stop signing.
    pub fn retire(&mut self, id: u8) -> Result<K, KeyError> {
        if self.active == Some(id) {
            return Err(KeyError::Active);
        }
        let slot = self
            .slots
            .iter_mut()
            .find(|s| matches!(s, Some((i, _)) if *i == id))
            .ok_or(KeyError::NotFound)?;
        slot.take().map(|(_, k)| k).ok_or(KeyError::NotFound)
    }

    /// The key with ID `id`, for verifying.
    pub fn get(&self, id: u8) -> Option<&K> {
        self.slots
            .iter()
            .flatten()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| k)
    }

    /// The active key and its ID, for signing.
    pub fn active(&self) -> Option<(u8, &K)> {
        let id = self.active?;
        self.get(id).map(|k| (id, k))
    }

    /// IDs installed, in slot order (0 = free slot).
    pub fn ids(&self) -> [u8; KEY_SLOTS] {
        let mut out = [0u8; KEY_SLOTS];
        for (o, s) in out.iter_mut().zip(&self.slots) {
            *o = s.as_ref().map_or(0, |(i, _)| *i);
        }
        out
    }
}

/// The auth header as the ICV covers it: the ICV field zeroed.
fn auth_header_for_mac(key_id: u8, sender: u8, seq: u64) -> [u8; EXT_AUTH_HDR_LEN] {
    let mut a = [0u8; EXT_AUTH_HDR_LEN];
    a[OFF_KEY_ID] = key_id;
    a[OFF_ALG] = ALG_HMAC_MD5_96;
    a[OFF_SENDER] = sender;
    a[OFF_SEQ..OFF_ICV].copy_from_slice(&seq.to_be_bytes());
    a
}

/// The ICV of an extended message: HMAC over the auth header with a zero
/// ICV, the entries, and the IPVS header as sent, truncated to 96 bits.
pub fn ext_icv<M: Mac>(
    mac: &M,
    key_id: u8,
    sender: u8,
    seq: u64,
    entries: &[u8],
    msg_hdr: &[u8],
) -> Result<Icv, M::Error> {
    let a = auth_header_for_mac(key_id, sender, seq);
    Ok(truncate_96(&mac.mac(&[&a, entries, msg_hdr])?))
}

/// A received extended message that passed the cheap checks.
#[derive(Debug, Clone, Copy)]
pub struct RxExt<'a> {
    key_id: u8,
    sender: u8,
    seq: u64,
    icv: Icv,
    header: &'a [u8],
    entries: &'a [u8],
}

impl<'a> RxExt<'a> {
    /// The key ID the message names.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The master's sync thread that numbered the message.
    pub fn sender(&self) -> u8 {
        self.sender
    }

    /// The `syncid` field of the IPVS header.
    pub fn syncid(&self) -> u8 {
        self.header.get(1).copied().unwrap_or(0)
    }

    /// The 64-bit sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The connection entries.
    pub fn entries(&self) -> &'a [u8] {
        self.entries
    }

    /// Recomputes the ICV with `mac` (the key named by [`Self::key_id`])
    /// and compares it in constant time.
    pub fn verify<M: Mac>(&self, mac: &M) -> Result<bool, M::Error> {
        let want = ext_icv(
            mac,
            self.key_id,
            self.sender,
            self.seq,
            self.entries,
            self.header,
        )?;
        Ok(mac.icv_eq(&want, &self.icv))
    }

    /// What [`verify_checked_in_place`] and [`strip_verified`] need of the
    /// message, by value (they serve both formats).
    pub fn checked(&self) -> Checked {
        let len = self.header.len() + EXT_AUTH_HDR_LEN + self.entries.len();
        Checked::v1(EXT_AUTH_HDR_LEN, len, self.icv)
    }
}

/// What a v1 sync message says it is, by its `spare` field: what a backup
/// in the rollout mode (Documentation/ip_vs_sync_auth.rst, "Rolling
/// authentication out") goes by. Nothing here is checked: a message of
/// either authenticated kind still goes through every check of its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxKind {
    /// A v1 message with `spare == 0`: plaintext, as stock IPVS sends.
    Plain,
    /// A v1 message with `spare == AUTH_FLAG`: the seed format.
    Seed,
    /// A v1 message with `spare == EXT_SPARE`: the extended format.
    Ext,
    /// Anything else: too short for a v1 header, the v0 layout (whose
    /// plaintext and authenticated messages look alike), or other `spare`
    /// bits. Only the configured format may take it.
    Other,
}

/// The kind of `payload` ([`RxKind`]): a v1 header (`reserved == 0`,
/// `version == 1`) and its `spare` field.
pub fn rx_kind(payload: &[u8]) -> RxKind {
    let v1 = payload.len() >= V1_HDR_LEN
        && payload.get(OFF_V1_RESERVED) == Some(&0)
        && payload.get(OFF_V1_VERSION) == Some(&1);
    if !v1 {
        return RxKind::Other;
    }
    match get_be16(payload, OFF_V1_SPARE) {
        Some(0) => RxKind::Plain,
        Some(AUTH_FLAG) => RxKind::Seed,
        Some(EXT_SPARE) => RxKind::Ext,
        _ => RxKind::Other,
    }
}

/// The cheap checks of an extended message, in order: [`DropReason::Malformed`]
/// (shorter than both headers), [`DropReason::BadTtl`], then
/// [`DropReason::BadHeader`] (not v1, `spare != EXT_SPARE`, unknown
/// algorithm, `sender` not below [`MAX_SENDERS`], reserved bits set,
/// `size` not the payload length). The key
/// lookup, replay check and ICV are the caller's, in that order.
pub fn rx_parse_ext(payload: &[u8], ttl: u8) -> Result<RxExt<'_>, DropReason> {
    let (header, rest) = payload
        .split_at_checked(V1_HDR_LEN)
        .ok_or(DropReason::Malformed)?;
    let (auth, entries) = rest
        .split_first_chunk::<EXT_AUTH_HDR_LEN>()
        .ok_or(DropReason::Malformed)?;
    if ttl != REQUIRED_TTL {
        return Err(DropReason::BadTtl);
    }
    let ok = header.get(OFF_V1_RESERVED) == Some(&0)
        && header.get(OFF_V1_VERSION) == Some(&1)
        && get_be16(header, OFF_V1_SPARE) == Some(EXT_SPARE)
        && auth[OFF_ALG] == ALG_HMAC_MD5_96
        && auth[OFF_SENDER] < MAX_SENDERS
        && auth[OFF_RSVD] == 0
        && get_be16(header, OFF_SIZE).map(usize::from) == Some(payload.len());
    if !ok {
        return Err(DropReason::BadHeader);
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&auth[OFF_SEQ..OFF_ICV]);
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&auth[OFF_ICV..]);
    Ok(RxExt {
        key_id: auth[OFF_KEY_ID],
        sender: auth[OFF_SENDER],
        seq: u64::from_be_bytes(seq),
        icv,
        header,
        entries,
    })
}

/// [`rx_parse_ext`] then [`strip_verified`], for callers that verified
/// the extended message `buf` (exactly the received payload) by other
/// means; see [`super::msg::rx_strip_front`]. Returns the offset of the
/// plaintext (always [`EXT_AUTH_HDR_LEN`]); on error `buf` is unchanged.
pub fn rx_strip_ext_front(buf: &mut [u8]) -> Result<usize, DropReason> {
    let c = rx_parse_ext(buf, REQUIRED_TTL)?.checked();
    strip_verified(buf, c.assume_verified())
}

/// [`rx_parse_ext`] then [`verify_checked_in_place`] on the received
/// message `buf[..len]` with the key `mac`: `Ok(true)` only if its ICV
/// matches. `buf[..len]` is unchanged on return.
pub fn rx_verify_ext_in_place<M: Mac>(
    buf: &mut [u8],
    len: usize,
    mac: &M,
) -> Result<bool, M::Error> {
    let Some(Ok(c)) = buf
        .get(..len)
        .map(|m| rx_parse_ext(m, REQUIRED_TTL).map(|rx| rx.checked()))
    else {
        return Ok(false);
    };
    Ok(verify_checked_in_place(buf, &c, mac)?.is_some())
}

/// Authenticates the plaintext v1 message `buf[..len]` in place with key
/// `key_id`, as sync thread `sender` (below [`MAX_SENDERS`], else
/// [`TxError::NotSync`]) and with sequence number `seq` (`buf` has room
/// for 24 more bytes).
/// v0 messages are [`TxError::NotSync`]: the extended format needs v1
/// (IPVS's default `sync_version`). With [`super::icv::MAC_ROOM`] more bytes of room
/// the ICV input is fed as one update, as by
/// [`super::msg::tx_insert_in_place`]. On error `buf[..len]` is unchanged.
pub fn tx_insert_ext_in_place<M: Mac>(
    buf: &mut [u8],
    len: usize,
    key_id: u8,
    sender: u8,
    seq: u64,
    mac: &M,
) -> Result<usize, TxError<M::Error>> {
    let plain = buf.get(..len).ok_or(TxError::NoRoom)?;
    if tx_classify(plain) != Some(Layout::V1) || sender >= MAX_SENDERS {
        return Err(TxError::NotSync);
    }
    let new_len = len
        .checked_add(EXT_AUTH_HDR_LEN)
        .filter(|&n| n <= MAX_SYNC_PAYLOAD)
        .ok_or(TxError::TooBig)?;
    let new_size = u16::try_from(new_len).map_err(|_| TxError::TooBig)?;
    if buf.len() < new_len {
        return Err(TxError::NoRoom);
    }
    let mut hdr = [0u8; V1_HDR_LEN];
    hdr.copy_from_slice(plain.get(..V1_HDR_LEN).ok_or(TxError::NotSync)?);
    put_be16(&mut hdr, OFF_SIZE, new_size).ok_or(TxError::NotSync)?;
    put_be16(&mut hdr, OFF_V1_SPARE, EXT_SPARE).ok_or(TxError::NotSync)?;
    tx_in_place(
        buf,
        len,
        &hdr,
        &auth_header_for_mac(key_id, sender, seq),
        mac,
    )
}

#[cfg(test)]
mod tests {
    use super::super::icv::MAC_ROOM;
    use super::super::msg::{rx_parse, tx_insert_in_place};
    use super::super::testutil::RustCryptoHmacMd5;
    use super::*;
    use hmac::{Hmac, Mac as _};
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const KEY: &[u8] = b"tot0234";

    fn plain_v1(nr: u8, entries: &[u8]) -> Vec<u8> {
        let size = (V1_HDR_LEN + entries.len()) as u16;
        let mut m = vec![0, 150];
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[nr, 1, 0, 0]);
        m.extend_from_slice(entries);
        m
    }

    #[test]
    fn rx_kind_goes_by_the_v1_spare_field_only() {
        let plain = plain_v1(1, &[7; 36]);
        assert_eq!(rx_kind(&plain), RxKind::Plain);
        let mut seed = vec![0u8; plain.len() + AUTH_HDR_MAX + MAC_ROOM];
        seed[..plain.len()].copy_from_slice(&plain);
        let n = tx_insert_in_place(&mut seed, plain.len(), 1, &RustCryptoHmacMd5(KEY.to_vec()))
            .unwrap();
        assert_eq!(rx_kind(&seed[..n]), RxKind::Seed);
        assert_eq!(rx_kind(&sign(&plain, 1, 5, KEY)), RxKind::Ext);
        // Every other spare value, a v0 header, a v1 header with another
        // version or reserved byte, and anything shorter than a v1 header.
        for spare in [2u16, 4, 0x0100, 0x8000, 0xffff, EXT_SPARE | 4] {
            let mut m = plain.clone();
            m[OFF_V1_SPARE..OFF_V1_SPARE + 2].copy_from_slice(&spare.to_be_bytes());
            assert_eq!(rx_kind(&m), RxKind::Other, "spare {spare:#x}");
        }
        let mut m = plain.clone();
        m[OFF_V1_VERSION] = 2;
        assert_eq!(rx_kind(&m), RxKind::Other);
        let mut m = plain.clone();
        m[OFF_V1_RESERVED] = 1;
        assert_eq!(rx_kind(&m), RxKind::Other);
        for len in 0..V1_HDR_LEN {
            assert_eq!(rx_kind(&plain[..len]), RxKind::Other, "length {len}");
        }
        assert_eq!(rx_kind(&plain[..V1_HDR_LEN]), RxKind::Plain);
    }

    proptest! {
        #[test]
        fn rx_kind_never_calls_other_bytes_plain(m in proptest::collection::vec(any::<u8>(), 0..64)) {
            let k = rx_kind(&m);
            let spare = if m.len() >= V1_HDR_LEN { Some(u16::from_be_bytes([m[6], m[7]])) } else { None };
            let v1 = m.len() >= V1_HDR_LEN && m[0] == 0 && m[5] == 1;
            prop_assert_eq!(k == RxKind::Plain, v1 && spare == Some(0));
            prop_assert_eq!(k == RxKind::Seed, v1 && spare == Some(AUTH_FLAG));
            prop_assert_eq!(k == RxKind::Ext, v1 && spare == Some(EXT_SPARE));
        }
    }

    fn sign(plain: &[u8], key_id: u8, seq: u64, key: &[u8]) -> Vec<u8> {
        sign_as(plain, key_id, 0, seq, key)
    }

    fn sign_as(plain: &[u8], key_id: u8, sender: u8, seq: u64, key: &[u8]) -> Vec<u8> {
        let mut b = plain.to_vec();
        b.resize(plain.len() + EXT_AUTH_HDR_LEN, 0);
        let n = tx_insert_ext_in_place(
            &mut b,
            plain.len(),
            key_id,
            sender,
            seq,
            &RustCryptoHmacMd5(key.to_vec()),
        )
        .unwrap();
        assert_eq!(n, b.len());
        b
    }

    #[test]
    fn wire_layout_and_reference_icv() {
        let entries = [0x5au8; 36];
        let plain = plain_v1(1, &entries);
        let m = sign_as(&plain, 7, 5, 0x6543_2100_0001_0002, KEY);
        assert_eq!(m.len(), 8 + 24 + 36);
        assert_eq!(&m[2..4], &(m.len() as u16).to_be_bytes());
        assert_eq!(&m[6..8], &[0, 3]);
        assert_eq!(m[8], 7);
        assert_eq!(m[9], ALG_HMAC_MD5_96);
        assert_eq!(&m[10..12], &[5, 0]);
        assert_eq!(&m[12..20], &0x6543_2100_0001_0002u64.to_be_bytes());
        assert_eq!(&m[32..], &entries);
        // Reference: one-shot HMAC over (auth header, zero ICV) || entries ||
        // header as sent, built independently from the bytes on the wire.
        let mut input = m[8..20].to_vec();
        input.extend_from_slice(&[0; 12]);
        input.extend_from_slice(&m[32..]);
        input.extend_from_slice(&m[..8]);
        let mut h = <Hmac<md5::Md5>>::new_from_slice(KEY).unwrap();
        h.update(&input);
        let full = h.finalize().into_bytes();
        assert_eq!(&m[20..32], &full[..12]);
    }

    #[test]
    fn parse_verify_strip_round_trip() {
        let plain = plain_v1(2, &[9u8; 72]);
        let mut m = sign_as(&plain, 2, 63, 42, KEY);
        let rx = rx_parse_ext(&m, 255).unwrap();
        assert_eq!((rx.key_id(), rx.sender(), rx.seq()), (2, 63, 42));
        assert_eq!(rx.syncid(), 150);
        assert_eq!(rx.verify(&RustCryptoHmacMd5(KEY.to_vec())), Ok(true));
        assert_eq!(rx.verify(&RustCryptoHmacMd5(b"other".to_vec())), Ok(false));
        let off = rx_strip_ext_front(&mut m).unwrap();
        assert_eq!(off, EXT_AUTH_HDR_LEN);
        assert_eq!(&m[off..], &plain[..]);
    }

    #[test]
    fn check_order_and_header_checks() {
        let m = sign(&plain_v1(1, &[1u8; 36]), 1, 5, KEY);
        assert_eq!(
            rx_parse_ext(&m[..8 + 23], 1).unwrap_err(),
            DropReason::Malformed
        );
        assert_eq!(rx_parse_ext(&m, 254).unwrap_err(), DropReason::BadTtl);
        for (off, val) in [
            (0usize, 1u8),
            (5, 2),
            (7, 1),
            (7, 0),
            (9, 2),
            (10, MAX_SENDERS),
            (10, 0xff),
            (11, 1),
            (3, 0),
        ] {
            let mut b = m.clone();
            b[off] = val;
            assert_eq!(
                rx_parse_ext(&b, 255).unwrap_err(),
                DropReason::BadHeader,
                "byte {off}"
            );
        }
        // The modes do not mix: the seed parser refuses an extended message
        // and the extended parser a seed one.
        assert_eq!(rx_parse(&m, 255).unwrap_err(), DropReason::BadHeader);
        let plain = plain_v1(1, &[1u8; 36]);
        let mut seed = plain.clone();
        seed.resize(plain.len() + 16, 0);
        tx_insert_in_place(&mut seed, plain.len(), 1, &RustCryptoHmacMd5(KEY.to_vec())).unwrap();
        assert!(rx_parse_ext(&seed, 255).is_err());
    }

    #[test]
    fn v0_and_non_sync_are_not_signed() {
        let v0 = [
            1u8, 150, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut b = v0.to_vec();
        b.resize(v0.len() + EXT_AUTH_HDR_LEN, 0);
        let r = tx_insert_ext_in_place(&mut b, v0.len(), 1, 0, 1, &RustCryptoHmacMd5(KEY.to_vec()));
        assert_eq!(r, Err(TxError::NotSync));
        assert_eq!(&b[..v0.len()], &v0);
        // A thread number IPVS cannot have is not signed either.
        let plain = plain_v1(1, &[0; 36]);
        let mut b = plain.clone();
        b.resize(plain.len() + EXT_AUTH_HDR_LEN, 0);
        let mac = RustCryptoHmacMd5(KEY.to_vec());
        let r = tx_insert_ext_in_place(&mut b, plain.len(), 1, MAX_SENDERS, 1, &mac);
        assert_eq!(r, Err(TxError::NotSync));
        assert_eq!(&b[..plain.len()], &plain[..]);
        let plain = plain_v1(1, &[0; 36]);
        let mut short = plain.clone();
        short.resize(plain.len() + EXT_AUTH_HDR_LEN - 1, 0);
        let r = tx_insert_ext_in_place(
            &mut short,
            plain.len(),
            1,
            0,
            1,
            &RustCryptoHmacMd5(KEY.to_vec()),
        );
        assert_eq!(r, Err(TxError::NoRoom));
    }

    #[test]
    fn serial_arithmetic() {
        assert!(seq_after(2, 1));
        assert!(!seq_after(1, 2));
        assert!(!seq_after(5, 5));
        // Across the 64-bit wrap.
        assert!(seq_after(0, u64::MAX));
        assert!(seq_after(3, u64::MAX - 3));
        // Exactly half the space apart: neither.
        assert!(!seq_after(1 << 63, 0) && !seq_after(0, 1 << 63));
        // The seconds field wraps in 2106: still after.
        let before = time_seq(0xffff_ffff, 999_999_999);
        let after = time_seq(0x1_0000_0000, 0);
        assert!(seq_after(after, before));
    }

    #[test]
    fn time_seq_layout() {
        assert_eq!(time_seq(1, 0), 1 << 32);
        assert_eq!(time_seq(1, 500_000_000), (1 << 32) | (0x8000 << 16));
        assert_eq!(time_seq(2, 999_999_999) >> 16 & 0xffff, 0xffff);
        assert_eq!(time_seq(2, 999_999_999) & 0xffff, 0);
    }

    /// Restart: the last message before a module reload one millisecond
    /// later (fewer than 65 536 messages in that 1/65536 s slot) is below
    /// the first one after it.
    #[test]
    fn restart_moves_forward() {
        let t1 = time_seq(1_800_000_000, 100_000_000);
        let mut s = 0;
        for _ in 0..60_000 {
            s = next_seq(s, t1);
        }
        let restarted = next_seq(0, time_seq(1_800_000_000, 101_000_000));
        assert!(seq_after(restarted, s));
    }

    /// Clock stepped back by 10 s on the master, which keeps running: the
    /// numbers still increase. After a restart with the clock behind, the
    /// new numbers stay below the old high-water mark until the clock
    /// passes it again (documented; replays stay rejected throughout).
    #[test]
    fn clock_stepped_back() {
        let t = 1_800_000_000;
        let s1 = next_seq(0, time_seq(t, 0));
        let s2 = next_seq(s1, time_seq(t - 10, 0));
        assert!(seq_after(s2, s1));
        let restarted = next_seq(0, time_seq(t - 10, 0));
        assert!(seq_after(s1, restarted));
        assert!(seq_after(next_seq(0, time_seq(t, 1_000_000)), s1));
    }

    #[test]
    fn freshness_window() {
        let now = time_seq(1_000, 0);
        assert!(is_fresh(time_seq(700, 0), now, 300));
        assert!(!is_fresh(time_seq(699, 0), now, 300));
        assert!(is_fresh(time_seq(1_300, 0), now, 300));
        assert!(!is_fresh(time_seq(1_301, 0), now, 300));
        assert!(is_fresh(1, now, 0));
    }

    #[test]
    fn key_ring_rules() {
        let mut r = KeyRing::new();
        assert_eq!(r.add(0, "k0"), Err(KeyError::BadId));
        assert_eq!(r.activate(1), Err(KeyError::NotFound));
        assert!(r.active().is_none());
        r.add(1, "k1").unwrap();
        assert_eq!(r.add(1, "again"), Err(KeyError::Exists));
        // The first key is active at once; a second one is receive only.
        assert_eq!(r.active(), Some((1, &"k1")));
        r.add(2, "k2").unwrap();
        assert_eq!(r.active(), Some((1, &"k1")));
        assert_eq!(r.add(3, "k3"), Err(KeyError::Full));
        assert_eq!(r.retire(1), Err(KeyError::Active));
        assert_eq!(r.active(), Some((1, &"k1")));
        r.activate(2).unwrap();
        assert_eq!(r.get(1), Some(&"k1"));
        assert_eq!(r.retire(1), Ok("k1"));
        assert_eq!(r.retire(1), Err(KeyError::NotFound));
        assert_eq!(r.ids(), [0, 2]);
        assert_eq!(r.active(), Some((2, &"k2")));
    }

    #[test]
    fn can_add_names_the_slot_add_uses_and_changes_nothing() {
        let mut r = KeyRing::new();
        assert_eq!(r.can_add(0), Err(KeyError::BadId));
        assert_eq!(r.can_add(7), Ok(0));
        assert_eq!(r.ids(), [0, 0]);
        assert!(r.active().is_none());
        assert_eq!(r.add(7, "k7"), Ok(0));
        assert_eq!(r.can_add(7), Err(KeyError::Exists));
        assert_eq!(r.can_add(8), Ok(1));
        assert_eq!(r.add(8, "k8"), Ok(1));
        assert_eq!(r.can_add(9), Err(KeyError::Full));
        // A freed slot is found again, wherever it is.
        r.activate(8).unwrap();
        r.retire(7).unwrap();
        assert_eq!(r.can_add(9), Ok(0));
        assert_eq!(r.add(9, "k9"), Ok(0));
        assert_eq!(r.ids(), [9, 8]);
    }

    /// One director in the rotation model: its ring of key IDs.
    #[derive(Debug, Default)]
    struct Director(KeyRing<&'static [u8]>);

    const OLD: (u8, &[u8]) = (1, b"old key");
    const NEW: (u8, &[u8]) = (2, b"new key");

    /// The master signs one message; every backup must accept it.
    fn sync_message(master: &Director, backups: &[Director], seq: u64) -> bool {
        let Some((id, key)) = master.0.active() else {
            return false;
        };
        let m = sign(&plain_v1(1, &[3u8; 36]), id, seq, key);
        backups.iter().all(|b| {
            let rx = rx_parse_ext(&m, 255).unwrap();
            b.0.get(rx.key_id())
                .is_some_and(|k| rx.verify(&RustCryptoHmacMd5(k.to_vec())) == Ok(true))
        })
    }

    proptest! {
        /// As for the seed's format: the one-update paths equal the
        /// three-update ones and a flipped bit never verifies.
        #[test]
        fn one_update_paths_equal_three_updates(
            entries in proptest::collection::vec(any::<u8>(), 0..1500),
            key_id in 1u8..,
            sender in 0..MAX_SENDERS,
            seq in 1u64..,
            extra in 0usize..40,
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let plain = plain_v1(3, &entries);
            let three = sign_as(&plain, key_id, sender, seq, KEY);
            let mac = RustCryptoHmacMd5(KEY.to_vec());
            let mut buf = plain.clone();
            buf.resize(plain.len() + EXT_AUTH_HDR_LEN + MAC_ROOM + extra, 0xa5);
            let n = tx_insert_ext_in_place(&mut buf, plain.len(), key_id, sender, seq, &mac)
                .unwrap();
            prop_assert_eq!(&buf[..n], &three[..]);
            for room in [0, MAC_ROOM + extra] {
                let mut rx = three.clone();
                rx.resize(three.len() + room, 0x5a);
                prop_assert_eq!(rx_verify_ext_in_place(&mut rx, three.len(), &mac), Ok(true));
                prop_assert_eq!(&rx[..three.len()], &three[..]);
                let i = flip.index(three.len());
                rx[i] ^= 1 << bit;
                prop_assert_eq!(rx_verify_ext_in_place(&mut rx, three.len(), &mac), Ok(false));
            }
        }

        #[test]
        fn serial_is_antisymmetric(a in any::<u64>(), b in any::<u64>()) {
            let d = a.wrapping_sub(b);
            if d != 0 && d != 1 << 63 {
                prop_assert!(seq_after(a, b) != seq_after(b, a));
            } else {
                prop_assert!(!seq_after(a, b) && !seq_after(b, a));
            }
        }

        /// Whatever the clock does (jumps back, stalls, jumps forward), a
        /// running master's numbers strictly increase.
        #[test]
        fn next_seq_strictly_increases(
            start in 1u64..u64::MAX,
            steps in proptest::collection::vec(any::<i32>(), 1..200),
        ) {
            let mut clock = start;
            let mut prev = next_seq(0, clock);
            for step in steps {
                clock = clock.wrapping_add_signed(i64::from(step) << 16);
                let next = next_seq(prev, clock);
                prop_assert!(seq_after(next, prev));
                prev = next;
            }
        }

        /// Rotation across a master and two backups, each phase done on the
        /// directors in a random order, messages sent between any two
        /// steps: every message is accepted by every backup.
        #[test]
        fn rotation_in_any_order_loses_nothing(
            add_order in Just([0usize, 1, 2]).prop_shuffle(),
            retire_order in Just([0usize, 1, 2]).prop_shuffle(),
        ) {
            let mut dirs: Vec<Director> = (0..3).map(|_| Director::default()).collect();
            for d in dirs.iter_mut() {
                d.0.add(OLD.0, OLD.1).unwrap();
                d.0.activate(OLD.0).unwrap();
            }
            let mut seq = 1;
            let mut check = |dirs: &Vec<Director>| {
                seq += 1;
                sync_message(&dirs[0], &dirs[1..], seq)
            };
            prop_assert!(check(&dirs));
            // Phase 1: add the new key everywhere (receive only).
            for &i in &add_order {
                dirs[i].0.add(NEW.0, NEW.1).unwrap();
                prop_assert!(check(&dirs));
            }
            // Phase 2: activate it everywhere (only the master's matters
            // for sending; backups activate for when they become master).
            for &i in &add_order {
                dirs[i].0.activate(NEW.0).unwrap();
                prop_assert!(check(&dirs));
            }
            // Phase 3: retire the old key everywhere.
            for &i in &retire_order {
                dirs[i].0.retire(OLD.0).unwrap();
                prop_assert!(check(&dirs));
            }
        }
    }

    /// Skipping the phase barrier loses messages: the master activates the
    /// new key before a backup has it. This is why phase 1 must complete
    /// on every director first.
    #[test]
    fn activating_before_every_backup_has_the_key_loses_messages() {
        let mut dirs: Vec<Director> = (0..3).map(|_| Director::default()).collect();
        for d in dirs.iter_mut() {
            d.0.add(OLD.0, OLD.1).unwrap();
            d.0.activate(OLD.0).unwrap();
        }
        dirs[0].0.add(NEW.0, NEW.1).unwrap();
        dirs[0].0.activate(NEW.0).unwrap();
        dirs[1].0.add(NEW.0, NEW.1).unwrap();
        assert!(!sync_message(&dirs[0], &dirs[1..], 9));
    }
}
