// SPDX-License-Identifier: GPL-2.0

//! Small kernel services without a wrapper in the 7.3 kernel crate: the
//! seconds clock, wall-clock nanoseconds, random numbers,
//! `cond_resched()`, the module parameter `ipsec_table_bits`.
//!
//! C header: [`include/linux/jiffies.h`](srctree/include/linux/jiffies.h)

use super::bindings as b;

/// Seconds since boot, monotonic (`get_jiffies_64() / HZ`). On a 64-bit
/// kernel inline, as C's: every drop and accepted message reads it.
#[inline]
pub(crate) fn uptime_secs() -> u64 {
    #[cfg(CONFIG_64BIT)]
    {
        let jiffies = &raw const kernel::bindings::jiffies_64;
        // SAFETY: `jiffies_64` is the kernel's exported tick counter, valid
        // and aligned for the kernel's lifetime; the timer interrupt
        // updates it. On a 64-bit kernel `get_jiffies_64()` is one load of
        // it through the `volatile` `jiffies` (`include/linux/jiffies.h`):
        // this volatile load.
        let j = unsafe { jiffies.read_volatile() };
        // The kernel's `HZ`; the bindings' `HZ` is the UAPI's (`USER_HZ`).
        j / u64::from(kernel::bindings::CONFIG_HZ)
    }
    #[cfg(not(CONFIG_64BIT))]
    // SAFETY: No preconditions.
    unsafe {
        b::ipvsa_uptime_secs()
    }
}

/// The module parameter `ipsec_table_bits` as loaded (the last value given
/// wins; a C parameter: see `kapi_helpers.h`).
pub(crate) fn ipsec_table_bits() -> u32 {
    // SAFETY: No preconditions (a load of the parameter's word).
    unsafe { b::ipvsa_ipsec_table_bits() }
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

#[kernel::macros::kunit_tests(ip_vs_sync_auth_sys)]
mod tests {
    use super::*;

    /// The inline clock reads what the C helper (`get_jiffies_64() / HZ`,
    /// with the kernel's `HZ`) reads.
    #[test]
    fn uptime_is_the_kernels() {
        // SAFETY: No preconditions.
        let before = unsafe { b::ipvsa_uptime_secs() };
        let ours = uptime_secs();
        // SAFETY: No preconditions.
        let after = unsafe { b::ipvsa_uptime_secs() };
        assert!(before <= ours && ours <= after);
    }
}
