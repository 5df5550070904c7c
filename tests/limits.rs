//! File descriptors (SPEC §10 "Bounds"): a crawl of many hosts works within
//! the process's open-file limit, and a machine out of descriptors is a
//! local fault, never the host's.
//!
//! Each test runs the real `trawl` binary under a limit set for the child
//! only, through `sh -c 'ulimit -n N; exec trawl …'` (soft and hard both, so
//! the binary's raise cannot help; `ulimit -S` sets the soft one alone).
//! Every host is its own test server on its own port of 127.0.0.1: another
//! origin, so another pool key, robots.txt and politeness schedule.

mod support;

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::process::Command;

use futures::StreamExt;
use serde_json::Value;
use support::binary::{run, s, summary_line, Run, BIN};
use support::library::{spider_at, DEADLINE};
use support::{Reply, TestServer};
use tempfile::TempDir;
use trawl::fetch::Fetcher;
use trawl::{Crawl, CrawlError, CrawlOptions};

/// One test at a time: [`Hog`] takes every descriptor of this process,
/// which would fail another test's runtime, sockets and child processes.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `test` alone, on a runtime built once the others are done.
fn alone<F: std::future::Future>(test: F) -> F::Output {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(test)
}

/// Holds every descriptor this process may open (under a soft limit
/// lowered to 256, so holding them is cheap), until dropped.
struct Hog {
    files: Vec<File>,
    limit: (u64, u64),
}

impl Hog {
    fn take() -> Hog {
        let limit = rlimit::Resource::NOFILE.get().expect("read RLIMIT_NOFILE");
        rlimit::Resource::NOFILE
            .set(limit.0.min(256), limit.1)
            .expect("lower the soft limit");
        let mut files = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(file) => files.push(file),
                Err(e) if e.raw_os_error() == Some(24) => break,
                Err(e) => panic!("opening /dev/null: {e}"),
            }
        }
        Hog { files, limit }
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.files.clear();
        let (soft, hard) = self.limit;
        rlimit::Resource::NOFILE
            .set(soft, hard)
            .expect("restore the soft limit");
    }
}

/// A list page on one host whose items each follow a detail page on a
/// host of its own: `hosts` servers besides the list's.
struct Site {
    list: TestServer,
    details: Vec<TestServer>,
}

impl Site {
    async fn start(hosts: usize) -> Site {
        let list = TestServer::start().await;
        let mut details = Vec::with_capacity(hosts);
        let mut html = String::from("<html><body>");
        for i in 0..hosts {
            let host = TestServer::start().await;
            host.route(
                "/item",
                Reply::html(format!(
                    "<html><body><p class=body>Body {i}</p></body></html>"
                )),
            );
            html.push_str(&format!(
                "<div class=item><h2>Item {i}</h2><a href=\"{}\">more</a></div>",
                host.url("/item")
            ));
            details.push(host);
        }
        html.push_str("</body></html>");
        list.route("/list", Reply::html(html));
        Site { list, details }
    }

    /// The spider file, written into `dir`.
    fn spider(&self, dir: &Path) -> String {
        let text = format!(
            r#"start = "{}"

[list]
item = ".item"
fields.title = "h2::text"
fields.url = "a::attr(href)"

[detail]
follow = "url"
fields.body = ".body::text"

[limits]
rate = 0
timeout = "10s"
"#,
            self.list.url("/list")
        );
        let path = dir.join("hosts.toml");
        std::fs::write(&path, text).expect("write the spider file");
        s(&path)
    }
}

