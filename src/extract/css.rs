//! Scrapy/parsel-style selectors: `CSS`, `CSS::text`, `CSS::attr(NAME)`,
//! `CSS::html`, each optionally ending in `[]` for every match.

use cssparser::ToCss;
use scraper::error::SelectorErrorKind;
use scraper::{ElementRef, Selector};
use serde_json::Value;
use url::Url;

/// What a selector takes from the element it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Output {
    /// All text inside the element, whitespace collapsed and trimmed.
    Text,
    /// One attribute; `href` and `src` are made absolute.
    Attr(String),
    /// The element's outer HTML.
    Html,
}

/// A compiled selector with its output, e.g. `a.next::attr(href)` or `.tags a::text[]`.
#[derive(Debug, Clone)]
pub(crate) struct CssRule {
    source: String,
    /// `None` means the scope element itself (`:scope` or an empty selector).
    selector: Option<Selector>,
    output: Output,
    /// `[]`: an array of every match instead of the first.
    many: bool,
}

impl CssRule {
    /// Compiles `text`; the error says what is wrong with the selector.
    pub(crate) fn parse(text: &str) -> Result<CssRule, String> {
        let trimmed = text.trim_end();
        let (text_part, many) = match trimmed.strip_suffix("[]") {
            Some(rest) => (rest, true),
            None => (trimmed, false),
        };
        let (css, output) = split_output(text_part)?;
        let css = css.trim();
        let selector = match css {
            "" | ":scope" => None,
            css => Some(compile(css)?),
        };
        Ok(CssRule {
            source: text.trim().to_string(),
            selector,
            output,
            many,
        })
    }

    /// Whether the rule gives every match (`[]`), always as an array.
    pub(crate) fn is_many(&self) -> bool {
        self.many
    }

    /// The value inside `scope`: the first match's, or with `[]` an array of
    /// every match's (matches without the attribute, or with no text, left out).
    pub(crate) fn read(&self, scope: ElementRef<'_>, base: &Url) -> Value {
        if !self.many {
            return self.first(scope, base);
        }
        let values = match &self.selector {
            None => self.value_of(scope, base).into_iter().collect(),
            Some(selector) => scope
                .select(selector)
                .filter_map(|element| self.value_of(element, base))
                .collect(),
        };
        Value::Array(values)
    }

    /// Every match inside `scope` with its value, as if the rule ended in
    /// `[]` (matches without a value left out): seed links take every match.
    pub(crate) fn matches<'a>(
        &self,
        scope: ElementRef<'a>,
        base: &Url,
    ) -> Vec<(ElementRef<'a>, Value)> {
        let elements: Vec<ElementRef<'a>> = match &self.selector {
            None => vec![scope],
            Some(selector) => scope.select(selector).collect(),
        };
        elements
            .into_iter()
            .filter_map(|element| Some((element, self.value_of(element, base)?)))
            .collect()
    }

    /// Whether the rule reads its scope element itself or starts from it:
    /// no CSS part (`::text`, `::attr(title)`) or a leading `:scope`.
    pub(crate) fn reads_scope(&self) -> bool {
        self.selector.is_none() || self.source.starts_with(":scope")
    }

    /// The selector as the spider file wrote it.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The compiled selector, or `None` for the scope element itself.
    #[cfg(test)]
    pub(crate) fn selector(&self) -> Option<&Selector> {
        self.selector.as_ref()
    }

    /// The value of the first match inside `scope`, or `null`.
    pub(crate) fn first(&self, scope: ElementRef<'_>, base: &Url) -> Value {
        let target = match &self.selector {
            None => Some(scope),
            Some(selector) => scope.select(selector).next(),
        };
        match target {
            Some(element) => match &self.output {
                Output::Text => Value::String(collapse_whitespace(element.text())),
                _ => self.value_of(element, base).unwrap_or(Value::Null),
            },
            None => Value::Null,
        }
    }

    /// One match's value; `None` for a missing attribute or (in arrays) empty text.
    fn value_of(&self, element: ElementRef<'_>, base: &Url) -> Option<Value> {
        let value = match &self.output {
            Output::Text => Some(collapse_whitespace(element.text())).filter(|t| !t.is_empty())?,
            Output::Html => element.html(),
            Output::Attr(name) => match element.value().attr(name)? {
                raw if is_link_attr(name) => resolve(base, raw),
                raw => raw.to_string(),
            },
        };
        Some(Value::String(value))
    }
}

/// Compiles a CSS selector; the error is one line a user can act on.
pub(crate) fn compile(css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|e| match reason(&e) {
        Some(reason) => format!("a CSS selector, found `{css}` ({reason})"),
        None => format!("a CSS selector, found `{css}`, which does not parse"),
    })
}

/// What is wrong, in our words: scraper's own `Display` panics on some
/// tokens (`A<`, `a!`) and is boilerplate for others, so it is never used.
fn reason(error: &SelectorErrorKind<'_>) -> Option<String> {
    match error {
        SelectorErrorKind::UnexpectedToken(token)
        | SelectorErrorKind::ExpectedColonOnPseudoElement(token)
        | SelectorErrorKind::ExpectedIdentityOnPseudoElement(token) => {
            Some(format!("unexpected `{}`", token.to_css_string()))
        }
        SelectorErrorKind::EndOfLine => Some("it ends too early".to_string()),
        SelectorErrorKind::InvalidAtRule(rule) => Some(format!("unexpected `@{rule}`")),
        _ => None,
    }
}

