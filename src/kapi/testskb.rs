// SPDX-License-Identifier: GPL-2.0

//! Test packets for the KUnit suites and the benchmark: IPv4 and IPv6
//! datagrams built the way the stack hands them to a hook, owned by the
//! test and freed when dropped, and the checks of a sync datagram after a
//! path of `src/sync_net.rs` ran on it. Test code only: nothing here runs
//! on a packet of the network.
//!
//! The checksums the builders write and the checks compare with come from
//! the kernel's own functions (`csum_tcpudp_magic()`, `ip_fast_csum()`,
//! `skb_checksum()`), not from the module's checksum arithmetic, so that
//! the checks stay independent of the code they test.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use super::bindings as b;
use super::skb::SkBuff;
use core::ffi::c_int;
use core::ptr::NonNull;
use kernel::bindings as kb;
use kernel::prelude::*;

// The skb layouts `TestSkb::sync` builds (`IPVSA_TEST_SKB_*`).
use crate::shim::{
    IPVSA_TEST_SKB_CLONED as CLONED, IPVSA_TEST_SKB_CSUM_PARTIAL as CSUM_PARTIAL,
    IPVSA_TEST_SKB_CSUM_ZERO as CSUM_ZERO, IPVSA_TEST_SKB_PAGED as PAGED,
    IPVSA_TEST_SKB_SHORT as SHORT,
};

/// The sockets [`TestSockSkb::new`] sends from: a kernel socket connected
/// to the group and port.
#[cfg(CONFIG_KUNIT)]
pub(crate) const SOCK_CONNECTED: u32 = 0;
/// A kernel socket, the datagram addressed per message.
#[cfg(CONFIG_KUNIT)]
pub(crate) const SOCK_UNCONNECTED: u32 = 1;
/// A kernel socket connected to another port.
#[cfg(CONFIG_KUNIT)]
pub(crate) const SOCK_OTHER_PORT: u32 = 2;
/// A kernel socket connected to another address.
#[cfg(CONFIG_KUNIT)]
pub(crate) const SOCK_OTHER_GROUP: u32 = 3;
/// A user socket connected to the group and port.
#[cfg(CONFIG_KUNIT)]
pub(crate) const SOCK_USER: u32 = 4;

const ETH_HLEN: usize = 14;
const IP4_HLEN: usize = 20;
#[cfg(CONFIG_KUNIT)]
const IP6_HLEN: usize = 40;
const UDP_HLEN: usize = 8;
/// Offset of the checksum in a UDP header.
const UDP_CHECK: usize = 6;
const IPPROTO_UDP: u8 = 17;
#[cfg(CONFIG_KUNIT)]
const NEXTHDR_FRAGMENT: u8 = 44;
#[cfg(CONFIG_KUNIT)]
const NEXTHDR_DEST: u8 = 60;
#[cfg(CONFIG_KUNIT)]
const IPPROTO_AH: u8 = 51;
/// `CSUM_MANGLED_0`: a computed UDP checksum of 0, as sent.
const CSUM_MANGLED_0: u16 = 0xffff;

/// The Ethernet header the builders put before the network header.
pub(crate) const TEST_MAC: [u8; ETH_HLEN] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];

/// How the UDP checksum of a test datagram arrives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Csum {
    /// IPv4 "no checksum" (0).
    Zero,
    /// A full, valid one, `CHECKSUM_NONE` (from the wire, or a device
    /// without offload).
    Full,
    /// The pseudo-header's only, `CHECKSUM_PARTIAL` (as IPVS sends).
    Partial,
}

/// An IPv4 datagram for [`Owned::ip4`].
struct Ip4 {
    saddr: [u8; 4],
    daddr: [u8; 4],
    ttl: u8,
    /// IP protocol; for UDP a UDP header follows.
    protocol: u8,
    sport: u16,
    dport: u16,
    /// Value of the UDP length field (a test may make it lie).
    udp_len: u16,
    /// The payload in a page fragment, not the linear area.
    paged: bool,
    udp_csum: Csum,
}

/// `csum_tcpudp_magic()` (inline) over IPv4 addresses as on the wire.
fn tcpudp_magic(saddr: [u8; 4], daddr: [u8; 4], len: u32, sum: u32) -> u16 {
    // SAFETY: Arithmetic on its arguments only.
    unsafe {
        b::ipvsa_csum_tcpudp_magic(
            u32::from_ne_bytes(saddr),
            u32::from_ne_bytes(daddr),
            len,
            IPPROTO_UDP,
            sum,
        )
    }
}

