// SPDX-License-Identifier: GPL-2.0

//! The IPsec gate: the decisions the hooks of `ip_vs_sync_auth_ipsec.c`
//! delegate to Rust.
//!
//! The C side parses packets and owns the RCU hash table of entries, the
//! collector and the configuration; for every packet it calls
//! [`ipvsa_rs_gate_classify`] and [`ipvsa_rs_gate_decide`], which run the
//! pure state machine of [`crate::proto::isakmp`] on a copy of the entry's
//! state, and applies the event they return. These functions hold no state,
//! never allocate and never panic: they may run in any context.

use crate::kapi::net::Net;
use crate::kapi::sockopt::{GetBuf, SetArg};
use crate::proto::isakmp::{
    self, Config, Decision, Entry, GateEvent, IkeHeader, IkeVersion, Input, State, Transport,
    Verdict,
};
use crate::shim;
use kernel::ffi::c_char;
use kernel::prelude::*;

/// The C header declares the functions below for the C side to call; make
/// the compiler check that our definitions have exactly the signatures
/// bindgen read from it, and that the C constants match the pure crate.
const _: () = {
    let _ = [shim::ipvsa_rs_gate_classify, ipvsa_rs_gate_classify];
    let _ = [shim::ipvsa_rs_gate_decide, ipvsa_rs_gate_decide];
    let _ = [shim::ipvsa_rs_gate_verdict, ipvsa_rs_gate_verdict];
    let _ = [shim::ipvsa_rs_gate_counter_name, ipvsa_rs_gate_counter_name];
    let _ = [shim::ipvsa_rs_gate_learn, ipvsa_rs_gate_learn];
    let _ = [shim::ipvsa_rs_gate_from_sync, ipvsa_rs_gate_from_sync];
    let _ = [shim::ipvsa_rs_gate_soft_extend, ipvsa_rs_gate_soft_extend];
    let _ = [shim::ipvsa_rs_gate_expired, ipvsa_rs_gate_expired];
    assert!(GateEvent::ALL.len() == shim::IPVSA_GEV_MAX as usize);
    assert!(GateEvent::InitialCreated.index() == shim::IPVSA_GEV_INITIAL_CREATED as usize);
    assert!(GateEvent::EspNoEntry.index() == shim::IPVSA_GEV_ESP_NO_ENTRY as usize);
    assert!(GateEvent::IsakmpNoInitial.index() == shim::IPVSA_GEV_ISAKMP_NO_INITIAL as usize);
    assert!(GateEvent::Established.index() == shim::IPVSA_GEV_ESTABLISHED as usize);
    assert!(GateEvent::EstablishedRefresh.index() == shim::IPVSA_GEV_ESTABLISHED_REFRESH as usize);
    assert!(GateEvent::EspPass.index() == shim::IPVSA_GEV_ESP_PASS as usize);
    assert!(isakmp::NON_ESP_MARKER_LEN + isakmp::IKE_HEADER_LEN == HEAD_LEN);
};

/// Bytes of UDP payload the C side copies for classification
/// (`IPVSA_GATE_HEAD` in `ip_vs_sync_auth_ipsec.c`).
const HEAD_LEN: usize = 32;

/// Names of the counters the C side keeps after the events, in the order of
/// `IPVSA_GCNT_*`.
const C_COUNTERS: [&str; (shim::IPVSA_GCNT_MAX - shim::IPVSA_GEV_MAX) as usize] = [
    "malformed",
    "failover_established",
    "rcookie_learned",
    "soft_extended",
    "expired",
    "nomem",
    "fragment_dropped",
];

/// The transport of an `IPVSA_GATE_*` code.
fn transport(t: u32) -> Option<Transport> {
    match t {
        shim::IPVSA_GATE_UDP500 => Some(Transport::Udp500),
        shim::IPVSA_GATE_UDP4500 => Some(Transport::Udp4500),
        shim::IPVSA_GATE_ESP => Some(Transport::Esp),
        shim::IPVSA_GATE_AH => Some(Transport::Ah),
        _ => None,
    }
}

/// The settings of one decision.
fn config(c: &shim::ipvsa_gate_cfg) -> Config {
    Config {
        initial_timeout: c.initial_timeout,
        established_timeout: c.established_timeout,
        nat_mode: c.nat_mode != 0,
        max_initial: c.max_initial as usize,
    }
}

