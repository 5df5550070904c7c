//! Library integration tests: whole crawls against the scripted local server
//! in `tests/support`, asserting both the records that come out and what the
//! server saw (paths, counts, arrival times).
//!
//! Every crawl runs at `rate = 0` unless the test is about rate. Timing is
//! only ever asserted from the server's arrival timestamps, with slack.

mod support;

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use serde_json::{json, Value};
use support::{max_in_window, Reply, TestServer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use trawl::fetch::FetchErrorKind;
use trawl::spider::{Limits, Rate};
use trawl::{Crawl, CrawlOptions, Fetcher, Spider, Summary};
use url::Url;

/// No test crawl may take longer than this; a hang is a failure, not a stall.
const DEADLINE: Duration = Duration::from_secs(20);
/// Allowance for scheduling jitter between the client's send and the server's
/// timestamp when asserting a minimum gap.
const SLACK: Duration = Duration::from_millis(25);

// ---------------------------------------------------------------- helpers

/// A spider from TOML, at `rate = 0` (tests about rate set it back).
fn spider(toml: &str) -> Spider {
    let mut spider = Spider::from_toml(toml, "test.toml", "test").expect("a valid spider");
    spider.limits.rate = Rate::UNLIMITED;
    spider
}

/// The blog shape: `.item`s with a title and a link, each followed to a
/// detail page with a `.description`. `top` holds extra top-level keys.
fn blog(start: &str, top: &str) -> Spider {
    spider(&format!(
        r#"
start = "{start}"
{top}
[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.description = ".description::text"
"#
    ))
}

/// A list-only spider: `.item`s with a title.
fn titles(start: &str, top: &str) -> Spider {
    spider(&format!(
        r#"
start = "{start}"
{top}
[list]
item = ".item"
fields.title = ".title::text"
"#
    ))
}

/// A list page: one `.item` per `(title, href)`, then an optional next link.
fn list_page(items: &[(&str, &str)], next: Option<&str>) -> Reply {
    let mut html = String::from("<html><body>\n");
    for (title, href) in items {
        html += &format!(
            "<div class=\"item\"><h2 class=\"title\">{title}</h2><a href=\"{href}\">more</a></div>\n"
        );
    }
    if let Some(next) = next {
        html += &format!("<a class=\"next\" href=\"{next}\">next</a>\n");
    }
    Reply::html(html + "</body></html>")
}

fn detail_page(description: &str) -> Reply {
    Reply::html(format!(
        "<html><body><h1>x</h1><p class=\"description\">{description}</p></body></html>"
    ))
}

/// A blog record as the spider declares it: title, url, description.
fn rec(title: &str, url: &str, description: Option<&str>) -> Value {
    json!({"title": title, "url": url, "description": description})
}

fn options() -> CrawlOptions {
    CrawlOptions {
        read_ahead: 8,
        ..CrawlOptions::default()
    }
}

/// Runs a crawl to its end; its records as JSON, and its summary.
async fn run(spider: Spider) -> (Vec<Value>, Summary) {
    run_with(spider, options()).await
}

async fn run_with(spider: Spider, options: CrawlOptions) -> (Vec<Value>, Summary) {
    let mut crawl = Crawl::start(spider, options).expect("the crawl starts");
    let records = tokio::time::timeout(DEADLINE, async {
        let mut records = Vec::new();
        while let Some(record) = crawl.next().await {
            let record = record.expect("no fatal crawl error");
            records.push(serde_json::to_value(&record).unwrap());
        }
        records
    })
    .await
    .expect("the crawl ends before the deadline");
    (records, crawl.summary())
}

/// Every request-target the server saw, in arrival order.
fn paths(server: &TestServer) -> Vec<String> {
    server.hits().into_iter().map(|h| h.path).collect()
}

/// The same, robots.txt left out, sorted (for sets of concurrent requests).
fn sorted_paths(server: &TestServer) -> Vec<String> {
    let mut paths: Vec<_> = paths(server)
        .into_iter()
        .filter(|p| p != "/robots.txt")
        .collect();
    paths.sort();
    paths
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Any `burst + 1` consecutive arrivals span at least `window` (less slack),
/// i.e. no more than `burst` requests in any window, as SPEC §3 promises.
fn assert_polite(times: &[Instant], burst: usize, window: Duration) {
    let mut times = times.to_vec();
    times.sort();
    for (i, run) in times.windows(burst + 1).enumerate() {
        let span = run[burst] - run[0];
        assert!(
            span + SLACK >= window,
            "hits {i}..={}: {} requests within {span:?}, window {window:?}",
            i + burst,
            burst + 1
        );
    }
    assert!(max_in_window(&times, window - SLACK) <= burst);
}

/// The gaps between consecutive arrival times.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Polls `condition` until it holds; only for server-side facts that the
/// test cannot await (the server has no notifications).
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Peak resident memory of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn fetch_limits() -> Limits {
    Limits {
        rate: Rate::UNLIMITED,
        robots: false,
        // These servers are on loopback, and no start says so.
        allow_private: true,
        ..Limits::default()
    }
}

// ---------------------------------------------------------------- 1. paging

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_with_last_page_emits_list_and_detail_fields_in_order() {
    let server = TestServer::start().await;
    for page in 1..=3 {
        let a = format!("/post/{page}a");
        let b = format!("/post/{page}b");
        server.route(
            &format!("/blog/page/{page}"),
            list_page(
                &[(&format!("P{page}A"), &a), (&format!("P{page}B"), &b)],
                None,
            ),
        );
        server.route(&a, detail_page(&format!("about {page}a")));
        server.route(&b, detail_page(&format!("about {page}b")));
    }
    server.route("/blog/page/4", list_page(&[("never", "/post/x")], None));

    let (records, summary) = run(blog(&server.url("/blog/page/{page}"), "last_page = 3")).await;

    let expected: Vec<Value> = (1..=3)
        .flat_map(|p| {
            ["a", "b"].map(|s| {
                rec(
                    &format!("P{p}{}", s.to_uppercase()),
                    &server.url(&format!("/post/{p}{s}")),
                    Some(&format!("about {p}{s}")),
                )
            })
        })
        .collect();
    assert_eq!(records, expected);
    // Keys come out in the order the spider declares them.
    let keys: Vec<_> = records[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["title", "url", "description"]);

    assert_eq!(server.count("/robots.txt"), 1);
    assert_eq!(
        sorted_paths(&server),
        strings(&[
            "/blog/page/1",
            "/blog/page/2",
            "/blog/page/3",
            "/post/1a",
            "/post/1b",
            "/post/2a",
            "/post/2b",
            "/post/3a",
            "/post/3b",
        ])
    );
    assert_eq!(summary.records, 6);
    assert_eq!(summary.list_pages, 3);
    assert_eq!(summary.pages, 9);
    assert_eq!(summary.retries, 0);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_discovery_order_when_early_pages_are_slow() {
    let server = TestServer::start().await;
    let slow = Duration::from_millis(400);
    server.route(
        "/p/1",
        list_page(&[("1a", "/d/1a"), ("1b", "/d/1b")], None).delay(slow),
    );
    server.route("/d/1a", detail_page("1a").delay(Duration::from_millis(300)));
    server.route("/d/1b", detail_page("1b").delay(Duration::from_millis(150)));
    for page in 2..=3 {
        server.route(
            &format!("/p/{page}"),
            list_page(
                &[
                    (&format!("{page}a"), &format!("/d/{page}a")),
                    (&format!("{page}b"), &format!("/d/{page}b")),
                ],
                None,
            ),
        );
        for s in ["a", "b"] {
            server.route(&format!("/d/{page}{s}"), detail_page(&format!("{page}{s}")));
        }
    }

    let (records, _) = run(blog(&server.url("/p/{page}"), "last_page = 3")).await;

    let titles: Vec<_> = records.iter().map(|r| r["title"].clone()).collect();
    assert_eq!(titles, ["1a", "1b", "2a", "2b", "3a", "3b"]);
    let descriptions: Vec<_> = records.iter().map(|r| r["description"].clone()).collect();
    assert_eq!(descriptions, titles, "each record carries its own detail");
    // Pages 2 and 3 (and their details) were fetched while page 1 was slow.
    let page1 = server.hits_for("/p/1")[0].at;
    assert!(server.hits_for("/p/3")[0].at < page1 + slow);
    assert!(server.hits_for("/d/3b")[0].at < page1 + slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_ended_template_stops_at_the_first_empty_page() {
    let server = TestServer::start().await;
    server.route("/p/1", list_page(&[("a", "/d/a"), ("b", "/d/b")], None));
    server.route("/p/2", list_page(&[("c", "/d/c")], None));
    server.route("/p/3", list_page(&[], None));
    // Fetched ahead, perhaps, but past the end: never emitted, never followed.
    server.route("/p/4", list_page(&[("late", "/d/late")], None));
    server.route("/p/5", list_page(&[("later", "/d/later")], None));
    for d in ["a", "b", "c"] {
        server.route(&format!("/d/{d}"), detail_page(&format!("about {d}")));
    }

    let (records, summary) = run(blog(&server.url("/p/{page}"), "")).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), Some("about a")),
            rec("b", &server.url("/d/b"), Some("about b")),
            rec("c", &server.url("/d/c"), Some("about c")),
        ]
    );
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    for page in 1..=3 {
        assert_eq!(server.count(&format!("/p/{page}")), 1);
    }
    assert_eq!(server.count("/d/late"), 0);
    assert_eq!(server.count("/d/later"), 0);
    // Open-ended paging asks for one list page at a time, so nothing past
    // the empty page is requested.
    assert_eq!(
        sorted_paths(&server),
        strings(&["/d/a", "/d/b", "/d/c", "/p/1", "/p/2", "/p/3"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_ended_template_stops_at_a_404_page() {
    let server = TestServer::start().await;
    server.route("/p/1", list_page(&[("a", "/d/a")], None));
    server.route("/p/2", list_page(&[("b", "/d/b")], None));
    // /p/3 is not routed: 404. /p/4 exists but lies past the end.
    server.route("/p/4", list_page(&[("late", "/d/late")], None));
    server.route("/d/a", detail_page("about a"));
    server.route("/d/b", detail_page("about b"));

    let (records, summary) = run(blog(&server.url("/p/{page}"), "")).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), Some("about a")),
            rec("b", &server.url("/d/b"), Some("about b")),
        ]
    );
    assert!(
        summary.failures.is_empty(),
        "a 404 is the normal end of an open-ended template: {:?}",
        summary.failures
    );
    assert_eq!(
        sorted_paths(&server),
        strings(&["/d/a", "/d/b", "/p/1", "/p/2", "/p/3"]),
        "the 404 is asked for once, and nothing past it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_link_is_followed_until_absent() {
    let server = TestServer::start().await;
    server.route("/shop/", list_page(&[("a", "/i/a")], Some("/shop/2")));
    // Relative next link, resolved against /shop/2.
    server.route("/shop/2", list_page(&[("b", "/i/b")], Some("3")));
    server.route("/shop/3", list_page(&[("c", "/i/c")], None));
    for d in ["a", "b", "c"] {
        server.route(&format!("/i/{d}"), detail_page(d));
    }

    let (records, summary) = run(blog(
        &server.url("/shop/"),
        r#"next = "a.next::attr(href)""#,
    ))
    .await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/i/a"), Some("a")),
            rec("b", &server.url("/i/b"), Some("b")),
            rec("c", &server.url("/i/c"), Some("c")),
        ]
    );
    assert_eq!(
        sorted_paths(&server),
        strings(&["/i/a", "/i/b", "/i/c", "/shop/", "/shop/2", "/shop/3"])
    );
    // A chain is sequential: each list page is asked for after the previous.
    let list_hits: Vec<_> = paths(&server)
        .into_iter()
        .filter(|p| p.starts_with("/shop/"))
        .collect();
    assert_eq!(list_hits, ["/shop/", "/shop/2", "/shop/3"]);
    assert_eq!(summary.list_pages, 3);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_pages_stop_after_the_stop_path_is_true() {
    let server = TestServer::start().await;
    server.route(
        "/api/products?page=1",
        Reply::json(
            r#"{"items":[{"id":1,"name":"one"},{"id":2,"name":"two"}],"is_last_page":false}"#,
        ),
    );
    server.route(
        "/api/products?page=2",
        Reply::json(r#"{"items":[{"id":3,"name":"three"}],"is_last_page":true}"#),
    );
    server.route(
        "/api/products?page=3",
        Reply::json(r#"{"items":[{"id":4,"name":"past the end"}],"is_last_page":false}"#),
    );

    let (records, summary) = run(spider(&format!(
        r#"
start = "{}"
[list]
format = "json"
items = "items"
stop = "is_last_page"
"#,
        server.url("/api/products?page={page}")
    )))
    .await;

    assert_eq!(
        records,
        [
            json!({"id": 1, "name": "one"}),
            json!({"id": 2, "name": "two"}),
            json!({"id": 3, "name": "three"}),
        ]
    );
    assert_eq!(server.count("/api/products?page=1"), 1);
    assert_eq!(server.count("/api/products?page=2"), 1);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_next_path_is_followed_with_relative_urls() {
    let server = TestServer::start().await;
    server.route(
        "/api/v1/items",
        Reply::json(
            r#"{"data":[{"id":1,"info":{"name":"one"}},{"id":2,"info":{"name":"two"}}],
                "links":{"next":"items?cursor=2"}}"#,
        ),
    );
    server.route(
        "/api/v1/items?cursor=2",
        Reply::json(r#"{"data":[{"id":3,"info":{}}],"links":{"next":"/api/v1/items?cursor=3"}}"#),
    );
    server.route(
        "/api/v1/items?cursor=3",
        Reply::json(r#"{"data":[{"id":4,"info":{"name":"four"}}],"links":{"next":null}}"#),
    );

    let (records, summary) = run(spider(&format!(
        r#"
start = "{}"
[list]
format = "json"
items = "data"
next = "links.next"
fields.name = "info.name"
fields.id = "id"
"#,
        server.url("/api/v1/items")
    )))
    .await;

    assert_eq!(
        records,
        [
            json!({"name": "one", "id": 1}),
            json!({"name": "two", "id": 2}),
            json!({"name": null, "id": 3}),
            json!({"name": "four", "id": 4}),
        ]
    );
    let keys: Vec<_> = records[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["name", "id"],
        "projected fields keep declaration order"
    );
    assert_eq!(
        sorted_paths(&server),
        strings(&[
            "/api/v1/items",
            "/api/v1/items?cursor=2",
            "/api/v1/items?cursor=3"
        ])
    );
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_without_page_or_next_is_one_page() {
    let server = TestServer::start().await;
    // The page has a next link, but the spider declares no `next`.
    server.route(
        "/one",
        list_page(&[("a", "/d/a"), ("b", "/d/b")], Some("/two")),
    );
    server.route("/two", list_page(&[("never", "/d/never")], None));
    server.route("/d/a", detail_page("A"));
    server.route("/d/b", detail_page("B"));

    let (records, summary) = run(blog(&server.url("/one"), "")).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), Some("A")),
            rec("b", &server.url("/d/b"), Some("B")),
        ]
    );
    assert_eq!(sorted_paths(&server), strings(&["/d/a", "/d/b", "/one"]));
    assert_eq!(summary.list_pages, 1);
}

// ---------------------------------------------------------------- 2. dedup and limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_detail_page_is_fetched_once_and_shared() {
    let server = TestServer::start().await;
    server.route(
        "/p/1",
        list_page(
            &[("a", "/d/1"), ("b", "/d/1#comments"), ("c", "/d/2")],
            None,
        ),
    );
    server.route(
        "/p/2",
        list_page(&[("d", "/d/2"), ("e", "/D/../d/1")], None),
    );
    server.route("/d/1", detail_page("one").delay(Duration::from_millis(100)));
    server.route("/d/2", detail_page("two"));

    let (records, summary) = run(blog(&server.url("/p/{page}"), "last_page = 2")).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/1"), Some("one")),
            rec("b", &server.url("/d/1#comments"), Some("one")),
            rec("c", &server.url("/d/2"), Some("two")),
            rec("d", &server.url("/d/2"), Some("two")),
            rec("e", &server.url("/d/1"), Some("one")),
        ]
    );
    assert_eq!(server.count("/d/1"), 1);
    assert_eq!(server.count("/d/2"), 1);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

/// Five pages of two items each, with details.
fn five_pages(server: &TestServer) {
    for page in 1..=5 {
        let items: Vec<(String, String)> = ["a", "b"]
            .iter()
            .map(|s| (format!("{page}{s}"), format!("/d/{page}{s}")))
            .collect();
        let items: Vec<(&str, &str)> = items
            .iter()
            .map(|(t, h)| (t.as_str(), h.as_str()))
            .collect();
        server.route(&format!("/p/{page}"), list_page(&items, None));
        for (title, href) in items {
            server.route(href, detail_page(title));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_items_yields_exactly_that_many() {
    let server = TestServer::start().await;
    five_pages(&server);

    let (records, summary) = run_with(
        blog(&server.url("/p/{page}"), "last_page = 5"),
        CrawlOptions {
            max_items: Some(3),
            ..options()
        },
    )
    .await;

    assert_eq!(
        records,
        [
            rec("1a", &server.url("/d/1a"), Some("1a")),
            rec("1b", &server.url("/d/1b"), Some("1b")),
            rec("2a", &server.url("/d/2a"), Some("2a")),
        ]
    );
    assert_eq!(summary.records, 3);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pages_counts_list_pages() {
    let server = TestServer::start().await;
    five_pages(&server);

    let (records, summary) = run_with(
        blog(&server.url("/p/{page}"), "last_page = 5"),
        CrawlOptions {
            max_pages: Some(2),
            ..options()
        },
    )
    .await;

    let titles: Vec<_> = records.iter().map(|r| r["title"].clone()).collect();
    assert_eq!(titles, ["1a", "1b", "2a", "2b"]);
    assert_eq!(
        sorted_paths(&server),
        strings(&["/d/1a", "/d/1b", "/d/2a", "/d/2b", "/p/1", "/p/2"])
    );
    assert_eq!(summary.list_pages, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_then_drop_stops_the_crawl() {
    let server = TestServer::start().await;
    for page in 1..=100 {
        server.route(
            &format!("/p/{page}"),
            list_page(
                &[(&format!("{page}a"), "/x"), (&format!("{page}b"), "/y")],
                None,
            ),
        );
    }
    // At 20 requests/s the whole site would take 5 s: long enough to see
    // whether requests keep coming after the drop.
    let mut spider = titles(&server.url("/p/{page}"), "last_page = 100");
    spider.limits.rate = Rate::new(20.0).unwrap();

    let crawl = Crawl::start(spider, options()).unwrap();
    let firsts: Vec<_> = tokio::time::timeout(DEADLINE, crawl.take(2).collect::<Vec<_>>())
        .await
        .expect("two records arrive");
    let firsts: Vec<_> = firsts
        .into_iter()
        .map(|r| r.unwrap().get("title").cloned().unwrap())
        .collect();
    assert_eq!(firsts, ["1a", "1b"]);
    // `collect` consumed and dropped the `Take<Crawl>`: the crawl is gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let settled = server.hits().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.hits().len(),
        settled,
        "no request after the crawl was dropped"
    );
    assert!(settled < 20, "{settled} requests for two records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_the_stream_with_a_prefix_in_order() {
    let server = TestServer::start().await;
    for page in 1..=100 {
        server.route(
            &format!("/p/{page}"),
            list_page(&[(&format!("{page}"), "/x")], None),
        );
    }
    let mut spider = titles(&server.url("/p/{page}"), "last_page = 100");
    spider.limits.rate = Rate::new(20.0).unwrap();

    let mut crawl = Crawl::start(spider, options()).unwrap();
    let first = crawl.next().await.unwrap().unwrap();
    assert_eq!(first.get("title"), Some(&json!("1")));
    crawl.stop();
    let rest: Vec<_> = tokio::time::timeout(DEADLINE, (&mut crawl).collect::<Vec<_>>())
        .await
        .expect("the stream ends after stop()");
    let titles: Vec<_> = rest
        .into_iter()
        .map(|r| r.unwrap().get("title").cloned().unwrap())
        .collect();
    let expected: Vec<_> = (2..2 + titles.len())
        .map(|n| json!(n.to_string()))
        .collect();
    assert_eq!(titles, expected, "what follows stop() is still in order");
    assert!(server.hits().len() < 100);
}

// ---------------------------------------------------------------- 3. politeness

/// `n` list pages with one item each and no detail pages.
fn numbered_pages(server: &TestServer, n: u32) {
    for page in 1..=n {
        server.route(
            &format!("/p/{page}"),
            list_page(&[(&format!("{page}"), "/x")], None),
        );
    }
}

/// Crawls 15 list pages at concurrency 16 under `rate` and `burst`, and
/// checks from the server's clock that no `burst / rate` window held more
/// than `burst` requests.
async fn assert_rate_holds(rate: f64, burst: u32) {
    let server = TestServer::start().await;
    numbered_pages(&server, 15);
    let mut spider = titles(&server.url("/p/{page}"), "last_page = 15");
    spider.limits.rate = Rate::new(rate).unwrap();
    spider.limits.burst = burst.try_into().unwrap();
    spider.limits.concurrency = 16.try_into().unwrap();

    let (records, _) = run_with(
        spider,
        CrawlOptions {
            read_ahead: 16,
            ..options()
        },
    )
    .await;

    assert_eq!(records.len(), 15);
    let times = server.hit_times();
    assert_eq!(times.len(), 16, "15 pages and robots.txt");
    let window = Duration::from_secs_f64(f64::from(burst) / rate);
    assert_polite(&times, burst as usize, window);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_holds_whatever_the_concurrency() {
    assert_rate_holds(5.0, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_allows_at_most_burst_per_window() {
    assert_rate_holds(10.0, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_host_has_its_own_budget() {
    let a = TestServer::start().await;
    let b = TestServer::start_on("127.0.0.2").await;
    let hrefs: Vec<String> = (1..=6)
        .map(|i| a.url(&format!("/d/{i}")))
        .chain((1..=6).map(|i| b.url(&format!("/d/{i}"))))
        .collect();
    let items: Vec<(&str, &str)> = hrefs.iter().map(|h| (h.as_str(), h.as_str())).collect();
    a.route("/list", list_page(&items, None));
    for i in 1..=6 {
        a.route(&format!("/d/{i}"), detail_page(&format!("a{i}")));
        b.route(&format!("/d/{i}"), detail_page(&format!("b{i}")));
    }
    let mut spider = blog(&a.url("/list"), "");
    spider.limits.rate = Rate::new(5.0).unwrap();
    spider.limits.burst = 1.try_into().unwrap();

    let (records, summary) = run(spider).await;

    let descriptions: Vec<_> = records.iter().map(|r| r["description"].clone()).collect();
    assert_eq!(
        descriptions,
        ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
    );
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let window = Duration::from_millis(200);
    let (times_a, times_b) = (a.hit_times(), b.hit_times());
    assert_eq!(times_a.len(), 8, "robots.txt, the list, six details");
    assert_eq!(times_b.len(), 7, "robots.txt, six details");
    assert_polite(&times_a, 1, window);
    assert_polite(&times_b, 1, window);
    // One host would need at least 14 gaps of 200 ms (2.8 s) for these 15
    // requests; two budgets in parallel need about 7 (1.4 s). The bound sits
    // well clear of both, so a busy machine does not make it flake.
    let all: Vec<Instant> = times_a.iter().chain(&times_b).copied().collect();
    let span = *all.iter().max().unwrap() - *all.iter().min().unwrap();
    assert!(
        span < Duration::from_millis(2600),
        "the two hosts were not served in parallel: {span:?}"
    );
    // And they really did overlap.
    assert!(times_b.iter().min().unwrap() < times_a.iter().max().unwrap());
}

// ---------------------------------------------------------------- 4. Retry-After

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_seconds_is_honoured() {
    let server = TestServer::start().await;
    server.route_seq(
        "/one",
        vec![
            Reply::status(503).header("Retry-After", "1"),
            list_page(&[("a", "/d/a")], None),
        ],
    );
    server.route("/d/a", detail_page("A"));
    let mut spider = blog(&server.url("/one"), "");
    spider.limits.retries = 2;

    let (records, summary) = run(spider).await;

    assert_eq!(records, [rec("a", &server.url("/d/a"), Some("A"))]);
    let hits = server.hits_for("/one");
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap + Duration::from_millis(50) >= Duration::from_secs(1),
        "asked again after {gap:?}"
    );
    // The pause holds the whole host: the detail page waits too.
    assert!(server.hits_for("/d/a")[0].at >= hits[1].at);
    assert_eq!(summary.retries, 1);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_http_date_is_honoured() {
    let server = TestServer::start().await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    server.route_seq(
        "/one",
        vec![
            Reply::status(429).header("Retry-After", &at),
            list_page(&[("a", "/d/a")], None),
        ],
    );
    server.route("/d/a", detail_page("A"));
    let mut spider = blog(&server.url("/one"), "");
    spider.limits.retries = 1;

    let (records, summary) = run(spider).await;

    assert_eq!(records, [rec("a", &server.url("/d/a"), Some("A"))]);
    let hits = server.hits_for("/one");
    assert_eq!(hits.len(), 2);
    // The date has one-second resolution: "now + 2 s" is 1–2 s away.
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap + Duration::from_millis(50) >= Duration::from_secs(1),
        "asked again after {gap:?}"
    );
    assert_eq!(summary.retries, 1);
}

// ---------------------------------------------------------------- 5. transient failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_until_records_arrive() {
    let server = TestServer::start().await;
    server.route_seq(
        "/list",
        vec![
            Reply::status(502),
            list_page(
                &[
                    ("500", "/d/500"),
                    ("503", "/d/503"),
                    ("reset", "/d/reset"),
                    ("truncated", "/d/truncated"),
                    ("504", "/d/504"),
                ],
                None,
            ),
        ],
    );
    server.route_seq("/d/500", vec![Reply::status(500), detail_page("ok 500")]);
    server.route_seq("/d/503", vec![Reply::status(503), detail_page("ok 503")]);
    server.route_seq("/d/reset", vec![Reply::reset(), detail_page("ok reset")]);
    server.route_seq(
        "/d/truncated",
        vec![
            Reply::truncated("text/html", "<p class=\"description\">cut"),
            detail_page("ok truncated"),
        ],
    );
    server.route_seq(
        "/d/504",
        vec![
            Reply::status(504),
            Reply::status(504),
            detail_page("ok 504"),
        ],
    );
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.retries = 2;

    let (records, summary) = run(spider).await;

    let descriptions: Vec<_> = records.iter().map(|r| r["description"].clone()).collect();
    assert_eq!(
        descriptions,
        ["ok 500", "ok 503", "ok reset", "ok truncated", "ok 504"]
    );
    assert_eq!(server.count("/list"), 2);
    for path in ["/d/500", "/d/503", "/d/reset", "/d/truncated"] {
        assert_eq!(server.count(path), 2, "{path}");
    }
    assert_eq!(server.count("/d/504"), 3);
    assert_eq!(summary.retries, 7);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_run_out_and_the_page_is_reported() {
    let server = TestServer::start().await;
    server.route("/list", list_page(&[("a", "/d/a"), ("b", "/d/b")], None));
    server.route("/d/a", Reply::status(500));
    server.route("/d/b", detail_page("B"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.retries = 1;

    let (records, summary) = run(spider).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), None),
            rec("b", &server.url("/d/b"), Some("B")),
        ]
    );
    assert_eq!(server.count("/d/a"), 2);
    assert_eq!(summary.retries, 1);
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(summary.failures[0].url, server.url("/d/a"));
    assert!(summary.failures[0].reason.contains("500"));
}

// ---------------------------------------------------------------- 6. permanent failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_detail_page_still_emits_its_record() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        list_page(
            &[("a", "/d/a"), ("gone", "/d/missing"), ("c", "/d/c")],
            None,
        ),
    );
    server.route("/d/a", detail_page("A"));
    server.route("/d/c", detail_page("C"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.retries = 3;

    let (records, summary) = run(spider).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), Some("A")),
            rec("gone", &server.url("/d/missing"), None),
            rec("c", &server.url("/d/c"), Some("C")),
        ]
    );
    assert_eq!(server.count("/d/missing"), 1, "a 404 is not retried");
    assert_eq!(summary.retries, 0);
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert_eq!(summary.failures[0].url, server.url("/d/missing"));
    assert!(
        summary.failures[0].reason.contains("404"),
        "{}",
        summary.failures[0].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_list_page_inside_a_known_range_is_reported_and_skipped() {
    let server = TestServer::start().await;
    server.route("/p/1", list_page(&[("1", "/d/1")], None));
    // /p/2 is not routed: 404.
    server.route("/p/3", list_page(&[("3", "/d/3")], None));
    server.route("/d/1", detail_page("one"));
    server.route("/d/3", detail_page("three"));
    let mut spider = blog(&server.url("/p/{page}"), "last_page = 3");
    spider.limits.retries = 3;

    let (records, summary) = run(spider).await;

    assert_eq!(
        records,
        [
            rec("1", &server.url("/d/1"), Some("one")),
            rec("3", &server.url("/d/3"), Some("three")),
        ]
    );
    assert_eq!(server.count("/p/2"), 1, "a 404 is not retried");
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert_eq!(summary.failures[0].url, server.url("/p/2"));
    assert!(summary.failures[0].reason.contains("404"));
}

// ---------------------------------------------------------------- 7. timeouts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_page_is_bounded_by_the_timeout() {
    let server = TestServer::start().await;
    server.route("/list", list_page(&[("a", "/d/hang"), ("b", "/d/b")], None));
    server.route("/d/hang", Reply::hang());
    server.route("/d/b", detail_page("B"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.timeout = Duration::from_millis(300);
    spider.limits.retries = 0;

    let (records, summary) = run(spider).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/hang"), None),
            rec("b", &server.url("/d/b"), Some("B")),
        ]
    );
    assert_eq!(server.count("/d/hang"), 1);
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert_eq!(summary.failures[0].url, server.url("/d/hang"));
    let reason = summary.failures[0].reason.to_lowercase();
    assert!(
        reason.contains("within") || reason.contains("time"),
        "not a timeout reason: {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_timeouts_cover_a_hang_and_a_stall_mid_body() {
    let server = TestServer::start().await;
    server.route("/hang", Reply::hang());
    server.route(
        "/stall",
        Reply::stall_mid_body("text/html", "<p>the first half"),
    );
    let mut limits = fetch_limits();
    limits.timeout = Duration::from_millis(300);
    limits.retries = 1;
    let fetcher = Fetcher::new(&limits).unwrap();

    for path in ["/hang", "/stall"] {
        let url = Url::parse(&server.url(path)).unwrap();
        let error = tokio::time::timeout(DEADLINE, fetcher.get(&url))
            .await
            .expect("bounded by the timeout")
            .expect_err("no complete answer");
        assert!(error.is_timeout(), "{path}: {error}");
        assert!(error.is_retryable());
        assert_eq!(error.url(), &url);
        assert_eq!(server.count(path), 2, "{path}: a timeout is retried");
        let hits = server.hits_for(path);
        assert!(hits[1].at - hits[0].at + SLACK >= Duration::from_millis(300));
    }
}

// ---------------------------------------------------------------- 8. robots.txt

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_disallow_is_obeyed_for_our_product_token() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::text("User-agent: trawl\nDisallow: /private\n\nUser-agent: *\nDisallow: /\n"),
    );
    server.route(
        "/list",
        list_page(&[("pub", "/public/1"), ("priv", "/private/1")], None),
    );
    server.route("/public/1", detail_page("open"));
    server.route("/private/1", detail_page("secret"));

    let (records, summary) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [
            rec("pub", &server.url("/public/1"), Some("open")),
            rec("priv", &server.url("/private/1"), None),
        ]
    );
    assert_eq!(server.count("/private/1"), 0);
    assert_eq!(server.count("/robots.txt"), 1);
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert_eq!(summary.failures[0].url, server.url("/private/1"));
    assert!(summary.failures[0].reason.contains("robots"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_fetched_once_per_host_under_concurrency() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::text("User-agent: *\nAllow: /\n").delay(Duration::from_millis(200)),
    );
    numbered_pages(&server, 8);
    let mut spider = titles(&server.url("/p/{page}"), "last_page = 8");
    spider.limits.concurrency = 16.try_into().unwrap();

    let (records, _) = run(spider).await;

    assert_eq!(records.len(), 8);
    assert_eq!(server.count("/robots.txt"), 1);
    assert_eq!(
        paths(&server)[0],
        "/robots.txt",
        "asked before anything else"
    );
    assert_eq!(server.hits().len(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_delay_spaces_requests_even_at_rate_zero() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::text("User-agent: *\nCrawl-delay: 1\n"),
    );
    server.route("/list", list_page(&[("a", "/d/a")], None));
    server.route("/d/a", detail_page("A"));

    let (records, _) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(records, [rec("a", &server.url("/d/a"), Some("A"))]);
    assert_eq!(paths(&server), ["/robots.txt", "/list", "/d/a"]);
    for gap in gaps(&server.hit_times()) {
        assert!(
            gap + Duration::from_millis(50) >= Duration::from_secs(1),
            "requests {gap:?} apart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_robots_txt_disallows_the_host() {
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::status(500));
    server.route("/list", list_page(&[("a", "/d/a")], None));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.retries = 0;

    let mut crawl = Crawl::start(spider, options()).expect("the crawl starts");
    let mut items = Vec::new();
    while let Some(item) = crawl.next().await {
        items.push(item);
    }
    let summary = crawl.summary();

    // A crawl that got nothing is not a success: it ends with an error that
    // names the first failure (SPEC §10).
    assert_eq!(items.len(), 1, "{items:?}");
    let error = items
        .pop()
        .unwrap()
        .expect_err("the crawl failed")
        .to_string();
    assert!(
        error.contains(&server.url("/list")) && error.contains("robots"),
        "{error}"
    );
    assert_eq!(paths(&server), ["/robots.txt"]);
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert_eq!(summary.failures[0].url, server.url("/list"));
    assert!(summary.failures[0].reason.contains("robots"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_false_never_asks_for_robots_txt() {
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::text("User-agent: *\nDisallow: /\n"));
    server.route("/list", list_page(&[("a", "/d/a")], None));
    server.route("/d/a", detail_page("A"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.robots = false;

    let (records, summary) = run(spider).await;

    assert_eq!(records, [rec("a", &server.url("/d/a"), Some("A"))]);
    assert_eq!(server.count("/robots.txt"), 0);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

// ---------------------------------------------------------------- 9. bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_pages_are_decoded() {
    let server = TestServer::start().await;
    server.route("/list", list_page(&[("zipped", "/d/z")], None).gzip());
    server.route("/d/z", detail_page("inflated").gzip());

    let (records, summary) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [rec("zipped", &server.url("/d/z"), Some("inflated"))]
    );
    assert!(server.hits_for("/list")[0].accept_encoding.contains("gzip"));
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charsets_come_from_content_type_then_meta() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        list_page(&[("latin", "/d/latin"), ("japanese", "/d/sjis")], None),
    );
    server.route(
        "/d/latin",
        Reply::bytes(
            "text/html; charset=windows-1252",
            b"<html><body><p class=\"description\">caf\xe9 cr\xe8me</p></body></html>".to_vec(),
        ),
    );
    let sjis_text = "日本語のテキスト、ＯＫ";
    let html = format!(
        "<html><head><meta charset=\"shift_jis\"></head><body><p class=\"description\">{sjis_text}</p></body></html>"
    );
    let (body, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&html);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&body).is_err(), "really not UTF-8");
    server.route("/d/sjis", Reply::bytes("text/html", body.into_owned()));

    let (records, _) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [
            rec("latin", &server.url("/d/latin"), Some("café crème")),
            rec("japanese", &server.url("/d/sjis"), Some(sjis_text)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_html_still_yields_its_items() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        Reply::html(
            "<html><body><ul><li class=item><span class=title>one</span><a href=/d/1>x</a>\
             <li class=item><span class=title>two <b>bold</span><a href='/d/2'>y</a></ul>\
             <div><p>unclosed",
        ),
    );
    server.route("/d/1", Reply::html("<p class=description>first<p>second"));
    server.route("/d/2", Reply::html("<div><p class=description>deep"));

    let (records, _) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [
            rec("one", &server.url("/d/1"), Some("first")),
            rec("two bold", &server.url("/d/2"), Some("deep")),
        ]
    );
}

// ---------------------------------------------------------------- 10. links and redirects

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_resolve_against_the_final_url_after_a_redirect() {
    let server = TestServer::start().await;
    server.route("/old", Reply::redirect(301, "/new/list"));
    server.route("/new/list", list_page(&[("moved", "post/1")], None));
    server.route("/new/post/1", detail_page("found"));
    server.route("/post/1", detail_page("wrong base"));

    let (records, summary) = run(blog(&server.url("/old"), "")).await;

    assert_eq!(
        records,
        [rec("moved", &server.url("/new/post/1"), Some("found"))]
    );
    assert_eq!(
        paths(&server),
        ["/robots.txt", "/old", "/new/list", "/new/post/1"]
    );
    assert_eq!(server.count("/post/1"), 0);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_file_url_fails_that_page() {
    let server = TestServer::start().await;
    server.route("/list", list_page(&[("a", "/d/a"), ("b", "/d/b")], None));
    server.route("/d/a", Reply::redirect(302, "file:///etc/passwd"));
    server.route("/d/b", detail_page("B"));

    let (records, summary) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [
            rec("a", &server.url("/d/a"), None),
            rec("b", &server.url("/d/b"), Some("B")),
        ]
    );
    assert_eq!(server.count("/d/a"), 1, "a bad redirect is not retried");
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    let failure = &summary.failures[0];
    assert_eq!(failure.url, server.url("/d/a"), "the page that failed");
    assert!(
        failure.reason.contains("redirect") && failure.reason.contains("file:"),
        "{}",
        failure.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_http_links_are_kept_as_values_but_never_followed() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        list_page(
            &[
                ("file", "file:///etc/passwd"),
                ("js", "javascript:void(0)"),
                ("mail", "mailto:someone@example.com"),
                ("web", "/d/ok"),
            ],
            None,
        ),
    );
    server.route("/d/ok", detail_page("fine"));

    let (records, _) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(
        records,
        [
            rec("file", "file:///etc/passwd", None),
            rec("js", "javascript:void(0)", None),
            rec("mail", "mailto:someone@example.com", None),
            rec("web", &server.url("/d/ok"), Some("fine")),
        ]
    );
    assert_eq!(sorted_paths(&server), strings(&["/d/ok", "/list"]));
}

// ---------------------------------------------------------------- 11. max_body

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_refused_without_being_buffered() {
    let server = TestServer::start().await;
    server.route("/huge", Reply::huge("text/html", 200 * 1024 * 1024));
    let mut limits = fetch_limits();
    limits.max_body = 1024 * 1024;
    limits.retries = 2;
    let fetcher = Fetcher::new(&limits).unwrap();
    let url = Url::parse(&server.url("/huge")).unwrap();

    let before = vm_hwm_kib();
    let error = tokio::time::timeout(DEADLINE, fetcher.get(&url))
        .await
        .expect("refused promptly")
        .expect_err("too large");
    let after = vm_hwm_kib();

    assert_eq!(error.kind(), &FetchErrorKind::TooLarge(1024 * 1024));
    assert!(!error.is_retryable());
    assert_eq!(server.count("/huge"), 1, "a refused body is not retried");
    assert!(
        after.saturating_sub(before) < 50 * 1024,
        "peak memory grew by {} KiB",
        after - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_detail_page_fails_only_itself() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        list_page(&[("big", "/d/big"), ("small", "/d/small")], None),
    );
    server.route("/d/big", Reply::huge("text/html", 200 * 1024 * 1024));
    server.route("/d/small", detail_page("tiny"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.max_body = 1024 * 1024;

    let (records, summary) = run(spider).await;

    assert_eq!(
        records,
        [
            rec("big", &server.url("/d/big"), None),
            rec("small", &server.url("/d/small"), Some("tiny")),
        ]
    );
    assert_eq!(server.count("/d/big"), 1);
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(summary.failures[0].url, server.url("/d/big"));
    assert!(summary.failures[0].reason.contains("max_body"));
}

// ---------------------------------------------------------------- 12. cancellation

/// A bare listener that accepts one connection, reads one request head, says
/// so, never answers, and then reports whether the client closed the
/// connection. (The scripted server cannot observe a close while it hangs.)
async fn hang_and_watch() -> (String, oneshot::Receiver<()>, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/d/hang", listener.local_addr().unwrap());
    let (asked, asked_rx) = oneshot::channel();
    let watch = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = asked.send(());
        // Read until the client closes (EOF or reset).
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    });
    (url, asked_rx, watch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_crawl_releases_a_hung_connection() {
    let server = TestServer::start().await;
    let (hang_url, asked, closed) = hang_and_watch().await;
    server.route("/list", list_page(&[("hung", &hang_url)], None));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.robots = false;
    spider.limits.timeout = Duration::from_secs(60);

    let crawl = Crawl::start(spider, options()).unwrap();
    tokio::time::timeout(DEADLINE, asked)
        .await
        .expect("the detail page is asked for")
        .unwrap();
    drop(crawl);
    let was_closed = tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the client closes the hung connection after the drop")
        .unwrap();
    assert!(was_closed);

    // The runtime and the server are still fine for another crawl.
    server.route("/list2", list_page(&[("ok", "/d/ok")], None));
    server.route("/d/ok", detail_page("fine"));
    let (records, _) = run(blog(&server.url("/list2"), "")).await;
    assert_eq!(records, [rec("ok", &server.url("/d/ok"), Some("fine"))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_crawl_mid_hang_stops_all_requests() {
    let server = TestServer::start().await;
    server.route(
        "/list",
        list_page(&[("hung", "/d/hang"), ("b", "/d/b")], None),
    );
    server.route("/d/hang", Reply::hang());
    server.route("/d/b", detail_page("B"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.timeout = Duration::from_secs(60);

    let crawl = Crawl::start(spider, options()).unwrap();
    eventually("the hung detail to be asked for", || {
        server.count("/d/hang") == 1
    })
    .await;
    drop(crawl);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.count("/d/hang"), 1, "nothing retried after the drop");
}

// ------------------------------------------------------- fetch order

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pages_details_go_before_pages_fetched_ahead() {
    let server = TestServer::start().await;
    for page in 1..=4 {
        let items: Vec<(String, String)> = (1..=2)
            .map(|i| (format!("p{page}i{i}"), format!("/d/{page}/{i}")))
            .collect();
        let items: Vec<(&str, &str)> = items
            .iter()
            .map(|(t, h)| (t.as_str(), h.as_str()))
            .collect();
        server.route(&format!("/list/{page}"), list_page(&items, None));
        for i in 1..=2 {
            server.route(
                &format!("/d/{page}/{i}"),
                detail_page(&format!("d{page}{i}")),
            );
        }
    }
    // Page 1 is slow, so pages 2–4 are queued behind it by the time it is read.
    server.route("/list/1", {
        let items = [("p1i1", "/d/1/1"), ("p1i2", "/d/1/2")];
        list_page(&items, None).delay(Duration::from_millis(200))
    });
    let mut spider = blog(&server.url("/list/{page}"), "last_page = 4");
    spider.limits.concurrency = std::num::NonZeroUsize::new(1).unwrap();
    spider.limits.robots = false;
    let (records, _) = run(spider).await;
    assert_eq!(records.len(), 8);
    let paths: Vec<String> = server.hits().into_iter().map(|h| h.path).collect();
    let first_detail = paths.iter().position(|p| p == "/d/1/1").unwrap();
    let later_lists = paths.iter().filter(|p| p.starts_with("/list/")).count();
    assert_eq!(later_lists, 4);
    // With one request at a time, a plain FIFO cap would serve all four list
    // pages before any detail. Page 1's details jump the queue instead: only
    // page 1, the one admitted while it was read, and at most one that raced
    // in before anything waited go first.
    let lists_before: Vec<_> = paths[..first_detail]
        .iter()
        .filter(|p| p.starts_with("/list/"))
        .collect();
    assert!(
        lists_before.len() <= 3,
        "page 1's details waited behind {lists_before:?}: {paths:?}"
    );
}

// ------------------------------------- 13. what a hostile server sends (SPEC §10)

/// A well-behaved host whose list page leads to `/d/1` and `/d/2` on each of
/// `others` (titled `{i}.1`, `{i}.2` for the i-th) and to its own `/d/ok`.
async fn details_on(others: &[&TestServer]) -> (TestServer, Spider) {
    let good = TestServer::start().await;
    let links: Vec<(String, String)> = others
        .iter()
        .enumerate()
        .flat_map(|(i, server)| {
            [1, 2].map(|d| (format!("{i}.{d}"), server.url(&format!("/d/{d}"))))
        })
        .chain([("ok".to_string(), good.url("/d/ok"))])
        .collect();
    let items: Vec<(&str, &str)> = links
        .iter()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .collect();
    good.route("/list", list_page(&items, None));
    good.route("/d/ok", detail_page("fine"));
    let spider = blog(&good.url("/list"), "");
    (good, spider)
}

/// Runs `spider` and checks that it ended promptly with every record, the
/// good host's detail filled in and each of `others`' detail pages failed
/// with a reason containing the matching entry of `reasons`.
async fn assert_skipped(spider: Spider, others: &[&TestServer], reasons: &[&str]) -> Summary {
    let started = Instant::now();
    let (records, summary) = run(spider).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "the crawl took {elapsed:?}"
    );
    assert_eq!(records.len(), 2 * others.len() + 1, "{records:?}");
    assert_eq!(records.last().unwrap()["description"], "fine");
    assert!(records[..records.len() - 1]
        .iter()
        .all(|r| r["description"].is_null()));
    assert_eq!(
        summary.failures.len(),
        2 * others.len(),
        "{:?}",
        summary.failures
    );
    for (server, reason) in others.iter().zip(reasons) {
        for d in ["/d/1", "/d/2"] {
            let failure = summary
                .failures
                .iter()
                .find(|f| f.url == server.url(d))
                .unwrap_or_else(|| panic!("{d} did not fail: {:?}", summary.failures));
            assert!(failure.reason.contains(reason), "{}", failure.reason);
        }
    }
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_max_delay_skips_the_host_instead_of_stalling() {
    let slow = TestServer::start().await;
    for d in ["/d/1", "/d/2"] {
        slow.route(d, Reply::status(503).header("Retry-After", "99999999"));
    }
    let (_good, spider) = details_on(&[&slow]).await;
    assert_eq!(
        spider.limits.max_delay,
        Duration::from_secs(600),
        "the default"
    );

    let summary = assert_skipped(
        spider,
        &[&slow],
        &["Retry-After of 99999999 s exceeds max_delay (10m); host skipped"],
    )
    .await;

    assert_eq!(summary.retries, 0, "a skipped host is not asked again");
    for d in ["/d/1", "/d/2"] {
        assert!(slow.count(d) <= 1, "{d} asked {} times", slow.count(d));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_delay_beyond_max_delay_skips_the_host_instead_of_stalling() {
    let slow = TestServer::start().await;
    slow.route(
        "/robots.txt",
        Reply::text("User-agent: *\nCrawl-delay: 100000\n"),
    );
    for d in ["/d/1", "/d/2"] {
        slow.route(d, detail_page("never asked"));
    }
    let (_good, spider) = details_on(&[&slow]).await;

    assert_skipped(
        spider,
        &[&slow],
        &["Crawl-delay of 100000 s exceeds max_delay (10m); host skipped"],
    )
    .await;

    assert_eq!(paths(&slow), ["/robots.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_delay_bounds_what_is_waited_out() {
    let slow = TestServer::start().await;
    // Whichever of the two is asked first (they share a turn, so either may
    // take the one slot), its answer skips the host and the other is never asked.
    for d in ["/d/1", "/d/2"] {
        slow.route(d, Reply::status(503).header("Retry-After", "2"));
    }
    let (_good, mut spider) = details_on(&[&slow]).await;
    spider.limits.max_delay = Duration::from_secs(1);
    spider.limits.concurrency = 1.try_into().unwrap();

    assert_skipped(
        spider,
        &[&slow],
        &["Retry-After of 2 s exceeds max_delay (1s); host skipped"],
    )
    .await;
    assert_eq!(
        slow.count("/d/1") + slow.count("/d/2"),
        1,
        "{:?}",
        paths(&slow)
    );
}

/// Numbers no clock can hold, and ones that are not numbers: clamped or
/// ignored, never a panic (before, `1e30` and `u64::MAX` ended the crawl).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_delays_from_servers_do_not_panic_a_fetch() {
    let retry_max = TestServer::start().await;
    let crawl_1e30 = TestServer::start().await;
    let year_9999 = TestServer::start().await;
    let not_numbers = TestServer::start().await;
    let with_retry_after = |server: &TestServer, value: &str| {
        for d in ["/d/1", "/d/2"] {
            server.route(d, Reply::status(503).header("Retry-After", value));
        }
    };
    with_retry_after(&retry_max, "18446744073709551615");
    crawl_1e30.route(
        "/robots.txt",
        Reply::text("User-agent: *\nCrawl-delay: 1e30\n"),
    );
    with_retry_after(&year_9999, "Fri, 31 Dec 9999 23:59:59 GMT");
    not_numbers.route_seq(
        "/d/1",
        vec![
            Reply::status(503).header("Retry-After", "-1"),
            Reply::status(503).header("Retry-After", "NaN"),
        ],
    );
    not_numbers.route_seq(
        "/d/2",
        vec![
            Reply::status(429).header("Retry-After", "inf"),
            Reply::status(429).header("Retry-After", "1e30"),
        ],
    );
    let others = [&retry_max, &crawl_1e30, &year_9999, &not_numbers];
    let (_good, mut spider) = details_on(&others).await;
    spider.limits.retries = 1;

    let summary = assert_skipped(
        spider,
        &others,
        &[
            "Retry-After of 18446744073709551615 s exceeds max_delay (10m); host skipped",
            "Crawl-delay of 18446744073709551615 s exceeds max_delay (10m); host skipped",
            "exceeds max_delay (10m); host skipped",
            "HTTP ",
        ],
    )
    .await;

    // Values that are not delays are ignored: the pages were retried as usual.
    assert_eq!(not_numbers.count("/d/1"), 2);
    assert_eq!(not_numbers.count("/d/2"), 2);
    assert_eq!(summary.retries, 2);
    let not_numbers_reason = |d: &str| {
        let url = not_numbers.url(d);
        summary
            .failures
            .iter()
            .find(|f| f.url == url)
            .unwrap()
            .reason
            .clone()
    };
    assert!(not_numbers_reason("/d/1").contains("503"));
    assert!(not_numbers_reason("/d/2").contains("429"));
}

/// robots.txt: `Disallow: /early` before 500 KiB, a line cut at 500 KiB that
/// would read `Disallow: /cut` if the cut were kept, `Disallow: /late`
/// after. The whole is 600 KiB and the server then stalls, claiming 1 KiB
/// more: a crawler that read past 500 KiB would wait for it and time out.
fn robots_past_500_kib() -> Vec<u8> {
    let cap = trawl::fetch::MAX_ROBOTS_BYTES as usize;
    let mut text = String::from("User-agent: *\nDisallow: /early\n");
    while text.len() < cap - 100 {
        text.push_str("# a comment line that only takes up room\n");
    }
    text.push_str(&"#".repeat(cap - 4 - "Disallow: /cut".len() - text.len()));
    text.push_str("\n\n\n\nDisallow: /cut-and-more");
    assert_eq!(&text[cap - "Disallow: /cut".len()..cap], "Disallow: /cut");
    text.push_str("\nDisallow: /late\n");
    while text.len() < 600 * 1024 {
        text.push_str("# more room\n");
    }
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_read_to_500_kib_and_no_further() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::stall_mid_body("text/plain", robots_past_500_kib()),
    );
    server.route(
        "/list",
        list_page(
            &[("e", "/early/1"), ("c", "/cut-short"), ("l", "/late/1")],
            None,
        ),
    );
    server.route("/cut-short", detail_page("C"));
    server.route("/late/1", detail_page("L"));
    let mut spider = blog(&server.url("/list"), "");
    spider.limits.timeout = Duration::from_secs(3);
    spider.limits.retries = 0;

    let started = Instant::now();
    let (records, summary) = run(spider).await;

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited for the rest"
    );
    assert_eq!(
        records,
        [
            rec("e", &server.url("/early/1"), None),
            rec("c", &server.url("/cut-short"), Some("C")),
            rec("l", &server.url("/late/1"), Some("L")),
        ]
    );
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert!(summary.failures[0]
        .reason
        .contains("disallowed by robots.txt"));
    assert_eq!(server.count("/early/1"), 0);
    assert_eq!(server.count("/robots.txt"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_robots_txt_is_cut_short_not_refused() {
    let server = TestServer::start().await;
    // Larger than max_body: a page this size is refused, a robots.txt is read in part.
    server.route("/robots.txt", Reply::huge("text/plain", 1 << 30));
    server.route("/list", list_page(&[("a", "/d/a")], None));
    server.route("/d/a", detail_page("A"));

    let (records, summary) = run(blog(&server.url("/list"), "")).await;

    assert_eq!(records, [rec("a", &server.url("/d/a"), Some("A"))]);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(server.count("/robots.txt"), 1);
}

// ------------------------------------------------------ the job (exactly once)

/// Opens the state in `dir` and a JSON Lines sink at `out`, cut back to what
/// the state committed; the crawl resumes where it stopped.
async fn job(server: &TestServer, dir: &std::path::Path, out: &std::path::Path) -> trawl::Job {
    use trawl::job::Resumable;
    use trawl::sink::{Sink, SinkOptions, Target};
    use trawl::state::StateStore;
    let text = format!(
        "start = \"{}\"\nlast_page = 6\n[list]\nitem = \".item\"\nfields.title = \".title::text\"\n",
        server.url("/p/{page}")
    );
    let spider = spider(&text);
    let target = Target::JsonLines(out.to_path_buf());
    let (store, saved) =
        StateStore::open(dir, &text, &target.to_string()).expect("the state opens");
    let options = SinkOptions {
        resume_at: saved.resume.as_ref().map(|_| saved.sink_position),
        ..SinkOptions::default()
    };
    let sink = Sink::open(target, options).await.expect("the sink opens");
    let options = CrawlOptions {
        resume: saved.resume,
        page_details: true,
        read_ahead: 2,
        ..CrawlOptions::default()
    };
    let crawl = Crawl::start(spider, options).expect("the crawl starts");
    let state = Resumable {
        store,
        unlimited: true,
    };
    trawl::Job::new(crawl, sink, Some(state)).checkpoint_every(Duration::ZERO)
}

fn lines(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_job_dropped_mid_crawl_then_rerun_writes_every_record_once() {
    let server = TestServer::start().await;
    for page in 1..=6 {
        let items: Vec<(String, &str)> = (0..3).map(|i| (format!("{page}.{i}"), "/x")).collect();
        let items: Vec<(&str, &str)> = items.iter().map(|(t, u)| (t.as_str(), *u)).collect();
        let reply = match page {
            4 => Reply::hang(), // the crawl is cut off while it waits here
            _ => list_page(&items, None),
        };
        server.route(&format!("/p/{page}"), reply);
    }
    let dir = tempfile::tempdir().unwrap();
    let (state, out) = (dir.path().join("state"), dir.path().join("out.jsonl"));
    let first = tokio::spawn(job(&server, &state, &out).await.run(Default::default()));
    eventually("pages 1-3 written", || lines(&out).len() == 9).await;
    first.abort(); // as good as a kill: nothing after this point runs
    let _ = first.await;
    // A record half-written after the last commit, as a kill can leave one.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"title\":\"4.0\""))
        .unwrap();
    for page in 1..=6 {
        let items: Vec<(String, &str)> = (0..3).map(|i| (format!("{page}.{i}"), "/x")).collect();
        let items: Vec<(&str, &str)> = items.iter().map(|(t, u)| (t.as_str(), *u)).collect();
        server.route(&format!("/p/{page}"), list_page(&items, None));
    }
    let outcome = tokio::time::timeout(
        DEADLINE,
        job(&server, &state, &out).await.run(Default::default()),
    )
    .await
    .expect("the rerun ends");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let titles: Vec<String> = lines(&out)
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["title"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let want: Vec<String> = (1..=6)
        .flat_map(|p| (0..3).map(move |i| format!("{p}.{i}")))
        .collect();
    assert_eq!(titles, want, "every record once, in order");
    for page in 1..=3 {
        assert_eq!(
            server.count(&format!("/p/{page}")),
            1,
            "committed page {page} is not fetched again"
        );
    }
}

// ------------------------------------------------- sitemaps read as a stream

/// A `<urlset>` of `n` entries, about 100 bytes each.
fn big_urlset(n: usize) -> Vec<u8> {
    let mut xml = String::from("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for i in 0..n {
        xml.push_str(&format!(
            "<url><loc>http://example.test/products/item-{i:08}</loc><lastmod>2024-05-01</lastmod></url>\n"
        ));
    }
    xml.push_str("</urlset>\n");
    xml.into_bytes()
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_sitemap_larger_than_max_body_is_read_as_a_stream() {
    let server = TestServer::start().await;
    let plain = big_urlset(30_000);
    assert!(plain.len() > 2 * 1024 * 1024, "{} bytes", plain.len());
    server.route(
        "/sitemap.xml",
        Reply::bytes("application/xml", plain.clone()),
    );
    server.route(
        "/sitemap.xml.gz",
        Reply::bytes("application/octet-stream", gzipped(&plain)),
    );
    for path in ["/sitemap.xml", "/sitemap.xml.gz"] {
        let spider = spider(&format!(
            r#"
start = "{}"
[list]
format = "sitemap"
fields.loc = "loc"
[limits]
max_body = "1MiB"
robots = false
"#,
            server.url(path)
        ));
        let (records, summary) = run(spider).await;
        assert!(
            summary.failures.is_empty(),
            "{path}: {:?}",
            summary.failures
        );
        assert_eq!(records.len(), 30_000, "{path}");
        assert_eq!(
            records[0]["loc"],
            "http://example.test/products/item-00000000"
        );
        assert_eq!(
            records[29_999]["loc"],
            "http://example.test/products/item-00029999"
        );
    }
}

#[tokio::test]
async fn a_sitemap_that_is_not_xml_fails_alone_with_its_reason() {
    let server = TestServer::start().await;
    let index = format!(
        "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <sitemap><loc>{}</loc></sitemap><sitemap><loc>{}</loc></sitemap></sitemapindex>",
        server.url("/broken.xml"),
        server.url("/good.xml")
    );
    server.route(
        "/index.xml",
        Reply::bytes("application/xml", index.into_bytes()),
    );
    server.route(
        "/broken.xml",
        Reply::html("<html><body>not a sitemap</body></html>"),
    );
    server.route("/good.xml", Reply::bytes("application/xml", big_urlset(3)));
    let spider = spider(&format!(
        "start = \"{}\"\n[list]\nformat = \"sitemap\"\n[limits]\nrobots = false\n",
        server.url("/index.xml")
    ));
    let (records, summary) = run(spider).await;
    assert_eq!(records.len(), 3, "the good sitemap still counts");
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    assert!(summary.failures[0].url.ends_with("/broken.xml"));
    assert!(
        summary.failures[0].reason.contains("sitemap"),
        "{}",
        summary.failures[0].reason
    );
}

// --------------------------------------------------- polite streaming (§10)

#[tokio::test]
async fn at_a_slow_rate_the_first_records_detail_pages_go_before_later_list_pages() {
    let server = TestServer::start().await;
    for page in 1..=5 {
        let items: Vec<(String, String)> = (1..=2)
            .map(|i| (format!("Post {page}-{i}"), format!("/d/{page}-{i}")))
            .collect();
        let items: Vec<(&str, &str)> = items
            .iter()
            .map(|(t, u)| (t.as_str(), u.as_str()))
            .collect();
        server.route(&format!("/list/{page}"), list_page(&items, None));
        for i in 1..=2 {
            server.route(
                &format!("/d/{page}-{i}"),
                Reply::html("<p class=\"description\">d</p>"),
            );
        }
    }
    // A known range (pages fetched ahead), and an open-ended one (the
    // chain's next page goes first for a free connection, not for the
    // host's rate-limit slot).
    for top in ["last_page = 5", ""] {
        server.clear_hits();
        let mut spider = blog(&server.url("/list/{page}"), top);
        spider.limits.rate = Rate::new(4.0).unwrap();
        spider.limits.burst = std::num::NonZeroU32::new(1).unwrap();
        let options = CrawlOptions {
            max_items: Some(1),
            ..options()
        };
        let (records, _) = run_with(spider, options).await;
        assert_eq!(records.len(), 1);
        let asked = paths(&server);
        assert_eq!(
            asked[..3],
            ["/robots.txt", "/list/1", "/d/1-1"],
            "{top}: {asked:?}"
        );
        assert!(
            !asked
                .iter()
                .any(|p| p.starts_with("/list/") && p != "/list/1"),
            "{top}: no other list page: {asked:?}"
        );
    }
}
