//! Record identity, upserts and typed columns against real engines: SQLite in
//! a temporary directory always, and PostgreSQL when `TRAWL_TEST_POSTGRES`
//! names a server that may be written to (each test on a table of its own,
//! dropped at the end); without it the PostgreSQL half prints "skipped".
//!
//! Unit tests rather than `tests/`, because records with an identity are made
//! with `Record::identify`, which is crate-private.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};
use tokio_postgres::NoTls;

use super::{Column, Sink, SinkOptions, Target};
use crate::crawl::Record;
use crate::extract::Kind;

// ---------------------------------------------------------------- helpers

/// A record at `page:index` with `fields` (a JSON object) and maybe an identity.
fn record(page: u64, index: u32, identity: Option<&str>, fields: Value) -> Record {
    let Value::Object(fields) = fields else {
        panic!("fields are an object")
    };
    Record::new(
        fields,
        crate::crawl::OrderKey::list_page(page as u32),
        index,
    )
    .identify(identity.map(str::to_string))
}

/// A record identified by `identity`, at a position of its own.
fn keyed(n: u32, identity: &str, fields: Value) -> Record {
    record(1, n, Some(identity), fields)
}

/// A table in one engine, dropped at the end of the test (PostgreSQL).
struct Table {
    engine: Engine,
    name: String,
}

enum Engine {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

/// The engines to run a test against: SQLite, and PostgreSQL when configured.
fn tables(prefix: &str) -> Vec<Table> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let sqlite = Table {
        engine: Engine::Sqlite(tempfile::tempdir().unwrap()),
        name: name.clone(),
    };
    match std::env::var("TRAWL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => vec![
            sqlite,
            Table {
                engine: Engine::Postgres(url),
                name,
            },
        ],
        _ => {
            assert!(
                std::env::var_os("TRAWL_REQUIRE_POSTGRES").is_none(),
                "TRAWL_REQUIRE_POSTGRES is set but TRAWL_TEST_POSTGRES is not: a skip would pass silently"
            );
            println!("skipped: PostgreSQL (TRAWL_TEST_POSTGRES is not set)");
            vec![sqlite]
        }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("the test server accepts connections");
    tokio::spawn(connection);
    client
}

impl Table {
    fn is_sqlite(&self) -> bool {
        matches!(self.engine, Engine::Sqlite(_))
    }

    fn sqlite(&self) -> rusqlite::Connection {
        let Engine::Sqlite(dir) = &self.engine else {
            unreachable!("an SQLite table")
        };
        rusqlite::Connection::open(dir.path().join("out.db")).unwrap()
    }

    fn target(&self) -> Target {
        match &self.engine {
            Engine::Sqlite(dir) => Target::Sqlite(dir.path().join("out.db")),
            Engine::Postgres(url) => Target::Postgres(url.clone()),
        }
    }

    fn options(&self, columns: &[(&str, Kind)]) -> SinkOptions {
        SinkOptions {
            columns: columns.iter().map(|(n, k)| Column::new(*n, *k)).collect(),
            table: self.name.clone(),
            pool_size: 2,
            ..SinkOptions::default()
        }
    }

    /// Opens a sink, writes `records`, checkpoints and finishes; returns the
    /// rows inserted and updated.
    async fn write(&self, columns: &[(&str, Kind)], records: &[Record]) -> (u64, u64) {
        let mut sink = Sink::open(self.target(), self.options(columns))
            .await
            .expect("the sink opens");
        for record in records {
            sink.write(record).await.expect("the record is written");
        }
        sink.checkpoint().await.expect("the checkpoint succeeds");
        let written = sink.rows_written().expect("a database counts rows");
        sink.finish().await.expect("the sink finishes");
        written
    }

    /// Runs statements of the test's own (`{t}` is the quoted table name).
    async fn execute(&self, sql: &str) {
        let sql = sql.replace("{t}", &format!("\"{}\"", self.name));
        match &self.engine {
            Engine::Sqlite(_) => self.sqlite().execute_batch(&sql).unwrap(),
            Engine::Postgres(url) => connect(url).await.batch_execute(&sql).await.unwrap(),
        }
    }

    /// Every row: `_key` → its other columns as a JSON object, each value
    /// as the type the engine holds it in.
    async fn rows(&self) -> BTreeMap<String, Value> {
        match &self.engine {
            Engine::Sqlite(_) => self.sqlite_rows(),
            Engine::Postgres(url) => {
                let sql = format!(
                    "SELECT \"_key\", to_jsonb(t) - '_key' FROM \"{}\" t",
                    self.name
                );
                let client = connect(url).await;
                let rows = client.query(&sql, &[]).await.unwrap();
                rows.iter().map(|r| (r.get(0), r.get(1))).collect()
            }
        }
    }