/// The entry a C state describes; `None` for an unknown state code.
fn entry_from(st: &shim::ipvsa_gate_state) -> Option<Entry> {
    let state = match u32::from(st.state) {
        shim::IPVSA_GATE_INITIAL => State::Initial,
        shim::IPVSA_GATE_ESTABLISHED => State::Established,
        _ => return None,
    };
    let rcookie = (st.has_rcookie != 0).then_some(st.rcookie);
    Some(Entry::from_parts(state, st.expires, rcookie, st.soft != 0))
}

/// Stores `e` in a C state.
fn entry_to(e: &Entry, st: &mut shim::ipvsa_gate_state) {
    st.expires = e.expires();
    st.state = match e.state() {
        State::Initial => shim::IPVSA_GATE_INITIAL as u8,
        State::Established => shim::IPVSA_GATE_ESTABLISHED as u8,
    };
    st.soft = u8::from(e.is_soft());
    match e.responder_cookie() {
        Some(c) => {
            st.has_rcookie = 1;
            st.rcookie = c;
        }
        None => {
            st.has_rcookie = 0;
            st.rcookie = [0; 8];
        }
    }
}

/// Stores a classified packet for the C side.
fn input_to(i: &Input, out: &mut shim::ipvsa_gate_input) {
    *out = shim::ipvsa_gate_input::default();
    match i {
        Input::Isakmp(h) => {
            out.kind = shim::IPVSA_GATE_IN_ISAKMP;
            out.icookie = h.icookie;
            out.rcookie = h.rcookie;
        }
        Input::Keepalive => out.kind = shim::IPVSA_GATE_IN_KEEPALIVE,
        Input::Esp => out.kind = shim::IPVSA_GATE_IN_ESP,
    }
}

/// The packet a C input describes. [`isakmp::decide`] reads only the
/// cookies of an ISAKMP header, the rest is filled with neutral values.
fn input_from(i: &shim::ipvsa_gate_input) -> Option<Input> {
    match i.kind {
        shim::IPVSA_GATE_IN_ISAKMP => Some(Input::Isakmp(IkeHeader {
            icookie: i.icookie,
            rcookie: i.rcookie,
            next_payload: 0,
            version: IkeVersion::V2,
            minor_version: 0,
            exchange_type: 0,
            flags: 0,
            message_id: 0,
            length: isakmp::IKE_HEADER_LEN as u32,
        })),
        shim::IPVSA_GATE_IN_KEEPALIVE => Some(Input::Keepalive),
        shim::IPVSA_GATE_IN_ESP => Some(Input::Esp),
        _ => None,
    }
}

/// The bytes of a UDP payload the C side copied.
///
/// # Safety
///
/// `head` must be valid for reads of `headlen` bytes for `'a`, or `headlen`
/// must be 0.
unsafe fn head_slice<'a>(head: *const u8, headlen: u32) -> &'a [u8] {
    if head.is_null() || headlen == 0 {
        return &[];
    }
    // SAFETY: Per the function's contract.
    unsafe { core::slice::from_raw_parts(head, headlen as usize) }
}

/// Safe core of [`ipvsa_rs_gate_classify`].
fn classify(t: u32, head: &[u8], plen: u32) -> Result<Input, GateEvent> {
    let Some(t) = transport(t) else {
        return Err(GateEvent::IsakmpBadHeader);
    };
    isakmp::classify_head(t, head, plen as usize)
}

/// Safe core of [`ipvsa_rs_gate_decide`]: the event, and the entry to
/// insert for [`GateEvent::InitialCreated`].
fn decide(
    cfg: &Config,
    input: &Input,
    entry: Option<&mut Entry>,
    live_initial: u32,
    now: u64,
) -> (GateEvent, Option<Entry>) {
    match isakmp::decide(entry, input, now, cfg) {
        Decision::Done(ev) => (ev, None),
        Decision::Create(new) => match cfg.admit_initial(live_initial as usize) {
            GateEvent::InitialCreated => (GateEvent::InitialCreated, Some(new)),
            ev => (ev, None),
        },
    }
}

