//! List and detail pages: the rules a spider compiles, and applying them to a body.

use scraper::{Html, Selector};
use serde_json::Value;
use url::Url;

use super::{css::CssRule, json::JsonPath, ExtractError, Fields};

/// How one field is read: a CSS rule on HTML, a dotted path on JSON.
#[derive(Debug, Clone)]
pub enum FieldRule {
    /// `CSS`, `CSS::text` or `CSS::attr(NAME)`.
    Css(CssRule),
    /// A dotted path.
    Json(JsonPath),
}

impl FieldRule {
    /// The rule as the spider file wrote it.
    pub fn source(&self) -> &str {
        match self {
            FieldRule::Css(rule) => rule.source(),
            FieldRule::Json(path) => path.source(),
        }
    }
}

/// How a list page is split into items.
#[derive(Debug, Clone)]
pub enum ItemRule {
    /// HTML: one item per element matching the selector.
    Css {
        /// The selector as written.
        source: String,
        /// The compiled selector.
        selector: Selector,
    },
    /// JSON: one item per element of the array at this path.
    Json(JsonPath),
}

/// Everything read from a list page.
#[derive(Debug, Clone)]
pub struct ListRule {
    /// Where the items are.
    pub item: ItemRule,
    /// Fields per item, in declaration order; empty for JSON means "the whole item".
    pub fields: Vec<(String, FieldRule)>,
    /// The next page's link, if paging follows links.
    pub next: Option<FieldRule>,
    /// JSON: paging stops after a page where this path is `true`.
    pub stop: Option<JsonPath>,
}

/// Everything read from a detail page.
#[derive(Debug, Clone)]
pub struct DetailRule {
    /// The list field holding the detail page's URL.
    pub follow: String,
    /// Whether the detail page is JSON (else HTML).
    pub json: bool,
    /// Fields, in declaration order.
    pub fields: Vec<(String, FieldRule)>,
}

/// What a list page yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    /// One field map per item, in page order.
    pub items: Vec<Fields>,
    /// The next page's absolute URL, if the page names one.
    pub next: Option<String>,
    /// The page said it is the last one (JSON `stop`).
    pub stop: bool,
}

/// Reads a list page whose final URL is `base`.
pub fn extract_list(rule: &ListRule, body: &str, base: &Url) -> Result<ListPage, ExtractError> {
    match &rule.item {
        ItemRule::Css { selector, .. } => Ok(html_list(rule, selector, body, base)),
        ItemRule::Json(items) => json_list(rule, items, &parse_json(body)?, base),
    }
}

/// Reads a detail page whose final URL is `base`.
pub fn extract_detail(rule: &DetailRule, body: &str, base: &Url) -> Result<Fields, ExtractError> {
    if rule.json {
        let doc = parse_json(body)?;
        return Ok(project(&rule.fields, |f| json_field(f, &doc, base)));
    }
    let doc = Html::parse_document(body);
    Ok(project(&rule.fields, |f| f.css_first(&doc, base)))
}

fn html_list(rule: &ListRule, selector: &Selector, body: &str, base: &Url) -> ListPage {
    let doc = Html::parse_document(body);
    let items = doc
        .select(selector)
        .map(|item| project(&rule.fields, |f| css_in(f, item, base)))
        .collect();
    let next = rule
        .next
        .as_ref()
        .and_then(|f| as_link(&f.css_first(&doc, base)));
    ListPage {
        items,
        next,
        stop: false,
    }
}

fn json_list(
    rule: &ListRule,
    items: &JsonPath,
    doc: &Value,
    base: &Url,
) -> Result<ListPage, ExtractError> {
    let found = match items.lookup(doc) {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(found)) => found.as_slice(),
        Some(_) => {
            return Err(ExtractError(format!(
                "`list.items` path `{}` does not hold an array",
                items.source()
            )))
        }
    };
    let items = found
        .iter()
        .map(|item| json_item(rule, item, base))
        .collect();
    let next = rule
        .next
        .as_ref()
        .and_then(|f| as_link(&json_field(f, doc, base)));
    let stop = rule
        .stop
        .as_ref()
        .is_some_and(|path| path.lookup(doc) == Some(&Value::Bool(true)));
    Ok(ListPage { items, next, stop })
}

fn json_item(rule: &ListRule, item: &Value, base: &Url) -> Fields {
    if !rule.fields.is_empty() {
        return project(&rule.fields, |f| json_field(f, item, base));
    }
    match item {
        Value::Object(map) => map.clone(),
        other => Fields::from_iter([("value".to_string(), other.clone())]),
    }
}

fn project(fields: &[(String, FieldRule)], mut read: impl FnMut(&FieldRule) -> Value) -> Fields {
    fields
        .iter()
        .map(|(name, rule)| (name.clone(), read(rule)))
        .collect()
}

