// SPDX-License-Identifier: GPL-2.0

//! Printing addresses the way the kernel's `%pI4` and `%pI6c` do, and the
//! way IPVS's `/proc/net/ip_vs_conn` does, for the module's `/proc` files.

use core::fmt;

/// An IPv4 address (network byte order), printed as `%pI4` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4(pub [u8; 4]);

impl fmt::Display for Ipv4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// An IPv6 address (network byte order), printed as `%pI6c` does: RFC
/// 5952 compression of the longest run of two or more zero groups (the
/// first of equal runs), lowercase hexadecimal without leading zeros, and
/// the last 32 bits in dotted form for IPv4-mapped and ISATAP addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6(pub [u8; 16]);

impl Ipv6 {
    fn group(&self, i: usize) -> u16 {
        let b = &self.0;
        match (b.get(2 * i), b.get(2 * i + 1)) {
            (Some(&h), Some(&l)) => u16::from_be_bytes([h, l]),
            _ => 0,
        }
    }

    /// `ipv6_addr_v4mapped()` or `ipv6_addr_is_isatap()`.
    fn ends_in_ipv4(&self) -> bool {
        let b = &self.0;
        let mapped = b[..10].iter().all(|&x| x == 0) && b[10] == 0xff && b[11] == 0xff;
        let isatap = (b[8] | 0x02) == 0x02 && b[9] == 0 && b[10] == 0x5e && b[11] == 0xfe;
        mapped || isatap
    }
}

impl fmt::Display for Ipv6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v4 = self.ends_in_ipv4();
        let range = if v4 { 6 } else { 8 };
        // The longest run of zero groups, the first of equal ones.
        let (mut colonpos, mut longest) = (None, 0usize);
        for i in 0..range {
            let run = (i..range).take_while(|&j| self.group(j) == 0).count();
            if run > longest {
                longest = run;
                colonpos = Some(i);
            }
        }
        if longest < 2 {
            colonpos = None;
        }
        let mut needcolon = false;
        let mut i = 0;
        while i < range {
            if Some(i) == colonpos {
                if needcolon || i == 0 {
                    f.write_str(":")?;
                }
                f.write_str(":")?;
                needcolon = false;
                i += longest;
                continue;
            }
            if needcolon {
                f.write_str(":")?;
            }
            write!(f, "{:x}", self.group(i))?;
            needcolon = true;
            i += 1;
        }
        if v4 {
            if needcolon {
                f.write_str(":")?;
            }
            let b = &self.0;
            write!(f, "{}", Ipv4([b[12], b[13], b[14], b[15]]))?;
        }
        Ok(())
    }
}

/// An address of either family (network byte order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpAddr {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

impl IpAddr {
    /// How many characters [`ProcAddr`] prints for an address of this
    /// family.
    pub const fn proc_width(&self) -> usize {
        match self {
            IpAddr::V4(_) => 8,
            IpAddr::V6(_) => 39,
        }
    }
}

/// An address printed as IPVS's `/proc/net/ip_vs_conn` prints it: IPv4 as
/// eight uppercase hexadecimal digits of the address read as a big-endian
/// number (`%08X` of `ntohl()`: 192.0.2.1 is `C0000201`), IPv6 as `%pI6`
/// does (eight groups of four lowercase hexadecimal digits, nothing
/// compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcAddr(pub IpAddr);

impl fmt::Display for ProcAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{:08X}", u32::from_be_bytes(a)),
            IpAddr::V6(a) => {
                for (i, g) in a.chunks_exact(2).enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:02x}{:02x}", g[0], g[1])?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::net::Ipv6Addr;

    fn v6(s: &str) -> Ipv6 {
        Ipv6(s.parse::<Ipv6Addr>().unwrap().octets())
    }

    #[test]
    fn ipv4_dotted() {
        assert_eq!(format!("{}", Ipv4([192, 0, 2, 1])), "192.0.2.1");
        assert_eq!(format!("{}", Ipv4([0, 0, 0, 0])), "0.0.0.0");
    }

    #[test]
    fn ipv6_like_the_kernel() {
        // (address, what %pI6c prints: lib/vsprintf.c ip6_compressed_string)
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("fd00::1", "fd00::1"),
            ("fd00:0:0:1::", "fd00:0:0:1::"),
            ("2001:db8::", "2001:db8::"),
            // A single zero group is not compressed.
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            // The first of two equally long runs.
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("fe80::abcd:ef01:2345:6789", "fe80::abcd:ef01:2345:6789"),
            ("::ffff:192.0.2.7", "::ffff:192.0.2.7"),
            ("fe80::5efe:c000:201", "fe80::5efe:192.0.2.1"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ];
        for (a, want) in cases {
            assert_eq!(format!("{}", v6(a)), want, "{a}");
        }
    }

    #[test]
    fn proc_addresses_like_ip_vs_conn() {
        // (address, what IPVS's /proc/net/ip_vs_conn prints: "%08X" of
        // ntohl() and "%pI6")
        let p = |a| format!("{}", ProcAddr(a));
        assert_eq!(p(IpAddr::V4([192, 0, 2, 1])), "C0000201");
        assert_eq!(p(IpAddr::V4([10, 0, 1, 2])), "0A000102");
        assert_eq!(p(IpAddr::V4([0; 4])), "00000000");
        assert_eq!(
            p(IpAddr::V6(v6("fd00:1::2").0)),
            "fd00:0001:0000:0000:0000:0000:0000:0002"
        );
        assert_eq!(
            p(IpAddr::V6(v6("2001:db8:abcd:ef01:2345:6789:a:bc").0)),
            "2001:0db8:abcd:ef01:2345:6789:000a:00bc"
        );
        for a in [IpAddr::V4([255; 4]), IpAddr::V6([0xff; 16])] {
            assert_eq!(p(a).len(), a.proc_width());
        }
    }

    #[test]
    fn ipv6_matches_std_without_embedded_ipv4() {
        // Rust's std follows RFC 5952 as well; they agree wherever the
        // kernel does not print an embedded IPv4 address.
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            let mut b = [0u8; 16];
            for g in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly zero groups, so that runs of every length occur.
                let w: u16 = if x % 3 == 0 { (x >> 20) as u16 } else { 0 };
                b[2 * g..2 * g + 2].copy_from_slice(&w.to_be_bytes());
            }
            let a = Ipv6(b);
            if a.ends_in_ipv4() || b[..12].iter().all(|&z| z == 0) {
                continue;
            }
            assert_eq!(format!("{a}"), format!("{}", Ipv6Addr::from(b)), "{b:?}");
        }
    }
}
