//! The crawl engine: a [`Crawl`] is a `Stream` of records in discovery order.
//!
//! The engine runs as one task that the `Crawl` owns; its fetches run in a
//! `JoinSet` the engine owns. Records pass through a small bounded channel,
//! so a consumer that stops pulling stops the engine at the read-ahead bound.
//! Dropping the `Crawl` aborts the engine, which drops the `JoinSet`, which
//! aborts every fetch and so releases every connection.

mod details;
mod driver;
mod frontier;
#[cfg(test)]
mod level_tests;
mod order;
mod page;
mod record;
mod request;
mod seen;
#[cfg(test)]
mod sequence_tests;
mod summary;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::extract::Fields;
pub use driver::READ_AHEAD_BYTES;
pub(crate) use order::OrderKey;
pub use record::Record;
pub(crate) use request::Request;
pub use summary::{Failure, Summary};

use crate::fetch::{ClientError, Fetch, Fetcher};
use crate::spider::Spider;
use summary::Counters;

/// A fault that ends the whole crawl (a failed page does not).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CrawlError {
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] ClientError),
    /// No list page of the crawl could be fetched: every start failed
    /// (refused, unreachable, an HTTP error). A crawl that got nothing is
    /// not a success (SPEC §10).
    #[error("nothing was fetched: the first list page failed: {url}: {reason}")]
    NothingFetched {
        /// The first list page that failed.
        url: String,
        /// Why.
        reason: String,
    },
    /// This machine ran out of descriptors or memory (EMFILE, ENOMEM …) and
    /// a page still failed after its retries: the crawl stops before it,
    /// and neither it nor any later page is done, so a resumed crawl
    /// (`--state`) fetches it again (SPEC §10 "Bounds").
    #[error(
        "stopped at {url}: {reason}; it and the pages after it are not done \
         (rerun with --state to continue from it)"
    )]
    LocalFault {
        /// The page that could not be fetched.
        url: String,
        /// The local fault, as the fetch named it.
        reason: String,
    },
    /// A bug in trawl; please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the engine reports, in discovery order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum Event {
    /// One record.
    Record(Record),
    /// Every record of one list page has been sent (a failed page sends none).
    PageDone(PageDone),
}

/// A page whose records are all out: the unit a resumable crawl commits.
#[derive(Debug, Clone)]
pub(crate) struct PageDone {
    /// How many pages were done before this one (committed ones included).
    pub(crate) seq: u64,
    /// The page's place in discovery order.
    pub(crate) key: OrderKey,
    /// The page's URL, as requested.
    pub(crate) url: Url,
    /// What dedup knows the page by (its URL; for a POST, method and body too).
    pub(crate) visit: String,
    /// How many records it produced.
    pub(crate) records: u32,
    /// The requests this page discovered (the pages it leads to, its next
    /// page): with every page before it done, they are where a resumed crawl
    /// picks up.
    pub(crate) children: Vec<Request>,
    /// Detail pages first fetched for this page, by normalised URL, so that a
    /// resumed crawl does not fetch them again for a later record (filled
    /// only with [`CrawlOptions::page_details`]).
    pub(crate) details: Vec<(String, Arc<Fields>)>,
    /// `unique` values first seen on this page, so that a resumed crawl still
    /// drops their repeats (filled only with [`CrawlOptions::page_details`]).
    pub(crate) unique: Vec<String>,
}

/// An earlier crawl's committed progress, to continue from: read from a
/// [`StateStore`](crate::state::StateStore) and handed to
/// [`CrawlOptions::resume`]; its parts are the engine's own.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Pages done so far.
    pub(crate) done: u64,
    /// Requests discovered and not yet done, in any order.
    pub(crate) pending: Vec<Request>,
    /// Normalised URLs of the pages already done (so they are not crawled again).
    pub(crate) visited: Vec<String>,
    /// Detail pages already fetched, by normalised URL.
    pub(crate) details: Vec<(String, Fields)>,
    /// `unique` values already seen.
    pub(crate) unique: Vec<String>,
    /// The cookie jar as it was committed (`cookies = true`).
    pub(crate) cookies: Option<String>,
}

