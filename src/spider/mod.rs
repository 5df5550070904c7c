//! WHAT to crawl: a spider file (TOML, SPEC §1) turned into a validated [`Spider`].
//!
//! The file lands in a serde mirror (`raw.rs`), every key is checked against
//! the keys the SPEC knows (typos get a suggestion), every selector is
//! compiled, and the result is a `Spider` whose types cannot hold a bad value.
//! Fields are compiled in `fields.rs`, the levels of SPEC §8 (seeds,
//! sitemaps, `[links]`) in `levels.rs`, and `describe.rs` writes the plan
//! `trawl check` prints. Nothing here touches the network.

mod describe;
mod fields;
mod levels;
mod limits;
mod raw;
mod request;
mod starts;
pub(crate) mod template;
mod values;

use std::path::Path;

use url::Url;

use crate::extract::{
    compile_css, split_pipe, Chain, DetailRule, Field, Format, ItemRule, JsonPath, JsonSource,
    Keep, Kind, ListRule, SeedRule,
};
use fields::FieldList;
use levels::{seed_fields, seed_names, SITEMAP_NAMES};
pub use limits::{Limits, Rate};
/// The keys the loader knows, for the property tests' generated files.
#[cfg(test)]
pub(crate) use raw::{
    DETAIL_KEYS, LIMIT_KEYS, LINKS_KEYS, LIST_KEYS, REQUEST_KEYS, SEED_KEYS, TOP_KEYS,
};
pub(crate) use request::BodyTemplate;
pub use request::RequestRule;
pub(crate) use starts::{Paging, Starts, Total};
pub(crate) use values::format_duration;
#[cfg(feature = "cli")]
pub(crate) use values::{parse_duration, parse_rate, parse_size};

/// A validated spider: where to start, how to page, what to extract, how politely.
///
/// Read one from a spider file with [`from_path`](Spider::from_path), or from
/// TOML text with [`from_toml`](Spider::from_toml); the README's "Spider file
/// reference" documents every key. Loading checks everything that can be
/// checked without the network (unknown keys, types, selectors, templates),
/// so a `Spider` that loaded is one a crawl can start. Its
/// [`limits`](Spider::limits) may be changed before the crawl starts.
///
/// ```
/// use trawl::Spider;
///
/// let spider = Spider::from_toml(r#"
///     start = "http://127.0.0.1:8000/blog/page/{page}"
///     last_page = 3
///     [list]
///     item = ".item"
///     fields.title = ".title::text"
///     fields.url = "a::attr(href)"
///     [limits]
///     rate = 5
///     "#, "blog.toml", "blog")?;
/// assert_eq!(spider.name, "blog"); // the default name: no `name` key
/// assert_eq!(spider.limits.rate.per_second(), 5.0);
/// assert!(spider.describe().contains("/blog/page/{page} (pages 1 to 3)"));
/// # Ok::<(), trawl::SpiderError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Spider {
    /// Names output tables and state; defaults to the file's stem.
    pub name: String,
    /// Where the crawl begins: the starts and `[vars]`.
    pub(crate) starts: Starts,
    /// How each list sequence pages (with seeds or `[links]`: `Single`).
    pub(crate) paging: Paging,
    /// A total read from each sequence's first page (`total_pages`, `total`).
    pub(crate) total: Option<Total>,
    /// `[[seed]]` levels above the list, outermost first (SPEC §8).
    pub(crate) seeds: Vec<SeedRule>,
    /// How a list page becomes items.
    pub(crate) list: ListRule,
    /// Optional detail page per item.
    pub(crate) detail: Option<DetailRule>,
    /// Fields whose values are the record's identity in databases (`key`).
    pub(crate) key: Vec<String>,
    /// Fields read but left out of the records (`omit`).
    pub(crate) omit: Vec<String>,
    /// Rate, concurrency, timeouts and manners.
    pub limits: Limits,
    /// Headers, cookies, warm-up pages and POST bodies (`[request]`).
    pub(crate) request: RequestRule,
    /// The file's text, and the `[vars]` lists replaced since it was read:
    /// together what a state directory keeps to refuse a resume of another
    /// crawl.
    source: String,
    vars_set: Vec<(String, Vec<String>)>,
}

