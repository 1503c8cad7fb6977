// SPDX-License-Identifier: GPL-2.0

//! Bounds on the IPsec gate's table against a spoofing attacker.
//!
//! In direct routing the gate cannot verify a responder cookie, so two
//! spoofed packets make an `Established` entry for any source address.
//! What bounds the damage:
//!
//! - per source prefix (IPv4 /24, IPv6 /64 by default): at most
//!   [`Limits::max_initial_per_prefix`] `Initial` entries and
//!   [`Limits::max_entries_per_prefix`] entries in all; beyond them a new
//!   client of that prefix is refused, so one attacker's prefixes cannot
//!   use up what clients elsewhere need;
//! - per gated address and per namespace: at most
//!   [`Limits::max_entries_per_address`] and [`Limits::max_entries`]
//!   entries, whatever their state; a new client beyond them gets the room
//!   of an evictable entry ([`eviction_rank`]: expired ones first, then the
//!   `Established` entry whose last ISAKMP packet is oldest, if that is at
//!   least [`Limits::evict_after`] seconds ago), or is refused.
//!
//! `Initial` entries never make room for that (their own caps and short
//! timeout bound them), nor does an entry that ISAKMP refreshed within
//! `evict_after`: an attacker who wants to keep its entries has to keep
//! sending for each of them. When the namespace's cap on `Initial` entries
//! is reached, a new client that the other bounds admit takes the room of
//! an `Initial` entry at least [`INITIAL_MIN_AGE`] seconds old
//! ([`initial_eviction_rank`]) rather than being refused: refusing would
//! let an attacker with enough prefixes (128 IPv4 /24s at the defaults, or
//! as many IPv6 /64s) keep every new client out at about 140 packets a
//! second; now it has to renew the whole cap every [`INITIAL_MIN_AGE`]
//! seconds, and a handshake whose next ISAKMP packet follows within that
//! time is not broken (a retransmission after it may find its entry gone).

use super::isakmp::{Entry, GateKey, State};

/// The bounds (sysctls of the gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries of a namespace, every state.
    pub max_entries: u32,
    /// Entries of one gated address, every state.
    pub max_entries_per_address: u32,
    /// `Initial` entries of one source prefix.
    pub max_initial_per_prefix: u32,
    /// Entries of one source prefix, every state.
    pub max_entries_per_prefix: u32,
    /// Prefix length of an IPv4 source prefix (0 to 32).
    pub prefix4: u8,
    /// Prefix length of an IPv6 source prefix (0 to 128).
    pub prefix6: u8,
    /// Seconds since its last ISAKMP packet after which an `Established`
    /// entry may be evicted to make room.
    pub evict_after: u64,
}

impl Limits {
    /// The defaults: 65536 entries per namespace and per address; per
    /// source prefix (/24, /64) 32 `Initial` entries and 1024 in all;
    /// eviction after 600 s without ISAKMP.
    pub const DEFAULT: Limits = Limits {
        max_entries: 65536,
        max_entries_per_address: 65536,
        max_initial_per_prefix: 32,
        max_entries_per_prefix: 1024,
        prefix4: 24,
        prefix6: 64,
        evict_after: 600,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Entries that count against the bounds when a new client arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occupancy {
    /// The new entry is `Initial` (else `Established`, by fail-over: the
    /// `Initial` bounds do not apply to it).
    pub initial: bool,
    /// Entries of the namespace.
    pub entries: u32,
    /// Entries of the gated address.
    pub address_entries: u32,
    /// `Initial` entries of the client's source prefix.
    pub prefix_initial: u32,
    /// Entries of the client's source prefix.
    pub prefix_entries: u32,
}

/// Why a new client is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its prefix has [`Limits::max_initial_per_prefix`] `Initial` entries.
    PrefixInitial,
    /// Its prefix has [`Limits::max_entries_per_prefix`] entries.
    PrefixEntries,
    /// The address or the namespace is full and nothing may be evicted.
    Full,
}

/// What to do with a new client's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// There is room: insert it.
    Admit,
    /// The gated address (`address`) or the namespace is full: evict an
    /// entry (of that address, if `address`) with the lowest
    /// [`eviction_rank`] first, else refuse with [`Refusal::Full`].
    Evict {
        /// Only an entry of the same gated address makes room.
        address: bool,
    },
    /// Refuse it.
    Refuse(Refusal),
}

