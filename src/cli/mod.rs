//! The `trawl` binary's commands: `crawl`, `check`, `demo`.

/// `eprintln!` that never panics: stderr may be a closed pipe too
/// (`trawl crawl s.toml 2>&1 | head`), and a message lost there is no fault.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod args;
mod demo;
pub mod run;
mod try_page;

use std::path::Path;
use std::process::ExitCode;

use trawl::crawl::CrawlOptions;
use trawl::sink::{Column, Sink, SinkOptions, Target};
use trawl::state::{Saved, StateStore};
use trawl::{Crawl, Spider};

use args::{CrawlArgs, Overrides};
use run::exit;
use trawl::job::Resumable;

pub use demo::demo;
pub use try_page::try_page;

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
    match prepare(&args).await {
        Ok((spider, sink, saved, state)) => {
            let options = CrawlOptions {
                max_pages: args.max_pages.map(std::num::NonZeroU64::get),
                max_items: args.max_items.map(std::num::NonZeroU64::get),
                page_details: args.state.is_some(),
                resume: saved.resume,
                ..CrawlOptions::default()
            };
            let name = spider.name.clone();
            match Crawl::start(spider, options) {
                Ok(crawl) => run::drive(trawl::Job::new(crawl, sink, state), &name).await,
                Err(e) => fail(exit::FAULT, e),
            }
        }
        Err(code) => code,
    }
}

type Prepared = (Spider, Sink, Saved, Option<Resumable>);

async fn prepare(args: &CrawlArgs) -> Result<Prepared, ExitCode> {
    let spider = load(&args.spider, &args.overrides)?;
    let target = match args.output.as_deref().map(Target::parse).transpose() {
        Ok(target) => target.unwrap_or(Target::Stdout),
        Err(message) => return Err(fail(exit::USAGE, format!("-o {message}"))),
    };
    let (saved, state) = match &args.state {
        Some(dir) => open_state(dir, args, &target)?,
        None => (Saved::default(), None),
    };
    let options = SinkOptions {
        columns: columns(&spider),
        table: spider.name.clone(),
        resume_at: saved.resume.as_ref().map(|_| saved.sink_position),
        resume_mark: saved.resume.as_ref().and(saved.sink_mark.clone()),
        pool_size: args.db_pool.get(),
    };
    let sink = Sink::open(target, options).await.map_err(|e| {
        // An output changed behind trawl's back is the user's to sort out.
        let code = if e.is_tampered() {
            exit::USAGE
        } else {
            exit::FAULT
        };
        fail(code, e)
    })?;
    Ok((spider, sink, saved, state))
}

fn open_state(
    dir: &Path,
    args: &CrawlArgs,
    target: &Target,
) -> Result<(Saved, Option<Resumable>), ExitCode> {
    if !target.is_resumable() {
        return Err(fail(
            exit::USAGE,
            "--state needs -o FILE or a database: stdout cannot be rewound to the last commit",
        ));
    }
    let mut text = std::fs::read_to_string(&args.spider).map_err(|e| {
        fail(
            exit::USAGE,
            format!("{}: cannot read ({e})", args.spider.display()),
        )
    })?;
    // `--var` changes what is crawled as the file does: the state keeps it
    // with the file's meaning, so a resume with other values is refused.
    let vars = args.overrides.var_lists();
    if !vars.is_empty() {
        let json = serde_json::to_string(&vars).unwrap_or_default();
        text.push_str(&format!(
            "\n__trawl_cli_vars = {}\n",
            toml::Value::String(json)
        ));
    }
    let (store, saved) = StateStore::open(dir, &text, &target.to_string()).map_err(|e| {
        let code = if e.is_usage() {
            exit::USAGE
        } else {
            exit::FAULT
        };
        fail(code, e)
    })?;
    if saved.complete {
        say!(
            "trawl: the crawl in {} is complete ({} records in {target}); delete {} to crawl again",
            dir.display(),
            saved.records,
            dir.display()
        );
        return Err(ExitCode::from(exit::OK));
    }
    if saved.resume.is_some() {
        say!(
            "trawl: resuming from {} ({} records committed)",
            dir.display(),
            saved.records
        );
    }
    let unlimited = args.max_pages.is_none() && args.max_items.is_none();
    Ok((saved, Some(Resumable { store, unlimited })))
}

/// The record's columns in order, typed by the spider (list fields, then
/// detail fields not already listed, without `omit`ted ones).
fn columns(spider: &Spider) -> Vec<Column> {
    spider
        .columns()
        .into_iter()
        .map(|(name, kind)| Column::new(name, kind))
        .collect()
}
