// SPDX-License-Identifier: GPL-2.0

//! IPVS's sync daemon configuration of a namespace (`struct netns_ipvs`),
//! read without IPVS's mutex, as a hook must, or with it held
//! ([`Ipvs::lock_daemons`]).
//!
//! C header: [`include/net/ip_vs.h`](srctree/include/net/ip_vs.h)

use super::bindings as b;
use crate::proto::addr::IpAddr;
use core::ptr::{addr_of, read_volatile};
use kernel::ffi::c_int;
use kernel::prelude::*;

/// `AF_INET`.
const AF_INET: u8 = kernel::bindings::AF_INET as u8;
/// `AF_INET6`.
const AF_INET6: u8 = kernel::bindings::AF_INET6 as u8;

/// The multicast group of a sync daemon configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// Never configured (IPVS sets the family when a daemon starts).
    None,
    /// An IPv4 group, as on the wire.
    V4([u8; 4]),
    /// An IPv6 group.
    V6([u8; 16]),
}

/// What one of IPVS's two sync daemon configurations (master, backup)
/// says, read field by field: a daemon starting or stopping meanwhile may
/// give a mix of old and new fields, never a torn field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DaemonConfig {
    /// The multicast group.
    pub(crate) group: Group,
    /// The base UDP port; thread `i` uses `port + i`.
    pub(crate) port: u16,
    /// The SyncID.
    pub(crate) syncid: u8,
    /// The longest message.
    pub(crate) maxlen: u16,
}

/// Which of the two configurations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Daemon {
    /// `mcfg`.
    Master,
    /// `bcfg`.
    Backup,
}

/// A view of IPVS's state of one namespace (`struct netns_ipvs`).
///
/// # Invariants
///
/// Wraps the live `netns_ipvs` of a namespace (see
/// [`super::net::Net::ipvs`]).
#[repr(transparent)]
pub(crate) struct Ipvs(b::netns_ipvs);

impl Ipvs {
    /// Wraps the state [`super::net::Net::ipvs`] found.
    pub(crate) fn from_ref(ipvs: &b::netns_ipvs) -> &Self {
        // CAST: `repr(transparent)`.
        // SAFETY: Same layout, same lifetime.
        unsafe { &*core::ptr::from_ref(ipvs).cast::<Self>() }
    }

    /// A daemon configuration.
    pub(crate) fn daemon(&self, which: Daemon) -> DaemonConfig {
        let c = match which {
            Daemon::Master => addr_of!(self.0.mcfg),
            Daemon::Backup => addr_of!(self.0.bcfg),
        };
        // SAFETY: Each field of the live configuration (type invariant) is
        // read once, as `READ_ONCE()` would; IPVS writes them under its
        // mutex, and only before its sockets exist or after they are gone.
        unsafe {
            let af = read_volatile(addr_of!((*c).mcast_af));
            let group = match af {
                AF_INET => Group::V4(read_volatile(addr_of!((*c).mcast_group.ip)).to_ne_bytes()),
                AF_INET6 => Group::V6(read_volatile(addr_of!((*c).mcast_group.in6.in6_u.u6_addr8))),
                _ => Group::None,
            };
            DaemonConfig {
                group,
                port: read_volatile(addr_of!((*c).mcast_port)),
                syncid: read_volatile(addr_of!((*c).syncid)) as u8,
                maxlen: read_volatile(addr_of!((*c).sync_maxlen)),
            }
        }
    }

