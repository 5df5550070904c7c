//! WHERE records go: JSON Lines, CSV or a JSON array on stdout or in a file,
//! or rows in SQLite or PostgreSQL.
//!
//! A sink is opened before the crawl starts (so a bad path or an unreachable
//! database fails before any request), takes records with [`Sink::write`],
//! makes what it has taken durable with [`Sink::checkpoint`] (the step a
//! resumable crawl commits after), and is closed with [`Sink::finish`]. If a
//! sink is dropped without `finish`, `Drop` still closes a JSON array and
//! flushes what it can; database transactions not checkpointed roll back.
//!
//! Database rows carry a `_key` as their primary key: the record's identity
//! when the spider declares `key` (SPEC §6), else its position (list page and
//! item). Every write is an upsert on `_key`, so a later crawl into the same
//! table updates the rows it finds again and adds the new ones, and a replay
//! after a resume rewrites the same values, never a second row. Declared
//! columns are typed by their [`Kind`]; values are converted to whatever type
//! a column of an existing table has (see `cell`).

mod cell;
#[cfg(test)]
mod db_tests;
mod digest;
mod files;
mod mark;
mod names;
mod postgres;
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::crawl::Record;
pub use crate::extract::Kind;
use digest::{Prefix, Tracked};
use files::{CsvWriter, JsonArrayWriter, JsonLinesWriter};
pub use mark::{Mark, Tamper};

/// Where `-o` says records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// JSON Lines on stdout (the default).
    Stdout,
    /// JSON Lines in a file (`.jsonl`).
    JsonLines(PathBuf),
    /// CSV with a header of field names (`.csv`).
    Csv(PathBuf),
    /// One JSON array (`.json`).
    Json(PathBuf),
    /// A table in an SQLite database file (`sqlite:PATH`).
    Sqlite(PathBuf),
    /// A table in PostgreSQL (`postgres://…`).
    Postgres(String),
}

impl Target {
    /// Reads an `-o` value: `-` is stdout, `sqlite:PATH` an SQLite file,
    /// `postgres://…` a PostgreSQL database, and a path is a file whose
    /// extension (`.jsonl` or `.ndjson`, `.csv`, `.json`) says the format.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use trawl::sink::Target;
    ///
    /// assert_eq!(Target::parse("posts.csv"), Ok(Target::Csv(PathBuf::from("posts.csv"))));
    /// assert_eq!(Target::parse("sqlite:out/posts.db"), Ok(Target::Sqlite("out/posts.db".into())));
    /// assert!(Target::parse("posts.txt").unwrap_err().contains("expected a file ending in .jsonl"));
    /// ```
    ///
    /// # Errors
    /// A message that names the value and what was expected.
    pub fn parse(text: &str) -> Result<Target, String> {
        if text == "-" {
            return Ok(Target::Stdout);
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            return sqlite_path(text, rest).map(Target::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            postgres::check_url(text).map_err(|e| format!("`{}`: {e}", postgres::redact(text)))?;
            return Ok(Target::Postgres(text.to_string()));
        }
        let path = PathBuf::from(text);
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl") | Some("ndjson") => Ok(Target::JsonLines(path)),
            Some("csv") => Ok(Target::Csv(path)),
            Some("json") => Ok(Target::Json(path)),
            _ => Err(format!(
                "`{text}`: expected a file ending in .jsonl, .csv or .json, sqlite:PATH, postgres://…, or - for stdout"
            )),
        }
    }

    /// Whether the output can be cut back to a committed position on resume.
    pub fn is_resumable(&self) -> bool {
        !matches!(self, Target::Stdout)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Stdout => f.write_str("stdout"),
            Target::JsonLines(p) | Target::Csv(p) | Target::Json(p) => write!(f, "{}", p.display()),
            Target::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Target::Postgres(url) => f.write_str(&postgres::redact(url)),
        }
    }
}

/// An output that failed, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {message}")]
pub struct SinkError {
    target: String,
    message: String,
    closed: bool,
    tampered: bool,
}

impl SinkError {
    fn new(target: &Target, message: impl fmt::Display) -> SinkError {
        SinkError {
            target: target.to_string(),
            message: message.to_string(),
            closed: false,
            tampered: false,
        }
    }