/// Limits on the crawl itself, beside the spider's `[limits]`.
///
/// The defaults crawl everything the spider reaches, from its first page.
/// `max_pages` and `max_items` are the command line's `--max-pages` and
/// `--max-items`:
///
/// ```
/// use futures::StreamExt;
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::{Crawl, CrawlOptions, Spider};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?; // 3 pages of 5 posts
/// let spider = Spider::from_toml(&format!(r#"
///     start = "{}/blog/page/{{page}}"
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     "#, site.base_url()), "inline", "blog")?;
/// let options = CrawlOptions { max_pages: Some(2), ..CrawlOptions::default() };
/// let records: Vec<_> = Crawl::start(spider, options)?.collect().await;
/// assert_eq!(records.len(), 10); // two list pages
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrawlOptions {
    /// Stop after this many list pages (`--max-pages`).
    pub max_pages: Option<u64>,
    /// Stop after this many records (`--max-items`).
    pub max_items: Option<u64>,
    /// Pages fetched ahead of the one being emitted; 0 (the default) means
    /// the larger of 8 and the concurrency, enough to keep every permitted
    /// request busy on high-latency sites. Open-ended paging fetches one list
    /// page of a sequence at a time.
    pub read_ahead: usize,
    /// Bytes the pages fetched ahead may hold (their bodies' lengths) before
    /// no further page is fetched ahead; 0 (the default) means
    /// [`READ_AHEAD_BYTES`], 32 MiB. The page the others wait for is fetched
    /// whatever they hold.
    pub read_ahead_bytes: usize,
    /// Continue an earlier crawl instead of starting at the first page.
    pub resume: Option<Resume>,
    /// Keep, with each page, what a state store commits beside it (the
    /// detail pages and `unique` values it first saw); set it when the
    /// crawl runs in a [`Job`](crate::job::Job) with a state store.
    pub page_details: bool,
}

/// A running crawl: a [`Stream`] of records in discovery order.
///
/// Records arrive page by page and item by item, in the order a reader of
/// the site would find them, while the fetches run concurrently underneath
/// (up to the spider's `concurrency`, each host at its `rate`). The engine
/// is a task on the Tokio runtime [`start`](Crawl::start) was called on; it
/// fetches ahead of the consumer only a bounded number of pages, so a
/// consumer that stops pulling stops the fetching.
///
/// A page that fails after its retries does not end the stream: it is
/// counted in [`summary`](Crawl::summary)`().failures` and the crawl goes
/// on. The stream yields an `Err` only for a [`CrawlError`] that ends the
/// crawl, and ends after it.
///
/// Three ways to end a crawl early: `take(n)` (from
/// [`StreamExt`](futures::StreamExt)) stops it after `n` records;
/// [`stop`](Crawl::stop) lets the records already complete arrive and then
/// ends the stream; dropping the `Crawl` aborts the engine and every fetch
/// at once, releasing their connections.
///
/// ```
/// use futures::StreamExt;
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::{Crawl, CrawlOptions, Spider};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shape = DemoSite { pages: 200, ..DemoSite::default() }; // 1,000 posts
/// let site = DemoServer::start(shape).await?;
/// let spider = Spider::from_toml(&format!(r#"
///     start = "{}/blog/page/{{page}}"   # no last_page: pages until one is empty
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     [limits]
///     rate = 0                          # unlimited: the demo site is local
///     "#, site.base_url()), "inline", "blog")?;
/// let mut crawl = Crawl::start(spider, CrawlOptions::default())?;
/// let mut seen: u64 = 0;
/// while let Some(record) = crawl.next().await {
///     record?;
///     seen += 1;
///     if seen == 5 {
///         crawl.stop(); // what is complete still arrives, then the stream ends
///     }
/// }
/// assert!(seen >= 5 && seen < u64::from(shape.post_count()));
/// let summary = crawl.summary();
/// assert_eq!(summary.records, seen);
/// assert!(summary.failures.is_empty());
/// # Ok(()) }
/// ```
#[must_use = "a crawl does nothing unless its records are pulled"]
pub struct Crawl {
    events: mpsc::Receiver<Result<Event, CrawlError>>,
    engine: JoinHandle<()>,
    stop: CancellationToken,
    counters: Arc<Counters>,
    fetcher: Arc<dyn Fetch>,
}

