//! Which URLs may be fetched: the allow policy of S3Url payloads.
//!
//! A record's `kinesisSyncRecordsURL` is chosen by whoever can write to the stream, so it is
//! untrusted input. By default only `https` URLs of Amazon S3 endpoints are fetched (hosts
//! matched label by label from the right, never by substring), plus hosts the operator allows
//! explicitly ([`AllowedHost`], which may also use `http`). A host that passes is still refused
//! when its name resolves only to addresses that are not public (loopback, private, link-local
//! such as the instance metadata service at 169.254.169.254, ...): see
//! [`refused_address_class`] and the fetcher's resolver hook (`fetch/resolve.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::{Host, Url};

/// A host (and optionally a port) whose URLs are fetched although it is not an Amazon S3
/// endpoint: an S3-compatible server, a test server. Its URLs may use `http`, and its
/// addresses are not checked (it may be private: the operator said so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    host: Host<String>,
    port: Option<u16>,
}

/// A `--fetch-allow-host` value that is not `host` or `host:port`.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is not host or host:port ({reason})")]
pub struct AllowedHostError {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AllowedHost {
    /// Whether this entry allows `host` on `port` (any port when the entry names none).
    pub fn matches(&self, host: &Host<&str>, port: Option<u16>) -> bool {
        let same_host = match (&self.host, host) {
            (Host::Domain(a), Host::Domain(b)) => a == b,
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        };
        same_host && self.port.is_none_or(|p| Some(p) == port)
    }

    /// The domain name of this entry, if it is one (what the resolver is asked for).
    pub fn domain(&self) -> Option<&str> {
        match &self.host {
            Host::Domain(d) => Some(d),
            _ => None,
        }
    }
}

impl FromStr for AllowedHost {
    type Err = AllowedHostError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let err = |reason| AllowedHostError {
            value: value.to_owned(),
            reason,
        };
        let s = value.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.contains(['/', '@', '?', '#', ' ']) {
            return Err(err("a host, not a URL"));
        }
        // `[v6]:port`, `[v6]`, bare `v6`, `name:port`, `name`.
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| err("unclosed ["))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| err("junk after ]"))?),
            };
            (format!("[{h}]"), port)
        } else if s.matches(':').count() > 1 {
            (format!("[{s}]"), None)
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (s.to_owned(), None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| err("bad port")))
            .transpose()?;
        // The URL parser's own host rules (lower case, IDNA, IPv4 forms), so an entry matches
        // exactly what a parsed URL holds.
        let host = Host::parse(&host).map_err(|_| err("bad host"))?;
        if host.to_string().ends_with('.') {
            return Err(err("trailing dot"));
        }
        Ok(AllowedHost { host, port })
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// Why a URL is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not http, https (or file, where allowed).
    #[error("scheme `{0}` is not https")]
    Scheme(String),
    /// `file://` outside `replay --allow-file-urls`.
    #[error("file URLs are only read by `synclake replay --allow-file-urls`")]
    FileUrl,
    /// `user:password@` in the URL.
    #[error("URLs with user info are not fetched")]
    UserInfo,
    /// No host.
    #[error("no host")]
    NoHost,
    /// A host that is neither an Amazon S3 endpoint nor allowed.
    #[error("host `{0}` is not an Amazon S3 endpoint and not allowed (--fetch-allow-host)")]
    NotS3(String),
    /// An IP address written in the URL, not allowed explicitly.
    #[error("IP address `{0}` in the URL is not allowed (--fetch-allow-host)")]
    IpLiteral(String),
    /// Plain http to a host not allowed explicitly.
    #[error("http to `{0}`: Amazon S3 URLs must use https (--fetch-allow-host allows http)")]
    PlainHttp(String),
    /// An S3 host with a port other than https's.
    #[error("port {0} is not https's on an Amazon S3 endpoint")]
    Port(u16),
    /// The host resolved only to addresses that are not public.
    #[error("host `{host}` resolves to {addr}, a {class} address")]
    Address {
        /// The host name.
        host: String,
        /// The first address refused.
        addr: IpAddr,
        /// What kind of address it is.
        class: &'static str,
    },
}

