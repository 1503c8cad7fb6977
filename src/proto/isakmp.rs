// SPDX-License-Identifier: GPL-2.0

//! The IPsec VPN gate: ISAKMP entries that ESP/AH packets must follow.
//!
//! A netfilter hook in front of IPVS sees every packet to a virtual service
//! on UDP 500 (IKE), UDP 4500 (IKE and ESP behind NAT, RFC 3948) and the
//! ESP (50) and AH (51) protocols. It keeps one entry per (client address,
//! virtual address) with two states:
//!
//! - [`State::Initial`]: the client has sent an ISAKMP message with a zero
//!   responder cookie (it is starting an exchange). The entry lives
//!   [`Config::initial_timeout`] seconds after the last ISAKMP packet.
//! - [`State::Established`]: the client has sent an ISAKMP message carrying
//!   a responder cookie while its entry was `Initial`, so it has talked to a
//!   real server. The entry lives [`Config::established_timeout`] seconds
//!   after the last ISAKMP packet (NAT-T keepalives count as ISAKMP).
//!
//! ESP and AH pass only for an `Established` entry, and never refresh a
//! timer: a client must keep sending ISAKMP (rekeys, keepalives, DPD) to
//! keep its tunnel. ESP with no entry is rejected (the hook answers with
//! ICMP protocol-unreachable, or ICMPv6 parameter problem, and drops); ESP
//! on an `Initial` entry is dropped silently.
//!
//! This module is the pure part: packet classification from payload bytes
//! ([`parse_ike`], [`classify_natt`], [`classify`]) and the state machine
//! ([`decide`]), driven by an explicit `now` in seconds of a monotonic
//! clock. The kernel side owns the hash table, the timers and the locking;
//! it stores an [`Entry`] per key and applies the returned [`Decision`].
//! [`GateTable`] is a small fixed-capacity table with the same behaviour,
//! used by the host tests and as the reference model of the hook.
//!
//! Every packet yields exactly one [`GateEvent`], which names the counter
//! to bump and, through [`GateEvent::verdict`], what to do with the packet.
//!
//! Expiry: an entry is expired when `now >= expires`
//! ([`Entry::is_expired`]). [`decide`] treats an expired entry exactly as a
//! missing one and never modifies it; the caller's garbage collector
//! removes it later, or the caller overwrites it when [`decide`] asks to
//! create an entry for the same key.
//!
//! Soft expiry (seed section 4: "a per-service number of entries that
//! should be softly handled from the expire mechanism"): a service may let
//! up to N `Established` entries outlive their idle timeout, for clients
//! whose rekey interval is longer than the timeout. The collector, instead
//! of removing an `Established` entry whose timeout has passed, extends it
//! once by another [`Config::established_timeout`] ([`Entry::soft_extend`])
//! while fewer than N entries of the service are so extended. A soft entry
//! still passes ESP/AH; the client's next ISAKMP packet makes it a normal
//! entry again ([`GateEvent::SoftRevived`]); otherwise it expires at the end
//! of the extension for good. N is 0 by default.

use super::bytes::{get_be32, get_bytes, get_u8};

/// Length in bytes of the IKE (v1 and v2) / ISAKMP header.
pub const IKE_HEADER_LEN: usize = 28;

/// Length in bytes of the non-ESP marker (four zero bytes) that precedes
/// IKE messages on UDP 4500 (RFC 3948, section 2.2).
pub const NON_ESP_MARKER_LEN: usize = 4;

/// The only byte of a NAT-keepalive packet on UDP 4500 (RFC 3948,
/// section 2.3).
pub const NATT_KEEPALIVE: u8 = 0xFF;

/// A zero cookie (or SPI).
const ZERO_COOKIE: [u8; 8] = [0; 8];

/// Offset of the initiator cookie / SPI.
const OFF_ICOOKIE: usize = 0;
/// Offset of the responder cookie / SPI.
const OFF_RCOOKIE: usize = 8;
/// Offset of the next payload type.
const OFF_NEXT_PAYLOAD: usize = 16;
/// Offset of the version byte (major version in the high nibble).
const OFF_VERSION: usize = 17;
/// Offset of the exchange type.
const OFF_EXCHANGE: usize = 18;
/// Offset of the flags.
const OFF_FLAGS: usize = 19;
/// Offset of the be32 message id.
const OFF_MESSAGE_ID: usize = 20;
/// Offset of the be32 length of the whole message.
const OFF_LENGTH: usize = 24;

/// Major version of an IKE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IkeVersion {
    /// ISAKMP / IKEv1 (RFC 2408, 2409): version byte `0x1_`.
    V1,
    /// IKEv2 (RFC 7296): version byte `0x2_`.
    V2,
}

/// The fixed 28-byte header of an IKE (v1 or v2) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeHeader {
    /// Initiator cookie (IKEv1) or initiator SPI (IKEv2). Never zero in a
    /// header returned by [`parse_ike`].
    pub icookie: [u8; 8],
    /// Responder cookie (IKEv1) or responder SPI (IKEv2); zero in the first
    /// message of an exchange.
    pub rcookie: [u8; 8],
    /// Type of the first payload.
    pub next_payload: u8,
    /// Major version.
    pub version: IkeVersion,
    /// Minor version (low nibble of the version byte), not checked.
    pub minor_version: u8,
    /// Exchange type (e.g. 2 = IKEv1 Main Mode, 34 = IKE_SA_INIT).
    pub exchange_type: u8,
    /// Flags.
    pub flags: u8,
    /// Message id.
    pub message_id: u32,
    /// Length of the whole message, header included.
    pub length: u32,
}

impl IkeHeader {
    /// Whether the responder cookie / SPI is zero, i.e. the client has not
    /// heard from a responder yet.
    pub fn rcookie_is_zero(&self) -> bool {
        self.rcookie == ZERO_COOKIE
    }
}

/// Why [`parse_ike`] rejected a payload, in the order of the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IkeError {
    /// Fewer than [`IKE_HEADER_LEN`] bytes.
    TooShort,
    /// Major version neither 1 nor 2.
    BadVersion,
    /// The length field is below [`IKE_HEADER_LEN`] or above the number of
    /// bytes present.
    BadLength,
    /// The initiator cookie / SPI is zero: such a message is dropped and
    /// counted.
    ZeroInitiatorCookie,
}

impl IkeError {
    /// The event to count for a packet rejected with this error:
    /// [`GateEvent::IsakmpZeroIcookie`] for a zero initiator cookie,
    /// [`GateEvent::IsakmpBadHeader`] for the others.
    pub const fn event(&self) -> GateEvent {
        match self {
            IkeError::ZeroInitiatorCookie => GateEvent::IsakmpZeroIcookie,
            IkeError::TooShort | IkeError::BadVersion | IkeError::BadLength => {
                GateEvent::IsakmpBadHeader
            }
        }
    }
}

/// Parses the IKE header at the start of `payload`, the whole IKE message
/// (a UDP 500 payload, or a UDP 4500 payload after the non-ESP marker).
///
/// Checks, in this order:
///
/// 1. [`IkeError::TooShort`]: fewer than [`IKE_HEADER_LEN`] bytes;
/// 2. [`IkeError::BadVersion`]: major version neither 1 nor 2 (the minor
///    version is not checked);
/// 3. [`IkeError::BadLength`]: the length field is below
///    [`IKE_HEADER_LEN`] or above `payload.len()`. A length below
///    `payload.len()` is accepted: the gate only needs the header, and
///    trailing bytes are the real server's business;
/// 4. [`IkeError::ZeroInitiatorCookie`]: the initiator cookie / SPI is zero.
///
/// Payloads, exchange types and flags are not checked.
pub fn parse_ike(payload: &[u8]) -> Result<IkeHeader, IkeError> {
    parse_ike_head(payload, payload.len())
}

/// [`parse_ike`] for a message of `msg_len` bytes of which only the first
/// bytes, `head`, are at hand (for instance copied out of a non-linear skb
/// with `skb_header_pointer`).
///
/// `head` must hold at least [`IKE_HEADER_LEN`] bytes, or the result is
/// [`IkeError::TooShort`]; bytes of `head` beyond `msg_len` are ignored. The
/// length field is checked against `msg_len`.
pub fn parse_ike_head(head: &[u8], msg_len: usize) -> Result<IkeHeader, IkeError> {
    let head = head.get(..msg_len).unwrap_or(head);
    let hdr = head
        .first_chunk::<IKE_HEADER_LEN>()
        .ok_or(IkeError::TooShort)?;
    let hdr: &[u8] = hdr;
    let version_byte = get_u8(hdr, OFF_VERSION).ok_or(IkeError::TooShort)?;
    let version = match version_byte >> 4 {
        1 => IkeVersion::V1,
        2 => IkeVersion::V2,
        _ => return Err(IkeError::BadVersion),
    };
    let length = get_be32(hdr, OFF_LENGTH).ok_or(IkeError::TooShort)?;
    // A length that does not fit in usize is above any msg_len.
    let fits = usize::try_from(length).is_ok_and(|l| l >= IKE_HEADER_LEN && l <= msg_len);
    if !fits {
        return Err(IkeError::BadLength);
    }
    let icookie = get_bytes::<8>(hdr, OFF_ICOOKIE).ok_or(IkeError::TooShort)?;
    if icookie == ZERO_COOKIE {
        return Err(IkeError::ZeroInitiatorCookie);
    }
    Ok(IkeHeader {
        icookie,
        rcookie: get_bytes::<8>(hdr, OFF_RCOOKIE).ok_or(IkeError::TooShort)?,
        next_payload: get_u8(hdr, OFF_NEXT_PAYLOAD).ok_or(IkeError::TooShort)?,
        version,
        minor_version: version_byte & 0x0f,
        exchange_type: get_u8(hdr, OFF_EXCHANGE).ok_or(IkeError::TooShort)?,
        flags: get_u8(hdr, OFF_FLAGS).ok_or(IkeError::TooShort)?,
        message_id: get_be32(hdr, OFF_MESSAGE_ID).ok_or(IkeError::TooShort)?,
        length,
    })
}

