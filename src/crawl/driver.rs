//! The engine: fetches list and detail pages concurrently, emits records in
//! discovery order.
//!
//! List pages sit in `slots` in the order they were discovered. Their fetches
//! and every detail fetch run as tasks in one `JoinSet`; when a task finishes,
//! its result lands in its slot or in `details`, and whatever prefix of the
//! front slot is complete is sent on. When a slot is fully sent, a
//! [`PageDone`] follows it, saying where a resumed crawl would pick up. The
//! read-ahead bounds how many list pages (and so how many items and detail
//! fetches) are held at once.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::details::{url_key, DetailKey, Details, Lookup};
use super::frontier::{normalize, Frontier};
use super::seen::Seen;
use super::summary::Counters;
use super::{CrawlError, CrawlOptions, Event, NextPage, PageDone, Record, ResumePoint};
use crate::extract::{extract_detail, extract_list, values_text, Fields, Keep, ListPage, PageInfo};
use crate::fetch::{Fetch, FetchError};
use crate::spider::{Paging, Spider};

/// What a finished task hands back.
enum Done {
    List {
        seq: u64,
        result: Result<(Url, ListPage), PageError>,
    },
    Detail {
        key: DetailKey,
        result: Result<Fields, PageError>,
    },
}

/// A page that failed: fetched or read.
struct PageError {
    url: String,
    reason: String,
    /// 404 or 410: the normal end of open-ended paging.
    gone: bool,
}

impl From<FetchError> for PageError {
    fn from(e: FetchError) -> PageError {
        PageError {
            url: e.url().to_string(),
            gone: matches!(e.status(), Some(404 | 410)),
            reason: e.kind().to_string(),
        }
    }
}

/// One list page, from discovery to emission.
struct Slot {
    url: Url,
    /// The page number, for `{page}` templates.
    number: u64,
    state: SlotState,
    /// Where paging goes after this page; known once the page is read.
    after: NextPage,
    /// Detail pages first requested by this page's items (URL and key).
    fresh_details: Vec<(String, DetailKey)>,
    /// Detail pages of records already sent; released once the page is done,
    /// so `PageDone` still finds their fields in memory.
    held: Vec<DetailKey>,
    /// `unique` values first seen on this page (for the state store).
    fresh_unique: Vec<String>,
}

enum SlotState {
    Fetching,
    Ready {
        items: VecDeque<Item>,
        next_index: u32,
    },
    Skipped,
}

struct Item {
    fields: Fields,
    /// The detail page, if the item has one to follow.
    detail: Option<DetailKey>,
    /// The list's `unique` rule has passed it (it waits for its detail page).
    unique_checked: bool,
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
    slots: VecDeque<Slot>,
    /// Sequence number of `slots[0]`.
    front_seq: u64,
    details: Details,
    /// `unique` values seen so far.
    seen: Seen,
    /// The first list page that failed, and why.
    first_list_failure: Option<(String, String)>,
    tasks: JoinSet<Done>,
    emitted: u64,
}

impl Driver {
    pub fn new(
        spider: Arc<Spider>,
        fetcher: Arc<dyn Fetch>,
        mut options: CrawlOptions,
        counters: Arc<Counters>,
        tx: mpsc::Sender<Result<Event, CrawlError>>,
        stop: CancellationToken,
    ) -> Driver {
        let mut frontier = Frontier::new(spider.paging.clone());
        let mut front_seq = 0;
        let mut details = Details::default();
        let mut seen = Seen::default();
        if let Some(resume) = options.resume.take() {
            front_seq = resume.point.seq;
            frontier.resume(&resume.point);
            for (url, fields) in resume.details {
                details.preload(url_key(&url), fields);
            }
            for value in &resume.unique {
                seen.insert(value);
            }
        }
        Driver {
            frontier,
            spider,
            fetcher,
            options,
            counters,
            tx,
            stop,
            slots: VecDeque::new(),
            front_seq,
            details,
            seen,
            first_list_failure: None,
            tasks: JoinSet::new(),
            emitted: 0,
        }
    }

