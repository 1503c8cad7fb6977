// SPDX-License-Identifier: GPL-2.0

//! Cancelling a delayed work item of the kernel crate's workqueue whose
//! pointer is an `Arc` (`cancel_delayed_work_sync()`), which the 7.3
//! kernel crate does not offer: a queued item holds the reference its
//! `Arc` was turned into when it was queued, and cancelling it must give
//! that reference back.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use kernel::sync::Arc;
use kernel::workqueue::{HasDelayedWork, Work, WorkItem};

/// Cancels `this`'s delayed work and waits for a run in progress to finish
/// (a run that queues the work again is cancelled too). Drops the
/// reference the queue held, if it was queued. Process context.
pub(crate) fn cancel_delayed_sync<T>(this: &Arc<T>)
where
    T: WorkItem<Pointer = Arc<T>> + HasDelayedWork<T>,
{
    let p = Arc::as_ptr(this).cast_mut();
    // SAFETY: `p` points to a live `T` (we hold a reference).
    let work = unsafe { T::raw_get_work(p) };
    // SAFETY: `work` is the `Work` field of that live `T`.
    let ws = unsafe { Work::raw_get(work) };
    // SAFETY: `HasDelayedWork` guarantees that the `work_struct` is the
    // `work` field of a `delayed_work`, inside the same live `T`.
    let dw = unsafe { kernel::container_of!(ws, kernel::bindings::delayed_work, work) };
    // SAFETY: `dw` is a delayed work initialised by `DelayedWork::new` (the
    // only way to build one) and alive while we hold `this`.
    if unsafe { kernel::bindings::cancel_delayed_work_sync(dw) } {
        // SAFETY: It was queued: the kernel crate's `Arc` work pointer gave
        // the queue a reference with `Arc::into_raw(p)`, which `run` would
        // have taken back; cancelling means `run` will not, so we do.
        drop(unsafe { Arc::from_raw(p) });
    }
}