/// Classifies a gated packet; see `ip_vs_sync_auth_shim.h`.
///
/// # Safety
///
/// `head` valid for reads of `headlen` bytes (or `headlen` 0); `input` and
/// `event` valid for writes.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_classify(
    transport: u32,
    head: *const u8,
    headlen: u32,
    plen: u32,
    input: *mut shim::ipvsa_gate_input,
    event: *mut u32,
) -> bool {
    // SAFETY: The caller passes `headlen` readable bytes.
    let head = unsafe { head_slice(head, headlen) };
    match classify(transport, head, plen) {
        Ok(i) => {
            // SAFETY: The caller passes a writable input.
            input_to(&i, unsafe { &mut *input });
            true
        }
        Err(ev) => {
            // SAFETY: The caller passes a writable event.
            unsafe { *event = ev.index() as u32 };
            false
        }
    }
}

/// Runs the state machine; see `ip_vs_sync_auth_shim.h`.
///
/// # Safety
///
/// `cfg` and `input` valid for reads; `st` null or valid for reads and
/// writes; `created` valid for writes. No other thread writes them during
/// the call.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_decide(
    cfg: *const shim::ipvsa_gate_cfg,
    input: *const shim::ipvsa_gate_input,
    st: *mut shim::ipvsa_gate_state,
    live_initial: u32,
    now: u64,
    created: *mut shim::ipvsa_gate_state,
) -> u32 {
    // SAFETY: The caller passes readable settings and input.
    let (cfg, input) = unsafe { (config(&*cfg), &*input) };
    let Some(input) = input_from(input) else {
        return GateEvent::IsakmpBadHeader.index() as u32;
    };
    // SAFETY: `st` is null or readable and writable (function contract).
    let st = unsafe { st.as_mut() };
    let mut entry = st.as_deref().and_then(entry_from);
    let (ev, new) = decide(&cfg, &input, entry.as_mut(), live_initial, now);
    if let (Some(st), Some(e)) = (st, entry) {
        entry_to(&e, st);
    }
    if let Some(new) = new {
        // SAFETY: The caller passes a writable `created`.
        entry_to(&new, unsafe { &mut *created });
    }
    ev.index() as u32
}

/// The verdict of event `ev`: `IPVSA_GATE_PASS`, `_DROP` or `_REJECT`.
/// Unknown events are dropped.
#[no_mangle]
extern "C" fn ipvsa_rs_gate_verdict(ev: u32) -> u32 {
    match GateEvent::ALL.get(ev as usize).map(GateEvent::verdict) {
        Some(Verdict::Pass) => shim::IPVSA_GATE_PASS,
        Some(Verdict::RejectNoEntry) => shim::IPVSA_GATE_REJECT,
        Some(Verdict::Drop) | None => shim::IPVSA_GATE_DROP,
    }
}

/// The name of counter `idx`: an event's, or one the C side keeps.
fn counter_name(idx: u32) -> Option<&'static str> {
    let idx = idx as usize;
    match GateEvent::ALL.get(idx) {
        Some(ev) => Some(ev.name()),
        None => C_COUNTERS
            .get(idx.checked_sub(GateEvent::ALL.len())?)
            .copied(),
    }
}

/// Copies the NUL-terminated name of counter `idx` into `buf`.
///
/// # Safety
///
/// `buf` valid for writes of `size` bytes.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_counter_name(idx: u32, buf: *mut c_char, size: u32) -> bool {
    let Some(name) = counter_name(idx) else {
        return false;
    };
    if buf.is_null() || name.len() >= size as usize {
        return false;
    }
    // SAFETY: `buf` holds `size` > `name.len()` writable bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), size as usize) };
    let (text, rest) = out.split_at_mut(name.len());
    text.copy_from_slice(name.as_bytes());
    if let Some(nul) = rest.first_mut() {
        *nul = 0;
    }
    true
}

/// Safe core of [`ipvsa_rs_gate_learn`].
fn learn(t: u32, head: &[u8], plen: u32, entry: &mut Entry) -> bool {
    match classify(t, head, plen) {
        Ok(Input::Isakmp(h)) => entry.learn_responder_cookie(h.rcookie),
        _ => false,
    }
}

/// NAT mode: learns a reply's responder cookie; see the C header.
///
/// # Safety
///
/// `head` as for [`ipvsa_rs_gate_classify`]; `st` valid for reads and
/// writes.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_learn(
    transport: u32,
    head: *const u8,
    headlen: u32,
    plen: u32,
    st: *mut shim::ipvsa_gate_state,
) -> bool {
    // SAFETY: The caller passes `headlen` readable bytes.
    let head = unsafe { head_slice(head, headlen) };
    // SAFETY: The caller passes a readable and writable state.
    let st = unsafe { &mut *st };
    let Some(mut entry) = entry_from(st) else {
        return false;
    };
    let learned = learn(transport, head, plen, &mut entry);
    if learned {
        entry_to(&entry, st);
    }
    learned
}

