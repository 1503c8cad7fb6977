// SPDX-License-Identifier: GPL-2.0

//! Small kernel services without a wrapper in the 7.3 kernel crate: the
//! seconds clock, wall-clock nanoseconds, random numbers,
//! `cond_resched()`.
//!
//! C header: [`include/linux/jiffies.h`](srctree/include/linux/jiffies.h)

use super::bindings as b;

/// Seconds since boot, monotonic (`get_jiffies_64() / HZ`).
pub(crate) fn uptime_secs() -> u64 {
    // SAFETY: No preconditions.
    unsafe { b::ipvsa_uptime_secs() }
}

/// A random number (`get_random_u32()`).
pub(crate) fn random_u32() -> u32 {
    // SAFETY: No preconditions.
    unsafe { kernel::bindings::get_random_u32() }
}

/// Lets the scheduler run something else if it wants to, in a long loop
/// of process context (`cond_resched()`).
pub(crate) fn cond_resched() {
    // SAFETY: No memory-safety preconditions; like any function that may
    // sleep, it is called only where sleeping is allowed.
    unsafe { b::ipvsa_cond_resched() }
}

/// Nanoseconds since the epoch (`CLOCK_REALTIME`; the kernel crate's
/// `Instant<RealTime>` does not give its value).
pub(crate) fn realtime_ns() -> u64 {
    // SAFETY: No preconditions (`ktime_get_real_ns()` is this, inline).
    let t = unsafe { kernel::bindings::ktime_get_real() };
    u64::try_from(t).unwrap_or(0)
}

/// Nanoseconds of the monotonic clock (`ktime_get_ns()`), for benchmarks.
pub(crate) fn monotonic_ns() -> u64 {
    // SAFETY: No preconditions (`ktime_get_ns()` is this, inline).
    let t = unsafe { kernel::bindings::ktime_get() };
    u64::try_from(t).unwrap_or(0)
}
