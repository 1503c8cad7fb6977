// SPDX-License-Identifier: GPL-2.0

//! Authenticated sync in each network namespace: the netfilter hooks on the
//! master's and the backup's sync datagrams, the socket options that
//! configure it, and `/proc/net/ip_vs_sync_auth`.
//!
//! IPVS exports none of its sync code, so the module works on the wire:
//!
//! - master, `NF_INET_LOCAL_OUT`: a datagram of one of IPVS's own sync
//!   sockets (a kernel socket connected to the master's group and one of
//!   its ports, sending from a kernel thread) gets the auth header and TTL
//!   (hop limit) 255;
//! - backup, `NF_INET_LOCAL_IN`: a datagram to the backup's group and any
//!   port IPVS could receive sync on is verified and stripped, so that IPVS
//!   receives the byte-identical plaintext message, or dropped and counted.
//!
//! Both work whenever a key is set, whether or not IPVS's daemon state says
//! the daemon runs: IPVS opens its sockets before it sets that state and
//! clears it before its threads stop, and no datagram may pass unverified
//! or unsigned in between. What to do with a message is decided by
//! [`NetState`]; this file locates headers, makes the packet writable and
//! fixes lengths and checksums. It has no `unsafe`: the kernel is reached
//! through [`crate::kapi`].

use crate::kapi::ipvs::{Daemon, DaemonConfig, DaemonsLocked, Group, MAX_THREADS};
use crate::kapi::net::{Defrag6, Net, PernetData, PernetId};
use crate::kapi::netfilter::{
    HookOps, HookSpec, HookState, Hooks, NetHooks, Verdict, LOCAL_IN, LOCAL_OUT, PF_IPV4, PF_IPV6,
    PRI_MANGLE, PRI_NAT_SRC,
};
use crate::kapi::procfs::{ProcFile, ProcShow, Readers, Show};
use crate::kapi::rcu::RcuHeld;
use crate::kapi::secret::Secret;
use crate::kapi::skb::{SkBuff, Writable, CHECKSUM_PARTIAL};
use crate::kapi::sockopt::{GetBuf, SetArg, Sockopts};
use crate::kapi::sys::uptime_secs;
use crate::kapi::sysctl::{self, IntKnob, IntKnobs, NetSysctl};
use crate::proto::addr::{IpAddr, Ipv4, Ipv6};
use crate::proto::csum;
use crate::proto::senders::{Source, DROP_NAMES};
use crate::shim;
use crate::sync_state::{NetState, Rollout, RxConfig, TxConfig, COUNTER_NAMES};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::seq_file::{seq_print, SeqFile};
use kernel::sync::atomic::Atomic;
use kernel::sync::{new_mutex, Arc, Mutex};

/// Which of [`SyncNet`]'s hooks.
const OUT: usize = 0;
/// Which of [`SyncNet`]'s hooks.
const IN: usize = 1;

/// The UDP header's length.
const UDP_HDR: usize = 8;
/// The IPv6 header's length.
const IPV6_HDR: usize = 40;
/// IPv6's next header value of a fragment header.
const NEXTHDR_FRAGMENT: u8 = 44;
/// IPv6 next header: authentication header (AH).
const NEXTHDR_AUTH: u8 = 51;
/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;

/// Bytes at the front of the UDP payload whose sum the paths take before
/// and after the change. The master changes at most the first 8 (the IPVS
/// header) and inserts its auth header after them; the backup changes at
/// most the first 32 (auth header and IPVS header) and the plaintext then
/// starts `off` bytes in. Every other byte stays, or moves by an even
/// number of bytes, so it adds the same to the sum.
const TX_CSUM_FRONT: usize = 8;
/// See [`TX_CSUM_FRONT`].
const RX_CSUM_FRONT: usize = 32;
/// Room the master needs for either auth header.
const AUTH_HDR_MAX: usize = shim::IPVSA_AUTH_HDR_MAX as usize;
/// Room after a message that lets the ICV input be one update.
const MAC_ROOM: usize = shim::IPVSA_MAC_ROOM as usize;

/// Where a sync datagram's UDP header is.
#[derive(Debug, Clone, Copy)]
struct Pkt {
    /// Offset of the network header from the data pointer.
    nh: usize,
    /// Offset of the UDP header from the data pointer.
    thoff: usize,
    /// Destination port minus the base port (the master's sync thread).
    stream: u32,
    /// An IPv6 datagram.
    v6: bool,
}

/// What [`classify`] found.
enum Match {
    /// Not for the sync daemon: leave alone.
    NotSync,
    /// A sync datagram.
    Sync(Pkt),
    /// Addressed to the sync daemon, unusable.
    Bad,
}

