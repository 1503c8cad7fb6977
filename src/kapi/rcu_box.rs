// SPDX-License-Identifier: GPL-2.0

//! A boxed value that readers look at under the RCU read lock and writers
//! replace as a whole (`rcu_dereference()` / `rcu_replace_pointer()` and
//! `synchronize_rcu()` before the old value is freed).
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use super::inline_atomic::InlineAtomic;
use super::rcu::{read_locked, RcuHeld};
use core::ptr;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full};
use kernel::sync::rcu;

/// An RCU-published `Option<KBox<T>>`.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::into_raw` and is owned by this
/// object; a value that was replaced is freed only after a grace period
/// that started after it stopped being reachable.
pub(crate) struct RcuBox<T> {
    ptr: Atomic<*mut T>,
}

// SAFETY: The value is shared with readers on any CPU (`T: Sync`) and freed
// by whichever thread replaces or drops it (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}

impl<T> RcuBox<T> {
    /// Nothing published.
    pub(crate) const fn empty() -> Self {
        // INVARIANT: Null.
        Self {
            ptr: Atomic::new(ptr::null_mut()),
        }
    }

    /// The published value, readable for as long as the RCU read lock
    /// `rcu` is held.
    pub(crate) fn get<'a>(&'a self, rcu: &'a rcu::Guard) -> Option<&'a T> {
        self.get_in(RcuHeld::of(rcu))
    }

    /// The published value, readable for as long as the RCU read side is
    /// held (`_rcu`: a hook's, see [`RcuHeld`]).
    pub(crate) fn get_in<'a>(&'a self, _rcu: RcuHeld<'a>) -> Option<&'a T> {
        let p = self.ptr.read_acquire();
        // SAFETY: A non-null pointer read under the RCU read lock is a live
        // value: one replaced meanwhile is freed only after a grace period,
        // which cannot end while the read side is held, for `'a` (type
        // invariants of `Self` and of `RcuHeld`).
        unsafe { p.cast_const().as_ref() }
    }

    /// Runs `f` with the published value, if any, under the RCU read lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        read_locked(|rcu| f(self.get_in(rcu)))
    }

    /// Runs `f` with the published value, if any, under the RCU read side
    /// `rcu` the caller holds (a hook's, see [`RcuHeld`]).
    pub(crate) fn with_in<'a, R>(
        &'a self,
        rcu: RcuHeld<'a>,
        f: impl FnOnce(Option<&'a T>) -> R,
    ) -> R {
        f(self.get_in(rcu))
    }

    /// Whether a value is published.
    pub(crate) fn is_set(&self) -> bool {
        !self.ptr.read_acquire().is_null()
    }

    /// Publishes `new`, waits until no reader can see the old value, and
    /// returns it. Sleeps: process context only, and never with an
    /// [`rcu::Guard`] held. A caller that held one, with a reference from
    /// [`Self::get`], would see the value freed under that reference (the
    /// same contract as the kernel crate's `Revocable::revoke`, and as
    /// `synchronize_rcu()` in C, which lockdep checks).
    pub(crate) fn replace(&self, new: Option<KBox<T>>) -> Option<KBox<T>> {
        let p = new.map_or(ptr::null_mut(), KBox::into_raw);
        // INVARIANT: The new value is complete before the release part of
        // the exchange publishes it; the old one is ours from here on.
        let old = self.ptr.xchg(p, Full);
        if old.is_null() {
            return None;
        }
        rcu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw`, the exchange made us its
        // only owner, and every reader that could have loaded it has left
        // its RCU read-side section.
        Some(unsafe { KBox::from_raw(old) })
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: Owned (type invariant); `&mut self` means no reader
            // borrows it through `get`, and its owner stops every reader
            // that reaches it without a borrow (hooks) before dropping it.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}
