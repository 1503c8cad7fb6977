// SPDX-License-Identifier: GPL-2.0

//! The extended format in the kernel (opt-in per network namespace):
//! 64-bit time-based sequence numbers and key IDs, over
//! [`crate::proto::ext`].
//!
//! Keys live in two RCU-published slots; which ID is in which slot, and
//! which one is active, is decided by the pure [`KeyRing`] under a mutex
//! (process context). Readers (the hooks) find a key by the ID a message
//! names, or by the active ID, under the RCU read lock. The 64-bit replay
//! state is separate from the seed format's and is never cleared by a key
//! operation, only by [`shim::IPVSA_EXT_RESET_REPLAY`] or with the
//! namespace. Its streams are (SyncID, sending thread), both covered by
//! the ICV: each master thread numbers its own messages, which arrive in
//! order, so a number must be above the stream's highest (no window).

use super::log::{self, Fingerprint};
use super::{
    ExtKeyView, NetState, RxConfig, TxConfig, View, FINGERPRINT_LABEL, KEY_MAX, MASTER_STREAMS,
};
use crate::kapi::bhlock::{new_spinlock_bh, SpinLockBh};
use crate::kapi::hmac::HmacMd5;
use crate::kapi::inline_atomic::{InlineAdd, InlineAtomic};
use crate::kapi::rcu_box::RcuBox;
use crate::proto::ext::{self, KeyError, KeyRing, EXT_AUTH_HDR_LEN};
use crate::proto::icv::Mac;
use crate::proto::msg::DropReason;
use crate::proto::replay::{AdvanceError, ReplayTable, StreamId};
use crate::shim;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed, Release};
use kernel::sync::{new_mutex, Mutex};

/// Mode value of the extended format (`IPVSA_EXT_MODE` argument).
const MODE_EXT: u32 = 1;
/// Nanoseconds per second.
const NSEC_PER_SEC: u64 = 1_000_000_000;
/// Streams (SyncID, sending thread) a backup keeps replay state for.
const EXT_STREAMS: usize = 64;

/// One installed key of the extended format.
pub(super) struct ExtKey {
    id: u8,
    mac: HmacMd5,
    fp: Fingerprint,
    tx_signed: Atomic<u64>,
    rx_accepted: Atomic<u64>,
}

/// Extended-format state of a network namespace.
#[pin_data]
pub(super) struct ExtState {
    /// 0: seed format (default), [`MODE_EXT`]: extended format.
    mode: Atomic<u32>,
    slots: [RcuBox<ExtKey>; shim::IPVSA_EXT_KEYS as usize],
    /// ID of the key that signs, 0 if none.
    active: Atomic<u32>,
    /// Which ID is in which slot; serialises the key operations.
    #[pin]
    ring: Mutex<KeyRing<usize>>,
    /// Backup: highest sequence number accepted per stream.
    #[pin]
    replay: SpinLockBh<ReplayTable<EXT_STREAMS, 1, u64>>,
    /// Master: last sequence number sent, per sync thread.
    tx_seq: [Atomic<u64>; MASTER_STREAMS],
    unknown_key: Atomic<u64>,
    /// The second (plus one) of the last `unknown_key` drop, 0 if none.
    unknown_last: Atomic<u64>,
}

/// The errno for a refused key operation.
fn key_errno(e: KeyError) -> Error {
    match e {
        KeyError::BadId => EINVAL,
        KeyError::Exists => EEXIST,
        KeyError::Full => ENOSPC,
        KeyError::NotFound => ENOENT,
        KeyError::Active => EBUSY,
    }
}

