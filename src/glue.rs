// SPDX-License-Identifier: GPL-2.0

//! Kernel glue: safe wrappers over the C shim.
//!
//! This is the only part of the module that calls into C. Each wrapper owns
//! its kernel object (RAII: acquired in the constructor, released in `Drop`)
//! and documents the context it may be used from.

pub(crate) mod hmac;
pub(crate) mod ipsec;
pub(crate) mod ipvs;
pub(crate) mod sync;
