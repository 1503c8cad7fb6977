// SPDX-License-Identifier: GPL-2.0

//! Authenticated sync: per network namespace state, and the decisions the
//! sync hooks ([`crate::sync_net`]) take on a datagram's payload.
//!
//! The hooks locate the UDP payload of a sync datagram and fix lengths and
//! checksums; everything else happens here, on plain byte slices, with the
//! pure logic of [`crate::proto::msg`] and [`crate::proto::replay`]. Leaf
//! code without `unsafe`: the key slot is a [`RcuBox`], the transform a
//! [`HmacMd5`] of [`crate::kapi`].
//!
//! - master: [`NetState::transmit`] numbers and authenticates a message;
//! - backup: [`NetState::receive`] runs the checks cheapest first (length,
//!   TTL, header, replay), the ICV last, and strips the auth header.
//!
//! Authentication is on in a namespace while any key (of either format) is
//! installed; the configured format decides which header is required. A
//! namespace with a key but none of the configured format drops what it
//! cannot sign or verify, rather than pass plaintext.
//!
//! The key is published with RCU: readers (softirq, or the master's sync
//! thread) load it under the RCU read lock; a new key replaces the pointer
//! and the old transform is freed after a grace period, in process context.
//! A transform's key is never changed while in use.
//!
//! The seed format's replay state belongs to a key: installing a key that
//! differs from the earlier ones opens a new generation (the backup
//! forgets its replay state when the first message under it verifies);
//! installing a key again, also after clearing it or after another key was
//! installed by mistake and never used, keeps its generation. The master's
//! counter runs on across keys; only a new key after it ran out starts it
//! at 1 again.

/// Writes a kernel log line at `info` level if the module's log budget
/// allows ([`log::may_log`]).
macro_rules! sync_info {
    ($($arg:tt)*) => {
        if $crate::sync_state::log::may_log() {
            pr_info!($($arg)*);
        }
    };
}

mod ext;
mod lines;
pub(crate) mod log;

use self::lines::{Counted, Lines};
use self::log::Fingerprint;
use crate::kapi::hmac::{self, HmacMd5};
use crate::kapi::inline_atomic::{InlineAdd, InlineAtomic, InlineCmpxchg};
use crate::kapi::rcu::{read_locked, RcuHeld};
use crate::kapi::rcu_box::RcuBox;
use crate::kapi::sys::{monotonic_ns, realtime_ns, uptime_secs};
use crate::proto::addr::IpAddr;
use crate::proto::ext::{rx_kind, RxKind};
use crate::proto::icv::{Mac, AUTH_HDR_LEN};
use crate::proto::msg::{self, DropReason};
use crate::proto::replay::{self, AdvanceError, KeyGenerations, KeyedReplay, StreamId};
use crate::proto::senders::{addr_words, Senders, Source};
use crate::shim;

use crate::kapi::bhlock::{new_spinlock_bh, SpinLockBh, SpinLockBhGuard};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Full, Relaxed, Release};
use kernel::sync::{new_mutex, Mutex};

/// Streams (SyncIDs) a backup keeps seed-format replay state for.
const SEED_STREAMS: usize = 16;
/// What the seed format's replay window can hold, in 64-bit words: 1023
/// numbers below the newest, for the messages of up to 64 sync threads
/// that overtake each other ([`replay::seed_window`]).
const SEED_WINDOW: usize = 16;
/// The backup's seed-format replay state.
type SeedReplay = replay::ReplayTable<SEED_STREAMS, SEED_WINDOW, u32>;
/// Sync threads per master (IPVS's `sync_ports` is at most 64).
const MASTER_STREAMS: usize = shim::IPVSA_MAX_STREAMS_PER_MASTER as usize;
/// Number of counters.
const COUNTERS: usize = shim::IPVSA_CNT_MAX as usize;
/// Longest key accepted (the HMAC-MD5 block size).
const KEY_MAX: usize = shim::IPVSA_KEY_MAX as usize;
/// Name reported for the seed's algorithm.
const ALG_NAME: &[u8] = b"hmac-md5-96";
/// What a key's fingerprint is the MAC of: it tells whether a key being
/// installed was installed before, without keeping the key.
const FINGERPRINT_LABEL: &[u8] = b"ip_vs_sync_auth key fingerprint";
/// Seed-format keys whose generation a namespace remembers.
const KEY_HISTORY: usize = 8;
/// Master: the sequence number at which the log says the key's numbers
/// run low (a sixteenth of them left).
const SEQ_LOW: u32 = 0xf000_0000;

/// The counters' names, in the order of `IPVSA_CNT_*`.
pub(crate) const COUNTER_NAMES: [&str; COUNTERS] = [
    "tx_signed",
    "tx_error",
    "rx_accepted",
    "rx_drop_malformed",
    "rx_drop_bad_ttl",
    "rx_drop_bad_header",
    "rx_drop_replay",
    "rx_drop_bad_icv",
    "rx_drop_no_stream",
    "rx_drop_no_key",
    "rx_gro_split",
    "rx_plain",
    "tx_plain",
];

/// Whether counter `idx` counts dropped datagrams (its runs are logged).
fn is_drop(idx: u32) -> bool {
    !matches!(
        idx,
        shim::IPVSA_CNT_TX_SIGNED
            | shim::IPVSA_CNT_RX_ACCEPTED
            | shim::IPVSA_CNT_RX_GRO_SPLIT
            | shim::IPVSA_CNT_RX_PLAIN
            | shim::IPVSA_CNT_TX_PLAIN
    )
}

/// The reason index on a source's line ([`Lines::count`]) of drop counter
/// `idx`: an `IPVSA_CNT_RX_*` drop, or `IPVSA_CNT_MAX` for an unknown
/// extended key, which has its own counter.
fn line_reason(idx: u32) -> usize {
    match idx {
        shim::IPVSA_CNT_MAX => 7,
        i => i.wrapping_sub(shim::IPVSA_CNT_RX_MALFORMED) as usize,
    }
}

/// Counter index for a drop reason of the backup.
fn drop_counter(reason: DropReason) -> u32 {
    match reason {
        DropReason::Malformed => shim::IPVSA_CNT_RX_MALFORMED,
        DropReason::BadTtl => shim::IPVSA_CNT_RX_BAD_TTL,
        DropReason::BadHeader => shim::IPVSA_CNT_RX_BAD_HEADER,
        DropReason::Replay => shim::IPVSA_CNT_RX_REPLAY,
        DropReason::BadIcv => shim::IPVSA_CNT_RX_BAD_ICV,
    }
}

/// An installed seed-format key and the generation of the sequence space
/// it belongs to.
struct SeedKey {
    mac: HmacMd5,
    gen: u32,
    fp: Fingerprint,
}

/// What a namespace remembers of its seed-format keys: the fingerprints
/// and generations of the last ones installed (kept when the key is
/// cleared; never the keys).
struct KeyConfig {
    keys: KeyGenerations<KEY_HISTORY>,
}

/// An installed extended-format key as `/proc` shows it.
#[derive(Clone, Copy)]
pub(crate) struct ExtKeyView {
    /// Its ID.
    pub(crate) id: u8,
    /// Whether the master signs with it.
    pub(crate) active: bool,
    /// Its fingerprint.
    pub(crate) fp: Fingerprint,
}

/// What `/proc/net/ip_vs_sync_auth` shows besides the counters.
pub(crate) struct View {
    /// The extended format is configured.
    pub(crate) ext: bool,
    /// The seed-format key's fingerprint, if one is installed.
    pub(crate) seed_key: Option<Fingerprint>,
    /// The extended-format keys installed.
    pub(crate) ext_keys: [Option<ExtKeyView>; shim::IPVSA_EXT_KEYS as usize],
    /// Replay streams held and their capacity, of the configured format.
    pub(crate) streams: (u32, u32),
    /// Extended-format messages that named a key not installed.
    pub(crate) unknown_key: u64,
}

/// The rollout mode of a namespace, the sysctl
/// `net.ipv4.vs.sync_auth_rollout` (Documentation/ip_vs_sync_auth.rst,
/// "Rolling authentication out"). Only the namespace's root sets it; no
/// packet can.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Rollout {
    /// 0, the default: the backup takes the configured format only, the
    /// master signs.
    Enforce,
    /// 1: the backup also takes v1 plaintext (counted `rx_plain`, nothing
    /// checked) and v1 messages of the other format it holds a key for
    /// (every check of that format); the master signs.
    Permissive,
    /// 2: the backup as in [`Rollout::Permissive`]; the master sends its
    /// messages as IPVS built them (counted `tx_plain`).
    ReceiveOnly,
    /// 3: the backup takes both authenticated formats (each with every
    /// check of its format) and no plaintext; the master signs. For the
    /// move from the seed to the extended format with no plaintext window.
    BothFormats,
}

impl Rollout {
    /// The mode of a knob value; anything unknown is [`Rollout::Enforce`]
    /// (the sysctl's bounds allow only 0 to 3).
    pub(crate) fn from_knob(v: i32) -> Self {
        match v {
            1 => Self::Permissive,
            2 => Self::ReceiveOnly,
            3 => Self::BothFormats,
            _ => Self::Enforce,
        }
    }

    /// Its name on `/proc` and in the log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Permissive => "permissive",
            Self::ReceiveOnly => "receive-only",
            Self::BothFormats => "both-formats",
        }
    }

    /// Whether a backup takes a message of the format its header names.
    fn any_format(self) -> bool {
        self != Self::Enforce
    }

    /// Whether a backup takes v1 plaintext: then sync messages reach IPVS
    /// unverified.
    pub(crate) fn takes_plain(self) -> bool {
        matches!(self, Self::Permissive | Self::ReceiveOnly)
    }
}

/// What IPVS's backup configuration says about the messages it takes.
#[derive(Clone, Copy)]
pub(crate) struct RxConfig {
    /// The longest plaintext it accepts (its `sync_maxlen`).
    pub(crate) maxlen: usize,
    /// Its sync threads (`sync_ports`), which must match the master's.
    pub(crate) threads: u32,
    /// The namespace's rollout mode.
    pub(crate) rollout: Rollout,
    /// Where the datagram came from (for the senders' view only).
    pub(crate) src: Source,
}

/// What the master's configuration says a message of its own looks like,
/// and how long the datagram may grow (`sync_net`: from IPVS's sync
/// settings, the IP header and the rollout knob).
#[derive(Clone, Copy)]
pub(crate) struct TxConfig {
    /// IPVS's `sync_version` (0: v0 messages, else v1).
    pub(crate) version: u8,
    /// The master's SyncID.
    pub(crate) syncid: u8,
    /// Longest UDP payload the datagram can carry.
    pub(crate) max_len: usize,
    /// The namespace's rollout mode.
    pub(crate) rollout: Rollout,
}

/// Authenticated sync state of one network namespace.
#[pin_data]
pub(crate) struct NetState {
    key: RcuBox<SeedKey>,
    /// Serialises seed-format key changes (per namespace: one namespace's
    /// key change never waits for another's).
    #[pin]
    cfg: Mutex<KeyConfig>,
    /// Backup: the seed format's replay state, per SyncID.
    #[pin]
    replay: SpinLockBh<KeyedReplay<SEED_STREAMS, SEED_WINDOW>>,
    /// Master: the last sequence number sent, one counter for all sync
    /// threads and keys.
    tx_seq: Atomic<u32>,
    counters: [Atomic<u64>; COUNTERS],
    /// Per counter: the second (plus one) of its last drop, 0 if none
    /// ([`log::drop_seen`]).
    drop_last: [Atomic<u64>; COUNTERS],
    /// The opt-in extended format (restart-safe sequence, key IDs).
    #[pin]
    ext: ext::ExtState,
    /// Backup: what it accepted and dropped, per source.
    #[pin]
    senders: SpinLockBh<Senders>,
    /// The table's addresses for the drop path, which counts drops of
    /// listed sources there without the lock ([`lines`]).
    lines: Lines,
    /// 1 once IPVS of this namespace may hold connections from sync it
    /// took unverified while a key was set or before the first one
    /// ([`NetState::mark_unverified`]); never cleared.
    unverified: Atomic<u32>,
    /// Backup drops that are on no `sender:` line because the table was
    /// busy: the source was not listed and the senders' lock was held (by
    /// another CPU: a flood spread over CPUs does not queue on one lock),
    /// or its slot was given to another source as the drop was counted
    /// ([`NetState::drop_from`]).
    senders_busy: Atomic<u64>,
}

