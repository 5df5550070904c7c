//! The engine: fetches pages of every kind concurrently, emits records in
//! discovery order.
//!
//! Requests wait in the [`Frontier`], earliest [`OrderKey`] first. A request
//! taken from it becomes a [`Page`] in `pages`, keyed by the same order,
//! while it is fetched, read, and its records sent. Three things move a page
//! along, each in key order so that the output never depends on which fetch
//! finished first:
//!
//! - **absorb**: its fetch finished; its items are kept (`require`) and
//!   their detail fetches start;
//! - **expand**: every earlier page has expanded; the pages it leads to are
//!   checked against the pages seen (a page reached twice is crawled once,
//!   under the first path) and go into the frontier;
//! - **emit**: it is the earliest page left and nothing earlier waits in the
//!   frontier; its records go out as their detail pages arrive, then a
//!   [`PageDone`] with the requests it discovered, which is what a state
//!   store commits.
//!
//! The read-ahead bounds how many pages are held at once, and how many bytes:
//! a page read and not yet emitted counts its body's length (the items it
//! holds are at most that), a page still being fetched counts as a typical
//! page so far. Open-ended paging knows its next page only once the current
//! one is read, so it never asks for a page past the end.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::details::{url_key, DetailKey, Details, Lookup};
use super::frontier::{normalize, Frontier};
use super::order::OrderKey;
use super::page::{fetch_detail, fetch_page, Fetched, PageError};
use super::request::{sequence_start, Request, Sequence, Step};
use super::seen::Seen;
use super::summary::Counters;
use super::{CrawlError, CrawlOptions, Event, PageDone, Record};
use crate::extract::{values_text, Field, Fields, ItemRule, Keep};
use crate::spider::template::fill_json;
use crate::spider::Spider;

/// What a finished task hands back.
enum Done {
    Page {
        key: OrderKey,
        result: Result<Fetched, PageError>,
    },
    Detail {
        key: DetailKey,
        result: Result<(Fields, Held), PageError>,
    },
}

/// One page, from leaving the frontier to its `PageDone`.
struct Page {
    request: Request,
    /// Its fetch priority (leases are numbered in order).
    turn: u64,
    state: PageState,
    /// What it holds in the read-ahead's bytes, once fetched.
    bytes: Option<usize>,
    /// Requests this page discovered, for the state store.
    children: Vec<Request>,
    /// Detail pages first requested by this page's items (URL and key).
    fresh_details: Vec<(String, DetailKey)>,
    /// Detail pages of records already sent; released once the page is done,
    /// so `PageDone` still finds their fields in memory.
    held: Vec<DetailKey>,
    /// `unique` values first seen on this page (for the state store).
    fresh_unique: Vec<String>,
}

enum PageState {
    Fetching,
    /// Fetched and its items kept; what it leads to not yet looked at.
    Read {
        items: VecDeque<Item>,
        leads: Leads,
    },
    /// Expanded: its records wait to be sent.
    Ready {
        items: VecDeque<Item>,
        next_index: u32,
    },
}

/// What a read page leads to, until it expands.
#[derive(Default)]
struct Leads {
    links: Vec<(Url, Fields)>,
    next: Option<Url>,
    /// Its sequence ends here (a failed, empty or last page).
    ends: bool,
    /// It failed: URL and reason, reported when it expands (a page fetched
    /// by `prefetch` past the end is dropped before, and never reported).
    failure: Option<(String, String)>,
}

struct Item {
    fields: Fields,
    /// The detail page, if the item has one to follow.
    detail: Option<DetailKey>,
    /// The fields are the whole record (a link crawl's page).
    whole: bool,
    /// The list's `unique` rule has passed it (it waits for its detail page).
    unique_checked: bool,
}

/// Where a local fault stopped the crawl.
struct Halt {
    key: OrderKey,
    url: String,
    reason: String,
}

/// Whether the engine should keep going.
enum Flow {
    Continue,
    Finished,
}

