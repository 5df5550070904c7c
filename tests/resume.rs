//! Resume after interruptions (SPEC §2 `--state`, §5 "Resume"), end to end
//! against the real `trawl` binary and the scripted test server.
//!
//! 1. The kill harness starts `trawl crawl … --state DIR`, SIGKILLs it at a
//!    random moment, runs it again, and so on until a run gets to the end
//!    (an "episode"); it repeats episodes until at least [`MIN_KILLS`] kills
//!    landed mid-crawl, for every output kind (`.jsonl`, `.csv`, `.json`,
//!    `sqlite:`, and `postgres://` when `TRAWL_TEST_POSTGRES` is set). After
//!    every run it reads what the state committed (from a copy of the state
//!    database, so the test never touches the real one) and checks that
//!    - the committed part of the output holds exactly the records of the
//!      committed list pages, in discovery order;
//!    - the run requested no list page (and no detail page of one) that an
//!      earlier run had committed, and no URL twice;
//!
//!    and at the end of each episode that the output holds every record
//!    exactly once, in order, and that a rerun changes and fetches nothing.
//! 2. The same with SIGINT and SIGTERM (exit 130 / 143) on `.jsonl`; and a
//!    crawl cut mid-page by `--max-items`, deterministically.
//! 3. A changed spider file (or output) is refused, the state left alone.
//! 4. A rerun after completion exits 0 and touches nothing.
//! 5. `--state` with stdout is refused.
//! 6. A corrupt state file, or a foreign SQLite database, is refused clearly;
//!    a state file left by a kill during its creation is not "corrupt".
//!
//! Kill moments come from a seeded xorshift generator: the seed is printed
//! (run with `--nocapture` to see it on success), and `TRAWL_KILL_SEED=N`
//! replays a run's moments (timing still varies, so not every detail).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;
use support::{Gate, Reply, TestServer};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_trawl");
/// No single run of the binary should come near this.
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// SIGKILLs that must land mid-crawl, per output kind.
const MIN_KILLS: usize = 20;
/// The kill harness's site: list pages × items, each item with a detail page.
const PAGES: u32 = 30;
const PER_PAGE: u32 = 5;
/// Slow enough that a whole crawl of the site takes about four seconds
/// (180 requests at 40 a second), at ≈200 KiB of records a second.
const SLOW: [&str; 5] = ["--rate", "40", "--burst", "4", "--no-robots"];
/// Record fields, in the order the spider declares them.
const FIELDS: [&str; 4] = ["title", "url", "description", "author"];
const STATE_FILE: &str = "trawl-state.sqlite";

// ------------------------------------------------------------------ seeds

/// xorshift64*: small, seedable, good enough to spread kill moments.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }

    /// A kill moment in 50 ms ..= 2.5 s: a third of the time uniform (so
    /// moments around the one-second checkpoints are as likely as any), else
    /// log-uniform (fast kills, early ones included: while the state and the
    /// output are being opened, before the first commit, just after a
    /// resume), which keeps the whole file's runtime down.
    fn kill_moment(&mut self) -> Duration {
        if self.next() % 3 == 0 {
            return self.millis(50, 2500);
        }
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_millis((50.0 * 50f64.powf(u)) as u64)
    }
}

/// The run's seed: `TRAWL_KILL_SEED` (decimal or 0x-hex), else the clock.
fn base_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = match std::env::var("TRAWL_KILL_SEED") {
            Ok(text) => {
                let text = text.trim();
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => text.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("TRAWL_KILL_SEED={text}: expected a number"))
            }
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_nanos() as u64,
        };
        println!("kill seed: {seed} (TRAWL_KILL_SEED={seed} replays it)");
        seed
    })
}

/// A generator for one test, derived from the run's seed and the test's name.
fn rng_for(test: &str) -> XorShift {
    let seed = base_seed();
    // FNV-1a of the name, so every test draws its own sequence.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in test.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mixed = seed ^ h;
    println!("{test}: TRAWL_KILL_SEED={seed} (stream {mixed:#x})");
    XorShift(if mixed == 0 {
        0x9e37_79b9_7f4a_7c15
    } else {
        mixed
    })
}

// ------------------------------------------------------------------ the site

/// How the spider pages through the site.
#[derive(Clone, Copy, Debug)]
enum Paging {
    /// `{page}` template with `last_page`: list pages are fetched ahead.
    Numbered,
    /// `{page}` template without `last_page`: ends at the 404 after the last page.
    OpenEnded,
    /// `next = "a.next::attr(href)"`.
    NextLink,
}

/// One record as plain cells, in [`FIELDS`] order (`None` for null).
type Row = Vec<Option<String>>;

/// Long enough (≈7 KiB) that the records of a fraction of a second overflow
/// the file sinks' 64 KiB buffers, so a kill between checkpoints leaves
/// uncommitted bytes in the file; with commas, quotes and non-ASCII for the
/// CSV and JSON writers.
fn description(id: u32) -> String {
    let words: Vec<String> = (0..300)
        .map(|k| format!("w{id}.{k}, \"q{}\" café", (id * 31 + k) % 97))
        .collect();
    format!("Post {id} says: {}", words.join(" "))
}

fn title(id: u32) -> String {
    format!("Post {id}: a \"title\", with commas")
}

/// Routes `pages` × `per_page` posts on `server`; returns every record in
/// discovery order.
fn build_site(server: &TestServer, pages: u32, per_page: u32) -> Vec<Row> {
    let mut expected = Vec::new();
    for p in 1..=pages {
        let mut html = String::from("<!doctype html><html><body>\n");
        for i in 0..per_page {
            let id = (p - 1) * per_page + i + 1;
            let t = title(id).replace('"', "&quot;");
            html.push_str(&format!(
                "<div class=\"item\"><h2 class=\"title\">{t}</h2><a href=\"/blog/post/{id}\">read more</a></div>\n"
            ));
            let d = description(id).replace('"', "&quot;");
            server.route(
                &format!("/blog/post/{id}"),
                Reply::html(format!(
                    "<!doctype html><html><body><article><p class=\"description\">{d}</p>\
                     <span class=\"author\">Author {}</span></article></body></html>",
                    id % 7
                )),
            );
            expected.push(vec![
                Some(title(id)),
                Some(server.url(&format!("/blog/post/{id}"))),
                Some(description(id)),
                Some(format!("Author {}", id % 7)),
            ]);
        }
        if p < pages {
            html.push_str(&format!(
                "<a class=\"next\" href=\"/blog/page/{}\">next</a>\n",
                p + 1
            ));
        }
        html.push_str("</body></html>\n");
        server.route(&format!("/blog/page/{p}"), Reply::html(html));
    }
    expected
}

fn spider_text(server: &TestServer, name: &str, paging: Paging, pages: u32) -> String {
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let paging = match paging {
        Paging::Numbered => format!("start = \"{base}/blog/page/{{page}}\"\nlast_page = {pages}\n"),
        Paging::OpenEnded => format!("start = \"{base}/blog/page/{{page}}\"\n"),
        Paging::NextLink => {
            format!("start = \"{base}/blog/page/1\"\nnext = \"a.next::attr(href)\"\n")
        }
    };
    format!(
        r#"name = "{name}"
{paging}
[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"

[detail]
follow = "url"
fields.description = ".description::text"
fields.author = ".author::text"

[limits]
retries = 0
"#
    )
}

/// The list page (0-based sequence number) a request belongs to, if any.
fn page_of(path: &str, per_page: u32) -> Option<u64> {
    if let Some(n) = path.strip_prefix("/blog/page/") {
        return n.parse::<u64>().ok().map(|n| n - 1);
    }
    if let Some(id) = path.strip_prefix("/blog/post/") {
        return id
            .parse::<u64>()
            .ok()
            .map(|id| (id - 1) / u64::from(per_page));
    }
    None
}

// ------------------------------------------------------------------ running

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Kill,
    Int,
    Term,
}

