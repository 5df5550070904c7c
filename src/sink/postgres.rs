//! `-o postgres://…`: one table named after the spider, written through a small pool.
//!
//! Every column is `TEXT`: strings go in as they are, `null` as `NULL`, and
//! anything else as its JSON text, so no record can fail on a type the table
//! guessed from an earlier one. Whole-item JSON records grow the table with
//! `ADD COLUMN IF NOT EXISTS` the first time a field appears.
//!
//! Opening takes a connection at once and creates the table, so a server that
//! is down, a refused login or a missing privilege is reported before any
//! page is fetched. Connecting gives up after the URL's `connect_timeout`
//! (10 s by default) rather than hang on a black-holed host.
//!
//! # Batching
//!
//! Round trips, not rows, are what cost: [`PostgresSink::write`] only buffers,
//! and every [`BATCH_ROWS`] rows the buffer goes to a flush task that takes a
//! pooled connection and inserts the batch in one transaction with multi-row
//! `INSERT … ON CONFLICT ("_key") DO NOTHING` statements. The conflict clause
//! is what makes a replay after a resume insert nothing twice, and what makes
//! retrying a batch whose `COMMIT` was lost harmless. At most one flush task
//! per pooled connection runs at a time, so a slow server pushes back on the
//! crawl through `write` instead of letting batches pile up in memory.
//!
//! Connection loss and the errors PostgreSQL itself says to retry
//! (class 08, `40001`, `40P01`, `57P01`) retry the whole transaction on a fresh
//! connection with exponential backoff; anything else fails, naming the table.
//!
//! # Cancel safety
//!
//! Nothing is durable until [`PostgresSink::checkpoint`] returns `Ok`. If a
//! `write` is dropped while it adds a column, the record was not taken; if it
//! is dropped while waiting for a free flush slot, the record is buffered and
//! goes out with a later batch. Dropping a `checkpoint` leaves its batches in
//! flight; the next `checkpoint` or `finish` waits for them. Dropping the sink
//! aborts the flush tasks: their transactions roll back, and the buffer is lost.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{
    Client, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_postgres::config::Host;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls};

use super::{quote, row_key};
use crate::crawl::Record;

/// Rows per flush: large enough that a round trip carries real work, small
/// enough that a retried batch is cheap.
const BATCH_ROWS: usize = 500;
/// The extended protocol counts bind parameters in an `i16`-sized field.
const MAX_PARAMS: usize = 65_535;
/// How long connecting may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries of a transient failure, after the first attempt.
const RETRIES: u32 = 3;
/// The first backoff; it doubles on each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What can go wrong talking to the server, pool and connection alike.
type Failure = PoolError;

/// A PostgreSQL table that takes records.
pub struct PostgresSink {
    pool: Pool,
    table: String,
    /// The columns rows are written with, in first-seen order.
    columns: Vec<String>,
    /// The same names, for a quick "seen before?".
    column_set: HashSet<String>,
    /// The columns the table is known to have.
    known: HashSet<String>,
    buffer: Vec<Row>,
    flushes: JoinSet<Result<(), String>>,
    max_flushes: usize,
    /// Set by the first failure: rows of a failed batch are gone, so no later
    /// checkpoint may claim that everything written is committed.
    failed: bool,
    /// Rows taken by `write` (attempted inserts; replays count too).
    rows: u64,
}

/// One buffered row; `values` follows the column list as it was when written.
struct Row {
    key: String,
    values: Vec<Option<String>>,
}

/// A batch on its way to the server, with the columns its rows follow.
struct Batch {
    table: String,
    columns: Vec<String>,
    rows: Vec<Row>,
}

