//! The HTTP client, replaced by a fresh one whenever its pool may hold more
//! idle connections than the file-descriptor budget allows (`fds.rs`).
//!
//! reqwest caps idle connections per host but not in total, and offers no
//! way to close them early. So a client serves at most
//! [`Budget::hosts_per_pool`](super::fds::Budget) hosts; the next new host
//! gets a fresh client, and the old client's pool, with every idle socket
//! in it, is closed as soon as its last request ends. A local fault (EMFILE)
//! replaces the client at once, so the retry finds the idle sockets closed.

use std::collections::HashSet;
use std::sync::Mutex;

/// Builds a client configured for the crawl (cookies, resolver, timeouts).
pub(super) type Build = Box<dyn Fn() -> Result<reqwest::Client, reqwest::Error> + Send + Sync>;

/// The crawl's current client, and the hosts it has served.
pub(super) struct Pool {
    build: Build,
    hosts_per_pool: usize,
    current: Mutex<Generation>,
}

struct Generation {
    /// Counts replacements, so that many requests failing at once replace
    /// the client they used once, not once each.
    id: u64,
    client: reqwest::Client,
    /// Host keys (`hosts::host_key`) this client has connected to.
    hosts: HashSet<String>,
}

impl Pool {
    /// A pool whose clients come from `build`, each serving at most
    /// `hosts_per_pool` hosts. Fails if the first client cannot be built.
    pub(super) fn new(build: Build, hosts_per_pool: usize) -> Result<Pool, reqwest::Error> {
        let client = build()?;
        Ok(Pool {
            build,
            hosts_per_pool: hosts_per_pool.max(1),
            current: Mutex::new(Generation {
                id: 0,
                client,
                hosts: HashSet::new(),
            }),
        })
    }

    /// The client to ask `host` (a host key) with, and its generation; a
    /// host new to a client that has served its share gets a fresh client.
    pub(super) fn client(&self, host: &str) -> (u64, reqwest::Client) {
        let mut current = self.lock();
        if !current.hosts.contains(host) {
            if current.hosts.len() >= self.hosts_per_pool {
                self.renew(&mut current);
            }
            current.hosts.insert(host.to_string());
        }
        (current.id, current.client.clone())
    }

    /// Replaces generation `id`'s client after a local fault, unless it was
    /// replaced already, so that its idle sockets close.
    pub(super) fn recycle(&self, id: u64) {
        let mut current = self.lock();
        if current.id == id {
            self.renew(&mut current);
        }
    }

    fn renew(&self, current: &mut Generation) {
        match (self.build)() {
            Ok(client) => {
                current.client = client;
                current.hosts.clear();
                current.id += 1;
            }
            // The client was built once with the same settings; keep it.
            Err(e) => {
                tracing::debug!("cannot build a fresh HTTP client ({e}); keeping the old one")
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generation> {
        // A generation holds no invariant a panic could break halfway.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.lock();
        f.debug_struct("Pool")
            .field("generation", &current.id)
            .field("hosts", &current.hosts.len())
            .field("hosts_per_pool", &self.hosts_per_pool)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(hosts_per_pool: usize) -> Pool {
        Pool::new(
            Box::new(|| reqwest::Client::builder().build()),
            hosts_per_pool,
        )
        .unwrap()
    }

    #[test]
    fn a_client_serves_its_share_of_hosts_then_is_replaced() {
        let pool = pool(2);
        assert_eq!(pool.client("http://a:80").0, 0);
        assert_eq!(pool.client("http://b:80").0, 0);
        assert_eq!(
            pool.client("http://a:80").0,
            0,
            "a known host needs no new client"
        );
        assert_eq!(pool.client("http://c:80").0, 1);
        assert_eq!(pool.client("http://a:80").0, 1);
        assert_eq!(pool.client("http://d:80").0, 2);
    }

    #[test]
    fn a_local_fault_replaces_the_client_once() {
        let pool = pool(100);
        let (id, _) = pool.client("http://a:80");
        pool.recycle(id);
        pool.recycle(id);
        assert_eq!(pool.client("http://a:80").0, id + 1);
    }
}
