// SPDX-License-Identifier: GPL-2.0

//! Anti-replay state of the backup.
//!
//! A stream is named only by fields the ICV covers ([`StreamId`]): the
//! message's SyncID and, in the extended format, the master's sync thread
//! that the extended header carries. Nothing the network adds (source
//! address, destination port, interface) takes part, so a captured message
//! re-sent from another address or to another port lands in the stream it
//! was accepted in and is a replay there. Streams are created only after
//! the ICV verified: an attacker without the key can neither create, move
//! nor advance them.
//!
//! Per stream the table keeps the highest sequence number accepted and,
//! below it, up to `64 * W` numbers with one bit each (RFC 4303 Appendix
//! A). A caller says how far below the highest a number may be
//! (`window`): a number above the highest is new; one within the window is
//! new if its bit is clear; anything older is a replay. Every number is
//! accepted at most once. With a window of 0 only numbers above the
//! highest pass, as the seed specifies. The seed format's master numbers
//! all its sync threads' messages from one counter ("the syncd maintains a
//! local sequence counter"), so with several threads their messages may
//! overtake each other: the backup gives [`seed_window`] numbers per
//! thread. A window also lets a message that an attacker held back arrive
//! late, as long as it is within the window: that is why it is no larger.
//!
//! The seed format's state belongs to a key ([`KeyedReplay`],
//! [`KeyGenerations`]): installing a key that differs from the previous
//! ones starts a new generation, whose first message empties the backup's
//! table; installing a key again keeps its generation unless another key
//! has used the table since.
//!
//! The table has a fixed capacity and never allocates. New streams never
//! evict known ones: when the table is full, messages of new streams are
//! refused. Only a key holder can fill it.
//!
//! The backup first runs [`ReplayTable::check`] (cheap, under the lock),
//! then verifies the ICV, and only then calls [`ReplayTable::advance`]
//! (under the lock again), which checks again because another CPU may have
//! accepted the same number in between.

use super::msg::DropReason;
use core::fmt::Debug;

/// A sequence number type and its order.
pub trait Seq: Copy + Eq + Debug {
    /// The number no master sends.
    const ZERO: Self;
    /// Whether `self` comes after `other`.
    fn after(self, other: Self) -> bool;
    /// How far `self` is ahead of `other`, which it must not precede.
    fn ahead_of(self, other: Self) -> u64;
    /// The number's low bits (all of them), for its place in a window.
    fn low(self) -> u64;
}

/// The seed format's 32-bit numbers: plain order, no wrap-around.
impl Seq for u32 {
    const ZERO: Self = 0;
    fn after(self, other: Self) -> bool {
        self > other
    }
    fn ahead_of(self, other: Self) -> u64 {
        u64::from(self.wrapping_sub(other))
    }
    fn low(self) -> u64 {
        u64::from(self)
    }
}

/// The extended format's 64-bit numbers: RFC 1982 serial arithmetic
/// ([`super::ext::seq_after`]).
impl Seq for u64 {
    const ZERO: Self = 0;
    fn after(self, other: Self) -> bool {
        super::ext::seq_after(self, other)
    }
    fn ahead_of(self, other: Self) -> u64 {
        self.wrapping_sub(other)
    }
    fn low(self) -> u64 {
        self
    }
}

/// Identifies one stream of sync messages by what the ICV covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    /// The SyncID of the IPVS header (byte 1 in v0 and v1 messages).
    pub syncid: u8,
    /// The master's sync thread as the extended header names it; 0 in the
    /// seed format, whose master numbers all threads from one counter.
    pub sender: u8,
}

impl StreamId {
    /// The stream of a seed-format message with SyncID `syncid`.
    pub const fn seed(syncid: u8) -> Self {
        StreamId { syncid, sender: 0 }
    }

    /// The stream of an extended-format message.
    pub const fn ext(syncid: u8, sender: u8) -> Self {
        StreamId { syncid, sender }
    }
}

/// Why [`ReplayTable::advance`] refused a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceError {
    /// The sequence number was accepted before (possibly by another CPU
    /// since [`ReplayTable::check`]), is older than the window, or is 0.
    /// The message must be dropped as [`DropReason::Replay`].
    Stale,
    /// The stream is new and the table is full. The message must be dropped.
    Full,
}

