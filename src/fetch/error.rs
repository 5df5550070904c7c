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
    /// [`Private`](FetchErrorKind::Private), not a network error.
    pub(crate) fn network(error: reqwest::Error) -> FetchErrorKind {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<super::private::Refusal>() {
                return FetchErrorKind::Private(refusal.to_string());
            }
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        FetchErrorKind::Network(message)
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

    /// Whether another attempt could succeed (SPEC §5 "Retries").
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            FetchErrorKind::Status(status) => super::retry::is_retryable_status(status),
            FetchErrorKind::Timeout(_) | FetchErrorKind::Network(_) => true,
            _ => false,
        }
    }
}

/// The HTTP client could not be built (no TLS roots, a proxy variable that
/// is not a URL …): the reason, as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub(crate) String);
