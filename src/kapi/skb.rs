// SPDX-License-Identifier: GPL-2.0

//! A packet (`struct sk_buff`) as a hook sees it: borrowed for one call,
//! read through bounds-checked copies, made writable before any byte of it
//! is changed.
//!
//! Operations that may reallocate the packet's buffer take `&mut self`
//! and hand out byte slices only for the span of a borrow, so a slice
//! into the old buffer cannot outlive them.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use super::bindings as b;
use core::ffi::c_int;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The `headers` group of `struct sk_buff` (bindgen names it by position).
type Headers = kernel::bindings::sk_buff__bindgen_ty_4__bindgen_ty_2;

/// `CHECKSUM_PARTIAL`: the device (or the stack) sums the datagram later.
pub(crate) const CHECKSUM_PARTIAL: u8 = kernel::bindings::CHECKSUM_PARTIAL as u8;
/// `CHECKSUM_UNNECESSARY`: the transport checksum was checked.
const CHECKSUM_UNNECESSARY: u8 = kernel::bindings::CHECKSUM_UNNECESSARY as u8;

/// A packet, for the duration of a hook call.
///
/// # Invariants
///
/// Wraps a live `struct sk_buff` that the holder of the `&mut SkBuff` may
/// read and change for as long as the borrow lasts (netfilter hands a hook
/// its packet that way).
#[repr(transparent)]
pub(crate) struct SkBuff(Opaque<kernel::bindings::sk_buff>);

impl SkBuff {
    /// Borrows a packet.
    ///
    /// # Safety
    ///
    /// `skb` must be a live packet that nothing else reads or changes
    /// during `'a`.
    pub(crate) unsafe fn from_raw<'a>(skb: *mut kernel::bindings::sk_buff) -> &'a mut SkBuff {
        // SAFETY: The caller guarantees it.
        // CAST: `SkBuff` is `repr(transparent)` over the C struct.
        unsafe { &mut *skb.cast::<SkBuff>() }
    }

    fn raw(&self) -> *mut kernel::bindings::sk_buff {
        self.0.get()
    }

    /// The packet's `headers` group: the header offsets from `head` and
    /// `csum_start`, plain integer fields Rust reads and writes directly.
    fn headers(&self) -> *mut Headers {
        // SAFETY: A live packet. `headers` is the named view of the group
        // (`struct_group()`), a zero-sized union field at the group's
        // address, whose type is the group's.
        unsafe { core::ptr::addr_of_mut!((*self.raw()).__bindgen_anon_4.headers).cast() }
    }

    /// The packet's shared info (`skb_shinfo()`), after the end of its
    /// data area.
    pub(super) fn shinfo(&self) -> *mut kernel::bindings::skb_shared_info {
        // SAFETY: A live packet: its shared info is at `head + end`
        // (`skb_end_pointer()`; on 64-bit kernels, which have
        // `NET_SKBUFF_DATA_USES_OFFSET`, `end` is an offset from `head`:
        // its type here is an integer, so this does not build where it is
        // a pointer).
        unsafe {
            let skb = self.raw();
            (*skb).head.add((*skb).end as usize).cast()
        }
    }

    /// Bytes in the linear part (`skb_headlen()`: `len - data_len`).
    fn headlen(&self) -> usize {
        // SAFETY: A live packet (type invariant).
        let (len, data_len) = unsafe { ((*self.raw()).len, (*self.raw()).data_len) };
        len.saturating_sub(data_len) as usize
    }

    /// Bytes before the data in the buffer (`skb_headroom()`).
    fn headroom(&self) -> usize {
        // SAFETY: A live packet: `data` is in the buffer that starts at
        // `head`.
        let off = unsafe { (*self.raw()).data.offset_from((*self.raw()).head) };
        usize::try_from(off).unwrap_or(0)
    }

    /// The packet's length from its data pointer (the network header, in
    /// `LOCAL_IN` and `LOCAL_OUT`).
    pub(crate) fn len(&self) -> usize {
        // SAFETY: A live packet (type invariant).
        unsafe { (*self.raw()).len as usize }
    }

    /// Whether it is a GSO packet (a burst GRO merged, or a send to be
    /// segmented).
    pub(crate) fn is_gso(&self) -> bool {
        // `skb_is_gso()` (inline): a GSO size in the shared info.
        // SAFETY: A live packet's shared info (`Self::shinfo`).
        unsafe { (*self.shinfo()).gso_size != 0 }
    }