/// `trawl ARGS` in a shell that first runs `ulimit LIMIT` (e.g. `-n 64`).
fn under_limit(limit: &str, args: &[String]) -> Command {
    let mut script = format!("ulimit {limit} || exit 99; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn crawl_args(spider: &str, out: &Path, state: &Path) -> Vec<String> {
    vec![
        "crawl".into(),
        spider.into(),
        "-o".into(),
        s(out),
        "--state".into(),
        s(state),
    ]
}

/// The output's records, read as JSON Lines.
fn records(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every item once, in order, with its detail page's body.
fn assert_every_record_once(out: &Path, hosts: usize, run: &Run) {
    let records = records(out);
    let titles: Vec<&str> = records
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..hosts).map(|i| format!("Item {i}")).collect();
    assert_eq!(titles, expected, "stderr:\n{}", run.stderr);
    let unique: HashSet<&str> = titles.iter().copied().collect();
    assert_eq!(unique.len(), hosts, "no record twice");
    for (i, record) in records.iter().enumerate() {
        assert_eq!(
            record["body"],
            Value::String(format!("Body {i}")),
            "record {i} has its detail page's fields; stderr:\n{}",
            run.stderr
        );
    }
}

/// 300 hosts under a limit of 64 descriptors: the idle connections to
/// hosts already done must not pile up until EMFILE (before the pool was
/// capped, most detail pages failed as "robots.txt unavailable; host
/// skipped" and the crawl exited 0).
#[test]
fn many_hosts_fit_a_low_descriptor_limit() {
    alone(many_hosts_fit_a_low_descriptor_limit_())
}

async fn many_hosts_fit_a_low_descriptor_limit_() {
    const HOSTS: usize = 300;
    let site = Site::start(HOSTS).await;
    let dir = TempDir::new().unwrap();
    let spider = site.spider(dir.path());
    let out = dir.path().join("out.jsonl");
    let args = crawl_args(&spider, &out, &dir.path().join("state"));
    let run = run(under_limit("-n 64", &args)).await;
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("host skipped"), "{}", run.stderr);
    let summary = summary_line(&run.stderr);
    assert!(summary.contains(" 0 failed"), "{}", run.stderr);
    // Within the budget not one socket was refused, so nothing was retried
    // (recycling the pool on EMFILE alone finishes too, after ~50 retries).
    assert!(summary.contains(" 0 retries"), "{}", run.stderr);
    assert_every_record_once(&out, HOSTS, &run);
    for host in &site.details {
        assert_eq!(host.count("/item"), 1, "each detail page fetched once");
    }
}

/// A machine out of descriptors: the fetch names the local fault, robots.txt
/// is not taken as unavailable nor the host skipped, and once descriptors
/// are free again the same fetcher fetches the page (robots.txt included).
#[test]
fn a_machine_out_of_descriptors_is_a_local_fault() {
    alone(a_machine_out_of_descriptors_is_a_local_fault_())
}

async fn a_machine_out_of_descriptors_is_a_local_fault_() {
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::text("User-agent: *\nAllow: /\n"));
    server.route("/page", Reply::html("<p>hi</p>"));
    let spider = spider_at(
        &server,
        "start = \"BASE/page\"\n[list]\nitem = \"p\"\nfields.t = \"::text\"",
        "retries = 1\nrate = 0",
        "local",
    );
    let fetcher = Fetcher::with_starts(
        &spider.limits,
        &trawl::spider::RequestRule::default(),
        &["http://127.0.0.1/"],
    )
    .expect("the client builds");
    let url = url::Url::parse(&server.url("/page")).unwrap();
    let hog = Hog::take();
    let failed = fetcher
        .get(&url)
        .await
        .expect_err("no descriptor to connect with");
    drop(hog);
    assert!(failed.is_local(), "{failed}");
    let text = failed.to_string();
    assert!(
        text.contains("too many open files in this process (EMFILE"),
        "{text}"
    );
    assert!(text.contains("not the host's"), "{text}");
    assert!(
        !text.contains("robots.txt") && !text.contains("host skipped"),
        "{text}"
    );
    assert_eq!(server.hits().len(), 0, "nothing reached the host");
    let page = fetcher.get(&url).await.expect("descriptors are free again");
    assert_eq!(page.text, "<p>hi</p>");
    assert_eq!(server.count("/robots.txt"), 1);
}

/// A crawl whose page still fails locally after its retries ends with the
/// local fault (not "nothing fetched", not the host's failure): a fatal
/// error, so the binary exits 1, and the page is never done (the engine's
/// tests, `src/crawl/tests.rs`, pin that no `PageDone` is sent for it).
#[test]
fn a_crawl_stops_at_a_page_it_could_not_fetch_locally() {
    alone(a_crawl_stops_at_a_page_it_could_not_fetch_locally_())
}

async fn a_crawl_stops_at_a_page_it_could_not_fetch_locally_() {
    let server = TestServer::start().await;
    server.route("/page", Reply::html("<p>hi</p>"));
    let spider = spider_at(
        &server,
        "start = \"BASE/page\"\n[list]\nitem = \"p\"\nfields.t = \"::text\"",
        "retries = 1\nrate = 0",
        "local",
    );
    let mut crawl = Crawl::start(spider, CrawlOptions::default()).expect("the crawl starts");
    let hog = Hog::take();
    let first = tokio::time::timeout(DEADLINE, crawl.next()).await;
    drop(hog);
    let error = first
        .expect("the crawl ends")
        .expect("with an error")
        .expect_err("no record");
    assert!(matches!(error, CrawlError::LocalFault { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "stopped at {}: too many open files",
            server.url("/page")
        )),
        "{text}"
    );
    let failures = crawl.summary().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(!failures[0].reason.contains("robots"), "{failures:?}");
    assert!(crawl.next().await.is_none());
}