impl NetState {
    /// A new state: no key, no streams, counters at zero.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            key: RcuBox::empty(),
            cfg <- new_mutex!(
                KeyConfig {
                    keys: KeyGenerations::new(),
                },
                "ip_vs_sync_auth_keys"
            ),
            replay <- new_spinlock_bh!(KeyedReplay::new(), "ip_vs_sync_auth_replay"),
            tx_seq: Atomic::new(0),
            counters: [const { Atomic::new(0) }; COUNTERS],
            drop_last: [const { Atomic::new(0) }; COUNTERS],
            ext <- ext::ExtState::new(),
            senders <- new_spinlock_bh!(Senders::new(), "ip_vs_sync_auth_senders"),
            lines: Lines::new(),
            unverified: Atomic::new(0),
            senders_busy: Atomic::new(0),
        })
    }

    /// Adds one to counter `idx` (an `IPVSA_CNT_*` value). For a drop,
    /// logs the start of a run of drops of its kind (rate limited).
    pub(crate) fn count(&self, idx: u32) {
        if is_drop(idx) {
            self.count_drop(idx, uptime_secs());
        } else if let Some(c) = self.counters.get(idx as usize) {
            c.add_relaxed(1);
        }
    }

    /// [`NetState::count`] for a drop, at second `now` of the clock.
    fn count_drop(&self, idx: u32, now: u64) {
        let i = idx as usize;
        if let Some(c) = self.counters.get(i) {
            c.add_relaxed(1);
            if let (Some(last), Some(name)) = (self.drop_last.get(i), COUNTER_NAMES.get(i)) {
                log::drop_seen(last, name, c, now);
            }
        }
    }

    /// Records that IPVS may hold connections it took from unverified sync
    /// (plaintext in a rollout mode, or a backup daemon that ran before
    /// the first key): the gate trusts no synced connection from then on.
    pub(crate) fn mark_unverified(&self) {
        self.unverified.store(1, Release);
    }

    /// Whether [`NetState::mark_unverified`] was ever called.
    pub(crate) fn unverified(&self) -> bool {
        self.unverified.load(Acquire) != 0
    }

    /// Whether authentication is on: a key of either format is installed.
    /// The hooks leave sync traffic alone only when it is off.
    pub(crate) fn keyed(&self) -> bool {
        self.key.is_set() || self.ext.has_key()
    }

    /// Counts a backup drop and returns the errno the hook reports.
    fn drop_rx(&self, reason: DropReason, rx: &RxConfig) -> Error {
        self.drop_from(drop_counter(reason), &rx.src);
        EBADMSG
    }

    /// Counts a backup drop under counter `idx` (an `IPVSA_CNT_RX_*` drop,
    /// or `IPVSA_CNT_MAX` for an unknown extended key, which has its own
    /// counter), also against the datagram's source.
    pub(crate) fn drop_from(&self, idx: u32, src: &Source) {
        // One clock read per drop, for the log's run and the source's line.
        self.drop_from_at(idx, src, uptime_secs());
    }

    /// [`Self::drop_from`] at `now` (seconds of uptime), a clock read the
    /// caller already made.
    pub(crate) fn drop_from_at(&self, idx: u32, src: &Source, now: u64) {
        if idx < shim::IPVSA_CNT_MAX {
            self.count_drop(idx, now);
        }
        let reason = line_reason(idx);
        // Best effort: the counters above are exact, the per-source lines
        // skip a drop rather than wait for another CPU. A listed source's
        // drop takes no lock. If its line changed hands meanwhile, it
        // looks once more (the source may have another line by now).
        let words = addr_words(&src.addr);
        let mut counted = self.lines.count(&words, src.port, reason, now);
        if counted == Counted::Raced {
            counted = self.lines.count(&words, src.port, reason, now);
        }
        match counted {
            Counted::Yes => return,
            Counted::Raced => {
                self.senders_busy.add_relaxed(1);
                return;
            }
            Counted::NoSlot => {}
        }
        match self.senders.try_lock() {
            Some(mut s) => self.in_senders(&mut s, src, |s| s.dropped(src, reason, now)),
            None => {
                self.senders_busy.add_relaxed(1);
            }
        }
    }

    /// Runs `op`, a change for datagrams from `src`, on the per-source
    /// table `s` (under its lock) and keeps [`Lines`] in step. Only a
    /// source the table does not list can change a slot: it gets one (a
    /// free one, or the one of the source seen least recently, which the
    /// table tells with the times of the drops counted outside it) or
    /// none. The lines get that slot's new address, and `src`'s port.
    /// `op` returns `src`'s slot after the change.
    fn in_senders(
        &self,
        s: &mut SpinLockBhGuard<'_, Senders>,
        src: &Source,
        op: impl FnOnce(&mut Senders) -> Option<usize>,
    ) {
        let listed = s.index_of(src);
        if listed.is_none() && s.is_full() {
            self.lines.add_to(s, true);
        }
        if let Some(i) = op(s) {
            if listed.is_none() {
                self.lines.publish(s, i, &addr_words(&src.addr));
            }
            self.lines.saw_port(i, src.port);
        }
    }

    /// Drops that are on no `sender:` line because the table was busy.
    pub(crate) fn senders_busy(&self) -> u64 {
        self.senders_busy.load(Relaxed)
    }

    /// Backup: the configured format has no key ([`Self::unkeyed`]).
    fn unkeyed_rx(&self, rx: &RxConfig) -> Result<usize> {
        if self.keyed() {
            self.drop_from(shim::IPVSA_CNT_RX_NO_KEY, &rx.src);
            Err(ENOKEY)
        } else {
            Ok(0)
        }
    }

    /// Backup: counts a message verified and accepted, also for its
    /// source.
    fn accepted_rx(&self, rx: &RxConfig, syncid: u8, seq: u64) {
        self.count(shim::IPVSA_CNT_RX_ACCEPTED);
        self.accepted_from(&rx.src, syncid, seq);
    }

    /// An accepted message on its source's `sender:` line (issue 22): the
    /// accounting [`Self::accepted_rx`] does besides the counter.
    fn accepted_from(&self, src: &Source, syncid: u8, seq: u64) {
        let now = uptime_secs();
        self.in_senders(&mut self.senders.lock(), src, |s| {
            s.accepted(src, syncid, seq, now)
        });
    }

    /// What a datagram gets when the configured format has no key: passed
    /// untouched (`Ok(untouched)`) if no key at all is installed, else
    /// dropped and counted under `counter`.
    fn unkeyed(&self, untouched: usize, counter: u32) -> Result<usize> {
        if self.keyed() {
            self.count(counter);
            Err(ENOKEY)
        } else {
            Ok(untouched)
        }
    }

    /// Takes the master's next sequence number: 1, 2, ... for all sync
    /// threads together. Fails once `u32::MAX` has been used, until a new
    /// key is installed. Says so in the kernel log once when the numbers
    /// run low and once when they have run out.
    fn next_seq(&self) -> Result<u32> {
        // Inline on x86-64 (two helper calls per message otherwise); the
        // exchange is fully ordered where the kernel crate's relaxed one
        // would do, which costs nothing more on x86.
        let mut cur = self.tx_seq.read_once();
        loop {
            let Some(next) = cur.checked_add(1) else {
                return Err(EOVERFLOW);
            };
            match self.tx_seq.cmpxchg_full(cur, next) {
                Ok(_) => {
                    if next == SEQ_LOW {
                        pr_warn!("sync: {} sequence numbers left under this key; install a new key on every director\n", u32::MAX - SEQ_LOW);
                    } else if next == u32::MAX {
                        pr_err!("sync: sequence numbers used up: the master drops its messages until a new key is installed on every director\n");
                    }
                    return Ok(next);
                }
                Err(seen) => cur = seen,
            }
        }
    }

    /// Master: authenticates the plaintext message `buf[..len]` of sync
    /// thread `stream` in place (`buf` has 16 bytes more, or 24 in the
    /// extended format). Returns the new length, or `len` if
    /// authentication is off. Signs only a message of the master's own
    /// layout and SyncID that still fits the datagram (`cfg`); anything
    /// else is dropped and counted.
    pub(crate) fn transmit(
        &self,
        buf: &mut [u8],
        len: usize,
        stream: usize,
        cfg: &TxConfig,
    ) -> Result<usize> {
        read_locked(|rcu| self.transmit_in(rcu, buf, len, stream, cfg))
    }

    /// [`Self::transmit`] under the RCU read side `rcu` the caller holds
    /// (the hook's).
    pub(crate) fn transmit_in(
        &self,
        rcu: RcuHeld<'_>,
        buf: &mut [u8],
        len: usize,
        stream: usize,
        cfg: &TxConfig,
    ) -> Result<usize> {
        if cfg.rollout == Rollout::ReceiveOnly && self.keyed() {
            // Keys installed but not used for sending yet.
            self.count(shim::IPVSA_CNT_TX_PLAIN);
            return Ok(len);
        }
        let res = if self.ext.is_ext() {
            self.transmit_ext(buf, len, stream, cfg)
        } else {
            self.key.with_in(rcu, |key| {
                let Some(key) = key else {
                    return self.unkeyed(len, shim::IPVSA_CNT_TX_ERROR);
                };
                let res = Self::own_message(buf, len, AUTH_HDR_LEN, cfg).and_then(|()| {
                    let seq = self.next_seq()?;
                    msg::tx_insert_in_place(buf, len, seq, &key.mac).map_err(|_| EINVAL)
                });
                if res.is_err() {
                    self.count(shim::IPVSA_CNT_TX_ERROR);
                }
                res
            })
        };
        if matches!(res, Ok(n) if n != len) {
            self.count(shim::IPVSA_CNT_TX_SIGNED);
        }
        res
    }

    /// Whether `buf[..len]` is a message the master may sign with a header
    /// of `hdr_len` bytes: IPVS's own layout and SyncID ([`msg::tx_matches`]),
    /// and room in the datagram for the header.
    fn own_message(buf: &[u8], len: usize, hdr_len: usize, cfg: &TxConfig) -> Result {
        let plain = buf.get(..len).ok_or(EINVAL)?;
        if !msg::tx_matches(plain, cfg.version, cfg.syncid) {
            return Err(EPROTO);
        }
        if len.saturating_add(hdr_len) > cfg.max_len {
            return Err(EMSGSIZE);
        }
        Ok(())
    }

    /// Backup: checks the received message `buf[..len]` and strips its
    /// auth header without moving the entries (see
    /// [`msg::strip_verified`]); bytes of `buf` after the message are
    /// scratch for the MAC ([`msg::verify_checked_in_place`]). `rx` is
    /// what IPVS's backup configuration says: the longest plaintext it
    /// accepts (its `sync_maxlen`) and its sync threads. Returns the offset
    /// at which the plaintext now starts in `buf` (0: untouched,
    /// authentication is off); any error means drop, and has been counted.
    pub(crate) fn receive(
        &self,
        buf: &mut [u8],
        len: usize,
        ttl: u8,
        rx: &RxConfig,
    ) -> Result<usize> {
        read_locked(|rcu| self.receive_in(rcu, buf, len, ttl, rx))
    }

    /// [`Self::receive`] under the RCU read side `rcu` the caller holds
    /// (the hook's).
    pub(crate) fn receive_in(
        &self,
        rcu: RcuHeld<'_>,
        buf: &mut [u8],
        len: usize,
        ttl: u8,
        rx: &RxConfig,
    ) -> Result<usize> {
        let maxlen = rx.maxlen;
        // The format the message must have: the configured one, or in a
        // rollout mode what its v1 header says (plaintext taken as is in
        // the modes that take it).
        let ext = if rx.rollout.any_format() {
            match rx_kind(buf.get(..len).ok_or(EINVAL)?) {
                RxKind::Plain if rx.rollout.takes_plain() => {
                    if self.keyed() {
                        self.mark_unverified();
                        self.count(shim::IPVSA_CNT_RX_PLAIN);
                        let now = uptime_secs();
                        self.in_senders(&mut self.senders.lock(), &rx.src, |s| {
                            s.plain(&rx.src, now)
                        });
                    }
                    return Ok(0);
                }
                RxKind::Seed => false,
                RxKind::Ext => true,
                RxKind::Plain | RxKind::Other => self.ext.is_ext(),
            }
        } else {
            self.ext.is_ext()
        };
        if ext {
            return self.receive_ext(buf, len, ttl, rx);
        }
        // Messages of the master's threads may overtake each other.
        let window = replay::seed_window(rx.threads, SeedReplay::WINDOW);
        // Cheapest first: length, TTL, header fields. A message longer than
        // IPVS would take is not worth a hash. The message is parsed once;
        // verify and strip reuse `checked`.
        let parse = |buf: &[u8]| {
            if len > maxlen.saturating_add(AUTH_HDR_LEN) {
                return Err(self.drop_rx(DropReason::Malformed, rx));
            }
            let msg = buf.get(..len).ok_or(EINVAL)?;
            let parsed = msg::rx_parse(msg, ttl).map_err(|r| self.drop_rx(r, rx))?;
            Ok((parsed.seq(), parsed.checked(), parsed.syncid()))
        };
        // With a key installed, these checks need none of it and run before
        // the key is read. A key removed meanwhile only makes such a
        // message dropped here rather than taken as unkeyed: fail closed.
        let early = if self.key.is_set() {
            Some(parse(buf)?)
        } else {
            None
        };
        self.key.with_in(rcu, |key| {
            let Some(key) = key else {
                return self.unkeyed_rx(rx);
            };
            let (seq, checked, syncid) = match early {
                Some(p) => p,
                None => parse(buf)?,
            };
            // The stream is named by the SyncID, which the ICV covers.
            let id = StreamId::seed(syncid);
            // Then the sequence number, before any hashing.
            self.replay
                .lock()
                .check(key.gen, &id, seq, window)
                .map_err(|r| self.drop_rx(r, rx))?;
            // Only now the ICV. A Crypto API failure also drops: fail closed.
            let Ok(Some(verified)) = msg::verify_checked_in_place(buf, &checked, &key.mac) else {
                return Err(self.drop_rx(DropReason::BadIcv, rx));
            };
            // Record only verified numbers; another CPU may have accepted
            // the same one meanwhile.
            match self.replay.lock().advance(key.gen, &id, seq, window) {
                Ok(()) => {}
                Err(AdvanceError::Stale) => return Err(self.drop_rx(DropReason::Replay, rx)),
                Err(AdvanceError::Full) => {
                    self.drop_from(shim::IPVSA_CNT_RX_NO_STREAM, &rx.src);
                    return Err(ENOSPC);
                }
            }
            let off = msg::strip_verified(buf, verified).map_err(|r| self.drop_rx(r, rx))?;
            self.accepted_rx(rx, syncid, u64::from(seq));
            Ok(off)
        })
    }

    /// Installs `key`, or clears the key if it is empty. Process context.
    ///
    /// A key that differs from the earlier ones opens a new generation: the
    /// backup's replay state starts afresh (in the hook, atomically with
    /// the first message the new key verifies). A key installed again
    /// (also after clearing it, or after another key that never verified a
    /// message) keeps its generation: nothing is reset, so no recorded
    /// message becomes new. The master's counter runs on across keys; a
    /// new key after it ran out starts it at 1.
    pub(crate) fn set_key(&self, key: &[u8]) -> Result {
        if key.len() > KEY_MAX {
            return Err(EINVAL);
        }
        if key.is_empty() {
            let _cfg = self.cfg.lock();
            let old = self.key.with(|k| k.map(|k| k.fp));
            self.key.replace(None);
            if let Some(old) = old {
                let now = if self.keyed() {
                    "extended-format keys stay"
                } else {
                    "authentication off"
                };
                sync_info!("sync: key cleared (fingerprint {}); {}\n", old, now);
            }
            return Ok(());
        }
        let mac = HmacMd5::new(key)?;
        let fingerprint = mac.mac(&[FINGERPRINT_LABEL])?;
        let fp = Fingerprint::of(&fingerprint);
        // Allocated before anything changes, so a failure changes nothing.
        let mut new = KBox::new(SeedKey { mac, gen: 0, fp }, GFP_KERNEL)?;
        let mut cfg = self.cfg.lock();
        let owner = self.replay.lock().gen();
        let (gen, fresh) = cfg.keys.install(fingerprint, owner).ok_or(EOVERFLOW)?;
        if self.key.with(|k| k.map(|k| k.gen)) == Some(gen) {
            // This key is installed: nothing to do.
            return Ok(());
        }
        if fresh && self.tx_seq.load(Relaxed) == u32::MAX {
            // Nothing can take a number now: no race with the hooks.
            self.tx_seq.store(0, Relaxed);
        }
        new.gen = gen;
        let old = self.key.with(|k| k.map(|k| k.fp));
        self.key.replace(Some(new));
        match old {
            None => sync_info!("sync: key set, fingerprint {}\n", fp),
            Some(old) => sync_info!("sync: key changed, fingerprint {} (was {})\n", fp, old),
        }
        Ok(())
    }

    /// HMACs run with the installed seed key so far (the benchmark and the
    /// tests check that early drops run none).
    fn hmacs(&self) -> u64 {
        self.key.with(|k| k.map_or(0, |k| k.mac.calls()))
    }

    /// What `/proc/net/ip_vs_sync_auth` shows besides the status.
    pub(crate) fn view(&self) -> View {
        let mut v = self.ext.view();
        v.seed_key = self.key.with(|k| k.map(|k| k.fp));
        if !v.ext {
            // The seed format's streams, of the installed key.
            let gen = self.key.with(|k| k.map(|k| k.gen));
            let replay = self.replay.lock();
            let n = gen
                .and_then(|g| replay.table(g))
                .map_or(0, |t| t.len() as u32);
            v.streams = (n, replay.capacity() as u32);
        }
        v
    }

    /// A copy of the backup's per-source view, with the drops counted
    /// outside the table.
    pub(crate) fn senders(&self) -> Senders {
        let table = self.senders.lock();
        let mut view = table.clone();
        self.lines.add_to(&mut view, false);
        view
    }

    /// Fills the status reported by the get sockopt and /proc.
    pub(crate) fn status(&self, st: &mut shim::ipvsa_status) {
        st.version = shim::IPVSA_STATUS_VERSION;
        let enabled = self.keyed();
        st.enabled = u32::from(enabled);
        if enabled {
            for (d, s) in st.alg.iter_mut().zip(ALG_NAME) {
                *d = *s;
            }
        }
        let gen = self.key.with(|k| k.map(|k| k.gen));
        let replay = self.replay.lock();
        st.streams = gen
            .and_then(|g| replay.table(g))
            .map_or(0, |t| t.len() as u32);
        st.stream_capacity = replay.capacity() as u32;
        drop(replay);
        for (d, c) in st.counters.iter_mut().zip(&self.counters) {
            *d = c.load(Relaxed);
        }
    }
}