impl Stop {
    fn name(self) -> &'static str {
        match self {
            Stop::Kill => "KILL",
            Stop::Int => "INT",
            Stop::Term => "TERM",
        }
    }
}

#[derive(Debug)]
struct Outcome {
    /// The signal reached a running process.
    stopped: bool,
    code: Option<i32>,
    stderr: String,
}

/// Runs `trawl ARGS`; with `stop`, sends that signal after the delay if the
/// process is still running. Polls, so the test server keeps serving.
async fn run_trawl(args: &[OsString], stop: Option<(Duration, Stop)>) -> Outcome {
    run_trawl_gated(args, stop, || true).await
}

/// [`run_trawl`], signalling only once `ready()` holds too (e.g. once the
/// crawl has made a request, so its signal handlers are installed).
async fn run_trawl_gated(
    args: &[OsString],
    stop: Option<(Duration, Stop)>,
    ready: impl Fn() -> bool,
) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trawl");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let mut stopped = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll trawl") {
            break status;
        }
        let elapsed = started.elapsed();
        if let Some((at, signal)) = stop {
            if !stopped && elapsed >= at && ready() {
                stopped = true;
                match signal {
                    Stop::Kill => child.kill().expect("SIGKILL trawl"),
                    other => {
                        let ok = Command::new("kill")
                            .args(["-s", other.name(), &child.id().to_string()])
                            .status()
                            .expect("run kill")
                            .success();
                        assert!(ok, "kill -s {} failed", other.name());
                    }
                }
            }
        }
        if elapsed > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "trawl {args:?} did not finish within {RUN_LIMIT:?}; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    Outcome {
        stopped,
        code: status.code(),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

// ------------------------------------------------------------------ state

/// What the state database has committed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Committed {
    next_seq: u64,
    next_kind: String,
    next_value: Option<String>,
    sink_position: u64,
    records: u64,
    complete: bool,
    /// `pages` table: seq → (url, records).
    pages: BTreeMap<u64, (String, u64)>,
    details: usize,
}

/// Copies an SQLite database with its `-wal`/`-journal` into a scratch
/// directory and opens the copy, so reading never changes the original
/// (no WAL checkpoint, no hot-journal rollback on the real file).
fn open_copy(db: &Path) -> (TempDir, Connection) {
    let scratch = TempDir::new().expect("scratch dir");
    let name = db
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .to_string();
    for suffix in ["", "-wal", "-journal"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        if from.exists() {
            std::fs::copy(&from, scratch.path().join(format!("{name}{suffix}")))
                .expect("copy database file");
        }
    }
    let conn = Connection::open(scratch.path().join(&name)).expect("open database copy");
    (scratch, conn)
}

/// The committed progress in `state_dir`; `None` before the first commit.
fn read_state(state_dir: &Path) -> Option<Committed> {
    let db = state_dir.join(STATE_FILE);
    if !db.exists() {
        return None;
    }
    let (_scratch, conn) = open_copy(&db);
    let has_progress: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'progress'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("read sqlite_master")
        > 0;
    if !has_progress {
        return None;
    }
    let row = conn.query_row(
        "SELECT next_seq, next_kind, next_value, sink_position, records, complete FROM progress WHERE id = 1",
        [],
        |r| {
            Ok(Committed {
                next_seq: r.get::<_, i64>(0)? as u64,
                next_kind: r.get(1)?,
                next_value: r.get(2)?,
                sink_position: r.get::<_, i64>(3)? as u64,
                records: r.get::<_, i64>(4)? as u64,
                complete: r.get::<_, i64>(5)? != 0,
                pages: BTreeMap::new(),
                details: 0,
            })
        },
    );
    let mut committed = match row {
        Ok(c) => c,
        Err(rusqlite::Error::QueryReturnedNoRows) => return None,
        Err(e) => panic!("read progress: {e}"),
    };
    let mut stmt = conn
        .prepare("SELECT seq, url, records FROM pages")
        .expect("read pages");
    committed.pages = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                (r.get::<_, String>(1)?, r.get::<_, i64>(2)? as u64),
            ))
        })
        .expect("read pages")
        .map(|r| r.expect("a pages row"))
        .collect();
    committed.details = conn
        .query_row("SELECT count(*) FROM details", [], |r| r.get::<_, i64>(0))
        .expect("count details") as usize;
    Some(committed)
}

/// Every table of an SQLite database as text, for "nothing changed" checks.
fn dump_db(db: &Path) -> Vec<String> {
    let (_scratch, conn) = open_copy(db);
    let mut out = Vec::new();
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (name, sql) in tables {
        out.push(sql);
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(cells.join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut rows = rows;
        rows.sort();
        out.extend(rows.into_iter().map(|r| format!("{name}: {r}")));
    }
    out
}

/// Every file in `dir` with its bytes, but the lock file: each run writes
/// its own PID there.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_name() == "trawl.lock" {
                continue;
            }
            files.insert(
                entry.file_name().to_string_lossy().to_string(),
                std::fs::read(entry.path()).unwrap(),
            );
        }
    }
    files
}

// ------------------------------------------------------------------ outputs

/// The output kinds the harness runs through.
#[derive(Clone, Debug)]
enum Kind {
    Jsonl,
    Csv,
    Json,
    Sqlite,
    /// A server URL; the table is the spider's (unique) name.
    Postgres(String),
}

impl Kind {
    /// The `-o` value for an output inside `dir`.
    fn out(&self, dir: &Path) -> String {
        match self {
            Kind::Jsonl => dir.join("out.jsonl").display().to_string(),
            Kind::Csv => dir.join("out.csv").display().to_string(),
            Kind::Json => dir.join("out.json").display().to_string(),
            Kind::Sqlite => format!("sqlite:{}", dir.join("out.db").display()),
            Kind::Postgres(url) => url.clone(),
        }
    }

    /// A file cut back to the committed byte position on resume.
    fn is_file(&self) -> bool {
        matches!(self, Kind::Jsonl | Kind::Csv | Kind::Json)
    }

    fn file(&self, out: &str) -> Option<PathBuf> {
        match self {
            Kind::Jsonl | Kind::Csv | Kind::Json => Some(PathBuf::from(out)),
            Kind::Sqlite => Some(PathBuf::from(out.strip_prefix("sqlite:").unwrap())),
            Kind::Postgres(_) => None,
        }
    }
}

fn value_cell(v: &Value, what: &str) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("{what}: expected a string or null, got {other}"),
    }
}

/// A JSON record as cells, checking its keys and their order.
fn json_row(v: &Value, what: &str) -> Row {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, FIELDS, "{what}: keys or their order");
    obj.values().map(|v| value_cell(v, what)).collect()
}

fn parse_jsonl(bytes: &[u8], what: &str) -> Vec<Row> {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what}: does not end at a line end: …{:?}",
        &text[text.len().saturating_sub(80)..]
    );
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{what}: line {} is not JSON ({e}): {line:.120}", i + 1)
            });
            json_row(&v, &format!("{what}: line {}", i + 1))
        })
        .collect()
}

/// CSV: exactly one header line, then rows.
fn parse_csv(bytes: &[u8], what: &str) -> Vec<Row> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut rows = reader
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("{what}: bad CSV: {e}")));
    let header = rows.next().expect("a header");
    assert_eq!(header.iter().collect::<Vec<_>>(), FIELDS, "{what}: header");
    rows.enumerate()
        .map(|(i, r)| {
            let cells: Vec<&str> = r.iter().collect();
            assert_ne!(
                cells,
                FIELDS,
                "{what}: a second header line at row {}",
                i + 1
            );
            assert_eq!(cells.len(), FIELDS.len(), "{what}: row {} width", i + 1);
            cells
                .into_iter()
                .map(|c| (!c.is_empty()).then(|| c.to_string()))
                .collect()
        })
        .collect()
}