/// What a UDP 4500 payload carries (RFC 3948).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NattKind<'a> {
    /// A NAT-keepalive: exactly one byte, [`NATT_KEEPALIVE`].
    Keepalive,
    /// An IKE message: the bytes after the non-ESP marker, never empty when
    /// returned by [`classify_natt`]. Parse them with [`parse_ike`].
    Ike(&'a [u8]),
    /// ESP in UDP: the first four bytes are a non-zero SPI. The rest of the
    /// ESP packet is not checked.
    EspInUdp {
        /// The SPI of the ESP packet.
        spi: u32,
    },
    /// Anything else: an empty payload, 1 to 3 bytes other than a
    /// keepalive, or a non-ESP marker with nothing after it.
    Malformed,
}

/// Classifies a UDP 4500 payload, given whole.
pub fn classify_natt(payload: &[u8]) -> NattKind<'_> {
    classify_natt_head(payload, payload.len())
}

/// [`classify_natt`] for a payload of `payload_len` bytes of which only the
/// first bytes, `head`, are at hand.
///
/// `head` should hold at least `NON_ESP_MARKER_LEN + IKE_HEADER_LEN` bytes
/// (or the whole payload if shorter); with fewer than
/// [`NON_ESP_MARKER_LEN`] bytes of a longer payload the result is
/// [`NattKind::Malformed`]. In the [`NattKind::Ike`] case the IKE message
/// is `payload_len - NON_ESP_MARKER_LEN` bytes long, which is what to pass
/// to [`parse_ike_head`].
pub fn classify_natt_head(head: &[u8], payload_len: usize) -> NattKind<'_> {
    let head = head.get(..payload_len).unwrap_or(head);
    if payload_len == 1 {
        return match head.first() {
            Some(&NATT_KEEPALIVE) => NattKind::Keepalive,
            _ => NattKind::Malformed,
        };
    }
    if payload_len < NON_ESP_MARKER_LEN {
        return NattKind::Malformed;
    }
    match head.split_first_chunk::<NON_ESP_MARKER_LEN>() {
        None => NattKind::Malformed,
        Some((&[0, 0, 0, 0], _)) if payload_len == NON_ESP_MARKER_LEN => NattKind::Malformed,
        Some((&[0, 0, 0, 0], rest)) => NattKind::Ike(rest),
        Some((spi, _)) => NattKind::EspInUdp {
            spi: u32::from_be_bytes(*spi),
        },
    }
}

/// How a packet reached the virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP to port 500: the payload is an IKE message.
    Udp500,
    /// UDP to port 4500: NAT-T ([`classify_natt`]).
    Udp4500,
    /// IP protocol 50, ESP.
    Esp,
    /// IP protocol 51, AH.
    Ah,
}

/// A packet as the state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// An ISAKMP / IKE message (UDP 500, or UDP 4500 after the marker).
    Isakmp(IkeHeader),
    /// A NAT-keepalive on UDP 4500. It refreshes an entry like ISAKMP but
    /// never creates or establishes one.
    Keepalive,
    /// ESP, AH, or ESP in UDP 4500. Never refreshes a timer.
    Esp,
}

/// Turns a packet into an [`Input`], or into the event of a packet to drop
/// ([`GateEvent::IsakmpBadHeader`], [`GateEvent::IsakmpZeroIcookie`] or
/// [`GateEvent::NattMalformed`]; all have [`Verdict::Drop`]).
///
/// `payload` is the whole UDP payload for [`Transport::Udp500`] and
/// [`Transport::Udp4500`], and is ignored for [`Transport::Esp`] and
/// [`Transport::Ah`].
///
/// In NAT mode the hook also runs this on the real servers' replies, to
/// feed [`Entry::learn_responder_cookie`] with the `rcookie` of the header.
pub fn classify(transport: Transport, payload: &[u8]) -> Result<Input, GateEvent> {
    classify_head(transport, payload, payload.len())
}

/// [`classify`] for a UDP payload of `payload_len` bytes of which only the
/// first bytes, `head`, are at hand: `NON_ESP_MARKER_LEN + IKE_HEADER_LEN`
/// bytes (or the whole payload if shorter) are enough.
pub fn classify_head(
    transport: Transport,
    head: &[u8],
    payload_len: usize,
) -> Result<Input, GateEvent> {
    match transport {
        Transport::Esp | Transport::Ah => Ok(Input::Esp),
        Transport::Udp500 => parse_ike_head(head, payload_len)
            .map(Input::Isakmp)
            .map_err(|e| e.event()),
        Transport::Udp4500 => match classify_natt_head(head, payload_len) {
            NattKind::Keepalive => Ok(Input::Keepalive),
            NattKind::EspInUdp { .. } => Ok(Input::Esp),
            NattKind::Malformed => Err(GateEvent::NattMalformed),
            NattKind::Ike(rest) => {
                parse_ike_head(rest, payload_len.saturating_sub(NON_ESP_MARKER_LEN))
                    .map(Input::Isakmp)
                    .map_err(|e| e.event())
            }
        },
    }
}

/// What the hook does with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the packet go on to IPVS.
    Pass,
    /// Drop the packet silently.
    Drop,
    /// Drop the packet and answer with ICMP protocol-unreachable (IPv4) or
    /// ICMPv6 parameter problem, unrecognized next header (IPv6): ESP/AH
    /// from a client without an entry.
    RejectNoEntry,
}

/// What happened to a packet: one per packet, each with its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateEvent {
    /// ISAKMP header too short, of unknown version or with a bad length.
    /// Dropped.
    IsakmpBadHeader,
    /// ISAKMP with a zero initiator cookie. Dropped.
    IsakmpZeroIcookie,
    /// Malformed UDP 4500 payload. Dropped.
    NattMalformed,
    /// ISAKMP with a zero responder cookie and no entry: an `Initial` entry
    /// is created. Passed.
    InitialCreated,
    /// As [`Self::InitialCreated`], but the cap on `Initial` entries
    /// ([`Config::max_initial`]) is reached: nothing is created. Dropped.
    InitialCap,
    /// As [`Self::InitialCreated`], but the table has no room (only
    /// [`GateTable`]). Dropped.
    TableFull,
    /// ISAKMP or keepalive on an `Initial` entry: its timer is refreshed.
    /// Passed.
    InitialRefresh,
    /// ISAKMP with a non-zero responder cookie and no entry: nothing is
    /// created (the client must go through `Initial`). Passed.
    IsakmpNoInitial,
    /// ISAKMP with a non-zero responder cookie on an `Initial` entry: the
    /// entry becomes `Established`. Passed.
    Established,
    /// NAT mode: ISAKMP with a responder cookie other than the one learned
    /// from the real server, on an `Initial` entry. Dropped, entry
    /// unchanged.
    CookieMismatch,
    /// ISAKMP or keepalive on an `Established` entry: its timer is
    /// refreshed. Passed.
    EstablishedRefresh,
    /// Keepalive and no entry: nothing is created. Passed.
    KeepaliveNoEntry,
    /// ESP/AH and no entry. Rejected with ICMP.
    EspNoEntry,
    /// ESP/AH on an `Initial` entry. Dropped, no ICMP.
    EspInitial,
    /// ESP/AH on an `Established` entry. Passed.
    EspPass,
    /// ISAKMP or keepalive on a soft-expired `Established` entry
    /// ([`Entry::soft_extend`]): it is a normal entry again, its timer
    /// refreshed. Passed.
    SoftRevived,
}

impl GateEvent {
    /// Every event, in the order of [`Self::index`].
    pub const ALL: [GateEvent; 16] = [
        GateEvent::IsakmpBadHeader,
        GateEvent::IsakmpZeroIcookie,
        GateEvent::NattMalformed,
        GateEvent::InitialCreated,
        GateEvent::InitialCap,
        GateEvent::TableFull,
        GateEvent::InitialRefresh,
        GateEvent::IsakmpNoInitial,
        GateEvent::Established,
        GateEvent::CookieMismatch,
        GateEvent::EstablishedRefresh,
        GateEvent::KeepaliveNoEntry,
        GateEvent::EspNoEntry,
        GateEvent::EspInitial,
        GateEvent::EspPass,
        GateEvent::SoftRevived,
    ];

    /// Name of the event, for counters.
    pub const fn name(&self) -> &'static str {
        match self {
            GateEvent::IsakmpBadHeader => "isakmp_bad_header",
            GateEvent::IsakmpZeroIcookie => "isakmp_zero_icookie",
            GateEvent::NattMalformed => "natt_malformed",
            GateEvent::InitialCreated => "initial_created",
            GateEvent::InitialCap => "initial_cap",
            GateEvent::TableFull => "table_full",
            GateEvent::InitialRefresh => "initial_refresh",
            GateEvent::IsakmpNoInitial => "isakmp_no_initial",
            GateEvent::Established => "established",
            GateEvent::CookieMismatch => "cookie_mismatch",
            GateEvent::EstablishedRefresh => "established_refresh",
            GateEvent::KeepaliveNoEntry => "keepalive_no_entry",
            GateEvent::EspNoEntry => "esp_no_entry",
            GateEvent::EspInitial => "esp_initial",
            GateEvent::EspPass => "esp_pass",
            GateEvent::SoftRevived => "soft_revived",
        }
    }

    /// Position of the event in [`Self::ALL`], for arrays of counters.
    pub const fn index(&self) -> usize {
        match self {
            GateEvent::IsakmpBadHeader => 0,
            GateEvent::IsakmpZeroIcookie => 1,
            GateEvent::NattMalformed => 2,
            GateEvent::InitialCreated => 3,
            GateEvent::InitialCap => 4,
            GateEvent::TableFull => 5,
            GateEvent::InitialRefresh => 6,
            GateEvent::IsakmpNoInitial => 7,
            GateEvent::Established => 8,
            GateEvent::CookieMismatch => 9,
            GateEvent::EstablishedRefresh => 10,
            GateEvent::KeepaliveNoEntry => 11,
            GateEvent::EspNoEntry => 12,
            GateEvent::EspInitial => 13,
            GateEvent::EspPass => 14,
            GateEvent::SoftRevived => 15,
        }
    }

    /// Whether an ISAKMP packet (or NAT-T keepalive) created or refreshed
    /// the client's entry: the time of the last one decides which entry
    /// is evicted first ([`super::limits::eviction_rank`]).
    pub const fn refreshes(&self) -> bool {
        matches!(
            self,
            GateEvent::InitialCreated
                | GateEvent::InitialRefresh
                | GateEvent::Established
                | GateEvent::EstablishedRefresh
                | GateEvent::SoftRevived
        )
    }

    /// What to do with the packet.
    pub const fn verdict(&self) -> Verdict {
        match self {
            GateEvent::IsakmpBadHeader
            | GateEvent::IsakmpZeroIcookie
            | GateEvent::NattMalformed
            | GateEvent::InitialCap
            | GateEvent::TableFull
            | GateEvent::CookieMismatch
            | GateEvent::EspInitial => Verdict::Drop,
            GateEvent::EspNoEntry => Verdict::RejectNoEntry,
            GateEvent::InitialCreated
            | GateEvent::InitialRefresh
            | GateEvent::IsakmpNoInitial
            | GateEvent::Established
            | GateEvent::EstablishedRefresh
            | GateEvent::KeepaliveNoEntry
            | GateEvent::EspPass
            | GateEvent::SoftRevived => Verdict::Pass,
        }
    }
}

