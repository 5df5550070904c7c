//! Database sinks against real engines: SQLite in a temporary directory, and
//! PostgreSQL when `TRAWL_TEST_POSTGRES` names a server that may be written
//! to (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it the
//! PostgreSQL tests print that they were skipped and pass.
//!
//! Records come from real crawls of the built-in demo site, so the rows
//! checked are the rows a user would get.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rusqlite::Connection;
use serde_json::Value;
use tokio_postgres::NoTls;
use trawl::demo::{DemoServer, DemoSite};
use trawl::sink::{Column, Kind, Sink, SinkOptions, Target};
use trawl::{Crawl, CrawlOptions, Record, Spider};

/// No test may take longer than this; a hang is a failure, not a stall.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

/// Runs a test body under [`DEADLINE`].
async fn within<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, body)
        .await
        .expect("the test finished within its deadline")
}

/// A spider from TOML at `rate = 0`; `{base}` is the demo server's URL.
fn spider(toml: &str, base: &str) -> Spider {
    let text = format!("{}\n[limits]\nrate = 0\n", toml.replace("{base}", base));
    Spider::from_toml(&text, "test.toml", "test").expect("a valid spider")
}

/// The blog: list pages 1..=last with title and url, each followed to its description.
fn blog(base: &str, name: &str, last: u32) -> Spider {
    spider(
        &format!(
            r#"
name = "{name}"
start = "{{base}}/blog/page/{{page}}"
last_page = {last}
[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.description = ".description::text"
"#
        ),
        base,
    )
}

/// The blog's list pages only: one title per post.
fn titles(base: &str, name: &str, last: u32) -> Spider {
    spider(
        &format!(
            r#"
name = "{name}"
start = "{{base}}/blog/page/{{page}}"
last_page = {last}
[list]
item = ".item"
fields.title = ".title::text"
"#
        ),
        base,
    )
}

/// The product API with no fields: each item is emitted whole.
fn products(base: &str, name: &str) -> Spider {
    spider(
        &format!(
            r#"
name = "{name}"
start = "{{base}}/api/products?page={{page}}"
[list]
format = "json"
items = "items"
stop = "is_last_page"
"#
        ),
        base,
    )
}

/// Field names in record order, as the CLI declares them to a sink.
fn columns(spider: &Spider) -> Vec<String> {
    spider.columns().into_iter().map(|(name, _)| name).collect()
}

/// Every record of a crawl of `site` by `make(base_url)`, and the spider.
async fn crawl(site: DemoSite, make: impl Fn(&str) -> Spider) -> (Spider, Vec<Record>) {
    let server = DemoServer::start(site)
        .await
        .expect("the demo server starts");
    let spider = make(&server.base_url());
    let records: Vec<Record> = Crawl::start(spider.clone(), CrawlOptions::default())
        .expect("the crawl starts")
        .map(|r| r.expect("no crawl error"))
        .collect()
        .await;
    server.shutdown().await;
    (spider, records)
}

fn options(spider: &Spider, pool_size: usize) -> SinkOptions {
    SinkOptions {
        columns: columns(spider)
            .into_iter()
            .map(|name| Column::new(name, Kind::Text))
            .collect(),
        table: spider.name.clone(),
        pool_size,
        ..SinkOptions::default()
    }
}

/// Opens `target`, writes `records`, checks the checkpoint and finishes.
async fn write_all(target: Target, options: SinkOptions, records: &[Record]) -> u64 {
    let mut sink = Sink::open(target, options).await.expect("the sink opens");
    for record in records {
        sink.write(record).await.expect("the record is written");
    }
    let position = sink.checkpoint().await.expect("the checkpoint succeeds");
    sink.finish().await.expect("the sink finishes");
    position
}

/// What each row should hold: `_key` → the record's fields as TEXT.
fn expected_text(records: &[Record], columns: &[&str]) -> BTreeMap<String, Vec<Option<String>>> {
    records
        .iter()
        .map(|r| {
            let (page, index) = r.key();
            let values = columns
                .iter()
                .map(|c| match r.get(c) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect();
            (format!("{page}:{index}"), values)
        })
        .collect()
}

// ----------------------------------------------------------------- SQLite

fn sqlite_columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .unwrap();
    stmt.query_map([table], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn sqlite_rows(
    conn: &Connection,
    table: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<Option<String>>> {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!("SELECT \"_key\", {} FROM \"{table}\"", names.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |row| {
        let values = (1..=columns.len())
            .map(|i| row.get::<_, Option<String>>(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((row.get::<_, String>(0)?, values))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn sqlite_count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn sqlite_table_is_named_after_the_spider_with_rows_in_field_order() {
    within(async {
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, "My Blog-2", 3)).await;
        assert_eq!(records.len(), 15);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.db");
        write_all(Target::Sqlite(path.clone()), options(&spider, 0), &records).await;

        let conn = Connection::open(&path).unwrap();
        assert_eq!(
            sqlite_columns(&conn, "my_blog_2"),
            ["_key", "title", "url", "description"]
        );
        let fields = ["title", "url", "description"];
        let rows = sqlite_rows(&conn, "my_blog_2", &fields);
        assert_eq!(rows, expected_text(&records, &fields));
        let first = &rows[&{
            let (page, index) = records[0].key();
            format!("{page}:{index}")
        }];
        assert!(
            first[0].as_deref().unwrap().starts_with("Post 1: "),
            "{first:?}"
        );
        assert!(
            first[1].as_deref().unwrap().ends_with("/blog/post/1"),
            "{first:?}"
        );
        assert!(
            first[2]
                .as_deref()
                .unwrap()
                .starts_with("Description of post 1."),
            "{first:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn sqlite_replay_inserts_nothing_twice() {
    within(async {
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, "replay", 3)).await;
        let dir = tempfile::tempdir().unwrap();
        let target = Target::Sqlite(dir.path().join("out.db"));

        let first = write_all(target.clone(), options(&spider, 0), &records).await;
        assert_eq!(first, 15, "rows inserted by the first run");
        // A resumed run writes a half-written page again, here everything.
        let second = write_all(target.clone(), options(&spider, 0), &records).await;
        assert_eq!(second, 0, "rows inserted by the replay");
        // Twice within one sink, too.
        let doubled: Vec<Record> = records.iter().chain(&records).cloned().collect();
        write_all(target, options(&spider, 0), &doubled).await;

        let conn = Connection::open(dir.path().join("out.db")).unwrap();
        assert_eq!(sqlite_count(&conn, "replay"), 15);
    })
    .await;
}

#[tokio::test]
async fn sqlite_whole_json_items_get_their_own_columns_and_numbers_stay_numbers() {
    within(async {
        let (spider, records) = crawl(DemoSite::default(), |base| products(base, "products")).await;
        assert_eq!(records.len(), 12);
        assert!(columns(&spider).is_empty(), "no declared fields");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.db");
        write_all(Target::Sqlite(path.clone()), options(&spider, 0), &records).await;

        let conn = Connection::open(&path).unwrap();
        assert_eq!(
            sqlite_columns(&conn, "products"),
            ["_key", "id", "name", "price"]
        );
        let rows: Vec<(i64, String, f64, String, String)> = conn
            .prepare("SELECT id, name, price, typeof(id), typeof(price) FROM products ORDER BY id")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 12);
        for (i, (id, name, price, id_type, price_type)) in rows.into_iter().enumerate() {
            let n = i as i64 + 1;
            assert_eq!((id, name), (n, format!("Product {n}")));
            assert_eq!(price, n as f64 * 1.5);
            assert_eq!((id_type.as_str(), price_type.as_str()), ("integer", "real"));
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_unwritable_path_fails_at_open_naming_it() {
    let target = Target::parse("sqlite:/nonexistent/dir/x.db").unwrap();
    let error = match Sink::open(target, SinkOptions::default()).await {
        Ok(_) => panic!("a database in a missing directory opened"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("/nonexistent/dir/x.db"), "{error}");
}

// ------------------------------------------------------------- PostgreSQL

/// The server to test against, or `None` (after saying so) to skip.
fn postgres_url() -> Option<String> {
    match std::env::var("TRAWL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("TRAWL_REQUIRE_POSTGRES").is_none(),
                "TRAWL_REQUIRE_POSTGRES is set but TRAWL_TEST_POSTGRES is not: a skip would pass silently"
            );
            println!("skipped: TRAWL_TEST_POSTGRES is not set");
            None
        }
    }
}

/// A name no other test (or test run) uses, for tables and application names.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A connection of the test's own, beside the sink's pool.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("the test server accepts connections");
    tokio::spawn(connection);
    client
}

/// Drops its table when the test ends, passed or failed.
struct DropTable {
    url: String,
    table: String,
}

impl Drop for DropTable {
    fn drop(&mut self) {
        let (url, table) = (self.url.clone(), self.table.clone());
        // Drop cannot await, and the test's runtime may be unwinding: use a
        // runtime of its own on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
                        .await;
                }
            });
        })
        .join();
    }
}

async fn pg_count(client: &tokio_postgres::Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .await
        .unwrap()
        .get(0)
}

async fn pg_columns(client: &tokio_postgres::Client, table: &str) -> Vec<String> {
    client
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn pg_rows(
    client: &tokio_postgres::Client,
    table: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<Option<String>>> {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!("SELECT \"_key\", {} FROM \"{table}\"", names.join(", "));
    client
        .query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let values = (1..=columns.len()).map(|i| row.get(i)).collect();
            (row.get(0), values)
        })
        .collect()
}

/// How many sessions the server has open for `application_name`.
async fn sessions(client: &tokio_postgres::Client, application: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .get(0)
}

fn open_error(result: Result<Sink, trawl::SinkError>) -> String {
    match result {
        Ok(_) => panic!("the sink opened"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn postgres_rows_are_exact_and_durable_at_each_checkpoint() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_rows");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, &name, 3)).await;
        assert_eq!(records.len(), 15);
        let client = connect(&url).await;

        let target = Target::parse(&url).unwrap();
        let mut sink = Sink::open(target, options(&spider, 2))
            .await
            .expect("the sink opens");
        assert_eq!(
            pg_columns(&client, &name).await,
            ["_key", "title", "url", "description"],
            "the table exists, columns in field order, once open returns"
        );
        for record in &records[..7] {
            sink.write(record).await.unwrap();
        }
        assert_eq!(sink.checkpoint().await.unwrap(), 7);
        assert_eq!(
            pg_count(&client, &name).await,
            7,
            "committed at the checkpoint"
        );
        for record in &records[7..] {
            sink.write(record).await.unwrap();
        }
        sink.finish().await.expect("the sink finishes");

        let fields = ["title", "url", "description"];
        assert_eq!(
            pg_rows(&client, &name, &fields).await,
            expected_text(&records, &fields)
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_replay_inserts_nothing_twice() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_replay");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, &name, 3)).await;
        let client = connect(&url).await;
        let target = Target::parse(&url).unwrap();

        write_all(target.clone(), options(&spider, 2), &records).await;
        assert_eq!(pg_count(&client, &name).await, 15);
        write_all(target.clone(), options(&spider, 2), &records).await;
        assert_eq!(pg_count(&client, &name).await, 15, "after a replay");
        let doubled: Vec<Record> = records.iter().chain(&records).cloned().collect();
        write_all(target, options(&spider, 2), &doubled).await;
        assert_eq!(
            pg_count(&client, &name).await,
            15,
            "after writing each record twice"
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_whole_json_items_grow_text_columns() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_products");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| products(base, &name)).await;
        let client = connect(&url).await;
        write_all(Target::parse(&url).unwrap(), options(&spider, 2), &records).await;

        assert_eq!(
            pg_columns(&client, &name).await,
            ["_key", "id", "name", "price"]
        );
        let rows = pg_rows(&client, &name, &["id", "name", "price"]).await;
        assert_eq!(rows.len(), 12);
        let mut seen: Vec<Vec<Option<String>>> = rows.into_values().collect();
        seen.sort_by_key(|r| r[0].as_deref().unwrap().parse::<u32>().unwrap());
        assert_eq!(
            seen[1],
            [
                Some("2".to_string()),
                Some("Product 2".into()),
                Some("3.0".into())
            ]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_many_rows_through_a_small_pool_leave_no_connection_open() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_many");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let site = DemoSite {
            pages: 40,
            items_per_page: 50,
            ..DemoSite::default()
        };
        let (spider, records) = crawl(site, |base| titles(base, &name, 40)).await;
        assert_eq!(records.len(), 2000);
        let client = connect(&url).await;
        let application = unique("trawl_test_app");
        let sep = if url.contains('?') { '&' } else { '?' };
        let target = Target::parse(&format!("{url}{sep}application_name={application}")).unwrap();

        let mut sink = Sink::open(target, options(&spider, 2))
            .await
            .expect("the sink opens");
        let mut busiest = 0;
        for (i, record) in records.iter().enumerate() {
            sink.write(record).await.unwrap();
            if i % 250 == 0 {
                busiest = busiest.max(sessions(&client, &application).await);
            }
        }
        assert_eq!(sink.checkpoint().await.unwrap(), 2000);
        assert!(busiest <= 2, "at most pool_size connections, saw {busiest}");
        assert!(
            sessions(&client, &application).await >= 1,
            "the application name reached the server"
        );
        sink.finish().await.expect("the sink finishes");

        // The server notices a closed socket a moment later: poll, briefly.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut open = sessions(&client, &application).await;
        while open > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            open = sessions(&client, &application).await;
        }
        assert_eq!(open, 0, "connections still open after finish");

        assert_eq!(pg_count(&client, &name).await, 2000);
        let fields = ["title"];
        assert_eq!(
            pg_rows(&client, &name, &fields).await,
            expected_text(&records, &fields)
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_unreachable_server_fails_at_open_quickly_naming_it() {
    // Nothing listens on port 1; no test server is needed.
    let started = Instant::now();
    let target = Target::parse("postgres://postgres:hunter2@127.0.0.1:1/test").unwrap();
    let error = open_error(Sink::open(target, SinkOptions::default()).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        error.contains("cannot connect to 127.0.0.1:1 ") && error.contains("connection refused"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

#[tokio::test]
async fn postgres_refused_login_fails_at_open_naming_the_reason() {
    let Some(url) = postgres_url() else { return };
    let mut login = url::Url::parse(&url).unwrap();
    login.set_username("nosuchuser").unwrap();
    login.set_password(Some("hunter2")).unwrap();
    let target = Target::parse(login.as_str()).unwrap();
    let error = open_error(Sink::open(target, SinkOptions::default()).await);
    let host = format!(
        "{}:{}",
        login.host_str().unwrap(),
        login.port().unwrap_or(5432)
    );
    assert!(
        error.contains(&format!("cannot connect to {host} as nosuchuser")),
        "{error}"
    );
    assert!(
        error.contains("role \"nosuchuser\" does not exist"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

#[tokio::test]
async fn postgres_silent_server_fails_at_open_after_the_connect_timeout() {
    // Accepts the connection and never answers the startup message.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let started = Instant::now();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?connect_timeout=1");
    let target = Target::parse(&url).unwrap();
    let error = open_error(within(Sink::open(target, SinkOptions::default())).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        error.contains(&format!("cannot connect to 127.0.0.1:{port} "))
            && error.contains("timed out"),
        "{error}"
    );
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_connections_are_replaced_without_losing_rows() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_lost");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let site = DemoSite {
            pages: 20,
            items_per_page: 100,
            ..DemoSite::default()
        };
        let (spider, records) = crawl(site, |base| titles(base, &name, 20)).await;
        let client = connect(&url).await;
        let application = unique("trawl_test_app");
        let sep = if url.contains('?') { '&' } else { '?' };
        let target = Target::parse(&format!("{url}{sep}application_name={application}")).unwrap();

        let mut sink = Sink::open(target, options(&spider, 2))
            .await
            .expect("the sink opens");
        for (i, record) in records.iter().enumerate() {
            if i % 600 == 300 {
                // The server ends every session of ours, idle or mid-batch.
                client
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1",
                        &[&application],
                    )
                    .await
                    .unwrap();
            }
            sink.write(record).await.unwrap();
        }
        sink.finish()
            .await
            .expect("retries carried every batch through");
        assert_eq!(pg_count(&client, &name).await, 2000);
    })
    .await;
}

#[tokio::test]
async fn postgres_a_failing_batch_names_the_table_and_still_closes() {
    let Some(url) = postgres_url() else { return };
    within(async {
        let name = unique("trawl_test_gone");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, &name, 3)).await;
        let client = connect(&url).await;
        let application = unique("trawl_test_app");
        let sep = if url.contains('?') { '&' } else { '?' };
        let target = Target::parse(&format!("{url}{sep}application_name={application}")).unwrap();

        let mut sink = Sink::open(target, options(&spider, 2))
            .await
            .expect("the sink opens");
        client
            .batch_execute(&format!("DROP TABLE \"{name}\""))
            .await
            .unwrap();
        for record in &records {
            sink.write(record).await.unwrap();
        }
        let error = sink.checkpoint().await.unwrap_err().to_string();
        assert!(
            error.contains(&format!("cannot insert into table `{name}`"))
                && error.contains("does not exist"),
            "{error}"
        );
        // The failed batch's rows are gone: no later checkpoint may pass.
        let again = sink.checkpoint().await.unwrap_err().to_string();
        assert!(again.contains("an earlier write"), "{again}");
        assert!(sink.finish().await.is_err());

        let deadline = Instant::now() + Duration::from_secs(5);
        while sessions(&client, &application).await > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(sessions(&client, &application).await, 0);
    })
    .await;
}

// ------------------------------------------------------- PostgreSQL over TLS

/// `url` with more query parameters; a parameter given again wins.
fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// The server to test TLS against, or `None` (after saying so) when there is
/// none or it has `ssl = off`.
async fn tls_server() -> Option<String> {
    let url = postgres_url()?;
    let ssl: String = connect(&url)
        .await
        .query_one("SHOW ssl", &[])
        .await
        .unwrap()
        .get(0);
    if ssl != "on" {
        assert!(
            std::env::var_os("TRAWL_REQUIRE_POSTGRES").is_none(),
            "TRAWL_REQUIRE_POSTGRES is set but the server has ssl = {ssl}: a skip would pass silently"
        );
        println!("skipped: the server at TRAWL_TEST_POSTGRES has ssl = {ssl}");
        return None;
    }
    Some(url)
}

/// Whether each session the server has for `application` is encrypted, as
/// the server itself reports it (`pg_stat_ssl`).
async fn encrypted(client: &tokio_postgres::Client, application: &str) -> Vec<bool> {
    client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Opens a sink on `url` under a fresh application name; returns it with the
/// encryption of its sessions, seen from the server while the pool holds them.
async fn open_and_look(
    url: &str,
    client: &tokio_postgres::Client,
    options: SinkOptions,
) -> (Sink, Vec<bool>) {
    let application = unique("trawl_test_tls");
    let target = Target::parse(&with_params(
        url,
        &format!("application_name={application}"),
    ))
    .expect("the URL is accepted");
    let sink = Sink::open(target, options)
        .await
        .unwrap_or_else(|e| panic!("{url}: the sink opens: {e}"));
    let sessions = encrypted(client, &application).await;
    (sink, sessions)
}

/// The file the server reads its certificate from, when this test can read it too.
async fn server_certificate(client: &tokio_postgres::Client) -> Option<String> {
    let row = match client.query_one("SHOW ssl_cert_file", &[]).await {
        Ok(row) => row,
        Err(e) => {
            println!("skipped: the server's certificate file ({e})");
            return None;
        }
    };
    let path: String = row.get(0);
    match std::fs::read(&path) {
        Ok(_) => Some(path),
        Err(e) => {
            println!("skipped: the server's certificate {path} cannot be read here ({e})");
            None
        }
    }
}

#[tokio::test]
async fn postgres_sslmodes_encrypt_as_asked_and_rows_are_written_over_tls() {
    let Some(url) = tls_server().await else {
        return;
    };
    within(async {
        let name = unique("trawl_test_tls");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, &name, 3)).await;
        let client = connect(&url).await;
        let mut modes = vec![
            ("sslmode=require", true),
            ("sslmode=prefer", true),
            ("sslmode=disable", false),
        ];
        if !url.contains("sslmode=") {
            // libpq's default is `prefer`, and so trawl's.
            modes.push(("connect_timeout=10", true));
        }
        for (params, tls) in modes {
            let (mut sink, sessions) =
                open_and_look(&with_params(&url, params), &client, options(&spider, 2)).await;
            assert!(!sessions.is_empty(), "{params}: no session seen");
            assert!(
                sessions.iter().all(|&ssl| ssl == tls),
                "{params}: sessions encrypted {sessions:?}, wanted {tls}"
            );
            for record in &records {
                sink.write(record).await.unwrap();
            }
            sink.finish().await.expect("the sink finishes");
        }
        let fields = ["title", "url", "description"];
        assert_eq!(
            pg_rows(&client, &name, &fields).await,
            expected_text(&records, &fields)
        );
    })
    .await;
}

/// A relay to the real server that answers each SSLRequest with `N`, as a
/// server without TLS does, and passes everything else through.
struct DecliningRelay {
    port: u16,
    accept: tokio::task::JoinHandle<()>,
}

impl DecliningRelay {
    async fn start(server: String) -> DecliningRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tokio::spawn(async move {
            let mut relays = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                relays.spawn(Self::relay(socket, server.clone()));
            }
        });
        DecliningRelay { port, accept }
    }

    async fn relay(mut client: tokio::net::TcpStream, server: String) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Length 8, then the SSLRequest code 80877103.
        const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];
        let mut first = [0; 8];
        client.read_exact(&mut first).await?;
        let mut upstream = tokio::net::TcpStream::connect(server).await?;
        if first == SSL_REQUEST {
            client.write_all(b"N").await?;
        } else {
            upstream.write_all(&first).await?;
        }
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        Ok(())
    }
}

impl Drop for DecliningRelay {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[tokio::test]
async fn postgres_prefer_falls_back_to_plain_text_when_the_server_declines_tls() {
    let Some(url) = tls_server().await else {
        return;
    };
    within(async {
        let name = unique("trawl_test_declined");
        let _cleanup = DropTable {
            url: url.clone(),
            table: name.clone(),
        };
        let (spider, records) = crawl(DemoSite::default(), |base| blog(base, &name, 1)).await;
        let client = connect(&url).await;
        let mut through = url::Url::parse(&url).unwrap();
        let server = format!(
            "{}:{}",
            through.host_str().unwrap(),
            through.port().unwrap_or(5432)
        );
        let relay = DecliningRelay::start(server).await;
        through.set_host(Some("127.0.0.1")).unwrap();
        through.set_port(Some(relay.port)).unwrap();

        let prefer = with_params(through.as_str(), "sslmode=prefer");
        let (mut sink, sessions) = open_and_look(&prefer, &client, options(&spider, 1)).await;
        assert!(
            !sessions.is_empty() && sessions.iter().all(|&ssl| !ssl),
            "prefer, TLS declined: sessions encrypted {sessions:?}"
        );
        for record in &records {
            sink.write(record).await.unwrap();
        }
        sink.finish().await.expect("the sink finishes");
        assert_eq!(pg_count(&client, &name).await, records.len() as i64);

        let require = with_params(through.as_str(), "sslmode=require");
        let target = Target::parse(&require).unwrap();
        let error = open_error(Sink::open(target, options(&spider, 1)).await);
        assert!(
            error.contains(&format!("cannot connect to 127.0.0.1:{}", relay.port))
                && error.contains("server does not support TLS"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_verify_full_rejects_a_certificate_nothing_vouches_for_naming_the_problem() {
    let Some(url) = tls_server().await else {
        return;
    };
    within(async {
        let client = connect(&url).await;
        let spider = titles("http://127.0.0.1:1", &unique("trawl_test_never"), 1);
        // The built-in Mozilla roots do not vouch for a self-signed certificate.
        for mode in ["verify-full", "verify-ca"] {
            let target = Target::parse(&with_params(&url, &format!("sslmode={mode}"))).unwrap();
            let error = open_error(Sink::open(target, options(&spider, 1)).await);
            assert!(
                error.contains("cannot connect to")
                    && error.contains("the server's certificate was rejected")
                    && error.contains("no root trusted here signed it"),
                "{mode}: {error}"
            );
        }
        // Its own certificate as the root vouches for it, but not for a name it lacks.
        let Some(cert) = server_certificate(&client).await else {
            return;
        };
        let mut by_address = url::Url::parse(&url).unwrap();
        by_address.set_host(Some("127.0.0.1")).unwrap();
        let params = format!("sslmode=verify-full&sslrootcert={cert}");
        let target = Target::parse(&with_params(by_address.as_str(), &params)).unwrap();
        let error = open_error(Sink::open(target, options(&spider, 1)).await);
        assert!(
            error.contains("the server's certificate was rejected")
                && error.contains("not valid for name \"127.0.0.1\""),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_the_servers_own_certificate_as_sslrootcert_verifies_it() {
    let Some(url) = tls_server().await else {
        return;
    };
    within(async {
        let client = connect(&url).await;
        let Some(cert) = server_certificate(&client).await else {
            return;
        };
        let spider = titles("http://127.0.0.1:1", &unique("trawl_test_verified"), 1);
        let _cleanup = DropTable {
            url: url.clone(),
            table: spider.name.clone(),
        };
        let mut by_address = url::Url::parse(&url).unwrap();
        by_address.set_host(Some("127.0.0.1")).unwrap();
        let mut by_name = by_address.clone();
        by_name.set_host(Some("localhost")).unwrap();
        // verify-ca checks the chain and not the name; so do require and
        // prefer once a root file is given, as in libpq.
        let mut cases = vec![
            (by_address.clone(), "verify-ca"),
            (by_address.clone(), "require"),
            (by_address, "prefer"),
        ];
        // The local server's certificate (Debian's snakeoil) is made for `localhost`.
        cases.push((by_name, "verify-full"));
        for (at, mode) in cases {
            let params = format!("sslmode={mode}&sslrootcert={cert}");
            let (sink, sessions) = open_and_look(
                &with_params(at.as_str(), &params),
                &client,
                options(&spider, 1),
            )
            .await;
            assert!(
                !sessions.is_empty() && sessions.iter().all(|&ssl| ssl),
                "{mode} at {at}: sessions encrypted {sessions:?}"
            );
            sink.finish().await.expect("the sink finishes");
        }
    })
    .await;
}
