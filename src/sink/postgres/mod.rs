//! `-o postgres://…`: one table named after the spider, written through a small pool.
//!
//! Declared columns are created typed by their kind (`BIGINT`, `DOUBLE
//! PRECISION`, `BOOLEAN`, `JSONB`, `TEXT`; see [`Column`]); whole-item JSON
//! records grow the table with `TEXT` columns (`ADD COLUMN IF NOT EXISTS`)
//! the first time a field appears. The table's actual column types are read
//! from the catalog, and every value is bound as the Rust type its column
//! takes, converted where it must be (see [`column`]): an older table keeps
//! its types, and no record fails on a type the table chose before.
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
//! pooled connection and upserts the batch in one transaction with multi-row
//! `INSERT … ON CONFLICT ("_key") DO UPDATE SET …` statements. The conflict
//! clause is what makes a later crawl update the rows it finds again, a replay
//! after a resume rewrite the same values instead of adding rows, and
//! retrying a batch whose `COMMIT` was lost harmless. At most one flush task
//! per pooled connection runs at a time, so a slow server pushes back on the
//! crawl through `write` instead of letting batches pile up in memory.
//!
//! One statement may not touch a row twice, so a batch keeps only the last
//! record of each `_key`; and a batch waits for any batch in flight that
//! shares a `_key` with it, so the last record written is the one the row
//! holds (and two of trawl's own transactions never deadlock on each other).
//! `RETURNING (xmax = 0)` tells inserted rows from updated ones.
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

mod column;
mod tls;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use deadpool_postgres::{
    Client, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use tokio::task::{Id, JoinSet};
use tokio_postgres::config::Host;
use tokio_postgres::types::ToSql;
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::cell::Misfits;
use super::names::MORE;
use super::{quote, row_key, update_set, Column};
use crate::crawl::Record;
use column::{sql_type, without_nul, ColumnType, Param};

/// The most columns a table gets for fields (besides `_key` and `_more`).
/// PostgreSQL allows 1,600 columns, but a row must fit in one 8 KiB page
/// (8,160 bytes), and a value of up to 24 bytes is never moved out of it
/// (TOAST takes only larger ones, leaving an 18-byte pointer): 300 columns
/// of 24 bytes and the row's header fit, whatever the values
/// (measured: 1,000 columns of 10-byte text fail, "row is too big").
pub(super) const MAX_FIELD_COLUMNS: usize = 300;

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
pub(super) struct PostgresSink {
    pool: Pool,
    table: String,
    /// The columns rows are written with, in first-seen order.
    columns: Vec<String>,
    /// The same names, for a quick "seen before?".
    column_set: HashSet<String>,
    /// The columns the table is known to have, with their types.
    known: HashMap<String, ColumnType>,
    misfits: Misfits,
    buffer: Vec<Row>,
    flushes: JoinSet<Result<Written, String>>,
    /// The `_key`s (hashed) of each batch in flight.
    in_flight: HashMap<Id, HashSet<u64>>,
    hasher: RandomState,
    max_flushes: usize,
    /// Set by the first failure: rows of a failed batch are gone, so no later
    /// checkpoint may claim that everything written is committed.
    failed: bool,
    /// Rows taken by `write` (attempted inserts; replays count too).
    rows: u64,
    /// Rows committed by finished batches.
    written: Written,
}

/// One buffered row; `values` follows the column list as it was when written.
struct Row {
    key: String,
    values: Vec<Param>,
}

/// A batch on its way to the server, with the columns its rows follow.
struct Batch {
    table: String,
    columns: Vec<(String, ColumnType)>,
    rows: Vec<Row>,
    /// Rows dropped because a later row of the batch has the same `_key`.
    superseded: u64,
}

/// Rows a batch inserted and updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Written {
    inserted: u64,
    updated: u64,
}

