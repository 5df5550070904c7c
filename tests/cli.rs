//! End-to-end tests of the real `trawl` binary (SPEC §2, §5): exit codes,
//! messages, output formats, limits, signals — and, through the scripted test
//! server, what the binary did (or did not) send over the network.

mod support;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::binary::{command, s, summary_line, trawl, RUN_LIMIT};
use support::{Reply, TestServer};
use tempfile::TempDir;
use tokio::sync::mpsc;

// ---------------------------------------------------------------- helpers

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// A running binary whose stdout is read line by line as it comes.
struct Live {
    pid: u32,
    child: Option<Child>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Live {
    fn start<I, S>(args: I) -> Live
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut child = command(args).spawn().expect("spawn trawl");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Live {
            pid: child.id(),
            child: Some(child),
            lines,
            stderr: Some(stderr),
        }
    }

    /// The next stdout line, or `None` at end of output.
    async fn next_line(&mut self) -> Option<String> {
        match tokio::time::timeout(RUN_LIMIT, self.lines.recv()).await {
            Ok(line) => line,
            Err(_) => panic!("no stdout line from trawl within {RUN_LIMIT:?}"),
        }
    }

    fn signal(&self, signal: &str) {
        send_signal(self.pid, signal);
    }

    /// Reads stdout to its end and waits for the exit; returns the lines
    /// not yet read, the exit code and stderr.
    async fn finish(mut self) -> (Vec<String>, Option<i32>, String) {
        let mut rest = Vec::new();
        while let Some(line) = self.next_line().await {
            rest.push(line);
        }
        let mut child = self.child.take().expect("not finished yet");
        let stderr = self.stderr.take().expect("not finished yet");
        let waiting = tokio::task::spawn_blocking(move || {
            let status = child.wait().expect("wait for trawl");
            (status.code(), stderr.join().expect("stderr reader"))
        });
        let (code, stderr) = match tokio::time::timeout(RUN_LIMIT, waiting).await {
            Ok(done) => done.expect("join"),
            Err(_) => panic!("trawl did not exit within {RUN_LIMIT:?}"),
        };
        (rest, code, stderr)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes a spider file into `dir` and returns its path.
fn spider(dir: &TempDir, file: &str, text: &str) -> PathBuf {
    let path = dir.path().join(file);
    std::fs::write(&path, text).expect("write spider file");
    path
}

/// Polls `done` every few milliseconds until it holds or `limit` passes;
/// on a timeout, kills `live` and panics with what the server and trawl said.
async fn wait_until(
    what: &str,
    limit: Duration,
    server: &TestServer,
    live: &mut Option<Live>,
    done: impl Fn() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            let live = live.take().expect("a live trawl");
            live.signal("KILL");
            let (stdout, code, stderr) = live.finish().await;
            let hits: Vec<String> = server.hits().into_iter().map(|h| h.path).collect();
            panic!(
                "timed out waiting for {what}; exit {code:?}\nhits: {hits:?}\n\
                 stdout: {stdout:?}\nstderr:\n{stderr}"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The record count in the summary line.
fn summary_records(stderr: &str) -> usize {
    let line = summary_line(stderr);
    let before = line.split(" records").next().expect("split");
    let n = before.rsplit(' ').next().expect("count");
    n.parse()
        .unwrap_or_else(|_| panic!("no record count in `{line}`"))
}

fn parse_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .expect("a record is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

// ------------------------------------------------------------ test sites

/// Two list pages, two items each, every item with a detail page.
/// Returns the spider text and the exact JSON Lines it should produce.
fn blog_site(server: &TestServer) -> (String, Vec<String>) {
    let base = server.url("");
    let base = base.trim_end_matches('/');
    server.route(
        "/list/1",
        Reply::html(
            "<html><body>\n\
             <div class=\"item\"><span class=\"title\">Alpha</span> <a href=\"/post/1\">more</a></div>\n\
             <div class=\"item\"><span class=\"title\">Say &quot;hi&quot;, world</span> <a href=\"post/2\">more</a></div>\n\
             </body></html>",
        ),
    );
    server.route(
        "/list/2",
        Reply::html(
            "<html><body>\n\
             <div class=\"item\"><span class=\"title\">Gamma</span> <a href=\"/post/3\">more</a></div>\n\
             <div class=\"item\"><span class=\"title\">  Delta\n   Four </span> <a href=\"/post/4\">more</a></div>\n\
             </body></html>",
        ),
    );
    let post = |desc: &str, author: Option<&str>| {
        let author = author
            .map(|a| format!("<span class=\"author\">{a}</span>"))
            .unwrap_or_default();
        Reply::html(format!(
            "<html><body><p class=\"description\">{desc}</p>{author}</body></html>"
        ))
    };
    server.route("/post/1", post("One, with a comma", Some("Ann")));
    server.route("/list/post/2", post("Quote &quot;two&quot;", Some("Bob")));
    server.route("/post/3", post("Three", None));
    server.route("/post/4", post("  Four\n  <b>lines</b>  ", Some("Dee")));
    let text = format!(
        r#"start = "{base}/list/{{page}}"
last_page = 2

[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"

[detail]
follow = "url"
fields.description = ".description::text"
fields.author = ".author::text"

[limits]
rate = 0
"#
    );
    let expected = vec![
        format!(
            r#"{{"title":"Alpha","url":"{base}/post/1","description":"One, with a comma","author":"Ann"}}"#
        ),
        format!(
            r#"{{"title":"Say \"hi\", world","url":"{base}/list/post/2","description":"Quote \"two\"","author":"Bob"}}"#
        ),
        format!(r#"{{"title":"Gamma","url":"{base}/post/3","description":"Three","author":null}}"#),
        format!(
            r#"{{"title":"Delta Four","url":"{base}/post/4","description":"Four lines","author":"Dee"}}"#
        ),
    ];
    (text, expected)
}

/// `pages` list pages of `per_page` items, no detail pages.
fn flat_site(server: &TestServer, pages: u32, per_page: u32) -> (String, Vec<String>) {
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let mut expected = Vec::new();
    for p in 1..=pages {
        let mut html = String::from("<html><body>");
        for i in 1..=per_page {
            let n = (p - 1) * per_page + i;
            html.push_str(&format!(
                "<div class=\"item\"><h2>Item {n}</h2><a href=\"/post/{n}\">x</a></div>"
            ));
            expected.push(format!(r#"{{"title":"Item {n}","url":"{base}/post/{n}"}}"#));
        }
        html.push_str("</body></html>");
        server.route(&format!("/list/{p}"), Reply::html(html));
    }
    let text = format!(
        r#"start = "{base}/list/{{page}}"
last_page = {pages}

[list]
item = ".item"
fields.title = "h2::text"
fields.url = "a::attr(href)"

[limits]
rate = 0
"#
    );
    (text, expected)
}

/// A site slow enough to interrupt: `pages` × `per_page` items, each detail
/// page answered after `delay`. Returns spider text and the expected lines.
fn slow_site(
    server: &TestServer,
    pages: u32,
    per_page: u32,
    delay: Duration,
) -> (String, Vec<String>) {
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let mut expected = Vec::new();
    for p in 1..=pages {
        let mut html = String::from("<html><body>");
        for i in 1..=per_page {
            let n = (p - 1) * per_page + i;
            html.push_str(&format!(
                "<div class=\"item\"><h2>Item {p}.{i}</h2><a href=\"/post/{n}\">x</a></div>"
            ));
            server.route(
                &format!("/post/{n}"),
                Reply::html(format!("<p class=\"body\">Body {n}</p>")).delay(delay),
            );
            expected.push(format!(
                r#"{{"title":"Item {p}.{i}","url":"{base}/post/{n}","body":"Body {n}"}}"#
            ));
        }
        html.push_str("</body></html>");
        server.route(&format!("/list/{p}"), Reply::html(html));
    }
    let text = format!(
        r#"start = "{base}/list/{{page}}"
last_page = {pages}

[list]
item = ".item"
fields.title = "h2::text"
fields.url = "a::attr(href)"

[detail]
follow = "url"
fields.body = ".body::text"

[limits]
rate = 0
"#
    );
    (text, expected)
}

/// A valid spider pointing at `server` (which serves nothing).
fn valid_spider_text(server: &TestServer) -> String {
    format!(
        r#"start = "{}/list/{{page}}"
last_page = 2

[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"
"#,
        server.url("").trim_end_matches('/')
    )
}

// ------------------------------------------------------- 1. bad spider files

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_spider_files_exit_2_name_the_key_and_fetch_nothing() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let base = server.url("").trim_end_matches('/').to_string();
    let start = format!("start = \"{base}/list/{{page}}\"\nlast_page = 2\n");
    let list = "[list]\nitem = \".item\"\nfields.title = \".title::text\"\nfields.url = \"a::attr(href)\"\n";
    let with_limits = |limits: &str| format!("{start}{list}[limits]\n{limits}\n");
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("strat", format!("strat = \"{base}/list/{{page}}\"\n{list}"),
            vec!["key `strat`", "unknown key", "did you mean `start`?"]),
        ("rat", with_limits("rat = 2"),
            vec!["key `limits.rat`", "unknown key", "did you mean `rate`?"]),
        ("rate_type", with_limits("rate = \"fast\""),
            vec!["key `limits.rate`", "expected a number"]),
        ("rate_negative", with_limits("rate = -1"),
            vec!["key `limits.rate`: expected a number ≥ 0, found -1"]),
        ("burst_zero", with_limits("burst = 0"),
            vec!["key `limits.burst`", "≥ 1", "found 0"]),
        ("concurrency_zero", with_limits("concurrency = 0"),
            vec!["key `limits.concurrency`", "≥ 1", "found 0"]),
        ("timeout", with_limits("timeout = \"3 days\""),
            vec!["key `limits.timeout`", "3 days"]),
        ("size", with_limits("max_body = \"lots\""),
            vec!["key `limits.max_body`", "lots"]),
        ("css", format!("{start}[list]\nitem = \".item\"\nfields.title = \"h1[[::text\"\n"),
            vec!["key `list.fields.title`", "CSS selector", "h1[["]),
        ("follow", format!("{start}{list}[detail]\nfollow = \"link\"\nfields.d = \".d::text\"\n"),
            vec!["key `detail.follow`", "`link`"]),
        ("no_start", list.to_string(),
            vec!["key `start`", "missing"]),
        ("no_list", start.clone(),
            vec!["key `list`"]),
        ("ftp", format!("start = \"ftp://127.0.0.1:{}/x\"\n{list}", server.addr().port()),
            vec!["key `start`", "ftp"]),
        ("syntax", format!("{start}\n[list\nitem = \".item\"\n"),
            vec!["line 4", "TOML"]),
        ("items_html", format!("{start}[list]\nitem = \".item\"\nitems = \"data\"\n"),
            vec!["key `list.items`", "json"]),
    ];
    for (name, text, wanted) in &cases {
        let path = spider(&dir, &format!("{name}.toml"), text);
        for sub in ["crawl", "check"] {
            let run = trawl([sub, &s(&path)]).await;
            assert_eq!(run.code, Some(2), "{sub} {name}: {run:?}");
            assert!(
                run.stdout.is_empty(),
                "{sub} {name}: stdout {:?}",
                run.stdout
            );
            let prefix = format!("trawl: error: {}: ", path.display());
            assert!(
                run.stderr.starts_with(&prefix),
                "{sub} {name}: {}",
                run.stderr
            );
            for w in wanted {
                assert!(
                    run.stderr.contains(w),
                    "{sub} {name}: wanted {w:?} in {}",
                    run.stderr
                );
            }
        }
        assert!(
            server.hits().is_empty(),
            "{name}: requests made: {:?}",
            server.hits()
        );
    }

    // A spider file that does not exist.
    let missing = dir.path().join("nope.toml");
    let run = trawl(["crawl", &s(&missing)]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains(&s(&missing)), "{}", run.stderr);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(server.hits().is_empty());
}

// ------------------------------------------------------------ 2. bad flags

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_2_name_the_flag_and_fetch_nothing() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "ok.toml", &valid_spider_text(&server)));
    let xml = s(&dir.path().join("out.xml"));
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--rate", "-1"], vec!["--rate", "≥ 0"]),
        (vec!["--rate=-1"], vec!["--rate", "≥ 0"]),
        (vec!["--rate", "fast"], vec!["--rate"]),
        (vec!["--burst", "0"], vec!["--burst"]),
        (vec!["--concurrency", "0"], vec!["--concurrency"]),
        (vec!["--retries", "-1"], vec!["--retries"]),
        (vec!["--timeout", "soon"], vec!["--timeout", "soon"]),
        (vec!["--timeout", "0s"], vec!["--timeout"]),
        (vec!["--max-body", "lots"], vec!["--max-body", "lots"]),
        (vec!["--max-items", "many"], vec!["--max-items"]),
        (vec!["-o", &xml], vec!["-o", "out.xml", ".jsonl"]),
        (vec!["-o", "sqlite://x.db"], vec!["-o", "sqlite:///relative"]),
        (vec!["--frobnicate"], vec!["--frobnicate"]),
    ];
    for (flags, wanted) in &cases {
        let mut args = vec!["crawl", path.as_str()];
        args.extend(flags.iter().copied());
        let run = trawl(args).await;
        assert_eq!(run.code, Some(2), "{flags:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{flags:?}: stdout {:?}", run.stdout);
        for w in wanted {
            assert!(
                run.stderr.contains(w),
                "{flags:?}: wanted {w:?} in {}",
                run.stderr
            );
        }
        assert!(server.hits().is_empty(), "{flags:?}: requests made");
    }
    assert!(
        !dir.path().join("out.xml").exists(),
        "-o out.xml created a file"
    );
    assert!(
        !std::path::Path::new("/x.db").exists(),
        "sqlite://x.db wrote at the root"
    );

    // The same flags are checked by `trawl check`.
    let run = trawl(["check", &path, "--concurrency", "0"]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--concurrency"), "{}", run.stderr);
    assert!(server.hits().is_empty());
}

// --------------------------------------- 2b. flags that could not work (SPEC §10)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_that_could_not_work_exit_2_before_any_request() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "ok.toml", &valid_spider_text(&server)));
    let overrides: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--rate", "1e-30"], vec!["--rate", "one request a day"]),
        (
            vec!["--rate", "0.00001"],
            vec!["--rate", "one request a day"],
        ),
        (vec!["--rate", "NaN"], vec!["--rate", "≥ 0"]),
        (vec!["--burst", "4294967296"], vec!["--burst", "≤ 10000"]),
        (vec!["--burst", "2147483648"], vec!["--burst", "≤ 10000"]),
        (
            vec!["--concurrency", "100000"],
            vec!["--concurrency", "≤ 10000"],
        ),
        (
            vec!["--concurrency", "99999999999999999999"],
            vec!["--concurrency", "integer"],
        ),
        (vec!["--timeout", "25h"], vec!["--timeout", "at most a day"]),
        (
            vec!["--timeout", "86401"],
            vec!["--timeout", "at most a day"],
        ),
        (
            vec!["--max-delay", "25h"],
            vec!["--max-delay", "at most a day"],
        ),
        (vec!["--max-delay", "soon"], vec!["--max-delay", "soon"]),
        (vec!["--retries", "4294967296"], vec!["--retries", "≥ 0"]),
        (
            vec!["--user-agent", "bot/1\nX-Injected: 1"],
            vec!["--user-agent", "one-line"],
        ),
        (
            vec!["--user-agent", "bot/1\r"],
            vec!["--user-agent", "one-line"],
        ),
        (vec!["--user-agent", " "], vec!["--user-agent", "non-empty"]),
    ];
    let crawl_only: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--max-items", "0"],
            vec!["--max-items", "an integer ≥ 1"],
        ),
        (
            vec!["--max-pages", "0"],
            vec!["--max-pages", "an integer ≥ 1"],
        ),
        (
            vec!["--max-items", "-1"],
            vec!["--max-items", "an integer ≥ 1"],
        ),
    ];
    let runs = overrides
        .iter()
        .flat_map(|case| [("crawl", case), ("check", case)])
        .chain(crawl_only.iter().map(|case| ("crawl", case)));
    for (sub, (flags, wanted)) in runs {
        let mut args = vec![sub, path.as_str()];
        args.extend(flags.iter().copied());
        let run = trawl(args).await;
        assert_eq!(run.code, Some(2), "{sub} {flags:?}: {run:?}");
        assert!(
            run.stdout.is_empty(),
            "{sub} {flags:?}: stdout {:?}",
            run.stdout
        );
        for w in wanted {
            assert!(
                run.stderr.contains(w),
                "{sub} {flags:?}: wanted {w:?} in {}",
                run.stderr
            );
        }
        assert!(server.hits().is_empty(), "{sub} {flags:?}: requests made");
    }

    // The bounds themselves are accepted.
    let run = trawl([
        "check",
        &path,
        "--rate",
        "0.0000116",
        "--burst",
        "10000",
        "--concurrency",
        "10000",
        "--timeout",
        "24h",
        "--max-delay",
        "24h",
        "--allow-private",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("waits up to 24h"), "{}", run.stdout);
    assert!(
        run.stdout.contains("private networks allowed"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_parameters_that_could_not_work_exit_2_before_any_request() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "ok.toml", &valid_spider_text(&server)));
    let missing = s(&dir.path().join("missing.pem"));
    // Nothing listens on port 1: a connection attempt would be exit 1.
    let at = "postgres://bob:hunter2@127.0.0.1:1/db";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("{at}?sslmode=verify"),
            vec![
                "sslmode=verify",
                "disable, prefer, require, verify-ca or verify-full",
            ],
        ),
        (
            format!("{at}?sslmode=allow"),
            vec!["sslmode=allow is not supported", "verify-full"],
        ),
        (
            format!("{at}?sslmode=verify-ca&sslrootcert={missing}"),
            vec![&missing, "cannot read it", "expected a PEM file"],
        ),
        (
            format!("{at}?sslrootcert=system&sslmode=require"),
            vec!["sslmode=require with sslrootcert=system", "verify-full"],
        ),
    ];
    for (url, wanted) in &cases {
        let run = trawl(["crawl", &path, "-o", url]).await;
        assert_eq!(run.code, Some(2), "{url}: {run:?}");
        assert!(
            run.stderr
                .contains("-o `postgres://bob:***@127.0.0.1:1/db?"),
            "{url}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("hunter2"), "{url}: {}", run.stderr);
        for w in wanted {
            assert!(
                run.stderr.contains(w),
                "{url}: wanted {w:?} in {}",
                run.stderr
            );
        }
        assert!(server.hits().is_empty(), "{url}: requests made");
    }
}

// -------------------------------------------------------- 3. unwritable output

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_output_exits_1_names_the_path_and_fetches_nothing() {
    let server = TestServer::start().await;
    let (text, _) = blog_site(&server);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "blog.toml", &text));
    for out in [
        "/nonexistent-dir/x.jsonl",
        "/nonexistent-dir/x.csv",
        "/nonexistent-dir/x.json",
    ] {
        let run = trawl(["crawl", &path, "-o", out]).await;
        assert_eq!(run.code, Some(1), "{out}: {run:?}");
        assert!(
            run.stderr.contains("trawl: error: "),
            "{out}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(out), "{out}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{out}: {:?}", run.stdout);
        assert!(
            server.hits().is_empty(),
            "{out}: requests made: {:?}",
            server.hits()
        );
    }
}

