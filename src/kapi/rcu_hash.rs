// SPDX-License-Identifier: GPL-2.0

//! A hash table whose lookups take no lock: readers walk a bucket under
//! the RCU read lock, writers link and unlink nodes under the table's
//! spinlock, and an unlinked node is freed only after an RCU grace period
//! (`kvfree_call_rcu()`), when no reader can hold it any more. The lock
//! is a BH one ([`SpinLockBh`]), as `spin_lock_bh()` in C. The model
//! is `hlist_add_head_rcu()` / `hlist_del_rcu()` / `kfree_rcu()`, on a
//! singly linked list with release stores and acquire loads.
//!
//! The lock also guards state of the user's (`W`): counts that must agree
//! with the table's contents.
//!
//! C header: [`include/linux/rculist.h`](srctree/include/linux/rculist.h)

use super::bhlock::{new_spinlock_bh, SpinLockBh, SpinLockBhBackend};
use super::inline_atomic::InlineAtomic;
use super::rcu::RcuHeld;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::lock::Guard;
use kernel::types::Opaque;

/// One entry: its key and value, and the links the table uses.
///
/// # Invariants
///
/// Allocated by [`Writer::insert`] with `KBox` (kmalloc); reachable from at
/// most one bucket; freed only by `kvfree_call_rcu()` after it was
/// unlinked, or by the table's `Drop` once no reader can exist.
#[repr(C)]
pub(crate) struct Node<K, V> {
    rcu: Opaque<kernel::bindings::callback_head>,
    next: Atomic<*mut Node<K, V>>,
    key: K,
    value: V,
}

impl<K, V> Node<K, V> {
    /// The node's key.
    pub(crate) fn key(&self) -> &K {
        &self.key
    }

    /// The node's value (fields a reader reads without the lock must be
    /// atomics).
    pub(crate) fn value(&self) -> &V {
        &self.value
    }
}

/// The table: `2^bits` buckets, and the writers' lock with `W` inside.
///
/// # Invariants
///
/// Every non-null pointer in `buckets`, and in a reachable node's `next`,
/// is a live [`Node`] owned by the table. Pointers change only under
/// `lock`, with release stores.
#[pin_data(PinnedDrop)]
pub(crate) struct RcuHash<K, V, W> {
    buckets: KVVec<Atomic<*mut Node<K, V>>>,
    mask: usize,
    #[pin]
    lock: SpinLockBh<W>,
    _t: PhantomData<(K, V)>,
}

// SAFETY: Nodes are created, read and freed from any context; `K` and `V`
// must be sendable and shareable for that, and `W` is behind the lock.
unsafe impl<K: Send + Sync, V: Send + Sync, W: Send> Sync for RcuHash<K, V, W> {}
// SAFETY: As above.
unsafe impl<K: Send + Sync, V: Send + Sync, W: Send> Send for RcuHash<K, V, W> {}

impl<K: PartialEq, V, W> RcuHash<K, V, W> {
    /// A table of `2^bits` empty buckets whose lock holds `state`. Process
    /// context.
    pub(crate) fn new(bits: u32, state: W) -> impl PinInit<Self, Error> {
        const {
            // Freed by `kvfree_call_rcu()`, which runs no destructor.
            assert!(!core::mem::needs_drop::<K>() && !core::mem::needs_drop::<V>());
        }
        let n = 1usize << bits.min(24);
        try_pin_init!(Self {
            buckets: {
                // Up to 8 MiB: `kvmalloc`, as `kvcalloc()` in C.
                let mut b = KVVec::with_capacity(n, GFP_KERNEL)?;
                for _ in 0..n {
                    b.push(Atomic::new(ptr::null_mut()), GFP_KERNEL)?;
                }
                b
            },
            mask: n - 1,
            lock <- new_spinlock_bh!(state, "ip_vs_sync_auth_rcu_hash"),
            _t: PhantomData,
        }? Error)
    }

