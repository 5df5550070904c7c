//! A request in the crawl's frontier: which page, of which kind, where it
//! stands in discovery order, and the seed fields it carries down.

use serde::{Deserialize, Serialize};
use url::Url;

use super::order::OrderKey;
use crate::extract::Fields;
use crate::spider::{Paging, Spider};

/// One page to fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Its place in discovery order, and its identity across runs.
    pub key: OrderKey,
    /// What to fetch.
    pub url: Url,
    /// How its body is read and what it leads to.
    pub step: Step,
    /// Seed fields carried into every record below it.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub carried: Fields,
}

/// The kind of page a request fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
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
pub enum Sequence {
    /// One page.
    Single,
    /// The spider's `{page}` template, up to `last` or the first empty page.
    Numbered {
        /// The last page number, if known.
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

impl Request {
    /// The crawl's first request, from the spider's `start`.
    pub fn first(spider: &Spider) -> Option<Request> {
        let key = OrderKey::start(0);
        let (url, step) = match &spider.paging {
            Paging::Numbered {
                template,
                first,
                last,
            } => {
                let url = Paging::page_url(template, *first)?;
                let sequence = Sequence::Numbered { last: *last };
                let step = Step::List {
                    number: *first,
                    sequence,
                };
                (url, step)
            }
            Paging::Next(url) => (url.clone(), list_step(1, Sequence::Next)),
            Paging::Single(url) => (url.clone(), first_step(spider)),
        };
        Some(Request {
            key,
            url,
            step,
            carried: Fields::new(),
        })
    }

    /// Whether this is a list page (what `--max-pages` counts).
    pub fn is_list(&self) -> bool {
        matches!(self.step, Step::List { .. })
    }

    /// For a numbered sequence with a known end, the next page: known
    /// before this one is read, so it can be fetched ahead.
    pub fn known_successor(&self, spider: &Spider) -> Option<Request> {
        let Step::List {
            number,
            sequence: sequence @ Sequence::Numbered { last: Some(last) },
        } = &self.step
        else {
            return None;
        };
        if number >= last {
            return None;
        }
        self.numbered(spider, number + 1, sequence.clone())
    }

    /// The next page of an open-ended sequence, once this page had items.
    pub fn open_successor(&self, spider: &Spider, next: Option<Url>) -> Option<Request> {
        let Step::List { number, sequence } = &self.step else {
            return None;
        };
        match sequence {
            Sequence::Single | Sequence::Numbered { last: Some(_) } => None,
            Sequence::Numbered { last: None } => {
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

    /// This page's successor in its sequence, at `url`.
    pub fn then(&self, url: Url, step: Step) -> Request {
        Request {
            key: self.key.successor(),
            url,
            step,
            carried: self.carried.clone(),
        }
    }

    fn numbered(&self, spider: &Spider, number: u64, sequence: Sequence) -> Option<Request> {
        let Paging::Numbered { template, .. } = &spider.paging else {
            return None;
        };
        let url = Paging::page_url(template, number)?;
        Some(self.then(url, list_step(number, sequence)))
    }
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
    list_step(1, Sequence::Single)
}

/// The first page and step of the list sequence a seed link starts. With
/// `page_param` the link is page 1: as it is, unless it names another page
/// in that parameter, which is then replaced by 1.
pub fn sequence_start(spider: &Spider, link: Url) -> (Url, Step) {
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

pub fn list_step(number: u64, sequence: Sequence) -> Step {
    Step::List { number, sequence }
}

/// `base` with query parameter `name` set to `page` (added or replaced,
/// other parameters kept in place).
pub fn with_param(base: &Url, name: &str, page: u64) -> Url {
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