    fn sqlite_rows(&self) -> BTreeMap<String, Value> {
        use rusqlite::types::ValueRef;
        let conn = self.sqlite();
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{}\"", self.name))
            .unwrap();
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = stmt.query([]).unwrap();
        let mut all = BTreeMap::new();
        while let Some(row) = rows.next().unwrap() {
            let mut fields = serde_json::Map::new();
            for (i, name) in names.iter().enumerate().skip(1) {
                let value = match row.get_ref(i).unwrap() {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => json!(n),
                    ValueRef::Real(x) => json!(x),
                    ValueRef::Text(t) => json!(std::str::from_utf8(t).unwrap()),
                    ValueRef::Blob(_) => panic!("no blobs"),
                };
                fields.insert(name.clone(), value);
            }
            all.insert(row.get(0).unwrap(), Value::Object(fields));
        }
        all
    }

    /// The columns and the types they were declared with, in table order.
    async fn types(&self) -> Vec<(String, String)> {
        match &self.engine {
            Engine::Sqlite(_) => {
                let conn = self.sqlite();
                let mut stmt = conn
                    .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")
                    .unwrap();
                stmt.query_map([&self.name], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Engine::Postgres(url) => connect(url)
                .await
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_name = $1 ORDER BY ordinal_position",
                    &[&self.name],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// Names the engine in assertion messages.
    fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite(_) => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let Engine::Postgres(url) = &self.engine else {
            return;
        };
        let (url, table) = (url.clone(), self.name.clone());
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

fn types(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

const TITLE: &[(&str, Kind)] = &[("title", Kind::Text)];

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn identities_key_rows_and_a_second_crawl_updates_and_adds() {
    for table in tables("trawl_unit_identity") {
        let first = [
            keyed(0, "https://x/a", json!({"title": "A"})),
            keyed(1, "https://x/b", json!({"title": "B"})),
            keyed(2, "https://x/c", json!({"title": "C"})),
        ];
        assert_eq!(
            table.write(TITLE, &first).await,
            (3, 0),
            "{}",
            table.engine()
        );
        // The listing moved: the same records elsewhere, one changed, one new.
        let second = [
            record(5, 0, Some("https://x/d"), json!({"title": "D"})),
            record(5, 1, Some("https://x/b"), json!({"title": "B, edited"})),
            record(6, 0, Some("https://x/c"), json!({"title": "C"})),
        ];
        assert_eq!(
            table.write(TITLE, &second).await,
            (1, 2),
            "{}",
            table.engine()
        );
        let rows = table.rows().await;
        let expected: BTreeMap<String, Value> = [
            ("https://x/a", "A"),
            ("https://x/b", "B, edited"),
            ("https://x/c", "C"),
            ("https://x/d", "D"),
        ]
        .into_iter()
        .map(|(k, t)| (k.to_string(), json!({ "title": t })))
        .collect();
        assert_eq!(rows, expected, "{}", table.engine());
    }
}

#[tokio::test]
async fn position_keys_upsert_too() {
    for table in tables("trawl_unit_position") {
        let first = [
            record(1, 0, None, json!({"title": "one"})),
            record(1, 1, None, json!({"title": "two"})),
        ];
        assert_eq!(
            table.write(TITLE, &first).await,
            (2, 0),
            "{}",
            table.engine()
        );
        // A replay after a resume, a page that changed in between, and more.
        let second = [
            record(1, 1, None, json!({"title": "two, again"})),
            record(2, 0, None, json!({"title": "three"})),
        ];
        assert_eq!(
            table.write(TITLE, &second).await,
            (1, 1),
            "{}",
            table.engine()
        );
        let rows = table.rows().await;
        assert_eq!(
            rows.into_iter().collect::<Vec<_>>(),
            [
                ("1:0".to_string(), json!({"title": "one"})),
                ("1:1".to_string(), json!({"title": "two, again"})),
                ("2:0".to_string(), json!({"title": "three"})),
            ],
            "{}",
            table.engine()
        );
    }
}

#[tokio::test]
async fn the_same_identity_twice_in_one_batch_does_not_fail_and_the_last_wins() {
    for table in tables("trawl_unit_twice") {
        let records = [
            keyed(0, "x", json!({"title": "first"})),
            keyed(1, "y", json!({"title": "only"})),
            keyed(2, "x", json!({"title": "second"})),
            keyed(3, "x", json!({"title": "third"})),
        ];
        assert_eq!(
            table.write(TITLE, &records).await,
            (2, 2),
            "{}",
            table.engine()
        );
        let rows = table.rows().await;
        assert_eq!(rows["x"], json!({"title": "third"}), "{}", table.engine());
        assert_eq!(rows.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_record_of_an_identity_wins_across_concurrent_batches() {
    for table in tables("trawl_unit_batches") {
        // Several batches of 500, in flight two at a time, each touching
        // every identity.
        let records: Vec<Record> = (0..2_400u32)
            .map(|i| keyed(i, &format!("k{}", i % 7), json!({ "n": i })))
            .collect();
        let written = table.write(&[("n", Kind::Int)], &records).await;
        assert_eq!(written, (7, 2_393), "{}", table.engine());
        let rows = table.rows().await;
        for k in 0..7u32 {
            let last = (0..2_400).filter(|i| i % 7 == k).max().unwrap();
            assert_eq!(
                rows[&format!("k{k}")],
                json!({ "n": last }),
                "{}",
                table.engine()
            );
        }
    }
}

#[tokio::test]
async fn columns_are_typed_by_kind_and_values_keep_their_types() {
    let columns = [
        ("t", Kind::Text),
        ("n", Kind::Int),
        ("x", Kind::Number),
        ("b", Kind::Bool),
        ("j", Kind::Json),
    ];
    for table in tables("trawl_unit_typed") {
        let records = [keyed(
            0,
            "a",
            json!({"t": "text", "n": 42, "x": 1.5, "b": true, "j": {"k": [1, "v"]}}),
        )];
        table.write(&columns, &records).await;
        if table.is_sqlite() {
            assert_eq!(
                table.types().await,
                types(&[
                    ("_key", "TEXT"),
                    ("t", ""), // untyped: each value keeps its own
                    ("n", "INTEGER"),
                    ("x", "REAL"),
                    ("b", "INTEGER"),
                    ("j", "TEXT")
                ])
            );
            let conn = table.sqlite();
            let sql = format!(
                "SELECT t, n, x, b, j, typeof(n), typeof(x) FROM \"{}\"",
                table.name
            );
            let row: (String, i64, f64, i64, String, String, String) = conn
                .query_row(&sql, [], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .unwrap();
            assert_eq!(
                (
                    row.0.as_str(),
                    row.1,
                    row.2,
                    row.3,
                    row.5.as_str(),
                    row.6.as_str()
                ),
                ("text", 42, 1.5, 1, "integer", "real")
            );
            assert_eq!(
                serde_json::from_str::<Value>(&row.4).unwrap(),
                json!({"k": [1, "v"]})
            );
        } else {
            assert_eq!(
                table.types().await,
                types(&[
                    ("_key", "text"),
                    ("t", "text"),
                    ("n", "bigint"),
                    ("x", "double precision"),
                    ("b", "boolean"),
                    ("j", "jsonb")
                ])
            );
            let Engine::Postgres(url) = &table.engine else {
                unreachable!()
            };
            let sql = format!("SELECT t, n, x, b, j FROM \"{}\"", table.name);
            let row = connect(url).await.query_one(&sql, &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), "text");
            assert_eq!(row.get::<_, i64>(1), 42);
            assert_eq!(row.get::<_, f64>(2), 1.5);
            assert!(row.get::<_, bool>(3));
            assert_eq!(row.get::<_, Value>(4), json!({"k": [1, "v"]}));
        }
    }
}

#[tokio::test]
async fn an_existing_text_table_keeps_its_types_and_still_takes_numbers() {
    for table in tables("trawl_unit_old") {
        // As an earlier trawl made it: `_key` and a TEXT column (SQLite: also
        // one with no type).
        let untyped = if table.is_sqlite() {
            "\"u\""
        } else {
            "\"u\" TEXT"
        };
        table
            .execute(&format!(
                "CREATE TABLE {{t}} (\"_key\" TEXT PRIMARY KEY, \"n\" TEXT, {untyped})"
            ))
            .await;
        let columns = [
            ("n", Kind::Int),
            ("u", Kind::Int),
            ("j", Kind::Json),
            ("x", Kind::Number),
        ];
        let records = [keyed(
            0,
            "a",
            json!({"n": 5, "u": 6, "j": [1, 2], "x": 2.5}),
        )];
        assert_eq!(table.write(&columns, &records).await, (1, 0));
        let (text, json, real) = match table.is_sqlite() {
            true => ("TEXT", "TEXT", "REAL"),
            false => ("text", "jsonb", "double precision"),
        };
        let u_type = if table.is_sqlite() { "" } else { text };
        assert_eq!(
            table.types().await,
            types(&[
                ("_key", text),
                ("n", text),
                ("u", u_type),
                ("j", json),
                ("x", real)
            ]),
            "{}",
            table.engine()
        );
        // SQLite keeps JSON as its text; a column without a type keeps the number.
        let (u, j) = match table.is_sqlite() {
            true => (json!(6), json!("[1,2]")),
            false => (json!("6"), json!([1, 2])),
        };
        assert_eq!(
            table.rows().await["a"],
            json!({"n": "5", "u": u, "j": j, "x": 2.5}),
            "{}",
            table.engine()
        );
    }
}

#[tokio::test]
async fn a_value_that_fits_no_column_is_null_and_the_crawl_goes_on() {
    let columns = [("n", Kind::Int), ("x", Kind::Number), ("b", Kind::Bool)];
    for table in tables("trawl_unit_misfit") {
        let records = [
            keyed(0, "parsed", json!({"n": " 12 ", "x": "2.5", "b": true})),
            keyed(
                1,
                "refused",
                json!({"n": "twelve", "x": "n/a", "b": [true]}),
            ),
            keyed(2, "fraction", json!({"n": 1.5, "x": "-3.5", "b": null})),
        ];
        assert_eq!(table.write(&columns, &records).await, (3, 0));
        let rows = table.rows().await;
        let yes = if table.is_sqlite() {
            json!(1)
        } else {
            json!(true)
        };
        assert_eq!(rows["parsed"], json!({"n": 12, "x": 2.5, "b": yes}));
        assert_eq!(rows["refused"], json!({"n": null, "x": null, "b": null}));
        assert_eq!(rows["fraction"], json!({"n": null, "x": -3.5, "b": null}));
    }
}

#[tokio::test]
async fn postgres_columns_of_other_types_are_converted_or_left_alone() {
    for table in tables("trawl_unit_pgtypes") {
        if table.is_sqlite() {
            continue;
        }
        table
            .execute(
                "CREATE TABLE {t} (\"_key\" TEXT PRIMARY KEY, \"small\" INTEGER, \
                 \"short\" VARCHAR(3), \"price\" NUMERIC(6,2), \"day\" DATE, \"f\" REAL, \
                 \"doc\" JSON)",
            )
            .await;
        table
            .execute("INSERT INTO {t} (\"_key\", \"day\") VALUES ('b', '2020-02-02')")
            .await;
        let columns = [
            ("small", Kind::Int),
            ("short", Kind::Text),
            ("price", Kind::Number),
            ("day", Kind::Text),
            ("f", Kind::Number),
            ("doc", Kind::Json),
        ];
        let records = [
            keyed(
                0,
                "a",
                json!({"small": 7, "short": "abc", "price": "1234.567", "day": "2026-01-01",
                       "f": 0.5, "doc": {"a\u{0}": "\u{0}"}}),
            ),
            keyed(
                1,
                "b",
                json!({"small": 5_000_000_000i64, "short": "abcd", "price": 12345.0,
                       "day": "2026-01-01", "f": 1e300, "doc": null}),
            ),
        ];
        assert_eq!(table.write(&columns, &records).await, (1, 1));
        let rows = table.rows().await;
        assert_eq!(
            rows["a"],
            json!({"small": 7, "short": "abc", "price": 1234.57, "day": null, "f": 0.5,
                   "doc": {"a\u{FFFD}": "\u{FFFD}"}})
        );
        assert_eq!(
            rows["b"],
            json!({"small": null, "short": null, "price": null, "day": "2020-02-02",
                   "f": null, "doc": null}),
            "too large for its column: NULL; a date is left as it was"
        );
    }
}

#[tokio::test]
async fn keys_a_server_chose_each_get_a_column_and_nothing_ends_the_crawl() {
    for table in tables("trawl_unit_names") {
        let long = "x".repeat(100);
        let mut fields = serde_json::Map::new();
        for (name, value) in [("Name", "A"), ("name", "b"), ("", "empty"), ("_key", "k")] {
            fields.insert(name.to_string(), json!(value));
        }
        fields.insert(long.clone(), json!("long"));
        let records = [record(0, 0, None, Value::Object(fields))];
        table.write(&[("Name", Kind::Text)], &records).await;
        // Written again: the same columns, one row.
        table.write(&[("Name", Kind::Text)], &records).await;
        let rows = table.rows().await;
        let row = &rows["0:0"];
        let cut = row
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.starts_with("xxx"))
            .expect("the long name has a column")
            .clone();
        assert!(cut.len() <= 63, "{cut}");
        assert_eq!(
            row,
            &json!({"Name": "A", "name_2": "b", "_empty": "empty", "_key_2": "k", cut: "long"}),
            "{}",
            table.engine()
        );
    }
}

/// The row's `_more` as a JSON object: SQLite holds it as JSON text.
fn more_of(row: &Value) -> Value {
    match &row["_more"] {
        Value::String(text) => serde_json::from_str(text).expect("_more holds JSON"),
        other => other.clone(),
    }
}

/// `{"k0000": "v0", "k0001": "v1", …}` with `n` keys.
fn wide(n: usize) -> serde_json::Map<String, Value> {
    (0..n)
        .map(|i| (format!("k{i:04}"), json!(format!("v{i}"))))
        .collect()
}

#[tokio::test]
async fn the_bundled_sqlite_allows_2000_columns_twice_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("x.db")).unwrap();
    let table = |n: usize| {
        let columns: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS t; CREATE TABLE t ({})",
            columns.join(", ")
        ))
    };
    assert!(table(2000).is_ok());
    let refused = table(2001).unwrap_err().to_string();
    assert!(refused.contains("too many columns"), "{refused}");
    assert_eq!(super::sqlite::MAX_FIELD_COLUMNS + 2, 1002);
}

#[tokio::test]
async fn keys_past_the_cap_go_into_more_the_same_on_every_run() {
    for table in tables("trawl_unit_wide") {
        // More keys than the engine allows columns: 2,500 and 1,700.
        let (keys, cap) = match table.is_sqlite() {
            true => (2500, super::sqlite::MAX_FIELD_COLUMNS),
            false => (1700, super::postgres::MAX_FIELD_COLUMNS),
        };
        let mut first = wide(keys);
        first.insert("_more".into(), json!("a field of that name"));
        let last = format!("k{:04}", keys - 1);
        let second = json!({"late": 1, "k0001": "x", last.clone(): "y"});
        let records = [
            record(0, 0, None, Value::Object(first)),
            record(0, 1, None, second),
        ];
        table.write(TITLE, &records).await;
        let columns = table.types().await;
        assert_eq!(
            columns.len(),
            cap + 2,
            "{}: _key, _more and the cap",
            table.engine()
        );
        let more_type = columns
            .iter()
            .find(|(n, _)| n == "_more")
            .unwrap()
            .1
            .clone();
        assert_eq!(
            more_type,
            if table.is_sqlite() { "TEXT" } else { "jsonb" },
            "{}",
            table.engine()
        );
        let rows = table.rows().await;
        // `title` is declared: it takes the first column, the keys the rest.
        let kept = cap - 1;
        let row = &rows["0:0"];
        assert_eq!(row["k0000"], json!("v0"));
        assert_eq!(
            row[format!("k{:04}", kept - 1)],
            json!(format!("v{}", kept - 1))
        );
        let more = more_of(row);
        let more = more.as_object().unwrap();
        assert_eq!(more.len(), keys - kept + 1, "{}", table.engine());
        assert_eq!(more[&format!("k{kept:04}")], json!(format!("v{kept}")));
        assert_eq!(more["_more"], json!("a field of that name"));
        let row = &rows["0:1"];
        assert_eq!(row["k0001"], json!("x"), "a key with a column keeps it");
        assert_eq!(more_of(row), json!({"late": 1, last.clone(): "y"}));

        // A later run (a resume, or a second crawl) reads the columns back:
        // the same keys in columns, new ones still in `_more`.
        let again = json!({"k0000": "again", "new": 2, last.clone(): "z"});
        table.write(TITLE, &[record(1, 0, None, again)]).await;
        assert_eq!(table.types().await.len(), cap + 2);
        let row = &table.rows().await["1:0"];
        assert_eq!(row["k0000"], json!("again"));
        assert_eq!(
            more_of(row),
            json!({"new": 2, last: "z"}),
            "{}",
            table.engine()
        );
    }
}
