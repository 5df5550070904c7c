//! A request in the crawl's frontier: which page, of which kind, where it
//! stands in discovery order, and the seed fields it carries down.

use serde::{Deserialize, Serialize};
use url::Url;

use super::frontier::normalize;
use super::order::OrderKey;
use crate::extract::Fields;
use crate::fetch::{Ask, Body};
use crate::spider::template::{fill_text, Values};
use crate::spider::{Paging, Spider, Total};

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// Its place in discovery order, and its identity across runs.
    pub key: OrderKey,
    /// What to fetch.
    pub url: Url,
    /// How its body is read and what it leads to.
    pub step: Step,
    /// Seed fields carried into every record below it.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub carried: Fields,
    /// The `start` its sequence came from (an index into the spider's starts).
    #[serde(default)]
    pub start: usize,
    /// The `[vars]` values of its sequence, which fill its placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<(String, String)>,
}

/// The kind of page a request fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Step {
    /// A page of `[[seed]]` level `level`: it only leads to other pages.
    Seed {
        /// Index into `Spider::seeds`.
        level: usize,
    },
    /// A list page: its items are records.
    List {
        /// `::page`: the `{page}` number, else the position in its sequence (from 1).
        number: u64,
        /// How its sequence goes on.
        sequence: Sequence,
    },
    /// A page of a link crawl at `depth` (the start is 0; pages below it are records).
    Links {
        /// Levels of links below the start.
        depth: u32,
    },
}

/// How a sequence of list pages goes on after one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Sequence {
    /// One page.
    Single,
    /// The start's `{page}` template, up to `last` or the first empty page.
    Numbered {
        /// The last page number, if known.
        last: Option<u64>,
    },
    /// The start's `{offset}` template; `number` counts pages from 1, up to
    /// `last` or the first empty page.
    Offset {
        /// The last page's position, if known.
        last: Option<u64>,
    },
    /// Follow the list's `next` rule.
    Next,
    /// `page_param`: count that query parameter of `base` 1, 2, 3 … until a
    /// page has no items.
    Param {
        /// The link that started the sequence.
        base: Url,
    },
}

/// The most pages a total read from a page may announce: a number a server
/// sends is clamped, never trusted (SPEC §10).
const MAX_TOTAL_PAGES: u64 = 1_000_000_000;

impl Request {
    /// The crawl's first requests: one per start and combination of vars,
    /// in order (SPEC §7).
    pub(crate) fn roots(spider: &Spider) -> Vec<Request> {
        let sequences = spider.starts.sequences();
        sequences
            .into_iter()
            .enumerate()
            .filter_map(|(i, (start, vars))| {
                let step = first_step(spider);
                Some(Request {
                    key: OrderKey::start(i as u32),
                    url: start_url(spider, start, &step, &vars)?,
                    step,
                    carried: Fields::new(),
                    start,
                    vars,
                })
            })
            .collect()
    }

    /// Whether this is a list page (what `--max-pages` counts).
    pub(crate) fn is_list(&self) -> bool {
        matches!(self.step, Step::List { .. })
    }

    /// Whether its sequence's end shows only when a page has no items (or
    /// no next link): a `next` chain, `page_param`, or a template without a
    /// known last page.
    pub(crate) fn is_open_ended(&self) -> bool {
        matches!(
            &self.step,
            Step::List {
                sequence: Sequence::Next
                    | Sequence::Param { .. }
                    | Sequence::Numbered { last: None }
                    | Sequence::Offset { last: None },
                ..
            }
        )
    }

    /// Whether `other` is a later page of this request's sequence.
    pub(crate) fn is_later_in_sequence(&self, other: &OrderKey) -> bool {
        let (mine, theirs) = (self.key.parts(), other.parts());
        mine.len() == theirs.len()
            && mine[..mine.len() - 1] == theirs[..theirs.len() - 1]
            && theirs.last() > mine.last()
    }

    /// Whether this is the first page of its sequence.
    pub(crate) fn is_first_of_sequence(&self) -> bool {
        self.key.parts().last() == Some(&0)
    }