/// The binary raises the soft limit to the hard one at start, so a crawl
/// started under a low soft limit gets the descriptors the hard limit
/// allows: its concurrency is not lowered to fit 40 descriptors.
#[test]
fn the_binary_raises_the_soft_limit_to_the_hard_limit() {
    alone(the_binary_raises_the_soft_limit_to_the_hard_limit_())
}

async fn the_binary_raises_the_soft_limit_to_the_hard_limit_() {
    let (_, hard) = rlimit::Resource::NOFILE.get().expect("read RLIMIT_NOFILE");
    assert!(
        hard > 40,
        "this test needs a hard limit above 40, not {hard}"
    );
    const HOSTS: usize = 50;
    let site = Site::start(HOSTS).await;
    let dir = TempDir::new().unwrap();
    let spider = site.spider(dir.path());
    let out = dir.path().join("out.jsonl");
    let mut args = crawl_args(&spider, &out, &dir.path().join("state"));
    args.push("-v".into());
    let run = run(under_limit("-S -n 40", &args)).await;
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    let raised = format!("open-file limit raised from 40 to {hard}");
    assert!(run.stderr.contains(&raised), "{}", run.stderr);
    assert!(
        !run.stderr.contains("concurrency lowered"),
        "{}",
        run.stderr
    );
    assert_every_record_once(&out, HOSTS, &run);
}

// ------------------------------------------------- bytes held, not pages

/// SPEC §10 "Bounds", from the issue: sixteen list pages of 10 MB each, all
/// leased at once (nothing is known of their size yet). Their bodies take
/// their bytes from the read-ahead's 32 MiB budget as they arrive, so most
/// of them are held back mid-body while the earliest go on: the crawl must
/// neither stall nor time out nor lose order, and its peak memory stays far
/// below the 4.2 GB the issue measured (figures in "Limits and safety").
#[test]
fn large_pages_held_back_by_the_byte_budget_all_arrive_in_order() {
    alone(large_pages_held_back_by_the_byte_budget_all_arrive_in_order_())
}

async fn large_pages_held_back_by_the_byte_budget_all_arrive_in_order_() {
    const PAGES: usize = 16;
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::text("User-agent: *\nAllow: /\n"));
    let pad = "x".repeat(10 * 1024 * 1024);
    for page in 1..=PAGES {
        let body = format!(r#"{{"items":[{{"t":"record {page}"}}],"pad":"{pad}"}}"#);
        server.route(&format!("/big/{page}"), Reply::json(body));
    }
    drop(pad);
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("big.toml");
    let text = format!(
        "start = \"{}\"\nlast_page = {PAGES}\n[list]\nformat = \"json\"\nitems = \"items\"\nfields.t = \"t\"\n[limits]\nrate = 0\nconcurrency = 16\nmax_body = \"16MiB\"\ntimeout = \"5s\"\n",
        server.url("/big/{page}")
    );
    std::fs::write(&spider, text).unwrap();
    let out = dir.path().join("out.jsonl");
    let args: Vec<String> = vec![
        "crawl".into(),
        s(&spider),
        "-o".into(),
        s(&out),
        "-v".into(),
    ];
    let run = run(under_limit("-n 4096", &args)).await;
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(
        summary_line(&run.stderr).contains(" 0 failed"),
        "{}",
        run.stderr
    );
    assert!(
        summary_line(&run.stderr).contains(" 0 retries"),
        "{}",
        run.stderr
    );
    let titles: Vec<String> = records(&out)
        .iter()
        .map(|r| r["t"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected: Vec<String> = (1..=PAGES).map(|p| format!("record {p}")).collect();
    assert_eq!(titles, expected, "every record once, in order");
    let peak: u64 = run
        .stderr
        .lines()
        .find_map(|l| l.split("peak memory ").nth(1))
        .and_then(|rest| rest.trim_end_matches(" MiB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory line:\n{}", run.stderr));
    // The issue's break: 4.2 GB for this crawl. Measured now: 88–125 MiB
    // (README); the bound leaves room for a slow, busy machine.
    assert!(peak < 300, "peak memory {peak} MiB:\n{}", run.stderr);
}
