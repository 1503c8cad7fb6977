// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks, registered in each network namespace for the
//! per-namespace data that handles them.
//!
//! C header: [`include/linux/netfilter.h`](srctree/include/linux/netfilter.h)

use super::bindings as b;
use super::net::{Net, PernetData};
use super::rcu::RcuHeld;
use super::skb::SkBuff;
use core::ffi::c_void;
use core::marker::PhantomData;
use kernel::error::to_result;
use kernel::prelude::*;

/// IPv4, as `NFPROTO_IPV4`.
pub(crate) const PF_IPV4: u8 = kernel::bindings::NFPROTO_IPV4 as u8;
/// IPv6, as `NFPROTO_IPV6`.
pub(crate) const PF_IPV6: u8 = kernel::bindings::NFPROTO_IPV6 as u8;
/// `NF_INET_LOCAL_IN`.
pub(crate) const LOCAL_IN: u32 = kernel::bindings::nf_inet_hooks_NF_INET_LOCAL_IN;
/// `NF_INET_LOCAL_OUT`.
pub(crate) const LOCAL_OUT: u32 = kernel::bindings::nf_inet_hooks_NF_INET_LOCAL_OUT;
/// `NF_INET_FORWARD`.
pub(crate) const FORWARD: u32 = kernel::bindings::nf_inet_hooks_NF_INET_FORWARD;
/// `NF_IP_PRI_MANGLE` (the same value for IPv6).
pub(crate) const PRI_MANGLE: i32 = b::nf_ip_hook_priorities_NF_IP_PRI_MANGLE;
/// `NF_IP_PRI_NAT_SRC` (the same value for IPv6).
pub(crate) const PRI_NAT_SRC: i32 = b::nf_ip_hook_priorities_NF_IP_PRI_NAT_SRC;

/// What a hook decides for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it go on.
    Accept,
    /// Drop it (the sender's `sendmsg()` sees an error).
    Drop,
    /// Drop it without telling the sender (`NF_STOLEN` after freeing it):
    /// for a kernel sender that would log an error for each one.
    DropQuietly,
    /// It is a burst that GRO merged: split it and run each datagram
    /// through the hooks from this one on (see [`Hooks::resegmented`]);
    /// hooks before this one saw the burst.
    Resegment,
}

/// One hook of a [`Hooks`] type: where it sits and which of the type's
/// hooks it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HookSpec {
    /// `NFPROTO_*`.
    pub(crate) pf: u8,
    /// `NF_INET_*`.
    pub(crate) hooknum: u32,
    /// `NF_IP_PRI_*` and the like.
    pub(crate) priority: i32,
    /// Passed back to [`Hooks::hook`].
    pub(crate) which: usize,
}

/// The state of one hook invocation (`struct nf_hook_state`).
///
/// # Invariants
///
/// `ptr` points to the hook state the kernel passed for this call, valid
/// for `'a`; the RCU read side is held for `'a` (`rcu`).
pub(crate) struct HookState<'a> {
    ptr: *const b::nf_hook_state,
    rcu: RcuHeld<'a>,
}

impl<'a> HookState<'a> {
    /// The protocol family, `NFPROTO_*`.
    pub(crate) fn pf(&self) -> u8 {
        // SAFETY: Valid for `'a` (type invariant).
        unsafe { (*self.ptr).pf }
    }

    /// The RCU read lock netfilter holds around its hooks.
    pub(crate) fn rcu(&self) -> RcuHeld<'a> {
        self.rcu
    }

    /// The namespace the packet is in.
    pub(crate) fn net(&self) -> Net<'a> {
        // SAFETY: Valid for `'a` (type invariant); a namespace outlives
        // the hooks running in it.
        unsafe { Net::from_raw((*self.ptr).net) }
    }
}

/// Per-namespace data that handles netfilter hooks.
pub(crate) trait Hooks: PernetData {
    /// The hooks, registered in each namespace by [`NetHooks::new`].
    const HOOKS: &'static [HookSpec];