    /// Takes IPVS's `sync_mutex`, under which it starts and stops its sync
    /// daemons (it sets a daemon's configuration and opens its sockets in
    /// one hold of it): while the guard lives, no daemon starts or stops.
    /// May sleep. IPVS takes the mutex together with the RTNL and holds no
    /// lock of this module's, so the caller may hold its own mutexes but
    /// must not hold the RTNL.
    pub(crate) fn lock_daemons(&self) -> DaemonsLocked<'_> {
        // SAFETY: The mutex is initialised with the state (IPVS's pernet
        // init) and lives as long as it (type invariant); process context
        // is the caller's duty, as for any sleeping lock. `DaemonsLocked`
        // unlocks it on drop, exactly once.
        unsafe { kernel::bindings::mutex_lock(addr_of!(self.0.sync_mutex).cast_mut()) };
        // INVARIANT: Just locked.
        DaemonsLocked(self)
    }

    /// The number of sync threads of each daemon (`sync_ports` when the
    /// first daemon started), at least 1.
    pub(crate) fn threads(&self) -> u32 {
        // SAFETY: A field of the live state, read once.
        let mask = unsafe { read_volatile(addr_of!(self.0.threads_mask)) };
        u32::try_from(mask).unwrap_or(0).saturating_add(1)
    }

    /// The sync message version the master sends (`sync_version`).
    pub(crate) fn sync_version(&self) -> u8 {
        // SAFETY: A field of the live state, read once.
        u8::from(unsafe { read_volatile(addr_of!(self.0.sysctl_sync_ver)) } != 0)
    }
}

/// IPVS's `sync_mutex` held ([`Ipvs::lock_daemons`]); released on drop.
///
/// # Invariants
///
/// This guard locked `self.0.sync_mutex` and nothing has unlocked it.
pub(crate) struct DaemonsLocked<'a>(&'a Ipvs);

impl Drop for DaemonsLocked<'_> {
    fn drop(&mut self) {
        // SAFETY: Held by this guard (type invariant), unlocked once.
        unsafe { kernel::bindings::mutex_unlock(addr_of!(self.0 .0.sync_mutex).cast_mut()) };
    }
}

/// A connection IPVS looked up for us, with a reference on it that is
/// dropped with this object.
///
/// # Invariants
///
/// `cp` is a live connection on which this object holds one reference
/// (taken by `ip_vs_conn_in_get()`).
struct ConnRef(*mut b::ip_vs_conn);

impl ConnRef {
    /// `IP_VS_CONN_F_*`.
    fn flags(&self) -> u32 {
        // SAFETY: Live while referenced (type invariant).
        unsafe { b::ipvsa_ip_vs_conn_flags(self.0) }
    }

    /// Packets IPVS forwarded through it (`in_pkts`).
    fn in_pkts(&self) -> c_int {
        // SAFETY: Live while referenced (type invariant).
        unsafe { b::ipvsa_ip_vs_conn_in_pkts(self.0) }
    }

    /// The real server it goes to; `None` for an address family IPVS
    /// does not use.
    fn dest(&self) -> Option<IpAddr> {
        let mut d = kernel::bindings::nf_inet_addr { all: [0; 4] };
        // SAFETY: Live while referenced (type invariant); `d` is valid for
        // the write. IPVS sets both fields when it creates the connection
        // and never changes them.
        let af = unsafe {
            b::ipvsa_ip_vs_conn_daddr(self.0, &mut d);
            b::ipvsa_ip_vs_conn_daf(self.0)
        };
        // SAFETY: Every bit pattern is a valid `[u32; 4]`.
        let all = unsafe { d.all };
        let mut bytes = [0u8; 16];
        for (b, w) in bytes.chunks_exact_mut(4).zip(all) {
            b.copy_from_slice(&w.to_ne_bytes());
        }
        match af {
            AF_INET => Some(IpAddr::V4([bytes[0], bytes[1], bytes[2], bytes[3]])),
            AF_INET6 => Some(IpAddr::V6(bytes)),
            _ => None,
        }
    }
}

impl Drop for ConnRef {
    fn drop(&mut self) {
        // SAFETY: Drops the reference this object holds (type invariant).
        unsafe { b::ipvsa_ip_vs_conn_put(self.0) };
    }
}

/// What IPVS looks a connection up by, from the client's side: protocol,
/// client address and port, virtual address and port (IPv6 addresses if
/// `v6`, else IPv4 in the first 4 bytes; ports in host order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnTuple<'a> {
    /// IPv6 (else IPv4).
    pub(crate) v6: bool,
    /// The IP protocol.
    pub(crate) protocol: u8,
    /// The client's address.
    pub(crate) client: &'a [u8; 16],
    /// The client's port.
    pub(crate) cport: u16,
    /// The virtual address.
    pub(crate) vaddr: &'a [u8; 16],
    /// The virtual port.
    pub(crate) vport: u16,
}