/// Is this datagram addressed to `cfg`'s group and a port from its base
/// port to base + `threads` - 1? `cfg` is read without IPVS's mutex: a
/// datagram racing with a daemon start or stop may be classified with the
/// old or the new settings, never with a torn field. IPVS writes the
/// configuration before it opens its sockets and keeps it after it closes
/// them.
fn classify(skb: &SkBuff, pf: u8, cfg: &DaemonConfig, threads: u32) -> Match {
    let Some(nh) = skb.network_offset() else {
        return Match::NotSync;
    };
    let (thoff, v6) = match (pf, cfg.group) {
        (PF_IPV4, Group::V4(group)) => {
            let mut b = [0u8; 20];
            let Some(iph) = skb.bytes(nh, &mut b) else {
                return Match::NotSync;
            };
            if iph.get(16..20) != Some(&group[..]) || iph.get(9) != Some(&IPPROTO_UDP) {
                return Match::NotSync;
            }
            // LOCAL_IN runs after reassembly, LOCAL_OUT before fragmentation.
            let frag = u16::from_be_bytes([iph[6], iph[7]]);
            if frag & 0x3fff != 0 {
                return Match::Bad;
            }
            (nh + usize::from(iph[0] & 0x0f) * 4, false)
        }
        (PF_IPV6, Group::V6(group)) => {
            let mut b = [0u8; 16];
            if skb.bytes(nh + 24, &mut b) != Some(&group[..]) {
                return Match::NotSync;
            }
            // Fragments to the sync group never reach UDP unverified: IPv6
            // defragmentation is on while a key is set, so a fragment here
            // is one that could not be reassembled.
            if skb.ipv6_find_hdr(NEXTHDR_FRAGMENT).is_ok() {
                return Match::Bad;
            }
            // Behind AH (transport-mode IPsec between the directors), which
            // ipv6_find_hdr() walks past: the datagram is IPsec's until AH
            // is verified and removed, and then passes LOCAL_IN again
            // (xfrm6_transport_finish() runs the hooks on it), where it is
            // checked. Changing it here would break AH's ICV; on the master,
            // LOCAL_OUT sees it again with AH added, signed already.
            if skb.ipv6_find_hdr(NEXTHDR_AUTH).is_ok() {
                return Match::NotSync;
            }
            match skb.ipv6_find_hdr(IPPROTO_UDP) {
                Ok(off) => (off, true),
                Err(_) => return Match::NotSync,
            }
        }
        _ => return Match::NotSync,
    };
    let mut b = [0u8; 2];
    let Some(dport) = skb.bytes(thoff + 2, &mut b) else {
        return Match::Bad;
    };
    let port = u16::from_be_bytes([dport[0], dport[1]]);
    let Some(stream) = port.checked_sub(cfg.port).map(u32::from) else {
        return Match::NotSync;
    };
    if stream >= threads {
        return Match::NotSync;
    }
    Match::Sync(Pkt {
        nh,
        thoff,
        stream,
        v6,
    })
}

/// Master: is `skb` a datagram of one of IPVS's own sync sockets? Those are
/// kernel sockets, connected to the master's group and one of its ports,
/// sending from a kernel thread (`make_send_sock()` in `ip_vs_sync.c`).
/// Any other sender, a user process or another kernel user of UDP that a
/// user might drive, is never signed: signing it would hand out the key.
fn own_sync_sock(skb: &SkBuff, pkt: &Pkt) -> bool {
    let Some(sk) = skb.full_sock() else {
        return false;
    };
    if !sk.kernel_thread_kernel_socket() || !sk.connected_udp() {
        return false;
    }
    // Where the socket is connected is where IPVS's sync goes.
    let mut b = [0u8; 2];
    if skb.bytes(pkt.thoff + 2, &mut b).map(|p| [p[0], p[1]]) != Some(sk.dport_be()) {
        return false;
    }
    if pkt.v6 {
        let mut a = [0u8; 16];
        sk.daddr_v6()
            .is_some_and(|d| skb.bytes(pkt.nh + 24, &mut a) == Some(&d[..]))
    } else {
        let mut a = [0u8; 4];
        sk.daddr_v4()
            .is_some_and(|d| skb.bytes(pkt.nh + 16, &mut a) == Some(&d[..]))
    }
}

/// Makes the whole datagram linear and writable; returns it with the UDP
/// length.
fn writable<'a>(skb: &'a mut SkBuff, pkt: &Pkt) -> Option<(Writable<'a>, usize)> {
    let len = skb.len();
    let w = skb.make_writable(len).ok()?;
    let mut b = [0u8; 2];
    let ulen = usize::from(u16::from_be_bytes(
        w.bytes(pkt.thoff + 4, &mut b)?.try_into().ok()?,
    ));
    if ulen < UDP_HDR || pkt.thoff + ulen > w.len() {
        return None;
    }
    Some((w, ulen))
}

/// The longest UDP payload a datagram whose UDP header is at `pkt.thoff`
/// can carry: the IPv4 total length and the IPv6 payload length (which
/// counts extension headers) are 16 bits, as is the UDP length.
fn max_payload(pkt: &Pkt) -> usize {
    let mut hdrs = pkt.thoff - pkt.nh;
    if pkt.v6 {
        hdrs = hdrs.saturating_sub(IPV6_HDR);
    }
    0xffff - hdrs.min(0xffff - UDP_HDR) - UDP_HDR
}