pub(super) struct Driver {
    spider: Arc<Spider>,
    fetcher: Arc<dyn Fetch>,
    options: CrawlOptions,
    counters: Arc<Counters>,
    tx: mpsc::Sender<Result<Event, CrawlError>>,
    stop: CancellationToken,
    frontier: Frontier,
    pages: BTreeMap<OrderKey, Page>,
    /// Normalised URLs of every page requested or waiting (not detail pages).
    visited: Seen,
    details: Details,
    /// `unique` values seen so far.
    seen: Seen,
    /// Pages committed before this run plus pages done in it.
    done: u64,
    /// List pages taken from the frontier in this run (`--max-pages`).
    list_pages: u64,
    turns: u64,
    /// Whether any page of the tree was fetched and read.
    fetched_any: bool,
    /// The first page that failed, and why.
    first_failure: Option<(String, String)>,
    /// The earliest page a local fault left undone: nothing from it on is
    /// emitted or done, and the crawl ends once everything before it is.
    halt: Option<Halt>,
    tasks: JoinSet<Done>,
    emitted: u64,
    /// Host names a link crawl may visit.
    hosts: Vec<String>,
    /// A fresh crawl's starts after the first, for its first `PageDone`.
    later_roots: Vec<Request>,
    /// Pages fetched in this run and their bytes, for a typical page's size.
    bodies: (u64, u64),
    /// The read-ahead's bytes as the fetches see them: bodies take from it
    /// as they arrive (`fetch/budget.rs`).
    budget: Arc<ByteBudget>,
    /// Detail pages in flight, by the turn they were asked in.
    detail_turns: HashMap<DetailKey, u64>,
    /// Bodies absorbed since the budget last heard what the pages hold:
    /// their bytes stay counted until it has.
    settling: Vec<Held>,
}

/// Bytes that pages fetched ahead may hold before no more are leased (see
/// [`CrawlOptions::read_ahead_bytes`]); with a page leased past it at most
/// `max_body` more, this keeps read-ahead under 64 MiB on any site.
pub const READ_AHEAD_BYTES: usize = 32 * 1024 * 1024;

use crate::fetch::{Ask, ByteBudget, Fetch, Held, CHAIN_TURN};

/// The read-ahead's byte budget: the option, or [`READ_AHEAD_BYTES`].
fn read_ahead_bytes(options: &CrawlOptions) -> usize {
    match options.read_ahead_bytes {
        0 => READ_AHEAD_BYTES,
        n => n,
    }
}

impl Driver {
    pub(super) fn new(
        spider: Arc<Spider>,
        fetcher: Arc<dyn Fetch>,
        mut options: CrawlOptions,
        counters: Arc<Counters>,
        tx: mpsc::Sender<Result<Event, CrawlError>>,
        stop: CancellationToken,
    ) -> Driver {
        let mut frontier = Frontier::default();
        let mut visited = Seen::default();
        let mut details = Details::default();
        let mut seen = Seen::default();
        let mut done = 0;
        let mut roots = Vec::new();
        match options.resume.take() {
            Some(resume) => {
                done = resume.done;
                for url in &resume.visited {
                    visited.insert(url);
                }
                for request in resume.pending {
                    visited.insert(&request.visit_key(&spider));
                    frontier.push(request);
                }
                for (url, fields) in resume.details {
                    details.preload(url_key(&url), fields);
                }
                for value in &resume.unique {
                    seen.insert(value);
                }
            }
            None => {
                for root in Request::roots(&spider) {
                    if visited.insert(&root.visit_key(&spider)) {
                        frontier.push(root.clone());
                        roots.push(root);
                    }
                }
            }
        }
        // A fresh crawl's first page done carries the other starts, so a
        // state store has every sequence from its first commit.
        let later_roots = roots.into_iter().skip(1).collect();
        let hosts = allowed_hosts(&spider);
        let budget = Arc::new(ByteBudget::new(read_ahead_bytes(&options)));
        fetcher.share_budget(budget.clone());
        Driver {
            spider,
            fetcher,
            options,
            counters,
            tx,
            stop,
            frontier,
            pages: BTreeMap::new(),
            visited,
            details,
            seen,
            done,
            list_pages: 0,
            turns: 0,
            fetched_any: false,
            first_failure: None,
            halt: None,
            tasks: JoinSet::new(),
            emitted: 0,
            hosts,
            later_roots,
            bodies: (0, 0),
            budget,
            detail_turns: HashMap::new(),
            settling: Vec::new(),
        }
    }

