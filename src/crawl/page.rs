//! One request fetched and read: what the engine learns from a page.
//!
//! Runs inside the fetch task, off the engine's loop: the fetch, then the
//! extraction the request's step calls for. Extraction runs on a blocking
//! thread under the spider's `timeout` ([`extract_within`]), so parsing never
//! holds up the network's threads and a page that takes too long fails alone.
//! What the page leads to is returned as found; the engine turns it into
//! requests in discovery order.

use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};
use url::Url;

use super::request::{Request, Step};
use crate::extract::{
    extract_detail, extract_link_page, extract_list, extract_seed, extract_sitemap, extract_value,
    maybe_gunzip, Fields, Format, ItemRule, PageInfo,
};
use crate::fetch::{Ask, Fetch, FetchError, Held, Page};
use crate::spider::{format_duration, Spider, Total};
use serde_json::Value;

/// A page that failed: fetched or read.
pub(super) struct PageError {
    pub url: String,
    pub reason: String,
    /// 404 or 410: the normal end of open-ended paging.
    pub gone: bool,
    /// This machine, not the host, failed (`FetchErrorKind::Local`): the
    /// page is not done, and the crawl stops before it.
    pub local: bool,
}

impl From<FetchError> for PageError {
    fn from(e: FetchError) -> PageError {
        PageError {
            url: e.url().to_string(),
            gone: matches!(e.status(), Some(404 | 410)),
            local: e.is_local(),
            reason: e.kind().to_string(),
        }
    }
}

/// What a page yielded.
#[derive(Default)]
pub(super) struct Fetched {
    /// Where the page was finally found.
    pub url: Option<Url>,
    /// List items (before seed fields are put in front), or a link page's record.
    pub items: Vec<Fields>,
    /// The items are whole records (link crawls): no detail page to wait for.
    pub whole: bool,
    /// Pages this one leads to, in document order, each with the seed fields
    /// its link carries (seed links; sitemaps of an index; links of a link crawl).
    pub links: Vec<(Url, Fields)>,
    /// The next page of this page's own sequence, as resolved.
    pub next: Option<Url>,
    /// A JSON list said it is the last page.
    pub stop: bool,
    /// The total a sequence's first page announced (`total_pages`, `total`).
    pub total: Option<u64>,
    /// What the page costs while it waits to be emitted: its body's length
    /// (an upper estimate of its items), or its entries' for a streamed sitemap.
    pub bytes: usize,
    /// The body's bytes in the crawl's budget, given back once the engine
    /// counts the page itself.
    pub held: Held,
}

/// The most a sitemap may hold, unpacked, when `max_body` is smaller: the
/// sitemap protocol allows 50 MB, and a sitemap is read as a stream, so
/// this bounds time, not memory.
pub(super) const SITEMAP_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Fetches `request` and reads it as its step says.
pub(super) async fn fetch_page(
    fetcher: &Arc<dyn Fetch>,
    spider: &Arc<Spider>,
    request: &Request,
    turn: u64,
) -> Result<Fetched, PageError> {
    let streamed = matches!(spider.list.format, Format::Sitemap)
        && matches!(request.step, Step::List { .. })
        && request.url.path() != "/robots.txt";
    if streamed {
        return fetch_sitemap(fetcher, spider, request, turn).await;
    }
    let page = send_logged(fetcher, &request.ask(spider), turn).await?;
    let number = match request.step {
        Step::List { number, .. } => number,
        _ => 0,
    };
    let Page {
        url,
        status,
        text,
        held,
    } = page;
    let bytes = text.len();
    let (spider, request, page_url) = (spider.clone(), request.clone(), url.clone());
    // The body moves to the blocking thread and is dropped there once read.
    let read = extract_within(spider.limits.timeout, move || {
        let info = PageInfo {
            url: &page_url,
            status,
            number,
        };
        read_page(&spider, &request, &text, &info)
    })
    .await;
    let mut fetched = read.map_err(|reason| PageError {
        url: url.to_string(),
        reason,
        gone: false,
        local: false,
    })?;
    fetched.url = Some(url);
    fetched.bytes = bytes;
    fetched.held = held;
    Ok(fetched)
}

