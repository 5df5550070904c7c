//! The crate as a library user sees it: only `trawl::…` paths that are
//! public, against the demo site (and, for a POST, the scripted test
//! server, since the demo site takes none).
//!
//! 1. A `Job` on a state directory into JSON Lines, cut short (by
//!    `max_items`, then by a cancelled token), opened again and run to the
//!    end: it says it resumed, and the output holds every record exactly
//!    once, in order. A fourth open is `JobError::Complete` and leaves the
//!    output alone.
//! 2. `Job::open` refuses, before any request: a state for stdout
//!    (`NotResumable`), a state directory another open job holds (`Locked`).
//! 3. `Fetcher::send` of a POST `Ask`: the server receives the body, its
//!    Content-Type and the extra headers.

mod support;

use std::path::Path;

use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use trawl::demo::{DemoServer, DemoSite};
use trawl::fetch::{Ask, Body, Fetcher};
use trawl::job::{Job, JobError, JobOptions, Outcome};
use trawl::sink::Target;
use trawl::spider::Limits;
use trawl::state::StateError;
use trawl::{Crawl, CrawlOptions, Spider};

use support::library::DEADLINE;
use support::{Reply, TestServer};

/// The demo blog, six pages of five posts.
const SITE: DemoSite = DemoSite {
    pages: 6,
    items_per_page: 5,
    api_pages: 1,
    api_items_per_page: 1,
    shop_pages: 1,
    shop_items_per_page: 1,
};

/// The blog's posts as a spider: list pages until one is missing, titles
/// and links, no rate limit (the site is local).
fn blog(site: &DemoServer) -> Spider {
    let text = format!(
        r#"
        start = "{}/blog/page/{{page}}"
        [list]
        item = ".item"
        fields.title = ".title::text"
        fields.url = "a::attr(href)"
        [limits]
        rate = 0
        "#,
        site.base_url()
    );
    Spider::from_toml(&text, "blog.toml", "blog").expect("the spider loads")
}

/// Opens a job; a failure is the test's.
async fn open(site: &DemoServer, output: &Path, options: JobOptions) -> Job {
    Job::open(blog(site), Target::JsonLines(output.into()), options)
        .await
        .unwrap_or_else(|e| panic!("the job opens: {e}"))
}

/// Runs a job under the deadline; a job that ends in an error fails the test.
async fn run(job: Job, stop: CancellationToken) -> Outcome {
    let outcome = tokio::time::timeout(DEADLINE, job.run(stop))
        .await
        .expect("the job ends before the deadline");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    outcome
}

/// The post number of each line of a JSON Lines output, in order.
fn post_ids(output: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(output).expect("the output is readable");
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).expect("each line is JSON");
            let url = record["url"].as_str().expect("each record has its url");
            let id = url.rsplit('/').next().expect("a post URL ends in its id");
            id.parse().expect("a post id is a number")
        })
        .collect()
}

fn state_options(dir: &Path) -> JobOptions {
    JobOptions {
        state: Some(dir.join("state")),
        ..JobOptions::default()
    }
}

