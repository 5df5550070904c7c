//! A crawl written into a sink exactly once: the commit protocol (SPEC §2, §5).
//!
//! Records leave the engine in discovery order and each list page's records
//! are followed by a page mark, so what the sink
//! has taken is always whole pages and part of one. At each page mark the
//! job notes the sink's position; about once a second (or every
//! [`CHECKPOINT_RECORDS`] records) it checkpoints: the sink is made durable
//! first, then one state transaction records that position and the pages
//! now done. A rerun cuts the sink back to the committed position and the
//! crawl resumes after the last committed page, so every record is written
//! exactly once however often the job is interrupted, killed included.
//!
//! Without a state store a job is a crawl pulled into a sink, flushed and
//! closed at the end.
//!
//! [`Job::open`] wires it all from a spider, an output and a state
//! directory, as `trawl crawl` does; [`Job::new`] takes the parts for a
//! caller who opened them itself.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::crawl::{Crawl, CrawlError, CrawlOptions, Event, PageDone, SummaryHandle};
use crate::sink::{Mark, Sink, SinkError, SinkOptions, Target};
use crate::spider::Spider;
use crate::state::{Pending, Saved, StateError, StateStore};
use crate::Summary;

/// Commit at least this often, at a page boundary…
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// …or after this many records, whichever comes first.
pub const CHECKPOINT_RECORDS: u64 = 1000;

/// The state a resumable job commits to.
#[derive(Debug)]
pub struct Resumable {
    /// The open state database.
    pub store: StateStore,
    /// Whether reaching the end means the crawl is complete (no
    /// `--max-pages`/`--max-items` cut it short).
    pub unlimited: bool,
}

/// A fault that ended a job, or kept [`Job::open`] from opening one; what
/// was committed before it stays committed.
///
/// [`is_usage`](JobError::is_usage) tells a mistake in what the caller
/// asked (the command line's exit 2) from a fault of the crawl or the
/// machine. `Job::open` checks before any request:
///
/// ```
/// use trawl::job::{Job, JobError, JobOptions};
/// use trawl::sink::Target;
/// use trawl::Spider;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spider = Spider::from_toml(r#"
///     start = "http://127.0.0.1:8000/blog/page/{page}"
///     [list]
///     item = ".item"
///     "#, "inline", "blog")?;
/// let options = JobOptions { state: Some("state".into()), ..JobOptions::default() };
/// let error = Job::open(spider, Target::Stdout, options).await.unwrap_err();
/// assert!(matches!(error, JobError::NotResumable { .. }));
/// assert!(error.is_usage());
/// assert!(error.to_string().contains("stdout cannot be rewound"));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The crawl itself failed.
    #[error(transparent)]
    Crawl(#[from] CrawlError),
    /// The output failed; nothing past the failure is committed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state could not be opened or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A state directory was given for an output that cannot be cut back
    /// to a commit.
    #[error("a state directory needs an output file or a database: {output} cannot be rewound to the last commit")]
    NotResumable {
        /// The output, as given.
        output: String,
    },
    /// The state directory holds a crawl that ran to its end: there is
    /// nothing to do, and its output is left as it is.
    #[error("the crawl in {} is complete ({records} records in {output}); delete {} to crawl again", dir.display(), dir.display())]
    Complete {
        /// The state directory.
        dir: PathBuf,
        /// Records the crawl committed.
        records: u64,
        /// Its output.
        output: String,
    },
}

impl JobError {
    /// Whether the fault is in what the user asked (a state directory in
    /// use or of another crawl, an output changed behind trawl's back, a
    /// state for stdout) rather than in the crawl or the machine.
    pub fn is_usage(&self) -> bool {
        match self {
            JobError::State(e) => e.is_usage(),
            JobError::Sink(e) => e.is_tampered(),
            JobError::NotResumable { .. } | JobError::Complete { .. } => true,
            JobError::Crawl(_) => false,
        }
    }
}

/// How [`Job::open`] runs a crawl, beside the spider and the output; the
/// default is a crawl to its end with no state. See [`Job::open`] for an
/// example.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// A state directory (`--state`): progress is committed there, and a
    /// job opened on it again continues where the last one stopped, the
    /// output holding every record exactly once. It needs an output file
    /// or a database.
    pub state: Option<PathBuf>,
    /// Stop after this many list pages (`--max-pages`); counted per run.
    pub max_pages: Option<u64>,
    /// Stop after this many records (`--max-items`); counted per run.
    pub max_items: Option<u64>,
    /// PostgreSQL connections at most (`--db-pool`; default 4 when 0).
    pub pool_size: usize,
}

/// How a job ended: [`Job::run`] always returns one, with the crawl's
/// counts, whether or not a fault ended it.
#[derive(Debug)]
pub struct Outcome {
    /// The first fault, if one ended the job.
    pub error: Option<JobError>,
    /// Whether the job was stopped before the crawl's end.
    pub stopped: bool,
    /// Whether it stopped because the output's reader went away (stdout
    /// closed early); not an error.
    pub closed: bool,
    /// The crawl's counts.
    pub summary: Summary,
    /// For a database output, the rows this run inserted and updated.
    pub rows: Option<(u64, u64)>,
}