// ------------------------------------------------------------------ 4. check

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_the_plan_and_fetches_nothing() {
    let server = TestServer::start().await;
    let (text, _) = blog_site(&server);
    let dir = TempDir::new().unwrap();
    let path = spider(&dir, "blog.toml", &text);
    let template = format!("{}/list/{{page}}", server.url("").trim_end_matches('/'));

    let run = trawl(["check", &s(&path)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let plan = &run.stdout;
    assert!(plan.contains(&template), "{plan}");
    assert!(plan.contains("pages 1 to 2"), "{plan}");
    for field in [
        "title",
        "url",
        "description",
        "author",
        ".title::text",
        "a::attr(href)",
    ] {
        assert!(plan.contains(field), "{field} missing from plan:\n{plan}");
    }
    assert!(
        plan.contains("unlimited"),
        "rate = 0 should read unlimited:\n{plan}"
    );
    assert!(plan.contains("robots.txt obeyed"), "{plan}");
    assert!(plan.contains("trawl/"), "{plan}");
    assert!(
        plan.ends_with(&format!("{}: ok\n", path.display())),
        "{plan}"
    );

    let run = trawl([
        "check",
        &s(&path),
        "--rate",
        "7",
        "--burst",
        "3",
        "--concurrency",
        "5",
        "--no-robots",
        "--user-agent",
        "foo/1",
        "--timeout",
        "2m",
        "--retries",
        "9",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let plan = &run.stdout;
    for shown in [
        "7/s",
        "burst 3",
        "5 in flight",
        "9 retries",
        "120s",
        "robots.txt ignored",
        "foo/1",
    ] {
        assert!(plan.contains(shown), "{shown:?} missing from plan:\n{plan}");
    }
    assert!(
        plan.ends_with(&format!("{}: ok\n", path.display())),
        "{plan}"
    );
    assert!(
        server.hits().is_empty(),
        "check made requests: {:?}",
        server.hits()
    );
}

// ------------------------------------------------------ 5. a normal crawl

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_to_stdout_prints_exact_records_in_order() {
    let server = TestServer::start().await;
    let (text, expected) = blog_site(&server);
    let dir = TempDir::new().unwrap();
    let path = spider(&dir, "blog.toml", &text);

    let run = trawl(["crawl", &s(&path)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let mut want = expected.join("\n");
    want.push('\n');
    assert_eq!(run.stdout, want, "stdout holds exactly the records");
    for record in parse_lines(&expected) {
        assert_eq!(keys(&record), ["title", "url", "description", "author"]);
    }
    let summary = summary_line(&run.stderr);
    assert!(summary.contains("6 pages (2 list), 4 records"), "{summary}");
    assert!(summary.contains(" 0 retries"), "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
    assert!(!run.stderr.contains("failed:"), "{}", run.stderr);

    // What the server saw: robots.txt once, every page exactly once.
    for target in [
        "/robots.txt",
        "/list/1",
        "/list/2",
        "/post/1",
        "/list/post/2",
        "/post/3",
        "/post/4",
    ] {
        assert_eq!(server.count(target), 1, "{target}: {:?}", server.hits());
    }
    assert_eq!(server.hits().len(), 7, "{:?}", server.hits());
    let agent = format!("trawl/{}", env!("CARGO_PKG_VERSION"));
    assert!(
        server.hits().iter().all(|h| h.user_agent == agent),
        "{:?}",
        server.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_to_files_jsonl_csv_json() {
    let server = TestServer::start().await;
    let (text, expected) = blog_site(&server);
    let base = server.url("").trim_end_matches('/').to_string();
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "blog.toml", &text));

    // JSON Lines file: the same bytes stdout would get; stdout stays empty.
    let jsonl = dir.path().join("out.jsonl");
    let run = trawl(["crawl", &path, "-o", &s(&jsonl)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
    assert!(
        summary_line(&run.stderr).contains("4 records"),
        "{}",
        run.stderr
    );
    let lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines, expected);

    // CSV: header of field names (list then detail), quoting where needed, null empty.
    let csv = dir.path().join("out.csv");
    let run = trawl(["crawl", &path, "-o", &s(&csv)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
    let written = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = written.lines().collect();
    assert_eq!(
        rows,
        [
            "title,url,description,author".to_string(),
            format!("Alpha,{base}/post/1,\"One, with a comma\",Ann"),
            format!("\"Say \"\"hi\"\", world\",{base}/list/post/2,\"Quote \"\"two\"\"\",Bob"),
            format!("Gamma,{base}/post/3,Three,"),
            format!("Delta Four,{base}/post/4,Four lines,Dee"),
        ]
    );

    // JSON: one array, equal to the JSON Lines records, keys in order.
    let json = dir.path().join("out.json");
    let run = trawl(["crawl", &path, "-o", &s(&json)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
    let array: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
        .expect("the .json output is one JSON document");
    let array = array.as_array().expect("an array");
    assert_eq!(array, &parse_lines(&expected));
    for record in array {
        assert_eq!(keys(record), ["title", "url", "description", "author"]);
    }
    // Three crawls, each fetching every page once (and robots.txt once).
    assert_eq!(server.count("/list/1"), 3);
    assert_eq!(server.count("/post/4"), 3);
    assert_eq!(server.count("/robots.txt"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_page_does_not_end_paging_early() {
    // More pages than the read-ahead, and page 1 answers last: when it lands,
    // every page fetched ahead is emitted at once and nothing is in flight.
    // The crawl must go on to page 12, not stop there with exit 0.
    let server = TestServer::start().await;
    let (text, expected) = flat_site(&server, 12, 2);
    server.route(
        "/list/1",
        Reply::html(
            "<html><body><div class=\"item\"><h2>Item 1</h2><a href=\"/post/1\">x</a></div>\
             <div class=\"item\"><h2>Item 2</h2><a href=\"/post/2\">x</a></div></body></html>",
        )
        .delay(Duration::from_millis(300)),
    );
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));
    let run = trawl(["crawl", &path]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        expected,
        "{}",
        run.stderr
    );
    for p in 1..=12 {
        assert_eq!(server.count(&format!("/list/{p}")), 1, "list page {p}");
    }
}

// ---------------------------------------------------- 6. --max-items, --max-pages

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_items_stops_after_n_records() {
    let server = TestServer::start().await;
    let (text, expected) = flat_site(&server, 5, 2);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));
    let run = trawl(["crawl", &path, "--max-items", "3"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, expected[..3]);
    assert!(
        summary_line(&run.stderr).contains(" 3 records"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pages_counts_list_pages_and_fetches_no_more() {
    let server = TestServer::start().await;
    let (text, expected) = flat_site(&server, 5, 2);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));

    let run = trawl(["crawl", &path, "--max-pages", "1"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, expected[..2]);
    assert_eq!(server.count("/list/1"), 1);
    for p in 2..=5 {
        assert_eq!(
            server.count(&format!("/list/{p}")),
            0,
            "list page {p} was fetched"
        );
    }

    server.clear_hits();
    let run = trawl(["crawl", &path, "--max-pages", "3"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, expected[..6]);
    assert!(
        summary_line(&run.stderr).contains("(3 list), 6 records"),
        "{}",
        run.stderr
    );
    for p in 4..=5 {
        assert_eq!(
            server.count(&format!("/list/{p}")),
            0,
            "list page {p} was fetched"
        );
    }
}

// ---------------------------------------------------------- 7. a failed page

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_404_is_reported_and_the_crawl_goes_on() {
    let server = TestServer::start().await;
    let (text, expected) = blog_site(&server);
    // The second post's detail page is gone; list page 2 as well.
    server.route("/list/post/2", Reply::status(404));
    server.route("/list/2", Reply::status(404));
    let base = server.url("").trim_end_matches('/').to_string();
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "blog.toml", &text));

    let run = trawl(["crawl", &path]).await;
    assert_eq!(
        run.code,
        Some(0),
        "a failed page is not a failed crawl: {run:?}"
    );
    // The record whose detail failed is still emitted, in its place, detail fields null.
    let want = [
        expected[0].clone(),
        format!(
            r#"{{"title":"Say \"hi\", world","url":"{base}/list/post/2","description":null,"author":null}}"#
        ),
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), want);
    let summary = summary_line(&run.stderr);
    assert!(summary.contains(" 2 failed"), "{summary}");
    for url in [format!("{base}/list/post/2"), format!("{base}/list/2")] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.trim_start().starts_with("failed: ") && l.contains(&url))
            .unwrap_or_else(|| panic!("no `failed: {url}` line in:\n{}", run.stderr));
        assert!(line.contains("404"), "{line}");
        // 404 is not retried.
        let target = url.strip_prefix(&base).unwrap();
        assert_eq!(server.count(target), 1, "{target} requested more than once");
    }
    // Logs on a pipe are plain text: no terminal colour codes.
    assert!(
        !run.stderr.contains('\x1b'),
        "ANSI escapes on a non-terminal:\n{}",
        run.stderr
    );

    // -q: no warnings, but the summary and its failures still show.
    let quiet = trawl(["crawl", &path, "-q"]).await;
    assert_eq!(quiet.code, Some(0), "{quiet:?}");
    assert_eq!(quiet.stdout, run.stdout);
    assert!(!quiet.stderr.contains("WARN"), "{}", quiet.stderr);
    assert!(
        summary_line(&quiet.stderr).contains(" 2 failed"),
        "{}",
        quiet.stderr
    );
    assert_eq!(
        quiet.stderr.matches("  failed: ").count(),
        2,
        "{}",
        quiet.stderr
    );
}

// ---------------------------------- 7b. a server that asks for too long (SPEC §10)

/// A list page on `good` linking to `/d/1` on each of `others`.
fn list_to(good: &TestServer, others: &[&TestServer]) -> String {
    let items: String = others
        .iter()
        .enumerate()
        .map(|(i, other)| {
            format!(
                "<div class=\"item\"><span class=\"title\">{i}</span><a href=\"{}\">more</a></div>\n",
                other.url("/d/1")
            )
        })
        .collect();
    good.route(
        "/list",
        Reply::html(format!("<html><body>{items}</body></html>")),
    );
    format!(
        "start = \"{}\"\n[list]\nitem = \".item\"\nfields.title = \".title::text\"\n\
         fields.url = \"a::attr(href)\"\n[detail]\nfollow = \"url\"\n\
         fields.description = \".description::text\"\n[limits]\nrate = 0\n",
        good.url("/list")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_asking_for_more_than_max_delay_are_skipped_and_the_crawl_ends_0() {
    let good = TestServer::start().await;
    let retry_after = TestServer::start().await;
    retry_after.route("/d/1", Reply::status(503).header("Retry-After", "99999999"));
    let crawl_delay = TestServer::start().await;
    crawl_delay.route(
        "/robots.txt",
        Reply::text("User-agent: *\nCrawl-delay: 100000\n"),
    );
    let short = TestServer::start().await;
    short.route("/d/1", Reply::status(429).header("Retry-After", "5"));
    let dir = TempDir::new().unwrap();
    let path = s(&spider(
        &dir,
        "slow.toml",
        &list_to(&good, &[&retry_after, &crawl_delay, &short]),
    ));

    let started = Instant::now();
    let run = trawl(["crawl", &path, "--max-delay", "2s"]).await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    for (server, reason) in [
        (
            &retry_after,
            "Retry-After of 99999999 s exceeds max_delay (2s); host skipped",
        ),
        (
            &crawl_delay,
            "Crawl-delay of 100000 s exceeds max_delay (2s); host skipped",
        ),
        (
            &short,
            "Retry-After of 5 s exceeds max_delay (2s); host skipped",
        ),
    ] {
        let url = server.url("/d/1");
        let line = run
            .stderr
            .lines()
            .find(|l| l.trim_start().starts_with("failed: ") && l.contains(&url))
            .unwrap_or_else(|| panic!("no `failed: {url}` line in:\n{}", run.stderr));
        assert!(line.contains(reason), "{line}");
    }
    assert_eq!(crawl_delay.count("/d/1"), 0);
    assert_eq!(retry_after.count("/d/1"), 1, "not retried");
    assert!(
        summary_line(&run.stderr).contains(" 0 retries"),
        "{}",
        run.stderr
    );
}

/// Content-Length is a claim: `--max-body 100GB` and a server claiming
/// 50 GB must not make trawl reserve 50 GB (before, the process aborted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_content_length_is_never_allocated() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let good = TestServer::start().await;
    let liar = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liar_url = format!("http://{}/d/1", liar.local_addr().unwrap());
    let lies = tokio::spawn(async move {
        loop {
            let (mut stream, _) = liar.accept().await.unwrap();
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head).await;
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
                          Content-Length: 50000000000\r\n\r\n<p class=\"description\">short</p>";
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    good.route(
        "/list",
        Reply::html(format!(
            "<div class=\"item\"><span class=\"title\">t</span><a href=\"{liar_url}\">x</a></div>"
        )),
    );
    let text = format!(
        "start = \"{}\"\n[list]\nitem = \".item\"\nfields.title = \".title::text\"\n\
         fields.url = \"a::attr(href)\"\n[detail]\nfollow = \"url\"\n\
         fields.description = \".description::text\"\n[limits]\nrate = 0\nrobots = false\n\
         timeout = \"1s\"\n",
        good.url("/list")
    );
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "liar.toml", &text));

    let run = trawl(["crawl", &path, "--max-body", "100GB", "--retries", "0"]).await;
    lies.abort();

    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!("failed: {liar_url}")),
        "{}",
        run.stderr
    );
}

// -------------------------------------------------------- 8. flag overrides

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_rate_robots_and_user_agent() {
    let server = TestServer::start().await;
    let (text, expected) = blog_site(&server);
    // The file asks for a slow, robots-obeying crawl: 7 requests at 0.5/s is 12 s.
    let text = text.replace(
        "rate = 0",
        "rate = 0.5\nrobots = true\nuser_agent = \"file/9\"",
    );
    server.route(
        "/robots.txt",
        Reply::text("User-agent: *\nDisallow: /post/\n"),
    );
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "blog.toml", &text));

    let run = trawl([
        "crawl",
        &path,
        "--rate",
        "0",
        "--no-robots",
        "--user-agent",
        "foo/1",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        expected,
        "robots.txt would have disallowed /post/"
    );
    let hits = server.hits();
    assert_eq!(
        server.count("/robots.txt"),
        0,
        "robots.txt fetched despite --no-robots"
    );
    assert_eq!(hits.len(), 6, "{hits:?}");
    assert!(hits.iter().all(|h| h.user_agent == "foo/1"), "{hits:?}");
    let first = hits.iter().map(|h| h.at).min().unwrap();
    let last = hits.iter().map(|h| h.at).max().unwrap();
    assert!(
        last - first < Duration::from_secs(2),
        "--rate 0 did not lift the file's 0.5/s: {:?}",
        last - first
    );
}

// -------------------------------------------------------------- 9. signals

/// Starts a crawl of a slow site, waits for its first record, sends
/// `signal`, and checks the clean stop.
async fn interrupt_stdout_crawl(signal: &str, code: i32) {
    let server = TestServer::start().await;
    let (text, expected) = slow_site(&server, 30, 5, Duration::from_millis(50));
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "slow.toml", &text));

    let mut live = Live::start(["crawl", path.as_str(), "--concurrency", "2"]);
    let first = live
        .next_line()
        .await
        .expect("a first record before the end");
    live.signal(signal);
    let (rest, status, stderr) = live.finish().await;
    assert_eq!(
        status,
        Some(code),
        "exit status after SIG{signal}; stderr:\n{stderr}"
    );

    let mut lines = vec![first];
    lines.extend(rest);
    let records = parse_lines(&lines);
    for record in &records {
        assert_eq!(keys(record), ["title", "url", "body"], "{record}");
    }
    assert!(
        lines.len() < expected.len(),
        "the crawl ran to its end ({} records); the signal did not stop it",
        lines.len()
    );
    assert_eq!(
        lines,
        expected[..lines.len()],
        "records are a prefix of discovery order"
    );
    assert_eq!(
        summary_records(&stderr),
        lines.len(),
        "summary counts what was written:\n{stderr}"
    );
    eprintln!(
        "SIG{signal}: {} of {} records; stderr:\n{stderr}",
        lines.len(),
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_crawl_flushes_records_and_exits_130() {
    interrupt_stdout_crawl("INT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_crawl_flushes_records_and_exits_143() {
    interrupt_stdout_crawl("TERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_abandons_a_hung_request_at_once() {
    let server = TestServer::start().await;
    let (text, expected) = slow_site(&server, 2, 5, Duration::ZERO);
    server.route("/post/3", Reply::hang());
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "hung.toml", &text));

    let mut live = Live::start(["crawl", path.as_str()]);
    let one = live.next_line().await.expect("record 1");
    let two = live.next_line().await.expect("record 2");
    // Record 3 waits on a detail page that never answers (timeout 30 s).
    let mut waiting = Some(live);
    wait_until(
        "the hung request",
        Duration::from_secs(10),
        &server,
        &mut waiting,
        || server.count("/post/3") > 0,
    )
    .await;
    let live = waiting.expect("still running");
    let signalled = Instant::now();
    live.signal("INT");
    let (rest, status, stderr) = live.finish().await;
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert_eq!(status, Some(130), "{stderr}");
    assert_eq!([one, two], expected[..2]);
    assert!(rest.is_empty(), "nothing past the hung record: {rest:?}");
    assert_eq!(summary_records(&stderr), 2, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_leaves_a_well_formed_json_array() {
    let server = TestServer::start().await;
    let (text, expected) = slow_site(&server, 30, 5, Duration::from_millis(50));
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "slow.toml", &text));
    let out = dir.path().join("out.json");

    let live = Live::start(["crawl", path.as_str(), "--concurrency", "2", "-o", &s(&out)]);
    // Records go to the file, so watch the server. Detail pages are not
    // fetched in discovery order, so wait until page 1's five detail pages
    // have all been asked for and six more detail requests have started
    // after the last of them: with 2 in flight and every detail page taking
    // the same 50 ms, page 1's records are then complete.
    let first_page_complete = || {
        let details: Vec<String> = server
            .hits()
            .into_iter()
            .map(|h| h.path)
            .filter(|p| p.starts_with("/post/"))
            .collect();
        let last_of_page_1 = (1..=5)
            .map(|n| details.iter().position(|p| *p == format!("/post/{n}")))
            .collect::<Option<Vec<usize>>>()
            .and_then(|at| at.into_iter().max());
        last_of_page_1.is_some_and(|at| details.len() >= at + 1 + 6)
    };
    let mut waiting = Some(live);
    wait_until(
        "page 1's detail pages and six more",
        Duration::from_secs(20),
        &server,
        &mut waiting,
        first_page_complete,
    )
    .await;
    let live = waiting.expect("still running");
    live.signal("INT");
    let (stdout, status, stderr) = live.finish().await;
    assert_eq!(status, Some(130), "{stderr}");
    assert!(stdout.is_empty(), "{stdout:?}");

    let text = std::fs::read_to_string(&out).unwrap();
    let array: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not one JSON document after SIGINT ({e}):\n{text}"));
    let records = array.as_array().expect("an array");
    assert!(!records.is_empty(), "no record written before SIGINT");
    assert!(records.len() < expected.len(), "the crawl ran to its end");
    assert_eq!(records, &parse_lines(&expected[..records.len()]));
    assert_eq!(summary_records(&stderr), records.len(), "{stderr}");
    eprintln!(
        "SIGINT, -o .json: {} of {} records",
        records.len(),
        expected.len()
    );
}

// ------------------------------------------------------------------ 10. demo

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_crawls_the_blog_the_api_the_catalog_then_the_shop_by_category() {
    let run = trawl(["demo"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<String> = run.stdout.lines().map(String::from).collect();
    let records = parse_lines(&lines);
    assert_eq!(
        records.len(),
        43,
        "15 blog posts, 12 products, 8 catalog products, then 8 by category:\n{}",
        run.stdout
    );
    let (blog, rest) = records.split_at(15);
    let (api, rest) = rest.split_at(12);
    let (catalog, levels) = rest.split_at(8);
    let categories: Vec<&str> = levels
        .iter()
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        ["Kettle", "Lamp", "Lamp", "Backpack", "Backpack", "Clock", "Clock", "Chair"],
        "seed fields first, category by category"
    );
    for (i, post) in blog.iter().enumerate() {
        assert_eq!(
            keys(post),
            ["title", "url", "description", "author"],
            "{post}"
        );
        let title = post["title"].as_str().expect("a title");
        assert!(title.starts_with(&format!("Post {}: ", i + 1)), "{title}");
        assert!(post["description"].is_string(), "{post}");
    }
    for (i, product) in api.iter().enumerate() {
        assert_eq!(product["id"], i + 1, "{product}");
    }
    for (i, product) in catalog.iter().enumerate() {
        assert_eq!(
            keys(product),
            [
                "name",
                "price",
                "was",
                "tags",
                "page",
                "position",
                "sku",
                "brand",
                "availability",
                "released",
                "specs"
            ],
            "`url` is omitted: {product}"
        );
        assert_eq!(product["sku"], format!("TR-{:04}", i + 1), "{product}");
        assert!(product["price"].is_number(), "{product}");
    }
    assert!(run.stderr.contains("15 records"), "{}", run.stderr);
    assert!(run.stderr.contains("12 records"), "{}", run.stderr);
    assert!(run.stderr.contains("8 records"), "{}", run.stderr);
}

// ------------------------------------------------------- 11. --version, --help

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_help() {
    let run = trawl(["--version"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        format!("trawl {}", env!("CARGO_PKG_VERSION"))
    );

    let run = trawl(["--help"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for word in ["crawl", "check", "demo", "Examples:", "Exit status:", "130"] {
        assert!(
            run.stdout.contains(word),
            "{word} missing from --help:\n{}",
            run.stdout
        );
    }

    let run = trawl(["crawl", "--help"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for flag in [
        "--rate",
        "--burst",
        "--concurrency",
        "--timeout",
        "--retries",
        "--no-robots",
        "--max-pages",
        "--max-items",
        "-o",
    ] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from crawl --help:\n{}",
            run.stdout
        );
    }

    let run = trawl(Vec::<String>::new()).await;
    assert_eq!(run.code, Some(2), "no subcommand is a usage error: {run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serve_stops_on_sigterm() {
    let mut live = Live::start(["demo", "--serve"]);
    for _ in 0..43 {
        assert!(
            live.next_line().await.is_some(),
            "the demo prints its records first"
        );
    }
    // The last record is out: the crawls are ending or over, and either way
    // one SIGTERM stops the demo (143 if it lands in a crawl's tail, else 0).
    live.signal("TERM");
    let (rest, code, stderr) = live.finish().await;
    assert!(rest.is_empty(), "{rest:?}");
    assert!(matches!(code, Some(0 | 143)), "{code:?}: {stderr}");
}

// ------------------------------------------------- stdout closed early (SPEC §10)

/// `trawl crawl s.toml | head -1`, and the same with `2>&1`: trawl stops
/// quietly once its reader is gone, exits 0, and never panics.
#[tokio::test]
async fn a_closed_stdout_stops_the_crawl_quietly_with_exit_0() {
    let server = TestServer::start().await;
    let (text, _) = flat_site(&server, 40, 50);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));
    for merge_stderr in [false, true] {
        let mut child = command(["crawl", &path]).spawn().expect("spawn trawl");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr = match merge_stderr {
            // As with `2>&1 | head`: stderr is the same closed pipe.
            true => {
                drop(stderr);
                None
            }
            false => Some(std::thread::spawn(move || {
                let mut text = String::new();
                let _ = BufReader::new(stderr).read_to_string(&mut text);
                text
            })),
        };
        // Off the runtime: the test server shares its thread.
        let waited = tokio::task::spawn_blocking(move || {
            let mut first = String::new();
            stdout.read_line(&mut first).expect("one record");
            drop(stdout); // `head -1` is done
            (first, child.wait().expect("wait"))
        });
        let (first, status) = tokio::time::timeout(RUN_LIMIT, waited)
            .await
            .expect("trawl exits")
            .expect("join");
        assert!(first.starts_with("{\"title\":\"Item 1\""), "{first}");
        assert_eq!(status.code(), Some(0), "exit 0, not a panic or an error");
        if let Some(stderr) = stderr {
            let stderr = tokio::task::spawn_blocking(move || stderr.join().expect("stderr reader"))
                .await
                .expect("join");
            assert!(!stderr.contains("error"), "no error message: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
    let check = command(["check", &path]).spawn().map(|mut child| {
        drop(child.stdout.take());
        child.wait().expect("wait")
    });
    assert_eq!(
        check.expect("spawn").code(),
        Some(0),
        "check | head never panics"
    );
}

// ------------------------------------- a crawl that got nothing (SPEC §10)

#[tokio::test]
async fn a_crawl_that_got_nothing_exits_1_naming_the_first_failure() {
    let server = TestServer::start().await;
    server.route("/gone/1", Reply::status(404));
    server.route("/empty", Reply::html("<p>no items here</p>"));
    // A port nobody listens on: bind one, note it, let it go.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}/list", refused.local_addr().unwrap());
    drop(refused);
    let dir = TempDir::new().unwrap();
    let cases = [
        (refused_url.clone(), refused_url.clone()),
        (server.url("/gone/{page}"), server.url("/gone/1")),
    ];
    for (start, failed) in cases {
        let text = format!(
            "start = \"{start}\"\n[list]\nitem = \".item\"\nfields.t = \"h2\"\n[limits]\nrate = 0\nretries = 0\n"
        );
        let path = s(&spider(&dir, "nothing.toml", &text));
        let run = trawl(["crawl", &path]).await;
        assert_eq!(run.code, Some(1), "{start}: {run:?}");
        assert!(
            run.stderr.contains("nothing was fetched") && run.stderr.contains(&failed),
            "{start}: the first failure is named: {}",
            run.stderr
        );
    }
    // An item selector that matches nothing on the first page: a warning
    // names it and the URL (the crawl itself ran, so exit 0).
    let text = format!(
        "start = \"{}\"\n[list]\nitem = \".item\"\nfields.t = \"h2\"\n[limits]\nrate = 0\n",
        server.url("/empty")
    );
    let path = s(&spider(&dir, "empty.toml", &text));
    let run = trawl(["crawl", &path]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("`.item` matched nothing") && run.stderr.contains("/empty"),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------------ 12. --var

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn var_flags_replace_a_list_in_command_line_order() {
    let server = TestServer::start().await;
    for q in ["lego", "duplo", "technic"] {
        server.route(
            &format!("/search?q={q}"),
            Reply::html(format!("<div class=item><h2>{q}</h2></div>")),
        );
    }
    let dir = TempDir::new().unwrap();
    let text = format!(
        "start = '{}'\n[vars]\nq = ['lego']\n[list]\nitem = '.item'\nfields.q = 'h2'\n[limits]\nrate = 0\nrobots = false\n",
        server.url("/search?q={q}")
    );
    let path = s(&spider(&dir, "vars.toml", &text));
    let run = trawl(["crawl", &path, "--var", "q=technic", "--var", "q=duplo"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [r#"{"q":"technic"}"#, r#"{"q":"duplo"}"#]
    );
    assert_eq!(
        server.count("/search?q=lego"),
        0,
        "the file's list was replaced"
    );

    let hits = server.hits().len();
    for (args, says) in [
        (vec!["--var", "q"], "NAME=VALUE"),
        (vec!["--var", "nope=1"], "`nope` is not a var"),
    ] {
        let mut all = vec!["crawl", &path];
        all.extend(args);
        let run = trawl(all).await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert_eq!(server.hits().len(), hits, "a bad --var makes no request");
}

// ------------------------------------------------------------------ 13. try

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_fetches_one_page_and_names_what_matched_nothing() {
    let server = TestServer::start().await;
    server.route(
        "/list/1",
        Reply::html(
            "<div class=item><h2>One</h2><a href=/d/1>x</a></div>\
             <div class=item><h2>Two</h2><a href=/d/2>x</a></div><a class=next href=/list/2>n</a>",
        ),
    );
    server.route("/d/1", Reply::html("<p class=price>12</p>"));
    let dir = TempDir::new().unwrap();
    let text = format!(
        "start = '{}'\nnext = 'a.next::attr(href)'\n[list]\nitem = '.item'\nfields.title = 'h2'\n\
         fields.url = 'a::attr(href)'\nfields.typo = '.titel'\n[detail]\nfollow = 'url'\n\
         fields.price = '.price | int'\nfields.stock = '.stock'\n[limits]\nrate = 0\nrobots = false\n",
        server.url("/list/1")
    );
    let path = s(&spider(&dir, "try.toml", &text));
    let run = trawl(["try", &path]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for shown in [
        "2 items matched `.item`",
        "\"One\"",
        "\"Two\"",
        "matched nothing: `typo` (`.titel`)",
        "next: ",
    ] {
        assert!(run.stdout.contains(shown), "`{shown}` in:\n{}", run.stdout);
    }
    assert_eq!(
        server.hits().len(),
        1,
        "one page, no detail page, no next page"
    );

    let run = trawl(["try", &path, &server.url("/d/1"), "--detail"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("price  12"), "{}", run.stdout);
    assert!(
        run.stdout.contains("matched nothing: `stock`"),
        "{}",
        run.stdout
    );
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "nothing written beside the spider file");

    let run = trawl(["try", &path, "not a url"]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("URL"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_one_line_per_page_fetched() {
    let server = TestServer::start().await;
    let (text, expected) = flat_site(&server, 2, 2);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));
    let run = trawl(["crawl", &path, "-v"]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout.lines().count(), expected.len());
    for page in ["/list/1", "/list/2"] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(" 200 http") && l.contains(page) && l.ends_with(" ms"))
            .unwrap_or_else(|| panic!("no line for {page}:\n{}", run.stderr));
        assert!(line.contains(" bytes "), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_output_says_how_many_rows_were_inserted_and_updated() {
    let server = TestServer::start().await;
    let (text, expected) = flat_site(&server, 2, 2);
    let dir = TempDir::new().unwrap();
    let path = s(&spider(&dir, "flat.toml", &text));
    let db = format!("sqlite:{}", dir.path().join("out.db").display());
    let first = trawl(["crawl", &path, "-o", &db]).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let n = expected.len();
    assert!(
        first
            .stderr
            .contains(&format!("{n} rows inserted, 0 updated")),
        "{}",
        first.stderr
    );
    let again = trawl(["crawl", &path, "-o", &db]).await;
    assert!(
        again
            .stderr
            .contains(&format!("0 rows inserted, {n} updated")),
        "{}",
        again.stderr
    );
    let file = trawl(["crawl", &path]).await;
    assert!(
        !file.stderr.contains("rows inserted"),
        "files have no row counts"
    );
}

// ------------------------------------------------------------------ CSV keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_names_each_key_the_header_lacks_once() {
    let server = TestServer::start().await;
    server.route(
        "/api",
        Reply::json(
            r#"{"items": [{"a": 1}, {"a": 2, "late": 3}, {"late": 4, "a": 5, "later": 6}]}"#,
        ),
    );
    let dir = TempDir::new().unwrap();
    let text = format!(
        "start = \"{}\"\n[list]\nformat = \"json\"\nitems = \"items\"\n[limits]\nrate = 0\nrobots = false\n",
        server.url("/api")
    );
    let path = s(&spider(&dir, "api.toml", &text));
    let out = dir.path().join("out.csv");
    let run = trawl(["crawl", &path, "-o", &s(&out)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a\n1\n2\n5\n");
    for key in ["late", "later"] {
        let said = format!("key `{key}` is not in the CSV header");
        assert_eq!(
            run.stderr.matches(&said).count(),
            1,
            "`{said}` once: {}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains(&s(&out)),
        "the file is named: {}",
        run.stderr
    );
}