/// Settings of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Lifetime in seconds of an `Initial` entry after its last ISAKMP
    /// packet. 0 makes entries expire as soon as they are created.
    pub initial_timeout: u64,
    /// Lifetime in seconds of an `Established` entry after its last ISAKMP
    /// packet.
    pub established_timeout: u64,
    /// IPVS forwards in NAT (masquerading) mode, so the hook sees the real
    /// servers' replies: an `Initial` entry is established only by the
    /// responder cookie learned from a reply
    /// ([`Entry::learn_responder_cookie`]). Otherwise (direct routing,
    /// tunnelling) any non-zero responder cookie establishes it.
    pub nat_mode: bool,
    /// Largest number of live `Initial` entries: beyond it, new clients are
    /// refused ([`GateEvent::InitialCap`]); `Established` entries are not
    /// counted and are never evicted. See [`Config::initial_allowed`].
    pub max_initial: usize,
}

impl Config {
    /// The defaults: 30 s in `Initial`, 8 hours in `Established`, direct
    /// routing, at most 4096 `Initial` entries. Only ISAKMP refreshes an
    /// `Established` entry, and a client may send none between rekeys:
    /// 8 hours is the longest common IKE SA lifetime (libreswan's
    /// `ikelifetime`), above the usual 1-hour CHILD SA rekey, which an
    /// hour-long timeout would have met exactly.
    pub const DEFAULT: Config = Config {
        initial_timeout: 30,
        established_timeout: 28800,
        nat_mode: false,
        max_initial: 4096,
    };

    /// Whether a new `Initial` entry may be created while `live_initial`
    /// live `Initial` entries exist (expired ones should not be counted).
    pub const fn initial_allowed(&self, live_initial: usize) -> bool {
        live_initial < self.max_initial
    }

    /// The event of a [`Decision::Create`], given the number of live
    /// `Initial` entries: [`GateEvent::InitialCreated`] (insert the entry)
    /// if [`Self::initial_allowed`], else [`GateEvent::InitialCap`] (drop).
    pub const fn admit_initial(&self, live_initial: usize) -> GateEvent {
        if self.initial_allowed(live_initial) {
            GateEvent::InitialCreated
        } else {
            GateEvent::InitialCap
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// State of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The client has started an ISAKMP exchange: ESP/AH is dropped.
    Initial,
    /// The client has completed an ISAKMP exchange with a real server:
    /// ESP/AH passes.
    Established,
}

/// The gate's state for one (client, virtual address) pair.
///
/// Entries are created by [`decide`] (as [`Decision::Create`]) in the
/// `Initial` state, and only [`decide`] moves them to `Established`, from
/// `Initial`. The one exception is [`Entry::established_from_sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    state: State,
    expires: u64,
    rcookie_learned: Option<[u8; 8]>,
    soft: bool,
}

impl Entry {
    /// A new `Initial` entry.
    const fn initial(now: u64, cfg: &Config) -> Entry {
        Entry {
            state: State::Initial,
            expires: now.saturating_add(cfg.initial_timeout),
            rcookie_learned: None,
            soft: false,
        }
    }

    /// An `Established` entry for a client that has no entry here but has
    /// an IPVS connection synced from the failed director.
    ///
    /// This is the failover hook: after a director failover, established
    /// clients send ISAKMP with a non-zero responder cookie, which does not
    /// create an entry ([`GateEvent::IsakmpNoInitial`]). A caller that finds
    /// an IPVS connection synced for the client and virtual address may
    /// then insert this entry. Nothing else may create an `Established`
    /// entry directly.
    pub const fn established_from_sync(now: u64, cfg: &Config) -> Entry {
        Entry {
            state: State::Established,
            expires: now.saturating_add(cfg.established_timeout),
            rcookie_learned: None,
            soft: false,
        }
    }

    /// Rebuilds an entry from the fields the kernel table stores, as read
    /// back with [`Self::state`], [`Self::expires`],
    /// [`Self::responder_cookie`] and [`Self::is_soft`]. Only for
    /// round-tripping entries that came from [`decide`] or
    /// [`Self::established_from_sync`].
    pub const fn from_parts(
        state: State,
        expires: u64,
        rcookie_learned: Option<[u8; 8]>,
        soft: bool,
    ) -> Entry {
        Entry {
            state,
            expires,
            rcookie_learned,
            soft,
        }
    }

    /// Whether the entry is living on past its idle timeout
    /// ([`Self::soft_extend`]).
    pub const fn is_soft(&self) -> bool {
        self.soft
    }

    /// Soft expiry: if this is an `Established`, not yet extended entry
    /// whose timeout has passed by `now`, extends it once by
    /// [`Config::established_timeout`] from its old expiry time and
    /// returns true. The caller checks the service's quota first.
    ///
    /// A collector that runs every P seconds may pass `now + P`, so that an
    /// entry is extended before its timeout rather than up to P seconds
    /// after; the extension still counts from the old expiry time.
    pub fn soft_extend(&mut self, now: u64, cfg: &Config) -> bool {
        if self.state != State::Established || self.soft || now < self.expires {
            return false;
        }
        self.soft = true;
        self.expires = self.expires.saturating_add(cfg.established_timeout);
        true
    }

    /// The state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// When the entry expires, in seconds of the caller's monotonic clock.
    pub const fn expires(&self) -> u64 {
        self.expires
    }

    /// The responder cookie learned from a real server's reply (NAT mode).
    pub const fn responder_cookie(&self) -> Option<[u8; 8]> {
        self.rcookie_learned
    }

    /// Whether the entry is expired at `now` (`now >= expires`). An expired
    /// entry behaves as a missing one.
    pub const fn is_expired(&self, now: u64) -> bool {
        now >= self.expires
    }

    /// Whether the entry is live and `Initial` at `now`, the entries that
    /// count towards [`Config::max_initial`].
    pub const fn is_live_initial(&self, now: u64) -> bool {
        !self.is_expired(now) && matches!(self.state, State::Initial)
    }

    /// NAT mode: records `rcookie`, the responder cookie / SPI of a reply
    /// from a real server to the client, as the one the client must send to
    /// establish the entry. The last non-zero cookie learned wins.
    ///
    /// Only an `Initial` entry learns: a zero cookie (as in IKEv2 error
    /// notifications) or an `Established` entry leaves the entry unchanged
    /// and returns false. Learning does not refresh the timer; the caller
    /// should not call this on an expired entry.
    pub fn learn_responder_cookie(&mut self, rcookie: [u8; 8]) -> bool {
        if rcookie == ZERO_COOKIE || self.state != State::Initial {
            return false;
        }
        self.rcookie_learned = Some(rcookie);
        true
    }

    /// Sets the timer of an `Initial` entry.
    fn refresh(&mut self, now: u64, cfg: &Config) {
        let timeout = match self.state {
            State::Initial => cfg.initial_timeout,
            State::Established => cfg.established_timeout,
        };
        self.expires = now.saturating_add(timeout);
    }

    /// The transition of a live entry.
    fn step(&mut self, input: &Input, now: u64, cfg: &Config) -> GateEvent {
        match (input, self.state) {
            (Input::Esp, State::Initial) => GateEvent::EspInitial,
            (Input::Esp, State::Established) => GateEvent::EspPass,
            (Input::Keepalive, State::Initial) => {
                self.refresh(now, cfg);
                GateEvent::InitialRefresh
            }
            (Input::Isakmp(_) | Input::Keepalive, State::Established) => {
                // Cookies change on rekey: never compared once established.
                self.refresh(now, cfg);
                if core::mem::replace(&mut self.soft, false) {
                    GateEvent::SoftRevived
                } else {
                    GateEvent::EstablishedRefresh
                }
            }
            (Input::Isakmp(h), State::Initial) => {
                if h.rcookie_is_zero() {
                    self.refresh(now, cfg);
                    GateEvent::InitialRefresh
                } else if !cfg.nat_mode || self.rcookie_learned == Some(h.rcookie) {
                    self.state = State::Established;
                    self.refresh(now, cfg);
                    GateEvent::Established
                } else {
                    GateEvent::CookieMismatch
                }
            }
        }
    }
}

/// What the caller does after [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Count the event and apply its [`GateEvent::verdict`]. The entry, if
    /// any, has been updated in place.
    Done(GateEvent),
    /// There is no live entry and the packet starts an ISAKMP exchange:
    /// insert this `Initial` entry (replacing an expired one for the same
    /// key) if [`Config::admit_initial`] allows, count the event it returns
    /// and apply that event's verdict.
    Create(Entry),
}

