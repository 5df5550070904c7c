//! JSON paths (SPEC §6, §11): `links.next`, `data.items.-1`,
//! `features[label=Prezzo].value`, `variants[].price`; `""` is the value itself.
//!
//! A path is segments joined by `.`. A segment is a key, optionally followed
//! by bracket groups applied in order; only the first segment may have an
//! empty key (`[@type=Product].name`, `[].name`).
//!
//! - **Keys.** On an object a segment is a key. On an array a segment that is
//!   an integer is an index: `0` the first element, `-1` the last, `-2` the
//!   one before. Anything else, or an index out of range, is `null`.
//! - **`[KEY=VALUE]`** on an array is its first element that is an object
//!   whose `KEY` equals `VALUE`: a string compares as it is, any other value
//!   as its JSON text, so `[k=8]` matches `8` and `"8"`, `[k=true]` matches
//!   `true` and `"true"`, and `[k=8]` does not match `8.0`. `KEY` is letters,
//!   digits, `@`, `-` and `_`. `VALUE` is everything up to the next `]`,
//!   spaces, dots and `=` included and nothing trimmed; quoted with `'…'` or
//!   `"…"` it may hold `]` too (there are no escapes). A missing `KEY` never
//!   matches, not even `[k=null]`. No match is `null`.
//! - **`[]`** maps the rest of the path over an array: `variants[].price` is
//!   the array of every variant's price, an element where the rest finds
//!   nothing giving `null` in its place, so positions stay aligned. `[]` on
//!   anything but an array is `[]`. Several `[]` nest (`a[].b[].c` is an
//!   array of arrays; an element without `b` gives `[]` in its place, since
//!   the rest maps too), and a path ending in `[]` is the array itself.
//!
//! Known limit: a key containing `.`, `[` or `]` cannot be written.

use std::fmt;

use serde_json::Value;

/// A compiled JSON path; see the module docs for the language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath {
    source: String,
    /// The path cut at each `[]`: the first stage is walked from the
    /// document, each later one from every element of the array the stage
    /// before it reached. One stage means the path does not map.
    stages: Vec<Vec<Step>>,
}

/// One move from a value to a value inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object's key; on an array, an index when the key is an integer.
    Key { name: String, index: Option<i64> },
    /// An array's first object element whose `key` equals `value`.
    Find { key: String, value: String },
}

impl JsonPath {
    /// Compiles a path; a malformed one is a one-line error saying what was
    /// expected (an empty segment `a..b`, an unclosed `[`, `[=x]`, text
    /// after a `]`). Surrounding whitespace is ignored.
    pub(crate) fn parse(text: &str) -> Result<JsonPath, String> {
        let source = text.trim();
        Ok(JsonPath {
            source: source.to_string(),
            stages: Parser::new(source).stages()?,
        })
    }

    /// The path as the spider file wrote it, trimmed.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Whether the path maps with `[]`, so that [`get`](Self::get) always
    /// gives an array and [`lookup`](Self::lookup) always `None`.
    pub(crate) fn is_many(&self) -> bool {
        self.stages.len() > 1
    }

    /// The value at this path, `null` when there is none (`[]` when the path
    /// maps over something that is not an array). Clones only the result.
    pub(crate) fn get(&self, value: &Value) -> Value {
        collect(&self.stages, value)
    }

    /// The value at this path, if there is one, without cloning. A path
    /// that maps with `[]` ([`is_many`](Self::is_many)) builds a new array,
    /// so it has nothing to borrow: it is always `None`; use [`get`](Self::get).
    pub(crate) fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match self.stages.as_slice() {
            [only] => walk(only, value),
            _ => None,
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn collect(stages: &[Vec<Step>], value: &Value) -> Value {
    let Some((first, rest)) = stages.split_first() else {
        return value.clone();
    };
    let found = walk(first, value);
    if rest.is_empty() {
        return found.cloned().unwrap_or(Value::Null);
    }
    match found {
        Some(Value::Array(items)) => items.iter().map(|item| collect(rest, item)).collect(),
        _ => Value::Array(Vec::new()),
    }
}

fn walk<'v>(steps: &[Step], mut value: &'v Value) -> Option<&'v Value> {
    for step in steps {
        value = step.apply(value)?;
    }
    Some(value)
}

