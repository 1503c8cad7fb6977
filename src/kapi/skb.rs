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
    /// if they are shared or paged). Fails for a GSO packet.
    pub(crate) fn make_writable(&mut self, len: usize) -> Result {
        if self.is_gso() {
            return Err(EINVAL);
        }
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change.
        let ret = unsafe { kernel::bindings::skb_ensure_writable(self.raw(), len) };
        // `to_result()`, which is not inlined, without its call.
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// The linear part (`data .. data + headlen`) to read and write; only
    /// as much of it as [`Self::make_writable`] made writable may be
    /// changed, which the caller ensures by asking for no more.
    pub(crate) fn linear_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        let headlen = self.headlen();
        if len > headlen {
            return None;
        }
        // SAFETY: `data .. data + len` is inside the linear part, which the
        // `&mut` borrow lets us change (the caller made it writable); the
        // slice's borrow ends before anything can reallocate the buffer.
        Some(unsafe { core::slice::from_raw_parts_mut((*self.raw()).data, len) })
    }

    /// The linear part and, past its end, up to `len` bytes in all of the
    /// free space after it (the tailroom, if the data is not shared with a
    /// clone): scratch a hook may write into without it becoming part of
    /// the packet. The linear part must have been made writable.
    pub(crate) fn linear_and_tail_mut(&mut self, len: usize) -> Option<&mut [u8]> {
        let headlen = self.headlen();
        let tail = if self.cloned() { 0 } else { self.tailroom() };
        if len > headlen.checked_add(tail)? {
            return None;
        }
        // SAFETY: `data .. data + headlen` is the (writable) linear part and
        // the tailroom follows it in the same buffer, owned by this packet
        // alone when it is not cloned; the borrow ends before anything can
        // reallocate the buffer.
        Some(unsafe { core::slice::from_raw_parts_mut((*self.raw()).data, len) })
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

    /// Makes room for `n` more bytes after the data (reallocating, atomic
    /// allocation).
    pub(crate) fn grow_tailroom(&mut self, n: usize) -> Result {
        let n = c_int::try_from(n).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change.
        to_result(unsafe {
            kernel::bindings::pskb_expand_head(self.raw(), 0, n, kernel::bindings::GFP_ATOMIC)
        })
    }

    /// Extends the data by `n` bytes of its tailroom, which must have them.
    pub(crate) fn put(&mut self, n: usize) -> Result {
        // `skb_put()` (exported, but a call for two additions): the tailroom
        // is 0 unless the packet is linear, so `n > 0` bytes of it are
        // after the data of a linear packet.
        if n > self.tailroom() {
            return Err(EINVAL);
        }
        let n = u32::try_from(n).map_err(|_| EINVAL)?;
        // SAFETY: A packet this borrow may change. It is linear and has
        // `n` bytes between `tail` and `end` (checked above), so the new
        // tail is at most `end`, where `skb_put()` would not panic; `tail`
        // is an offset from `head` here (see `Self::shinfo`).
        unsafe {
            let skb = self.raw();
            (*skb).tail += n;
            (*skb).len += n;
        }
        Ok(())
    }

    /// Cuts the data to `len` bytes.
    pub(crate) fn trim(&mut self, len: usize) {
        let Ok(len) = u32::try_from(len) else {
            return;
        };
        // SAFETY: A live packet.
        let (cur, data_len) = unsafe { ((*self.raw()).len, (*self.raw()).data_len) };
        if len >= cur {
            return;
        }
        let tail = u32::try_from(self.headroom())
            .ok()
            .and_then(|h| h.checked_add(len));
        match tail {
            // `skb_trim()` of a linear packet, without the call:
            // `__skb_trim()` sets the length and `skb_set_tail_pointer()`.
            // SAFETY: A linear packet this borrow may change, cut to fewer
            // bytes than it has: the new tail is inside its data. `tail`
            // is an offset from `head` (see `Self::shinfo`).
            Some(tail) if data_len == 0 => unsafe {
                (*self.raw()).len = len;
                (*self.raw()).tail = tail;
            },
            // SAFETY: A packet this borrow may change; the kernel's own
            // function (which warns about a paged packet, as before).
            _ => unsafe { kernel::bindings::skb_trim(self.raw(), len) },
        }
    }

    /// Removes `n` bytes that follow the first `keep` bytes (the network
    /// and transport headers) by moving those headers, and the link-layer
    /// header before them, up by `n` bytes and pulling them off the front,
    /// as IPsec transport mode removes an ESP header: what follows does not
    /// move. The first `keep + n` bytes must be linear and writable.
    pub(crate) fn remove_after_headers(&mut self, keep: usize, n: usize) -> Result {
        let span = keep.checked_add(n).ok_or(EINVAL)?;
        // The header offsets are 16-bit.
        let by = u16::try_from(n).map_err(|_| EINVAL)?;
        let headroom = self.headroom();
        let headlen = self.headlen();
        if span > headlen {
            return Err(EINVAL);
        }
        // SAFETY: A live packet.
        let mac = unsafe { (*self.headers()).mac_header };
        // `skb_mac_header_was_set()` (inline): not `(u16)~0U`.
        let mac = (mac != u16::MAX).then_some(usize::from(mac));
        // SAFETY: A live packet.
        let mac_len = usize::from(unsafe { (*self.raw()).mac_len });
        // The whole buffer from its head to the end of the moved span.
        // SAFETY: `head .. data + span` is the headroom and the start of the
        // linear part, both in the packet's buffer, writable (the caller
        // made the span writable; the headroom is the packet's own once its
        // data is not shared, which `skb_ensure_writable()` ensured).
        let buf = unsafe { core::slice::from_raw_parts_mut((*self.raw()).head, headroom + span) };
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
            let skb = self.raw();
            (*skb).len -= u32::from(by);
            (*skb).data = (*skb).data.add(n);
            let h = self.headers();
            (*h).network_header = (*h).network_header.wrapping_add(by);
            (*h).transport_header = (*h).transport_header.wrapping_add(by);
            if mac.is_some() {
                (*h).mac_header = (*h).mac_header.wrapping_add(by);
            }
        }
        Ok(())
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
    pub(crate) fn move_csum_start(&mut self, by: usize) -> Option<()> {
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
    pub(crate) fn set_csum_unnecessary(&mut self) {
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
        // SAFETY: A live full socket; the current task always exists.
        unsafe { b::ipvsa_sk_kern_sock(self.ptr) && b::ipvsa_in_kthread() }
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