/// One stream: the highest number accepted and the window below it.
#[derive(Debug, Clone, Copy)]
struct Slot<S, const W: usize> {
    id: StreamId,
    top: S,
    /// A ring of `64 * W` bits: number `n` of the window (`top` and the
    /// `64 * W - 1` below it) has bit `n % (64 * W)` (word `/ 64`, bit
    /// `% 64`), set if `n` was accepted. Moving `top` up clears the bits
    /// of the numbers it passes and moves nothing, so a message in order
    /// costs one word's change, not a shift of all `W`.
    seen: [u64; W],
}

impl<S: Seq, const W: usize> Slot<S, W> {
    const EMPTY: Slot<S, W> = Slot {
        id: StreamId::seed(0),
        top: S::ZERO,
        seen: [0; W],
    };

    /// The window's width in numbers. `W` must be a power of two (checked
    /// at build time), so that a number's bit is the same before and
    /// after the 32- or 64-bit arithmetic wraps.
    const BITS: u64 = {
        assert!(W.is_power_of_two());
        64 * W as u64
    };

    /// Word and mask of number `n`'s bit.
    fn bit(n: S) -> (usize, u64) {
        let p = n.low() % Self::BITS;
        ((p / 64) as usize, 1 << (p % 64))
    }

    /// A new stream whose first accepted number is `seq`.
    fn first(id: StreamId, seq: S) -> Self {
        let mut slot = Slot {
            id,
            top: seq,
            seen: [0; W],
        };
        slot.set(seq);
        slot
    }

    /// Sets number `n`'s bit.
    fn set(&mut self, n: S) {
        let (w, m) = Self::bit(n);
        if let Some(word) = self.seen.get_mut(w) {
            *word |= m;
        }
    }

    /// How far below `top` `seq` is, if it is within the window and not
    /// above `top`; `None` if `seq` is after `top`.
    fn offset(&self, seq: S) -> Option<u64> {
        if seq.after(self.top) {
            None
        } else {
            Some(self.top.ahead_of(seq))
        }
    }

    /// Whether `seq`, `d` below the top, was accepted; anything beyond
    /// the window counts as accepted (too old to tell).
    fn is_seen(&self, seq: S, d: u64) -> bool {
        if d >= Self::BITS {
            return true;
        }
        let (w, m) = Self::bit(seq);
        self.seen.get(w).is_none_or(|word| word & m != 0)
    }

    /// Whether `seq` may be accepted, at most `window` below the top.
    fn fresh(&self, seq: S, window: u64) -> bool {
        match self.offset(seq) {
            None => true,
            Some(d) => d <= window && !self.is_seen(seq, d),
        }
    }

    /// Records `seq`, which [`Self::fresh`] allowed.
    fn record(&mut self, seq: S) {
        match self.offset(seq) {
            Some(d) => {
                if d < Self::BITS {
                    self.set(seq);
                }
            }
            None => {
                self.clear_after_top(seq.ahead_of(self.top));
                self.set(seq);
                self.top = seq;
            }
        }
    }

    /// Clears the bits of the `n` numbers after `top`, which leave the
    /// window's bottom as `top` moves up by `n`.
    fn clear_after_top(&mut self, n: u64) {
        if n >= Self::BITS {
            self.seen = [0; W];
            return;
        }
        let mut p = self.top.low().wrapping_add(1) % Self::BITS;
        let mut left = n;
        while left > 0 {
            let bit = p % 64;
            let take = (64 - bit).min(left);
            let mask = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << bit
            };
            if let Some(word) = self.seen.get_mut((p / 64) as usize) {
                *word &= !mask;
            }
            left -= take;
            p = (p + take) % Self::BITS;
        }
    }
}

/// Replay state of up to `N` streams, with a window of `64 * W` numbers
/// each.
///
/// The table does no locking of its own: the caller serialises
/// [`Self::advance`] and [`Self::clear`] against everything else.
#[derive(Debug, Clone)]
pub struct ReplayTable<const N: usize, const W: usize, S: Seq = u32> {
    /// `slots[..len]` are in use.
    slots: [Slot<S, W>; N],
    len: usize,
}

impl<const N: usize, const W: usize, S: Seq> Default for ReplayTable<N, W, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const W: usize, S: Seq> ReplayTable<N, W, S> {
    /// The widest window: numbers below the highest accepted one that the
    /// table remembers.
    pub const WINDOW: u64 = 64 * W as u64 - 1;

    /// An empty table.
    pub const fn new() -> Self {
        ReplayTable {
            slots: [Slot::EMPTY; N],
            len: 0,
        }
    }

