// SPDX-License-Identifier: GPL-2.0

//! Network namespaces: a borrowed `struct net`, and data a module keeps in
//! every namespace (`struct pernet_operations` with a typed slot).
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)

use super::bindings as b;
use super::inline_atomic::InlineAtomic;
use core::ffi::c_uint;
use core::marker::PhantomData;
use core::ptr;
use kernel::error::{from_result, to_result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Release};
use kernel::types::Opaque;

/// A network namespace that is alive for `'a`.
///
/// # Invariants
///
/// `ptr` points to a `struct net` that is not torn down during `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Net<'a> {
    ptr: *mut kernel::bindings::net,
    _life: PhantomData<&'a kernel::bindings::net>,
}

impl<'a> Net<'a> {
    /// Wraps a namespace pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct net` that stays alive during `'a` (as
    /// the namespace a hook, a socket option or a `/proc` file of it runs
    /// in does, and the one `pernet_operations` callbacks are given).
    pub(crate) unsafe fn from_raw(ptr: *mut kernel::bindings::net) -> Self {
        // INVARIANT: The caller guarantees it.
        Net {
            ptr,
            _life: PhantomData,
        }
    }

    /// The initial namespace, which lives as long as the kernel.
    pub(crate) fn init() -> Net<'static> {
        // INVARIANT: `init_net` is never torn down.
        Net {
            ptr: core::ptr::addr_of_mut!(kernel::bindings::init_net),
            _life: PhantomData,
        }
    }

    /// The raw pointer, for the other abstractions of [`crate::kapi`].
    pub(crate) fn as_raw(&self) -> *mut kernel::bindings::net {
        self.ptr
    }

    /// Whether the current task may administer this namespace's network
    /// (`CAP_NET_ADMIN` in the namespace's user namespace).
    pub(crate) fn admin_capable(&self) -> bool {
        // SAFETY: A live namespace (type invariant) has its user namespace.
        unsafe {
            kernel::bindings::ns_capable(
                (*self.ptr).user_ns,
                kernel::bindings::CAP_NET_ADMIN as c_int,
            )
        }
    }

    /// Turns on IPv6 defragmentation in this namespace until the returned
    /// guard is dropped. Process context.
    pub(crate) fn enable_defrag6(&self) -> Result<Defrag6> {
        // SAFETY: A live namespace; paired with the disable in `Drop`.
        to_result(unsafe { b::nf_defrag_ipv6_enable(self.ptr) })?;
        // INVARIANT: Enabled above.
        Ok(Defrag6 { net: self.ptr })
    }

    /// IPVS's state of this namespace, if IPVS has set it up.
    pub(crate) fn ipvs(&self) -> Option<&'a super::ipvs::Ipvs> {
        self.ipvs_raw().map(super::ipvs::Ipvs::from_ref)
    }

    fn ipvs_raw(&self) -> Option<&'a b::netns_ipvs> {
        // SAFETY: `self.ptr` is a live namespace (type invariant); its
        // `ipvs` field is written once by IPVS's own pernet init, before
        // anything in the namespace can reach this module's hooks.
        let p = unsafe { (*self.ptr).ipvs }.cast::<b::netns_ipvs>();
        // SAFETY: IPVS frees its state only in its pernet exit, after every
        // hook and socket of the namespace is gone, so it outlives `'a`.
        // CAST: `kernel::bindings::netns_ipvs` is opaque; the module's own
        // binding of the same C struct describes its fields.
        unsafe { p.as_ref() }
    }
}

/// The slot the kernel assigns a type's per-namespace data
/// (`pernet_operations.id`): one `static` per type, written by the kernel
/// when the data's registration is made, and whether that registration is
/// alive.
///
/// # Invariants
///
/// After a [`Registration`] for the type was made, `id` is the slot's ID
/// and does not change until the registration is dropped. `live` is 1 from
/// the end of [`Registration::new`] until the start of its drop, and 0
/// otherwise: while it is 1, the slot `id` of every namespace holds this
/// type's two pointers. At most one registration per type exists at a
/// time.
pub(crate) struct PernetId {
    id: Opaque<c_uint>,
    live: Atomic<i32>,
}