/// Failover: an `Established` entry for a client IPVS synced.
///
/// # Safety
///
/// `cfg` valid for reads, `st` for writes.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_from_sync(
    cfg: *const shim::ipvsa_gate_cfg,
    now: u64,
    st: *mut shim::ipvsa_gate_state,
) {
    // SAFETY: The caller passes readable settings.
    let cfg = config(unsafe { &*cfg });
    // SAFETY: The caller passes a writable state.
    entry_to(&Entry::established_from_sync(now, &cfg), unsafe {
        &mut *st
    });
}

/// Soft expiry for the collector.
///
/// # Safety
///
/// `cfg` valid for reads, `st` for reads and writes.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_soft_extend(
    cfg: *const shim::ipvsa_gate_cfg,
    st: *mut shim::ipvsa_gate_state,
    now: u64,
) -> bool {
    // SAFETY: The caller passes readable settings.
    let cfg = config(unsafe { &*cfg });
    // SAFETY: The caller passes a readable and writable state.
    let st = unsafe { &mut *st };
    let Some(mut entry) = entry_from(st) else {
        return false;
    };
    let extended = entry.soft_extend(now, &cfg);
    if extended {
        entry_to(&entry, st);
    }
    extended
}

/// Whether an entry is expired; an unknown state counts as expired.
///
/// # Safety
///
/// `st` valid for reads.
#[no_mangle]
unsafe extern "C" fn ipvsa_rs_gate_expired(st: *const shim::ipvsa_gate_state, now: u64) -> bool {
    // SAFETY: The caller passes a readable state.
    entry_from(unsafe { &*st }).is_none_or(|e| e.is_expired(now))
}

/// Benchmark of the gate's table (module parameter `bench`): prints, for
/// tables of several sizes, the cost of each kind of packet and of a
/// collector pass, and the memory used. Asserts nothing.
pub(crate) fn bench(iters: u32) -> Result {
    pr_info!(
        "bench: IPsec gate, private table, {} ESP lookups per size\n",
        iters
    );
    pr_info!(
        "bench: entries  create  establish  esp-hit  esp-miss  gc-live-us  gc-expire-us  entry-B  table-KiB\n"
    );
    let mut buckets = 0;
    for entries in [1_000u32, 10_000, 100_000] {
        let mut r = shim::ipvsa_gate_bench::default();
        // SAFETY: Process context (module init); `r` is writable.
        kernel::error::to_result(unsafe { shim::ipvsa_gate_bench(entries, iters, &mut r) })?;
        if r.errors != 0 {
            pr_warn!(
                "bench: {} unexpected verdicts with {} entries\n",
                r.errors,
                entries
            );
        }
        buckets = r.buckets;
        let table_kib = (r.entry_size * u64::from(entries) + r.bucket_bytes) / 1024;
        pr_info!(
            "bench: {:7}  {:6}  {:9}  {:7}  {:8}  {:10}  {:12}  {:7}  {:9}\n",
            r.entries,
            r.isakmp_create_ns,
            r.isakmp_establish_ns,
            r.esp_hit_ns,
            r.esp_miss_ns,
            r.gc_live_ns / 1000,
            r.gc_expire_ns / 1000,
            r.entry_size,
            table_kib
        );
    }
    pr_info!("bench: (ns per packet; {} buckets)\n", buckets);
    Ok(())
}

/// The IPsec gate's registration: per-netns state, hooks, sysctls and
/// `/proc/net/ip_vs_ipsec`.
///
/// # Invariants
///
/// `ipvsa_ipsec_register()` succeeded and is undone exactly once, in
/// `Drop`.
pub(crate) struct Registration(());

impl Registration {
    /// Registers everything. Process context.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Called once from module init, in process context.
        kernel::error::to_result(unsafe { shim::ipvsa_ipsec_register() })?;
        // INVARIANT: registration succeeded.
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the registration is live; it is
        // undone exactly once, here, in process context (module exit).
        unsafe { shim::ipvsa_ipsec_unregister() };
    }
}

