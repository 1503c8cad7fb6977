// SPDX-License-Identifier: GPL-2.0

//! The module's socket option structures (`ip_vs_sync_auth_shim.h`) as
//! bytes for userspace: each is a C struct of integers and byte arrays
//! without padding, so all of its bytes are initialised and it may be
//! copied out as it is (`kernel::transmute::AsBytes`).

use crate::shim;
use kernel::transmute::AsBytes;

// SAFETY: Integers and byte arrays with no padding (checked below).
unsafe impl AsBytes for shim::ipvsa_status {}
const _: () = assert!(size_of::<shim::ipvsa_status>() == 32 + 8 * shim::IPVSA_CNT_MAX as usize);

// SAFETY: Integers with no padding (checked below).
unsafe impl AsBytes for shim::ipvsa_ext_status {}
const _: () = assert!(size_of::<shim::ipvsa_ext_status>() == 24 + 24 * 2);

// SAFETY: Integers and byte arrays with no padding (checked below: the
// header, the counters, and 36-byte service records).
unsafe impl AsBytes for shim::ipvsa_ipsec_status {}
const _: () = assert!(
    size_of::<shim::ipvsa_ipsec_status>()
        == 32 + 8 * shim::IPVSA_GCNT_MAX as usize + 36 * shim::IPVSA_IPSEC_MAX_SVC as usize
);
