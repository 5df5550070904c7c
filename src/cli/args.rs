//! The command line (SPEC §2), parsed once into typed values.
//!
//! Values are parsed and checked by the same functions the spider file uses
//! (`parse_*` for the text, `Limits::check_*` for the rules), so `--timeout
//! 2m` and `timeout = "2m"` mean the same and `--rate 1e-30` is refused like
//! `rate = 1e-30`; clap names the flag in any error and exits 2, before the
//! spider file is read and so before any request.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use crate::spider::{parse_duration, parse_rate, parse_size, Limits, Rate, Spider};
use clap::{Args, Parser, Subcommand};

/// Examples and exit statuses, after every command's flags (cargo's and
/// ripgrep's help are the model).
const AFTER_HELP: &str = "\
Examples:
  trawl demo                                 crawl the built-in demo site
  trawl check shop.toml                      validate a spider file, print its plan
  trawl try shop.toml                        fetch the first page, show what each field reads
  trawl try shop.toml URL --detail           the same for one detail page
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
pub(crate) struct Cli {
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
pub(crate) enum Command {
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
    /// Fetch one page (the first start, or URL) and show what the spider reads on it; writes nothing.
    Try {
        /// The spider file (TOML).
        spider: PathBuf,
        /// The page to fetch instead of the first start.
        url: Option<String>,
        /// Read the page with the [detail] rules.
        #[arg(long)]
        detail: bool,
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
    /// Stop after N list pages (N ≥ 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least_one::<NonZeroU64>)]
    pub max_pages: Option<NonZeroU64>,
    /// Stop after N records (N ≥ 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least_one::<NonZeroU64>)]
    pub max_items: Option<NonZeroU64>,
    /// PostgreSQL output: connections in the pool at most.
    #[arg(long, value_name = "N", default_value = "4")]
    pub db_pool: std::num::NonZeroUsize,
}

/// Flags that override the spider file's `[limits]`, each checked by its rule.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// Requests per second per host; 0 = unlimited, else at least 1/86400 [file: limits.rate, default 2].
    #[arg(long, value_name = "R", value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: Option<Rate>,
    /// Requests a host may receive back to back, 1 to 10000 [default 1].
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = burst)]
    pub burst: Option<NonZeroU32>,
    /// Requests in flight, all hosts together, 1 to 10000 [default 16].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = concurrency)]
    pub concurrency: Option<NonZeroUsize>,
    /// Per request, connect to last byte, e.g. 500ms, 30s, 2m; at most 24h [default 30s].
    #[arg(long, value_name = "T", value_parser = timeout)]
    pub timeout: Option<Duration>,
    /// Retries for network errors, timeouts, 429 and 5xx [default 3].
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = retries)]
    pub retries: Option<u32>,
    /// Ignore robots.txt.
    #[arg(long)]
    pub no_robots: bool,
    /// The User-Agent header [default trawl/VERSION].
    #[arg(long, value_name = "UA", value_parser = Limits::check_user_agent)]
    pub user_agent: Option<String>,
    /// Larger bodies are refused, e.g. 512KiB, 10MiB [default 10MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_body: Option<u64>,
    /// A Retry-After or Crawl-delay longer than this skips the host instead of
    /// stalling the crawl, e.g. 30s, 10m; at most 24h [file: limits.max_delay, default 10m].
    #[arg(long, value_name = "T", value_parser = max_delay)]
    pub max_delay: Option<Duration>,
    /// Also fetch loopback, private, link-local and cloud-metadata addresses
    /// (allowed anyway when a start is on one) [file: limits.allow_private].
    #[arg(long)]
    pub allow_private: bool,
    /// Replace a [vars] list: --var q=lego --var q=duplo (repeat for more values).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = var)]
    pub vars: Vec<(String, String)>,
}

/// `NAME=VALUE`, split at the first `=`.
fn var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "NAME=VALUE (a [vars] name, `=`, a value), found `{text}`"
        )),
    }
}

/// An integer ≥ 1, with a message that says so.
fn at_least_one<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("an integer ≥ 1, found `{text}`"))
}

/// Any integer, for a `Limits::check_*` rule to judge.
fn integer(text: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("an integer, found `{text}`"))
}

fn burst(text: &str) -> Result<NonZeroU32, String> {
    integer(text).and_then(Limits::check_burst)
}

fn concurrency(text: &str) -> Result<NonZeroUsize, String> {
    integer(text).and_then(Limits::check_concurrency)
}

fn retries(text: &str) -> Result<u32, String> {
    integer(text).and_then(Limits::check_retries)
}

fn timeout(text: &str) -> Result<Duration, String> {
    parse_duration(text).and_then(Limits::check_timeout)
}

fn max_delay(text: &str) -> Result<Duration, String> {
    parse_duration(text).and_then(Limits::check_max_delay)
}

impl Overrides {
    /// Applies every flag given over the spider file's values (each was
    /// checked when it was parsed); a `--var` naming no var is the error.
    pub fn apply(&self, spider: &mut Spider) -> Result<(), String> {
        for (name, values) in self.var_lists() {
            spider.set_var(&name, values).map_err(|e| e.to_string())?;
        }
        self.apply_limits(spider);
        Ok(())
    }

    /// `--var` values grouped by name, names and values in command-line order.
    pub fn var_lists(&self) -> Vec<(String, Vec<String>)> {
        let mut lists: Vec<(String, Vec<String>)> = Vec::new();
        for (name, value) in &self.vars {
            match lists.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value.clone()),
                None => lists.push((name.clone(), vec![value.clone()])),
            }
        }
        lists
    }

    fn apply_limits(&self, spider: &mut Spider) {
        let limits = &mut spider.limits;
        if let Some(rate) = self.rate {
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
        if let Some(delay) = self.max_delay {
            limits.max_delay = delay;
        }
        if self.allow_private {
            limits.allow_private = true;
        }
    }
}
