//! List and detail pages: the rules a spider compiles, and applying them to a body.

use regex::Regex;
use scraper::{Html, Selector};
use serde_json::Value;

use super::field::{read_html, read_json, At, Field, PageInfo, Read};
use super::filter::Chain;
use super::json::JsonPath;
use super::links::UrlFilter;
use super::sitemap::{robots_sitemaps, Sitemap, SitemapEntry, SitemapError, SitemapKind};
use super::{ExtractError, Fields};

/// How a page's body is read.
#[derive(Debug, Clone)]
pub(crate) enum Format {
    /// As HTML, with CSS selectors.
    Html,
    /// As JSON, with paths; the document comes from `source`.
    Json(JsonSource),
    /// A sitemap (`[list] format = "sitemap"`): each `<url>` entry is an
    /// object `{loc, lastmod, changefreq, priority}` that fields read with
    /// paths; a `<sitemapindex>` gives more sitemaps (`ListPage::sitemaps`),
    /// and so does a robots.txt (its `Sitemap:` lines).
    Sitemap,
}

impl Format {
    /// Whether fields are JSON paths.
    pub(crate) fn is_json(&self) -> bool {
        matches!(self, Format::Json(_) | Format::Sitemap)
    }
}

/// Where a JSON page's document comes from (SPEC §6 "JSON inside HTML").
#[derive(Debug, Clone)]
pub(crate) enum JsonSource {
    /// The body is JSON.
    Body,
    /// `json_from`: the array of every match's text, each parsed as JSON.
    From {
        /// The selector as written.
        source: String,
        /// Compiled.
        selector: Selector,
    },
    /// `json_re`: the first match of the pattern (its first group if it has one).
    Re(Regex),
}

impl JsonSource {
    /// The JSON document of `body`.
    pub(crate) fn document(&self, body: &str) -> Result<Value, ExtractError> {
        match self {
            JsonSource::Body => parse_json(body),
            JsonSource::From { source, selector } => Ok(embedded(body, source, selector)),
            JsonSource::Re(pattern) => matched(body, pattern),
        }
    }
}

/// `json_from`: matches that do not parse are skipped, and logged.
fn embedded(body: &str, source: &str, selector: &Selector) -> Value {
    let doc = Html::parse_document(body);
    let parsed = doc.select(selector).filter_map(|element| {
        let text: String = element.text().collect();
        match serde_json::from_str(text.trim()) {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::debug!("json_from `{source}`: a match is not JSON ({e}); skipped");
                None
            }
        }
    });
    Value::Array(parsed.collect())
}

/// `json_re`: no match is an empty document (no items); a match that is not
/// JSON fails the page, since the pattern is then most likely wrong.
fn matched(body: &str, pattern: &Regex) -> Result<Value, ExtractError> {
    let Some(captures) = pattern.captures(body) else {
        tracing::warn!("json_re `{}` matched nothing on the page", pattern.as_str());
        return Ok(Value::Null);
    };
    let text = captures
        .get(1)
        .or_else(|| captures.get(0))
        .map_or("", |m| m.as_str());
    serde_json::from_str(text.trim()).map_err(|e| {
        ExtractError(format!(
            "json_re `{}` matched text that is not valid JSON ({e})",
            pattern.as_str()
        ))
    })
}

/// How a list page is split into items.
#[derive(Debug, Clone)]
pub(crate) enum ItemRule {
    /// HTML: one item per element matching the selector.
    Css {
        /// The selector as written.
        source: String,
        /// The compiled selector.
        selector: Selector,
    },
    /// JSON: one item per element of the array at this path (an object is one item).
    Json(JsonPath),
    /// Sitemap: one item per `<url>` whose `loc` the filter keeps.
    Sitemap(UrlFilter),
    /// `[links]`: the page's links are the items (see `levels::LinkRule`).
    Links(super::levels::LinkRule),
}

/// Which records are kept (SPEC §6 "Which records").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keep {
    /// Drop a record where any of these fields is `null`, `""` or `[]`.
    pub require: Vec<String>,
    /// Drop a record whose values of these fields were seen before in the crawl.
    pub unique: Vec<String>,
}

impl Keep {
    /// The first required field that is missing from `fields`, if any.
    pub(crate) fn missing<'a>(&'a self, fields: &Fields) -> Option<&'a str> {
        self.require
            .iter()
            .find(|name| is_empty(fields.get(name.as_str())))
            .map(String::as_str)
    }

    /// The values of the `unique` fields, as one text; `None` without `unique`.
    pub(crate) fn unique_key(&self, fields: &Fields) -> Option<String> {
        if self.unique.is_empty() {
            return None;
        }
        Some(values_text(&self.unique, fields))
    }
}

/// `null`, `""` or `[]` (or absent).
pub(super) fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

/// One field's value as text (a string as it is, anything else as JSON), or
/// a JSON array of several fields' values.
pub(crate) fn values_text(names: &[String], fields: &Fields) -> String {
    let value = |name: &String| fields.get(name).cloned().unwrap_or(Value::Null);
    match names {
        [one] => match value(one) {
            Value::String(s) => s,
            other => other.to_string(),
        },
        many => Value::Array(many.iter().map(value).collect()).to_string(),
    }
}