    /// Whether the receive path can split this GSO packet
    /// (`udp_rcv_segment()`'s conditions): not UDP fragmentation offload
    /// (`SKB_GSO_UDP`, which only a virtual machine's device hands up),
    /// and its checksum checked or still to be summed, not
    /// `CHECKSUM_NONE` (which `__skb_gso_segment()` warns about). GRO
    /// builds neither.
    pub(super) fn splittable(&self) -> bool {
        // SAFETY: A live packet's shared info (`Self::shinfo`).
        let gso_type = unsafe { (*self.shinfo()).gso_type };
        gso_type & kernel::bindings::SKB_GSO_UDP as u32 == 0
            && self.ip_summed() != kernel::bindings::CHECKSUM_NONE as u8
    }

    /// The transport header's offset from the network header.
    pub(super) fn transport_after_network(&self) -> u16 {
        // SAFETY: A live packet.
        let (th, nh) = unsafe {
            let h = self.headers();
            ((*h).transport_header, (*h).network_header)
        };
        th.wrapping_sub(nh)
    }

    /// Puts the transport header `off` bytes after the network header (as
    /// [`Self::transport_after_network`] read it from the packet this one
    /// was split from).
    pub(super) fn set_transport_after_network(&mut self, off: u16) {
        // SAFETY: A packet this borrow may change; the offset is a plain
        // integer field, used only to find the header.
        unsafe {
            let h = self.headers();
            (*h).transport_header = (*h).network_header.wrapping_add(off);
        }
    }

    /// Moves the data pointer back to the link-layer header, if the packet
    /// has one right before its network header, where the data is
    /// (`__skb_push()` of `skb_mac_offset()`), so that segmenting copies it
    /// into every segment with the network header, as the transmit path
    /// segments a frame from its link-layer header; [`Self::pull_to_network`]
    /// moves each segment's data back on after. Nothing is written: the
    /// header's bytes are already there. Returns whether it moved.
    ///
    /// Not for a fraglist packet any of whose member datagrams has less
    /// room before its network header than that header's length:
    /// `skb_segment_list()` pushes each member back by the head's
    /// link-layer header length (`__udp_gso_segment_list()` passes
    /// `skb_mac_header_len()`), which must not pass the member's buffer's
    /// start (`skb_under_panic()`). A member's room is what its own
    /// link-layer header took, not the head's: an Ethernet member has 14
    /// bytes or more, but a head whose VLAN tag was put back into its
    /// frame alone (a VLAN device with `reorder_hdr off`) has 18. Such a
    /// packet is segmented from its network header, as before, and its
    /// datagrams go on without a link-layer header.
    pub(super) fn push_to_mac(&mut self) -> bool {
        // SAFETY: A live packet.
        let (mac, nh) = unsafe {
            let h = self.headers();
            ((*h).mac_header, (*h).network_header)
        };
        // `skb_mac_header_was_set()` (inline): not `(u16)~0U`.
        if mac == u16::MAX || self.network_offset() != Some(0) {
            return false;
        }
        let Some(n) = nh.checked_sub(mac) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        // SAFETY: A live packet's shared info (`Self::shinfo`).
        let (gso_type, mut member) = unsafe {
            let sh = self.shinfo();
            ((*sh).gso_type, (*sh).frag_list)
        };
        if gso_type & kernel::bindings::SKB_GSO_FRAGLIST as u32 != 0 {
            // As long as the burst: UDP GRO merges at most 64 datagrams
            // (`UDP_GRO_CNT_MAX`).
            while !member.is_null() {
                // SAFETY: `member` is on the packet's frag list: packets the
                // packet owns, alive as long as it is, which this borrow
                // holds. Their header group is plain integers and `next`
                // (of the first union's list view) the list's link, both
                // only read.
                let (mnh, next) = unsafe {
                    let h: *const Headers =
                        core::ptr::addr_of!((*member).__bindgen_anon_4.headers).cast();
                    (
                        (*h).network_header,
                        (*member).__bindgen_anon_1.__bindgen_anon_1.next,
                    )
                };
                if mnh == u16::MAX || mnh < n {
                    return false;
                }
                member = next;
            }
        }
        let n32 = u32::from(n);
        let n = usize::from(n);
        // The link-layer header starts in the buffer (`mac` is an offset
        // from `head`), and the data is at the network header.
        if n > self.headroom() {
            return false;
        }
        // SAFETY: `head + mac .. data` (`n <= headroom` bytes) is in the
        // packet's buffer, before the data: moving `data` back over it and
        // counting its bytes in `len` is `__skb_push()`, which only moves
        // the pointer; `data` stays at or after `head`. Nothing is written
        // through it, so a buffer shared with a clone is not changed.
        unsafe {
            let raw = self.raw();
            (*raw).data = (*raw).data.sub(n);
            (*raw).len += n32;
        }
        true
    }