impl PostgresSink {
    /// Connects, checks the login and creates the table.
    pub(super) async fn open(
        url: &str,
        table: &str,
        columns: &[Column],
        pool_size: usize,
    ) -> Result<PostgresSink, String> {
        let (mut config, tls) = connection(url)?;
        let timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        config.connect_timeout(timeout);
        let pool = pool(&config, tls, pool_size.max(1), timeout)?;
        let client = pool
            .get()
            .await
            .map_err(|e| format!("cannot connect to {} ({})", server(&config), reason(&e)))?;
        let known = create_table(&client, table, columns)
            .await
            .map_err(|e| format!("cannot create table `{table}` ({})", detail(&e)))?;
        drop(client);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        Ok(PostgresSink {
            pool,
            table: table.to_string(),
            column_set: names.iter().cloned().collect(),
            columns: names,
            known,
            misfits: Misfits::new(table),
            buffer: Vec::with_capacity(BATCH_ROWS),
            flushes: JoinSet::new(),
            in_flight: HashMap::new(),
            hasher: RandomState::new(),
            max_flushes: pool_size.max(1),
            failed: false,
            rows: 0,
            written: Written::default(),
        })
    }

    /// Buffers one row, adding columns for fields not seen before.
    ///
    /// Waits only when a batch is due and every flush slot is busy.
    pub(super) async fn write(&mut self, record: &Record) -> Result<(), String> {
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
    pub(super) async fn checkpoint(&mut self) -> Result<u64, String> {
        self.healthy()?;
        let result = self.drain().await;
        self.failed |= result.is_err();
        result.map(|()| self.rows)
    }

    /// Rows the table holds (committed batches only).
    pub(super) async fn count_rows(&self) -> Result<u64, String> {
        let client = self.pool.get().await.map_err(|e| reason(&e))?;
        let sql = format!("SELECT count(*) FROM {}", quote(&self.table));
        let row = client
            .query_one(&sql, &[])
            .await
            .map_err(|e| format!("cannot count the rows of `{}` ({})", self.table, detail(&e)))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    /// The columns the table has.
    pub(super) fn column_names(&self) -> impl Iterator<Item = &String> {
        self.known.keys()
    }

    /// Rows inserted and updated by the batches committed so far.
    pub(super) fn rows_written(&self) -> (u64, u64) {
        (self.written.inserted, self.written.updated)
    }

    /// Checkpoints and closes the pool, on success and failure alike.
    pub(super) async fn finish(mut self) -> Result<(), String> {
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
        let values = self
            .columns
            .iter()
            .map(|c| bind(&self.known, &mut self.misfits, c, record))
            .collect();
        self.buffer.push(Row {
            key: without_nul(row_key(record)),
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
        let missing: Vec<(&str, &str)> = names
            .iter()
            .filter(|n| !self.known.contains_key(*n))
            .map(|n| match n.as_str() {
                MORE => (MORE, sql_type(crate::extract::Kind::Json)),
                n => (n, "TEXT"),
            })
            .collect();
        if !missing.is_empty() {
            let sql = alter_sql(&self.table, &missing);
            let (pool, table) = (&self.pool, &self.table);
            // The columns may have been there already, of another type: read them back.
            self.known = retrying(|| async {
                let client = pool.get().await?;
                match add_and_read(&client, &sql, table).await {
                    Ok(known) => Ok(known),
                    Err(e) => Err(discard(client, e)),
                }
            })
            .await
            .map_err(|e| {
                format!(
                    "cannot add columns to table `{}` ({})",
                    self.table,
                    reason(&e)
                )
            })?;
        }
        for name in names {
            if self.column_set.insert(name.clone()) {
                self.columns.push(name);
            }
        }
        Ok(())
    }

    /// Hands the buffer to a flush task once a slot is free and no batch in
    /// flight holds one of its `_key`s.
    async fn flush_buffer(&mut self) -> Result<(), String> {
        let keys: HashSet<u64> = self
            .buffer
            .iter()
            .map(|r| self.hasher.hash_one(&r.key))
            .collect();
        while self.in_flight.values().any(|k| !k.is_disjoint(&keys)) {
            self.join_one().await?;
        }
        while self.flushes.len() >= self.max_flushes {
            self.join_one().await?;
        }
        let rows = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH_ROWS));
        let (rows, superseded) = last_of_each_key(rows);
        let columns = self
            .columns
            .iter()
            .map(|c| (c.clone(), column_type(&self.known, c).clone()))
            .collect();
        let batch = Batch {
            table: self.table.clone(),
            columns,
            rows,
            superseded,
        };
        let task = self.flushes.spawn(flush(self.pool.clone(), batch));
        self.in_flight.insert(task.id(), keys);
        Ok(())
    }

    /// Waits for one flush task; its failure is this sink's failure.
    ///
    /// Cancel safe: `JoinSet::join_next_with_id` loses no result when dropped.
    async fn join_one(&mut self) -> Result<(), String> {
        let (id, result) = match self.flushes.join_next_with_id().await {
            None => return Ok(()),
            Some(Ok((id, result))) => (id, result),
            Some(Err(e)) => (
                e.id(),
                Err(format!(
                    "a batch for table `{}` did not finish ({e})",
                    self.table
                )),
            ),
        };
        self.in_flight.remove(&id);
        let written = result?;
        self.written.inserted += written.inserted;
        self.written.updated += written.updated;
        Ok(())
    }
}

/// A pool that connects lazily, at most `size` connections, none recycled with a query.
/// Checks a `postgres://` URL as [`PostgresSink::open`] will read it,
/// `sslrootcert` file included, without connecting.
pub(super) fn check_url(url: &str) -> Result<(), String> {
    connection(url).map(drop)
}

/// The driver's settings and the TLS connector a URL asks for.
fn connection(url: &str) -> Result<(Config, MakeRustlsConnect), String> {
    let (rest, tls) = tls::Tls::from_url(url)?;
    let mut config: Config = rest.parse().map_err(|e: tokio_postgres::Error| {
        format!("not a usable PostgreSQL URL ({})", detail(&e))
    })?;
    config.ssl_mode(tls.ssl_mode(&config));
    Ok((config, tls.connector()?))
}

fn pool(
    config: &Config,
    tls: MakeRustlsConnect,
    size: usize,
    timeout: Duration,
) -> Result<Pool, String> {
    let manager = Manager::from_config(
        config.clone(),
        tls,
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

/// Creates the table if needed and adds declared columns it lacks, typed by
/// their kinds; returns the table's columns with their types.
async fn create_table(
    client: &Client,
    table: &str,
    columns: &[Column],
) -> Result<HashMap<String, ColumnType>, tokio_postgres::Error> {
    let mut defs = vec!["\"_key\" TEXT PRIMARY KEY".to_string()];
    defs.extend(
        columns
            .iter()
            .map(|c| format!("{} {}", quote(&c.name), sql_type(c.kind))),
    );
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(table),
            defs.join(", ")
        ))
        .await?;
    let known = column_types(client, table).await?;
    let missing: Vec<(&str, &str)> = columns
        .iter()
        .filter(|c| !known.contains_key(&c.name))
        .map(|c| (c.name.as_str(), sql_type(c.kind)))
        .collect();
    if missing.is_empty() {
        return Ok(known);
    }
    add_and_read(client, &alter_sql(table, &missing), table).await
}

/// Runs an `ALTER TABLE` and reads the table's columns back.
async fn add_and_read(
    client: &Client,
    alter: &str,
    table: &str,
) -> Result<HashMap<String, ColumnType>, tokio_postgres::Error> {
    client.batch_execute(alter).await?;
    column_types(client, table).await
}

/// The table's columns and their types, from the catalog.
async fn column_types(
    client: &Client,
    table: &str,
) -> Result<HashMap<String, ColumnType>, tokio_postgres::Error> {
    // `regclass` finds the table as an unqualified name would, by search_path.
    let rows = client
        .query(
            "SELECT attname::text, atttypid, atttypmod, format_type(atttypid, atttypmod) \
             FROM pg_attribute \
             WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
            &[&quote(table)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let ty = ColumnType::from_catalog(r.get(1), r.get(2), r.get(3));
            (r.get(0), ty)
        })
        .collect())
}

/// `ALTER TABLE t ADD COLUMN IF NOT EXISTS "a" TYPE, …` for `(name, type)` pairs.
fn alter_sql(table: &str, columns: &[(&str, &str)]) -> String {
    let adds: Vec<String> = columns
        .iter()
        .map(|(name, ty)| format!("ADD COLUMN IF NOT EXISTS {} {ty}", quote(name)))
        .collect();
    format!("ALTER TABLE {} {}", quote(table), adds.join(", "))
}

/// A column's type; every column written was read from the catalog after
/// it was created, so the fallback is for a table changed behind trawl's back.
fn column_type<'a>(known: &'a HashMap<String, ColumnType>, column: &str) -> &'a ColumnType {
    static TEXT: ColumnType = ColumnType::Text { max: None };
    known.get(column).unwrap_or(&TEXT)
}

