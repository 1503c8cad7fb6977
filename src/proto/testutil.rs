// SPDX-License-Identifier: GPL-2.0

//! Helpers shared by the host tests (never built into the module).

use super::icv::{Mac, HMAC_MD5_LEN};
use hmac::{Hmac, Mac as _};
use std::vec::Vec;

/// Reference HMAC-MD5 over the RustCrypto crates, keyed with `.0`.
pub(crate) struct RustCryptoHmacMd5(pub(crate) Vec<u8>);

impl Mac for RustCryptoHmacMd5 {
    type Error = ();

    fn mac(&self, parts: &[&[u8]]) -> Result<[u8; HMAC_MD5_LEN], ()> {
        let mut h = <Hmac<md5::Md5>>::new_from_slice(&self.0).map_err(|_| ())?;
        for p in parts {
            h.update(p);
        }
        Ok(h.finalize().into_bytes().into())
    }
}
