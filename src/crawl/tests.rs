//! The engine through its fetch seam: a scripted network on a paused clock,
//! so ordering, read-ahead, fetch priority and failure handling are pinned
//! without sockets (SPEC §2 "Order", §5 "Paging", "Failed detail pages").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::time::Instant;
use url::Url;

use super::{Crawl, CrawlOptions};
use crate::fetch::{Ask, Fetch, FetchError, FetchErrorKind, Page};
use crate::spider::Spider;

/// One scripted answer: after `delay`, a body or an error (an HTTP status).
#[derive(Clone)]
struct Answer {
    delay: Duration,
    result: Result<String, FetchErrorKind>,
}

/// A request as the scripted network saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub path: String,
    pub turn: u64,
    pub at: Duration,
}

/// A network that answers from a script; unknown paths are 404.
pub(super) struct Script {
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
    start: Instant,
}

impl Script {
    pub(super) fn new() -> Script {
        Script {
            answers: HashMap::new(),
            seen: Mutex::new(Vec::new()),
            start: Instant::now(),
        }
    }

    pub(super) fn page(mut self, path: &str, ms: u64, body: &str) -> Script {
        let answer = Answer {
            delay: Duration::from_millis(ms),
            result: Ok(body.to_string()),
        };
        self.answers.insert(path.to_string(), answer);
        self
    }

    pub(super) fn status(mut self, path: &str, ms: u64, code: u16) -> Script {
        let answer = Answer {
            delay: Duration::from_millis(ms),
            result: Err(FetchErrorKind::Status(code)),
        };
        self.answers.insert(path.to_string(), answer);
        self
    }

    /// `path` fails with a local fault: this machine out of descriptors.
    pub(super) fn local_fault(mut self, path: &str, ms: u64) -> Script {
        let answer = Answer {
            delay: Duration::from_millis(ms),
            result: Err(FetchErrorKind::local(libc::EMFILE).expect("EMFILE is local")),
        };
        self.answers.insert(path.to_string(), answer);
        self
    }

    pub(super) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(super) fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }

    pub(super) fn when(&self, path: &str) -> Duration {
        let seen = self.seen();
        seen.iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("{path} was never requested: {seen:?}"))
            .at
    }
}

impl Fetch for Script {
    fn fetch<'a>(&'a self, url: &'a Url, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.answer(url, None, turn))
    }

    /// A POST is scripted and seen as `PATH BODY`.
    fn send<'a>(&'a self, ask: &'a Ask, turn: u64) -> BoxFuture<'a, Result<Page, FetchError>> {
        let body = ask
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(&b.bytes).into_owned());
        Box::pin(self.answer(&ask.url, body, turn))
    }
}

impl Script {
    async fn answer(&self, url: &Url, body: Option<String>, turn: u64) -> Result<Page, FetchError> {
        {
            let mut path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            if let Some(body) = body {
                path = format!("{path} {body}");
            }
            self.seen.lock().unwrap().push(Seen {
                path: path.clone(),
                turn,
                at: self.start.elapsed(),
            });
            let answer = self.answers.get(&path).cloned().unwrap_or(Answer {
                delay: Duration::ZERO,
                result: Err(FetchErrorKind::Status(404)),
            });
            tokio::time::sleep(answer.delay).await;
            match answer.result {
                Ok(text) => Ok(Page {
                    url: url.clone(),
                    status: 200,
                    text,
                    held: Default::default(),
                }),
                Err(kind) => Err(kind.at(url)),
            }
        }
    }
}

/// A list page of items, each `<li><a href="/d/ID">ID</a></li>`, and a next link.
pub(super) fn list(ids: &[&str], next: Option<&str>) -> String {
    let items: String = ids
        .iter()
        .map(|id| format!("<li><a href=\"/d/{id}\">{id}</a></li>"))
        .collect();
    let next = next
        .map(|n| format!("<a class=next href=\"{n}\">next</a>"))
        .unwrap_or_default();
    format!("<ul>{items}</ul>{next}")
}

pub(super) fn detail(text: &str) -> String {
    format!("<p class=d>{text}</p>")
}

