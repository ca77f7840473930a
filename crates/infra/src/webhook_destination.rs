//! Where a webhook may be sent (issue #16, "Safe destinations"): the checks against
//! server-side request forgery.
//!
//! Invariants:
//! - a URL is an absolute `http` or `https` URL with a host, without credentials (a
//!   password in a URL would be stored and shown), of at most [`MAX_URL_CHARS`];
//! - `https` is required unless the policy allows plain `http` (development and tests);
//! - an address is refused when it is not a public unicast address: unspecified,
//!   loopback, private (10/8, 172.16/12, 192.168/16), link-local (169.254/16, which holds
//!   the cloud metadata address 169.254.169.254, and fe80::/10), shared CGNAT (100.64/10),
//!   IETF protocol assignments (192.0.0/24), benchmarking (198.18/15), documentation,
//!   multicast, broadcast, reserved (240/4), IPv6 unique-local (fc00::/7, which holds the
//!   metadata address fd00:ec2::254), and the IPv4-mapped, IPv4-compatible and NAT64
//!   (64:ff9b::/96) forms of any refused IPv4 address;
//! - loopback is allowed only by a development policy; no policy allows the others;
//! - a name is not an address: its check is [`check_address`] on every address it
//!   resolves to, at send time (the dispatcher's resolver), so a name that points at a
//!   refused address later (DNS rebinding) is refused then; a literal address in the URL
//!   is also checked when the endpoint is saved ([`check_url`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;
use url::{Host, Url};

/// The longest URL an endpoint may have.
pub const MAX_URL_CHARS: usize = 2_048;

/// What a deployment allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Plain `http` is refused.
    pub require_https: bool,
    /// Loopback addresses (a receiver on the same machine) are allowed.
    pub allow_loopback: bool,
}

impl DestinationPolicy {
    /// Production: `https` to public addresses only.
    pub const PRODUCTION: Self = Self { require_https: true, allow_loopback: false };
    /// Development and tests (`events.allow_loopback`): `http` and loopback allowed too.
    pub const LOOPBACK_ALLOWED: Self = Self { require_https: false, allow_loopback: true };
}

/// Why a destination was refused (the reason a 400 states).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DestinationError {
    #[error("must be an absolute URL")]
    NotAUrl,
    #[error("must be at most 2048 characters")]
    TooLong,
    #[error("must use https")]
    NotHttps,
    #[error("must use http or https")]
    Scheme,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
    #[error("must not point at a {0} address")]
    Address(&'static str),
}

/// The URL of an endpoint, checked (see the module invariants); a literal address in it
/// is checked too, a name is checked when it is resolved.
///
/// # Errors
/// [`DestinationError`] with the reason.
pub fn check_url(text: &str, policy: DestinationPolicy) -> Result<Url, DestinationError> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(DestinationError::TooLong);
    }
    let url = Url::parse(text).map_err(|_| DestinationError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if !policy.require_https => {}
        "http" => return Err(DestinationError::NotHttps),
        _ => return Err(DestinationError::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DestinationError::Credentials);
    }
    match url.host() {
        None => return Err(DestinationError::NoHost),
        Some(Host::Ipv4(ip)) => check_address(IpAddr::V4(ip), policy)?,
        Some(Host::Ipv6(ip)) => check_address(IpAddr::V6(ip), policy)?,
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                check_address(IpAddr::V4(Ipv4Addr::LOCALHOST), policy)?;
            }
        }
    }
    Ok(url)
}

/// Whether a webhook may connect to `ip` (see the module invariants).
///
/// # Errors
/// [`DestinationError::Address`] naming the kind of address.
pub fn check_address(ip: IpAddr, policy: DestinationPolicy) -> Result<(), DestinationError> {
    match refused(ip) {
        None => Ok(()),
        Some("loopback") if policy.allow_loopback => Ok(()),
        Some(kind) => Err(DestinationError::Address(kind)),
    }
}