/// The record's value for `column`, bound as the column's type; NULL (and a
/// warning, once per column) when it does not fit.
fn bind(
    known: &HashMap<String, ColumnType>,
    misfits: &mut Misfits,
    column: &str,
    record: &Record,
) -> Param {
    let value = record.get(column);
    let ty = column_type(known, column);
    ty.param(value).unwrap_or_else(|| {
        misfits.note(column, &ty.name(), value);
        ty.null()
    })
}

/// The batch's rows with only the last of each `_key`, in order; and how many were dropped.
fn last_of_each_key(rows: Vec<Row>) -> (Vec<Row>, u64) {
    let last: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.key.as_str(), i))
        .collect();
    if last.len() == rows.len() {
        return (rows, 0);
    }
    let keep: Vec<bool> = (0..rows.len())
        .map(|i| last[rows[i].key.as_str()] == i)
        .collect();
    let dropped = (rows.len() - last.len()) as u64;
    let rows = rows
        .into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .collect();
    (rows, dropped)
}

/// Upserts one batch, retrying transient failures; the error names the table.
async fn flush(pool: Pool, batch: Batch) -> Result<Written, String> {
    let mut written = retrying(|| upsert(&pool, &batch)).await.map_err(|e| {
        format!(
            "cannot insert into table `{}` ({})",
            batch.table,
            reason(&e)
        )
    })?;
    // A record superseded within its batch wrote its row, in effect, before
    // the last one overwrote it.
    written.updated += batch.superseded;
    Ok(written)
}