/// Everything read from a list page.
#[derive(Debug, Clone)]
pub(crate) struct ListRule {
    /// How the body is read.
    pub format: Format,
    /// Where the items are.
    pub item: ItemRule,
    /// Fields per item, in declaration order; empty for JSON means "the whole item".
    pub fields: Vec<(String, Field)>,
    /// The next page's link, if paging follows links.
    pub next: Option<Read>,
    /// JSON: paging stops after a page where this path is `true`.
    pub stop: Option<JsonPath>,
    /// `page_param`: list sequences started by seed links count this query
    /// parameter 1, 2, 3 … until a page has no items.
    pub page_param: Option<String>,
    /// `prefetch`: an open-ended `{page}`/`{offset}` template is fetched
    /// ahead before its end is known; pages past the end are dropped unread.
    pub prefetch: bool,
    /// Which records are kept.
    pub keep: Keep,
}

/// Everything read from a detail page.
#[derive(Debug, Clone)]
pub(crate) struct DetailRule {
    /// The list field holding the detail page's URL.
    pub follow: String,
    /// Filters that turn that field's value into the URL (`slug | fmt: '/p/{}'`).
    pub follow_filters: Chain,
    /// How the body is read.
    pub format: Format,
    /// Fields, in declaration order.
    pub fields: Vec<(String, Field)>,
    /// Which records are kept.
    pub keep: Keep,
}

/// What a list page yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ListPage {
    /// One field map per item, in page order.
    pub items: Vec<Fields>,
    /// The next page's link as found (resolve it against the page's URL).
    pub next: Option<String>,
    /// The page said it is the last one (JSON `stop`).
    pub stop: bool,
    /// Sitemaps this page leads to, in document order, as found: a
    /// `<sitemapindex>`'s entries or a robots.txt's `Sitemap:` lines.
    pub sitemaps: Vec<String>,
}