// SAFETY: The kernel writes the ID once, during `register_pernet_subsys()`,
// before any reader can run; readers only load it. `live` is atomic.
unsafe impl Sync for PernetId {}

impl PernetId {
    /// An ID not assigned yet.
    pub(crate) const fn new() -> Self {
        Self {
            id: Opaque::new(0),
            live: Atomic::new(0),
        }
    }

    fn get(&self) -> c_uint {
        // SAFETY: Written only by `register_pernet_subsys()` before any
        // reader of this registration runs (type invariant).
        unsafe { *self.id.get() }
    }

    /// Whether the type's registration is alive (type invariant), an
    /// acquire: a reader that sees 1 inside an RCU read-side critical
    /// section may use the slot until the section ends.
    fn is_live(&self) -> bool {
        self.live.read_acquire() != 0
    }
}

/// Data a module keeps in every network namespace, created when the
/// namespace is (or, for namespaces that exist, when the module loads) and
/// dropped when it goes away.
pub(crate) trait PernetData: Send + Sync + Sized + 'static {
    /// Where the kernel stores this type's slot ID.
    fn id() -> &'static PernetId;

    /// Creates the data of namespace `net`. Process context.
    fn new(net: Net<'_>) -> impl PinInit<Self, Error>;

    /// The data of `net`, if it exists (it does not while the namespace is
    /// being set up, nor once its teardown began).
    fn of<'a>(net: Net<'a>) -> Option<&'a Self> {
        // The slot itself is freed when the registration drops; another
        // registration's code (a hook of another type) may still ask then.
        // Dropping the registration clears `live` before it unregisters,
        // and unregistering waits for an RCU grace period before it frees
        // the slot: a hook (inside an RCU read-side critical section) that
        // saw 1 is done with the slot by then, one that starts later sees 0.
        if !Self::id().is_live() {
            return None;
        }
        let slot = slot::<Self>(net.as_raw(), PUBLISHED);
        // SAFETY: `slot` is this type's published-data slot of a live
        // namespace, pointer-sized and aligned; the trampolines write it
        // atomically.
        let p = unsafe { Atomic::from_ptr(slot) }.read_acquire();
        // SAFETY: A non-null slot holds the data `init` published. `pre_exit`
        // empties the slot, and the kernel waits for an RCU grace period
        // between every `pre_exit` and the `exit` that frees the data: a
        // caller in an RCU read-side section (every netfilter hook) is done
        // with it by then. The other callers cannot overlap `exit`: socket
        // options run with a socket of the namespace (which keeps it from
        // being torn down) and a reference on the module (which keeps it
        // from being unloaded), and a `/proc` file's readers are waited for
        // when the data drops its `ProcFile`, before the fields they read.
        unsafe { p.cast_const().as_ref() }
    }
}

/// The slot hooks and other users read ([`PernetData::of`]).
const PUBLISHED: usize = 0;
/// The slot `exit` frees the data from.
const OWNED: usize = 1;

/// Slot `which` of this type's per-namespace data in `net`: two pointers
/// to its data, the published one and the owned one.
fn slot<T: PernetData>(net: *mut kernel::bindings::net, which: usize) -> *mut *mut T {
    // SAFETY: `net` is a live namespace, and `T::id()` the slot ID its
    // registration got: the callers are `PernetData::of`, which checks
    // that the registration is alive, and the registration's own
    // callbacks, which run only while it is registered.
    let base = unsafe { b::ipvsa_net_generic(net, T::id().get()) }.cast::<*mut T>();
    // `size` in the registration makes room for both pointers.
    base.wrapping_add(which.min(OWNED))
}