pub(super) fn spider(toml: &str) -> Spider {
    Spider::from_toml(toml, "test.toml", "test").expect("a valid spider")
}

const WITH_DETAIL: &str = r#"
start = "http://h.test/p/{page}"
last_page = 3
[list]
item = "li"
fields.id = "a"
fields.url = "a::attr(href)"
fields.page = "::page"
[detail]
follow = "url"
fields.d = "p.d"
"#;

pub(super) async fn run(spider: Spider, options: CrawlOptions, script: Arc<Script>) -> Vec<Value> {
    let crawl = Crawl::with_fetch(spider, options, script);
    crawl
        .map(|r| Value::Object(r.expect("no fatal error").into_fields()))
        .collect()
        .await
}

pub(super) fn column(records: &[Value], name: &str) -> Vec<Value> {
    records.iter().map(|r| r[name].clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn records_leave_in_discovery_order_whatever_finishes_first() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 300, &list(&["a", "b"], None))
            .page("/p/2", 10, &list(&["c"], None))
            .page("/p/3", 20, &list(&["d"], None))
            .page("/d/a", 500, &detail("A"))
            .page("/d/b", 1, &detail("B"))
            .page("/d/c", 1, &detail("C"))
            .page("/d/d", 1, &detail("D")),
    );
    let records = run(spider(WITH_DETAIL), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c", "d"]);
    assert_eq!(column(&records, "d"), ["A", "B", "C", "D"]);
    assert_eq!(column(&records, "page"), [1, 1, 2, 3]);
    for page in ["/p/1", "/p/2", "/p/3"] {
        assert_eq!(
            script.when(page),
            Duration::ZERO,
            "a known range is read ahead"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn detail_fetches_take_their_list_page_s_turn() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 0, &list(&["a"], None))
            .page("/p/2", 0, &list(&["b"], None))
            .page("/p/3", 0, &list(&["c"], None)),
    );
    run(spider(WITH_DETAIL), CrawlOptions::default(), script.clone()).await;
    let turns: HashMap<String, u64> = script
        .seen()
        .into_iter()
        .map(|s| (s.path, s.turn))
        .collect();
    assert_eq!(turns["/p/1"], 1);
    assert_eq!(turns["/d/a"], 1);
    assert_eq!(turns["/d/b"], 2);
    assert_eq!(turns["/d/c"], 3);
}

#[tokio::test(start_paused = true)]
async fn read_ahead_is_bounded_in_pages() {
    let mut script = Script::new().page("/p/1", 1_000, &list(&["a"], None));
    for n in 2..=20 {
        script = script.page(&format!("/p/{n}"), 0, &list(&["x"], None));
    }
    let script = Arc::new(script);
    let toml =
        "start = 'http://h.test/p/{page}'\nlast_page = 20\n[list]\nitem = 'li'\nfields.id = 'a'\n";
    let options = CrawlOptions {
        read_ahead: 4,
        ..CrawlOptions::default()
    };
    let crawl = Crawl::with_fetch(spider(toml), options, script.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        script.paths(),
        ["/p/1", "/p/2", "/p/3", "/p/4"],
        "four pages ahead, no more"
    );
    let records: Vec<_> = crawl.collect().await;
    assert_eq!(records.len(), 20);
}

/// A large list page's padding (kept small: pages are parsed in earnest).
const PADDING: usize = 256 * 1024;

/// Twelve large list pages, eight read ahead; the second is slow. Returns
/// when the ninth was requested.
async fn ninth_page_with_budget(read_ahead_bytes: usize) -> Duration {
    let padding = format!("<!--{}-->", "x".repeat(PADDING));
    let mut script = Script::new();
    for n in 1..=12 {
        let body = list(&[&n.to_string()], None) + &padding;
        let delay = if n == 2 { 1_000 } else { 0 };
        script = script.page(&format!("/p/{n}"), delay, &body);
    }
    let script = Arc::new(script);
    let toml =
        "start = 'http://h.test/p/{page}'\nlast_page = 12\n[list]\nitem = 'li'\nfields.id = 'a'\n";
    let options = CrawlOptions {
        read_ahead: 8,
        read_ahead_bytes,
        ..CrawlOptions::default()
    };
    let records = run(spider(toml), options, script.clone()).await;
    let ids: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    assert_eq!(column(&records, "id"), ids, "records leave in order");
    script.when("/p/9")
}

