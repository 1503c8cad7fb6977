// SPDX-License-Identifier: GPL-2.0

//! A `/proc/net` file per network namespace whose contents the namespace's
//! data prints (`proc_create_net_single()`).
//!
//! C header: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)

use super::bindings as b;
use super::net::{Net, PernetData};
use core::ffi::c_void;
use core::marker::PhantomData;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::seq_file::SeqFile;

/// Per-namespace data that prints a `/proc/net` file.
pub(crate) trait ProcShow: PernetData {
    /// Prints the file's contents. Process context.
    fn show(&self, m: &SeqFile);
}

/// A `/proc/net/NAME` file of one namespace, removed when dropped (which
/// waits for readers in flight).
///
/// # Invariants
///
/// The entry `name` exists in `net`'s `/proc/net` until dropped, and `net`
/// is alive as long as this object (it belongs to the namespace's data).
pub(crate) struct ProcFile<T: ProcShow> {
    net: *mut kernel::bindings::net,
    name: &'static CStr,
    _t: PhantomData<T>,
}

// SAFETY: Removing the entry works from any process context.
unsafe impl<T: ProcShow> Send for ProcFile<T> {}
// SAFETY: Nothing is reachable through a shared reference.
unsafe impl<T: ProcShow> Sync for ProcFile<T> {}

impl<T: ProcShow> ProcFile<T> {
    /// Creates `/proc/net/<name>` in `net`, readable by everyone (0444).
    /// Process context.
    pub(crate) fn new(net: Net<'_>, name: &'static CStr) -> Result<Self> {
        // SAFETY: `net` is alive; its `proc_net` directory exists while it
        // is; `name` is static; `show` matches the callback's type.
        let pde = unsafe {
            b::proc_create_net_single(
                name.as_char_ptr(),
                0o444,
                (*net.as_raw()).proc_net,
                Some(show::<T>),
                core::ptr::null_mut(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Created above.
        Ok(Self {
            net: net.as_raw(),
            name,
            _t: PhantomData,
        })
    }
}

impl<T: ProcShow> Drop for ProcFile<T> {
    fn drop(&mut self) {
        // SAFETY: The entry exists in the live namespace (type invariant).
        unsafe { b::remove_proc_entry(self.name.as_char_ptr(), (*self.net).proc_net) };
    }
}

/// The file's `show` callback.
///
/// # Safety
///
/// Called by the seq_file code with the file's `seq_file`, whose `private`
/// is the namespace (`proc_create_net_single()` sets it, and holds a
/// reference on it while the file is open).
unsafe extern "C" fn show<T: ProcShow>(
    seq: *mut kernel::bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: `private` is the file's namespace (see above): alive.
    let net = unsafe { Net::from_raw((*seq).private.cast()) };
    // SAFETY: The seq_file is valid and used only by this call.
    let m = unsafe { SeqFile::from_raw(seq) };
    if let Some(data) = T::of(net) {
        data.show(m);
    }
    0
}
