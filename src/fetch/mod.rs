//! HOW to ask politely: one HTTP client wrapped in small policies.
//!
//! [`Fetcher::get`] applies them outside in, each in its own module:
//!
//! 1. **scheme** — only http and https leave (SPEC §3);
//! 2. **redirects** — followed here, hop by hop, so every hop passes the
//!    policies below (at most 10; the final URL is the page's base);
//! 3. **robots** (`robots/`) — fetched once per host (its first 500 KiB),
//!    itself through the policies below, and checked before each request;
//! 4. **retry** (`retry.rs`) — outside the rate limit, so every attempt pays
//!    for a slot; Retry-After pauses the whole host, and a Retry-After or
//!    Crawl-delay longer than `max_delay` skips it instead (`hosts.rs`);
//! 5. **concurrency** (`gate.rs`) — a global cap, taken *before* the host's slot so
//!    that nothing waits between the slot and the socket; freed slots go to
//!    the earliest list page's requests first; never more than the
//!    file-descriptor budget holds (`fds.rs`);
//! 6. **per-host rate** (`rate.rs`, `hosts.rs`) — the last wait before the
//!    socket, so the slot time is the time the server sees;
//! 7. **timeout** — connect to last byte, body included (`body.rs` streams it
//!    against `max_body` and decodes its charset);
//! 8. **private networks** (`private.rs`) — the innermost check, so that
//!    every hop, robots.txt and retry is judged by where it would connect:
//!    IP literals before the request, host names in the client's resolver
//!    (after DNS). Reserved addresses fail the page unless a start is on
//!    one or `allow_private` is set.
//!
//! What is sent is an [`Ask`] (`ask.rs`): the `[request]` headers, and for
//! a POST its body; each redirect hop is its own Ask (307/308 repeat a
//! POST, 301/302/303 turn it into a GET; credentials stay with their
//! origin). With `cookies = true` the client carries one RFC 6265 jar
//! (`cookies.rs`). Proxies come from the environment (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `NO_PROXY`; see [`Fetcher::with_request`]).
//!
//! **Descriptors** (`fds.rs`, `pool.rs`): in-flight and idle connections
//! share the process's open-file limit; a client serves a bounded number of
//! hosts before a fresh one replaces it, so idle sockets cannot pile up
//! across thousands of hosts. When this machine runs out anyway (EMFILE,
//! ENFILE, ENOMEM, ENOBUFS), the fault is [`FetchErrorKind::Local`]:
//! retried after the client is replaced, and never held against the host
//! (robots.txt is not taken as unavailable).
//!
//! Numbers a server sends (Retry-After, Crawl-delay, Content-Length) are
//! clamped before any arithmetic or allocation: nothing it says can panic a
//! fetch or make trawl reserve memory it was only promised.

mod ask;
mod body;
mod budget;
mod cookies;
mod error;
mod fds;
mod gate;
mod hosts;
mod pool;
mod private;
mod rate;
mod retry;
mod robots;
mod slots;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

use url::Url;

pub use ask::{Ask, Body};
pub(crate) use budget::{ByteBudget, Held};
pub use cookies::CookiesError;
pub use error::{ClientError, FetchError, FetchErrorKind};
pub use fds::raise_open_files_limit;
pub(crate) use retry::Backoff;
pub(crate) use robots::Robots;
pub use robots::MAX_ROBOTS_BYTES;
pub(crate) use stream::BodyStream;

use crate::spider::{Limits, RequestRule};
use body::Cap;
use cookies::Jar;
use fds::{Budget, IDLE_TIMEOUT};
use hosts::{Host, Hosts};

