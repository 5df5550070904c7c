//! Scrapy/parsel-style selectors: `CSS`, `CSS::text`, `CSS::attr(NAME)`.

use scraper::{ElementRef, Selector};
use serde_json::Value;
use url::Url;

/// What a selector takes from the element it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// All text inside the element, whitespace collapsed and trimmed.
    Text,
    /// One attribute; `href` and `src` are made absolute.
    Attr(String),
}

/// A compiled selector with its output, e.g. `a.next::attr(href)`.
#[derive(Debug, Clone)]
pub struct CssRule {
    source: String,
    /// `None` means the scope element itself (`:scope` or an empty selector).
    selector: Option<Selector>,
    output: Output,
}

impl CssRule {
    /// Compiles `text`; the error says what is wrong with the selector.
    pub fn parse(text: &str) -> Result<CssRule, String> {
        let (css, output) = split_output(text)?;
        let css = css.trim();
        let selector = match css {
            "" | ":scope" => None,
            css => Some(compile(css)?),
        };
        Ok(CssRule {
            source: text.to_string(),
            selector,
            output,
        })
    }

    /// The selector as the spider file wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled selector, or `None` for the scope element itself.
    #[cfg(test)]
    pub(crate) fn selector(&self) -> Option<&Selector> {
        self.selector.as_ref()
    }

    /// The value of the first match inside `scope`, or `null`.
    pub fn first(&self, scope: ElementRef<'_>, base: &Url) -> Value {
        let target = match &self.selector {
            None => Some(scope),
            Some(selector) => scope.select(selector).next(),
        };
        match target {
            Some(element) => self.value_of(element, base),
            None => Value::Null,
        }
    }

    fn value_of(&self, element: ElementRef<'_>, base: &Url) -> Value {
        match &self.output {
            Output::Text => Value::String(collapse_whitespace(element.text())),
            Output::Attr(name) => match element.value().attr(name) {
                Some(raw) if is_link_attr(name) => Value::String(resolve(base, raw)),
                Some(raw) => Value::String(raw.to_string()),
                None => Value::Null,
            },
        }
    }
}

/// Compiles a CSS selector; the error is one line a user can act on.
pub(crate) fn compile(css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|e| {
        let detail = e.to_string();
        // Some of the parser's errors are unhelpful boilerplate; leave those out.
        match detail.contains("report this") || detail.contains('\n') {
            true => format!("a CSS selector, found `{css}`, which does not parse"),
            false => format!("a CSS selector, found `{css}` ({detail})"),
        }
    })
}

fn split_output(text: &str) -> Result<(&str, Output), String> {
    if let Some(css) = text.strip_suffix("::text") {
        return Ok((css, Output::Text));
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
            "a selector ending in `::text` or `::attr(NAME)`, found `{text}`"
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

/// Joins text pieces, collapsing every run of whitespace to one space.
pub(crate) fn collapse_whitespace<'a>(pieces: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in pieces.flat_map(str::split_whitespace) {
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
        assert_eq!(first("img::attr(title)", html), Value::Null);
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        for bad in ["div[", "a::attr(", "a::attr()", "a::html", "::text::attr(x"] {
            assert!(CssRule::parse(bad).is_err(), "{bad} should fail");
        }
        assert!(CssRule::parse(":scope").unwrap().selector().is_none());
        assert!(CssRule::parse("::attr(id)").unwrap().selector().is_none());
    }
}