    /// The slots in use.
    fn used(&self) -> &[Slot<S, W>] {
        self.slots.get(..self.len).unwrap_or(&[])
    }

    fn find(&self, id: &StreamId) -> Option<&Slot<S, W>> {
        self.used().iter().find(|s| s.id == *id)
    }

    /// The highest sequence number accepted from `id`, if the stream is
    /// known.
    pub fn last(&self, id: &StreamId) -> Option<S> {
        self.find(id).map(|s| s.top)
    }

    /// Checks `seq` of stream `id`, before the ICV is verified; `window`
    /// (at most [`Self::WINDOW`]) is how far below the highest number
    /// accepted a new one may be.
    ///
    /// Returns [`DropReason::Replay`] if `seq` is 0 (masters start at 1),
    /// was accepted before, or is older than the window. A new stream
    /// passes (whether there is room for it is only known, and only
    /// matters, at [`Self::advance`]).
    pub fn check(&self, id: &StreamId, seq: S, window: u64) -> Result<(), DropReason> {
        if seq == S::ZERO {
            return Err(DropReason::Replay);
        }
        match self.find(id) {
            Some(slot) if !slot.fresh(seq, window) => Err(DropReason::Replay),
            _ => Ok(()),
        }
    }

    /// Records `seq` as accepted from stream `id`, once its ICV has
    /// verified.
    ///
    /// Checks again as [`Self::check`] does, since another CPU may have
    /// accepted it meanwhile ([`AdvanceError::Stale`]), and adds the stream
    /// if it is new, unless the table is full ([`AdvanceError::Full`]). On
    /// error the table is unchanged.
    pub fn advance(&mut self, id: &StreamId, seq: S, window: u64) -> Result<(), AdvanceError> {
        if seq == S::ZERO {
            return Err(AdvanceError::Stale);
        }
        let len = self.len;
        let used = self.slots.get_mut(..len).unwrap_or(&mut []);
        if let Some(slot) = used.iter_mut().find(|s| s.id == *id) {
            if !slot.fresh(seq, window) {
                return Err(AdvanceError::Stale);
            }
            slot.record(seq);
            return Ok(());
        }
        let slot = self.slots.get_mut(len).ok_or(AdvanceError::Full)?;
        *slot = Slot::first(*id, seq);
        self.len = len.checked_add(1).ok_or(AdvanceError::Full)?;
        Ok(())
    }

    /// Number of known streams.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no stream is known.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of streams, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Forgets every stream. O(1): a slot past `len` is rewritten whole
    /// before it is used again.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// The seed format's replay state, which belongs to one key.
///
/// Each installation of a key that differs from the previous one gets a
/// new generation number (1, 2, ...; see the module's key handling). The
/// table holds the state of one generation: a message verified with the
/// key of a newer generation empties it first, one of an older generation
/// (verified with a key that was replaced meanwhile) is refused, so the
/// switch to a new sequence space is atomic for every receiver without
/// waiting for them.
#[derive(Debug, Clone)]
pub struct KeyedReplay<const N: usize, const W: usize> {
    gen: u32,
    table: ReplayTable<N, W, u32>,
}

impl<const N: usize, const W: usize> Default for KeyedReplay<N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const W: usize> KeyedReplay<N, W> {
    /// No generation yet (0), no streams.
    pub const fn new() -> Self {
        KeyedReplay {
            gen: 0,
            table: ReplayTable::new(),
        }
    }

    /// The table, if it belongs to generation `gen`.
    pub fn table(&self, gen: u32) -> Option<&ReplayTable<N, W, u32>> {
        (self.gen == gen).then_some(&self.table)
    }

    /// [`ReplayTable::check`] for a message verified with the key of
    /// generation `gen`: a newer generation's table is empty.
    pub fn check(&self, gen: u32, id: &StreamId, seq: u32, window: u64) -> Result<(), DropReason> {
        if gen == self.gen {
            self.table.check(id, seq, window)
        } else if gen > self.gen {
            // The new generation's table is empty: only 0 is refused.
            if seq == 0 {
                Err(DropReason::Replay)
            } else {
                Ok(())
            }
        } else {
            Err(DropReason::Replay)
        }
    }

