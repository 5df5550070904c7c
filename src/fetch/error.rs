//! Why a fetch failed, with the URL, and whether trying again could help.

use std::time::Duration;

use url::Url;

/// A page that could not be fetched. The crawl reports it and goes on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {kind}")]
pub struct FetchError {
    url: Url,
    kind: FetchErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// The server answered with a status that is not success.
    #[error("HTTP {code}{reason}", code = .0, reason = reason(*.0))]
    Status(u16),
    /// No complete answer within the timeout (connect to last byte).
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Connection refused or reset, DNS failure, a body cut short …
    #[error("network error: {0}")]
    Network(String),
    /// The body passed `max_body`.
    #[error("body larger than max_body ({0} bytes); refused")]
    TooLarge(u64),
    /// robots.txt forbids it, or could not be had.
    #[error("{0}")]
    Robots(String),
    /// Only http and https are fetched.
    #[error("not an http(s) URL; never fetched")]
    NotHttp,
    /// A redirect went nowhere usable.
    #[error("bad redirect: {0}")]
    Redirect(String),
    /// The host asked for a wait longer than `max_delay` (a Retry-After or a
    /// Crawl-delay), so none of its pages are fetched; not retried.
    #[error("{0}")]
    HostSkipped(String),
    /// A `[request]` header, once its placeholders were filled in, is not
    /// a valid HTTP header (a newline in a value); names the header only,
    /// since its value may be a secret. Never sent.
    #[error("header `{0}` is not a valid HTTP header once filled in; not sent")]
    Header(String),
    /// The URL's host is, or resolves only to, a loopback, private,
    /// link-local, cloud-metadata or other reserved address, and private
    /// networks are not allowed in this crawl (SPEC §10); not retried.
    #[error("{0}")]
    Private(String),
    /// This machine, not the host, ran out of something a request needs
    /// (open files, memory, socket buffers): retried, never blamed on the
    /// host; a crawl stops at a page that still fails this way, so that a
    /// resumed crawl fetches it again ([`local`](FetchErrorKind::local)).
    #[error("{0}")]
    Local(String),
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

impl FetchErrorKind {
    /// Describes a reqwest error with its causes, which is where the detail lives.
    /// A connection the resolver refused (`private.rs`) is
    /// [`Private`](FetchErrorKind::Private), and an OS error that says this
    /// machine is out of descriptors or memory is
    /// [`Local`](FetchErrorKind::Local), not a network error.
    pub(crate) fn network(error: reqwest::Error) -> FetchErrorKind {
        FetchErrorKind::from_chain(&error)
    }

    /// Walks `error` and its sources: hyper wraps the connector's
    /// `std::io::Error` (socket, connect, DNS) a layer or two down.
    fn from_chain(error: &(dyn std::error::Error + 'static)) -> FetchErrorKind {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<super::private::Refusal>() {
                return FetchErrorKind::Private(refusal.to_string());
            }
            if let Some(local) = cause.downcast_ref::<std::io::Error>().and_then(local) {
                return local;
            }
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        FetchErrorKind::Network(message)
    }

    /// The local fault an OS error number stands for, if it is one: a
    /// socket, a DNS lookup or a file that could not be had because this
    /// process or machine is out of descriptors or memory.
    pub fn local(errno: i32) -> Option<FetchErrorKind> {
        let what = match errno {
            libc::EMFILE => format!(
                "too many open files in this process (EMFILE; the limit is {})",
                super::fds::describe_limit()
            ),
            libc::ENFILE => "too many open files on this machine (ENFILE)".to_string(),
            libc::ENOMEM => "out of memory on this machine (ENOMEM)".to_string(),
            libc::ENOBUFS => "no socket buffer space on this machine (ENOBUFS)".to_string(),
            _ => return None,
        };
        Some(FetchErrorKind::Local(format!(
            "{what}: a local fault, not the host's; raise `ulimit -n` or lower the concurrency"
        )))
    }

    pub(crate) fn at(self, url: &Url) -> FetchError {
        FetchError {
            url: url.clone(),
            kind: self,
        }
    }
}

impl FetchError {
    /// The URL that failed.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// What went wrong.
    pub fn kind(&self) -> &FetchErrorKind {
        &self.kind
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            FetchErrorKind::Status(status) => Some(status),
            _ => None,
        }
    }

    /// Whether the fetch timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, FetchErrorKind::Timeout(_))
    }

    /// Whether this machine, not the host, is at fault (SPEC §10 "Bounds").
    pub fn is_local(&self) -> bool {
        matches!(self.kind, FetchErrorKind::Local(_))
    }

    /// Whether another attempt could succeed (SPEC §5 "Retries").
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            FetchErrorKind::Status(status) => super::retry::is_retryable_status(status),
            FetchErrorKind::Timeout(_) | FetchErrorKind::Network(_) | FetchErrorKind::Local(_) => {
                true
            }
            _ => false,
        }
    }
}

/// The local fault `error` is, if its OS error number names one.
fn local(error: &std::io::Error) -> Option<FetchErrorKind> {
    error.raw_os_error().and_then(FetchErrorKind::local)
}

/// The HTTP client could not be built (no TLS roots, a proxy variable that
/// is not a URL …): the reason, as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub(crate) String);

#[cfg(test)]
mod tests {
    use super::*;

    /// An error shaped like reqwest's: an outer error whose cause is
    /// hyper's, whose cause is the OS error.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Wrapped(
        &'static str,
        #[source] Box<dyn std::error::Error + Send + Sync>,
    );

    fn chain(errno: i32) -> Wrapped {
        let os = std::io::Error::from_raw_os_error(errno);
        Wrapped(
            "error sending request",
            Box::new(Wrapped("client error (Connect)", Box::new(os))),
        )
    }

    #[test]
    fn resource_errors_are_local_and_name_themselves() {
        for (errno, name) in [
            (libc::EMFILE, "EMFILE"),
            (libc::ENFILE, "ENFILE"),
            (libc::ENOMEM, "ENOMEM"),
            (libc::ENOBUFS, "ENOBUFS"),
        ] {
            let kind = FetchErrorKind::from_chain(&chain(errno));
            let url = Url::parse("http://h.test/robots.txt").unwrap();
            let error = kind.at(&url);
            assert!(error.is_local() && error.is_retryable(), "{name}");
            let text = error.to_string();
            assert!(
                text.contains(name) && text.contains("not the host's"),
                "{text}"
            );
        }
    }

    #[test]
    fn the_hosts_faults_are_not_local() {
        for errno in [
            libc::ECONNREFUSED,
            libc::ECONNRESET,
            libc::EHOSTUNREACH,
            libc::ETIMEDOUT,
        ] {
            let kind = FetchErrorKind::from_chain(&chain(errno));
            assert!(
                matches!(kind, FetchErrorKind::Network(_)),
                "{errno}: {kind:?}"
            );
        }
    }
}