/// A spider file that cannot be used, with the file, the key and what was expected.
///
/// Its `Display` is the whole message (`blog.toml: key `list.item`: …`);
/// [`key`](SpiderError::key) gives the key alone, for a caller that points
/// at it. An unknown key comes with the nearest known one:
///
/// ```
/// use trawl::Spider;
///
/// let error = Spider::from_toml(r#"
///     start = "http://127.0.0.1:8000/blog/page/{page}"
///     [list]
///     item = ".item"
///     [limits]
///     rat = 5
///     "#, "blog.toml", "blog").unwrap_err();
/// assert_eq!(error.key(), Some("limits.rat"));
/// assert_eq!(error.to_string(), "blog.toml: key `limits.rat`: unknown key; did you mean `rate`?");
/// ```
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
    /// Reads and validates a spider file; its stem is the default name, and
    /// its path names it in errors.
    ///
    /// ```
    /// use trawl::Spider;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("posts.toml");
    /// std::fs::write(&path, r#"
    ///     start = "http://127.0.0.1:8000/blog/page/{page}"
    ///     [list]
    ///     item = ".item"
    ///     fields.title = ".title:text"
    ///     "#)?;
    /// let error = Spider::from_path(&path).unwrap_err();
    /// assert_eq!(error.key(), Some("list.fields.title"));
    /// assert!(error.to_string().starts_with(&format!("{}: key `list.fields.title`: ", path.display())));
    ///
    /// std::fs::write(&path, std::fs::read_to_string(&path)?.replace(":text", "::text"))?;
    /// assert_eq!(Spider::from_path(&path)?.name, "posts");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When the file cannot be read, or is not a valid spider file; the
    /// error names the file and, where one is at fault, the key.
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

    /// Validates spider TOML; `origin` names it in errors, `default_name` is
    /// used without `name`. See [`Spider`] for an example.
    ///
    /// # Errors
    /// When the text is not TOML (the error gives the line), a key is
    /// unknown, a value has the wrong type or range, a selector or template
    /// does not compile, or keys contradict each other; the error names the
    /// key at fault and what was expected.
    pub fn from_toml(text: &str, origin: &str, default_name: &str) -> Result<Spider, SpiderError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| syntax_error(origin, text, &e))?;
        levels::check_seed_shape(&doc, origin)?;
        if let Some((key, nearest)) = raw::unknown_key(&doc) {
            let hint = nearest
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(SpiderError::at(origin, key, format!("unknown key{hint}")));
        }
        let raw: raw::RawSpider = serde_path_to_error::deserialize(toml::Value::Table(doc))
            .map_err(|e| type_error(origin, e))?;
        let mut spider = Builder { origin }.spider(raw, default_name)?;
        spider.source = text.to_string();
        Ok(spider)
    }

    /// Replaces the values of the `[vars]` list `name` (the command line's
    /// `--var NAME=VALUE`, SPEC §7). A state directory counts them as part
    /// of the spider: a resume with other values is refused.
    ///
    /// # Errors
    /// When the spider has no `[vars]` list of that name; the message names
    /// the lists it has.
    pub fn set_var(&mut self, name: &str, values: Vec<String>) -> Result<(), SpiderError> {
        self.starts
            .set_var(name, values.clone())
            .map_err(|message| SpiderError::whole(&format!("--var {name}=…"), message))?;
        match self.vars_set.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => *list = values,
            None => self.vars_set.push((name.to_string(), values)),
        }
        Ok(())
    }

    /// What a state directory keeps of this spider: the file's text and, as
    /// one extra TOML key, the vars set since (so its meaning, not its
    /// spacing, is compared; see `state`).
    pub(crate) fn identity(&self) -> String {
        let mut text = self.source.clone();
        if !self.vars_set.is_empty() {
            let json = serde_json::to_string(&self.vars_set).unwrap_or_default();
            text.push_str(&format!(
                "\n__trawl_cli_vars = {}\n",
                toml::Value::String(json)
            ));
        }
        text
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
        let seeds = self.seeds(&raw.seed)?;
        let (paging, list, detail) =
            match (&raw.list, &raw.links) {
                (Some(list), None) => self.list_crawl(&raw, list, &seeds)?,
                (None, Some(links)) => self.link_crawl(&raw, links, &seeds)?,
                (Some(_), Some(_)) => return Err(self.err(
                    "links",
                    "[links] instead of [list], not both: [links] makes the page's links the items",
                )),
                (None, None) => {
                    return Err(self.err(
                        "list",
                        "a [list] section (or [links], to follow a page's links)",
                    ))
                }
            };
        let total = match &raw.list {
            Some(raw_list) => self.total(&raw, raw_list, &paging, list.format.is_json())?,
            None => None,
        };
        let starts = self.starts(&raw, &paging)?;
        let open_template = matches!(
            paging,
            Paging::Numbered { last: None, .. } | Paging::Offset { .. }
        );
        if list.prefetch && !open_template {
            return Err(self.err(
                "list.prefetch",
                "a `start` with `{page}` or `{offset}` and no `last_page`: prefetch guesses pages past what is known",
            ));
        }
        let all = known_names(&seeds, &list, detail.as_ref());
        let key = self.names("key", raw.key.as_ref(), all.as_deref())?;
        let omit = self.names("omit", raw.omit.as_ref(), all.as_deref())?;
        let limits = Limits::from_raw(&raw.limits).map_err(|(key, msg)| self.err(key, msg))?;
        let placeholders = ["page", "offset"].map(String::from).into_iter();
        let placeholders: Vec<String> = placeholders
            .chain(starts.vars.iter().map(|(n, _)| n.clone()))
            .collect();
        let request = self.request(&raw.request, &placeholders)?;
        Ok(Spider {
            name,
            starts,
            paging,
            total,
            seeds,
            list,
            detail,
            key,
            omit,
            limits,
            request,
            source: String::new(),
            vars_set: Vec::new(),
        })
    }

    fn err(&self, key: impl Into<String>, expected: impl Into<String>) -> SpiderError {
        SpiderError::at(self.origin, key, format!("expected {}", expected.into()))
    }

    /// A crawl of list pages: started by `start`, or by the last seed
    /// level's links, whose list sequences then page by `next` or `page_param`.
    fn list_crawl(
        &self,
        raw: &raw::RawSpider,
        list: &raw::RawList,
        seeds: &[SeedRule],
    ) -> Result<(Paging, ListRule, Option<DetailRule>), SpiderError> {
        let next = self.next_source(raw, list)?;
        let paging = match seeds.is_empty() {
            true => self.paging(raw, next.is_some())?,
            false => self.single_start(raw, "[[seed]]")?,
        };
        let list = self.list(list, next, seeds)?;
        let detail = match &raw.detail {
            Some(detail) => Some(self.detail(detail, seeds, &list)?),
            None => None,
        };
        Ok((paging, list, detail))
    }

    /// `next` with the key it was written at.
    fn next_source<'r>(
        &self,
        raw: &'r raw::RawSpider,
        list: &'r raw::RawList,
    ) -> Result<Option<(&'static str, &'r str)>, SpiderError> {
        match (&raw.next, &list.next) {
            (Some(_), Some(_)) => Err(self.err(
                "list.next",
                "`next` once, at the top level or under [list], not both",
            )),
            (Some(top), None) => Ok(Some(("next", top))),
            (None, Some(under)) => Ok(Some(("list.next", under))),
            (None, None) => Ok(None),
        }
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

    fn list(
        &self,
        raw: &raw::RawList,
        next: Option<(&'static str, &str)>,
        seeds: &[SeedRule],
    ) -> Result<ListRule, SpiderError> {
        if raw.format.as_deref() == Some("sitemap") {
            return self.sitemap_list(raw, next.map(|(key, _)| key), seeds);
        }
        if let Some(other) = raw
            .format
            .as_deref()
            .filter(|f| !["html", "json"].contains(f))
        {
            return Err(self.err(
                "list.format",
                format!("\"html\", \"json\" or \"sitemap\", found \"{other}\""),
            ));
        }
        for (key, given) in [("list.allow", &raw.allow), ("list.deny", &raw.deny)] {
            if given.is_some() {
                return Err(self.err(
                    key,
                    "this key only with format = \"sitemap\" (or under [links])",
                ));
            }
        }
        let next = next.filter(|(_, source)| !source.trim().is_empty());
        let page_param = self.page_param(raw, next.is_some(), seeds)?;
        let format = self.format("list", raw.format.as_deref(), &raw.json_from, &raw.json_re)?;
        let json = format.is_json();
        let item = if json {
            if raw.item.is_some() {
                return Err(self.err(
                    "list.item",
                    "`items` (a dotted path) for format = \"json\"; `item` is for HTML",
                ));
            }
            ItemRule::Json(self.path("list.items", raw.items.as_deref().unwrap_or(""))?)
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
            ItemRule::Css {
                source: source.to_string(),
                selector: compile_css(source).map_err(|e| self.err("list.item", e))?,
            }
        };
        let fields = self.fields("list.fields", &raw.fields, json)?;
        let known = (!(json && fields.is_empty())).then(|| {
            let mut known = seed_names(seeds);
            known.extend(names_of(&fields));
            known
        });
        let keep = Keep {
            require: self.names("list.require", raw.require.as_ref(), known.as_deref())?,
            unique: self.names("list.unique", raw.unique.as_ref(), known.as_deref())?,
        };
        Ok(ListRule {
            format,
            item,
            fields,
            next: next
                .map(|(key, source)| self.read(key, source, json))
                .transpose()?,
            stop: raw
                .stop
                .as_deref()
                .map(|s| self.path("list.stop", s))
                .transpose()?,
            page_param,
            prefetch: raw.prefetch.unwrap_or(false),
            keep,
        })
    }

    fn detail(
        &self,
        raw: &raw::RawDetail,
        seeds: &[SeedRule],
        list: &ListRule,
    ) -> Result<DetailRule, SpiderError> {
        let written = raw.follow.as_deref().ok_or_else(|| {
            SpiderError::at(
                self.origin,
                "detail.follow",
                "missing; this key is required with [list] (the list field holding the detail page's URL)",
            )
        })?;
        let (follow, filters) = split_pipe(written);
        let follow = follow.trim().to_string();
        let follow_filters = match filters {
            Some(chain) => {
                Chain::parse(chain).map_err(|e| SpiderError::at(self.origin, "detail.follow", e))?
            }
            None => Chain::default(),
        };
        let list_names = list_names(list);
        if let Some(names) = list_names
            .as_ref()
            .filter(|n| !n.contains(&follow.as_str()))
        {
            let names: Vec<_> = names.iter().map(|n| format!("`{n}`")).collect();
            return Err(self.err(
                "detail.follow",
                format!(
                    "the name of a list field ({}), optionally with filters, found `{follow}`",
                    names.join(", ")
                ),
            ));
        }
        let known = list_names.map(|names| {
            let mut known = seed_names(seeds);
            known.extend(names);
            known
        });
        let (format, fields, keep) = self.detail_body(raw, known)?;
        Ok(DetailRule {
            follow,
            follow_filters,
            format,
            fields,
            keep,
        })
    }

    /// A detail page's format, fields and `require`/`unique`, which may name
    /// the fields `before` it (seed and list fields; `None`: any name).
    fn detail_body(
        &self,
        raw: &raw::RawDetail,
        before: Option<Vec<&str>>,
    ) -> Result<(Format, FieldList, Keep), SpiderError> {
        let format = self.format(
            "detail",
            raw.format.as_deref(),
            &raw.json_from,
            &raw.json_re,
        )?;
        let fields = self.fields("detail.fields", &raw.fields, format.is_json())?;
        if let Some((name, _)) = fields.iter().find(|(_, f)| f.reads_list_position()) {
            return Err(self.err(
                format!("detail.fields.{name}"),
                "`::index` and `::page` in [list] fields: a detail page may be shared by items of several list pages",
            ));
        }
        let known = before.map(|mut known| {
            known.extend(names_of(&fields));
            known
        });
        let keep = Keep {
            require: self.names("detail.require", raw.require.as_ref(), known.as_deref())?,
            unique: self.names("detail.unique", raw.unique.as_ref(), known.as_deref())?,
        };
        Ok((format, fields, keep))
    }

    /// `format`, with `json_from` or `json_re` for JSON inside HTML.
    fn format(
        &self,
        section: &str,
        format: Option<&str>,
        json_from: &Option<String>,
        json_re: &Option<String>,
    ) -> Result<Format, SpiderError> {
        let json = match format.unwrap_or("html") {
            "html" => false,
            "json" => true,
            other => {
                return Err(self.err(
                    format!("{section}.format"),
                    format!("\"html\" or \"json\", found \"{other}\""),
                ))
            }
        };
        let source = match (json_from, json_re) {
            (Some(_), Some(_)) => {
                return Err(self.err(
                    format!("{section}.json_re"),
                    "`json_from` or `json_re`, not both",
                ))
            }
            (Some(css), None) => JsonSource::From {
                source: css.clone(),
                selector: compile_css(css)
                    .map_err(|e| self.err(format!("{section}.json_from"), e))?,
            },
            (None, Some(pattern)) => JsonSource::Re(regex::Regex::new(pattern).map_err(|e| {
                self.err(
                    format!("{section}.json_re"),
                    format!(
                        "a regular expression, found `{pattern}` ({})",
                        one_line(&e.to_string())
                    ),
                )
            })?),
            (None, None) => JsonSource::Body,
        };
        match (json, &source) {
            (true, _) => Ok(Format::Json(source)),
            (false, JsonSource::Body) => Ok(Format::Html),
            (false, _) => {
                let key = if json_from.is_some() {
                    "json_from"
                } else {
                    "json_re"
                };
                Err(self.err(
                    format!("{section}.{key}"),
                    "format = \"json\" beside it (the JSON it finds is read with paths)",
                ))
            }
        }
    }

    fn path(&self, key: &str, source: &str) -> Result<JsonPath, SpiderError> {
        JsonPath::parse(source).map_err(|e| self.err(key, e))
    }
}

/// The names of `fields`, in order.
fn names_of(fields: &[(String, Field)]) -> Vec<&str> {
    fields.iter().map(|(name, _)| name.as_str()).collect()
}

/// The names a list item has: its fields, a sitemap entry's parts when a
/// sitemap list has none, or `None` when whole JSON items make the names
/// the server's choice.
fn list_names(list: &ListRule) -> Option<Vec<&str>> {
    match (&list.item, list.fields.is_empty()) {
        (ItemRule::Json(_), true) => None,
        (ItemRule::Sitemap(_), true) => Some(SITEMAP_NAMES.to_vec()),
        _ => Some(names_of(&list.fields)),
    }
}

/// Every field name a record can have (seed, list, detail), or `None` when
/// whole JSON items make the names the server's choice.
fn known_names<'a>(
    seeds: &'a [SeedRule],
    list: &'a ListRule,
    detail: Option<&'a DetailRule>,
) -> Option<Vec<&'a str>> {
    let mut names = seed_names(seeds);
    names.extend(list_names(list)?);
    names.extend(detail.iter().flat_map(|d| names_of(&d.fields)));
    Some(names)
}