/// Writes `v` at `off` of `buf`.
fn set(buf: &mut [u8], off: usize, v: &[u8]) -> Result {
    let end = off.checked_add(v.len()).ok_or(EINVAL)?;
    buf.get_mut(off..end).ok_or(EINVAL)?.copy_from_slice(v);
    Ok(())
}

/// A 4-byte address from its array.
#[cfg(CONFIG_KUNIT)]
fn addr4(b: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
    a
}

/// A packet this module allocated and owns, freed when dropped.
///
/// # Invariants
///
/// `0` is a live packet nobody else references.
struct Owned(NonNull<kb::sk_buff>);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: Ours (type invariant), freed once.
        unsafe { b::ipvsa_consume_skb(self.0.as_ptr()) };
    }
}

impl Owned {
    /// A packet with room for `size` bytes (`alloc_skb()`, inline).
    /// Process context.
    fn alloc(size: usize) -> Result<Self> {
        let size = u32::try_from(size).map_err(|_| EINVAL)?;
        // SAFETY: Process context, where `GFP_KERNEL` may sleep.
        let skb = unsafe { kb::__alloc_skb(size, kb::GFP_KERNEL, 0, kb::NUMA_NO_NODE) };
        // INVARIANT: A new packet, ours alone.
        NonNull::new(skb).map(Self).ok_or(ENOMEM)
    }

    fn raw(&self) -> *mut kb::sk_buff {
        self.0.as_ptr()
    }

    /// `skb->data - skb->head`.
    fn headroom(&self) -> u16 {
        // SAFETY: A live packet (type invariant); `data` is in the buffer
        // that starts at `head`.
        let off = unsafe { (*self.raw()).data.offset_from((*self.raw()).head) };
        u16::try_from(off).unwrap_or(u16::MAX)
    }

    /// `skb_reserve()` (inline) of an empty packet: moves data and tail
    /// `n` bytes into the buffer.
    fn reserve(&mut self, n: usize) -> Result {
        let n32 = u32::try_from(n).map_err(|_| EINVAL)?;
        let skb = self.raw();
        // SAFETY: A packet we own alone; an empty one (`data == tail`)
        // with at least `n` bytes of tailroom (checked), which both move
        // over.
        unsafe {
            if (*skb).len != 0 || (*skb).end.checked_sub((*skb).tail) < Some(n32) {
                return Err(EINVAL);
            }
            (*skb).data = (*skb).data.add(n);
            (*skb).tail += n32;
        }
        Ok(())
    }

    /// Appends `data` to the linear part (`skb_put_data()`, inline), which
    /// must have room for it.
    fn put_data(&mut self, data: &[u8]) -> Result {
        let n = u32::try_from(data.len()).map_err(|_| EINVAL)?;
        let skb = self.raw();
        // SAFETY: A packet we own alone, without fragments yet (checked), so
        // its tailroom is `end - tail`; `skb_put()` returns the `n` bytes it
        // appended, which fit (checked), and `data` does not overlap them.
        unsafe {
            if (*skb).data_len != 0 || (*skb).end.checked_sub((*skb).tail) < Some(n) {
                return Err(EINVAL);
            }
            let dst = kb::skb_put(skb, n).cast::<u8>();
            core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
        }
        Ok(())
    }

    /// The link-layer, network and transport header offsets from `head`,
    /// to read and set (plain fields of the `headers` group).
    fn headers(&mut self) -> &mut kb::sk_buff__bindgen_ty_4__bindgen_ty_2 {
        // SAFETY: A live packet we own alone; `headers` is the named view
        // of the group, always valid to access.
        unsafe { (*self.raw()).__bindgen_anon_4.headers.as_mut() }
    }

    /// The packet as a hook would see it.
    fn skb(&mut self) -> &mut SkBuff {
        // SAFETY: A live packet we own alone, for the borrow of `self`.
        unsafe { SkBuff::from_raw(self.raw()) }
    }