/// The state machine: decides on packet `input` from a client whose entry
/// (possibly expired) is `entry`, at time `now`.
///
/// A live entry is updated in place; an expired entry is treated as
/// missing and left unchanged.
///
/// - ISAKMP with a zero initiator cookie: [`GateEvent::IsakmpZeroIcookie`],
///   in any state.
/// - No entry: ISAKMP with a zero responder cookie gives
///   [`Decision::Create`]; with a non-zero responder cookie
///   [`GateEvent::IsakmpNoInitial`] (passed, nothing created, so that a
///   spoofed packet cannot create an `Established` entry; see
///   [`Entry::established_from_sync`] for failover); keepalive
///   [`GateEvent::KeepaliveNoEntry`]; ESP/AH [`GateEvent::EspNoEntry`].
/// - `Initial`: ISAKMP with a zero responder cookie, or keepalive, refresh
///   the timer; ISAKMP with a non-zero responder cookie establishes the
///   entry (in NAT mode only if it is the learned cookie, else
///   [`GateEvent::CookieMismatch`], entry unchanged); ESP/AH is dropped.
/// - `Established`: ISAKMP (any cookies) and keepalive refresh the timer;
///   ESP/AH passes.
///
/// ESP/AH never changes an entry.
pub fn decide(entry: Option<&mut Entry>, input: &Input, now: u64, cfg: &Config) -> Decision {
    if let Input::Isakmp(h) = input {
        if h.icookie == ZERO_COOKIE {
            return Decision::Done(GateEvent::IsakmpZeroIcookie);
        }
    }
    match entry.filter(|e| !e.is_expired(now)) {
        Some(e) => Decision::Done(e.step(input, now, cfg)),
        None => match input {
            Input::Isakmp(h) if h.rcookie_is_zero() => Decision::Create(Entry::initial(now, cfg)),
            Input::Isakmp(_) => Decision::Done(GateEvent::IsakmpNoInitial),
            Input::Keepalive => Decision::Done(GateEvent::KeepaliveNoEntry),
            Input::Esp => Decision::Done(GateEvent::EspNoEntry),
        },
    }
}

/// [`decide`] for ESP/AH ([`Input::Esp`]), which no setting and no entry
/// change: the entry's state and expiry alone decide, so the packet path
/// need not read the settings for it.
pub fn decide_esp(entry: Option<&Entry>, now: u64) -> GateEvent {
    match entry.filter(|e| !e.is_expired(now)).map(|e| e.state) {
        Some(State::Initial) => GateEvent::EspInitial,
        Some(State::Established) => GateEvent::EspPass,
        None => GateEvent::EspNoEntry,
    }
}

/// Identifies an entry: one client talking to one virtual address.
///
/// IPv4 addresses fill the first 4 bytes of their field, the other 12
/// being 0, with `v6 == false` (use [`GateKey::v4`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GateKey {
    /// Address of the client.
    pub client: [u8; 16],
    /// Virtual address of the service.
    pub vip: [u8; 16],
    /// Whether the addresses are IPv6.
    pub v6: bool,
}

impl GateKey {
    /// Key of an IPv4 client and virtual address (network byte order).
    pub const fn v4(client: [u8; 4], vip: [u8; 4]) -> Self {
        let [a, b, c, d] = client;
        let [e, f, g, h] = vip;
        GateKey {
            client: [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            vip: [e, f, g, h, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            v6: false,
        }
    }

    /// Key of an IPv6 client and virtual address (network byte order).
    pub const fn v6(client: [u8; 16], vip: [u8; 16]) -> Self {
        GateKey {
            client,
            vip,
            v6: true,
        }
    }
}

/// One slot of a [`GateTable`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: GateKey,
    entry: Entry,
}

/// Up to `N` entries, searched linearly: the reference model of the hook.
///
/// Expired entries behave as missing; their slots are reused by new
/// entries, and [`Self::gc`] frees them. `Established` entries are never
/// evicted before they expire.
#[derive(Debug, Clone)]
pub struct GateTable<const N: usize> {
    slots: [Option<Slot>; N],
}

impl<const N: usize> Default for GateTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> GateTable<N> {
    /// An empty slot.
    const EMPTY: Option<Slot> = None;

    /// An empty table.
    pub const fn new() -> Self {
        GateTable {
            slots: [Self::EMPTY; N],
        }
    }

