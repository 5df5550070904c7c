//! The conformance corpus (`tests/corpus/README.md`): fixture sites built from
//! real spiders, with the records those spiders produced. Each case serves its
//! site with `serve.py`, crawls it with the real binary and the spider file a
//! user would write (`tests/corpus/spiders/CASE.toml`), and lets `compare.py`
//! judge the output against `expected.jsonl`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_trawl");
/// No case's crawl should come near this; past it the crawl is killed.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Flags for every crawl: the fixture server is local and answers 404 for
/// robots.txt, which allows everything.
const CRAWL_FLAGS: &[&str] = &["--rate", "0", "--burst", "100"];
/// Environment variables that would send requests to 127.0.0.1 elsewhere.
const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Cases that no spider file can express yet, with what each waits for.
const NOT_YET: &[(&str, &str)] = &[
    (
        "s21-aarons-offset",
        "its paging (§7 `{offset}` with `step` and `total`) is expressible now, \
         but `street_address` (line1..line3, present and non-empty, joined) and \
         `phone` (two paths joined) need one value built from several paths, \
         which §6 lacks",
    ),
    (
        "s37-shopify-products",
        "its several starts (§7) are expressible now, but it makes one record \
         per nested variant carrying its product's fields, with a 1-based \
         running `index`: §6 items cannot flatten `products[].variants[]` with \
         access to the parent, and `::index` counts from 0 with no filter to add 1",
    ),
    (
        "j05-crawlee-glob",
        "§8 link rules express it (`[links] allow = ['^{{BASE}}/']`, `[detail] \
         fields.url = \"::url\"`, `fields.title = \"title::text\"`), but the oracle \
         treats `/docs/examples/` and `/docs/examples` as one page, which §5's URL \
         normalisation does not: trawl writes 9 records where 8 are expected",
    ),
];

/// One `#[test]` per case that has a spider file, named after the case.
macro_rules! cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_case($case);
            }
        )*
        /// Every case with a spider file and a test above.
        const WITH_SPIDER: &[&str] = &[$($case),*];
    };
}

cases! {
    s02_quotes_tags => "s02-quotes-tags",
    s42_jumia_prices => "s42-jumia-prices",
    s24_marta_meetings => "s24-marta-meetings",
    s17_rightmove_state => "s17-rightmove-state",
    c03_factbase_transcripts => "c03-factbase-transcripts",
    s33_imdb_detail => "s33-imdb-detail",
    s46_shopit_3level => "s46-shopit-3level",
    s15_bilka_sitemap => "s15-bilka-sitemap",
    s38_pelando_headers => "s38-pelando-headers",
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn case_dir(case: &str) -> PathBuf {
    corpus().join("cases").join(case)
}

fn spider_file(case: &str) -> PathBuf {
    corpus().join("spiders").join(format!("{case}.toml"))
}

/// Serves, crawls and compares one case; panics with everything needed to
/// see why when the records differ.
fn run_case(case: &str) {
    let dir = case_dir(case);
    let tmp = TempDir::new().expect("temporary folder");
    let server = Server::start(&dir, tmp.path());

    let spider = tmp.path().join(format!("{case}.toml"));
    let text = std::fs::read_to_string(spider_file(case)).expect("read the spider file");
    std::fs::write(&spider, text.replace("{{BASE}}", &server.base)).expect("write the spider");
    let out = tmp.path().join("out.jsonl");

    let crawl = run_trawl(&spider, &out);
    let stderr = String::from_utf8_lossy(&crawl.stderr);
    assert!(
        crawl.status.success(),
        "{case}: trawl exited with {}\n--- trawl stderr\n{stderr}{}",
        crawl.status,
        server.report(),
    );

    let compare = compare(&dir, &out);
    assert!(
        compare.status.success(),
        "{case}: the records differ from expected.jsonl\n--- compare.py\n{}{}\
         --- trawl stderr\n{stderr}{}",
        String::from_utf8_lossy(&compare.stdout),
        String::from_utf8_lossy(&compare.stderr),
        server.report(),
    );
}

/// Runs `trawl crawl SPIDER -o OUT` to its end, or kills it at [`RUN_LIMIT`].
fn run_trawl(spider: &Path, out: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("crawl")
        .arg(spider)
        .arg("-o")
        .arg(out)
        .args(CRAWL_FLAGS)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    let child = cmd.spawn().expect("spawn trawl");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || done.send(child.wait_with_output()));
    match finished.recv_timeout(RUN_LIMIT) {
        Ok(output) => output.expect("wait for trawl"),
        Err(_) => {
            // The child is owned by the waiting thread; end it by its id.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("trawl did not finish within {RUN_LIMIT:?}");
        }
    }
}

