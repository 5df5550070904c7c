//! Which list page comes next, and when paging ends.
//!
//! Known page ranges are fetched ahead, up to the read-ahead. An open-ended
//! template ends at the first page with no items, a 404/410 or a `stop`, and
//! a `next` chain knows its next page only once the current one is read: both
//! fetch one list page at a time, so no request ever goes past the last page.
//! Detail pages run concurrently either way.

use std::collections::HashSet;

use url::Url;

use super::details::url_key;
use super::{NextPage, ResumePoint};
use crate::spider::Paging;

/// Drops the fragment; the `url` crate already lower-cases scheme and host
/// and removes a default port (SPEC §5 "URLs").
pub fn normalize(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.into()
}

/// The source of list pages, in discovery order.
#[derive(Debug)]
pub struct Frontier {
    paging: Paging,
    /// Numbered: the next page number to hand out.
    number: u64,
    /// Chain: the next page, once known.
    chained: Option<Url>,
    ended: bool,
    handed_out: u64,
    /// Hashes of the chain's pages, to stop at a loop.
    seen: HashSet<u64>,
}

impl Frontier {
    /// A frontier that starts where `paging` says.
    pub fn new(paging: Paging) -> Frontier {
        let (number, chained) = match &paging {
            Paging::Numbered { first, .. } => (*first, None),
            Paging::Single(url) | Paging::Next(url) => (0, Some(url.clone())),
        };
        Frontier {
            paging,
            number,
            chained,
            ended: false,
            handed_out: 0,
            seen: HashSet::new(),
        }
    }

    /// Whether list pages may be fetched before the previous one is read:
    /// only when the page range is known.
    pub fn fetches_ahead(&self) -> bool {
        matches!(self.paging, Paging::Numbered { last: Some(_), .. })
    }

    /// The next list page to fetch and its page number, if one is known now.
    pub fn next_page(&mut self) -> Option<(Url, u64)> {
        if self.ended {
            return None;
        }
        let number = self.number;
        let url = match &self.paging {
            Paging::Numbered { template, last, .. } => {
                if last.is_some_and(|last| self.number > last) {
                    self.ended = true;
                    return None;
                }
                let url = Paging::page_url(template, self.number)?;
                self.number += 1;
                url
            }
            Paging::Single(_) | Paging::Next(_) => self.chained.take()?,
        };
        let chain = matches!(self.paging, Paging::Next(_));
        if chain && !self.seen.insert(url_key(&normalize(&url))) {
            tracing::debug!(%url, "list page seen before; paging ends");
            self.ended = true;
            return None;
        }
        self.handed_out += 1;
        Some((url, number))
    }

    /// Picks up where an earlier crawl of the same spider committed.
    pub fn resume(&mut self, point: &ResumePoint) {
        self.handed_out = point.seq;
        match &point.next {
            NextPage::Number(n) => self.number = *n,
            NextPage::Url(url) => self.chained = Some(url.clone()),
            NextPage::End => self.ended = true,
        }
        if matches!(self.paging, Paging::Next(_)) && !matches!(point.next, NextPage::Url(_)) {
            self.ended = true;
        }
    }

    /// A chain's page named its successor.
    pub fn chain(&mut self, next: Option<Url>) {
        if matches!(self.paging, Paging::Next(_)) {
            match next {
                Some(url) if matches!(url.scheme(), "http" | "https") => self.chained = Some(url),
                _ => self.ended = true,
            }
        }
    }

    /// Paging ends: nothing more is handed out.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Whether an empty or missing page ends the crawl (open-ended template or chain).
    pub fn is_open_ended(&self) -> bool {
        !matches!(self.paging, Paging::Numbered { last: Some(_), .. })
    }

    /// Whether no more pages will ever be handed out.
    pub fn is_exhausted(&self) -> bool {
        self.ended
            || match &self.paging {
                Paging::Numbered { last, .. } => last.is_some_and(|last| self.number > last),
                Paging::Single(_) => self.chained.is_none(),
                Paging::Next(_) => false,
            }
    }

    /// List pages handed out so far.
    pub fn handed_out(&self) -> u64 {
        self.handed_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn numbered_with_last_page() {
        let mut f = Frontier::new(Paging::Numbered {
            template: "http://h.test/p/{page}".into(),
            first: 2,
            last: Some(4),
        });
        let pages: Vec<_> = std::iter::from_fn(|| f.next_page())
            .map(|(u, _)| String::from(u))
            .collect();
        assert_eq!(
            pages,
            [
                "http://h.test/p/2",
                "http://h.test/p/3",
                "http://h.test/p/4"
            ]
        );
        assert!(f.is_exhausted());
    }

    #[test]
    fn chain_follows_until_absent_or_seen() {
        let mut f = Frontier::new(Paging::Next(url("http://h.test/a")));
        assert_eq!(f.next_page(), Some((url("http://h.test/a"), 0)));
        assert_eq!(f.next_page(), None, "the next page is not known yet");
        assert!(!f.is_exhausted());
        f.chain(Some(url("http://h.test/b")));
        assert_eq!(f.next_page(), Some((url("http://h.test/b"), 0)));
        f.chain(Some(url("http://h.test/a#top")));
        assert_eq!(f.next_page(), None, "a loop back ends paging");
        assert!(f.is_exhausted());
    }

    #[test]
    fn chain_never_follows_other_schemes() {
        let mut f = Frontier::new(Paging::Next(url("http://h.test/a")));
        f.next_page();
        f.chain(Some(url("javascript:void(0)")));
        assert!(f.is_exhausted());
    }

    #[test]
    fn resumes_where_committed() {
        let paging = Paging::Numbered {
            template: "http://h.test/p/{page}".into(),
            first: 1,
            last: Some(5),
        };
        let mut f = Frontier::new(paging.clone());
        f.resume(&ResumePoint {
            seq: 3,
            next: NextPage::Number(4),
        });
        assert_eq!(f.next_page(), Some((url("http://h.test/p/4"), 4)));
        assert_eq!(f.handed_out(), 4);
        let mut f = Frontier::new(paging);
        f.resume(&ResumePoint {
            seq: 5,
            next: NextPage::End,
        });
        assert!(f.is_exhausted());
        let mut chain = Frontier::new(Paging::Next(url("http://h.test/a")));
        chain.resume(&ResumePoint {
            seq: 2,
            next: NextPage::Url(url("http://h.test/c")),
        });
        assert_eq!(chain.next_page(), Some((url("http://h.test/c"), 0)));
    }

    #[test]
    fn normalization() {
        assert_eq!(
            normalize(&url("HTTP://Example.COM:80/a?b=1#frag")),
            "http://example.com/a?b=1"
        );
        assert_eq!(normalize(&url("https://h.test:443/")), "https://h.test/");
    }
}
