// SPDX-License-Identifier: GPL-2.0

//! Wire format of authenticated IPVS sync messages.
//!
//! IPVS sync messages are UDP payloads; all integers are in network byte
//! order. IPVS writes one of two headers:
//!
//! - v1 (8 bytes): `reserved` (0), `syncid`, `size` (be16, whole payload),
//!   `nr_conns`, `version` (1), `spare` (be16, 0);
//! - v0 (4 bytes): `nr_conns`, `syncid`, `size` (be16).
//!
//! IPVS reads a message as v1 if `reserved == 0 && version == 1 &&
//! spare == 0`, and as v0 otherwise.
//!
//! An authenticated message inserts a 16-byte auth header (32-bit sequence
//! number, 96-bit ICV) between the IPVS header and the connection entries:
//!
//! ```text
//! v1: | v1 hdr (8) | seq (4) | ICV (12) | entries ... |   spare = AUTH_FLAG
//! v0: | v0 hdr (4) | seq (4) | ICV (12) | entries ... |
//! ```
//!
//! In both layouts `size` counts the whole payload, auth header included.
//! The ICV is [`sync_icv`] over the sequence number, the entries and the
//! header exactly as sent (new `size`, flag set).
//!
//! On receive, a message whose first byte is 0 has the v1 layout (a v0
//! message with `nr_conns == 0` carries nothing, and IPVS never sends one);
//! any other message has the v0 layout.
//!
//! The receive path is split so that the caller can run the cheap checks
//! ([`rx_parse`]), then the replay check (which needs shared state, see
//! [`super::replay`]), then the MAC ([`RxMessage::verify`]), and finally turn
//! the message back into the plaintext IPVS expects ([`rx_strip_front`]).
//! The send path is [`tx_classify`] and [`tx_insert_in_place`].

pub(crate) use super::bytes::{get_be16, put_be16};
pub use super::icv::MAC_ROOM;
use super::icv::{
    auth_header_for_mac, icv_from_parts, icv_in_place, truncate_96, verify_sync_icv, Icv, Mac,
    AUTH_HDR_LEN, ICV_LEN,
};
use super::ipvs_layout::{offset_of, SYNC_MESG, SYNC_MESG_V0};

/// Length in bytes of the IPVS v1 sync message header.
pub const V1_HDR_LEN: usize = SYNC_MESG.size;

/// Length in bytes of the IPVS v0 sync message header.
pub const V0_HDR_LEN: usize = SYNC_MESG_V0.size;

/// Bit of the v1 `spare` field meaning "auth header present". All other bits
/// of `spare` must be 0.
pub const AUTH_FLAG: u16 = 0x0001;

/// Largest UDP payload: 65535 bytes minus the 8-byte UDP header.
pub const MAX_SYNC_PAYLOAD: usize = 65535 - 8;

/// The TTL (IPv4) or hop limit (IPv6) an authenticated message must arrive
/// with: the master sends with 255, so anything lower has crossed a router.
pub const REQUIRED_TTL: u8 = 255;

/// Offset of `syncid`, the same in both headers.
const OFF_SYNCID: usize = offset_of(&SYNC_MESG, "syncid");
/// Offset of the be16 `size`, the same in both headers.
pub(crate) const OFF_SIZE: usize = offset_of(&SYNC_MESG, "size");
/// Offset of `nr_conns` in the v0 header.
const OFF_V0_NR_CONNS: usize = offset_of(&SYNC_MESG_V0, "nr_conns");
/// Offset of `reserved` in the v1 header.
pub(crate) const OFF_V1_RESERVED: usize = offset_of(&SYNC_MESG, "reserved");
/// Offset of `nr_conns` in the v1 header.
const OFF_V1_NR_CONNS: usize = offset_of(&SYNC_MESG, "nr_conns");
/// Offset of `version` in the v1 header.
pub(crate) const OFF_V1_VERSION: usize = offset_of(&SYNC_MESG, "version");
/// Offset of the be16 `spare` in the v1 header.
pub(crate) const OFF_V1_SPARE: usize = offset_of(&SYNC_MESG, "spare");
const _: () = assert!(
    OFF_SYNCID == offset_of(&SYNC_MESG_V0, "syncid")
        && OFF_SIZE == offset_of(&SYNC_MESG_V0, "size"),
    "syncid and size must sit at the same offsets in both headers"
);
/// Length in bytes of the sequence number at the start of the auth header.
const SEQ_LEN: usize = 4;

/// Which IPVS header a sync message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The 4-byte v0 header.
    V0,
    /// The 8-byte v1 header.
    V1,
}

impl Layout {
    /// Length in bytes of the IPVS header of this layout.
    pub const fn hdr_len(self) -> usize {
        match self {
            Layout::V0 => V0_HDR_LEN,
            Layout::V1 => V1_HDR_LEN,
        }
    }

    /// Offset of the connection entries in an authenticated message.
    pub const fn auth_entries_offset(self) -> usize {
        self.hdr_len() + AUTH_HDR_LEN
    }

    /// Offset of `nr_conns` in the header of this layout.
    const fn off_nr_conns(self) -> usize {
        match self {
            Layout::V0 => OFF_V0_NR_CONNS,
            Layout::V1 => OFF_V1_NR_CONNS,
        }
    }

    /// Layout of a received authenticated message, from its first byte.
    const fn of_received(first: u8) -> Layout {
        if first == 0 {
            Layout::V1
        } else {
            Layout::V0
        }
    }
}

/// Why the backup dropped a received message, in the order of the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Too short to hold the IPVS header and the auth header.
    Malformed,
    /// Not received with TTL / hop limit [`REQUIRED_TTL`].
    BadTtl,
    /// Header fields inconsistent: wrong version, flag or size.
    BadHeader,
    /// Sequence number not above the last one accepted from the stream.
    Replay,
    /// The ICV does not match.
    BadIcv,
}

impl DropReason {
    /// Every reason, in check order (also the order of [`Self::index`]).
    pub const ALL: [DropReason; 5] = [
        DropReason::Malformed,
        DropReason::BadTtl,
        DropReason::BadHeader,
        DropReason::Replay,
        DropReason::BadIcv,
    ];

