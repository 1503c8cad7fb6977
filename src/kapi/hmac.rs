// SPDX-License-Identifier: GPL-2.0

//! RAII wrapper for a keyed `hmac(md5)` shash transform of the Crypto API,
//! and the benchmark's bare digests.

use crate::proto::icv::{Icv, Mac, HMAC_MD5_LEN, ICV_LEN};
use crate::shim;
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, to_result};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Longest message part list one [`HmacMd5::mac`] call accepts.
const MAX_PARTS: usize = shim::IPVSA_HMAC_MAX_PARTS as usize;

/// An `hmac(md5)` shash transform whose key is set.
///
/// Created in process context; afterwards [`Mac::mac`] may be called from
/// any context, softirq included, and concurrently: each call uses its own
/// descriptor on the stack and allocates nothing. The key cannot be read
/// back and is never changed: re-keying means building a new transform
/// (the crypto core zeroes the key material when the transform is freed).
///
/// # Invariants
///
/// `tfm` points to a live transform returned by `crypto_alloc_shash()` for
/// `hmac(md5)`, whose key has been set successfully. This object owns it
/// and frees it exactly once, in `Drop`.
pub(crate) struct HmacMd5 {
    tfm: NonNull<shim::crypto_shash>,
    /// HMAC computations run with this key (shown by the benchmark, which
    /// checks that early drops run none).
    calls: Atomic<u64>,
}

// SAFETY: The transform is not tied to the thread that created it; it may be
// freed from any process context.
unsafe impl Send for HmacMd5 {}

// SAFETY: Shared references only run digests, which the Crypto API allows
// concurrently on one keyed shash transform (the per-call state lives in a
// separate descriptor); the key is never changed after construction.
unsafe impl Sync for HmacMd5 {}

impl HmacMd5 {
    /// Allocates a transform and sets its key. Process context only.
    ///
    /// Fails with `EINVAL` for an empty key, or with the Crypto API's error
    /// (`ENOENT` if the kernel has no `hmac(md5)`).
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        if key.is_empty() {
            return Err(EINVAL);
        }
        let keylen = u32::try_from(key.len()).map_err(|_| EINVAL)?;
        // SAFETY: `ipvsa_hmac_md5_alloc()` has no preconditions; this is
        // process context, as the allocation may sleep or load a module.
        let raw = from_err_ptr(unsafe { shim::ipvsa_hmac_md5_alloc() })?;
        let tfm = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: `tfm` is live and not shared with anybody yet; `key` is
        // valid for reads of `keylen` bytes for the duration of the call.
        let ret = unsafe { shim::ipvsa_hmac_setkey(tfm.as_ptr(), key.as_ptr(), keylen) };
        if let Err(e) = to_result(ret) {
            // SAFETY: `tfm` came from `ipvsa_hmac_md5_alloc()`, is used by
            // nobody else and is not used after this.
            unsafe { shim::ipvsa_hmac_free(tfm.as_ptr()) };
            return Err(e);
        }
        // INVARIANT: `tfm` is live, keyed, and owned by the new object.
        Ok(Self {
            tfm,
            calls: Atomic::new(0),
        })
    }
}

impl HmacMd5 {
    /// Number of HMACs computed with this key so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }

    /// Raw transform, for the benchmark's bare-digest baseline.
    fn raw(&self) -> *mut shim::crypto_shash {
        self.tfm.as_ptr()
    }
}

impl Mac for HmacMd5 {
    type Error = Error;

    fn mac(&self, parts: &[&[u8]]) -> Result<[u8; HMAC_MD5_LEN]> {
        if parts.len() > MAX_PARTS {
            return Err(EINVAL);
        }
        let mut bufs = [shim::ipvsa_buf::default(); MAX_PARTS];
        for (buf, part) in bufs.iter_mut().zip(parts) {
            buf.data = part.as_ptr();
            buf.len = u32::try_from(part.len()).map_err(|_| EINVAL)?;
        }
        let mut out = [0u8; HMAC_MD5_LEN];
        self.calls.add(1, Relaxed);
        // SAFETY: By the type invariant `tfm` is a live keyed transform. The
        // first `parts.len()` (at most `MAX_PARTS`) entries of `bufs` each
        // describe a slice borrowed for the whole call, and `out` has room for
        // the 16-byte digest the shim writes (it checks the digest size).
        let ret = unsafe {
            shim::ipvsa_hmac_digest(
                self.tfm.as_ptr(),
                bufs.as_ptr(),
                parts.len() as u32,
                out.as_mut_ptr(),
            )
        };
        to_result(ret)?;
        Ok(out)
    }

    fn icv_eq(&self, a: &Icv, b: &Icv) -> bool {
        // SAFETY: `a` and `b` are each valid for reads of `ICV_LEN` bytes.
        let ne =
            unsafe { shim::ipvsa_memneq(a.as_ptr().cast(), b.as_ptr().cast(), ICV_LEN as u32) };
        ne == 0
    }
}