    /// Moves the data pointer on to the network header, if that is after
    /// it in the linear part (`__skb_pull()` of `skb_network_offset()`):
    /// where a split datagram goes on into the input path. `false` if the
    /// network header is before the data or past the linear part (the
    /// datagram cannot go on).
    pub(super) fn pull_to_network(&mut self) -> bool {
        let Some(n) = self.network_offset() else {
            return false;
        };
        // `n <= headlen <= len`, a `u32`.
        let Ok(n32) = u32::try_from(n) else {
            return false;
        };
        if n > self.headlen() {
            return false;
        }
        // SAFETY: `n` bytes of the linear part follow `data`: pulling them
        // (`__skb_pull()`) keeps `data` in the buffer and `len` at least
        // `data_len`.
        unsafe {
            let raw = self.raw();
            (*raw).len -= n32;
            (*raw).data = (*raw).data.add(n);
        }
        true
    }

    /// Where the network header is, from the data pointer.
    pub(crate) fn network_offset(&self) -> Option<usize> {
        // SAFETY: A live packet.
        let nh = usize::from(unsafe { (*self.headers()).network_header });
        // `skb_network_offset()` (inline), `None` if before the data.
        nh.checked_sub(self.headroom())
    }

    /// The bytes `off .. off + buf.len()` from the data pointer: straight
    /// from the packet if they are in its linear part, else copied into
    /// `buf` (`skb_header_pointer()`). `None` past the end.
    pub(crate) fn bytes<'a>(&'a self, off: usize, buf: &'a mut [u8]) -> Option<&'a [u8]> {
        let end = off.checked_add(buf.len())?;
        if end > self.len() {
            return None;
        }
        let headlen = self.headlen();
        if end <= headlen {
            // SAFETY: `data .. data + headlen` is the packet's linear part,
            // readable while it is borrowed; the range is inside it.
            return Some(unsafe {
                core::slice::from_raw_parts((*self.raw()).data.add(off), buf.len())
            });
        }
        let off = c_int::try_from(off).ok()?;
        let n = c_int::try_from(buf.len()).ok()?;
        // SAFETY: `buf` is valid for `n` bytes; the range is inside the
        // packet (checked above).
        let ret =
            unsafe { kernel::bindings::skb_copy_bits(self.raw(), off, buf.as_mut_ptr().cast(), n) };
        (ret == 0).then_some(&*buf)
    }

    /// The byte at `off` from the data pointer.
    pub(crate) fn byte(&self, off: usize) -> Option<u8> {
        let mut b = [0u8; 1];
        self.bytes(off, &mut b).map(|s| s[0])
    }

