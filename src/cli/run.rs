//! Running a crawl into a sink: signals, progress, summary and exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};
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

/// Pulls every record into `sink`, stopping cleanly on SIGINT or SIGTERM.
///
/// On the first signal the crawl stops taking work, records already complete
/// are written, the sink is finished and the summary printed; a second
/// SIGINT exits at once.
pub async fn drive(mut crawl: Crawl, mut sink: Sink, name: &str) -> ExitCode {
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        _ => {
            eprintln!("trawl: error: cannot install signal handlers");
            return ExitCode::from(exit::FAULT);
        }
    };
    let progress = Progress::new(name);
    let mut status = exit::OK;
    let mut stopping = false;
    loop {
        tokio::select! {
            next = crawl.next() => match next {
                Some(Ok(record)) => {
                    if let Err(e) = sink.write(&record).await {
                        eprintln!("trawl: error: {e}");
                        status = exit::FAULT;
                        break;
                    }
                    progress.tick(&crawl);
                }
                Some(Err(e)) => {
                    eprintln!("trawl: error: {e}");
                    status = exit::FAULT;
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
    if let Err(e) = sink.finish().await {
        eprintln!("trawl: error: {e}");
        status = status.max(exit::FAULT);
    }
    eprintln!("trawl: {}", crawl.summary());
    ExitCode::from(status)
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
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .expect("a valid template"),
            );
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
