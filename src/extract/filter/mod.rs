//! Filters after ` | `: small value transforms compiled once at load (SPEC §6).
//!
//! A [`Chain`] is parsed from the text after a selector's first ` | `
//! ([`split_pipe`]), every regex and date format compiled then, so applying it
//! to a record's value only transforms. The rules every filter shares:
//!
//! - on an array, a filter applies to each element (nested arrays too), except
//!   `join`, and `default`, which first looks at the whole value;
//! - `null` passes every filter unchanged, except `default`;
//! - text filters read a number or a boolean as its JSON text (`42` → `"42"`)
//!   and pass an object unchanged.

mod date;
mod number;
mod syntax;
mod text;

use std::fmt;
use std::mem;

use serde_json::Value;
use url::Url;

use self::date::DateFormat;
use self::syntax::{Scanner, Word};
use self::text::{regex, TextFilter};
use super::json::JsonPath;
use super::Kind;

/// A chain of filters, applied left to right.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chain {
    steps: Vec<Step>,
}

/// One filter: its name and arguments as written (for [`Chain`]'s `Display`),
/// and what they compiled to.
#[derive(Debug, Clone)]
struct Step {
    name: &'static str,
    args: Vec<String>,
    filter: Filter,
}

/// What one filter does, compiled.
#[derive(Debug, Clone)]
enum Filter {
    /// A filter on text (see [`TextFilter`]).
    Text(TextFilter),
    Number,
    Int,
    Join(String),
    Default(Value),
    /// `None` is the path `''`, the whole document.
    Json(Option<JsonPath>),
}

/// Every filter's name and the arguments it takes, as an error shows them.
const FILTERS: [(&str, &str); 15] = [
    ("trim", ""),
    ("lower", ""),
    ("upper", ""),
    ("replace", "'from' 'to'"),
    ("re", "'pattern'"),
    ("re_all", "'pattern'"),
    ("split", "'separator'"),
    ("join", "'separator'"),
    ("number", ""),
    ("int", ""),
    ("date", "'format'"),
    ("default", "'value'"),
    ("fmt", "'text {} text'"),
    ("url", ""),
    ("json", "'path'"),
];

impl Chain {
    /// Compiles `text`, the part after the first ` | ` (`"trim | re: '(\d+)' | int"`).
    pub(crate) fn parse(text: &str) -> Result<Chain, String> {
        let source = text.trim();
        let mut scanner = Scanner::new(source);
        let mut steps = Vec::new();
        loop {
            steps.push(Step::parse(&mut scanner)?);
            if !scanner.next_filter() {
                break;
            }
        }
        Ok(Chain { steps })
    }

    /// Whether there is no filter.
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Applies every filter; `base` is the page's final URL (for `url`).
    pub(crate) fn apply(&self, value: Value, base: &Url) -> Value {
        self.steps
            .iter()
            .fold(value, |value, step| step.filter.apply(value, base))
    }

    /// The kind of value the chain gives for an input of kind `input`: `Int`,
    /// `Number` or `Bool` only when every value is sure to be one (or `null`).
    pub(crate) fn kind(&self, input: Kind) -> Kind {
        self.steps
            .iter()
            .fold(input, |kind, step| step.filter.kind(kind))
    }
}

/// One line, normalised: ` | ` between filters, arguments quoted (`trim | re: '(\d+)' | int`).
impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            step.fmt(f)?;
        }
        Ok(())
    }
}

/// Splits `"SELECTOR | filters"` at the first ` | ` outside quotes, so that
/// `a[title="x | y"]` stays whole; the selector loses its trailing spaces.
pub(crate) fn split_pipe(text: &str) -> (&str, Option<&str>) {
    match syntax::find_pipe(text) {
        Some(i) => (text[..i].trim_end(), Some(text[i + 2..].trim())),
        None => (text.trim_end(), None),
    }
}