    /// A packet as the IP layer hands it to `LOCAL_IN`: the Ethernet
    /// header (`mac_len` set), data at the IPv4 header (checksummed,
    /// `tot_len` the whole datagram), then the UDP header if any and the
    /// payload. Process context.
    fn ip4(d: &Ip4, payload: &[u8]) -> Result<Self> {
        let udp = d.protocol == IPPROTO_UDP;
        let hdrs = IP4_HLEN + if udp { UDP_HLEN } else { 0 };
        let ll = b::LL_MAX_HEADER as usize;
        let mut skb = Self::alloc(ll + ETH_HLEN + hdrs + payload.len())?;
        skb.start_at_network_header(ll)?;
        let mut h = [0u8; IP4_HLEN + UDP_HLEN];
        let tot_len = u16::try_from(hdrs + payload.len()).map_err(|_| EINVAL)?;
        set(&mut h, 0, &[0x45])?;
        set(&mut h, 2, &tot_len.to_be_bytes())?;
        set(&mut h, 8, &[d.ttl, d.protocol])?;
        set(&mut h, 12, &d.saddr)?;
        set(&mut h, 16, &d.daddr)?;
        // `ip_send_check()` (inline).
        // SAFETY: `h` holds 5 words of IPv4 header.
        let check = unsafe { b::ipvsa_ip_fast_csum(h.as_ptr().cast(), 5) };
        set(&mut h, 10, &check.to_ne_bytes())?;
        set(&mut h, 20, &d.sport.to_be_bytes())?;
        set(&mut h, 22, &d.dport.to_be_bytes())?;
        set(&mut h, 24, &d.udp_len.to_be_bytes())?;
        skb.put_data(h.get(..hdrs).ok_or(EINVAL)?)?;
        let net = skb.headers().network_header;
        skb.headers().transport_header = net + IP4_HLEN as u16;
        if d.paged {
            skb.add_page_frag(payload)?;
        } else {
            skb.put_data(payload)?;
        }
        if udp && d.udp_csum != Csum::Zero {
            let n = payload.len() + UDP_HLEN;
            let n32 = u32::try_from(n).map_err(|_| EINVAL)?;
            let check = if d.udp_csum == Csum::Partial {
                // SAFETY: A packet we own alone, whose UDP checksum field
                // is in its linear part.
                let ok = unsafe { kb::skb_partial_csum_set(skb.raw(), IP4_HLEN as u16, 6) };
                if !ok {
                    return Err(EINVAL);
                }
                !tcpudp_magic(d.saddr, d.daddr, n32, 0)
            } else {
                let n = c_int::try_from(n).map_err(|_| EINVAL)?;
                // SAFETY: The range is inside the packet.
                let sum = unsafe { kb::skb_checksum(skb.raw(), IP4_HLEN as c_int, n, 0) };
                match tcpudp_magic(d.saddr, d.daddr, n32, sum) {
                    0 => CSUM_MANGLED_0,
                    c => c,
                }
            };
            let mut w = skb.skb().make_writable(IP4_HLEN + UDP_HLEN)?;
            let lin = w.linear_mut(IP4_HLEN + UDP_HLEN).ok_or(EINVAL)?;
            set(lin, IP4_HLEN + UDP_CHECK, &check.to_ne_bytes())?;
        }
        Ok(skb)
    }

    /// Reserves `ll` bytes of headroom, puts the Ethernet header there
    /// (`skb_reset_mac_header()`, `mac_len`) and moves the data to where
    /// the network header starts (`skb_reset_network_header()`).
    fn start_at_network_header(&mut self, ll: usize) -> Result {
        self.reserve(ll)?;
        let at = self.headroom();
        self.headers().mac_header = at;
        self.put_data(&TEST_MAC)?;
        // SAFETY: A packet we own alone, holding the `ETH_HLEN` bytes
        // pulled.
        unsafe {
            (*self.raw()).mac_len = ETH_HLEN as u16;
            kb::skb_pull(self.raw(), ETH_HLEN as u32);
        }
        let at = self.headroom();
        self.headers().network_header = at;
        Ok(())
    }

    /// Puts `payload` in a new page, attached as fragment 0.
    fn add_page_frag(&mut self, payload: &[u8]) -> Result {
        if payload.len() > kb::PAGE_SIZE {
            return Err(EINVAL);
        }
        // SAFETY: Process context.
        let page = unsafe { kb::alloc_pages(kb::GFP_KERNEL, 0) };
        if page.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `page` is a page of ours: mapped, written within its
        // `PAGE_SIZE` bytes (checked), unmapped, then handed to the packet,
        // which frees it with itself.
        unsafe {
            let va = kb::kmap_local_page(page).cast::<u8>();
            core::ptr::copy_nonoverlapping(payload.as_ptr(), va, payload.len());
            kb::kunmap_local(va.cast());
            b::ipvsa_skb_add_rx_frag(
                self.raw(),
                0,
                page,
                0,
                payload.len() as c_int,
                kb::PAGE_SIZE as u32,
            );
        }
        Ok(())
    }
}