/// What the crawl engine needs from the network: a page for a URL, with the
/// request's turn (lower turns go first when requests wait for a slot).
///
/// [`Fetcher`] is the real one; the engine's unit tests use a scripted one,
/// so ordering and failure handling are tested without sockets.
pub(crate) trait Fetch: Send + Sync + 'static {
    /// Fetches `url`.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request; nothing else is lost.
    fn fetch<'a>(&'a self, url: &'a Url, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>>;

    /// Sends `ask`: its headers, and a POST when it has a body. The default
    /// (a network that knows only GETs) fetches the URL.
    fn send<'a>(&'a self, ask: &'a Ask, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>> {
        self.fetch(&ask.url, turn)
    }

    /// The cookie jar as text for the state store (`cookies = true`), if
    /// this network keeps one.
    fn cookies(&self) -> Option<String> {
        None
    }

    /// Fetches `url` and hands its body on as it arrives, up to `limit`
    /// bytes, instead of holding it (sitemaps). The default fetches it as a
    /// page and hands on the whole text.
    fn fetch_stream<'a>(
        &'a self,
        url: &'a Url,
        turn: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<BodyStream, FetchError>> {
        let _ = limit;
        Box::pin(async move {
            let page = self.fetch(url, turn).await?;
            Ok(BodyStream::whole(
                page.url,
                page.status,
                page.text.into_bytes(),
            ))
        })
    }

    /// Requests sent and retries, for the summary.
    fn counts(&self) -> (u64, u64) {
        (0, 0)
    }

    /// The crawl's byte budget, for bodies to take their bytes from as
    /// they arrive. A network that holds no bodies ignores it.
    fn share_budget(&self, budget: Arc<ByteBudget>) {
        let _ = budget;
    }
}

impl Fetch for Fetcher {
    fn fetch<'a>(&'a self, url: &'a Url, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.get_in_turn(url, turn))
    }

    fn send<'a>(&'a self, ask: &'a Ask, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.send_in_turn(ask, turn))
    }

    fn cookies(&self) -> Option<String> {
        Fetcher::cookies(self)
    }

    fn fetch_stream<'a>(
        &'a self,
        url: &'a Url,
        turn: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<BodyStream, FetchError>> {
        Box::pin(self.get_stream(url, turn, limit))
    }

    fn counts(&self) -> (u64, u64) {
        Fetcher::counts(self)
    }

    fn share_budget(&self, budget: Arc<ByteBudget>) {
        budget.watch_gate(self.inner.gate.clone());
        // One crawl, one budget: a second is ignored.
        let _ = self.inner.budget.set(budget);
    }
}

/// Set on a turn, marks the next page of an open-ended chain: everything
/// behind it waits for it, so it takes the next free concurrency slot before
/// any other request. A host's rate-limit slots still go in discovery order
/// (the turn without this bit): when the rate is what holds the crawl back,
/// the first records' detail pages go first (SPEC §10 "polite streaming").
pub(crate) const CHAIN_TURN: u64 = 1 << 63;

/// The most redirects followed for one page.
pub const MAX_REDIRECTS: usize = 10;

/// A fetched page: its final URL (after redirects) and its body decoded to
/// text (by its charset: the Content-Type's, the HTML's `<meta>`, or UTF-8).
#[derive(Debug, Clone)]
pub struct Page {
    /// Where the page was finally found; links resolve against it.
    pub url: Url,
    /// The HTTP status (always a success).
    pub status: u16,
    /// The body, decoded to text.
    pub text: String,
    /// Its bytes in the crawl's budget, until the engine lets go of it.
    pub(crate) held: budget::Held,
}

/// Counters the summary reads.
#[derive(Debug, Default)]
pub(crate) struct FetchStats {
    /// Requests sent, retries and robots.txt included.
    pub requests: AtomicU64,
    /// Attempts after the first.
    pub retries: AtomicU64,
}

