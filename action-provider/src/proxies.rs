//! `trusted_proxies`: which peers may tell us the client's address in `X-Forwarded-For`.
//!
//! The client address (audit `source`) is the TCP peer, unless the peer is a trusted proxy:
//! then the `X-Forwarded-For` list is read from the right, skipping trusted proxies, and the
//! first untrusted address is the client. An untrusted peer's header is ignored, so a client
//! cannot forge its address.

use std::net::IpAddr;

/// An address block: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `::1/128`, or a bare address (one host).
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = text.trim().parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in the block (IPv4-mapped IPv6 addresses match IPv4 blocks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client address for `peer` given the `X-Forwarded-For` header value(s).
pub fn client_address(trusted: &[Cidr], peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    return ip;
                }
            }
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_matching() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped IPv6");
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "x", "::/129", "10.0.0.0/"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted = [
            Cidr::parse("127.0.0.1").unwrap(),
            Cidr::parse("10.0.0.0/8").unwrap(),
        ];
        // Untrusted peer: its header is ignored.
        assert_eq!(
            client_address(&trusted, ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // Trusted peer: the rightmost untrusted hop is the client (a forged left part is skipped).
        assert_eq!(
            client_address(
                &trusted,
                ip("127.0.0.1"),
                Some("6.6.6.6, 198.51.100.7, 10.1.1.1")
            ),
            ip("198.51.100.7")
        );
        // Only trusted hops: the leftmost one.
        assert_eq!(
            client_address(&trusted, ip("127.0.0.1"), Some("10.2.2.2")),
            ip("10.2.2.2")
        );
        // Garbage stops the walk at the last good address.
        assert_eq!(
            client_address(&trusted, ip("127.0.0.1"), Some("junk, 10.2.2.2")),
            ip("10.2.2.2")
        );
        assert_eq!(
            client_address(&trusted, ip("127.0.0.1"), None),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(&[], ip("127.0.0.1"), Some("1.2.3.4")),
            ip("127.0.0.1")
        );
    }
}
