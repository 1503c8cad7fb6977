// SPDX-License-Identifier: GPL-2.0

//! A buffer for key material, zeroed when it goes out of scope in a way
//! the compiler may not remove (`memzero_explicit()`).

use super::bindings as b;

/// Up to `N` bytes of a secret; zeroed on drop.
pub(crate) struct Secret<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Secret<N> {
    /// An empty secret.
    pub(crate) const fn new() -> Self {
        Secret {
            buf: [0; N],
            len: 0,
        }
    }

    /// The first `len` bytes, to be filled (at most `N`).
    pub(crate) fn fill(&mut self, len: usize) -> Option<&mut [u8]> {
        let dst = self.buf.get_mut(..len)?;
        self.len = len;
        Some(dst)
    }

    /// The secret's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> Drop for Secret<N> {
    fn drop(&mut self) {
        // SAFETY: `buf` is valid for writes of `N` bytes.
        unsafe { b::ipvsa_memzero_explicit(self.buf.as_mut_ptr().cast(), N) };
    }
}