impl ExtState {
    /// Seed format, no keys, no streams.
    pub(super) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            mode: Atomic::new(0),
            slots: [const { RcuBox::empty() }; shim::IPVSA_EXT_KEYS as usize],
            active: Atomic::new(0),
            ring <- new_mutex!(KeyRing::new(), "ip_vs_sync_auth_ext_keys"),
            replay <- new_spinlock_bh!(ReplayTable::new(), "ip_vs_sync_auth_ext_replay"),
            tx_seq: [const { Atomic::new(0) }; MASTER_STREAMS],
            unknown_key: Atomic::new(0),
            unknown_last: Atomic::new(0),
        })
    }

    /// Whether the namespace uses the extended format.
    pub(super) fn is_ext(&self) -> bool {
        self.mode.read_once() == MODE_EXT
    }

    /// Whether any extended-format key is installed.
    pub(super) fn has_key(&self) -> bool {
        self.slots.iter().any(RcuBox::is_set)
    }

    /// Runs `f` with the installed key `id`, if any, under the RCU read
    /// lock.
    fn with_key<R>(&self, id: u8, f: impl FnOnce(Option<&ExtKey>) -> R) -> R {
        let [a, b] = &self.slots;
        a.with(|ka| {
            b.with(|kb| {
                let key = [ka, kb].into_iter().flatten().find(|k| k.id == id);
                f(key)
            })
        })
    }

    /// The master's next sequence number for sync thread `stream`: the
    /// real-time clock's value, or one more than the last if that is not
    /// later.
    pub(super) fn next_seq(&self, stream: usize) -> Result<u64> {
        let ctr = self.tx_seq.get(stream).ok_or(EINVAL)?;
        let ns = crate::kapi::sys::realtime_ns();
        let nanos = u32::try_from(ns % NSEC_PER_SEC).unwrap_or(0);
        let now = ext::time_seq(ns / NSEC_PER_SEC, nanos);
        let mut cur = ctr.load(Relaxed);
        loop {
            let next = ext::next_seq(cur, now);
            match ctr.cmpxchg(cur, next, Relaxed) {
                Ok(_) => return Ok(next),
                Err(seen) => cur = seen,
            }
        }
    }
}

impl NetState {
    /// Master, extended format: see [`NetState::transmit`]. Counts its own
    /// errors.
    pub(super) fn transmit_ext(
        &self,
        buf: &mut [u8],
        len: usize,
        stream: usize,
        cfg: &TxConfig,
    ) -> Result<usize> {
        let id = u8::try_from(self.ext.active.read_acquire()).unwrap_or(0);
        self.ext.with_key(id, |key| {
            // No key of this format (keys installed but none active cannot
            // happen: the first key becomes active, the active one cannot
            // be retired): plaintext only if authentication is off.
            let Some(key) = key else {
                return self.unkeyed(len, shim::IPVSA_CNT_TX_ERROR);
            };
            let res = Self::own_message(buf, len, EXT_AUTH_HDR_LEN, cfg).and_then(|()| {
                let sender = u8::try_from(stream).map_err(|_| EINVAL)?;
                let seq = self.ext.next_seq(stream)?;
                let n = ext::tx_insert_ext_in_place(buf, len, key.id, sender, seq, &key.mac)
                    .map_err(|_| EINVAL)?;
                key.tx_signed.add_relaxed(1);
                Ok(n)
            });
            if res.is_err() {
                self.count(shim::IPVSA_CNT_TX_ERROR);
            }
            res
        })
    }

    /// Backup, extended format: see [`NetState::receive`]. Checks, cheapest
    /// first: length, TTL, header, key ID, sequence number, ICV.
    pub(super) fn receive_ext(
        &self,
        buf: &mut [u8],
        len: usize,
        ttl: u8,
        rx: &RxConfig,
    ) -> Result<usize> {
        if !self.ext.has_key() {
            return self.unkeyed_rx(rx);
        }
        if len > rx.maxlen.saturating_add(EXT_AUTH_HDR_LEN) {
            return Err(self.drop_rx(DropReason::Malformed, rx));
        }
        let msg = buf.get(..len).ok_or(EINVAL)?;
        let parsed = ext::rx_parse_ext(msg, ttl).map_err(|r| self.drop_rx(r, rx))?;
        let (seq, key_id, checked) = (parsed.seq(), parsed.key_id(), parsed.checked());
        let syncid = parsed.syncid();
        // The stream is named by fields the ICV covers.
        let stream = StreamId::ext(syncid, parsed.sender());
        let verified = self.ext.with_key(key_id, |key| {
            let Some(key) = key else {
                self.ext.unknown_key.add_relaxed(1);
                let now = crate::kapi::sys::uptime_secs();
                log::drop_seen(
                    &self.ext.unknown_last,
                    "rx_unknown_key",
                    &self.ext.unknown_key,
                    now,
                );
                self.drop_from_at(shim::IPVSA_CNT_MAX, &rx.src, now);
                return Err(ENOKEY);
            };
            self.ext
                .replay
                .lock()
                .check(&stream, seq, 0)
                .map_err(|r| self.drop_rx(r, rx))?;
            let Ok(Some(verified)) = ext::verify_checked_in_place(buf, &checked, &key.mac) else {
                return Err(self.drop_rx(DropReason::BadIcv, rx));
            };
            match self.ext.replay.lock().advance(&stream, seq, 0) {
                Ok(()) => {}
                Err(AdvanceError::Stale) => return Err(self.drop_rx(DropReason::Replay, rx)),
                Err(AdvanceError::Full) => {
                    self.drop_from(shim::IPVSA_CNT_RX_NO_STREAM, &rx.src);
                    return Err(ENOSPC);
                }
            }
            key.rx_accepted.add_relaxed(1);
            Ok(verified)
        })?;
        let off = ext::strip_verified(buf, verified).map_err(|r| self.drop_rx(r, rx))?;
        self.accepted_rx(rx, syncid, seq);
        Ok(off)
    }

