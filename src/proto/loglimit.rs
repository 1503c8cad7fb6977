// SPDX-License-Identifier: GPL-2.0

//! When the sync half writes a kernel log line: the decisions, on plain
//! numbers (seconds of a monotonic clock), so that the host can test them.
//!
//! - A kind of drop (a counter) gets a line when it *starts*: its first
//!   drop, or the first after [`DROP_QUIET_SECS`] without one
//!   ([`drops_start`]). A steady flood gives one line, however long it
//!   lasts; a sender that drops one datagram every `DROP_QUIET_SECS`
//!   seconds gets at most one line per kind per such period.
//! - Every line of the sync half, also a configuration change's (which
//!   the owner of a user and network namespace can make as often as it
//!   likes), comes out of one budget: [`LOG_BURST`] lines per
//!   [`LOG_INTERVAL_SECS`] ([`Budget`]), as the kernel's
//!   `printk_ratelimit()`, and the lines beyond it are counted and said
//!   to be suppressed when the next interval starts.

/// Seconds without a drop of a kind after which its next drop is logged.
pub const DROP_QUIET_SECS: u64 = 30;
/// Lines per interval.
pub const LOG_BURST: u32 = 10;
/// Length of an interval, seconds.
pub const LOG_INTERVAL_SECS: u64 = 5;

/// Whether a drop at `now` starts a run of drops of its kind, given the
/// time of the previous drop of that kind (`None`: there was none):
/// the first drop does, and so does one that comes `quiet` seconds or more
/// after the previous one. Times are seconds of a monotonic clock.
pub const fn drops_start(prev: Option<u64>, now: u64, quiet: u64) -> bool {
    match prev {
        None => true,
        Some(p) => now.saturating_sub(p) >= quiet,
    }
}

/// A budget of [`LOG_BURST`] lines per [`LOG_INTERVAL_SECS`] seconds. It
/// fits in 64 bits ([`Budget::to_bits`]), so that the kernel keeps one
/// for the whole module in an atomic word, without a lock.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Start of the current interval (`None` before the first line).
    start: Option<u64>,
    /// Lines asked for in the current interval.
    used: u32,
    /// Lines refused since the last line written.
    suppressed: u32,
}

/// What [`Budget::ask`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Write the line.
    Write {
        /// Lines refused since the last one written, which the caller
        /// says first if it is not 0.
        suppressed: u32,
    },
    /// Do not write it (counted as suppressed).
    Refuse,
}

impl Budget {
    /// An empty budget.
    pub const fn new() -> Self {
        Self {
            start: None,
            used: 0,
            suppressed: 0,
        }
    }

    /// The budget as one word: the interval's start plus one (0: none) in
    /// the low 32 bits, lines used and lines suppressed (each at most
    /// `u16::MAX`) above. Uptimes beyond 2^32 - 2 seconds are not
    /// represented.
    pub const fn to_bits(&self) -> u64 {
        let start = match self.start {
            None => 0,
            Some(s) => (s as u32).wrapping_add(1) as u64,
        };
        let used = if self.used > 0xffff {
            0xffff
        } else {
            self.used
        } as u64;
        let sup = if self.suppressed > 0xffff {
            0xffff
        } else {
            self.suppressed
        } as u64;
        start | used << 32 | sup << 48
    }

    /// The budget [`Budget::to_bits`] gave `bits`.
    pub const fn from_bits(bits: u64) -> Self {
        let start = (bits & 0xffff_ffff) as u32;
        Self {
            start: if start == 0 {
                None
            } else {
                Some((start - 1) as u64)
            },
            used: ((bits >> 32) & 0xffff) as u32,
            suppressed: (bits >> 48) as u32,
        }
    }

    /// Asks for one line at `now` (seconds of a monotonic clock).
    pub fn ask(&mut self, now: u64) -> Grant {
        let fresh = match self.start {
            None => true,
            Some(s) => now.saturating_sub(s) >= LOG_INTERVAL_SECS,
        };
        if fresh {
            self.start = Some(now);
            self.used = 0;
        }
        if self.used < LOG_BURST {
            self.used += 1;
            let suppressed = self.suppressed;
            self.suppressed = 0;
            Grant::Write { suppressed }
        } else {
            self.suppressed = self.suppressed.saturating_add(1).min(0xffff);
            Grant::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_starts_once() {
        // One drop a second for ten minutes: only the first is a start.
        let mut prev = None;
        let mut starts = 0;
        for now in 100..700 {
            if drops_start(prev, now, DROP_QUIET_SECS) {
                starts += 1;
            }
            prev = Some(now);
        }
        assert_eq!(starts, 1);
    }

    #[test]
    fn a_drop_after_a_quiet_period_starts_again() {
        assert!(drops_start(None, 0, DROP_QUIET_SECS));
        assert!(!drops_start(
            Some(10),
            10 + DROP_QUIET_SECS - 1,
            DROP_QUIET_SECS
        ));
        assert!(drops_start(Some(10), 10 + DROP_QUIET_SECS, DROP_QUIET_SECS));
        // A clock that did not move (or a racing older reading) is no start.
        assert!(!drops_start(Some(50), 40, DROP_QUIET_SECS));
    }

    #[test]
    fn budget_writes_a_burst_per_interval_and_counts_the_rest() {
        let mut b = Budget::new();
        for _ in 0..LOG_BURST {
            assert_eq!(b.ask(7), Grant::Write { suppressed: 0 });
        }
        for _ in 0..25 {
            assert_eq!(b.ask(7 + LOG_INTERVAL_SECS - 1), Grant::Refuse);
        }
        // The next interval: the first line says what was left out.
        assert_eq!(
            b.ask(7 + LOG_INTERVAL_SECS),
            Grant::Write { suppressed: 25 }
        );
        assert_eq!(b.ask(7 + LOG_INTERVAL_SECS), Grant::Write { suppressed: 0 });
    }

    #[test]
    fn budget_survives_its_word() {
        let mut b = Budget::new();
        assert_eq!(Budget::from_bits(b.to_bits()), b);
        for t in 0..3 * LOG_INTERVAL_SECS {
            for _ in 0..(LOG_BURST + 3) {
                let mut w = Budget::from_bits(b.to_bits());
                assert_eq!(w.ask(t + 1000), b.ask(t + 1000));
                assert_eq!(Budget::from_bits(b.to_bits()), b);
            }
        }
        assert_eq!(Budget::new().to_bits(), 0);
    }

    #[test]
    fn budget_never_writes_more_than_a_burst_per_interval() {
        let mut b = Budget::new();
        let mut per_interval = [0u32; 20];
        for t in 0..(20 * LOG_INTERVAL_SECS) {
            for _ in 0..100 {
                if let Grant::Write { .. } = b.ask(t) {
                    per_interval[(t / LOG_INTERVAL_SECS) as usize] += 1;
                }
            }
        }
        assert!(per_interval.iter().all(|&n| n == LOG_BURST));
    }
}
