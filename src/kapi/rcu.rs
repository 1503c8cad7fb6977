// SPDX-License-Identifier: GPL-2.0

//! Evidence that the RCU read side is held, for code that needs it but
//! did not take it: a netfilter hook runs inside the read-side section its
//! caller opened (`nf_hook()` and `NF_HOOK_LIST()` take `rcu_read_lock()`
//! around the hooks, and `nf_reinject()` requires it), so a hook that
//! takes the lock again pays for a nested lock and unlock per packet; on
//! a kernel without `CONFIG_RUST_INLINE_HELPERS` each is a helper call
//! around the kernel's call.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use core::marker::PhantomData;
use kernel::sync::rcu;

/// The RCU read side is held on this thread for `'a`: what an
/// [`rcu::Guard`] proves, without owning the lock.
///
/// # Invariants
///
/// A read-side critical section that was open when this value was made
/// stays open on the current thread for all of `'a`. The type is neither
/// `Send` nor `Sync` (through `&rcu::Guard`), so the value cannot leave
/// the thread.
#[derive(Clone, Copy)]
pub(crate) struct RcuHeld<'a> {
    _guard: PhantomData<&'a rcu::Guard>,
}

impl<'a> RcuHeld<'a> {
    /// For as long as `guard` is borrowed.
    pub(crate) fn of(_guard: &'a rcu::Guard) -> Self {
        // INVARIANT: `guard` holds the lock while it is borrowed.
        Self {
            _guard: PhantomData,
        }
    }

    /// Trusts the caller.
    ///
    /// # Safety
    ///
    /// The RCU read side must be held on the current thread, by a
    /// read-side critical section that stays open for all of `'a`.
    pub(crate) unsafe fn new_unchecked() -> Self {
        // INVARIANT: The caller guarantees it.
        Self {
            _guard: PhantomData,
        }
    }
}

/// Runs `f` under an RCU read lock of its own, for callers outside a hook.
pub(crate) fn read_locked<R>(f: impl FnOnce(RcuHeld<'_>) -> R) -> R {
    let guard = rcu::read_lock();
    f(RcuHeld::of(&guard))
}