/// Reads a big-endian 16-bit field.
fn get16(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .map_or(0, |s| u16::from_be_bytes([s[0], s[1]]))
}

/// Writes a big-endian 16-bit field.
fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// After the payload changed length: sets the UDP and IP lengths (and TTL
/// 255 if `set_ttl`) and the IP header checksum for a datagram of `ulen`
/// UDP bytes ending the packet, and updates the UDP checksum instead of
/// summing the datagram again: `diff` is the difference of the payload's
/// sum (see [`TX_CSUM_FRONT`]). A partial checksum (summed later by the
/// device or the stack) gets the new pseudo-header; a full one is updated
/// for the payload and the two length fields, so it stays valid exactly if
/// it was; an IPv4 datagram without a checksum (0) stays without. An IPv6
/// datagram with a zero checksum (invalid) gets a full one.
fn finish(skb: &mut Writable<'_>, pkt: &Pkt, ulen: usize, set_ttl: bool, diff: u32) -> Option<()> {
    let len = skb.len();
    let partial = skb.ip_summed() == CHECKSUM_PARTIAL;
    let d = skb.linear_mut(len)?;
    let (nh, th) = (pkt.nh, pkt.thoff);
    let new_len = u16::try_from(ulen).ok()?;
    let old_len = get16(d, th + 4);
    put16(d, th + 4, new_len);
    if pkt.v6 {
        if set_ttl {
            *d.get_mut(nh + 7)? = 255;
        }
        put16(d, nh + 4, u16::try_from(len - nh - IPV6_HDR).ok()?);
    } else {
        if set_ttl {
            *d.get_mut(nh + 8)? = 255;
        }
        put16(d, nh + 2, u16::try_from(len - nh).ok()?);
        let ihl = usize::from(d.get(nh)? & 0x0f) * 4;
        let check = csum::ipv4_header(d.get(nh..nh + ihl)?);
        put16(d, nh + 10, check);
    }
    // The pseudo-header's sum, needed only when the checksum is summed
    // from it rather than updated.
    let pseudo = |d: &[u8]| -> Option<u32> {
        if pkt.v6 {
            let mut s = [0u8; 16];
            let mut t = [0u8; 16];
            s.copy_from_slice(d.get(nh + 8..nh + 24)?);
            t.copy_from_slice(d.get(nh + 24..nh + 40)?);
            Some(csum::pseudo_v6(s, t, u32::from(new_len)))
        } else {
            let mut s = [0u8; 4];
            let mut t = [0u8; 4];
            s.copy_from_slice(d.get(nh + 12..nh + 16)?);
            t.copy_from_slice(d.get(nh + 16..nh + 20)?);
            Some(csum::pseudo_v4(s, t, new_len))
        }
    };
    let check = get16(d, th + 6);
    let new = if partial {
        csum::fold(pseudo(d)?)
    } else if check == 0 && !pkt.v6 {
        return Some(());
    } else if check == 0 {
        put16(d, th + 6, 0);
        csum::finish(csum::add_bytes(pseudo(d)?, d.get(th..th + ulen)?))
    } else {
        // The length is in the UDP header and in the pseudo-header.
        let c = csum::replace16(check, old_len, new_len);
        csum::replace_by_diff(csum::replace16(c, old_len, new_len), diff)
    };
    put16(d, th + 6, if new == 0 && !partial { 0xffff } else { new });
    Some(())
}

/// The sync half's knobs under `/proc/sys/net/ipv4/vs/`.
pub(crate) struct SyncKnobs {
    /// `sync_auth_rollout`: [`Rollout`] (0 enforce, 1 permissive, 2
    /// receive-only, 3 both-formats).
    rollout: Atomic<i32>,
}

impl IntKnobs for SyncKnobs {
    const PATH: &'static CStr = c"net/ipv4/vs";
    const KNOBS: &'static [IntKnob] = &[IntKnob {
        name: c"sync_auth_rollout",
        min: 0,
        max: 3,
    }];

    fn knob(&self, _i: usize) -> &Atomic<i32> {
        &self.rollout
    }
}

/// Authenticated sync state and registrations of one network namespace.
#[pin_data(PinnedDrop)]
pub(crate) struct SyncNet {
    /// Dropped first (hooks in flight were waited for before the data was
    /// dropped: see `PernetData::of`).
    hooks: NetHooks<SyncNet>,
    proc_file: ProcFile,
    /// `net.ipv4.vs.sync_auth_rollout`; root of the namespace sets it, no
    /// packet does.
    knobs: NetSysctl<SyncKnobs>,
    /// Serialises this namespace's configuration changes (per namespace,
    /// so that a key change that waits for an RCU grace period never holds
    /// up another namespace's); holds IPv6 defragmentation while a key is
    /// set (IPv6 sync fragments must be reassembled before `LOCAL_IN`).
    #[pin]
    cfg: Mutex<Option<Defrag6>>,
    #[pin]
    state: NetState,
}