/// Reads a list page.
pub(crate) fn extract_list(
    rule: &ListRule,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<ListPage, ExtractError> {
    match (&rule.format, &rule.item) {
        (Format::Html, ItemRule::Css { selector, .. }) => Ok(html_list(rule, selector, body, page)),
        (Format::Json(source), ItemRule::Json(items)) => {
            json_list(rule, items, &source.document(body)?, page)
        }
        (Format::Sitemap, ItemRule::Sitemap(filter)) => sitemap_list(rule, filter, body, page),
        (_, ItemRule::Links(_)) => Err(ExtractError(
            "the pages of a [links] crawl are read by extract_link_page, not as list pages".into(),
        )),
        _ => Err(ExtractError(
            "the list's format and item rule disagree".into(),
        )),
    }
}

/// One value read on a whole page (a total, SPEC §7): a selector on HTML,
/// a path on JSON, with its filters.
pub(crate) fn extract_value(
    format: &Format,
    read: &Read,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<Value, ExtractError> {
    let at = At { page, index: None };
    match format {
        Format::Json(source) => Ok(read.json(&source.document(body)?, &at)),
        Format::Html | Format::Sitemap => {
            let doc = Html::parse_document(body);
            Ok(read.html(doc.root_element(), &at))
        }
    }
}

/// Reads a detail page.
pub(crate) fn extract_detail(
    rule: &DetailRule,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<Fields, ExtractError> {
    let at = At { page, index: None };
    match &rule.format {
        Format::Json(source) => Ok(read_json(&rule.fields, &source.document(body)?, &at)),
        Format::Html | Format::Sitemap => {
            let doc = Html::parse_document(body);
            Ok(read_html(&rule.fields, doc.root_element(), &at))
        }
    }
}

fn html_list(rule: &ListRule, selector: &Selector, body: &str, page: &PageInfo<'_>) -> ListPage {
    let doc = Html::parse_document(body);
    let items = doc
        .select(selector)
        .enumerate()
        .map(|(index, item)| {
            let at = At {
                page,
                index: Some(index),
            };
            read_html(&rule.fields, item, &at)
        })
        .collect();
    let at = At { page, index: None };
    let next = rule
        .next
        .as_ref()
        .and_then(|read| as_link(&read.html(doc.root_element(), &at)));
    ListPage {
        items,
        next,
        stop: false,
        sitemaps: Vec::new(),
    }
}

fn json_list(
    rule: &ListRule,
    items: &JsonPath,
    doc: &Value,
    page: &PageInfo<'_>,
) -> Result<ListPage, ExtractError> {
    // A mapping path (`a[].b`) builds a new array; any other is borrowed,
    // so projected fields read the page's items without copying them.
    let mapped;
    let found = match items.is_many() {
        true => {
            mapped = items.get(doc);
            Some(&mapped)
        }
        false => items.lookup(doc),
    };
    let found: &[Value] = match found {
        None | Some(Value::Null) => &[],
        Some(Value::Array(found)) => found,
        Some(object @ Value::Object(_)) => std::slice::from_ref(object),
        Some(_) => {
            return Err(ExtractError(format!(
                "`list.items` path `{}` holds neither an array nor an object",
                items.source()
            )))
        }
    };
    let items = found
        .iter()
        .enumerate()
        .map(|(index, item)| json_item(rule, item, page, index))
        .collect();
    let at = At { page, index: None };
    let next = rule
        .next
        .as_ref()
        .and_then(|read| as_link(&read.json(doc, &at)));
    let stop = rule
        .stop
        .as_ref()
        .is_some_and(|path| path.lookup(doc) == Some(&Value::Bool(true)));
    Ok(ListPage {
        items,
        next,
        stop,
        sitemaps: Vec::new(),
    })
}

fn json_item(rule: &ListRule, item: &Value, page: &PageInfo<'_>, index: usize) -> Fields {
    if !rule.fields.is_empty() {
        let at = At {
            page,
            index: Some(index),
        };
        return read_json(&rule.fields, item, &at);
    }
    match item {
        Value::Object(map) => map.clone(),
        other => Fields::from_iter([("value".to_string(), other.clone())]),
    }
}

/// A sitemap page: a robots.txt's `Sitemap:` lines, a `<sitemapindex>`'s
/// sitemaps (the filter is for pages, not for sitemaps), or the `<url>`
/// entries of a `<urlset>` whose `loc` the filter keeps, as items.
fn sitemap_list(
    rule: &ListRule,
    filter: &UrlFilter,
    body: &str,
    page: &PageInfo<'_>,
) -> Result<ListPage, ExtractError> {
    let mut list = ListPage::default();
    if page.url.path() == "/robots.txt" {
        list.sitemaps = robots_sitemaps(body);
        return Ok(list);
    }
    read_sitemap(rule, filter, body.as_bytes(), page)
}

/// The most entries read from one sitemap: the sitemap protocol's own
/// limit, which also bounds the items one sitemap holds in memory.
pub(super) const MAX_SITEMAP_ENTRIES: usize = 50_000;

/// Reads a sitemap list page from a stream (a large sitemap is never held
/// whole): a `<sitemapindex>`'s sitemaps, or a `<urlset>`'s entries that
/// `rule`'s filter keeps, as items. Entries past `MAX_SITEMAP_ENTRIES`
/// are left unread, with a warning.
pub(crate) fn extract_sitemap(
    rule: &ListRule,
    reader: impl std::io::BufRead,
    page: &PageInfo<'_>,
) -> Result<ListPage, ExtractError> {
    match &rule.item {
        ItemRule::Sitemap(filter) => read_sitemap(rule, filter, reader, page),
        _ => Err(ExtractError("the list is not a sitemap".into())),
    }
}

fn read_sitemap(
    rule: &ListRule,
    filter: &UrlFilter,
    reader: impl std::io::BufRead,
    page: &PageInfo<'_>,
) -> Result<ListPage, ExtractError> {
    let mut list = ListPage::default();
    let sitemap = Sitemap::read(reader).map_err(sitemap_error)?;
    let kind = sitemap.kind();
    for (read, entry) in sitemap.enumerate() {
        if read == MAX_SITEMAP_ENTRIES {
            tracing::warn!(
                "{}: more than {MAX_SITEMAP_ENTRIES} entries; the rest are not read",
                page.url
            );
            break;
        }
        let entry = entry.map_err(sitemap_error)?;
        match kind {
            SitemapKind::Index => list.sitemaps.push(entry.loc),
            SitemapKind::Urlset if filter.keeps(&entry.loc) => {
                let index = list.items.len();
                list.items.push(sitemap_item(rule, entry, page, index));
            }
            SitemapKind::Urlset => {}
        }
    }
    Ok(list)
}

/// The entry as an object (absent children are `null`), then the fields
/// read inside it; without fields, the whole object.
fn sitemap_item(rule: &ListRule, entry: SitemapEntry, page: &PageInfo<'_>, index: usize) -> Fields {
    let text = |value: Option<String>| value.map_or(Value::Null, Value::String);
    let object = Fields::from_iter([
        ("loc".to_string(), Value::String(entry.loc)),
        ("lastmod".to_string(), text(entry.lastmod)),
        ("changefreq".to_string(), text(entry.changefreq)),
        ("priority".to_string(), text(entry.priority)),
    ]);
    if rule.fields.is_empty() {
        return object;
    }
    let at = At {
        page,
        index: Some(index),
    };
    read_json(&rule.fields, &Value::Object(object), &at)
}

/// The sitemap's error with its cause (a broken gzip stream says why).
fn sitemap_error(error: SitemapError) -> ExtractError {
    let mut message = format!("the sitemap cannot be read: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ExtractError(message)
}

/// A non-empty string value, trimmed.
pub(super) fn as_link(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn parse_json(body: &str) -> Result<Value, ExtractError> {
    serde_json::from_str(body)
        .map_err(|e| ExtractError(format!("the body is not valid JSON ({e})")))
}

#[cfg(test)]
mod tests;
