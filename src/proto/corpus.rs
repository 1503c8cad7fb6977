// SPDX-License-Identifier: GPL-2.0

//! Corpus-seeded fuzzing of the parsers (host tests only).
//!
//! `fuzz/corpus/` holds real inputs: authenticated sync messages captured
//! on the wire from IPVS master daemons running the module (key `tot0234`,
//! QEMU tests 20, 21 and 24) and IKE / NAT-T / ESP payloads as the test
//! clients send them. Every seed is first checked to be what its name says;
//! then the property tests mutate seeds (bit flips, byte changes,
//! truncation, insertion, deletion) and run the result through every
//! parser: nothing may panic, and no mutated sync message may pass the ICV.
//! Random inputs (the other property tests) rarely get past the first length
//! or header check; mutated real messages do, so these reach the deep paths.
//! `make fuzz` runs them at scale. A seed that ever finds a bug is added to
//! the corpus with its fix.

use super::icv::AUTH_HDR_LEN;
use super::isakmp::{classify, classify_natt, parse_ike, Input, NattKind, Transport};
use super::msg::{rx_parse, rx_strip_front, tx_classify, tx_insert_in_place, REQUIRED_TTL};
use super::testutil::RustCryptoHmacMd5;
use proptest::prelude::*;
use std::path::PathBuf;
use std::string::String;
use std::sync::OnceLock;
use std::vec::Vec;
use std::{fs, vec};

/// The key the captured sync messages were signed with.
const CORPUS_KEY: &[u8] = b"tot0234";

/// The seeds of `fuzz/corpus/<dir>` (`sync` or `ike`), sorted by name,
/// read once per test process.
fn seeds(dir: &str) -> &'static [(String, Vec<u8>)] {
    static SYNC: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    static IKE: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    let cell = if dir == "sync" { &SYNC } else { &IKE };
    cell.get_or_init(|| read_seeds(dir))
}

fn read_seeds(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fuzz", "corpus", dir]
        .iter()
        .collect();
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", path.display());
    out
}

/// The transport a seed of `fuzz/corpus/ike` arrives on, from its name.
fn transport_of(name: &str) -> Transport {
    match name.split('-').next() {
        Some("udp500") => Transport::Udp500,
        Some("udp4500") => Transport::Udp4500,
        Some("esp") => Transport::Esp,
        Some("ah") => Transport::Ah,
        _ => panic!("{name}: unknown transport prefix"),
    }
}

/// One mutation of a seed.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { pos: usize, bit: u8 },
    Set { pos: usize, val: u8 },
    Truncate { len: usize },
    Insert { pos: usize, val: u8 },
    Delete { pos: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(pos, bit)| Mutation::Flip { pos, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(pos, val)| Mutation::Set { pos, val }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (any::<usize>(), any::<u8>()).prop_map(|(pos, val)| Mutation::Insert { pos, val }),
        any::<usize>().prop_map(|pos| Mutation::Delete { pos }),
    ]
}

/// Applies `muts` to `seed`; positions wrap around the current length.
fn mutate(seed: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in muts {
        let n = b.len();
        match *m {
            Mutation::Flip { pos, bit } if n > 0 => b[pos % n] ^= 1 << bit,
            Mutation::Set { pos, val } if n > 0 => b[pos % n] = val,
            Mutation::Truncate { len } => b.truncate(len % (n + 1)),
            Mutation::Insert { pos, val } => b.insert(pos % (n + 1), val),
            Mutation::Delete { pos } if n > 0 => {
                b.remove(pos % n);
            }
            _ => {}
        }
    }
    b
}

/// Every parser of the sync path on `msg`; returns whether the message
/// passed the ICV (checking the invariants on the way).
fn run_sync(msg: &[u8]) -> Result<bool, TestCaseError> {
    let key = RustCryptoHmacMd5(CORPUS_KEY.to_vec());
    let mut accepted = false;
    for ttl in [REQUIRED_TTL, 254] {
        if let Ok(rx) = rx_parse(msg, ttl) {
            prop_assert_eq!(ttl, REQUIRED_TTL);
            prop_assert_eq!(
                rx.header().len() + AUTH_HDR_LEN + rx.entries().len(),
                msg.len()
            );
            accepted = rx.verify(&key) == Ok(true);
        }
    }
    let mut buf = msg.to_vec();
    match rx_strip_front(&mut buf) {
        Ok(off) => {
            prop_assert_eq!(off, AUTH_HDR_LEN);
            let buf = &buf[off..];
            let n = buf.len();
            // A stripped message is a plaintext message the master would
            // sign, and signing it again with the same sequence number
            // gives back exactly the input when the ICV was right.
            if accepted {
                let seq = rx_parse(msg, REQUIRED_TTL).map(|r| r.seq()).unwrap_or(0);
                prop_assert!(tx_classify(&buf[..n]).is_some());
                let mut again = vec![0u8; msg.len()];
                again[..n].copy_from_slice(&buf[..n]);
                let len = tx_insert_in_place(&mut again, n, seq, &key);
                prop_assert_eq!(len, Ok(msg.len()));
                prop_assert_eq!(&again[..], msg);
            }
        }
        Err(_) => prop_assert_eq!(&buf[..], msg, "a failed strip changed the buffer"),
    }
    // The master side on arbitrary bytes: no panic, length grows by 16.
    let mut tx = msg.to_vec();
    tx.resize(msg.len() + AUTH_HDR_LEN, 0);
    if let Ok(n) = tx_insert_in_place(&mut tx, msg.len(), 1, &key) {
        prop_assert_eq!(n, msg.len() + AUTH_HDR_LEN);
    }
    Ok(accepted)
}

