//! The `trawl` command line: a thin layer over the `trawl` library.

#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let args = Cli::parse();
    init_logging(args.verbose, args.quiet);
    raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return cli::fail(
                cli::run::exit::FAULT,
                format!("cannot start the async runtime ({e})"),
            )
        }
    };
    let code = runtime.block_on(async {
        match args.command {
            Command::Crawl(crawl) => cli::crawl(crawl).await,
            Command::Check { spider, overrides } => cli::check(&spider, &overrides),
            Command::Try {
                spider,
                url,
                detail,
                overrides,
            } => cli::try_page(&spider, url.as_deref(), detail, &overrides).await,
            Command::Demo { serve, port } => cli::demo(serve, port).await,
        }
    });
    // Abandoned fetches must not hold the exit back.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// A crawl of many hosts needs descriptors the usual soft limit (1024) may
/// not have: the binary takes what the hard limit allows. The library
/// leaves the limit alone and fits its sockets into whatever it is.
fn raise_open_files_limit() {
    match trawl::fetch::raise_open_files_limit() {
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
