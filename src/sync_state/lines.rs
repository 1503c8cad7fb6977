// SPDX-License-Identifier: GPL-2.0

//! The per-source drop lines without the table's lock.
//!
//! A flood of drops from one source (a stale or forged stream, a host
//! off the segment) hits the backup's drop path once per datagram. The
//! per-source table ([`Senders`]) lives under a BH spinlock; taking it
//! (or failing to) per drop cost a clock call, a trylock and an unlock,
//! each a call into C, where the C module before it counted a drop with
//! one add. [`Lines`] is a copy of the table's addresses that the drop
//! path reads without the lock, with the drops counted there per slot
//! and added to the table's own when it is shown.
//!
//! Only a holder of the table's lock changes which address a slot has
//! ([`Lines::publish`], when the table gave the slot to another source):
//! it marks the slot busy (odd *tag*), rewrites every value of the slot
//! with the slot's next generation ([`Tagged`]), then the address words,
//! then the even tag, each store ordered after the ones before it. A drop
//! reads the tag, compares the address words with its source's and counts
//! by compare-and-exchange on a word whose generation must be the one it
//! read: if the slot was given to another source meanwhile, the word has
//! the new generation (a drop that read any new address word also reads
//! the new count word: the stores are ordered and the exchange is fully
//! ordered), the exchange fails and the drop goes on no line (counted as
//! busy). The odd tag only saves such drops the compare; the generations
//! are what keeps them off other sources' lines. A drop is never counted
//! against a source that did not send it, unless its slot changed hands
//! 2^24 times while it was being counted; one that raced with the slot's
//! change is counted only in the totals.

use crate::kapi::bhlock::SpinLockBhGuard;
use crate::kapi::inline_atomic::{InlineAtomic, InlineCmpxchg};
use crate::proto::senders::{Senders, Tagged, DROP_NAMES, SENDERS};
use kernel::sync::atomic::Atomic;

/// One slot of the table, as the drop path sees it.
struct Line {
    /// Even: the slot's generation times two; odd while it is rewritten.
    tag: Atomic<u64>,
    /// The slot source's address words
    /// ([`crate::proto::senders::addr_words`]); all 0 for a free slot.
    addr: [Atomic<u32>; 5],
    /// Drops counted here, by reason ([`Tagged`] counts).
    drops: [Atomic<u64>; DROP_NAMES.len()],
    /// The second of the last drop counted here ([`Tagged`]; 0: none).
    last_drop: Atomic<u64>,
    /// The UDP source port of the last datagram from the source, dropped
    /// here or seen by the table ([`Tagged`]; [`NO_PORT`]: not known).
    port: Atomic<u64>,
}

/// What [`Lines::count`] did with a drop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Counted {
    /// On its source's line.
    Yes,
    /// No slot has the source: the table must place it.
    NoSlot,
    /// Its source's slot changed hands meanwhile: on no line.
    Raced,
}

/// A port value that says "not known here": no UDP port has it.
const NO_PORT: u64 = 1 << 16;

/// The table's addresses and the drops counted without its lock.
///
/// # Invariants
///
/// Outside the table's lock, slot `i` has the address of the table's slot
/// `i` (all 0 if it is free), and only drops of datagrams from that
/// address are counted in slot `i` under its generation.
pub(super) struct Lines {
    slots: [Line; SENDERS],
}

impl Lines {
    /// No source.
    pub(super) const fn new() -> Self {
        Self {
            slots: [const {
                Line {
                    tag: Atomic::new(0),
                    addr: [const { Atomic::new(0) }; 5],
                    drops: [const { Atomic::new(0) }; DROP_NAMES.len()],
                    last_drop: Atomic::new(0),
                    port: Atomic::new(Tagged::word(0, NO_PORT)),
                }
            }; SENDERS],
        }
    }

    /// Counts a drop for reason `reason` (an index of [`DROP_NAMES`]; any
    /// other notes the time only) from the source of address words
    /// `addr` ([`crate::proto::senders::addr_words`]) and UDP port `port`,
    /// at second `now`. Any context; no lock, and on x86-64 no call.
    #[inline]
    pub(super) fn count(&self, addr: &[u32; 5], port: u16, reason: usize, now: u64) -> Counted {
        match self.find(addr) {
            Some((i, gen)) => self.count_from(i, gen, None, port, reason, now),
            None => Counted::NoSlot,
        }
    }