    /// Decides for `skb` at hook `which` ([`HookSpec::which`]). Softirq
    /// (`LOCAL_IN`) or the sending task's context (`LOCAL_OUT`), with
    /// bottom halves possibly off: must not sleep, and allocates only
    /// atomically (`GFP_ATOMIC`) and only off the common path (a packet
    /// made writable or given room, the gate's new entry).
    fn hook(&self, which: usize, skb: &mut SkBuff, state: &HookState<'_>) -> Verdict;

    /// After [`Verdict::Resegment`]: whether the burst could be split
    /// (each datagram then went through the hooks again).
    fn resegmented(&self, ok: bool);
}

/// A hook's `struct nf_hook_ops`, built for `T`.
///
/// # Invariants
///
/// `hook` is [`hook_trampoline::<T>`]; `priv_` is the hook's `which`.
#[repr(transparent)]
pub(crate) struct HookOps<T: Hooks>(b::nf_hook_ops, PhantomData<T>);

// SAFETY: The kernel only reads the ops (and links registrations of its
// own, not the ops); the raw pointers in them are null or a small integer.
unsafe impl<T: Hooks> Sync for HookOps<T> {}
// SAFETY: As above.
unsafe impl<T: Hooks> Send for HookOps<T> {}

impl<T: Hooks> HookOps<T> {
    /// The ops for `spec`.
    pub(crate) const fn new(spec: &HookSpec) -> Self {
        // SAFETY: All-zero is a valid `nf_hook_ops` (null pointers, no
        // hook, `NF_HOOK_OP_UNDEFINED`), as C's designated initialisers
        // leave it.
        let mut ops: b::nf_hook_ops = unsafe { core::mem::zeroed() };
        ops.hook = Some(hook_trampoline::<T>);
        ops.priv_ = spec.which as *mut c_void;
        ops.pf = spec.pf;
        ops.hooknum = spec.hooknum;
        ops.priority = spec.priority;
        // INVARIANT: Set above.
        HookOps(ops, PhantomData)
    }