// `#[pinned_drop]` expands to an `unsafe impl` (the `pin-init` crate's
// contract, kept by the macro); the body is safe code.
#[allow(unsafe_code)]
#[pinned_drop]
impl PinnedDrop for SyncNet {
    fn drop(self: Pin<&mut Self>) {
        // IPVS keeps running: a keyed namespace's daemons fall back to
        // plaintext, which its keyed peers drop. Say so once per namespace.
        if crate::unloading() && self.state.keyed() {
            pr_warn!(
                "unloaded while a sync key was set in a network namespace: its IPVS sync is plaintext until the module is loaded and the key set again\n"
            );
        }
    }
}

/// Where the kernel keeps [`SyncNet`]'s slot.
static SYNC_NET_ID: PernetId = PernetId::new();

/// [`SyncNet`]'s hooks.
static HOOK_OPS: [HookOps<SyncNet>; SyncNet::HOOKS.len()] = HookOps::all();

impl PernetData for SyncNet {
    fn id() -> &'static PernetId {
        &SYNC_NET_ID
    }

    fn new(net: Net<'_>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            state <- NetState::new(),
            cfg <- new_mutex!(None, "ip_vs_sync_auth_cfg"),
            knobs: NetSysctl::new(
                net,
                Arc::new(
                    SyncKnobs {
                        rollout: Atomic::new(0),
                    },
                    GFP_KERNEL
                )?
            )?,
            proc_file: ProcFile::single::<SyncNet>(net, c"ip_vs_sync_auth", Readers::All)?,
            hooks: NetHooks::new(net, &HOOK_OPS)?,
        }? Error)
    }
}

impl Hooks for SyncNet {
    const HOOKS: &'static [HookSpec] = &[
        // LOCAL_OUT: after filter and security, on the message as IPVS
        // built it.
        HookSpec {
            pf: PF_IPV4,
            hooknum: LOCAL_OUT,
            priority: PRI_NAT_SRC + 1,
            which: OUT,
        },
        // LOCAL_IN: before the filter table, so firewall rules see the
        // plaintext.
        HookSpec {
            pf: PF_IPV4,
            hooknum: LOCAL_IN,
            priority: PRI_MANGLE + 1,
            which: IN,
        },
        HookSpec {
            pf: PF_IPV6,
            hooknum: LOCAL_OUT,
            priority: PRI_NAT_SRC + 1,
            which: OUT,
        },
        HookSpec {
            pf: PF_IPV6,
            hooknum: LOCAL_IN,
            priority: PRI_MANGLE + 1,
            which: IN,
        },
    ];

    fn hook(&self, which: usize, skb: &mut SkBuff, state: &HookState<'_>) -> Verdict {
        if !self.state.keyed() {
            return Verdict::Accept;
        }
        let Some(ipvs) = state.net().ipvs() else {
            return Verdict::Accept;
        };
        if which == OUT {
            // At LOCAL_OUT the packet's socket may be a request or timewait
            // mini-socket: only a full kernel socket can be IPVS's.
            let Some(sk) = skb.full_sock() else {
                return Verdict::Accept;
            };
            if !sk.kernel_thread_kernel_socket() {
                return Verdict::Accept;
            }
            let cfg = ipvs.daemon(Daemon::Master);
            let pkt = match classify(skb, state.pf(), &cfg, ipvs.threads()) {
                Match::Sync(pkt) if own_sync_sock(skb, &pkt) => pkt,
                _ => return Verdict::Accept,
            };
            let tx = TxConfig {
                version: ipvs.sync_version(),
                syncid: cfg.syncid,
                max_len: max_payload(&pkt),
                rollout: self.rollout(),
            };
            // A message the master cannot sign is dropped quietly: with a
            // plain drop IPVS's sendmsg() would fail and IPVS log an error
            // for every message.
            return match transmit(&self.state, state.rcu(), skb, &pkt, &tx) {
                true => Verdict::Accept,
                false => Verdict::DropQuietly,
            };
        }
        let cfg = ipvs.daemon(Daemon::Backup);
        let pkt = match classify(skb, state.pf(), &cfg, MAX_THREADS) {
            Match::NotSync => return Verdict::Accept,
            Match::Bad => {
                self.state.count(shim::IPVSA_CNT_RX_MALFORMED);
                return Verdict::Drop;
            }
            Match::Sync(pkt) => pkt,
        };
        if skb.is_gso() {
            return Verdict::Resegment;
        }
        let rx = RxConfig {
            maxlen: usize::from(cfg.maxlen),
            threads: ipvs.threads(),
            rollout: self.rollout(),
            src: source(skb, &pkt),
        };
        if receive(&self.state, state.rcu(), skb, &pkt, &rx) {
            Verdict::Accept
        } else {
            Verdict::Drop
        }
    }

    fn resegmented(&self, ok: bool) {
        self.state.count(if ok {
            shim::IPVSA_CNT_RX_GRO_SPLIT
        } else {
            shim::IPVSA_CNT_RX_MALFORMED
        });
    }
}