/// Nanoseconds per operation of `iters` runs of `f`.
fn per_op(iters: u32, mut f: impl FnMut() -> Result) -> Result<u64> {
    let t0 = monotonic_ns();
    for _ in 0..iters {
        f()?;
    }
    let t = monotonic_ns().wrapping_sub(t0);
    Ok(t / u64::from(iters.max(1)))
}

/// Ratio `a / b` in hundredths, for printing without floating point.
fn ratio_x100(a: u64, b: u64) -> u64 {
    a.saturating_mul(100) / b.max(1)
}

/// `a / b` printed with two decimals (`Ratio(a, b)`).
struct Ratio(u64, u64);

impl kernel::fmt::Display for Ratio {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        let r = ratio_x100(self.0, self.1);
        write!(f, "{}.{:02}", r / 100, r % 100)
    }
}

/// Rounds the benchmark's main figures are measured in ([`bench`]).
const ROUNDS: u32 = 10;

/// The master configuration the benchmark's (and tests') messages are
/// built for: IPVS v1 messages of SyncID 150, IPv4 datagrams.
const TX_V1_150: TxConfig = TxConfig {
    version: 1,
    syncid: 150,
    max_len: 65535 - 28,
    rollout: Rollout::Enforce,
};

/// A backup with IPVS's largest `sync_maxlen` (nothing the tests send is
/// too long for it) and one sync thread.
const RX_ANY: RxConfig = RxConfig {
    maxlen: 65535 - 28,
    threads: 1,
    rollout: Rollout::Enforce,
    src: Source {
        addr: IpAddr::V4([0; 4]),
        port: 0,
    },
};

/// A MAC that costs nothing, for timing the code around the MAC.
struct FreeMac;

impl Mac for FreeMac {
    type Error = Error;

    fn mac(&self, _parts: &[&[u8]]) -> Result<[u8; crate::proto::icv::HMAC_MD5_LEN]> {
        Ok([0; crate::proto::icv::HMAC_MD5_LEN])
    }
}

/// ns per run of the skb paths on a real packet (the master's on `plain`,
/// the backup's on `signed`, an IPv4 datagram each), the clock reads
/// subtracted: what a datagram costs in the hooks besides classification.
fn skb_paths(st: &NetState, iters: u32, plain: &[u8], signed: &[u8]) -> Result<(u64, u64)> {
    use crate::kapi::testskb::TestSkb;
    // `path` false: the clock reads alone, to subtract.
    let run = |path: bool, tx: bool, msg: &[u8]| -> Result<u64> {
        let mut total = 0u64;
        for _ in 0..iters {
            if !tx {
                st.replay.lock().clear();
            }
            let mut skb = TestSkb::sync(shim::IPVSA_TEST_SKB_LINEAR, msg)?;
            let skb = skb.skb();
            // Under an RCU read lock, as netfilter takes it around the
            // hooks, outside them: not timed.
            let (accepted, t0, t1) = read_locked(|rcu| {
                let t0 = monotonic_ns();
                let accepted = !path || crate::sync_net::test_path(st, rcu, skb, tx, msg);
                (accepted, t0, monotonic_ns())
            });
            if !accepted {
                return Err(EINVAL);
            }
            total = total.saturating_add(t1.wrapping_sub(t0));
        }
        Ok(total / u64::from(iters.max(1)))
    };
    let clock = run(false, false, plain)?;
    let tx = run(true, true, plain)?.saturating_sub(clock);
    let rx = run(true, false, signed)?.saturating_sub(clock);
    Ok((tx, rx))
}