    /// The offset of the first header of protocol `target` (an IPv6 next
    /// header value), walking the IPv6 extension headers as IPVS does
    /// (`ipv6_find_hdr()`). Also gives `Err` for a fragment that is not
    /// the first.
    pub(crate) fn ipv6_find_hdr(&self, target: u8) -> Result<usize> {
        let mut off: core::ffi::c_uint = 0;
        // SAFETY: A live IPv6 packet (the caller's hook is an IPv6 one);
        // `off` and the null `fragoff`/`flags` are what the function takes.
        let ret = unsafe {
            b::ipv6_find_hdr(
                self.raw(),
                &mut off,
                c_int::from(target),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            )
        };
        if ret == c_int::from(target) {
            Ok(off as usize)
        } else if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Err(ENOENT)
        }
    }

    /// Whether IPVS made the packet (`skb->ipvs_property`): in `FORWARD`,
    /// a reply it has just translated.
    pub(crate) fn ipvs_property(&self) -> bool {
        // SAFETY: A live packet; the bit is read through the accessor
        // bindgen generated for the `headers` group's bitfield unit (the
        // layout the C compiler gives it), without a reference.
        unsafe { Headers::ipvs_property_raw(self.headers()) != 0 }
    }

    /// Answers the sender of this IPv4 packet with ICMP destination
    /// unreachable, code `code` (`icmp_send()`, rate limited by the
    /// kernel's ICMP limits). The packet itself is not consumed.
    pub(crate) fn icmp_unreachable(&mut self, code: u8) {
        // SAFETY: A live IPv4 packet in a hook (the caller's), which
        // `icmp_send()` only reads.
        unsafe { b::ipvsa_icmp_send(self.raw(), b::ICMP_DEST_UNREACH as c_int, c_int::from(code)) };
    }

    /// Answers the sender of this IPv6 packet with ICMPv6 parameter
    /// problem `code` pointing at byte `pointer` of the packet
    /// (`icmpv6_send()`, rate limited by the kernel).
    pub(crate) fn icmpv6_param_problem(&mut self, code: u8, pointer: u32) {
        // SAFETY: A live IPv6 packet in a hook, which `icmpv6_send()` only
        // reads.
        unsafe { b::ipvsa_icmpv6_send(self.raw(), b::ICMPV6_PARAMPROB as u8, code, pointer) };
    }

    /// The socket the packet is sent from, if it is a full socket
    /// (`LOCAL_OUT` also sees request and timewait mini-sockets, which are
    /// not).
    pub(crate) fn full_sock(&self) -> Option<Sock<'_>> {
        // SAFETY: A live packet.
        let sk = unsafe { (*self.raw()).sk };
        // SAFETY: `sk` is the packet's socket, which it holds while it is
        // borrowed.
        if sk.is_null() || !unsafe { b::ipvsa_sk_fullsock(sk) } {
            return None;
        }
        // INVARIANT: A live full socket.
        Some(Sock {
            ptr: sk,
            _life: core::marker::PhantomData,
        })
    }

    /// Makes the first `len` bytes linear and writable (copying them only
    /// if they are shared or paged), and hands out the packet to change
    /// them through. Fails for a GSO packet.
    pub(crate) fn make_writable(&mut self, len: usize) -> Result<Writable<'_>> {
        if self.is_gso() {
            return Err(EINVAL);
        }
        let n = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change.
        let ret = unsafe { kernel::bindings::skb_ensure_writable(self.raw(), n) };
        // `to_result()`, which is not inlined, without its call.
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: `skb_ensure_writable()` made the first `len` bytes
        // linear and the packet's own.
        Ok(Writable { skb: self, len })
    }

    /// Free bytes after the data.
    pub(crate) fn tailroom(&self) -> usize {
        // SAFETY: A live packet.
        let (data_len, tail, end) = unsafe {
            (
                (*self.raw()).data_len,
                (*self.raw()).tail,
                (*self.raw()).end,
            )
        };
        // `skb_tailroom()`: none in a paged packet.
        if data_len != 0 {
            return 0;
        }
        end.saturating_sub(tail) as usize
    }

    /// Whether the data is shared with a clone.
    pub(crate) fn cloned(&self) -> bool {
        // `skb_cloned()` (inline): the `cloned` bit, and the data's
        // reference count (`atomic_read()` of `dataref`, a `READ_ONCE()`
        // of its counter) not 1.
        // SAFETY: A live packet: the bit is read through bindgen's
        // accessor of `sk_buff`'s first bitfield unit, without a reference;
        // the shared info is the packet's (`Self::shinfo`), and `dataref`
        // an aligned `atomic_t` in it, read once, as C reads it.
        unsafe {
            kernel::bindings::sk_buff::cloned_raw(self.raw()) != 0
                && (core::ptr::read_volatile(core::ptr::addr_of!((*self.shinfo()).dataref.counter))
                    as u32
                    & kernel::bindings::SKB_DATAREF_MASK)
                    != 1
        }
    }

    /// Cuts the data to `len` bytes (`pskb_trim()`). A paged packet may
    /// need an atomic allocation (its data or a frag-list member unshared
    /// first): `ENOMEM` if that fails, the packet then left at its length
    /// (its data possibly unshared), for dropping.
    fn trim(&mut self, len: usize) -> Result {
        // More than a packet can hold: nothing to cut.
        let Ok(len) = u32::try_from(len) else {
            return Ok(());
        };
        // SAFETY: A live packet.
        let (cur, data_len) = unsafe { ((*self.raw()).len, (*self.raw()).data_len) };
        if len >= cur {
            return Ok(());
        }
        let tail = u32::try_from(self.headroom())
            .ok()
            .and_then(|h| h.checked_add(len));
        match tail {
            // `skb_trim()` of a linear packet, without the call:
            // `__skb_trim()` sets the length and `skb_set_tail_pointer()`.
            Some(tail) if data_len == 0 => {
                // SAFETY: A linear packet this borrow may change, cut to
                // fewer bytes than it has: the new tail is inside its
                // data. `tail` is an offset from `head` (see
                // `Self::shinfo`).
                unsafe {
                    (*self.raw()).len = len;
                    (*self.raw()).tail = tail;
                }
                Ok(())
            }
            // `__pskb_trim()` of a paged packet (`skb_trim()` would warn
            // and cut nothing): drops the fragments and frag-list members
            // past `len`, cuts the last one kept, and may then copy what
            // is left into the linear part (`skb_condense()`, only for a
            // packet without a socket). Also takes a linear packet whose
            // tail offset would not fit (none does).
            // SAFETY: A packet this borrow may change (reallocating or
            // unsharing its data and freeing its members is allowed:
            // `&mut self`, and no pointer into it outlives the borrow),
            // cut to fewer bytes than it has; atomic allocations only.
            _ => to_result(unsafe { kernel::bindings::___pskb_trim(self.raw(), len) }),
        }
    }

    /// How the transport checksum stands (`CHECKSUM_*`).
    pub(crate) fn ip_summed(&self) -> u8 {
        // SAFETY: A live packet; read through bindgen's accessor of the
        // `headers` group's bitfield unit, without a reference.
        unsafe { Headers::ip_summed_raw(self.headers()) }
    }

    /// Moves the start of the partial checksum by `by` bytes (after the
    /// headers moved). `None`, and nothing changed, unless the packet has
    /// `CHECKSUM_PARTIAL` and the new start fits.
    fn move_csum_start(&mut self, by: usize) -> Option<()> {
        if self.ip_summed() != CHECKSUM_PARTIAL {
            return None;
        }
        let by = u16::try_from(by).ok()?;
        // SAFETY: A packet this borrow may change; `csum_start` shares a
        // union with `csum`, which is meaningful only with
        // `CHECKSUM_COMPLETE`: this packet has `CHECKSUM_PARTIAL` (checked
        // above), so the union holds `csum_start`/`csum_offset`.
        unsafe {
            let c = &mut (*self.headers()).__bindgen_anon_1.__bindgen_anon_1;
            c.csum_start = c.csum_start.checked_add(by)?;
        }
        Some(())
    }

    /// Marks the transport checksum as checked.
    fn set_csum_unnecessary(&mut self) {
        // SAFETY: A packet this borrow may change; both bitfields are
        // written through bindgen's accessors of the `headers` group's
        // bitfield unit (a read-modify-write of the unit, as C's
        // assignment to a bitfield is), without a reference.
        unsafe {
            let h = self.headers();
            Headers::set_ip_summed_raw(h, CHECKSUM_UNNECESSARY);
            Headers::set_csum_level_raw(h, 0);
        }
    }
}