/// Master: authenticates one classified sync datagram in place (auth
/// header, TTL 255, lengths, checksum). Returns whether it may go.
fn transmit(
    state: &NetState,
    rcu: RcuHeld<'_>,
    skb: &mut SkBuff,
    pkt: &Pkt,
    tx: &TxConfig,
) -> bool {
    match try_transmit(state, rcu, skb, pkt, tx) {
        Some(ok) => ok,
        None => {
            state.count(shim::IPVSA_CNT_TX_ERROR);
            false
        }
    }
}

/// [`transmit`]; `None` for a packet counted as `tx_error` (not a
/// complete datagram, no memory).
fn try_transmit(
    state: &NetState,
    rcu: RcuHeld<'_>,
    skb: &mut SkBuff,
    pkt: &Pkt,
    tx: &TxConfig,
) -> Option<bool> {
    let (mut skb, ulen) = writable(skb, pkt)?;
    if pkt.thoff + ulen != skb.len() {
        return None;
    }
    // Room for either header (seed: 16 bytes, extended: 24), and if the
    // tailroom has it (IPVS's buffers do), for the one-update MAC too.
    if skb.own_tailroom() < AUTH_HDR_MAX {
        skb.grow_tailroom(AUTH_HDR_MAX).ok()?;
    }
    let room = skb.own_tailroom().min(AUTH_HDR_MAX + MAC_ROOM);
    skb.put(room).ok()?;
    let start = pkt.thoff + UDP_HDR;
    let plen = ulen - UDP_HDR;
    let front = plen.min(TX_CSUM_FRONT);
    let total = skb.len();
    let buf = skb.linear_mut(total)?.get_mut(start..)?;
    let old_sum = csum::add_bytes(0, buf.get(..front)?);
    let res = state.transmit_in(rcu, buf, plen, pkt.stream as usize, tx);
    let n = match res {
        // Counted by the state: fail closed (the packet is dropped as it
        // is).
        Err(_) => return Some(false),
        Ok(n) if n > plen + room || n < plen => return None,
        Ok(n) => n,
    };
    let new_sum = csum::add_bytes(0, buf.get(..front + n - plen)?);
    skb.trim(start + n).ok()?;
    if n == plen {
        // No key any more: as IPVS built it.
        return Some(true);
    }
    // The auth header went in after the first `front` bytes or fewer.
    finish(
        &mut skb,
        pkt,
        n + UDP_HDR,
        true,
        csum::sub(new_sum, old_sum),
    )?;
    Some(true)
}

/// Where a classified datagram comes from: its source address and port
/// (unspecified if they cannot be read).
fn source(skb: &SkBuff, pkt: &Pkt) -> Source {
    /// `N` bytes at `off`, zeros if they cannot be read.
    fn read<const N: usize>(skb: &SkBuff, off: usize) -> [u8; N] {
        let (mut buf, mut out) = ([0u8; N], [0u8; N]);
        if let Some(b) = skb.bytes(off, &mut buf) {
            for (d, s) in out.iter_mut().zip(b) {
                *d = *s;
            }
        }
        out
    }
    let addr = if pkt.v6 {
        IpAddr::V6(read(skb, pkt.nh + 8))
    } else {
        IpAddr::V4(read(skb, pkt.nh + 12))
    };
    Source {
        addr,
        port: u16::from_be_bytes(read(skb, pkt.thoff)),
    }
}

/// Backup: verifies and strips one classified sync datagram in place.
/// Returns whether it may go on.
fn receive(state: &NetState, rcu: RcuHeld<'_>, skb: &mut SkBuff, pkt: &Pkt, rx: &RxConfig) -> bool {
    match try_receive(state, rcu, skb, pkt, rx) {
        Some(ok) => ok,
        None => {
            state.drop_from(shim::IPVSA_CNT_RX_MALFORMED, &rx.src);
            false
        }
    }
}

