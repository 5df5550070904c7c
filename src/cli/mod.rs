//! The `trawl` command line: `crawl`, `check`, `try`, `demo`.
//!
//! Built only with the `cli` feature (on by default); the binary in
//! `src/main.rs` tunes the allocator and calls [`main`]. It lives in the library so that it
//! reaches the crate's internals (`trawl try` reads pages the way the engine
//! does) without making them public API.

/// `eprintln!` that never panics: stderr may be a closed pipe too
/// (`trawl crawl s.toml 2>&1 | head`), and a message lost there is no fault.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) mod args;
mod demo;
pub(crate) mod run;
mod try_page;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::job::{Job, JobError, JobOptions};
use crate::sink::Target;
use crate::Spider;

use args::{Cli, Command, CrawlArgs, Overrides};
use run::exit;

use demo::demo;
use try_page::try_page;

/// Runs the `trawl` command line with the process's arguments (the
/// binary's `main`).
pub fn main() -> ExitCode {
    let args = Cli::parse();
    init_logging(args.verbose, args.quiet);
    raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(
                run::exit::FAULT,
                format!("cannot start the async runtime ({e})"),
            )
        }
    };
    let code = runtime.block_on(async {
        match args.command {
            Command::Crawl(args) => crawl(args).await,
            Command::Check { spider, overrides } => check(&spider, &overrides),
            Command::Try {
                spider,
                url,
                detail,
                overrides,
            } => try_page(&spider, url.as_deref(), detail, &overrides).await,
            Command::Demo { serve, port } => demo(serve, port).await,
        }
    });
    // Abandoned fetches must not hold the exit back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// A crawl of many hosts needs descriptors the usual soft limit (1024) may
/// not have: the command line takes what the hard limit allows. The library
/// leaves the limit alone and fits its sockets into whatever it is.
fn raise_open_files_limit() {
    match crate::fetch::raise_open_files_limit() {
        Ok((was, now)) if now > was => {
            tracing::info!("open-file limit raised from {was} to {now}")
        }
        Ok((was, _)) => tracing::info!("open-file limit {was} (already the hard limit)"),
        Err(e) => tracing::warn!("cannot raise the open-file limit ({e}); crawling within it"),
    }
}

/// Logs go to stderr; `-v`/`-q` pick the level unless RUST_LOG says otherwise.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("trawl={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
}

/// Prints `message` as trawl's error and returns `code`.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    say!("trawl: error: {message}");
    ExitCode::from(code)
}

/// Loads a spider file and applies the flags over it.
fn load(path: &Path, overrides: &Overrides) -> Result<Spider, ExitCode> {
    let mut spider = Spider::from_path(path).map_err(|e| fail(exit::USAGE, e))?;
    overrides
        .apply(&mut spider)
        .map_err(|e| fail(exit::USAGE, e))?;
    Ok(spider)
}

/// `trawl check`: validate and describe; nothing is fetched.
pub fn check(path: &Path, overrides: &Overrides) -> ExitCode {
    match load(path, overrides) {
        Ok(spider) => {
            // A reader that stops early (`| head`) is no fault.
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{}", spider.describe())
                .and_then(|()| writeln!(out, "{}: ok", path.display()));
            ExitCode::from(exit::OK)
        }
        Err(code) => code,
    }
}

/// `trawl crawl`: everything is checked, the state opened and the output
/// opened before the first request.
pub async fn crawl(args: CrawlArgs) -> ExitCode {
    let spider = match load(&args.spider, &args.overrides) {
        Ok(spider) => spider,
        Err(code) => return code,
    };
    let target = match args.output.as_deref().map(Target::parse).transpose() {
        Ok(target) => target.unwrap_or(Target::Stdout),
        Err(message) => return fail(exit::USAGE, format!("-o {message}")),
    };
    let options = JobOptions {
        state: args.state.clone(),
        max_pages: args.max_pages.map(std::num::NonZeroU64::get),
        max_items: args.max_items.map(std::num::NonZeroU64::get),
        pool_size: args.db_pool.get(),
    };
    let name = spider.name.clone();
    match Job::open(spider, target, options).await {
        Ok(job) => {
            if let (Some(records), Some(dir)) = (job.resumed(), &args.state) {
                say!(
                    "trawl: resuming from {} ({records} records committed)",
                    dir.display()
                );
            }
            run::drive(job, &name).await
        }
        Err(JobError::NotResumable { .. }) => fail(
            exit::USAGE,
            "--state needs -o FILE or a database: stdout cannot be rewound to the last commit",
        ),
        Err(e @ JobError::Complete { .. }) => {
            say!("trawl: {e}");
            ExitCode::from(exit::OK)
        }
        Err(e) if e.is_usage() => fail(exit::USAGE, e),
        Err(e) => fail(exit::FAULT, e),
    }
}
