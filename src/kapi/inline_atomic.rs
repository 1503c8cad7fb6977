// SPDX-License-Identifier: GPL-2.0

//! The kernel crate's atomics, inline on x86-64.
//!
//! On a kernel built without `CONFIG_RUST_INLINE_HELPERS` (which needs a
//! Clang-built kernel whose LLVM matches rustc's; Debian's GCC-built 7.3
//! kernel has it off) every operation of [`Atomic`] is a call into a C
//! helper (`rust_helper_atomic_read()`, `rust_helper_atomic64_add()`, ...)
//! whose body is one instruction. A profile of the module's benchmark
//! (perf in the benchmark guest, 2026-12-02) found those calls on every
//! packet path: each link of a lookup's chain walk, each field of a gate
//! entry, each knob and counter. C inlines them.
//!
//! [`InlineAtomic`], [`InlineAdd`] and [`InlineCmpxchg`] do the same
//! operations on the same [`Atomic`] the way the kernel's C does them on
//! x86-64, in the kernel's
//! memory model (LKMM), not Rust's: `READ_ONCE()` and `WRITE_ONCE()` are
//! volatile accesses (`include/asm-generic/rwonce.h`); on x86, which is
//! TSO, `smp_load_acquire()` is `READ_ONCE()` followed by a compiler
//! barrier and `smp_store_release()` a compiler barrier followed by
//! `WRITE_ONCE()` (`arch/x86/include/asm/barrier.h`), `atomic_add()` is
//! one `lock add` and `atomic64_cmpxchg()` one `lock cmpxchg`
//! (`arch/x86/include/asm/atomic64_64.h`, `cmpxchg.h`). On every
//! other architecture they call the kernel crate's operation, helper and
//! all.
//!
//! C header: [`arch/x86/include/asm/barrier.h`](srctree/arch/x86/include/asm/barrier.h)

use kernel::sync::atomic::Atomic;

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

/// `self.cmpxchg(old, new, Full)` of an integer [`Atomic`]:
/// `atomic_cmpxchg()`, `atomic64_cmpxchg()`.
pub(crate) trait InlineCmpxchg<T> {
    /// Stores `new` if the value is `old`: `Ok(old)`; else leaves it and
    /// returns what it is, `Err(current)`. Fully ordered when it stores
    /// (as `atomic_cmpxchg()`; on x86-64 also when it does not).
    fn cmpxchg_full(&self, old: T, new: T) -> Result<T, T>;
}