/// Every parser of the gate on `payload` arriving on `tr`.
fn run_ike(tr: Transport, payload: &[u8]) -> Result<(), TestCaseError> {
    for t in [
        Transport::Udp500,
        Transport::Udp4500,
        Transport::Esp,
        Transport::Ah,
    ] {
        let _ = classify(t, payload);
    }
    if let Ok(h) = parse_ike(payload) {
        prop_assert!(h.icookie != [0; 8]);
        prop_assert!(usize::try_from(h.length).unwrap() <= payload.len());
    }
    if let NattKind::Ike(rest) = classify_natt(payload) {
        prop_assert_eq!(rest.len() + 4, payload.len());
    }
    if let Ok(Input::Isakmp(h)) = classify(tr, payload) {
        prop_assert!(h.icookie != [0; 8]);
    }
    Ok(())
}

#[test]
fn sync_seeds_are_authentic_ipvs_messages() {
    for (name, msg) in seeds("sync") {
        let accepted = run_sync(msg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(accepted, "{name}: does not verify with the corpus key");
        let rx = rx_parse(msg, REQUIRED_TTL).unwrap();
        let want_v0 = name.starts_with("v0-");
        assert_eq!(
            rx.layout() == super::msg::Layout::V0,
            want_v0,
            "{name}: layout"
        );
        assert!(rx.nr_conns() > 0, "{name}: no connections");
    }
}

#[test]
fn ike_seeds_classify_as_named() {
    for (name, p) in seeds("ike") {
        let tr = transport_of(name);
        let got = classify(tr, p);
        let want = if name.contains("keepalive") {
            Input::Keepalive
        } else if name.contains("esp") {
            Input::Esp
        } else {
            let h = match tr {
                Transport::Udp4500 => parse_ike(&p[4..]),
                _ => parse_ike(p),
            };
            Input::Isakmp(h.unwrap_or_else(|e| panic!("{name}: {e:?}")))
        };
        assert_eq!(got, Ok(want), "{name}");
        if let Input::Isakmp(h) = want {
            assert_eq!(
                h.rcookie_is_zero(),
                !name.contains("auth"),
                "{name}: rcookie"
            );
        }
        run_ike(tr, p).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

proptest! {
    /// Mutated captured sync messages: no panic anywhere, invariants hold,
    /// and no mutation that changes the bytes keeps a valid ICV.
    #[test]
    fn corpus_sync_mutations(
        idx in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let all = seeds("sync");
        let (name, seed) = &all[idx % all.len()];
        let msg = mutate(seed, &muts);
        let accepted = run_sync(&msg)?;
        prop_assert!(!accepted || msg == *seed, "{}: a mutated message verified", name);
    }

    /// Mutated IKE / NAT-T / ESP payloads through every gate parser.
    #[test]
    fn corpus_ike_mutations(
        idx in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let all = seeds("ike");
        let (name, seed) = &all[idx % all.len()];
        let p = mutate(seed, &muts);
        run_ike(transport_of(name), &p)?;
    }
}

#[test]
fn mutations_do_what_they_say() {
    let s = [1u8, 2, 3];
    assert_eq!(mutate(&s, &[Mutation::Flip { pos: 4, bit: 0 }]), [1, 3, 3]);
    assert_eq!(mutate(&s, &[Mutation::Set { pos: 0, val: 9 }]), [9, 2, 3]);
    assert_eq!(mutate(&s, &[Mutation::Truncate { len: 2 }]), [1, 2]);
    assert_eq!(
        mutate(&s, &[Mutation::Insert { pos: 3, val: 7 }]),
        [1, 2, 3, 7]
    );
    assert_eq!(mutate(&s, &[Mutation::Delete { pos: 1 }]), [1, 3]);
    assert_eq!(
        mutate(&[], &[Mutation::Delete { pos: 1 }]),
        Vec::<u8>::new()
    );
}
