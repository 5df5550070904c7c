//! Where a crawl begins and how each of its sequences pages (SPEC §1, §7):
//! `start` (one URL or several), `[vars]` value lists, `{page}` and
//! `{offset}` templates, `next`, and totals read from a first page.

use std::path::Path;

use super::raw::{RawList, RawSpider, RawStart, RawVar};
use super::template::{fill_text, placeholders, Values};
use super::{Builder, SpiderError};
use crate::extract::Read;

/// Every start and the value lists that fill them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Starts {
    /// The `start` URLs as written, placeholders unfilled, in order.
    pub templates: Vec<String>,
    /// `[vars]`: each name with its values, in file order.
    pub vars: Vec<(String, Vec<String>)>,
}

impl Starts {
    /// Every sequence the crawl runs, in order: each template with every
    /// combination of the vars, the first var outermost.
    pub(crate) fn sequences(&self) -> Vec<(usize, Vec<(String, String)>)> {
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (name, values) in &self.vars {
            combos = combos
                .iter()
                .flat_map(|combo| {
                    values.iter().map(move |value| {
                        let mut next = combo.clone();
                        next.push((name.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        (0..self.templates.len())
            .flat_map(|t| combos.iter().map(move |combo| (t, combo.clone())))
            .collect()
    }

    /// `--var NAME=VALUE`: `values` replace that list (SPEC §7). The error
    /// says what is wrong, for the flag's message.
    pub(crate) fn set_var(&mut self, name: &str, values: Vec<String>) -> Result<(), String> {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => {
                *list = values;
                Ok(())
            }
            None => {
                let known: Vec<String> = self.vars.iter().map(|(n, _)| format!("`{n}`")).collect();
                Err(match known.is_empty() {
                    true => format!("`{name}` is not a var: the spider file has no [vars]"),
                    false => format!(
                        "`{name}` is not a var; the spider file has {}",
                        known.join(", ")
                    ),
                })
            }
        }
    }
}

/// How each sequence of list pages goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paging {
    /// One page per start.
    Single,
    /// `{page}`: from `first` to `last`, or to the first empty page.
    Numbered {
        /// The first page number.
        first: u64,
        /// The last page number, if known.
        last: Option<u64>,
    },
    /// `{offset}`: `first`, `first + step`, … to the first empty page or the total.
    Offset {
        /// `first_offset`.
        first: u64,
        /// `step`.
        step: u64,
    },
    /// Follow the list's `next` rule until it is absent.
    Next,
}

/// A total read from a sequence's first page, which bounds the sequence.
#[derive(Debug, Clone)]
pub(crate) enum Total {
    /// `total_pages`: how many pages there are.
    Pages(Read),
    /// `total`: how many items there are.
    Items(Read),
}

impl Total {
    /// The read.
    pub(crate) fn read(&self) -> &Read {
        match self {
            Total::Pages(read) | Total::Items(read) => read,
        }
    }
}

impl Builder<'_> {
    /// `start` and `[vars]`, every placeholder known and every start a URL.
    pub(super) fn starts(&self, raw: &RawSpider, paging: &Paging) -> Result<Starts, SpiderError> {
        let vars = self.vars(raw)?;
        let templates = match &raw.start {
            RawStart::One(one) => vec![one.clone()],
            RawStart::Many(many) if many.is_empty() => {
                return Err(self.err("start", "at least one URL"));
            }
            RawStart::Many(many) => many.clone(),
        };
        let starts = Starts { templates, vars };
        for (i, template) in starts.templates.iter().enumerate() {
            let key = match &raw.start {
                RawStart::One(_) => "start".to_string(),
                RawStart::Many(_) => format!("start[{i}]"),
            };
            self.check_template(&key, template, &starts, paging)?;
        }
        Ok(starts)
    }

    fn check_template(
        &self,
        key: &str,
        template: &str,
        starts: &Starts,
        paging: &Paging,
    ) -> Result<(), SpiderError> {
        for name in placeholders(template) {
            let known = match name.as_str() {
                "page" => matches!(paging, Paging::Numbered { .. }),
                "offset" => matches!(paging, Paging::Offset { .. }),
                _ => starts.vars.iter().any(|(n, _)| *n == name),
            };
            if !known {
                return Err(self.err(
                    key,
                    format!(
                        "placeholders that are defined: `{{{name}}}` is neither `{{page}}`, `{{offset}}` nor a name in [vars]"
                    ),
                ));
            }
        }
        let probe: Vec<(String, String)> = starts
            .vars
            .iter()
            .map(|(n, v)| (n.clone(), v.first().cloned().unwrap_or_default()))
            .collect();
        let values = Values {
            page: Some(1),
            offset: Some(0),
            vars: &probe,
        };
        self.http_url(key, &fill_text(template, &values))
            .map(|_| ())
    }

    /// `[vars]`: inline lists or `{ file = … }`, one value a line.
    fn vars(&self, raw: &RawSpider) -> Result<Vec<(String, Vec<String>)>, SpiderError> {
        let mut vars = Vec::new();
        for (name, var) in &raw.vars {
            let key = format!("vars.{name}");
            if matches!(name.as_str(), "page" | "offset") || name.starts_with("env:") {
                return Err(self.err(
                    key,
                    "a name other than `page` and `offset`, which trawl fills",
                ));
            }
            let values = match var {
                RawVar::List(values) => values
                    .iter()
                    .map(|v| match v {
                        toml::Value::String(s) => Ok(s.clone()),
                        toml::Value::Integer(_)
                        | toml::Value::Float(_)
                        | toml::Value::Boolean(_) => Ok(v.to_string()),
                        other => Err(self.err(
                            &key,
                            format!("strings or numbers, found {}", other.type_str()),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                RawVar::File { file } => self.var_file(&key, file)?,
            };
            if values.is_empty() {
                return Err(self.err(key, "at least one value"));
            }
            vars.push((name.clone(), values));
        }
        Ok(vars)
    }

    /// A var's values from a file beside the spider file: one a line,
    /// blank lines skipped, each trimmed.
    fn var_file(&self, key: &str, file: &str) -> Result<Vec<String>, SpiderError> {
        let dir = Path::new(self.origin).parent().unwrap_or(Path::new(""));
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.err(
                format!("{key}.file"),
                format!(
                    "a readable file of values, one a line; cannot read {} ({e})",
                    path.display()
                ),
            )
        })?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// How list sequences page: `{page}`, `{offset}`, `next` or one page.
    pub(super) fn paging(&self, raw: &RawSpider, has_next: bool) -> Result<Paging, SpiderError> {
        let all = raw.start.list();
        // A `{page}` or `{offset}` only in a POST body pages the sequence
        // too: the URL stays, the body moves on (SPEC §11).
        let body = body_text(raw);
        let count = |placeholder: &str| match body.contains(placeholder) {
            true => all.len(),
            false => all.iter().filter(|t| t.contains(placeholder)).count(),
        };
        let (page, offset) = (count("{page}"), count("{offset}"));
        if (page > 0 && page < all.len()) || (offset > 0 && offset < all.len()) {
            return Err(self.err(
                "start",
                "every start paged the same way: `{page}` in all of them or in none (and so for `{offset}`)",
            ));
        }
        let kind = match (page > 0, offset > 0, has_next) {
            (true, true, _) => return Err(self.err("start", "`{page}` or `{offset}`, not both")),
            (true, _, true) | (_, true, true) => {
                return Err(self.err(
                    "next",
                    "either a `{page}`/`{offset}` template in `start` or `next`, not both",
                ))
            }
            (true, false, false) => self.numbered(raw)?,
            (false, true, false) => self.offset(raw)?,
            (false, false, true) => Paging::Next,
            (false, false, false) => Paging::Single,
        };
        self.unused_numbers(raw, &kind)?;
        Ok(kind)
    }

    fn numbered(&self, raw: &RawSpider) -> Result<Paging, SpiderError> {
        let first = match raw.first_page {
            Some(n) if n < 0 => {
                return Err(self.err("first_page", format!("a page number ≥ 0, found {n}")))
            }
            Some(n) => n as u64,
            None => 1,
        };
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
        Ok(Paging::Numbered { first, last })
    }

    fn offset(&self, raw: &RawSpider) -> Result<Paging, SpiderError> {
        let step = match raw.step {
            None => {
                return Err(self.err(
                    "step",
                    "`step = N` (N ≥ 1) beside an `{offset}` start: how far each page moves",
                ))
            }
            Some(n) if n < 1 => return Err(self.err("step", format!("a step ≥ 1, found {n}"))),
            Some(n) => n as u64,
        };
        let first = match raw.first_offset {
            Some(n) if n < 0 => {
                return Err(self.err("first_offset", format!("an offset ≥ 0, found {n}")))
            }
            Some(n) => n as u64,
            None => 0,
        };
        Ok(Paging::Offset { first, step })
    }

    /// Page and offset numbers only with the template they number.
    fn unused_numbers(&self, raw: &RawSpider, kind: &Paging) -> Result<(), SpiderError> {
        let numbered = matches!(kind, Paging::Numbered { .. });
        let offset = matches!(kind, Paging::Offset { .. });
        let checks = [
            (
                "first_page",
                raw.first_page.is_some() && !numbered,
                "{page}",
            ),
            ("last_page", raw.last_page.is_some() && !numbered, "{page}"),
            ("step", raw.step.is_some() && !offset, "{offset}"),
            (
                "first_offset",
                raw.first_offset.is_some() && !offset,
                "{offset}",
            ),
        ];
        for (key, misplaced, needs) in checks {
            if misplaced {
                return Err(self.err(
                    key,
                    format!("a `start` URL with `{needs}` in it, for this key to apply"),
                ));
            }
        }
        Ok(())
    }

    /// `total_pages` or `total`, at the top level or under `[list]`.
    pub(super) fn total(
        &self,
        raw: &RawSpider,
        list: &RawList,
        paging: &Paging,
        json: bool,
    ) -> Result<Option<Total>, SpiderError> {
        let found = [
            ("total_pages", raw.total_pages.as_deref(), true),
            ("list.total_pages", list.total_pages.as_deref(), true),
            ("total", raw.total.as_deref(), false),
            ("list.total", list.total.as_deref(), false),
        ];
        let mut given = found.iter().filter(|(_, v, _)| v.is_some());
        let Some(&(key, Some(text), pages)) = given.next() else {
            return Ok(None);
        };
        if let Some((other, _, _)) = given.next() {
            return Err(self.err(*other, format!("one total, and `{key}` is given already")));
        }
        match paging {
            Paging::Numbered { last: Some(_), .. } => {
                return Err(self.err(key, "`last_page` or a total read from the page, not both"))
            }
            Paging::Numbered { .. } | Paging::Offset { .. } => {}
            _ => {
                return Err(self.err(
                    key,
                    "a `start` with `{page}` or `{offset}`: a total says where their pages end",
                ))
            }
        }
        let read = self.read(key, text, json)?;
        Ok(Some(match pages {
            true => Total::Pages(read),
            false => Total::Items(read),
        }))
    }
}

/// The POST body as written, for finding its placeholders.
fn body_text(raw: &RawSpider) -> String {
    let request = &raw.request;
    let json = request.json.iter().map(ToString::to_string);
    let form = request.form.iter().flatten().map(|(_, v)| v.to_string());
    json.chain(form).collect::<Vec<_>>().join(" ")
}

impl RawStart {
    /// The starts as written.
    pub(super) fn list(&self) -> Vec<&str> {
        match self {
            RawStart::One(one) => vec![one.as_str()],
            RawStart::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
