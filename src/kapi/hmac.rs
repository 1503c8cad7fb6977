// SPDX-License-Identifier: GPL-2.0

//! RAII wrapper for a keyed `hmac(md5)` shash transform of the Crypto API,
//! and the benchmark's bare digests.
//!
//! C header: [`include/crypto/hash.h`](srctree/include/crypto/hash.h)

use super::bindings as b;
use super::inline_atomic::InlineAdd;
use crate::proto::icv::{Icv, Mac, HMAC_MD5_LEN, ICV_LEN};
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::NonNull;
use kernel::error::{from_err_ptr, to_result};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Bytes of the on-stack descriptor: what `SHASH_DESC_ON_STACK()` declares
/// (`sizeof(struct shash_desc) + HASH_MAX_DESCSIZE`; a `static_assert` in
/// the C helpers file ties the two).
const DESC_SIZE: usize = b::IPVSA_SHASH_DESC_SIZE as usize;

/// Storage for one `struct shash_desc` and the algorithm's state after it,
/// aligned as the C type (its `__ctx` is `ARCH_SLAB_MINALIGN`-aligned).
#[repr(C, align(8))]
struct DescBuf(MaybeUninit<[u8; DESC_SIZE]>);

const _: () = assert!(align_of::<DescBuf>() >= align_of::<b::shash_desc>());
const _: () = assert!(DESC_SIZE > size_of::<b::shash_desc>());

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
/// `hmac(md5)`, whose key has been set successfully, whose digest is
/// [`HMAC_MD5_LEN`] bytes and whose descriptor (`desc_len` bytes: the
/// `struct shash_desc` and `crypto_shash_descsize()` bytes of state) fits
/// in a [`DescBuf`]. This object owns it and frees it exactly once, in
/// `Drop`.
pub(crate) struct HmacMd5 {
    tfm: NonNull<b::crypto_shash>,
    desc_len: usize,
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

/// Frees a transform on the error paths of [`HmacMd5::new`].
///
/// # Invariants
///
/// `0` is a live transform from `crypto_alloc_shash()` that only this
/// guard refers to, until it is forgotten.
struct TfmGuard(NonNull<b::crypto_shash>);

impl Drop for TfmGuard {
    fn drop(&mut self) {
        // SAFETY: The guard holds a live transform from
        // `crypto_alloc_shash()` that nobody else uses; it is freed once.
        unsafe { b::ipvsa_crypto_free_shash(self.0.as_ptr()) };
    }
}

impl HmacMd5 {
    /// Allocates a transform and sets its key. Process context only.
    ///
    /// Fails with `EINVAL` for an empty key (or a transform whose digest
    /// or descriptor is not what this type expects), or with the Crypto
    /// API's error (`ENOENT` if the kernel has no `hmac(md5)`).
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        if key.is_empty() {
            return Err(EINVAL);
        }
        let keylen = u32::try_from(key.len()).map_err(|_| EINVAL)?;
        // SAFETY: The name is a NUL-terminated string; this is process
        // context, as the allocation may sleep or load a module.
        let raw = from_err_ptr(unsafe { b::crypto_alloc_shash(c"hmac(md5)".as_char_ptr(), 0, 0) })?;
        let guard = TfmGuard(NonNull::new(raw).ok_or(ENOMEM)?);
        let tfm = guard.0;
        // SAFETY: `tfm` is live.
        let digest = unsafe { b::ipvsa_crypto_shash_digestsize(tfm.as_ptr()) } as usize;
        // SAFETY: `tfm` is live.
        let state = unsafe { b::ipvsa_crypto_shash_descsize(tfm.as_ptr()) } as usize;
        let desc_len = size_of::<b::shash_desc>()
            .checked_add(state)
            .ok_or(EINVAL)?;
        if digest != HMAC_MD5_LEN || desc_len > DESC_SIZE {
            return Err(EINVAL);
        }
        // SAFETY: `tfm` is live and not shared with anybody yet; `key` is
        // valid for reads of `keylen` bytes for the duration of the call.
        to_result(unsafe { b::crypto_shash_setkey(tfm.as_ptr(), key.as_ptr(), keylen) })?;
        core::mem::forget(guard);
        // INVARIANT: `tfm` is live, keyed, of the digest and descriptor
        // sizes checked above, and owned by the new object.
        Ok(Self {
            tfm,
            desc_len,
            calls: Atomic::new(0),
        })
    }

    /// Number of HMACs computed with this key so far.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }

