// SPDX-License-Identifier: GPL-2.0

//! Pure protocol logic of `ip_vs_sync_auth`.
//!
//! Everything here is plain `no_std` Rust with no `unsafe`, no allocation and
//! no dependency on the kernel crate, so it builds both into the module and on
//! the host, where `cargo test` checks it against reference implementations.
//! Kernel services (the Crypto API, packets) reach it through small traits
//! such as [`icv::Mac`], implemented by the module's `kapi` layer.

#![forbid(unsafe_code)]

pub mod addr;
mod bytes;
pub mod csum;
pub mod ext;
pub mod gate_list;
pub mod icv;
pub mod ipvs_layout;
pub mod isakmp;
pub mod jhash;
pub mod limits;
pub mod loglimit;
pub mod msg;
pub mod replay;
pub mod senders;

#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub mod vectors;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod testutil;
