//! Levels above and beside list pages (SPEC §8): seed pages that lead to
//! lists, and pages whose links are the items (`[links]`).
//!
//! Pure, like the rest of `extract`: a rule and a body in, values out. Which
//! pages were seen, how deep a crawl goes and which hosts it may visit are the
//! engine's to decide.

use scraper::Selector;
use url::Url;

use super::field::{Field, PageInfo, Read};
use super::links::UrlFilter;
use super::page::{DetailRule, Format};
use super::{ExtractError, Fields};

/// One `[[seed]]` level: a page that only leads to other pages.
#[derive(Debug, Clone)]
pub struct SeedRule {
    /// How the body is read (HTML or JSON).
    pub format: Format,
    /// Where the links are: every match (no `[]` needed).
    pub links: Read,
    /// The seed page's own next page, if it is paged.
    pub next: Option<Read>,
    /// Fields carried into every record below, in declaration order. A
    /// selector with no CSS part (`::text`, `::attr(title)`, `:scope…`) reads
    /// the matched link element; any other reads the seed page.
    pub fields: Vec<(String, Field)>,
}

/// What a seed page yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedPage {
    /// Each link, absolute, fragment dropped, http(s) only, in document
    /// order, with the seed fields for it (all of `SeedRule::fields`, in order).
    pub links: Vec<(Url, Fields)>,
    /// The seed page's next page as found (resolve it against the page's URL).
    pub next: Option<String>,
}

/// Reads a seed page.
pub fn extract_seed(
    rule: &SeedRule,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<SeedPage, ExtractError> {
    let _ = (rule, body, page);
    Err(ExtractError("seed levels are not built yet".into()))
}

/// `[links]`: the page's links are the items, each followed as the detail page.
#[derive(Debug, Clone)]
pub struct LinkRule {
    /// Only links inside elements matching this (source, compiled).
    pub within: Option<(String, Selector)>,
    /// `allow` / `deny`.
    pub filter: UrlFilter,
    /// Levels of links below the start (≥ 1).
    pub depth: u32,
    /// Host names (no port) links may go to besides the start's host.
    pub hosts: Vec<String>,
}

/// What a page of a link crawl yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkPage {
    /// The record's fields (`[detail] fields`), when asked for.
    pub record: Option<Fields>,
    /// The page's links that `within`, `allow` and `deny` keep, when asked for.
    pub links: Vec<Url>,
}

/// Reads a page of a link crawl: the record from `detail`'s fields when
/// `record`, the links when `follow`. The body is parsed once.
pub fn extract_link_page(
    rule: &LinkRule,
    detail: Option<&DetailRule>,
    body: &str,
    page: &PageInfo<'_>,
    record: bool,
    follow: bool,
) -> Result<LinkPage, ExtractError> {
    let _ = (rule, detail, body, page, record, follow);
    Err(ExtractError("link rules are not built yet".into()))
}
