//! Private networks (SPEC §10): loopback, private, link-local and metadata
//! addresses are reached only when a start is on one or `allow_private` is
//! set. Every test server is on loopback, so the refusals are tested on the
//! fetch stack alone, and the crawls show what a private start allows.
//! (A redirect from a public page to a refused address is tested in
//! `src/fetch/private/tests.rs`, where a loopback server may play a public one.)

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::{Reply, TestServer};
use trawl::fetch::FetchErrorKind;
use trawl::spider::{Limits, Rate, RequestRule};
use trawl::{Crawl, CrawlOptions, Fetcher, Spider, Summary};
use url::Url;

const DEADLINE: Duration = Duration::from_secs(20);

/// A list of `.item`s, each followed to a detail page at `url`.
fn blog(start: &str) -> Spider {
    let toml = format!(
        r#"
start = "{start}"
[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.description = ".description::text"
"#
    );
    let mut spider = Spider::from_toml(&toml, "test.toml", "test").expect("a valid spider");
    spider.limits.rate = Rate::UNLIMITED;
    spider
}

fn list_page(title: &str, href: &str) -> Reply {
    Reply::html(format!(
        "<div class=\"item\"><h2 class=\"title\">{title}</h2><a href=\"{href}\">more</a></div>"
    ))
}

fn detail_page(description: &str) -> Reply {
    Reply::html(format!("<p class=\"description\">{description}</p>"))
}

async fn run(spider: Spider) -> (Vec<Value>, Summary) {
    let mut crawl = Crawl::start(spider, CrawlOptions::default()).expect("the crawl starts");
    let records = tokio::time::timeout(DEADLINE, async {
        let mut records = Vec::new();
        while let Some(record) = crawl.next().await {
            records.push(serde_json::to_value(record.expect("no fatal error")).unwrap());
        }
        records
    })
    .await
    .expect("the crawl ends before the deadline");
    (records, crawl.summary())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_on_loopback_allows_the_crawl_to_reach_other_private_hosts() {
    let start = TestServer::start_on("127.0.0.2").await;
    let other = TestServer::start().await;
    let detail = other.url("/d/1");
    start.route("/list", list_page("one", &detail));
    other.route("/d/1", detail_page("from another loopback host"));

    let (records, summary) = run(blog(&start.url("/list"))).await;

    assert_eq!(
        records,
        vec![json!({"title": "one", "url": detail, "description": "from another loopback host"})]
    );
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(other.count("/d/1"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_named_localhost_allows_private_addresses_after_resolving_it() {
    let start = TestServer::start().await;
    let other = TestServer::start_on("127.0.0.2").await;
    let detail = other.url("/d/1");
    start.route("/list", list_page("one", &detail));
    other.route("/d/1", detail_page("reached"));
    let list = format!("http://localhost:{}/list", start.addr().port());

    let (records, summary) = run(blog(&list)).await;

    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["description"], "reached");
}

fn limits(allow_private: bool) -> Limits {
    Limits {
        rate: Rate::UNLIMITED,
        allow_private,
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_literal_is_refused_before_any_request_and_not_retried() {
    let server = TestServer::start().await;
    server.route("/x", Reply::html("secret"));
    let fetcher = Fetcher::new(&limits(false)).unwrap();
    let url = Url::parse(&server.url("/x")).unwrap();

    let error = fetcher.get(&url).await.unwrap_err();

    let FetchErrorKind::Private(reason) = error.kind() else {
        panic!("expected a refusal, got {error}");
    };
    assert!(
        reason.contains("127.0.0.1 is a loopback address"),
        "{reason}"
    );
    assert!(reason.contains("--allow-private"), "{reason}");
    assert!(!error.is_retryable());
    assert_eq!(error.url(), &url);
    assert_eq!(server.hits().len(), 0, "not even robots.txt was asked for");
    assert_eq!(fetcher.counts(), (0, 0), "no request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_only_to_loopback_is_refused_after_dns() {
    let server = TestServer::start().await;
    server.route("/x", Reply::html("secret"));
    let fetcher = Fetcher::new(&limits(false)).unwrap();
    let url = Url::parse(&format!("http://localhost:{}/x", server.addr().port())).unwrap();

    let error = fetcher.get(&url).await.unwrap_err();

    let FetchErrorKind::Private(reason) = error.kind() else {
        panic!("expected a refusal, got {error}");
    };
    assert!(
        reason.contains("`localhost` resolves only to reserved addresses"),
        "{reason}"
    );
    assert!(reason.contains("loopback"), "{reason}");
    assert!(reason.contains("--allow-private"), "{reason}");
    assert_eq!(server.hits().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_private_or_a_private_start_lets_the_fetcher_reach_loopback() {
    let server = TestServer::start().await;
    server.route("/x", Reply::html("fine"));
    let url = Url::parse(&server.url("/x")).unwrap();
    let allowed = Fetcher::new(&limits(true)).unwrap();
    assert_eq!(allowed.get(&url).await.unwrap().text, "fine");

    let other = TestServer::start_on("127.0.0.2").await;
    let start = other.url("/");
    let by_start =
        Fetcher::with_starts(&limits(false), &RequestRule::default(), &[&start]).unwrap();
    assert_eq!(by_start.get(&url).await.unwrap().text, "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloud_metadata_address_is_refused_without_a_connection() {
    let fetcher = Fetcher::new(&limits(false)).unwrap();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
    ] {
        let url = Url::parse(url).unwrap();
        let error = tokio::time::timeout(DEADLINE, fetcher.get(&url))
            .await
            .expect("refused at once")
            .unwrap_err();
        assert!(
            error.to_string().contains("cloud-metadata address"),
            "{error}"
        );
    }
}
