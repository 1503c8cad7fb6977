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
    assert!(
        GateEvent::EstablishedRefresh.index() == shim::IPVSA_GEV_ESTABLISHED_REFRESH as usize
    );
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
        None => C_COUNTERS.get(idx.checked_sub(GateEvent::ALL.len())?).copied(),
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
    entry_to(&Entry::established_from_sync(now, &cfg), unsafe { &mut *st });
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
