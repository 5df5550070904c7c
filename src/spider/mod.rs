//! WHAT to crawl: a spider file (TOML, SPEC §1) turned into a validated [`Spider`].
//!
//! The file lands in a serde mirror (`raw.rs`), every key is checked against
//! the keys SPEC §1 knows (typos get a suggestion), every selector is
//! compiled, and the result is a `Spider` whose types cannot hold a bad value.
//! Nothing here touches the network.

mod limits;
mod raw;
mod values;

use std::fmt;
use std::path::Path;

use indexmap::IndexMap;
use url::Url;

use crate::extract::{CssRule, DetailRule, FieldRule, ItemRule, JsonPath, ListRule};
pub use limits::{Limits, Rate};
pub use values::{parse_duration, parse_rate, parse_size};

/// A validated spider: where to start, how to page, what to extract, how politely.
#[derive(Debug, Clone)]
pub struct Spider {
    /// Names output tables and state; defaults to the file's stem.
    pub name: String,
    /// Which list pages to visit.
    pub paging: Paging,
    /// How a list page becomes items.
    pub list: ListRule,
    /// Optional detail page per item.
    pub detail: Option<DetailRule>,
    /// Rate, concurrency, timeouts and manners.
    pub limits: Limits,
}

/// Which list pages a crawl visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// A `start` with neither `{page}` nor `next`: one page.
    Single(Url),
    /// A `{page}` template, from `first` to `last` or to the first empty page.
    Numbered {
        /// The template, with `{page}` in it.
        template: String,
        /// The first page number.
        first: u64,
        /// The last page number, if known.
        last: Option<u64>,
    },
    /// Start here and follow the list's `next` rule until it is absent.
    Next(Url),
}

impl Paging {
    /// The URL of page `number` of a template (the template was checked at load).
    pub fn page_url(template: &str, number: u64) -> Option<Url> {
        Url::parse(&template.replace("{page}", &number.to_string())).ok()
    }
}

/// A spider file that cannot be used, with the file, the key and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {}{message}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct SpiderError {
    origin: String,
    key: Option<String>,
    message: String,
}

impl SpiderError {
    /// The dotted key at fault, if the problem is one key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    fn at(origin: &str, key: impl Into<String>, message: impl Into<String>) -> SpiderError {
        SpiderError {
            origin: origin.to_string(),
            key: Some(key.into()),
            message: message.into(),
        }
    }

    fn whole(origin: &str, message: impl Into<String>) -> SpiderError {
        SpiderError {
            origin: origin.to_string(),
            key: None,
            message: message.into(),
        }
    }
}

impl Spider {
    /// Reads and validates a spider file; its stem is the default name.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Spider, SpiderError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpiderError::whole(&origin, format!("cannot read the spider file ({e})"))
        })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("spider");
        Spider::from_toml(&text, &origin, stem)
    }

    /// Validates spider TOML; `origin` names it in errors, `default_name` is used without `name`.
    pub fn from_toml(text: &str, origin: &str, default_name: &str) -> Result<Spider, SpiderError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
        if let Some((key, nearest)) = raw::unknown_key(&doc) {
            let hint = nearest
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(SpiderError::at(origin, key, format!("unknown key{hint}")));
        }
        let raw: raw::RawSpider = serde_path_to_error::deserialize(toml::Value::Table(doc))
            .map_err(|e| type_error(origin, e))?;
        Builder { origin }.spider(raw, default_name)
    }

    /// A human-readable plan of what this spider will do; fetches nothing.
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

fn syntax_error(origin: &str, text: &str, error: &toml::de::Error) -> SpiderError {
    let place = error.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        format!("line {line}: ")
    });
    SpiderError::whole(
        origin,
        format!(
            "{}not valid TOML: {}",
            place.unwrap_or_default(),
            error.message().trim()
        ),
    )
}

fn type_error(origin: &str, error: serde_path_to_error::Error<toml::de::Error>) -> SpiderError {
    let key = error.path().to_string();
    let message = error.inner().message().trim().to_string();
    let message = message
        .replace("expected f64", "expected a number")
        .replace("expected i64", "expected an integer")
        .replace("expected a string", "expected a string (in quotes)");
    if let Some(field) = message.strip_prefix("missing field `") {
        let field = field.split('`').next().unwrap_or_default();
        let full = if key == "." || key.is_empty() {
            field.to_string()
        } else {
            format!("{key}.{field}")
        };
        return SpiderError::at(origin, full, "missing; this key is required");
    }
    SpiderError::at(origin, key, message)
}