impl Step {
    fn apply<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match (self, value) {
            (Step::Key { name, .. }, Value::Object(map)) => map.get(name),
            (Step::Key { index: Some(i), .. }, Value::Array(items)) => at(items, *i),
            (Step::Find { key, value }, Value::Array(items)) => items
                .iter()
                .find(|item| item.get(key).is_some_and(|v| equals(v, value))),
            _ => None,
        }
    }
}

/// The element at `index`, counting from the end when it is negative.
fn at(items: &[Value], index: i64) -> Option<&Value> {
    let position = match usize::try_from(index) {
        Ok(position) => position,
        Err(_) => items
            .len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?,
    };
    items.get(position)
}

/// SPEC §11: a string compares as it is, any other value as its JSON text.
fn equals(found: &Value, wanted: &str) -> bool {
    match found {
        Value::String(s) => s == wanted,
        // Not `*other == wanted`: `Value: PartialEq<str>` only ever matches strings.
        other => serde_json::to_string(other).is_ok_and(|text| text == wanted),
    }
}

/// An integer segment (`0`, `-1`); `+1`, `1.0` or an overflowing one is a key only.
fn as_index(name: &str) -> Option<i64> {
    let digits = name.strip_prefix('-').unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '-' | '_')
}

/// Reads a trimmed path left to right; `rest` is what is still unread.
struct Parser<'a> {
    path: &'a str,
    rest: &'a str,
    /// The stages closed by a `[]` so far.
    done: Vec<Vec<Step>>,
    /// The steps read since the last `[]`.
    stage: Vec<Step>,
}

impl<'a> Parser<'a> {
    fn new(path: &'a str) -> Self {
        Parser {
            path,
            rest: path,
            done: Vec::new(),
            stage: Vec::new(),
        }
    }

    fn stages(mut self) -> Result<Vec<Vec<Step>>, String> {
        let mut first = true;
        while !self.path.is_empty() {
            self.segment(first)?;
            first = false;
            match self.rest.chars().next() {
                None => break,
                Some('.') => self.rest = &self.rest[1..],
                Some(_) => {
                    let read = &self.path[..self.path.len() - self.rest.len()];
                    return Err(self.fail(&format!(
                        "`.`, `[` or the end after `{read}`, found `{}`",
                        self.rest
                    )));
                }
            }
        }
        self.done.push(self.stage);
        Ok(self.done)
    }

    /// One key and its bracket groups.
    fn segment(&mut self, first: bool) -> Result<(), String> {
        let end = self.rest.find(['.', '[', ']']).unwrap_or(self.rest.len());
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        if !name.is_empty() {
            self.stage.push(Step::Key {
                name: name.to_string(),
                index: as_index(name),
            });
        } else if !(first && rest.starts_with('[')) {
            return Err(self.empty_segment(first));
        }
        while self.rest.starts_with('[') {
            match self.bracket()? {
                Some(step) => self.stage.push(step),
                None => self.done.push(std::mem::take(&mut self.stage)),
            }
        }
        Ok(())
    }

    fn empty_segment(&self, first: bool) -> String {
        let expected = match self.rest.chars().next() {
            Some('[') => "a key after every `.` (brackets follow their key: `a[]`, not `a.[]`)",
            Some(']') => "a key or `[` before `]`",
            _ if first => "a key before the first `.`",
            None => "a key after the last `.`",
            _ => "a key between every two dots",
        };
        self.fail(expected)
    }