    /// Runs the crawl to its end, a limit, a stop request, or a closed receiver.
    pub(super) async fn run(mut self) {
        let warm = warm_up(
            self.fetcher.clone(),
            self.spider.clone(),
            self.counters.clone(),
        );
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => return,
            _ = warm => {}
        }
        loop {
            self.schedule();
            if let Flow::Finished = self.emit().await {
                break;
            }
            if self.halted().await {
                return;
            }
            // Emitting may have freed the read-ahead with no task left in
            // flight: refill now, or `join_next` below returns `None`.
            self.schedule();
            if self.pages.is_empty() && (self.frontier.is_empty() || self.at_page_limit()) {
                break;
            }
            self.share_with_fetches();
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                done = self.tasks.join_next() => match done {
                    Some(Ok(done)) => {
                        self.absorb(done);
                        self.expand();
                        // Before emitting, which may wait for the consumer.
                        self.share_with_fetches();
                    }
                    Some(Err(e)) if e.is_panic() => {
                        let message = format!("a fetch task panicked: {e}");
                        let _ = self.tx.send(Err(CrawlError::Internal(message))).await;
                        break;
                    }
                    Some(Err(_)) => {}
                    None => break,
                },
            }
        }
        self.report_nothing_fetched().await;
        // Dropping `self.tasks` here aborts whatever is still in flight.
    }

    /// Ends the crawl at its halt once every page before it is done: the
    /// halted page is reported, and the crawl fails with its local fault.
    async fn halted(&mut self) -> bool {
        let Some(halt) = &self.halt else {
            return false;
        };
        let before = |key: Option<&OrderKey>| key.is_some_and(|k| *k < halt.key);
        if before(self.pages.keys().next()) || before(self.frontier.first_key()) {
            return false;
        }
        let (url, reason) = (halt.url.clone(), halt.reason.clone());
        self.counters.fail(&url, reason.clone());
        let _ = self
            .tx
            .send(Err(CrawlError::LocalFault { url, reason }))
            .await;
        true
    }

    /// A local fault left page `key` undone; the earliest such page is
    /// where the crawl stops.
    fn halt_at(&mut self, key: OrderKey, url: String, reason: String) {
        if self.halt.as_ref().is_none_or(|h| key < h.key) {
            tracing::debug!("{url}: {reason}; the crawl stops before this page");
            self.halt = Some(Halt { key, url, reason });
        }
    }

    /// A crawl that fetched no page of its tree at all has failed (SPEC
    /// §10): the first failure is its reason.
    async fn report_nothing_fetched(&mut self) {
        if self.fetched_any || self.stop.is_cancelled() {
            return;
        }
        if let Some((url, reason)) = &self.first_failure {
            let error = CrawlError::NothingFetched {
                url: url.clone(),
                reason: reason.clone(),
            };
            let _ = self.tx.send(Err(error)).await;
        }
    }

    fn at_page_limit(&self) -> bool {
        self.options
            .max_pages
            .is_some_and(|max| self.list_pages >= max)
    }

    fn read_ahead(&self) -> usize {
        match self.options.read_ahead {
            0 => self.spider.limits.concurrency.get().max(8),
            n => n,
        }
    }

    /// A page still being fetched counts as the mean page fetched so far.
    fn typical_page(&self) -> usize {
        let (pages, bytes) = self.bodies;
        bytes.checked_div(pages).unwrap_or(0) as usize
    }

    /// The bytes the pages held are reckoned to cost: their bodies once
    /// read, a typical page each while fetching (or what the downloads
    /// hold, when that is more).
    fn held_bytes(&self) -> usize {
        let (read, fetching) = self.read_bytes();
        let estimate = fetching.saturating_mul(self.typical_page());
        read.saturating_add(estimate.max(self.budget.downloading()))
    }

    /// Bytes of the pages read and not yet emitted, and how many pages are
    /// still fetching.
    fn read_bytes(&self) -> (usize, usize) {
        let (mut read, mut fetching) = (0usize, 0usize);
        for page in self.pages.values() {
            match page.bytes {
                Some(bytes) => read = read.saturating_add(bytes),
                None => fetching += 1,
            }
        }
        (read, fetching)
    }

    /// Tells the fetches what the pages held cost and which downloads
    /// everything waits for: the earliest page's own and its records'
    /// detail pages' (their bytes never wait for the budget).
    fn share_with_fetches(&mut self) {
        self.budget.set_held(self.read_bytes().0);
        self.settling.clear();
        let Some(head) = self.pages.values().next() else {
            self.budget.set_head([]);
            return;
        };
        let items = match &head.state {
            PageState::Read { items, .. } | PageState::Ready { items, .. } => Some(items),
            PageState::Fetching => None,
        };
        let details = items
            .into_iter()
            .flatten()
            .filter_map(|item| item.detail)
            .filter_map(|key| self.detail_turns.get(&key).copied());
        self.budget
            .set_head(std::iter::once(head.turn).chain(details));
    }

    /// Takes requests from the frontier while the read-ahead has room, in
    /// pages and in bytes. A request earlier than every page held is taken
    /// even when it is full: the pages held wait for it.
    fn schedule(&mut self) {
        let read_ahead = self.read_ahead();
        let (budget, typical) = (read_ahead_bytes(&self.options), self.typical_page());
        let mut held = self.held_bytes();
        loop {
            let first_page = self.pages.keys().next().cloned();
            let Some(first) = self.frontier.first_key() else {
                break;
            };
            if self.halt.as_ref().is_some_and(|h| *first >= h.key) {
                break; // nothing from the halt on can be done
            }
            let urgent = first_page.is_none_or(|page| *first < page);
            if !urgent && (self.pages.len() >= read_ahead || held >= budget) {
                break;
            }
            let Some(request) = self.frontier.pop() else {
                break;
            };
            if request.is_list() {
                if self.at_page_limit() {
                    self.frontier.push(request);
                    break;
                }
                self.list_pages += 1;
            }
            self.lease(request);
            held = held.saturating_add(typical);
        }
    }

    /// Starts fetching `request`.
    fn lease(&mut self, request: Request) {
        // The next page of an open-ended chain goes before any detail page
        // when requests wait for a slot: everything behind it waits for it.
        let chained = request.is_open_ended() && !request.is_first_of_sequence();
        self.turns += 1;
        let turn = match chained && !self.spider.list.prefetch {
            true => self.turns | CHAIN_TURN,
            false => self.turns,
        };
        let mut children = Vec::new();
        // A known page range: the next page is fetched ahead.
        if let Some(next) = request.known_successor(&self.spider) {
            if self.visited.insert(&next.visit_key(&self.spider)) {
                children.push(next.clone());
                self.frontier.push(next);
            }
        }
        let (fetcher, spider) = (self.fetcher.clone(), self.spider.clone());
        let task_request = request.clone();
        let key = request.key.clone();
        self.tasks.spawn(async move {
            let result = fetch_page(&fetcher, &spider, &task_request, turn).await;
            Done::Page {
                key: task_request.key,
                result,
            }
        });
        let page = Page {
            request,
            turn,
            state: PageState::Fetching,
            bytes: None,
            children,
            fresh_details: Vec::new(),
            held: Vec::new(),
            fresh_unique: Vec::new(),
        };
        self.pages.insert(key, page);
    }

    fn absorb(&mut self, done: Done) {
        match done {
            Done::Page { key, result } => self.absorb_page(key, result),
            Done::Detail { key, result } => {
                self.detail_turns.remove(&key);
                let fields = match result {
                    // The body's bytes go back to the budget here: what is
                    // kept of a detail page is its fields.
                    Ok((fields, held)) => {
                        self.settling.push(held);
                        Counters::add(&self.counters.pages);
                        Some(fields)
                    }
                    Err(e) if e.local => {
                        self.details.resolve_local(key, e.url, e.reason);
                        return;
                    }
                    Err(e) => {
                        self.counters.fail(&e.url, e.reason);
                        None
                    }
                };
                self.details.resolve(key, fields);
            }
        }
    }

    fn absorb_page(&mut self, key: OrderKey, result: Result<Fetched, PageError>) {
        let Some(page) = self.pages.get(&key) else {
            return;
        };
        let request = page.request.clone();
        let turn = page.turn;
        let bytes = result.as_ref().map_or(0, |fetched| fetched.bytes);
        if result.is_ok() {
            self.bodies.0 += 1;
            self.bodies.1 += bytes as u64;
        }
        let state = match result {
            Ok(mut fetched) => {
                self.settling.push(std::mem::take(&mut fetched.held));
                self.read(&request, turn, fetched)
            }
            // Not read, so never expanded, emitted or done.
            Err(e) if e.local => {
                self.halt_at(key.clone(), e.url, e.reason);
                PageState::Fetching
            }
            Err(e) => self.failed(&request, e),
        };
        if let Some(page) = self.pages.get_mut(&key) {
            page.state = state;
            page.bytes = Some(bytes);
        }
    }

    /// A page read: count it, keep its items, start their detail fetches.
    fn read(&mut self, request: &Request, turn: u64, fetched: Fetched) -> PageState {
        self.fetched_any = true;
        Counters::add(&self.counters.pages);
        let is_list = request.is_list();
        if is_list {
            Counters::add(&self.counters.list_pages);
        }
        let url = fetched.url.clone().unwrap_or_else(|| request.url.clone());
        if is_list && fetched.items.is_empty() && request.key == OrderKey::start(0) {
            tracing::warn!(
                "{} matched nothing on the first list page, {url}",
                self.item_rule()
            );
        }
        let open_ended = request.is_open_ended();
        let mut ends = fetched.stop || (open_ended && fetched.items.is_empty());
        // A total on a sequence's first page bounds it; its pages are then
        // fetched ahead like a known range.
        if let (Some(total), Some(page)) = (fetched.total, self.pages.get_mut(&request.key)) {
            let items = fetched.items.len();
            ends |= !page.request.bound(&self.spider, total, items);
        }
        let mut fresh = Vec::new();
        let items = fetched
            .items
            .into_iter()
            .map(|fields| with_carried(&request.carried, fields))
            .map(|fields| fill_constants(&self.spider.list.fields, fields, request, &self.spider))
            .filter(|fields| fetched.whole || self.required(&self.spider.list.keep, fields))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|fields| match fetched.whole {
                true => Item {
                    fields,
                    detail: None,
                    whole: true,
                    unique_checked: false,
                },
                false => self.item(request, &url, turn, fields, &mut fresh),
            })
            .collect();
        if let Some(page) = self.pages.get_mut(&request.key) {
            page.fresh_details = fresh;
        }
        let leads = Leads {
            links: fetched.links,
            next: fetched.next,
            ends,
            failure: None,
        };
        PageState::Read { items, leads }
    }

    /// A page that failed after its retries: reported, unless it is the
    /// normal end of open-ended paging (a 404/410 past a sequence's first page).
    fn failed(&mut self, request: &Request, e: PageError) -> PageState {
        let normal_end = e.gone && request.is_open_ended() && !request.is_first_of_sequence();
        PageState::Read {
            items: VecDeque::new(),
            leads: Leads {
                ends: true,
                failure: (!normal_end).then_some((e.url, e.reason)),
                ..Leads::default()
            },
        }
    }

    /// A failure is reported once its page is known to belong to the crawl.
    fn report(&mut self, failure: Option<(String, String)>) {
        if let Some((url, reason)) = failure {
            self.first_failure
                .get_or_insert_with(|| (url.clone(), reason.clone()));
            self.counters.fail(&url, reason);
        }
    }

    /// An open-ended sequence ended at `request`: the pages `prefetch`
    /// fetched past it are dropped, unread and unreported.
    fn drop_past_end(&mut self, request: &Request) {
        if !self.spider.list.prefetch {
            return;
        }
        let later: Vec<OrderKey> = self
            .pages
            .range(request.key.clone()..)
            .map(|(k, _)| k.clone())
            .filter(|k| request.is_later_in_sequence(k))
            .collect();
        for key in later {
            self.pages.remove(&key);
        }
        while let Some(first) = self.frontier.first_key() {
            if !request.is_later_in_sequence(first) {
                break;
            }
            self.frontier.pop();
        }
        if let Some(page) = self.pages.get_mut(&request.key) {
            page.children
                .retain(|c| !request.is_later_in_sequence(&c.key));
        }
    }

    /// Expands read pages in key order: what each leads to joins the frontier.
    fn expand(&mut self) {
        loop {
            let Some(key) = self
                .pages
                .iter()
                .find(|(_, p)| !matches!(p.state, PageState::Ready { .. }))
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            if self.frontier.first_key().is_some_and(|f| *f < key) {
                return; // something earlier has not even been fetched
            }
            let page = self.pages.get_mut(&key).expect("the page is held");
            let PageState::Read { items, mut leads } =
                std::mem::replace(&mut page.state, PageState::Fetching)
            else {
                return; // still fetching
            };
            page.state = PageState::Ready {
                items,
                next_index: 0,
            };
            let request = page.request.clone();
            let failure = leads.failure.take();
            self.report(failure);
            if leads.ends && request.is_open_ended() {
                self.drop_past_end(&request);
            }
            let children = self.leads(&request, leads);
            let page = self.pages.get_mut(&key).expect("the page is held");
            page.children.extend(children.iter().cloned());
            for child in children {
                self.frontier.push(child);
            }
        }
    }

    /// The requests a page leads to that were not seen before, in order.
    fn leads(&mut self, request: &Request, leads: Leads) -> Vec<Request> {
        let mut found = Vec::new();
        for (index, (url, fields)) in leads.links.into_iter().enumerate() {
            let index = index as u32;
            let child = match &request.step {
                Step::Seed { level } => {
                    let (url, step) = match level + 1 < self.spider.seeds.len() {
                        true => (url, Step::Seed { level: level + 1 }),
                        false => sequence_start(&self.spider, url),
                    };
                    Request {
                        key: request.key.child(index),
                        url,
                        step,
                        carried: with_carried(&request.carried, fields),
                        start: request.start,
                        vars: request.vars.clone(),
                    }
                }
                Step::List { .. } => Request {
                    key: request.key.child(index),
                    url,
                    step: super::request::list_step(1, Sequence::Single),
                    carried: request.carried.clone(),
                    start: request.start,
                    vars: request.vars.clone(),
                },
                Step::Links { depth } => {
                    if !self.host_allowed(&url) {
                        continue;
                    }
                    Request {
                        key: request.key.below(index),
                        url,
                        step: Step::Links { depth: depth + 1 },
                        carried: Fields::new(),
                        start: request.start,
                        vars: request.vars.clone(),
                    }
                }
            };
            found.push(child);
        }
        let next = match (&request.step, leads.ends) {
            (_, true) => None,
            (Step::Seed { .. }, false) => leads
                .next
                .map(|url| request.then(url, request.step.clone())),
            (Step::List { .. }, false) => request.open_successor(&self.spider, leads.next),
            (Step::Links { .. }, false) => None,
        };
        found.extend(next);
        let spider = self.spider.clone();
        found.retain(|r| {
            matches!(r.url.scheme(), "http" | "https") && self.visited.insert(&r.visit_key(&spider))
        });
        found
    }

    /// Whether a link crawl may go to `url`'s host.
    fn host_allowed(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|host| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
    }

    /// The item rule, as a warning names it.
    fn item_rule(&self) -> String {
        match &self.spider.list.item {
            ItemRule::Css { source, .. } => format!("the item selector `{source}`"),
            ItemRule::Json(path) => format!("the items path `{}`", path.source()),
            ItemRule::Sitemap(_) => "the sitemap".to_string(),
            ItemRule::Links(_) => "the link rule".to_string(),
        }
    }

    /// Whether `fields` has every field `keep` requires; counts a drop if not.
    fn required(&self, keep: &Keep, fields: &Fields) -> bool {
        let Some(missing) = keep.missing(fields) else {
            return true;
        };
        tracing::debug!("record dropped: required field `{missing}` is empty");
        Counters::add(&self.counters.dropped_require);
        false
    }

    /// Whether a record with these `unique` values (from [`Keep::unique_key`];
    /// `None` without `unique`) is new; counts a drop if not. `section` keeps
    /// `[list]`'s and `[detail]`'s values apart. The record is the front page's.
    fn fresh(&mut self, section: &str, unique: Option<String>) -> bool {
        let Some(value) = unique else {
            return true;
        };
        let value = format!("{section}\u{1f}{value}");
        if self.seen.insert(&value) {
            if self.options.page_details {
                if let Some(mut front) = self.pages.first_entry() {
                    front.get_mut().fresh_unique.push(value);
                }
            }
            return true;
        }
        Counters::add(&self.counters.dropped_unique);
        false
    }

    /// Builds an item and starts its detail fetch unless that URL is known.
    fn item(
        &mut self,
        request: &Request,
        page_url: &Url,
        turn: u64,
        fields: Fields,
        fresh: &mut Vec<(String, DetailKey)>,
    ) -> Item {
        let detail = self.spider.detail.as_ref().and_then(|rule| {
            let value = fields.get(&rule.follow).cloned().unwrap_or(Value::Null);
            match rule.follow_filters.apply(value, page_url) {
                Value::String(link) => page_url.join(link.trim()).ok(),
                _ => None,
            }
        });
        let detail = detail.filter(|url| matches!(url.scheme(), "http" | "https"));
        let detail = detail.map(|url| {
            let normalized = normalize(&url);
            let key = url_key(&normalized);
            if self.details.claim(key) {
                fresh.push((normalized, key));
                let (fetcher, spider) = (self.fetcher.clone(), self.spider.clone());
                let ask = Ask {
                    headers: spider.request.headers_for(&request.values(&spider)),
                    ..Ask::get(url)
                };
                // A chain page's details wait their turn like any other.
                let turn = turn & !CHAIN_TURN;
                self.detail_turns.insert(key, turn);
                self.tasks.spawn(async move {
                    let result = fetch_detail(&fetcher, &spider, &ask, turn).await;
                    Done::Detail { key, result }
                });
            }
            key
        });
        Item {
            fields,
            detail,
            whole: false,
            unique_checked: false,
        }
    }

    /// Sends every record whose pages are in, in order, and a `PageDone`
    /// after each page whose records are all sent.
    ///
    /// `unique` is decided here, in discovery order, so the same record wins
    /// whichever page's fetch finished first.
    async fn emit(&mut self) -> Flow {
        while let Some(front) = self.pages.keys().next().cloned() {
            if self.frontier.first_key().is_some_and(|f| *f < front) {
                return Flow::Continue; // an earlier page is still to come
            }
            let next_index = match &self.pages[&front].state {
                PageState::Ready { next_index, .. } => *next_index,
                _ => return Flow::Continue,
            };
            let mut sent = next_index;
            while let Some(item) = self.front_item() {
                let detail = match item.detail.map(|key| self.details.lookup(key)) {
                    Some(Lookup::Pending) => {
                        self.set_next_index(sent);
                        return Flow::Continue;
                    }
                    Some(Lookup::Ready(fields)) => Some(fields),
                    Some(Lookup::Local(url, reason)) => {
                        self.set_next_index(sent);
                        self.halt_at(front, url, reason);
                        return Flow::Continue;
                    }
                    _ => None,
                };
                let item = self.pop_front_item();
                self.front_page().held.extend(item.detail);
                let Some(record) = self.record(item, detail.as_deref(), &front, sent) else {
                    continue;
                };
                sent += 1;
                if self.tx.send(Ok(Event::Record(record))).await.is_err() {
                    return Flow::Finished; // nobody is listening any more
                }
                Counters::add(&self.counters.records);
                self.emitted += 1;
                if self
                    .options
                    .max_items
                    .is_some_and(|max| self.emitted >= max)
                {
                    return Flow::Finished;
                }
            }
            let (_, mut page) = self.pages.pop_first().expect("the front page exists");
            let held = std::mem::take(&mut page.held);
            let done = self.page_done(page, sent);
            for key in held {
                self.details.release(key);
            }
            self.done += 1;
            if self.tx.send(Ok(Event::PageDone(done))).await.is_err() {
                return Flow::Finished;
            }
        }
        Flow::Continue
    }

    fn front_page(&mut self) -> &mut Page {
        self.pages
            .values_mut()
            .next()
            .expect("the front page exists")
    }

    fn set_next_index(&mut self, sent: u32) {
        if let PageState::Ready { next_index, .. } = &mut self.front_page().state {
            *next_index = sent;
        }
    }

    /// The front page's next item, dropping items `unique` rules out on their
    /// list fields (before they wait for a detail page).
    fn front_item(&mut self) -> Option<&Item> {
        loop {
            let PageState::Ready { items, .. } = &self.pages.values().next()?.state else {
                return None;
            };
            let item = items.front()?;
            if item.unique_checked || item.whole {
                break;
            }
            let unique = self.spider.list.keep.unique_key(&item.fields);
            if unique.is_none() {
                break;
            }
            if self.fresh("list", unique) {
                if let PageState::Ready { items, .. } = &mut self.front_page().state {
                    items[0].unique_checked = true;
                }
                break;
            }
            let dropped = self.pop_front_item();
            self.front_page().held.extend(dropped.detail);
        }
        match &self.pages.values().next()?.state {
            PageState::Ready { items, .. } => items.front(),
            _ => None,
        }
    }

    fn pop_front_item(&mut self) -> Item {
        match &mut self.front_page().state {
            PageState::Ready { items, .. } => items.pop_front().expect("an item is waiting"),
            _ => unreachable!("items are popped only from a ready page"),
        }
    }

    /// The record for an item: seed, list then detail fields, kept by the
    /// detail's `require` and `unique`, identified by `key`, without
    /// `omit`ted fields.
    fn record(
        &mut self,
        item: Item,
        detail: Option<&Fields>,
        page: &OrderKey,
        index: u32,
    ) -> Option<Record> {
        let spider = self.spider.clone();
        let mut fields = match item.whole {
            true => item.fields,
            false => merge(&spider, item.fields, detail),
        };
        if let Some(rule) = &spider.detail {
            if !self.required(&rule.keep, &fields)
                || !self.fresh("detail", rule.keep.unique_key(&fields))
            {
                return None;
            }
        }
        let identity = identity(&spider.key, &fields);
        for name in &spider.omit {
            fields.shift_remove(name);
        }
        Some(Record::new(fields, page.clone(), index).identify(identity))
    }

    fn page_done(&mut self, page: Page, records: u32) -> PageDone {
        let details = match self.options.page_details {
            false => Vec::new(),
            true => page
                .fresh_details
                .into_iter()
                .filter_map(|(url, key)| match self.details.lookup(key) {
                    Lookup::Ready(fields) => Some((url, fields)),
                    _ => None,
                })
                .collect(),
        };
        let mut children = page.children;
        children.append(&mut self.later_roots);
        PageDone {
            seq: self.done,
            visit: page.request.visit_key(&self.spider),
            key: page.request.key,
            url: page.request.url,
            records,
            children,
            details,
            unique: page.fresh_unique,
        }
    }
}

