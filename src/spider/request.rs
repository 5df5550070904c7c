//! `[request]`: what every request of the crawl sends (SPEC §7): headers,
//! cookies, warm-up pages, and a POST body for list pages.
//!
//! `{env:NAME}` in a header value is read from the environment here, once,
//! when the file is loaded, so a missing secret stops the crawl before
//! anything is fetched. Its value is kept only in [`RequestRule::headers`]
//! (whose `Debug` shows names only): errors name the variable, and
//! `trawl check` shows the value as written.

use std::ffi::OsString;

use indexmap::IndexMap;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::raw::RawRequest;
use super::template::{fill_json, fill_text, placeholders, Values};
use super::{Builder, SpiderError};
use crate::fetch::Body;

/// What every request sends.
#[derive(Clone, Default)]
pub struct RequestRule {
    /// Headers for every list and detail request, in file order. `{env:…}`
    /// is already read into the value; other placeholders are filled per
    /// request. Values never appear in `Debug` output.
    pub headers: Vec<(String, String)>,
    /// The same headers as the file wrote them, `{env:…}` unresolved: what
    /// `trawl check` shows.
    pub headers_as_written: Vec<(String, String)>,
    /// Keep one cookie jar for the crawl.
    pub cookies: bool,
    /// Pages fetched first, in order, for their cookies only.
    pub warmup: Vec<Url>,
    /// List pages are POSTed with this body; `None`: GET.
    pub body: Option<BodyTemplate>,
}

impl std::fmt::Debug for RequestRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestRule")
            .field("headers", &names)
            .field("cookies", &self.cookies)
            .field("warmup", &self.warmup)
            .field("body", &self.body)
            .finish()
    }
}

/// A POST body, placeholders unfilled.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    /// `json = { … }`: sent as `application/json`.
    Json(Value),
    /// `form = { … }`: sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

impl BodyTemplate {
    /// The body for one request.
    pub fn render(&self, values: &Values<'_>) -> Body {
        match self {
            BodyTemplate::Json(template) => Body {
                bytes: fill_json(template, values).to_string().into_bytes(),
                content_type: "application/json",
            },
            BodyTemplate::Form(pairs) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in pairs {
                    form.append_pair(name, &fill_text(value, values));
                }
                Body {
                    bytes: form.finish().into_bytes(),
                    content_type: "application/x-www-form-urlencoded",
                }
            }
        }
    }
}

impl RequestRule {
    /// The headers for one request, placeholders filled.
    pub fn headers_for(&self, values: &Values<'_>) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.clone(), fill_text(value, values)))
            .collect()
    }
}

/// Where `{env:NAME}` is read from: the process environment, or a fake one
/// in tests (which never set the test process's own environment).
type Env<'e> = &'e dyn Fn(&str) -> Option<OsString>;