#[kunit_tests(ip_vs_sync_auth_ipsec)]
mod tests {
    use super::*;

    const NF_DROP: c_int = 0;
    const NF_ACCEPT: c_int = 1;
    const IC: [u8; 8] = [0x11; 8];
    const RC: [u8; 8] = [0xa1, 2, 3, 4, 5, 6, 7, 8];

    use kernel::ffi::c_int;

    /// A private gate of the C side, freed on drop.
    struct TestGate(*mut core::ffi::c_void);

    impl TestGate {
        fn new(nat: bool, soft_quota: u32, max_initial: u32) -> Result<Self> {
            // SAFETY: Process context (KUnit); no other precondition.
            let g = unsafe { shim::ipvsa_test_gate_new(nat, soft_quota, max_initial) };
            if g.is_null() {
                return Err(ENOMEM);
            }
            Ok(Self(g))
        }

        fn send(&self, client: u8, transport: u32, payload: &[u8], delta: u32) -> c_int {
            // SAFETY: `self.0` is a live gate; `payload` is readable.
            unsafe {
                shim::ipvsa_test_gate_packet(
                    self.0,
                    false,
                    client,
                    transport,
                    payload.as_ptr(),
                    payload.len() as u32,
                    delta,
                )
            }
        }

        fn packet(&self, client: u8, transport: u32, payload: &[u8]) -> c_int {
            self.send(client, transport, payload, 0)
        }

        fn reply(&self, client: u8, transport: u32, payload: &[u8]) {
            // SAFETY: As in `send`.
            unsafe {
                shim::ipvsa_test_gate_packet(
                    self.0,
                    true,
                    client,
                    transport,
                    payload.as_ptr(),
                    payload.len() as u32,
                    0,
                )
            };
        }

        fn advance(&self, seconds: u32, collect: bool) {
            // SAFETY: `self.0` is a live gate; process context.
            unsafe { shim::ipvsa_test_gate_advance(self.0, seconds, collect) }
        }

        fn counter(&self, ev: GateEvent) -> u64 {
            self.c_counter(ev.index() as u32)
        }

        fn c_counter(&self, idx: u32) -> u64 {
            // SAFETY: `self.0` is a live gate.
            unsafe { shim::ipvsa_test_gate_counter(self.0, idx) }
        }

        /// (entries, INITIAL entries, soft entries of the service).
        fn counts(&self) -> (u32, u32, u32) {
            let (mut e, mut i, mut s) = (0, 0, 0);
            // SAFETY: `self.0` is a live gate; the outputs are writable.
            unsafe { shim::ipvsa_test_gate_counts(self.0, &mut e, &mut i, &mut s) };
            (e, i, s)
        }
    }

    impl Drop for TestGate {
        fn drop(&mut self) {
            // SAFETY: `self.0` came from `ipvsa_test_gate_new` and is freed
            // once, here, in process context.
            unsafe { shim::ipvsa_test_gate_free(self.0) };
        }
    }

    /// An IKEv2 header (28 bytes) with the given cookies.
    fn ike(icookie: [u8; 8], rcookie: [u8; 8]) -> [u8; 28] {
        let mut h = [0u8; 28];
        h[..8].copy_from_slice(&icookie);
        h[8..16].copy_from_slice(&rcookie);
        h[17] = 0x20;
        h[18] = 34;
        h[27] = 28;
        h
    }

    /// The same behind the non-ESP marker (UDP 4500).
    fn natt_ike(icookie: [u8; 8], rcookie: [u8; 8]) -> [u8; 32] {
        let mut m = [0u8; 32];
        m[4..].copy_from_slice(&ike(icookie, rcookie));
        m
    }

    const ESP: [u8; 16] = [
        0, 0, 0x10, 0x01, 0, 0, 0, 1, 0xab, 0xab, 0xab, 0xab, 0, 0, 0, 0,
    ];
    const UDP500: u32 = shim::IPVSA_GATE_UDP500;
    const UDP4500: u32 = shim::IPVSA_GATE_UDP4500;
    const PESP: u32 = shim::IPVSA_GATE_ESP;
    const PAH: u32 = shim::IPVSA_GATE_AH;