/// `[request] warmup`: fetched first, in order, for their cookies only.
async fn warm_up(fetcher: Arc<dyn Fetch>, spider: Arc<Spider>, counters: Arc<Counters>) {
    let headers = spider.request.headers_for(&Default::default());
    for url in &spider.request.warmup {
        let ask = Ask {
            headers: headers.clone(),
            ..Ask::get(url.clone())
        };
        match fetcher.send(&ask, 0).await {
            Ok(_) => Counters::add(&counters.pages),
            Err(e) => counters.fail(e.url().as_str(), e.kind().to_string()),
        }
    }
}

/// The host names a link crawl may visit: the starts' and `hosts`.
fn allowed_hosts(spider: &Spider) -> Vec<String> {
    let ItemRule::Links(rule) = &spider.list.item else {
        return Vec::new();
    };
    let starts = Request::roots(spider)
        .into_iter()
        .filter_map(|r| r.url.host_str().map(str::to_string));
    starts.chain(rule.hosts.iter().cloned()).collect()
}

/// `{ const = … }` list fields with their sequence's placeholders filled
/// (`{q}` of `[vars]`, `{page}`, `{offset}`; SPEC §7).
fn fill_constants(
    rules: &[(String, Field)],
    mut fields: Fields,
    request: &Request,
    spider: &Spider,
) -> Fields {
    if request.vars.is_empty() {
        return fields;
    }
    let values = request.values(spider);
    for (name, rule) in rules {
        if let Field::Const(value @ Value::String(_)) = rule {
            fields.insert(name.clone(), fill_json(value, &values));
        }
    }
    fields
}

/// Seed fields first, then the page's own.
fn with_carried(carried: &Fields, fields: Fields) -> Fields {
    if carried.is_empty() {
        return fields;
    }
    let mut all = carried.clone();
    all.extend(fields);
    all
}

/// The record's identity from the `key` fields; `None` (keyed by position)
/// without `key`, or when every key field is `null`.
fn identity(key: &[String], fields: &Fields) -> Option<String> {
    if key.is_empty() || key.iter().all(|k| fields.get(k).is_none_or(Value::is_null)) {
        return None;
    }
    Some(values_text(key, fields))
}

/// List fields, then detail fields (`null` when there is no detail page).
fn merge(spider: &Spider, mut fields: Fields, detail: Option<&Fields>) -> Fields {
    if let Some(rule) = &spider.detail {
        for (name, _) in &rule.fields {
            let value = detail
                .and_then(|d| d.get(name))
                .cloned()
                .unwrap_or(Value::Null);
            fields.insert(name.clone(), value);
        }
    }
    fields
}