/// A test packet (KUnit, the benchmark): a datagram built the way the
/// stack hands one to a hook, and for the cloned layout a clone of it;
/// both freed when dropped.
///
/// # Invariants
///
/// `clone`, if any, is a clone of `skb` made when it was built, and
/// `kind` the layout it was built with (`u32::MAX` for the gate's).
pub(crate) struct TestSkb {
    skb: Owned,
    clone: Option<Owned>,
    kind: u32,
}

impl TestSkb {
    /// A datagram to 224.0.0.81:8848 from 10.0.3.1 with TTL 255 carrying
    /// `msg`, in layout `kind` (`IPVSA_TEST_SKB_*` with its checksum kind).
    /// Process context.
    pub(crate) fn sync(kind: u32, msg: &[u8]) -> Result<Self> {
        let layout = kind & !(CSUM_ZERO | CSUM_PARTIAL);
        let d = Ip4 {
            saddr: [10, 0, 3, 1],
            daddr: [224, 0, 0, 81],
            ttl: 255,
            protocol: IPPROTO_UDP,
            sport: 8848,
            dport: 8848,
            // SHORT: more than is there. Wraps as the 16-bit field does.
            udp_len: (UDP_HLEN + msg.len()) as u16,
            paged: layout == PAGED,
            udp_csum: if kind & CSUM_ZERO != 0 {
                Csum::Zero
            } else if kind & CSUM_PARTIAL != 0 {
                Csum::Partial
            } else {
                Csum::Full
            },
        };
        let body = if layout == SHORT {
            msg.get(..msg.len() / 2).ok_or(EINVAL)?
        } else {
            msg
        };
        let skb = Owned::ip4(&d, body)?;
        let clone = if layout == CLONED {
            // SAFETY: A live packet of ours; process context.
            let c = unsafe { kb::skb_clone(skb.raw(), kb::GFP_KERNEL) };
            // INVARIANT: A new packet (sharing the data), ours alone.
            Some(NonNull::new(c).map(Owned).ok_or(ENOMEM)?)
        } else {
            None
        };
        Ok(Self { skb, clone, kind })
    }

