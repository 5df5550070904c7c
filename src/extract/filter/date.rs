//! `date: 'FORMAT'`: a text read with a strftime format, written as ISO 8601.

use std::fmt::Write;

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate};
use serde_json::Value;

/// A compiled strftime format and what it says about its output.
#[derive(Debug, Clone)]
pub(super) struct DateFormat {
    items: Vec<Item<'static>>,
    /// The format reads a time of day, so the output has one.
    time: bool,
    /// The format reads a UTC offset (`%z`), so the output keeps it.
    offset: bool,
}

impl DateFormat {
    /// Compiles `format`; an unknown directive, or a format without a year
    /// (which could never give a date), is an error.
    pub(super) fn compile(format: &str) -> Result<DateFormat, String> {
        let items = StrftimeItems::new(format)
            .parse_to_owned()
            .map_err(|_| bad_directive(format))?;
        // Which parts of a date the format writes tells which parts it reads:
        // this sees through composite directives (`%c`, `%T`, `%s` …).
        let show = |at: &str| {
            let at = DateTime::parse_from_rfc3339(at).unwrap_or_default();
            let mut out = String::new();
            let _ = write!(out, "{}", at.format_with_items(items.iter()));
            out
        };
        let plain = show("2001-02-03T00:00:00+00:00");
        if plain == show("1987-02-03T00:00:00+00:00") {
            return Err(format!(
                "a strftime format with the year in it (`%Y`, `%y` …), found `{format}`"
            ));
        }
        Ok(DateFormat {
            time: plain != show("2001-02-03T13:37:59.123456789+00:00"),
            offset: plain != show("2001-02-03T00:00:00+05:30"),
            items,
        })
    }

    /// The date in `text` (trimmed) as ISO 8601; `null` when it does not parse
    /// or names no real date.
    pub(super) fn apply(&self, text: &str) -> Value {
        let mut parsed = Parsed::new();
        if parse(&mut parsed, text.trim(), self.items.iter()).is_err() {
            return Value::Null;
        }
        let written = if self.offset && parsed.offset().is_some() {
            parsed.to_datetime().map(|at| at.to_rfc3339())
        } else if self.time {
            parsed
                .to_naive_datetime_with_offset(0)
                .map(|at| format!("{}T{}", at.date(), at.time()))
        } else {
            parsed.to_naive_date().map(|day: NaiveDate| day.to_string())
        };
        written.map_or(Value::Null, Value::String)
    }
}

/// The error for a format chrono rejects, naming the first directive at fault.
fn bad_directive(format: &str) -> String {
    let mut rest = format;
    while let Some(i) = rest.find('%') {
        let directive = &rest[i..];
        // `%` and its modifiers (`%-d`, `%.3f`, `%::z` …), then one character.
        let end = directive[1..]
            .char_indices()
            .find(|&(_, c)| !matches!(c, '-' | '_' | '0' | '.' | ':' | '#' | '3' | '6' | '9'))
            .map_or(directive.len(), |(j, c)| 1 + j + c.len_utf8());
        let directive = &directive[..end];
        if StrftimeItems::new(directive).any(|item| item == Item::Error) {
            let why = if directive == "%" {
                "a lone `%` at the end; `%%` is a percent sign".to_string()
            } else {
                format!("`{directive}` is not a strftime directive")
            };
            return format!("a strftime format, found `{format}` ({why})");
        }
        rest = &rest[i + end..];
    }
    format!("a strftime format, found `{format}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        let cases: &[(&str, &str, Value)] = &[
            ("%d/%m/%Y", "01/12/2026", json!("2026-12-01")),
            ("%d/%m/%Y", "  01/12/2026 \n", json!("2026-12-01")),
            (
                "%d/%m/%Y %H:%M",
                "01/12/2026 18:30",
                json!("2026-12-01T18:30:00"),
            ),
            (
                "%Y-%m-%d %T",
                "2026-12-01 18:30:05",
                json!("2026-12-01T18:30:05"),
            ),
            ("%d %B %Y", "1 December 2026", json!("2026-12-01")),
            ("%b %d, %Y", "Dec 01, 2026", json!("2026-12-01")),
            (
                "%b %d, %Y %I:%M %p",
                "Dec 01, 2026 6:30 PM",
                json!("2026-12-01T18:30:00"),
            ),
            (
                "%Y-%m-%d %R",
                "2026-12-01 18:30",
                json!("2026-12-01T18:30:00"),
            ),
            ("%s", "1796149800", json!("2026-12-01T18:30:00")),
            (
                "%Y-%m-%dT%H:%M:%S%z",
                "2026-12-01T18:30:00+0100",
                json!("2026-12-01T18:30:00+01:00"),
            ),
            (
                "%Y-%m-%d %H:%M:%S%.f",
                "2026-12-01 18:30:00.250",
                json!("2026-12-01T18:30:00.250"),
            ),
            ("%Y%m%d", "20261201", json!("2026-12-01")),
            // unparsable or impossible
            ("%d/%m/%Y", "31/02/2026", Value::Null),
            ("%d/%m/%Y", "yesterday", Value::Null),
            ("%d/%m/%Y", "01/12/2026 extra", Value::Null),
            ("%d/%m/%Y %H:%M", "01/12/2026 25:00", Value::Null),
            ("%d/%m/%Y", "", Value::Null),
        ];
        for (format, text, want) in cases {
            let date = DateFormat::compile(format).unwrap();
            assert_eq!(date.apply(text), *want, "{format} on {text:?}");
        }
    }

    #[test]
    fn bad_formats() {
        let cases = [
            ("%d/%Q/%Y", "`%Q` is not a strftime directive"),
            ("%Y-%m-%", "a lone `%` at the end"),
            ("%d %B", "with the year in it"),
            ("today", "with the year in it"),
        ];
        for (format, want) in cases {
            let err = DateFormat::compile(format).unwrap_err();
            assert!(err.contains(want), "{format}: {err}");
            assert!(err.contains(format), "{format}: {err}");
        }
    }
}