fn split_output(text: &str) -> Result<(&str, Output), String> {
    if let Some(css) = text.strip_suffix("::text") {
        return Ok((css, Output::Text));
    }
    if let Some(css) = text.strip_suffix("::html") {
        return Ok((css, Output::Html));
    }
    if let Some(start) = text.rfind("::attr(") {
        let rest = &text[start + "::attr(".len()..];
        let name = rest
            .strip_suffix(')')
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains(['(', ')', ' ']))
            .ok_or_else(|| format!("`::attr(NAME)` at the end, found `{text}`"))?;
        return Ok((&text[..start], Output::Attr(name.to_ascii_lowercase())));
    }
    if text.contains("::") {
        return Err(format!(
            "a selector ending in `::text`, `::attr(NAME)` or `::html` (then optionally `[]`), found `{text}`"
        ));
    }
    Ok((text, Output::Text))
}

fn is_link_attr(name: &str) -> bool {
    name == "href" || name == "src"
}

/// Resolves a link against the page's final URL; an unparsable link is kept as written.
fn resolve(base: &Url, raw: &str) -> String {
    match base.join(raw.trim()) {
        Ok(url) => url.into(),
        Err(_) => raw.to_string(),
    }
}

/// Joins text pieces as they stand (adjacent text nodes touch: `11<b></b>,`
/// is `11,`), then collapses every run of whitespace to one space and trims.
pub(crate) fn collapse_whitespace<'a>(pieces: impl Iterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for piece in pieces {
        joined.push_str(piece);
    }
    let mut out = String::with_capacity(joined.len());
    for word in joined.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn first(rule: &str, html: &str) -> Value {
        let doc = Html::parse_document(html);
        let base = Url::parse("http://example.test/a/b.html").unwrap();
        CssRule::parse(rule)
            .unwrap()
            .first(doc.root_element(), &base)
    }

    #[test]
    fn outputs() {
        let html = r#"<div class="x"> Hello <b>big
            world</b>  </div><a href="../c?d=1#f">link</a><img src="/i.png" alt="An image">
            <a class="js" href="javascript:void(0)">js</a>"#;
        assert_eq!(first(".x::text", html), "Hello big world");
        assert_eq!(first(".x", html), "Hello big world");
        assert_eq!(first("a::attr(href)", html), "http://example.test/c?d=1#f");
        assert_eq!(first("img::attr(src)", html), "http://example.test/i.png");
        assert_eq!(first("img::attr(alt)", html), "An image");
        assert_eq!(first("a.js::attr(href)", html), "javascript:void(0)");
        assert_eq!(first(".missing::text", html), Value::Null);
        let touching =
            r#"<h1>Casablanca&nbsp;<span>(<a>1942</a>)</span></h1><p>April 11<b></b>, 2024</p>"#;
        assert_eq!(first("h1", touching), "Casablanca (1942)");
        assert_eq!(first("p", touching), "April 11, 2024");
        assert_eq!(first("img::attr(title)", html), Value::Null);
    }

    fn read(rule: &str, html: &str) -> Value {
        let doc = Html::parse_document(html);
        let base = Url::parse("http://example.test/a/b.html").unwrap();
        CssRule::parse(rule)
            .unwrap()
            .read(doc.root_element(), &base)
    }

    #[test]
    fn every_match_and_outer_html() {
        let html = r#"<div class="tags"><a href="/t/x">x</a> <a href="y">why
            not</a><a></a><a name="n">n</a></div><p class=p>Hi <b>there</b></p>"#;
        assert_eq!(
            read(".tags a::text[]", html),
            serde_json::json!(["x", "why not", "n"])
        );
        assert_eq!(
            read(".tags a::attr(href)[]", html),
            serde_json::json!(["http://example.test/t/x", "http://example.test/a/y"])
        );
        assert_eq!(read(".none::text[]", html), serde_json::json!([]));
        assert_eq!(read("p b[]", html), serde_json::json!(["there"]));
        assert_eq!(read("p::html", html), "<p class=\"p\">Hi <b>there</b></p>");
        assert_eq!(read("b::html[]", html), serde_json::json!(["<b>there</b>"]));
        assert_eq!(read(".none::html", html), Value::Null);
        assert!(CssRule::parse("a::text[]").unwrap().is_many());
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        for bad in [
            "div[",
            "a::attr(",
            "a::attr()",
            "a::inner",
            "::text::attr(x",
            "a[]x",
        ] {
            assert!(CssRule::parse(bad).is_err(), "{bad} should fail");
        }
        assert!(CssRule::parse(":scope").unwrap().selector().is_none());
        assert!(CssRule::parse("::attr(id)").unwrap().selector().is_none());
    }

    /// Found by `tests/properties.rs`: scraper's error text panicked on a
    /// `Delim` token, so `item = 'A<'` crashed the spider file's loading.
    #[test]
    fn a_selector_with_a_stray_delimiter_is_an_error_not_a_panic() {
        for (bad, shown) in [("A<", "`<`"), ("a!", "`!`"), ("a url(x)", "url(x)")] {
            let error = CssRule::parse(bad).expect_err(bad);
            assert!(error.contains(bad) && error.contains(shown), "{error}");
        }
        let error = CssRule::parse("div:").expect_err("div:");
        assert!(error.contains("ends too early"), "{error}");
    }
}