/// [`receive`]; `None` for a malformed datagram.
fn try_receive(
    state: &NetState,
    rcu: RcuHeld<'_>,
    skb: &mut SkBuff,
    pkt: &Pkt,
    rx: &RxConfig,
) -> Option<bool> {
    let (mut skb, ulen) = writable(skb, pkt)?;
    let ttl = skb.byte(pkt.nh + if pkt.v6 { 7 } else { 8 })?;
    let start = pkt.thoff + UDP_HDR;
    let plen = ulen - UDP_HDR;
    // Scratch after the datagram for the one-update MAC: link padding,
    // and the tailroom unless the data is shared with a clone.
    let padding = skb.len() - pkt.thoff - ulen;
    let room = (padding + skb.own_tailroom()).min(MAC_ROOM);
    let front = plen.min(RX_CSUM_FRONT);
    let (old_sum, off) = {
        let buf = skb
            .linear_and_tail_mut(start + plen + room)?
            .get_mut(start..)?;
        let old_sum = csum::add_bytes(0, buf.get(..front)?);
        match state.receive_in(rcu, buf, plen, ttl, rx) {
            // Counted by the state.
            Err(_) => return Some(false),
            // No key any more: untouched.
            Ok(0) => return Some(true),
            Ok(off) if off >= front => return None,
            Ok(off) => (old_sum, off),
        }
    };
    // The plaintext starts `off` bytes into the payload: the bytes
    // before it go.
    let new_sum = {
        let d = skb.linear_mut(start + front)?;
        csum::add_bytes(0, d.get(start + off..start + front)?)
    };
    // Move the network and UDP headers up by as much and pull, as IPsec
    // transport mode removes an ESP header, so that the entries stay
    // where they are. Also drops any bytes after the datagram (link
    // padding).
    skb.trim(pkt.thoff + ulen).ok()?;
    skb.remove_after_headers(start, off).ok()?;
    let ulen = ulen - off;
    if skb.ip_summed() == CHECKSUM_PARTIAL {
        // From a local sender: the checksum is still to be summed.
        skb.move_csum_start(off)?;
        finish(&mut skb, pkt, ulen, false, 0)?;
        return Some(true);
    }
    finish(&mut skb, pkt, ulen, false, csum::sub(new_sum, old_sum))?;
    // The ICV covered every byte of the payload; the checksum, updated
    // above, is still right if it was (IPVS's socket does not check it).
    skb.set_csum_unnecessary();
    Some(true)
}

impl SyncNet {
    /// The namespace's rollout mode now.
    fn rollout(&self) -> Rollout {
        Rollout::from_knob(sysctl::read(&self.knobs.data().rollout))
    }

    /// Whether every sync message IPVS of `net` took was verified, so the
    /// gate may trust synced connections: a key is installed, the rollout
    /// mode takes no plaintext (enforce or both-formats), and the
    /// namespace is not marked [`NetState::unverified`] (a connection
    /// injected in plaintext would stay in IPVS's table, indistinguishable
    /// from a verified one). `keyed()` is read first, an acquire: a key
    /// published after [`Self::before_first_key`] marked the namespace
    /// comes with the mark.
    pub(crate) fn authenticated(net: Net<'_>) -> bool {
        SyncNet::of(net)
            .is_some_and(|s| s.state.keyed() && !s.rollout().takes_plain() && !s.state.unverified())
    }

    /// Before a key is installed (under `cfg`): if the namespace has no
    /// key yet while a backup daemon has been started in it (IPVS keeps
    /// a stopped daemon's configuration), IPVS may already hold
    /// plaintext-synced connections. Marked before the key is published,
    /// so that no reader of [`Self::authenticated`] sees the key without
    /// the mark (the key's publication orders the two); a key that then
    /// fails to install leaves the mark, which only fails closed. Returns
    /// IPVS's daemon lock, which the caller holds until the key is
    /// published: a backup daemon started between this check and the
    /// key would take plaintext unmarked.
    /// Only for a first key: `keyed()` cannot change while the caller
    /// holds `cfg`, and a namespace already keyed is past the check, so
    /// key rotations never wait on (or hold up) IPVS's daemon start/stop.
    fn before_first_key<'a>(&self, net: Net<'a>) -> Option<DaemonsLocked<'a>> {
        if self.state.keyed() {
            return None;
        }
        let ipvs = net.ipvs()?;
        let daemons = ipvs.lock_daemons();
        if ipvs.daemon(Daemon::Backup).group != Group::None {
            self.state.mark_unverified();
        }
        Some(daemons)
    }

    /// `setsockopt(IPVSA_SO_SYNC_AUTH)`: installs (1 to 64 bytes) or clears
    /// (0 bytes) the key.
    fn set_key(&self, net: Net<'_>, arg: &SetArg<'_>) -> Result {
        let mut key = Secret::<{ shim::IPVSA_KEY_MAX as usize }>::new();
        arg.read(key.fill(arg.len()).ok_or(EINVAL)?)?;
        self.key_command(net, !key.bytes().is_empty(), || {
            self.state.set_key(key.bytes())
        })
    }

    /// Runs a key command `cmd` under `cfg`, `adds` if it may install a
    /// key: IPv6 defragmentation is turned on before such a command (and
    /// IPVS's daemons checked, [`Self::before_first_key`]), and off again
    /// after any command that left no key, whether it cleared the last one
    /// or a first key was refused.
    fn key_command(&self, net: Net<'_>, adds: bool, cmd: impl FnOnce() -> Result) -> Result {
        let mut defrag6 = self.cfg.lock();
        if adds && defrag6.is_none() {
            *defrag6 = Some(net.enable_defrag6()?);
        }
        let daemons = if adds {
            self.before_first_key(net)
        } else {
            None
        };
        let r = cmd();
        drop(daemons);
        if !self.state.keyed() {
            *defrag6 = None;
        }
        r
    }

    /// `setsockopt(IPVSA_SO_SYNC_EXT)`: one extended-format command.
    fn set_ext(&self, net: Net<'_>, arg: &SetArg<'_>) -> Result {
        const CMD: usize = size_of::<shim::ipvsa_ext_cmd>();
        const KEY: usize = 12;
        if arg.len() != CMD {
            return Err(EINVAL);
        }
        let mut raw = Secret::<CMD>::new();
        arg.read(raw.fill(CMD).ok_or(EINVAL)?)?;
        let b = raw.bytes();
        let word = |i: usize| {
            b.get(i * 4..i * 4 + 4)
                .map_or(0, |w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
        };
        let (op, id, keylen) = (word(0), word(1), word(2) as usize);
        let key = b.get(KEY..KEY + keylen).ok_or(EINVAL)?;
        self.key_command(net, op == shim::IPVSA_EXT_ADD, || {
            self.state.ext_cmd(op, id, key)
        })
    }
}