/// In-kernel benchmark, run at load with the module parameter `bench=N`.
///
/// Prints to the kernel log, per message size, the time of the master's
/// sign+insert and the backup's verify+strip against the floors: a bare
/// `hmac(md5)` shash digest of the same number of bytes (what any
/// seed-compliant ICV costs) and the lib/crypto `hmac_md5()` call. Then the
/// cost of the early drops (TTL, replay) and the number of HMACs they ran,
/// which must be 0. The main figures are each the best of [`ROUNDS`]
/// interleaved rounds of `iters / ROUNDS` runs. Process context.
pub(crate) fn bench(iters: u32) -> Result {
    const KEY: &[u8] = b"ip_vs_sync_auth benchmark key";
    let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
    st.set_key(KEY)?;
    pr_info!(
        "bench: {} iterations per figure, ns/op; table: best of {} interleaved rounds\n",
        iters,
        ROUNDS
    );
    pr_info!("bench: sign+insert and verify+strip exclude the loops' message copy\n");
    pr_info!("bench: message   bytes  shash   lib  copy  sign+insert (x)  verify+strip (x)\n");
    for (label, entries) in [("full   ", 1448usize), ("1 entry", 36)] {
        // An IPVS v1 message: header + entries; 1456 + 16 = 1472 on the wire.
        let plain_len = 8 + entries;
        let wire_len = plain_len + 16;
        let mut plain = KVec::from_elem(0x5au8, plain_len, GFP_KERNEL)?;
        let size = u16::try_from(plain_len).map_err(|_| EINVAL)?.to_be_bytes();
        for (i, b) in [0, 150, size[0], size[1], 40, 1, 0, 0]
            .into_iter()
            .enumerate()
        {
            if let Some(p) = plain.get_mut(i) {
                *p = b;
            }
        }
        // The room the master's packet path (`sync_net::try_transmit()`)
        // gives (IPVS's buffers have it): the largest header and the
        // one-update MAC's scratch.
        let room = (shim::IPVSA_AUTH_HDR_MAX + shim::IPVSA_MAC_ROOM) as usize;
        let mut buf = KVec::from_elem(0u8, plain_len + room, GFP_KERNEL)?;
        let mut signed = KVec::from_elem(0u8, wire_len, GFP_KERNEL)?;

        // One signed message for the verify loops.
        buf.get_mut(..plain_len)
            .ok_or(EINVAL)?
            .copy_from_slice(&plain);
        st.transmit(&mut buf, plain_len, 0, &TX_V1_150)?;
        signed.copy_from_slice(buf.get(..wire_len).ok_or(EINVAL)?);
        // The verify loop runs on a frame with the IPv4 and UDP headers in
        // front, which it moves up by the stripped length as the backup's
        // packet path (`sync_net::try_receive()`) does, and the MAC's
        // scratch after the message (skbs have that tailroom).
        const HDRS: usize = 28;
        let scratch = shim::IPVSA_MAC_ROOM as usize;
        let mut frame = KVec::from_elem(0x45u8, HDRS + wire_len + scratch, GFP_KERNEL)?;

        // The figures of the table, and where their time goes, measured in
        // interleaved rounds: each is the lowest time per operation over
        // `ROUNDS` rounds, so that a slow stretch of the host (TCG timing
        // drifts by 10-20 % within a minute) does not fall on one figure
        // only. Each operation has buffers of its own.
        let mac = HmacMd5::new(KEY)?;
        /// Puts `msg` in `frame` after the headers; returns the payload.
        fn msg_in_frame<'a>(frame: &'a mut [u8], msg: &[u8]) -> Result<&'a mut [u8]> {
            let payload = frame.get_mut(HDRS..).ok_or(EINVAL)?;
            payload
                .get_mut(..msg.len())
                .ok_or(EINVAL)?
                .copy_from_slice(msg);
            Ok(payload)
        }
        /// The pure crate's backup path on `msg` in `frame`, with `mac`:
        /// parse, verify, strip, move the headers up.
        fn rx_wire<M: Mac<Error = Error>>(frame: &mut [u8], msg: &[u8], mac: &M) -> Result {
            let payload = msg_in_frame(frame, msg)?;
            let whole = payload.get(..msg.len()).ok_or(EINVAL)?;
            let c = msg::rx_parse(whole, 255).map_err(|_| EINVAL)?.checked();
            let v = msg::verify_checked_in_place(payload, &c, mac)?.ok_or(EINVAL)?;
            let off = msg::strip_verified(payload, v).map_err(|_| EINVAL)?;
            frame.copy_within(..HDRS, off);
            Ok(())
        }
        let plain_in = |buf: &mut KVec<u8>| -> Result {
            buf.get_mut(..plain.len())
                .ok_or(EINVAL)?
                .copy_from_slice(&plain);
            Ok(())
        };
        let dup = |v: &KVec<u8>| -> Result<KVec<u8>> {
            let mut d = KVec::with_capacity(v.len(), GFP_KERNEL)?;
            d.extend_from_slice(v, GFP_KERNEL)?;
            Ok(d)
        };
        // The backup's steady state: messages of a stream it knows, each
        // with the next sequence number. The verify loop takes a ring of
        // `RING` messages signed in order and clears the replay table only
        // when the ring starts over (its cost is subtracted with the
        // copy's, as `clear_op` does the same).
        const RING: usize = 32;
        let mut ring = KVec::from_elem(0u8, RING * wire_len, GFP_KERNEL)?;
        for m in ring.chunks_exact_mut(wire_len) {
            plain_in(&mut buf)?;
            st.transmit(&mut buf, plain_len, 0, &TX_V1_150)?;
            m.copy_from_slice(buf.get(..wire_len).ok_or(EINVAL)?);
        }
        let next_in_ring = |i: &mut usize| -> Result<&[u8]> {
            if *i == 0 {
                st.replay.lock().clear();
            }
            let m = ring.chunks_exact(wire_len).nth(*i).ok_or(EINVAL)?;
            *i = (*i + 1) % RING;
            Ok(m)
        };
        let (mut buf_copy, mut buf_sign, mut buf_wire) = (dup(&buf)?, dup(&buf)?, dup(&buf)?);
        let (mut fr_clear, mut fr_verify, mut fr_wire) = (dup(&frame)?, dup(&frame)?, dup(&frame)?);
        // What the two path loops spend besides the path itself: the copy
        // of the message (and for the verify loop, the step through the
        // ring with its replay-table clear every `RING` messages).
        let mut copy_op = || {
            buf_copy
                .get_mut(..signed.len())
                .ok_or(EINVAL)?
                .copy_from_slice(&signed);
            Ok(())
        };
        let mut sign_op = || {
            plain_in(&mut buf_sign)?;
            st.transmit(&mut buf_sign, plain_len, 0, &TX_V1_150)
                .map(|_| ())
        };
        let (mut i_clear, mut i_verify) = (0, 0);
        let mut clear_op = || {
            let m = next_in_ring(&mut i_clear)?;
            msg_in_frame(&mut fr_clear, m).map(|_| ())
        };
        let mut verify_op = || {
            let m = next_in_ring(&mut i_verify)?;
            let off = st.receive(msg_in_frame(&mut fr_verify, m)?, wire_len, 255, &RX_ANY)?;
            fr_verify.copy_within(..HDRS, off);
            Ok(())
        };
        // The ICV as one call of our MAC over the same bytes, and the pure
        // crate's paths with it, without the namespace's state (sequence
        // numbers, key slot, replay table, counters).
        let mut mac_op = || mac.mac(&[&signed]).map(|_| ());
        let mut wire_tx_op = || {
            plain_in(&mut buf_wire)?;
            msg::tx_insert_in_place(&mut buf_wire, plain_len, 1, &mac)
                .map(|_| ())
                .map_err(|_| EINVAL)
        };
        let mut wire_rx_op = || rx_wire(&mut fr_wire, &signed, &mac);
        let mut ops: [&mut dyn FnMut() -> Result; 7] = [
            &mut copy_op,
            &mut sign_op,
            &mut clear_op,
            &mut verify_op,
            &mut mac_op,
            &mut wire_tx_op,
            &mut wire_rx_op,
        ];
        let per_round = (iters / ROUNDS).max(1);
        let (mut shash, mut lib) = (u64::MAX, u64::MAX);
        let mut best = [u64::MAX; 7];
        for _ in 0..ROUNDS {
            let wire = signed.get(..wire_len).ok_or(EINVAL)?;
            let t = hmac::bench_shash(&mac, wire, per_round);
            shash = shash.min(t / u64::from(per_round));
            let t = hmac::bench_lib(KEY, wire, per_round);
            lib = lib.min(t / u64::from(per_round));
            for (b, op) in best.iter_mut().zip(ops.iter_mut()) {
                *b = (*b).min(per_op(per_round, &mut **op)?);
            }
        }
        let [copy, sign, copy_clear, verify, mac1, wire_tx, wire_rx] = best;
        let (wire_tx, wire_rx) = (wire_tx.saturating_sub(copy), wire_rx.saturating_sub(copy));
        let (sign_net, verify_net) = (sign.saturating_sub(copy), verify.saturating_sub(copy_clear));
        // Where the time goes: the ICV as the paths compute it (three
        // updates in the seed's order), the same bytes as one update, and
        // the move of the entries by 16 bytes.
        let mac3 = {
            let (hdr, rest) = signed.split_at_checked(8).ok_or(EINVAL)?;
            let (auth, entries) = rest.split_at_checked(16).ok_or(EINVAL)?;
            per_op(iters, || mac.mac(&[auth, entries, hdr]).map(|_| ()))?
        };
        // What the paths move: the master moves the entries up 16 bytes
        // (it has tailroom, not headroom); the backup used to move them
        // down 16 bytes and now moves the headers up instead.
        let mv_up = per_op(iters, || {
            buf.copy_within(8..wire_len - 16, 24);
            Ok(())
        })?;
        let mv_down = per_op(iters, || {
            buf.copy_within(24..wire_len, 8);
            Ok(())
        })?;
        let mv_hdrs = per_op(iters, || {
            frame.copy_within(..HDRS + 8, 16);
            Ok(())
        })?;
        // The pure crate's part of each path alone, with a MAC that costs
        // nothing: what the wire format's handling adds to the digest
        // (the rest of the gap is the namespace glue: sequence numbers,
        // key and replay state, counters).
        let free_tx = per_op(iters, || {
            plain_in(&mut buf)?;
            msg::tx_insert_in_place(&mut buf, plain_len, 1, &FreeMac)
                .map(|_| ())
                .map_err(|_| EINVAL)
        })?
        .saturating_sub(copy);
        let mut free_signed = KVec::from_elem(0u8, wire_len, GFP_KERNEL)?;
        free_signed.copy_from_slice(buf.get(..wire_len).ok_or(EINVAL)?);
        let free_rx =
            per_op(iters, || rx_wire(&mut frame, &free_signed, &FreeMac))?.saturating_sub(copy);
        // One round trip of the replay table's lock: the backup
        // takes it twice (check before the ICV, advance after).
        let lock = per_op(iters, || {
            drop(st.replay.lock());
            Ok(())
        })?;
        // The other pieces of the namespace state, each alone: the key
        // slot (RCU read side and load), a sequence number (on a stream
        // the loops do not use), a counter, the format check.
        let slot = per_op(iters, || st.key.with(|k| k.map(|_| ()).ok_or(EINVAL)))?;
        let gen = st.key.with(|k| k.map_or(0, |k| k.gen));
        let seq = per_op(iters, || st.next_seq().map(|_| ()))?;
        // The replay window alone: check and advance of the next number on
        // a stream the loops do not use (the lock is measured above).
        let mut next = 0u32;
        let window_id = StreamId::seed(7);
        let window = per_op(iters, || {
            next = next.wrapping_add(1);
            let mut r = st.replay.lock();
            r.check(gen, &window_id, next, 0).map_err(|_| EINVAL)?;
            r.advance(gen, &window_id, next, 0).map_err(|_| EINVAL)
        })?;
        let counter = per_op(iters, || {
            st.count(shim::IPVSA_CNT_TX_SIGNED);
            Ok(())
        })?;
        let format = per_op(iters, || if st.ext.is_ext() { Err(EINVAL) } else { Ok(()) })?;
        pr_info!(
            "bench: {}  parts: mac 3 updates {} ns, 1 update {} ns, wire format without MAC: sign {} ns, verify+strip {} ns, move entries up {} ns, down {} ns, move headers {} ns, verify loop's ring step {} ns\n",
            label,
            mac3,
            mac1,
            free_tx,
            free_rx,
            mv_up,
            mv_down,
            mv_hdrs,
            copy_clear.saturating_sub(copy)
        );
        pr_info!(
            "bench: {}  state parts: key slot {} ns, sequence number {} ns, counter {} ns, format check {} ns, replay lock {} ns, replay window check+advance {} ns\n",
            label,
            slot,
            seq,
            counter,
            format,
            lock,
            window
        );
        pr_info!(
            "bench: {}  split: one MAC call {} ns ({}); wire format with it: sign {} ns ({}), verify+strip {} ns ({}); namespace state: sign {} ns, verify {} ns\n",
            label,
            mac1,
            Ratio(mac1, shash),
            wire_tx,
            Ratio(wire_tx, shash),
            wire_rx,
            Ratio(wire_rx, shash),
            sign_net.saturating_sub(wire_tx),
            verify_net.saturating_sub(wire_rx)
        );
        let (skb_tx, skb_rx) = skb_paths(&st, iters, &plain, &signed)?;
        pr_info!(
            "bench: {}  skb paths: sign+insert {} ns ({}), verify+strip {} ns ({})\n",
            label,
            skb_tx,
            Ratio(skb_tx, shash),
            skb_rx,
            Ratio(skb_rx, shash)
        );
        pr_info!(
            "bench: {}  {:5}  {:5}  {:4}  {:4}  {:5} ({})  {:5} ({})\n",
            label,
            wire_len,
            shash,
            lib,
            copy,
            sign_net,
            Ratio(sign_net, shash),
            verify_net,
            Ratio(verify_net, shash)
        );
    }

    // Early drops: TTL 254 and stale sequence numbers must not hash.
    // A one-entry v1 message (size 44), signed for thread 1.
    let mut msg = [0u8; 60];
    msg[..8].copy_from_slice(&[0, 150, 0, 44, 1, 1, 0, 0]);
    st.replay.lock().clear();
    st.transmit(&mut msg, 44, 1, &TX_V1_150)?;
    let signed = msg;
    st.receive(&mut msg, 60, 255, &RX_ANY)?;
    let calls_before = st.hmacs();
    // As in the backup's hook: under the RCU read lock netfilter holds
    // around it, which the hook does not take again (not timed: taken
    // once around both loops; nothing in them sleeps).
    let (ttl, stale) = read_locked(|rcu| -> Result<(u64, u64)> {
        // The signed message received again with TTL `ttl`: each one must
        // be dropped.
        let mut drops = |ttl: u8| {
            per_op(iters, || {
                msg.copy_from_slice(&signed);
                match st.receive_in(rcu, &mut msg, 60, ttl, &RX_ANY) {
                    Err(_) => Ok(()),
                    Ok(_) => Err(EINVAL),
                }
            })
        };
        Ok((drops(254)?, drops(255)?))
    })?;
    let calls = st.hmacs() - calls_before;
    pr_info!(
        "bench: early drops: TTL 254 {} ns/op, stale seq {} ns/op, HMACs run for {} dropped: {}\n",
        ttl,
        stale,
        2 * u64::from(iters),
        calls
    );
    // What a drop's accounting costs on its own, split as the drop path
    // does it: the counter with its log-run check (the C module had the
    // counter), and the source's line (issue 22's, which it had not). The
    // source is the one the loops above dropped from, so it has its line.
    // Each figure includes one clock read (a drop reads it once for both);
    // the source's address words are made once, outside the loop.
    let idx = drop_counter(DropReason::BadTtl);
    let words = addr_words(&RX_ANY.src.addr);
    let reason = line_reason(idx);
    let counter = per_op(iters, || {
        st.count_drop(idx, uptime_secs());
        Ok(())
    })?;
    let mut on_line = 0u32;
    let line = per_op(iters, || {
        on_line += u32::from(
            st.lines
                .count(&words, RX_ANY.src.port, reason, uptime_secs())
                == Counted::Yes,
        );
        Ok(())
    })?;
    pr_info!(
        "bench: early drops' accounting: counter and log run {} ns/op, the source's line {} ns/op ({} of {} counted there)\n",
        counter,
        line,
        on_line,
        iters
    );
    // What an accepted message's accounting costs besides its counter
    // (which the C module had): the clock read and its sender's line
    // (issue 22's `sender:` lines, which it had not), `accepted_rx`'s own
    // call. The skb verify figures above include it once per message;
    // their source has its line already, as this one does.
    // (An accepted message always gets a line, so whether the source had
    // one is read before the loop; nothing else uses this table meanwhile.)
    let listed = st.senders.lock().index_of(&RX_ANY.src).is_some();
    let mut seq = 0u64;
    let accepted = per_op(iters, || {
        seq += 1;
        st.accepted_from(&RX_ANY.src, 150, seq);
        Ok(())
    })?;
    pr_info!(
        "bench: an accepted message's accounting besides its counter: the sender's line {} ns/op ({} of {} on a line)\n",
        accepted,
        if listed { iters } else { 0 },
        iters
    );
    Ok(())
}

#[kunit_tests(ip_vs_sync_auth_sync)]
mod tests {
    use super::*;
    use crate::kapi::testskb::{self, TestSkb, TestSockSkb};
    use crate::proto::ext::EXT_AUTH_HDR_LEN;
    use crate::proto::vectors::SYNC_VECTORS;

    /// A fresh namespace state with `key` installed.
    fn keyed(key: &[u8]) -> Result<Pin<KBox<NetState>>> {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        st.set_key(key)?;
        Ok(st)
    }

    /// The generation of the installed seed key.
    fn gen(st: &NetState) -> u32 {
        st.key.with(|k| k.map_or(0, |k| k.gen))
    }

    /// The master configuration `plain` was built under (its layout and
    /// SyncID), as `sync_net` reads it from IPVS.
    fn cfg_for(plain: &[u8]) -> TxConfig {
        TxConfig {
            version: u8::from(plain.first() == Some(&0)),
            syncid: plain.get(1).copied().unwrap_or(0),
            max_len: 65535 - 28,
            rollout: Rollout::Enforce,
        }
    }

    /// A master keyed for `v` that numbers `v.seq` next.
    fn master_before(v: &crate::proto::vectors::SyncVector) -> Result<Pin<KBox<NetState>>> {
        let st = keyed(v.key)?;
        for _ in 1..v.seq {
            st.next_seq()?;
        }
        Ok(st)
    }

    fn counter(st: &NetState, idx: u32) -> u64 {
        st.counters
            .get(idx as usize)
            .map_or(u64::MAX, |c| c.load(Relaxed))
    }

    /// The highest number accepted on the seed stream of SyncID `syncid`.
    fn last(st: &NetState, syncid: u8) -> Option<u32> {
        let g = gen(st);
        st.replay
            .lock()
            .table(g)
            .and_then(|t| t.last(&StreamId::seed(syncid)))
    }

