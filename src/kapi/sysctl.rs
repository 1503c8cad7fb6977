// SPDX-License-Identifier: GPL-2.0

//! Integer knobs under `/proc/sys/` in one network namespace
//! (`register_net_sysctl_sz()`), each bounded by `proc_dointvec_minmax()`.
//! Only the namespace's network administrator (`CAP_NET_ADMIN` in its
//! user namespace) may write one: the kernel's own check for network
//! sysctls lets the owner write whatever its capabilities, so a root
//! process that dropped `CAP_NET_ADMIN` could otherwise change them.
//!
//! C header: [`include/linux/sysctl.h`](srctree/include/linux/sysctl.h)

use super::inline_atomic::InlineAtomic;
use super::net::Net;
use core::ffi::c_void;
use core::ptr::NonNull;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::atomic::Atomic;
use kernel::sync::Arc;

/// One integer knob.
pub(crate) struct IntKnob {
    /// Its file name.
    pub(crate) name: &'static CStr,
    /// Smallest value a write may set.
    pub(crate) min: i32,
    /// Largest value a write may set.
    pub(crate) max: i32,
}

/// Data that keeps integer knobs: the kernel writes them when root writes
/// the files, readers load them with [`read`].
pub(crate) trait IntKnobs: Send + Sync + 'static {
    /// The directory, e.g. `net/ipv4/vs`.
    const PATH: &'static CStr;
    /// The knobs.
    const KNOBS: &'static [IntKnob];
    /// The storage of knob `i` of [`Self::KNOBS`] (every index has one).
    fn knob(&self, i: usize) -> &Atomic<i32>;
}

/// A knob's value (`READ_ONCE()`: a write through `/proc` may race).
pub(crate) fn read(knob: &Atomic<i32>) -> i32 {
    knob.read_once()
}

/// What a knob's `extra1` points to: its bounds and its namespace.
#[repr(C)]
struct KnobExtra {
    min: c_int,
    max: c_int,
    net: *mut kernel::bindings::net,
}

/// The `proc_handler` of every knob: a write needs `CAP_NET_ADMIN` in the
/// knob's namespace, then `proc_dointvec_minmax()` with the knob's bounds.
///
/// # Safety
///
/// Called by the sysctl core for a table of [`NetSysctl`], with the
/// arguments of `proc_handler`, while the table is registered.
unsafe extern "C" fn admin_dointvec_minmax(
    table: *const kernel::bindings::ctl_table,
    dir: c_int,
    buf: *mut c_void,
    lenp: *mut usize,
    ppos: *mut kernel::bindings::loff_t,
) -> c_int {
    // SAFETY: The sysctl core passes a knob of a registered `NetSysctl`,
    // whose `extra1` points to its `KnobExtra` (kept by the registration).
    let extra = unsafe { &*(*table).extra1.cast::<KnobExtra>() };
    // SAFETY: The namespace outlives the registration of its knobs
    // (`NetSysctl`'s invariant), which outlives this call.
    let net = unsafe { Net::from_raw(extra.net) };
    if dir != 0 && !net.admin_capable() {
        return -(kernel::bindings::EPERM as c_int);
    }
    // SAFETY: Copying a `ctl_table` is what the kernel's own handlers do to
    // call a generic one with other bounds.
    let mut tmp = unsafe { core::ptr::read(table) };
    tmp.extra1 = core::ptr::from_ref(&extra.min).cast_mut().cast();
    tmp.extra2 = core::ptr::from_ref(&extra.max).cast_mut().cast();
    // SAFETY: `tmp` is the knob with its data (an `int`) and bounds; the
    // other arguments are the caller's.
    unsafe { kernel::bindings::proc_dointvec_minmax(&tmp, dir, buf, lenp, ppos) }
}

/// The knobs of `T` registered in one namespace; unregistered when
/// dropped, which waits for readers and writers of the files.
///
/// # Invariants
///
/// `header` is the registration of `table` in a namespace that is alive as
/// long as this object (it belongs to the namespace's data). `table` and
/// `bounds` are neither moved nor changed while registered; `table`'s data
/// pointers point into `data`, which this object keeps alive, and its
/// `extra1` into `bounds`, whose `net` is that namespace.
pub(crate) struct NetSysctl<T: IntKnobs> {
    header: NonNull<kernel::bindings::ctl_table_header>,
    table: KVec<kernel::bindings::ctl_table>,
    bounds: KVec<KnobExtra>,
    data: Arc<T>,
}

// SAFETY: Unregistering works from any process context; the raw pointers
// are owned by this object or are the namespace it belongs to.
unsafe impl<T: IntKnobs> Send for NetSysctl<T> {}
// SAFETY: Nothing is reachable through a shared reference but `data`.
unsafe impl<T: IntKnobs> Sync for NetSysctl<T> {}

impl<T: IntKnobs> NetSysctl<T> {
    /// Registers `T::KNOBS` of `data` in `net`. Process context.
    pub(crate) fn new(net: Net<'_>, data: Arc<T>) -> Result<Self> {
        let n = T::KNOBS.len();
        let mut bounds = KVec::with_capacity(n, GFP_KERNEL)?;
        for k in T::KNOBS {
            bounds.push(
                KnobExtra {
                    min: k.min,
                    max: k.max,
                    net: net.as_raw(),
                },
                GFP_KERNEL,
            )?;
        }
        let mut table = KVec::with_capacity(n, GFP_KERNEL)?;
        for (i, (k, b)) in T::KNOBS.iter().zip(bounds.iter()).enumerate() {
            table.push(
                kernel::bindings::ctl_table {
                    procname: k.name.as_char_ptr(),
                    data: data.knob(i).as_ptr().cast(),
                    maxlen: size_of::<c_int>() as c_int,
                    mode: 0o644,
                    proc_handler: Some(admin_dointvec_minmax),
                    poll: core::ptr::null_mut(),
                    extra1: core::ptr::from_ref(b).cast_mut().cast(),
                    extra2: core::ptr::null_mut(),
                },
                GFP_KERNEL,
            )?;
        }
        // SAFETY: `net` is alive; `table` holds `n` knobs whose names are
        // static and whose data and bounds stay valid while registered
        // (this object keeps them, see the type invariants).
        let header = unsafe {
            kernel::bindings::register_net_sysctl_sz(
                net.as_raw(),
                T::PATH.as_char_ptr(),
                table.as_ptr(),
                n,
            )
        };
        let header = NonNull::new(header).ok_or(ENOMEM)?;
        // INVARIANT: Registered above with the buffers moved into `Self`
        // (moving a `KVec` does not move its buffer).
        Ok(Self {
            header,
            table,
            bounds,
            data,
        })
    }
}

impl<T: IntKnobs> NetSysctl<T> {
    /// The data whose knobs these are.
    pub(crate) fn data(&self) -> &T {
        &self.data
    }
}

impl<T: IntKnobs> Drop for NetSysctl<T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); after this no file of it is
        // read or written, so `table`, `bounds` and `data` may go.
        unsafe { kernel::bindings::unregister_net_sysctl_table(self.header.as_ptr()) };
        let _ = (&self.table, &self.bounds, &self.data);
    }
}
