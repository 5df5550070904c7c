//! Placeholders: `{page}`, `{offset}` and `[vars]` names filled into start
//! URLs, request bodies and headers (SPEC §7).
//!
//! `{env:NAME}` is not one of them: it is read once, when the spider file
//! is loaded (`request.rs`), and never shown.

use serde_json::Value;

/// What fills the placeholders of one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Values<'a> {
    /// `{page}`: the page number of a `{page}` sequence.
    pub page: Option<u64>,
    /// `{offset}`: the offset of an `{offset}` sequence.
    pub offset: Option<u64>,
    /// The sequence's `[vars]` values, by name.
    pub vars: &'a [(String, String)],
}

impl Values<'_> {
    fn get(&self, name: &str) -> Option<Filled> {
        match name {
            "page" => self.page.map(Filled::Number),
            "offset" => self.offset.map(Filled::Number),
            _ => self
                .vars
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| Filled::Text(v.clone())),
        }
    }
}

/// A placeholder's value: numbers keep their type in JSON bodies.
enum Filled {
    Number(u64),
    Text(String),
}

impl Filled {
    fn text(self) -> String {
        match self {
            Filled::Number(n) => n.to_string(),
            Filled::Text(t) => t,
        }
    }
}

/// The names of the `{name}` placeholders in `text`, in order (`{env:…}`
/// left out: it is no placeholder). `{{` and `}}` are literal braces.
pub(crate) fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    scan(text, |piece| {
        if let Piece::Name(name) = piece {
            names.push(name.to_string());
        }
    });
    names
}

/// `text` with every placeholder that has a value filled in; others stay
/// as written (a spider file's names were checked at load).
pub(crate) fn fill_text(text: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    scan(text, |piece| match piece {
        Piece::Literal(s) => out.push_str(s),
        Piece::Name(name) => match values.get(name) {
            Some(value) => out.push_str(&value.text()),
            None => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        },
    });
    out
}

/// A JSON body with its placeholders filled: a string that is one whole
/// placeholder becomes that value with its type (`"{page}"` → `2`), any
/// other string is filled as text; keys stay as written.
pub(crate) fn fill_json(template: &Value, values: &Values<'_>) -> Value {
    match template {
        Value::String(s) => {
            if let Some(name) = whole_placeholder(s) {
                match values.get(name) {
                    Some(Filled::Number(n)) => return Value::from(n),
                    Some(Filled::Text(t)) => return Value::String(t),
                    None => {}
                }
            }
            Value::String(fill_text(s, values))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_json(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `"{name}"` and nothing else: the name.
fn whole_placeholder(s: &str) -> Option<&str> {
    let name = s.strip_prefix('{')?.strip_suffix('}')?;
    is_name(name).then_some(name)
}

enum Piece<'a> {
    Literal(&'a str),
    Name(&'a str),
}

/// Splits `text` into literal runs and `{name}` placeholders.
fn scan<'a>(text: &'a str, mut each: impl FnMut(Piece<'a>)) {
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        each(Piece::Literal(&rest[..open]));
        let tail = &rest[open..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            each(Piece::Literal(&tail[..1]));
            rest = &tail[2..];
            continue;
        }
        let name = tail[1..].find('}').map(|end| &tail[1..1 + end]);
        match name {
            Some(name) if tail.starts_with('{') && is_name(name) => {
                each(Piece::Name(name));
                rest = &tail[name.len() + 2..];
            }
            _ => {
                each(Piece::Literal(&tail[..1]));
                rest = &tail[1..];
            }
        }
    }
    each(Piece::Literal(rest));
}

/// A placeholder name: letters, digits and `_`, not starting with a digit.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Vec<(String, String)> {
        vec![("q".into(), "lego duplo".into()), ("n".into(), "7".into())]
    }

    #[test]
    fn text_placeholders() {
        let vars = vars();
        let values = Values {
            page: Some(3),
            offset: None,
            vars: &vars,
        };
        assert_eq!(
            fill_text("https://h.test/s?q={q}&p={page}&o={offset}", &values),
            "https://h.test/s?q=lego duplo&p=3&o={offset}"
        );
        assert_eq!(fill_text("{{page}} {page}", &values), "{page} 3");
        assert_eq!(
            placeholders("a{q}b{page}{env:TOKEN}{{x}}{ bad }"),
            ["q", "page"]
        );
    }

    #[test]
    fn whole_value_placeholders_keep_their_type() {
        let vars = vars();
        let values = Values {
            page: Some(2),
            offset: Some(40),
            vars: &vars,
        };
        let body = json!({"page": "{page}", "from": "{offset}", "q": "{q}", "n": "{n}",
                          "label": "page {page}", "nested": [{"o": "{offset}"}], "k": true});
        assert_eq!(
            fill_json(&body, &values),
            json!({"page": 2, "from": 40, "q": "lego duplo", "n": "7",
                   "label": "page 2", "nested": [{"o": 40}], "k": true})
        );
    }
}
