// SPDX-License-Identifier: GPL-2.0

//! Anti-replay state of the backup.
//!
//! Each master sync thread numbers its authenticated messages 1, 2, 3, ...
//! The backup keeps, per stream (sender address and destination port), the
//! last sequence number it accepted, and accepts a message only if its
//! sequence number is strictly greater. There is no window: a reordered
//! message is dropped like a replayed one, as the seed specifies.
//!
//! Sequence numbers compare as plain `u32` values, without wrap-around
//! arithmetic: once a master has sent sequence number `u32::MAX` the stream
//! cannot go on, and the key must be changed (which clears the table, see
//! [`ReplayTable::clear`]) before it sends again.
//!
//! The table has a fixed capacity and never allocates. New streams never
//! evict known ones: when the table is full, messages of new streams are
//! refused until it is cleared.
//!
//! The backup first runs [`ReplayTable::check`] (cheap, under a shared
//! lock), then verifies the ICV, and only then calls
//! [`ReplayTable::advance`] (under the exclusive lock), which checks again
//! because another CPU may have accepted a later message in between.

use super::msg::DropReason;
use core::fmt::Debug;

/// A sequence number type and its order.
pub trait Seq: Copy + Eq + Debug {
    /// The number no master sends.
    const ZERO: Self;
    /// Whether `self` comes after `other`.
    fn after(self, other: Self) -> bool;
}

/// The seed format's 32-bit numbers: plain order, no wrap-around.
impl Seq for u32 {
    const ZERO: Self = 0;
    fn after(self, other: Self) -> bool {
        self > other
    }
}

/// The extended format's 64-bit numbers: RFC 1982 serial arithmetic
/// ([`super::ext::seq_after`]).
impl Seq for u64 {
    const ZERO: Self = 0;
    fn after(self, other: Self) -> bool {
        super::ext::seq_after(self, other)
    }
}

/// Identifies one stream of sync messages: one master sync thread as seen
/// by the backup.
///
/// An IPv4 address is stored in the first 4 bytes of `addr`, the other 12
/// bytes being 0, with `v6 == false` (use [`StreamKey::v4`]); an IPv6
/// address fills `addr`, with `v6 == true` (use [`StreamKey::v6`]). An
/// IPv4-mapped IPv6 address is thus a different stream from the IPv4
/// address, as it is a different socket family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// Source address of the sender.
    pub addr: [u8; 16],
    /// Whether `addr` is an IPv6 address.
    pub v6: bool,
    /// Destination UDP port, which identifies the master's sync thread.
    pub port: u16,
}

impl StreamKey {
    /// Key of a stream from an IPv4 sender (`addr` in network byte order).
    pub const fn v4(addr: [u8; 4], port: u16) -> Self {
        let [a, b, c, d] = addr;
        StreamKey {
            addr: [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            v6: false,
            port,
        }
    }

    /// Key of a stream from an IPv6 sender (`addr` in network byte order).
    pub const fn v6(addr: [u8; 16], port: u16) -> Self {
        StreamKey {
            addr,
            v6: true,
            port,
        }
    }
}

/// Why [`ReplayTable::advance`] refused a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceError {
    /// The sequence number is not above the last one accepted (possibly
    /// accepted by another CPU since [`ReplayTable::check`]), or is 0. The
    /// message must be dropped as [`DropReason::Replay`].
    Stale,
    /// The stream is new and the table is full. The message must be dropped.
    Full,
}

/// One stream and the last sequence number accepted from it.
#[derive(Debug, Clone, Copy)]
struct Slot<S> {
    key: StreamKey,
    last: S,
}

impl<S: Seq> Slot<S> {
    const EMPTY: Slot<S> = Slot {
        key: StreamKey {
            addr: [0; 16],
            v6: false,
            port: 0,
        },
        last: S::ZERO,
    };
}

/// Last accepted sequence number of up to `N` streams.
///
/// The table does no locking of its own: the caller serialises
/// [`Self::advance`] and [`Self::clear`] against everything else.
#[derive(Debug, Clone)]
pub struct ReplayTable<const N: usize, S: Seq = u32> {
    /// `slots[..len]` are in use.
    slots: [Slot<S>; N],
    len: usize,
}

