//! Fields: how one value of a record is read (SPEC §6), compiled once at load.
//!
//! A field is a [`Read`] (a selector or path, then filters), a fallback list
//! of reads, a constant, a list of sub-records (`each`), or a label → value
//! object (`rows`). The same field reads HTML (inside an element) or JSON
//! (inside a value); which one is fixed when the spider file is loaded.

use std::fmt;

use scraper::{ElementRef, Selector};
use serde_json::Value;
use url::Url;

use super::css::{compile, CssRule};
use super::filter::{split_pipe, Chain};
use super::json::JsonPath;
use super::{Fields, Kind};

/// What the page a field is read on says about itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageInfo<'a> {
    /// The page's final URL (after redirects); links resolve against it.
    pub url: &'a Url,
    /// The HTTP status.
    pub status: u16,
    /// The list page's number: the value `{page}` took, else its position
    /// 1, 2, 3 … in its sequence.
    pub number: u64,
}

/// Where a field is being read: the page, and the item's position on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    /// The page.
    pub page: &'a PageInfo<'a>,
    /// The item's position on its list page (0, 1, 2 …), if there is an item.
    pub index: Option<usize>,
}

/// A value the page gives about itself: `::url`, `::status`, `::index`, `::page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageValue {
    /// The page's final URL.
    Url,
    /// Its HTTP status.
    Status,
    /// The item's position on its list page.
    Index,
    /// The list page's number.
    Page,
}

impl PageValue {
    fn parse(text: &str) -> Option<PageValue> {
        match text {
            "::url" => Some(PageValue::Url),
            "::status" => Some(PageValue::Status),
            "::index" => Some(PageValue::Index),
            "::page" => Some(PageValue::Page),
            _ => None,
        }
    }

    fn value(self, at: &At<'_>) -> Value {
        match self {
            PageValue::Url => Value::String(at.page.url.to_string()),
            PageValue::Status => at.page.status.into(),
            PageValue::Index => at.index.map_or(Value::Null, Value::from),
            PageValue::Page => at.page.number.into(),
        }
    }
}

/// What a read starts from, before its filters.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A CSS selector with its output (HTML pages).
    Css(CssRule),
    /// A JSON path (JSON pages).
    Json(JsonPath),
    /// A value the page gives about itself.
    Page(PageValue),
}

/// A selector or path, then filters: `.price::text | number`.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    input: Input,
    filters: Chain,
}

/// Why a read does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The selector or path: what was expected instead.
    Expected(String),
    /// A filter, said as a sentence.
    Filter(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Expected(what) => write!(f, "expected {what}"),
            ReadError::Filter(problem) => f.write_str(problem),
        }
    }
}

impl Read {
    /// Compiles `text` for HTML (`json = false`: a selector) or JSON (a path).
    pub(crate) fn parse(text: &str, json: bool) -> Result<Read, ReadError> {
        let (head, filters) = split_pipe(text);
        let head = head.trim();
        let filters = match filters {
            Some(chain) => Chain::parse(chain).map_err(ReadError::Filter)?,
            None => Chain::default(),
        };
        let input = match PageValue::parse(head) {
            Some(value) => Input::Page(value),
            None if json => Input::Json(JsonPath::parse(head).map_err(ReadError::Expected)?),
            None => Input::Css(CssRule::parse(head).map_err(ReadError::Expected)?),
        };
        Ok(Read { input, filters })
    }

    /// Where the value comes from.
    pub(crate) fn input(&self) -> &Input {
        &self.input
    }

    /// The filters applied to it.
    pub(crate) fn filters(&self) -> &Chain {
        &self.filters
    }

    /// The kind of value this read gives.
    pub(crate) fn kind(&self) -> Kind {
        let base = match &self.input {
            Input::Css(rule) if rule.is_many() => Kind::Json,
            Input::Json(path) if path.is_many() => Kind::Json,
            Input::Css(_) | Input::Json(_) => Kind::Text,
            Input::Page(PageValue::Url) => Kind::Text,
            Input::Page(_) => Kind::Int,
        };
        self.filters.kind(base)
    }

    /// Reads inside an HTML element.
    pub(crate) fn html(&self, scope: ElementRef<'_>, at: &At<'_>) -> Value {
        let value = match &self.input {
            Input::Css(rule) => rule.read(scope, at.page.url),
            Input::Json(_) => Value::Null,
            Input::Page(page) => page.value(at),
        };
        self.filter(value, at)
    }