    /// Name of the reason, for counters.
    pub const fn name(&self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::BadTtl => "bad_ttl",
            DropReason::BadHeader => "bad_header",
            DropReason::Replay => "replay",
            DropReason::BadIcv => "bad_icv",
        }
    }

    /// Position of the reason in [`Self::ALL`], for arrays of counters.
    pub const fn index(&self) -> usize {
        match self {
            DropReason::Malformed => 0,
            DropReason::BadTtl => 1,
            DropReason::BadHeader => 2,
            DropReason::Replay => 3,
            DropReason::BadIcv => 4,
        }
    }
}

/// A received authenticated message that passed the cheap checks of
/// [`rx_parse`]. Its ICV is not verified yet.
#[derive(Debug, Clone, Copy)]
pub struct RxMessage<'a> {
    layout: Layout,
    syncid: u8,
    nr_conns: u8,
    seq: u32,
    icv: Icv,
    header: &'a [u8],
    entries: &'a [u8],
}

impl<'a> RxMessage<'a> {
    /// The layout (IPVS header version) of the message.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The `syncid` field of the IPVS header.
    pub fn syncid(&self) -> u8 {
        self.syncid
    }

    /// The `nr_conns` field of the IPVS header.
    pub fn nr_conns(&self) -> u8 {
        self.nr_conns
    }

    /// The sequence number of the auth header.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The ICV the message carried.
    pub fn icv(&self) -> &Icv {
        &self.icv
    }

    /// The IPVS header exactly as sent (size including the auth header, and
    /// for v1 the auth flag set): the bytes the ICV covers last.
    pub fn header(&self) -> &'a [u8] {
        self.header
    }

    /// The connection entries, as IPVS wrote them.
    pub fn entries(&self) -> &'a [u8] {
        self.entries
    }

    /// Recomputes the ICV with `mac` and compares it, in constant time, with
    /// the one carried. Returns `Ok(true)` only on a match.
    pub fn verify<M: Mac>(&self, mac: &M) -> Result<bool, M::Error> {
        verify_sync_icv(mac, self.seq, self.entries, self.header, &self.icv)
    }

    /// What [`verify_checked_in_place`] and [`strip_verified`] need of the
    /// message, by value.
    pub fn checked(&self) -> Checked {
        Checked {
            layout: self.layout,
            auth_len: AUTH_HDR_LEN,
            len: self.header.len() + AUTH_HDR_LEN + self.entries.len(),
            icv: self.icv,
        }
    }
}

/// A received message that passed the cheap checks ([`rx_parse`] or
/// [`super::ext::rx_parse_ext`]), as the values the ICV check and the strip
/// need: its layout, auth header length, total length and carried ICV.
///
/// Unlike [`RxMessage`] it does not borrow the buffer, so the backup parses
/// a datagram once and then verifies ([`verify_checked_in_place`]) and
/// strips ([`strip_verified`]) it in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    layout: Layout,
    auth_len: usize,
    len: usize,
    icv: Icv,
}

impl Checked {
    /// The values of a parsed extended message (`auth_len` bytes of auth
    /// header ending with `icv`, after a v1 header).
    pub(crate) fn v1(auth_len: usize, len: usize, icv: Icv) -> Checked {
        Checked {
            layout: Layout::V1,
            auth_len,
            len,
            icv,
        }
    }

    /// For the callers that verified the message by other means (tests,
    /// the corpus tool) and only want it stripped.
    pub(crate) fn assume_verified(self) -> Verified {
        Verified(self)
    }
}

/// A message whose ICV matched: what [`verify_checked_in_place`] returns and
/// the only input [`strip_verified`] takes, so that nothing strips (and
/// hands to IPVS) a message that was not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified(Checked);