impl Drop for HmacMd5 {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this object owns the live transform;
        // `drop` runs once, and nothing uses `tfm` afterwards.
        unsafe { shim::ipvsa_hmac_free(self.tfm.as_ptr()) };
    }
}

#[kunit_tests(ip_vs_sync_auth_hmac)]
mod tests {
    use super::*;
    use crate::proto::icv::{sync_icv, truncate_96};
    use crate::proto::vectors::{RFC2202_CASE5_DIGEST_96, RFC2202_HMAC_MD5};

    /// Runs RFC 2202 case `n` through the kernel's `hmac(md5)`; returns the
    /// digest computed and the one expected.
    fn rfc2202(n: usize) -> Result<([u8; HMAC_MD5_LEN], [u8; HMAC_MD5_LEN])> {
        let v = RFC2202_HMAC_MD5.get(n.wrapping_sub(1)).ok_or(EINVAL)?;
        if v.case as usize != n {
            return Err(EINVAL);
        }
        let tfm = HmacMd5::new(v.key)?;
        Ok((tfm.mac(&[v.data])?, v.digest))
    }

    #[test]
    fn rfc2202_case_1() -> Result {
        let (got, want) = rfc2202(1)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_2() -> Result {
        let (got, want) = rfc2202(2)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_3() -> Result {
        let (got, want) = rfc2202(3)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_4() -> Result {
        let (got, want) = rfc2202(4)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_5() -> Result {
        let (got, want) = rfc2202(5)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_6() -> Result {
        let (got, want) = rfc2202(6)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn rfc2202_case_7() -> Result {
        let (got, want) = rfc2202(7)?;
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn truncation_to_96_bits() -> Result {
        let (got, _) = rfc2202(5)?;
        assert_eq!(truncate_96(&got), RFC2202_CASE5_DIGEST_96);
        Ok(())
    }

    #[test]
    fn incremental_updates_equal_one_shot() -> Result {
        // The seed's ICV is three incremental updates; they must give the
        // digest of the concatenation.
        let v = &RFC2202_HMAC_MD5[6];
        let tfm = HmacMd5::new(v.key)?;
        let (a, rest) = v.data.split_at(16);
        let (c, h) = rest.split_at(40);
        assert_eq!(tfm.mac(&[a, c, h])?, v.digest);
        Ok(())
    }

    #[test]
    fn sync_icv_order_differs_from_wire_order() -> Result {
        let tfm = HmacMd5::new(b"tot0234")?;
        let hdr = [0u8, 150, 0x00, 0x3c, 1, 1, 0x00, 0x01];
        let entries = [0x11u8; 36];
        let icv = sync_icv(&tfm, 7, &entries, &hdr)?;
        let a = crate::proto::icv::auth_header_for_mac(7);
        assert_eq!(icv, truncate_96(&tfm.mac(&[&a, &entries, &hdr])?));
        assert!(icv != truncate_96(&tfm.mac(&[&hdr, &a, &entries])?));
        Ok(())
    }

    #[test]
    fn icv_compare_detects_single_bit() -> Result {
        let tfm = HmacMd5::new(b"k")?;
        let a = [0x5au8; ICV_LEN];
        let mut b = a;
        assert!(tfm.icv_eq(&a, &b));
        b[ICV_LEN - 1] ^= 1;
        assert!(!tfm.icv_eq(&a, &b));
        Ok(())
    }

    #[test]
    fn empty_key_is_rejected() {
        assert!(HmacMd5::new(&[]).is_err());
    }
}

/// Benchmark only: nanoseconds for `rounds` bare `crypto_shash_digest()`
/// calls over `buf` with `mac`'s transform (the shim's loop, no Rust in
/// it).
pub(crate) fn bench_shash(mac: &HmacMd5, buf: &[u8], rounds: u32) -> u64 {
    let Ok(len) = u32::try_from(buf.len()) else {
        return 0;
    };
    // SAFETY: `mac`'s transform is live (type invariant); `buf` is valid
    // for `len` bytes.
    unsafe { shim::ipvsa_bench_shash(mac.raw(), buf.as_ptr(), len, rounds) }
}

/// Benchmark only: nanoseconds for `rounds` HMAC-MD5 computations over
/// `buf` with the kernel's library `hmac_md5()` (no Crypto API transform).
pub(crate) fn bench_lib(key: &[u8], buf: &[u8], rounds: u32) -> u64 {
    let (Ok(klen), Ok(len)) = (u32::try_from(key.len()), u32::try_from(buf.len())) else {
        return 0;
    };
    // SAFETY: `key` and `buf` are valid for the lengths passed.
    unsafe { shim::ipvsa_bench_lib(key.as_ptr(), klen, buf.as_ptr(), len, rounds) }
}
