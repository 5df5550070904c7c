//! trawl streams structured records out of paginated websites and JSON APIs.
//!
//! A [`Spider`] (usually read from a TOML file; the README documents every
//! key) says where to start, how to page and what to extract.
//! [`Crawl::start`] turns it into a [`Stream`](futures::Stream) of
//! [`Record`]s in discovery order, while the fetching runs concurrently and
//! politely underneath: per-host rate limits, a global concurrency cap,
//! robots.txt, retries with backoff. A page that fails is counted in the
//! crawl's [`Summary`], never the end of the stream.
//!
//! To write a crawl into a file or a database exactly once across
//! interruptions, as the `trawl` command does, open a [`Job`] on a state
//! directory.
//!
//! # Example
//!
//! Every example in these docs runs against the crate's demo site, a small
//! blog, JSON API and shop served on `127.0.0.1`:
//!
//! ```
//! use futures::StreamExt;
//! use trawl::demo::{DemoServer, DemoSite};
//! use trawl::{Crawl, CrawlOptions, Spider};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let site = DemoServer::start(DemoSite::default()).await?; // a blog on 127.0.0.1
//! let spider = Spider::from_toml(&format!(r#"
//!     start = "{}/blog/page/{{page}}"
//!     [list]
//!     item = ".item"
//!     fields.title = ".title::text"
//!     "#, site.base_url()), "inline", "blog")?;
//! let crawl = Crawl::start(spider, CrawlOptions::default())?;
//! let mut records = crawl.take(10); // stops the crawl after ten records
//! while let Some(record) = records.next().await {
//!     println!("{}", serde_json::to_string(&record?)?);
//! }
//! # Ok(()) }
//! ```
//!
//! The example needs, beside trawl (with its `demo` feature, for the demo
//! site), Tokio's multi-threaded runtime and its `main` macro, `futures` for
//! the stream's combinators and `serde_json` to print the records:
//!
//! ```toml
//! [dependencies]
//! trawl = { path = "../trawl", default-features = false, features = ["demo"] }
//! tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
//! futures = "0.3"
//! serde_json = "1"
//! ```
//!
//! # Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`spider`] | what to crawl: [`Spider`] from TOML, its [`Limits`](spider::Limits) |
//! | [`crawl`] | the engine: [`Crawl`] (a stream of [`Record`]s), [`CrawlOptions`], [`Summary`] |
//! | [`fetch`] | a polite HTTP client on its own: [`Fetcher::get`], [`Fetcher::send`] of an [`Ask`](fetch::Ask) |
//! | [`sink`] | where records go: [`Sink`] on a [`Target`](sink::Target) (JSON Lines, CSV, JSON, SQLite, PostgreSQL) |
//! | [`state`] | a crawl's committed progress, for resuming: [`StateStore`](state::StateStore) |
//! | [`job`] | a crawl written into a sink exactly once: [`Job::open`] |
//! | `demo` | the demo site, [`DemoServer`](demo::DemoServer) (feature `demo`) |
//!
//! How pages are read (selectors, JSON paths, filters) is crate-private: it
//! is configured through the spider file, not called.
//!
//! # Errors
//!
//! One error type per boundary, each naming what is at fault and what was
//! expected: [`SpiderError`] (the file and the key), [`FetchError`] (the
//! URL, the status), [`SinkError`] (the output), [`CrawlError`] (the rare
//! faults that end a crawl) and [`JobError`] (which tells the caller's
//! mistakes from the machine's with [`JobError::is_usage`]). Nothing in the
//! crate panics on bad input.
//!
//! # Cargo features
//!
//! - **`cli`** (default): the `trawl` binary: argument parsing (clap), the
//!   progress line (indicatif) and logging (tracing-subscriber). It turns
//!   on `demo`.
//! - **`demo`**: the [`demo`] module, the demo site on axum. The examples
//!   in these docs use it; a library that does not wants
//!   `default-features = false`.
//!
//! With `default-features = false` the crate is the library alone: no CLI
//! crate and no HTTP server in its dependency tree.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod crawl;
#[cfg(feature = "demo")]
pub mod demo;
pub(crate) mod extract;
pub mod fetch;
pub mod job;
pub mod sink;
pub mod spider;
pub mod state;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod proptest_run;

pub use crawl::{Crawl, CrawlError, CrawlOptions, Record, Summary};
pub use fetch::{FetchError, Fetcher};
pub use job::{Job, JobError, Outcome};
pub use sink::{Sink, SinkError};
pub use spider::{Spider, SpiderError};
