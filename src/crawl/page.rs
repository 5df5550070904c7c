//! One request fetched and read: what the engine learns from a page.
//!
//! Runs inside the fetch task, off the engine's loop: the fetch, then the
//! extraction the request's step calls for. What the page leads to is
//! returned as found; the engine turns it into requests in discovery order.

use std::io::BufReader;
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};
use url::Url;

use super::request::{Request, Step};
use crate::extract::{
    extract_detail, extract_link_page, extract_list, extract_seed, extract_sitemap, extract_value,
    maybe_gunzip, Fields, Format, ItemRule, PageInfo,
};
use crate::fetch::{Ask, Fetch, FetchError, Page};
use crate::spider::{Spider, Total};
use serde_json::Value;

/// A page that failed: fetched or read.
pub struct PageError {
    pub url: String,
    pub reason: String,
    /// 404 or 410: the normal end of open-ended paging.
    pub gone: bool,
}

impl From<FetchError> for PageError {
    fn from(e: FetchError) -> PageError {
        PageError {
            url: e.url().to_string(),
            gone: matches!(e.status(), Some(404 | 410)),
            reason: e.kind().to_string(),
        }
    }
}

/// What a page yielded.
#[derive(Default)]
pub struct Fetched {
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
}

/// The most a sitemap may hold, unpacked, when `max_body` is smaller: the
/// sitemap protocol allows 50 MB, and a sitemap is read as a stream, so
/// this bounds time, not memory.
pub const SITEMAP_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Fetches `request` and reads it as its step says.
pub async fn fetch_page(
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
    let started = Instant::now();
    let page = fetcher.send(&request.ask(spider), turn).await?;
    log_page(&page, started);
    let number = match request.step {
        Step::List { number, .. } => number,
        _ => 0,
    };
    let info = PageInfo {
        url: &page.url,
        status: page.status,
        number,
    };
    let read = read_page(spider, request, &page.text, &info);
    let mut fetched = read.map_err(|reason| PageError {
        url: page.url.to_string(),
        reason,
        gone: false,
    })?;
    fetched.url = Some(page.url);
    Ok(fetched)
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
    };
    let list = match read {
        Ok(list) => list.map_err(|e| failed(e.to_string()))?,
        Err(e) => return Err(failed(format!("reading the sitemap stopped: {e}"))),
    };
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
        ..Fetched::default()
    })
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
pub async fn fetch_detail(
    fetcher: &Arc<dyn Fetch>,
    spider: &Spider,
    ask: &Ask,
    turn: u64,
) -> Result<Fields, PageError> {
    let rule = spider
        .detail
        .as_ref()
        .expect("details are fetched only for spiders with [detail]");
    let started = Instant::now();
    let page = fetcher.send(ask, turn).await?;
    log_page(&page, started);
    let info = PageInfo {
        url: &page.url,
        status: page.status,
        number: 0,
    };
    extract_detail(rule, &page.text, &info).map_err(|e| PageError {
        url: page.url.to_string(),
        reason: e.to_string(),
        gone: false,
    })
}