/// Turns the raw mirror into a `Spider`, one section at a time.
struct Builder<'a> {
    origin: &'a str,
}

impl Builder<'_> {
    fn spider(&self, raw: raw::RawSpider, default_name: &str) -> Result<Spider, SpiderError> {
        let name = raw.name.clone().unwrap_or_else(|| default_name.to_string());
        if name.trim().is_empty() {
            return Err(self.err("name", "a non-empty name"));
        }
        let list_raw = raw
            .list
            .as_ref()
            .ok_or_else(|| self.err("list", "a [list] section"))?;
        let next_source = self.next_source(&raw, list_raw)?;
        let paging = self.paging(&raw, next_source.is_some())?;
        let list = self.list(list_raw, next_source)?;
        let detail = match &raw.detail {
            Some(detail) => Some(self.detail(detail, &list)?),
            None => None,
        };
        let limits = Limits::from_raw(&raw.limits).map_err(|(key, msg)| self.err(key, msg))?;
        Ok(Spider {
            name,
            paging,
            list,
            detail,
            limits,
        })
    }

    fn err(&self, key: impl Into<String>, expected: impl Into<String>) -> SpiderError {
        SpiderError::at(self.origin, key, format!("expected {}", expected.into()))
    }

    fn next_source<'r>(
        &self,
        raw: &'r raw::RawSpider,
        list: &'r raw::RawList,
    ) -> Result<Option<&'r str>, SpiderError> {
        match (&raw.next, &list.next) {
            (Some(_), Some(_)) => Err(self.err(
                "list.next",
                "`next` once, at the top level or under [list], not both",
            )),
            (top, under) => Ok(top
                .as_deref()
                .or(under.as_deref())
                .filter(|s| !s.trim().is_empty())),
        }
    }

    fn paging(&self, raw: &raw::RawSpider, has_next: bool) -> Result<Paging, SpiderError> {
        let templated = raw.start.contains("{page}");
        let first = match raw.first_page {
            Some(n) if n < 0 => {
                return Err(self.err("first_page", format!("a page number ≥ 0, found {n}")))
            }
            Some(n) => n as u64,
            None => 1,
        };
        if !templated && (raw.first_page.is_some() || raw.last_page.is_some()) {
            let key = if raw.last_page.is_some() {
                "last_page"
            } else {
                "first_page"
            };
            return Err(self.err(
                key,
                "a `start` URL with `{page}` in it, for page numbers to apply",
            ));
        }
        if templated && has_next {
            return Err(self.err(
                "next",
                "either a `{page}` template in `start` or `next`, not both",
            ));
        }
        let last = match raw.last_page {
            Some(n) if n < first as i64 => {
                return Err(self.err(
                    "last_page",
                    format!("a page number ≥ first_page ({first}), found {n}"),
                ))
            }
            Some(n) => Some(n as u64),
            None => None,
        };
        let probe = raw.start.replace("{page}", &first.to_string());
        let url = self.http_url("start", &probe)?;
        Ok(match (templated, has_next) {
            (true, _) => Paging::Numbered {
                template: raw.start.clone(),
                first,
                last,
            },
            (false, true) => Paging::Next(url),
            (false, false) => Paging::Single(url),
        })
    }

    fn http_url(&self, key: &str, text: &str) -> Result<Url, SpiderError> {
        let url = Url::parse(text).map_err(|e| {
            self.err(
                key,
                format!("an absolute http(s) URL, found `{text}` ({e})"),
            )
        })?;
        match url.scheme() {
            "http" | "https" => Ok(url),
            other => Err(self.err(key, format!("an http or https URL, found scheme `{other}`"))),
        }
    }

    fn list(&self, raw: &raw::RawList, next: Option<&str>) -> Result<ListRule, SpiderError> {
        let json = self.is_json("list.format", raw.format.as_deref())?;
        if json {
            if raw.item.is_some() {
                return Err(self.err(
                    "list.item",
                    "`items` (a dotted path) for format = \"json\"; `item` is for HTML",
                ));
            }
            let items = self.path("list.items", raw.items.as_deref().unwrap_or(""))?;
            Ok(ListRule {
                item: ItemRule::Json(items),
                fields: self.fields("list.fields", &raw.fields, true)?,
                next: next
                    .map(|n| self.path("next", n).map(FieldRule::Json))
                    .transpose()?,
                stop: raw
                    .stop
                    .as_deref()
                    .map(|s| self.path("list.stop", s))
                    .transpose()?,
            })
        } else {
            for (key, value) in [("list.items", &raw.items), ("list.stop", &raw.stop)] {
                if value.is_some() {
                    return Err(self.err(
                        key,
                        "this key only with format = \"json\"; HTML lists use `item`",
                    ));
                }
            }
            let source = raw.item.as_deref().ok_or_else(|| {
                self.err("list.item", "a CSS selector for the items, e.g. \".item\"")
            })?;
            let selector =
                crate::extract::compile_css(source).map_err(|e| self.err("list.item", e))?;
            Ok(ListRule {
                item: ItemRule::Css {
                    source: source.to_string(),
                    selector,
                },
                fields: self.fields("list.fields", &raw.fields, false)?,
                next: next
                    .map(|n| self.css("next", n).map(FieldRule::Css))
                    .transpose()?,
                stop: None,
            })
        }
    }

    fn detail(&self, raw: &raw::RawDetail, list: &ListRule) -> Result<DetailRule, SpiderError> {
        let json = self.is_json("detail.format", raw.format.as_deref())?;
        let whole_items = list.fields.is_empty() && matches!(list.item, ItemRule::Json(_));
        if !whole_items && !list.fields.iter().any(|(name, _)| name == &raw.follow) {
            let names: Vec<_> = list.fields.iter().map(|(n, _)| format!("`{n}`")).collect();
            return Err(self.err(
                "detail.follow",
                format!(
                    "the name of a list field ({}), found `{}`",
                    names.join(", "),
                    raw.follow
                ),
            ));
        }
        Ok(DetailRule {
            follow: raw.follow.clone(),
            json,
            fields: self.fields("detail.fields", &raw.fields, json)?,
        })
    }

    fn is_json(&self, key: &str, format: Option<&str>) -> Result<bool, SpiderError> {
        match format.unwrap_or("html") {
            "html" => Ok(false),
            "json" => Ok(true),
            other => Err(self.err(key, format!("\"html\" or \"json\", found \"{other}\""))),
        }
    }

    fn fields(
        &self,
        section: &str,
        raw: &IndexMap<String, String>,
        json: bool,
    ) -> Result<Vec<(String, FieldRule)>, SpiderError> {
        raw.iter()
            .map(|(name, source)| {
                let key = format!("{section}.{name}");
                let rule = if json {
                    FieldRule::Json(self.path(&key, source)?)
                } else {
                    FieldRule::Css(self.css(&key, source)?)
                };
                Ok((name.clone(), rule))
            })
            .collect()
    }

    fn css(&self, key: &str, source: &str) -> Result<CssRule, SpiderError> {
        CssRule::parse(source).map_err(|e| self.err(key, e))
    }

    fn path(&self, key: &str, source: &str) -> Result<JsonPath, SpiderError> {
        JsonPath::parse(source).map_err(|e| self.err(key, e))
    }
}