impl Builder<'_> {
    /// `[request]` checked and converted; `known` names the placeholders
    /// the spider defines (`page`, `offset` and the `[vars]`).
    pub(super) fn request(
        &self,
        raw: &RawRequest,
        known: &[String],
    ) -> Result<RequestRule, SpiderError> {
        self.request_in(raw, known, &|name| std::env::var_os(name))
    }

    fn request_in(
        &self,
        raw: &RawRequest,
        known: &[String],
        env: Env<'_>,
    ) -> Result<RequestRule, SpiderError> {
        let mut headers = Vec::with_capacity(raw.headers.len());
        for (name, value) in &raw.headers {
            headers.push((name.clone(), self.header(raw, name, value, known, env)?));
        }
        let warmup = raw.warmup.iter().flatten().enumerate();
        let warmup = warmup
            .map(|(i, url)| self.http_url(&format!("request.warmup[{i}]"), url))
            .collect::<Result<_, _>>()?;
        Ok(RequestRule {
            headers,
            headers_as_written: raw.headers.clone().into_iter().collect(),
            cookies: raw.cookies.unwrap_or(false),
            warmup,
            body: self.body(raw, known)?,
        })
    }

    /// One header's value as sent, `{env:…}` read in.
    fn header(
        &self,
        raw: &RawRequest,
        name: &str,
        value: &str,
        known: &[String],
        env: Env<'_>,
    ) -> Result<String, SpiderError> {
        let key = format!("request.headers.{name}");
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(self.err(
                key,
                "a header name: letters, digits and `-` (no spaces, colons or newlines)",
            ));
        }
        let has_body = raw.json.is_some() || raw.form.is_some();
        if let Some(instead) = reserved(name, raw.cookies == Some(true), has_body) {
            return Err(self.err(key, instead));
        }
        self.known_placeholders(&key, value, known)?;
        // The value as written, `{env:…}` parts left out: the file's own
        // text must make a header; each variable's value is checked alone.
        let written = resolve_env(value, &mut |_| Ok(String::new()))
            .map_err(|problem| self.env_error(&key, problem))?;
        if HeaderValue::from_str(&fill_text(&written, &Values::default())).is_err() {
            return Err(self.err(
                key,
                "a header value on one line, without control characters",
            ));
        }
        resolve_env(value, &mut |var| match env(var) {
            None => Err(EnvProblem::Unset(var.to_string())),
            Some(text) => text
                .into_string()
                .ok()
                .filter(|text| HeaderValue::from_str(text).is_ok())
                .ok_or_else(|| EnvProblem::NotAHeader(var.to_string())),
        })
        .map_err(|problem| self.env_error(&key, problem))
    }

    fn env_error(&self, key: &str, problem: EnvProblem) -> SpiderError {
        match problem {
            EnvProblem::Unset(var) => self.err(
                key,
                format!("the environment variable `{var}` to be set (for `{{env:{var}}}`); it is not"),
            ),
            EnvProblem::NotAHeader(var) => self.err(
                key,
                format!("the environment variable `{var}` to hold text a header can carry (one line, no control characters); it does not"),
            ),
            EnvProblem::BadName(written) => self.err(
                key,
                format!("`{{env:NAME}}` with a NAME of letters, digits and `_`, found `{written}`"),
            ),
        }
    }

    /// Every `{name}` in `text` is one the spider defines.
    fn known_placeholders(
        &self,
        key: &str,
        text: &str,
        known: &[String],
    ) -> Result<(), SpiderError> {
        let Some(unknown) = placeholders(text).into_iter().find(|n| !known.contains(n)) else {
            return Ok(());
        };
        let known: Vec<String> = known.iter().map(|n| format!("`{{{n}}}`")).collect();
        Err(self.err(
            key,
            format!(
                "placeholders the spider defines ({}, or a `[vars]` name), found `{{{unknown}}}`",
                known.join(", ")
            ),
        ))
    }

    /// Text in a body: known placeholders, and no `{env:…}` — a body is
    /// part of the state's dedup key, so a secret in it would be written down.
    fn body_text(&self, key: &str, text: &str, known: &[String]) -> Result<(), SpiderError> {
        if text.contains("{env:") {
            return Err(self.err(
                key,
                "`{env:…}` only in `request.headers`: a body is kept in the state (its dedup key), a secret must not be",
            ));
        }
        self.known_placeholders(key, text, known)
    }

    /// `method` with `json` or `form`: the list pages' POST body.
    fn body(
        &self,
        raw: &RawRequest,
        known: &[String],
    ) -> Result<Option<BodyTemplate>, SpiderError> {
        let post = match raw.method.as_deref() {
            None | Some("GET") => false,
            Some("POST") => true,
            Some(other) => {
                return Err(self.err(
                    "request.method",
                    format!("\"GET\" or \"POST\", found \"{other}\""),
                ))
            }
        };
        let body = match (&raw.json, &raw.form) {
            (Some(_), Some(_)) => {
                return Err(self.err("request.form", "`json` or `form`, not both"))
            }
            (Some(json), None) => Some(("request.json", self.json_body(json, known)?)),
            (None, Some(form)) => Some(("request.form", self.form_body(form, known)?)),
            (None, None) => None,
        };
        match (post, body) {
            (true, Some((_, body))) => Ok(Some(body)),
            (false, None) => Ok(None),
            (false, Some((key, _))) => Err(self.err(
                key,
                "method = \"POST\" beside it: list pages are POSTed with this body (detail pages stay GET)",
            )),
            (true, None) => Err(self.err(
                "request.method",
                "a body beside method = \"POST\": `json = { … }` or `form = { … }`",
            )),
        }
    }

    fn json_body(&self, json: &toml::Value, known: &[String]) -> Result<BodyTemplate, SpiderError> {
        if !matches!(json, toml::Value::Table(_) | toml::Value::Array(_)) {
            return Err(self.err(
                "request.json",
                format!(
                    "a table (`json = {{ … }}`) or an array, found {}",
                    json.type_str()
                ),
            ));
        }
        Ok(BodyTemplate::Json(self.json_value(
            "request.json",
            json,
            known,
        )?))
    }

    /// A TOML value as JSON, every string's placeholders checked; `key` is
    /// its dotted path, for errors.
    fn json_value(
        &self,
        key: &str,
        value: &toml::Value,
        known: &[String],
    ) -> Result<Value, SpiderError> {
        Ok(match value {
            toml::Value::String(text) => {
                self.body_text(key, text, known)?;
                Value::String(text.clone())
            }
            toml::Value::Integer(n) => Value::from(*n),
            toml::Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| self.err(key, "a finite number (JSON has no NaN or infinity)"))?,
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::Datetime(date) => Value::String(date.to_string()),
            toml::Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json_value(&format!("{key}[{i}]"), item, known))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(table) => Value::Object(
                table
                    .iter()
                    .map(|(name, item)| {
                        let value = self.json_value(&format!("{key}.{name}"), item, known)?;
                        Ok((name.clone(), value))
                    })
                    .collect::<Result<_, SpiderError>>()?,
            ),
        })
    }

    fn form_body(
        &self,
        form: &IndexMap<String, toml::Value>,
        known: &[String],
    ) -> Result<BodyTemplate, SpiderError> {
        let mut pairs = Vec::with_capacity(form.len());
        for (name, value) in form {
            let key = format!("request.form.{name}");
            let text = match value {
                toml::Value::String(text) => text.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Datetime(date) => date.to_string(),
                other => {
                    return Err(self.err(
                        key,
                        format!(
                            "a string, number or boolean (a form value is text), found {}",
                            other.type_str()
                        ),
                    ))
                }
            };
            self.body_text(&key, &text, known)?;
            pairs.push((name.clone(), text));
        }
        Ok(BodyTemplate::Form(pairs))
    }
}