    /// The ops for each of `T::HOOKS`, in order: a `static` of them is
    /// what [`NetHooks::new`] registers. `N` must be `T::HOOKS.len()`, and
    /// `T::HOOKS` must not be empty; otherwise a `static` built with it
    /// does not compile.
    pub(crate) const fn all<const N: usize>() -> [Self; N] {
        assert!(N == T::HOOKS.len(), "N is not T::HOOKS.len()");
        let mut ops = [const { Self::new(&T::HOOKS[0]) }; N];
        let mut i = 1;
        while i < N {
            ops[i] = Self::new(&T::HOOKS[i]);
            i += 1;
        }
        ops
    }
}

/// `T`'s hooks registered in one namespace; unregistered when dropped.
/// Unregistering does not wait for hook calls in flight: those find `T`'s
/// data with [`PernetData::of`] under the RCU read lock netfilter holds,
/// and the data is unpublished a grace period before it is dropped.
///
/// # Invariants
///
/// `ops` is registered in `net` with `nf_register_net_hooks()` until
/// dropped, and `net` is alive as long as this object (it belongs to the
/// namespace's [`PernetData`]).
pub(crate) struct NetHooks<T: Hooks> {
    net: *mut kernel::bindings::net,
    ops: &'static [HookOps<T>],
}

// SAFETY: Unregistering works from any process context.
unsafe impl<T: Hooks> Send for NetHooks<T> {}
// SAFETY: Nothing is reachable through a shared reference.
unsafe impl<T: Hooks> Sync for NetHooks<T> {}

impl<T: Hooks> NetHooks<T> {
    /// Registers `ops` (built from `T::HOOKS`) in `net`. Process context.
    /// The hooks find `T`'s data of the namespace with [`PernetData::of`]
    /// and let packets pass while there is none yet.
    pub(crate) fn new(net: Net<'_>, ops: &'static [HookOps<T>]) -> Result<Self> {
        let n = u32::try_from(ops.len()).map_err(|_| EINVAL)?;
        // SAFETY: `net` is alive; `ops` is static and `HookOps` is
        // `repr(transparent)` over `nf_hook_ops`.
        to_result(unsafe {
            b::nf_register_net_hooks(net.as_raw(), ops.as_ptr().cast::<b::nf_hook_ops>(), n)
        })?;
        // INVARIANT: Registered above; the data owning this object is
        // dropped in the namespace's exit, while it is alive.
        Ok(Self {
            net: net.as_raw(),
            ops,
        })
    }
}

impl<T: Hooks> Drop for NetHooks<T> {
    fn drop(&mut self) {
        // SAFETY: Registered in the live `net` (type invariant).
        unsafe {
            b::nf_unregister_net_hooks(
                self.net,
                self.ops.as_ptr().cast::<b::nf_hook_ops>(),
                self.ops.len() as u32,
            )
        };
    }
}

/// The `nf_hookfn` of every [`HookOps<T>`].
///
/// # Safety
///
/// Called by netfilter with the ops' `priv`, a packet it owns for the
/// call, and the hook state.
unsafe extern "C" fn hook_trampoline<T: Hooks>(
    priv_: *mut c_void,
    skb: *mut kernel::bindings::sk_buff,
    state: *const b::nf_hook_state,
) -> u32 {
    // INVARIANT: The state netfilter passed, valid for this call.
    let st = HookState {
        ptr: state,
        // SAFETY: Netfilter runs IPv4 and IPv6 hooks inside an RCU
        // read-side critical section open for the whole call: `nf_hook()`
        // and `NF_HOOK_LIST()` take `rcu_read_lock()` around
        // `nf_hook_slow()` and `nf_hook_slow_list()`, and `nf_reinject()`
        // (a queued packet's verdict) requires its caller to hold it.
        rcu: unsafe { RcuHeld::new_unchecked() },
    };
    let Some(data) = T::of(st.net()) else {
        return kernel::bindings::NF_ACCEPT;
    };
    let which = priv_ as usize;
    // SAFETY: Netfilter passes a packet this hook may use and change for
    // the duration of the call.
    let verdict = data.hook(which, unsafe { SkBuff::from_raw(skb) }, &st);
    match verdict {
        Verdict::Accept => kernel::bindings::NF_ACCEPT,
        Verdict::Drop => kernel::bindings::NF_DROP,
        Verdict::DropQuietly => {
            // SAFETY: The packet is ours to free if the verdict is
            // `NF_STOLEN`, and nothing uses it after.
            unsafe { drop_stolen(skb) };
            kernel::bindings::NF_STOLEN
        }
        Verdict::Resegment => {
            // SAFETY: As above; the state is valid for the call.
            let ok = unsafe { resegment::<T>(skb, state, priv_) };
            data.resegmented(ok);
            if ok {
                kernel::bindings::NF_STOLEN
            } else {
                kernel::bindings::NF_DROP
            }
        }
    }
}

/// Frees a packet the hook took, as a netfilter drop
/// (`SKB_DROP_REASON_NETFILTER_DROP`, what `NF_DROP` would report).
///
/// # Safety
///
/// `skb` is a packet the caller owns and does not use after.
unsafe fn drop_stolen(skb: *mut kernel::bindings::sk_buff) {
    // SAFETY: The caller gives up its packet.
    unsafe {
        kernel::bindings::sk_skb_reason_drop(
            core::ptr::null(),
            skb,
            kernel::bindings::skb_drop_reason_SKB_DROP_REASON_NETFILTER_DROP,
        )
    };
}

/// The index of `T`'s hook `priv_` in `entries` (a hook of `T` is
/// `hook_trampoline::<T>` with its ops' `priv`, which [`HookOps::new`]
/// sets).
///
/// # Safety
///
/// `entries` is null or the hook entries of a hook point, read under the
/// RCU read side held for the call.
unsafe fn own_index<T: Hooks>(
    entries: *const b::nf_hook_entries,
    priv_: *mut c_void,
) -> Option<u32> {
    if entries.is_null() {
        return None;
    }
    let ours: b::nf_hookfn = Some(hook_trampoline::<T>);
    // SAFETY: Live entries (the caller's RCU read side): a count, then as
    // many entries in the flexible array after it.
    let (n, hooks) = unsafe { ((*entries).num_hook_entries, (*entries).hooks.as_ptr()) };
    (0..usize::from(n)).find_map(|i| {
        // SAFETY: `i` is below the count. Read once, not referenced:
        // unregistering a hook overwrites its entry in place
        // (`nf_remove_net_hook()`'s `WRITE_ONCE()`s).
        let (hook, hpriv) = unsafe {
            let e = hooks.add(i);
            (
                core::ptr::read_volatile(core::ptr::addr_of!((*e).hook)),
                core::ptr::read_volatile(core::ptr::addr_of!((*e).priv_)),
            )
        };
        // The same function: the module's Rust is one codegen unit
        // (`-Ccodegen-units=1`), and kCFI keeps functions' own addresses,
        // so `hook_trampoline::<T>` has one address. A miss fails closed.
        let same = hook.map(|f| f as usize) == ours.map(|f| f as usize);
        (same && hpriv == priv_).then_some(i as u32)
    })
}

/// Splits the GSO packet `skb` into its datagrams and runs each through
/// the hook chain of `state` from this hook (`priv_` of `T`) on, which
/// decides for each datagram on its own, as `nf_reinject()` goes on from
/// the hook that queued a packet, and then on to `state`'s `okfn`: the
/// hooks before this one saw the packet merged and do not see it again.
/// Consumes `skb` if it succeeds; fails, leaving it to be dropped (its
/// data may then start at the link-layer header), for a packet the receive
/// path does not split ([`SkBuff::splittable`]), if this hook is not
/// found, or if segmenting fails.
///
/// # Safety
///
/// `skb`, `state` and `priv_` as netfilter passed them to
/// `hook_trampoline::<T>`; on success the caller returns `NF_STOLEN` and
/// does not touch `skb` again; on failure it returns `NF_DROP`.
unsafe fn resegment<T: Hooks>(
    skb: *mut kernel::bindings::sk_buff,
    state: *const b::nf_hook_state,
    priv_: *mut c_void,
) -> bool {
    let thoff = {
        // SAFETY: The packet netfilter handed the hook, for this scope.
        let skb = unsafe { SkBuff::from_raw(skb) };
        if !skb.splittable() {
            return false;
        }
        skb.transport_after_network()
    };
    // SAFETY: `state` is valid for the call, and netfilter holds the RCU
    // read side around it, for as long as `entries` is used.
    let entries = unsafe { b::ipvsa_nf_hook_entries(state) };
    // SAFETY: As above.
    let Some(index) = (unsafe { own_index::<T>(entries, priv_) }) else {
        return false;
    };
    // From the link-layer header where it can be ([`SkBuff::push_to_mac`]),
    // so that segmenting copies it into every segment with the network
    // header (as a frame is segmented on the transmit path): segmented
    // from the network header, the segments have no link-layer header
    // (`mac_len` 0), and the rules after this hook that match on it (`-m
    // mac`, nftables' `ether saddr`) would not match them.
    // `skb_segment_list()` then writes that header in front of each member
    // datagram, as the transmit path does: the same bytes (GRO merges only
    // datagrams whose link-layer headers are equal). Each segment is
    // pulled back to its network header below.
    // SAFETY: The packet netfilter handed the hook, for this statement.
    unsafe { SkBuff::from_raw(skb) }.push_to_mac();
    // `skb_gso_segment()` (inline) with no device features: segmented in
    // software, as `udp_rcv_segment()` does on the receive path.
    // SAFETY: `skb` is a GSO packet this hook owns for the call.
    let segs = unsafe { b::__skb_gso_segment(skb, 0, false) };
    // An `ERR_PTR()` or null: nothing was segmented.
    let Ok(segs) = kernel::error::from_err_ptr(segs) else {
        return false;
    };
    if segs.is_null() {
        return false;
    }
    // SAFETY: The segments are ours: new packets or, for a fraglist
    // burst, the original itself as the first, with a reference of its own
    // (`skb_segment_list()` takes one). Consuming the original drops the
    // reference netfilter handed the hook (the caller returns `NF_STOLEN`),
    // as `validate_xmit_skb()` and `udp_rcv_segment()` do.
    unsafe { b::ipvsa_consume_skb(skb) };
    let mut seg = segs;
    while !seg.is_null() {
        // `skb->next`, then `skb_mark_not_on_list()` (inline: `next`
        // cleared).
        // SAFETY: `seg` is a segment of the list, each owned by us; `next`
        // is a plain field of its list link.
        let next = unsafe {
            let link = core::ptr::addr_of_mut!((*seg).__bindgen_anon_1.__bindgen_anon_1.next);
            core::ptr::replace(link, core::ptr::null_mut())
        };
        // Segmenting an IPv6 packet leaves its transport header after the
        // extension headers; the input path it goes on to expects it where
        // `ip6_rcv_core()` put it (and pulls to it, then reads the next
        // header from the IPv6 header's field).
        let at_network = {
            // SAFETY: A segment of our own, for this scope.
            let seg = unsafe { SkBuff::from_raw(seg) };
            seg.set_transport_after_network(thoff);
            // Where the input path had the data: at the network header
            // (`mac_len` bytes after the copied link-layer header).
            seg.pull_to_network()
        };
        if !at_network {
            // Not a datagram the input path can take (no segment is made
            // that way): dropped, not passed on misread.
            // SAFETY: `seg` is ours, unlinked, and not used after.
            unsafe { drop_stolen(seg) };
            seg = next;
            continue;
        }
        // SAFETY: `seg` is ours and passed on; `state` is valid for the
        // call and only read (`nf_hook_slow()` takes it non-const, as
        // `nf_hook()` passes its own); `entries` are live under the RCU
        // read side, and `index` is below their count.
        let ret = unsafe { b::nf_hook_slow(seg, state.cast_mut(), entries, index) };
        if ret == 1 {
            // Every hook accepted it: on to where `NF_HOOK()` goes, with
            // bottom halves off as `nf_reinject()` does (this hook may run
            // in process context, after an earlier hook queued the burst).
            // SAFETY: `state`'s `okfn` (netfilter's hook points all have
            // one), with its namespace and socket, takes the packet.
            unsafe { b::ipvsa_nf_okfn_bh(state, seg) };
        }
        seg = next;
    }
    true
}
