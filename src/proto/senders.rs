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

    /// The slot of `src` (its index and source), made if need be;
    /// `verified`: for a verified message (may push out a verified source).
    fn slot(&mut self, src: &Source, verified: bool) -> Option<(usize, &mut Sender)> {
        let i = match self.index_of(src) {
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
        Some((i, self.slots.get_mut(i)?.as_mut()?))
    }

    /// A message from `src` of SyncID `syncid` with sequence number `seq`
    /// was verified and accepted at `now`. Returns `src`'s slot, if it
    /// has one.
    pub fn accepted(&mut self, src: &Source, syncid: u8, seq: u64, now: u64) -> Option<usize> {
        let (i, s) = self.slot(src, true)?;
        s.accepted = s.accepted.saturating_add(1);
        s.last_seq = seq;
        s.syncid = syncid;
        s.last_accepted = now;
        Some(i)
    }

    /// A plaintext message from `src` was taken at `now` (rollout mode).
    /// Returns `src`'s slot, if it has one.
    pub fn plain(&mut self, src: &Source, now: u64) -> Option<usize> {
        let (i, s) = self.slot(src, false)?;
        s.plain = s.plain.saturating_add(1);
        s.last_accepted = now;
        Some(i)
    }

    /// A datagram from `src` was dropped at `now` for reason `reason` (an
    /// index of [`DROP_NAMES`]). Returns `src`'s slot, if it has one.
    pub fn dropped(&mut self, src: &Source, reason: usize, now: u64) -> Option<usize> {
        match self.slot(src, false) {
            Some((i, s)) => {
                if let Some(d) = s.drops.get_mut(reason) {
                    *d = d.saturating_add(1);
                }
                s.last_drop = now;
                Some(i)
            }
            None => {
                self.unlisted = self.unlisted.saturating_add(1);
                None
            }
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

    /// Whether every slot holds a source (a new one takes a slot away).
    pub fn is_full(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// The slot that holds `src`'s address, if one does.
    pub fn index_of(&self, src: &Source) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|s| s.src.addr == src.addr))
    }

    /// The source in slot `i`, if any.
    pub fn at(&self, i: usize) -> Option<&Sender> {
        self.slots.get(i)?.as_ref()
    }

    /// Adds to slot `i` what was counted for it outside the table (see
    /// [`Tagged`]): `drops` by reason, the time `last_drop` of the last
    /// of them (0: none) and the port `port` of the last datagram, if
    /// known there. A free slot takes nothing.
    pub fn add_outside(
        &mut self,
        i: usize,
        drops: &[u64; DROP_NAMES.len()],
        last_drop: u64,
        port: Option<u16>,
    ) {
        if let Some(Some(s)) = self.slots.get_mut(i) {
            for (d, n) in s.drops.iter_mut().zip(drops) {
                *d = d.saturating_add(*n);
            }
            s.last_drop = s.last_drop.max(last_drop);
            if let Some(p) = port {
                s.src.port = p;
            }
        }
    }
}

/// The address words a lock-free copy of the table compares: the
/// address's bytes in four native-endian words (IPv4 in the first, the
/// rest 0), then the family (4 or 6). A free slot's words are all 0,
/// which no address has.
pub fn addr_words(a: &IpAddr) -> [u32; 5] {
    let mut w = [0u32; 5];
    let (bytes, family): (&[u8], u32) = match a {
        IpAddr::V4(b) => (b, 4),
        IpAddr::V6(b) => (b, 6),
    };
    for (d, c) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        let mut q = [0u8; 4];
        q.copy_from_slice(c);
        *d = u32::from_ne_bytes(q);
    }
    if let Some(f) = w.last_mut() {
        *f = family;
    }
    w
}

/// A value counted for a slot outside the table's lock (a drop count, a
/// time, a port), in one 64-bit word with the low 24 bits of the slot's
/// *generation* (how many times the slot was given to a source) above
/// [`Tagged::BITS`] bits of value. Giving the slot to another source
/// rewrites every word with the new generation, so a count that a CPU
/// adds for the source it saw there succeeds only while that source
/// holds the slot: a compare-and-exchange of the word it read, whose
/// generation must be the one it saw. Nothing is counted against a
/// source that did not send the datagram, unless the slot changed hands
/// 2^24 times while one CPU was counting one drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tagged;