    /// Reads inside a JSON value.
    pub(crate) fn json(&self, scope: &Value, at: &At<'_>) -> Value {
        let value = match &self.input {
            Input::Json(path) => path.get(scope),
            Input::Css(_) => Value::Null,
            Input::Page(page) => page.value(at),
        };
        self.filter(value, at)
    }

    fn filter(&self, value: Value, at: &At<'_>) -> Value {
        if self.filters.is_empty() {
            return value;
        }
        self.filters.apply(value, at.page.url)
    }

    /// Whether this read starts from its scope element (see [`CssRule::reads_scope`]).
    pub(crate) fn reads_scope(&self) -> bool {
        matches!(&self.input, Input::Css(rule) if rule.reads_scope())
    }

    /// Whether this read needs an item (`::index`) or a list page (`::page`).
    pub(crate) fn reads_list_position(&self) -> bool {
        matches!(
            self.input,
            Input::Page(PageValue::Index) | Input::Page(PageValue::Page)
        )
    }
}

impl fmt::Display for Read {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.input {
            Input::Css(rule) => write!(f, "`{}`", rule.source())?,
            Input::Json(path) => write!(f, "`{}`", path.source())?,
            Input::Page(value) => write!(f, "`::{}`", format!("{value:?}").to_lowercase())?,
        }
        if !self.filters.is_empty() {
            write!(f, " | {}", self.filters)?;
        }
        Ok(())
    }
}

/// Where `each` and `rows` find their elements.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// Every match of a CSS selector.
    Css {
        /// As written.
        source: String,
        /// Compiled.
        selector: Selector,
    },
    /// The elements of the array at a path.
    Json(JsonPath),
}

impl Scope {
    /// Compiles `text` as a CSS selector (HTML) or a path (JSON).
    pub(crate) fn parse(text: &str, json: bool) -> Result<Scope, String> {
        let text = text.trim();
        if json {
            return Ok(Scope::Json(JsonPath::parse(text)?));
        }
        Ok(Scope::Css {
            source: text.to_string(),
            selector: compile(text)?,
        })
    }

    /// Whether the elements are found from the scope element itself
    /// (a selector starting with `:scope`).
    pub(crate) fn reads_scope(&self) -> bool {
        matches!(self, Scope::Css { source, .. } if source.is_empty() || source.starts_with(":scope"))
    }

    fn source(&self) -> &str {
        match self {
            Scope::Css { source, .. } => source,
            Scope::Json(path) => path.source(),
        }
    }

    fn elements<'a>(&self, scope: ElementRef<'a>) -> Vec<ElementRef<'a>> {
        match self {
            Scope::Css { selector, .. } => scope.select(selector).collect(),
            Scope::Json(_) => Vec::new(),
        }
    }

    fn values(&self, scope: &Value) -> Vec<Value> {
        match self {
            Scope::Json(path) => match path.get(scope) {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            },
            Scope::Css { .. } => Vec::new(),
        }
    }
}

/// One field of a record.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// A selector or path with filters.
    Read(Read),
    /// The first alternative that is neither `null` nor `[]`.
    Fallback(Vec<Read>),
    /// The same value in every record.
    Const(Value),
    /// An array of sub-records, one per element of `each`.
    Each {
        /// Where the sub-records are.
        each: Scope,
        /// Their fields, read inside each element.
        fields: Vec<(String, Field)>,
    },
    /// One object: for every row, the text of `key` names the text of `value`.
    Rows {
        /// The rows.
        rows: Scope,
        /// The label, read inside a row.
        key: Read,
        /// The value, read inside a row.
        value: Read,
    },
}

