//! `cookies = true`: one RFC 6265 cookie jar for the crawl (SPEC §7).
//!
//! The jar sits on the HTTP client, so every response — warm-up, list,
//! detail, robots.txt, each redirect hop — stores its Set-Cookie, and every
//! request carries the cookies that match its host and path. The matching
//! rules (host-only unless `Domain`, path prefix, `Secure`, expiry) are
//! `cookie_store`'s, a well-kept RFC 6265 implementation; this module only
//! shares it between the client and the state store, which saves it as JSON
//! so a resumed crawl keeps its session.

use std::sync::Mutex;

use cookie_store::{CookieStore, RawCookie};
use reqwest::header::HeaderValue;
use url::Url;

/// The crawl's cookie jar, shared by the client and [`Jar::save`].
#[derive(Debug, Default)]
pub(crate) struct Jar(Mutex<CookieStore>);

/// Saved cookies that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("saved cookies are not a cookie jar trawl wrote")]
pub struct CookiesError {
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Jar {
    /// The jar as JSON: every cookie, session cookies included (a crawl is
    /// one session, however often it is resumed).
    pub(crate) fn save(&self) -> String {
        let mut out = Vec::new();
        let store = self.0.lock().expect("cookie jar lock");
        store
            .save_incl_expired_and_nonpersistent(&mut out, serde_json::to_string)
            .expect("cookies serialise to memory");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// Replaces the jar's cookies with `saved` (from [`Jar::save`]);
    /// cookies that expired meanwhile are dropped.
    pub(crate) fn load(&self, saved: &str) -> Result<(), CookiesError> {
        let store = CookieStore::load(saved.as_bytes(), |cookie| {
            serde_json::from_str::<cookie_store::Cookie<'static>>(cookie)
        })
        .map_err(|source| CookiesError { source })?;
        *self.0.lock().expect("cookie jar lock") = store;
        Ok(())
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        // A Set-Cookie that does not parse is ignored, as RFC 6265 §5.2 says.
        let cookies = headers
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| RawCookie::parse(text.to_string()).ok());
        let mut store = self.0.lock().expect("cookie jar lock");
        store.store_response_cookies(cookies, url);
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        let store = self.0.lock().expect("cookie jar lock");
        let pairs: Vec<String> = store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        drop(store);
        if pairs.is_empty() {
            return None;
        }
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }
}

#[cfg(test)]
mod tests {
    use reqwest::cookie::CookieStore as _;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn receive(jar: &Jar, from: &str, set_cookie: &str) {
        let value = HeaderValue::from_str(set_cookie).unwrap();
        jar.set_cookies(&mut std::iter::once(&value), &url(from));
    }

    fn sent(jar: &Jar, to: &str) -> Option<String> {
        jar.cookies(&url(to))
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn host_only_and_path_matched() {
        let jar = Jar::default();
        receive(&jar, "http://shop.test/warm", "session=abc; Path=/");
        receive(&jar, "http://shop.test/api/x", "api=1; Path=/api");
        assert_eq!(
            sent(&jar, "http://shop.test/list"),
            Some("session=abc".into())
        );
        let api = sent(&jar, "http://shop.test/api/items").unwrap();
        assert!(
            api.contains("session=abc") && api.contains("api=1"),
            "{api}"
        );
        // Host-only: not a subdomain, not another host.
        assert_eq!(sent(&jar, "http://www.shop.test/list"), None);
        assert_eq!(sent(&jar, "http://other.test/list"), None);
    }

    #[test]
    fn saved_and_loaded_with_session_cookies() {
        let jar = Jar::default();
        receive(&jar, "http://shop.test/", "session=abc");
        receive(&jar, "http://shop.test/", "gone=1; Max-Age=0");
        let saved = jar.save();
        let resumed = Jar::default();
        resumed.load(&saved).unwrap();
        assert_eq!(
            sent(&resumed, "http://shop.test/p"),
            Some("session=abc".into())
        );
        assert!(resumed.load("not json").is_err());
    }
}