    #[test]
    fn esp_without_entry_is_rejected() -> Result {
        let g = TestGate::new(false, 0, 16)?;
        assert_eq!(g.packet(1, PESP, &ESP), NF_DROP);
        assert_eq!(g.packet(1, PAH, &ESP), NF_DROP);
        assert_eq!(g.counter(GateEvent::EspNoEntry), 2);
        assert_eq!(g.counts(), (0, 0, 0));
        Ok(())
    }

    #[test]
    fn initial_then_established_direct_routing() -> Result {
        let g = TestGate::new(false, 0, 16)?;
        assert_eq!(g.packet(1, UDP500, &ike(IC, [0; 8])), NF_ACCEPT);
        assert_eq!(g.counts(), (1, 1, 0));
        assert_eq!(g.packet(1, PESP, &ESP), NF_DROP);
        assert_eq!(g.counter(GateEvent::EspInitial), 1);
        // Another client is unaffected.
        assert_eq!(g.packet(2, PESP, &ESP), NF_DROP);
        assert_eq!(g.counter(GateEvent::EspNoEntry), 1);
        // DR: any responder cookie establishes.
        assert_eq!(g.packet(1, UDP500, &ike(IC, RC)), NF_ACCEPT);
        assert_eq!(g.counts(), (1, 0, 0));
        assert_eq!(g.packet(1, PESP, &ESP), NF_ACCEPT);
        assert_eq!(g.packet(1, PAH, &ESP), NF_ACCEPT);
        assert_eq!(g.counter(GateEvent::EspPass), 2);
        // Zero initiator cookie: dropped, counted, nothing changes.
        assert_eq!(g.packet(3, UDP500, &ike([0; 8], [0; 8])), NF_DROP);
        assert_eq!(g.counter(GateEvent::IsakmpZeroIcookie), 1);
        assert_eq!(g.counts(), (1, 0, 0));
        Ok(())
    }

    #[test]
    fn nat_mode_needs_the_learned_cookie() -> Result {
        let g = TestGate::new(true, 0, 16)?;
        assert_eq!(g.packet(1, UDP500, &ike(IC, [0; 8])), NF_ACCEPT);
        // Nothing learned yet: no cookie establishes.
        assert_eq!(g.packet(1, UDP500, &ike(IC, RC)), NF_DROP);
        g.reply(1, UDP500, &ike(IC, RC));
        assert_eq!(g.c_counter(shim::IPVSA_GCNT_LEARNED), 1);
        let mut wrong = RC;
        wrong[7] ^= 1;
        assert_eq!(g.packet(1, UDP500, &ike(IC, wrong)), NF_DROP);
        assert_eq!(g.counter(GateEvent::CookieMismatch), 2);
        assert_eq!(g.packet(1, PESP, &ESP), NF_DROP);
        assert_eq!(g.packet(1, UDP500, &ike(IC, RC)), NF_ACCEPT);
        assert_eq!(g.counter(GateEvent::Established), 1);
        assert_eq!(g.packet(1, PESP, &ESP), NF_ACCEPT);
        // Once established, cookies may change (rekey).
        assert_eq!(g.packet(1, UDP500, &ike([7; 8], [9; 8])), NF_ACCEPT);
        // A reply for a client without an entry teaches nothing.
        g.reply(5, UDP500, &ike(IC, RC));
        assert_eq!(g.c_counter(shim::IPVSA_GCNT_LEARNED), 1);
        Ok(())
    }

    #[test]
    fn nat_traversal_on_4500() -> Result {
        let g = TestGate::new(false, 0, 16)?;
        assert_eq!(g.packet(1, UDP4500, &[0xff]), NF_ACCEPT);
        assert_eq!(g.counter(GateEvent::KeepaliveNoEntry), 1);
        // A keepalive creates nothing.
        assert_eq!(g.counts().0, 0);
        // ESP in UDP without an entry.
        assert_eq!(g.packet(1, UDP4500, &ESP), NF_DROP);
        assert_eq!(g.packet(1, UDP4500, &natt_ike(IC, [0; 8])), NF_ACCEPT);
        assert_eq!(g.packet(1, UDP4500, &ESP), NF_DROP);
        assert_eq!(g.counter(GateEvent::EspInitial), 1);
        assert_eq!(g.packet(1, UDP4500, &natt_ike(IC, RC)), NF_ACCEPT);
        assert_eq!(g.packet(1, UDP4500, &ESP), NF_ACCEPT);
        assert_eq!(g.packet(1, UDP4500, &[0xff]), NF_ACCEPT);
        assert_eq!(g.counter(GateEvent::EstablishedRefresh), 1);
        assert_eq!(g.packet(1, UDP4500, &[0, 0, 0, 0]), NF_DROP);
        assert_eq!(g.counter(GateEvent::NattMalformed), 1);
        Ok(())
    }