/// A packet whose first `len` bytes, as far as they are in its linear
/// part, are its own to change: what [`SkBuff::make_writable`] hands out,
/// and the only way to write the packet's bytes.
///
/// # Invariants
///
/// The first `len` bytes of `skb`'s data that lie in its linear part, and
/// the headroom before them, are this packet's to change: not shared, or
/// shared only with clones that do not use that header area
/// (`skb_clone_writable()`: `hdr_len` covers it; such a clone still owns
/// the tailroom too, which is why [`Writable::own_tailroom`] is 0 while
/// the data is cloned). Its methods keep that (no method of [`SkBuff`]
/// makes the data shared), and keep `len` at or below the writable span
/// as the data moves or shrinks.
pub(crate) struct Writable<'a> {
    skb: &'a mut SkBuff,
    len: usize,
}

impl core::ops::Deref for Writable<'_> {
    type Target = SkBuff;

    fn deref(&self) -> &SkBuff {
        self.skb
    }
}

impl Writable<'_> {
    /// The first `len` bytes of the linear part, to read and write: no
    /// more than were made writable.
    pub(crate) fn linear_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > self.len || len > self.skb.headlen() {
            return None;
        }
        // SAFETY: `data .. data + len` is inside the linear part and
        // writable (type invariant), which the `&mut` borrow lets us
        // change; the slice's borrow ends before anything can reallocate
        // the buffer.
        Some(unsafe { core::slice::from_raw_parts_mut((*self.skb.raw()).data, len) })
    }

    /// The writable linear part and, past its end, up to `len` bytes in
    /// all of the free space after it (the tailroom, if the data is not
    /// shared with a clone), zeroed (not what an earlier use of the
    /// buffer left there): scratch a hook may write into without it
    /// becoming part of the packet. `None` unless the whole linear part is
    /// writable.
    pub(crate) fn linear_and_tail_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        let headlen = self.skb.headlen();
        if headlen > self.len {
            return None;
        }
        if len > headlen.checked_add(self.own_tailroom())? {
            return None;
        }
        // SAFETY: `data .. data + headlen` is the linear part, writable
        // (type invariant, checked above), and the tailroom follows it in
        // the same buffer, owned by this packet alone when it is not
        // cloned; the borrow ends before anything can reallocate the
        // buffer.
        let buf = unsafe { core::slice::from_raw_parts_mut((*self.skb.raw()).data, len) };
        if let Some(tail) = buf.get_mut(headlen..) {
            tail.fill(0);
        }
        Some(buf)
    }

    /// Free bytes after the data that are the packet's own: none while the
    /// data is shared with a clone.
    pub(crate) fn own_tailroom(&self) -> usize {
        if self.skb.cloned() {
            0
        } else {
            self.skb.tailroom()
        }
    }

    /// Makes room for `n` more bytes after the data (reallocating, atomic
    /// allocation): the data is then the packet's own, with the same bytes
    /// writable.
    pub(crate) fn grow_tailroom(&mut self, n: usize) -> Result {
        let n = c_int::try_from(n).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change. `pskb_expand_head()`
        // copies the linear part into a new buffer of the packet's own
        // (the type invariant holds after it) or, failing, changes nothing.
        to_result(unsafe {
            kernel::bindings::pskb_expand_head(self.skb.raw(), 0, n, kernel::bindings::GFP_ATOMIC)
        })
    }

    /// Extends the data by `n` bytes of its own tailroom
    /// ([`Self::own_tailroom`]), which must have them; they are writable,
    /// and zeroed (`skb_put_zero()`: not what an earlier use of the buffer
    /// left there).
    pub(crate) fn put(&mut self, n: usize) -> Result {
        // `skb_put()` (exported, but a call for two additions): the tailroom
        // is 0 unless the packet is linear, so `n > 0` bytes of it are
        // after the data of a linear packet; it is not shared with a clone
        // (`own_tailroom()`).
        if n > self.own_tailroom() || self.len < self.skb.len() {
            return Err(EINVAL);
        }
        let n32 = u32::try_from(n).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change. It is linear and has
        // `n` bytes of its own between `tail` and `end` (checked above), so
        // the new tail is at most `end`, where `skb_put()` would not panic;
        // `tail` is an offset from `head` here (see `SkBuff::shinfo`).
        unsafe {
            let skb = self.skb.raw();
            (*skb).tail += n32;
            (*skb).len += n32;
        }
        // INVARIANT: All of the data was writable, and the new bytes are
        // the packet's own.
        self.len = self.skb.len();
        let total = self.len;
        if let Some(new) = self
            .linear_mut(total)
            .and_then(|b| b.get_mut(total.saturating_sub(n)..))
        {
            new.fill(0);
        }
        Ok(())
    }

    /// Cuts the data to `len` bytes; `ENOMEM` if a paged packet could not
    /// be (see [`SkBuff::trim`]: drop it then).
    pub(crate) fn trim(&mut self, len: usize) -> Result {
        let res = self.skb.trim(len);
        // INVARIANT: Cutting shares nothing (a paged packet's data is
        // unshared first); the writable span ends with the data at most.
        self.len = self.len.min(self.skb.len());
        res
    }

    /// Removes `n` bytes that follow the first `keep` bytes (the network
    /// and transport headers) by moving those headers, and the link-layer
    /// header before them, up by `n` bytes and pulling them off the front,
    /// as IPsec transport mode removes an ESP header: what follows does not
    /// move. The first `keep + n` bytes must be writable.
    pub(crate) fn remove_after_headers(&mut self, keep: usize, n: usize) -> Result {
        let span = keep.checked_add(n).ok_or(EINVAL)?;
        // The header offsets are 16-bit.
        let by = u16::try_from(n).map_err(|_| EINVAL)?;
        let skb = &mut *self.skb;
        let headroom = skb.headroom();
        if span > skb.headlen() || span > self.len {
            return Err(EINVAL);
        }
        // SAFETY: A live packet.
        let mac = unsafe { (*skb.headers()).mac_header };
        // `skb_mac_header_was_set()` (inline): not `(u16)~0U`.
        let mac = (mac != u16::MAX).then_some(usize::from(mac));
        // SAFETY: A live packet.
        let mac_len = usize::from(unsafe { (*skb.raw()).mac_len });
        // The whole buffer from its head to the end of the moved span.
        // SAFETY: `head .. data + span` is the headroom and the start of the
        // linear part, both in the packet's buffer, writable: the span is
        // (checked above, type invariant), and the headroom is the packet's
        // own once its data is not shared, which `skb_ensure_writable()`
        // ensured (a clone whose header area is its own,
        // `skb_clone_writable()`, owns the headroom too).
        let buf = unsafe { core::slice::from_raw_parts_mut((*skb.raw()).head, headroom + span) };
        buf.copy_within(headroom..headroom + keep, headroom + n);
        if let Some(mac) = mac {
            if mac + mac_len <= headroom {
                buf.copy_within(mac..mac + mac_len, mac + n);
            }
        }
        // SAFETY: The bytes moved; the data and the offsets follow them:
        // `__skb_pull()` of `n <= headlen` bytes (`len` stays at least
        // `data_len`; `skb_pull()` would only add the call and a check of
        // that). The offsets stay inside the buffer: they only move up to
        // the data.
        unsafe {
            let raw = skb.raw();
            (*raw).len -= u32::from(by);
            (*raw).data = (*raw).data.add(n);
            let h = skb.headers();
            (*h).network_header = (*h).network_header.wrapping_add(by);
            (*h).transport_header = (*h).transport_header.wrapping_add(by);
            if mac.is_some() {
                (*h).mac_header = (*h).mac_header.wrapping_add(by);
            }
        }
        // INVARIANT: The data starts `n` bytes further into the span that
        // was writable.
        self.len -= n;
        Ok(())
    }

    /// [`SkBuff::move_csum_start`].
    pub(crate) fn move_csum_start(&mut self, by: usize) -> Option<()> {
        self.skb.move_csum_start(by)
    }

    /// [`SkBuff::set_csum_unnecessary`].
    pub(crate) fn set_csum_unnecessary(&mut self) {
        self.skb.set_csum_unnecessary()
    }
}