#[tokio::test(start_paused = true)]
async fn read_ahead_is_bounded_in_bytes() {
    // Pages 3 to 8 are held while page 2 is slow: within 32 MiB the ninth is
    // fetched ahead as soon as page 1 is out; within three pages' worth it
    // waits until the pages held are emitted.
    assert_eq!(ninth_page_with_budget(0).await, Duration::ZERO);
    let waited = ninth_page_with_budget(3 * PADDING).await;
    assert!(waited >= Duration::from_millis(1_000), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn open_ended_paging_asks_for_one_list_page_at_a_time() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 100, &list(&["a"], None))
            .page("/p/2", 100, &list(&["b"], None))
            .page("/p/3", 100, &list(&[], None)),
    );
    let toml = "start = 'http://h.test/p/{page}'\n[list]\nitem = 'li'\nfields.id = 'a'\n";
    let records = run(spider(toml), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b"]);
    assert_eq!(
        script.paths(),
        ["/p/1", "/p/2", "/p/3"],
        "nothing past the empty page"
    );
    assert!(script.when("/p/2") >= Duration::from_millis(100));
    assert!(script.when("/p/3") >= Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn next_links_are_followed_until_absent_and_a_loop_ends_paging() {
    let script = Arc::new(
        Script::new()
            .page("/s/", 0, &list(&["a"], Some("/s/2#top")))
            .page("/s/2", 0, &list(&["b"], Some("/s/")))
            .page("/other", 0, &list(&["x"], None)),
    );
    let toml = "start = 'http://h.test/s/'\nnext = 'a.next::attr(href)'\n[list]\nitem = 'li'\nfields.id = 'a'\nfields.page = '::page'\n";
    let records = run(spider(toml), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b"]);
    assert_eq!(column(&records, "page"), [1, 2], "::page counts the chain");
    assert_eq!(script.paths(), ["/s/", "/s/2"]);
}

#[tokio::test(start_paused = true)]
async fn failures_detail_keeps_its_record_list_page_in_range_is_skipped() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 0, &list(&["a", "b"], None))
            .status("/p/2", 0, 500)
            .page("/p/3", 0, &list(&["c"], None))
            .page("/d/a", 0, &detail("A"))
            .status("/d/b", 0, 404)
            .page("/d/c", 0, &detail("C")),
    );
    let crawl = Crawl::with_fetch(spider(WITH_DETAIL), CrawlOptions::default(), script.clone());
    let (records, summary) = collect_with_summary(crawl).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
    assert_eq!(column(&records, "d"), [json!("A"), Value::Null, json!("C")]);
    let failed: Vec<&str> = summary.failures.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_404_ends_open_ended_paging_without_a_failure() {
    let script = Arc::new(Script::new().page("/p/1", 0, &list(&["a"], None)));
    let toml = "start = 'http://h.test/p/{page}'\n[list]\nitem = 'li'\nfields.id = 'a'\n";
    let crawl = Crawl::with_fetch(spider(toml), CrawlOptions::default(), script.clone());
    let (records, summary) = collect_with_summary(crawl).await;
    assert_eq!(records.len(), 1);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(script.paths(), ["/p/1", "/p/2"]);
}

#[tokio::test(start_paused = true)]
async fn unique_is_decided_in_discovery_order() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 300, &list(&["a", "b"], None))
            .page("/p/2", 0, &list(&["a", "c", "c"], None)),
    );
    let toml = "start = 'http://h.test/p/{page}'\nlast_page = 2\n[list]\nitem = 'li'\nfields.id = 'a'\nfields.page = '::page'\nunique = 'id'\n";
    let crawl = Crawl::with_fetch(spider(toml), CrawlOptions::default(), script.clone());
    let (records, summary) = collect_with_summary(crawl).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
    assert_eq!(
        column(&records, "page"),
        [1, 1, 2],
        "the first in discovery order wins"
    );
    assert_eq!(summary.dropped_unique, 2);
}