/// Verifies the message `buf[..c.len]` that [`rx_parse`] (or
/// [`super::ext::rx_parse_ext`]) checked as `c`, without parsing it again.
///
/// The ICV input is laid out in place and fed to the MAC as one update
/// ([`icv_in_place`]) when `buf` has [`MAC_ROOM`] bytes after the message,
/// and as the seed's three updates ([`icv_from_parts`]) otherwise; the
/// result is the same. The comparison is constant-time. Returns
/// `Ok(Some(_))` only on a match; `buf[..c.len]` is unchanged on return,
/// the room after it may be overwritten. A `c` that does not fit `buf`
/// does not verify.
pub fn verify_checked_in_place<M: Mac>(
    buf: &mut [u8],
    c: &Checked,
    mac: &M,
) -> Result<Option<Verified>, M::Error> {
    let hdr_len = c.layout.hdr_len();
    let full = match icv_in_place(buf, c.len, hdr_len, c.auth_len, mac) {
        Some(full) => full,
        None => match buf.get(..c.len) {
            Some(msg) => match icv_from_parts(msg, hdr_len, c.auth_len, mac) {
                Some(full) => full,
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    }?;
    Ok(mac.icv_eq(&full, &c.icv).then_some(Verified(*c)))
}

/// Turns a verified message back into the plaintext IPVS message, in
/// place, without moving the entries, and without parsing it again.
///
/// The IPVS header moves up over the auth header, with `size` reduced by
/// the auth header's length and, for v1, `spare` cleared (the parse checked
/// it held exactly the format's flags). Returns the offset `off` (the auth
/// header's length) at which the plaintext starts: `buf[off..len]` is then
/// byte-identical to what the master's IPVS sent, and `buf[..off]` is
/// unspecified. The caller removes those bytes from the front of the
/// datagram, moving its own (IP, UDP) headers up by `off`, as IPsec
/// transport mode removes an ESP header: a few dozen bytes moved instead
/// of every entry. On error `buf` is unchanged.
pub fn strip_verified(buf: &mut [u8], v: Verified) -> Result<usize, DropReason> {
    let Verified(c) = v;
    let hdr_len = c.layout.hdr_len();
    let new_len = c.len.checked_sub(c.auth_len).ok_or(DropReason::Malformed)?;
    let new_size = u16::try_from(new_len).map_err(|_| DropReason::BadHeader)?;
    let end = c
        .auth_len
        .checked_add(hdr_len)
        .ok_or(DropReason::Malformed)?;
    if end > c.len || c.len > buf.len() {
        return Err(DropReason::Malformed);
    }

    let mut hdr_buf = [0u8; V1_HDR_LEN];
    let hdr = hdr_buf.get_mut(..hdr_len).ok_or(DropReason::Malformed)?;
    hdr.copy_from_slice(buf.get(..hdr_len).ok_or(DropReason::Malformed)?);
    put_be16(hdr, OFF_SIZE, new_size).ok_or(DropReason::Malformed)?;
    if c.layout == Layout::V1 {
        put_be16(hdr, OFF_V1_SPARE, 0).ok_or(DropReason::Malformed)?;
    }
    buf.get_mut(c.auth_len..end)
        .ok_or(DropReason::Malformed)?
        .copy_from_slice(hdr);
    Ok(c.auth_len)
}

/// Runs the cheap checks on a received authenticated message and splits it.
///
/// The checks, in this order, each with the reason it reports:
///
/// 1. [`DropReason::Malformed`]: the payload is empty or shorter than its
///    layout's header plus the auth header;
/// 2. [`DropReason::BadTtl`]: `ttl` is not [`REQUIRED_TTL`];
/// 3. [`DropReason::BadHeader`]: (v1) `version != 1` or `spare !=`
///    [`AUTH_FLAG`]; (both) `size` is not the payload length.
///
/// The replay check and the ICV check ([`RxMessage::verify`]) are left to
/// the caller.
pub fn rx_parse(payload: &[u8], ttl: u8) -> Result<RxMessage<'_>, DropReason> {
    let first = *payload.first().ok_or(DropReason::Malformed)?;
    let layout = Layout::of_received(first);
    let (header, rest) = payload
        .split_at_checked(layout.hdr_len())
        .ok_or(DropReason::Malformed)?;
    let (seq, rest) = rest
        .split_first_chunk::<SEQ_LEN>()
        .ok_or(DropReason::Malformed)?;
    let (icv, entries) = rest
        .split_first_chunk::<ICV_LEN>()
        .ok_or(DropReason::Malformed)?;

    if ttl != REQUIRED_TTL {
        return Err(DropReason::BadTtl);
    }

    if layout == Layout::V1 {
        let reserved = header.get(OFF_V1_RESERVED).copied();
        let version = header.get(OFF_V1_VERSION).copied();
        let spare = get_be16(header, OFF_V1_SPARE);
        if reserved != Some(0) || version != Some(1) || spare != Some(AUTH_FLAG) {
            return Err(DropReason::BadHeader);
        }
    }
    let size = get_be16(header, OFF_SIZE).ok_or(DropReason::Malformed)?;
    if usize::from(size) != payload.len() {
        return Err(DropReason::BadHeader);
    }

    Ok(RxMessage {
        layout,
        syncid: header.get(OFF_SYNCID).copied().unwrap_or(0),
        nr_conns: header.get(layout.off_nr_conns()).copied().unwrap_or(0),
        seq: u32::from_be_bytes(*seq),
        icv: *icv,
        header,
        entries,
    })
}

/// [`rx_parse`] then [`strip_verified`], for callers that verified the
/// message `buf` (exactly the received payload) by other means: the
/// backup's path parses once and strips what [`verify_checked_in_place`]
/// returned. On error `buf` is left unchanged.
pub fn rx_strip_front(buf: &mut [u8]) -> Result<usize, DropReason> {
    let c = rx_parse(buf, REQUIRED_TTL)?.checked();
    strip_verified(buf, c.assume_verified())
}

/// Classifies a plaintext IPVS sync message about to be sent.
///
/// Returns the layout only for a well-formed message: `size` equal to the
/// payload length, at least a full header, and either a v1 header
/// (`reserved == 0`, `version == 1`, `spare == 0`) or, if the first byte is
/// not 0, a v0 header. Anything else is not a message this module signs.
pub fn tx_classify(payload: &[u8]) -> Option<Layout> {
    let first = *payload.first()?;
    let layout = if first == 0 {
        let version = payload.get(OFF_V1_VERSION).copied();
        let spare = get_be16(payload, OFF_V1_SPARE);
        if version != Some(1) || spare != Some(0) {
            return None;
        }
        Layout::V1
    } else {
        Layout::V0
    };
    if payload.len() < layout.hdr_len() {
        return None;
    }
    let size = get_be16(payload, OFF_SIZE)?;
    if usize::from(size) != payload.len() {
        return None;
    }
    Some(layout)
}

/// Whether the plaintext `payload` is a message IPVS's master builds with
/// its configuration: well-formed ([`tx_classify`]), in the layout of
/// `sync_version` (0: v0, anything else: v1, as IPVS reads the sysctl)
/// and carrying `syncid`. The master signs nothing else, so that a
/// datagram that only looks like sync traffic cannot get a valid ICV.
pub fn tx_matches(payload: &[u8], sync_version: u8, syncid: u8) -> bool {
    let want = if sync_version == 0 {
        Layout::V0
    } else {
        Layout::V1
    };
    tx_classify(payload) == Some(want) && payload.get(OFF_SYNCID) == Some(&syncid)
}

/// Why [`tx_insert_in_place`] did not authenticate a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxError<E> {
    /// Not a well-formed plaintext sync message ([`tx_classify`] failed).
    NotSync,
    /// The buffer cannot hold the message plus the auth header.
    NoRoom,
    /// With the auth header, the message would exceed [`MAX_SYNC_PAYLOAD`].
    TooBig,
    /// The MAC implementation failed.
    Mac(E),
}

