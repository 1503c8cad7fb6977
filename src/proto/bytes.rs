// SPDX-License-Identifier: GPL-2.0

//! Bounds-checked big-endian field access for the parsers: every reader
//! returns `None` instead of panicking when the buffer is too short.

/// Reads the `K` bytes at `off`, if `p` is long enough.
pub(crate) fn get_bytes<const K: usize>(p: &[u8], off: usize) -> Option<[u8; K]> {
    p.get(off..)?.first_chunk::<K>().copied()
}

/// Reads the byte at `off`, if `p` is long enough.
pub(crate) fn get_u8(p: &[u8], off: usize) -> Option<u8> {
    p.get(off).copied()
}

/// Reads the be16 at `off`, if `p` is long enough.
pub(crate) fn get_be16(p: &[u8], off: usize) -> Option<u16> {
    get_bytes::<2>(p, off).map(u16::from_be_bytes)
}

/// Reads the be32 at `off`, if `p` is long enough.
pub(crate) fn get_be32(p: &[u8], off: usize) -> Option<u32> {
    get_bytes::<4>(p, off).map(u32::from_be_bytes)
}

/// Writes `v` as a be16 at `off`, if `p` is long enough.
pub(crate) fn put_be16(p: &mut [u8], off: usize, v: u16) -> Option<()> {
    p.get_mut(off..)?
        .first_chunk_mut::<2>()
        .map(|b| *b = v.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_and_writer_respect_bounds() {
        let mut p = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(get_u8(&p, 4), Some(0x9a));
        assert_eq!(get_u8(&p, 5), None);
        assert_eq!(get_be16(&p, 3), Some(0x789a));
        assert_eq!(get_be16(&p, 4), None);
        assert_eq!(get_be32(&p, 1), Some(0x3456_789a));
        assert_eq!(get_be32(&p, 2), None);
        assert_eq!(get_be32(&p, usize::MAX), None);
        assert_eq!(put_be16(&mut p, 3, 0xbeef), Some(()));
        assert_eq!(p, [0x12, 0x34, 0x56, 0xbe, 0xef]);
        assert_eq!(put_be16(&mut p, 4, 1), None);
        assert_eq!(p, [0x12, 0x34, 0x56, 0xbe, 0xef]);
    }
}
