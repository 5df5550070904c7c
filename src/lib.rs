//! trawl streams structured records out of paginated websites and JSON APIs.
//!
//! A [`Spider`] (usually read from a TOML file, see the README) says where to
//! start, how to page and what to extract; [`Crawl::start`] turns it into a
//! [`Stream`](futures::Stream) of [`Record`]s in discovery order, with the
//! fetching running concurrently and politely underneath.
//!
//! ```no_run
//! use futures::StreamExt;
//! use trawl::{Crawl, CrawlOptions, Spider};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let spider = Spider::from_path("examples/blog.toml")?;
//! let mut records = Crawl::start(spider, CrawlOptions::default())?.take(10);
//! while let Some(record) = records.next().await {
//!     println!("{}", serde_json::to_string(&record?)?);
//! }
//! # Ok(()) }
//! ```
//!
//! The modules, top-down: [`spider`] (what to crawl), [`extract`] (how to read
//! a page), [`fetch`] (how to ask politely), [`crawl`] (the engine), [`sink`]
//! (where records go), [`demo`] (the built-in demo site).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crawl;
pub mod demo;
pub mod extract;
pub mod fetch;
pub mod sink;
pub mod spider;

pub use crawl::{Crawl, CrawlError, CrawlOptions, Record, Summary};
pub use fetch::{FetchError, Fetcher};
pub use sink::{Sink, SinkError};
pub use spider::{Spider, SpiderError};
