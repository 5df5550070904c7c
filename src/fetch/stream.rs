//! Bodies too large to hold: handed on chunk by chunk as they arrive.
//!
//! A sitemap may be 50 MB; buffering it whole (and then its text) would
//! break the memory bound that every other page keeps through `max_body`.
//! A streamed body passes every policy a page does (robots, rate, retries,
//! redirects) up to its response headers; after that its chunks go to the
//! reader while the request keeps its concurrency permit, under the same
//! timeout (connect to last byte) and a size limit. A failure mid-body fails
//! the page: the part already handed on cannot be taken back, so it is not
//! retried.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::time::Instant;
use url::Url;

use super::gate::Permit;
use super::{FetchError, FetchErrorKind};

/// A response whose body is read as it arrives.
pub(crate) struct BodyStream {
    /// Where the body was finally found (after redirects).
    pub url: Url,
    /// The HTTP status (always a success).
    pub status: u16,
    /// The body's chunks; an error ends it.
    pub body: BoxStream<'static, Result<Bytes, FetchError>>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("url", &self.url)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    /// A body already in memory, as one chunk (what a [`Fetch`](super::Fetch)
    /// that cannot stream hands on).
    pub(crate) fn whole(url: Url, status: u16, body: Vec<u8>) -> BodyStream {
        let chunk = futures::stream::once(async move { Ok(Bytes::from(body)) });
        BodyStream {
            url,
            status,
            body: chunk.boxed(),
        }
    }
}

/// A response still open, its permit held, its deadline running.
pub(super) struct Open {
    pub url: Url,
    pub status: u16,
    pub response: reqwest::Response,
    pub permit: Option<Permit>,
    pub started: Instant,
}

/// The open response's body as a stream of at most `limit` bytes, ending
/// with an error at the timeout or past the limit; the permit is released
/// when the stream ends or is dropped.
pub(super) fn body(open: Open, limit: u64, timeout: Duration) -> BodyStream {
    let Open {
        url,
        status,
        response,
        permit,
        started,
    } = open;
    let deadline = started + timeout;
    let state = Reading {
        response: Some(response),
        _permit: permit,
        read: 0,
        url: url.clone(),
    };
    let chunks = futures::stream::unfold(state, move |mut state| async move {
        let response = state.response.as_mut()?;
        let next = tokio::time::timeout_at(deadline, response.chunk()).await;
        let item = match next {
            Err(_) => Err(FetchErrorKind::Timeout(timeout).at(&state.url)),
            Ok(Err(e)) => Err(FetchErrorKind::network(e).at(&state.url)),
            Ok(Ok(None)) => return None,
            Ok(Ok(Some(chunk))) => {
                state.read += chunk.len() as u64;
                match state.read > limit {
                    true => Err(FetchErrorKind::TooLarge(limit).at(&state.url)),
                    false => Ok(chunk),
                }
            }
        };
        if item.is_err() {
            // Nothing follows an error: the connection and permit go now.
            state.response = None;
            state._permit = None;
        }
        Some((item, state))
    });
    BodyStream {
        url,
        status,
        body: chunks.boxed(),
    }
}

struct Reading {
    response: Option<reqwest::Response>,
    /// Held while the body is read (it is part of the request); only its
    /// drop matters.
    _permit: Option<Permit>,
    read: u64,
    url: Url,
}
