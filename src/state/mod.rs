//! RESUME: a crawl's committed progress, kept in an embedded SQLite database.
//!
//! Records leave the engine in discovery order and a list page's records
//! are followed by its `PageDone`, so what has been written is always a
//! prefix of the crawl: whole pages, then part of one. A checkpoint makes the
//! sink durable first (flush + fsync, or a database commit) and then, in one
//! transaction here, records the sink's position, the pages now done, the
//! detail pages they fetched and the requests they discovered (the frontier:
//! every page not yet done, at every level). A rerun cuts the
//! output back to that position and continues from there: records of the
//! page that was half written are dropped and written again, nothing
//! committed is fetched or written twice.

mod lock;

use std::path::{Path, PathBuf};

use crate::crawl::{OrderKey, PageDone, Request, Resume};
use crate::extract::Fields;
use crate::sink::Mark;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) use lock::StateLock;
pub use lock::LOCK_FILE;

/// The state file inside the state directory.
pub const STATE_FILE: &str = "trawl-state.sqlite";
/// Marks a database as trawl's, and which layout it has.
const FORMAT: &str = "trawl-state-2";
/// The layout before levels: one paging cursor instead of a frontier.
const FORMAT_1: &str = "trawl-state-1";

/// A state directory that cannot be used, saying what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The directory or database cannot be opened or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file is not a trawl state database, or is damaged.
    #[error("{path}: not a usable trawl state file ({reason}); point --state at another directory, or delete this one to start afresh")]
    Unusable {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The spider file or output changed since the state was written.
    #[error("{dir}: this state belongs to a different {what}; rerun with the original one, or delete {dir} to start afresh")]
    Changed {
        /// The state directory.
        dir: PathBuf,
        /// `spider file` or `output`.
        what: &'static str,
    },
    /// Another trawl process holds the directory.
    #[error("{}", locked_message(dir, *pid))]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },
}

fn locked_message(dir: &Path, pid: Option<u32>) -> String {
    let holder = match pid {
        Some(pid) => format!("trawl process {pid}"),
        None => "another trawl process".to_string(),
    };
    format!(
        "{} is in use by {holder}; wait for it or stop it",
        dir.display()
    )
}

impl StateError {
    /// Whether the user's arguments are at fault (exit 2) rather than the machine (exit 1).
    pub fn is_usage(&self) -> bool {
        !matches!(self, StateError::Io { .. })
    }
}

/// What an earlier run committed.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    /// Where to continue; `None` for a fresh crawl.
    pub resume: Option<Resume>,
    /// The sink's committed position.
    pub sink_position: u64,
    /// What the sink held at the last commit, to check it is still there
    /// before resuming (`None` from a trawl that did not record it).
    pub sink_mark: Option<Mark>,
    /// Records committed so far.
    pub records: u64,
    /// The crawl ran to its end.
    pub complete: bool,
}

/// Pages done since the last checkpoint, waiting to be committed.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pages: Vec<PageDone>,
    records: u64,
    /// The crawl's cookie jar as text (`cookies = true`), kept with the pages.
    cookies: Option<String>,
}

impl Pending {
    /// Adds a page whose records have all been written to the sink.
    pub(crate) fn push(&mut self, page: PageDone) {
        self.records += u64::from(page.records);
        self.pages.push(page);
    }

    /// The cookie jar to keep with these pages, so a resumed crawl keeps its
    /// session (SPEC §7).
    pub(crate) fn set_cookies(&mut self, cookies: Option<String>) {
        self.cookies = cookies;
    }