/// A multi-line library message as one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Spider {
    /// The record's fields in order with the kind of value each holds: seed
    /// fields (outermost level first), list fields (a sitemap's entry parts
    /// when it names none), then detail fields, each name once, without
    /// `omit`ted ones. Database outputs type their columns from it.
    pub fn columns(&self) -> Vec<(String, Kind)> {
        let sitemap_parts = match (&self.list.item, self.list.fields.is_empty()) {
            (ItemRule::Sitemap(_), true) => &SITEMAP_NAMES[..],
            _ => &[],
        };
        let seeds = seed_fields(&self.seeds).map(|(name, field)| (name.as_str(), field.kind()));
        let parts = sitemap_parts.iter().map(|name| (*name, Kind::Text));
        let list = self.list.fields.iter();
        let detail = self.detail.iter().flat_map(|d| &d.fields);
        let fields = list
            .chain(detail)
            .map(|(name, field)| (name.as_str(), field.kind()));
        let mut columns: Vec<(String, Kind)> = Vec::new();
        for (name, kind) in seeds.chain(parts).chain(fields) {
            if self.omit.iter().any(|omitted| omitted == name) {
                continue;
            }
            match columns.iter_mut().find(|(n, _)| n == name) {
                Some(column) => column.1 = kind,
                None => columns.push((name.to_string(), kind)),
            }
        }
        columns
    }
}

#[cfg(test)]
mod tests;