    /// What fills this request's placeholders.
    pub(crate) fn values<'a>(&'a self, spider: &Spider) -> Values<'a> {
        values(spider, &self.step, &self.vars)
    }

    /// The request as the network sends it: `[request]` headers, and for a
    /// list page of a POST spider its body.
    pub(crate) fn ask(&self, spider: &Spider) -> Ask {
        Ask {
            url: self.url.clone(),
            headers: spider.request.headers_for(&self.values(spider)),
            body: self.body(spider),
        }
    }

    /// A list page's POST body, when the spider posts.
    fn body(&self, spider: &Spider) -> Option<Body> {
        match (&spider.request.body, self.is_list()) {
            (Some(body), true) => Some(body.render(&self.values(spider))),
            _ => None,
        }
    }

    /// What dedup and resume know the request by: its URL, and for a POST
    /// its method and body too (SPEC §7). Headers play no part.
    pub(crate) fn visit_key(&self, spider: &Spider) -> String {
        match self.body(spider) {
            None => normalize(&self.url),
            Some(body) => format!(
                "POST {} {}",
                normalize(&self.url),
                String::from_utf8_lossy(&body.bytes)
            ),
        }
    }

    /// For a sequence with a known end, the next page: known before this
    /// one is read, so it can be fetched ahead.
    pub(crate) fn known_successor(&self, spider: &Spider) -> Option<Request> {
        let Step::List { number, sequence } = &self.step else {
            return None;
        };
        let last = match sequence {
            Sequence::Numbered { last: Some(last) } | Sequence::Offset { last: Some(last) } => {
                *last
            }
            // `prefetch`: an open-ended template guesses that pages go on;
            // the pages past the end are dropped unread.
            Sequence::Numbered { last: None } | Sequence::Offset { last: None }
                if spider.list.prefetch =>
            {
                u64::MAX
            }
            _ => return None,
        };
        (*number < last).then(|| self.numbered(spider, number + 1, sequence.clone()))?
    }

    /// The next page once this page is read: `next` is the link it gave
    /// (resolved). An open-ended sequence goes on only after a page with
    /// items; the caller checks that.
    pub(crate) fn open_successor(&self, spider: &Spider, next: Option<Url>) -> Option<Request> {
        let Step::List { number, sequence } = &self.step else {
            return None;
        };
        match sequence {
            Sequence::Single => None,
            Sequence::Numbered { last } | Sequence::Offset { last } => {
                if last.is_some_and(|last| *number >= last) {
                    return None;
                }
                self.numbered(spider, number + 1, sequence.clone())
            }
            Sequence::Next => next.map(|url| self.then(url, list_step(number + 1, Sequence::Next))),
            Sequence::Param { base } => {
                let name = spider.list.page_param.as_deref()?;
                let url = with_param(base, name, number + 1);
                Some(self.then(url, list_step(number + 1, sequence.clone())))
            }
        }
    }

    /// A total read from this (first) page bounds its sequence: `total`
    /// as the spider's `total_pages` or `total` says, `items` the number
    /// of items on this page. Returns whether the sequence has pages left.
    pub(crate) fn bound(&mut self, spider: &Spider, total: u64, items: usize) -> bool {
        let Step::List { number, sequence } = &mut self.step else {
            return true;
        };
        let pages = match (&spider.total, &spider.paging) {
            (Some(Total::Pages(_)), _) => total,
            (Some(Total::Items(_)), Paging::Numbered { .. }) => match items {
                0 => 0,
                n => total.div_ceil(n as u64),
            },
            (Some(Total::Items(_)), Paging::Offset { first, step }) => {
                total.saturating_sub(*first).div_ceil(*step)
            }
            _ => return true,
        };
        let pages = pages.min(MAX_TOTAL_PAGES);
        match sequence {
            Sequence::Numbered { last } => {
                *last = Some((*number + pages).saturating_sub(1).max(*number));
            }
            Sequence::Offset { last } => *last = Some(pages.max(1)),
            _ => {}
        }
        pages > 1
    }

    /// This page's successor in its sequence, at `url`.
    pub(crate) fn then(&self, url: Url, step: Step) -> Request {
        Request {
            key: self.key.successor(),
            url,
            step,
            carried: self.carried.clone(),
            start: self.start,
            vars: self.vars.clone(),
        }
    }

    /// Page `number` of this request's template sequence.
    fn numbered(&self, spider: &Spider, number: u64, sequence: Sequence) -> Option<Request> {
        let step = list_step(number, sequence);
        let url = start_url(spider, self.start, &step, &self.vars)?;
        Some(self.then(url, step))
    }
}