fn css_in(rule: &FieldRule, scope: scraper::ElementRef<'_>, base: &Url) -> Value {
    match rule {
        FieldRule::Css(css) => css.first(scope, base),
        FieldRule::Json(_) => Value::Null,
    }
}

impl FieldRule {
    fn css_first(&self, doc: &Html, base: &Url) -> Value {
        css_in(self, doc.root_element(), base)
    }
}

fn json_field(rule: &FieldRule, doc: &Value, _base: &Url) -> Value {
    match rule {
        FieldRule::Json(path) => path.lookup(doc).cloned().unwrap_or(Value::Null),
        FieldRule::Css(_) => Value::Null,
    }
}

/// A non-empty string value, made absolute against `base` by the caller's join.
fn as_link(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn parse_json(body: &str) -> Result<Value, ExtractError> {
    serde_json::from_str(body)
        .map_err(|e| ExtractError(format!("the body is not valid JSON ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn css(s: &str) -> FieldRule {
        FieldRule::Css(CssRule::parse(s).unwrap())
    }
    fn path(s: &str) -> FieldRule {
        FieldRule::Json(JsonPath::parse(s).unwrap())
    }
    fn base() -> Url {
        Url::parse("http://site.test/blog/page/1").unwrap()
    }

    #[test]
    fn html_items_in_order_with_next_link() {
        let rule = ListRule {
            item: ItemRule::Css {
                source: ".item".into(),
                selector: Selector::parse(".item").unwrap(),
            },
            fields: vec![
                ("title".into(), css(".title")),
                ("url".into(), css("a::attr(href)")),
            ],
            next: Some(css("a.next::attr(href)")),
            stop: None,
        };
        let body = r#"<div class=item><h2 class=title>One</h2><a href="/p/1">x</a></div>
            <div class=item><h2 class=title>Two</h2></div><a class=next href="2">n</a>"#;
        let page = extract_list(&rule, body, &base()).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            Value::Object(page.items[0].clone()),
            json!({"title": "One", "url": "http://site.test/p/1"})
        );
        assert_eq!(
            Value::Object(page.items[1].clone()),
            json!({"title": "Two", "url": null})
        );
        assert_eq!(page.next.as_deref(), Some("http://site.test/blog/page/2"));
        let keys: Vec<_> = page.items[0].keys().cloned().collect();
        assert_eq!(keys, ["title", "url"]);
    }

    #[test]
    fn json_items_whole_and_projected() {
        let body =
            r#"{"data":{"items":[{"z":1,"a":{"b":2}},{"z":3}]},"last":true,"links":{"next":null}}"#;
        let mut rule = ListRule {
            item: ItemRule::Json(JsonPath::parse("data.items").unwrap()),
            fields: vec![],
            next: Some(path("links.next")),
            stop: Some(JsonPath::parse("last").unwrap()),
        };
        let page = extract_list(&rule, body, &base()).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.items[0].keys().cloned().collect::<Vec<_>>(),
            ["z", "a"]
        );
        assert!(page.stop);
        assert_eq!(page.next, None);
        rule.fields = vec![("b".into(), path("a.b")), ("z".into(), path("z"))];
        let page = extract_list(&rule, body, &base()).unwrap();
        assert_eq!(
            Value::Object(page.items[0].clone()),
            json!({"b": 2, "z": 1})
        );
        assert_eq!(
            Value::Object(page.items[1].clone()),
            json!({"b": null, "z": 3})
        );
    }

    #[test]
    fn bad_json_is_a_page_error() {
        let rule = ListRule {
            item: ItemRule::Json(JsonPath::parse("items").unwrap()),
            fields: vec![],
            next: None,
            stop: None,
        };
        assert!(extract_list(&rule, "<html>", &base()).is_err());
        assert!(extract_list(&rule, r#"{"items": 3}"#, &base()).is_err());
        assert_eq!(
            extract_list(&rule, r#"{}"#, &base()).unwrap().items.len(),
            0
        );
    }

    #[test]
    fn malformed_html_parses_like_a_browser() {
        let rule = ListRule {
            item: ItemRule::Css {
                source: "li".into(),
                selector: Selector::parse("li").unwrap(),
            },
            fields: vec![("t".into(), css("::text"))],
            next: None,
            stop: None,
        };
        let page =
            extract_list(&rule, "<ul><li>one<li>two <b>bold</ul><p>unclosed", &base()).unwrap();
        let texts: Vec<_> = page.items.iter().map(|f| f["t"].clone()).collect();
        assert_eq!(texts, [json!("one"), json!("two bold")]);
    }
}