impl Step {
    /// Reads and compiles the scanner's next filter.
    fn parse(scanner: &mut Scanner<'_>) -> Result<Step, String> {
        let written = scanner.name()?;
        let &(name, usage) = FILTERS
            .iter()
            .find(|(name, _)| *name == written)
            .ok_or_else(|| unknown(written))?;
        let args = scanner.args(name)?;
        let arity = usage.matches('\'').count() / 2;
        if args.len() != arity {
            let takes = match arity {
                0 => "takes no argument".to_string(),
                1 => format!("takes one argument ({usage})"),
                _ => format!("takes two arguments ({usage})"),
            };
            return Err(format!("filter `{name}` {takes}, found {}", args.len()));
        }
        let filter = Filter::compile(name, &args)?;
        let args = args.into_iter().map(|word| word.text).collect();
        Ok(Step { name, args, filter })
    }

    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for (i, arg) in self.args.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { " " })?;
            match &self.filter {
                Filter::Default(literal) if !literal.is_string() => write!(f, "{literal}")?,
                // A text with both quotes was written unquoted, without spaces.
                _ if arg.contains('\'') && arg.contains('"') => f.write_str(arg)?,
                _ if arg.contains('\'') => write!(f, "\"{arg}\"")?,
                _ => write!(f, "'{arg}'")?,
            }
        }
        Ok(())
    }
}

/// The error for an unknown filter name, with the nearest known one.
fn unknown(name: &str) -> String {
    let nearest = FILTERS
        .iter()
        .map(|(known, _)| (strsim::jaro_winkler(name, known), known))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match nearest {
        Some((_, known)) => format!("unknown filter `{name}`; did you mean `{known}`?"),
        None => {
            let names: Vec<&str> = FILTERS.iter().map(|(known, _)| *known).collect();
            format!(
                "unknown filter `{name}`; the filters are {}",
                names.join(", ")
            )
        }
    }
}

impl Filter {
    /// The filter `name` with `args`, whose count is already checked.
    fn compile(name: &str, args: &[Word]) -> Result<Filter, String> {
        let arg = |i: usize| args.get(i).map_or("", |word| word.text.as_str());
        let text = |filter: TextFilter| Ok(Filter::Text(filter));
        match name {
            "trim" => text(TextFilter::Trim),
            "lower" => text(TextFilter::Lower),
            "upper" => text(TextFilter::Upper),
            "replace" => text(TextFilter::Replace(
                not_empty(name, "a text to replace", arg(0))?,
                arg(1).to_string(),
            )),
            "re" => text(TextFilter::Re(regex(name, arg(0))?)),
            "re_all" => text(TextFilter::ReAll(regex(name, arg(0))?)),
            "split" => text(TextFilter::Split(not_empty(name, "a separator", arg(0))?)),
            "date" => DateFormat::compile(arg(0))
                .map(|format| Filter::Text(TextFilter::Date(format)))
                .map_err(|e| format!("filter `date`: {e}")),
            "fmt" if !arg(0).contains("{}") => Err(format!(
                "filter `fmt`: a text with `{{}}` in it, found `{}`",
                arg(0)
            )),
            "fmt" => text(TextFilter::Fmt(arg(0).to_string())),
            "url" => text(TextFilter::Url),
            "number" => Ok(Filter::Number),
            "int" => Ok(Filter::Int),
            "join" => Ok(Filter::Join(arg(0).to_string())),
            "default" => {
                literal(arg(0), args.first().is_some_and(|word| word.quoted)).map(Filter::Default)
            }
            "json" if arg(0).trim().is_empty() => Ok(Filter::Json(None)),
            "json" => JsonPath::parse(arg(0))
                .map(|path| Filter::Json(Some(path)))
                .map_err(|e| format!("filter `json`: {e}")),
            _ => Err(unknown(name)),
        }
    }

    fn apply(&self, value: Value, base: &Url) -> Value {
        match self {
            Filter::Join(separator) => join(value, separator),
            Filter::Default(literal) => default(value, literal),
            _ => self.each(value, base),
        }
    }