/// The full socket a packet is sent from, for as long as the packet is
/// borrowed.
///
/// # Invariants
///
/// `ptr` is a live full socket (not a request or timewait mini-socket).
pub(crate) struct Sock<'a> {
    ptr: *mut kernel::bindings::sock,
    _life: core::marker::PhantomData<&'a SkBuff>,
}

impl Sock<'_> {
    /// Whether it is a kernel socket (`sk_kern_sock`) and the packet is
    /// sent from a kernel thread: what IPVS's sync sockets are.
    pub(crate) fn kernel_thread_kernel_socket(&self) -> bool {
        // SAFETY: A live full socket.
        if !unsafe { b::ipvsa_sk_kern_sock(self.ptr) } {
            return false;
        }
        // `current->flags & PF_KTHREAD`.
        let task = kernel::task::Task::current_raw();
        // SAFETY: The current task is alive while it runs this; a plain
        // read, as C's of `current->flags` (`PF_KTHREAD` is set when a
        // thread is created and never changes).
        let flags = unsafe { (*task).flags };
        flags & kernel::bindings::PF_KTHREAD != 0
    }

    /// Whether it is a UDP socket connected to a peer (as `connect()`
    /// makes it).
    pub(crate) fn connected_udp(&self) -> bool {
        // SAFETY: A live full socket.
        unsafe {
            b::ipvsa_sk_protocol(self.ptr) == kernel::bindings::IPPROTO_UDP as u16
                && b::ipvsa_sk_established(self.ptr)
        }
    }

    /// The port it is connected to, in network byte order as on the wire.
    pub(crate) fn dport_be(&self) -> [u8; 2] {
        // SAFETY: A live full socket.
        unsafe { b::ipvsa_sk_dport(self.ptr) }.to_ne_bytes()
    }

    fn family(&self) -> u32 {
        // SAFETY: A live full socket.
        u32::from(unsafe { b::ipvsa_sk_family(self.ptr) })
    }

    /// The address it is connected to, if it is an IPv4 socket.
    pub(crate) fn daddr_v4(&self) -> Option<[u8; 4]> {
        if self.family() != kernel::bindings::AF_INET {
            return None;
        }
        // SAFETY: A live full socket.
        Some(unsafe { b::ipvsa_sk_daddr(self.ptr) }.to_ne_bytes())
    }

    /// The address it is connected to, if it is an IPv6 socket.
    pub(crate) fn daddr_v6(&self) -> Option<[u8; 16]> {
        if self.family() != kernel::bindings::AF_INET6 {
            return None;
        }
        // SAFETY: A live full socket.
        let p = unsafe { b::ipvsa_sk_v6_daddr(self.ptr) };
        if p.is_null() {
            return None;
        }
        let mut a = [0u8; 16];
        // SAFETY: `p` points to the socket's 16-byte IPv6 address.
        a.copy_from_slice(unsafe { core::slice::from_raw_parts(p, 16) });
        Some(a)
    }
}