/// Sends `ask` and logs the page for `-v`.
async fn send_logged(fetcher: &Arc<dyn Fetch>, ask: &Ask, turn: u64) -> Result<Page, FetchError> {
    let started = Instant::now();
    let page = fetcher.send(ask, turn).await?;
    log_page(&page, started);
    Ok(page)
}

/// Runs `extract` on a blocking thread, off the network's threads, and gives
/// up on it after `timeout`: the page then fails alone, with the reason.
///
/// A blocking thread cannot be stopped: an extraction that timed out runs on
/// to its end in the background and its result is dropped. The bound is on
/// the crawl's progress, not on the CPU the page costs.
pub(super) async fn extract_within<T, F>(timeout: Duration, extract: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, String> + Send + 'static,
{
    let task = tokio::task::spawn_blocking(extract);
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(read)) => read,
        // A panic is a bug in trawl: it ends the crawl as before, not the page.
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(e)) => Err(format!("reading the page stopped: {e}")),
        Err(_) => Err(format!(
            "extraction took longer than the timeout ({}); the page is skipped",
            format_duration(timeout)
        )),
    }
}

/// `-v`: one line per page fetched (SPEC §10).
fn log_page(page: &Page, started: Instant) {
    tracing::info!(
        "{} {} {} bytes {} ms",
        page.status,
        page.url,
        page.text.len(),
        started.elapsed().as_millis()
    );
}

/// A sitemap, read as it arrives on a blocking thread: neither its body nor
/// its unpacked text is ever held whole, so a 50 MB sitemap costs only its
/// entries (at most `MAX_SITEMAP_ENTRIES`).
async fn fetch_sitemap(
    fetcher: &Arc<dyn Fetch>,
    spider: &Arc<Spider>,
    request: &Request,
    turn: u64,
) -> Result<Fetched, PageError> {
    let limit = SITEMAP_MAX_BYTES.max(spider.limits.max_body);
    let stream = fetcher.fetch_stream(&request.url, turn, limit).await?;
    let (url, status) = (stream.url, stream.status);
    let body = StreamReader::new(stream.body.map_err(std::io::Error::other));
    // Made here: the bridge needs the runtime's handle.
    let bridge = SyncIoBridge::new(body);
    let (spider, page_url) = (spider.clone(), url.clone());
    let read = tokio::task::spawn_blocking(move || {
        let info = PageInfo {
            url: &page_url,
            status,
            number: 1,
        };
        let plain = maybe_gunzip(BufReader::new(bridge), limit);
        extract_sitemap(&spider.list, BufReader::new(plain), &info)
    })
    .await;
    let failed = |reason: String| PageError {
        url: url.to_string(),
        reason,
        gone: false,
        local: false,
    };
    let list = match read {
        Ok(list) => list.map_err(|e| failed(e.to_string()))?,
        Err(e) => return Err(failed(format!("reading the sitemap stopped: {e}"))),
    };
    let bytes = list.items.iter().map(fields_size).sum::<usize>()
        + list.sitemaps.iter().map(String::len).sum::<usize>();
    let links = list
        .sitemaps
        .iter()
        .filter_map(|loc| url.join(loc.trim()).ok())
        .map(|u| (u, Fields::new()))
        .collect();
    Ok(Fetched {
        url: Some(url),
        items: list.items,
        links,
        bytes,
        ..Fetched::default()
    })
}

/// A cheap estimate of what `fields` hold: their text, and a word for each
/// other value.
fn fields_size(fields: &Fields) -> usize {
    fields.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(values) => values.iter().map(value_size).sum(),
        Value::Object(fields) => fields_size(fields),
        _ => 8,
    }
}

