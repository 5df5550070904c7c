//! The command line (SPEC §2), parsed once into typed values.
//!
//! Values are parsed by the same functions the spider file uses, so `--timeout
//! 2m` and `timeout = "2m"` mean the same; clap names the flag in any error
//! and exits 2.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use trawl::spider::{parse_duration, parse_rate, parse_size, Rate, Spider};

/// Examples and exit statuses, after every command's flags (cargo's and
/// ripgrep's help are the model).
const AFTER_HELP: &str = "\
Examples:
  trawl demo                                 crawl the built-in demo site
  trawl check shop.toml                      validate a spider file, print its plan
  trawl crawl shop.toml                      records as JSON Lines on stdout
  trawl crawl shop.toml -o items.csv --rate 5 --burst 5
  trawl crawl shop.toml -o items.jsonl --state .trawl-shop   (rerun it to resume)
  trawl crawl shop.toml -o sqlite:shop.db    rows updated by the spider's `key`
  trawl crawl shop.toml | head               stops quietly once head has enough

Exit status:
  0    the crawl ran to its end (failed pages included; they are listed)
  1    a runtime fault stopped it, or the output cannot be written
  2    a bad spider file or bad arguments (the key or flag is named; nothing fetched)
  130  stopped by Ctrl-C (SIGINT); 143 stopped by SIGTERM

Spider files, outputs and guarantees: see README.md.";

/// Stream structured records out of paginated websites and JSON APIs, politely.
#[derive(Debug, Parser)]
#[command(name = "trawl", version, propagate_version = true, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logging on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors and the closing summary on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crawl a spider file; records go to stdout as JSON Lines unless -o says otherwise.
    #[command(after_help = AFTER_HELP)]
    Crawl(CrawlArgs),
    /// Validate a spider file and print what it would do; fetches nothing.
    Check {
        /// The spider file (TOML).
        spider: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Serve the built-in demo site on 127.0.0.1 and crawl it with the example spiders.
    Demo {
        /// Keep serving the demo site after the crawl, until Ctrl-C (to try your own spiders).
        #[arg(long)]
        serve: bool,
        /// Serve on this port of 127.0.0.1 (default: any free one); with
        /// `--port 8000` the spiders in examples/ work as written.
        #[arg(long, value_name = "PORT")]
        port: Option<u16>,
    },
}

#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// The spider file (TOML).
    pub spider: PathBuf,
    /// Output: FILE.jsonl, FILE.csv, FILE.json, sqlite:PATH, postgres://…, or - for stdout (default).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Keep progress in DIR to resume after an interruption.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Stop after N list pages.
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,
    /// Stop after N records.
    #[arg(long, value_name = "N")]
    pub max_items: Option<u64>,
    /// PostgreSQL output: connections in the pool at most.
    #[arg(long, value_name = "N", default_value = "4")]
    pub db_pool: std::num::NonZeroUsize,
}

/// Flags that override the spider file's `[limits]`.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// Requests per second per host; 0 = unlimited [file: limits.rate, default 2].
    #[arg(long, value_name = "R", value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Requests a host may receive back to back [default 1].
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = at_least_one::<NonZeroU32>)]
    pub burst: Option<NonZeroU32>,
    /// Requests in flight, all hosts together [default 16].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least_one::<NonZeroUsize>)]
    pub concurrency: Option<NonZeroUsize>,
    /// Per request, connect to last byte, e.g. 500ms, 30s, 2m [default 30s].
    #[arg(long, value_name = "T", value_parser = positive_duration)]
    pub timeout: Option<Duration>,
    /// Retries for network errors, timeouts, 429 and 5xx [default 3].
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub retries: Option<u32>,
    /// Ignore robots.txt.
    #[arg(long)]
    pub no_robots: bool,
    /// The User-Agent header [default trawl/VERSION].
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,
    /// Larger bodies are refused, e.g. 512KiB, 10MiB [default 10MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body: Option<u64>,
}

/// An integer ≥ 1, with a message that says so.
fn at_least_one<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("an integer ≥ 1, found `{text}`"))
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("a duration above zero".to_string()),
        d => Ok(d),
    }
}

impl Overrides {
    /// Applies every flag given over the spider file's values.
    pub fn apply(&self, spider: &mut Spider) {
        let limits = &mut spider.limits;
        if let Some(rate) = self.rate.and_then(Rate::new) {
            limits.rate = rate;
        }
        if let Some(burst) = self.burst {
            limits.burst = burst;
        }
        if let Some(n) = self.concurrency {
            limits.concurrency = n;
        }
        if let Some(timeout) = self.timeout {
            limits.timeout = timeout;
        }
        if let Some(retries) = self.retries {
            limits.retries = retries;
        }
        if self.no_robots {
            limits.robots = false;
        }
        if let Some(agent) = &self.user_agent {
            limits.user_agent = agent.clone();
        }
        if let Some(size) = self.max_body {
            limits.max_body = size;
        }
    }
}
