//! The words of a field rule: the ` | ` that ends the selector, and in a chain
//! each filter's `name: ARG ARG…`.
//!
//! Quotes are either kind with no escapes inside, so a regular expression keeps
//! its backslashes; the other kind writes a quote. A quote opens a quoted part
//! only where a word starts (not after a letter or digit), so the apostrophe in
//! `it's` is just a character.

/// Where the first ` | ` outside quotes starts, if there is one; a ` |` that
/// ends the text counts too (so that its empty chain is the error).
pub(super) fn find_pipe(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' if opens_quote(bytes, i) => {
                // An unclosed quote is an ordinary character.
                if let Some(end) = text[i + 1..].find(bytes[i] as char) {
                    i += end + 2;
                    continue;
                }
            }
            b' ' if bytes[i..].starts_with(b" | ") || &bytes[i..] == b" |" => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the quote at `i` starts a quoted part rather than sitting inside a word.
fn opens_quote(bytes: &[u8], i: usize) -> bool {
    i == 0 || !bytes[i - 1].is_ascii_alphanumeric()
}

/// One argument as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    /// The text, without its quotes.
    pub(super) text: String,
    /// Whether it was in quotes (`default: '0'` is a text, `default: 0` a number).
    pub(super) quoted: bool,
}

/// Reads a chain one filter at a time: [`Scanner::name`], [`Scanner::args`],
/// then [`Scanner::next_filter`].
pub(super) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`, the chain after the selector's ` | `.
    pub(super) fn new(text: &'a str) -> Scanner<'a> {
        Scanner { text, pos: 0 }
    }

    /// The next filter's name (letters, digits and `_`).
    pub(super) fn name(&mut self) -> Result<&'a str, String> {
        self.skip_space();
        if self.rest().is_empty() || self.at_pipe() {
            return Err("an empty filter after `|`".to_string());
        }
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(format!("a filter name, found `{}`", shown(rest)));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// The arguments after the name just read: none, or `:` and one or more words.
    pub(super) fn args(&mut self, name: &str) -> Result<Vec<Word>, String> {
        let spaced = self.skip_space();
        let rest = self.rest();
        if rest.is_empty() || (spaced && self.at_pipe()) {
            return Ok(Vec::new());
        }
        if rest.starts_with('|') {
            return Err(format!(
                "filters separated by ` | ` (a pipe with spaces), found `{name}{}`",
                shown(rest)
            ));
        }
        let Some(after_colon) = rest.strip_prefix(':') else {
            return Err(format!(
                "filter `{name}`: a `:` before its arguments or ` | ` before the next filter, found `{}`",
                shown(rest)
            ));
        };
        self.pos = self.text.len() - after_colon.len();
        let mut args = Vec::new();
        loop {
            let spaced = self.skip_space();
            if self.rest().is_empty() || (spaced && self.at_pipe()) {
                return Ok(args);
            }
            args.push(self.word(name)?);
        }
    }

    /// Steps over the ` | ` before the next filter; `false` at the end of the chain.
    pub(super) fn next_filter(&mut self) -> bool {
        self.skip_space();
        if self.rest().is_empty() {
            return false;
        }
        // `args` stops only at the end or at a pipe.
        self.pos += 1;
        true
    }

    /// One argument: a quoted text, or a run of non-space characters.
    fn word(&mut self, name: &str) -> Result<Word, String> {
        let rest = self.rest();
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            self.pos += len;
            return Ok(Word {
                text: rest[..len].to_string(),
                quoted: false,
            });
        };
        let Some(len) = rest[1..].find(quote) else {
            return Err(format!(
                "filter `{name}`: a closing `{quote}`, found `{}`",
                shown(rest)
            ));
        };
        let text = &rest[1..1 + len];
        let after = &rest[len + 2..];
        if after.chars().next().is_some_and(|c| !c.is_whitespace()) {
            return Err(format!(
                "filter `{name}`: a space after the argument {quote}{text}{quote}, found `{}`",
                shown(after)
            ));
        }
        self.pos += len + 2;
        Ok(Word {
            text: text.to_string(),
            quoted: true,
        })
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Skips whitespace; whether there was any.
    fn skip_space(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        trimmed.len() < rest.len()
    }

    /// Whether a lone `|` (a separator) is next.
    fn at_pipe(&self) -> bool {
        let rest = self.rest();
        rest.starts_with('|') && rest[1..].chars().next().is_none_or(char::is_whitespace)
    }
}

/// At most the first 40 characters of `text`, for an error message.
fn shown(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Filters as (name, args).
    type Calls = Vec<(String, Vec<String>)>;

    /// Every filter of `text`, or the first error.
    fn scan(text: &str) -> Result<Calls, String> {
        let mut scanner = Scanner::new(text);
        let mut calls = Vec::new();
        loop {
            let name = scanner.name()?;
            let args = scanner.args(name)?;
            calls.push((name.to_string(), args.into_iter().map(|w| w.text).collect()));
            if !scanner.next_filter() {
                return Ok(calls);
            }
        }
    }

    fn call(name: &str, args: &[&str]) -> (String, Vec<String>) {
        (name.into(), args.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn pipes_outside_quotes() {
        let cases: &[(&str, Option<usize>)] = &[
            ("a | b", Some(1)),
            ("a", None),
            ("a|b", None),
            ("a |b", None),
            (r#"a[title="x | y"] | trim"#, Some(16)),
            ("a[title='x | y'] | trim", Some(16)),
            ("a[title='x \" | y'] | trim", Some(18)),
            // An apostrophe inside a word does not open a quote.
            ("[name=it's] | fmt: 'a'", Some(11)),
            // An unclosed quote is a character.
            ("a[title='x | b", Some(10)),
            ("a |", Some(1)),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(find_pipe(text), *want, "{text}");
        }
    }

    #[test]
    fn chains() {
        let ok: &[(&str, Calls)] = &[
            ("trim", vec![call("trim", &[])]),
            ("  trim  ", vec![call("trim", &[])]),
            (
                r"trim | re: '(\d+)' | int",
                vec![call("trim", &[]), call("re", &[r"(\d+)"]), call("int", &[])],
            ),
            (
                r#"replace: "it's" 'a "b"'"#,
                vec![call("replace", &["it's", r#"a "b""#])],
            ),
            ("replace:'a'  'b'", vec![call("replace", &["a", "b"])]),
            (
                "re: a|b | lower",
                vec![call("re", &["a|b"]), call("lower", &[])],
            ),
            ("default: 0", vec![call("default", &["0"])]),
            ("fmt: it's{}", vec![call("fmt", &["it's{}"])]),
            ("json: ''", vec![call("json", &[""])]),
            ("re:", vec![call("re", &[])]),
            (
                "trim | re: 'a | b'",
                vec![call("trim", &[]), call("re", &["a | b"])],
            ),
        ];
        for (text, want) in ok {
            assert_eq!(scan(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn chain_errors() {
        let bad: &[(&str, &str)] = &[
            ("", "an empty filter after `|`"),
            ("trim | | lower", "an empty filter after `|`"),
            ("trim |", "an empty filter after `|`"),
            ("trim | ", "an empty filter after `|`"),
            ("trim|lower", "a pipe with spaces"),
            ("re '(a)'", "filter `re`: a `:` before its arguments"),
            ("trim lower", "found `lower`"),
            ("re: '(a)", "filter `re`: a closing `'`, found `'(a)`"),
            ("replace: 'a''b'", "a space after the argument 'a'"),
            ("'x'", "a filter name, found `'x'`"),
        ];
        for (text, want) in bad {
            let err = scan(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