    /// Waits up to `ms` milliseconds for `done`; returns whether it held.
    fn wait_until(ms: u32, done: impl Fn() -> bool) -> bool {
        use kernel::time::{delay::fsleep, Delta};
        for _ in 0..ms {
            if done() {
                return true;
            }
            fsleep(Delta::from_millis(1));
        }
        done()
    }

    /// Copies `msg` into a buffer with room after it (the one-update
    /// MAC) and runs the backup path on it.
    fn receive(st: &NetState, msg: &[u8], ttl: u8) -> Result<usize> {
        receive_threads(st, msg, ttl, 1)
    }

    /// [`receive`] on a backup with `threads` sync threads.
    fn receive_threads(st: &NetState, msg: &[u8], ttl: u8, threads: u32) -> Result<usize> {
        receive_cfg(st, msg, ttl, &RxConfig { threads, ..RX_ANY })
    }

    /// [`receive`] on a backup configured as `cfg`.
    fn receive_cfg(st: &NetState, msg: &[u8], ttl: u8, cfg: &RxConfig) -> Result<usize> {
        let mut buf = [0u8; 160];
        buf.get_mut(..msg.len()).ok_or(EINVAL)?.copy_from_slice(msg);
        st.receive(&mut buf, msg.len(), ttl, cfg)
    }

    /// Signs `plain` on `st` as sync thread `thread`, with `extra` bytes
    /// of room; returns the buffer and the new length.
    fn sign_on(st: &NetState, plain: &[u8], thread: usize) -> Result<([u8; 160], usize)> {
        let mut buf = [0u8; 160];
        let len = plain.len();
        buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(plain);
        let n = st.transmit(
            buf.get_mut(..len + EXT_AUTH_HDR_LEN).ok_or(EINVAL)?,
            len,
            thread,
            &cfg_for(plain),
        )?;
        Ok((buf, n))
    }

    #[test]
    fn master_output_matches_reference() -> Result {
        // Exactly 16 bytes of room (three MAC updates), and room for the
        // one-update MAC as `sync_net::try_transmit()` gives it: the same bytes.
        for room in [
            16,
            (shim::IPVSA_AUTH_HDR_MAX + shim::IPVSA_MAC_ROOM) as usize,
        ] {
            for v in &SYNC_VECTORS {
                let st = master_before(v)?;
                let mut buf = [0u8; 160];
                let len = v.plain.len();
                buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
                let n = st.transmit(
                    buf.get_mut(..len + room).ok_or(EINVAL)?,
                    len,
                    0,
                    &cfg_for(v.plain),
                )?;
                assert_eq!(buf.get(..n), Some(v.auth));
                assert_eq!(counter(&st, shim::IPVSA_CNT_TX_SIGNED), 1);
            }
        }
        Ok(())
    }

    #[test]
    fn backup_accepts_and_strips_reference() -> Result {
        for v in &SYNC_VECTORS {
            let st = keyed(v.key)?;
            let mut buf = [0u8; 128];
            let dst = buf.get_mut(..v.auth.len()).ok_or(EINVAL)?;
            dst.copy_from_slice(v.auth);
            // Exactly the message: the three-update MAC.
            let off = st.receive(dst, v.auth.len(), 255, &RX_ANY)?;
            assert_eq!(off, 16);
            assert_eq!(buf.get(off..v.auth.len()), Some(v.plain));
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
            assert_eq!(last(&st, v.plain.get(1).copied().unwrap_or(0)), Some(v.seq));
        }
        Ok(())
    }