/// Authenticates a plaintext IPVS sync message in place.
///
/// `buf[..len]` holds the message and `buf` must have room for 16 more bytes.
/// The entries move up 16 bytes, `size` becomes `len + 16`, for v1 `spare`
/// becomes [`AUTH_FLAG`], and the auth header receives `seq` and the ICV
/// computed by [`sync_icv`]. Returns the new length, `len + 16`.
///
/// With [`MAC_ROOM`] more bytes of room (`len + 16 + 8`), the ICV input is
/// laid out in place and fed to the MAC as one update ([`icv_in_place`]);
/// the bytes after the new message may then be overwritten. The result is
/// the same either way.
///
/// On error `buf[..len]` is left unchanged (and, but for a MAC failure,
/// all of `buf`).
pub fn tx_insert_in_place<M: Mac>(
    buf: &mut [u8],
    len: usize,
    seq: u32,
    mac: &M,
) -> Result<usize, TxError<M::Error>> {
    let plain = buf.get(..len).ok_or(TxError::NoRoom)?;
    let layout = tx_classify(plain).ok_or(TxError::NotSync)?;
    let new_len = len
        .checked_add(AUTH_HDR_LEN)
        .filter(|&n| n <= MAX_SYNC_PAYLOAD)
        .ok_or(TxError::TooBig)?;
    let new_size = u16::try_from(new_len).map_err(|_| TxError::TooBig)?;
    if buf.len() < new_len {
        return Err(TxError::NoRoom);
    }

    // The header as it will be sent.
    let hdr_len = layout.hdr_len();
    let mut hdr_buf = [0u8; V1_HDR_LEN];
    let hdr = hdr_buf.get_mut(..hdr_len).ok_or(TxError::NotSync)?;
    hdr.copy_from_slice(plain.get(..hdr_len).ok_or(TxError::NotSync)?);
    put_be16(hdr, OFF_SIZE, new_size).ok_or(TxError::NotSync)?;
    if layout == Layout::V1 {
        put_be16(hdr, OFF_V1_SPARE, AUTH_FLAG).ok_or(TxError::NotSync)?;
    }
    tx_in_place(buf, len, hdr, &auth_header_for_mac(seq), mac)
}

/// The master's insert, shared by both formats: turns the plaintext
/// `buf[..len]` into `hdr` (the header as sent), `auth` (the auth header,
/// its last [`ICV_LEN`] bytes the ICV field, zero), the entries moved up by
/// `auth.len()`, and the ICV in the field. Returns the new length.
///
/// With room for a copy of the header after the new message, the ICV input
/// is laid out in place and fed to the MAC as one update
/// ([`icv_in_place`]); otherwise the ICV is computed from three parts
/// first and `buf` written after. The result is the same. On a MAC failure
/// `buf[..len]` is restored (and without the room, all of `buf` is
/// untouched).
pub(crate) fn tx_in_place<M: Mac>(
    buf: &mut [u8],
    len: usize,
    hdr: &[u8],
    auth: &[u8],
    mac: &M,
) -> Result<usize, TxError<M::Error>> {
    let hdr_len = hdr.len();
    let body = hdr_len.checked_add(auth.len()).ok_or(TxError::NoRoom)?;
    let new_len = len.checked_add(auth.len()).ok_or(TxError::NoRoom)?;
    let icv_field = body.checked_sub(ICV_LEN).ok_or(TxError::NotSync)?;
    if hdr_len > len || hdr_len > V1_HDR_LEN || icv_field < hdr_len {
        return Err(TxError::NotSync);
    }
    if new_len > buf.len() {
        return Err(TxError::NoRoom);
    }
    let room = new_len.saturating_add(hdr_len) <= buf.len();
    // Without the room, the ICV from three parts before touching `buf`, so
    // that a MAC failure leaves it unchanged.
    let early = if room {
        None
    } else {
        let entries = buf.get(hdr_len..len).ok_or(TxError::NotSync)?;
        let full = mac.mac(&[auth, entries, hdr]).map_err(TxError::Mac)?;
        Some(truncate_96(&full))
    };
    // All ranges below are in bounds: hdr_len <= len, body <= new_len <=
    // buf.len(), icv_field + ICV_LEN == body.
    let mut old_buf = [0u8; V1_HDR_LEN];
    let old = old_buf.get_mut(..hdr_len).ok_or(TxError::NotSync)?;
    old.copy_from_slice(buf.get(..hdr_len).ok_or(TxError::NotSync)?);
    buf.copy_within(hdr_len..len, body);
    buf.get_mut(..hdr_len)
        .ok_or(TxError::NoRoom)?
        .copy_from_slice(hdr);
    buf.get_mut(hdr_len..body)
        .ok_or(TxError::NoRoom)?
        .copy_from_slice(auth);
    let icv = match early {
        Some(icv) => icv,
        None => match icv_in_place(buf, new_len, hdr_len, auth.len(), mac) {
            Some(Ok(icv)) => icv,
            Some(Err(e)) => {
                buf.copy_within(body..new_len, hdr_len);
                buf.get_mut(..hdr_len)
                    .ok_or(TxError::NoRoom)?
                    .copy_from_slice(old);
                return Err(TxError::Mac(e));
            }
            // The room was checked above.
            None => return Err(TxError::NoRoom),
        },
    };
    buf.get_mut(icv_field..body)
        .ok_or(TxError::NoRoom)?
        .copy_from_slice(&icv);
    Ok(new_len)
}