/// A whole `.json` output: one array.
fn parse_json_array(bytes: &[u8], what: &str) -> Vec<Row> {
    let v: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what}: not one JSON value ({e}); ends with {:?}",
            String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(80)..])
        )
    });
    let items = v
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"));
    items
        .iter()
        .enumerate()
        .map(|(i, v)| json_row(v, &format!("{what}: element {i}")))
        .collect()
}

/// The committed start of a `.json` output: an array opened, not closed.
fn parse_json_prefix(bytes: &[u8], what: &str) -> Vec<Row> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let mut closed = bytes.to_vec();
    closed.extend_from_slice(b"\n]");
    parse_json_array(&closed, what)
}

/// Rows of an SQL table by `_key` ("page:index"), ordered numerically.
fn keyed_rows(rows: Vec<(String, Row)>, what: &str) -> Vec<((u64, u64), Row)> {
    let mut keyed: Vec<((u64, u64), Row)> = rows
        .into_iter()
        .map(|(key, row)| {
            let (p, i) = key
                .split_once(':')
                .unwrap_or_else(|| panic!("{what}: _key {key:?} is not page:index"));
            let parse = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|_| panic!("{what}: _key {key:?} is not page:index"))
            };
            ((parse(p), parse(i)), row)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed
}

fn sqlite_rows(db: &Path, table: &str) -> Vec<((u64, u64), Row)> {
    if !db.exists() {
        return Vec::new();
    }
    let (_scratch, conn) = open_copy(db);
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    if exists == 0 {
        return Vec::new();
    }
    let mut stmt = conn
        .prepare(&format!(
            "SELECT \"_key\", title, url, description, author FROM \"{table}\""
        ))
        .expect("select rows");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (1..5)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Result<Row, _>>()?,
            ))
        })
        .expect("select rows")
        .map(|r| r.expect("a row"))
        .collect();
    keyed_rows(rows, &format!("{}:{table}", db.display()))
}

async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to TRAWL_TEST_POSTGRES: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn postgres_rows(url: &str, table: &str) -> Vec<((u64, u64), Row)> {
    let client = postgres_client(url).await;
    let exists = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = $1",
            &[&table],
        )
        .await
        .expect("look for the table")
        .get::<_, i64>(0);
    if exists == 0 {
        return Vec::new();
    }
    let rows = client
        .query(
            &format!(
                "SELECT \"_key\"::text, title::text, url::text, description::text, author::text FROM \"{table}\""
            ),
            &[],
        )
        .await
        .expect("select rows");
    let rows = rows
        .into_iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                (1..5).map(|i| r.get::<_, Option<String>>(i)).collect(),
            )
        })
        .collect();
    keyed_rows(rows, &format!("postgres:{table}"))
}

async fn postgres_drop(url: &str, table: &str) {
    let client = postgres_client(url).await;
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
        .await
        .expect("drop the test table");
}

/// Drops the test's PostgreSQL table when the test ends, failed ones too.
struct DropTable(Option<(String, String)>);

impl Drop for DropTable {
    fn drop(&mut self) {
        let Some((url, table)) = self.0.take() else {
            return;
        };
        // The test's runtime may be gone (or panicking): use a runtime of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(postgres_drop(&url, &table));
        })
        .join();
    }
}

/// One output under test: its kind, `-o` value and table.
struct Output {
    kind: Kind,
    out: String,
    table: String,
    per_page: u32,
}

impl Output {
    /// Database rows, checked against `expected` by key; returns them in key order.
    async fn db_rows(&self, expected: &[Row], what: &str) -> Vec<((u64, u64), Row)> {
        let rows = match &self.kind {
            Kind::Sqlite => sqlite_rows(&self.kind.file(&self.out).unwrap(), &self.table),
            Kind::Postgres(url) => postgres_rows(url, &self.table).await,
            _ => unreachable!(),
        };
        for ((page, index), row) in &rows {
            let n = (page * u64::from(self.per_page) + index) as usize;
            assert!(
                *index < u64::from(self.per_page) && n < expected.len(),
                "{what}: a row with key {page}:{index} that the site does not have"
            );
            assert_eq!(row, &expected[n], "{what}: row {page}:{index}");
        }
        rows
    }

    /// The whole output after a crawl that ran to its end, in discovery order.
    async fn all_rows(&self, expected: &[Row], what: &str) -> Vec<Row> {
        match &self.kind {
            Kind::Jsonl => parse_jsonl(&std::fs::read(&self.out).unwrap(), what),
            Kind::Csv => parse_csv(&std::fs::read(&self.out).unwrap(), what),
            Kind::Json => parse_json_array(&std::fs::read(&self.out).unwrap(), what),
            Kind::Sqlite | Kind::Postgres(_) => {
                let rows = self.db_rows(expected, what).await;
                rows.into_iter().map(|(_, r)| r).collect()
            }
        }
    }

    /// After any run: what the state says is committed is in the output,
    /// exactly, and in order.
    async fn check_committed(&self, state: Option<&Committed>, expected: &[Row], what: &str) {
        let (position, records, next_seq) = state
            .map(|c| (c.sink_position, c.records as usize, c.next_seq))
            .unwrap_or((0, 0, 0));
        match &self.kind {
            Kind::Jsonl | Kind::Csv | Kind::Json => {
                let bytes = std::fs::read(&self.out).unwrap_or_default();
                assert!(
                    bytes.len() as u64 >= position,
                    "{what}: the file holds {} bytes but the state committed {position}",
                    bytes.len()
                );
                let prefix = &bytes[..position as usize];
                let rows = match self.kind {
                    Kind::Jsonl => parse_jsonl(prefix, what),
                    Kind::Csv => parse_csv(prefix, what),
                    _ => parse_json_prefix(prefix, what),
                };
                assert_eq!(
                    rows.len(),
                    records,
                    "{what}: the committed {position} bytes hold {} records but the state \
                     committed {records} (next_seq {next_seq})",
                    rows.len()
                );
                for (i, row) in rows.iter().enumerate() {
                    assert_eq!(row, &expected[i], "{what}: committed record {i}");
                }
            }
            Kind::Sqlite | Kind::Postgres(_) => {
                let rows = self.db_rows(expected, what).await;
                let have: std::collections::HashSet<(u64, u64)> =
                    rows.iter().map(|(k, _)| *k).collect();
                let site_pages = expected.len() as u64 / u64::from(self.per_page);
                for page in 0..next_seq.min(site_pages) {
                    for index in 0..u64::from(self.per_page) {
                        assert!(
                            have.contains(&(page, index)),
                            "{what}: committed page {page} lacks row {page}:{index}"
                        );
                    }
                }
            }
        }
    }

    /// Bytes (files) or rows (databases), for "unchanged" checks.
    async fn fingerprint(&self, expected: &[Row]) -> String {
        match &self.kind {
            Kind::Jsonl | Kind::Csv | Kind::Json => {
                format!("{:?}", std::fs::read(&self.out).unwrap())
            }
            _ => format!("{:?}", self.db_rows(expected, "fingerprint").await),
        }
    }
}

// ------------------------------------------------------------------ checks