    fn tampered(target: &Target, tamper: Tamper) -> SinkError {
        let mut error = SinkError::new(
            target,
            format!("{tamper}, outside trawl; restore it, or delete the state directory to start afresh"),
        );
        error.tampered = true;
        error
    }

    /// Whether the output no longer holds what the state committed: deleted,
    /// replaced, shortened or edited, or its table dropped or emptied. At
    /// start this is the user's to sort out (exit 2); nothing was written.
    pub fn is_tampered(&self) -> bool {
        self.tampered
    }

    /// Whether the reader went away: stdout was closed early (`trawl crawl
    /// s.toml | head`). Not a fault: the crawl stops quietly (SPEC §10).
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

/// An I/O failure on a file output, as the message a [`SinkError`] carries;
/// a broken pipe on stdout marks the error `closed`.
fn io_failure(target: &Target, error: std::io::Error) -> SinkError {
    let mut failure = SinkError::new(target, &error);
    failure.closed = *target == Target::Stdout && error.kind() == std::io::ErrorKind::BrokenPipe;
    failure
}

/// A declared field as an output column: its name, and the kind of value it
/// holds.
///
/// The kind types a database column when the sink creates it:
///
/// | [`Kind`] | SQLite | PostgreSQL |
/// |---|---|---|
/// | `Text` | `TEXT` | `TEXT` |
/// | `Int` | `INTEGER` | `BIGINT` |
/// | `Number` | `REAL` | `DOUBLE PRECISION` |
/// | `Bool` | `INTEGER` (0 or 1) | `BOOLEAN` |
/// | `Json` | `TEXT` (JSON text) | `JSONB` |
///
/// A column that exists already keeps its type. Fields that whole-item JSON
/// records bring at run time get columns of their own: untyped in SQLite
/// (each value keeps its own type), `TEXT` in PostgreSQL.
///
/// Values are converted to the type the column has, so no value fails a
/// write: into text, strings as they are and anything else as its JSON text;
/// into a number column, numbers and numeric strings (`" 12 "`, `"2.5"`).
/// A value that fits its column nowhere (`"n/a"` for an integer, `1.5` for
/// a `BIGINT`, 5 000 000 000 for an `integer`, text longer than a
/// `varchar(n)`) is written as NULL, with one warning per column naming it and
/// the table. A PostgreSQL column of a type trawl does not write (a `date`,
/// an array, an enum …) is left out of every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The field's name, which is the column's.
    pub name: String,
    /// What its values are.
    pub kind: Kind,
}

impl Column {
    /// A column of `name` holding `kind`.
    pub fn new(name: impl Into<String>, kind: Kind) -> Column {
        Column {
            name: name.into(),
            kind,
        }
    }
}

/// How to open a sink.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// The spider's fields in record order (CSV header, table columns).
    pub columns: Vec<Column>,
    /// The table name for databases (the spider's name; sanitised).
    pub table: String,
    /// Resuming: the committed position to continue from.
    pub resume_at: Option<u64>,
    /// Resuming: what the state committed of the output
    /// ([`Saved::sink_mark`](crate::state::Saved::sink_mark)), checked before
    /// anything is written; `None` checks only the length.
    pub resume_mark: Option<Mark>,
    /// PostgreSQL connections at most (default 4 when 0).
    pub pool_size: usize,
}

impl SinkOptions {
    /// Options for `spider`'s records: its fields in record order, typed by
    /// the spider, as columns, and its name as the table. Not resuming; see
    /// [`Sink`] for an example.
    pub fn for_spider(spider: &crate::Spider) -> SinkOptions {
        SinkOptions {
            columns: spider
                .columns()
                .into_iter()
                .map(|(name, kind)| Column::new(name, kind))
                .collect(),
            table: spider.name.clone(),
            ..SinkOptions::default()
        }
    }
}