impl Tagged {
    /// Bits of value; the count saturates at `2^40 - 1` (over 10^12).
    pub const BITS: u32 = 40;
    const MASK: u64 = (1 << Self::BITS) - 1;

    /// The word of value `v` (cut to [`Tagged::BITS`]) for generation `gen`.
    pub const fn word(gen: u64, v: u64) -> u64 {
        (gen << Self::BITS) | (v & Self::MASK)
    }

    /// The value of `word` if it is of generation `gen`.
    pub const fn value(word: u64, gen: u64) -> Option<u64> {
        if word >> Self::BITS == gen & (u64::MAX >> Self::BITS) {
            Some(word & Self::MASK)
        } else {
            None
        }
    }

    /// `word` counted up by one, if it is of generation `gen` (else
    /// `None`: the slot changed hands); a full count stays full.
    pub const fn bump(word: u64, gen: u64) -> Option<u64> {
        match Self::value(word, gen) {
            Some(v) if v == Self::MASK => Some(word),
            Some(_) => Some(word + 1),
            None => None,
        }
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

    #[test]
    fn addr_words_tell_every_address_and_family_apart() {
        let v4a = addr_words(&IpAddr::V4([10, 0, 3, 1]));
        let v4b = addr_words(&IpAddr::V4([10, 0, 3, 2]));
        let mut b6 = [0u8; 16];
        b6[..4].copy_from_slice(&[10, 0, 3, 1]);
        let v6 = addr_words(&IpAddr::V6(b6));
        assert_ne!(v4a, v4b);
        // The same bytes as IPv6: told apart by the family word.
        assert_eq!(v4a[..4], v6[..4]);
        assert_ne!(v4a, v6);
        assert_eq!((v4a[4], v6[4]), (4, 6));
        b6[15] = 1;
        assert_ne!(addr_words(&IpAddr::V6(b6)), v6);
        // No address has the words of a free slot.
        assert_ne!(addr_words(&IpAddr::V4([0; 4])), [0; 5]);
        assert_ne!(addr_words(&IpAddr::V6([0; 16])), [0; 5]);
    }

    #[test]
    fn tagged_counts_only_for_their_generation() {
        let w = Tagged::word(7, 0);
        let w = Tagged::bump(w, 7).unwrap();
        let w = Tagged::bump(w, 7).unwrap();
        assert_eq!(Tagged::value(w, 7), Some(2));
        // Another generation neither reads nor counts it.
        assert_eq!(Tagged::value(w, 8), None);
        assert_eq!(Tagged::bump(w, 8), None);
        // Generations compare in their low 24 bits, as stored.
        assert_eq!(Tagged::value(w, 7 + (1 << 24)), Some(2));
        assert_eq!(Tagged::value(w, 7 + (1 << 16)), None);
        // The value is cut to 40 bits and a full count stays full.
        let full = Tagged::word(3, u64::MAX);
        assert_eq!(Tagged::value(full, 3), Some((1 << 40) - 1));
        assert_eq!(Tagged::bump(full, 3), Some(full));
        assert_eq!(
            Tagged::value(Tagged::word(0xff_ffff, 5), 0xff_ffff),
            Some(5)
        );
        assert_eq!(Tagged::value(0, 0), Some(0));
    }

    #[test]
    fn outside_counts_add_to_the_slot_they_name() {
        let mut t = Senders::new();
        let m = v4(1, 8848);
        t.accepted(&m, 150, 7, 100);
        t.dropped(&m, 1, 101);
        let i = t.index_of(&v4(1, 9)).unwrap();
        assert_eq!(t.at(i).map(|s| s.src), Some(m));
        assert_eq!(t.index_of(&v4(2, 8848)), None);
        t.add_outside(i, &[0, 2, 0, 5, 0, 0, 0, 1], 99, Some(9000));
        let s = t.at(i).unwrap();
        assert_eq!(s.drops, [0, 3, 0, 5, 0, 0, 0, 1]);
        // An older outside time leaves the newer one; a later one wins.
        assert_eq!((s.last_drop, s.src.port), (101, 9000));
        t.add_outside(i, &[0; 8], 120, None);
        let s = t.at(i).unwrap();
        assert_eq!((s.last_drop, s.src.port, s.accepted), (120, 9000, 1));
        // A free slot takes nothing.
        t.add_outside(i + 1, &[1; 8], 130, Some(1));
        assert_eq!(t.iter().count(), 1);
        assert_eq!(t.at(i + 1), None);
    }
}