    /// [`ReplayTable::advance`] for generation `gen`: the first message of
    /// a newer generation starts it with an empty table; an older
    /// generation is [`AdvanceError::Stale`].
    pub fn advance(
        &mut self,
        gen: u32,
        id: &StreamId,
        seq: u32,
        window: u64,
    ) -> Result<(), AdvanceError> {
        if gen < self.gen {
            return Err(AdvanceError::Stale);
        }
        if gen > self.gen {
            // Checked first so that a refused message leaves no trace.
            if seq == 0 {
                return Err(AdvanceError::Stale);
            }
            self.table.clear();
            self.gen = gen;
        }
        self.table.advance(id, seq, window)
    }

    /// Forgets the current generation's streams (the benchmark replays
    /// one ring of messages over and over).
    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// The generation the table belongs to.
    pub fn gen(&self) -> u32 {
        self.gen
    }

    /// Number of known streams (of the current generation).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no stream is known.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Maximum number of streams.
    pub const fn capacity(&self) -> usize {
        N
    }
}

/// Numbers a message of a seed-format master's thread may be behind the
/// newest one accepted, per other thread (see [`seed_window`]).
pub const REORDER_PER_THREAD: u64 = 32;

/// How far below the highest number accepted a seed-format backup with
/// `threads` sync threads (IPVS's `sync_ports`, which must match the
/// master's) accepts a number: 0 for one thread (strictly increasing, as
/// the seed specifies), [`REORDER_PER_THREAD`] more for each further
/// thread, at most `max`.
pub fn seed_window(threads: u32, max: u64) -> u64 {
    (u64::from(threads.saturating_sub(1)) * REORDER_PER_THREAD).min(max)
}

/// A key's fingerprint: tells keys apart without keeping them.
pub type Fingerprint = [u8; 16];

/// The generations of the seed-format keys a namespace installed last,
/// newest first, so that installing a key again keeps its sequence space
/// unless another key has used the backup's table since (a key installed
/// by mistake and replaced before it verified anything leaves nothing
/// behind).
#[derive(Debug, Clone)]
pub struct KeyGenerations<const N: usize> {
    /// `keys[..len]`: fingerprint and generation, newest first.
    keys: [(Fingerprint, u32); N],
    len: usize,
    /// The last generation handed out (0: none yet).
    last: u32,
}

impl<const N: usize> Default for KeyGenerations<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> KeyGenerations<N> {
    /// No key installed yet.
    pub const fn new() -> Self {
        KeyGenerations {
            keys: [([0; 16], 0); N],
            len: 0,
            last: 0,
        }
    }

    /// The generation of key `fp` being installed, given `owner`, the
    /// generation the backup's table belongs to ([`KeyedReplay::gen`]):
    /// the key's earlier generation if no newer generation has used the
    /// table since, else a new one. Records `fp` as the newest key.
    /// Returns the generation and whether it is new; `None` once 2^32 - 1
    /// generations have been handed out.
    pub fn install(&mut self, fp: Fingerprint, owner: u32) -> Option<(u32, bool)> {
        let known = self
            .keys
            .get(..self.len)
            .and_then(|k| k.iter().position(|(f, _)| *f == fp));
        let (gen, new) = match known.and_then(|i| self.keys.get(i)) {
            Some(&(_, g)) if owner <= g => (g, false),
            _ => {
                self.last = self.last.checked_add(1)?;
                (self.last, true)
            }
        };
        // Move (or insert) the key to the front; the oldest falls off.
        let from = known.unwrap_or(self.len.min(N.saturating_sub(1)));
        if let Some(window) = self.keys.get_mut(..=from) {
            window.rotate_right(1);
            if let Some(first) = window.first_mut() {
                *first = (fp, gen);
            }
        }
        if known.is_none() && self.len < N {
            self.len += 1;
        }
        Some((gen, new))
    }