#[kernel::macros::kunit_tests(ip_vs_sync_auth_skb)]
mod tests {
    use super::*;
    use crate::kapi::testskb::{TestSkb, TEST_MAC};
    use crate::shim::IPVSA_TEST_SKB_LINEAR as LINEAR;

    const MSG: [u8; 24] = [0x5a; 24];

    /// Where the data is against the network header, and the length.
    fn at(skb: &SkBuff) -> (Option<usize>, usize) {
        (skb.network_offset(), skb.len())
    }

    #[test]
    fn link_layer_header_is_pushed_for_segmenting_and_pulled_after() -> Result {
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        let skb = t.skb();
        let (off, len) = at(skb);
        assert_eq!(off, Some(0));
        assert!(skb.push_to_mac());
        // The data starts at the Ethernet header, counted in the length.
        assert_eq!(at(skb), (Some(TEST_MAC.len()), len + TEST_MAC.len()));
        let mut buf = [0u8; 14];
        assert_eq!(skb.bytes(0, &mut buf), Some(&TEST_MAC[..]));
        assert!(skb.pull_to_network());
        assert_eq!(at(skb), (Some(0), len));
        // At the network header already: a second pull changes nothing.
        assert!(skb.pull_to_network());
        assert_eq!(at(skb), (Some(0), len));
        Ok(())
    }

