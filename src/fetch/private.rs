//! Private networks (SPEC §10): which addresses a crawl may reach.
//!
//! Loopback, private, link-local, CGNAT, cloud-metadata, unspecified,
//! multicast and broadcast addresses are refused unless a start is on one
//! or `allow_private` (`--allow-private`) is set. The check runs on the
//! addresses a request would connect to: host names are filtered in the
//! client's DNS resolver ([`Resolver`]), so every redirect hop and every
//! retry is checked after resolution; IP literals never reach a resolver
//! and are checked before each request ([`Policy::check_url`]).
//!
//! Requests that go through a proxy (`HTTP_PROXY`, …) are resolved by the
//! proxy, so only their IP literals are checked here; the proxy itself,
//! chosen by the user, may be on any address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;
use url::{Host, Url};

/// A kind of address a crawl does not reach unless allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reserved {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 169.254.169.254, fd00:ec2::254.
    Metadata,
    /// 100.64/10, carrier-grade NAT.
    SharedNat,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
}

impl fmt::Display for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reserved::Loopback => "loopback",
            Reserved::Private => "private",
            Reserved::LinkLocal => "link-local",
            Reserved::Metadata => "cloud-metadata",
            Reserved::SharedNat => "shared CGNAT",
            Reserved::Unspecified => "unspecified",
            Reserved::Multicast => "multicast",
            Reserved::Broadcast => "broadcast",
        })
    }
}

/// What kind of reserved address `ip` is, or `None` for a public one.
/// IPv4-mapped (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) IPv6
/// addresses are judged by the IPv4 address they carry.
pub(super) fn classify(ip: IpAddr) -> Option<Reserved> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Reserved> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => Reserved::Metadata,
        _ if ip.is_loopback() => Reserved::Loopback,
        _ if ip.is_private() => Reserved::Private,
        _ if ip.is_link_local() => Reserved::LinkLocal,
        _ if a == 100 && (64..128).contains(&b) => Reserved::SharedNat,
        _ if a == 0 => Reserved::Unspecified,
        _ if ip.is_multicast() => Reserved::Multicast,
        _ if ip.is_broadcast() => Reserved::Broadcast,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Reserved> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => Reserved::Metadata,
        _ if ip.is_loopback() => Reserved::Loopback,
        _ if ip.is_unspecified() => Reserved::Unspecified,
        _ if first & 0xfe00 == 0xfc00 => Reserved::Private,
        _ if first & 0xffc0 == 0xfe80 => Reserved::LinkLocal,
        _ if ip.is_multicast() => Reserved::Multicast,
        _ => return None,
    })
}

/// The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    nat64.then(|| Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7])))
}

/// A request refused because of where it would connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) struct Refusal {
    /// The host name that resolved to `ip`, if the URL had one.
    name: Option<String>,
    ip: IpAddr,
    kind: Reserved,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ip, kind) = (self.ip, self.kind);
        let a = if kind == Reserved::Unspecified {
            "an"
        } else {
            "a"
        };
        match &self.name {
            None => write!(f, "{ip} is {a} {kind} address"),
            Some(name) => write!(
                f,
                "`{name}` resolves only to reserved addresses ({ip}: {kind})"
            ),
        }?;
        write!(f, "; not fetched: {HINT}")
    }
}

/// How to reach such an address after all.
const HINT: &str =
    "private networks are reached only when a start is on one, or with --allow-private";

/// Which addresses this crawl may reach, decided once before its first request.
#[derive(Debug)]
pub(crate) struct Policy {
    /// Whether reserved addresses are allowed: set at build time by
    /// `allow_private` or a start on an IP literal, else by resolving the
    /// starts' host names before the first request.
    allow: OnceCell<bool>,
    /// The starts' host names, resolved by [`Policy::settle`].
    start_names: Vec<String>,
    /// How long resolving the starts may take (the request timeout).
    timeout: Duration,
    /// Tells reserved addresses apart ([`classify`]; tests swap it).
    classify: fn(IpAddr) -> Option<Reserved>,
    /// The proxies' host names from the environment, never refused.
    proxies: Vec<String>,
}

impl Policy {
    /// The policy for a crawl that begins at `starts` (URLs as written;
    /// those that do not parse are skipped).
    pub(crate) fn new(allow_private: bool, starts: &[&str], timeout: Duration) -> Policy {
        Policy::build(allow_private, starts, timeout, classify)
    }

