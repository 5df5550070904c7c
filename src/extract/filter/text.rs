//! Filters on text: each reads a string (or a number's or boolean's JSON text)
//! and gives a string, an array of strings or `null`.

use regex::Regex;
use serde_json::Value;
use url::Url;

use super::date::DateFormat;

/// A filter that reads a text and gives a text, an array or `null`.
#[derive(Debug, Clone)]
pub(super) enum TextFilter {
    Trim,
    Lower,
    Upper,
    Replace(String, String),
    Re(Regex),
    ReAll(Regex),
    Split(String),
    Date(DateFormat),
    Fmt(String),
    Url,
}

impl TextFilter {
    /// Applies the filter to the text `s`; `base` is the page's final URL.
    pub(super) fn apply(&self, mut s: String, base: &Url) -> Value {
        match self {
            TextFilter::Trim => {
                s.truncate(s.trim_end().len());
                s.drain(..s.len() - s.trim_start().len());
                Value::String(s)
            }
            TextFilter::Lower if s.is_ascii() => {
                s.make_ascii_lowercase();
                Value::String(s)
            }
            TextFilter::Lower => Value::String(s.to_lowercase()),
            TextFilter::Upper if s.is_ascii() => {
                s.make_ascii_uppercase();
                Value::String(s)
            }
            TextFilter::Upper => Value::String(s.to_uppercase()),
            TextFilter::Replace(from, to) if s.contains(from.as_str()) => {
                Value::String(s.replace(from.as_str(), to))
            }
            TextFilter::Replace(..) => Value::String(s),
            TextFilter::Re(re) => first_match(re, &s).into(),
            TextFilter::ReAll(re) => all_matches(re, &s),
            TextFilter::Split(separator) => s
                .split(separator.as_str())
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(Value::from)
                .collect(),
            TextFilter::Date(format) => format.apply(&s),
            TextFilter::Fmt(template) => Value::String(template.replace("{}", &s)),
            TextFilter::Url => Value::String(absolute(s, base)),
        }
    }
}

/// `re`: the first match's group 1 if the pattern has groups, else the match.
fn first_match<'s>(re: &Regex, s: &'s str) -> Option<&'s str> {
    if re.captures_len() > 1 {
        Some(re.captures(s)?.get(1)?.as_str())
    } else {
        Some(re.find(s)?.as_str())
    }
}

/// `re_all`: every match the way `re` reads one; a group 1 that took no part is `null`.
fn all_matches(re: &Regex, s: &str) -> Value {
    if re.captures_len() > 1 {
        let group = |c: regex::Captures<'_>| c.get(1).map(|m| m.as_str()).into();
        Value::Array(re.captures_iter(s).map(group).collect())
    } else {
        Value::Array(re.find_iter(s).map(|m| Value::from(m.as_str())).collect())
    }
}

/// `url`: `s` made absolute against `base`; blank or unjoinable text stays as written.
fn absolute(s: String, base: &Url) -> String {
    if s.trim().is_empty() {
        return s;
    }
    base.join(&s).map_or(s, String::from)
}

/// Compiles a regular expression, its error cut to one line.
pub(super) fn regex(name: &str, pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        // A syntax error's text draws the pattern with a caret; its last line says why.
        let why = text
            .lines()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or_else(|| text.lines().next().unwrap_or_default());
        format!("filter `{name}`: a regular expression, found `{pattern}` ({why})")
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use url::Url;

    use super::super::Chain;

    /// (chain, input, output) for every text filter.
    #[test]
    fn text_filters() {
        let base = Url::parse("https://shop.example/c/shoes/?page=2").unwrap();
        let cases: Vec<(&str, Value, Value)> = vec![
            ("trim", json!("  a b \n"), json!("a b")),
            ("trim", json!("\u{a0}x\u{a0}"), json!("x")),
            ("trim", json!(""), json!("")),
            ("lower", json!("ÀB c"), json!("àb c")),
            ("lower", json!("AB"), json!("ab")),
            ("upper", json!("straße"), json!("STRASSE")),
            ("replace: 'a' 'b'", json!("banana"), json!("bbnbnb")),
            ("replace: '.' ''", json!("1.299.000"), json!("1299000")),
            ("replace: 'x' 'y'", json!("abc"), json!("abc")),
            (r"re: '(\d+)'", json!("id=42&x=7"), json!("42")),
            (r"re: '\d+'", json!("id=42&x=7"), json!("42")),
            (r"re: '(\d+)'", json!("none"), Value::Null),
            (r"re: '(a)|b'", json!("b"), Value::Null),
            (r"re: '(?P<n>\d)(\d)'", json!("123"), json!("1")),
            (
                r"re_all: '(\d+)'",
                json!("a1b22c333"),
                json!(["1", "22", "333"]),
            ),
            (r"re_all: '[a-z]'", json!("a1b"), json!(["a", "b"])),
            (r"re_all: '(\d)'", json!("none"), json!([])),
            ("split: ','", json!(" a, b ,,c ,"), json!(["a", "b", "c"])),
            ("split: ','", json!(""), json!([])),
            ("split: ' / '", json!("x / y"), json!(["x", "y"])),
            ("fmt: '/p/{}'", json!(42), json!("/p/42")),
            ("fmt: '{}-{}'", json!("a"), json!("a-a")),
            ("fmt: '{}!'", json!(true), json!("true!")),
            ("url", json!("/p/1"), json!("https://shop.example/p/1")),
            (
                "url",
                json!("p/1"),
                json!("https://shop.example/c/shoes/p/1"),
            ),
            (
                "url",
                json!("?page=3"),
                json!("https://shop.example/c/shoes/?page=3"),
            ),
            (
                "url",
                json!("//cdn.example/a.png"),
                json!("https://cdn.example/a.png"),
            ),
            (
                "url",
                json!("https://other.example/x#y"),
                json!("https://other.example/x#y"),
            ),
            ("url", json!(""), json!("")),
            ("url", json!("http://[::1"), json!("http://[::1")),
            // numbers and booleans are read as their JSON text
            ("upper", json!(true), json!("TRUE")),
            ("trim", json!(1.5), json!("1.5")),
            (r"re: '\d'", json!(1.5), json!("1")),
        ];
        for (chain, input, want) in cases {
            let compiled = Chain::parse(chain).unwrap_or_else(|e| panic!("{chain}: {e}"));
            assert_eq!(
                compiled.apply(input.clone(), &base),
                want,
                "{chain} on {input}"
            );
        }
    }
}