/// The state's own consistency: committed pages are 0..next_seq, full.
fn check_state(
    state: Option<&Committed>,
    server: &TestServer,
    expected: &[Row],
    per_page: u32,
    what: &str,
) {
    let Some(c) = state else { return };
    let site_pages = expected.len() as u64 / u64::from(per_page);
    // A page past the site's end (the 404 that ends open-ended paging) is
    // committed too, with no records.
    let records = |seq: u64| {
        if seq < site_pages {
            u64::from(per_page)
        } else {
            0
        }
    };
    assert!(
        c.next_seq <= site_pages + 1,
        "{what}: next_seq past the end: {}",
        c.next_seq
    );
    assert_eq!(
        c.records,
        (0..c.next_seq).map(records).sum::<u64>(),
        "{what}: records committed vs pages committed (next_seq {}, sink_position {})",
        c.next_seq,
        c.sink_position
    );
    let seqs: Vec<u64> = c.pages.keys().copied().collect();
    assert_eq!(
        seqs,
        (0..c.next_seq).collect::<Vec<_>>(),
        "{what}: pages table"
    );
    for (seq, (url, n)) in &c.pages {
        assert_eq!(
            url,
            &server.url(&format!("/blog/page/{}", seq + 1)),
            "{what}: page {seq}"
        );
        assert_eq!(*n, records(*seq), "{what}: page {seq} records");
    }
}