fn read_page(
    spider: &Spider,
    request: &Request,
    body: &str,
    info: &PageInfo<'_>,
) -> Result<Fetched, String> {
    let resolve = |link: Option<String>| link.and_then(|l| info.url.join(&l).ok());
    match &request.step {
        Step::Seed { level } => {
            let rule = &spider.seeds[*level];
            let seed = extract_seed(rule, body, info).map_err(|e| e.to_string())?;
            Ok(Fetched {
                links: seed.links,
                next: resolve(seed.next),
                ..Fetched::default()
            })
        }
        Step::List { .. } => {
            let list = extract_list(&spider.list, body, info).map_err(|e| e.to_string())?;
            let total = match (&spider.total, request.is_first_of_sequence()) {
                (Some(total), true) => read_total(spider, total, body, info),
                _ => None,
            };
            let links = list
                .sitemaps
                .iter()
                .filter_map(|loc| info.url.join(loc.trim()).ok())
                .map(|url| (url, Fields::new()))
                .collect();
            Ok(Fetched {
                items: list.items,
                links,
                next: resolve(list.next),
                stop: list.stop,
                total,
                ..Fetched::default()
            })
        }
        Step::Links { depth } => {
            let ItemRule::Links(rule) = &spider.list.item else {
                return Err("a link page without a [links] rule".into());
            };
            let record = *depth > 0;
            let follow = *depth < rule.depth;
            let page = extract_link_page(rule, spider.detail.as_ref(), body, info, record, follow)
                .map_err(|e| e.to_string())?;
            Ok(Fetched {
                items: page.record.into_iter().collect(),
                whole: true,
                links: page.links.into_iter().map(|u| (u, Fields::new())).collect(),
                ..Fetched::default()
            })
        }
    }
}

/// The total on a sequence's first page, as a count; `None` (with a
/// warning) when the page does not give one, and the sequence then ends
/// like an open-ended one.
fn read_total(spider: &Spider, total: &Total, body: &str, info: &PageInfo<'_>) -> Option<u64> {
    let value = extract_value(&spider.list.format, total.read(), body, info).ok()?;
    let count = match &value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().replace([',', '.', ' '], "").parse().ok(),
        _ => None,
    };
    if count.is_none() {
        tracing::warn!(
            "the total {} on {} is not a count ({value}); paging goes on until a page has no items",
            total.read(),
            info.url
        );
    }
    count
}

/// Fetches and reads a detail page: a GET with `[request]` headers.
pub(super) async fn fetch_detail(
    fetcher: &Arc<dyn Fetch>,
    spider: &Arc<Spider>,
    ask: &Ask,
    turn: u64,
) -> Result<(Fields, Held), PageError> {
    assert!(
        spider.detail.is_some(),
        "details are fetched only for spiders with [detail]"
    );
    let page = send_logged(fetcher, ask, turn).await?;
    let Page {
        url,
        status,
        text,
        held,
    } = page;
    let (spider, page_url) = (spider.clone(), url.clone());
    let read = extract_within(spider.limits.timeout, move || {
        let info = PageInfo {
            url: &page_url,
            status,
            number: 0,
        };
        let rule = spider.detail.as_ref().expect("checked above");
        extract_detail(rule, &text, &info).map_err(|e| e.to_string())
    })
    .await;
    read.map(|fields| (fields, held))
        .map_err(|reason| PageError {
            url: url.to_string(),
            reason,
            gone: false,
            local: false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the real clock: the slow extraction really sleeps on its thread.
    #[tokio::test]
    async fn an_extraction_past_the_timeout_fails_alone() {
        let timeout = Duration::from_millis(20);
        let slow = extract_within(timeout, || {
            std::thread::sleep(Duration::from_millis(100));
            Ok(1)
        });
        assert_eq!(
            slow.await,
            Err("extraction took longer than the timeout (20ms); the page is skipped".into())
        );
        let quick = extract_within(timeout, || Ok(2));
        assert_eq!(quick.await, Ok(2));
        let failed = extract_within(timeout, || Err::<u8, _>("no such field".into()));
        assert_eq!(failed.await, Err("no such field".into()));
    }
}