    #[test]
    fn malformed_and_truncated_packets_are_counted_drops() -> Result {
        let g = TestGate::new(false, 0, 16)?;
        let h = ike(IC, [0; 8]);
        // UDP length claims 100 more bytes than the datagram holds.
        assert_eq!(g.send(1, UDP500, &h, 100), NF_DROP);
        assert_eq!(g.c_counter(shim::IPVSA_GCNT_MALFORMED), 1);
        // Shorter than an IKE header; IKE length beyond the payload.
        assert_eq!(g.packet(1, UDP500, &h[..20]), NF_DROP);
        let mut long = h;
        long[27] = 200;
        assert_eq!(g.packet(1, UDP500, &long), NF_DROP);
        let mut v3 = h;
        v3[17] = 0x30;
        assert_eq!(g.packet(1, UDP500, &v3), NF_DROP);
        assert_eq!(g.counter(GateEvent::IsakmpBadHeader), 3);
        assert_eq!(g.packet(1, UDP500, &[]), NF_DROP);
        assert_eq!(g.counts(), (0, 0, 0));
        Ok(())
    }

    #[test]
    fn timers_and_collector() -> Result {
        let g = TestGate::new(false, 0, 16)?;
        g.packet(1, UDP500, &ike(IC, [0; 8]));
        g.packet(2, UDP500, &ike(IC, [0; 8]));
        g.packet(2, UDP500, &ike(IC, RC));
        // INITIAL lives 30 s; ESTABLISHED 3600 s, refreshed by ISAKMP only.
        g.advance(31, true);
        assert_eq!(g.counts(), (1, 0, 0));
        assert_eq!(g.c_counter(shim::IPVSA_GCNT_EXPIRED), 1);
        g.advance(3000, false);
        assert_eq!(g.packet(2, PESP, &ESP), NF_ACCEPT);
        g.advance(600, true);
        // ESP did not refresh the entry.
        assert_eq!(g.packet(2, PESP, &ESP), NF_DROP);
        assert_eq!(g.counts(), (0, 0, 0));
        // ISAKMP (here a keepalive) does refresh.
        g.packet(3, UDP500, &ike(IC, [0; 8]));
        g.packet(3, UDP500, &ike(IC, RC));
        g.advance(3000, false);
        g.packet(3, UDP4500, &[0xff]);
        g.advance(3000, true);
        assert_eq!(g.packet(3, PESP, &ESP), NF_ACCEPT);
        Ok(())
    }

    #[test]
    fn cap_on_initial_entries_spares_established_ones() -> Result {
        let g = TestGate::new(false, 0, 3)?;
        g.packet(1, UDP500, &ike(IC, [0; 8]));
        g.packet(1, UDP500, &ike(IC, RC));
        for c in 10..20u8 {
            g.packet(c, UDP500, &ike([c; 8], [0; 8]));
        }
        assert_eq!(g.counter(GateEvent::InitialCreated), 4);
        assert_eq!(g.counter(GateEvent::InitialCap), 7);
        assert_eq!(g.counts(), (4, 3, 0));
        assert_eq!(g.packet(1, PESP, &ESP), NF_ACCEPT);
        // Room again once the flood's entries are collected.
        g.advance(31, true);
        assert_eq!(g.packet(30, UDP500, &ike(IC, [0; 8])), NF_ACCEPT);
        assert_eq!(g.counts(), (2, 1, 0));
        Ok(())
    }