    #[test]
    fn packet_without_link_layer_header_is_not_pushed() -> Result {
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        t.drop_link_layer_header();
        let before = at(t.skb());
        assert!(!t.skb().push_to_mac());
        assert_eq!(at(t.skb()), before);
        Ok(())
    }

    #[test]
    fn tailroom_is_zeroed_before_a_hook_sees_it() -> Result {
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        let len = t.skb().len();
        let mut w = t.skb().make_writable(len)?;
        w.grow_tailroom(16)?;
        assert!(w.own_tailroom() >= 16);
        // Bytes left in the tailroom (as by an earlier use of the
        // buffer) are not what the scratch shows, each time.
        for _ in 0..2 {
            let buf = w.linear_and_tail_mut(len + 16).ok_or(EINVAL)?;
            assert!(buf[len..].iter().all(|&b| b == 0));
            assert_eq!(&buf[len - MSG.len()..len], &MSG[..]);
            buf[len..].fill(0xa5);
        }
        // Nor what the data grows over.
        w.put(16)?;
        assert_eq!(w.len(), len + 16);
        let buf = w.linear_mut(len + 16).ok_or(EINVAL)?;
        assert!(buf[len..].iter().all(|&b| b == 0));
        assert_eq!(&buf[len - MSG.len()..len], &MSG[..]);
        Ok(())
    }

    #[test]
    fn paged_packet_is_cut_not_warned_about() -> Result {
        use crate::shim::IPVSA_TEST_SKB_PAGED as PAGED;
        // The message in a page fragment: cut inside it (where
        // `skb_trim()` would warn and cut nothing).
        let mut t = TestSkb::sync(PAGED, &MSG)?;
        let skb = t.skb();
        let len = skb.len();
        let head = skb.headlen();
        assert!(head < len - 4);
        let mut before = [0u8; 128];
        let mut buf = [0u8; 128];
        before[..len].copy_from_slice(skb.bytes(0, &mut buf[..len]).ok_or(EINVAL)?);
        skb.trim(len - 4)?;
        assert_eq!(skb.len(), len - 4);
        assert_eq!(skb.bytes(0, &mut buf[..len - 4]), Some(&before[..len - 4]));
        // Straight into the linear part of a paged packet (the packet
        // above was made linear by `skb_condense()` after its cut).
        let mut t = TestSkb::sync(PAGED, &MSG)?;
        let skb = t.skb();
        assert!(skb.headlen() == head && skb.len() == len);
        skb.trim(head - 2)?;
        assert_eq!((skb.len(), skb.headlen()), (head - 2, head - 2));
        assert_eq!(
            skb.bytes(0, &mut buf[..head - 2]),
            Some(&before[..head - 2])
        );
        // A frag-list member dropped whole.
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        let len = t.skb().len();
        t.add_fraglist_member(32)?;
        assert!(t.skb().len() > len);
        t.skb().trim(len)?;
        assert_eq!((t.skb().len(), t.skb().headlen()), (len, len));
        Ok(())
    }

    #[test]
    fn fraglist_member_without_room_keeps_the_burst_at_its_network_header() -> Result {
        // Room for the head's 14-byte Ethernet header before each member's
        // network header: `skb_segment_list()` may push the members back
        // that far.
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        t.add_fraglist_member(14)?;
        t.add_fraglist_member(32)?;
        let (_, len) = at(t.skb());
        assert!(t.skb().push_to_mac());
        assert_eq!(at(t.skb()), (Some(14), len + 14));

        // A member with less room before its network header than the
        // head's link-layer header (12 bytes against 14 here; 14 against
        // 18 when only the head's frame got its VLAN tag back): not
        // pushed, or `skb_segment_list()` would push that member past its
        // buffer's start.
        let mut t = TestSkb::sync(LINEAR, &MSG)?;
        t.add_fraglist_member(32)?;
        t.add_fraglist_member(12)?;
        let before = at(t.skb());
        assert!(!t.skb().push_to_mac());
        assert_eq!(at(t.skb()), before);
        Ok(())
    }
}
