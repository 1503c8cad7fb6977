// SPDX-License-Identifier: GPL-2.0

//! The sync half's kernel log lines: key and format changes and the start
//! of each kind of drop, all out of one budget for the whole module
//! ([`crate::proto::loglimit`]), and key fingerprints.
//!
//! The budget is one atomic word, updated with compare-and-exchange: any
//! context may ask, softirq included, and nothing allocates.

use crate::kapi::inline_atomic::InlineAtomic;
use crate::kapi::sys::uptime_secs;
use crate::proto::loglimit::{drops_start, Budget, Grant, DROP_QUIET_SECS};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// The module's log budget ([`Budget::to_bits`]).
static BUDGET: Atomic<u64> = Atomic::new(0);

/// Bytes of a key fingerprint shown.
pub(crate) const FP_LEN: usize = 8;

/// A key's fingerprint: the first [`FP_LEN`] bytes of HMAC-MD5(key,
/// [`super::FINGERPRINT_LABEL`]), printed in hex. Equal keys give equal
/// fingerprints on every director; the key cannot be computed from it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint(pub(crate) [u8; FP_LEN]);

impl Fingerprint {
    /// The fingerprint of the key whose fingerprint MAC is `mac`.
    pub(crate) fn of(mac: &[u8]) -> Self {
        let mut fp = [0u8; FP_LEN];
        for (d, s) in fp.iter_mut().zip(mac) {
            *d = *s;
        }
        Self(fp)
    }
}

impl kernel::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        for b in self.0 {
            write!(f, "{:02x}", b)?;
        }
        Ok(())
    }
}

/// Whether a line may be written now. If lines were left out before it,
/// says how many first.
pub(crate) fn may_log() -> bool {
    let now = uptime_secs();
    let mut cur = BUDGET.load(Relaxed);
    loop {
        let mut b = Budget::from_bits(cur);
        let grant = b.ask(now);
        match BUDGET.cmpxchg(cur, b.to_bits(), Relaxed) {
            Ok(_) => {
                return match grant {
                    Grant::Write { suppressed } => {
                        if suppressed > 0 {
                            pr_info!("sync: {} log lines suppressed\n", suppressed);
                        }
                        true
                    }
                    Grant::Refuse => false,
                };
            }
            Err(seen) => cur = seen,
        }
    }
}

/// Notes a drop counted by `counter` (named `name`) in `last` (the
/// second of the previous drop of the kind, plus one; 0: none). Logs the
/// start of a run of drops. `now`: the clock's second ([`uptime_secs`]).
/// Any context; no allocation.
pub(crate) fn drop_seen(last: &Atomic<u64>, name: &str, counter: &Atomic<u64>, now: u64) {
    let stamp = now.wrapping_add(1);
    let prev = last.read_once();
    if prev == stamp {
        // Drops in this second already: a flood costs one load.
        return;
    }
    if last.cmpxchg(prev, stamp, Relaxed).is_err() {
        // Another CPU noted a drop meanwhile; it decides.
        return;
    }
    if drops_start(prev.checked_sub(1), now, DROP_QUIET_SECS) && may_log() {
        pr_warn!(
            "sync: {} drops started ({} since load; the first after {} s without one)\n",
            name,
            counter.load(Relaxed),
            DROP_QUIET_SECS
        );
    }
}