/// An open output: records go in with [`write`](Sink::write), are made
/// durable by [`checkpoint`](Sink::checkpoint), and the output is closed by
/// [`finish`](Sink::finish).
///
/// Open it before the crawl starts, so that a bad path or an unreachable
/// database fails before any request. A [`Job`](crate::job::Job) does all
/// of this, and resumes; a sink by hand is for a caller who handles the
/// records itself:
///
/// ```
/// use futures::StreamExt;
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::sink::{Sink, SinkOptions, Target};
/// use trawl::{Crawl, CrawlOptions, Spider};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?; // 3 pages of 5 posts
/// let spider = Spider::from_toml(&format!(r#"
///     start = "{}/blog/page/{{page}}"
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     [limits]
///     rate = 0                          # unlimited: the demo site is local
///     "#, site.base_url()), "inline", "blog")?;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("posts.db");
/// let target = Target::parse(&format!("sqlite:{}", path.display()))?;
///
/// let mut sink = Sink::open(target, SinkOptions::for_spider(&spider)).await?; // table `blog`
/// let mut crawl = Crawl::start(spider, CrawlOptions::default())?;
/// while let Some(record) = crawl.next().await {
///     sink.write(&record?).await?;
/// }
/// sink.checkpoint().await?;
/// assert_eq!(sink.rows_written(), Some((15, 0))); // (inserted, updated)
/// sink.finish().await?;
///
/// // Any SQLite client reads it: one row a record, keyed by `_key`.
/// let db = rusqlite::Connection::open(&path)?;
/// let rows: u64 = db.query_row("SELECT count(*) FROM blog", [], |row| row.get(0))?;
/// assert_eq!(rows, 15);
/// # Ok(()) }
/// ```
pub struct Sink {
    target: Target,
    writer: Writer,
    /// The last mark handed out (or resumed from), checked at the next one.
    mark: Option<Mark>,
    /// Rows the table held when opened (databases).
    rows_at_open: u64,
    /// The table (databases).
    table: String,
    /// Checkpoints until the next count of a PostgreSQL table's rows.
    count_in: u64,
    /// What a file held at the last page boundary ([`Sink::position`]).
    boundary: Option<Prefix>,
    /// Field names to column names (databases).
    names: Option<names::ColumnNames>,
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("target", &self.target)
            .field("rows_at_open", &self.rows_at_open)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL table's rows are counted at every checkpoint while it holds
/// fewer than this many, and at every n-th for n times as many: a count
/// takes ~15 ms per 100,000 rows (measured: 130–175 ms for 1,000,000 rows
/// of five text columns), so checking costs at most ~1.5% of a crawl that
/// commits once a second.
const ROWS_PER_COUNT: u64 = 100_000;

enum Writer {
    Lines(JsonLinesWriter),
    Csv(Box<CsvWriter>),
    Array(JsonArrayWriter),
    Sqlite(Box<sqlite::SqliteSink>),
    Postgres(Box<postgres::PostgresSink>),
}

impl Sink {
    /// Opens `target`, creating what it needs: the file (created empty,
    /// or, resuming, cut back to [`SinkOptions::resume_at`]), or the table
    /// with `_key` and a column per field (an existing table is kept, and
    /// gains the columns it lacks). See [`Sink`] for an example.
    ///
    /// # Errors
    /// A [`SinkError`] naming the output: a file that cannot be created, a
    /// database that cannot be opened or reached, a table that cannot be
    /// made; when resuming, an output changed since the commit
    /// ([`SinkError::is_tampered`]).
    pub async fn open(target: Target, options: SinkOptions) -> Result<Sink, SinkError> {
        let fail = |e: &dyn fmt::Display| SinkError::new(&target, e);
        let resumed = options.resume_at.map(|position| {
            let mark = options.resume_mark.clone().unwrap_or_default();
            Mark { position, ..mark }
        });
        let start = match &resumed {
            Some(mark) => check_before_open(&target, &table_name(&options.table), mark)?,
            None => Prefix::default(),
        };
        let file = |path: &Path| {
            files::open_at(path, options.resume_at)
                .map(|file| Tracked::new(file, start))
                .map_err(|e| fail(&format!("cannot open the file for writing ({e})")))
        };
        // Databases: the spider's fields under their columns' names.
        let mut names = names::ColumnNames::new(max_field_columns(&target));
        let table = table_name(&options.table);
        let db_columns: Vec<Column> = options
            .columns
            .iter()
            .map(|c| Column {
                name: names.column(&c.name),
                kind: c.kind,
            })
            .collect();
        let writer = match &target {
            Target::Stdout => Writer::Lines(JsonLinesWriter::stdout()),
            Target::JsonLines(path) => Writer::Lines(JsonLinesWriter::file(file(path)?)),
            Target::Csv(path) => {
                let resumed = options.resume_at.is_some_and(|p| p > 0);
                let mut names: Vec<String> =
                    options.columns.iter().map(|c| c.name.clone()).collect();
                if resumed && names.is_empty() {
                    names = files::csv_header(path)
                        .map_err(|e| fail(&format!("cannot read the CSV header back ({e})")))?;
                }
                Writer::Csv(Box::new(CsvWriter::new(file(path)?, path, names, resumed)))
            }
            Target::Json(path) => Writer::Array(JsonArrayWriter::new(
                file(path)?,
                options.resume_at.unwrap_or(0),
            )),
            Target::Sqlite(path) => Writer::Sqlite(Box::new(
                sqlite::SqliteSink::open(path, &table, &db_columns).map_err(|e| fail(&e))?,
            )),
            Target::Postgres(url) => {
                let pool = if options.pool_size == 0 {
                    4
                } else {
                    options.pool_size
                };
                let sink = postgres::PostgresSink::open(url, &table, &db_columns, pool)
                    .await
                    .map_err(|e| fail(&e))?;
                Writer::Postgres(Box::new(sink))
            }
        };
        match &writer {
            Writer::Sqlite(w) => names.existing(w.column_names()),
            Writer::Postgres(w) => names.existing(w.column_names()),
            _ => {}
        }
        let names = matches!(writer, Writer::Sqlite(_) | Writer::Postgres(_)).then_some(names);
        let mut sink = Sink {
            target,
            writer,
            mark: resumed,
            rows_at_open: 0,
            table,
            count_in: 0,
            boundary: None,
            names,
        };
        sink.rows_at_open = sink.count_rows().await?;
        sink.count_in = (sink.rows_at_open / ROWS_PER_COUNT).max(1);
        if let (
            Some(Mark {
                rows: Some(committed),
                ..
            }),
            Target::Postgres(_),
        ) = (&sink.mark, &sink.target)
        {
            // Checked after opening: a dropped table has been made again, empty.
            if sink.rows_at_open < *committed {
                let tamper = Tamper::FewerRows {
                    table: sink.table.clone(),
                    found: sink.rows_at_open,
                    committed: *committed,
                };
                return Err(SinkError::tampered(&sink.target, tamper));
            }
        }
        Ok(sink)
    }

