//! Levels above and beside list pages (SPEC §8): seed pages that lead to
//! lists, and pages whose links are the items (`[links]`).
//!
//! Pure, like the rest of `extract`: a rule and a body in, values out. Which
//! pages were seen, how deep a crawl goes and which hosts it may visit are the
//! engine's to decide.

use std::cell::OnceCell;
use std::collections::HashSet;

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use url::Url;

use super::field::{read_html, read_json, At, Field, Input, PageInfo, Read};
use super::links::{page_links, UrlFilter};
use super::page::{as_link, DetailRule, Format};
use super::{ExtractError, Fields};

/// One `[[seed]]` level: a page that only leads to other pages.
#[derive(Debug, Clone)]
pub(crate) struct SeedRule {
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
pub(crate) struct SeedPage {
    /// Each link, absolute, fragment dropped, http(s) only, in document
    /// order, with the seed fields for it (all of `SeedRule::fields`, in order).
    pub links: Vec<(Url, Fields)>,
    /// The seed page's next page as found (resolve it against the page's URL).
    pub next: Option<String>,
}

/// Reads a seed page: every match of `links`, each with the seed fields for
/// it, and the page's own `next`. A link found twice on the page counts once
/// (its first match), as the engine would crawl it once anyway.
pub(crate) fn extract_seed(
    rule: &SeedRule,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<SeedPage, ExtractError> {
    match &rule.format {
        Format::Html => Ok(html_seed(rule, body, page)),
        Format::Json(source) => Ok(json_seed(rule, &source.document(body)?, page)),
        Format::Sitemap => Err(ExtractError(
            "a seed page is read as HTML or JSON, not as a sitemap".into(),
        )),
    }
}

/// HTML: fields with no CSS part read the link's own element.
fn html_seed(rule: &SeedRule, body: &str, page: &PageInfo<'_>) -> SeedPage {
    let doc = Html::parse_document(body);
    let root = doc.root_element();
    let at = At { page, index: None };
    let mut links = Distinct::default();
    for (element, value) in every_match(&rule.links, root, &at) {
        for url in link_urls(page.url, &value) {
            if links.is_new(&url) {
                let fields = rule
                    .fields
                    .iter()
                    .map(|(name, field)| (name.clone(), field.html_for(element, root, &at)))
                    .collect();
                links.found.push((url, fields));
            }
        }
    }
    let next = rule.next.as_ref().and_then(|r| as_link(&r.html(root, &at)));
    SeedPage {
        links: links.found,
        next,
    }
}

/// JSON has no link elements: every field reads the seed page's document.
fn json_seed(rule: &SeedRule, doc: &Value, page: &PageInfo<'_>) -> SeedPage {
    let at = At { page, index: None };
    let fields = read_json(&rule.fields, doc, &at);
    let mut links = Distinct::default();
    for url in link_urls(page.url, &rule.links.json(doc, &at)) {
        if links.is_new(&url) {
            links.found.push((url, fields.clone()));
        }
    }
    let next = rule.next.as_ref().and_then(|r| as_link(&r.json(doc, &at)));
    SeedPage {
        links: links.found,
        next,
    }
}

/// Every element `read` matches with its filtered value, whether or not
/// the selector ends in `[]` (SPEC §11: `links` takes every match).
fn every_match<'a>(read: &Read, root: ElementRef<'a>, at: &At<'_>) -> Vec<(ElementRef<'a>, Value)> {
    let Input::Css(css) = read.input() else {
        return vec![(root, read.html(root, at))];
    };
    css.matches(root, at.page.url)
        .into_iter()
        .map(|(element, value)| (element, read.filters().apply(value, at.page.url)))
        .collect()
}

/// The URLs in a link value (a string, or an array of them after a filter
/// such as `split`): absolute, fragment dropped, http(s) only.
fn link_urls(base: &Url, value: &Value) -> Vec<Url> {
    let texts: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    texts
        .into_iter()
        .filter_map(as_link)
        .filter_map(|text| {
            let mut url = base.join(&text).ok()?;
            url.set_fragment(None);
            matches!(url.scheme(), "http" | "https").then_some(url)
        })
        .collect()
}

/// The links of a seed page so far, each URL once.
#[derive(Default)]
struct Distinct {
    seen: HashSet<Url>,
    found: Vec<(Url, Fields)>,
}

impl Distinct {
    fn is_new(&mut self, url: &Url) -> bool {
        self.seen.insert(url.clone())
    }
}

/// `[links]`: the page's links are the items, each followed as the detail page.
#[derive(Debug, Clone)]
pub(crate) struct LinkRule {
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
pub(crate) struct LinkPage {
    /// The record's fields (`[detail] fields`), when asked for.
    pub record: Option<Fields>,
    /// The page's links that `within`, `allow` and `deny` keep, when asked for.
    pub links: Vec<Url>,
}

/// Reads a page of a link crawl: the record from `detail`'s fields when
/// `record` (an empty record without `detail`), the links when `follow`.
/// The HTML is parsed once, and only when something reads it.
pub(crate) fn extract_link_page(
    rule: &LinkRule,
    detail: Option<&DetailRule>,
    body: &str,
    page: &PageInfo<'_>,
    record: bool,
    follow: bool,
) -> Result<LinkPage, ExtractError> {
    let parsed = OnceCell::new();
    let doc = || parsed.get_or_init(|| Html::parse_document(body));
    let record = match (record, detail) {
        (false, _) => None,
        (true, None) => Some(Fields::new()),
        (true, Some(detail)) => Some(link_record(detail, body, page, doc)?),
    };
    let links = match follow {
        true => {
            let within = rule.within.as_ref().map(|(_, selector)| selector);
            page_links(doc(), page.url, within, &rule.filter)
        }
        false => Vec::new(),
    };
    Ok(LinkPage { record, links })
}

/// `[detail] fields` on the page, as `extract_detail` reads them.
fn link_record<'d>(
    detail: &DetailRule,
    body: &str,
    page: &PageInfo<'_>,
    doc: impl FnOnce() -> &'d Html,
) -> Result<Fields, ExtractError> {
    let at = At { page, index: None };
    match &detail.format {
        Format::Json(source) => Ok(read_json(&detail.fields, &source.document(body)?, &at)),
        Format::Html | Format::Sitemap => Ok(read_html(&detail.fields, doc().root_element(), &at)),
    }
}

#[cfg(test)]
mod tests;
