// SPDX-License-Identifier: GPL-2.0

//! What a backup knows of the hosts its sync datagrams come from: per
//! source address (with the UDP source port of its last datagram), the
//! messages it accepted (authenticated, or
//! plaintext in a rollout mode), the sequence number and time of the last
//! one, and its drops by reason. For the operator asking why sync stopped;
//! nothing decides on it.
//!
//! Source addresses are not authenticated: a host on the segment can send
//! from any address, the master's included, so drops are counted against
//! the address a datagram claims. The table is small and fixed. A source
//! that ever had a message verified (a *verified* source) is never pushed
//! out by sources that had none: when the table is full, a new source
//! takes the slot of the unverified source least recently seen; a new
//! verified source, if every slot is verified, the one least recently
//! accepted. Drops of a source that finds no slot are counted in
//! [`Senders::unlisted_drops`].

use super::addr::IpAddr;

/// Sources a namespace keeps.
pub const SENDERS: usize = 8;

/// Drop reasons kept per source: the module's drop counters `rx_drop_*`
/// in their order, then `rx_unknown_key`.
pub const DROP_NAMES: [&str; 8] = [
    "malformed",
    "bad_ttl",
    "bad_header",
    "replay",
    "bad_icv",
    "no_stream",
    "no_key",
    "unknown_key",
];

/// Where a datagram came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Its source address.
    pub addr: IpAddr,
    /// Its UDP source port.
    pub port: u16,
}

/// One source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sender {
    /// The source: its address, and the port of its last datagram.
    pub src: Source,
    /// Authenticated messages accepted from it.
    pub accepted: u64,
    /// Plaintext messages taken from it in a rollout mode.
    pub plain: u64,
    /// The sequence number of the last message accepted (seed format:
    /// 32 bits, extended: 64).
    pub last_seq: u64,
    /// SyncID of the last message accepted.
    pub syncid: u8,
    /// When the last message was accepted or taken (seconds of the
    /// caller's clock); 0 if none was.
    pub last_accepted: u64,
    /// Drops by reason ([`DROP_NAMES`]).
    pub drops: [u64; DROP_NAMES.len()],
    /// When the last drop was (seconds); 0 if none was.
    pub last_drop: u64,
}

impl Sender {
    fn new(src: Source) -> Self {
        Self {
            src,
            accepted: 0,
            plain: 0,
            last_seq: 0,
            syncid: 0,
            last_accepted: 0,
            drops: [0; DROP_NAMES.len()],
            last_drop: 0,
        }
    }

    /// Whether a message of it was ever verified.
    pub fn verified(&self) -> bool {
        self.accepted > 0
    }

    fn last_seen(&self) -> u64 {
        self.last_accepted.max(self.last_drop)
    }
}

/// The sources of one namespace.
#[derive(Debug, Clone)]
pub struct Senders {
    slots: [Option<Sender>; SENDERS],
    unlisted: u64,
}

impl Default for Senders {
    fn default() -> Self {
        Self::new()
    }
}

impl Senders {
    /// No source.
    pub const fn new() -> Self {
        Self {
            slots: [None; SENDERS],
            unlisted: 0,
        }
    }