/// What fills the placeholders of a request of `step` in a sequence with
/// these `vars`: `{page}` or `{offset}` from a list page's number.
fn values<'a>(spider: &Spider, step: &Step, vars: &'a [(String, String)]) -> Values<'a> {
    let number = match step {
        Step::List { number, .. } => Some(*number),
        _ => None,
    };
    let (page, offset) = match (&spider.paging, number) {
        (Paging::Numbered { .. }, Some(n)) => (Some(n), None),
        (Paging::Offset { first, step }, Some(k)) => (
            None,
            Some(first.saturating_add(k.saturating_sub(1).saturating_mul(*step))),
        ),
        _ => (None, None),
    };
    Values { page, offset, vars }
}

/// Start template `start` with the placeholders of `step` and `vars` filled.
fn start_url(spider: &Spider, start: usize, step: &Step, vars: &[(String, String)]) -> Option<Url> {
    let template = spider.starts.templates.get(start)?;
    Url::parse(&fill_text(template, &values(spider, step, vars))).ok()
}

/// What the spider's single `start` page is: its first seed level, the
/// start of a link crawl, or one list page.
fn first_step(spider: &Spider) -> Step {
    if !spider.seeds.is_empty() {
        return Step::Seed { level: 0 };
    }
    if matches!(spider.list.item, crate::extract::ItemRule::Links(_)) {
        return Step::Links { depth: 0 };
    }
    match &spider.paging {
        Paging::Single => list_step(1, Sequence::Single),
        Paging::Numbered { first, last } => list_step(*first, Sequence::Numbered { last: *last }),
        Paging::Offset { .. } => list_step(1, Sequence::Offset { last: None }),
        Paging::Next => list_step(1, Sequence::Next),
    }
}

/// The first page and step of the list sequence a seed link starts. With
/// `page_param` the link is page 1: as it is, unless it names another page
/// in that parameter, which is then replaced by 1.
pub(super) fn sequence_start(spider: &Spider, link: Url) -> (Url, Step) {
    let sequence = match (&spider.list.page_param, &spider.list.next) {
        (Some(_), _) => Sequence::Param { base: link.clone() },
        (None, Some(_)) => Sequence::Next,
        (None, None) => Sequence::Single,
    };
    let url = match &spider.list.page_param {
        Some(name)
            if link
                .query_pairs()
                .any(|(k, v)| k == name.as_str() && v != "1") =>
        {
            with_param(&link, name, 1)
        }
        _ => link,
    };
    (url, list_step(1, sequence))
}

pub(super) fn list_step(number: u64, sequence: Sequence) -> Step {
    Step::List { number, sequence }
}

/// `base` with query parameter `name` set to `page` (added or replaced,
/// other parameters kept in place).
pub(super) fn with_param(base: &Url, name: &str, page: u64) -> Url {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut replaced = false;
    for (key, value) in base.query_pairs() {
        match key == name {
            // The first occurrence takes the page; repeats are dropped.
            true if !replaced => {
                replaced = true;
                pairs.push((key.into_owned(), page.to_string()));
            }
            true => {}
            false => pairs.push((key.into_owned(), value.into_owned())),
        }
    }
    if !replaced {
        pairs.push((name.to_string(), page.to_string()));
    }
    let mut url = base.clone();
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_param_is_added_or_replaced_and_the_rest_kept() {
        let base = Url::parse("http://h.test/c?sort=new&page=1&x=2").unwrap();
        assert_eq!(
            with_param(&base, "page", 3).as_str(),
            "http://h.test/c?sort=new&page=3&x=2"
        );
        let bare = Url::parse("http://h.test/c").unwrap();
        assert_eq!(with_param(&bare, "p", 2).as_str(), "http://h.test/c?p=2");
    }
}