    /// Runs one `IPVSA_EXT_*` command. Process context.
    pub(crate) fn ext_cmd(&self, op: u32, id: u32, key: &[u8]) -> Result {
        let x = &self.ext;
        match op {
            shim::IPVSA_EXT_MODE => {
                if id > MODE_EXT {
                    return Err(EINVAL);
                }
                let was = x.mode.xchg(id, Release);
                if was != id {
                    let name = |m: u32| if m == MODE_EXT { "extended" } else { "seed" };
                    let (now, before) = (name(id), name(was));
                    sync_info!("sync: format {} (was {})\n", now, before);
                }
                Ok(())
            }
            shim::IPVSA_EXT_ADD => {
                let id = u8::try_from(id).map_err(|_| EINVAL)?;
                if id == 0 || key.is_empty() || key.len() > KEY_MAX {
                    return Err(EINVAL);
                }
                let mut ring = x.ring.lock();
                // The ring decides, and names the slot: the transform is
                // only allocated for an operation that will succeed.
                let idx = ring.can_add(id).map_err(key_errno)?;
                let mac = HmacMd5::new(key)?;
                let fp = Fingerprint::of(&mac.mac(&[FINGERPRINT_LABEL])?);
                let new = KBox::new(
                    ExtKey {
                        id,
                        mac,
                        fp,
                        tx_signed: Atomic::new(0),
                        rx_accepted: Atomic::new(0),
                    },
                    GFP_KERNEL,
                )?;
                let slot = x.slots.get(idx).ok_or(EINVAL)?;
                ring.add(id, idx).map_err(key_errno)?;
                slot.replace(Some(new));
                let active = ring.active().map(|(a, _)| a);
                if let Some(active) = active {
                    x.active.store(u32::from(active), Release);
                }
                let role = if active == Some(id) { ", active" } else { "" };
                sync_info!(
                    "sync: extended key {} added, fingerprint {}{}\n",
                    id,
                    fp,
                    role
                );
                Ok(())
            }
            shim::IPVSA_EXT_ACTIVATE => {
                let id = u8::try_from(id).map_err(|_| EINVAL)?;
                let mut ring = x.ring.lock();
                ring.activate(id).map_err(key_errno)?;
                let was = x.active.xchg(u32::from(id), Release);
                if was != u32::from(id) {
                    sync_info!("sync: extended key {} active (was key {})\n", id, was);
                }
                Ok(())
            }
            shim::IPVSA_EXT_RETIRE => {
                let id = u8::try_from(id).map_err(|_| EINVAL)?;
                let mut ring = x.ring.lock();
                let idx = ring.retire(id).map_err(key_errno)?;
                x.slots.get(idx).ok_or(EINVAL)?.replace(None);
                sync_info!("sync: extended key {} retired\n", id);
                Ok(())
            }
            shim::IPVSA_EXT_CLEAR => {
                let mut ring = x.ring.lock();
                *ring = KeyRing::new();
                x.active.store(0, Release);
                let had = x.has_key();
                for s in &x.slots {
                    s.replace(None);
                }
                if had {
                    let now = if self.keyed() {
                        "the seed-format key stays"
                    } else {
                        "authentication off"
                    };
                    sync_info!("sync: extended keys cleared; {}\n", now);
                }
                Ok(())
            }
            shim::IPVSA_EXT_RESET_REPLAY => {
                x.replay.lock().clear();
                sync_info!("sync: extended-format replay state reset\n");
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }
}

impl ExtState {
    /// For `/proc`: the extended format's part of [`View`] (whether it
    /// is configured, its keys, its replay streams held and their
    /// capacity, `rx_unknown_key`); no seed key.
    pub(super) fn view(&self) -> View {
        let active = self.active.load(Relaxed);
        let mut keys = [None; shim::IPVSA_EXT_KEYS as usize];
        for (out, slot) in keys.iter_mut().zip(&self.slots) {
            *out = slot.with(|k| {
                k.map(|k| ExtKeyView {
                    id: k.id,
                    active: u32::from(k.id) == active,
                    fp: k.fp,
                })
            });
        }
        let streams = u32::try_from(self.replay.lock().len()).unwrap_or(u32::MAX);
        View {
            ext: self.is_ext(),
            seed_key: None,
            ext_keys: keys,
            streams: (streams, EXT_STREAMS as u32),
            unknown_key: self.unknown_key.load(Relaxed),
        }
    }
}

impl NetState {
    /// Fills the extended-format status.
    pub(crate) fn ext_status(&self, st: &mut shim::ipvsa_ext_status) {
        let x = &self.ext;
        st.version = shim::IPVSA_EXT_STATUS_VERSION;
        st.mode = x.mode.load(Relaxed);
        st.streams = u32::try_from(x.replay.lock().len()).unwrap_or(u32::MAX);
        st.rx_unknown_key = x.unknown_key.load(Relaxed);
        let active = x.active.load(Relaxed);
        for (out, slot) in st.keys.iter_mut().zip(&x.slots) {
            slot.with(|k| match k {
                Some(k) => {
                    out.id = u32::from(k.id);
                    out.active = u32::from(u32::from(k.id) == active);
                    out.tx_signed = k.tx_signed.load(Relaxed);
                    out.rx_accepted = k.rx_accepted.load(Relaxed);
                }
                None => *out = shim::ipvsa_ext_key_status::default(),
            });
        }
    }
}

/// Body of the KUnit case `ext_pinned_vectors_from_python` (suite
/// `ip_vs_sync_auth_sync`, in `sync_state.rs`): the module's extended
/// format, with the kernel's `hmac(md5)`, against the messages Python
/// computed from the documented layout ([`EXT_VECTORS`],
/// `tests/vectors/ext_vectors.py`). Per vector: signing with the pinned
/// key ID, thread and sequence number gives the pinned bytes (three MAC
/// updates, and one); where the clock allows (the vector is numbered
/// after now), so does the whole master path; a backup with the key
/// accepts the message, strips it to the plaintext and takes it once; a
/// backup whose key is one bit off drops it as a bad ICV. Returns how many
/// checks failed, each logged with its vector.
///
/// [`EXT_VECTORS`]: crate::proto::vectors::EXT_VECTORS
#[cfg(CONFIG_KUNIT = "y")]
pub(super) fn kunit_pinned_vectors() -> Result<u32> {
    use super::RX_ANY;
    use crate::proto::icv::MAC_ROOM;
    use crate::proto::vectors::{ExtVector, EXT_VECTORS};

    fn keyed(id: u8, key: &[u8]) -> Result<Pin<KBox<NetState>>> {
        let st = KBox::pin_init(NetState::new(), GFP_KERNEL)?;
        st.ext_cmd(shim::IPVSA_EXT_MODE, MODE_EXT, &[])?;
        st.ext_cmd(shim::IPVSA_EXT_ADD, u32::from(id), key)?;
        Ok(st)
    }
    fn counter(st: &NetState, idx: u32) -> u64 {
        usize::try_from(idx)
            .ok()
            .and_then(|i| st.counters.get(i))
            .map_or(u64::MAX, |c| c.load(Relaxed))
    }
    fn expect(ok: bool, failed: &mut u32, v: &ExtVector, what: &str) {
        if !ok {
            pr_err!("ext vector \"{}\": {}\n", v.name, what);
            *failed += 1;
        }
    }

    let mut failed = 0u32;
    let mut master_paths = 0u32;
    for v in &EXT_VECTORS {
        let len = v.plain.len();
        let mac = HmacMd5::new(v.key)?;
        for room in [EXT_AUTH_HDR_LEN, EXT_AUTH_HDR_LEN + MAC_ROOM] {
            let mut buf = [0u8; 256];
            buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
            let n = ext::tx_insert_ext_in_place(
                buf.get_mut(..len + room).ok_or(EINVAL)?,
                len,
                v.key_id,
                v.sender,
                v.seq,
                &mac,
            )
            .map_err(|_| EINVAL)?;
            expect(
                buf.get(..n) == Some(v.auth),
                &mut failed,
                v,
                "signed bytes differ",
            );
        }

        // The master path: the thread's last number is set to one below
        // the vector's, which is then its next if the clock is not later.
        let master = keyed(v.key_id, v.key)?;
        let stream = usize::from(v.sender);
        let now = master.ext.next_seq(stream)?;
        if ext::seq_after(v.seq.wrapping_sub(1), now.wrapping_add(60 << 32)) {
            master
                .ext
                .tx_seq
                .get(stream)
                .ok_or(EINVAL)?
                .store(v.seq.wrapping_sub(1), Relaxed);
            let mut buf = [0u8; 256];
            buf.get_mut(..len).ok_or(EINVAL)?.copy_from_slice(v.plain);
            let cfg = TxConfig {
                version: 1,
                syncid: v.plain.get(1).copied().ok_or(EINVAL)?,
                max_len: 65535 - 28,
                rollout: super::Rollout::Enforce,
            };
            let room = EXT_AUTH_HDR_LEN + MAC_ROOM;
            let n = master.transmit(buf.get_mut(..len + room).ok_or(EINVAL)?, len, stream, &cfg)?;
            expect(
                buf.get(..n) == Some(v.auth),
                &mut failed,
                v,
                "master path differs",
            );
            expect(
                counter(&master, shim::IPVSA_CNT_TX_SIGNED) == 1,
                &mut failed,
                v,
                "master path not counted",
            );
            master_paths += 1;
        }

        let backup = keyed(v.key_id, v.key)?;
        for pass in 0..2 {
            let mut buf = [0u8; 256];
            let n = v.auth.len();
            buf.get_mut(..n).ok_or(EINVAL)?.copy_from_slice(v.auth);
            let r = backup.receive(&mut buf, n, 255, &RX_ANY);
            if pass == 0 {
                expect(
                    r.ok() == Some(EXT_AUTH_HDR_LEN),
                    &mut failed,
                    v,
                    "not accepted",
                );
                let plain = buf.get(EXT_AUTH_HDR_LEN..n);
                expect(
                    plain == Some(v.plain),
                    &mut failed,
                    v,
                    "stripped bytes differ",
                );
            } else {
                expect(r.is_err(), &mut failed, v, "accepted twice");
            }
        }
        expect(
            counter(&backup, shim::IPVSA_CNT_RX_ACCEPTED) == 1
                && counter(&backup, shim::IPVSA_CNT_RX_REPLAY) == 1,
            &mut failed,
            v,
            "backup counters",
        );

        let mut key = [0u8; KEY_MAX];
        let key = key.get_mut(..v.key.len()).ok_or(EINVAL)?;
        key.copy_from_slice(v.key);
        if let Some(b) = key.last_mut() {
            *b ^= 0x01;
        }
        let other = keyed(v.key_id, key)?;
        let mut buf = [0u8; 256];
        let n = v.auth.len();
        buf.get_mut(..n).ok_or(EINVAL)?.copy_from_slice(v.auth);
        expect(
            other.receive(&mut buf, n, 255, &RX_ANY).is_err()
                && counter(&other, shim::IPVSA_CNT_RX_BAD_ICV) == 1
                && counter(&other, shim::IPVSA_CNT_RX_ACCEPTED) == 0,
            &mut failed,
            v,
            "accepted with a key one bit off",
        );
    }
    // The first vector is numbered in 2065: until then at least it takes
    // the master path.
    expect(
        master_paths > 0,
        &mut failed,
        &EXT_VECTORS[0],
        "no vector took the master path",
    );
    Ok(failed)
}