    /// The slot of `src`, made if need be; `verified`: for a verified
    /// message (may push out a verified source).
    fn slot(&mut self, src: &Source, verified: bool) -> Option<&mut Sender> {
        let same = |s: &Option<Sender>| s.is_some_and(|s| s.src.addr == src.addr);
        let i = match self.slots.iter().position(same) {
            Some(i) => {
                if let Some(Some(s)) = self.slots.get_mut(i) {
                    s.src.port = src.port;
                }
                i
            }
            None => {
                let free = self.slots.iter().position(Option::is_none);
                let oldest = |want_verified: bool| {
                    self.slots
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| s.map(|s| (i, s)))
                        .filter(|(_, s)| s.verified() == want_verified)
                        .min_by_key(|(_, s)| s.last_seen())
                        .map(|(i, _)| i)
                };
                let i = free.or_else(|| oldest(false)).or_else(|| {
                    if verified {
                        oldest(true)
                    } else {
                        None
                    }
                })?;
                *self.slots.get_mut(i)? = Some(Sender::new(*src));
                i
            }
        };
        self.slots.get_mut(i)?.as_mut()
    }

    /// A message from `src` of SyncID `syncid` with sequence number `seq`
    /// was verified and accepted at `now`.
    pub fn accepted(&mut self, src: &Source, syncid: u8, seq: u64, now: u64) {
        if let Some(s) = self.slot(src, true) {
            s.accepted = s.accepted.saturating_add(1);
            s.last_seq = seq;
            s.syncid = syncid;
            s.last_accepted = now;
        }
    }

    /// A plaintext message from `src` was taken at `now` (rollout mode).
    pub fn plain(&mut self, src: &Source, now: u64) {
        if let Some(s) = self.slot(src, false) {
            s.plain = s.plain.saturating_add(1);
            s.last_accepted = now;
        }
    }

    /// A datagram from `src` was dropped at `now` for reason `reason` (an
    /// index of [`DROP_NAMES`]).
    pub fn dropped(&mut self, src: &Source, reason: usize, now: u64) {
        match self.slot(src, false) {
            Some(s) => {
                if let Some(d) = s.drops.get_mut(reason) {
                    *d = d.saturating_add(1);
                }
                s.last_drop = now;
            }
            None => self.unlisted = self.unlisted.saturating_add(1),
        }
    }

    /// The sources, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Sender> {
        self.slots.iter().flatten()
    }

    /// Drops of sources that found no slot (every slot verified).
    pub fn unlisted_drops(&self) -> u64 {
        self.unlisted
    }

    /// Forgets every source.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8, port: u16) -> Source {
        Source {
            addr: IpAddr::V4([10, 0, 3, last]),
            port,
        }
    }

    #[test]
    fn accepts_plain_and_drops_land_on_their_source() {
        let mut t = Senders::new();
        let m = v4(1, 8848);
        t.accepted(&m, 150, 7, 100);
        t.accepted(&m, 150, 8, 101);
        t.dropped(&m, 3, 102);
        t.plain(&v4(2, 8848), 103);
        let s: std::vec::Vec<_> = t.iter().copied().collect();
        assert_eq!(s.len(), 2);
        let a = s.iter().find(|s| s.src == m).unwrap();
        assert_eq!(
            (a.accepted, a.last_seq, a.syncid, a.last_accepted),
            (2, 8, 150, 101)
        );
        assert_eq!(a.drops, [0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(a.last_drop, 102);
        let b = s.iter().find(|s| s.src == v4(2, 8848)).unwrap();
        assert_eq!((b.plain, b.accepted, b.verified()), (1, 0, false));
        // Another port is the same source; the port shown is the last.
        t.dropped(&v4(1, 9000), 4, 104);
        assert_eq!(t.iter().count(), 2);
        assert_eq!(
            t.iter().find(|s| s.src.addr == m.addr).unwrap().src.port,
            9000
        );
        let m = v4(1, 9000);
        // An unknown reason index counts the time only.
        t.dropped(&m, 99, 105);
        assert_eq!(t.iter().find(|s| s.src == m).unwrap().last_drop, 105);
    }

    #[test]
    fn spoofed_sources_never_push_out_a_verified_one() {
        let mut t = Senders::new();
        let m = v4(1, 8848);
        t.accepted(&m, 150, 1, 10);
        // A flood from ever new addresses: each takes an unverified slot.
        for i in 0..1000u32 {
            let b = i.to_be_bytes();
            let src = Source {
                addr: IpAddr::V4([192, b[1], b[2], b[3]]),
                port: 8848,
            };
            t.dropped(&src, 4, 20 + u64::from(i));
        }
        assert!(t.iter().any(|s| s.src == m && s.accepted == 1));
        assert_eq!(t.iter().count(), SENDERS);
        assert_eq!(t.unlisted_drops(), 0);
        // The unverified slots hold the latest flood sources.
        assert!(t
            .iter()
            .filter(|s| !s.verified())
            .all(|s| s.last_drop >= 20 + 1000 - 7));
        // Once every slot is verified, unverified drops are unlisted.
        for i in 0..SENDERS as u8 {
            t.accepted(&v4(100 + i, 8848), 150, 1, 2000 + u64::from(i));
        }
        assert!(t.iter().all(Sender::verified));
        t.dropped(&v4(66, 8848), 4, 3000);
        assert_eq!(t.unlisted_drops(), 1);
        // A new verified source pushes out the one least recently accepted.
        t.accepted(&v4(200, 8848), 150, 1, 3001);
        assert!(t.iter().any(|s| s.src == v4(200, 8848)));
        assert!(!t.iter().any(|s| s.src == v4(100, 8848)));
        t.clear();
        assert_eq!((t.iter().count(), t.unlisted_drops()), (0, 0));
    }

    #[test]
    fn ipv6_sources_are_kept_apart() {
        let mut t = Senders::new();
        let a = Source {
            addr: IpAddr::V6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            port: 8848,
        };
        let b = Source {
            addr: IpAddr::V4([0, 0, 0, 1]),
            port: 8848,
        };
        t.accepted(&a, 1, 5, 1);
        t.dropped(&b, 0, 2);
        assert_eq!(t.iter().count(), 2);
    }
}