    /// Index of the slot holding `key`, live or expired.
    fn find(&self, key: &GateKey) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.key == *key))
    }

    /// Index of an empty slot, or else of a slot holding an expired entry.
    fn free_slot(&self, now: u64) -> Option<usize> {
        self.slots.iter().position(Option::is_none).or_else(|| {
            self.slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| s.entry.is_expired(now)))
        })
    }

    /// The live entry of `key` at `now`.
    pub fn get(&self, key: &GateKey, now: u64) -> Option<&Entry> {
        self.slots
            .iter()
            .flatten()
            .find(|s| s.key == *key)
            .map(|s| &s.entry)
            .filter(|e| !e.is_expired(now))
    }

    /// Runs [`classify`] and [`Self::process`]: the whole hook for one
    /// packet from the client of `key`.
    pub fn packet(
        &mut self,
        key: &GateKey,
        transport: Transport,
        payload: &[u8],
        now: u64,
        cfg: &Config,
    ) -> GateEvent {
        match classify(transport, payload) {
            Ok(input) => self.process(key, &input, now, cfg),
            Err(event) => event,
        }
    }

    /// Runs [`decide`] for packet `input` from the client of `key`, and
    /// creates the entry it asks for if the cap and the room allow
    /// ([`GateEvent::InitialCap`], [`GateEvent::TableFull`] otherwise).
    pub fn process(&mut self, key: &GateKey, input: &Input, now: u64, cfg: &Config) -> GateEvent {
        let idx = self.find(key);
        let entry = idx
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
            .map(|s| &mut s.entry);
        let new = match decide(entry, input, now, cfg) {
            Decision::Done(event) => return event,
            Decision::Create(new) => new,
        };
        let event = cfg.admit_initial(self.initial_count(now));
        if event != GateEvent::InitialCreated {
            return event;
        }
        // The key's own slot holds an expired entry if any.
        match idx
            .or_else(|| self.free_slot(now))
            .and_then(|i| self.slots.get_mut(i))
        {
            Some(slot) => {
                *slot = Some(Slot {
                    key: *key,
                    entry: new,
                });
                event
            }
            None => GateEvent::TableFull,
        }
    }

    /// NAT mode: feeds the responder cookie of a real server's reply to the
    /// client of `key` to [`Entry::learn_responder_cookie`]. Returns whether
    /// it was learned (false if there is no live `Initial` entry).
    pub fn learn_responder_cookie(&mut self, key: &GateKey, rcookie: [u8; 8], now: u64) -> bool {
        self.slots
            .iter_mut()
            .flatten()
            .find(|s| s.key == *key)
            .filter(|s| !s.entry.is_expired(now))
            .is_some_and(|s| s.entry.learn_responder_cookie(rcookie))
    }

    /// Removes expired entries and returns how many it removed, except
    /// that `Established` entries are soft-extended ([`Entry::soft_extend`])
    /// while fewer than `soft_quota` live entries are (the table stands for
    /// one service).
    pub fn gc(&mut self, now: u64, cfg: &Config, soft_quota: usize) -> usize {
        let mut soft = self.soft_count(now);
        let mut removed: usize = 0;
        for slot in self.slots.iter_mut() {
            let Some(s) = slot.as_mut().filter(|s| s.entry.is_expired(now)) else {
                continue;
            };
            if soft < soft_quota && s.entry.soft_extend(now, cfg) && !s.entry.is_expired(now) {
                soft = soft.saturating_add(1);
                continue;
            }
            *slot = None;
            removed = removed.saturating_add(1);
        }
        removed
    }

    /// Number of live soft-extended entries at `now`.
    pub fn soft_count(&self, now: u64) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| !s.entry.is_expired(now) && s.entry.is_soft())
            .count()
    }

    /// Number of live `Initial` entries at `now`.
    pub fn initial_count(&self, now: u64) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.entry.is_live_initial(now))
            .count()
    }

    /// Number of live `Established` entries at `now`.
    pub fn established_count(&self, now: u64) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| !s.entry.is_expired(now) && s.entry.state() == State::Established)
            .count()
    }

    /// Number of slots in use, expired entries not yet collected included.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no slot is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Maximum number of entries, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.slots = [Self::EMPTY; N];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const IC: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    const RC: [u8; 8] = [0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18];
    const RC2: [u8; 8] = [9, 8, 7, 6, 5, 4, 3, 2];
    const CLIENT: GateKey = GateKey::v4([198, 51, 100, 7], [203, 0, 113, 1]);
    /// The tests' configurations: an hour in `Established`, short enough
    /// to step through.
    const DR: Config = Config {
        established_timeout: 3600,
        ..Config::DEFAULT
    };
    const NAT: Config = Config {
        nat_mode: true,
        ..DR
    };

    /// An IKE message: header with the given fields, then `body`.
    fn ike(icookie: [u8; 8], rcookie: [u8; 8], version: u8, exchange: u8, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(IKE_HEADER_LEN + body.len()).unwrap();
        let mut m = Vec::new();
        m.extend_from_slice(&icookie);
        m.extend_from_slice(&rcookie);
        m.push(33); // next payload: SA (IKEv2)
        m.push(version);
        m.push(exchange);
        m.push(0x08); // flags: initiator
        m.extend_from_slice(&7u32.to_be_bytes());
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    /// IKEv2 IKE_SA_INIT request: responder SPI zero.
    fn sa_init() -> Vec<u8> {
        ike(IC, [0; 8], 0x20, 34, &[0, 0, 0, 4])
    }

    /// IKEv2 IKE_AUTH request: both SPIs set.
    fn ike_auth(rc: [u8; 8]) -> Vec<u8> {
        ike(IC, rc, 0x20, 35, &[0xde, 0xad])
    }

    /// `m` behind a non-ESP marker, as sent on UDP 4500.
    fn natt(m: &[u8]) -> Vec<u8> {
        let mut p = std::vec![0u8; NON_ESP_MARKER_LEN];
        p.extend_from_slice(m);
        p
    }

    fn isakmp(rc: [u8; 8]) -> Input {
        Input::Isakmp(parse_ike(&ike_auth(rc)).unwrap())
    }

    fn initial_input() -> Input {
        Input::Isakmp(parse_ike(&sa_init()).unwrap())
    }

    #[test]
    fn parses_ikev2_headers() {
        let h = parse_ike(&sa_init()).unwrap();
        assert_eq!(
            h,
            IkeHeader {
                icookie: IC,
                rcookie: [0; 8],
                next_payload: 33,
                version: IkeVersion::V2,
                minor_version: 0,
                exchange_type: 34,
                flags: 0x08,
                message_id: 7,
                length: 32,
            }
        );
        assert!(h.rcookie_is_zero());
        let h = parse_ike(&ike_auth(RC)).unwrap();
        assert_eq!(h.rcookie, RC);
        assert_eq!(h.exchange_type, 35);
        assert_eq!(h.length, 30);
        assert!(!h.rcookie_is_zero());
    }

    #[test]
    fn parses_ikev1_headers() {
        // Main Mode, first message: header only, version 1.0.
        let h = parse_ike(&ike(IC, [0; 8], 0x10, 2, &[])).unwrap();
        assert_eq!(h.version, IkeVersion::V1);
        assert_eq!(h.minor_version, 0);
        assert_eq!(h.exchange_type, 2);
        assert_eq!(h.length, 28);
        assert!(h.rcookie_is_zero());
        // Quick Mode with both cookies, minor version ignored.
        let h = parse_ike(&ike(IC, RC, 0x1f, 32, &[1, 2, 3])).unwrap();
        assert_eq!(h.version, IkeVersion::V1);
        assert_eq!(h.minor_version, 0xf);
        assert_eq!(h.icookie, IC);
        assert_eq!(h.rcookie, RC);
    }

    #[test]
    fn length_field() {
        let mut m = ike_auth(RC);
        // Trailing bytes beyond the length field are accepted.
        m.extend_from_slice(&[0; 5]);
        assert_eq!(parse_ike(&m).unwrap().length, 30);
        // Exactly 28 is fine, 27 and 0 are not.
        for (len, ok) in [(28u32, true), (27, false), (0, false)] {
            m[24..28].copy_from_slice(&len.to_be_bytes());
            assert_eq!(parse_ike(&m).is_ok(), ok, "length {len}");
        }
        // Longer than the payload.
        m.truncate(30);
        m[24..28].copy_from_slice(&31u32.to_be_bytes());
        assert_eq!(parse_ike(&m), Err(IkeError::BadLength));
        m[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(parse_ike(&m), Err(IkeError::BadLength));
        m[24..28].copy_from_slice(&30u32.to_be_bytes());
        assert!(parse_ike(&m).is_ok());
    }

    #[test]
    fn every_error() {
        let m = sa_init();
        assert_eq!(parse_ike(&[]), Err(IkeError::TooShort));
        assert_eq!(parse_ike(&m[..27]), Err(IkeError::TooShort));
        for v in [0x00, 0x0f, 0x30, 0x40, 0xff] {
            let bad = ike(IC, RC, v, 34, &[]);
            assert_eq!(parse_ike(&bad), Err(IkeError::BadVersion), "version {v:#x}");
        }
        let mut bad = sa_init();
        bad[24..28].copy_from_slice(&20u32.to_be_bytes());
        assert_eq!(parse_ike(&bad), Err(IkeError::BadLength));
        let zero = ike([0; 8], RC, 0x20, 35, &[]);
        assert_eq!(parse_ike(&zero), Err(IkeError::ZeroInitiatorCookie));
        // Check order: version before length before cookie.
        let mut all = ike([0; 8], RC, 0x30, 35, &[]);
        all[24..28].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(parse_ike(&all), Err(IkeError::BadVersion));
        all[17] = 0x20;
        assert_eq!(parse_ike(&all), Err(IkeError::BadLength));
        // Events.
        assert_eq!(IkeError::TooShort.event(), GateEvent::IsakmpBadHeader);
        assert_eq!(IkeError::BadVersion.event(), GateEvent::IsakmpBadHeader);
        assert_eq!(IkeError::BadLength.event(), GateEvent::IsakmpBadHeader);
        assert_eq!(
            IkeError::ZeroInitiatorCookie.event(),
            GateEvent::IsakmpZeroIcookie
        );
    }

    #[test]
    fn head_variants() {
        let m = ike_auth(RC); // 30 bytes
                              // Only the header at hand, of a 30-byte message.
        assert_eq!(parse_ike_head(&m[..28], 30), parse_ike(&m));
        // Header length 30 but message said to be 29.
        assert_eq!(parse_ike_head(&m, 29), Err(IkeError::BadLength));
        // Fewer than 28 bytes at hand.
        assert_eq!(parse_ike_head(&m[..20], 30), Err(IkeError::TooShort));
        // msg_len shorter than the head truncates it.
        assert_eq!(parse_ike_head(&m, 27), Err(IkeError::TooShort));
        let p = natt(&m);
        assert_eq!(
            classify_natt_head(&p[..32], p.len()),
            NattKind::Ike(&m[..28])
        );
        assert_eq!(
            classify_head(Transport::Udp4500, &p[..32], p.len()),
            Ok(isakmp(RC))
        );
        assert_eq!(
            classify_head(Transport::Udp500, &m[..28], m.len()),
            Ok(isakmp(RC))
        );
        assert_eq!(classify_natt_head(&p[..2], p.len()), NattKind::Malformed);
        assert_eq!(classify_natt_head(&[0xff, 0xff], 1), NattKind::Keepalive);
    }

    #[test]
    fn natt_classification() {
        assert_eq!(classify_natt(&[]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0xff]), NattKind::Keepalive);
        assert_eq!(classify_natt(&[0x00]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0xfe]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0xff, 0xff]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0xff, 0xff, 0xff]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0, 0, 0]), NattKind::Malformed);
        assert_eq!(classify_natt(&[0, 0, 0, 0]), NattKind::Malformed);
        let m = sa_init();
        let p = natt(&m);
        assert_eq!(classify_natt(&p), NattKind::Ike(&m[..]));
        assert_eq!(classify_natt(&[0, 0, 0, 0, 1]), NattKind::Ike(&[1]));
        let esp = [0x00, 0x00, 0x12, 0x34, 0, 0, 0, 1, 0xaa, 0xbb];
        assert_eq!(classify_natt(&esp), NattKind::EspInUdp { spi: 0x1234 });
        assert_eq!(
            classify_natt(&[0xff, 0xff, 0xff, 0xff]),
            NattKind::EspInUdp { spi: u32::MAX }
        );
        // Any non-zero byte among the first four makes it ESP.
        assert_eq!(
            classify_natt(&[0, 0, 0, 1, 0]),
            NattKind::EspInUdp { spi: 1 }
        );
    }

    #[test]
    fn classify_inputs() {
        let m = sa_init();
        assert_eq!(classify(Transport::Udp500, &m), Ok(initial_input()));
        assert_eq!(classify(Transport::Udp4500, &natt(&m)), Ok(initial_input()));
        // UDP 500 carries no marker.
        assert_eq!(
            classify(Transport::Udp500, &natt(&m)),
            Err(GateEvent::IsakmpBadHeader)
        );
        // On UDP 4500, IKE without a marker is taken as ESP (SPI = icookie).
        assert_eq!(classify(Transport::Udp4500, &m), Ok(Input::Esp));
        assert_eq!(classify(Transport::Udp4500, &[0xff]), Ok(Input::Keepalive));
        assert_eq!(
            classify(Transport::Udp4500, &[1, 2]),
            Err(GateEvent::NattMalformed)
        );
        assert_eq!(
            classify(Transport::Udp4500, &natt(&m[..20])),
            Err(GateEvent::IsakmpBadHeader)
        );
        let zero = ike([0; 8], [0; 8], 0x20, 34, &[]);
        assert_eq!(
            classify(Transport::Udp500, &zero),
            Err(GateEvent::IsakmpZeroIcookie)
        );
        assert_eq!(
            classify(Transport::Udp4500, &natt(&zero)),
            Err(GateEvent::IsakmpZeroIcookie)
        );
        assert_eq!(classify(Transport::Esp, &[]), Ok(Input::Esp));
        assert_eq!(classify(Transport::Ah, &m), Ok(Input::Esp));
    }

    #[test]
    fn events_are_consistent() {
        for (i, e) in GateEvent::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            for f in &GateEvent::ALL[..i] {
                assert_ne!(e.name(), f.name());
            }
            assert!(e
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(GateEvent::EspNoEntry.verdict(), Verdict::RejectNoEntry);
        let rejects = GateEvent::ALL
            .iter()
            .filter(|e| e.verdict() == Verdict::RejectNoEntry)
            .count();
        assert_eq!(rejects, 1);
        for name in [
            "isakmp_zero_icookie",
            "isakmp_bad_header",
            "cookie_mismatch",
            "esp_no_entry",
            "esp_initial",
            "initial_cap",
        ] {
            assert!(GateEvent::ALL.iter().any(|e| e.name() == name), "{name}");
        }
    }

    #[test]
    fn config_defaults_and_helpers() {
        let c = Config::default();
        assert_eq!(c, Config::DEFAULT);
        assert_eq!(c.initial_timeout, 30);
        assert_eq!(c.established_timeout, 28800);
        assert!(!c.nat_mode);
        let small = Config {
            max_initial: 2,
            ..Config::DEFAULT
        };
        assert!(small.initial_allowed(1));
        assert!(!small.initial_allowed(2));
        assert_eq!(small.admit_initial(0), GateEvent::InitialCreated);
        assert_eq!(small.admit_initial(5), GateEvent::InitialCap);
    }

    /// Runs `decide` on a single entry slot, inserting on `Create`.
    fn run(slot: &mut Option<Entry>, input: &Input, now: u64, cfg: &Config) -> GateEvent {
        match decide(slot.as_mut(), input, now, cfg) {
            Decision::Done(e) => e,
            Decision::Create(e) => {
                assert_eq!(e.state(), State::Initial);
                *slot = Some(e);
                GateEvent::InitialCreated
            }
        }
    }

    #[test]
    fn initial_creation_and_expiry() {
        let mut slot = None;
        assert_eq!(
            run(&mut slot, &initial_input(), 100, &DR),
            GateEvent::InitialCreated
        );
        let e = slot.unwrap();
        assert_eq!(e.state(), State::Initial);
        assert_eq!(e.expires(), 130);
        assert!(!e.is_expired(129));
        assert!(e.is_expired(130));
        assert!(e.is_live_initial(129));
        assert!(!e.is_live_initial(130));
        // Retransmission at 120 refreshes to 150.
        assert_eq!(
            run(&mut slot, &initial_input(), 120, &DR),
            GateEvent::InitialRefresh
        );
        assert_eq!(slot.unwrap().expires(), 150);
        // ESP on INITIAL: dropped, no ICMP, no refresh.
        assert_eq!(run(&mut slot, &Input::Esp, 149, &DR), GateEvent::EspInitial);
        assert_eq!(GateEvent::EspInitial.verdict(), Verdict::Drop);
        assert_eq!(slot.unwrap().expires(), 150);
        // Expired at 150: ESP is now rejected, and the entry is untouched.
        assert_eq!(run(&mut slot, &Input::Esp, 150, &DR), GateEvent::EspNoEntry);
        assert_eq!(slot.unwrap().expires(), 150);
        // IKE_AUTH after expiry does not establish the stale entry.
        assert_eq!(
            run(&mut slot, &isakmp(RC), 151, &DR),
            GateEvent::IsakmpNoInitial
        );
        assert_eq!(slot.unwrap().state(), State::Initial);
        // A new IKE_SA_INIT replaces the expired entry.
        assert_eq!(
            run(&mut slot, &initial_input(), 200, &DR),
            GateEvent::InitialCreated
        );
        assert_eq!(slot.unwrap().expires(), 230);
    }

    #[test]
    fn esp_without_entry_is_rejected() {
        let mut slot = None;
        assert_eq!(run(&mut slot, &Input::Esp, 5, &DR), GateEvent::EspNoEntry);
        assert_eq!(GateEvent::EspNoEntry.verdict(), Verdict::RejectNoEntry);
        assert_eq!(slot, None);
        assert_eq!(
            run(&mut slot, &Input::Keepalive, 5, &DR),
            GateEvent::KeepaliveNoEntry
        );
        assert_eq!(GateEvent::KeepaliveNoEntry.verdict(), Verdict::Pass);
        assert_eq!(slot, None);
    }

    #[test]
    fn dr_mode_establishes_and_esp_passes() {
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &DR);
        assert_eq!(run(&mut slot, &isakmp(RC), 10, &DR), GateEvent::Established);
        let e = slot.unwrap();
        assert_eq!(e.state(), State::Established);
        assert_eq!(e.expires(), 3610);
        assert_eq!(run(&mut slot, &Input::Esp, 11, &DR), GateEvent::EspPass);
        assert_eq!(GateEvent::EspPass.verdict(), Verdict::Pass);
    }

    #[test]
    fn spoofed_rcookie_creates_nothing() {
        for cfg in [DR, NAT] {
            let mut slot = None;
            assert_eq!(
                run(&mut slot, &isakmp(RC), 0, &cfg),
                GateEvent::IsakmpNoInitial
            );
            assert_eq!(GateEvent::IsakmpNoInitial.verdict(), Verdict::Pass);
            assert_eq!(slot, None);
            assert_eq!(run(&mut slot, &Input::Esp, 1, &cfg), GateEvent::EspNoEntry);
        }
    }

    #[test]
    fn zero_icookie_dropped_in_every_state() {
        let mut h = parse_ike(&sa_init()).unwrap();
        h.icookie = [0; 8];
        let zero = Input::Isakmp(h);
        let mut slot = None;
        assert_eq!(run(&mut slot, &zero, 0, &DR), GateEvent::IsakmpZeroIcookie);
        assert_eq!(slot, None);
        run(&mut slot, &initial_input(), 0, &DR);
        let before = slot;
        assert_eq!(run(&mut slot, &zero, 5, &DR), GateEvent::IsakmpZeroIcookie);
        assert_eq!(slot, before);
        run(&mut slot, &isakmp(RC), 6, &DR);
        let before = slot;
        assert_eq!(run(&mut slot, &zero, 7, &DR), GateEvent::IsakmpZeroIcookie);
        assert_eq!(slot, before);
        assert_eq!(GateEvent::IsakmpZeroIcookie.verdict(), Verdict::Drop);
    }

    #[test]
    fn nat_mode_needs_learned_cookie() {
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &NAT);
        // Nothing learned yet.
        assert_eq!(
            run(&mut slot, &isakmp(RC), 1, &NAT),
            GateEvent::CookieMismatch
        );
        assert_eq!(GateEvent::CookieMismatch.verdict(), Verdict::Drop);
        assert_eq!(slot.unwrap().state(), State::Initial);
        assert_eq!(slot.unwrap().expires(), 30, "mismatch does not refresh");
        let e = slot.as_mut().unwrap();
        assert!(!e.learn_responder_cookie([0; 8]));
        assert_eq!(e.responder_cookie(), None);
        assert!(e.learn_responder_cookie(RC));
        assert_eq!(e.responder_cookie(), Some(RC));
        // Wrong cookie: stays INITIAL.
        assert_eq!(
            run(&mut slot, &isakmp(RC2), 2, &NAT),
            GateEvent::CookieMismatch
        );
        assert_eq!(slot.unwrap().state(), State::Initial);
        assert_eq!(run(&mut slot, &Input::Esp, 2, &NAT), GateEvent::EspInitial);
        // Right cookie.
        assert_eq!(run(&mut slot, &isakmp(RC), 3, &NAT), GateEvent::Established);
        assert_eq!(slot.unwrap().state(), State::Established);
        assert_eq!(run(&mut slot, &Input::Esp, 4, &NAT), GateEvent::EspPass);
        // Established entries learn nothing and compare nothing.
        assert!(!slot.as_mut().unwrap().learn_responder_cookie(RC2));
        assert_eq!(
            run(&mut slot, &isakmp(RC2), 5, &NAT),
            GateEvent::EstablishedRefresh
        );
    }

    #[test]
    fn nat_mode_last_learned_cookie_wins() {
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &NAT);
        let e = slot.as_mut().unwrap();
        assert!(e.learn_responder_cookie(RC));
        assert!(e.learn_responder_cookie(RC2));
        assert_eq!(
            run(&mut slot, &isakmp(RC), 1, &NAT),
            GateEvent::CookieMismatch
        );
        assert_eq!(
            run(&mut slot, &isakmp(RC2), 1, &NAT),
            GateEvent::Established
        );
    }

    #[test]
    fn esp_never_refreshes() {
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &DR);
        run(&mut slot, &isakmp(RC), 0, &DR);
        assert_eq!(slot.unwrap().expires(), 3600);
        // Only ESP, every second: it passes until 3599, then is rejected.
        for t in 1..3600 {
            assert_eq!(run(&mut slot, &Input::Esp, t, &DR), GateEvent::EspPass);
        }
        assert_eq!(slot.unwrap().expires(), 3600);
        assert_eq!(
            run(&mut slot, &Input::Esp, 3600, &DR),
            GateEvent::EspNoEntry
        );

        // With ISAKMP (or keepalives) in between, it lives on.
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &DR);
        run(&mut slot, &isakmp(RC), 0, &DR);
        assert_eq!(
            run(&mut slot, &isakmp(RC), 3000, &DR),
            GateEvent::EstablishedRefresh
        );
        assert_eq!(
            run(&mut slot, &Input::Keepalive, 6000, &DR),
            GateEvent::EstablishedRefresh
        );
        assert_eq!(slot.unwrap().expires(), 9600);
        assert_eq!(run(&mut slot, &Input::Esp, 9599, &DR), GateEvent::EspPass);
    }

    #[test]
    fn keepalive_refreshes_initial() {
        let mut slot = None;
        run(&mut slot, &initial_input(), 0, &DR);
        assert_eq!(
            run(&mut slot, &Input::Keepalive, 20, &DR),
            GateEvent::InitialRefresh
        );
        let e = slot.unwrap();
        assert_eq!(e.state(), State::Initial);
        assert_eq!(e.expires(), 50);
    }

    #[test]
    fn rekey_with_new_cookies_passes() {
        for cfg in [DR, NAT] {
            let mut slot = None;
            run(&mut slot, &initial_input(), 0, &cfg);
            slot.as_mut().unwrap().learn_responder_cookie(RC);
            assert_eq!(run(&mut slot, &isakmp(RC), 1, &cfg), GateEvent::Established);
            // A new IKE SA: new SPIs, even a zero responder SPI.
            let other = ike([0x55; 8], RC2, 0x20, 36, &[]);
            let other = Input::Isakmp(parse_ike(&other).unwrap());
            let fresh = Input::Isakmp(parse_ike(&ike([0x66; 8], [0; 8], 0x10, 2, &[])).unwrap());
            for (t, i) in [(100, other), (200, fresh)] {
                assert_eq!(run(&mut slot, &i, t, &cfg), GateEvent::EstablishedRefresh);
                assert_eq!(slot.unwrap().state(), State::Established);
                assert_eq!(slot.unwrap().expires(), t + 3600);
            }
        }
    }

    #[test]
    fn saturating_timers() {
        let mut slot = None;
        run(&mut slot, &initial_input(), u64::MAX - 5, &DR);
        assert_eq!(slot.unwrap().expires(), u64::MAX);
        run(&mut slot, &isakmp(RC), u64::MAX - 1, &DR);
        assert_eq!(slot.unwrap().state(), State::Established);
        assert_eq!(slot.unwrap().expires(), u64::MAX);
        assert_eq!(
            run(&mut slot, &Input::Esp, u64::MAX - 1, &DR),
            GateEvent::EspPass
        );
        assert_eq!(
            run(&mut slot, &Input::Esp, u64::MAX, &DR),
            GateEvent::EspNoEntry
        );
        let zero = Config {
            initial_timeout: 0,
            ..DR
        };
        let mut slot = None;
        run(&mut slot, &initial_input(), 10, &zero);
        assert!(slot.unwrap().is_expired(10));
    }

    #[test]
    fn failover_hook() {
        let e = Entry::established_from_sync(50, &DR);
        assert_eq!(e.state(), State::Established);
        assert_eq!(e.expires(), 3650);
        let mut slot = Some(e);
        assert_eq!(run(&mut slot, &Input::Esp, 51, &DR), GateEvent::EspPass);
    }

    #[test]
    fn table_full_flow() {
        let mut t = GateTable::<4>::new();
        assert!(t.is_empty());
        assert_eq!(t.capacity(), 4);
        let (udp, nt) = (Transport::Udp500, Transport::Udp4500);
        assert_eq!(
            t.packet(&CLIENT, Transport::Esp, &[], 0, &DR),
            GateEvent::EspNoEntry
        );
        assert_eq!(
            t.packet(&CLIENT, udp, &sa_init(), 0, &DR),
            GateEvent::InitialCreated
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.initial_count(0), 1);
        assert_eq!(
            t.packet(&CLIENT, Transport::Ah, &[], 1, &DR),
            GateEvent::EspInitial
        );
        assert_eq!(
            t.packet(&CLIENT, nt, &natt(&ike_auth(RC)), 2, &DR),
            GateEvent::Established
        );
        assert_eq!(t.initial_count(2), 0);
        assert_eq!(t.established_count(2), 1);
        let esp = [0, 0, 1, 0, 0, 0, 0, 1];
        assert_eq!(t.packet(&CLIENT, nt, &esp, 3, &DR), GateEvent::EspPass);
        assert_eq!(
            t.packet(&CLIENT, nt, &[0xff], 4, &DR),
            GateEvent::EstablishedRefresh
        );
        assert_eq!(t.get(&CLIENT, 4).unwrap().expires(), 3604);
        assert_eq!(
            t.packet(&CLIENT, nt, &[0xff, 0], 4, &DR),
            GateEvent::NattMalformed
        );
        // Another VIP, or the same bytes as IPv6, is another entry.
        let other_vip = GateKey::v4([198, 51, 100, 7], [203, 0, 113, 2]);
        assert_eq!(
            t.packet(&other_vip, Transport::Esp, &[], 5, &DR),
            GateEvent::EspNoEntry
        );
        let as_v6 = GateKey::v6(CLIENT.client, CLIENT.vip);
        assert_eq!(as_v6.client, CLIENT.client);
        assert_eq!(
            t.packet(&as_v6, Transport::Esp, &[], 5, &DR),
            GateEvent::EspNoEntry
        );
        // After expiry, the entry is gone for the gate, then for the table.
        assert_eq!(t.get(&CLIENT, 3604), None);
        assert_eq!(
            t.packet(&CLIENT, nt, &esp, 3604, &DR),
            GateEvent::EspNoEntry
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.gc(3603, &DR, 0), 0);
        assert_eq!(t.gc(3604, &DR, 0), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn table_initial_expiry_after_30s() {
        let mut t = GateTable::<2>::new();
        assert_eq!(
            t.process(&CLIENT, &initial_input(), 1000, &DR),
            GateEvent::InitialCreated
        );
        assert!(t.get(&CLIENT, 1029).is_some());
        assert!(t.get(&CLIENT, 1030).is_none());
        assert_eq!(t.initial_count(1030), 0);
        assert_eq!(
            t.process(&CLIENT, &isakmp(RC), 1030, &DR),
            GateEvent::IsakmpNoInitial
        );
        assert_eq!(
            t.process(&CLIENT, &Input::Esp, 1030, &DR),
            GateEvent::EspNoEntry
        );
        // Recreated in the same slot.
        assert_eq!(
            t.process(&CLIENT, &initial_input(), 1031, &DR),
            GateEvent::InitialCreated
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(&CLIENT, 1031).unwrap().expires(), 1061);
    }

    #[test]
    fn table_nat_mode_learning() {
        let mut t = GateTable::<2>::new();
        assert!(!t.learn_responder_cookie(&CLIENT, RC, 0));
        t.process(&CLIENT, &initial_input(), 0, &NAT);
        assert_eq!(
            t.process(&CLIENT, &isakmp(RC), 1, &NAT),
            GateEvent::CookieMismatch
        );
        assert!(t.learn_responder_cookie(&CLIENT, RC, 1));
        assert!(!t.learn_responder_cookie(&CLIENT, RC, 30), "expired");
        assert_eq!(
            t.process(&CLIENT, &isakmp(RC2), 2, &NAT),
            GateEvent::CookieMismatch
        );
        assert_eq!(t.get(&CLIENT, 2).unwrap().state(), State::Initial);
        assert_eq!(
            t.process(&CLIENT, &isakmp(RC), 3, &NAT),
            GateEvent::Established
        );
        assert!(!t.learn_responder_cookie(&CLIENT, RC2, 4));
    }

    #[test]
    fn table_initial_cap_spares_established() {
        let cfg = Config {
            max_initial: 2,
            ..DR
        };
        let k = |i: u8| GateKey::v4([10, 0, 0, i], [192, 0, 2, 1]);
        let mut t = GateTable::<8>::new();
        // Two clients establish.
        for i in 1..=2 {
            assert_eq!(
                t.process(&k(i), &initial_input(), 0, &cfg),
                GateEvent::InitialCreated
            );
            assert_eq!(
                t.process(&k(i), &isakmp(RC), 1, &cfg),
                GateEvent::Established
            );
        }
        // Two more stay INITIAL: the cap is reached.
        for i in 3..=4 {
            assert_eq!(
                t.process(&k(i), &initial_input(), 2, &cfg),
                GateEvent::InitialCreated
            );
        }
        assert_eq!(
            t.process(&k(5), &initial_input(), 3, &cfg),
            GateEvent::InitialCap
        );
        assert_eq!(GateEvent::InitialCap.verdict(), Verdict::Drop);
        assert!(t.get(&k(5), 3).is_none());
        // Established clients keep working; INITIAL ones can still progress.
        for i in 1..=2 {
            assert_eq!(t.process(&k(i), &Input::Esp, 4, &cfg), GateEvent::EspPass);
            assert_eq!(
                t.process(&k(i), &isakmp(RC2), 4, &cfg),
                GateEvent::EstablishedRefresh
            );
        }
        assert_eq!(
            t.process(&k(3), &initial_input(), 4, &cfg),
            GateEvent::InitialRefresh
        );
        assert_eq!(
            t.process(&k(4), &isakmp(RC), 5, &cfg),
            GateEvent::Established
        );
        // One INITIAL slot freed by establishing: a new client gets in.
        assert_eq!(
            t.process(&k(5), &initial_input(), 6, &cfg),
            GateEvent::InitialCreated
        );
        assert_eq!(
            t.process(&k(6), &initial_input(), 6, &cfg),
            GateEvent::InitialCap
        );
        // Expired INITIAL entries do not count.
        assert_eq!(
            t.process(&k(6), &initial_input(), 36, &cfg),
            GateEvent::InitialCreated
        );
        assert_eq!(t.initial_count(36), 1);
        assert_eq!(t.established_count(36), 3);
    }

    #[test]
    fn table_full_never_evicts_established() {
        let k = |i: u8| GateKey::v4([10, 0, 0, i], [192, 0, 2, 1]);
        let mut t = GateTable::<2>::new();
        for i in 1..=2 {
            t.process(&k(i), &initial_input(), 0, &DR);
            t.process(&k(i), &isakmp(RC), 0, &DR);
        }
        assert_eq!(
            t.process(&k(3), &initial_input(), 1, &DR),
            GateEvent::TableFull
        );
        assert_eq!(GateEvent::TableFull.verdict(), Verdict::Drop);
        assert_eq!(t.established_count(1), 2);
        // Once one expires, its slot is reused without a GC pass.
        t.process(&k(1), &isakmp(RC), 100, &DR);
        assert_eq!(
            t.process(&k(3), &initial_input(), 3600, &DR),
            GateEvent::InitialCreated
        );
        assert!(t.get(&k(2), 3600).is_none());
        assert!(t.get(&k(1), 3600).is_some());
        assert_eq!(t.len(), 2);
        let mut z = GateTable::<0>::new();
        assert_eq!(
            z.process(&k(1), &initial_input(), 0, &DR),
            GateEvent::TableFull
        );
    }

    #[test]
    fn soft_expiry_keeps_up_to_quota_established_entries() {
        let cfg = Config {
            established_timeout: 100,
            ..DR
        };
        let a = GateKey::v4([10, 0, 0, 1], [1; 4]);
        let b = GateKey::v4([10, 0, 0, 2], [1; 4]);
        let mut t = GateTable::<4>::new();
        for key in [a, b] {
            assert_eq!(
                t.process(&key, &initial_input(), 0, &cfg),
                GateEvent::InitialCreated
            );
            assert_eq!(
                t.process(&key, &isakmp(RC), 0, &cfg),
                GateEvent::Established
            );
        }
        assert_eq!(t.gc(99, &cfg, 1), 0);
        // At 100 both time out: quota 1 keeps one (the first found), soft.
        assert_eq!(t.gc(100, &cfg, 1), 1);
        let kept = t.get(&a, 100).copied().unwrap();
        assert!(kept.is_soft());
        assert_eq!(kept.expires(), 200);
        assert_eq!(t.get(&b, 100), None);
        assert_eq!(t.soft_count(100), 1);
        // A soft entry still carries ESP; ESP does not revive it.
        assert_eq!(t.process(&a, &Input::Esp, 150, &cfg), GateEvent::EspPass);
        assert!(t.get(&a, 150).unwrap().is_soft());
        // The client's ISAKMP makes it a normal entry again.
        assert_eq!(
            t.process(&a, &Input::Keepalive, 160, &cfg),
            GateEvent::SoftRevived
        );
        let e = t.get(&a, 160).copied().unwrap();
        assert!(!e.is_soft());
        assert_eq!(e.expires(), 260);
        assert_eq!(t.soft_count(160), 0);
        // Never revived: the extension is granted once, then it goes.
        assert_eq!(t.gc(260, &cfg, 1), 0);
        assert!(t.get(&a, 260).unwrap().is_soft());
        assert_eq!(t.process(&a, &Input::Esp, 359, &cfg), GateEvent::EspPass);
        assert_eq!(t.gc(360, &cfg, 1), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn soft_extend_rules() {
        let cfg = Config {
            established_timeout: 100,
            ..DR
        };
        let mut e = Entry::established_from_sync(0, &cfg);
        // Not yet expired at 99; a collector looking 1 s ahead extends it.
        assert!(!e.soft_extend(99, &cfg));
        assert!(e.soft_extend(100, &cfg));
        assert_eq!(e.expires(), 200);
        assert!(!e.soft_extend(250, &cfg), "extended only once");
        let mut i = Entry::initial(0, &cfg);
        assert!(!i.soft_extend(1000, &cfg), "INITIAL entries never linger");
        let round = Entry::from_parts(e.state(), e.expires(), e.responder_cookie(), e.is_soft());
        assert_eq!(round, e);
        // Quota 0 (the default): nothing lingers.
        let mut t = GateTable::<2>::new();
        t.process(&CLIENT, &initial_input(), 0, &cfg);
        t.process(&CLIENT, &isakmp(RC), 0, &cfg);
        assert_eq!(t.gc(100, &cfg, 0), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn gc_removes_expired_initial_regardless_of_soft_quota() {
        let cfg = DR;
        let mut t = GateTable::<8>::new();
        for i in 0..5u8 {
            t.process(
                &GateKey::v4([10, 0, 0, i], [1; 4]),
                &initial_input(),
                0,
                &cfg,
            );
        }
        assert_eq!(t.len(), 5);
        assert_eq!(t.gc(29, &cfg, 5), 0);
        // Soft expiry is for established clients only.
        assert_eq!(t.gc(30, &cfg, 5), 5);
        assert!(t.is_empty());
        t.process(&CLIENT, &initial_input(), 0, &cfg);
        t.clear();
        assert!(t.is_empty());
        let d: GateTable<3> = GateTable::default();
        assert!(d.is_empty());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..80),
            len in 0usize..100,
        ) {
            let _ = parse_ike(&bytes);
            let _ = parse_ike_head(&bytes, len);
            if let NattKind::Ike(rest) = classify_natt(&bytes) {
                prop_assert!(!rest.is_empty());
                prop_assert_eq!(rest.len() + NON_ESP_MARKER_LEN, bytes.len());
            }
            let _ = classify_natt_head(&bytes, len);
            for tr in [Transport::Udp500, Transport::Udp4500, Transport::Esp, Transport::Ah] {
                let _ = classify(tr, &bytes);
                let _ = classify_head(tr, &bytes, len);
            }
            // A parsed header is consistent with the bytes.
            if let Ok(h) = parse_ike(&bytes) {
                prop_assert!(h.icookie != [0; 8]);
                prop_assert!(h.length as usize >= IKE_HEADER_LEN);
                prop_assert!(h.length as usize <= bytes.len());
                prop_assert_eq!(&h.rcookie[..], &bytes[8..16]);
            }
        }

        #[test]
        fn valid_headers_round_trip(
            ic in any::<[u8; 8]>(),
            rc in any::<[u8; 8]>(),
            v2 in any::<bool>(),
            minor in 0u8..16,
            body in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            prop_assume!(ic != [0; 8]);
            let version = if v2 { 0x20 } else { 0x10 } | minor;
            let m = ike(ic, rc, version, 34, &body);
            let h = parse_ike(&m).unwrap();
            prop_assert_eq!(h.icookie, ic);
            prop_assert_eq!(h.rcookie, rc);
            prop_assert_eq!(h.version, if v2 { IkeVersion::V2 } else { IkeVersion::V1 });
            prop_assert_eq!(h.minor_version, minor);
            prop_assert_eq!(h.length as usize, m.len());
            prop_assert_eq!(classify(Transport::Udp4500, &natt(&m)), Ok(Input::Isakmp(h)));
            prop_assert_eq!(classify(Transport::Udp500, &m), Ok(Input::Isakmp(h)));
        }

        /// [`decide_esp`] gives what [`decide`] gives for ESP, whatever the
        /// settings, and `decide` leaves the entry unchanged for it.
        #[test]
        fn decide_esp_is_decide_for_esp(
            state in 0u8..3,
            expires in 0u64..100,
            now in 0u64..100,
            rc in any::<Option<[u8; 8]>>(),
            soft in any::<bool>(),
            nat_mode in any::<bool>(),
            initial_timeout in 0u64..1000,
            established_timeout in 0u64..1000,
            max_initial in 0usize..4,
        ) {
            let cfg = Config { initial_timeout, established_timeout, nat_mode, max_initial };
            let entry = match state {
                0 => None,
                1 => Some(Entry::from_parts(State::Initial, expires, rc, soft)),
                _ => Some(Entry::from_parts(State::Established, expires, rc, soft)),
            };
            let mut copy = entry;
            let d = decide(copy.as_mut(), &Input::Esp, now, &cfg);
            prop_assert_eq!(d, Decision::Done(decide_esp(entry.as_ref(), now)));
            prop_assert_eq!(copy, entry);
        }

        /// Random traffic from a few clients never breaks the gate's
        /// invariants.
        #[test]
        fn table_invariants(
            nat_mode in any::<bool>(),
            ops in proptest::collection::vec((0usize..4, 0u8..9, 0u64..50), 0..300),
        ) {
            const N: usize = 3;
            let cfg = Config {
                initial_timeout: 30,
                established_timeout: 100,
                nat_mode,
                max_initial: 2,
            };
            let keys: [GateKey; 4] =
                core::array::from_fn(|i| GateKey::v4([10, 0, 0, i as u8], [192, 0, 2, 1]));
            let mut t = GateTable::<N>::new();
            let mut now = 0u64;
            for (ki, op, dt) in ops {
                now += if dt == 49 { 1000 } else { dt };
                let key = keys[ki];
                let before: Vec<Option<Entry>> =
                    keys.iter().map(|k| t.get(k, now).copied()).collect();
                let input = match op {
                    0 => Some(initial_input()),
                    1 => Some(isakmp(RC)),
                    2 => Some(isakmp(RC2)),
                    3 => {
                        let mut h = parse_ike(&ike_auth(RC)).unwrap();
                        h.icookie = [0; 8];
                        Some(Input::Isakmp(h))
                    }
                    4 => Some(Input::Keepalive),
                    5 => Some(Input::Esp),
                    6 => {
                        let learned = t.learn_responder_cookie(&key, RC, now);
                        prop_assert_eq!(
                            learned,
                            before[ki].is_some_and(|e| e.state() == State::Initial)
                        );
                        None
                    }
                    7 => {
                        t.gc(now, &cfg, 1);
                        prop_assert!(t.soft_count(now) <= 1);
                        None
                    }
                    _ => {
                        t.learn_responder_cookie(&key, RC2, now);
                        None
                    }
                };
                let event = input.map(|i| (i, t.process(&key, &i, now, &cfg)));
                let after: Vec<Option<Entry>> =
                    keys.iter().map(|k| t.get(k, now).copied()).collect();

                // Other clients' live entries are never touched, except
                // for learning and GC, which only touch the current one or
                // expired ones.
                for i in 0..keys.len() {
                    if i != ki && op != 7 {
                        prop_assert_eq!(before[i], after[i]);
                    }
                    // The collector only removes expired entries, or
                    // revives them as soft.
                    if op == 7 && before[i] != after[i] {
                        prop_assert!(before[i].is_none());
                        prop_assert!(after[i].is_some_and(|e| e.is_soft()));
                    }
                }
                prop_assert!(t.len() <= N);
                prop_assert!(t.initial_count(now) <= cfg.max_initial);
                let (b, a) = (before[ki], after[ki]);
                // Nothing becomes established without being INITIAL first
                // (the collector may revive an expired one as soft).
                if a.is_some_and(|e| e.state() == State::Established) {
                    prop_assert!(b.is_some() || (op == 7 && a.is_some_and(|e| e.is_soft())));
                }
                // A live established entry stays.
                if b.is_some_and(|e| e.state() == State::Established) {
                    prop_assert!(a.is_some_and(|e| e.state() == State::Established));
                }
                let Some((input, event)) = event else {
                    if op != 7 {
                        prop_assert_eq!(b.map(|e| e.state()), a.map(|e| e.state()));
                        prop_assert_eq!(b.map(|e| e.expires()), a.map(|e| e.expires()));
                    }
                    continue;
                };
                match input {
                    Input::Esp => {
                        // ESP passes only on a live ESTABLISHED entry, and
                        // never changes anything.
                        let est = b.is_some_and(|e| e.state() == State::Established);
                        prop_assert_eq!(event.verdict() == Verdict::Pass, est);
                        prop_assert_eq!(
                            event.verdict() == Verdict::RejectNoEntry,
                            b.is_none()
                        );
                        prop_assert_eq!(a, b);
                    }
                    Input::Isakmp(h) if h.icookie == [0; 8] => {
                        prop_assert_eq!(event, GateEvent::IsakmpZeroIcookie);
                        prop_assert_eq!(a, b);
                    }
                    Input::Keepalive => {
                        prop_assert!(event.verdict() == Verdict::Pass);
                        prop_assert_eq!(a.is_some(), b.is_some());
                        prop_assert_eq!(a.map(|e| e.state()), b.map(|e| e.state()));
                    }
                    Input::Isakmp(h) => {
                        if b.is_none() {
                            if h.rcookie == [0; 8] {
                                prop_assert!(matches!(
                                    event,
                                    GateEvent::InitialCreated
                                        | GateEvent::InitialCap
                                        | GateEvent::TableFull
                                ));
                            } else {
                                prop_assert_eq!(event, GateEvent::IsakmpNoInitial);
                            }
                            if event == GateEvent::InitialCreated {
                                prop_assert_eq!(a.map(|e| e.state()), Some(State::Initial));
                                prop_assert_eq!(a.map(|e| e.expires()), Some(now + 30));
                            } else {
                                prop_assert_eq!(a, None);
                            }
                        } else if event == GateEvent::CookieMismatch {
                            prop_assert!(nat_mode);
                            prop_assert!(b.and_then(|e| e.responder_cookie()) != Some(h.rcookie));
                            prop_assert_eq!(a, b);
                        } else {
                            if event == GateEvent::Established && nat_mode {
                                // NAT mode: only the learned cookie
                                // establishes.
                                prop_assert_eq!(
                                    b.and_then(|e| e.responder_cookie()),
                                    Some(h.rcookie)
                                );
                            }
                            // Any other ISAKMP on a live entry refreshes it.
                            let e = a.unwrap();
                            let timeout = match e.state() {
                                State::Initial => 30,
                                State::Established => 100,
                            };
                            prop_assert_eq!(e.expires(), now + timeout);
                            prop_assert_eq!(event.verdict(), Verdict::Pass);
                        }
                    }
                }
            }
        }
    }
}
