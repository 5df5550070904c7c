//! Whole crawls through the library, for the test binaries that need them:
//! spider files with the test server's address filled in, and a crawl run to
//! its end under a deadline.

use std::time::Duration;

use futures::StreamExt;
use trawl::{Crawl, CrawlOptions, Record, Spider, Summary};

use super::TestServer;

/// No test crawl may take longer than this; a hang is a failure, not a stall.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// `http://127.0.0.1:PORT`, without a trailing slash.
pub fn base(server: &TestServer) -> String {
    server.url("").trim_end_matches('/').to_string()
}

/// A spider from TOML with `BASE` replaced by the server's address and these
/// `[limits]` lines; `name` names the file in errors.
pub fn spider_at(server: &TestServer, toml: &str, limits: &str, name: &str) -> Spider {
    let text = format!(
        "{}\n[limits]\n{limits}\n",
        toml.replace("BASE", &base(server))
    );
    Spider::from_toml(&text, &format!("{name}.toml"), name)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Runs a crawl to its end: its records and its summary.
pub async fn crawl_to_end(spider: Spider) -> (Vec<Record>, Summary) {
    let mut crawl = Crawl::start(spider, CrawlOptions::default()).expect("the crawl starts");
    let records = tokio::time::timeout(DEADLINE, async {
        let mut records = Vec::new();
        while let Some(record) = crawl.next().await {
            records.push(record.expect("no fatal crawl error"));
        }
        records
    })
    .await
    .expect("the crawl ends before the deadline");
    (records, crawl.summary())
}