impl ProcShow for SyncNet {
    type Data = Self;

    /// `/proc/net/ip_vs_sync_auth`.
    fn show(this: &Self, m: &SeqFile) {
        let mut st = shim::ipvsa_status::default();
        this.state.status(&mut st);
        seq_print!(m, "enabled: {}\n", st.enabled);
        let alg = st.alg.iter().take_while(|&&c| c != 0).count();
        let name = st
            .alg
            .get(..alg)
            .and_then(|a| core::str::from_utf8(a).ok())
            .filter(|_| st.enabled != 0)
            .unwrap_or("none");
        seq_print!(m, "algorithm: {}\n", name);
        let v = this.state.view();
        seq_print!(m, "format: {}\n", if v.ext { "extended" } else { "seed" });
        seq_print!(m, "rollout: {}\n", this.rollout().name());
        let unverified = this.state.unverified();
        seq_print!(
            m,
            "unverified_sync: {}\n",
            if unverified { "yes" } else { "no" }
        );
        match v.seed_key {
            Some(fp) => seq_print!(m, "seed_key: fingerprint {}\n", fp),
            None => seq_print!(m, "seed_key: none\n"),
        }
        let mut any = false;
        for k in v.ext_keys.iter().flatten() {
            let role = if k.active { "active" } else { "receive" };
            seq_print!(m, "ext_key: {} {} fingerprint {}\n", k.id, role, k.fp);
            any = true;
        }
        if !any {
            seq_print!(m, "ext_key: none\n");
        }
        // The replay streams of the configured format.
        seq_print!(m, "streams: {}/{}\n", v.streams.0, v.streams.1);
        for (name, value) in COUNTER_NAMES.iter().zip(st.counters) {
            seq_print!(m, "{}: {}\n", name, value);
        }
        seq_print!(m, "rx_unknown_key: {}\n", v.unknown_key);
        // Per source: what the backup accepted and dropped.
        let senders = this.state.senders();
        let now = uptime_secs();
        let ago = |t: u64| {
            if t == 0 {
                None
            } else {
                Some(now.saturating_sub(t))
            }
        };
        for snd in senders.iter() {
            match snd.src.addr {
                IpAddr::V4(a) => seq_print!(m, "sender: {}", Show(Ipv4(a))),
                IpAddr::V6(a) => seq_print!(m, "sender: {}", Show(Ipv6(a))),
            }
            seq_print!(
                m,
                " port {} accepted {} plain {} syncid {} last_seq {}",
                snd.src.port,
                snd.accepted,
                snd.plain,
                snd.syncid,
                snd.last_seq
            );
            match ago(snd.last_accepted) {
                Some(s) => seq_print!(m, " accepted_ago {}", s),
                None => seq_print!(m, " accepted_ago -"),
            }
            match ago(snd.last_drop) {
                Some(s) => seq_print!(m, " dropped_ago {}", s),
                None => seq_print!(m, " dropped_ago -"),
            }
            for (name, n) in DROP_NAMES.iter().zip(snd.drops) {
                seq_print!(m, " {} {}", name, n);
            }
            seq_print!(m, "\n");
        }
        seq_print!(m, "senders_unlisted_drops: {}\n", senders.unlisted_drops());
        seq_print!(m, "senders_busy_drops: {}\n", this.state.senders_busy());
    }
}

/// Runs the master's (`tx`) or the backup's path on the test datagram
/// `skb`, which carries the IPVS message `msg` to the sync group over IPv4
/// (`crate::kapi::testskb::TestSkb`), as IPVS would configure it for `msg`'s
/// layout and SyncID, under the RCU read side `rcu` (a hook's caller's).
/// Returns whether the datagram may go on.
pub(crate) fn test_path(
    state: &NetState,
    rcu: RcuHeld<'_>,
    skb: &mut SkBuff,
    tx: bool,
    msg: &[u8],
) -> bool {
    let pkt = Pkt {
        nh: 0,
        thoff: 20,
        stream: 0,
        v6: false,
    };
    if tx {
        let cfg = TxConfig {
            version: u8::from(msg.first() == Some(&0)),
            syncid: msg.get(1).copied().unwrap_or(0),
            max_len: max_payload(&pkt),
            rollout: Rollout::Enforce,
        };
        transmit(state, rcu, skb, &pkt, &cfg)
    } else {
        let rx = RxConfig {
            maxlen: 0xffff,
            threads: 1,
            rollout: Rollout::Enforce,
            src: source(skb, &pkt),
        };
        receive(state, rcu, skb, &pkt, &rx)
    }
}