#[tokio::test]
async fn a_job_cut_short_resumes_and_writes_every_record_once() {
    let site = DemoServer::start(SITE).await.expect("the demo site starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = dir.path().join("posts.jsonl");
    let all: Vec<u32> = (1..=SITE.post_count()).collect();

    // First run: cut after 12 records; the state commits whole pages only.
    let options = JobOptions {
        max_items: Some(12),
        ..state_options(dir.path())
    };
    let job = open(&site, &output, options).await;
    assert_eq!(job.resumed(), None, "a new state directory starts afresh");
    let first = run(job, CancellationToken::new()).await;
    assert_eq!(first.summary.records, 12);
    assert_eq!(post_ids(&output), all[..12], "the first run wrote a prefix");

    // Second run: continues from the commit, and is stopped by its token
    // before it takes a record; what it wrote (possibly nothing) is committed.
    let job = open(&site, &output, state_options(dir.path())).await;
    let committed = job.resumed().expect("the second run resumes");
    assert_eq!(committed % 5, 0, "whole pages are committed: {committed}");
    assert!(
        (5..=12).contains(&committed),
        "{committed} records committed"
    );
    let stop = CancellationToken::new();
    stop.cancel();
    let second = run(job, stop).await;
    assert!(second.stopped, "the token stopped the second run");

    // Third run: to the end.
    let job = open(&site, &output, state_options(dir.path())).await;
    assert!(job.resumed().is_some_and(|n| n >= committed));
    let watch = job.watch();
    let third = run(job, CancellationToken::new()).await;
    assert!(!third.stopped);
    assert_eq!(watch.summary().records, third.summary.records);
    assert_eq!(post_ids(&output), all, "every post exactly once, in order");

    // Fourth open: the state holds a finished crawl, and nothing is opened.
    let before = std::fs::read(&output).expect("the output is readable");
    let error = Job::open(
        blog(&site),
        Target::JsonLines(output.clone()),
        state_options(dir.path()),
    )
    .await
    .expect_err("a finished crawl is not run again");
    match &error {
        JobError::Complete { records, .. } => assert_eq!(*records, 30),
        other => panic!("expected JobError::Complete, got {other:?}"),
    }
    assert!(error.is_usage());
    assert!(
        error.to_string().contains("is complete (30 records"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(&output).unwrap(),
        before,
        "the output is left alone"
    );
}

#[tokio::test]
async fn a_state_for_stdout_is_refused_before_anything_is_made() {
    let site = DemoServer::start(SITE).await.expect("the demo site starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let error = Job::open(blog(&site), Target::Stdout, state_options(dir.path()))
        .await
        .expect_err("stdout cannot be rewound");
    assert!(matches!(&error, JobError::NotResumable { output } if output == "stdout"));
    assert!(error.is_usage());
    assert!(
        !dir.path().join("state").exists(),
        "no state directory was made"
    );
}

#[tokio::test]
async fn a_state_directory_in_use_is_refused_until_it_is_released() {
    let site = DemoServer::start(SITE).await.expect("the demo site starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = dir.path().join("posts.jsonl");
    let holder = open(&site, &output, state_options(dir.path())).await;

    let error = Job::open(
        blog(&site),
        Target::JsonLines(dir.path().join("other.jsonl")),
        state_options(dir.path()),
    )
    .await
    .expect_err("a state directory in use");
    match &error {
        JobError::State(StateError::Locked { dir: locked, pid }) => {
            assert_eq!(locked, &dir.path().join("state"));
            assert_eq!(*pid, Some(std::process::id()), "the lock names its holder");
        }
        other => panic!("expected a locked state, got {other:?}"),
    }
    assert!(error.is_usage());
    assert!(
        !dir.path().join("other.jsonl").exists(),
        "nothing was opened"
    );

    drop(holder);
    let job = open(&site, &output, state_options(dir.path())).await;
    run(job, CancellationToken::new()).await;
    assert_eq!(post_ids(&output).len(), 30);
}

#[tokio::test]
async fn a_crawl_streams_the_records_a_job_writes() {
    let site = DemoServer::start(SITE).await.expect("the demo site starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = dir.path().join("posts.jsonl");
    run(
        open(&site, &output, JobOptions::default()).await,
        CancellationToken::new(),
    )
    .await;

    let crawl = Crawl::start(blog(&site), CrawlOptions::default()).expect("the crawl starts");
    let records: Vec<_> = tokio::time::timeout(DEADLINE, crawl.collect::<Vec<_>>())
        .await
        .expect("the crawl ends before the deadline");
    let lines: Vec<String> = records
        .into_iter()
        .map(|r| serde_json::to_string(&r.expect("no fatal crawl error")).unwrap())
        .collect();
    let written = std::fs::read_to_string(&output).expect("the output is readable");
    assert_eq!(written.lines().collect::<Vec<_>>(), lines);
}

#[tokio::test]
async fn fetcher_sends_a_post_with_its_body_and_headers() {
    let server = TestServer::start().await;
    server.route("/search", Reply::json(r#"{"hits":[1,2,3]}"#));
    let fetcher = Fetcher::new(&Limits {
        allow_private: true,
        ..Limits::default()
    })
    .expect("the client builds");
    let ask = Ask {
        headers: vec![("X-Api-Key".into(), "k-123".into())],
        body: Some(Body {
            bytes: br#"{"q":"lego"}"#.to_vec(),
            content_type: "application/json",
        }),
        ..Ask::get(server.url("/search").parse().unwrap())
    };
    let page = tokio::time::timeout(DEADLINE, fetcher.send(&ask))
        .await
        .expect("the request ends before the deadline")
        .expect("the POST succeeds");
    assert_eq!(
        (page.status, page.text.as_str()),
        (200, r#"{"hits":[1,2,3]}"#)
    );

    let hits = server.hits_for("/search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "POST");
    assert_eq!(hits[0].body, br#"{"q":"lego"}"#);
    assert_eq!(hits[0].header("content-type"), Some("application/json"));
    assert_eq!(hits[0].header("x-api-key"), Some("k-123"));
    assert_eq!(fetcher.counts(), (2, 0), "robots.txt, then the POST");
}