#[tokio::test(start_paused = true)]
async fn limits_stop_the_crawl() {
    let mut script = Script::new();
    for n in 1..=5 {
        script = script.page(&format!("/p/{n}"), 0, &list(&["a", "b"], None));
    }
    let script = Arc::new(script);
    let toml =
        "start = 'http://h.test/p/{page}'\nlast_page = 5\n[list]\nitem = 'li'\nfields.id = 'a'\n";
    let options = CrawlOptions {
        max_items: Some(3),
        ..CrawlOptions::default()
    };
    assert_eq!(run(spider(toml), options, script.clone()).await.len(), 3);
    let options = CrawlOptions {
        max_pages: Some(2),
        read_ahead: 1,
        ..CrawlOptions::default()
    };
    let script = Arc::new(
        Script::new()
            .page("/p/1", 0, &list(&["a"], None))
            .page("/p/2", 0, &list(&["b"], None))
            .page("/p/3", 0, &list(&["c"], None)),
    );
    assert_eq!(run(spider(toml), options, script.clone()).await.len(), 2);
    assert_eq!(script.paths(), ["/p/1", "/p/2"]);
}

async fn collect_with_summary(mut crawl: Crawl) -> (Vec<Value>, super::Summary) {
    let mut records = Vec::new();
    while let Some(record) = crawl.next().await {
        records.push(Value::Object(record.expect("no fatal error").into_fields()));
    }
    let summary = crawl.summary();
    (records, summary)
}

/// Every event until the stream ends, and the fatal error it ended with.
async fn events_and_error(mut crawl: Crawl) -> (Vec<String>, Option<super::CrawlError>) {
    let mut seen = Vec::new();
    while let Some(event) = crawl.next_event().await {
        match event {
            Ok(super::Event::Record(r)) => seen.push(r.fields()["id"].to_string()),
            Ok(super::Event::PageDone(done)) => seen.push(format!("done {}", done.url.path())),
            Err(e) => return (seen, Some(e)),
        }
    }
    (seen, None)
}

/// SPEC §10 "Bounds": a page this machine could not fetch (EMFILE) is not
/// the host's failure and not done: the crawl stops before it, so a
/// resumed crawl fetches it again; pages after it are not emitted, even
/// those already fetched.
#[tokio::test(start_paused = true)]
async fn a_list_page_failing_locally_stops_the_crawl_before_it() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 50, &list(&["a", "b"], None))
            .local_fault("/p/2", 0)
            .page("/p/3", 0, &list(&["d"], None))
            .page("/d/a", 0, &detail("A"))
            .page("/d/b", 0, &detail("B"))
            .page("/d/d", 0, &detail("D")),
    );
    let crawl = Crawl::with_fetch(spider(WITH_DETAIL), CrawlOptions::default(), script);
    let summary = crawl.summary_handle();
    let (events, error) = events_and_error(crawl).await;
    assert_eq!(events, ["\"a\"", "\"b\"", "done /p/1"]);
    let error = error
        .expect("the crawl ends with the local fault")
        .to_string();
    assert!(
        error.starts_with("stopped at http://h.test/p/2: too many open files"),
        "{error}"
    );
    assert!(
        error.contains("not the host's") && error.contains("--state"),
        "{error}"
    );
    let failures = summary.summary().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].url, "http://h.test/p/2");
}

#[tokio::test(start_paused = true)]
async fn a_detail_page_failing_locally_leaves_its_list_page_undone() {
    let script = Arc::new(
        Script::new()
            .page("/p/1", 0, &list(&["a"], None))
            .page("/p/2", 0, &list(&["c"], None))
            .page("/p/3", 0, &list(&["d"], None))
            .page("/d/a", 50, &detail("A"))
            .local_fault("/d/c", 0)
            .page("/d/d", 0, &detail("D")),
    );
    let crawl = Crawl::with_fetch(spider(WITH_DETAIL), CrawlOptions::default(), script);
    let (events, error) = events_and_error(crawl).await;
    assert_eq!(events, ["\"a\"", "done /p/1"]);
    let error = error
        .expect("the crawl ends with the local fault")
        .to_string();
    assert!(
        error.starts_with("stopped at http://h.test/d/c: too many open files"),
        "{error}"
    );
}