    /// Runs the parts through a descriptor set up in `buf`; the digest
    /// goes to `out`.
    fn digest(&self, buf: &mut DescBuf, parts: &[&[u8]], out: &mut [u8; HMAC_MD5_LEN]) -> Result {
        let desc = buf.0.as_mut_ptr().cast::<b::shash_desc>();
        // SAFETY: `desc` points to `DESC_SIZE` writable bytes aligned for a
        // `struct shash_desc`; its `tfm` is the only field the caller sets
        // (the Crypto API initialises the state after it).
        unsafe { (*desc).tfm = self.tfm.as_ptr() };
        let len = |p: &[u8]| u32::try_from(p.len()).map_err(|_| EINVAL);
        // For every call below: `desc` is a descriptor of the live keyed
        // transform with room for its state (type invariant: `desc_len <=
        // DESC_SIZE`), used by this call alone; each part is a slice
        // borrowed for the whole call, and `out` has room for the
        // `HMAC_MD5_LEN`-byte digest (type invariant).
        // No parts: the digest of the empty message.
        let (last, first): (&[u8], &[&[u8]]) = match parts.split_last() {
            Some((last, first)) => (*last, first),
            None => (&[], &[]),
        };
        if first.is_empty() {
            // One part: one call.
            // SAFETY: See above.
            return to_result(unsafe {
                b::crypto_shash_digest(desc, last.as_ptr(), len(last)?, out.as_mut_ptr())
            });
        }
        // SAFETY: See above.
        to_result(unsafe { b::crypto_shash_init(desc) })?;
        for part in first {
            // `crypto_shash_update()` (inline) is `finup` without output.
            // SAFETY: See above; a null `out` asks for no digest yet.
            to_result(unsafe {
                b::crypto_shash_finup(desc, part.as_ptr(), len(part)?, core::ptr::null_mut())
            })?;
        }
        // SAFETY: See above.
        to_result(unsafe {
            b::crypto_shash_finup(desc, last.as_ptr(), len(last)?, out.as_mut_ptr())
        })
    }
}

impl Mac for HmacMd5 {
    type Error = Error;

    fn mac(&self, parts: &[&[u8]]) -> Result<[u8; HMAC_MD5_LEN]> {
        let mut out = [0u8; HMAC_MD5_LEN];
        let mut buf = DescBuf(MaybeUninit::uninit());
        self.calls.add_relaxed(1);
        let ret = self.digest(&mut buf, parts, &mut out);
        // The state is derived from the key: gone before the stack frame
        // is (the Crypto API zeroes it after a successful final step, not
        // after an error).
        // SAFETY: `buf` is valid for writes of `DESC_SIZE >= desc_len`
        // bytes (type invariant).
        unsafe { b::ipvsa_memzero_explicit(buf.0.as_mut_ptr().cast(), self.desc_len) };
        ret.map(|()| out)
    }

    fn icv_eq(&self, x: &Icv, y: &Icv) -> bool {
        // `crypto_memneq()` (inline) without its conversion to 0 or 1.
        // SAFETY: `x` and `y` are each valid for reads of `ICV_LEN` bytes.
        let ne = unsafe { b::__crypto_memneq(x.as_ptr().cast(), y.as_ptr().cast(), ICV_LEN) };
        ne == 0
    }
}

impl Drop for HmacMd5 {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this object owns the live transform;
        // `drop` runs once, and nothing uses `tfm` afterwards.
        unsafe { b::ipvsa_crypto_free_shash(self.tfm.as_ptr()) };
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

/// Benchmark only: nanoseconds for `rounds` bare
/// `crypto_shash_tfm_digest()` calls over `buf` with `mac`'s transform
/// (each call sets up its own descriptor: no code of this module runs in
/// between but the loop and the clock).
pub(crate) fn bench_shash(mac: &HmacMd5, buf: &[u8], rounds: u32) -> u64 {
    let Ok(len) = u32::try_from(buf.len()) else {
        return 0;
    };
    let mut out = [0u8; HMAC_MD5_LEN];
    let t0 = super::sys::monotonic_ns();
    for _ in 0..rounds {
        // SAFETY: `mac`'s transform is live and keyed, its digest
        // `HMAC_MD5_LEN` bytes (type invariant); `buf` is valid for `len`
        // bytes, `out` for the digest.
        unsafe {
            b::crypto_shash_tfm_digest(mac.tfm.as_ptr(), buf.as_ptr(), len, out.as_mut_ptr())
        };
    }
    super::sys::monotonic_ns().wrapping_sub(t0)
}

/// Benchmark only: nanoseconds for `rounds` HMAC-MD5 computations over
/// `buf` with the kernel's library `hmac_md5()` (no Crypto API transform).
pub(crate) fn bench_lib(key: &[u8], buf: &[u8], rounds: u32) -> u64 {
    let mut k = MaybeUninit::<b::hmac_md5_key>::zeroed();
    let mut out = [0u8; HMAC_MD5_LEN];
    // SAFETY: `k` is writable for a prepared key; `key` is valid for its
    // length.
    unsafe { b::hmac_md5_preparekey(k.as_mut_ptr(), key.as_ptr(), key.len()) };
    let t0 = super::sys::monotonic_ns();
    for _ in 0..rounds {
        // SAFETY: `k` holds a prepared key; `buf` is valid for its length,
        // `out` for the digest.
        unsafe { b::hmac_md5(k.as_ptr(), buf.as_ptr(), buf.len(), out.as_mut_ptr()) };
    }
    let t = super::sys::monotonic_ns().wrapping_sub(t0);
    // SAFETY: `k` is valid for writes of its size; it holds key material.
    unsafe { b::ipvsa_memzero_explicit(k.as_mut_ptr().cast(), size_of::<b::hmac_md5_key>()) };
    t
}