/// The registration of `T` as per-namespace data.
///
/// # Invariants
///
/// `ops` is registered with `register_pernet_subsys()` until dropped.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: PernetData> {
    #[pin]
    ops: Opaque<kernel::bindings::pernet_operations>,
    _t: PhantomData<T>,
}

// SAFETY: The registration is only registered and unregistered; the kernel
// serialises both itself.
unsafe impl<T: PernetData> Sync for Registration<T> {}
// SAFETY: As above: nothing of it is tied to a thread.
unsafe impl<T: PernetData> Send for Registration<T> {}

impl<T: PernetData> Registration<T> {
    /// Registers `T`: creates its data in every existing namespace, and in
    /// every new one from now on. Process context.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        // One registration per type (type invariant of `PernetId`).
        if T::id().is_live() {
            return Err(EBUSY);
        }
        let reg = KBox::pin_init(
            try_pin_init!(Self {
                ops <- Opaque::try_ffi_init(|ops: *mut kernel::bindings::pernet_operations| {
                    // SAFETY: `ops` is valid for writes; a zeroed struct with
                    // the fields below is what the C callers declare.
                    unsafe {
                        ops.write(kernel::bindings::pernet_operations {
                            init: Some(init::<T>),
                            pre_exit: Some(pre_exit::<T>),
                            exit: Some(exit::<T>),
                            id: T::id().id.get(),
                            size: 2 * size_of::<*mut T>(),
                            ..Default::default()
                        })
                    };
                    // SAFETY: `ops` is initialised and pinned for as long as
                    // it is registered (it is unregistered in `drop`).
                    to_result(unsafe { kernel::bindings::register_pernet_subsys(ops) })
                }),
                _t: PhantomData,
            }),
            GFP_KERNEL,
        )?;
        // INVARIANT: Registered above: every namespace has the slot now.
        T::id().live.write_release(1);
        Ok(reg)
    }
}

#[pinned_drop]
impl<T: PernetData> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // INVARIANT: Cleared before the slots go (see `PernetData::of`);
        // `synchronize_rcu()` in the unregistration orders it before their
        // `kfree()`.
        T::id().live.write_release(0);
        // SAFETY: Registered (type invariant); unregistering runs `exit` in
        // every namespace, which drops the data.
        unsafe { kernel::bindings::unregister_pernet_subsys(self.ops.get()) };
    }
}

/// `pernet_operations.init`: creates and publishes `T`'s data.
///
/// # Safety
///
/// Called by the kernel, in process context, with a namespace being set up.
unsafe extern "C" fn init<T: PernetData>(net: *mut kernel::bindings::net) -> c_int {
    from_result(|| {
        // SAFETY: The kernel passes a live namespace that outlives the call.
        let n = unsafe { Net::from_raw(net) };
        let data = KBox::pin_init(T::new(n), GFP_KERNEL)?;
        // SAFETY: The data is never moved out of its box: `exit` rebuilds
        // the pinned box from this pointer.
        let p = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        // SAFETY: The slots are ours and pointer-sized (`size` above).
        unsafe {
            Atomic::from_ptr(slot::<T>(net, OWNED)).store(p, Release);
            Atomic::from_ptr(slot::<T>(net, PUBLISHED)).store(p, Release);
        }
        Ok(0)
    })
}

/// `pernet_operations.pre_exit`: unpublishes `T`'s data; the kernel then
/// waits for an RCU grace period before it calls any `exit`.
///
/// # Safety
///
/// Called by the kernel, in process context, with a namespace going away.
unsafe extern "C" fn pre_exit<T: PernetData>(net: *mut kernel::bindings::net) {
    // SAFETY: The slot is ours and pointer-sized.
    unsafe { Atomic::from_ptr(slot::<T>(net, PUBLISHED)) }.store(ptr::null_mut(), Release);
}

