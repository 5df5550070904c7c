//! The spider file as written: a serde mirror of SPEC §1, checked key by key.

use indexmap::IndexMap;
use serde::Deserialize;

/// Top-level keys, for "did you mean" suggestions.
pub(crate) const TOP_KEYS: &[&str] = &[
    "name",
    "start",
    "first_page",
    "last_page",
    "step",
    "first_offset",
    "total",
    "total_pages",
    "vars",
    "next",
    "key",
    "omit",
    "seed",
    "list",
    "links",
    "detail",
    "limits",
    "request",
];
/// Keys of each `[[seed]]`.
pub(crate) const SEED_KEYS: &[&str] =
    &["links", "next", "format", "json_from", "json_re", "fields"];
/// Keys of `[list]`.
pub(crate) const LIST_KEYS: &[&str] = &[
    "format",
    "json_from",
    "json_re",
    "item",
    "items",
    "stop",
    "next",
    "fields",
    "require",
    "unique",
    "allow",
    "deny",
    "page_param",
    "total",
    "total_pages",
    "prefetch",
];
/// Keys of `[links]`.
pub(crate) const LINKS_KEYS: &[&str] = &["within", "allow", "deny", "depth", "hosts"];
/// Keys of `[detail]`.
pub(crate) const DETAIL_KEYS: &[&str] = &[
    "follow",
    "format",
    "json_from",
    "json_re",
    "fields",
    "require",
    "unique",
];
/// Keys of a field written as a table.
pub(crate) const FIELD_KEYS: &[&str] = &["const", "each", "fields", "rows", "key", "value"];
/// Keys of `[request]`.
pub(crate) const REQUEST_KEYS: &[&str] =
    &["headers", "cookies", "warmup", "method", "json", "form"];