impl fmt::Display for Spider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "spider `{}`", self.name)?;
        match &self.paging {
            Paging::Single(url) => writeln!(f, "  start:   {url} (one page)")?,
            Paging::Numbered { template, first, last: Some(last) } => {
                writeln!(f, "  start:   {template}, pages {first} to {last}")?
            }
            Paging::Numbered { template, first, last: None } => writeln!(
                f,
                "  start:   {template}, from page {first} until a page has no items or answers 404/410"
            )?,
            Paging::Next(url) => writeln!(f, "  start:   {url}, following `next` until it is absent")?,
        }
        match &self.list.item {
            ItemRule::Css { source, .. } => {
                writeln!(f, "  list:    HTML, one record per `{source}`")?
            }
            ItemRule::Json(path) => writeln!(
                f,
                "  list:    JSON, one record per element of `{}`",
                path.source()
            )?,
        }
        if let Some(next) = &self.list.next {
            writeln!(f, "  next:    `{}`", next.source())?;
        }
        if let Some(stop) = &self.list.stop {
            writeln!(
                f,
                "  stop:    after a page where `{}` is true",
                stop.source()
            )?;
        }
        write_fields(f, "list", &self.list.fields)?;
        if let Some(detail) = &self.detail {
            let kind = if detail.json { "JSON" } else { "HTML" };
            writeln!(f, "  detail:  {kind} page at field `{}`", detail.follow)?;
            write_fields(f, "detail", &detail.fields)?;
        }
        write!(f, "{}", self.limits)
    }
}

fn write_fields(
    f: &mut fmt::Formatter<'_>,
    section: &str,
    fields: &[(String, FieldRule)],
) -> fmt::Result {
    if fields.is_empty() {
        return writeln!(f, "  {section} fields: each item whole");
    }
    for (name, rule) in fields {
        writeln!(f, "  {section} field {name:<12} <- `{}`", rule.source())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