    /// Runs the crawl to its end, a limit, a stop request, or a closed receiver.
    pub async fn run(mut self) {
        loop {
            self.schedule();
            if let Flow::Finished = self.emit().await {
                break;
            }
            // Emitting may have freed every slot with no task left in flight:
            // refill now, or `join_next` below returns `None` and paging ends early.
            self.schedule();
            if self.slots.is_empty() && (self.frontier.is_exhausted() || self.at_page_limit()) {
                break;
            }
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                done = self.tasks.join_next() => match done {
                    Some(Ok(done)) => self.absorb(done),
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

    /// The item rule, as a warning names it.
    fn item_rule(&self) -> String {
        match &self.spider.list.item {
            crate::extract::ItemRule::Css { source, .. } => format!("the item selector `{source}`"),
            crate::extract::ItemRule::Json(path) => format!("the items path `{}`", path.source()),
            crate::extract::ItemRule::Sitemap(_) => "the sitemap".to_string(),
            crate::extract::ItemRule::Links(_) => "the link rule".to_string(),
        }
    }

    /// A crawl that fetched no list page at all has failed (SPEC §10):
    /// the first failure is its reason.
    async fn report_nothing_fetched(&mut self) {
        let fetched = self
            .counters
            .list_pages
            .load(std::sync::atomic::Ordering::Relaxed);
        if fetched > 0 || self.stop.is_cancelled() {
            return;
        }
        if let Some((url, reason)) = &self.first_list_failure {
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
            .is_some_and(|max| self.frontier.handed_out() >= max)
    }

    /// Starts list fetches while the read-ahead has room.
    fn schedule(&mut self) {
        let read_ahead = match self.options.read_ahead {
            0 => self.spider.limits.concurrency.get().max(8),
            n => n,
        };
        while self.slots.len() < read_ahead && !self.at_page_limit() {
            let in_flight = self
                .slots
                .iter()
                .any(|s| matches!(s.state, SlotState::Fetching));
            if in_flight && !self.frontier.fetches_ahead() {
                break; // open-ended paging: the page in flight may be the last
            }
            let Some((url, number)) = self.frontier.next_page() else {
                break;
            };
            let seq = self.front_seq + self.slots.len() as u64;
            self.slots.push_back(Slot {
                url: url.clone(),
                number,
                state: SlotState::Fetching,
                after: NextPage::End,
                fresh_details: Vec::new(),
                held: Vec::new(),
                fresh_unique: Vec::new(),
            });
            // `::page`: the number `{page}` took, else the position in the sequence.
            let shown = match self.spider.paging {
                Paging::Numbered { .. } => number,
                _ => seq + 1,
            };
            let (fetcher, spider) = (self.fetcher.clone(), self.spider.clone());
            self.tasks.spawn(async move {
                let result = fetch_list(&fetcher, &spider, &url, seq, shown).await;
                Done::List { seq, result }
            });
        }
    }

    fn absorb(&mut self, done: Done) {
        match done {
            Done::List { seq, result } => self.absorb_list(seq, result),
            Done::Detail { key, result } => {
                let fields = match result {
                    Ok(fields) => {
                        Counters::add(&self.counters.pages);
                        Some(fields)
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

    fn absorb_list(&mut self, seq: u64, result: Result<(Url, ListPage), PageError>) {
        let Some(index) = seq.checked_sub(self.front_seq).map(|i| i as usize) else {
            return;
        };
        let fetching = self
            .slots
            .get(index)
            .map(|s| matches!(s.state, SlotState::Fetching));
        if fetching != Some(true) {
            return; // a page past the end of paging
        }
        let open_ended = self.frontier.is_open_ended();
        match result {
            Ok((url, page)) => {
                Counters::add(&self.counters.pages);
                Counters::add(&self.counters.list_pages);
                if seq == 0 && page.items.is_empty() {
                    tracing::warn!(
                        "{} matched nothing on the first list page, {url}",
                        self.item_rule()
                    );
                }
                let next = page.next.as_deref().and_then(|n| url.join(n).ok());
                if (open_ended && page.items.is_empty()) || page.stop {
                    self.end_paging_at(index);
                } else {
                    self.frontier.chain(next.clone());
                    self.slots[index].after = self.after(self.slots[index].number, next);
                }
                let mut fresh = Vec::new();
                let kept: Vec<Fields> = page
                    .items
                    .into_iter()
                    .filter(|fields| self.required(&self.spider.list.keep, fields))
                    .collect();
                let items = kept
                    .into_iter()
                    .map(|fields| self.item(&url, seq, fields, &mut fresh))
                    .collect();
                let slot = &mut self.slots[index];
                slot.fresh_details = fresh;
                slot.state = SlotState::Ready {
                    items,
                    next_index: 0,
                };
            }
            Err(e) => {
                // A 404/410 ends open-ended paging, but not on the sequence's
                // first page: a start that is gone is a failure (SPEC §10).
                if !(e.gone && open_ended && seq > 0) {
                    self.first_list_failure
                        .get_or_insert_with(|| (e.url.clone(), e.reason.clone()));
                    self.counters.fail(&e.url, e.reason);
                }
                if open_ended {
                    self.end_paging_at(index);
                } else {
                    self.slots[index].after = self.after(self.slots[index].number, None);
                }
                self.slots[index].state = SlotState::Skipped;
            }
        }
    }

    /// Where paging continues after page `number` whose next link is `next`.
    fn after(&self, number: u64, next: Option<Url>) -> NextPage {
        match (&self.spider.paging, next) {
            (Paging::Numbered { .. }, _) => NextPage::Number(number + 1),
            (Paging::Next(_), Some(url)) => NextPage::Url(url),
            _ => NextPage::End,
        }
    }

    /// Paging ends at slot `index`: later pages fetched ahead are dropped.
    fn end_paging_at(&mut self, index: usize) {
        self.frontier.end();
        self.slots.truncate(index + 1);
        self.slots[index].after = NextPage::End;
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
    /// `[list]`'s and `[detail]`'s values apart. The record is the front slot's.
    fn fresh(&mut self, section: &str, unique: Option<String>) -> bool {
        let Some(value) = unique else {
            return true;
        };
        let value = format!("{section}\u{1f}{value}");
        if self.seen.insert(&value) {
            if self.options.page_details {
                self.slots[0].fresh_unique.push(value);
            }
            return true;
        }
        Counters::add(&self.counters.dropped_unique);
        false
    }

    /// Builds an item and starts its detail fetch unless that URL is known.
    fn item(
        &mut self,
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
                self.tasks.spawn(async move {
                    let result = fetch_detail(&fetcher, &spider, &url, turn).await;
                    Done::Detail { key, result }
                });
            }
            key
        });
        Item {
            fields,
            detail,
            unique_checked: false,
        }
    }

    /// Sends every record whose list page and detail page are in, in order,
    /// and a `PageDone` after each list page whose records are all sent.
    ///
    /// `unique` is decided here, in discovery order, so the same record wins
    /// whichever page's fetch finished first.
    async fn emit(&mut self) -> Flow {
        while let Some(front) = self.slots.front() {
            let next_index = match &front.state {
                SlotState::Fetching => return Flow::Continue,
                SlotState::Skipped => None,
                SlotState::Ready { next_index, .. } => Some(*next_index),
            };
            let mut sent = next_index.unwrap_or(0);
            while let Some(item) = self.front_item() {
                let detail = match item.detail.map(|key| self.details.lookup(key)) {
                    Some(Lookup::Pending) => {
                        set_next_index(&mut self.slots[0], sent);
                        return Flow::Continue;
                    }
                    Some(Lookup::Ready(fields)) => Some(fields),
                    _ => None,
                };
                let item = self.pop_front_item();
                self.slots[0].held.extend(item.detail);
                let Some(record) = self.record(item.fields, detail.as_deref(), sent) else {
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
            let mut slot = self.slots.pop_front().expect("the front slot exists");
            let held = std::mem::take(&mut slot.held);
            let done = self.page_done(slot, sent);
            for key in held {
                self.details.release(key);
            }
            self.front_seq += 1;
            if self.tx.send(Ok(Event::PageDone(done))).await.is_err() {
                return Flow::Finished;
            }
        }
        Flow::Continue
    }

    /// The front slot's next item, dropping items `unique` rules out on their
    /// list fields (before they wait for a detail page).
    fn front_item(&mut self) -> Option<&Item> {
        loop {
            let SlotState::Ready { items, .. } = &self.slots.front()?.state else {
                return None;
            };
            let item = items.front()?;
            if item.unique_checked {
                break;
            }
            let unique = self.spider.list.keep.unique_key(&item.fields);
            if unique.is_none() {
                break;
            }
            if self.fresh("list", unique) {
                if let SlotState::Ready { items, .. } = &mut self.slots[0].state {
                    items[0].unique_checked = true;
                }
                break;
            }
            let dropped = self.pop_front_item();
            self.slots[0].held.extend(dropped.detail);
        }
        match &self.slots.front()?.state {
            SlotState::Ready { items, .. } => items.front(),
            _ => None,
        }
    }

    fn pop_front_item(&mut self) -> Item {
        match &mut self.slots[0].state {
            SlotState::Ready { items, .. } => items.pop_front().expect("an item is waiting"),
            _ => unreachable!("items are popped only from a ready slot"),
        }
    }

    /// The record for an item: list then detail fields, kept by the detail's
    /// `require` and `unique`, identified by `key`, without `omit`ted fields.
    fn record(&mut self, fields: Fields, detail: Option<&Fields>, index: u32) -> Option<Record> {
        let spider = self.spider.clone();
        let mut fields = merge(&spider, fields, detail);
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
        Some(Record::new(fields, self.front_seq, index).identify(identity))
    }

    fn page_done(&self, slot: Slot, records: u32) -> PageDone {
        let details = match self.options.page_details {
            false => Vec::new(),
            true => slot
                .fresh_details
                .into_iter()
                .filter_map(|(url, key)| match self.details.lookup(key) {
                    Lookup::Ready(fields) => Some((url, fields)),
                    _ => None,
                })
                .collect(),
        };
        PageDone {
            seq: self.front_seq,
            url: slot.url,
            records,
            resume: ResumePoint {
                seq: self.front_seq + 1,
                next: slot.after,
            },
            details,
            unique: slot.fresh_unique,
        }
    }
}

/// The record's identity from the `key` fields; `None` (keyed by position)
/// without `key`, or when every key field is `null`.
fn identity(key: &[String], fields: &Fields) -> Option<String> {
    if key.is_empty() || key.iter().all(|k| fields.get(k).is_none_or(Value::is_null)) {
        return None;
    }
    Some(values_text(key, fields))
}

fn set_next_index(slot: &mut Slot, sent: u32) {
    if let SlotState::Ready { next_index, .. } = &mut slot.state {
        *next_index = sent;
    }
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

async fn fetch_list(
    fetcher: &Arc<dyn Fetch>,
    spider: &Spider,
    url: &Url,
    turn: u64,
    number: u64,
) -> Result<(Url, ListPage), PageError> {
    let page = fetcher.fetch(url, turn).await?;
    let info = PageInfo {
        url: &page.url,
        status: page.status,
        number,
    };
    let list = extract_list(&spider.list, &page.text, &info).map_err(|e| PageError {
        url: page.url.to_string(),
        reason: e.to_string(),
        gone: false,
    })?;
    Ok((page.url, list))
}

async fn fetch_detail(
    fetcher: &Arc<dyn Fetch>,
    spider: &Spider,
    url: &Url,
    turn: u64,
) -> Result<Fields, PageError> {
    let rule = spider
        .detail
        .as_ref()
        .expect("details are fetched only for spiders with [detail]");
    let page = fetcher.fetch(url, turn).await?;
    let info = PageInfo {
        url: &page.url,
        status: page.status,
        number: 0,
    };
    extract_detail(rule, &page.text, &info).map_err(|e| PageError {
        url: page.url.to_string(),
        reason: e.to_string(),
        gone: false,
    })
}
