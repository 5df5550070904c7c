//! trawl streams structured records out of paginated websites and JSON APIs.
//!
//! A [`Spider`] (usually read from a TOML file, see the README) says where to
//! start, how to page and what to extract; [`Crawl::start`] turns it into a
//! [`Stream`](futures::Stream) of [`Record`]s in discovery order, with the
//! fetching running concurrently and politely underneath.
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
//! The modules, top-down: [`spider`] (what to crawl), [`extract`] (how to read
//! a page), [`fetch`] (how to ask politely), [`crawl`] (the engine), [`sink`]
//! (where records go), [`state`] (resuming), [`job`] (a crawl into a sink,
//! exactly once), [`demo`] (the built-in demo site).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

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