    /// The generation of the newest key, if any.
    pub fn newest(&self) -> Option<u32> {
        self.keys.get(..self.len)?.first().map(|&(_, g)| g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::vec::Vec;

    const A: StreamId = StreamId::seed(150);
    /// A window as large as the table remembers.
    const ALL: u64 = u64::MAX;
    /// The seed format's shape: a window of 1024.
    type Seed = ReplayTable<4, 16, u32>;

    #[test]
    fn stream_ids_come_from_authenticated_fields_only() {
        assert_eq!(StreamId::seed(7), StreamId::ext(7, 0));
        assert_ne!(StreamId::seed(7), StreamId::seed(8));
        assert_ne!(StreamId::ext(7, 1), StreamId::ext(7, 2));
    }

    #[test]
    fn new_table_is_empty_and_const() {
        static TABLE: ReplayTable<4, 1> = ReplayTable::new();
        assert!(TABLE.is_empty());
        assert_eq!(TABLE.len(), 0);
        assert_eq!(TABLE.capacity(), 4);
        assert_eq!(TABLE.check(&A, 1, ALL), Ok(()));
        let d: ReplayTable<4, 1> = ReplayTable::default();
        assert!(d.is_empty());
        assert_eq!(Seed::WINDOW, 1023);
    }

    #[test]
    fn each_number_once_in_any_order_within_the_window() {
        let mut t = Seed::new();
        // 1..=20 delivered as 20, 1, 19, 2, 18, 3, ...: all accepted once.
        let mut order = Vec::new();
        for i in 0..10 {
            order.push(20 - i);
            order.push(1 + i);
        }
        for &s in &order {
            assert_eq!(t.check(&A, s, ALL), Ok(()), "seq {s}");
            assert_eq!(t.advance(&A, s, ALL), Ok(()), "seq {s}");
        }
        for s in 0..=20 {
            assert_eq!(t.check(&A, s, ALL), Err(DropReason::Replay), "seq {s}");
            assert_eq!(t.advance(&A, s, ALL), Err(AdvanceError::Stale), "seq {s}");
        }
        assert_eq!(t.last(&A), Some(20));
        assert_eq!(t.check(&A, 21, ALL), Ok(()));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn older_than_the_window_is_a_replay() {
        let mut t = Seed::new();
        t.advance(&A, 5000, ALL).unwrap();
        // 5000 - 1023 is the oldest number the window remembers.
        assert_eq!(t.check(&A, 5000 - 1023, ALL), Ok(()));
        assert_eq!(t.check(&A, 5000 - 1024, ALL), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, 5000 - 1024, ALL), Err(AdvanceError::Stale));
        t.advance(&A, 5000 - 1023, ALL).unwrap();
        assert_eq!(t.check(&A, 5000 - 1023, ALL), Err(DropReason::Replay));
        // A jump forward by more than the window forgets the bits but not
        // the order: everything at or below the old top is too old now.
        t.advance(&A, 10_000, ALL).unwrap();
        assert_eq!(t.check(&A, 5000, ALL), Err(DropReason::Replay));
        assert_eq!(t.check(&A, 9999, ALL), Ok(()));
        assert_eq!(t.check(&A, 10_000 - 1023, ALL), Ok(()));
    }

    #[test]
    fn window_shifts_across_words() {
        // Shifts of every size from 1 to beyond the window keep exactly the
        // numbers accepted within it.
        for step in [1u32, 2, 63, 64, 65, 127, 128, 500, 1023, 1024, 1025, 4000] {
            let mut t = Seed::new();
            let mut accepted = BTreeSet::new();
            let mut s = 1u32;
            for _ in 0..20 {
                t.advance(&A, s, ALL).unwrap();
                accepted.insert(s);
                s += step;
            }
            let top = t.last(&A).unwrap();
            for probe in top.saturating_sub(1100)..=top + 2 {
                let in_window = probe > top || top - probe < 1024;
                let want = if probe != 0 && in_window && !accepted.contains(&probe) {
                    Ok(())
                } else {
                    Err(DropReason::Replay)
                };
                assert_eq!(
                    t.check(&A, probe, ALL),
                    want,
                    "step {step} probe {probe} top {top}"
                );
            }
        }
    }

    #[test]
    fn seq_zero_is_never_valid() {
        let mut t = Seed::new();
        assert_eq!(t.check(&A, 0, ALL), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, 0, ALL), Err(AdvanceError::Stale));
        assert!(t.is_empty());
    }

    #[test]
    fn u32_has_no_wrap_around() {
        let mut t = Seed::new();
        t.advance(&A, u32::MAX, ALL).unwrap();
        assert_eq!(t.check(&A, 0, ALL), Err(DropReason::Replay));
        assert_eq!(t.check(&A, 1, ALL), Err(DropReason::Replay));
        assert_eq!(t.check(&A, u32::MAX, ALL), Err(DropReason::Replay));
        assert_eq!(t.check(&A, u32::MAX - 1, ALL), Ok(()));
    }

    /// The extended format's table orders in serial arithmetic: across the
    /// 64-bit wrap a larger-looking old number is stale.
    #[test]
    fn u64_table_uses_serial_order() {
        let mut t: ReplayTable<2, 1, u64> = ReplayTable::new();
        t.advance(&A, u64::MAX - 1, ALL).unwrap();
        assert_eq!(t.check(&A, 5, ALL), Ok(()));
        t.advance(&A, 5, ALL).unwrap();
        assert_eq!(t.check(&A, u64::MAX, ALL), Ok(()), "in the window, unseen");
        assert_eq!(t.advance(&A, u64::MAX - 1, ALL), Err(AdvanceError::Stale));
        assert_eq!(t.check(&A, 0, ALL), Err(DropReason::Replay));
        assert_eq!(t.last(&A), Some(5));
        // Far behind in serial order: a replay, although numerically larger.
        assert_eq!(t.check(&A, u64::MAX - 1000, ALL), Err(DropReason::Replay));
        t.advance(&A, 1 << 40, ALL).unwrap();
        assert_eq!(t.check(&A, 6, ALL), Err(DropReason::Replay));
    }

    #[test]
    fn streams_are_independent() {
        let mut t = Seed::new();
        let b = StreamId::seed(151);
        let c = StreamId::ext(150, 3);
        assert_eq!(t.advance(&A, 100, ALL), Ok(()));
        for k in [b, c] {
            assert_eq!(t.check(&k, 1, ALL), Ok(()));
            assert_eq!(t.advance(&k, 1, ALL), Ok(()));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.last(&A), Some(100));
        assert_eq!(t.last(&b), Some(1));
        assert_eq!(t.check(&A, 100, ALL), Err(DropReason::Replay));
        assert_eq!(t.check(&b, 2, ALL), Ok(()));
    }

    #[test]
    fn check_then_advance_race() {
        let mut t = Seed::new();
        assert_eq!(t.advance(&A, 5, ALL), Ok(()));
        // Two CPUs check the same number concurrently; both pass, the
        // second advance is stale.
        assert_eq!(t.check(&A, 7, ALL), Ok(()));
        assert_eq!(t.check(&A, 7, ALL), Ok(()));
        assert_eq!(t.advance(&A, 7, ALL), Ok(()));
        assert_eq!(t.advance(&A, 7, ALL), Err(AdvanceError::Stale));
        // 6 was overtaken by 7 but is still accepted once.
        assert_eq!(t.advance(&A, 6, ALL), Ok(()));
        assert_eq!(t.advance(&A, 6, ALL), Err(AdvanceError::Stale));
        assert_eq!(t.last(&A), Some(7));
    }

    #[test]
    fn full_table_keeps_known_streams() {
        let mut t = ReplayTable::<2, 1>::new();
        let k = StreamId::seed;
        assert_eq!(t.advance(&k(1), 1, ALL), Ok(()));
        assert_eq!(t.advance(&k(2), 1, ALL), Ok(()));
        // A new stream passes the check but cannot be recorded.
        assert_eq!(t.check(&k(3), 1, ALL), Ok(()));
        assert_eq!(t.advance(&k(3), 1, ALL), Err(AdvanceError::Full));
        assert_eq!(t.len(), 2);
        assert_eq!(t.last(&k(3)), None);
        // Known streams go on, and keep their state.
        assert_eq!(t.advance(&k(1), 2, ALL), Ok(()));
        assert_eq!(t.advance(&k(2), 9, ALL), Ok(()));
        assert_eq!(t.advance(&k(1), 2, ALL), Err(AdvanceError::Stale));
        assert_eq!(t.last(&k(1)), Some(2));
        assert_eq!(t.last(&k(2)), Some(9));

        let mut z = ReplayTable::<0, 1>::new();
        assert_eq!(z.check(&A, 1, ALL), Ok(()));
        assert_eq!(z.advance(&A, 1, ALL), Err(AdvanceError::Full));
        assert!(z.is_empty());
    }

    #[test]
    fn clear_resets() {
        let mut t = ReplayTable::<2, 1>::new();
        t.advance(&A, 50, ALL).unwrap();
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.last(&A), None);
        assert_eq!(t.advance(&A, 1, ALL), Ok(()));
    }

