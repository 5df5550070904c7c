//! A crawl written into a sink exactly once: the commit protocol (SPEC §2, §5).
//!
//! Records leave the engine in discovery order and each list page's records
//! are followed by its [`PageDone`], so what the sink
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

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::crawl::{Crawl, CrawlError, Event, PageDone, SummaryHandle};
use crate::sink::{Mark, Sink, SinkError};
use crate::state::{Pending, StateError, StateStore};
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

/// A fault that ended a job; what was committed before it stays committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The crawl itself failed.
    #[error(transparent)]
    Crawl(#[from] CrawlError),
    /// The output failed; nothing past the failure is committed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state could not be written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// How a job ended.
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
pub struct Job {
    crawl: Crawl,
    sink: Sink,
    state: Option<Resumable>,
    pending: Pending,
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
            boundary: None,
            last_commit: Instant::now(),
            every: CHECKPOINT_EVERY,
        }
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