impl<const N: usize, S: Seq> Default for ReplayTable<N, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, S: Seq> ReplayTable<N, S> {
    /// An empty table.
    pub const fn new() -> Self {
        ReplayTable {
            slots: [Slot::EMPTY; N],
            len: 0,
        }
    }

    /// The slots in use.
    fn used(&self) -> &[Slot<S>] {
        self.slots.get(..self.len).unwrap_or(&[])
    }

    /// The last sequence number accepted from `key`, if the stream is known.
    pub fn last(&self, key: &StreamKey) -> Option<S> {
        self.used().iter().find(|s| s.key == *key).map(|s| s.last)
    }

    /// Checks `seq` from stream `key`, before the ICV is verified.
    ///
    /// Returns [`DropReason::Replay`] if `seq` is 0 (masters start at 1) or
    /// not above the last sequence number accepted from the stream. A new
    /// stream passes (whether there is room for it is only known, and only
    /// matters, at [`Self::advance`]).
    pub fn check(&self, key: &StreamKey, seq: S) -> Result<(), DropReason> {
        if seq == S::ZERO {
            return Err(DropReason::Replay);
        }
        match self.last(key) {
            Some(last) if !seq.after(last) => Err(DropReason::Replay),
            _ => Ok(()),
        }
    }

    /// Records `seq` as the last accepted from stream `key`, once its ICV has
    /// verified.
    ///
    /// Checks again as [`Self::check`] does, since another CPU may have
    /// advanced the stream meanwhile ([`AdvanceError::Stale`]), and adds the
    /// stream if it is new, unless the table is full
    /// ([`AdvanceError::Full`]). On error the table is unchanged.
    pub fn advance(&mut self, key: &StreamKey, seq: S) -> Result<(), AdvanceError> {
        if seq == S::ZERO {
            return Err(AdvanceError::Stale);
        }
        let len = self.len;
        let used = self.slots.get_mut(..len).unwrap_or(&mut []);
        if let Some(slot) = used.iter_mut().find(|s| s.key == *key) {
            if !seq.after(slot.last) {
                return Err(AdvanceError::Stale);
            }
            slot.last = seq;
            return Ok(());
        }
        let slot = self.slots.get_mut(len).ok_or(AdvanceError::Full)?;
        *slot = Slot {
            key: *key,
            last: seq,
        };
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

    /// Forgets every stream, for instance when the key changes or is
    /// cleared: sequence numbers start again at 1 under the new key.
    pub fn clear(&mut self) {
        self.slots = [Slot::EMPTY; N];
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const A: StreamKey = StreamKey::v4([192, 168, 1, 1], 8848);

    #[test]
    fn key_constructors() {
        let k = StreamKey::v4([10, 0, 0, 1], 8848);
        assert_eq!(k.addr[..4], [10, 0, 0, 1]);
        assert_eq!(k.addr[4..], [0; 12]);
        assert!(!k.v6);
        assert_eq!(k.port, 8848);
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[10, 0, 0, 1]);
        let k6 = StreamKey::v6(mapped, 8848);
        assert!(k6.v6);
        assert_ne!(k, k6);
        // Same bytes, other family.
        assert_ne!(StreamKey::v6(k.addr, 8848), k);
    }

    /// The extended format's table orders in serial arithmetic: across the
    /// 64-bit wrap a larger-looking old number is stale.
    #[test]
    fn u64_table_uses_serial_order() {
        let mut t: ReplayTable<2, u64> = ReplayTable::new();
        t.advance(&A, u64::MAX - 1).unwrap();
        assert_eq!(t.check(&A, 5), Ok(()));
        t.advance(&A, 5).unwrap();
        assert_eq!(t.check(&A, u64::MAX), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, u64::MAX - 1), Err(AdvanceError::Stale));
        assert_eq!(t.check(&A, 0), Err(DropReason::Replay));
        assert_eq!(t.last(&A), Some(5));
    }