impl PostgresSink {
    /// Connects, checks the login and creates the table.
    pub async fn open(
        url: &str,
        table: &str,
        columns: &[String],
        pool_size: usize,
    ) -> Result<PostgresSink, String> {
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            format!("not a usable PostgreSQL URL ({})", detail(&e))
        })?;
        let timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        config.connect_timeout(timeout);
        let pool = pool(&config, pool_size.max(1), timeout)?;
        let client = pool
            .get()
            .await
            .map_err(|e| format!("cannot connect to {} ({})", server(&config), reason(&e)))?;
        let known = create_table(&client, table, columns)
            .await
            .map_err(|e| format!("cannot create table `{table}` ({})", detail(&e)))?;
        drop(client);
        Ok(PostgresSink {
            pool,
            table: table.to_string(),
            columns: columns.to_vec(),
            column_set: columns.iter().cloned().collect(),
            known,
            buffer: Vec::with_capacity(BATCH_ROWS),
            flushes: JoinSet::new(),
            max_flushes: pool_size.max(1),
            failed: false,
            rows: 0,
        })
    }

    /// Buffers one row, adding columns for fields not seen before.
    ///
    /// Waits only when a batch is due and every flush slot is busy.
    pub async fn write(&mut self, record: &Record) -> Result<(), String> {
        self.healthy()?;
        let result = self.buffer_row(record).await;
        self.failed |= result.is_err();
        result
    }

    /// Inserts every buffered row and waits for every batch in flight;
    /// returns the rows written so far (attempted inserts, replays included).
    ///
    /// After any failure, this and every later call fail: the state must not
    /// commit pages whose rows were lost.
    pub async fn checkpoint(&mut self) -> Result<u64, String> {
        self.healthy()?;
        let result = self.drain().await;
        self.failed |= result.is_err();
        result.map(|()| self.rows)
    }

    /// Checkpoints and closes the pool, on success and failure alike.
    pub async fn finish(mut self) -> Result<(), String> {
        let result = self.checkpoint().await;
        // After a failed batch others may still run; their connections must
        // be back in the pool before it closes, or they outlive `finish`.
        self.flushes.shutdown().await;
        self.pool.close();
        result.map(drop)
    }

    fn healthy(&self) -> Result<(), String> {
        if self.failed {
            return Err(format!(
                "not written: an earlier write to table `{}` failed",
                self.table
            ));
        }
        Ok(())
    }

    async fn buffer_row(&mut self, record: &Record) -> Result<(), String> {
        let fresh: Vec<String> = record
            .fields()
            .keys()
            .filter(|k| !self.column_set.contains(*k))
            .cloned()
            .collect();
        if !fresh.is_empty() {
            self.add_columns(fresh).await?;
        }
        let values = self.columns.iter().map(|c| text(record.get(c))).collect();
        self.buffer.push(Row {
            key: row_key(record),
            values,
        });
        self.rows += 1;
        if self.buffer.len() >= BATCH_ROWS {
            self.flush_buffer().await?;
        }
        Ok(())
    }

    async fn drain(&mut self) -> Result<(), String> {
        if !self.buffer.is_empty() {
            self.flush_buffer().await?;
        }
        while !self.flushes.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }

    /// Adds `names` to the row layout, and to the table where it lacks them.
    async fn add_columns(&mut self, names: Vec<String>) -> Result<(), String> {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !self.known.contains(*n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let sql = alter_sql(&self.table, &missing);
            let pool = &self.pool;
            retrying(|| async {
                let client = pool.get().await?;
                client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| discard(client, e))
            })
            .await
            .map_err(|e| {
                format!(
                    "cannot add columns to table `{}` ({})",
                    self.table,
                    reason(&e)
                )
            })?;
            self.known.extend(missing);
        }
        for name in names {
            if self.column_set.insert(name.clone()) {
                self.columns.push(name);
            }
        }
        Ok(())
    }

    /// Hands the buffer to a flush task once a slot is free.
    async fn flush_buffer(&mut self) -> Result<(), String> {
        while self.flushes.len() >= self.max_flushes {
            self.join_one().await?;
        }
        let batch = Batch {
            table: self.table.clone(),
            columns: self.columns.clone(),
            rows: std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH_ROWS)),
        };
        self.flushes.spawn(flush(self.pool.clone(), batch));
        Ok(())
    }

    /// Waits for one flush task; its failure is this sink's failure.
    ///
    /// Cancel safe: `JoinSet::join_next` loses no result when dropped.
    async fn join_one(&mut self) -> Result<(), String> {
        match self.flushes.join_next().await {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(format!(
                "a batch for table `{}` did not finish ({e})",
                self.table
            )),
        }
    }
}