/// A crawl, the sink its records go to, and optionally the state that makes
/// the output exactly-once across interruptions.
///
/// Open one with [`Job::open`] (or build it from its parts with
/// [`Job::new`]), then [`run`](Job::run) it to its end. To stop it early,
/// cancel the token `run` was given: what was written is committed before
/// `run` returns, and a job opened again on the same state directory
/// continues after it. [`watch`](Job::watch) reads the counts while it runs.
pub struct Job {
    crawl: Crawl,
    sink: Sink,
    state: Option<Resumable>,
    pending: Pending,
    /// Records an earlier run committed, when this job continues it.
    resumed: Option<u64>,
    /// The sink's position after the last whole page.
    boundary: Option<u64>,
    last_commit: Instant,
    every: Duration,
}

impl Job {
    /// A job writing `crawl`'s records into `sink`, committing to `state` if given.
    pub fn new(crawl: Crawl, sink: Sink, state: Option<Resumable>) -> Job {
        Job {
            crawl,
            sink,
            state,
            pending: Pending::default(),
            resumed: None,
            boundary: None,
            last_commit: Instant::now(),
            every: CHECKPOINT_EVERY,
        }
    }

    /// Opens everything a crawl into `target` needs, checked before the
    /// first request: the state directory (locked, and refused if it holds
    /// another crawl), then the output (cut back to the last commit, and
    /// refused if it was changed behind trawl's back), then the crawl,
    /// continuing from the commit. Without [`JobOptions::state`] it opens
    /// the output and the crawl, and commits nothing.
    ///
    /// ```
    /// use trawl::demo::{DemoServer, DemoSite};
    /// use trawl::job::{Job, JobOptions};
    /// use trawl::sink::Target;
    /// use trawl::Spider;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let site = DemoServer::start(DemoSite::default()).await?;
    /// let spider = Spider::from_toml(&format!(r#"
    ///     start = "{}/blog/page/{{page}}"
    ///     last_page = 3
    ///     [list]
    ///     item = ".item"
    ///     fields.title = ".title::text"
    ///     "#, site.base_url()), "inline", "blog")?;
    /// let dir = tempfile::tempdir()?;
    /// let options = JobOptions { state: Some(dir.path().join("state")), ..JobOptions::default() };
    /// let output = Target::JsonLines(dir.path().join("posts.jsonl"));
    /// let job = Job::open(spider, output, options).await?;
    /// let outcome = job.run(tokio_util::sync::CancellationToken::new()).await;
    /// assert!(outcome.error.is_none());
    /// assert_eq!(outcome.summary.records, 15);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`JobError::State`] for a state directory in use, of another crawl
    /// or unreadable; [`JobError::Complete`] when it holds a finished crawl
    /// (nothing is opened); [`JobError::NotResumable`] for a state with
    /// stdout; [`JobError::Sink`] for an output that cannot be opened or
    /// was changed since the commit; [`JobError::Crawl`] when the HTTP
    /// client cannot be built. [`JobError::is_usage`] tells the user's
    /// faults from the machine's.
    pub async fn open(
        spider: Spider,
        target: Target,
        options: JobOptions,
    ) -> Result<Job, JobError> {
        let (saved, state) = match &options.state {
            Some(dir) => Job::open_state(dir, &spider, &target, &options)?,
            None => (Saved::default(), None),
        };
        let resuming = saved.resume.is_some();
        let sink_options = SinkOptions {
            resume_at: resuming.then_some(saved.sink_position),
            resume_mark: if resuming {
                saved.sink_mark.clone()
            } else {
                None
            },
            pool_size: options.pool_size,
            ..SinkOptions::for_spider(&spider)
        };
        let sink = Sink::open(target, sink_options).await?;
        let crawl_options = CrawlOptions {
            max_pages: options.max_pages,
            max_items: options.max_items,
            page_details: state.is_some(),
            resume: saved.resume,
            ..CrawlOptions::default()
        };
        let crawl = Crawl::start(spider, crawl_options)?;
        let mut job = Job::new(crawl, sink, state);
        job.resumed = resuming.then_some(saved.records);
        Ok(job)
    }

    fn open_state(
        dir: &std::path::Path,
        spider: &Spider,
        target: &Target,
        options: &JobOptions,
    ) -> Result<(Saved, Option<Resumable>), JobError> {
        if !target.is_resumable() {
            return Err(JobError::NotResumable {
                output: target.to_string(),
            });
        }
        let (store, saved) = StateStore::open(dir, &spider.identity(), &target.to_string())?;
        if saved.complete {
            return Err(JobError::Complete {
                dir: dir.to_path_buf(),
                records: saved.records,
                output: target.to_string(),
            });
        }
        let unlimited = options.max_pages.is_none() && options.max_items.is_none();
        Ok((saved, Some(Resumable { store, unlimited })))
    }