    /// Rows in a database's table; 0 for files.
    async fn count_rows(&mut self) -> Result<u64, SinkError> {
        let result = match &mut self.writer {
            Writer::Sqlite(w) => w.count_rows(),
            Writer::Postgres(w) => w.count_rows().await,
            Writer::Lines(_) | Writer::Csv(_) | Writer::Array(_) => Ok(0),
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// What the output holds up to `position` (where the last whole page
    /// ends), for the state to commit: call it after [`Sink::checkpoint`].
    ///
    /// First checks that the output still holds what the previous mark
    /// said, so a file deleted, replaced, shortened or edited where the last
    /// commit ended, or a table dropped or holding fewer rows than trawl
    /// committed, is refused ([`SinkError::is_tampered`]) before anything
    /// more is committed. An SQLite table is counted only when another
    /// connection has changed the database since the last look; a
    /// PostgreSQL table at every checkpoint up to 100,000 rows, and at every
    /// n-th for n × 100,000 (a count of a large table each second would cost
    /// too much). Edits earlier in a file are caught at resume, which reads
    /// the whole committed part back.
    pub async fn mark(&mut self, position: u64) -> Result<Mark, SinkError> {
        let mark = match (&self.target, self.writer.file()) {
            (Target::JsonLines(path) | Target::Csv(path) | Target::Json(path), Some(open)) => {
                if let Some(previous) = &self.mark {
                    mark::check_file(path, previous, Some(open))
                        .map_err(|tamper| SinkError::tampered(&self.target, tamper))?;
                }
                let mut mark = mark::of_file(path, position).map_err(|e| {
                    SinkError::new(
                        &self.target,
                        format!("cannot read back what was written ({e})"),
                    )
                })?;
                mark.prefix = self.prefix_at(position);
                mark
            }
            _ => {
                let rows = self
                    .rows_written()
                    .map(|(inserted, _)| self.rows_at_open + inserted);
                if let Some(committed) = rows {
                    self.check_rows(committed).await?;
                }
                Mark {
                    position,
                    rows,
                    ..Mark::default()
                }
            }
        };
        self.mark = Some(mark.clone());
        Ok(mark)
    }

    /// The CRC-32 of a file's first `position` bytes, if `position` is where
    /// the last page ended or everything written so far ends.
    fn prefix_at(&self, position: u64) -> Option<u32> {
        [self.boundary, self.writer.prefix()]
            .into_iter()
            .flatten()
            .find(|prefix| prefix.len == position)
            .map(|prefix| prefix.crc)
    }

    /// Checks, now and then (see [`Sink::mark`]), that the table holds at
    /// least the `committed` rows.
    async fn check_rows(&mut self, committed: u64) -> Result<(), SinkError> {
        let found = match &mut self.writer {
            Writer::Sqlite(w) => w.rows_if_changed(),
            Writer::Postgres(w) if self.count_in <= 1 => {
                let found = w.count_rows().await;
                if let Ok(rows) = found {
                    self.count_in = (rows / ROWS_PER_COUNT).max(1);
                }
                found.map(Some)
            }
            Writer::Postgres(_) => {
                self.count_in -= 1;
                Ok(None)
            }
            Writer::Lines(_) | Writer::Csv(_) | Writer::Array(_) => Ok(None),
        }
        .map_err(|e| SinkError::new(&self.target, e))?;
        match found {
            Some(found) if found < committed => {
                let tamper = Tamper::FewerRows {
                    table: self.table.clone(),
                    found,
                    committed,
                };
                Err(SinkError::tampered(&self.target, tamper))
            }
            _ => Ok(()),
        }
    }

    /// Writes one record (buffered until the next checkpoint).
    pub async fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        let renamed = self.names.as_mut().and_then(|names| names.row(record));
        let record = renamed.as_ref().unwrap_or(record);
        let result = match &mut self.writer {
            Writer::Lines(w) => return w.write(record).map_err(|e| io_failure(&self.target, e)),
            Writer::Csv(w) => w.write(record).map_err(|e| e.to_string()),
            Writer::Array(w) => w.write(record).map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.write(record),
            Writer::Postgres(w) => w.write(record).await,
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Makes every record written so far durable; returns the position a
    /// resume continues from (bytes for files, rows for databases).
    pub async fn checkpoint(&mut self) -> Result<u64, SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => return w.checkpoint().map_err(|e| io_failure(&self.target, e)),
            Writer::Csv(w) => w.checkpoint().map_err(|e| e.to_string()),
            Writer::Array(w) => w.checkpoint().map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.checkpoint(),
            Writer::Postgres(w) => w.checkpoint().await,
        };
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// The position after everything written so far: flushed, not yet synced.
    /// At a page boundary this is where a resume may cut back to.
    pub async fn position(&mut self) -> Result<u64, SinkError> {
        let result = match &mut self.writer {
            Writer::Lines(w) => w.position().map_err(|e| e.to_string()),
            Writer::Csv(w) => w.position().map_err(|e| e.to_string()),
            Writer::Array(w) => w.position().map_err(|e| e.to_string()),
            Writer::Sqlite(_) | Writer::Postgres(_) => Ok(0),
        };
        // Noted for the mark of a checkpoint that ends here.
        self.boundary = self.writer.prefix();
        result.map_err(|e| SinkError::new(&self.target, e))
    }

    /// Flushes, closes the array if there is one, syncs, and closes connections.
    pub async fn finish(self) -> Result<(), SinkError> {
        let target = self.target;
        let result = match self.writer {
            Writer::Lines(mut w) => {
                return w.checkpoint().map(drop).map_err(|e| io_failure(&target, e))
            }
            Writer::Csv(w) => w.finish().map_err(|e| e.to_string()),
            Writer::Array(w) => w.finish().map_err(|e| e.to_string()),
            Writer::Sqlite(w) => w.finish(),
            Writer::Postgres(w) => w.finish().await,
        };
        result.map_err(|e| SinkError::new(&target, e))
    }

    /// Where this sink writes.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Rows a database has committed so far, as `(inserted, updated)`; `None`
    /// for files. Call it after [`Sink::checkpoint`] for a count of everything
    /// written: before that, rows still buffered or in an open transaction are
    /// not counted.
    ///
    /// A record whose `_key` an earlier record of the same run took counts as
    /// an update, as does every row of a replay after a resume.
    pub fn rows_written(&self) -> Option<(u64, u64)> {
        match &self.writer {
            Writer::Sqlite(w) => Some(w.rows_written()),
            Writer::Postgres(w) => Some(w.rows_written()),
            Writer::Lines(_) | Writer::Csv(_) | Writer::Array(_) => None,
        }
    }
}

impl Writer {
    /// The file written to, for file outputs.
    fn file(&self) -> Option<&std::fs::File> {
        match self {
            Writer::Lines(w) => w.open_file(),
            Writer::Csv(w) => Some(w.open_file()),
            Writer::Array(w) => w.open_file(),
            Writer::Sqlite(_) | Writer::Postgres(_) => None,
        }
    }

    /// What a file output holds (once flushed).
    fn prefix(&self) -> Option<Prefix> {
        match self {
            Writer::Lines(w) => w.prefix(),
            Writer::Csv(w) => Some(w.prefix()),
            Writer::Array(w) => w.prefix(),
            Writer::Sqlite(_) | Writer::Postgres(_) => None,
        }
    }
}

/// The most field columns a table of `target` gets (besides `_key` and
/// `_more`); past it, fields go into `_more` (see `names`).
fn max_field_columns(target: &Target) -> usize {
    match target {
        Target::Sqlite(_) => sqlite::MAX_FIELD_COLUMNS,
        Target::Postgres(_) => postgres::MAX_FIELD_COLUMNS,
        _ => usize::MAX,
    }
}

/// Checks, before opening it, that a resumed output holds what `mark`
/// committed; for a file, reads its committed part back (checked against
/// the mark's CRC-32 of it) so that writing goes on from it. (PostgreSQL is
/// checked once connected, in [`Sink::open`].)
fn check_before_open(target: &Target, table: &str, mark: &Mark) -> Result<Prefix, SinkError> {
    let tampered = |tamper| SinkError::tampered(target, tamper);
    match target {
        Target::JsonLines(path) | Target::Csv(path) | Target::Json(path) => {
            mark::check_file(path, mark, None).map_err(tampered)?;
            let prefix = digest::read(path, mark.position).map_err(|e| {
                SinkError::new(
                    target,
                    format!("cannot read back the committed part of the file ({e})"),
                )
            })?;
            if mark.prefix.is_some_and(|crc| crc != prefix.crc) {
                return Err(tampered(Tamper::Edited(mark.position)));
            }
            Ok(prefix)
        }
        Target::Sqlite(path) => match mark.rows {
            Some(committed) => sqlite::check_rows(path, table, committed)
                .map(|()| Prefix::default())
                .map_err(tampered),
            None => Ok(Prefix::default()),
        },
        Target::Stdout | Target::Postgres(_) => Ok(Prefix::default()),
    }
}

/// The file of an `sqlite:` output (SPEC §10): `sqlite:PATH`, or as
/// SQLAlchemy writes URLs, `sqlite:///relative.db` and `sqlite:////absolute.db`.
/// Any other `sqlite://` form (a host, `sqlite://x.db`) is refused rather than
/// guessed at: it once wrote `/x.db` at the filesystem root.
fn sqlite_path(text: &str, rest: &str) -> Result<PathBuf, String> {
    let path = match rest.strip_prefix("//") {
        None => rest,
        Some(url_path) => url_path.strip_prefix('/').ok_or_else(|| {
            format!(
                "`{text}`: expected sqlite:PATH, sqlite:///relative/path.db or \
                 sqlite:////absolute/path.db (an sqlite:// URL has no host)"
            )
        })?,
    };
    if path.is_empty() {
        return Err(format!(
            "`{text}`: expected a database file after `sqlite:`"
        ));
    }
    Ok(PathBuf::from(path))
}

/// A spider name as an SQL identifier: letters, digits and `_`, not starting with a digit.
pub(crate) fn table_name(name: &str) -> String {
    let mut table: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if table.is_empty() || table.starts_with(|c: char| c.is_ascii_digit()) {
        table.insert_str(0, "t_");
    }
    table
}

/// A double-quoted SQL identifier (SQLite and PostgreSQL alike).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The `DO UPDATE SET` list of an upsert, SQLite and PostgreSQL alike:
/// `a = excluded.a, …`; with no column but `_key`, a no-op that still counts
/// as an update.
pub(crate) fn update_set(columns: &[String], excluded: &str) -> String {
    if columns.is_empty() {
        return format!("\"_key\" = {excluded}.\"_key\"");
    }
    columns
        .iter()
        .map(|c| format!("{0} = {excluded}.{0}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The primary key of a record's row, `_key`: its identity (the spider's
/// `key`) when it has one, else its position, `"page:index"` (list page
/// position and item position).
pub(crate) fn row_key(record: &Record) -> String {
    match record.identity() {
        Some(identity) => identity.to_string(),
        None => {
            let (page, index) = record.key();
            format!("{page}:{index}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::parse("-"), Ok(Target::Stdout));
        assert_eq!(
            Target::parse("out.jsonl"),
            Ok(Target::JsonLines("out.jsonl".into()))
        );
        assert_eq!(Target::parse("a/b.CSV"), Ok(Target::Csv("a/b.CSV".into())));
        assert_eq!(Target::parse("x.json"), Ok(Target::Json("x.json".into())));
        assert_eq!(
            Target::parse("sqlite:x.db"),
            Ok(Target::Sqlite("x.db".into()))
        );
        assert!(matches!(
            Target::parse("postgres://u@h/db"),
            Ok(Target::Postgres(_))
        ));
        assert!(Target::parse("x.xml")
            .unwrap_err()
            .contains(".jsonl, .csv or .json"));
        assert!(Target::parse("sqlite:").is_err());
        let sqlite = |text: &str| match Target::parse(text) {
            Ok(Target::Sqlite(path)) => Ok(path.display().to_string()),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(sqlite("sqlite:data/x.db"), Ok("data/x.db".into()));
        assert_eq!(sqlite("sqlite:///rel/x.db"), Ok("rel/x.db".into()));
        assert_eq!(sqlite("sqlite:////abs/x.db"), Ok("/abs/x.db".into()));
        assert_eq!(sqlite("sqlite:/abs/x.db"), Ok("/abs/x.db".into()));
        for bad in [
            "sqlite://x.db",
            "sqlite://host/x.db",
            "sqlite:///",
            "sqlite://",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(
                err.contains("sqlite:///relative") || err.contains("database file"),
                "{bad}: {err}"
            );
        }
    }

    fn item(index: u32, fields: serde_json::Value) -> Record {
        let serde_json::Value::Object(fields) = fields else {
            panic!("an object")
        };
        Record::new(fields, crate::crawl::OrderKey::list_page(0), index)
    }

    #[tokio::test]
    async fn a_resumed_whole_item_csv_keeps_the_header_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut sink = Sink::open(Target::Csv(path.clone()), SinkOptions::default())
            .await
            .unwrap();
        sink.write(&item(0, serde_json::json!({"a": 1})))
            .await
            .unwrap();
        let position = sink.checkpoint().await.unwrap();
        let mark = sink.mark(position).await.unwrap();
        assert_eq!(mark.prefix, Some(crc32fast::hash(b"a\n1\n")));
        drop(sink);
        let resumed = SinkOptions {
            resume_at: Some(position),
            resume_mark: Some(mark),
            ..SinkOptions::default()
        };
        let mut sink = Sink::open(Target::Csv(path.clone()), resumed)
            .await
            .unwrap();
        sink.write(&item(1, serde_json::json!({"b": 2, "a": 3})))
            .await
            .unwrap();
        sink.finish().await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n1\n3\n");
    }

    #[test]
    fn table_names_are_safe_identifiers() {
        assert_eq!(table_name("blog"), "blog");
        assert_eq!(table_name("My Blog-2"), "my_blog_2");
        assert_eq!(table_name("2024 posts"), "t_2024_posts");
        assert_eq!(table_name("x\"; drop table y"), "x___drop_table_y");
    }
}
