//! `trawl demo`: the built-in site, crawled with the shipped example spiders.

use std::process::ExitCode;

use crate::demo::{DemoServer, DemoSite};
use crate::job::{Job, JobOptions};
use crate::sink::Target;
use crate::spider::Rate;
use crate::Spider;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::{fail, run::exit};

/// The example spiders, as shipped in `examples/`, in the order the demo runs them.
const EXAMPLES: [(&str, &str); 4] = [
    (
        "examples/blog.toml",
        include_str!("../../examples/blog.toml"),
    ),
    ("examples/api.toml", include_str!("../../examples/api.toml")),
    (
        "examples/catalog.toml",
        include_str!("../../examples/catalog.toml"),
    ),
    (
        "examples/shop-levels.toml",
        include_str!("../../examples/shop-levels.toml"),
    ),
];

/// The host the examples are written for; the demo swaps in its own port.
const EXAMPLE_HOST: &str = "127.0.0.1:8000";

/// Serves the demo site, crawls it with each example, prints the records.
pub(super) async fn demo(serve: bool, port: Option<u16>) -> ExitCode {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(0)));
    let server = match DemoServer::start_on(DemoSite::default(), addr).await {
        Ok(server) => server,
        Err(e) => {
            return fail(
                exit::FAULT,
                format!("cannot start the demo site on {addr} ({e})"),
            )
        }
    };
    // Listening from the start, so a stop that lands between the crawls and
    // the wait below is not lost.
    let stop = Stop::listen();
    let host = server.addr().to_string();
    say!("trawl demo: serving the demo site on {}", server.base_url());
    for (origin, text) in EXAMPLES {
        let code = crawl_example(origin, &text.replace(EXAMPLE_HOST, &host)).await;
        if code != ExitCode::from(exit::OK) {
            return code;
        }
    }
    if serve {
        say!(
            "trawl demo: still serving on {}; Ctrl-C or SIGTERM to stop",
            server.base_url()
        );
        stop.wait().await;
    }
    server.shutdown().await;
    ExitCode::from(exit::OK)
}

async fn crawl_example(origin: &str, text: &str) -> ExitCode {
    let stem = origin
        .trim_start_matches("examples/")
        .trim_end_matches(".toml");
    let mut spider = match Spider::from_toml(text, origin, stem) {
        Ok(spider) => spider,
        Err(e) => return fail(exit::FAULT, e),
    };
    // The demo site is ours and local: a brisker pace than the polite default.
    spider.limits.rate = Rate::new(50.0).expect("50 is a valid rate");
    spider.limits.burst = std::num::NonZeroU32::new(10).expect("10 is not zero");
    say!("trawl demo: crawling {origin} (rate 50/s, burst 10 against the local demo site)");
    let name = spider.name.clone();
    match Job::open(spider, Target::Stdout, JobOptions::default()).await {
        Ok(job) => super::run::drive(job, &name).await,
        Err(e) => fail(exit::FAULT, e),
    }
}

/// SIGINT and SIGTERM, listened for from the moment it is made.
struct Stop {
    sigint: Option<Signal>,
    sigterm: Option<Signal>,
}

impl Stop {
    fn listen() -> Stop {
        Stop {
            sigint: signal(SignalKind::interrupt()).ok(),
            sigterm: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Returns at the first of the two (at once if one came already).
    async fn wait(mut self) {
        async fn recv(signal: &mut Option<Signal>) {
            match signal {
                Some(signal) => drop(signal.recv().await),
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.sigint) => {}
            _ = recv(&mut self.sigterm) => {}
        }
    }
}
