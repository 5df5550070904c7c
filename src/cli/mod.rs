//! The `trawl` binary's commands: `crawl`, `check`, `demo`.

pub mod args;
mod demo;
pub mod run;

use std::path::Path;
use std::process::ExitCode;

use trawl::crawl::CrawlOptions;
use trawl::sink::{Sink, Target};
use trawl::{Crawl, Spider};

use args::{CrawlArgs, Overrides};
use run::exit;

pub use demo::demo;

/// Prints `message` as trawl's error and returns `code`.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("trawl: error: {message}");
    ExitCode::from(code)
}

/// Loads a spider file and applies the flags over it.
fn load(path: &Path, overrides: &Overrides) -> Result<Spider, ExitCode> {
    let mut spider = Spider::from_path(path).map_err(|e| fail(exit::USAGE, e))?;
    overrides.apply(&mut spider);
    Ok(spider)
}

/// `trawl check`: validate and describe; nothing is fetched.
pub fn check(path: &Path, overrides: &Overrides) -> ExitCode {
    match load(path, overrides) {
        Ok(spider) => {
            print!("{}", spider.describe());
            println!("{}: ok", path.display());
            ExitCode::from(exit::OK)
        }
        Err(code) => code,
    }
}

/// `trawl crawl`: everything is checked before the first request.
pub async fn crawl(args: CrawlArgs) -> ExitCode {
    let spider = match load(&args.spider, &args.overrides) {
        Ok(spider) => spider,
        Err(code) => return code,
    };
    if let Some(dir) = &args.state {
        return fail(
            exit::USAGE,
            format!(
                "--state {}: resumable state is not available in this version of trawl",
                dir.display()
            ),
        );
    }
    let target = match args.output.as_deref().map(Target::parse).transpose() {
        Ok(target) => target.unwrap_or(Target::Stdout),
        Err(message) => return fail(exit::USAGE, format!("-o {message}")),
    };
    let sink = match Sink::open(target, columns(&spider)) {
        Ok(sink) => sink,
        Err(e) => return fail(exit::FAULT, e),
    };
    let options = CrawlOptions {
        max_pages: args.max_pages,
        max_items: args.max_items,
        ..CrawlOptions::default()
    };
    let name = spider.name.clone();
    match Crawl::start(spider, options) {
        Ok(crawl) => run::drive(crawl, sink, &name).await,
        Err(e) => fail(exit::FAULT, e),
    }
}

/// Field names in record order: list fields, then detail fields not already listed.
fn columns(spider: &Spider) -> Vec<String> {
    let mut names: Vec<String> = spider.list.fields.iter().map(|(n, _)| n.clone()).collect();
    for (name, _) in spider.detail.iter().flat_map(|d| &d.fields) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}