/// Checks `url` (http or https) against the policy: Amazon S3 endpoints over https, or hosts in
/// `allowed` over either.
pub fn check(url: &Url, allowed: &[AllowedHost]) -> Result<(), Refusal> {
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(Refusal::Scheme(scheme.to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::UserInfo);
    }
    let host = url.host().ok_or(Refusal::NoHost)?;
    if allowed.iter().any(|a| a.matches(&host, url.port_or_known_default())) {
        return Ok(());
    }
    let name = match host {
        Host::Domain(d) => d,
        Host::Ipv4(ip) => return Err(Refusal::IpLiteral(ip.to_string())),
        Host::Ipv6(ip) => return Err(Refusal::IpLiteral(ip.to_string())),
    };
    if !is_s3_host(name) {
        return Err(Refusal::NotS3(name.to_owned()));
    }
    if scheme != "https" {
        return Err(Refusal::PlainHttp(name.to_owned()));
    }
    // The parser drops the default port: any port left is another one.
    match url.port() {
        Some(p) => Err(Refusal::Port(p)),
        None => Ok(()),
    }
}

/// Whether `host` (lower case, as a parsed URL holds it) is an Amazon S3 endpoint:
/// `[bucket.]s3.amazonaws.com`, `[bucket.]s3.<region>.amazonaws.com`,
/// `[bucket.]s3-<region>.amazonaws.com` (legacy), `[bucket.]s3.dualstack.<region>…`,
/// `[bucket.]s3-fips[.dualstack].<region>…`, `bucket.s3-accelerate[.dualstack].amazonaws.com`,
/// and the same under `amazonaws.com.cn`. Whole labels only, counted from the right.
pub fn is_s3_host(host: &str) -> bool {
    let Some(rest) = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    let labels: Vec<&str> = rest.split('.').collect();
    if !labels.iter().all(|l| is_label(l)) {
        return false;
    }
    // The endpoint's own labels, from the right; what is left of them is the bucket.
    let (endpoint, needs_bucket) = match labels.as_slice() {
        [.., "s3-accelerate", "dualstack"] => (2, true),
        [.., "s3-accelerate"] => (1, true),
        [.., "s3"] => (1, false),
        [.., "s3" | "s3-fips", "dualstack", region] if is_region(region) => (3, false),
        [.., "s3" | "s3-fips", region] if is_region(region) => (2, false),
        [.., legacy] => match legacy.strip_prefix("s3-") {
            Some(r) if r == "external-1" || is_region(r) => (1, false),
            Some(r) => match r.strip_prefix("fips-") {
                Some(region) if is_region(region) => (1, false),
                _ => return false,
            },
            None => return false,
        },
        [] => return false,
    };
    !needs_bucket || labels.len() > endpoint
}

/// A DNS label: letters, digits and inner hyphens.
fn is_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

/// An AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`.
fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Why an address may not be connected to, or None when it is public. IPv6 forms that carry
/// an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn refused_address_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, b, _) if (16..32).contains(&b) => "private",
        (169, 254, _) => "link-local",
        (100, b, _) if (64..128).contains(&b) => "shared (CGNAT)",
        (192, 0, 0) => "IETF protocol",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18 | 19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_class(v4);
    }
    let s = ip.segments();
    let o = ip.octets();
    // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_class(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    // 6to4: 2002:a.b.c.d::/48.
    if s[0] == 0x2002 {
        return v4_class(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    Some(match s[0] {
        x if x & 0xffc0 == 0xfe80 => "link-local",
        x if x & 0xffc0 == 0xfec0 => "site-local",
        x if x & 0xfe00 == 0xfc00 => "unique local (private)",
        x if x & 0xff00 == 0xff00 => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