    #[test]
    fn keyed_replay_switches_generation_atomically() {
        let mut k = KeyedReplay::<4, 1>::new();
        assert_eq!(k.gen(), 0);
        // Generation 1 (the first key).
        assert_eq!(k.check(1, &A, 100, ALL), Ok(()));
        k.advance(1, &A, 100, ALL).unwrap();
        assert_eq!(k.check(1, &A, 100, ALL), Err(DropReason::Replay));
        assert_eq!(k.table(1).and_then(|t| t.last(&A)), Some(100));
        // A message of generation 2 (a new key) passes with any number and
        // empties the table when it is recorded.
        assert_eq!(k.check(2, &A, 1, ALL), Ok(()));
        assert_eq!(k.check(2, &A, 0, ALL), Err(DropReason::Replay));
        assert_eq!(k.advance(2, &A, 0, ALL), Err(AdvanceError::Stale));
        assert_eq!(k.gen(), 1, "a refused message leaves no trace");
        k.advance(2, &A, 1, ALL).unwrap();
        assert_eq!(k.gen(), 2);
        assert_eq!(k.len(), 1);
        assert!(k.table(1).is_none());
        // Late messages verified with the old key are refused, whatever
        // their number.
        assert_eq!(k.check(1, &A, 101, ALL), Err(DropReason::Replay));
        assert_eq!(k.advance(1, &A, 101, ALL), Err(AdvanceError::Stale));
        assert_eq!(k.check(2, &A, 1, ALL), Err(DropReason::Replay));
        assert_eq!(k.capacity(), 4);
        assert!(!k.is_empty());
    }