    /// The number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.mask + 1
    }

    fn head(&self, hash: u32) -> &Atomic<*mut Node<K, V>> {
        // `mask < buckets.len()`: in bounds.
        &self.buckets[hash as usize & self.mask]
    }

    /// The node of `key` in bucket `hash`, for as long as the RCU read
    /// side `_rcu` is held (a node unlinked meanwhile stays readable until
    /// the grace period ends).
    pub(crate) fn get<'a>(
        &'a self,
        hash: u32,
        key: &K,
        _rcu: RcuHeld<'a>,
    ) -> Option<&'a Node<K, V>> {
        let mut p = self.head(hash).read_acquire();
        while !p.is_null() {
            // SAFETY: A node reached from a bucket while the RCU read side
            // is held is live for `'a` (type invariants: freed only after a
            // grace period once unlinked; `RcuHeld` holds the read side
            // for `'a`).
            let n = unsafe { &*p };
            if n.key == *key {
                return Some(n);
            }
            p = n.next.read_acquire();
        }
        None
    }

    /// The nodes of bucket `bucket` (none if it is out of range), head
    /// first, for as long as the RCU read side `_rcu` is held. Nodes linked
    /// or unlinked meanwhile may or may not be seen; every node seen stays
    /// readable for `'a`.
    pub(crate) fn bucket_nodes<'a>(
        &'a self,
        bucket: usize,
        _rcu: RcuHeld<'a>,
    ) -> impl Iterator<Item = &'a Node<K, V>> + 'a {
        let mut p = self
            .buckets
            .get(bucket)
            .map_or(ptr::null_mut(), |h| h.read_acquire());
        core::iter::from_fn(move || {
            if p.is_null() {
                return None;
            }
            // SAFETY: A node reached from a bucket while the RCU read side
            // is held is live for `'a` (type invariants: freed only after a
            // grace period once unlinked; `RcuHeld` holds the read side
            // for `'a`).
            let n = unsafe { &*p };
            p = n.next.read_acquire();
            Some(n)
        })
    }

    /// Whether bucket `bucket` looks empty, without the lock (a hint: a
    /// pass over the table may skip it).
    pub(crate) fn bucket_is_empty(&self, bucket: usize) -> bool {
        self.buckets
            .get(bucket & self.mask)
            .is_none_or(|h| h.read_once().is_null())
    }

    /// The first bucket from `from` on, below `to` (and the number of
    /// buckets), that does not look empty, without the lock (a hint, as
    /// [`Self::bucket_is_empty`]); the end of that range if there is none
    /// (never less than `from`).
    /// One walk over the buckets' slice: a pass over a sparse table spends
    /// most of its time here.
    pub(crate) fn next_nonempty(&self, from: usize, to: usize) -> usize {
        let end = to.min(self.buckets.len());
        self.buckets
            .get(from..end)
            .and_then(|s| s.iter().position(|h| !h.read_once().is_null()))
            .map_or(end.max(from), |k| from + k)
    }

    /// Bytes one node (key, value and links) takes from the allocator
    /// (its size rounded up to its `kmalloc` cache).
    pub(crate) fn node_size() -> usize {
        // SAFETY: No preconditions.
        unsafe { kernel::bindings::kmalloc_size_roundup(size_of::<Node<K, V>>()) }
    }

    /// Takes the writers' lock.
    pub(crate) fn write(&self) -> Writer<'_, K, V, W> {
        Writer {
            table: self,
            guard: self.lock.lock(),
        }
    }
}

/// Write access to a table: its lock held.
pub(crate) struct Writer<'a, K, V, W> {
    table: &'a RcuHash<K, V, W>,
    guard: Guard<'a, W, SpinLockBhBackend>,
}

impl<K, V, W> Deref for Writer<'_, K, V, W> {
    type Target = W;

    fn deref(&self) -> &W {
        &self.guard
    }
}

impl<K, V, W: Unpin> DerefMut for Writer<'_, K, V, W> {
    fn deref_mut(&mut self) -> &mut W {
        &mut self.guard
    }
}