    /// `[]` (`None`, a new stage) or `[KEY=VALUE]`, `rest` starting at its `[`.
    fn bracket(&mut self) -> Result<Option<Step>, String> {
        let inner = &self.rest[1..];
        if let Some(after) = inner.strip_prefix(']') {
            self.rest = after;
            return Ok(None);
        }
        let Some(close) = inner.find(']') else {
            return Err(self.fail(&format!("a `]` to close `{}`", self.rest)));
        };
        let group = &self.rest[..close + 2];
        let key_end = inner.find(|c| !is_key_char(c)).unwrap_or(inner.len());
        let key = &inner[..key_end];
        let Some(text) = inner[key_end..].strip_prefix('=') else {
            let hint = match as_index(&inner[..close]) {
                Some(_) => "an index is a segment: `a.0`",
                None => "KEY of letters, digits, `@`, `-`, `_`",
            };
            return Err(self.fail(&format!("`[]` or `[KEY=VALUE]` ({hint}), found `{group}`")));
        };
        if key.is_empty() {
            return Err(self.fail(&format!("a KEY before `=` in `{group}`")));
        }
        let (value, after) = self.value(text)?;
        self.rest = after;
        Ok(Some(Step::Find {
            key: key.to_string(),
            value: value.to_string(),
        }))
    }

    /// The VALUE of `[KEY=VALUE]` at the start of `text`, and what follows its `]`.
    fn value(&self, text: &'a str) -> Result<(&'a str, &'a str), String> {
        let Some(quoted) = text.strip_prefix(['\'', '"']) else {
            // `bracket` has seen the `]`.
            return Ok(text.split_once(']').unwrap_or((text, "")));
        };
        let quote = &text[..1];
        let Some((value, after)) = quoted.split_once(quote) else {
            return Err(self.fail(&format!("a closing {quote} for the value `{text}`")));
        };
        match after.strip_prefix(']') {
            Some(after) => Ok((value, after)),
            None => Err(self.fail(&format!(
                "`]` right after the quoted value {quote}{value}{quote}"
            ))),
        }
    }