    /// The same, with `classify` telling reserved addresses apart (a test
    /// lets a loopback server play a public host).
    #[cfg(test)]
    pub(crate) fn with_classify(
        allow_private: bool,
        starts: &[&str],
        timeout: Duration,
        classify: fn(IpAddr) -> Option<Reserved>,
    ) -> Policy {
        Policy::build(allow_private, starts, timeout, classify)
    }

    fn build(
        allow_private: bool,
        starts: &[&str],
        timeout: Duration,
        classify: fn(IpAddr) -> Option<Reserved>,
    ) -> Policy {
        let mut start_names = Vec::new();
        let mut literal = false;
        for host in starts
            .iter()
            .filter_map(|s| Url::parse(s).ok()?.host().map(|h| h.to_owned()))
        {
            match host {
                Host::Domain(name) if !start_names.contains(&name) => start_names.push(name),
                Host::Domain(_) => {}
                Host::Ipv4(ip) => literal |= classify(ip.into()).is_some(),
                Host::Ipv6(ip) => literal |= classify(ip.into()).is_some(),
            }
        }
        let allow = match allow_private || literal {
            true => OnceCell::new_with(Some(true)),
            false if start_names.is_empty() => OnceCell::new_with(Some(false)),
            false => OnceCell::new(),
        };
        Policy {
            allow,
            start_names,
            timeout,
            classify,
            proxies: proxy_names(),
        }
    }

    /// Decides, once, whether a start's host name resolves to a reserved
    /// address (which allows them all). Runs before the crawl's first request.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the question open for the next caller.
    pub(crate) async fn settle(&self) {
        self.allow
            .get_or_init(|| async {
                for name in &self.start_names {
                    let lookup = tokio::net::lookup_host((name.as_str(), 0));
                    let Ok(Ok(addrs)) = tokio::time::timeout(self.timeout, lookup).await else {
                        continue;
                    };
                    if addrs.into_iter().any(|a| (self.classify)(a.ip()).is_some()) {
                        return true;
                    }
                }
                false
            })
            .await;
    }

    /// Why `ip` may not be reached, if it may not.
    fn refuse(&self, ip: IpAddr) -> Option<Reserved> {
        match self.allow.get() {
            Some(true) => None,
            _ => (self.classify)(ip),
        }
    }

    /// Refuses a URL whose host is a reserved IP literal (host names are
    /// checked by the [`Resolver`]).
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        let ip: IpAddr = match url.host() {
            Some(Host::Ipv4(ip)) => ip.into(),
            Some(Host::Ipv6(ip)) => ip.into(),
            _ => return Ok(()),
        };
        match self.refuse(ip) {
            Some(kind) => Err(Refusal {
                name: None,
                ip,
                kind,
            }),
            None => Ok(()),
        }
    }

    /// Keeps the addresses `name` may be reached at; none left is a refusal
    /// that names the first address dropped.
    pub(crate) fn filter(
        &self,
        name: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        if self.proxies.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            return Ok(addrs);
        }
        let mut refused = None;
        let kept: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| match self.refuse(a.ip()) {
                Some(kind) => {
                    refused.get_or_insert((a.ip(), kind));
                    false
                }
                None => true,
            })
            .collect();
        match (kept.is_empty(), refused) {
            (true, Some((ip, kind))) => Err(Refusal {
                name: Some(name.to_string()),
                ip,
                kind,
            }),
            _ => Ok(kept),
        }
    }
}

/// The host names of the proxies reqwest reads from the environment.
fn proxy_names() -> Vec<String> {
    let vars = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];
    vars.iter()
        .flat_map(|v| [v.to_string(), v.to_lowercase()])
        .filter_map(|v| std::env::var(v).ok())
        .filter_map(|text| {
            let url = match text.contains("://") {
                true => Url::parse(&text),
                false => Url::parse(&format!("http://{text}")),
            };
            Some(url.ok()?.host_str()?.to_string())
        })
        .collect()
}

/// The client's DNS resolver: the system's, minus the addresses the
/// [`Policy`] refuses.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    pub(crate) policy: Arc<Policy>,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            let kept = policy.filter(host, addrs)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