    /// Records in the pending pages.
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

/// The open state database, and the directory's lock (released on drop).
///
/// [`Job::open`](crate::job::Job::open) opens the state, the output and the
/// crawl together, and is what most callers want. A store opened by hand
/// is for a caller who opens the parts itself and hands them to
/// [`Job::new`](crate::job::Job::new): the [`Saved`] progress says where
/// the crawl and the output continue.
///
/// ```
/// use tokio_util::sync::CancellationToken;
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::job::{Job, Resumable};
/// use trawl::sink::{Sink, SinkOptions, Target};
/// use trawl::state::StateStore;
/// use trawl::{Crawl, CrawlOptions, Spider};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?; // 3 pages of 5 posts
/// let text = format!(r#"
///     start = "{}/blog/page/{{page}}"
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     [limits]
///     rate = 0                          # unlimited: the demo site is local
///     "#, site.base_url());
/// let spider = Spider::from_toml(&text, "inline", "blog")?;
/// let dir = tempfile::tempdir()?;
/// let (state, target) = (dir.path().join("state"), Target::JsonLines(dir.path().join("posts.jsonl")));
///
/// // The state knows its crawl by the spider's text and the output's name.
/// let (store, saved) = StateStore::open(&state, &text, &target.to_string())?;
/// let resuming = saved.resume.is_some();
/// let sink = Sink::open(target.clone(), SinkOptions {
///     resume_at: resuming.then_some(saved.sink_position),
///     resume_mark: saved.sink_mark,
///     ..SinkOptions::for_spider(&spider)
/// }).await?;
/// let options = CrawlOptions { resume: saved.resume, page_details: true, ..CrawlOptions::default() };
/// let crawl = Crawl::start(spider, options)?;
/// let job = Job::new(crawl, sink, Some(Resumable { store, unlimited: true }));
/// assert!(job.run(CancellationToken::new()).await.error.is_none());
///
/// // The job has ended and released the directory: its progress is there to read.
/// let (_store, saved) = StateStore::open(&state, &text, &target.to_string())?;
/// assert!(saved.complete);
/// assert_eq!(saved.records, 15);
/// # Ok(()) }
/// ```
pub struct StateStore {
    conn: Connection,
    path: PathBuf,
    // Declared last: dropped after the connection is closed.
    _lock: StateLock,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("path", &self.path)
            .finish()
    }
}