/// Headers trawl sets itself, with what to write instead.
fn reserved(name: &str, cookies: bool, body: bool) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "user-agent" => Some("`limits.user_agent` instead of a User-Agent header: robots.txt rules are matched against it"),
        // Some APIs want one on a GET too; with a body it is the body's.
        "content-type" if body => Some("no Content-Type header: trawl sets it from the body (json: application/json, form: application/x-www-form-urlencoded)"),
        "host" | "content-length" | "transfer-encoding" | "connection" => {
            Some("none of Host, Content-Length, Transfer-Encoding, Connection: trawl sets them")
        }
        "cookie" if cookies => Some("no Cookie header beside cookies = true: the jar's cookies would not be sent"),
        _ => None,
    }
}

/// Why an `{env:NAME}` could not be read; names the variable, never a value.
enum EnvProblem {
    Unset(String),
    NotAHeader(String),
    BadName(String),
}

/// `value` with each `{env:NAME}` replaced by `lookup(NAME)`, its braces
/// doubled so that filling the other placeholders per request leaves the
/// secret as it is; `{{` and `}}` stay escaped for the same filling.
fn resolve_env(
    value: &str,
    lookup: &mut dyn FnMut(&str) -> Result<String, EnvProblem>,
) -> Result<String, EnvProblem> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..2]);
            rest = &tail[2..];
        } else if let Some(inner) = tail.strip_prefix("{env:") {
            let end = inner.find('}').unwrap_or(inner.len());
            let name = &inner[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || end == inner.len() {
                let written = &tail[..(end + 6).min(tail.len())];
                return Err(EnvProblem::BadName(written.to_string()));
            }
            let secret = lookup(name)?;
            out.push_str(&secret.replace('{', "{{").replace('}', "}}"));
            rest = &inner[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