/// Whether a new client's entry fits, given the entries now.
pub const fn admit(l: &Limits, o: &Occupancy) -> Admission {
    if o.initial && o.prefix_initial >= l.max_initial_per_prefix {
        Admission::Refuse(Refusal::PrefixInitial)
    } else if o.prefix_entries >= l.max_entries_per_prefix {
        Admission::Refuse(Refusal::PrefixEntries)
    } else if o.address_entries >= l.max_entries_per_address {
        Admission::Evict { address: true }
    } else if o.entries >= l.max_entries {
        Admission::Evict { address: false }
    } else {
        Admission::Admit
    }
}

/// How readily `entry`, last refreshed by ISAKMP at `refreshed`, may be
/// evicted at `now`: `None` if it may not, else a rank, lowest first
/// (expired entries rank 0, then by the time of their last ISAKMP
/// packet).
pub const fn eviction_rank(entry: &Entry, refreshed: u64, now: u64, l: &Limits) -> Option<u64> {
    if entry.is_expired(now) {
        return Some(0);
    }
    match entry.state() {
        State::Initial => None,
        State::Established => {
            if now.saturating_sub(refreshed) >= l.evict_after {
                // Never 0: expired entries go first.
                Some(refreshed.saturating_add(1))
            } else {
                None
            }
        }
    }
}

/// Seconds since its last ISAKMP packet before an `Initial` entry may give
/// its room to a new client: a handshake whose next ISAKMP packet follows
/// within this time is not broken, and an attacker who wants to keep new
/// clients out must renew the whole cap within this time.
pub const INITIAL_MIN_AGE: u64 = 3;

/// How readily an `Initial` `entry`, last created or refreshed by ISAKMP
/// at `refreshed`, whose source prefix holds `prefix_initial` `Initial`
/// entries, gives its room to a new client when the namespace's cap on
/// `Initial` entries (`ipsec_max_initial`) is reached: `None` for an
/// `Established` entry (never evicted for this, even expired: removing it
/// would not make room under that cap) and for one refreshed less than
/// [`INITIAL_MIN_AGE`] seconds ago; else a rank, lowest first: expired
/// entries 0, then entries of the prefix with the most `Initial` entries,
/// and among those the one that expires first (the oldest).
pub const fn initial_eviction_rank(
    entry: &Entry,
    refreshed: u64,
    prefix_initial: u32,
    now: u64,
) -> Option<u64> {
    match entry.state() {
        State::Established => None,
        State::Initial if entry.is_expired(now) => Some(0),
        State::Initial => {
            if now < refreshed.saturating_add(INITIAL_MIN_AGE) {
                return None;
            }
            let crowd = u32::MAX - prefix_initial;
            let expires = if entry.expires() > u32::MAX as u64 {
                u32::MAX
            } else {
                entry.expires() as u32
            };
            // Never 0: expired entries go first.
            Some(((crowd as u64) << 32 | expires as u64).saturating_add(1))
        }
    }
}

/// A client's source prefix: its address with the bits past the prefix
/// length cleared, and the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The masked address (IPv4 in the first 4 bytes).
    pub addr: [u8; 16],
    /// Whether it is IPv6.
    pub v6: bool,
    /// The prefix length: after a change of the knobs, 10.1.0.0/24 and
    /// 10.1.0.0/16 are two prefixes.
    pub len: u8,
}

/// The source prefix of `key`'s client.
pub fn prefix_of(key: &GateKey, l: &Limits) -> Prefix {
    prefix_with_len(key, prefix_len(key, l))
}

/// The prefix length `l` sets for `key`'s family.
pub const fn prefix_len(key: &GateKey, l: &Limits) -> u8 {
    if key.v6 {
        if l.prefix6 > 128 {
            128
        } else {
            l.prefix6
        }
    } else if l.prefix4 > 32 {
        32
    } else {
        l.prefix4
    }
}

