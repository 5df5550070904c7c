//! What a crawl did: counted while it runs, printed when it ends.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A page that failed after its retries, in [`Summary::failures`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The page's URL.
    pub url: String,
    /// Why it failed.
    pub reason: String,
}

/// Live counters, shared between the engine and whoever reports on it.
#[derive(Debug)]
pub(crate) struct Counters {
    pub started: Instant,
    pub pages: AtomicU64,
    pub list_pages: AtomicU64,
    pub records: AtomicU64,
    pub dropped_require: AtomicU64,
    pub dropped_unique: AtomicU64,
    pub failures: Mutex<Vec<Failure>>,
}

impl Counters {
    pub(super) fn new() -> Counters {
        Counters {
            started: Instant::now(),
            pages: AtomicU64::new(0),
            list_pages: AtomicU64::new(0),
            records: AtomicU64::new(0),
            dropped_require: AtomicU64::new(0),
            dropped_unique: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn fail(&self, url: &str, reason: impl Into<String>) {
        let failure = Failure {
            url: url.to_string(),
            reason: reason.into(),
        };
        tracing::warn!("failed: {} — {}", failure.url, failure.reason);
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(failure);
    }

    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of a crawl's progress: what [`Crawl::summary`](crate::Crawl::summary)
/// returns. Its `Display` is the line `trawl crawl` prints when it ends.
///
/// A page that fails after its retries is a [`Failure`] here, with its URL
/// and the reason, and the crawl goes on without it:
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
///     last_page = 4                     # one page more than the site has
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     [limits]
///     rate = 0                          # unlimited: the demo site is local
///     "#, site.base_url()), "inline", "blog")?;
/// let mut crawl = Crawl::start(spider, CrawlOptions::default())?;
/// while let Some(record) = crawl.next().await {
///     record?;
/// }
/// let summary = crawl.summary();
/// assert_eq!((summary.list_pages, summary.records), (3, 15));
/// assert_eq!(summary.failures.len(), 1);
/// assert!(summary.failures[0].url.ends_with("/blog/page/4"));
/// assert!(summary.failures[0].reason.contains("404"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Pages fetched and read (list and detail).
    pub pages: u64,
    /// List pages among them.
    pub list_pages: u64,
    /// Records emitted.
    pub records: u64,
    /// Records dropped by `require` (a required field was empty).
    pub dropped_require: u64,
    /// Records dropped by `unique` (seen before).
    pub dropped_unique: u64,
    /// Requests sent, retries and robots.txt included.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// Pages that failed, in the order they failed.
    pub failures: Vec<Failure>,
    /// Time since the crawl started.
    pub elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.pages as f64 / seconds
        } else {
            0.0
        };
        write!(
            f,
            "{} pages ({} list), {} records, {} requests, {} retries, {} failed, {:.2}s, {:.1} pages/s",
            self.pages,
            self.list_pages,
            self.records,
            self.requests,
            self.retries,
            self.failures.len(),
            seconds,
            rate
        )?;
        let dropped = self.dropped_require + self.dropped_unique;
        if dropped > 0 {
            write!(
                f,
                "; {dropped} records dropped ({} by require, {} by unique)",
                self.dropped_require, self.dropped_unique
            )?;
        }
        for failure in &self.failures {
            write!(f, "\n  failed: {} — {}", failure.url, failure.reason)?;
        }
        Ok(())
    }
}