impl<K: PartialEq, V, W: Unpin> Writer<'_, K, V, W> {
    /// The value of `link` (a bucket head or a node's `next`), read by the
    /// lock's holder (as C's `rcu_dereference_protected()`: no ordering
    /// is needed, the lock orders it against the stores).
    fn link(&self, link: &Atomic<*mut Node<K, V>>) -> *mut Node<K, V> {
        link.read_once()
    }

    /// Whether bucket `bucket` (taken modulo [`RcuHash::buckets`]) is
    /// empty; exact while the lock is held.
    pub(crate) fn bucket_is_empty(&self, bucket: usize) -> bool {
        self.table
            .buckets
            .get(bucket & self.table.mask)
            .is_none_or(|h| self.link(h).is_null())
    }

    /// The node of `key` in bucket `hash`; stable while the lock is held.
    pub(crate) fn get(&self, hash: u32, key: &K) -> Option<&Node<K, V>> {
        let mut p = self.link(self.table.head(hash));
        while !p.is_null() {
            // SAFETY: Under the lock no node is unlinked or freed, so every
            // reachable node is live while `self` is borrowed.
            let n = unsafe { &*p };
            if n.key == *key {
                return Some(n);
            }
            p = self.link(&n.next);
        }
        None
    }

    /// Runs `f` on the node of `key` in bucket `hash`, if there is one,
    /// and on the lock's state.
    pub(crate) fn with<R>(
        &mut self,
        hash: u32,
        key: &K,
        f: impl FnOnce(&Node<K, V>, &mut W) -> R,
    ) -> Option<R> {
        let mut p = self.link(self.table.head(hash));
        while !p.is_null() {
            // SAFETY: Under the lock no node is unlinked or freed, so every
            // reachable node is live while `self` is borrowed.
            let n = unsafe { &*p };
            if n.key == *key {
                return Some(f(n, &mut self.guard));
            }
            p = self.link(&n.next);
        }
        None
    }

    /// Links a new node for `key` (which must not be in the table) at the
    /// head of bucket `hash`. Allocates with `GFP_ATOMIC`, never with a
    /// caller's flags: the writer holds a spinlock with bottom halves off,
    /// where an allocation must not sleep (a KUnit case that passed
    /// `GFP_KERNEL` here made the debug kernels report "sleeping function
    /// called from invalid context").
    pub(crate) fn insert(&mut self, hash: u32, key: K, value: V) -> Result<&Node<K, V>> {
        let head = self.table.head(hash);
        let node = KBox::new(
            Node {
                rcu: Opaque::uninit(),
                next: Atomic::new(self.link(head)),
                key,
                value,
            },
            GFP_ATOMIC,
        )?;
        let p = KBox::into_raw(node);
        // INVARIANT: The node is complete before the release store makes it
        // reachable; it is owned by the table from now on.
        head.write_release(p);
        // SAFETY: Just linked, live while the lock is held.
        Ok(unsafe { &*p })
    }

    /// The number of buckets.
    pub(crate) fn buckets(&self) -> usize {
        self.table.buckets()
    }

    /// Unlinks, and frees after a grace period, every node of bucket
    /// `bucket` (taken modulo [`RcuHash::buckets`], so a hash will do) for
    /// which `keep` says no; returns how many. `keep` also gets the lock's
    /// state.
    pub(crate) fn retain_bucket(
        &mut self,
        bucket: usize,
        mut keep: impl FnMut(&Node<K, V>, &mut W) -> bool,
    ) -> usize {
        let table = self.table;
        let Some(mut link) = table.buckets.get(bucket & table.mask) else {
            return 0;
        };
        let mut removed = 0usize;
        let mut p = self.link(link);
        loop {
            if p.is_null() {
                return removed;
            }
            // SAFETY: Reachable under the lock: live.
            let n = unsafe { &*p };
            if keep(n, &mut self.guard) {
                link = &n.next;
                p = self.link(link);
                continue;
            }
            // Readers on `p` go on to its successor, which stays linked.
            // Only the lock's holder stores links, so `next` is what
            // `link` now holds: not read again after the call below.
            let next = self.link(&n.next);
            link.write_release(next);
            // At most the nodes of one bucket: no overflow to check.
            removed = removed.wrapping_add(1);
            // SAFETY: `p` is unlinked, so no new reader can reach it; it was
            // allocated with kmalloc (`KBox`), and `rcu` is its callback
            // head, which nothing else uses. Its key and value need no
            // destructor (checked in `new`).
            unsafe { kernel::bindings::kvfree_call_rcu(n.rcu.get().cast(), p.cast()) };
            p = next;
        }
    }
}

#[pinned_drop]
impl<K, V, W> PinnedDrop for RcuHash<K, V, W> {
    fn drop(self: Pin<&mut Self>) {
        for head in self.buckets.iter() {
            let mut p = head.load(Relaxed);
            while !p.is_null() {
                // SAFETY: The table is going away: no reader or writer can
                // reach it (its owner stopped every user and waited for a
                // grace period, see its invariants). The node was allocated
                // by `KBox` and is reachable only from here.
                let n = unsafe { KBox::from_raw(p) };
                p = n.next.load(Relaxed);
            }
        }
    }
}