/// Runs `compare.py EXPECTED OUT [compare_args]`.
fn compare(dir: &Path, out: &Path) -> Output {
    let args = std::fs::read_to_string(dir.join("compare_args")).unwrap_or_default();
    Command::new("python3")
        .arg(corpus().join("compare.py"))
        .arg(dir.join("expected.jsonl"))
        .arg(out)
        .args(args.split_whitespace())
        .output()
        .expect("run python3 compare.py")
}

/// The server's log lines for requests not answered 200, as a report section.
fn failed_requests(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let failed: Vec<String> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        // robots.txt answers 404 in every case (which allows everything).
        .filter(|hit| hit["status"] != 200 && hit["path"] != "/robots.txt")
        .map(|hit| {
            let method = hit["method"].as_str().unwrap_or("?");
            let path = hit["path"].as_str().unwrap_or("?");
            format!("{method} {path} → {}\n", hit["status"])
        })
        .collect();
    if failed.is_empty() {
        String::new()
    } else {
        format!("--- requests not answered 200\n{}", failed.concat())
    }
}

/// A case's fixture site served by `serve.py` on 127.0.0.1; dropping it kills
/// the server and waits for it, so a failing test never leaves one running.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, what `{{BASE}}` stands for.
    base: String,
    /// One JSON line per request (`--log`).
    log: PathBuf,
    /// The server's stderr (tracebacks, if any), kept in a file so that a
    /// full pipe can never stall it.
    stderr: PathBuf,
}

impl Server {
    /// Starts the server with its request log and stderr in `tmp`, and
    /// returns once it has said `READY <port>`.
    fn start(case_dir: &Path, tmp: &Path) -> Server {
        let log = tmp.join("requests.jsonl");
        let stderr = tmp.join("serve.stderr");
        let child = Command::new("python3")
            .arg(corpus().join("serve.py"))
            .arg(case_dir)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("create serve.stderr"))
            .spawn()
            .expect("run python3 serve.py");
        // Held from here on, so that a panic below still kills the process.
        let mut server = Server {
            child,
            base: String::new(),
            log,
            stderr,
        };
        let mut line = String::new();
        let stdout = server.child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read serve.py's stdout");
        match line.trim().strip_prefix("READY ") {
            Some(port) => server.base = format!("http://127.0.0.1:{port}"),
            None => {
                let _ = server.child.wait();
                panic!("serve.py did not start: {line:?}\n{}", server.report());
            }
        }
        server
    }

    /// What the server logged and wrote to stderr, as report sections.
    fn report(&self) -> String {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let stderr = if stderr.trim().is_empty() {
            String::new()
        } else {
            format!("--- serve.py stderr\n{stderr}")
        };
        failed_requests(&self.log) + &stderr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every case folder has a spider file and a test, or a reason in `NOT_YET`;
/// never both, and neither list names a case that is not there.
#[test]
fn every_case_has_a_spider_or_a_reason() {
    let mut cases: Vec<String> = std::fs::read_dir(corpus().join("cases"))
        .expect("list tests/corpus/cases")
        .map(|entry| entry.expect("read tests/corpus/cases").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in tests/corpus/cases");
    for case in &cases {
        let waiting = NOT_YET.iter().any(|(name, _)| name == case);
        let has_spider = spider_file(case).is_file();
        let has_test = WITH_SPIDER.contains(&case.as_str());
        assert!(
            has_spider == has_test,
            "{case}: a spider file needs a test in cases! and a test needs a spider file \
             (spider file: {has_spider}, test: {has_test})"
        );
        assert!(
            has_spider != waiting,
            "{case}: needs exactly one of a spider file or a NOT_YET reason \
             (spider file: {has_spider}, NOT_YET: {waiting})"
        );
    }
    for (case, reason) in NOT_YET {
        assert!(
            cases.contains(&case.to_string()),
            "NOT_YET names {case}, not a case"
        );
        assert!(!reason.trim().is_empty(), "NOT_YET gives {case} no reason");
    }
    for spider in std::fs::read_dir(corpus().join("spiders")).expect("list tests/corpus/spiders") {
        let path = spider.expect("read tests/corpus/spiders").path();
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        assert!(
            cases.iter().any(|case| *case == stem),
            "{} has no case folder",
            path.display()
        );
    }
}