/// `pernet_operations.exit`: drops `T`'s data, which `pre_exit`
/// unpublished a grace period ago.
///
/// # Safety
///
/// Called by the kernel, in process context, with a namespace going away,
/// after its `pre_exit` and an RCU grace period.
unsafe extern "C" fn exit<T: PernetData>(net: *mut kernel::bindings::net) {
    // SAFETY: The slots are ours and pointer-sized.
    let p = unsafe {
        Atomic::from_ptr(slot::<T>(net, PUBLISHED)).store(ptr::null_mut(), Release);
        Atomic::from_ptr(slot::<T>(net, OWNED)).xchg(ptr::null_mut(), Release)
    };
    if !p.is_null() {
        // SAFETY: `p` came from `KBox::into_raw` of a pinned box in `init`,
        // and no slot holds it any more; nothing reached through the
        // published slot can still use it (see `PernetData::of`).
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
    }
}

/// IPv6 defragmentation turned on in a namespace
/// ([`Net::enable_defrag6`]); turned off when dropped.
///
/// # Invariants
///
/// `nf_defrag_ipv6_enable(net)` succeeded and is undone only in `Drop`;
/// `net` is alive as long as this object (the namespace's data owns it).
pub(crate) struct Defrag6 {
    net: *mut kernel::bindings::net,
}

// SAFETY: Disabling works from any process context.
unsafe impl Send for Defrag6 {}
// SAFETY: Nothing is reachable through a shared reference.
unsafe impl Sync for Defrag6 {}

impl Drop for Defrag6 {
    fn drop(&mut self) {
        // SAFETY: Enabled in the live namespace (type invariant).
        unsafe { b::nf_defrag_ipv6_disable(self.net) };
    }
}

#[kernel::macros::kunit_tests(ip_vs_sync_auth_net)]
mod tests {
    use super::*;

    /// Per-namespace data that remembers its namespace.
    #[pin_data]
    struct Probe {
        net: usize,
    }

    static PROBE_ID: PernetId = PernetId::new();

    impl PernetData for Probe {
        fn id() -> &'static PernetId {
            &PROBE_ID
        }

        fn new(net: Net<'_>) -> impl PinInit<Self, Error> {
            try_pin_init!(Self {
                net: net.as_raw() as usize,
            }? Error)
        }
    }

    /// Another type's data, registered after [`Probe`]'s registration
    /// dropped: the kernel gives it the slot ID `Probe` had.
    #[pin_data]
    struct Other {
        _word: u64,
    }

    static OTHER_ID: PernetId = PernetId::new();

    impl PernetData for Other {
        fn id() -> &'static PernetId {
            &OTHER_ID
        }

        fn new(_net: Net<'_>) -> impl PinInit<Self, Error> {
            try_pin_init!(Self { _word: 1 }? Error)
        }
    }

    /// A registration's data is found while it lives and not once it is
    /// dropped: its slot is freed then (reading it would be a
    /// use-after-free), and its ID goes to the next registration, whose
    /// data `of` must not return as the old type's. A second registration
    /// of the same type is refused, and a new one after the first dropped
    /// works.
    #[test]
    fn data_is_unreachable_once_its_registration_drops() -> Result {
        let init = Net::init();
        assert!(Probe::of(init).is_none());
        let reg = Registration::<Probe>::new()?;
        assert_eq!(Probe::of(init).map(|p| p.net), Some(init.as_raw() as usize));
        assert_eq!(
            Registration::<Probe>::new().err().map(|e| e.to_errno()),
            Some(EBUSY.to_errno())
        );
        let id = PROBE_ID.get();
        drop(reg);
        assert!(Probe::of(init).is_none());
        let other = Registration::<Other>::new()?;
        // `ida_alloc_min()` hands out the lowest free ID: the one freed.
        assert_eq!(OTHER_ID.get(), id);
        assert!(Other::of(init).is_some());
        assert!(Probe::of(init).is_none());
        drop(other);
        let again = Registration::<Probe>::new()?;
        assert_eq!(Probe::of(init).map(|p| p.net), Some(init.as_raw() as usize));
        drop(again);
        assert!(Probe::of(init).is_none());
        Ok(())
    }
}
