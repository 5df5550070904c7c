//! Running a crawl into a sink: checkpoints, signals, progress, summary and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};
use trawl::crawl::Event;
use trawl::state::{Pending, StateStore};
use trawl::{Crawl, Sink};

/// SPEC §2 exit statuses.
pub mod exit {
    /// The crawl ran to its end (failed pages included).
    pub const OK: u8 = 0;
    /// A runtime fault stopped the crawl.
    pub const FAULT: u8 = 1;
    /// A bad spider file or bad arguments.
    pub const USAGE: u8 = 2;
    /// Stopped by SIGINT.
    pub const SIGINT: u8 = 130;
    /// Stopped by SIGTERM.
    pub const SIGTERM: u8 = 143;
}

/// Commit at least this often, at a page boundary…
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// …or after this many records, whichever comes first.
const CHECKPOINT_RECORDS: u64 = 1000;

/// The state a resumable crawl commits to.
pub struct Resumable {
    /// The open state database.
    pub store: StateStore,
    /// Whether reaching the end means the crawl is complete (no
    /// `--max-pages`/`--max-items` cut it short).
    pub unlimited: bool,
}

/// Pulls every record into `sink`, stopping cleanly on SIGINT or SIGTERM.
///
/// On the first signal the crawl stops taking work, records already complete
/// are written, the sink is checkpointed and finished and the summary
/// printed; a second SIGINT exits at once.
pub async fn drive(
    mut crawl: Crawl,
    mut sink: Sink,
    name: &str,
    mut state: Option<Resumable>,
) -> ExitCode {
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => return super::fail(exit::FAULT, "cannot install signal handlers"),
    };
    let progress = Progress::new(name);
    let mut pending = Pending::default();
    let mut boundary: Option<u64> = None;
    let mut last_commit = Instant::now();
    let mut status = exit::OK;
    let mut stopping = false;
    let mut sink_failed = false;
    loop {
        tokio::select! {
            event = crawl.next_event() => match event {
                Some(Ok(Event::Record(record))) => {
                                        if let Err(e) = sink.write(&record).await {
                        (status, sink_failed) = (report(e), true);
                        break;
                    }
                    progress.tick(&crawl);
                }
                Some(Ok(Event::PageDone(page))) => {
                    let Some(state) = &mut state else { continue };
                    pending.push(page);
                    match sink.position().await {
                        Ok(p) => boundary = Some(p),
                        Err(e) => {
                            (status, sink_failed) = (report(e), true);
                            break;
                        }
                    }
                    if pending.records() >= CHECKPOINT_RECORDS || last_commit.elapsed() >= CHECKPOINT_EVERY {
                        if let Err(code) = checkpoint(&mut sink, &mut state.store, &mut pending, boundary).await {
                            (status, sink_failed) = (code, true);
                            break;
                        }
                        last_commit = Instant::now();
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    status = report(e);
                    break;
                }
                None => break,
            },
            _ = sigint.recv() => {
                if stopping {
                    std::process::exit(exit::SIGINT.into());
                }
                (stopping, status) = (true, exit::SIGINT);
                eprintln!("trawl: interrupted; finishing what is extracted (Ctrl-C again to quit at once)");
                crawl.stop();
            }
            _ = sigterm.recv(), if !stopping => {
                (stopping, status) = (true, exit::SIGTERM);
                crawl.stop();
            }
        }
    }
    progress.finish();
    status = match sink_failed {
        false => close(sink, state, &mut pending, status, boundary).await,
        // Commit nothing past a failed write; the error is already reported.
        true => {
            let _ = sink.finish().await;
            status
        }
    };
    eprintln!("trawl: {}", crawl.summary());
    ExitCode::from(status)
}

/// Makes the sink durable, then records in the state what it now holds.
async fn checkpoint(
    sink: &mut Sink,
    store: &mut StateStore,
    pending: &mut Pending,
    boundary: Option<u64>,
) -> Result<u64, u8> {
    let flushed = sink.checkpoint().await.map_err(report)?;
    let position = boundary.unwrap_or(flushed);
    if !pending.is_empty() {
        store.commit(pending, position, false).map_err(report)?;
    }
    Ok(position)
}

/// Commits what is done, finishes the sink, and marks a finished crawl complete.
///
/// Complete is recorded only after the sink is finished, so an interruption
/// in between resumes into a crawl with nothing left but closing the output.
async fn close(
    mut sink: Sink,
    state: Option<Resumable>,
    pending: &mut Pending,
    mut status: u8,
    boundary: Option<u64>,
) -> u8 {
    let mut committed = None;
    let mut state = state;
    if let Some(resumable) = &mut state {
        match checkpoint(&mut sink, &mut resumable.store, pending, boundary).await {
            Ok(position) => committed = Some(position),
            Err(code) => status = status.max(code),
        }
    }
    if let Err(e) = sink.finish().await {
        status = status.max(report(e));
    }
    if let (Some(resumable), Some(position)) = (&mut state, committed) {
        if status == exit::OK && resumable.unlimited {
            if let Err(e) = resumable
                .store
                .commit(&mut Pending::default(), position, true)
            {
                status = report(e);
            }
        }
    }
    status
}

fn report(error: impl std::fmt::Display) -> u8 {
    eprintln!("trawl: error: {error}");
    exit::FAULT
}

/// A spinner with counts, on stderr, only when stderr is a terminal.
struct Progress {
    bar: Option<ProgressBar>,
    last: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(name: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                .expect("a valid template");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            last: std::cell::Cell::new(Instant::now()),
        }
    }

    fn tick(&self, crawl: &Crawl) {
        let Some(bar) = &self.bar else { return };
        if self.last.get().elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last.set(Instant::now());
        let s = crawl.summary();
        bar.set_message(format!(
            "{} pages, {} records, {} retries, {} failed",
            s.pages,
            s.records,
            s.retries,
            s.failures.len()
        ));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