    #[test]
    fn the_window_is_the_callers() {
        let mut t = Seed::new();
        t.advance(&A, 10, 0).unwrap();
        // Window 0: strictly increasing, as the seed specifies.
        assert_eq!(t.check(&A, 9, 0), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, 9, 0), Err(AdvanceError::Stale));
        assert_eq!(t.check(&A, 11, 0), Ok(()));
        // Window 2: up to two below the top, each once.
        assert_eq!(t.check(&A, 8, 2), Ok(()));
        assert_eq!(t.check(&A, 7, 2), Err(DropReason::Replay));
        t.advance(&A, 8, 2).unwrap();
        assert_eq!(t.advance(&A, 8, 2), Err(AdvanceError::Stale));
        t.advance(&A, 9, 2).unwrap();
        assert_eq!(t.last(&A), Some(10));
        // A window larger than the table remembers stops at the table.
        assert_eq!(t.check(&A, 10, ALL), Err(DropReason::Replay));
        t.advance(&A, 2000, ALL).unwrap();
        assert_eq!(t.check(&A, 2000 - 1023, ALL), Ok(()));
        assert_eq!(t.check(&A, 2000 - 1024, ALL), Err(DropReason::Replay));
    }

    #[test]
    fn seed_window_per_thread() {
        assert_eq!(seed_window(0, 1024), 0);
        assert_eq!(seed_window(1, 1024), 0);
        assert_eq!(seed_window(2, 1024), 32);
        assert_eq!(seed_window(4, 1024), 96);
        assert_eq!(seed_window(64, 1023), 1023);
        assert_eq!(seed_window(u32::MAX, 1023), 1023);
    }

    #[test]
    fn key_generations_survive_a_key_installed_by_mistake() {
        let (a, b, c) = ([1u8; 16], [2u8; 16], [3u8; 16]);
        let mut g = KeyGenerations::<3>::new();
        assert_eq!(g.newest(), None);
        assert_eq!(g.install(a, 0), Some((1, true)));
        // A again, whether its table was used (owner 1) or not: kept.
        assert_eq!(g.install(a, 1), Some((1, false)));
        assert_eq!(g.install(a, 0), Some((1, false)));
        // B by mistake, never used (the table still belongs to A), then A:
        // A's generation, so nothing recorded under A becomes new.
        assert_eq!(g.install(b, 1), Some((2, true)));
        assert_eq!(g.newest(), Some(2));
        assert_eq!(g.install(a, 1), Some((1, false)));
        // B again, and this time it verifies messages (owner 2): A after
        // that gets a new generation (A's earlier state is gone).
        assert_eq!(g.install(b, 1), Some((2, false)));
        assert_eq!(g.install(a, 2), Some((3, true)));
        // Only the last N keys are remembered.
        assert_eq!(g.install(c, 3), Some((4, true)));
        assert_eq!(g.install([4; 16], 3), Some((5, true)));
        assert_eq!(g.install(b, 3), Some((6, true)));
        assert_eq!(g.install(a, 3), Some((7, true)));
        // Generations do not wrap.
        let mut full = KeyGenerations::<1> {
            keys: [(a, u32::MAX)],
            len: 1,
            last: u32::MAX,
        };
        assert_eq!(full.install(a, 0), Some((u32::MAX, false)));
        assert_eq!(full.install(b, 0), None);
    }