    /// The slot that has the source of address words `addr`, and the
    /// generation it had then.
    #[inline]
    pub(super) fn find(&self, addr: &[u32; 5]) -> Option<(usize, u64)> {
        self.slots.iter().enumerate().find_map(|(i, line)| {
            let tag = line.tag.read_acquire();
            let same = tag & 1 == 0 && line.addr.iter().zip(addr).all(|(a, w)| a.read_once() == *w);
            same.then_some((i, tag >> 1))
        })
    }

    /// The count word of reason `reason` in slot `i`, as a drop reads it
    /// before it counts (for the test of a slot that changes hands after
    /// that read).
    pub(super) fn count_word(&self, i: usize, reason: usize) -> Option<u64> {
        Some(self.slots.get(i)?.drops.get(reason)?.read_once())
    }

    /// [`Lines::count`] in slot `i`, found with generation `gen` by
    /// [`Lines::find`], starting from the count word `seen` if given (read
    /// earlier by [`Lines::count_word`]) instead of reading it:
    /// [`Counted::Raced`] if the slot has another generation by now.
    #[inline]
    pub(super) fn count_from(
        &self,
        i: usize,
        gen: u64,
        seen: Option<u64>,
        port: u16,
        reason: usize,
        now: u64,
    ) -> Counted {
        let Some(line) = self.slots.get(i) else {
            return Counted::NoSlot;
        };
        if let Some(d) = line.drops.get(reason) {
            let mut cur = seen.unwrap_or_else(|| d.read_once());
            loop {
                let Some(next) = Tagged::bump(cur, gen) else {
                    return Counted::Raced;
                };
                match d.cmpxchg_full(cur, next) {
                    Ok(_) => break,
                    Err(seen) => cur = seen,
                }
            }
        }
        // The time and the port are best effort: set only while the slot
        // keeps its generation, and left when another CPU wrote them
        // meanwhile; the time only moves forward.
        set(&line.last_drop, gen, now, |old| now > old);
        set(&line.port, gen, u64::from(port), |old| {
            old != u64::from(port)
        });
        Counted::Yes
    }

    /// Gives slot `i` to the source of address words `addr`, with a new
    /// generation, when the table gave its slot `i` to that source. The
    /// caller holds the table's lock (`_table`), which makes it the only
    /// writer.
    pub(super) fn publish(&self, _table: &SpinLockBhGuard<'_, Senders>, i: usize, addr: &[u32; 5]) {
        let Some(line) = self.slots.get(i) else {
            return;
        };
        let tag = line.tag.read_once();
        line.tag.write_release(tag | 1);
        let gen = (tag >> 1).wrapping_add(1);
        for d in &line.drops {
            d.write_release(Tagged::word(gen, 0));
        }
        line.last_drop.write_release(Tagged::word(gen, 0));
        line.port.write_release(Tagged::word(gen, NO_PORT));
        for (a, w) in line.addr.iter().zip(addr) {
            a.write_release(*w);
        }
        line.tag.write_release(gen << 1);
    }

    /// Notes in slot `i` (whose source the table holds; under its lock)
    /// that the source's last datagram came from port `port`.
    pub(super) fn saw_port(&self, i: usize, port: u16) {
        if let Some(line) = self.slots.get(i) {
            let gen = line.tag.read_acquire() >> 1;
            line.port.write_release(Tagged::word(gen, u64::from(port)));
        }
    }

    /// Adds what the slots counted to `view`: a copy of the table made
    /// under its lock, still held, or with `times_only` (only the times of
    /// the last drops, for the table's choice of a slot to give away) the
    /// table itself, under its lock.
    pub(super) fn add_to(&self, view: &mut Senders, times_only: bool) {
        for (i, line) in self.slots.iter().enumerate() {
            let gen = line.tag.read_acquire() >> 1;
            let mut drops = [0u64; DROP_NAMES.len()];
            if !times_only {
                for (n, d) in drops.iter_mut().zip(&line.drops) {
                    *n = Tagged::value(d.read_once(), gen).unwrap_or(0);
                }
            }
            let last = Tagged::value(line.last_drop.read_once(), gen).unwrap_or(0);
            let port = Tagged::value(line.port.read_once(), gen)
                .filter(|_| !times_only)
                .and_then(|p| u16::try_from(p).ok());
            view.add_outside(i, &drops, last, port);
        }
    }
}

/// Sets the [`Tagged`] value of `word` to `v` if `word` is of generation
/// `gen` and its value `old` passes `replace(old)`; one attempt.
fn set(word: &Atomic<u64>, gen: u64, v: u64, replace: impl Fn(u64) -> bool) {
    let cur = word.read_once();
    if Tagged::value(cur, gen).is_some_and(replace) {
        let _ = word.cmpxchg_full(cur, Tagged::word(gen, v));
    }
}