/// `key`'s client address with the bits past `plen` cleared.
///
/// Two 64-bit masks over the address read big-endian, not a loop per
/// byte: the collector runs it for every entry it removes. An IPv4
/// address keeps at most its first 32 bits, so its other 12 bytes come
/// out 0 as before; a shift by 64 (nothing kept of that half) is 0.
#[inline]
pub fn prefix_with_len(key: &GateKey, plen: u8) -> Prefix {
    let len = plen.min(if key.v6 { 128 } else { 32 });
    let l = u32::from(len);
    let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = key.client;
    let hi = u64::from_be_bytes([a0, a1, a2, a3, a4, a5, a6, a7])
        & u64::MAX.checked_shl(64 - l.min(64)).unwrap_or(0);
    let lo = u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
        & u64::MAX.checked_shl(128 - l.max(64)).unwrap_or(0);
    let mut addr = [0u8; 16];
    addr[..8].copy_from_slice(&hi.to_be_bytes());
    addr[8..].copy_from_slice(&lo.to_be_bytes());
    Prefix {
        addr,
        v6: key.v6,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::isakmp::Config;

    fn v4(a: [u8; 4]) -> GateKey {
        GateKey::v4(a, [192, 0, 2, 1])
    }

    #[test]
    fn prefixes_mask_the_client() {
        let l = Limits::DEFAULT;
        let p = prefix_of(&v4([198, 51, 100, 77]), &l);
        assert_eq!(&p.addr[..4], &[198, 51, 100, 0]);
        assert!(!p.v6);
        assert_eq!(p, prefix_of(&v4([198, 51, 100, 1]), &l));
        assert_ne!(p, prefix_of(&v4([198, 51, 101, 1]), &l));
        let odd = Limits {
            prefix4: 20,
            prefix6: 50,
            ..l
        };
        assert_eq!(
            &prefix_of(&v4([10, 1, 0x3f, 9]), &odd).addr[..4],
            &[10, 1, 0x30, 0]
        );
        let mut a = [0xffu8; 16];
        a[0] = 0x20;
        let k = GateKey::v6(a, [0; 16]);
        let p6 = prefix_of(&k, &odd);
        assert_eq!(&p6.addr[..7], &[0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0]);
        assert!(p6.addr[7..].iter().all(|&b| b == 0));
        assert!(p6.v6);
        // /64 by default; an IPv4 key never matches an IPv6 prefix.
        assert_eq!(&prefix_of(&k, &l).addr[8..], &[0; 8]);
        // The same masked address under two lengths: two prefixes.
        let p16 = prefix_with_len(&v4([10, 1, 0, 9]), 16);
        let p24 = prefix_with_len(&v4([10, 1, 0, 9]), 24);
        assert_eq!(&p16.addr[..4], &[10, 1, 0, 0]);
        assert_eq!(p16.addr, p24.addr);
        assert_ne!(p16, p24);
        let zero = Limits {
            prefix4: 0,
            prefix6: 200,
            ..l
        };
        assert_eq!(prefix_of(&v4([1, 2, 3, 4]), &zero).addr, [0; 16]);
        assert_eq!(prefix_of(&k, &zero).addr, a);
    }

    /// The byte loop `prefix_with_len` was, as the reference.
    fn prefix_bytewise(key: &GateKey, plen: u8) -> Prefix {
        let (bits, len) = if key.v6 {
            (usize::from(plen.min(128)), 16)
        } else {
            (usize::from(plen.min(32)), 4)
        };
        let mut addr = [0u8; 16];
        for (i, (d, s)) in addr.iter_mut().zip(key.client.iter()).take(len).enumerate() {
            let keep = bits.saturating_sub(i * 8).min(8);
            let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            *d = s & mask;
        }
        Prefix {
            addr,
            v6: key.v6,
            len: plen.min(if key.v6 { 128 } else { 32 }),
        }
    }

    #[test]
    fn prefix_with_len_matches_the_byte_loop() {
        let mut a = [0u8; 16];
        for (i, b) in a.iter_mut().enumerate() {
            *b = 0xa5 ^ (i as u8).wrapping_mul(37);
        }
        let mut v4 = GateKey::v4([0xff, 0x80, 0x7f, 0x01], [192, 0, 2, 1]);
        // Bytes past the IPv4 address are never kept, whatever they hold.
        v4.client[4..].copy_from_slice(&a[4..]);
        for key in [
            v4,
            GateKey::v4([10, 1, 0x3f, 9], [192, 0, 2, 1]),
            GateKey::v6(a, [0; 16]),
            GateKey::v6([0xff; 16], [0; 16]),
        ] {
            for plen in 0..=u8::MAX {
                assert_eq!(
                    prefix_with_len(&key, plen),
                    prefix_bytewise(&key, plen),
                    "{plen}"
                );
            }
        }
    }

    #[test]
    fn admission_checks_prefix_then_address_then_namespace() {
        let l = Limits {
            max_entries: 10,
            max_entries_per_address: 6,
            max_initial_per_prefix: 2,
            max_entries_per_prefix: 4,
            ..Limits::DEFAULT
        };
        let o = Occupancy {
            initial: true,
            ..Occupancy::default()
        };
        assert_eq!(admit(&l, &o), Admission::Admit);
        // A fail-over entry (ESTABLISHED) does not count against the
        // INITIAL bound, even at 0.
        let zero = Limits {
            max_initial_per_prefix: 0,
            ..l
        };
        assert_eq!(admit(&zero, &o), Admission::Refuse(Refusal::PrefixInitial));
        let failover = Occupancy {
            initial: false,
            ..o
        };
        assert_eq!(admit(&zero, &failover), Admission::Admit);
        let full_initial = Occupancy {
            prefix_initial: 2,
            ..o
        };
        assert_eq!(
            admit(&l, &full_initial),
            Admission::Refuse(Refusal::PrefixInitial)
        );
        let full_prefix = Occupancy {
            prefix_entries: 4,
            prefix_initial: 1,
            ..o
        };
        assert_eq!(
            admit(&l, &full_prefix),
            Admission::Refuse(Refusal::PrefixEntries)
        );
        let full_address = Occupancy {
            address_entries: 6,
            entries: 10,
            ..o
        };
        assert_eq!(admit(&l, &full_address), Admission::Evict { address: true });
        let full = Occupancy { entries: 10, ..o };
        assert_eq!(admit(&l, &full), Admission::Evict { address: false });
        // The prefix check wins over a full table: an attacker's prefix is
        // refused without evicting anybody.
        let both = Occupancy {
            entries: 10,
            prefix_entries: 4,
            ..o
        };
        assert_eq!(admit(&l, &both), Admission::Refuse(Refusal::PrefixEntries));
    }

    #[test]
    fn eviction_prefers_expired_then_the_least_recently_refreshed() {
        let l = Limits {
            evict_after: 100,
            ..Limits::DEFAULT
        };
        let cfg = Config {
            established_timeout: 3600,
            ..Config::DEFAULT
        };
        let est = Entry::established_from_sync(1000, &cfg);
        // Refreshed 99 s ago: not yet; 100 s: yes.
        assert_eq!(eviction_rank(&est, 1000, 1099, &l), None);
        assert_eq!(eviction_rank(&est, 1000, 1100, &l), Some(1001));
        assert!(eviction_rank(&est, 900, 1100, &l) < eviction_rank(&est, 1000, 1100, &l));
        // Expired: first, whatever its state.
        assert_eq!(eviction_rank(&est, 1000, 1000 + 3600, &l), Some(0));
        let init = Entry::from_parts(State::Initial, 1030, None, false);
        assert_eq!(eviction_rank(&init, 0, 1029, &l), None);
        assert_eq!(eviction_rank(&init, 0, 1030, &l), Some(0));
        // A refresh time in the future (clock skew) never makes it
        // evictable early.
        assert_eq!(eviction_rank(&est, 5000, 1100, &l), None);
    }

    #[test]
    fn initial_eviction_prefers_crowded_prefixes_then_the_oldest() {
        let cfg = Config::DEFAULT;
        let est = Entry::established_from_sync(1000, &cfg);
        // Established entries never make room for an Initial one, not even
        // expired (removing one would not lower the Initial count).
        assert_eq!(initial_eviction_rank(&est, 0, 1, 1000), None);
        assert_eq!(initial_eviction_rank(&est, 0, 5000, 1000 + 28800), None);
        let old = Entry::from_parts(State::Initial, 1010, None, false);
        let young = Entry::from_parts(State::Initial, 1020, None, false);
        let r = |e: &Entry, n: u32| initial_eviction_rank(e, 990, n, 1000).unwrap();
        // Same prefix population: the one that expires first.
        assert!(r(&old, 3) < r(&young, 3));
        // A more crowded prefix goes first, however young its entry.
        assert!(r(&young, 32) < r(&old, 31));
        assert!(r(&young, 2) < r(&old, 1));
        // Expired first of all; a live entry never ranks 0.
        assert_eq!(initial_eviction_rank(&old, 990, 1, 1010), Some(0));
        assert!(r(&young, u32::MAX) > 0);
        // An expiry beyond 32 bits still ranks after the crowd.
        let far = Entry::from_parts(State::Initial, u64::MAX, None, false);
        assert!(r(&far, 2) < r(&old, 1));
        assert!(r(&old, 2) < r(&far, 2));
        // Refreshed less than INITIAL_MIN_AGE seconds ago: kept, however
        // crowded its prefix; from then on, evictable.
        assert_eq!(initial_eviction_rank(&old, 998, 32, 1000), None);
        assert_eq!(initial_eviction_rank(&old, 1000, 32, 1000), None);
        assert!(initial_eviction_rank(&old, 997, 32, 1000).is_some());
        // A refresh time in the future (clock skew) never makes it
        // evictable early; expiry still does.
        assert_eq!(initial_eviction_rank(&old, 5000, 32, 1000), None);
        assert_eq!(initial_eviction_rank(&old, 5000, 32, 1010), Some(0));
    }
}
