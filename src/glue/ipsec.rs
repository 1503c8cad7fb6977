// SPDX-License-Identifier: GPL-2.0

//! The IPsec gate's status as bytes for its socket option. The gate itself
//! is [`crate::gate`].

use crate::shim;
use core::ptr;

/// The status as the bytes the get sockopt copies out.
pub(crate) fn status_bytes(st: &shim::ipvsa_ipsec_status) -> &[u8] {
    // SAFETY: `ipvsa_ipsec_status` is a C struct of integers and bytes with
    // no padding (checked below); all of its bytes are initialised.
    unsafe {
        core::slice::from_raw_parts(
            ptr::from_ref(st).cast::<u8>(),
            size_of::<shim::ipvsa_ipsec_status>(),
        )
    }
}
const _: () = assert!(
    size_of::<shim::ipvsa_ipsec_status>()
        == 32 + 8 * shim::IPVSA_GCNT_MAX as usize + 36 * shim::IPVSA_IPSEC_MAX_SVC as usize
);
