// SPDX-License-Identifier: GPL-2.0

//! Host build of the pure protocol core of `ip_vs_sync_auth`.
//!
//! The kernel module compiles `mod.rs` as its module `proto`; this crate root
//! compiles the very same files on the host so that `cargo test` can check
//! them. Nothing here may depend on the kernel: this build proves it.

#![cfg_attr(not(test), no_std)]

#[path = "mod.rs"]
mod proto;

pub use proto::*;