    /// An IPv4 packet between the gate's test client 198.51.100.`client`
    /// and virtual address 192.0.2.1 (from the client, or with `reply`
    /// from the address): IP protocol `protocol`, for UDP from and to port
    /// `port` with a length field `udp_len_delta` bytes longer than the
    /// datagram; then `payload`. Process context.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn gate(
        reply: bool,
        client: u8,
        protocol: u8,
        port: u16,
        payload: &[u8],
        udp_len_delta: u32,
    ) -> Result<Self> {
        let (vip, cl) = ([192, 0, 2, 1], [198, 51, 100, client]);
        let udp_len = (UDP_HLEN as u32)
            .wrapping_add(payload.len() as u32)
            .wrapping_add(udp_len_delta);
        let d = Ip4 {
            saddr: if reply { vip } else { cl },
            daddr: if reply { cl } else { vip },
            ttl: 64,
            protocol,
            sport: port,
            dport: port,
            // Wraps as the 16-bit field does.
            udp_len: udp_len as u16,
            paged: false,
            udp_csum: Csum::Zero,
        };
        Ok(Self {
            skb: Owned::ip4(&d, payload)?,
            clone: None,
            kind: u32::MAX,
        })
    }

    /// An IPv6 packet from the gate's test client 2001:db8:0:2::`client`
    /// to virtual address 2001:db8:1::1: `exthdrs` Destination Options
    /// headers (8 bytes, PadN), with `frag` a fragment header (first
    /// fragment, more to come), then next header `protocol` (for UDP, a
    /// header with ports `port`), then `payload`. Process context.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn gate6(
        client: u8,
        protocol: u8,
        port: u16,
        exthdrs: u32,
        frag: bool,
        payload: &[u8],
    ) -> Result<Self> {
        if exthdrs > 200 {
            return Err(EINVAL);
        }
        let udp = protocol == IPPROTO_UDP;
        let hdrs = IP6_HLEN
            + 8 * exthdrs as usize
            + if frag { 8 } else { 0 }
            + if udp { UDP_HLEN } else { 0 };
        let ll = b::LL_MAX_HEADER as usize;
        let mut skb = Owned::alloc(ll + ETH_HLEN + hdrs + payload.len())?;
        skb.start_at_network_header(ll)?;
        let mut h = KVec::from_elem(0u8, hdrs, GFP_KERNEL)?;
        let payload_len = u16::try_from(hdrs - IP6_HLEN + payload.len()).map_err(|_| EINVAL)?;
        set(&mut h, 0, &[0x60])?;
        set(&mut h, 4, &payload_len.to_be_bytes())?;
        set(&mut h, 7, &[64])?;
        set(&mut h, 8, &[0x20, 0x01, 0x0d, 0xb8, 0, 2])?;
        set(&mut h, 23, &[client])?;
        set(&mut h, 24, &[0x20, 0x01, 0x0d, 0xb8, 0, 1])?;
        set(&mut h, 39, &[1])?;
        // Where the current next header field is, and the next header.
        let (mut nexthdr, mut off) = (6, IP6_HLEN);
        for _ in 0..exthdrs {
            set(&mut h, nexthdr, &[NEXTHDR_DEST])?;
            // PadN, 4 bytes.
            set(&mut h, off + 2, &[1, 4])?;
            nexthdr = off;
            off += 8;
        }
        if frag {
            set(&mut h, nexthdr, &[NEXTHDR_FRAGMENT])?;
            // Offset 0 with IP6_MF (more fragments), identification 1.
            set(&mut h, off + 2, &[0, 1, 0, 0, 0, 1])?;
            nexthdr = off;
            off += 8;
        }
        set(&mut h, nexthdr, &[protocol])?;
        if udp {
            // Wraps as the 16-bit field does.
            let len = (UDP_HLEN + payload.len()) as u16;
            set(&mut h, off, &port.to_be_bytes())?;
            set(&mut h, off + 2, &port.to_be_bytes())?;
            set(&mut h, off + 4, &len.to_be_bytes())?;
        }
        skb.put_data(&h)?;
        skb.put_data(payload)?;
        Ok(Self {
            skb,
            clone: None,
            kind: u32::MAX,
        })
    }

    /// An IPv6 datagram from 2001:db8:3::1 to `group`, from and to port
    /// 8848, hop limit 255, carrying `msg`; with `ah`, behind an
    /// authentication header (12-byte ICV, as transport-mode IPsec puts
    /// it). Process context.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn sync6(group: [u8; 16], ah: bool, msg: &[u8]) -> Result<Self> {
        const AH_LEN: usize = 24;
        let hdrs = IP6_HLEN + if ah { AH_LEN } else { 0 } + UDP_HLEN;
        let ll = b::LL_MAX_HEADER as usize;
        let mut skb = Owned::alloc(ll + ETH_HLEN + hdrs + msg.len())?;
        skb.start_at_network_header(ll)?;
        let mut h = KVec::from_elem(0u8, hdrs, GFP_KERNEL)?;
        let payload_len = u16::try_from(hdrs - IP6_HLEN + msg.len()).map_err(|_| EINVAL)?;
        set(&mut h, 0, &[0x60])?;
        set(&mut h, 4, &payload_len.to_be_bytes())?;
        set(&mut h, 6, &[if ah { IPPROTO_AH } else { IPPROTO_UDP }, 255])?;
        set(&mut h, 8, &[0x20, 0x01, 0x0d, 0xb8, 0, 3])?;
        set(&mut h, 23, &[1])?;
        set(&mut h, 24, &group)?;
        let mut off = IP6_HLEN;
        if ah {
            // Next header, payload length (in 4-byte units, minus 2),
            // reserved, SPI 0x100, sequence number 1, ICV.
            set(&mut h, off, &[IPPROTO_UDP, (AH_LEN / 4 - 2) as u8])?;
            set(&mut h, off + 4, &[0, 0, 1, 0, 0, 0, 0, 1])?;
            off += AH_LEN;
        }
        let len = u16::try_from(UDP_HLEN + msg.len()).map_err(|_| EINVAL)?;
        set(&mut h, off, &8848u16.to_be_bytes())?;
        set(&mut h, off + 2, &8848u16.to_be_bytes())?;
        set(&mut h, off + 4, &len.to_be_bytes())?;
        skb.put_data(&h)?;
        skb.put_data(msg)?;
        Ok(Self {
            skb,
            clone: None,
            kind: u32::MAX,
        })
    }

    /// The packet, as a hook gets it.
    pub(crate) fn skb(&mut self) -> &mut SkBuff {
        self.skb.skb()
    }

    /// Hangs on the packet's frag list a datagram whose network header is
    /// `room` bytes into its buffer, its data after its IPv4 and UDP
    /// headers, as fraglist GRO (`skb_gro_receive_list()`) chains the
    /// datagrams it merges, and marks the packet a fraglist burst. Only
    /// the layout is a burst's: the member's headers are zeros and the GSO
    /// size its length, so it must not be segmented. Not for a packet
    /// built with a clone (`EINVAL`). Process context.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn add_fraglist_member(&mut self, room: usize) -> Result {
        const BODY: usize = 16;
        if self.clone.is_some() {
            return Err(EINVAL);
        }
        let mut m = Owned::alloc(room + IP4_HLEN + UDP_HLEN + BODY)?;
        m.reserve(room)?;
        let at = m.headroom();
        m.headers().network_header = at;
        m.headers().transport_header = at + IP4_HLEN as u16;
        m.put_data(&[0u8; IP4_HLEN + UDP_HLEN + BODY])?;
        let raw = m.raw();
        let head = self.skb.raw();
        // SAFETY: `m` holds its headers (pulled, as GRO pulls them), and
        // both packets are ours alone: the member goes to the end of the
        // head's frag list, which owns it from then on (freeing the head
        // frees it, `skb_release_data()`), and the head's lengths count it
        // as they count a chained datagram (`data_len` too: not linear).
        let len = unsafe {
            kb::skb_pull(raw, (IP4_HLEN + UDP_HLEN) as u32);
            let len = (*raw).len;
            let sh = SkBuff::from_raw(head).shinfo();
            let mut link: *mut *mut kb::sk_buff = core::ptr::addr_of_mut!((*sh).frag_list);
            while !(*link).is_null() {
                link = core::ptr::addr_of_mut!((**link).__bindgen_anon_1.__bindgen_anon_1.next);
            }
            *link = raw;
            core::mem::forget(m);
            (*head).len += len;
            (*head).data_len += len;
            (*sh).gso_type |= (kb::SKB_GSO_FRAGLIST | kb::SKB_GSO_UDP_L4) as u32;
            len
        };
        // The member's length, a few dozen bytes.
        self.set_gso_size(len as u16);
        Ok(())
    }

    /// Leaves the packet without a link-layer header, as a device without
    /// one hands it up (`mac_header` at the network header, `mac_len` 0).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn drop_link_layer_header(&mut self) {
        let net = self.skb.headers().network_header;
        self.skb.headers().mac_header = net;
        // SAFETY: Our packet alone (`Owned`'s invariant); a plain field.
        unsafe { (*self.skb.raw()).mac_len = 0 };
    }

    /// Marks the packet as a burst GRO merged into datagrams of `size`
    /// bytes (the GSO size `udp_gro_receive()` sets), for a hook's check;
    /// it is not segmented.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn set_gso_size(&mut self, size: u16) {
        let skb = self.skb.skb();
        // SAFETY: Our packet alone (`Owned`'s invariant), so its live
        // shared info (`SkBuff::shinfo`) is ours to write; freeing it does
        // not read the GSO size.
        unsafe { (*skb.shinfo()).gso_size = size };
    }

    /// After a path ran: checks the IP and UDP lengths and checksums (of
    /// the kind the packet was built with: a full one stays valid, a zero
    /// one zero, a partial one partial with the new pseudo-header), TTL
    /// 255 after the master's path (`tx`), the header offsets, that the
    /// clone still holds `msg`; copies the UDP payload to `out` and
    /// returns its length. `EPROTO` if a header is wrong, `ENOSPC` if
    /// `out` is too small.
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn check(&mut self, tx: bool, msg: &[u8], out: &mut [u8]) -> Result<usize> {
        let kind = self.kind;
        let at = usize::from(self.skb.headroom());
        let h = self.skb.headers();
        let (mac, net, th) = (h.mac_header, h.network_header, h.transport_header);
        // SAFETY: `headers` is valid to read (see `Owned::headers`).
        let (csum_start, csum_offset) = unsafe {
            let c = h.__bindgen_anon_1.__bindgen_anon_1;
            (c.csum_start, c.csum_offset)
        };
        let raw = self.skb.raw();
        // SAFETY: A live packet we own.
        let (len, data_len, mac_len) = unsafe { ((*raw).len, (*raw).data_len, (*raw).mac_len) };
        let len = len as usize;
        // SAFETY: A live packet we own.
        let end = unsafe { (*raw).end } as usize;
        // The backup moved the headers, not the entries: offsets follow.
        if data_len != 0
            || usize::from(net) != at
            || usize::from(th) != at + IP4_HLEN
            || usize::from(mac) + usize::from(mac_len) != at
            || usize::from(mac) + ETH_HLEN > end
        {
            return Err(EPROTO);
        }
        // SAFETY: The packet is linear (checked): its `len` bytes from
        // `data` are in its buffer, as are the `ETH_HLEN` bytes at the
        // link-layer header's offset from `head` (checked against `end`).
        let (lin, mac_hdr) = unsafe {
            (
                core::slice::from_raw_parts((*raw).data, len),
                core::slice::from_raw_parts((*raw).head.add(usize::from(mac)), ETH_HLEN),
            )
        };
        if mac_hdr != TEST_MAC {
            return Err(EPROTO);
        }
        let iph = lin.get(..IP4_HLEN).ok_or(EPROTO)?;
        let uh = lin.get(IP4_HLEN..IP4_HLEN + UDP_HLEN).ok_or(EPROTO)?;
        let (saddr, daddr) = (addr4(&iph[12..]), addr4(&iph[16..]));
        let ulen = usize::from(u16::from_be_bytes([uh[4], uh[5]]));
        let check = u16::from_ne_bytes([uh[6], uh[7]]);
        let ihl = u32::from(iph[0] & 0xf);
        if 4 * ihl as usize > len {
            return Err(EPROTO);
        }
        // SAFETY: The packet's linear part holds the `ihl` words of the
        // header (checked).
        let iph_sum = unsafe { b::ipvsa_ip_fast_csum(lin.as_ptr().cast(), ihl) };
        // Headers must describe the new datagram exactly.
        if usize::from(u16::from_be_bytes([iph[2], iph[3]])) != len
            || iph_sum != 0
            || IP4_HLEN + ulen != len
        {
            return Err(EPROTO);
        }
        // The UDP checksum kept its kind, and is right for the new datagram.
        let ulen32 = ulen as u32;
        if kind & CSUM_ZERO != 0 {
            if check != 0 {
                return Err(EPROTO);
            }
        } else if kind & CSUM_PARTIAL != 0 {
            if self.skb.skb().ip_summed() != super::skb::CHECKSUM_PARTIAL
                || csum_start != th
                || usize::from(csum_offset) != UDP_CHECK
                || check != !tcpudp_magic(saddr, daddr, ulen32, 0)
            {
                return Err(EPROTO);
            }
        } else {
            let n = c_int::try_from(ulen).map_err(|_| EPROTO)?;
            // SAFETY: The range is inside the packet (`IP4_HLEN + ulen`
            // is its length, checked).
            let sum = unsafe { kb::skb_checksum(raw, IP4_HLEN as c_int, n, 0) };
            if check == 0 || tcpudp_magic(saddr, daddr, ulen32, sum) != 0 {
                return Err(EPROTO);
            }
        }
        if tx && iph[8] != 255 {
            return Err(EPROTO);
        }
        // A clone shares nothing we wrote: it still holds the original.
        if let Some(clone) = &self.clone {
            let want = IP4_HLEN + UDP_HLEN + msg.len();
            let c = clone.raw();
            // SAFETY: A live packet we own; its first `headlen` bytes from
            // `data` are its linear part.
            let (clen, orig) = unsafe {
                let headlen = (*c).len.saturating_sub((*c).data_len) as usize;
                (
                    (*c).len as usize,
                    core::slice::from_raw_parts((*c).data, headlen),
                )
            };
            if clen != want || orig.get(IP4_HLEN + UDP_HLEN..want) != Some(msg) {
                return Err(EPROTO);
            }
        }
        let n = ulen.checked_sub(UDP_HLEN).ok_or(ENOSPC)?;
        let dst = out.get_mut(..n).ok_or(ENOSPC)?;
        dst.copy_from_slice(
            lin.get(IP4_HLEN + UDP_HLEN..ulen + IP4_HLEN)
                .ok_or(EPROTO)?,
        );
        Ok(n)
    }
}