/// A polite HTTP client: the fetch stack a crawl uses, on its own.
///
/// Every request passes the policies the [module docs](self) list:
/// robots.txt, the per-host rate, the global concurrency cap, retries with
/// backoff, the timeout and the body limit, all from a spider's
/// [`Limits`]. Cheap to clone; clones share every limit, so two tasks
/// fetching from one host through clones still keep its rate.
///
/// Loopback, private and other reserved addresses are refused unless
/// `allow_private` is set, so fetching the demo site on `127.0.0.1` takes
/// it:
///
/// ```
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::fetch::{FetchErrorKind, Fetcher};
/// use trawl::spider::Limits;
/// use url::Url;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?;
/// let post = Url::parse(&format!("{}/blog/post/1", site.base_url()))?;
///
/// let fetcher = Fetcher::new(&Limits { allow_private: true, ..Limits::default() })?;
/// let page = fetcher.get(&post).await?;
/// assert_eq!(page.status, 200);
/// assert!(page.text.contains("Description of post 1."));
///
/// let missing = fetcher.get(&post.join("/blog/post/999")?).await.unwrap_err();
/// assert_eq!(missing.status(), Some(404));
/// assert!(!missing.is_retryable()); // a 404 is not tried again
/// assert_eq!(fetcher.counts(), (3, 0)); // robots.txt once, then two pages; no retries
///
/// let strict = Fetcher::new(&Limits::default())?;
/// let refused = strict.get(&post).await.unwrap_err();
/// assert!(matches!(refused.kind(), FetchErrorKind::Private(_))); // nothing was sent
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The HTTP client, replaced to close idle sockets (`pool.rs`).
    pool: pool::Pool,
    hosts: Hosts,
    gate: gate::Gate,
    limits: Limits,
    backoff: Backoff,
    stats: FetchStats,
    /// `cookies = true`: the jar the client reads and fills.
    jar: Option<Arc<Jar>>,
    /// Which addresses may be reached; the client's resolver shares it.
    private: Arc<private::Policy>,
    /// The crawl's read-ahead budget, which bodies take their bytes from
    /// as they arrive (`budget.rs`); none outside a crawl.
    budget: std::sync::OnceLock<Arc<ByteBudget>>,
}

/// What an exchange does with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Read it whole, within the cap.
    Body(Cap),
    /// Hand the open response on (`stream.rs`).
    Stream,
}

enum Answer {
    Page(Page),
    /// A 3xx with a Location: the status and where it leads.
    Redirect(u16, Url),
    /// A streamed body's response, not yet read.
    Open(stream::Open),
}

impl Fetcher {
    /// Builds the client and policies for `limits`, keeping no cookies.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (a proxy variable that is not a
    /// URL, no TLS roots).
    pub fn new(limits: &Limits) -> Result<Fetcher, ClientError> {
        Fetcher::with_request(limits, &RequestRule::default())
    }

    /// Builds the client and policies for `limits` and `[request]`: with
    /// `cookies = true` one jar for the crawl (load saved cookies with
    /// [`load_cookies`](Fetcher::load_cookies)); without it no Cookie
    /// header is ever sent. Headers and bodies come with each [`Ask`].
    ///
    /// Proxies are reqwest's, read from the environment when the client is
    /// built: `HTTP_PROXY` for every http request (robots.txt and loopback
    /// destinations included: reqwest makes no exception for them),
    /// `HTTPS_PROXY` for https (tunnelled with CONNECT), `ALL_PROXY` for
    /// both, lowercase names too; `NO_PROXY` lists host names (each also
    /// covering its subdomains), IP addresses or CIDR ranges, or `*`.
    ///
    /// Loopback, private and other reserved addresses are refused unless
    /// `limits.allow_private` is set; see [`with_starts`](Fetcher::with_starts).
    pub fn with_request(limits: &Limits, request: &RequestRule) -> Result<Fetcher, ClientError> {
        Fetcher::with_starts(limits, request, &[])
    }

    /// Like [`with_request`](Fetcher::with_request), for a crawl that begins
    /// at `starts` (URLs as written): when one of them is on a loopback,
    /// private or other reserved address (an IP literal, or a host name
    /// that resolves to one, looked up before the first request), such
    /// addresses are allowed for the whole crawl (SPEC §10).
    pub fn with_starts(
        limits: &Limits,
        request: &RequestRule,
        starts: &[&str],
    ) -> Result<Fetcher, ClientError> {
        let policy = private::Policy::new(limits.allow_private, starts, limits.timeout);
        Fetcher::with_policy(limits, request, policy)
    }