    proptest! {
        /// The table agrees with a naive model (the set of numbers accepted
        /// per stream, and the highest) on any sequence of operations.
        #[test]
        fn matches_model(
            ops in proptest::collection::vec((0u8..5, 0u32..3000, any::<bool>()), 0..300),
            window in prop_oneof![Just(0u64), 1u64..=127, Just(u64::MAX)],
        ) {
            const CAP: usize = 3;
            type T = ReplayTable<CAP, 2, u32>;
            // Whatever the caller asks, the table remembers 127 below.
            let remembered = window.min(T::WINDOW);
            let mut t = T::new();
            let mut model: Vec<(StreamId, BTreeSet<u32>)> = Vec::new();
            for (stream, seq, clear) in ops {
                if clear && seq % 97 == 0 {
                    t.clear();
                    model.clear();
                    continue;
                }
                let id = StreamId::ext(150, stream);
                let known = model.iter().position(|(k, _)| *k == id);
                let fresh = |set: &BTreeSet<u32>| {
                    let top = *set.iter().next_back().unwrap_or(&0);
                    seq != 0
                        && !set.contains(&seq)
                        && (seq > top || u64::from(top - seq) <= remembered)
                };
                let expect_check = match known {
                    _ if seq == 0 => Err(DropReason::Replay),
                    Some(i) if !fresh(&model[i].1) => Err(DropReason::Replay),
                    _ => Ok(()),
                };
                prop_assert_eq!(t.check(&id, seq, window), expect_check);
                let expect_advance = match known {
                    _ if seq == 0 => Err(AdvanceError::Stale),
                    Some(i) if !fresh(&model[i].1) => Err(AdvanceError::Stale),
                    Some(i) => {
                        model[i].1.insert(seq);
                        Ok(())
                    }
                    None if model.len() == CAP => Err(AdvanceError::Full),
                    None => {
                        model.push((id, BTreeSet::from([seq])));
                        Ok(())
                    }
                };
                prop_assert_eq!(t.advance(&id, seq, window), expect_advance);
                prop_assert_eq!(t.len(), model.len());
                prop_assert_eq!(
                    t.last(&id),
                    model.iter().find(|(k, _)| *k == id).and_then(|e| e.1.iter().next_back().copied())
                );
            }
        }

        /// The seed format's window (16 words) and the extended format's
        /// 64-bit numbers across their wrap-around agree with a naive
        /// model too: numbers `base + x` with `x` in the model, where
        /// `base` puts the wrap (and the refused 0) inside the range.
        #[test]
        fn matches_model_wide_and_wrapping(
            ops in proptest::collection::vec((0u8..2, 0u64..6000), 0..400),
            window in prop_oneof![Just(0u64), 1u64..=2000, Just(u64::MAX)],
            wrap in any::<bool>(),
        ) {
            type T = ReplayTable<2, 16, u64>;
            let remembered = window.min(T::WINDOW);
            let base = if wrap { u64::MAX - 2999 } else { 0 };
            let mut t = T::new();
            let mut model: [BTreeSet<u64>; 2] = [BTreeSet::new(), BTreeSet::new()];
            for (stream, x) in ops {
                let id = StreamId::ext(7, stream);
                let seq = base.wrapping_add(x);
                let set = &mut model[usize::from(stream)];
                let top = set.iter().next_back().copied();
                let fresh = seq != 0
                    && !set.contains(&x)
                    && top.is_none_or(|top| x > top || top - x <= remembered);
                prop_assert_eq!(t.check(&id, seq, window).is_ok(), fresh, "check {}", x);
                prop_assert_eq!(t.advance(&id, seq, window).is_ok(), fresh, "advance {}", x);
                if fresh {
                    set.insert(x);
                }
                prop_assert_eq!(t.last(&id), set.iter().next_back().map(|x| base.wrapping_add(*x)));
            }
        }

        /// Whatever the order of delivery, no number is accepted twice.
        #[test]
        fn never_twice(deliveries in proptest::collection::vec(1u32..200, 0..400)) {
            let mut t = ReplayTable::<1, 1, u32>::new();
            let mut got = BTreeSet::new();
            for s in deliveries {
                if t.advance(&A, s, ALL).is_ok() {
                    prop_assert!(got.insert(s), "{} accepted twice", s);
                }
            }
        }
    }
}
