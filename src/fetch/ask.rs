//! What one request sends ([`Ask`]): its URL, the headers `[request]` adds,
//! and for a POST its body — and what the next hop of a redirect sends.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::FetchErrorKind;

/// What to request: a URL, the headers `[request]` adds, and for a POST
/// its body. Header values may be secrets: `Debug` shows their names only.
///
/// [`Ask::get`] is a plain GET; the fields are public, so headers and a
/// body are added with struct update syntax. Send it with
/// [`Fetcher::send`](crate::fetch::Fetcher::send):
///
/// ```
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::fetch::{Ask, Body, Fetcher};
/// use trawl::spider::Limits;
/// use url::Url;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?;
/// let fetcher = Fetcher::new(&Limits { allow_private: true, ..Limits::default() })?;
/// let api = Url::parse(&format!("{}/api/products?page=2", site.base_url()))?;
///
/// let ask = Ask {
///     headers: vec![("Accept".into(), "application/json".into())],
///     ..Ask::get(api.clone())
/// };
/// let page = fetcher.send(&ask).await?;
/// let body: serde_json::Value = serde_json::from_str(&page.text)?;
/// assert_eq!(body["page"], 2);
///
/// // A POST: the demo site takes none, and says so.
/// let post = Ask {
///     body: Some(Body { bytes: br#"{"page":2}"#.to_vec(), content_type: "application/json" }),
///     ..Ask::get(api)
/// };
/// assert_eq!(fetcher.send(&post).await.unwrap_err().status(), Some(405));
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Ask {
    /// The page.
    pub url: Url,
    /// Extra headers, in order.
    pub headers: Vec<(String, String)>,
    /// `Some`: a POST with this body; `None`: a GET.
    pub body: Option<Body>,
}

/// A request body and its Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The bytes sent.
    pub bytes: Vec<u8>,
    /// `application/json` or `application/x-www-form-urlencoded`.
    pub content_type: &'static str,
}

/// Headers that carry credentials: they do not follow a redirect to another
/// origin (scheme, host or port), as browsers and curl do, so a token meant
/// for one API is not handed to whatever host it redirects to.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

impl Ask {
    /// A plain GET.
    pub fn get(url: Url) -> Ask {
        Ask {
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// What the next hop sends after a redirect with status `code` to
    /// `next`. 307 and 308 repeat the request as it was; 301, 302 and 303
    /// turn a POST into a GET without its body, as browsers do (RFC 9110
    /// §15.4).
    pub(crate) fn redirected(&self, code: u16, next: Url) -> Ask {
        let body = match code {
            307 | 308 => self.body.clone(),
            _ => None,
        };
        let same_origin = next.origin() == self.url.origin();
        let headers = self
            .headers
            .iter()
            .filter(|(name, _)| same_origin || !CREDENTIALS.contains(&&*name.to_ascii_lowercase()))
            .cloned()
            .collect();
        Ask {
            url: next,
            headers,
            body,
        }
    }

    /// The extra headers as HTTP headers. The spider file's names and
    /// values were checked at load; a value filled in per request can still
    /// hold a newline, and then the page fails naming the header (never
    /// its value).
    pub(crate) fn header_map(&self) -> Result<HeaderMap, FetchErrorKind> {
        let mut map = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let bad = || FetchErrorKind::Header(name.clone());
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        Ok(map)
    }
}

impl std::fmt::Debug for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Ask")
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .field("body", &self.body)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> Ask {
        Ask {
            url: Url::parse("http://api.test/search").unwrap(),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Authorization".into(), "Bearer s3cret".into()),
            ],
            body: Some(Body {
                bytes: b"{\"page\":1}".to_vec(),
                content_type: "application/json",
            }),
        }
    }

    #[test]
    fn redirects_keep_or_drop_the_body_by_status() {
        let next = Url::parse("http://api.test/v2/search").unwrap();
        for (code, keeps) in [
            (301, false),
            (302, false),
            (303, false),
            (307, true),
            (308, true),
        ] {
            let hop = post().redirected(code, next.clone());
            assert_eq!(hop.body.is_some(), keeps, "{code}");
            assert_eq!(hop.url, next);
            assert_eq!(
                hop.headers,
                post().headers,
                "same origin keeps every header"
            );
        }
    }

    #[test]
    fn credentials_stay_with_their_origin() {
        for other in [
            "http://elsewhere.test/",
            "https://api.test/",
            "http://api.test:81/",
        ] {
            let hop = post().redirected(307, Url::parse(other).unwrap());
            let names: Vec<&str> = hop.headers.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["Accept"], "{other}");
        }
    }

    #[test]
    fn headers_are_checked_and_never_shown() {
        let ask = post();
        let map = ask.header_map().unwrap();
        assert!(map["authorization"].is_sensitive());
        assert!(!format!("{ask:?}").contains("s3cret"));
        let mut bad = post();
        bad.headers.push(("X-Query".into(), "two\nlines".into()));
        let error = bad.header_map().unwrap_err();
        assert_eq!(error, FetchErrorKind::Header("X-Query".into()));
        assert!(!error.to_string().contains("two"));
    }
}