    /// Applies the filter to `value`, or to each element of an array.
    fn each(&self, value: Value, base: &Url) -> Value {
        match value {
            Value::Null => Value::Null,
            Value::Array(mut items) => {
                for item in &mut items {
                    *item = self.each(mem::take(item), base);
                }
                Value::Array(items)
            }
            value => self.one(value, base),
        }
    }

    /// Applies the filter to a string, number, boolean or object.
    fn one(&self, value: Value, base: &Url) -> Value {
        match self {
            Filter::Number => number::number(value),
            Filter::Int => number::int(value),
            Filter::Json(path) => json(value, path.as_ref()),
            Filter::Text(filter) => match value {
                Value::String(s) => filter.apply(s, base),
                Value::Number(n) => filter.apply(n.to_string(), base),
                Value::Bool(b) => filter.apply(b.to_string(), base),
                object => object,
            },
            Filter::Join(_) | Filter::Default(_) => self.apply(value, base),
        }
    }

    /// The kind of the output for an input of kind `input`.
    fn kind(&self, input: Kind) -> Kind {
        match (self, input) {
            (Filter::Join(_), _) => Kind::Text,
            // An array stays an array; `default` on `[]` gives a scalar, still JSON.
            (_, Kind::Json) => Kind::Json,
            (Filter::Int, _) => Kind::Int,
            (Filter::Number, _) => Kind::Number,
            (Filter::Text(TextFilter::Split(_) | TextFilter::ReAll(_)), _) => Kind::Json,
            (Filter::Default(literal), _) => default_kind(input, literal),
            _ => Kind::Text,
        }
    }
}

/// `join`: an array's elements as one text, `null`s skipped.
fn join(value: Value, separator: &str) -> Value {
    use fmt::Write;
    let Value::Array(items) = value else {
        return value;
    };
    let mut out = String::new();
    for (i, item) in items.iter().filter(|item| !item.is_null()).enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        match item {
            Value::String(s) => out.push_str(s),
            other => {
                // Writing to a `String` cannot fail.
                let _ = write!(out, "{other}");
            }
        }
    }
    Value::String(out)
}

/// `default`: `literal` in place of `null`, `""` or `[]`, as a whole value or
/// as an element.
fn default(value: Value, literal: &Value) -> Value {
    match value {
        Value::Null => literal.clone(),
        Value::String(s) if s.is_empty() => literal.clone(),
        Value::Array(items) if items.is_empty() => literal.clone(),
        Value::Array(mut items) => {
            for item in &mut items {
                *item = default(mem::take(item), literal);
            }
            Value::Array(items)
        }
        value => value,
    }
}

/// `json`: a text parsed, then `path` taken; other values have the path taken as they are.
fn json(value: Value, path: Option<&JsonPath>) -> Value {
    let document = match value {
        Value::String(s) => match serde_json::from_str(&s) {
            Ok(document) => document,
            Err(_) => return Value::Null,
        },
        value => value,
    };
    match path {
        Some(path) => path.get(&document),
        None => document,
    }
}

/// A filter's argument that must not be empty.
fn not_empty(name: &str, expected: &str, arg: &str) -> Result<String, String> {
    if arg.is_empty() {
        return Err(format!("filter `{name}`: {expected}, found ''"));
    }
    Ok(arg.to_string())
}

/// `default`'s value: a quoted text is a text; an unquoted number or boolean is
/// that JSON value.
fn literal(text: &str, quoted: bool) -> Result<Value, String> {
    if quoted {
        return Ok(Value::String(text.to_string()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Number(_) | Value::Bool(_))) => Ok(value),
        Ok(Value::Null) => Err(
            "filter `default`: a value to put in place of null, found `null` (quote it for the text)"
                .to_string(),
        ),
        _ => Ok(Value::String(text.to_string())),
    }
}