/// Whether the master would take the test datagram `skb` (to 127.0.0.1,
/// port 8848, over IPv4) for one of IPVS's own sync sockets.
pub(crate) fn test_own_sock(skb: &SkBuff) -> bool {
    let pkt = Pkt {
        nh: 0,
        thoff: 20,
        stream: 0,
        v6: false,
    };
    own_sync_sock(skb, &pkt)
}

/// The module's socket options: the sync key and status, the extended
/// format, the IPsec gate.
pub(crate) struct SyncSockopts;

impl Sockopts for SyncSockopts {
    const PF: u8 = kernel::bindings::PF_INET as u8;
    const SET: (c_int, c_int) = (
        shim::IPVSA_SO_SYNC_AUTH as c_int,
        shim::IPVSA_SO_SYNC_EXT as c_int + 1,
    );
    const GET: (c_int, c_int) = Self::SET;

    fn set(net: Net<'_>, optval: c_int, arg: &SetArg<'_>) -> Result {
        if !net.admin_capable() {
            return Err(EPERM);
        }
        let st = SyncNet::of(net).ok_or(ENODEV)?;
        match optval as u32 {
            shim::IPVSA_SO_SYNC_AUTH => st.set_key(net, arg),
            shim::IPVSA_SO_SYNC_EXT => st.set_ext(net, arg),
            shim::IPVSA_SO_IPSEC => crate::gate::sockopt_set(net, arg),
            _ => Err(EINVAL),
        }
    }

    fn get(net: Net<'_>, optval: c_int, buf: &mut GetBuf<'_>) -> Result {
        if !net.admin_capable() {
            return Err(EPERM);
        }
        let st = SyncNet::of(net).ok_or(ENODEV)?;
        match optval as u32 {
            shim::IPVSA_SO_SYNC_AUTH => {
                let mut s = shim::ipvsa_status::default();
                st.state.status(&mut s);
                // A version 1 reader's buffer ends after its nine counters.
                let v1 = size_of::<shim::ipvsa_status>()
                    - 8 * (shim::IPVSA_CNT_MAX - shim::IPVSA_CNT_MAX_V1) as usize;
                if buf.capacity() < v1 {
                    return Err(EINVAL);
                }
                let bytes = kernel::transmute::AsBytes::as_bytes(&s);
                buf.write(bytes.get(..buf.capacity().min(bytes.len())).ok_or(EINVAL)?)
            }
            shim::IPVSA_SO_SYNC_EXT => {
                let mut s = shim::ipvsa_ext_status::default();
                if buf.capacity() < size_of::<shim::ipvsa_ext_status>() {
                    return Err(EINVAL);
                }
                st.state.ext_status(&mut s);
                buf.write(kernel::transmute::AsBytes::as_bytes(&s))
            }
            shim::IPVSA_SO_IPSEC => crate::gate::sockopt_get(net, buf),
            _ => Err(EINVAL),
        }
    }
}

#[kunit_tests(ip_vs_sync_auth_classify)]
mod tests {
    use super::*;
    use crate::kapi::testskb::TestSkb;

    /// IPVS's default IPv6 group, ff02::8848 (`ipvsadm --mcast-group`).
    const GROUP6: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x48];

    fn cfg6(group: [u8; 16]) -> DaemonConfig {
        DaemonConfig {
            group: Group::V6(group),
            port: 8848,
            syncid: 0,
            maxlen: 1500,
        }
    }

    fn classified(ah: bool, group: [u8; 16]) -> Result<Match> {
        let mut skb = TestSkb::sync6(GROUP6, ah, &[0u8; 40])?;
        Ok(classify(skb.skb(), PF_IPV6, &cfg6(group), 1))
    }

    #[test]
    fn ipv6_datagrams_behind_ah_are_left_to_ipsec() -> Result {
        // The plain datagram is the daemon's, its UDP header after the
        // IPv6 header.
        let plain = classified(false, GROUP6)?;
        assert!(matches!(plain, Match::Sync(p) if p.v6 && p.nh == 0 && p.thoff == 40));
        // Behind AH: IPsec's first; checked once AH is removed.
        assert!(matches!(classified(true, GROUP6)?, Match::NotSync));
        // Another group: not the daemon's, with or without AH.
        let mut other = GROUP6;
        other[15] ^= 1;
        assert!(matches!(classified(false, other)?, Match::NotSync));
        Ok(())
    }
}