/// The kind of a refused address, `None` for a public unicast one.
fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let kind = if a == 0 {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local or metadata"
    } else if a == 100 && (64..128).contains(&b) {
        "shared (CGNAT)"
    } else if a == 192 && b == 0 && c == 0 {
        "protocol-assignment"
    } else if a == 198 && (b == 18 || b == 19) {
        "benchmarking"
    } else if ip.is_documentation() {
        "documentation"
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if a >= 240 {
        "reserved"
    } else {
        return None;
    };
    Some(kind)
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return refused_v4(v4);
    }
    let first = ip.segments()[0];
    let kind = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if first & 0xfe00 == 0xfc00 {
        "private (unique-local) or metadata"
    } else if first & 0xffc0 == 0xfe80 {
        "link-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        "documentation"
    } else {
        return None;
    };
    Some(kind)
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, not `::` or `::1`) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
    let mapped = s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff;
    let compatible = s[0..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback();
    (nat64 || mapped || compatible).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROD: DestinationPolicy = DestinationPolicy::PRODUCTION;
    const DEV: DestinationPolicy = DestinationPolicy::LOOPBACK_ALLOWED;

    fn kind(text: &str) -> Option<&'static str> {
        refused(text.parse().unwrap())
    }

    #[test]
    fn every_non_public_address_is_refused_with_its_kind() {
        let table = [
            ("0.0.0.0", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.0.10", "private"),
            ("169.254.169.254", "link-local or metadata"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("192.0.0.8", "protocol-assignment"),
            ("198.18.0.1", "benchmarking"),
            ("203.0.113.5", "documentation"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fd00:ec2::254", "private (unique-local) or metadata"),
            ("fc00::1", "private (unique-local) or metadata"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local or metadata"),
            ("::10.0.0.1", "private"),
            ("64:ff9b::192.168.1.1", "private"),
        ];
        for (address, expected) in table {
            assert_eq!(kind(address), Some(expected), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(kind(address), None, "{address}");
            assert_eq!(check_address(address.parse().unwrap(), PROD), Ok(()));
        }
    }

    #[test]
    fn loopback_passes_only_a_development_policy_and_nothing_else_does() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(check_address(loopback, PROD), Err(DestinationError::Address("loopback")));
        assert_eq!(check_address(loopback, DEV), Ok(()));
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(check_address(metadata, DEV), Err(DestinationError::Address("link-local or metadata")));
    }

    #[test]
    fn a_url_is_refused_with_its_reason() {
        let refused = |text: &str, policy| check_url(text, policy).unwrap_err().to_string();
        assert_eq!(refused("not a url", PROD), "must be an absolute URL");
        assert_eq!(refused("http://hooks.example.com/x", PROD), "must use https");
        assert_eq!(refused("ftp://hooks.example.com/x", DEV), "must use http or https");
        assert_eq!(refused("https://user:pw@hooks.example.com/x", PROD), "must not carry a user name or password");
        assert_eq!(refused("https://127.0.0.1/x", PROD), "must not point at a loopback address");
        assert_eq!(refused("https://localhost:8443/x", PROD), "must not point at a loopback address");
        assert_eq!(refused("https://[::ffff:10.0.0.1]/x", PROD), "must not point at a private address");
        assert_eq!(
            refused("https://169.254.169.254/latest/meta-data", DEV),
            "must not point at a link-local or metadata address"
        );
        assert_eq!(
            refused(&format!("https://a.example.com/{}", "x".repeat(2_048)), PROD),
            "must be at most 2048 characters"
        );
        // The integer and octal forms of an address are read as the address they name.
        assert_eq!(refused("https://2130706433/x", PROD), "must not point at a loopback address");
        assert_eq!(refused("https://0x7f.1/x", PROD), "must not point at a loopback address");
    }

    #[test]
    fn good_urls_pass() {
        assert!(check_url("https://hooks.example.com/ldbds?x=1", PROD).is_ok());
        assert!(check_url("https://8.8.8.8/hook", PROD).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", DEV).is_ok());
        assert!(check_url("http://localhost:9000/hook", DEV).is_ok());
    }

    proptest! {
        #[test]
        fn any_private_or_loopback_v4_is_refused_in_every_form(b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), pick in 0usize..4) {
            let v4 = match pick {
                0 => Ipv4Addr::new(10, b, c, d),
                1 => Ipv4Addr::new(172, 16 + (b % 16), c, d),
                2 => Ipv4Addr::new(192, 168, c, d),
                _ => Ipv4Addr::new(127, b, c, d),
            };
            prop_assert!(refused(IpAddr::V4(v4)).is_some());
            prop_assert!(refused(IpAddr::V6(v4.to_ipv6_mapped())).is_some(), "mapped {v4}");
            let [w, x, y, z] = v4.octets();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([w, x]), u16::from_be_bytes([y, z]));
            prop_assert!(refused(IpAddr::V6(nat64)).is_some(), "NAT64 {v4}");
            prop_assert!(check_address(IpAddr::V4(v4), PROD).is_err());
        }
    }
}