    /// When this job continues an earlier run from its state directory, the
    /// records the earlier runs committed; `None` for a fresh start.
    pub fn resumed(&self) -> Option<u64> {
        self.resumed
    }

    /// Commits at a page boundary once this long has passed since the last
    /// commit (default [`CHECKPOINT_EVERY`], 1 s; zero commits every page).
    /// Sooner means less to fetch again after a kill, at an fsync a commit.
    pub fn checkpoint_every(mut self, every: Duration) -> Job {
        self.every = every;
        self
    }

    /// A handle that reads the crawl's counts while the job runs.
    pub fn watch(&self) -> SummaryHandle {
        self.crawl.summary_handle()
    }

    /// Runs the job to its end. Cancelling `stop` stops the crawl taking
    /// work: records already extracted are still written and committed, then
    /// the sink is finished. A crawl that ran to its end with a state and no
    /// limits is marked complete.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future may lose records taken from the
    /// crawl but not yet written. Stop a job with `stop` and await it.
    pub async fn run(mut self, stop: CancellationToken) -> Outcome {
        let (mut stopped, mut closed) = (false, false);
        let mut error = None;
        // One waiter for the whole run, not one registered per event.
        let cancelled = stop.cancelled();
        tokio::pin!(cancelled);
        loop {
            let event = tokio::select! {
                biased;
                _ = &mut cancelled, if !stopped => {
                    stopped = true;
                    self.crawl.stop();
                    continue;
                }
                event = self.crawl.next_event() => event,
            };
            let handled = match event {
                None => break,
                Some(Err(e)) => Err(JobError::Crawl(e)),
                Some(Ok(event)) => self.handle(event).await,
            };
            match handled {
                Ok(()) => {}
                Err(JobError::Sink(e)) if e.is_closed() => {
                    (stopped, closed) = (true, true);
                    self.crawl.stop();
                    break;
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let summary = self.crawl.summary();
        let sink_failed = closed || matches!(error, Some(JobError::Sink(_)));
        let (finished, rows) = match sink_failed {
            // Commit nothing past a failed write.
            true => {
                let rows = self.sink.rows_written();
                let _ = self.sink.finish().await;
                (Ok(()), rows)
            }
            false => self.close(!stopped && error.is_none()).await,
        };
        Outcome {
            error: error.or(finished.err()),
            stopped,
            closed,
            summary,
            rows,
        }
    }

    async fn handle(&mut self, event: Event) -> Result<(), JobError> {
        match event {
            Event::Record(record) => Ok(self.sink.write(&record).await?),
            Event::PageDone(page) => self.page_done(page).await,
        }
    }

    async fn page_done(&mut self, page: PageDone) -> Result<(), JobError> {
        if self.state.is_none() {
            return Ok(());
        }
        self.pending.push(page);
        self.boundary = Some(self.sink.position().await?);
        let due = self.pending.records() >= CHECKPOINT_RECORDS
            || self.last_commit.elapsed() >= self.every;
        if due {
            self.checkpoint().await?;
            self.last_commit = Instant::now();
        }
        Ok(())
    }

    /// Makes the sink durable, checks that it still holds what the last
    /// commit said, then records in the state what it now holds.
    async fn checkpoint(&mut self) -> Result<Option<Mark>, JobError> {
        let flushed = self.sink.checkpoint().await?;
        let position = self.boundary.unwrap_or(flushed);
        let Some(state) = &mut self.state else {
            return Ok(None);
        };
        let mark = self.sink.mark(position).await?;
        if !self.pending.is_empty() {
            self.pending.set_cookies(self.crawl.cookies());
            state.store.commit(&mut self.pending, &mark, false)?;
        }
        Ok(Some(mark))
    }

    /// Commits what is done, finishes the sink, and marks a finished crawl complete.
    ///
    /// Complete is recorded only after the sink is finished, so an
    /// interruption in between resumes into a crawl with nothing left but
    /// closing the output.
    async fn close(self, ended: bool) -> (Result<(), JobError>, Option<(u64, u64)>) {
        let mut rows = None;
        let result = self.close_counting(ended, &mut rows).await;
        (result, rows)
    }

    /// [`close`](Job::close), noting a database's rows once they are
    /// committed (the checkpoint commits a database's last batch).
    async fn close_counting(
        mut self,
        ended: bool,
        rows: &mut Option<(u64, u64)>,
    ) -> Result<(), JobError> {
        let committed = match self.checkpoint().await {
            Ok(mark) => mark,
            Err(e) => {
                let _ = self.sink.finish().await;
                return Err(e);
            }
        };
        *rows = self.sink.rows_written();
        self.sink.finish().await?;
        if let (Some(state), Some(mark)) = (&mut self.state, committed) {
            if ended && state.unlimited {
                state.store.commit(&mut Pending::default(), &mark, true)?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("crawl", &self.crawl)
            .field("resumable", &self.state.is_some())
            .finish()
    }
}