/// Keys of `[limits]`.
pub(crate) const LIMIT_KEYS: &[&str] = &[
    "rate",
    "burst",
    "concurrency",
    "timeout",
    "retries",
    "robots",
    "user_agent",
    "max_body",
    "max_delay",
    "allow_private",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpider {
    pub name: Option<String>,
    pub start: RawStart,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    pub step: Option<i64>,
    pub first_offset: Option<i64>,
    pub total: Option<String>,
    pub total_pages: Option<String>,
    #[serde(default)]
    pub vars: IndexMap<String, RawVar>,
    pub next: Option<String>,
    pub key: Option<Names>,
    pub omit: Option<Names>,
    #[serde(default)]
    pub seed: Vec<RawSeed>,
    pub list: Option<RawList>,
    pub links: Option<RawLinks>,
    pub detail: Option<RawDetail>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub request: RawRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawList {
    pub format: Option<String>,
    pub json_from: Option<String>,
    pub json_re: Option<String>,
    pub item: Option<String>,
    pub items: Option<String>,
    pub stop: Option<String>,
    pub next: Option<String>,
    #[serde(default)]
    pub fields: IndexMap<String, toml::Value>,
    pub require: Option<Names>,
    pub unique: Option<Names>,
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    pub page_param: Option<String>,
    pub prefetch: Option<bool>,
    pub total: Option<String>,
    pub total_pages: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeed {
    pub links: String,
    pub next: Option<String>,
    pub format: Option<String>,
    pub json_from: Option<String>,
    pub json_re: Option<String>,
    #[serde(default)]
    pub fields: IndexMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLinks {
    pub within: Option<String>,
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    pub depth: Option<i64>,
    pub hosts: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDetail {
    /// Required with `[list]`; there is none with `[links]`.
    pub follow: Option<String>,
    pub format: Option<String>,
    pub json_from: Option<String>,
    pub json_re: Option<String>,
    #[serde(default)]
    pub fields: IndexMap<String, toml::Value>,
    pub require: Option<Names>,
    pub unique: Option<Names>,
}

/// `start`: one URL or several.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a URL or a list of URLs")]
pub(super) enum RawStart {
    One(String),
    Many(Vec<String>),
}

/// One `[vars]` entry: its values, or a file of them.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a list of values, or { file = \"values.txt\" } (one value a line)"
)]
pub(super) enum RawVar {
    List(Vec<toml::Value>),
    File { file: String },
}

/// A field name or a list of them (`require`, `unique`, `key`, `omit`).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a field name or a list of field names")]
pub(super) enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub(super) fn to_vec(&self) -> Vec<String> {
        match self {
            Names::One(name) => vec![name.clone()],
            Names::Many(names) => names.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub rate: Option<f64>,
    pub burst: Option<i64>,
    pub concurrency: Option<i64>,
    pub timeout: Option<NumberOrText>,
    pub retries: Option<i64>,
    pub robots: Option<bool>,
    pub user_agent: Option<String>,
    pub max_body: Option<NumberOrText>,
    pub max_delay: Option<NumberOrText>,
    pub allow_private: Option<bool>,
}

/// `[request]` as written: header values hold `{env:NAME}` unresolved.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequest {
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    pub cookies: Option<bool>,
    pub warmup: Option<Vec<String>>,
    pub method: Option<String>,
    pub json: Option<toml::Value>,
    pub form: Option<IndexMap<String, toml::Value>>,
}

/// Durations and sizes may be written bare (`30`) or with a unit (`"30s"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum NumberOrText {
    Integer(i64),
    Float(f64),
    Text(String),
}

impl NumberOrText {
    pub(super) fn as_text(&self) -> String {
        match self {
            NumberOrText::Integer(n) => n.to_string(),
            NumberOrText::Float(n) => n.to_string(),
            NumberOrText::Text(s) => s.clone(),
        }
    }
}

/// Finds the first key the spider file should not have, with the nearest valid one.
pub(super) fn unknown_key(doc: &toml::Table) -> Option<(String, Option<&'static str>)> {
    let sections: [(&str, &[&str]); 5] = [
        ("list", LIST_KEYS),
        ("links", LINKS_KEYS),
        ("detail", DETAIL_KEYS),
        ("limits", LIMIT_KEYS),
        ("request", REQUEST_KEYS),
    ];
    if let Some(found) = unknown_in(doc, "", TOP_KEYS) {
        return Some(found);
    }
    if let Some(toml::Value::Array(seeds)) = doc.get("seed") {
        for (i, seed) in seeds.iter().enumerate() {
            if let toml::Value::Table(table) = seed {
                if let Some(found) = unknown_in(table, &format!("seed[{i}]"), SEED_KEYS) {
                    return Some(found);
                }
            }
        }
    }
    for (section, keys) in sections {
        if let Some(toml::Value::Table(table)) = doc.get(section) {
            if let Some(found) = unknown_in(table, section, keys) {
                return Some(found);
            }
        }
    }
    None
}

fn unknown_in(
    table: &toml::Table,
    prefix: &str,
    known: &[&'static str],
) -> Option<(String, Option<&'static str>)> {
    let key = table.keys().find(|k| !known.contains(&k.as_str()))?;
    let full = if prefix.is_empty() {
        key.clone()
    } else {
        format!("{prefix}.{key}")
    };
    Some((full, nearest(key, known)))
}

/// The known key closest to `key`, when one is close enough to be a typo.
pub(super) fn nearest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let doc: toml::Table = toml::from_str("start='x'\n[limits]\nrat = 2\n").unwrap();
        assert_eq!(unknown_key(&doc), Some(("limits.rat".into(), Some("rate"))));
        let doc: toml::Table = toml::from_str("strat='x'\n").unwrap();
        assert_eq!(unknown_key(&doc), Some(("strat".into(), Some("start"))));
        let doc: toml::Table = toml::from_str("start='x'\nzzzzzz=1\n").unwrap();
        assert_eq!(unknown_key(&doc), Some(("zzzzzz".into(), None)));
        let doc: toml::Table = toml::from_str("start='x'\n[list]\nfields.anything='a'\n").unwrap();
        assert_eq!(unknown_key(&doc), None);
    }
}
