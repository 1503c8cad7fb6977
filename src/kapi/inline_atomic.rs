// SPDX-License-Identifier: GPL-2.0

//! The kernel crate's atomics, inline on x86-64.
//!
//! On a kernel built without `CONFIG_RUST_INLINE_HELPERS` (which needs a
//! Clang-built kernel whose LLVM matches rustc's; Debian's GCC-built 7.3
//! kernel has it off) every operation of [`Atomic`] is a call into a C
//! helper (`rust_helper_atomic_read()`, `rust_helper_atomic64_add()`, ...)
//! whose body is one instruction. A profile of the gate's benchmark
//! (perf in the benchmark guest, 2026-12-02) found those calls on every
//! packet path: the chain walk of a lookup, each field of an entry, each
//! knob and counter. C inlines them.
//!
//! [`InlineAtomic`] does the same operations on the same [`Atomic`],
//! inline. On x86-64 it uses Rust's own atomics on the `Atomic`'s memory:
//! there they are the instructions the kernel's x86 atomics are (a plain
//! `mov` for a relaxed or acquire load and for a relaxed or release store,
//! `lock xadd` for an add: x86 is TSO, so acquire and release only forbid
//! the compiler to reorder, as `smp_load_acquire()`/`smp_store_release()`
//! do there). Elsewhere it calls the kernel crate's operation, helper and
//! all.
//!
//! C header: [`arch/x86/include/asm/atomic64_64.h`](srctree/arch/x86/include/asm/atomic64_64.h)

use kernel::sync::atomic::Atomic;
#[cfg(not(CONFIG_X86_64))]
use kernel::sync::atomic::{Acquire, Relaxed, Release};

/// [`Atomic`] operations without a helper call (see the module's
/// documentation). Each returns or stores what the kernel crate's
/// operation of the same ordering would.
pub(crate) trait InlineAtomic<T> {
    /// `self.load(Relaxed)`: `READ_ONCE()`, `atomic_read()`.
    fn read_once(&self) -> T;
    /// `self.load(Acquire)`: `smp_load_acquire()`, `rcu_dereference()`.
    fn read_acquire(&self) -> T;
    /// `self.store(v, Relaxed)`: `WRITE_ONCE()`, `atomic_set()`.
    fn write_once(&self, v: T);
    /// `self.store(v, Release)`: `smp_store_release()`,
    /// `rcu_assign_pointer()`.
    fn write_release(&self, v: T);
}

/// `self.add(v, Relaxed)` of an integer [`Atomic`]: `atomic_add()`.
pub(crate) trait InlineAdd<T> {
    /// Adds `v` (wrapping), with no ordering.
    fn add_relaxed(&self, v: T);
}

macro_rules! inline_int {
    ($($t:ty => $core:ident),* $(,)?) => {$(
        impl InlineAtomic<$t> for Atomic<$t> {
            #[inline(always)]
            fn read_once(&self) -> $t {
                #[cfg(CONFIG_X86_64)]
                return core_atomic!($core, self).load(core::sync::atomic::Ordering::Relaxed);
                #[cfg(not(CONFIG_X86_64))]
                return self.load(Relaxed);
            }

            #[inline(always)]
            fn read_acquire(&self) -> $t {
                #[cfg(CONFIG_X86_64)]
                return core_atomic!($core, self).load(core::sync::atomic::Ordering::Acquire);
                #[cfg(not(CONFIG_X86_64))]
                return self.load(Acquire);
            }

            #[inline(always)]
            fn write_once(&self, v: $t) {
                #[cfg(CONFIG_X86_64)]
                core_atomic!($core, self).store(v, core::sync::atomic::Ordering::Relaxed);
                #[cfg(not(CONFIG_X86_64))]
                self.store(v, Relaxed);
            }

            #[inline(always)]
            fn write_release(&self, v: $t) {
                #[cfg(CONFIG_X86_64)]
                core_atomic!($core, self).store(v, core::sync::atomic::Ordering::Release);
                #[cfg(not(CONFIG_X86_64))]
                self.store(v, Release);
            }
        }

        impl InlineAdd<$t> for Atomic<$t> {
            #[inline(always)]
            fn add_relaxed(&self, v: $t) {
                #[cfg(CONFIG_X86_64)]
                core_atomic!($core, self).fetch_add(v, core::sync::atomic::Ordering::Relaxed);
                #[cfg(not(CONFIG_X86_64))]
                self.add(v, Relaxed);
            }
        }
    )*};
}

/// The core atomic of type `$core` on the memory of kernel atomic `$a`.
#[cfg(CONFIG_X86_64)]
macro_rules! core_atomic {
    ($core:ident, $a:expr) => {{
        // SAFETY: `as_ptr()` points to the atomic's value, valid and
        // aligned for as long as `$a` is borrowed (the kernel crate's
        // guarantee); the core atomic has the value's size and alignment
        // (checked below). Every access to that memory is atomic: the
        // kernel crate's operations and these. On x86-64 both kinds are the
        // same instructions, so they order against each other as the LKMM
        // says.
        unsafe { core::sync::atomic::$core::from_ptr($a.as_ptr()) }
    }};
}

/// The core atomics are laid out as the values they stand for.
#[cfg(CONFIG_X86_64)]
const _: () = {
    use core::sync::atomic::{AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64};
    assert!(
        size_of::<AtomicI32>() == size_of::<i32>() && align_of::<AtomicI32>() == align_of::<i32>()
    );
    assert!(
        size_of::<AtomicU32>() == size_of::<u32>() && align_of::<AtomicU32>() == align_of::<u32>()
    );
    assert!(
        size_of::<AtomicI64>() == size_of::<i64>() && align_of::<AtomicI64>() == align_of::<i64>()
    );
    assert!(
        size_of::<AtomicU64>() == size_of::<u64>() && align_of::<AtomicU64>() == align_of::<u64>()
    );
    assert!(
        size_of::<AtomicPtr<u8>>() == size_of::<*mut u8>()
            && align_of::<AtomicPtr<u8>>() == align_of::<*mut u8>()
    );
};

inline_int!(i32 => AtomicI32, u32 => AtomicU32, i64 => AtomicI64, u64 => AtomicU64);

impl<T> InlineAtomic<*mut T> for Atomic<*mut T> {
    #[inline(always)]
    fn read_once(&self) -> *mut T {
        #[cfg(CONFIG_X86_64)]
        return core_atomic!(AtomicPtr, self).load(core::sync::atomic::Ordering::Relaxed);
        #[cfg(not(CONFIG_X86_64))]
        return self.load(Relaxed);
    }

    #[inline(always)]
    fn read_acquire(&self) -> *mut T {
        #[cfg(CONFIG_X86_64)]
        return core_atomic!(AtomicPtr, self).load(core::sync::atomic::Ordering::Acquire);
        #[cfg(not(CONFIG_X86_64))]
        return self.load(Acquire);
    }

    #[inline(always)]
    fn write_once(&self, v: *mut T) {
        #[cfg(CONFIG_X86_64)]
        core_atomic!(AtomicPtr, self).store(v, core::sync::atomic::Ordering::Relaxed);
        #[cfg(not(CONFIG_X86_64))]
        self.store(v, Relaxed);
    }

    #[inline(always)]
    fn write_release(&self, v: *mut T) {
        #[cfg(CONFIG_X86_64)]
        core_atomic!(AtomicPtr, self).store(v, core::sync::atomic::Ordering::Release);
        #[cfg(not(CONFIG_X86_64))]
        self.store(v, Release);
    }
}