/// A pool that connects lazily, at most `size` connections, none recycled with a query.
fn pool(config: &Config, size: usize, timeout: Duration) -> Result<Pool, String> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    // `connect_timeout` covers the TCP connect to each host; this also bounds
    // a server that accepts and then never answers the startup.
    let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(timeout.saturating_mul(hosts)))
        .build()
        .map_err(|e| format!("cannot set up a connection pool ({e})"))
}

/// Creates the table if needed and adds declared columns it lacks; returns its columns.
async fn create_table(
    client: &Client,
    table: &str,
    columns: &[String],
) -> Result<HashSet<String>, tokio_postgres::Error> {
    let mut defs = vec!["\"_key\" TEXT PRIMARY KEY".to_string()];
    defs.extend(columns.iter().map(|c| format!("{} TEXT", quote(c))));
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(table),
            defs.join(", ")
        ))
        .await?;
    let rows = client
        .query(
            "SELECT attname::text FROM pg_attribute \
             WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
            &[&quote(table)],
        )
        .await?;
    let mut known: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let missing: Vec<String> = columns
        .iter()
        .filter(|c| !known.contains(*c))
        .cloned()
        .collect();
    if !missing.is_empty() {
        client.batch_execute(&alter_sql(table, &missing)).await?;
        known.extend(missing);
    }
    Ok(known)
}

fn alter_sql(table: &str, columns: &[String]) -> String {
    let adds: Vec<String> = columns
        .iter()
        .map(|c| format!("ADD COLUMN IF NOT EXISTS {} TEXT", quote(c)))
        .collect();
    format!("ALTER TABLE {} {}", quote(table), adds.join(", "))
}

/// Inserts one batch, retrying transient failures; the error names the table.
async fn flush(pool: Pool, batch: Batch) -> Result<(), String> {
    retrying(|| insert(&pool, &batch)).await.map_err(|e| {
        format!(
            "cannot insert into table `{}` ({})",
            batch.table,
            reason(&e)
        )
    })
}

/// One attempt: the whole batch in one transaction on one pooled connection.
async fn insert(pool: &Pool, batch: &Batch) -> Result<(), Failure> {
    let mut client = pool.get().await?;
    match insert_on(&mut client, batch).await {
        Ok(()) => Ok(()),
        Err(e) => Err(discard(client, e)),
    }
}

async fn insert_on(client: &mut Client, batch: &Batch) -> Result<(), tokio_postgres::Error> {
    static NULL: Option<String> = None;
    let width = batch.columns.len() + 1;
    let per_statement = (MAX_PARAMS / width).max(1);
    let tx = client.transaction().await?;
    for chunk in batch.rows.chunks(per_statement) {
        let statement = tx
            .prepare_cached(&insert_sql(&batch.table, &batch.columns, chunk.len()))
            .await?;
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * width);
        for row in chunk {
            params.push(&row.key);
            // Rows buffered before a column appeared lack it: NULL.
            params.extend(
                (0..batch.columns.len())
                    .map(|i| row.values.get(i).unwrap_or(&NULL) as &(dyn ToSql + Sync)),
            );
        }
        tx.execute(&statement, &params).await?;
    }
    tx.commit().await
}

/// `INSERT INTO t ("_key", …) VALUES ($1, …), (…) ON CONFLICT ("_key") DO NOTHING`.
fn insert_sql(table: &str, columns: &[String], rows: usize) -> String {
    let width = columns.len() + 1;
    let names: Vec<String> = std::iter::once(quote("_key"))
        .chain(columns.iter().map(|c| quote(c)))
        .collect();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT (\"_key\") DO NOTHING",
        quote(table),
        names.join(", "),
        tuples.join(", ")
    )
}