    fn fail(&self, expected: &str) -> String {
        format!("{expected} in the JSON path `{}`", self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, doc: &Value) -> Value {
        JsonPath::parse(path).unwrap().get(doc)
    }

    #[test]
    fn keys_and_indexes() {
        let doc = json!({
            "data": {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
            "last": true,
            "0": "key zero",
            "-1": "key minus one",
            "a b": 1,
        });
        let cases = [
            ("", doc.clone()),
            ("  last ", json!(true)),
            ("data.items.1.name", json!("b")),
            ("data.items.0.name", json!("a")),
            ("data.items.-1.name", json!("c")),
            ("data.items.-3.name", json!("a")),
            ("data.items.-4", Value::Null),
            ("data.items.3", Value::Null),
            ("data.items.99999999999999999999999", Value::Null),
            ("data.items.+1", Value::Null),
            ("data.items.name", Value::Null),
            ("data.missing", Value::Null),
            ("last.deeper", Value::Null),
            ("0", json!("key zero")),
            ("-1", json!("key minus one")),
            ("a b", json!(1)),
        ];
        for (path, want) in cases {
            assert_eq!(get(path, &doc), want, "path `{path}`");
        }
        assert_eq!(get("-1", &json!([1, 2, 3])), json!(3));
        assert_eq!(get("-1", &json!([])), Value::Null);
    }

    #[test]
    fn find_by_key() {
        let doc = json!({"features": [
            "not an object",
            {"label": "Colore", "value": "rosso"},
            {"label": "Prezzo", "value": "€ 10"},
            {"label": "Prezzo", "value": "second"},
            {"label": "a.b = c", "value": "spaces"},
            {"label": "x]y", "value": "bracket"},
            {"label": " padded ", "value": "as written"},
            {"label": "", "value": "empty"},
            {"k": 8, "value": "number"},
            {"k": "8", "value": "string"},
            {"k": 8.0, "value": "float"},
            {"k": true, "value": "bool"},
            {"k": null, "value": "null"},
            {"k": {"a": 1}, "value": "object"},
            {"@type": "Product", "my-key_1": "v", "value": "odd key"},
        ]});
        let cases = [
            ("features[label=Prezzo].value", json!("€ 10")),
            (
                "features[label=Prezzo]",
                json!({"label": "Prezzo", "value": "€ 10"}),
            ),
            ("features[label=prezzo].value", Value::Null),
            ("features[label=Nope].value", Value::Null),
            ("features[missing=x]", Value::Null),
            ("features[label=a.b = c].value", json!("spaces")),
            ("features[label='x]y'].value", json!("bracket")),
            ("features[label=\"x]y\"].value", json!("bracket")),
            ("features[label= padded ].value", json!("as written")),
            ("features[label=padded].value", Value::Null),
            ("features[label=].value", json!("empty")),
            ("features[label=''].value", json!("empty")),
            ("features[k=8].value", json!("number")),
            ("features[k=8.0].value", json!("float")),
            ("features[k=true].value", json!("bool")),
            ("features[k=null].value", json!("null")),
            ("features[k={\"a\":1}].value", json!("object")),
            ("features[@type=Product].value", json!("odd key")),
            ("features[my-key_1=v].value", json!("odd key")),
            // Brackets apply in order: the second one looks inside the found object.
            ("features[@type=Product][my-key_1=v]", Value::Null),
            ("features.1[label=Colore]", Value::Null),
            ("nothing[label=Prezzo]", Value::Null),
        ];
        for (path, want) in cases {
            assert_eq!(get(path, &doc), want, "path `{path}`");
        }
        // Both `8` and `"8"` match `[k=8]`; the first in array order wins.
        let string_first = json!([{"k": "8", "v": "s"}, {"k": 8, "v": "n"}]);
        assert_eq!(get("[k=8].v", &string_first), json!("s"));
    }

    #[test]
    fn find_at_the_start() {
        let doc = json!([
            {"@type": "BreadcrumbList", "name": "crumbs"},
            {"@type": "Product", "name": "Lamp", "offers": [{"price": "9"}]},
        ]);
        assert_eq!(get("[@type=Product].name", &doc), json!("Lamp"));
        assert_eq!(get("[@type=Product].offers.-1.price", &doc), json!("9"));
        assert_eq!(get("0.name", &doc), json!("crumbs"));
        assert_eq!(
            get("[@type=Product].name", &json!({"@type": "Product"})),
            Value::Null
        );
    }

    #[test]
    fn mapping() {
        let doc = json!({
            "variants": [
                {"price": 1, "sizes": [{"eu": 40}, {"eu": 41}]},
                {"colour": "red", "sizes": []},
                {"price": 3, "sizes": [{"us": 9}]},
            ],
            "tags": ["a", "b"],
            "grid": [[1, 2], [3], "x"],
            "empty": [],
            "object": {"price": 1},
            "null": null,
        });
        let cases = [
            ("variants[].price", json!([1, null, 3])),
            ("variants[].sizes[].eu", json!([[40, 41], [], [null]])),
            ("variants[].sizes.0.eu", json!([40, null, null])),
            ("variants[].colour", json!([null, "red", null])),
            ("variants[].nothing[].x", json!([[], [], []])),
            ("tags[]", json!(["a", "b"])),
            ("grid[][]", json!([[1, 2], [3], []])),
            ("grid[].0", json!([1, 3, null])),
            ("grid[].-1", json!([2, 3, null])),
            ("empty[].b", json!([])),
            ("object[].price", json!([])),
            ("null[].price", json!([])),
            ("missing[].price", json!([])),
            ("tags.0[]", json!([])),
        ];
        for (path, want) in cases {
            assert_eq!(get(path, &doc), want, "path `{path}`");
        }
        let list = json!([{"name": "a"}, {"id": 2}, {"name": "c"}]);
        assert_eq!(get("[].name", &list), json!(["a", null, "c"]));
        assert_eq!(get("[]", &list), list);
        assert_eq!(get("[].name", &json!([])), json!([]));
        assert_eq!(get("[].name", &json!({"name": "a"})), json!([]));
        let nested = json!({"f": [{"label": "Prezzo", "v": [1, 2]}]});
        assert_eq!(get("f[label=Prezzo].v[]", &nested), json!([1, 2]));
        assert_eq!(get("f[label=Prezzo][]", &nested), json!([]));
        assert_eq!(get("f[][label=Prezzo]", &nested), json!([null]));
    }

    #[test]
    fn is_many_and_lookup() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}], "next": null});
        let cases = [
            ("", false, Some(doc.clone())),
            ("items.-1.id", false, Some(json!(2))),
            ("items[id=2]", false, Some(json!({"id": 2}))),
            ("next", false, Some(Value::Null)),
            ("missing", false, None),
            ("items[].id", true, None),
            ("items[]", true, None),
        ];
        for (path, many, want) in cases {
            let compiled = JsonPath::parse(path).unwrap();
            assert_eq!(compiled.is_many(), many, "path `{path}`");
            assert_eq!(compiled.lookup(&doc).cloned(), want, "path `{path}`");
            if many {
                assert!(compiled.get(&json!(7)).is_array(), "path `{path}`");
            }
        }
    }

    #[test]
    fn source_and_display() {
        let path = JsonPath::parse("  features[label=Prezzo].value ").unwrap();
        assert_eq!(path.source(), "features[label=Prezzo].value");
        assert_eq!(path.to_string(), "features[label=Prezzo].value");
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("a..b", "a key between every two dots"),
            ("a.", "a key after the last `.`"),
            (".a", "a key before the first `.`"),
            (".", "a key before the first `.`"),
            ("a.[]", "brackets follow their key"),
            ("a.[k=v]", "brackets follow their key"),
            ("a[", "a `]` to close `[`"),
            ("a[k=v", "a `]` to close `[k=v`"),
            ("[k=v].b[", "a `]` to close `[`"),
            ("a[=x]", "a KEY before `=` in `[=x]`"),
            ("a[k]", "`[]` or `[KEY=VALUE]` (KEY of"),
            ("a[label =x]", "found `[label =x]`"),
            ("a[0]", "an index is a segment: `a.0`"),
            ("a[-1]", "an index is a segment"),
            ("a[]b", "`.`, `[` or the end after `a[]`, found `b`"),
            ("a[k=v]x.y", "after `a[k=v]`, found `x.y`"),
            ("a]", "after `a`, found `]`"),
            ("a[]]", "after `a[]`, found `]`"),
            ("a[k='x]", "a closing ' for the value"),
            ("a[k=\"x]", "a closing \" for the value"),
            ("a[k='x'y]", "`]` right after the quoted value 'x'"),
            ("]", "a key or `[` before `]`"),
            ("a.]", "a key or `[` before `]`"),
        ];
        for (path, want) in cases {
            let err = JsonPath::parse(path).expect_err(path);
            assert!(err.contains(want), "path `{path}`: {err}");
            assert!(
                err.ends_with(&format!("in the JSON path `{}`", path.trim())),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn never_panics() {
        let pieces = [
            "a", ".", "[", "]", "=", "'", "\"", "-1", "0", "é", " ", "[]", "@",
        ];
        let doc = json!({"a": [{"a": [1, {"=": "'"}]}], "-1": ["é"]});
        let mut path = String::new();
        for i in 0..20_000usize {
            path.clear();
            let mut n = i;
            while n > 0 {
                path.push_str(pieces[n % pieces.len()]);
                n /= pieces.len();
            }
            if let Ok(compiled) = JsonPath::parse(&path) {
                let _ = compiled.get(&doc);
                let _ = compiled.lookup(&doc);
            }
        }
    }
}
