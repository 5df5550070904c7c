//! Running a crawl into a sink: checkpoints, signals, progress, summary and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::{Job, Summary};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// SPEC §2 exit statuses.
pub(crate) mod exit {
    /// The crawl ran to its end (failed pages included).
    pub(crate) const OK: u8 = 0;
    /// A runtime fault stopped the crawl.
    pub(crate) const FAULT: u8 = 1;
    /// A bad spider file or bad arguments.
    pub(crate) const USAGE: u8 = 2;
    /// Stopped by SIGINT.
    pub(crate) const SIGINT: u8 = 130;
    /// Stopped by SIGTERM.
    pub(crate) const SIGTERM: u8 = 143;
}

/// How often the progress line is refreshed.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs `job` to its end, stopping it cleanly on SIGINT or SIGTERM.
///
/// On the first signal the crawl stops taking work, records already complete
/// are written and committed, the sink is finished and the summary printed;
/// a second SIGINT exits at once. The commit protocol itself is the
/// library's ([`Job`]).
pub(crate) async fn drive(job: Job, name: &str) -> ExitCode {
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => return super::fail(exit::FAULT, "cannot install signal handlers"),
    };
    let progress = Progress::new(name);
    let watch = job.watch();
    let stop = CancellationToken::new();
    let run = job.run(stop.clone());
    tokio::pin!(run);
    let mut ticks = tokio::time::interval(PROGRESS_EVERY);
    let mut status = exit::OK;
    let outcome = loop {
        tokio::select! {
            outcome = &mut run => break outcome,
            _ = sigint.recv() => {
                if stop.is_cancelled() {
                    std::process::exit(exit::SIGINT.into());
                }
                status = exit::SIGINT;
                say!("trawl: interrupted; finishing what is extracted (Ctrl-C again to quit at once)");
                stop.cancel();
            }
            _ = sigterm.recv(), if !stop.is_cancelled() => {
                status = exit::SIGTERM;
                stop.cancel();
            }
            _ = ticks.tick() => progress.show(&watch.summary()),
        }
    };
    progress.finish();
    if let Some(error) = outcome.error {
        status = status.max(report(error));
    }
    // A closed stdout (`| head`) is no fault: the reader has what it wanted,
    // so nothing is said about it and the status stays 0 (SPEC §10).
    say!("trawl: {}", outcome.summary);
    if let Some((inserted, updated)) = outcome.rows {
        say!("trawl: {inserted} rows inserted, {updated} updated");
    }
    if let Some(kib) = peak_memory_kib() {
        tracing::info!("peak memory {} MiB", kib.div_ceil(1024));
    }
    ExitCode::from(status)
}

/// The process's peak resident memory (Linux `VmHWM`), for `-v`: what the
/// read-ahead's bounds come to on this crawl.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(error: impl std::fmt::Display) -> u8 {
    say!("trawl: error: {error}");
    exit::FAULT
}

/// A spinner with counts, on stderr, only when stderr is a terminal.
struct Progress {
    bar: Option<ProgressBar>,
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
        Progress { bar }
    }

    fn show(&self, s: &Summary) {
        let Some(bar) = &self.bar else { return };
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
