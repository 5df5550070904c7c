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
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::binary::{run, s, summary_line, Run, BIN};
use support::{Reply, TestServer};
use tempfile::TempDir;

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

#[tokio::test]
async fn explore_fd_thresholds() {
    let site = Site::start(20).await;
    for n in [8, 10, 12, 14, 16, 18, 20, 24, 28, 32] {
        let dir = TempDir::new().unwrap();
        let spider = site.spider(dir.path());
        let out = dir.path().join("out.jsonl");
        let args = crawl_args(&spider, &out, &dir.path().join("state"));
        let run = run(under_limit(&format!("-n {n}"), &args)).await;
        eprintln!(
            "=== {n}: code {:?}, {} records\n{}",
            run.code,
            records(&out).len(),
            run.stderr.lines().take(6).collect::<Vec<_>>().join("\n")
        );
    }
    drop(site.details);
}

/// 300 hosts under a limit of 64 descriptors: the idle connections to
/// hosts already done must not pile up until EMFILE (before the pool was
/// capped, most detail pages failed as "robots.txt unavailable; host
/// skipped" and the crawl exited 0).
#[tokio::test]
async fn many_hosts_fit_a_low_descriptor_limit() {
    const HOSTS: usize = 300;
    let site = Site::start(HOSTS).await;
    let dir = TempDir::new().unwrap();
    let spider = site.spider(dir.path());
    let out = dir.path().join("out.jsonl");
    let args = crawl_args(&spider, &out, &dir.path().join("state"));
    let run = run(under_limit("-n 64", &args)).await;
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("host skipped"), "{}", run.stderr);
    assert!(
        summary_line(&run.stderr).contains(" 0 failed"),
        "{}",
        run.stderr
    );
    assert_every_record_once(&out, HOSTS, &run);
    for host in &site.details {
        assert_eq!(host.count("/item"), 1, "each detail page fetched once");
    }
}