/// A UDP socket this module created, released when dropped.
///
/// # Invariants
///
/// `0` is a socket from `sock_create()` or `sock_create_kern()`, ours.
#[cfg(CONFIG_KUNIT)]
struct OwnedSock(NonNull<kb::socket>);

#[cfg(CONFIG_KUNIT)]
impl Drop for OwnedSock {
    fn drop(&mut self) {
        // SAFETY: Ours (type invariant), released once.
        unsafe { kb::sock_release(self.0.as_ptr()) };
    }
}

/// A test datagram sent on a UDP socket of some kind (KUnit): for the
/// master's check of IPVS's own sockets. Both freed when dropped.
///
/// # Invariants
///
/// `skb->sk` is `sock`'s socket, borrowed for the check only (not charged
/// to the socket); it is cleared before either is freed.
#[cfg(CONFIG_KUNIT)]
pub(crate) struct TestSockSkb {
    // Dropped in this order: the packet before the socket.
    skb: Owned,
    _sock: OwnedSock,
}

#[cfg(CONFIG_KUNIT)]
impl TestSockSkb {
    /// A datagram to 127.0.0.1:8848 (the "group" and port, which need no
    /// route) on a UDP socket of `kind` (`SOCK_*`) in the initial
    /// namespace. Process context.
    pub(crate) fn new(kind: u32) -> Result<Self> {
        let mut sock: *mut kb::socket = core::ptr::null_mut();
        let (af, ty, proto) = (
            kb::AF_INET as c_int,
            kb::sock_type_SOCK_DGRAM as c_int,
            c_int::from(IPPROTO_UDP),
        );
        // SAFETY: Process context; `sock` is valid for a write. The initial
        // namespace lives forever.
        let ret = unsafe {
            if kind == SOCK_USER {
                kb::sock_create(af, ty, proto, &mut sock)
            } else {
                kb::sock_create_kern(
                    core::ptr::addr_of_mut!(kb::init_net),
                    af,
                    ty,
                    proto,
                    &mut sock,
                )
            }
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: A new socket, ours.
        let owned = OwnedSock(NonNull::new(sock).ok_or(ENOMEM)?);
        let loopback = kb::INADDR_LOOPBACK;
        let mut sin = kb::sockaddr_in {
            sin_family: kb::AF_INET as u16,
            sin_port: if kind == SOCK_OTHER_PORT {
                8849u16
            } else {
                8848
            }
            .to_be(),
            ..Default::default()
        };
        sin.sin_addr.s_addr = if kind == SOCK_OTHER_GROUP {
            loopback + 1
        } else {
            loopback
        }
        .to_be();
        if kind != SOCK_UNCONNECTED {
            // SAFETY: A socket of ours; `sin` is a `sockaddr_in` of the
            // length passed, read during the call.
            let ret = unsafe {
                kb::kernel_connect(
                    owned.0.as_ptr(),
                    core::ptr::addr_of_mut!(sin).cast(),
                    core::mem::size_of::<kb::sockaddr_in>() as c_int,
                    0,
                )
            };
            kernel::error::to_result(ret)?;
        }
        let lo = loopback.to_be_bytes();
        let d = Ip4 {
            saddr: lo,
            daddr: lo,
            ttl: 255,
            protocol: IPPROTO_UDP,
            sport: 40000,
            dport: 8848,
            udp_len: (UDP_HLEN + 8) as u16,
            paged: false,
            udp_csum: Csum::Zero,
        };
        let skb = Owned::ip4(&d, &[0, 150, 0, 8, 0, 1, 0, 0])?;
        // SAFETY: Both ours; the packet only points to the socket, which
        // outlives that (cleared in `drop`).
        unsafe { (*skb.raw()).sk = (*owned.0.as_ptr()).sk };
        // INVARIANT: `skb->sk` is the socket's, cleared in `drop`.
        Ok(Self { skb, _sock: owned })
    }

    /// The packet, as a hook gets it.
    pub(crate) fn skb(&mut self) -> &mut SkBuff {
        self.skb.skb()
    }
}

#[cfg(CONFIG_KUNIT)]
impl Drop for TestSockSkb {
    fn drop(&mut self) {
        // SAFETY: A packet we own; it must not release a socket reference
        // it never took.
        unsafe { (*self.skb.raw()).sk = core::ptr::null_mut() };
    }
}
