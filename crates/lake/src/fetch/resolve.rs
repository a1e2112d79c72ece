//! The HTTP client's DNS resolver: the system's, with the addresses the policy refuses
//! removed, so a permitted name that points at an internal address (instance metadata, a
//! private service, loopback) is never connected to. It sees every name the client connects
//! to (proxies are off), so the check holds for the address actually used, not an earlier
//! lookup.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{AllowedHost, Refusal, refused_address_class};

/// Resolves names, dropping addresses that are not public unless the name was allowed
/// explicitly. Fails with [`Refused`] when nothing is left.
#[derive(Debug, Clone)]
pub(crate) struct PolicyResolver {
    /// Names exempt from the address check (`--fetch-allow-host` domains).
    exempt: Vec<String>,
}

/// A name whose every address the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) Refusal);

impl PolicyResolver {
    pub(crate) fn new(allowed: &[AllowedHost]) -> PolicyResolver {
        PolicyResolver {
            exempt: allowed.iter().filter_map(|a| a.domain().map(str::to_owned)).collect(),
        }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let exempt = self.exempt.contains(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if exempt {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refused = None;
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match refused_address_class(a.ip()) {
                    None => true,
                    Some(class) => {
                        refused.get_or_insert((a.ip(), class));
                        false
                    }
                })
                .collect();
            match (public.is_empty(), refused) {
                (true, Some((addr, class))) => Err(Box::new(Refused(Refusal::Address { host, addr, class })) as _),
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}