/// One attempt: the whole batch in one transaction on one pooled connection.
async fn upsert(pool: &Pool, batch: &Batch) -> Result<Written, Failure> {
    let mut client = pool.get().await?;
    match upsert_on(&mut client, batch).await {
        Ok(written) => Ok(written),
        Err(e) => Err(discard(client, e)),
    }
}

async fn upsert_on(client: &mut Client, batch: &Batch) -> Result<Written, tokio_postgres::Error> {
    let written: Vec<usize> = (0..batch.columns.len())
        .filter(|&i| batch.columns[i].1.is_written())
        .collect();
    // Rows buffered before a column appeared lack it: NULL of its type.
    let nulls: Vec<Param> = batch.columns.iter().map(|(_, ty)| ty.null()).collect();
    let width = written.len() + 1;
    let per_statement = (MAX_PARAMS / width).max(1);
    let mut counts = Written::default();
    let tx = client.transaction().await?;
    for chunk in batch.rows.chunks(per_statement) {
        let statement = tx
            .prepare_cached(&upsert_sql(&batch.table, &batch.columns, chunk.len()))
            .await?;
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * width);
        for row in chunk {
            params.push(&row.key);
            params.extend(
                written
                    .iter()
                    .map(|&i| row.values.get(i).unwrap_or(&nulls[i]).as_sql()),
            );
        }
        for inserted in tx.query(&statement, &params).await? {
            match inserted.get::<_, bool>(0) {
                true => counts.inserted += 1,
                false => counts.updated += 1,
            }
        }
    }
    tx.commit().await?;
    Ok(counts)
}