impl StateStore {
    /// Opens or creates the state in `dir` for this spider text and output,
    /// and reads what it holds ([`Saved::default`] for a new one).
    ///
    /// Locks `dir` first: while the store lives, another `open` of it fails
    /// with [`StateError::Locked`] and changes nothing. The spider's text is
    /// compared by meaning (comments and spacing may change); `output` is
    /// the [`Target`](crate::sink::Target) as text.
    ///
    /// # Errors
    /// [`StateError::Locked`] for a directory in use, [`StateError::Changed`]
    /// for a state of another spider or output, [`StateError::Unusable`] for
    /// a file that is not a trawl state, [`StateError::Io`] when the
    /// directory or file cannot be created or read.
    pub fn open(
        dir: &Path,
        spider_text: &str,
        output: &str,
    ) -> Result<(StateStore, Saved), StateError> {
        let io = |path: &Path, e: &dyn std::fmt::Display| StateError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| io(dir, &format!("cannot create the state directory ({e})")))?;
        let lock = StateLock::take(dir)?;
        let path = dir.join(STATE_FILE);
        let conn = Connection::open(&path).map_err(|e| io(&path, &e))?;
        let store = StateStore {
            conn,
            path,
            _lock: lock,
        };
        // An empty database (a kill before the first commit) is new.
        let tables: i64 = store
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| store.unusable(e))?;
        if tables == 0 {
            store.configure()?;
            store.create(spider_text, output)?;
            return Ok((store, Saved::default()));
        }
        // Recognise the database before changing anything in it.
        store.check(dir, spider_text, output)?;
        store.configure()?;
        store.migrate()?;
        let saved = store.load()?;
        Ok((store, saved))
    }

    fn unusable(&self, reason: impl std::fmt::Display) -> StateError {
        StateError::Unusable {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    fn configure(&self) -> Result<(), StateError> {
        // WAL: a commit is one append; NORMAL sync keeps it atomic across a
        // crash. A commit lost to power failure only moves the resume point
        // back, and the sink is cut back with it.
        self.conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| self.unusable(e))
    }

    /// Brings a recognised state file up to this layout: `uniques` came
    /// after the first one, and a file from before gains it empty, which is
    /// right for a spider that had no `unique`. (A new file gets it with the
    /// other tables, in one transaction, so a kill can never leave it alone.)
    fn migrate(&self) -> Result<(), StateError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS uniques (value TEXT PRIMARY KEY) WITHOUT ROWID;",
            )
            .map_err(|e| self.unusable(e))
    }

    fn create(&self, spider_text: &str, output: &str) -> Result<(), StateError> {
        self.conn
            .execute_batch(
                "BEGIN;
                 CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE progress (id INTEGER PRIMARY KEY CHECK (id = 1),
                     next_seq INTEGER NOT NULL, next_kind TEXT NOT NULL, next_value TEXT,
                     sink_position INTEGER NOT NULL, records INTEGER NOT NULL, complete INTEGER NOT NULL);
                 CREATE TABLE pages (seq INTEGER PRIMARY KEY, url TEXT NOT NULL, records INTEGER NOT NULL);
                 CREATE TABLE details (url TEXT PRIMARY KEY, fields TEXT NOT NULL);
                 CREATE TABLE uniques (value TEXT PRIMARY KEY) WITHOUT ROWID;
                 CREATE TABLE requests (key BLOB PRIMARY KEY, request TEXT NOT NULL) WITHOUT ROWID;
                 CREATE TABLE visited (url TEXT PRIMARY KEY) WITHOUT ROWID;",
            )
            .map_err(|e| self.unusable(e))?;
        let spider = meaning(spider_text);
        let meta = [
            ("format", FORMAT),
            ("spider", spider.as_str()),
            ("output", output),
        ];
        for (key, value) in meta {
            self.conn
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, value],
                )
                .map_err(|e| self.unusable(e))?;
        }
        // Tables and meta in one transaction: a kill leaves all or nothing.
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| self.unusable(e))?;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.unusable(e))
    }

    fn check(&self, dir: &Path, spider_text: &str, output: &str) -> Result<(), StateError> {
        match self.meta("format")?.as_deref() {
            Some(FORMAT) => {}
            Some(FORMAT_1) => return Err(self.unusable(
                "it was written by an earlier trawl, whose state layout this version cannot resume",
            )),
            _ => return Err(self.unusable("it was not written by this version of trawl")),
        }
        let changed = |what| StateError::Changed {
            dir: dir.to_path_buf(),
            what,
        };
        // Earlier versions stored the text as written; both forms are accepted.
        let stored = self.meta("spider")?;
        let stored = stored.as_deref();
        if stored != Some(meaning(spider_text).as_str()) && stored != Some(spider_text) {
            return Err(changed("spider file"));
        }
        if self.meta("output")?.as_deref() != Some(output) {
            return Err(changed("output"));
        }
        Ok(())
    }

    fn load(&self) -> Result<Saved, StateError> {
        type Row = (u64, u64, u64, bool);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT next_seq, sink_position, records, complete FROM progress WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| self.unusable(e))?;
        let Some((done, sink_position, records, complete)) = row else {
            return Ok(Saved::default());
        };
        Ok(Saved {
            resume: Some(Resume {
                done,
                pending: self.load_requests()?,
                visited: self.load_column("SELECT url FROM visited")?,
                details: self.load_details()?,
                unique: self.load_column("SELECT value FROM uniques")?,
                cookies: self.meta("cookies")?,
            }),
            sink_position,
            sink_mark: self.load_mark()?,
            records,
            complete,
        })
    }

    fn load_mark(&self) -> Result<Option<Mark>, StateError> {
        match self.meta("sink_mark")? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| self.unusable(e)),
            None => Ok(None),
        }
    }

    fn load_requests(&self) -> Result<Vec<Request>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, request FROM requests ORDER BY key")
            .map_err(|e| self.unusable(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.unusable(e))?;
        rows.map(|row| {
            let (key, text) = row.map_err(|e| self.unusable(e))?;
            let request: Request = serde_json::from_str(&text).map_err(|e| self.unusable(e))?;
            match OrderKey::from_bytes(&key) == Some(request.key.clone()) {
                true => Ok(request),
                false => Err(self.unusable("a request's key does not match its row")),
            }
        })
        .collect()
    }

    fn load_column(&self, query: &str) -> Result<Vec<String>, StateError> {
        let mut stmt = self.conn.prepare(query).map_err(|e| self.unusable(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.unusable(e))?;
        rows.map(|row| row.map_err(|e| self.unusable(e))).collect()
    }

    fn load_details(&self) -> Result<Vec<(String, Fields)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT url, fields FROM details")
            .map_err(|e| self.unusable(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.unusable(e))?;
        rows.map(|row| {
            let (url, text) = row.map_err(|e| self.unusable(e))?;
            let fields: Fields = serde_json::from_str(&text).map_err(|e| self.unusable(e))?;
            Ok((url, fields))
        })
        .collect()
    }

    /// Commits the pending pages with the sink's mark, in one transaction.
    ///
    /// Call it only after the sink's own checkpoint made `mark` durable.
    pub(crate) fn commit(
        &mut self,
        pending: &mut Pending,
        mark: &Mark,
        complete: bool,
    ) -> Result<(), StateError> {
        let sink_position = mark.position;
        let mark_text = serde_json::to_string(mark).expect("marks serialise");
        let Some(last) = pending.pages.last() else {
            return self.mark(sink_position, &mark_text, complete);
        };
        let (kind, value): (&str, Option<String>) = ("frontier", None);
        let next_seq = last.seq + 1;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| io_error(&self.path, e))?;
        let added: u64 = pending.records;
        tx.execute(
            "INSERT INTO progress (id, next_seq, next_kind, next_value, sink_position, records, complete)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET next_seq = ?1, next_kind = ?2, next_value = ?3,
                 sink_position = ?4, records = records + ?5, complete = ?6",
            params![next_seq, kind, value, sink_position, added, complete],
        )
        .map_err(|e| io_error(&self.path, e))?;
        {
            // Prepared once per commit: a commit holds hundreds of rows.
            let mut page_row = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO pages (seq, url, records) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| io_error(&self.path, e))?;
            let mut detail_row = tx
                .prepare_cached("INSERT OR IGNORE INTO details (url, fields) VALUES (?1, ?2)")
                .map_err(|e| io_error(&self.path, e))?;
            let mut unique_row = tx
                .prepare_cached("INSERT OR IGNORE INTO uniques (value) VALUES (?1)")
                .map_err(|e| io_error(&self.path, e))?;
            let mut done_row = tx
                .prepare_cached("DELETE FROM requests WHERE key = ?1")
                .map_err(|e| io_error(&self.path, e))?;
            let mut request_row = tx
                .prepare_cached("INSERT OR REPLACE INTO requests (key, request) VALUES (?1, ?2)")
                .map_err(|e| io_error(&self.path, e))?;
            let mut visited_row = tx
                .prepare_cached("INSERT OR IGNORE INTO visited (url) VALUES (?1)")
                .map_err(|e| io_error(&self.path, e))?;
            for page in &pending.pages {
                page_row
                    .execute(params![page.seq, page.url.as_str(), page.records])
                    .map_err(|e| io_error(&self.path, e))?;
                done_row
                    .execute([page.key.to_bytes()])
                    .map_err(|e| io_error(&self.path, e))?;
                visited_row
                    .execute([&page.visit])
                    .map_err(|e| io_error(&self.path, e))?;
                for child in &page.children {
                    let text = serde_json::to_string(child).expect("requests serialise");
                    request_row
                        .execute(params![child.key.to_bytes(), text])
                        .map_err(|e| io_error(&self.path, e))?;
                }
                for (url, fields) in &page.details {
                    let text = serde_json::to_string(fields.as_ref()).expect("fields serialise");
                    detail_row
                        .execute(params![url, text])
                        .map_err(|e| io_error(&self.path, e))?;
                }
                for value in &page.unique {
                    unique_row
                        .execute([value])
                        .map_err(|e| io_error(&self.path, e))?;
                }
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sink_mark', ?1)",
            [&mark_text],
        )
        .map_err(|e| io_error(&self.path, e))?;
        if let Some(jar) = &pending.cookies {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('cookies', ?1)",
                [jar],
            )
            .map_err(|e| io_error(&self.path, e))?;
        }
        tx.commit().map_err(|e| io_error(&self.path, e))?;
        *pending = Pending::default();
        Ok(())
    }

    /// Updates the position and completion without new pages.
    fn mark(&mut self, sink_position: u64, mark: &str, complete: bool) -> Result<(), StateError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| io_error(&self.path, e))?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sink_mark', ?1)",
            [mark],
        )
        .map_err(|e| io_error(&self.path, e))?;
        tx.execute(
            "UPDATE progress SET sink_position = ?1, complete = ?2 WHERE id = 1",
            params![sink_position, complete],
        )
        .map_err(|e| io_error(&self.path, e))?;
        if tx.changes() == 0 && complete {
            // A crawl that ended before its first page was done.
            tx.execute(
                    "INSERT INTO progress (id, next_seq, next_kind, next_value, sink_position, records, complete)
                     VALUES (1, 0, 'end', NULL, ?1, 0, 1)",
                params![sink_position],
            )
            .map_err(|e| io_error(&self.path, e))?;
        }
        tx.commit().map_err(|e| io_error(&self.path, e))
    }
}