/// What `default: literal` gives for an input of kind `input`.
fn default_kind(input: Kind, literal: &Value) -> Kind {
    let literal = match literal {
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Number,
        Value::Bool(_) => Kind::Bool,
        _ => Kind::Text,
    };
    match (input, literal) {
        (Kind::Int, Kind::Int) => Kind::Int,
        (Kind::Int | Kind::Number, Kind::Int | Kind::Number) => Kind::Number,
        (Kind::Bool, Kind::Bool) => Kind::Bool,
        _ => Kind::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://shop.example/c/shoes/?page=2").unwrap()
    }

    fn run(chain: &str, input: Value) -> Value {
        let chain = Chain::parse(chain).unwrap_or_else(|e| panic!("{chain}: {e}"));
        chain.apply(input, &base())
    }

    /// (chain, input, output) for every filter.
    #[test]
    fn filters() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "join: ', '",
                json!(["a", 1, null, true, 2.5, ["x"], {"k": 1}]),
                json!(r#"a, 1, true, 2.5, ["x"], {"k":1}"#),
            ),
            ("join: ','", json!([]), json!("")),
            ("join: ','", json!("as is"), json!("as is")),
            ("join: ','", Value::Null, Value::Null),
            ("number", json!("₦ 4,500"), json!(4500)),
            ("number", json!("1.299,00 €"), json!(1299)),
            ("number", json!("4,5"), json!(4.5)),
            ("number", json!(7), json!(7)),
            ("number", json!(true), Value::Null),
            ("int", json!("4,5"), json!(4)),
            ("int", json!("-3.5 °C"), json!(-3)),
            ("date: '%d/%m/%Y'", json!("01/12/2026"), json!("2026-12-01")),
            (
                "date: '%d/%m/%Y %H:%M'",
                json!("01/12/2026 18:30"),
                json!("2026-12-01T18:30:00"),
            ),
            ("date: '%d/%m/%Y'", json!("31/02/2026"), Value::Null),
            ("date: '%Y%m%d'", json!(20261201), json!("2026-12-01")),
            ("default: 'n/a'", Value::Null, json!("n/a")),
            ("default: 'n/a'", json!(""), json!("n/a")),
            ("default: 'n/a'", json!([]), json!("n/a")),
            ("default: 'n/a'", json!(" "), json!(" ")),
            ("default: 'n/a'", json!(0), json!(0)),
            (
                "default: 'n/a'",
                json!([null, "", "x", [], [null]]),
                json!(["n/a", "n/a", "x", "n/a", ["n/a"]]),
            ),
            ("default: 0", Value::Null, json!(0)),
            ("default: '0'", Value::Null, json!("0")),
            ("default: 1.5", Value::Null, json!(1.5)),
            ("default: false", Value::Null, json!(false)),
            ("default: none", Value::Null, json!("none")),
            ("default: [1]", Value::Null, json!("[1]")),
            (
                "json: 'a.b'",
                json!(r#"{"a": {"b": [1, 2]}}"#),
                json!([1, 2]),
            ),
            ("json: ''", json!(r#"{"a": 1}"#), json!({"a": 1})),
            ("json: 'a'", json!("{not json"), Value::Null),
            ("json: 'a'", json!(r#"{"b": 1}"#), Value::Null),
            ("json: 'a'", json!({"a": "direct"}), json!("direct")),
            ("json: ''", json!(3), json!(3)),
            // text filters on objects pass them unchanged
            ("upper", json!({"a": "b"}), json!({"a": "b"})),
            ("number", json!({"a": 1}), Value::Null),
            // several, left to right
            (
                r"trim | re: '(\d+)' | int",
                json!("  Art. 0042 "),
                json!(42),
            ),
            (
                "int | fmt: '/p/{}' | url",
                json!("item 42"),
                json!("https://shop.example/p/42"),
            ),
            (
                "split: ',' | upper | join: '+'",
                json!("a, b"),
                json!("A+B"),
            ),
        ];
        for (chain, input, want) in cases {
            assert_eq!(run(chain, input.clone()), want, "{chain} on {input}");
        }
    }

    #[test]
    fn arrays_and_nulls() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "upper",
                json!(["a", ["b", null], 1]),
                json!(["A", ["B", null], "1"]),
            ),
            (
                "number",
                json!(["1,5", "x", null]),
                json!([1.5, null, null]),
            ),
            (
                "split: ','",
                json!(["a,b", "c"]),
                json!([["a", "b"], ["c"]]),
            ),
            (r"re: '(\d)'", json!([]), json!([])),
            (
                "json: 'n'",
                json!([r#"{"n": 1}"#, {"n": 2}, "bad"]),
                json!([1, 2, null]),
            ),
            (
                "join: '-'",
                json!([["a", "b"], "c"]),
                json!(r#"["a","b"]-c"#),
            ),
            (
                "default: 'x' | upper",
                json!([null, "y"]),
                json!(["X", "Y"]),
            ),
        ];
        for (chain, input, want) in cases {
            assert_eq!(run(chain, input.clone()), want, "{chain} on {input}");
        }
        // null passes every filter but `default`
        for (name, usage) in FILTERS {
            let chain = match usage {
                "" => name.to_string(),
                "'text {} text'" => format!("{name}: '{{}}'"),
                "'format'" => format!("{name}: '%Y-%m-%d'"),
                _ => format!("{name}: {usage}"),
            };
            let want = if name == "default" {
                json!("value")
            } else {
                Value::Null
            };
            assert_eq!(run(&chain, Value::Null), want, "{chain}");
        }
    }

    #[test]
    fn bad_chains() {
        let cases = [
            ("lowr", "unknown filter `lowr`; did you mean `lower`?"),
            ("re_al: 'x'", "did you mean `re_all`?"),
            ("dfault: 0", "did you mean `default`?"),
            (
                "frobnicate",
                "unknown filter `frobnicate`; the filters are trim, lower",
            ),
            (
                "re: '(ab'",
                "filter `re`: a regular expression, found `(ab` (unclosed group)",
            ),
            (
                "re_all: '['",
                "filter `re_all`: a regular expression, found `[`",
            ),
            (
                "replace: 'a'",
                "filter `replace` takes two arguments ('from' 'to'), found 1",
            ),
            (
                "replace: '' 'b'",
                "filter `replace`: a text to replace, found ''",
            ),
            ("re", "filter `re` takes one argument ('pattern'), found 0"),
            ("trim: 'x'", "filter `trim` takes no argument, found 1"),
            (
                "join",
                "filter `join` takes one argument ('separator'), found 0",
            ),
            ("split: ''", "filter `split`: a separator, found ''"),
            ("date: '%Q'", "filter `date`: a strftime format, found `%Q`"),
            (
                "date: '%d %m'",
                "filter `date`: a strftime format with the year",
            ),
            (
                "fmt: 'x'",
                "filter `fmt`: a text with `{}` in it, found `x`",
            ),
            (
                "default: null",
                "filter `default`: a value to put in place of null",
            ),
            ("json: 'a..b'", "filter `json`: "),
            ("", "an empty filter after `|`"),
            ("trim | ", "an empty filter after `|`"),
            ("trim|lower", "a pipe with spaces"),
            ("re: '(a)", "filter `re`: a closing `'`, found `'(a)`"),
        ];
        for (chain, want) in cases {
            let err = Chain::parse(chain).unwrap_err();
            assert!(err.contains(want), "{chain}: {err}");
            assert!(!err.contains('\n'), "{chain}: {err}");
        }
    }

    #[test]
    fn splits_at_the_first_pipe_outside_quotes() {
        let cases: &[(&str, (&str, Option<&str>))] = &[
            (
                ".price::text | trim | number",
                (".price::text", Some("trim | number")),
            ),
            (".price::text", (".price::text", None)),
            (".price  ", (".price", None)),
            (
                r#"a[title="x | y"]::text | trim"#,
                (r#"a[title="x | y"]::text"#, Some("trim")),
            ),
            (
                "a[title='x | y'] | re: ' | '",
                ("a[title='x | y']", Some("re: ' | '")),
            ),
            ("items.0.price | int", ("items.0.price", Some("int"))),
            ("a|b", ("a|b", None)),
            (".price |", (".price", Some(""))),
        ];
        for (text, want) in cases {
            assert_eq!(split_pipe(text), *want, "{text}");
        }
    }

    #[test]
    fn display_normalises_and_round_trips() {
        let cases = [
            (r"trim | re: '(\d+)' | int", r"trim | re: '(\d+)' | int"),
            (r#"  trim|  "#, ""),
            (r#"re:"(\d+)"   |   int"#, r"re: '(\d+)' | int"),
            (r"re: \d+", r"re: '\d+'"),
            (r#"replace: "it's" 'a "b"'"#, r#"replace: "it's" 'a "b"'"#),
            ("fmt: a'b\"{}", "fmt: a'b\"{}"),
            ("default: 0", "default: 0"),
            ("default: '0'", "default: '0'"),
            ("default: 1.50", "default: 1.5"),
            ("json: ''", "json: ''"),
        ];
        for (text, want) in cases {
            let Ok(chain) = Chain::parse(text) else {
                assert!(want.is_empty(), "{text} should parse");
                continue;
            };
            let shown = chain.to_string();
            assert_eq!(shown, want, "{text}");
            let again = Chain::parse(&shown).unwrap();
            assert_eq!(again.to_string(), shown, "{text}");
        }
        assert!(Chain::default().is_empty());
        assert!(!Chain::parse("trim").unwrap().is_empty());
    }

    #[test]
    fn kinds() {
        use Kind::*;
        let cases = [
            ("trim", Text, Text),
            ("trim", Int, Text),
            ("int", Text, Int),
            ("number", Text, Number),
            ("number | trim", Text, Text),
            ("int | number", Text, Number),
            ("re: '(\\d+)' | int", Text, Int),
            ("split: ','", Text, Json),
            ("re_all: 'x'", Text, Json),
            ("split: ',' | join: ','", Text, Text),
            ("split: ',' | int", Text, Json),
            ("int", Json, Json),
            ("join: ','", Json, Text),
            ("default: 'x'", Json, Json),
            ("int | default: 0", Text, Int),
            ("int | default: 1.5", Text, Number),
            ("number | default: 0", Text, Number),
            ("int | default: '0'", Text, Text),
            ("int | default: 'n/a'", Text, Text),
            ("default: 0", Text, Text),
            ("default: true", Bool, Bool),
            ("default: 1", Bool, Text),
            ("date: '%Y'", Text, Text),
            ("json: 'a'", Text, Text),
            ("url", Number, Text),
        ];
        for (chain, input, want) in cases {
            let got = Chain::parse(chain).unwrap().kind(input);
            assert_eq!(got, want, "{chain} on {input:?}");
        }
        assert_eq!(Chain::default().kind(Int), Int);
    }

    /// Neither parsing nor applying panics, whatever they are given.
    #[test]
    fn never_panics() {
        let texts = [
            "",
            " ",
            "|",
            " | ",
            "'",
            "\"",
            ":",
            "a:",
            "re: '",
            "re: \"'",
            "é",
            "trim ||",
            "re: '(' | x",
            "date: '%'",
            "date: '%-'",
            "date: '%.'",
            "date: '%:'",
            "date: 'é%'",
            "fmt: {}",
            "default: -",
            "default: 1e999",
            "json: '.'",
            "replace: 'é' 'ü'",
        ];
        for text in texts {
            let _ = Chain::parse(text);
            let _ = split_pipe(text);
        }
        let inputs = [
            Value::Null,
            json!(""),
            json!("é€ -.,,.5"),
            json!("-"),
            json!("9".repeat(500)),
            json!([[[[]]]]),
            json!({"a": [1]}),
            json!(f64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(false),
        ];
        let chains = [
            "trim | lower | upper",
            "replace: 'a' 'b'",
            "re: '(x)?'",
            "re_all: '(x)?'",
            "split: ','",
            "join: ','",
            "number",
            "int",
            "date: '%s'",
            "default: 0",
            "fmt: '{}'",
            "url",
            "json: 'a.0'",
        ];
        for chain in chains {
            for input in &inputs {
                let _ = run(chain, input.clone());
            }
        }
    }
}