/// What one run asked the server: nothing committed before it, nothing twice.
fn check_requests(paths: &[String], committed_before: u64, per_page: u32, what: &str) {
    let mut seen = HashMap::new();
    for path in paths {
        *seen.entry(path.as_str()).or_insert(0) += 1;
        if let Some(page) = page_of(path, per_page) {
            assert!(
                page >= committed_before,
                "{what}: requested {path} (list page {page}) although pages 0..{committed_before} \
                 were committed by an earlier run"
            );
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: requested twice in one run: {twice:?}"
    );
}

fn crawl_args(spider: &Path, out: &str, state: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["crawl".into(), spider.into(), "-o".into(), out.into()];
    args.extend(["--state".into(), state.as_os_str().to_owned()]);
    args.extend(extra.iter().map(OsString::from));
    args
}

fn paths_since(server: &TestServer, from: usize) -> Vec<String> {
    server.hits()[from..]
        .iter()
        .map(|h| h.path.clone())
        .collect()
}

// ------------------------------------------------------------------ 1. SIGKILL

/// Kills crawls into `kind` at random moments until [`MIN_KILLS`] landed
/// mid-crawl, resuming each episode to its end and checking it.
async fn kill_harness(test: &str, kind: Kind, paging: Paging, name: &str) {
    let mut rng = rng_for(test);
    let started = Instant::now();
    let server = TestServer::start().await;
    let expected = build_site(&server, PAGES, PER_PAGE);
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("spider.toml");
    std::fs::write(&spider, spider_text(&server, name, paging, PAGES)).unwrap();
    let table = name.to_string();
    let _drop_table = DropTable(match &kind {
        Kind::Postgres(url) => Some((url.clone(), table.clone())),
        _ => None,
    });

    // An uninterrupted reference crawl must give exactly the known records.
    {
        let ref_dir = dir.path().join("reference");
        std::fs::create_dir(&ref_dir).unwrap();
        let output = Output {
            out: kind.out(&ref_dir),
            kind: kind.clone(),
            table: table.clone(),
            per_page: PER_PAGE,
        };
        if let Kind::Postgres(url) = &kind {
            postgres_drop(url, &table).await;
        }
        let mut args = vec![
            "crawl".into(),
            spider.clone().into(),
            "-o".into(),
            output.out.clone().into(),
        ];
        args.extend(os_args(&["--rate", "0", "--no-robots"]));
        let run = run_trawl(&args, None).await;
        assert_eq!(run.code, Some(0), "{test}: reference crawl: {}", run.stderr);
        let rows = output
            .all_rows(&expected, &format!("{test}: reference"))
            .await;
        assert_eq!(
            rows.len(),
            expected.len(),
            "{test}: reference crawl record count"
        );
        assert_eq!(rows, expected, "{test}: reference crawl records");
        server.clear_hits();
    }

    let mut kills = 0;
    let mut episodes = 0;
    let mut runs_total = 0;
    let mut cut_backs = 0;
    let mut last: Option<(Output, PathBuf)> = None;
    while kills < MIN_KILLS {
        episodes += 1;
        assert!(
            episodes <= 25,
            "{test}: {episodes} episodes without {MIN_KILLS} kills"
        );
        let ep_dir = dir.path().join(format!("episode-{episodes}"));
        std::fs::create_dir(&ep_dir).unwrap();
        let state_dir = ep_dir.join("state");
        let output = Output {
            out: kind.out(&ep_dir),
            kind: kind.clone(),
            table: table.clone(),
            per_page: PER_PAGE,
        };
        if let Kind::Postgres(url) = &kind {
            postgres_drop(url, &table).await;
        }
        let args = crawl_args(&spider, &output.out, &state_dir, &SLOW);
        let episode_hits = server.hits().len();
        let mut ep_kills = 0;
        let mut runs = 0;
        let mut moments = Vec::new();
        loop {
            runs += 1;
            runs_total += 1;
            assert!(
                runs <= 60,
                "{test}: episode {episodes} made no progress in 60 runs"
            );
            let what = format!("{test}: episode {episodes}, run {runs} (kills so far {moments:?})");
            let before = read_state(&state_dir);
            let hits_before = server.hits().len();
            let kill_at = rng.kill_moment();
            // Enough kills: the episode runs to its end.
            let stop = (kills < MIN_KILLS).then_some((kill_at, Stop::Kill));
            let run = run_trawl(&args, stop).await;
            let after = read_state(&state_dir);
            let committed_before = before.as_ref().map_or(0, |c| c.next_seq);
            check_requests(
                &paths_since(&server, hits_before),
                committed_before,
                PER_PAGE,
                &what,
            );
            check_state(after.as_ref(), &server, &expected, PER_PAGE, &what);
            let committed_after = after.as_ref().map_or(0, |c| c.next_seq);
            assert!(
                committed_after >= committed_before,
                "{what}: the committed page count went back from {committed_before} to {committed_after}"
            );
            output
                .check_committed(after.as_ref(), &expected, &what)
                .await;
            if run.stopped {
                assert_eq!(
                    run.code, None,
                    "{what}: killed, yet exited normally: {}",
                    run.stderr
                );
                kills += 1;
                ep_kills += 1;
                // Bytes past the committed position: the next run cuts them off.
                let uncommitted =
                    kind.file(&output.out)
                        .filter(|_| kind.is_file())
                        .map_or(0, |f| {
                            let len = std::fs::metadata(f).map_or(0, |m| m.len());
                            len - after.as_ref().map_or(0, |c| c.sink_position)
                        });
                if uncommitted > 0 {
                    cut_backs += 1;
                }
                moments.push(format!(
                    "{}ms:{}->{}+{uncommitted}B",
                    kill_at.as_millis(),
                    committed_before,
                    committed_after
                ));
                continue;
            }
            assert_eq!(
                run.code,
                Some(0),
                "{what}: exit status; stderr:\n{}",
                run.stderr
            );
            let c = after.expect("a finished crawl has committed state");
            assert!(
                c.complete,
                "{what}: the state is not marked complete: {c:?}"
            );
            assert_eq!(
                c.records,
                expected.len() as u64,
                "{what}: records in the state"
            );
            let rows = output.all_rows(&expected, &what).await;
            assert_eq!(
                rows.len(),
                expected.len(),
                "{what}: record count after resuming (duplicates or losses)"
            );
            assert_eq!(rows, expected, "{what}: records after resuming");
            break;
        }
        // Over the whole episode: a detail page at most once per run.
        let mut per_path: HashMap<String, usize> = HashMap::new();
        for path in paths_since(&server, episode_hits) {
            *per_path.entry(path).or_default() += 1;
        }
        for (path, n) in &per_path {
            assert!(
                *n <= ep_kills + 1,
                "{test}: episode {episodes}: {path} requested {n} times over {} runs",
                ep_kills + 1
            );
        }
        println!(
            "{test}: episode {episodes}: {ep_kills} kills {moments:?}, then complete ({} requests)",
            per_path.values().sum::<usize>()
        );
        last = Some((output, state_dir));
    }

    if kind.is_file() {
        assert!(
            cut_backs > 0,
            "{test}: no kill left uncommitted bytes in the file, so cutting back went untested"
        );
    }

    // 4. A rerun after completion: exit 0, says so, output untouched, no requests.
    let (output, state_dir) = last.unwrap();
    let before = output.fingerprint(&expected).await;
    let hits_before = server.hits().len();
    let run = run_trawl(&crawl_args(&spider, &output.out, &state_dir, &SLOW), None).await;
    assert_eq!(
        run.code,
        Some(0),
        "{test}: rerun after completion: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("complete"),
        "{test}: rerun after completion does not say so: {}",
        run.stderr
    );
    assert_eq!(
        paths_since(&server, hits_before),
        Vec::<String>::new(),
        "{test}: rerun requests"
    );
    assert!(
        output.fingerprint(&expected).await == before,
        "{test}: rerun changed the output"
    );

    println!(
        "{test}: {kills} kills in {episodes} episodes, {runs_total} runs, \
         {cut_backs} kills left uncommitted bytes, {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_jsonl_resumes_exactly_once() {
    kill_harness("kill_jsonl", Kind::Jsonl, Paging::Numbered, "blog").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_csv_resumes_exactly_once() {
    kill_harness("kill_csv", Kind::Csv, Paging::NextLink, "blog").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_json_resumes_exactly_once() {
    kill_harness("kill_json", Kind::Json, Paging::OpenEnded, "blog").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_sqlite_resumes_exactly_once() {
    kill_harness("kill_sqlite", Kind::Sqlite, Paging::Numbered, "blog").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_postgres_resumes_exactly_once() {
    let Ok(url) = std::env::var("TRAWL_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("TRAWL_REQUIRE_POSTGRES").is_none(),
            "TRAWL_REQUIRE_POSTGRES is set but TRAWL_TEST_POSTGRES is not: a skip would pass silently"
        );
        println!("skipped: TRAWL_TEST_POSTGRES is not set");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!(
        "trawl_resume_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000
    );
    kill_harness(
        "kill_postgres",
        Kind::Postgres(url),
        Paging::Numbered,
        &name,
    )
    .await;
}

// ------------------------------------------------------------------ 2. SIGINT, SIGTERM

/// Interrupts a `.jsonl` crawl with `signal` at random moments (at least
/// `times` times), resuming to the end; every stop exits `code`.
async fn signal_harness(test: &str, signal: Stop, code: i32, times: usize) {
    let mut rng = rng_for(test);
    let server = TestServer::start().await;
    let expected = build_site(&server, PAGES, PER_PAGE);
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("spider.toml");
    std::fs::write(
        &spider,
        spider_text(&server, "blog", Paging::Numbered, PAGES),
    )
    .unwrap();
    let mut stops = 0;
    let mut episodes = 0;
    while stops < times {
        episodes += 1;
        assert!(
            episodes <= 10,
            "{test}: {episodes} episodes without {times} stops"
        );
        let ep_dir = dir.path().join(format!("episode-{episodes}"));
        std::fs::create_dir(&ep_dir).unwrap();
        let state_dir = ep_dir.join("state");
        let output = Output {
            out: Kind::Jsonl.out(&ep_dir),
            kind: Kind::Jsonl,
            table: "blog".into(),
            per_page: PER_PAGE,
        };
        let args = crawl_args(&spider, &output.out, &state_dir, &SLOW);
        let mut runs = 0;
        let mut moments = Vec::new();
        loop {
            runs += 1;
            assert!(
                runs <= 30,
                "{test}: episode {episodes} made no progress in 30 runs"
            );
            let what = format!("{test}: episode {episodes}, run {runs} (stops so far {moments:?})");
            let before = read_state(&state_dir);
            let hits_before = server.hits().len();
            let at = rng.millis(150, 1800);
            // SIGINT/SIGTERM before trawl installed its handlers would kill it
            // outright: signal only once this run has made a request. After
            // enough stops the episode runs to its end.
            let stop = (stops < times).then_some((at, signal));
            let run = run_trawl_gated(&args, stop, || server.hits().len() > hits_before).await;
            let after = read_state(&state_dir);
            let committed_before = before.as_ref().map_or(0, |c| c.next_seq);
            check_requests(
                &paths_since(&server, hits_before),
                committed_before,
                PER_PAGE,
                &what,
            );
            check_state(after.as_ref(), &server, &expected, PER_PAGE, &what);
            output
                .check_committed(after.as_ref(), &expected, &what)
                .await;
            let complete = after.as_ref().is_some_and(|c| c.complete);
            if run.stopped && !(run.code == Some(0) && complete) {
                assert_eq!(
                    run.code,
                    Some(code),
                    "{what}: exit status after SIG{}; stderr:\n{}",
                    signal.name(),
                    run.stderr
                );
                // A clean stop flushes every record it extracted: the whole
                // file is well-formed records in discovery order.
                let all = parse_jsonl(&std::fs::read(&output.out).unwrap(), &what);
                assert!(
                    all.len() <= expected.len(),
                    "{what}: more records than the site has"
                );
                assert_eq!(
                    all,
                    expected[..all.len()],
                    "{what}: records after SIG{}",
                    signal.name()
                );
                stops += 1;
                moments.push(format!(
                    "{}ms:{}->{} ({} in file)",
                    at.as_millis(),
                    committed_before,
                    after.as_ref().map_or(0, |c| c.next_seq),
                    all.len()
                ));
                continue;
            }
            assert_eq!(
                run.code,
                Some(0),
                "{what}: exit status; stderr:\n{}",
                run.stderr
            );
            assert!(complete, "{what}: finished but the state is not complete");
            let rows = output.all_rows(&expected, &what).await;
            assert_eq!(
                rows.len(),
                expected.len(),
                "{what}: record count after resuming (duplicates or losses)"
            );
            assert_eq!(rows, expected, "{what}: records after resuming");
            break;
        }
        println!("{test}: episode {episodes}: stops {moments:?}, then complete");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_exits_130_and_resumes_exactly_once() {
    signal_harness("sigint", Stop::Int, 130, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_143_and_resumes_exactly_once() {
    signal_harness("sigterm", Stop::Term, 143, 4).await;
}

/// `--max-items` can stop a crawl in the middle of a list page, like a
/// signal can: the records of that page written so far are past the commit,
/// so running on (here without the limit) writes each record once.
/// Deterministic, where the signal harness depends on timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_stopped_mid_page_by_max_items_resumes_exactly_once() {
    let (server, expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    let out = dir.path().join("out.jsonl").display().to_string();
    let run = run_trawl(
        &crawl_args(&spider, &out, &state_dir, &["--max-items", "4"]),
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let first = parse_jsonl(&std::fs::read(&out).unwrap(), "first run");
    assert_eq!(first, expected[..4], "the first run's records");
    let committed = read_state(&state_dir).expect("committed state");
    output_prefix_check(&out, &committed, &expected, "after --max-items 4");
    let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let all = parse_jsonl(&std::fs::read(&out).unwrap(), "resumed");
    assert_eq!(
        all.len(),
        expected.len(),
        "record count (duplicates or losses)"
    );
    assert_eq!(all, expected);
    assert_eq!(
        server.count("/blog/page/1"),
        1,
        "a committed page fetched again"
    );
}

/// The committed bytes of a `.jsonl` output hold exactly the committed records.
fn output_prefix_check(out: &str, c: &Committed, expected: &[Row], what: &str) {
    let bytes = std::fs::read(out).unwrap();
    assert!(
        bytes.len() as u64 >= c.sink_position,
        "{what}: file shorter than the commit"
    );
    let rows = parse_jsonl(&bytes[..c.sink_position as usize], what);
    assert_eq!(
        rows.len() as u64,
        c.records,
        "{what}: the committed {} bytes hold {} records but the state committed {} \
         (next_seq {})",
        c.sink_position,
        rows.len(),
        c.records,
        c.next_seq
    );
    assert_eq!(rows, expected[..rows.len()], "{what}: committed records");
}

// ------------------------------------------------------------------ 3.–6. refusals

/// A small site crawled at full speed: 4 pages × 3 items.
async fn small_site() -> (TestServer, Vec<Row>, TempDir, PathBuf) {
    site_of(3).await
}

/// [`small_site`] with `per_page` items on each of its four pages.
async fn site_of(per_page: u32) -> (TestServer, Vec<Row>, TempDir, PathBuf) {
    let server = TestServer::start().await;
    let expected = build_site(&server, 4, per_page);
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("spider.toml");
    let mut text = spider_text(&server, "blog", Paging::Numbered, 4);
    text.push_str("rate = 0\nrobots = false\n");
    std::fs::write(&spider, text).unwrap();
    (server, expected, dir, spider)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spider_file_or_output_is_refused_and_the_state_left_alone() {
    let (server, expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    let out = dir.path().join("out.jsonl").display().to_string();
    // Two pages committed, the crawl not complete.
    let first = run_trawl(
        &crawl_args(&spider, &out, &state_dir, &["--max-pages", "2"]),
        None,
    )
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let committed = read_state(&state_dir).expect("committed state");
    assert_eq!(
        (committed.next_seq, committed.complete),
        (2, false),
        "{committed:?}"
    );

    let state_before = snapshot(&state_dir);
    let out_before = std::fs::read(&out).unwrap();
    let original = std::fs::read_to_string(&spider).unwrap();
    std::fs::write(&spider, original.replace("retries = 0", "retries = 1")).unwrap();
    let hits_before = server.hits().len();
    let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(2), "changed spider file: {}", run.stderr);
    assert!(
        run.stderr.contains("spider file") && run.stderr.contains(&state_dir.display().to_string()),
        "the message names the cause and the state directory: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("delete") && run.stderr.contains("afresh"),
        "the message says how to start afresh: {}",
        run.stderr
    );
    assert_eq!(
        paths_since(&server, hits_before),
        Vec::<String>::new(),
        "requests made"
    );
    assert!(
        snapshot(&state_dir) == state_before,
        "the state files changed"
    );
    assert!(
        std::fs::read(&out).unwrap() == out_before,
        "the output changed"
    );

    // A different output is refused too.
    std::fs::write(&spider, &original).unwrap();
    let other = dir.path().join("other.jsonl").display().to_string();
    let run = run_trawl(&crawl_args(&spider, &other, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(2), "changed output: {}", run.stderr);
    assert!(
        run.stderr.contains("output"),
        "names the output: {}",
        run.stderr
    );
    assert_eq!(
        paths_since(&server, hits_before),
        Vec::<String>::new(),
        "requests made"
    );
    assert!(
        snapshot(&state_dir) == state_before,
        "the state files changed"
    );
    assert!(!Path::new(&other).exists(), "the other output was created");

    // The original command still resumes, exactly once.
    let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(0), "resume: {}", run.stderr);
    for path in paths_since(&server, hits_before) {
        assert!(
            page_of(&path, 3).unwrap() >= 2,
            "resume fetched committed {path}"
        );
    }
    assert_eq!(
        parse_jsonl(&std::fs::read(&out).unwrap(), "resumed"),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spider_file_after_sigkill_is_refused_and_the_state_kept() {
    let server = TestServer::start().await;
    let expected = build_site(&server, PAGES, PER_PAGE);
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("spider.toml");
    let original = spider_text(&server, "blog", Paging::Numbered, PAGES);
    std::fs::write(&spider, &original).unwrap();
    let state_dir = dir.path().join("state");
    let out = dir.path().join("out.jsonl").display().to_string();
    let args = crawl_args(&spider, &out, &state_dir, &SLOW);
    // Killed after its first checkpoint (one second in), before the end; a
    // loaded machine may need a second try to have committed something.
    let mut committed = None;
    for kill_at in [1500, 2000, 2500, 3000] {
        let run = run_trawl(&args, Some((Duration::from_millis(kill_at), Stop::Kill))).await;
        assert!(
            run.stopped,
            "the crawl ended before the kill: {}",
            run.stderr
        );
        committed = read_state(&state_dir);
        if committed.is_some() {
            break;
        }
    }
    let committed = committed.expect("a checkpoint before the kill");
    assert!(
        !committed.complete && committed.next_seq > 0,
        "{committed:?}"
    );

    let logical = dump_db(&state_dir.join(STATE_FILE));
    let files = snapshot(&state_dir);
    let out_before = std::fs::read(&out).unwrap();
    // A change of meaning (comments, spacing and key order would not count).
    let edited = original.replace(".author::text", ".byline::text");
    assert_ne!(edited, original);
    std::fs::write(&spider, format!("# edited\n{edited}")).unwrap();
    let hits_before = server.hits().len();
    let run = run_trawl(&args, None).await;
    assert_eq!(run.code, Some(2), "changed spider file: {}", run.stderr);
    assert!(run.stderr.contains("afresh"), "{}", run.stderr);
    assert_eq!(
        paths_since(&server, hits_before),
        Vec::<String>::new(),
        "requests made"
    );
    assert_eq!(
        dump_db(&state_dir.join(STATE_FILE)),
        logical,
        "the state's contents changed"
    );
    assert!(
        std::fs::read(&out).unwrap() == out_before,
        "the output changed"
    );
    if snapshot(&state_dir) != files {
        println!(
            "note: the refused run rewrote the state files' bytes (WAL checkpoint), contents equal"
        );
    }

    std::fs::write(&spider, &original).unwrap();
    let run = run_trawl(&args, None).await;
    assert_eq!(run.code, Some(0), "resume: {}", run.stderr);
    assert_eq!(
        parse_jsonl(&std::fs::read(&out).unwrap(), "resumed"),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_completion_exits_0_and_touches_nothing() {
    let (server, expected, dir, spider) = small_site().await;
    for kind in [Kind::Jsonl, Kind::Json, Kind::Csv, Kind::Sqlite] {
        let sub = dir.path().join(format!("{kind:?}"));
        std::fs::create_dir(&sub).unwrap();
        let output = Output {
            out: kind.out(&sub),
            kind: kind.clone(),
            table: "blog".into(),
            per_page: 3,
        };
        let state_dir = sub.join("state");
        let args = crawl_args(&spider, &output.out, &state_dir, &[]);
        let run = run_trawl(&args, None).await;
        assert_eq!(run.code, Some(0), "{kind:?}: {}", run.stderr);
        assert_eq!(
            output.all_rows(&expected, "first run").await,
            expected,
            "{kind:?}"
        );
        let file = kind.file(&output.out).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        let state = snapshot(&state_dir);
        let hits_before = server.hits().len();
        for _ in 0..2 {
            let run = run_trawl(&args, None).await;
            assert_eq!(run.code, Some(0), "{kind:?} rerun: {}", run.stderr);
            assert!(
                run.stderr.contains("complete"),
                "{kind:?} rerun: {}",
                run.stderr
            );
            assert_eq!(
                paths_since(&server, hits_before),
                Vec::<String>::new(),
                "{kind:?}"
            );
            assert!(
                std::fs::read(&file).unwrap() == bytes,
                "{kind:?}: the output changed"
            );
            assert_eq!(
                read_state(&state_dir).map(|c| c.complete),
                Some(true),
                "{kind:?}: the state"
            );
        }
        if snapshot(&state_dir) != state {
            println!("note: {kind:?}: a rerun after completion rewrote the state files' bytes");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_with_stdout_is_refused() {
    let (server, _expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    for out in [None, Some("-")] {
        let mut args: Vec<OsString> = vec!["crawl".into(), spider.clone().into()];
        if let Some(out) = out {
            args.extend(["-o".into(), out.into()]);
        }
        args.extend(["--state".into(), state_dir.clone().into()]);
        let run = run_trawl(&args, None).await;
        assert_eq!(run.code, Some(2), "-o {out:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--state"),
            "names the flag: {}",
            run.stderr
        );
        assert!(
            !state_dir.join(STATE_FILE).exists(),
            "a state file was created"
        );
    }
    assert_eq!(server.hits().len(), 0, "requests were made");
}

/// Runs the small site's crawl over an unusable state file; it must be
/// refused with exit 2, naming the file and what to do, with no request
/// made and the output untouched. Returns the kept directory and the file.
async fn refused_state(prepare: impl FnOnce(&Path), what: &str) -> (TempDir, PathBuf) {
    let (server, _expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let state_file = state_dir.join(STATE_FILE);
    prepare(&state_file);
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "{\"an\":\"earlier output\"}\n").unwrap();
    let run = run_trawl(
        &crawl_args(&spider, &out.display().to_string(), &state_dir, &[]),
        None,
    )
    .await;
    assert_eq!(
        run.code,
        Some(2),
        "{what}: exit status; stderr:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&state_file.display().to_string()),
        "{what}: the message names the state file: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("not a usable trawl state"),
        "{what}: the message says what is wrong: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("delete") || run.stderr.contains("another directory"),
        "{what}: the message says what to do: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert_eq!(server.hits().len(), 0, "{what}: requests were made");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"an\":\"earlier output\"}\n",
        "{what}: the output was touched"
    );
    (dir, state_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_state_file_is_refused_clearly() {
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    let (_dir, file) =
        refused_state(|file| std::fs::write(file, &garbage).unwrap(), "garbage").await;
    assert!(
        std::fs::read(&file).unwrap() == garbage,
        "the garbage state file was rewritten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_sqlite_database_is_refused_clearly() {
    let mut before = (Vec::new(), Vec::new());
    let (_dir, file) = refused_state(
        |file| {
            let conn = Connection::open(file).unwrap();
            conn.execute_batch(
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
                 INSERT INTO notes (body) VALUES ('keep me'), ('and me');",
            )
            .unwrap();
            drop(conn);
            before = (dump_db(file), std::fs::read(file).unwrap());
        },
        "foreign database",
    )
    .await;
    // Its tables and rows are as they were: no trawl tables added.
    assert_eq!(
        dump_db(&file),
        before.0,
        "the foreign database's tables or rows changed"
    );
    // Nor its bytes: a database that is not trawl's is not trawl's to
    // convert (e.g. to WAL mode) either.
    let after = std::fs::read(&file).unwrap();
    let differ: Vec<usize> = (0..after.len().max(before.1.len()))
        .filter(|&i| after.get(i) != before.1.get(i))
        .take(8)
        .collect();
    assert!(
        differ.is_empty(),
        "the refused run rewrote the foreign database (first differing byte offsets {differ:?}; \
         offsets 18 and 19 are SQLite's journal-mode bytes)"
    );
}

// ------------------------------------------------------------------ the first moments

/// What a kill leaves while the state database is being created (SQLite
/// creates the file at open and writes its header when WAL mode is set,
/// before trawl's tables exist) must not strand the crawl: the same
/// command runs it from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_left_by_a_kill_during_its_creation_starts_afresh() {
    type Prepare = fn(&Path);
    let cases: [(&str, Prepare); 2] = [
        ("an empty file", |file| std::fs::write(file, b"").unwrap()),
        ("a database with no tables yet (WAL header only)", |file| {
            let conn = Connection::open(file).unwrap();
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }),
    ];
    for (what, prepare) in cases {
        let (server, expected, dir, spider) = small_site().await;
        let state_dir = dir.path().join("state");
        std::fs::create_dir(&state_dir).unwrap();
        prepare(&state_dir.join(STATE_FILE));
        let out = dir.path().join("out.jsonl").display().to_string();
        let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
        assert_eq!(
            run.code,
            Some(0),
            "state dir holding {what} (as a kill at startup leaves it): stderr:\n{}",
            run.stderr
        );
        assert_eq!(
            parse_jsonl(&std::fs::read(&out).unwrap(), what),
            expected,
            "{what}"
        );
        assert_eq!(server.count("/blog/page/1"), 1, "{what}");
        assert_eq!(
            read_state(&state_dir).map(|c| c.complete),
            Some(true),
            "{what}"
        );
    }
}

/// Kills in the first few milliseconds (state and output being opened),
/// each followed by the same command, which must run to its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_in_the_first_milliseconds_leave_a_resumable_state() {
    let mut rng = rng_for("early_kills");
    let (server, expected, dir, spider) = small_site().await;
    let mut landed = 0;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for attempt in 0..30 {
        let sub = dir.path().join(format!("attempt-{attempt}"));
        std::fs::create_dir(&sub).unwrap();
        let state_dir = sub.join("state");
        let out = sub.join("out.jsonl").display().to_string();
        let args = crawl_args(&spider, &out, &state_dir, &[]);
        let at = Duration::from_micros(rng.range(500, 15_000));
        let run = run_trawl(&args, Some((at, Stop::Kill))).await;
        if !run.stopped {
            continue;
        }
        landed += 1;
        let left = if !state_dir.join(STATE_FILE).exists() {
            "no state file".to_string()
        } else {
            match read_state(&state_dir) {
                Some(c) => format!("progress {}", c.next_seq),
                None => format!(
                    "state file of {} bytes without progress",
                    std::fs::metadata(state_dir.join(STATE_FILE)).unwrap().len()
                ),
            }
        };
        *outcomes.entry(left.clone()).or_default() += 1;
        let hits_before = server.hits().len();
        let rerun = run_trawl(&args, None).await;
        assert_eq!(
            rerun.code,
            Some(0),
            "attempt {attempt}: killed at {at:?}, leaving {left}; the rerun: stderr:\n{}",
            rerun.stderr
        );
        assert_eq!(
            parse_jsonl(&std::fs::read(&out).unwrap(), "early kill"),
            expected,
            "attempt {attempt}: killed at {at:?}"
        );
        check_requests(&paths_since(&server, hits_before), 0, 3, "early kill rerun");
    }
    println!("early kills: {landed} landed, leaving {outcomes:?}");
}

// ------------------------------------------------ the lock and tampering

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_trawl_on_the_same_state_is_refused_naming_the_first() {
    let (server, expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    let out = dir.path().join("out.jsonl").display().to_string();
    // Sixteen requests at four a second: the first run holds the state ~4 s.
    let slow = crawl_args(&spider, &out, &state_dir, &["--rate", "4"]);
    let mut first = Command::new(BIN)
        .args(&slow)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn trawl");
    // The lock is taken before the first request.
    let started = Instant::now();
    while server.hits().is_empty() {
        assert!(
            started.elapsed() < RUN_LIMIT,
            "the first run made no request"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let second = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    let message = format!(
        "{} is in use by trawl process {}; wait for it or stop it",
        state_dir.display(),
        first.id()
    );
    assert_eq!(second.code, Some(2), "{}", second.stderr);
    assert!(
        second.stderr.contains(&message),
        "expected `{message}` in: {}",
        second.stderr
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended before the second was refused; make it slower"
    );

    let status = tokio::task::spawn_blocking(move || first.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "the first run");
    assert_eq!(
        parse_jsonl(&std::fs::read(&out).unwrap(), "first"),
        expected
    );
    let third = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(
        third.code,
        Some(0),
        "once the first ended: {}",
        third.stderr
    );
    assert!(third.stderr.contains("is complete"), "{}", third.stderr);
}

/// Commits two pages into `out`, changes it with `tamper`, and checks that
/// the rerun is refused (exit 2) with a message naming `out` and saying
/// `found`, and that neither the output, the state nor the site was touched.
async fn tampered_output(out_name: &str, tamper: impl FnOnce(&Path, u64), found: &str) {
    tampered_output_of(small_site().await, out_name, tamper, found).await;
}

/// [`tampered_output`] on a site of the test's choosing.
async fn tampered_output_of(
    site: (TestServer, Vec<Row>, TempDir, PathBuf),
    out_name: &str,
    tamper: impl FnOnce(&Path, u64),
    found: &str,
) {
    let (server, _expected, dir, spider) = site;
    let state_dir = dir.path().join("state");
    let file = dir.path().join(out_name);
    let out = file.display().to_string();
    let first = run_trawl(
        &crawl_args(&spider, &out, &state_dir, &["--max-pages", "2"]),
        None,
    )
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let committed = read_state(&state_dir).expect("committed state");
    assert!(committed.sink_position > 100, "{committed:?}");
    tamper(&file, committed.sink_position);

    let state_before = snapshot(&state_dir);
    let out_before = std::fs::read(&file).ok();
    let hits_before = server.hits().len();
    let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(2), "{found}: {}", run.stderr);
    for part in [
        out.as_str(),
        found,
        "restore it",
        "delete the state directory",
    ] {
        assert!(
            run.stderr.contains(part),
            "{found}: `{part}` missing from: {}",
            run.stderr
        );
    }
    assert_eq!(paths_since(&server, hits_before), Vec::<String>::new());
    assert!(
        snapshot(&state_dir) == state_before,
        "{found}: the state changed"
    );
    assert!(
        std::fs::read(&file).ok() == out_before,
        "{found}: the output changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_output_is_refused() {
    let delete = |file: &Path, _| std::fs::remove_file(file).unwrap();
    tampered_output("out.jsonl", delete, "the file is gone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_output_is_refused_even_with_the_same_bytes() {
    let replace = |file: &Path, _| {
        let copy = file.with_extension("copy");
        std::fs::copy(file, &copy).unwrap();
        std::fs::rename(&copy, file).unwrap();
    };
    tampered_output("out.csv", replace, "replaced").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shortened_output_is_refused() {
    let shorten = |file: &Path, position: u64| {
        let f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        f.set_len(position / 2).unwrap();
    };
    tampered_output("out.json", shorten, "shortened").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_edited_in_its_committed_part_is_refused() {
    let edit = |file: &Path, position: u64| {
        let mut bytes = std::fs::read(file).unwrap();
        let at = position as usize - 20;
        bytes[at] = if bytes[at] == b'X' { b'Y' } else { b'X' };
        // Written in place: the same file, the same length.
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        f.seek(SeekFrom::Start(at as u64)).unwrap();
        f.write_all(&bytes[at..at + 1]).unwrap();
    };
    tampered_output("out.jsonl", edit, "edited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sqlite_table_is_refused() {
    let (server, _expected, dir, spider) = small_site().await;
    let state_dir = dir.path().join("state");
    let db = dir.path().join("out.db");
    let out = format!("sqlite:{}", db.display());
    let first = run_trawl(
        &crawl_args(&spider, &out, &state_dir, &["--max-pages", "2"]),
        None,
    )
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE blog")
        .unwrap();

    let state_before = snapshot(&state_dir);
    let hits_before = server.hits().len();
    let run = run_trawl(&crawl_args(&spider, &out, &state_dir, &[]), None).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    for part in [out.as_str(), "table `blog` is gone", "restore it"] {
        assert!(
            run.stderr.contains(part),
            "`{part}` missing: {}",
            run.stderr
        );
    }
    assert_eq!(paths_since(&server, hits_before), Vec::<String>::new());
    assert!(snapshot(&state_dir) == state_before, "the state changed");
    let tables: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "the table was made again");
}

/// Flips the byte at `at` of `file` in place: the same file, the same length.
fn flip_byte(file: &Path, at: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let bytes = std::fs::read(file).unwrap();
    let byte = if bytes[at as usize] == b'X' {
        b'Y'
    } else {
        b'X'
    };
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[byte]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_at_the_start_of_a_large_output_is_refused_at_resume() {
    // Far from where the last commit ended: only the whole-prefix CRC-32,
    // read back at resume, can see it.
    for out in ["out.jsonl", "out.csv", "out.json"] {
        let edit = |file: &Path, position: u64| {
            assert!(position > 4096 * 4, "a large output: {position} bytes");
            flip_byte(file, 10);
        };
        tampered_output_of(site_of(40).await, out, edit, "were edited").await;
    }
}

/// Runs a crawl of a JSON API of two pages of 1,000 items into `out` with a
/// state: the first page's items fill a checkpoint; the second page is held
/// until `empty` has emptied the table. The crawl must stop at the next
/// checkpoint, exit 1, naming the output and the rows.
async fn a_table_emptied_mid_crawl(out: &str, empty: impl std::future::Future<Output = ()>) {
    let server = TestServer::start().await;
    let page = |p: u32| {
        let items: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"id":{},"name":"item {i} of page {p}"}}"#, p * 1000 + i))
            .collect();
        Reply::json(format!(r#"{{"items":[{}]}}"#, items.join(",")))
    };
    let gate = Gate::new();
    server.route("/api?page=1", page(1));
    server.route("/api?page=2", page(2).held(&gate));
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join("spider.toml");
    std::fs::write(
        &spider,
        format!(
            "name = \"api\"\nstart = \"{}\"\nlast_page = 2\n[list]\nformat = \"json\"\n\
             items = \"items\"\n[limits]\nrate = 0\nrobots = false\nretries = 0\n",
            server.url("/api?page={page}")
        ),
    )
    .unwrap();
    let state_dir = dir.path().join("state");
    let args = crawl_args(&spider, out, &state_dir, &[]);
    let run = tokio::spawn(async move { run_trawl(&args, None).await });
    // The first page is committed (1,000 records make a checkpoint due) and
    // the second is asked for, and held.
    let started = Instant::now();
    while !(read_state(&state_dir).is_some_and(|c| c.records == 1000)
        && server.count("/api?page=2") == 1)
    {
        assert!(
            started.elapsed() < RUN_LIMIT,
            "the first page was not committed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    empty.await;
    gate.open();
    let run = run.await.unwrap();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for part in [
        out,
        "table `api` holds 1000 rows but the state committed 2000",
    ] {
        assert!(
            run.stderr.contains(part),
            "`{part}` missing: {}",
            run.stderr
        );
    }
    let committed = read_state(&state_dir).unwrap();
    assert_eq!(committed.records, 1000, "nothing more was committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_table_emptied_mid_crawl_is_caught_at_the_next_checkpoint() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("out.db");
    let out = format!("sqlite:{}", db.display());
    let empty = async {
        let conn = Connection::open(&db).unwrap();
        conn.busy_timeout(RUN_LIMIT).unwrap();
        assert_eq!(conn.execute("DELETE FROM api", []).unwrap(), 1000);
    };
    a_table_emptied_mid_crawl(&out, empty).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_table_emptied_mid_crawl_is_caught_at_the_next_checkpoint() {
    let Ok(url) = std::env::var("TRAWL_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("TRAWL_REQUIRE_POSTGRES").is_none(),
            "TRAWL_REQUIRE_POSTGRES is set but TRAWL_TEST_POSTGRES is not: a skip would pass silently"
        );
        println!("skipped: TRAWL_TEST_POSTGRES is not set");
        return;
    };
    // The table is named after the spider; a schema of the test's own keeps
    // it apart from other runs.
    let schema = format!("trawl_empty_{}", std::process::id());
    let client = postgres_client(&url).await;
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let out = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let empty = async {
        let deleted = client
            .execute(&format!("DELETE FROM {schema}.api"), &[])
            .await
            .unwrap();
        assert_eq!(deleted, 1000);
    };
    a_table_emptied_mid_crawl(&out, empty).await;
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