    #[test]
    fn new_table_is_empty_and_const() {
        static TABLE: ReplayTable<4> = ReplayTable::new();
        assert!(TABLE.is_empty());
        assert_eq!(TABLE.len(), 0);
        assert_eq!(TABLE.capacity(), 4);
        assert_eq!(TABLE.check(&A, 1), Ok(()));
        let d: ReplayTable<4> = ReplayTable::default();
        assert!(d.is_empty());
    }

    #[test]
    fn accepts_increasing_rejects_equal_or_lower() {
        let mut t = ReplayTable::<4>::new();
        assert_eq!(t.check(&A, 1), Ok(()));
        assert_eq!(t.advance(&A, 1), Ok(()));
        assert_eq!(t.len(), 1);
        assert_eq!(t.last(&A), Some(1));
        assert_eq!(t.check(&A, 1), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, 1), Err(AdvanceError::Stale));
        assert_eq!(t.check(&A, 2), Ok(()));
        assert_eq!(t.advance(&A, 2), Ok(()));
        // Gaps are fine, going back is not.
        assert_eq!(t.check(&A, 10), Ok(()));
        assert_eq!(t.advance(&A, 10), Ok(()));
        for old in [0, 1, 2, 9, 10] {
            assert_eq!(t.check(&A, old), Err(DropReason::Replay), "seq {old}");
            assert_eq!(t.advance(&A, old), Err(AdvanceError::Stale), "seq {old}");
        }
        assert_eq!(t.last(&A), Some(10));
        assert_eq!(t.len(), 1);
        // No wrap-around: u32::MAX is the end of the stream.
        assert_eq!(t.advance(&A, u32::MAX), Ok(()));
        assert_eq!(t.check(&A, 0), Err(DropReason::Replay));
        assert_eq!(t.check(&A, 1), Err(DropReason::Replay));
        assert_eq!(t.check(&A, u32::MAX), Err(DropReason::Replay));
    }

    #[test]
    fn seq_zero_is_never_valid() {
        let mut t = ReplayTable::<4>::new();
        assert_eq!(t.check(&A, 0), Err(DropReason::Replay));
        assert_eq!(t.advance(&A, 0), Err(AdvanceError::Stale));
        assert!(t.is_empty());
    }

    #[test]
    fn streams_are_independent() {
        let b_port = StreamKey::v4([192, 168, 1, 1], 8849);
        let b_addr = StreamKey::v4([192, 168, 1, 2], 8848);
        let b_v6 = StreamKey::v6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8848);
        let mut t = ReplayTable::<4>::new();
        assert_eq!(t.advance(&A, 100), Ok(()));
        for k in [b_port, b_addr, b_v6] {
            assert_eq!(t.check(&k, 1), Ok(()));
            assert_eq!(t.advance(&k, 1), Ok(()));
        }
        assert_eq!(t.len(), 4);
        assert_eq!(t.advance(&b_port, 2), Ok(()));
        assert_eq!(t.last(&A), Some(100));
        assert_eq!(t.last(&b_port), Some(2));
        assert_eq!(t.last(&b_addr), Some(1));
        assert_eq!(t.last(&b_v6), Some(1));
        assert_eq!(t.check(&A, 100), Err(DropReason::Replay));
        assert_eq!(t.check(&b_addr, 2), Ok(()));
    }

    #[test]
    fn check_then_advance_race() {
        let mut t = ReplayTable::<4>::new();
        assert_eq!(t.advance(&A, 5), Ok(()));
        // Two CPUs check 6 and 7 concurrently; both pass.
        assert_eq!(t.check(&A, 6), Ok(()));
        assert_eq!(t.check(&A, 7), Ok(()));
        // 7 is verified and recorded first: 6 is now stale.
        assert_eq!(t.advance(&A, 7), Ok(()));
        assert_eq!(t.advance(&A, 6), Err(AdvanceError::Stale));
        assert_eq!(t.last(&A), Some(7));
        // Same race on a new stream, and with an equal seq (a replay that
        // raced the original).
        let b = StreamKey::v4([1, 2, 3, 4], 1);
        assert_eq!(t.check(&b, 3), Ok(()));
        assert_eq!(t.check(&b, 3), Ok(()));
        assert_eq!(t.advance(&b, 3), Ok(()));
        assert_eq!(t.advance(&b, 3), Err(AdvanceError::Stale));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn full_table_keeps_known_streams() {
        let mut t = ReplayTable::<2>::new();
        let k = |i: u8| StreamKey::v4([10, 0, 0, i], 8848);
        assert_eq!(t.advance(&k(1), 1), Ok(()));
        assert_eq!(t.advance(&k(2), 1), Ok(()));
        assert_eq!(t.len(), 2);
        // A new stream passes the check but cannot be recorded.
        assert_eq!(t.check(&k(3), 1), Ok(()));
        assert_eq!(t.advance(&k(3), 1), Err(AdvanceError::Full));
        assert_eq!(t.len(), 2);
        assert_eq!(t.last(&k(3)), None);
        // Known streams go on, and keep their state.
        assert_eq!(t.advance(&k(1), 2), Ok(()));
        assert_eq!(t.advance(&k(2), 9), Ok(()));
        assert_eq!(t.advance(&k(1), 2), Err(AdvanceError::Stale));
        assert_eq!(t.last(&k(1)), Some(2));
        assert_eq!(t.last(&k(2)), Some(9));

        let mut z = ReplayTable::<0>::new();
        assert_eq!(z.check(&A, 1), Ok(()));
        assert_eq!(z.advance(&A, 1), Err(AdvanceError::Full));
        assert!(z.is_empty());
    }

    #[test]
    fn clear_resets() {
        let mut t = ReplayTable::<2>::new();
        let b = StreamKey::v4([10, 0, 0, 2], 8848);
        assert_eq!(t.advance(&A, 50), Ok(()));
        assert_eq!(t.advance(&b, 60), Ok(()));
        assert_eq!(
            t.advance(&StreamKey::v4([9; 4], 1), 1),
            Err(AdvanceError::Full)
        );
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.last(&A), None);
        assert_eq!(t.check(&A, 1), Ok(()));
        assert_eq!(t.advance(&A, 1), Ok(()));
        assert_eq!(t.advance(&StreamKey::v4([9; 4], 1), 1), Ok(()));
        assert_eq!(t.len(), 2);
    }

    proptest! {
        /// The table agrees with a naive model (a list of streams with
        /// their last accepted seq) on any sequence of operations.
        #[test]
        fn matches_model(
            ops in proptest::collection::vec((0u8..6, 0u32..20, any::<bool>()), 0..200),
        ) {
            const CAP: usize = 4;
            let mut t = ReplayTable::<CAP>::new();
            let mut model: Vec<(StreamKey, u32)> = Vec::new();
            for (stream, seq, clear) in ops {
                if clear && seq == 0 {
                    t.clear();
                    model.clear();
                    continue;
                }
                let key = StreamKey::v4([10, 0, 0, stream % 3], u16::from(stream / 3));
                let known = model.iter().position(|(k, _)| *k == key);
                let expect_check = match known {
                    _ if seq == 0 => Err(DropReason::Replay),
                    Some(i) if seq <= model[i].1 => Err(DropReason::Replay),
                    _ => Ok(()),
                };
                prop_assert_eq!(t.check(&key, seq), expect_check);
                let expect_advance = match known {
                    _ if seq == 0 => Err(AdvanceError::Stale),
                    Some(i) if seq <= model[i].1 => Err(AdvanceError::Stale),
                    Some(i) => {
                        model[i].1 = seq;
                        Ok(())
                    }
                    None if model.len() == CAP => Err(AdvanceError::Full),
                    None => {
                        model.push((key, seq));
                        Ok(())
                    }
                };
                prop_assert_eq!(t.advance(&key, seq), expect_advance);
                prop_assert_eq!(t.len(), model.len());
                prop_assert_eq!(t.last(&key), model.iter().find(|(k, _)| *k == key).map(|e| e.1));
            }
        }
    }
}