    /// The order of the checks. The backup path takes no source address or
    /// port at all: a replay re-sent from anywhere is the same message
    /// (QEMU test 21 sends it from other addresses and to other ports).
    #[test]
    fn backup_checks_cheapest_first() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        // A valid message with TTL 254 is a TTL drop, and leaves no state.
        assert!(receive(&st, v.auth, 254).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_TTL), 1);
        assert_eq!(st.replay.lock().len(), 0);
        // Too short is malformed even with a wrong TTL.
        assert!(receive(&st, v.auth.get(..20).ok_or(EINVAL)?, 1).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_MALFORMED), 1);
        // The plaintext message: no flag.
        assert!(receive(&st, v.plain, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), 1);
        // Accepted once, then a replay, without hashing.
        let calls = st.hmacs();
        assert!(receive(&st, v.auth, 255).is_ok());
        assert!(receive(&st, v.auth, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_REPLAY), 1);
        assert_eq!(st.hmacs(), calls + 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 0);
        Ok(())
    }

    #[test]
    fn backup_drops_what_ipvs_would_not_take_before_hashing() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let mut buf = [0u8; 160];
        let dst = buf.get_mut(..v.auth.len()).ok_or(EINVAL)?;
        dst.copy_from_slice(v.auth);
        // IPVS's backup takes at most one byte less than the plaintext.
        let calls = st.hmacs();
        let short = RxConfig {
            maxlen: v.plain.len() - 1,
            ..RX_ANY
        };
        let r = st.receive(dst, v.auth.len(), 255, &short);
        assert!(r.is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_MALFORMED), 1);
        assert_eq!(st.hmacs(), calls);
        // Exactly the plaintext's length is fine.
        let dst = buf.get_mut(..v.auth.len()).ok_or(EINVAL)?;
        dst.copy_from_slice(v.auth);
        let exact = RxConfig {
            maxlen: v.plain.len(),
            ..RX_ANY
        };
        assert_eq!(st.receive(dst, v.auth.len(), 255, &exact)?, 16);
        Ok(())
    }

    #[test]
    fn wrong_key_is_bad_icv_and_does_not_advance() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(b"not the key")?;
        assert!(receive(&st, v.auth, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 1);
        assert_eq!(st.replay.lock().len(), 0);
        // After re-keying to the right key the same message is accepted:
        // the forged attempt did not consume its sequence number.
        st.set_key(v.key)?;
        assert!(receive(&st, v.auth, 255).is_ok());
        Ok(())
    }

    /// Re-installing the key (as `ipvsadm --start-daemon ... --icv-key` and
    /// keepalived's restarts do), also after clearing it, changes nothing:
    /// no recorded message becomes new, the master's numbers go on.
    #[test]
    fn same_key_again_keeps_the_sequence_space() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        assert!(receive(&st, v.auth, 255).is_ok());
        let g = gen(&st);
        let sent = st.next_seq()?;
        for _ in 0..2 {
            st.set_key(v.key)?;
            assert_eq!(gen(&st), g);
            assert!(receive(&st, v.auth, 255).is_err());
            st.set_key(&[])?;
            assert!(!st.key.is_set());
            st.set_key(v.key)?;
            assert!(receive(&st, v.auth, 255).is_err());
        }
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_REPLAY), 4);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
        assert_eq!(st.next_seq()?, sent + 1);
        Ok(())
    }

    /// A wrong key installed by mistake and replaced by the right one
    /// before it verified anything leaves nothing behind: what the right
    /// key accepted stays a replay.
    #[test]
    fn a_key_installed_by_mistake_resets_nothing() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        assert!(receive(&st, v.auth, 255).is_ok());
        let g = gen(&st);
        st.set_key(b"a typo")?;
        assert_ne!(gen(&st), g);
        // Forged traffic under the typo verifies nothing.
        assert!(receive(&st, v.auth, 255).is_err());
        st.set_key(v.key)?;
        assert_eq!(gen(&st), g);
        assert!(receive(&st, v.auth, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_REPLAY), 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
        Ok(())
    }

    /// A different key opens a new sequence space on the backup, whose
    /// first verified message empties the old key's state; the master's
    /// counter runs on, unless it ran out, which the new key cures.
    #[test]
    fn new_key_opens_a_new_sequence_space() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(b"first key")?;
        let g1 = gen(&st);
        assert_eq!(st.next_seq()?, 1);
        st.tx_seq.store(u32::MAX, Relaxed);
        assert_eq!(st.next_seq(), Err(EOVERFLOW));
        st.set_key(v.key)?;
        assert!(gen(&st) > g1);
        assert_eq!(st.next_seq()?, 1);
        assert_eq!(st.next_seq()?, 2);
        // Not exhausted: a further key keeps the count going.
        st.set_key(b"third key")?;
        assert_eq!(st.next_seq()?, 3);
        st.set_key(v.key)?;
        assert!(receive(&st, v.auth, 255).is_ok());
        assert_eq!(last(&st, v.plain.get(1).copied().unwrap_or(0)), Some(v.seq));
        Ok(())
    }

    #[test]
    fn without_key_nothing_changes() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        assert_eq!(receive(&st, v.auth, 1)?, 0);
        let (buf, n) = sign_on(&st, v.plain, 0)?;
        assert_eq!(n, v.plain.len());
        assert_eq!(buf.get(..n), Some(v.plain));
        for c in &st.counters {
            assert_eq!(c.load(Relaxed), 0);
        }
        st.set_key(v.key)?;
        st.set_key(&[])?;
        assert!(!st.key.is_set());
        Ok(())
    }

    #[test]
    fn key_length_bounds() -> Result {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        assert!(st.set_key(&[0x41; KEY_MAX]).is_ok());
        assert!(st.set_key(&[0x41; KEY_MAX + 1]).is_err());
        // A rejected key leaves the previous one in place.
        assert!(st.key.is_set());
        Ok(())
    }

    /// One counter for all of a master's threads; a backup with as many
    /// threads takes their messages in any order within its window, each
    /// once. With one thread it takes them only in order, as the seed says.
    #[test]
    fn threads_share_one_counter_and_may_overtake() -> Result {
        let v = &SYNC_VECTORS[0];
        let master = keyed(v.key)?;
        let mut signed = KVec::new();
        for i in 0..8usize {
            let (m, n) = sign_on(&master, v.plain, i % 4)?;
            assert_eq!(m.get(8..12), Some(&(i as u32 + 1).to_be_bytes()[..]));
            signed.push((m, n), GFP_KERNEL)?;
        }
        // Delivered 8, 1, 7, 2, 6, 3, 5, 4: all accepted, then all replays.
        let order = [7usize, 0, 6, 1, 5, 2, 4, 3];
        let backup = keyed(v.key)?;
        for i in order {
            let (m, n) = signed.get(i).ok_or(EINVAL)?;
            assert!(receive_threads(&backup, m.get(..*n).ok_or(EINVAL)?, 255, 4).is_ok());
        }
        for (m, n) in &signed {
            assert!(receive_threads(&backup, m.get(..*n).ok_or(EINVAL)?, 255, 4).is_err());
        }
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_ACCEPTED), 8);
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_REPLAY), 8);
        // One thread: after 8, nothing older passes.
        let strict = keyed(v.key)?;
        for i in order {
            let (m, n) = signed.get(i).ok_or(EINVAL)?;
            let r = receive(&strict, m.get(..*n).ok_or(EINVAL)?, 255);
            assert_eq!(r.is_ok(), i == 7);
        }
        assert_eq!(counter(&strict, shim::IPVSA_CNT_RX_REPLAY), 7);
        Ok(())
    }

    /// The master signs only its own messages: IPVS's configured layout
    /// and SyncID, and only if the datagram can grow. A refused message is
    /// dropped and counted, and uses up no sequence number.
    #[test]
    fn master_signs_only_its_configured_messages() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let len = v.plain.len();
        let own = cfg_for(v.plain);
        let wrong = [
            TxConfig {
                syncid: own.syncid.wrapping_add(1),
                ..own
            },
            TxConfig {
                version: 1 - own.version,
                ..own
            },
            TxConfig {
                max_len: len + 15,
                ..own
            },
        ];
        for (i, cfg) in wrong.iter().enumerate() {
            let mut buf = [0u8; 160];
            buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
            assert!(st.transmit(&mut buf, len, 0, cfg).is_err());
            assert_eq!(buf.get(..len), Some(v.plain));
            assert_eq!(counter(&st, shim::IPVSA_CNT_TX_ERROR), i as u64 + 1);
        }
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_SIGNED), 0);
        let (m, _) = sign_on(&st, v.plain, 0)?;
        assert_eq!(m.get(8..12), Some(&1u32.to_be_bytes()[..]));
        Ok(())
    }

    /// Results of [`own_sock`] for each socket kind, from a workqueue
    /// worker (a kernel thread, as IPVS's sync threads are).
    struct OwnSock {
        results: [Atomic<i32>; 5],
        done: Atomic<i32>,
    }

    /// Whether the master takes a datagram sent on a test socket of `kind`
    /// for one of IPVS's own sync sockets (1, 0, or an errno).
    fn own_sock(kind: u32) -> c_int {
        match TestSockSkb::new(kind) {
            Ok(mut t) => c_int::from(crate::sync_net::test_own_sock(t.skb())),
            Err(e) => e.to_errno(),
        }
    }

    /// The master signs datagrams of IPVS's own sync sockets only: a kernel
    /// socket connected to the group and port, sending from a kernel
    /// thread. Not an unconnected kernel socket (as rxrpc's), nor one
    /// connected elsewhere, nor a user socket. (KUnit cases run in kernel
    /// threads too, so the kernel-thread condition is not tried here.)
    #[test]
    fn master_signs_only_ipvs_sync_sockets() -> Result {
        use kernel::sync::Arc;
        use kernel::workqueue::system_unbound;

        let kinds = [
            (testskb::SOCK_CONNECTED, 1),
            (testskb::SOCK_UNCONNECTED, 0),
            (testskb::SOCK_OTHER_PORT, 0),
            (testskb::SOCK_OTHER_GROUP, 0),
            (testskb::SOCK_USER, 0),
        ];
        let r = Arc::new(
            OwnSock {
                results: [const { Atomic::new(-1) }; 5],
                done: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let w = r.clone();
        system_unbound()
            .try_spawn(GFP_KERNEL, move || {
                for (slot, (kind, _)) in w.results.iter().zip(kinds) {
                    slot.store(own_sock(kind), Release);
                }
                w.done.store(1, Release);
            })
            .map_err(|_| ENOMEM)?;
        assert!(wait_until(10_000, || r.done.load(Acquire) == 1));
        for (slot, (_, want)) in r.results.iter().zip(kinds) {
            assert_eq!(slot.load(Acquire), want);
        }
        Ok(())
    }

    /// A key of the other format keeps authentication on: switching the
    /// format before its key exists, or clearing one format's key, never
    /// lets plaintext through either way.
    #[test]
    fn format_switch_never_passes_plaintext() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        st.ext_cmd(shim::IPVSA_EXT_MODE, 1, &[])?;
        assert!(st.keyed());
        assert!(receive(&st, v.plain, 255).is_err());
        assert!(receive(&st, v.auth, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_NO_KEY), 2);
        assert!(sign_on(&st, v.plain, 0).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_ERROR), 1);
        // The other way: extended keys only, back in the seed format.
        st.set_key(&[])?;
        st.ext_cmd(shim::IPVSA_EXT_ADD, 1, b"ext key")?;
        st.ext_cmd(shim::IPVSA_EXT_MODE, 0, &[])?;
        assert!(receive(&st, v.plain, 255).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_NO_KEY), 3);
        assert!(sign_on(&st, v.plain, 0).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_ERROR), 2);
        // Only with no key at all does plaintext pass, untouched.
        st.ext_cmd(shim::IPVSA_EXT_CLEAR, 0, &[])?;
        assert!(!st.keyed());
        assert_eq!(receive(&st, v.plain, 255)?, 0);
        assert_eq!(sign_on(&st, v.plain, 0)?.1, v.plain.len());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 0);
        Ok(())
    }

    /// Runs `msg` through the C master (`tx`) or backup path on a real skb
    /// of layout `kind`; returns the resulting UDP payload length and bytes.
    fn through_skb(st: &NetState, tx: bool, kind: u32, msg: &[u8]) -> Result<(usize, [u8; 128])> {
        let mut out = [0u8; 128];
        let mut skb = TestSkb::sync(kind, msg)?;
        if !read_locked(|rcu| crate::sync_net::test_path(st, rcu, skb.skb(), tx, msg)) {
            return Err(EBADMSG);
        }
        let n = skb.check(tx, msg, &mut out)?;
        Ok((n, out))
    }

    /// The skb layouts, and the UDP checksum each arrives with (a full one
    /// unless said): the paths update the checksum, they do not sum the
    /// datagram again, and `TestSkb::check()` checks the result.
    const SKB_KINDS: [u32; 6] = [
        shim::IPVSA_TEST_SKB_LINEAR,
        shim::IPVSA_TEST_SKB_CLONED,
        shim::IPVSA_TEST_SKB_PAGED,
        shim::IPVSA_TEST_SKB_LINEAR | shim::IPVSA_TEST_SKB_CSUM_ZERO,
        shim::IPVSA_TEST_SKB_LINEAR | shim::IPVSA_TEST_SKB_CSUM_PARTIAL,
        shim::IPVSA_TEST_SKB_PAGED | shim::IPVSA_TEST_SKB_CSUM_PARTIAL,
    ];

    #[test]
    fn skb_rx_linear_cloned_paged() -> Result {
        for kind in SKB_KINDS {
            for v in &SYNC_VECTORS {
                let st = keyed(v.key)?;
                let (n, out) = through_skb(&st, false, kind, v.auth)?;
                assert_eq!(out.get(..n), Some(v.plain));
                assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
            }
        }
        Ok(())
    }

    #[test]
    fn skb_tx_linear_cloned_paged() -> Result {
        for kind in SKB_KINDS {
            for v in &SYNC_VECTORS {
                let st = master_before(v)?;
                let (n, out) = through_skb(&st, true, kind, v.plain)?;
                assert_eq!(out.get(..n), Some(v.auth));
                assert_eq!(counter(&st, shim::IPVSA_CNT_TX_SIGNED), 1);
            }
        }
        Ok(())
    }

    #[test]
    fn skb_too_short_is_malformed() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let r = through_skb(&st, false, shim::IPVSA_TEST_SKB_SHORT, v.auth);
        assert!(matches!(r, Err(e) if e == EBADMSG));
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_MALFORMED), 1);
        let r = through_skb(&st, true, shim::IPVSA_TEST_SKB_SHORT, v.plain);
        assert!(matches!(r, Err(e) if e == EBADMSG));
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_ERROR), 1);
        // A damaged message on a real skb is dropped, not passed on.
        let mut bad = [0u8; 128];
        let dst = bad.get_mut(..v.auth.len()).ok_or(EINVAL)?;
        dst.copy_from_slice(v.auth);
        if let Some(b) = dst.last_mut() {
            *b ^= 1;
        }
        let r = through_skb(&st, false, shim::IPVSA_TEST_SKB_LINEAR, dst);
        assert!(matches!(r, Err(e) if e == EBADMSG));
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 1);
        Ok(())
    }

    /// Messages a worker of [`replay_concurrent_receivers`] handles.
    const RACE_MSGS: usize = 1000;

    /// Shared by the workers of [`replay_concurrent_receivers`].
    struct Race {
        backup: Pin<KBox<NetState>>,
        msgs: KVec<[u8; 60]>,
        /// How often each message was accepted, over all workers.
        accepted: KVec<Atomic<u32>>,
        running: Atomic<i32>,
    }

    /// Several CPUs deliver the same messages at once: each must be
    /// accepted exactly once. The workers walk the messages in the same
    /// order, so they race on the same message: a worker that falls behind
    /// only meets numbers already recorded, drops them before the ICV
    /// (cheaper than accepting) and catches up, and from then on the
    /// workers check, verify and record the same number together. A
    /// receiver that trusted its check before the ICV and did not recheck
    /// when recording accepted messages twice here (development.rst).
    #[test]
    fn replay_concurrent_receivers() -> Result {
        use kernel::sync::Arc;
        use kernel::workqueue::system_unbound;

        const WORKERS: u32 = 4;
        let v = &SYNC_VECTORS[0];
        // RACE_MSGS messages, signed by a master over its threads.
        let signer = keyed(v.key)?;
        let mut msgs = KVec::new();
        for i in 0..RACE_MSGS {
            let mut buf = [0u8; 60];
            let len = v.plain.len();
            buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
            signer.transmit(&mut buf, len, i % 4, &cfg_for(v.plain))?;
            msgs.push(buf, GFP_KERNEL)?;
        }
        let mut accepted = KVec::with_capacity(RACE_MSGS, GFP_KERNEL)?;
        for _ in 0..RACE_MSGS {
            accepted.push(Atomic::new(0), GFP_KERNEL)?;
        }
        let race = Arc::new(
            Race {
                backup: keyed(v.key)?,
                msgs,
                accepted,
                running: Atomic::new(WORKERS as i32),
            },
            GFP_KERNEL,
        )?;
        for _ in 0..WORKERS {
            let r = race.clone();
            system_unbound()
                .try_spawn(GFP_KERNEL, move || {
                    for (i, m) in r.msgs.iter().enumerate() {
                        let mut buf = *m;
                        // A backup of 64 threads: the master's 4 threads
                        // never leave its window.
                        let rx = RxConfig {
                            threads: 64,
                            ..RX_ANY
                        };
                        if r.backup.receive(&mut buf, m.len(), 255, &rx).is_ok() {
                            if let Some(a) = r.accepted.get(i) {
                                a.add(1, Relaxed);
                            }
                        }
                    }
                    r.running.fetch_add(-1, Full);
                })
                .map_err(|_| ENOMEM)?;
        }
        assert!(wait_until(60_000, || race.running.load(Acquire) == 0));
        let st = &race.backup;
        let mut twice = 0u32;
        for (i, a) in race.accepted.iter().enumerate() {
            if a.load(Relaxed) != 1 {
                twice += 1;
                if twice <= 5 {
                    pr_err!("message {} accepted {} times\n", i + 1, a.load(Relaxed));
                }
            }
        }
        assert_eq!(twice, 0);
        let n = RACE_MSGS as u64;
        assert_eq!(counter(st, shim::IPVSA_CNT_RX_ACCEPTED), n);
        assert_eq!(
            counter(st, shim::IPVSA_CNT_RX_REPLAY),
            u64::from(WORKERS) * n - n
        );
        assert_eq!(counter(st, shim::IPVSA_CNT_RX_BAD_ICV), 0);
        assert_eq!(
            last(st, v.plain.get(1).copied().unwrap_or(0)),
            Some(RACE_MSGS as u32)
        );
        Ok(())
    }

    /// Shared by [`key_changes_do_not_wait_for_other_namespaces`].
    struct KeyChange {
        other: Pin<KBox<NetState>>,
        done: Atomic<i32>,
    }

    /// A key change waits for an RCU grace period under its namespace's
    /// configuration lock; another namespace's key change must not wait
    /// for that lock (an unprivileged user owns namespaces of its own).
    #[test]
    fn key_changes_do_not_wait_for_other_namespaces() -> Result {
        use kernel::sync::atomic::Release;
        use kernel::sync::Arc;
        use kernel::workqueue::system_unbound;

        let busy = keyed(b"busy namespace")?;
        let change = Arc::new(
            KeyChange {
                other: KBox::pin_init(NetState::new(), GFP_KERNEL)?,
                done: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let guard = busy.cfg.lock();
        let c = change.clone();
        system_unbound()
            .try_spawn(GFP_KERNEL, move || {
                let ok = c.other.set_key(b"other namespace").is_ok();
                c.done.store(if ok { 1 } else { -1 }, Release);
            })
            .map_err(|_| ENOMEM)?;
        wait_until(10_000, || change.done.load(Acquire) != 0);
        let done = change.done.load(Acquire);
        drop(guard);
        assert_eq!(done, 1);
        assert!(change.other.key.is_set());
        Ok(())
    }

    /// A namespace state in the extended format holding key `id` = `key`.
    fn ext_keyed(id: u8, key: &[u8]) -> Result<Pin<KBox<NetState>>> {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        st.ext_cmd(shim::IPVSA_EXT_MODE, 1, &[])?;
        st.ext_cmd(shim::IPVSA_EXT_ADD, u32::from(id), key)?;
        Ok(st)
    }

    /// Signs `plain` on `master` (thread 0); returns the buffer and length.
    fn ext_sign(master: &NetState, plain: &[u8]) -> Result<([u8; 160], usize)> {
        sign_on(master, plain, 0)
    }

    fn errno(r: Result) -> c_int {
        r.err().map_or(0, |e| e.to_errno())
    }

    /// The extended format against Python's pinned vectors, with the
    /// kernel's `hmac(md5)` (the body is in `sync_state/ext.rs`).
    #[test]
    fn ext_pinned_vectors_from_python() -> Result {
        assert_eq!(super::ext::kunit_pinned_vectors()?, 0);
        Ok(())
    }

    #[test]
    fn ext_round_trip_and_master_restart() -> Result {
        let plain = SYNC_VECTORS[0].plain;
        let backup = ext_keyed(1, b"ext key")?;
        let msr = ext_keyed(1, b"ext key")?;
        let (m1, n1) = ext_sign(&msr, plain)?;
        let m1 = m1.get(..n1).ok_or(EINVAL)?;
        assert_eq!(n1, plain.len() + 24);
        assert_eq!(m1.get(6..8), Some(&[0u8, 3][..]));
        let mut buf = [0u8; 128];
        let dst = buf.get_mut(..n1).ok_or(EINVAL)?;
        dst.copy_from_slice(m1);
        let off = backup.receive(dst, n1, 255, &RX_ANY)?;
        assert_eq!(off, 24);
        assert_eq!(buf.get(off..n1), Some(plain));
        // The master restarts: a fresh state, same key, nothing remembered.
        drop(msr);
        let msr = ext_keyed(1, b"ext key")?;
        let (m2, n2) = ext_sign(&msr, plain)?;
        assert!(receive(&backup, m2.get(..n2).ok_or(EINVAL)?, 255).is_ok());
        // The message captured before the restart stays a replay.
        assert!(receive(&backup, m1, 255).is_err());
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_REPLAY), 1);
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_ACCEPTED), 2);
        Ok(())
    }

    /// Each master thread is its own stream, named by the header's sender
    /// field, which the ICV covers.
    #[test]
    fn ext_streams_are_the_authenticated_sender() -> Result {
        let plain = SYNC_VECTORS[0].plain;
        let msr = ext_keyed(1, b"ext key")?;
        let backup = ext_keyed(1, b"ext key")?;
        let (a, na) = sign_on(&msr, plain, 0)?;
        let (b, nb) = sign_on(&msr, plain, 5)?;
        assert_eq!(b.get(10..12), Some(&[5u8, 0][..]));
        let (a, b) = (a.get(..na).ok_or(EINVAL)?, b.get(..nb).ok_or(EINVAL)?);
        // Thread 5's first message, then thread 0's, which is older:
        // separate streams, both accepted, then both replays.
        assert!(receive(&backup, b, 255).is_ok());
        assert!(receive(&backup, a, 255).is_ok());
        assert!(receive(&backup, a, 255).is_err());
        assert!(receive(&backup, b, 255).is_err());
        let streams = |st: &NetState| {
            let mut est = shim::ipvsa_ext_status::default();
            st.ext_status(&mut est);
            est.streams
        };
        assert_eq!(streams(&backup), 2);
        // Moving thread 0's message to another stream breaks its ICV.
        let mut moved = [0u8; 160];
        let dst = moved.get_mut(..na).ok_or(EINVAL)?;
        dst.copy_from_slice(a);
        if let Some(s) = dst.get_mut(10) {
            *s = 9;
        }
        assert!(receive(&backup, dst, 255).is_err());
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_BAD_ICV), 1);
        assert_eq!(streams(&backup), 2);
        Ok(())
    }

    #[test]
    fn ext_unknown_key_and_format_mismatch() -> Result {
        let v = &SYNC_VECTORS[0];
        let msr = ext_keyed(1, b"ext key")?;
        let (m, n) = ext_sign(&msr, v.plain)?;
        let m = m.get(..n).ok_or(EINVAL)?;
        // A backup without key 1: dropped before any hashing, no state.
        let other = ext_keyed(2, b"ext key")?;
        assert!(receive(&other, m, 255).is_err());
        let mut est = shim::ipvsa_ext_status::default();
        other.ext_status(&mut est);
        assert_eq!(est.rx_unknown_key, 1);
        assert_eq!(est.streams, 0);
        assert_eq!(counter(&other, shim::IPVSA_CNT_RX_BAD_ICV), 0);
        // A seed message to an extended backup, and an extended message to
        // a seed backup: bad header both ways.
        let backup = ext_keyed(1, b"ext key")?;
        assert!(receive(&backup, v.auth, 255).is_err());
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_BAD_HEADER), 1);
        let seed = keyed(b"ext key")?;
        assert!(receive(&seed, m, 255).is_err());
        assert_eq!(counter(&seed, shim::IPVSA_CNT_RX_BAD_HEADER), 1);
        // TTL first, as in the seed format.
        assert!(receive(&backup, m, 64).is_err());
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_BAD_TTL), 1);
        Ok(())
    }

    /// [`receive`] in rollout mode `rollout`.
    fn receive_in(st: &NetState, msg: &[u8], ttl: u8, rollout: Rollout) -> Result<usize> {
        receive_cfg(st, msg, ttl, &RxConfig { rollout, ..RX_ANY })
    }

    /// The backup's rollout modes: v1 plaintext passes (counted) in
    /// permissive and receive-only, never in enforce or both-formats; a
    /// message that says
    /// it is authenticated gets every check of its format in every mode,
    /// and a forged one is never passed as plaintext; the v0 layout and
    /// unknown `spare` bits go to the configured format.
    #[test]
    fn rollout_backup_takes_plaintext_and_both_formats() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let none = |st: &NetState, except: &[u32]| {
            (0..shim::IPVSA_CNT_MAX)
                .filter(|i| !except.contains(i))
                .all(|i| counter(st, i) == 0)
        };
        // Enforce: plaintext is a bad header.
        assert!(receive_in(&st, v.plain, 255, Rollout::Enforce).is_err());
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), 1);
        for mode in [
            Rollout::Permissive,
            Rollout::ReceiveOnly,
            Rollout::BothFormats,
        ] {
            let st = keyed(v.key)?;
            // Plaintext as is, whatever its TTL (stock IPVS sends 1); in
            // both-formats a bad header of the configured format.
            let (plain, hdr) = if mode.takes_plain() {
                assert!(!st.unverified());
                assert_eq!(receive_in(&st, v.plain, 1, mode)?, 0);
                // IPVS now holds what nobody verified, for good.
                assert!(st.unverified());
                assert_eq!(receive_in(&st, v.plain, 255, mode)?, 0);
                assert!(none(&st, &[shim::IPVSA_CNT_RX_PLAIN]));
                (2, 0)
            } else {
                assert!(receive_in(&st, v.plain, 255, mode).is_err());
                assert!(none(&st, &[shim::IPVSA_CNT_RX_BAD_HEADER]));
                (0, 1)
            };
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_PLAIN), plain);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), hdr);
            // A forged seed message (one ICV bit): bad ICV, not plaintext.
            let mut forged = [0u8; 160];
            let f = forged.get_mut(..v.auth.len()).ok_or(EINVAL)?;
            f.copy_from_slice(v.auth);
            if let Some(b) = f.get_mut(12) {
                *b ^= 1;
            }
            assert!(receive_in(&st, f, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 1);
            // The real one: TTL first, then accepted, then a replay.
            assert!(receive_in(&st, v.auth, 64, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_TTL), 1);
            assert_eq!(receive_in(&st, v.auth, 255, mode)?, AUTH_HDR_LEN);
            assert!(receive_in(&st, v.auth, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_REPLAY), 1);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 1);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_PLAIN), plain);
            // Other spare bits: the configured (seed) format's bad header.
            let mut odd = [0u8; 160];
            let o = odd.get_mut(..v.plain.len()).ok_or(EINVAL)?;
            o.copy_from_slice(v.plain);
            if let Some(b) = o.get_mut(7) {
                *b = 4;
            }
            assert!(receive_in(&st, o, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), hdr + 1);
            // The v0 layout has no flag: never taken as plaintext, but
            // checked as an authenticated v0 message (its "ICV" is wrong).
            let v0 = &SYNC_VECTORS[1];
            assert!(receive_in(&st, v0.plain, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_PLAIN), plain);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 2);
            // An extended message while the backup holds no extended key.
            let msr = ext_keyed(1, b"ext key")?;
            let (m, n) = ext_sign(&msr, v.plain)?;
            let m = m.get(..n).ok_or(EINVAL)?;
            assert!(receive_in(&st, m, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_NO_KEY), 1);
            // With extended key 1 added (the format stays seed): accepted,
            // and in enforce the same kind of message is a bad header.
            st.ext_cmd(shim::IPVSA_EXT_ADD, 1, b"ext key")?;
            assert!(!st.ext.is_ext());
            assert_eq!(receive_in(&st, m, 255, mode)?, EXT_AUTH_HDR_LEN);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_ACCEPTED), 2);
            let (m2, n2) = ext_sign(&msr, v.plain)?;
            let m2 = m2.get(..n2).ok_or(EINVAL)?;
            assert!(receive_in(&st, m2, 255, Rollout::Enforce).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), hdr + 2);
            // And the extended one forged: bad ICV, not plaintext.
            let mut forged = [0u8; 160];
            let f = forged.get_mut(..n2).ok_or(EINVAL)?;
            f.copy_from_slice(m2);
            if let Some(b) = f.last_mut() {
                *b ^= 1;
            }
            assert!(receive_in(&st, f, 255, mode).is_err());
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_ICV), 3);
            assert_eq!(receive_in(&st, m2, 255, mode)?, EXT_AUTH_HDR_LEN);
            assert_eq!(counter(&st, shim::IPVSA_CNT_RX_PLAIN), plain);
            assert_eq!(st.unverified(), mode.takes_plain());
        }
        // Without any key the hooks leave sync alone; the state takes
        // plaintext without counting it.
        let bare = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        assert_eq!(receive_in(&bare, v.plain, 1, Rollout::Permissive)?, 0);
        assert_eq!(counter(&bare, shim::IPVSA_CNT_RX_PLAIN), 0);
        assert!(!bare.unverified());
        Ok(())
    }

    /// The backup's per-source view: accepted messages with their SyncID
    /// and sequence number, and every kind of drop, land on the source
    /// the datagram names; the counters are counted as before.
    #[test]
    fn senders_view_counts_per_source() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let master = Source {
            addr: IpAddr::V4([10, 0, 3, 1]),
            port: 8848,
        };
        let other = Source {
            addr: IpAddr::V4([10, 0, 3, 66]),
            port: 8849,
        };
        let from = |st: &NetState, msg: &[u8], ttl: u8, src: Source| {
            receive_cfg(st, msg, ttl, &RxConfig { src, ..RX_ANY })
        };
        assert_eq!(from(&st, v.auth, 255, master)?, AUTH_HDR_LEN);
        // The same message again from elsewhere: a replay of `other`.
        assert!(from(&st, v.auth, 255, other).is_err());
        assert!(from(&st, v.auth, 64, other).is_err());
        // A forgery that claims the master's address: the master's drop.
        let mut forged = [0u8; 160];
        let f = forged.get_mut(..v.auth.len()).ok_or(EINVAL)?;
        f.copy_from_slice(v.auth);
        if let Some(b) = f.get_mut(3) {
            *b ^= 1;
        }
        assert!(from(&st, f, 255, master).is_err());
        let view = st.senders();
        let m = view.iter().find(|s| s.src == master).ok_or(EINVAL)?;
        assert_eq!((m.accepted, m.syncid, m.last_seq), (1, 150, 1));
        assert_eq!(m.drops, [0, 0, 1, 0, 0, 0, 0, 0]);
        let o = view.iter().find(|s| s.src == other).ok_or(EINVAL)?;
        assert_eq!((o.accepted, o.plain), (0, 0));
        assert_eq!(o.drops, [0, 1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(view.iter().count(), 2);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_REPLAY), 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_TTL), 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_HEADER), 1);
        // Plaintext in a rollout mode, and an unknown extended key.
        let cfg = RxConfig {
            src: other,
            rollout: Rollout::Permissive,
            ..RX_ANY
        };
        assert_eq!(receive_cfg(&st, v.plain, 1, &cfg)?, 0);
        let msr = ext_keyed(1, b"ext key")?;
        let (m1, n1) = ext_sign(&msr, v.plain)?;
        let backup = ext_keyed(2, b"ext key")?;
        assert!(from(&backup, m1.get(..n1).ok_or(EINVAL)?, 255, other).is_err());
        let view = st.senders();
        let o = view.iter().find(|s| s.src == other).ok_or(EINVAL)?;
        assert_eq!(o.plain, 1);
        let bview = backup.senders();
        let o = bview.iter().find(|s| s.src == other).ok_or(EINVAL)?;
        assert_eq!(o.drops, [0, 0, 0, 0, 0, 0, 0, 1]);
        Ok(())
    }

    /// A listed source's drops land on its line without the table's
    /// lock: counted while another holder has it, not as busy. An
    /// unlisted source's drop then finds the lock held and is busy.
    #[test]
    fn drop_lines_count_without_the_lock() -> Result {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        let src = |last: u8, port: u16| Source {
            addr: IpAddr::V4([10, 0, 3, last]),
            port,
        };
        st.drop_from_at(shim::IPVSA_CNT_RX_BAD_ICV, &src(1, 8848), 10);
        let held = st.senders.lock();
        for _ in 0..3 {
            st.drop_from_at(shim::IPVSA_CNT_RX_BAD_TTL, &src(1, 9000), 11);
        }
        st.drop_from_at(shim::IPVSA_CNT_RX_BAD_TTL, &src(2, 8848), 11);
        drop(held);
        assert_eq!(st.senders_busy(), 1);
        let view = st.senders();
        assert_eq!(view.iter().count(), 1);
        let s = view.iter().next().ok_or(EINVAL)?;
        assert_eq!(s.src, src(1, 9000));
        assert_eq!(s.drops, [0, 3, 0, 0, 1, 0, 0, 0]);
        assert_eq!(s.last_drop, 11);
        assert_eq!(counter(&st, shim::IPVSA_CNT_RX_BAD_TTL), 4);
        // The unknown-key reason (the counter past the last) too.
        st.drop_from_at(shim::IPVSA_CNT_MAX, &src(1, 9000), 12);
        let view = st.senders();
        let s = view.iter().next().ok_or(EINVAL)?;
        assert_eq!((s.drops[7], s.last_drop), (1, 12));
        Ok(())
    }

    /// When a slot goes to another source, what was counted there without
    /// the lock stays with the source that sent it: the new source starts
    /// from its own drop, a source that comes back starts afresh, and the
    /// slot given away is the one seen least recently, counting the drops
    /// counted outside the table.
    #[test]
    fn drop_lines_follow_slot_changes() -> Result {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        let src = |last: u8| Source {
            addr: IpAddr::V4([10, 0, 3, last]),
            port: 8848,
        };
        let ttl = shim::IPVSA_CNT_RX_BAD_TTL;
        let icv = shim::IPVSA_CNT_RX_BAD_ICV;
        // Eight sources fill the table, seen at 20..27.
        for k in 0..8u8 {
            st.drop_from_at(ttl, &src(k + 1), 20 + u64::from(k));
        }
        // Source 2 (seen at 21) has more drops at 21, source 1 (seen at
        // 20 in the table) one at 100: all outside the table.
        for _ in 0..5 {
            st.drop_from_at(icv, &src(2), 21);
        }
        st.drop_from_at(icv, &src(1), 100);
        assert_eq!(st.senders_busy(), 0);
        let view = st.senders();
        let two = view.iter().find(|s| s.src == src(2)).ok_or(EINVAL)?;
        assert_eq!(two.drops, [0, 1, 0, 0, 5, 0, 0, 0]);
        // A ninth source takes the slot of source 2, not of source 1.
        st.drop_from_at(ttl, &src(99), 101);
        let view = st.senders();
        assert_eq!(view.iter().count(), 8);
        assert!(view.iter().any(|s| s.src == src(1)));
        assert!(!view.iter().any(|s| s.src == src(2)));
        let new = view.iter().find(|s| s.src == src(99)).ok_or(EINVAL)?;
        assert_eq!(new.drops, [0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(new.last_drop, 101);
        // Its next drops count on its line, without the lock.
        st.drop_from_at(icv, &src(99), 102);
        // Source 2 comes back (in the slot of source 3, seen at 22): none
        // of its earlier drops.
        st.drop_from_at(icv, &src(2), 103);
        let view = st.senders();
        assert!(!view.iter().any(|s| s.src == src(3)));
        let two = view.iter().find(|s| s.src == src(2)).ok_or(EINVAL)?;
        assert_eq!(two.drops, [0, 0, 0, 0, 1, 0, 0, 0]);
        let new = view.iter().find(|s| s.src == src(99)).ok_or(EINVAL)?;
        assert_eq!(new.drops, [0, 1, 0, 0, 1, 0, 0, 0]);
        let one = view.iter().find(|s| s.src == src(1)).ok_or(EINVAL)?;
        assert_eq!((one.drops, one.last_drop), ([0, 1, 0, 0, 1, 0, 0, 0], 100));
        // Of the 17 drops, those of sources 2 (6) and 3 (1) before they
        // lost their slots are on no line; the rest are on theirs.
        let all: u64 = view.iter().flat_map(|s| s.drops).sum();
        assert_eq!(all, 17 - 6 - 1);
        assert_eq!(st.senders_busy(), 0);
        Ok(())
    }

    /// A drop whose source's line goes to another source between finding
    /// the line and counting on it (another CPU's drop from a new source
    /// took the line) is counted on no line: not on the new source's.
    #[test]
    fn drop_line_taken_meanwhile_counts_nothing() -> Result {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        let a = Source {
            addr: IpAddr::V4([10, 0, 3, 1]),
            port: 8848,
        };
        let b = addr_words(&IpAddr::V4([10, 0, 3, 2]));
        st.drop_from_at(shim::IPVSA_CNT_RX_BAD_TTL, &a, 10);
        let (i, gen) = st.lines.find(&addr_words(&a.addr)).ok_or(EINVAL)?;
        assert_eq!(st.lines.count_from(i, gen, None, 8848, 1, 11), Counted::Yes);
        // A CPU that read the count word before the line changed hands
        // fails its exchange; one that reads it after sees the new
        // generation.
        let before = st.lines.count_word(i, 1);
        st.lines.publish(&st.senders.lock(), i, &b);
        assert_eq!(
            st.lines.count_from(i, gen, before, 8848, 1, 12),
            Counted::Raced
        );
        assert_eq!(
            st.lines.count_from(i, gen, None, 8848, 1, 12),
            Counted::Raced
        );
        assert_eq!(st.lines.find(&b).map(|(j, _)| j), Some(i));
        assert_eq!(st.lines.find(&addr_words(&a.addr)), None);
        // The line's counts now are the new source's: none. (The table
        // still names the old one; a view adds the line's counts to it.)
        let view = st.senders();
        let s = view.iter().next().ok_or(EINVAL)?;
        assert_eq!((s.drops, s.last_drop), ([0, 1, 0, 0, 0, 0, 0, 0], 10));
        Ok(())
    }

    /// Shared by the threads of [`drop_lines_under_churn`].
    struct Churn {
        st: Pin<KBox<NetState>>,
        running: Atomic<i32>,
    }

    /// The counter of drop reason `r` (an index of the sender lines).
    fn reason_counter(r: usize) -> u32 {
        if r == 7 {
            shim::IPVSA_CNT_MAX
        } else {
            shim::IPVSA_CNT_RX_MALFORMED + r as u32
        }
    }

    /// Several CPUs drop datagrams at once, some from three sources that
    /// each have a reason of their own, one from ever new addresses that
    /// keep taking the lines away, while the test reads the lines: no line
    /// ever shows a drop of a reason its address never had, and no source
    /// more drops than it had. The totals stay exact. (Whether a drop met
    /// its line changing hands here is up to timing; the test above makes
    /// that happen.)
    #[test]
    fn drop_lines_under_churn() -> Result {
        use kernel::sync::Arc;
        use kernel::workqueue::system_unbound;

        const DROPS: u32 = 20_000;
        const SOURCES: u8 = 3;
        let churn = Arc::new(
            Churn {
                st: KBox::pin_init(NetState::new(), GFP_KERNEL)?,
                running: Atomic::new(i32::from(SOURCES) + 1),
            },
            GFP_KERNEL,
        )?;
        // Source k (10.0.4.k) drops with reason k; the churner
        // (10.0.5.x, x changing every 8 drops) with reason 7.
        for k in 0..=SOURCES {
            let c = churn.clone();
            system_unbound()
                .try_spawn(GFP_KERNEL, move || {
                    for i in 0..DROPS {
                        let (addr, r) = if k < SOURCES {
                            ([10, 0, 4, k], usize::from(k))
                        } else {
                            ([10, 0, 5, (i / 8 % 250) as u8], 7)
                        };
                        let src = Source {
                            addr: IpAddr::V4(addr),
                            port: 8848,
                        };
                        c.st.drop_from_at(reason_counter(r), &src, u64::from(i));
                    }
                    c.running.fetch_add(-1, Full);
                })
                .map_err(|_| ENOMEM)?;
        }
        let mut views = 0u32;
        let mut wrong = 0u32;
        let mut check = |view: &Senders| {
            for s in view.iter() {
                let own = match s.src.addr {
                    IpAddr::V4([10, 0, 4, k]) if k < SOURCES => usize::from(k),
                    _ => 7,
                };
                for (r, n) in s.drops.iter().enumerate() {
                    if (r != own && *n != 0) || *n > u64::from(DROPS) {
                        wrong += 1;
                    }
                }
            }
        };
        while churn.running.load(Acquire) > 0 {
            check(&churn.st.senders());
            views += 1;
            crate::kapi::sys::cond_resched();
        }
        check(&churn.st.senders());
        pr_info!(
            "drop lines under churn: {} views read, {} drops on no line\n",
            views,
            churn.st.senders_busy()
        );
        assert_eq!(wrong, 0);
        for r in 0..usize::from(SOURCES) {
            assert_eq!(counter(&churn.st, reason_counter(r)), u64::from(DROPS));
        }
        Ok(())
    }

    /// The master in receive-only sends what IPVS built (counted
    /// `tx_plain`), in the other modes it signs; the knob's values map to
    /// the modes, anything else to enforce.
    #[test]
    fn rollout_master_and_knob_values() -> Result {
        let v = &SYNC_VECTORS[0];
        let st = keyed(v.key)?;
        let mut buf = [0u8; 160];
        let len = v.plain.len();
        buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
        let cfg = TxConfig {
            rollout: Rollout::ReceiveOnly,
            ..cfg_for(v.plain)
        };
        assert_eq!(st.transmit(&mut buf, len, 0, &cfg)?, len);
        assert_eq!(buf.get(..len), Some(v.plain));
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_PLAIN), 1);
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_SIGNED), 0);
        // The sequence number was not used: the next signed message is 1.
        let cfg = TxConfig {
            rollout: Rollout::Permissive,
            ..cfg_for(v.plain)
        };
        assert_eq!(st.transmit(&mut buf, len, 0, &cfg)?, v.auth.len());
        assert_eq!(buf.get(..v.auth.len()), Some(v.auth));
        assert_eq!(counter(&st, shim::IPVSA_CNT_TX_SIGNED), 1);
        // Unkeyed: nothing to count.
        let bare = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
        let cfg = TxConfig {
            rollout: Rollout::ReceiveOnly,
            ..cfg_for(v.plain)
        };
        assert_eq!(bare.transmit(&mut buf, len, 0, &cfg)?, len);
        assert_eq!(counter(&bare, shim::IPVSA_CNT_TX_PLAIN), 0);
        for (k, m) in [
            (0, Rollout::Enforce),
            (1, Rollout::Permissive),
            (2, Rollout::ReceiveOnly),
            (3, Rollout::BothFormats),
            (4, Rollout::Enforce),
            (-1, Rollout::Enforce),
        ] {
            assert_eq!(Rollout::from_knob(k), m);
        }
        Ok(())
    }

    #[test]
    fn ext_rotation_keeps_replay_state_and_counts_per_key() -> Result {
        let plain = SYNC_VECTORS[0].plain;
        let msr = ext_keyed(1, b"old key")?;
        let backup = ext_keyed(1, b"old key")?;
        let (m1, n1) = ext_sign(&msr, plain)?;
        let m1 = m1.get(..n1).ok_or(EINVAL)?;
        assert!(receive(&backup, m1, 255).is_ok());
        // Phase 1 and 2 on both, master first: signed with key 2 now.
        for st in [&msr, &backup] {
            st.ext_cmd(shim::IPVSA_EXT_ADD, 2, b"new key")?;
        }
        for st in [&msr, &backup] {
            st.ext_cmd(shim::IPVSA_EXT_ACTIVATE, 2, &[])?;
        }
        let (m2, n2) = ext_sign(&msr, plain)?;
        assert_eq!(m2.get(8), Some(&2));
        assert!(receive(&backup, m2.get(..n2).ok_or(EINVAL)?, 255).is_ok());
        // The key operations did not reopen a replay window.
        assert!(receive(&backup, m1, 255).is_err());
        assert_eq!(counter(&backup, shim::IPVSA_CNT_RX_REPLAY), 1);
        // Phase 3: key 1 gone; per-key counters.
        backup.ext_cmd(shim::IPVSA_EXT_RETIRE, 1, &[])?;
        let mut est = shim::ipvsa_ext_status::default();
        backup.ext_status(&mut est);
        let k2 = est.keys.iter().find(|k| k.id == 2).ok_or(EINVAL)?;
        assert_eq!((k2.active, k2.rx_accepted), (1, 1));
        assert!(est.keys.iter().all(|k| k.id != 1));
        let mut est = shim::ipvsa_ext_status::default();
        msr.ext_status(&mut est);
        let tx: u64 = est.keys.iter().map(|k| k.tx_signed).sum();
        assert_eq!(tx, 2);
        Ok(())
    }

    #[test]
    fn ext_commands_validate() -> Result {
        let st = ext_keyed(1, b"k1")?;
        let add = |id: u32, key: &[u8]| st.ext_cmd(shim::IPVSA_EXT_ADD, id, key);
        assert_eq!(errno(add(0, b"k")), EINVAL.to_errno());
        assert_eq!(errno(add(256, b"k")), EINVAL.to_errno());
        assert_eq!(errno(add(2, &[])), EINVAL.to_errno());
        assert_eq!(errno(add(2, &[1u8; KEY_MAX + 1])), EINVAL.to_errno());
        assert_eq!(errno(add(1, b"again")), EEXIST.to_errno());
        add(2, b"k2")?;
        assert_eq!(errno(add(3, b"k3")), ENOSPC.to_errno());
        assert_eq!(
            errno(st.ext_cmd(shim::IPVSA_EXT_RETIRE, 1, &[])),
            EBUSY.to_errno()
        );
        assert_eq!(
            errno(st.ext_cmd(shim::IPVSA_EXT_RETIRE, 9, &[])),
            ENOENT.to_errno()
        );
        assert_eq!(
            errno(st.ext_cmd(shim::IPVSA_EXT_ACTIVATE, 9, &[])),
            ENOENT.to_errno()
        );
        assert_eq!(
            errno(st.ext_cmd(shim::IPVSA_EXT_MODE, 2, &[])),
            EINVAL.to_errno()
        );
        assert_eq!(errno(st.ext_cmd(99, 0, &[])), EINVAL.to_errno());
        assert!(st.keyed());
        st.ext_cmd(shim::IPVSA_EXT_CLEAR, 0, &[])?;
        assert!(!st.keyed());
        Ok(())
    }

    #[test]
    fn fingerprints_are_the_documented_hmac() -> Result {
        // HMAC-MD5("tot0234", "ip_vs_sync_auth key fingerprint"), first 8
        // bytes (Python's hmac).
        const TOT0234: [u8; log::FP_LEN] = [0xa0, 0x4c, 0x47, 0x3f, 0x1a, 0x8e, 0x96, 0x6d];
        fn fp(st: &NetState) -> Option<[u8; log::FP_LEN]> {
            st.view().seed_key.map(|f| f.0)
        }
        let a = keyed(b"tot0234")?;
        let b = keyed(b"tot0234")?;
        let c = keyed(b"tot0235")?;
        assert_eq!(fp(&a), Some(TOT0234));
        assert_eq!(fp(&b), fp(&a));
        assert!(fp(&c).is_some() && fp(&c) != fp(&a));
        // The same key in the extended format shows the same fingerprint.
        let x = ext_keyed(3, b"tot0234")?;
        let v = x.view();
        let k = v.ext_keys.iter().flatten().next().ok_or(EINVAL)?;
        assert!(v.ext && k.id == 3 && k.active && k.fp.0 == TOT0234);
        assert_eq!(v.streams, (0, 64));
        assert_eq!(fp(&x), None);
        // Cleared: none.
        a.set_key(&[])?;
        assert_eq!(fp(&a), None);
        Ok(())
    }

    #[test]
    fn ext_sequence_follows_the_clock_and_increases() -> Result {
        let st = ext_keyed(1, b"k1")?;
        let secs = realtime_ns() / 1_000_000_000;
        let first = st.ext.next_seq(0)?;
        assert!(first >> 32 == secs & 0xffff_ffff || first >> 32 == (secs + 1) & 0xffff_ffff);
        let mut prev = first;
        for _ in 0..1000 {
            let next = st.ext.next_seq(0)?;
            assert!(crate::proto::ext::seq_after(next, prev));
            prev = next;
        }
        assert!(st.ext.next_seq(MASTER_STREAMS).is_err());
        Ok(())
    }
}