    #[test]
    fn soft_expiry_keeps_quota_entries() -> Result {
        let g = TestGate::new(false, 1, 16)?;
        for c in [1u8, 2] {
            g.packet(c, UDP500, &ike(IC, [0; 8]));
            g.packet(c, UDP500, &ike(IC, RC));
        }
        // The collector looks one second ahead.
        g.advance(3599, true);
        assert_eq!(g.counts(), (2, 0, 1));
        assert_eq!(g.c_counter(shim::IPVSA_GCNT_SOFT_EXTENDED), 1);
        g.advance(1, true);
        assert_eq!(g.counts(), (1, 0, 1));
        let kept = if g.packet(1, PESP, &ESP) == NF_ACCEPT {
            1
        } else {
            2
        };
        assert_eq!(g.packet(3 - kept, PESP, &ESP), NF_DROP);
        assert_eq!(g.packet(kept, UDP4500, &[0xff]), NF_ACCEPT);
        assert_eq!(g.counter(GateEvent::SoftRevived), 1);
        assert_eq!(g.counts(), (1, 0, 0));
        Ok(())
    }

    #[test]
    fn ffi_tables_agree_with_the_pure_crate() -> Result {
        let mut buf = [0u8; 32];
        for i in 0..shim::IPVSA_GCNT_MAX {
            // SAFETY: `buf` is writable for its length.
            let ok = unsafe { ipvsa_rs_gate_counter_name(i, buf.as_mut_ptr().cast(), 32) };
            assert!(ok);
            let name = counter_name(i).ok_or(EINVAL)?;
            assert_eq!(&buf[..name.len()], name.as_bytes());
            assert_eq!(buf[name.len()], 0);
        }
        // SAFETY: As above.
        assert!(!unsafe {
            ipvsa_rs_gate_counter_name(shim::IPVSA_GCNT_MAX, buf.as_mut_ptr().cast(), 32)
        });
        // SAFETY: As above; a 4-byte buffer is too small for any name.
        assert!(!unsafe { ipvsa_rs_gate_counter_name(0, buf.as_mut_ptr().cast(), 4) });
        for ev in GateEvent::ALL {
            let v = ipvsa_rs_gate_verdict(ev.index() as u32);
            let want = match ev.verdict() {
                Verdict::Pass => shim::IPVSA_GATE_PASS,
                Verdict::Drop => shim::IPVSA_GATE_DROP,
                Verdict::RejectNoEntry => shim::IPVSA_GATE_REJECT,
            };
            assert_eq!(v, want);
        }
        assert_eq!(ipvsa_rs_gate_verdict(999), shim::IPVSA_GATE_DROP);
        // A state round-trips through the C representation.
        let cfg = Config::DEFAULT;
        let mut e = Entry::established_from_sync(5, &cfg);
        assert!(e.soft_extend(3605, &cfg));
        let mut st = shim::ipvsa_gate_state::default();
        entry_to(&e, &mut st);
        assert_eq!(entry_from(&st), Some(e));
        st.state = 9;
        assert_eq!(entry_from(&st), None);
        Ok(())
    }
}

/// `setsockopt(IPVSA_SO_IPSEC)` in namespace `net`: one gate command.
pub(crate) fn sockopt_set(net: Net<'_>, arg: &SetArg<'_>) -> Result {
    const LEN: usize = size_of::<shim::ipvsa_ipsec_cmd>();
    if arg.len() != LEN {
        return Err(EINVAL);
    }
    let mut cmd = [0u8; LEN];
    arg.read(&mut cmd)?;
    // SAFETY: `net` is alive for the call; `cmd` holds `LEN` bytes, the
    // size the C side copies the command from (it reads them as its own
    // struct, whatever their values). CAST: the shim's `struct net` is the
    // kernel's, declared opaquely.
    kernel::error::to_result(unsafe {
        shim::ipvsa_ipsec_set(net.as_raw().cast(), cmd.as_ptr().cast(), LEN as u32)
    })
}

/// `getsockopt(IPVSA_SO_IPSEC)` in namespace `net`: the gate's status.
pub(crate) fn sockopt_get(net: Net<'_>, buf: &mut GetBuf<'_>) -> Result {
    const LEN: usize = size_of::<shim::ipvsa_ipsec_status>();
    if buf.capacity() < LEN {
        return Err(EINVAL);
    }
    let mut st = KBox::new(shim::ipvsa_ipsec_status::default(), GFP_KERNEL)?;
    // SAFETY: `net` is alive; `st` is a valid status to fill. CAST: as
    // above.
    kernel::error::to_result(unsafe { shim::ipvsa_ipsec_get(net.as_raw().cast(), &mut *st) })?;
    // SAFETY: A C struct of integers and byte arrays; every byte was
    // zeroed by `default()` or written by the C side.
    let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(&*st).cast::<u8>(), LEN) };
    buf.write(bytes)
}
