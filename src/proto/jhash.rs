// SPDX-License-Identifier: GPL-2.0

//! The kernel's `jhash2()` (include/linux/jhash.h: Bob Jenkins' lookup3
//! `hashword()`), for the IPsec gate's table. Written here rather than
//! called through a C helper, because the kernel's is a static inline: in
//! C it is unrolled for a constant length, through a helper it would be
//! one out-of-line call and a generic loop per packet.

/// `JHASH_INITVAL`.
const INITVAL: u32 = 0xdead_beef;

/// `__jhash_mix()`.
#[inline(always)]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// `__jhash_final()`.
#[inline(always)]
fn last(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// `jhash2(k, N, initval)`: the same value as the kernel's for the same
/// words and seed. `N` is a constant, so the loop unrolls as the C one
/// does for a constant length.
#[inline]
pub fn jhash2<const N: usize>(k: &[u32; N], initval: u32) -> u32 {
    // The kernel takes the length as a `u32` and shifts it left by 2.
    let init = INITVAL
        .wrapping_add((N as u32).wrapping_shl(2))
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    // Every block but the last of 1 to 3 words is mixed in.
    let mut rest: &[u32] = k;
    while let [x, y, z, tail @ ..] = rest {
        if tail.is_empty() {
            break;
        }
        a = a.wrapping_add(*x);
        b = b.wrapping_add(*y);
        c = c.wrapping_add(*z);
        mix(&mut a, &mut b, &mut c);
        rest = tail;
    }
    match rest {
        [x, y, z] => {
            c = c.wrapping_add(*z);
            b = b.wrapping_add(*y);
            a = a.wrapping_add(*x);
        }
        [x, y] => {
            b = b.wrapping_add(*y);
            a = a.wrapping_add(*x);
        }
        [x] => a = a.wrapping_add(*x),
        _ => return c,
    }
    last(&mut a, &mut b, &mut c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of the vectors: `0x01020304 * (i + 1) + i`.
    fn words() -> [u32; 9] {
        core::array::from_fn(|i| {
            0x0102_0304u32
                .wrapping_mul(i as u32 + 1)
                .wrapping_add(i as u32)
        })
    }

    fn prefix<const N: usize>(seed: u32) -> u32 {
        let w = words();
        let k: [u32; N] = core::array::from_fn(|i| w[i]);
        jhash2(&k, seed)
    }

    /// Values of the kernel's own `jhash2()`: its macros and function,
    /// cut from include/linux/jhash.h of 7.3.4 with sed, compiled with
    /// GCC on the host and run on `words()[..n]` with each seed.
    #[test]
    fn matches_the_kernels_jhash2() {
        let by_len: [[u32; 3]; 10] = [
            [0xdeadbeef, 0xdeadbef0, 0x7ce538a8],
            [0xec5b1971, 0xdce14329, 0xb995150c],
            [0x9fb27abf, 0xb83799ea, 0xbdb528b7],
            [0xbd2f44f4, 0x16d29454, 0x851dc4d6],
            [0x61eaf4fe, 0x311a0087, 0x7fb605fb],
            [0x489353ac, 0x4d7a62fa, 0x6c6ebdef],
            [0x999c3dc7, 0xc6959970, 0x91e1f6ac],
            [0x47acb844, 0xb2887847, 0x3cb981fe],
            [0xc2d067e2, 0x4af11115, 0xd7263ffa],
            [0x78900b97, 0x7a914c9f, 0x96923074],
        ];
        for (s, seed) in [0u32, 1, 0x9e37_79b9].into_iter().enumerate() {
            let got = [
                prefix::<0>(seed),
                prefix::<1>(seed),
                prefix::<2>(seed),
                prefix::<3>(seed),
                prefix::<4>(seed),
                prefix::<5>(seed),
                prefix::<6>(seed),
                prefix::<7>(seed),
                prefix::<8>(seed),
                prefix::<9>(seed),
            ];
            for (n, v) in got.iter().enumerate() {
                assert_eq!(*v, by_len[n][s], "{n} words, seed {seed:#x}");
            }
        }
    }

    /// Every input word changes the hash (a block that were skipped or
    /// added twice would leave some flip unseen).
    #[test]
    fn every_word_counts() {
        let w = words();
        let base = jhash2(&w, 7);
        for i in 0..w.len() {
            for bit in [0, 13, 31] {
                let mut v = w;
                v[i] ^= 1 << bit;
                assert_ne!(jhash2(&v, 7), base, "word {i} bit {bit}");
            }
        }
    }
}