/// x86-64: the kernel's own instructions for these operations.
#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{Atomic, InlineAdd, InlineAtomic, InlineCmpxchg};
    use core::arch::asm;

    /// `barrier()`: the compiler may move no memory access across it.
    #[inline(always)]
    fn barrier() {
        // SAFETY: An empty asm statement without `nomem`: a compiler
        // barrier, as C's `barrier()`; it executes nothing.
        unsafe { asm!("", options(nostack, preserves_flags)) }
    }

    macro_rules! inline_word {
        ($($t:ty),* $(,)?) => {$(
            impl InlineAtomic<$t> for Atomic<$t> {
                #[inline(always)]
                fn read_once(&self) -> $t {
                    let p = self.as_ptr();
                    // SAFETY: `p` is valid and aligned for `$t` while `self`
                    // is borrowed (the kernel crate's guarantee for
                    // `as_ptr()`). A volatile load of an aligned value no
                    // wider than a word is `READ_ONCE()`: single-copy atomic,
                    // and under the LKMM no data race with the kernel crate's
                    // atomic operations or C's `WRITE_ONCE()` on it.
                    unsafe { p.read_volatile() }
                }

                #[inline(always)]
                fn read_acquire(&self) -> $t {
                    // `smp_load_acquire()` on x86: TSO orders the load before
                    // every later access; the barrier stops the compiler.
                    let v = self.read_once();
                    barrier();
                    v
                }

                #[inline(always)]
                fn write_once(&self, v: $t) {
                    let p = self.as_ptr();
                    // SAFETY: As in `read_once`: `p` is valid and aligned, and
                    // a volatile store of a word is `WRITE_ONCE()`.
                    unsafe { p.write_volatile(v) }
                }

                #[inline(always)]
                fn write_release(&self, v: $t) {
                    // `smp_store_release()` on x86: TSO orders every earlier
                    // access before the store; the barrier stops the
                    // compiler.
                    barrier();
                    self.write_once(v);
                }
            }
        )*};
    }

    inline_word!(i32, u32, i64, u64);

    impl<T> InlineAtomic<*mut T> for Atomic<*mut T> {
        #[inline(always)]
        fn read_once(&self) -> *mut T {
            let p = self.as_ptr();
            // SAFETY: As for the integers: `p` is valid and aligned, and a
            // pointer is one word (`READ_ONCE()` of a pointer).
            unsafe { p.read_volatile() }
        }

        #[inline(always)]
        fn read_acquire(&self) -> *mut T {
            let v = self.read_once();
            barrier();
            v
        }

        #[inline(always)]
        fn write_once(&self, v: *mut T) {
            let p = self.as_ptr();
            // SAFETY: As for the integers: `WRITE_ONCE()` of a pointer.
            unsafe { p.write_volatile(v) }
        }

        #[inline(always)]
        fn write_release(&self, v: *mut T) {
            barrier();
            self.write_once(v);
        }
    }

    macro_rules! inline_add {
        ($($t:ty => $size:literal, $reg:literal),* $(,)?) => {$(
            impl InlineAdd<$t> for Atomic<$t> {
                #[inline(always)]
                fn add_relaxed(&self, v: $t) {
                    let p = self.as_ptr();
                    // SAFETY: `p` is valid and aligned for `$t` while `self`
                    // is borrowed. This is `atomic_add()` /
                    // `atomic64_add()` on x86 (`LOCK_PREFIX "addl/addq"`,
                    // with the memory clobber of C's `asm volatile`: no
                    // `nomem`); it writes only `*p` and the flags.
                    unsafe {
                        asm!(
                            concat!("lock add ", $size, " ptr [{p}], {v:", $reg, "}"),
                            p = in(reg) p,
                            v = in(reg) v,
                            options(nostack),
                        )
                    }
                }
            }
        )*};
    }

    inline_add!(i32 => "dword", "e", u32 => "dword", "e", i64 => "qword", "r", u64 => "qword", "r");

    macro_rules! inline_cmpxchg {
        ($($t:ty => $size:literal, $reg:literal),* $(,)?) => {$(
            impl InlineCmpxchg<$t> for Atomic<$t> {
                #[inline(always)]
                fn cmpxchg_full(&self, old: $t, new: $t) -> Result<$t, $t> {
                    let p = self.as_ptr();
                    let prev: $t;
                    // SAFETY: `p` is valid and aligned for `$t` while `self`
                    // is borrowed. This is `atomic_cmpxchg()` /
                    // `atomic64_cmpxchg()` on x86 (`arch_cmpxchg()`:
                    // `LOCK_PREFIX "cmpxchgl/cmpxchgq"`, `old` in and the
                    // value found out in `eax`/`rax`, with the memory
                    // clobber: no `nomem`); a locked instruction is fully
                    // ordered. It writes only `*p`, `rax` and the flags.
                    unsafe {
                        asm!(
                            concat!("lock cmpxchg ", $size, " ptr [{p}], {new:", $reg, "}"),
                            p = in(reg) p,
                            new = in(reg) new,
                            inout("rax") old => prev,
                            options(nostack),
                        )
                    }
                    if prev == old {
                        Ok(old)
                    } else {
                        Err(prev)
                    }
                }
            }
        )*};
    }

    inline_cmpxchg!(u32 => "dword", "e", u64 => "qword", "r");
}

/// Elsewhere: the kernel crate's operations.
#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::{Atomic, InlineAdd, InlineAtomic, InlineCmpxchg};
    use kernel::sync::atomic::{Acquire, Full, Relaxed, Release};

    macro_rules! via_kernel_crate {
        ($($t:ty),* $(,)?) => {$(
            impl InlineAtomic<$t> for Atomic<$t> {
                #[inline(always)]
                fn read_once(&self) -> $t {
                    self.load(Relaxed)
                }

                #[inline(always)]
                fn read_acquire(&self) -> $t {
                    self.load(Acquire)
                }

                #[inline(always)]
                fn write_once(&self, v: $t) {
                    self.store(v, Relaxed)
                }

                #[inline(always)]
                fn write_release(&self, v: $t) {
                    self.store(v, Release)
                }
            }
        )*};
    }

    via_kernel_crate!(i32, u32, i64, u64);

    impl<T> InlineAtomic<*mut T> for Atomic<*mut T> {
        #[inline(always)]
        fn read_once(&self) -> *mut T {
            self.load(Relaxed)
        }

        #[inline(always)]
        fn read_acquire(&self) -> *mut T {
            self.load(Acquire)
        }

        #[inline(always)]
        fn write_once(&self, v: *mut T) {
            self.store(v, Relaxed)
        }

        #[inline(always)]
        fn write_release(&self, v: *mut T) {
            self.store(v, Release)
        }
    }

    macro_rules! add_via_kernel_crate {
        ($($t:ty),* $(,)?) => {$(
            impl InlineAdd<$t> for Atomic<$t> {
                #[inline(always)]
                fn add_relaxed(&self, v: $t) {
                    self.add(v, Relaxed)
                }
            }
        )*};
    }

    add_via_kernel_crate!(i32, u32, i64, u64);

    macro_rules! cmpxchg_via_kernel_crate {
        ($($t:ty),* $(,)?) => {$(
            impl InlineCmpxchg<$t> for Atomic<$t> {
                #[inline(always)]
                fn cmpxchg_full(&self, old: $t, new: $t) -> Result<$t, $t> {
                    self.cmpxchg(old, new, Full)
                }
            }
        )*};
    }

    cmpxchg_via_kernel_crate!(u32, u64);
}
