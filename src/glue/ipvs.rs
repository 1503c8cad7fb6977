// SPDX-License-Identifier: GPL-2.0

//! Access to the IPVS module (`net/netfilter/ipvs/`).

use crate::shim;
use kernel::prelude::*;

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
    let name = unsafe { shim::ipvsa_ip_vs_proto_name(proto) };
    // SAFETY: `name` is non-NULL, NUL-terminated and never freed (see above).
    unsafe { CStr::from_char_ptr(name) }
}