/// Runs `attempt`, retrying transient failures with exponential backoff.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut delay = FIRST_BACKOFF;
    for _ in 0..RETRIES {
        match attempt().await {
            Err(e) if is_transient(&e) => {
                tracing::warn!("PostgreSQL: {}; retrying in {delay:?}", reason(&e));
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            done => return done,
        }
    }
    attempt().await
}

/// Keeps a connection that failed on I/O out of the pool, so no retry gets it back.
fn discard(client: Client, error: tokio_postgres::Error) -> Failure {
    if error.as_db_error().is_none() {
        drop(Object::take(client));
    }
    PoolError::Backend(error)
}

/// Whether trying again on a fresh connection may succeed.
fn is_transient(failure: &Failure) -> bool {
    let error = match failure {
        PoolError::Timeout(_) => return true,
        PoolError::Backend(error) => error,
        _ => return false,
    };
    match error.code() {
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "40001" | "40P01" | "57P01")
        }
        None => error.is_closed() || io_error(error).is_some(),
    }
}

/// A failure as a user reads it: the server's message, or the network's.
fn reason(failure: &Failure) -> String {
    match failure {
        PoolError::Backend(error) => detail(error),
        PoolError::Timeout(TimeoutType::Create) => "timed out".to_string(),
        other => other.to_string(),
    }
}

fn detail(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_string();
    }
    if let Some(io) = io_error(error) {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "timed out".to_string(),
            _ => io.to_string(),
        };
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

fn io_error(error: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = e.source();
    }
    None
}

/// The server(s) a config points at, `host:port` (a socket path for Unix sockets).
fn server(config: &Config) -> String {
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let mut names: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port(i)),
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port(i)),
        })
        .collect();
    if names.is_empty() {
        names = config
            .get_hostaddrs()
            .iter()
            .enumerate()
            .map(|(i, addr)| std::net::SocketAddr::new(*addr, port(i)).to_string())
            .collect();
    }
    let servers = if names.is_empty() {
        "the server (no host in the URL)".to_string()
    } else {
        names.join(", ")
    };
    match config.get_user() {
        Some(user) => format!("{servers} as {user}"),
        None => servers,
    }
}

/// A value as TEXT: strings as they are, `null` as NULL, the rest as JSON.
///
/// PostgreSQL cannot store NUL in text; it becomes U+FFFD rather than
/// failing the whole crawl on one odd page.
fn text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.contains('\0') => Some(s.replace('\0', "\u{FFFD}")),
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// The URL without its password (in the user part or `?password=`), for messages.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://u@h/db?password=secret&application_name=x",
                "postgres://u@h/db?password=***&application_name=x",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn servers_are_named_with_user() {
        let config: Config = "postgres://bob:pw@127.0.0.1:1/test".parse().unwrap();
        assert_eq!(server(&config), "127.0.0.1:1 as bob");
        let config: Config = "postgres://h1,h2:6000/db".parse().unwrap();
        assert_eq!(server(&config), "h1:5432, h2:6000");
    }

    #[test]
    fn inserts_number_every_parameter() {
        let columns = vec!["a".to_string(), "b\"c".to_string()];
        assert_eq!(
            insert_sql("t", &columns, 2),
            "INSERT INTO \"t\" (\"_key\", \"a\", \"b\"\"c\") VALUES ($1, $2, $3), ($4, $5, $6) \
             ON CONFLICT (\"_key\") DO NOTHING"
        );
    }

    #[test]
    fn values_are_text() {
        use serde_json::json;
        assert_eq!(text(None), None);
        assert_eq!(text(Some(&json!(null))), None);
        assert_eq!(text(Some(&json!("a b"))), Some("a b".into()));
        assert_eq!(text(Some(&json!(1.5))), Some("1.5".into()));
        assert_eq!(text(Some(&json!(true))), Some("true".into()));
        assert_eq!(text(Some(&json!([1, "x"]))), Some("[1,\"x\"]".into()));
        assert_eq!(text(Some(&json!("a\0b"))), Some("a\u{FFFD}b".into()));
    }
}