    fn with_policy(
        limits: &Limits,
        request: &RequestRule,
        policy: private::Policy,
    ) -> Result<Fetcher, ClientError> {
        let private = Arc::new(policy);
        let jar = request.cookies.then(|| Arc::new(Jar::default()));
        let budget = Budget::new(fds::open_files_limit(), limits.concurrency.get());
        if budget.in_flight < limits.concurrency.get() {
            tracing::warn!(
                "concurrency lowered from {} to {} to fit the open-file limit ({})",
                limits.concurrency,
                budget.in_flight,
                fds::describe_limit()
            );
        }
        let build = client_builder(limits, &jar, &private, budget);
        let pool = pool::Pool::new(build, budget.hosts_per_pool)
            .map_err(|e| ClientError(FetchErrorKind::network(e).to_string()))?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                pool,
                hosts: Hosts::new(limits.rate, limits.burst),
                gate: gate::Gate::new(budget.in_flight),
                limits: limits.clone(),
                backoff: Backoff::default(),
                stats: FetchStats::default(),
                jar,
                private,
                budget: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Puts cookies saved by [`cookies`](Fetcher::cookies) back in the jar (a resumed
    /// crawl); cookies that expired meanwhile are dropped. Without
    /// `cookies = true` there is no jar and this does nothing.
    pub fn load_cookies(&self, saved: &str) -> Result<(), CookiesError> {
        match &self.inner.jar {
            Some(jar) => jar.load(saved),
            None => Ok(()),
        }
    }

    /// The cookie jar as JSON text, for [`load_cookies`](Fetcher::load_cookies)
    /// in a later run; `None` without `cookies = true`.
    pub fn cookies(&self) -> Option<String> {
        self.inner.jar.as_ref().map(|jar| jar.save())
    }

    /// Requests sent (robots.txt and retries included) and retries so far.
    pub fn counts(&self) -> (u64, u64) {
        let stats = self.stats();
        (
            stats.requests.load(Ordering::Relaxed),
            stats.retries.load(Ordering::Relaxed),
        )
    }

    /// Counters for requests and retries.
    pub(crate) fn stats(&self) -> &FetchStats {
        &self.inner.stats
    }

    /// Fetches `url` through every policy; see the module docs for the order.
    /// See [`Fetcher`] for an example.
    ///
    /// # Errors
    /// A [`FetchError`] naming the URL: a status that is not success (after
    /// the retries a 429 or 5xx gets), a timeout, a network error, a body
    /// over `max_body`, robots.txt forbidding it, a refused private address.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request and frees its connection and
    /// its concurrency permit; nothing else is lost.
    pub async fn get(&self, url: &Url) -> Result<Page, FetchError> {
        self.get_in_turn(url, 0).await
    }

    /// Sends `ask` (its headers, and a POST when it has a body) through every
    /// policy, as [`get`](Fetcher::get) does a GET: robots.txt, the rate and
    /// retries apply, and each redirect hop is checked on its own. See
    /// [`Ask`] for an example.
    ///
    /// # Errors
    /// As for [`get`](Fetcher::get).
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request; nothing else is lost.
    pub async fn send(&self, ask: &Ask) -> Result<Page, FetchError> {
        self.send_in_turn(ask, 0).await
    }

    /// Like [`get`](Fetcher::get), but when requests wait for the concurrency
    /// cap, lower `turn`s go first (the engine passes the list page's position).
    pub(crate) async fn get_in_turn(&self, url: &Url, turn: u64) -> Result<Page, FetchError> {
        self.send_in_turn(&Ask::get(url.clone()), turn).await
    }

    /// Sends `ask` (its headers; a POST when it has a body) through every
    /// policy, as [`get_in_turn`](Fetcher::get_in_turn) does a GET: robots,
    /// rate and retries apply to a POST too, and each redirect hop is
    /// checked on its own.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the request; nothing else is lost.
    pub(crate) async fn send_in_turn(&self, ask: &Ask, turn: u64) -> Result<Page, FetchError> {
        let cap = Cap::Refuse(self.inner.limits.max_body);
        match self.follow(ask, turn, Want::Body(cap)).await? {
            Answer::Page(page) => Ok(page),
            _ => Err(FetchErrorKind::Network("an unexpected streamed answer".into()).at(&ask.url)),
        }
    }

    /// Like [`get_in_turn`](Fetcher::get_in_turn), but the body is handed
    /// on as it arrives, up to `limit` bytes ([`BodyStream`]).
    pub(crate) async fn get_stream(
        &self,
        url: &Url,
        turn: u64,
        limit: u64,
    ) -> Result<BodyStream, FetchError> {
        match self
            .follow(&Ask::get(url.clone()), turn, Want::Stream)
            .await?
        {
            Answer::Open(open) => Ok(stream::body(open, limit, self.inner.limits.timeout)),
            Answer::Page(page) => Ok(BodyStream::whole(
                page.url,
                page.status,
                page.text.into_bytes(),
            )),
            Answer::Redirect(_, next) => {
                Err(FetchErrorKind::Redirect(format!("to {next}")).at(url))
            }
        }
    }

    /// Sends `ask` through every policy, following redirects.
    async fn follow(&self, ask: &Ask, turn: u64, want: Want) -> Result<Answer, FetchError> {
        if !matches!(ask.url.scheme(), "http" | "https") {
            return Err(FetchErrorKind::NotHttp.at(&ask.url));
        }
        self.inner.private.settle().await;
        let mut hop = ask.clone();
        for _ in 0..=MAX_REDIRECTS {
            let url = &hop.url;
            let host = self.inner.hosts.get(url);
            skipped(&host, url)?;
            self.check_private(url)?;
            self.check_robots(&host, url, turn).await?;
            if let Some(page) = self
                .robots_page(&host, url, want)
                .filter(|_| hop.body.is_none())
            {
                return Ok(Answer::Page(page));
            }
            match self.with_retries(&host, &hop, turn, want).await? {
                answer @ (Answer::Page(_) | Answer::Open(_)) => return Ok(answer),
                // The failure belongs to the page that redirected, not to a
                // URL that was never fetched.
                Answer::Redirect(_, next) if !matches!(next.scheme(), "http" | "https") => {
                    return Err(
                        FetchErrorKind::Redirect(format!("to non-http(s) URL {next}")).at(url),
                    )
                }
                Answer::Redirect(code, next) => hop = hop.redirected(code, next),
            }
        }
        Err(FetchErrorKind::Redirect(format!("more than {MAX_REDIRECTS} redirects")).at(&hop.url))
    }

    /// Refuses a reserved IP literal (host names are refused by the resolver).
    fn check_private(&self, url: &Url) -> Result<(), FetchError> {
        self.inner
            .private
            .check_url(url)
            .map_err(|refusal| FetchErrorKind::Private(refusal.to_string()).at(url))
    }

    async fn check_robots(&self, host: &Host, url: &Url, turn: u64) -> Result<(), FetchError> {
        if !self.inner.limits.robots {
            return Ok(());
        }
        // A local fault is not cached: the host's next request asks again.
        let robots = host
            .robots
            .get_or_try_init(|| self.fetch_robots(host, url, turn))
            .await
            .map_err(|e| e.kind().clone().at(url))?;
        robots
            .check(url.as_str())
            .map_err(|why| FetchErrorKind::Robots(why).at(url))
    }

    /// The host's robots.txt as already read for its rules, when `url` is
    /// that file: the same URL is never fetched twice (SPEC §3).
    fn robots_page(&self, host: &Host, url: &Url, want: Want) -> Option<Page> {
        let is_robots = url.path() == "/robots.txt" && url.query().is_none();
        if !self.inner.limits.robots || !is_robots || want == Want::Stream {
            return None;
        }
        host.robots_page.get().cloned()
    }

    /// Fetches robots.txt once for the host (SPEC §5: 4xx allows, 5xx or
    /// unreachable disallows), reading at most its first 500 KiB (RFC 9309 §2.5).
    /// A local fault (this machine out of descriptors) is no answer about
    /// the host: it is the error, and nothing is decided.
    async fn fetch_robots(&self, host: &Host, url: &Url, turn: u64) -> Result<Robots, FetchError> {
        let cap = Cap::Lines(MAX_ROBOTS_BYTES);
        let mut robots_url = url.join("/robots.txt").expect("an http(s) URL has a root");
        let mut hop_host = self.inner.hosts.get(&robots_url);
        // RFC 9309 §2.3.1.2: follow at least five redirects.
        for _ in 0..5 {
            let ask = Ask::get(robots_url.clone());
            let robots = match self
                .with_retries(&hop_host, &ask, turn, Want::Body(cap))
                .await
            {
                Ok(Answer::Page(page)) => {
                    let robots = Robots::parse(&self.inner.limits.user_agent, page.text.as_bytes());
                    let _ = host.robots_page.set(page);
                    robots
                }
                Ok(Answer::Redirect(_, next)) if matches!(next.scheme(), "http" | "https") => {
                    hop_host = self.inner.hosts.get(&next);
                    robots_url = next;
                    continue;
                }
                Ok(Answer::Redirect(..) | Answer::Open(_)) => Robots::AllowAll,
                Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => Robots::AllowAll,
                // The page's own host is refused: the page fails with that
                // reason, not with a robots.txt one.
                Err(e)
                    if matches!(e.kind(), FetchErrorKind::Private(_))
                        && e.url().host() == url.host() =>
                {
                    Robots::AllowAll
                }
                Err(e) if e.is_local() => return Err(e),
                Err(e) => Robots::DisallowAll(e.kind().to_string()),
            };
            self.apply_crawl_delay(host, &robots);
            return Ok(robots);
        }
        Ok(Robots::AllowAll)
    }

    /// A Crawl-delay slows the host only when it is longer than 1/rate (SPEC §3);
    /// one longer than `max_delay` skips the host (SPEC §10 "Waiting").
    fn apply_crawl_delay(&self, host: &Host, robots: &Robots) {
        let Some(delay) = robots.crawl_delay() else {
            return;
        };
        if host
            .accept_wait("Crawl-delay", delay, self.inner.limits.max_delay)
            .is_err()
        {
            return;
        }
        let rate = self.inner.hosts.rate().per_second();
        if rate == 0.0 || delay.as_secs_f64() > 1.0 / rate {
            host.set_gap(delay);
        }
    }

    async fn with_retries(
        &self,
        host: &Host,
        ask: &Ask,
        turn: u64,
        want: Want,
    ) -> Result<Answer, FetchError> {
        let mut retry = 0;
        loop {
            match self.attempt(host, ask, turn, want).await {
                Err(error) if error.is_retryable() && retry < self.inner.limits.retries => {
                    retry += 1;
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%error, retry, "retrying");
                    tokio::time::sleep(self.inner.backoff.delay(retry)).await;
                }
                result => return result,
            }
        }
    }

    /// One request: a permit, the host's slot, then the exchange under the timeout.
    async fn attempt(
        &self,
        host: &Host,
        ask: &Ask,
        turn: u64,
        want: Want,
    ) -> Result<Answer, FetchError> {
        let url = &ask.url;
        self.check_private(url)?;
        let priority = match turn & CHAIN_TURN {
            0 => turn,
            _ => 0,
        };
        let permit = self.inner.gate.acquire_for(priority, turn).await;
        host.wait_turn(turn & !CHAIN_TURN)
            .await
            .map_err(|why| FetchErrorKind::HostSkipped(why).at(url))?;
        self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        let timeout = self.inner.limits.timeout;
        let started = tokio::time::Instant::now();
        // Time the body waits for the crawl's budget is not the server's.
        let pause = Arc::new(budget::Pause::default());
        let exchange = self.exchange(host, ask, turn, want, &pause);
        match budget::within(timeout, &pause, exchange).await {
            // A streamed body keeps the permit while it is read.
            Some(Ok(Answer::Open(mut open))) => {
                open.permit = Some(permit);
                open.started = started;
                Ok(Answer::Open(open))
            }
            Some(result) => result.map_err(|kind| kind.at(url)),
            None => Err(FetchErrorKind::Timeout(timeout).at(url)),
        }
    }

    async fn exchange(
        &self,
        host: &Host,
        ask: &Ask,
        turn: u64,
        want: Want,
        pause: &Arc<budget::Pause>,
    ) -> Result<Answer, FetchErrorKind> {
        let url = &ask.url;
        let (generation, client) = self.inner.pool.client(&hosts::host_key(url));
        let request = match &ask.body {
            None => client.get(url.clone()),
            Some(body) => client
                .post(url.clone())
                .header(CONTENT_TYPE, body.content_type)
                .body(body.bytes.clone()),
        };
        let response = match request.headers(ask.header_map()?).send().await {
            Ok(response) => response,
            Err(e) => return Err(self.network_fault(generation, e)),
        };
        let status = response.status();
        if status.is_redirection() {
            if let Some(location) = header(&response, LOCATION) {
                let next = url.join(&location).map_err(|e| {
                    FetchErrorKind::Redirect(format!("unusable Location `{location}` ({e})"))
                })?;
                return Ok(Answer::Redirect(status.as_u16(), next));
            }
        }
        if !status.is_success() {
            if let Some(delay) = header(&response, RETRY_AFTER)
                .and_then(|v| retry::parse_retry_after(&v, SystemTime::now()))
            {
                host.accept_wait("Retry-After", delay, self.inner.limits.max_delay)
                    .map_err(FetchErrorKind::HostSkipped)?;
                host.pause_for(delay);
            }
            return Err(FetchErrorKind::Status(status.as_u16()));
        }
        let Want::Body(cap) = want else {
            return Ok(Answer::Open(stream::Open {
                url: url.clone(),
                status: status.as_u16(),
                response,
                permit: None,
                started: tokio::time::Instant::now(),
            }));
        };
        let content_type = header(&response, CONTENT_TYPE);
        let mut share = match cap {
            Cap::Refuse(_) => self.inner.budget.get().map(|b| b.open(turn, pause.clone())),
            Cap::Lines(_) => None, // robots.txt: small, and read once per host
        };
        let bytes = body::read(response, cap, share.as_mut()).await?;
        Ok(Answer::Page(Page {
            url: url.clone(),
            status: status.as_u16(),
            text: body::decode(content_type.as_deref(), bytes),
            held: share.into(),
        }))
    }
}

impl Fetcher {
    /// A failed send, classified; a local fault replaces the client it used,
    /// closing that pool's idle sockets before the retry (`pool.rs`).
    fn network_fault(&self, generation: u64, error: reqwest::Error) -> FetchErrorKind {
        let kind = FetchErrorKind::network(error);
        if matches!(kind, FetchErrorKind::Local(_)) {
            self.inner.pool.recycle(generation);
        }
        kind
    }
}

/// How each of the crawl's clients is built: one configuration, so a fresh
/// client (`pool.rs`) is the same client with no connections yet.
fn client_builder(
    limits: &Limits,
    jar: &Option<Arc<Jar>>,
    private: &Arc<private::Policy>,
    budget: Budget,
) -> pool::Build {
    let (limits, jar, private) = (limits.clone(), jar.clone(), Arc::clone(private));
    Box::new(move || {
        let mut builder = reqwest::Client::builder();
        if let Some(jar) = &jar {
            builder = builder.cookie_provider(Arc::clone(jar));
        }
        let resolver = private::Resolver {
            policy: Arc::clone(&private),
        };
        builder
            .user_agent(limits.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .pool_max_idle_per_host(budget.idle_per_host)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .connect_timeout(limits.timeout)
            .tcp_nodelay(true)
            .build()
    })
}

/// Fails at once for a host that was skipped (SPEC §10 "Waiting").
fn skipped(host: &Host, url: &Url) -> Result<(), FetchError> {
    host.check()
        .map_err(|why| FetchErrorKind::HostSkipped(why).at(url))
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}