/// What a spider file means, for telling a real change from an edit that
/// only touches comments, spacing or the order of keys (SPEC §10): the
/// parsed document as JSON, keys sorted except inside `fields` tables, whose
/// order is the records' key order. Text that does not parse stays as it is.
fn meaning(spider_text: &str) -> String {
    match toml::from_str::<toml::Table>(spider_text) {
        Ok(table) => canonical(&toml::Value::Table(table), false).to_string(),
        Err(_) => spider_text.to_string(),
    }
}

fn canonical(value: &toml::Value, keep_order: bool) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        toml::Value::Table(table) => {
            let mut entries: Vec<(&String, &toml::Value)> = table.iter().collect();
            if !keep_order {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            let map = entries
                .into_iter()
                .map(|(k, v)| (k.clone(), canonical(v, k == "fields")))
                .collect();
            Json::Object(map)
        }
        toml::Value::Array(items) => {
            Json::Array(items.iter().map(|v| canonical(v, false)).collect())
        }
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(n) => Json::from(*n),
        toml::Value::Float(f) => Json::String(format!("float:{f:?}")),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(format!("datetime:{d}")),
    }
}

fn io_error(path: &Path, e: rusqlite::Error) -> StateError {
    StateError::Io {
        path: path.to_path_buf(),
        reason: format!("cannot write the state ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::meaning;

    #[test]
    fn comments_spacing_and_key_order_do_not_change_the_meaning() {
        let a = "name = 'x'\nstart = 'http://h/'\n[list]\nitem = 'li'\nfields.a = 'a'\nfields.b = 'b'\n";
        let b = "# my spider\nstart   =   'http://h/'   # where\nname = \"x\"\n\n[list]\nfields.a = 'a'\nitem = 'li'\nfields.b = 'b'\n";
        assert_eq!(meaning(a), meaning(b));
        let reordered = a.replace(
            "fields.a = 'a'\nfields.b = 'b'",
            "fields.b = 'b'\nfields.a = 'a'",
        );
        assert_ne!(
            meaning(a),
            meaning(&reordered),
            "field order is the records' key order"
        );
        assert_ne!(meaning(a), meaning(&a.replace("'li'", "'div'")));
    }
}