impl Field {
    /// The kind of value the field gives (types database columns).
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Field::Read(read) => read.kind(),
            Field::Fallback(reads) => {
                let first = reads.first().map_or(Kind::Text, Read::kind);
                match reads.iter().all(|r| r.kind() == first) {
                    true => first,
                    false => Kind::Text,
                }
            }
            Field::Const(value) => kind_of(value),
            Field::Each { .. } | Field::Rows { .. } => Kind::Json,
        }
    }

    /// Reads the field inside an HTML element.
    pub(crate) fn html(&self, scope: ElementRef<'_>, at: &At<'_>) -> Value {
        match self {
            Field::Read(read) => read.html(scope, at),
            Field::Fallback(reads) => first_present(reads.iter().map(|r| r.html(scope, at))),
            Field::Const(value) => value.clone(),
            Field::Each { each, fields } => Value::Array(
                each.elements(scope)
                    .into_iter()
                    .map(|element| Value::Object(read_html(fields, element, at)))
                    .collect(),
            ),
            Field::Rows { rows, key, value } => {
                let mut object = Fields::new();
                for row in rows.elements(scope) {
                    if let Some(label) = label(key.html(row, at)) {
                        object.insert(label, value.html(row, at));
                    }
                }
                Value::Object(object)
            }
        }
    }

    /// Reads the field on a page for one element of it (a seed link, SPEC
    /// §11 "Seed fields"): a selector with no CSS part or a leading `:scope`
    /// reads inside `element`, any other inside `page`. A fallback decides
    /// alternative by alternative.
    pub(crate) fn html_for(
        &self,
        element: ElementRef<'_>,
        page: ElementRef<'_>,
        at: &At<'_>,
    ) -> Value {
        let scope = |own: bool| if own { element } else { page };
        match self {
            Field::Read(read) => read.html(scope(read.reads_scope()), at),
            Field::Fallback(reads) => {
                first_present(reads.iter().map(|r| r.html(scope(r.reads_scope()), at)))
            }
            Field::Const(_) => self.html(page, at),
            Field::Each { each: found, .. } | Field::Rows { rows: found, .. } => {
                self.html(scope(found.reads_scope()), at)
            }
        }
    }

    /// Reads the field inside a JSON value.
    pub(crate) fn json(&self, scope: &Value, at: &At<'_>) -> Value {
        match self {
            Field::Read(read) => read.json(scope, at),
            Field::Fallback(reads) => first_present(reads.iter().map(|r| r.json(scope, at))),
            Field::Const(value) => value.clone(),
            Field::Each { each, fields } => Value::Array(
                each.values(scope)
                    .iter()
                    .map(|element| Value::Object(read_json(fields, element, at)))
                    .collect(),
            ),
            Field::Rows { rows, key, value } => {
                let mut object = Fields::new();
                for row in rows.values(scope) {
                    if let Some(label) = label(key.json(&row, at)) {
                        object.insert(label, value.json(&row, at));
                    }
                }
                Value::Object(object)
            }
        }
    }

    /// Whether any part of the field reads `::index` or `::page`.
    pub(crate) fn reads_list_position(&self) -> bool {
        match self {
            Field::Read(read) => read.reads_list_position(),
            Field::Fallback(reads) => reads.iter().any(Read::reads_list_position),
            Field::Const(_) => false,
            Field::Each { fields, .. } => fields.iter().any(|(_, f)| f.reads_list_position()),
            Field::Rows { key, value, .. } => {
                key.reads_list_position() || value.reads_list_position()
            }
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Read(read) => write!(f, "{read}"),
            Field::Fallback(reads) => {
                let parts: Vec<String> = reads.iter().map(Read::to_string).collect();
                write!(f, "first of [{}]", parts.join(", "))
            }
            Field::Const(value) => write!(f, "constant {value}"),
            Field::Each { each, fields } => {
                let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                write!(f, "each `{}` {{{}}}", each.source(), names.join(", "))
            }
            Field::Rows { rows, key, value } => {
                write!(f, "rows `{}`: {key} => {value}", rows.source())
            }
        }
    }
}

/// Reads every field inside an HTML element, in declaration order.
pub(super) fn read_html(fields: &[(String, Field)], scope: ElementRef<'_>, at: &At<'_>) -> Fields {
    fields
        .iter()
        .map(|(name, field)| (name.clone(), field.html(scope, at)))
        .collect()
}

/// Reads every field inside a JSON value, in declaration order.
pub(super) fn read_json(fields: &[(String, Field)], scope: &Value, at: &At<'_>) -> Fields {
    fields
        .iter()
        .map(|(name, field)| (name.clone(), field.json(scope, at)))
        .collect()
}

/// The kind of a constant.
pub(crate) fn kind_of(value: &Value) -> Kind {
    match value {
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => Kind::Int,
        Value::Number(_) => Kind::Number,
        Value::Array(_) | Value::Object(_) => Kind::Json,
        Value::String(_) | Value::Null => Kind::Text,
    }
}

/// Fallbacks skip only `null` and `[]` (SPEC §11): `""` is taken.
fn first_present(values: impl Iterator<Item = Value>) -> Value {
    let mut last = Value::Null;
    for value in values {
        match &value {
            Value::Null => {}
            Value::Array(items) if items.is_empty() => last = value,
            _ => return value,
        }
    }
    last
}

/// A row's label as an object key: strings as they are, other values as JSON text.
fn label(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}
