// SPDX-License-Identifier: GPL-2.0

//! Module-local safe abstractions over kernel APIs the `kernel` crate does
//! not wrap: per-namespace data, netfilter hooks and socket options,
//! packets, `/proc` files, sysctls, an RCU hash table and an RCU-published
//! box, evidence of a caller's RCU read lock, cancelling delayed work, IPVS's connection table.
//!
//! This is the only part of the module with `unsafe` code: every `unsafe`
//! block carries a `// SAFETY:` comment, every type that relies on
//! something the compiler cannot check states it under `# Invariants`, and
//! every registration is undone when its owner is dropped. The leaf code
//! built on it (the sync hooks, the IPsec gate) has no `unsafe`. The model
//! is upstream's `rust/kernel/net/phy.rs`: a borrowed kernel object wrapped
//! in a type with a `from_raw` whose `# Safety` says what the caller
//! guarantees, `extern "C"` trampolines that turn results into errnos, and
//! a `Registration` that unregisters in `Drop`.

pub(crate) mod abi;
pub(crate) mod bhlock;
pub(crate) mod bindings;
pub(crate) mod hmac;
pub(crate) mod inline_atomic;
pub(crate) mod ipvs;
pub(crate) mod net;
pub(crate) mod netfilter;
pub(crate) mod procfs;
pub(crate) mod rcu;
pub(crate) mod rcu_box;
pub(crate) mod rcu_hash;
pub(crate) mod secret;
pub(crate) mod skb;
pub(crate) mod sockopt;
pub(crate) mod sys;
pub(crate) mod sysctl;
pub(crate) mod testskb;
pub(crate) mod work;