/// `INSERT INTO t ("_key", …) VALUES ($1, …), (…) ON CONFLICT ("_key") DO
/// UPDATE SET … RETURNING (xmax = 0)`, over the columns trawl writes.
fn upsert_sql(table: &str, columns: &[(String, ColumnType)], rows: usize) -> String {
    let written: Vec<&(String, ColumnType)> =
        columns.iter().filter(|(_, ty)| ty.is_written()).collect();
    let width = written.len() + 1;
    let names: Vec<String> = std::iter::once(quote("_key"))
        .chain(written.iter().map(|(c, _)| quote(c)))
        .collect();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let first = r * width + 1;
            let marks: Vec<String> = std::iter::once(format!("${first}"))
                .chain(
                    written
                        .iter()
                        .enumerate()
                        .map(|(c, (_, ty))| ty.placeholder(first + 1 + c)),
                )
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let updated: Vec<String> = written.iter().map(|(c, _)| c.clone()).collect();
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT (\"_key\") DO UPDATE SET {} \
         RETURNING (xmax = 0)",
        quote(table),
        names.join(", "),
        tuples.join(", "),
        update_set(&updated, "EXCLUDED")
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
        if let Some(why) = io.get_ref().and_then(|e| tls::certificate_problem(e)) {
            return why;
        }
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

/// The URL without its password (in the user part or `?password=`), for messages.
pub(super) fn redact(url: &str) -> String {
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
    fn upserts_number_every_parameter_and_skip_columns_not_written() {
        let text = ColumnType::Text { max: None };
        let columns = vec![
            ("a".to_string(), text.clone()),
            ("d".to_string(), ColumnType::Other("date".into())),
            ("b\"c".to_string(), ColumnType::Numeric { limit: None }),
        ];
        assert_eq!(
            upsert_sql("t", &columns, 2),
            "INSERT INTO \"t\" (\"_key\", \"a\", \"b\"\"c\") \
             VALUES ($1, $2, $3::text::numeric), ($4, $5, $6::text::numeric) \
             ON CONFLICT (\"_key\") DO UPDATE SET \"a\" = EXCLUDED.\"a\", \"b\"\"c\" = EXCLUDED.\"b\"\"c\" \
             RETURNING (xmax = 0)"
        );
        assert!(upsert_sql("t", &[], 1).contains(
            "VALUES ($1) ON CONFLICT (\"_key\") DO UPDATE SET \"_key\" = EXCLUDED.\"_key\""
        ));
    }

    #[test]
    fn a_batch_keeps_the_last_row_of_each_key_in_order() {
        let row = |key: &str, value: i64| Row {
            key: key.to_string(),
            values: vec![Param::Int8(Some(value))],
        };
        let rows = vec![
            row("a", 1),
            row("b", 2),
            row("a", 3),
            row("c", 4),
            row("b", 5),
        ];
        let (kept, dropped) = last_of_each_key(rows);
        let kept: Vec<(&str, &Param)> = kept
            .iter()
            .map(|r| (r.key.as_str(), &r.values[0]))
            .collect();
        assert_eq!(
            kept,
            [
                ("a", &Param::Int8(Some(3))),
                ("c", &Param::Int8(Some(4))),
                ("b", &Param::Int8(Some(5)))
            ]
        );
        assert_eq!(dropped, 2);
    }
}