impl Crawl {
    /// Starts crawling `spider` on the current Tokio runtime; the first
    /// request is sent at once, whether or not the stream is polled yet.
    ///
    /// A start on a loopback or private address (the demo site's
    /// `127.0.0.1`) allows such addresses for this crawl; otherwise they
    /// are refused unless the spider sets `allow_private`.
    ///
    /// # Errors
    /// [`CrawlError::Client`] when the HTTP client cannot be built.
    ///
    /// # Panics
    /// Outside a Tokio runtime, as [`tokio::spawn`] does.
    pub fn start(spider: Spider, options: CrawlOptions) -> Result<Crawl, CrawlError> {
        // A start on a private network allows it for the crawl (SPEC §10).
        let starts: Vec<&str> = spider.starts.templates.iter().map(String::as_str).collect();
        let fetcher = Fetcher::with_starts(&spider.limits, &spider.request, &starts)
            .map_err(CrawlError::Client)?;
        // A resumed crawl goes on in the session it had (SPEC §7).
        if let Some(saved) = options.resume.as_ref().and_then(|r| r.cookies.as_deref()) {
            if let Err(e) = fetcher.load_cookies(saved) {
                tracing::warn!(
                    "the saved cookies cannot be read back ({e}); starting without them"
                );
            }
        }
        Ok(Crawl::with_fetch(spider, options, Arc::new(fetcher)))
    }

    /// Starts crawling with `fetcher` as the network (the engine's unit tests
    /// pass a scripted one).
    pub(crate) fn with_fetch(
        spider: Spider,
        options: CrawlOptions,
        fetcher: Arc<dyn Fetch>,
    ) -> Crawl {
        let (tx, events) = mpsc::channel(64);
        let counters = Arc::new(Counters::new());
        let stop = CancellationToken::new();
        let driver = driver::Driver::new(
            Arc::new(spider),
            fetcher.clone(),
            options,
            counters.clone(),
            tx,
            stop.clone(),
        );
        Crawl {
            events,
            engine: tokio::spawn(driver.run()),
            stop,
            counters,
            fetcher,
        }
    }

    /// The next record or page mark; `None` when the crawl has ended.
    ///
    /// # Cancel safety
    /// Cancel safe: an event not returned stays queued for the next call.
    pub(crate) async fn next_event(&mut self) -> Option<Result<Event, CrawlError>> {
        self.events.recv().await
    }

    /// Asks the crawl to stop taking work: records already complete still
    /// arrive, then the stream ends. Fetches in flight are abandoned. Calling
    /// it again does nothing.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Counts so far: pages, records, retries, failures, elapsed time. Read
    /// it after the stream ends for the crawl's totals.
    pub fn summary(&self) -> Summary {
        self.summary_handle().summary()
    }

    /// The crawl's cookie jar as text, when it keeps one (`cookies = true`).
    pub fn cookies(&self) -> Option<String> {
        self.fetcher.cookies()
    }

    /// A handle that reads the counts while someone else owns the crawl
    /// (a [`Job`](crate::job::Job), a consumer task).
    pub fn summary_handle(&self) -> SummaryHandle {
        SummaryHandle {
            counters: self.counters.clone(),
            fetcher: self.fetcher.clone(),
        }
    }
}

/// Reads a crawl's counts from anywhere (a progress line, while a
/// [`Job`](crate::job::Job) owns the crawl). Cheap to clone.
#[derive(Clone)]
pub struct SummaryHandle {
    counters: Arc<Counters>,
    fetcher: Arc<dyn Fetch>,
}

impl std::fmt::Debug for SummaryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryHandle").finish_non_exhaustive()
    }
}

impl SummaryHandle {
    /// Counts so far: pages, records, retries, failures, elapsed time.
    pub fn summary(&self) -> Summary {
        let c = &self.counters;
        let (requests, retries) = self.fetcher.counts();
        Summary {
            pages: c.pages.load(Ordering::Relaxed),
            list_pages: c.list_pages.load(Ordering::Relaxed),
            records: c.records.load(Ordering::Relaxed),
            dropped_require: c.dropped_require.load(Ordering::Relaxed),
            dropped_unique: c.dropped_unique.load(Ordering::Relaxed),
            requests,
            retries,
            failures: c.failures.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            elapsed: c.started.elapsed(),
        }
    }
}

impl Stream for Crawl {
    type Item = Result<Record, CrawlError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match ready!(self.events.poll_recv(cx)) {
                Some(Ok(Event::PageDone(_))) => continue,
                Some(Ok(Event::Record(record))) => Poll::Ready(Some(Ok(record))),
                Some(Err(e)) => Poll::Ready(Some(Err(e))),
                None => Poll::Ready(None),
            };
        }
    }
}

impl Drop for Crawl {
    fn drop(&mut self) {
        self.engine.abort();
    }
}

impl std::fmt::Debug for Crawl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crawl")
            .field("summary", &self.summary())
            .finish()
    }
}