/// [`rx_parse`] then [`verify_checked_in_place`] on the received message
/// `buf[..len]`: `Ok(true)` only if its ICV matches. A message
/// [`rx_parse`] refuses does not verify. `buf[..len]` is unchanged on
/// return; the room after it may be overwritten.
pub fn rx_verify_in_place<M: Mac>(buf: &mut [u8], len: usize, mac: &M) -> Result<bool, M::Error> {
    let Some(Ok(c)) = buf
        .get(..len)
        .map(|m| rx_parse(m, REQUIRED_TTL).map(|rx| rx.checked()))
    else {
        return Ok(false);
    };
    Ok(verify_checked_in_place(buf, &c, mac)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::super::icv::{sync_icv, truncate_96, HMAC_MD5_LEN};
    use super::super::testutil::RustCryptoHmacMd5;
    use super::*;
    use hmac::{Hmac, Mac as _};
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const KEY: &[u8] = b"tot0234";

    /// A MAC that always fails.
    struct FailingMac;

    impl Mac for FailingMac {
        type Error = i32;

        fn mac(&self, _parts: &[&[u8]]) -> Result<[u8; HMAC_MD5_LEN], i32> {
            Err(-22)
        }
    }

    fn key() -> RustCryptoHmacMd5 {
        RustCryptoHmacMd5(KEY.to_vec())
    }

    /// One-shot reference HMAC-96 of a contiguous buffer.
    fn reference_96(key: &[u8], data: &[u8]) -> Icv {
        let mut h = <Hmac<md5::Md5>>::new_from_slice(key).unwrap();
        h.update(data);
        truncate_96(&h.finalize().into_bytes().into())
    }

    /// A plaintext v1 message as IPVS builds it.
    fn plain_v1(syncid: u8, nr_conns: u8, entries: &[u8]) -> Vec<u8> {
        let size = u16::try_from(V1_HDR_LEN + entries.len()).unwrap();
        let mut m = vec![0, syncid];
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[nr_conns, 1, 0, 0]);
        m.extend_from_slice(entries);
        m
    }

    /// A plaintext v0 message as IPVS builds it (`nr_conns` must not be 0).
    fn plain_v0(syncid: u8, nr_conns: u8, entries: &[u8]) -> Vec<u8> {
        assert_ne!(nr_conns, 0);
        let size = u16::try_from(V0_HDR_LEN + entries.len()).unwrap();
        let mut m = vec![nr_conns, syncid];
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(entries);
        m
    }

    /// Authenticates `plain` into a new vector.
    fn sign(plain: &[u8], seq: u32) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() + AUTH_HDR_LEN, 0xee);
        let n = tx_insert_in_place(&mut buf, plain.len(), seq, &key()).unwrap();
        assert_eq!(n, plain.len() + AUTH_HDR_LEN);
        assert_eq!(n, buf.len());
        buf
    }

    /// Whether `msg` parses with TTL 255 and its ICV verifies under `KEY`.
    fn accepted(msg: &[u8]) -> bool {
        match rx_parse(msg, REQUIRED_TTL) {
            Ok(m) => m.verify(&key()).unwrap(),
            Err(_) => false,
        }
    }

    /// Strips `msg` into a new vector.
    fn strip(msg: &[u8]) -> Result<Vec<u8>, DropReason> {
        let mut buf = msg.to_vec();
        let off = rx_strip_front(&mut buf)?;
        Ok(buf.split_off(off))
    }

    #[test]
    fn v1_exact_layout() {
        let entries = [0x11u8; 36];
        let plain = plain_v1(150, 1, &entries);
        let msg = sign(&plain, 7);

        let hdr = [0u8, 150, 0x00, 0x3c, 1, 1, 0x00, 0x01];
        assert_eq!(msg.len(), 60);
        assert_eq!(msg[..8], hdr);
        assert_eq!(msg[8..12], [0, 0, 0, 7]);
        assert_eq!(msg[24..], entries);

        // ICV at 12..24, over seq || zero ICV || entries || header.
        let mut concat = vec![0, 0, 0, 7];
        concat.extend_from_slice(&[0; ICV_LEN]);
        concat.extend_from_slice(&entries);
        concat.extend_from_slice(&hdr);
        let icv = reference_96(KEY, &concat);
        assert_eq!(msg[12..24], icv);
        assert_eq!(sync_icv(&key(), 7, &entries, &hdr).unwrap(), icv);

        let rx = rx_parse(&msg, 255).unwrap();
        assert_eq!(rx.layout(), Layout::V1);
        assert_eq!(rx.syncid(), 150);
        assert_eq!(rx.nr_conns(), 1);
        assert_eq!(rx.seq(), 7);
        assert_eq!(rx.icv(), &icv);
        assert_eq!(rx.header(), &hdr);
        assert_eq!(rx.entries(), &entries);
        assert!(rx.verify(&key()).unwrap());
        assert!(!rx.verify(&RustCryptoHmacMd5(b"other".to_vec())).unwrap());

        assert_eq!(strip(&msg).unwrap(), plain);
    }

    #[test]
    fn master_signs_only_its_configured_layout_and_syncid() {
        let v1 = plain_v1(150, 1, &[0x11; 36]);
        let v0 = plain_v0(150, 1, &[0x22; 24]);
        assert!(tx_matches(&v1, 1, 150));
        assert!(tx_matches(&v0, 0, 150));
        // The other version, another SyncID, a damaged size: not signed.
        assert!(!tx_matches(&v1, 0, 150));
        assert!(!tx_matches(&v0, 1, 150));
        assert!(!tx_matches(&v1, 1, 151));
        assert!(!tx_matches(&v0, 0, 0));
        assert!(!tx_matches(&v1[..v1.len() - 1], 1, 150));
        assert!(!tx_matches(&[], 1, 150));
        // An already authenticated message is not signed twice.
        assert!(!tx_matches(&sign(&v1, 1), 1, 150));
    }

    #[test]
    fn v0_exact_layout() {
        let entries = [0x22u8; 24];
        let plain = plain_v0(3, 2, &entries);
        let msg = sign(&plain, 0x0102_0304);

        let hdr = [2u8, 3, 0x00, 44];
        assert_eq!(msg.len(), 44);
        assert_eq!(msg[..4], hdr);
        assert_eq!(msg[4..8], [1, 2, 3, 4]);
        assert_eq!(msg[20..], entries);

        let mut concat = vec![1, 2, 3, 4];
        concat.extend_from_slice(&[0; ICV_LEN]);
        concat.extend_from_slice(&entries);
        concat.extend_from_slice(&hdr);
        assert_eq!(msg[8..20], reference_96(KEY, &concat));

        let rx = rx_parse(&msg, 255).unwrap();
        assert_eq!(rx.layout(), Layout::V0);
        assert_eq!(rx.syncid(), 3);
        assert_eq!(rx.nr_conns(), 2);
        assert_eq!(rx.seq(), 0x0102_0304);
        assert_eq!(rx.header(), &hdr);
        assert_eq!(rx.entries(), &entries);
        assert!(rx.verify(&key()).unwrap());

        assert_eq!(strip(&msg).unwrap(), plain);
    }

    #[test]
    fn empty_entries_round_trip() {
        for plain in [plain_v1(0, 0, &[]), plain_v0(0, 1, &[])] {
            let msg = sign(&plain, 1);
            assert!(accepted(&msg));
            assert_eq!(rx_parse(&msg, 255).unwrap().entries(), &[] as &[u8]);
            assert_eq!(strip(&msg).unwrap(), plain);
        }
    }

    #[test]
    fn drop_reason_names_and_indices() {
        let names: Vec<_> = DropReason::ALL.iter().map(DropReason::name).collect();
        assert_eq!(
            names,
            ["malformed", "bad_ttl", "bad_header", "replay", "bad_icv"]
        );
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn malformed_short_or_empty() {
        assert_eq!(rx_parse(&[], 255).unwrap_err(), DropReason::Malformed);
        let v1 = sign(&plain_v1(1, 0, &[]), 1);
        assert_eq!(v1.len(), 24);
        let v0 = sign(&plain_v0(1, 1, &[]), 1);
        assert_eq!(v0.len(), 20);
        for n in 0..24 {
            assert_eq!(rx_parse(&v1[..n], 255).unwrap_err(), DropReason::Malformed);
            // Short beats a wrong TTL.
            assert_eq!(rx_parse(&v1[..n], 254).unwrap_err(), DropReason::Malformed);
        }
        for n in 0..20 {
            assert_eq!(rx_parse(&v0[..n], 254).unwrap_err(), DropReason::Malformed);
        }
        assert!(rx_parse(&v1, 255).is_ok());
        assert!(rx_parse(&v0, 255).is_ok());
    }

    #[test]
    fn bad_ttl_before_bad_header() {
        let msg = sign(&plain_v1(1, 1, &[5; 36]), 9);
        for ttl in [0u8, 1, 64, 254] {
            assert_eq!(rx_parse(&msg, ttl).unwrap_err(), DropReason::BadTtl);
        }
        // Even a message with a broken header reports the TTL first.
        let mut bad = msg.clone();
        bad[5] = 2;
        assert_eq!(rx_parse(&bad, 254).unwrap_err(), DropReason::BadTtl);
        assert_eq!(rx_parse(&bad, 255).unwrap_err(), DropReason::BadHeader);
        let v0 = sign(&plain_v0(1, 1, &[5; 24]), 9);
        assert_eq!(rx_parse(&v0, 128).unwrap_err(), DropReason::BadTtl);
    }

    #[test]
    fn bad_header_fields() {
        let msg = sign(&plain_v1(1, 1, &[5; 36]), 9);
        let bad_hdr = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut m = msg.clone();
            f(&mut m);
            rx_parse(&m, 255).unwrap_err()
        };
        // Version.
        assert_eq!(bad_hdr(&|m| m[5] = 0), DropReason::BadHeader);
        // Flag missing (a plaintext v1 header), other spare bits set.
        assert_eq!(bad_hdr(&|m| m[7] = 0), DropReason::BadHeader);
        assert_eq!(bad_hdr(&|m| m[6] = 0x80), DropReason::BadHeader);
        assert_eq!(bad_hdr(&|m| m[7] = 3), DropReason::BadHeader);
        // Size: too large, too small, the plaintext size.
        assert_eq!(bad_hdr(&|m| m[3] += 1), DropReason::BadHeader);
        assert_eq!(bad_hdr(&|m| m[3] -= 1), DropReason::BadHeader);
        assert_eq!(bad_hdr(&|m| m[3] -= 16), DropReason::BadHeader);
        // Trailing garbage after `size` bytes.
        let mut long = msg.clone();
        long.push(0);
        assert_eq!(rx_parse(&long, 255).unwrap_err(), DropReason::BadHeader);

        let v0 = sign(&plain_v0(1, 1, &[5; 24]), 9);
        let mut m = v0.clone();
        m[3] -= 16;
        assert_eq!(rx_parse(&m, 255).unwrap_err(), DropReason::BadHeader);
        let mut m = v0;
        m[2] = 1;
        assert_eq!(rx_parse(&m, 255).unwrap_err(), DropReason::BadHeader);
    }

    #[test]
    fn wrong_key_or_seq_fails_verify() {
        let msg = sign(&plain_v1(1, 1, &[5; 36]), 9);
        let mut m = msg.clone();
        m[11] = 10;
        let rx = rx_parse(&m, 255).unwrap();
        assert_eq!(rx.seq(), 10);
        assert!(!rx.verify(&key()).unwrap());
        assert_eq!(rx_parse(&msg, 255).unwrap().verify(&FailingMac), Err(-22));
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        let plains = [
            plain_v1(7, 2, &[0x5a; 20]),
            plain_v0(7, 2, &[0x5a; 20]),
            plain_v1(7, 0, &[]),
        ];
        for plain in plains {
            let msg = sign(&plain, 42);
            assert!(accepted(&msg));
            for bit in 0..msg.len() * 8 {
                let mut m = msg.clone();
                m[bit / 8] ^= 1 << (bit % 8);
                assert!(!accepted(&m), "bit {bit} of {plain:?}");
            }
        }
    }

    #[test]
    fn truncation_never_verifies() {
        for plain in [plain_v1(1, 1, &[9; 36]), plain_v0(1, 1, &[9; 36])] {
            let msg = sign(&plain, 5);
            for n in 0..msg.len() {
                assert!(!accepted(&msg[..n]), "prefix {n}");
                assert!(strip(&msg[..n]).is_err(), "prefix {n}");
                // An attacker can also fix up the size field.
                let mut m = msg[..n].to_vec();
                if let Ok(size) = u16::try_from(n) {
                    if put_be16(&mut m, OFF_SIZE, size).is_some() {
                        assert!(!accepted(&m), "fixed-up prefix {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn strip_rejects_and_leaves_buffer_unchanged() {
        let msg = sign(&plain_v1(1, 1, &[9; 36]), 5);
        let mut m = msg.clone();
        m[3] ^= 1;
        let before = m.clone();
        assert_eq!(rx_strip_front(&mut m), Err(DropReason::BadHeader));
        assert_eq!(m, before);
        let mut empty: [u8; 0] = [];
        assert_eq!(rx_strip_front(&mut empty), Err(DropReason::Malformed));
    }

    #[test]
    fn checked_that_does_not_fit_neither_verifies_nor_strips() {
        let msg = sign(&plain_v1(1, 1, &[9; 36]), 5);
        let c = rx_parse(&msg, REQUIRED_TTL).unwrap().checked();
        // A shorter buffer than the message that was parsed.
        let mut short = msg[..msg.len() - 1].to_vec();
        let before = short.clone();
        assert_eq!(verify_checked_in_place(&mut short, &c, &key()), Ok(None));
        assert_eq!(
            strip_verified(&mut short, c.assume_verified()),
            Err(DropReason::Malformed)
        );
        assert_eq!(short, before);
        // A MAC failure is reported, not taken for a mismatch.
        let mut m = msg.clone();
        assert_eq!(verify_checked_in_place(&mut m, &c, &FailingMac), Err(-22));
        assert_eq!(m, msg);
        // A wrong key: no `Verified`, nothing to strip with.
        let wrong = RustCryptoHmacMd5(b"tot0235".to_vec());
        assert_eq!(verify_checked_in_place(&mut m, &c, &wrong), Ok(None));
        let v = verify_checked_in_place(&mut m, &c, &key())
            .unwrap()
            .unwrap();
        assert_eq!(strip_verified(&mut m, v), Ok(AUTH_HDR_LEN));
        assert_eq!(strip(&msg).unwrap(), m[AUTH_HDR_LEN..]);
    }

    #[test]
    fn classify() {
        let v1 = plain_v1(1, 1, &[0; 36]);
        let v0 = plain_v0(1, 1, &[0; 24]);
        assert_eq!(tx_classify(&v1), Some(Layout::V1));
        assert_eq!(tx_classify(&v0), Some(Layout::V0));
        assert_eq!(tx_classify(&plain_v1(1, 0, &[])), Some(Layout::V1));
        assert_eq!(tx_classify(&plain_v0(1, 1, &[])), Some(Layout::V0));
        assert_eq!(tx_classify(&[]), None);

        // Already authenticated, or any spare bit, version or size mismatch.
        assert_eq!(tx_classify(&sign(&v1, 1)), None);
        for (i, v) in [(5, 2u8), (6, 1), (7, 1), (3, 1), (2, 1)] {
            let mut m = v1.clone();
            m[i] ^= v;
            assert_eq!(tx_classify(&m), None, "byte {i}");
        }
        // A non-zero first byte makes it v0, for IPVS as for us.
        let mut m = v1.clone();
        m[0] = 1;
        assert_eq!(tx_classify(&m), Some(Layout::V0));
        let mut m = v0.clone();
        m[3] ^= 1;
        assert_eq!(tx_classify(&m), None);
        assert_eq!(tx_classify(&v1[..v1.len() - 1]), None);
        assert_eq!(tx_classify(&v0[..v0.len() - 1]), None);
        // Shorter than a header.
        for n in 0..8 {
            assert_eq!(tx_classify(&v1[..n]), None);
        }
        assert_eq!(tx_classify(&[1, 0, 0, 3]), None);
        assert_eq!(tx_classify(&[1, 0, 0, 4]), Some(Layout::V0));
    }

    #[test]
    fn insert_errors_leave_buffer_unchanged() {
        let plain = plain_v1(1, 1, &[3; 36]);
        let len = plain.len();

        // No room for the auth header.
        let mut buf = plain.clone();
        buf.resize(len + AUTH_HDR_LEN - 1, 0);
        let before = buf.clone();
        assert_eq!(
            tx_insert_in_place(&mut buf, len, 1, &key()),
            Err(TxError::NoRoom)
        );
        assert_eq!(buf, before);
        // `len` beyond the buffer.
        assert_eq!(
            tx_insert_in_place(&mut buf, len + AUTH_HDR_LEN, 1, &key()),
            Err(TxError::NoRoom)
        );

        // Not a sync message (`len` disagrees with `size`).
        let mut buf = plain.clone();
        buf.resize(len + 64, 0);
        let before = buf.clone();
        assert_eq!(
            tx_insert_in_place(&mut buf, len - 1, 1, &key()),
            Err(TxError::NotSync)
        );
        assert_eq!(buf, before);

        // MAC failure, one-update path (room for the header copy): the
        // message is restored; the room after it may have changed.
        assert_eq!(
            tx_insert_in_place(&mut buf, len, 1, &FailingMac),
            Err(TxError::Mac(-22))
        );
        assert_eq!(buf[..len], before[..len]);
        assert_eq!(
            buf[len + AUTH_HDR_LEN + V1_HDR_LEN..],
            before[len + AUTH_HDR_LEN + V1_HDR_LEN..]
        );
        // ... three-update path (exactly 16 bytes of room): nothing changes.
        let mut tight = plain.clone();
        tight.resize(len + AUTH_HDR_LEN, 0);
        let tight_before = tight.clone();
        assert_eq!(
            tx_insert_in_place(&mut tight, len, 1, &FailingMac),
            Err(TxError::Mac(-22))
        );
        assert_eq!(tight, tight_before);

        // Larger buffer: only the new message and the header copy after it
        // (the MAC's room) are written.
        let mut buf = before.clone();
        let n = tx_insert_in_place(&mut buf, len, 1, &key()).unwrap();
        assert_eq!(n, len + AUTH_HDR_LEN);
        assert_eq!(buf[..n], sign(&plain, 1));
        assert_eq!(buf[n + V1_HDR_LEN..], before[n + V1_HDR_LEN..]);
    }

    #[test]
    fn insert_size_limit() {
        let max_plain = MAX_SYNC_PAYLOAD - AUTH_HDR_LEN;
        let ok = plain_v1(1, 1, &vec![1; max_plain - V1_HDR_LEN]);
        let msg = sign(&ok, 3);
        assert_eq!(msg.len(), MAX_SYNC_PAYLOAD);
        assert!(accepted(&msg));
        assert_eq!(strip(&msg).unwrap(), ok);

        let big = plain_v1(1, 1, &vec![1; max_plain + 1 - V1_HDR_LEN]);
        let mut buf = big.clone();
        buf.resize(big.len() + AUTH_HDR_LEN, 0);
        assert_eq!(
            tx_insert_in_place(&mut buf, big.len(), 3, &key()),
            Err(TxError::TooBig)
        );
        let huge = plain_v0(1, 1, &vec![1; usize::from(u16::MAX) - V0_HDR_LEN]);
        let mut buf = huge.clone();
        buf.resize(huge.len() + AUTH_HDR_LEN, 0);
        assert_eq!(
            tx_insert_in_place(&mut buf, huge.len(), 3, &key()),
            Err(TxError::TooBig)
        );
    }

    /// Arbitrary bytes, optionally fixed up to get past the header checks.
    fn payload() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(mut p, fix_size, fix_v1, flag)| {
                if fix_v1 && p.len() >= V1_HDR_LEN {
                    p[0] = 0;
                    p[5] = 1;
                    p[6] = 0;
                    p[7] = u8::from(flag);
                }
                if fix_size {
                    if let Ok(n) = u16::try_from(p.len()) {
                        let _ = put_be16(&mut p, OFF_SIZE, n);
                    }
                }
                p
            })
    }

    proptest! {
        /// The one-update paths (room for the header copy) give exactly
        /// what the three-update paths give, on both sides, and leave the
        /// message itself as it was on receive; a flipped bit never
        /// verifies on either path.
        #[test]
        fn one_update_paths_equal_three_updates(
            v0 in any::<bool>(),
            nr in 1u8..,
            entries in proptest::collection::vec(any::<u8>(), 0..1500),
            seq in 1u32..,
            extra in 0usize..40,
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let plain = if v0 { plain_v0(150, nr, &entries) } else { plain_v1(150, nr, &entries) };
            let three = sign(&plain, seq);
            let mut buf = plain.clone();
            buf.resize(plain.len() + AUTH_HDR_LEN + MAC_ROOM + extra, 0xa5);
            let n = tx_insert_in_place(&mut buf, plain.len(), seq, &key()).unwrap();
            prop_assert_eq!(&buf[..n], &three[..]);
            for room in [0, MAC_ROOM + extra] {
                let mut rx = three.clone();
                rx.resize(three.len() + room, 0x5a);
                prop_assert_eq!(rx_verify_in_place(&mut rx, three.len(), &key()), Ok(true));
                prop_assert_eq!(&rx[..three.len()], &three[..]);
                // The backup's own sequence: parse once, verify, strip.
                let c = rx_parse(&rx[..three.len()], REQUIRED_TTL).unwrap().checked();
                let v = verify_checked_in_place(&mut rx, &c, &key()).unwrap().unwrap();
                let mut once = rx.clone();
                let off = strip_verified(&mut once, v).unwrap();
                prop_assert_eq!(&once[off..three.len()], &plain[..]);
                let i = flip.index(three.len());
                rx[i] ^= 1 << bit;
                prop_assert_eq!(rx_verify_in_place(&mut rx, three.len(), &key()), Ok(false));
            }
        }

        #[test]
        fn arbitrary_payload_never_panics(p in payload(), ttl in any::<u8>()) {
            let parsed = rx_parse(&p, ttl);
            if let Ok(m) = parsed {
                prop_assert_eq!(ttl, REQUIRED_TTL);
                prop_assert_eq!(
                    m.header().len() + AUTH_HDR_LEN + m.entries().len(),
                    p.len()
                );
                // Random bytes do not carry a valid ICV, on either path.
                prop_assert!(!m.verify(&key()).unwrap());
                let c = m.checked();
                let mut roomy = p.clone();
                roomy.resize(p.len() + MAC_ROOM, 0);
                prop_assert_eq!(verify_checked_in_place(&mut roomy, &c, &key()), Ok(None));
                prop_assert_eq!(&roomy[..p.len()], &p[..]);
            }

            let mut buf = p.clone();
            match rx_strip_front(&mut buf) {
                Ok(off) => {
                    prop_assert!(rx_parse(&p, REQUIRED_TTL).is_ok());
                    prop_assert_eq!(off, AUTH_HDR_LEN);
                    // Only the header moved: the entries are where they
                    // were, and the plaintext is the tail of the buffer.
                    let buf = &buf[off..];
                    let n = buf.len();
                    // What comes out is a message IPVS accepts, and signing
                    // it back with the same seq gives the input but for the
                    // ICV.
                    let rx = rx_parse(&p, REQUIRED_TTL).unwrap();
                    prop_assert_eq!(tx_classify(&buf[..n]), Some(rx.layout()));
                    let resigned = sign(&buf[..n], rx.seq());
                    let icv_at = rx.header().len() + SEQ_LEN;
                    prop_assert_eq!(&resigned[..icv_at], &p[..icv_at]);
                    prop_assert_eq!(&resigned[icv_at + ICV_LEN..], &p[icv_at + ICV_LEN..]);
                }
                Err(e) => {
                    prop_assert_eq!(Err(e), rx_parse(&p, REQUIRED_TTL).map(|_| ()));
                    prop_assert_eq!(&buf, &p);
                }
            }

            if let Some(layout) = tx_classify(&p) {
                prop_assert!(p.len() >= layout.hdr_len());
                let mut buf = p.clone();
                buf.resize(p.len() + AUTH_HDR_LEN, 0);
                let n = tx_insert_in_place(&mut buf, p.len(), 1, &key()).unwrap();
                prop_assert!(accepted(&buf[..n]));
                prop_assert_eq!(rx_parse(&buf, 255).unwrap().layout(), layout);
                prop_assert_eq!(strip(&buf).unwrap(), p.clone());
            }

            // Inserting into an arbitrary buffer never panics either.
            for len in [0, p.len() / 2, p.len()] {
                let mut buf = p.clone();
                let _ = tx_insert_in_place(&mut buf, len, 1, &key());
            }
        }

        #[test]
        fn round_trip(
            entries in proptest::collection::vec(any::<u8>(), 0..1500),
            seq in any::<u32>(),
            syncid in any::<u8>(),
            nr_conns in any::<u8>(),
            v1 in any::<bool>(),
        ) {
            let (plain, layout) = if v1 {
                (plain_v1(syncid, nr_conns, &entries), Layout::V1)
            } else {
                (plain_v0(syncid, nr_conns.max(1), &entries), Layout::V0)
            };
            prop_assert_eq!(tx_classify(&plain), Some(layout));
            let msg = sign(&plain, seq);
            let rx = rx_parse(&msg, REQUIRED_TTL).unwrap();
            prop_assert_eq!(rx.layout(), layout);
            prop_assert_eq!(rx.syncid(), syncid);
            prop_assert_eq!(rx.seq(), seq);
            prop_assert_eq!(rx.entries(), &entries[..]);
            prop_assert!(rx.verify(&key()).unwrap());
            prop_assert!(!rx.verify(&RustCryptoHmacMd5(b"tot0235".to_vec())).unwrap());
            prop_assert_eq!(strip(&msg).unwrap(), plain);
        }

        #[test]
        fn random_bit_flip_in_large_message_is_rejected(
            entries in proptest::collection::vec(any::<u8>(), 0..1500),
            v1 in any::<bool>(),
            bit in any::<proptest::sample::Index>(),
        ) {
            let plain = if v1 { plain_v1(1, 1, &entries) } else { plain_v0(1, 1, &entries) };
            let mut msg = sign(&plain, 77);
            let b = bit.index(msg.len() * 8);
            msg[b / 8] ^= 1 << (b % 8);
            prop_assert!(!accepted(&msg));
        }
    }
}
