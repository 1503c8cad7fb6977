// SPDX-License-Identifier: GPL-2.0

//! A spinlock that turns bottom halves (softirqs) off while it is held:
//! C's `spin_lock_bh()`, as a backend of the kernel crate's
//! [`Lock`](kernel::sync::lock::Lock).
//!
//! The module's locks are taken by the netfilter hooks (softirq) and by
//! process context (sockopts,
//! `/proc`, the collector), never in hard interrupt context. C guards such
//! state with `spin_lock_bh()`. The kernel crate's `SpinLockIrq` is also
//! correct for it, but it saves, disables and restores the interrupt
//! state on every lock, which the drop paths pay per packet; this backend
//! does what the C code did.
//!
//! Not for a lock that hard interrupt context takes, nor one taken with
//! interrupts disabled (`local_bh_enable()` must run with interrupts on).
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use kernel::sync::lock::{Backend, Lock};

/// A [`Lock`] with BHs off while held (`spin_lock_bh()`).
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// A held [`SpinLockBh`]: proof that the caller holds the lock.
pub(crate) type SpinLockBhGuard<'a, T> = kernel::sync::lock::Guard<'a, T, SpinLockBhBackend>;

/// Creates a [`SpinLockBh`] holding `inner` (an optional name; its lock
/// class is the macro call site's), as `new_spinlock!` does.
macro_rules! new_spinlock_bh {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::kapi::bhlock::SpinLockBh::new(
            $inner,
            ::kernel::optional_name!($($name)?),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_bh;

/// The backend of [`SpinLockBh`]: a kernel `spinlock_t`, taken with
/// `spin_lock_bh()`.
pub(crate) struct SpinLockBhBackend;

// SAFETY: The kernel's `spinlock_t` gives mutual exclusion; `lock`,
// `try_lock` and `unlock` use the same BH-disabling calls in pairs, and
// `relock` keeps the default, which calls `lock`.
unsafe impl Backend for SpinLockBhBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and `name`
        // and `key` valid for reads for as long as the lock exists.
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` is an initialised lock.
        unsafe { calls::lock_bh(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: The caller guarantees `ptr` is an initialised lock.
        (unsafe { calls::trylock_bh(ptr) } != 0).then_some(())
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller guarantees `ptr` is a lock it holds, taken by
        // `lock` or `try_lock` above.
        unsafe { calls::unlock_bh(ptr) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // `lockdep_assert_held()`, which is nothing without lockdep: the
        // kernel crate calls this on every lock taken, and without lockdep
        // it would be a call into an empty C helper.
        if cfg!(CONFIG_LOCKDEP) {
            // SAFETY: The caller guarantees `ptr` is an initialised lock.
            unsafe { kernel::bindings::spin_assert_is_held(ptr) }
        }
    }
}

/// `spin_lock_bh()`, `spin_trylock_bh()` and `spin_unlock_bh()`, which
/// are static inlines. Where `spinlock_t` wraps a raw spinlock (not
/// `CONFIG_PREEMPT_RT`, whose `spinlock_t` is an `rt_mutex`) and the raw
/// BH operations are not inlined (no `CONFIG_INLINE_SPIN_*_BH`, as on
/// x86), each inline's whole body is a call of the exported
/// `_raw_spin_lock_bh()`, `_raw_spin_trylock_bh()` or
/// `_raw_spin_unlock_bh()` with the lock's `rlock` (include/linux/spinlock.h,
/// spinlock_api_smp.h): these call them directly, as the C does, without
/// a helper's extra call and return on every lock and unlock (the
/// stale-sequence drop takes and releases the replay lock; what this
/// saves there is not measured yet). Lockdep's annotations are inside the
/// called functions.
#[cfg(not(any(
    CONFIG_PREEMPT_RT,
    CONFIG_INLINE_SPIN_LOCK_BH,
    CONFIG_INLINE_SPIN_TRYLOCK_BH,
    CONFIG_INLINE_SPIN_UNLOCK_BH
)))]
mod calls {
    use kernel::bindings::{raw_spinlock_t, spinlock_t};

    /// `&lock->rlock`: the raw lock is the first member of the union that
    /// is `spinlock_t` (opaque in `kernel::bindings`), at its start.
    fn rlock(lock: *mut spinlock_t) -> *mut raw_spinlock_t {
        lock.cast()
    }

    /// # Safety
    ///
    /// `lock` is an initialised lock.
    pub(super) unsafe fn lock_bh(lock: *mut spinlock_t) {
        // SAFETY: The caller guarantees it; `rlock()` is its raw lock.
        unsafe { kernel::bindings::_raw_spin_lock_bh(rlock(lock)) }
    }

    /// # Safety
    ///
    /// `lock` is an initialised lock.
    pub(super) unsafe fn trylock_bh(lock: *mut spinlock_t) -> core::ffi::c_int {
        // SAFETY: The caller guarantees it; `rlock()` is its raw lock.
        unsafe { kernel::bindings::_raw_spin_trylock_bh(rlock(lock)) }
    }

    /// # Safety
    ///
    /// `lock` is an initialised lock the caller holds, taken by
    /// [`lock_bh`] or [`trylock_bh`].
    pub(super) unsafe fn unlock_bh(lock: *mut spinlock_t) {
        // SAFETY: The caller guarantees it; `rlock()` is its raw lock.
        unsafe { kernel::bindings::_raw_spin_unlock_bh(rlock(lock)) }
    }
}

/// Elsewhere: the C helpers, which call the inlines.
#[cfg(any(
    CONFIG_PREEMPT_RT,
    CONFIG_INLINE_SPIN_LOCK_BH,
    CONFIG_INLINE_SPIN_TRYLOCK_BH,
    CONFIG_INLINE_SPIN_UNLOCK_BH
))]
mod calls {
    use crate::kapi::bindings as b;
    use kernel::bindings::spinlock_t;

    /// # Safety
    ///
    /// `lock` is an initialised lock.
    pub(super) unsafe fn lock_bh(lock: *mut spinlock_t) {
        // SAFETY: The caller guarantees it.
        unsafe { b::ipvsa_spin_lock_bh(lock) }
    }

    /// # Safety
    ///
    /// `lock` is an initialised lock.
    pub(super) unsafe fn trylock_bh(lock: *mut spinlock_t) -> core::ffi::c_int {
        // SAFETY: The caller guarantees it.
        unsafe { b::ipvsa_spin_trylock_bh(lock) }
    }

    /// # Safety
    ///
    /// `lock` is an initialised lock the caller holds.
    pub(super) unsafe fn unlock_bh(lock: *mut spinlock_t) {
        // SAFETY: The caller guarantees it.
        unsafe { b::ipvsa_spin_unlock_bh(lock) }
    }
}
