// SPDX-License-Identifier: GPL-2.0

//! The lines of `/proc/net/ip_vs_ipsec_conn`, the IPsec gate's table for
//! operators, in the layout of IPVS's `/proc/net/ip_vs_conn`: a header
//! line, then one line per entry with fixed-width columns separated by one
//! space, addresses as IPVS prints them ([`ProcAddr`]).

use super::addr::{IpAddr, ProcAddr};
use super::isakmp::State;
use core::fmt;

/// The header line.
pub const HEADER: &str = "FromIP   ToIP     DestIP   State       Soft RCookie          Expires\n";

/// One entry of the gate's table, as one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The client.
    pub client: IpAddr,
    /// The virtual address.
    pub vip: IpAddr,
    /// The real server of IPVS's connection for the client's ISAKMP flow,
    /// if IPVS has one.
    pub dest: Option<IpAddr>,
    /// The entry's state.
    pub state: State,
    /// Whether it lives on past its idle timeout (soft expiry).
    pub soft: bool,
    /// The responder cookie learned from the real server's reply (NAT
    /// mode).
    pub rcookie: Option<[u8; 8]>,
    /// Seconds until it expires.
    pub expires: u64,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", ProcAddr(self.client), ProcAddr(self.vip))?;
        match self.dest {
            Some(d) => write!(f, "{} ", ProcAddr(d))?,
            None => write!(f, "{:<w$} ", "-", w = self.client.proc_width())?,
        }
        let state = match self.state {
            State::Initial => "INITIAL",
            State::Established => "ESTABLISHED",
        };
        let soft = if self.soft { "yes" } else { "no" };
        write!(f, "{state:<11} {soft:<4} ")?;
        match self.rcookie {
            Some(c) => {
                for b in c {
                    write!(f, "{b:02x}")?;
                }
            }
            None => write!(f, "{:<16}", "-")?,
        }
        writeln!(f, " {:7}", self.expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    const CLIENT: IpAddr = IpAddr::V4([10, 0, 1, 2]);
    const VIP: IpAddr = IpAddr::V4([10, 0, 1, 1]);

    fn line(dest: Option<IpAddr>, state: State, soft: bool, rc: Option<[u8; 8]>) -> Line {
        Line {
            client: CLIENT,
            vip: VIP,
            dest,
            state,
            soft,
            rcookie: rc,
            expires: 3599,
        }
    }

    #[test]
    fn ipv4_lines_line_up_under_the_header() {
        let est = line(
            Some(IpAddr::V4([10, 0, 2, 2])),
            State::Established,
            false,
            Some([0xa1; 8]),
        );
        let init = line(None, State::Initial, false, None);
        let soft = Line {
            expires: 12,
            ..line(
                Some(IpAddr::V4([10, 0, 5, 2])),
                State::Established,
                true,
                None,
            )
        };
        assert_eq!(
            format!("{est}"),
            "0A000102 0A000101 0A000202 ESTABLISHED no   a1a1a1a1a1a1a1a1    3599\n"
        );
        assert_eq!(
            format!("{init}"),
            "0A000102 0A000101 -        INITIAL     no   -                   3599\n"
        );
        assert_eq!(
            format!("{soft}"),
            "0A000102 0A000101 0A000502 ESTABLISHED yes  -                     12\n"
        );
        // Every column starts where the header's does.
        let cols = |s: &str| {
            let b = s.as_bytes();
            (0..b.len())
                .filter(|&i| b[i] != b' ' && (i == 0 || b[i - 1] == b' '))
                .collect::<std::vec::Vec<_>>()
        };
        let head = cols(HEADER.trim_end());
        for l in [est, init, soft] {
            let s = format!("{l}");
            assert_eq!(s.len(), HEADER.len(), "{s}");
            // The expiry is right-aligned under "Expires".
            let c = cols(s.trim_end());
            assert_eq!(c[..6], head[..6], "{s}");
        }
    }

    #[test]
    fn ipv6_lines() {
        let c6 = IpAddr::V6([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let v6 = IpAddr::V6([0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let r6 = IpAddr::V6([0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let l = Line {
            client: c6,
            vip: v6,
            dest: Some(r6),
            state: State::Initial,
            soft: false,
            rcookie: None,
            expires: 0,
        };
        assert_eq!(
            format!("{l}"),
            "fd00:0001:0000:0000:0000:0000:0000:0002 fd00:0001:0000:0000:0000:0000:0000:0001 \
             fd00:0002:0000:0000:0000:0000:0000:0002 INITIAL     no   -                      0\n"
        );
        // No real server known: '-' padded to an IPv6 address's width.
        let none = format!("{}", Line { dest: None, ..l });
        assert_eq!(none.len(), format!("{l}").len());
        assert_eq!(none.split_whitespace().nth(2), Some("-"));
    }
}
