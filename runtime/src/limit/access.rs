//! Allow and deny lists of a `limit` policy: a small CIDR matcher ([`Cidr`], IPv4 and IPv6)
//! and [`AccessList`], which holds CIDRs and two-letter country codes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`). A bare
/// address is a host network (`/32` or `/128`). Host bits are cleared on parsing, so
/// `10.1.2.3/8` is `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// The address part is not an IPv4 or IPv6 address.
    BadAddress(String),
    /// The prefix is not a number, or longer than the address (32 or 128).
    BadPrefix(String),
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadAddress(s) => write!(f, "`{s}` is not an IP address"),
            Self::BadPrefix(s) => write!(f, "`{s}` is not a valid prefix length"),
        }
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// The network `addr/prefix`, host bits cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(CidrError::BadPrefix(prefix.to_string()));
        }
        let network = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(prefix))),
        };
        Ok(Self { network, prefix })
    }

    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// matches IPv4 networks, as dual-stack sockets report IPv4 clients that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                u32::from(a) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                u128::from(a) & mask_v6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::BadAddress(addr.to_string()))?;
        let prefix = match prefix {
            None => {
                if addr.is_ipv4() {
                    32
                } else {
                    128
                }
            }
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse().map_err(|_| CidrError::BadPrefix(p.to_string()))?
            }
            Some(p) => return Err(CidrError::BadPrefix(p.to_string())),
        };
        Self::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An entry of an allow or deny list that is neither a CIDR nor a country code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessListError {
    /// The entry as written.
    pub entry: String,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for AccessListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is neither a CIDR nor a two-letter country code: {}",
            self.entry, self.reason
        )
    }
}

impl std::error::Error for AccessListError {}

/// A list of networks and ISO 3166-1 alpha-2 country codes (`allow`/`deny` of a policy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessList {
    networks: Vec<Cidr>,
    countries: Vec<String>,
}

impl AccessList {
    /// Parses entries: two ASCII letters are a country code (any case, stored upper case);
    /// anything else must be an address or a CIDR.
    pub fn parse<I, S>(entries: I) -> Result<Self, AccessListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.len() == 2 && entry.bytes().all(|b| b.is_ascii_alphabetic()) {
                list.countries.push(entry.to_ascii_uppercase());
                continue;
            }
            let cidr = entry.parse::<Cidr>().map_err(|e| AccessListError {
                entry: entry.to_string(),
                reason: e.to_string(),
            })?;
            list.networks.push(cidr);
        }
        list.countries.sort();
        list.countries.dedup();
        Ok(list)
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.countries.is_empty()
    }

    /// Whether a client with this address and country (either may be unknown) matches an
    /// entry. Country codes compare case-insensitively.
    pub fn matches(&self, ip: Option<IpAddr>, country: Option<&str>) -> bool {
        let by_ip = ip.is_some_and(|ip| self.networks.iter().any(|n| n.contains(ip)));
        let by_country = country.is_some_and(|c| {
            self.countries
                .binary_search(&c.trim().to_ascii_uppercase())
                .is_ok()
        });
        by_ip || by_country
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_networks() {
        let net: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        let odd: Cidr = "192.168.0.0/23".parse().unwrap();
        assert!(odd.contains(ip("192.168.1.255")) && !odd.contains(ip("192.168.2.0")));
    }

    #[test]
    fn ipv6_networks_and_mapped_addresses() {
        let net: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(net.contains(ip("2001:db8:ffff::1")));
        assert!(!net.contains(ip("2001:db9::1")));
        assert!(!net.contains(ip("10.0.0.1")));
        let v4: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(v4.contains(ip("::ffff:10.9.8.7")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("::1")));
        assert_eq!(all6.network(), ip("::"));
    }

    #[test]
    fn bad_cidrs_are_refused() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/x",
            "host",
            "10.0.0.0/+8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!(Cidr::new(ip("10.0.0.0"), 40).is_err());
        assert!("x/8"
            .parse::<Cidr>()
            .unwrap_err()
            .to_string()
            .contains("not an IP"));
    }

    #[test]
    fn access_lists_mix_networks_and_countries() {
        let list = AccessList::parse(["10.0.0.0/8", "kp", "RU", "2001:db8::/32"]).unwrap();
        assert!(list.matches(Some(ip("10.0.0.1")), None));
        assert!(list.matches(None, Some("KP")));
        assert!(list.matches(Some(ip("8.8.8.8")), Some("ru")));
        assert!(!list.matches(Some(ip("8.8.8.8")), Some("US")));
        assert!(!list.matches(None, None));
        assert!(AccessList::default().is_empty());
        let err = AccessList::parse(["USA"]).unwrap_err();
        assert!(err.to_string().contains("USA"));
    }
}