impl Ipvs {
    /// IPVS's connection `t`, if it holds one.
    fn conn_in(&self, t: &ConnTuple<'_>) -> Option<ConnRef> {
        let ipvs = core::ptr::from_ref(&self.0).cast_mut();
        let af = if t.v6 { AF_INET6 } else { AF_INET };
        let c = inet_addr(t.client);
        let v = inet_addr(t.vaddr);
        let mut p = core::mem::MaybeUninit::<b::ip_vs_conn_param>::uninit();
        // SAFETY: `ipvs` is the live state (type invariant); the addresses
        // live on this stack frame for the lookup, which is all the
        // parameter block is used for; `p` is written whole.
        unsafe {
            b::ipvsa_ip_vs_conn_fill_param(
                ipvs,
                c_int::from(af),
                c_int::from(t.protocol),
                &c,
                t.cport.to_be(),
                &v,
                t.vport.to_be(),
                p.as_mut_ptr(),
            )
        };
        // SAFETY: `p` was filled above; the lookup takes the RCU read lock
        // itself and returns a referenced connection or null.
        let cp = unsafe { b::ip_vs_conn_in_get(p.as_ptr()) };
        if cp.is_null() {
            // Not `then_some(ConnRef(cp))`: that builds (and drops, putting
            // a null connection) the `ConnRef` even when `cp` is null.
            return None;
        }
        // INVARIANT: A non-null result carries a reference for us.
        Some(ConnRef(cp))
    }

    /// Whether IPVS holds connection `t` and received it by sync and has
    /// not forwarded a packet through it since: IPVS sets a synced
    /// connection's `in_pkts` to the sync threshold and counts every packet
    /// it forwards. Process or softirq context.
    pub(crate) fn fresh_synced_conn(&self, t: &ConnTuple<'_>) -> bool {
        let Some(cp) = self.conn_in(t) else {
            return false;
        };
        let ipvs = core::ptr::from_ref(&self.0).cast_mut();
        // SAFETY: `ipvs` is the live state (type invariant).
        let threshold = unsafe { b::ipvsa_ip_vs_sync_threshold(ipvs) };
        cp.flags() & b::IP_VS_CONN_F_SYNC != 0 && cp.in_pkts() == threshold
    }

    /// The real server of IPVS's connection `t`, if it holds one. Process
    /// or softirq context.
    pub(crate) fn conn_dest(&self, t: &ConnTuple<'_>) -> Option<IpAddr> {
        self.conn_in(t)?.dest()
    }
}

/// `union nf_inet_addr` of 16 address bytes.
fn inet_addr(a: &[u8; 16]) -> kernel::bindings::nf_inet_addr {
    let mut all = [0u32; 4];
    for (w, c) in all.iter_mut().zip(a.chunks_exact(4)) {
        *w = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
    }
    kernel::bindings::nf_inet_addr { all }
}

/// The most sync threads IPVS runs (`IPVS_SYNC_PORTS_MAX`): a backup with
/// a key checks datagrams to any of these ports.
pub(crate) const MAX_THREADS: u32 = b::IPVS_SYNC_PORTS_MAX;

/// IANA protocol number of UDP, which IPVS's sync protocol runs over.
pub(crate) const IPPROTO_UDP: u32 = 17;

/// Returns IPVS's name for the IP protocol `proto`.
///
/// Calling into `ip_vs` is also what makes modpost record the dependency, so
/// that `ip_vs` is always loaded before this module.
pub(crate) fn proto_name(proto: u32) -> &'static CStr {
    // SAFETY: `ip_vs_proto_name()` has no preconditions and returns a pointer
    // to a NUL-terminated string with static storage: a literal for known
    // protocols, a static buffer otherwise.
    let name = unsafe { b::ip_vs_proto_name(proto) };
    // SAFETY: `name` is non-NULL, NUL-terminated and never freed (see above).
    unsafe { CStr::from_char_ptr(name) }
}
