use scraper::Selector;
use serde_json::{json, Value};
use url::Url;

use super::*;
use crate::extract::field::Scope;
use crate::extract::filter::Chain;
use crate::extract::page::{JsonSource, Keep};

fn read(text: &str, json: bool) -> Read {
    Read::parse(text, json).unwrap()
}
fn fields(list: &[(&str, &str)], json: bool) -> Vec<(String, Field)> {
    list.iter()
        .map(|(name, text)| (name.to_string(), Field::Read(read(text, json))))
        .collect()
}
fn info(url: &Url) -> PageInfo<'_> {
    PageInfo {
        url,
        status: 200,
        number: 1,
    }
}
fn seed(format: Format, links: &str, next: Option<&str>, list: &[(&str, &str)]) -> SeedRule {
    let json = format.is_json();
    SeedRule {
        format,
        links: read(links, json),
        next: next.map(|n| read(n, json)),
        fields: fields(list, json),
    }
}
/// Each link as text with its fields as one JSON object.
fn found(page: &SeedPage) -> Vec<(String, Value)> {
    page.links
        .iter()
        .map(|(url, fields)| (url.to_string(), Value::Object(fields.clone())))
        .collect()
}

const HOME: &str = r##"<html><head><title>Shop</title></head><body>
    <h1>Departments</h1>
    <nav class="categories">
      <a href="/c/lamps#top" title="All lamps">Lamps</a>
      <a href="c/chairs"><span>Chairs</span> &amp; stools</a>
      <a href="mailto:shop@site.test">Mail us</a>
      <a href="javascript:void(0)">Menu</a>
      <a>No href</a>
      <a href="/c/lamps">Lamps again</a>
      <a href="https://other.test/c/tables?x=1#y">Tables</a>
    </nav>
    <a class="next" href="/home?page=2">more</a>
    </body></html>"##;

#[test]
fn html_seed_links_with_link_and_page_fields() {
    let rule = seed(
        Format::Html,
        "nav.categories a::attr(href)",
        Some("a.next::attr(href)"),
        &[
            ("category", "::text"),
            ("title", "::attr(title)"),
            ("inner", ":scope > span::text"),
            ("department", "h1::text"),
            ("site", "title"),
        ],
    );
    let base = Url::parse("http://site.test/shop/").unwrap();
    let page = extract_seed(&rule, HOME, &info(&base)).unwrap();
    let want = |name: &str, title: Value, inner: Value| {
        json!({"category": name, "title": title, "inner": inner,
               "department": "Departments", "site": "Shop"})
    };
    assert_eq!(
        found(&page),
        [
            (
                "http://site.test/c/lamps".to_string(),
                want("Lamps", json!("All lamps"), Value::Null)
            ),
            (
                "http://site.test/shop/c/chairs".to_string(),
                want("Chairs & stools", Value::Null, json!("Chairs"))
            ),
            (
                "https://other.test/c/tables?x=1".to_string(),
                want("Tables", Value::Null, Value::Null)
            ),
        ],
        "absolute, fragment dropped, non-http dropped, each URL once (its first match)"
    );
    assert_eq!(page.next.as_deref(), Some("http://site.test/home?page=2"));
}

#[test]
fn seed_links_take_every_match_with_or_without_brackets_and_filters() {
    let base = Url::parse("http://site.test/").unwrap();
    for links in [
        "nav a::attr(href)",
        "nav a::attr(href)[]",
        "nav a::attr(href) | trim",
    ] {
        let rule = seed(Format::Html, links, None, &[]);
        let page = extract_seed(&rule, HOME, &info(&base)).unwrap();
        assert_eq!(page.links.len(), 3, "{links}");
        assert!(page.links.iter().all(|(_, fields)| fields.is_empty()));
        assert_eq!(page.next, None);
    }
    let rule = seed(
        Format::Html,
        "li::attr(data-id) | fmt: '/item/{}'",
        None,
        &[("id", "::attr(data-id)")],
    );
    let body = "<ul><li data-id=7>a</li><li>no id</li><li data-id=9>b</li></ul>";
    let page = extract_seed(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        found(&page),
        [
            ("http://site.test/item/7".to_string(), json!({"id": "7"})),
            ("http://site.test/item/9".to_string(), json!({"id": "9"})),
        ]
    );
}

#[test]
fn seed_fields_each_and_fallbacks_choose_their_scope() {
    let body = r#"<h1>Top</h1><div class=c><a href="/a" title="T"><i>x</i><i>y</i></a></div>"#;
    let mut rule = seed(Format::Html, ".c a::attr(href)", None, &[]);
    rule.fields = vec![
        (
            "fallback".into(),
            Field::Fallback(vec![read("::attr(missing)", false), read("h1", false)]),
        ),
        (
            "marks".into(),
            Field::Each {
                each: Scope::parse(":scope i", false).unwrap(),
                fields: fields(&[("t", "::text")], false),
            },
        ),
        ("site".into(), Field::Const(json!("S"))),
        ("url".into(), Field::Read(read("::url", false))),
    ];
    let base = Url::parse("http://site.test/home").unwrap();
    let page = extract_seed(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        found(&page)[0].1,
        json!({"fallback": "Top", "marks": [{"t": "x"}, {"t": "y"}], "site": "S",
               "url": "http://site.test/home"})
    );
}

#[test]
fn json_seed_links_and_next() {
    let body = r#"{"title": "Catalog",
        "categories": [{"name": "Lamps", "url": "/api/c/lamps"},
                       {"name": "Chairs", "url": "https://api.test/c/chairs#x"},
                       {"name": "Mail", "url": "mailto:a@b.test"},
                       {"name": "None", "url": null},
                       {"name": "Lamps again", "url": "/api/c/lamps"}],
        "paging": {"next": "/api/home?p=2"}}"#;
    let rule = seed(
        Format::Json(JsonSource::Body),
        "categories[].url",
        Some("paging.next"),
        &[("catalog", "title")],
    );
    let base = Url::parse("https://api.test/api/home").unwrap();
    let page = extract_seed(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        found(&page),
        [
            (
                "https://api.test/api/c/lamps".to_string(),
                json!({"catalog": "Catalog"})
            ),
            (
                "https://api.test/c/chairs".to_string(),
                json!({"catalog": "Catalog"})
            ),
        ]
    );
    assert_eq!(page.next.as_deref(), Some("/api/home?p=2"));
    let single = seed(Format::Json(JsonSource::Body), "paging.next", None, &[]);
    assert_eq!(
        extract_seed(&single, body, &info(&base))
            .unwrap()
            .links
            .len(),
        1
    );
    assert!(extract_seed(&rule, "<html>", &info(&base)).is_err());
}

fn link_rule(within: Option<&str>, allow: &[&str], deny: &[&str]) -> LinkRule {
    let compile = |list: &[&str]| list.iter().map(|r| regex::Regex::new(r).unwrap()).collect();
    LinkRule {
        within: within.map(|css| (css.to_string(), Selector::parse(css).unwrap())),
        filter: UrlFilter {
            allow: compile(allow),
            deny: compile(deny),
        },
        depth: 1,
        hosts: Vec::new(),
    }
}
fn detail(format: Format, list: &[(&str, &str)]) -> DetailRule {
    let json = format.is_json();
    DetailRule {
        follow: String::new(),
        follow_filters: Chain::default(),
        format,
        fields: fields(list, json),
        keep: Keep::default(),
    }
}

const PRODUCT: &str = r##"<html><body><h1> Desk lamp </h1>
    <main><a href="/p/2">next product</a><a href="/p/3#reviews">third</a>
      <a href="/cart?add=1">add</a></main>
    <footer><a href="/about">about</a><a href="/p/4">four</a></footer>
    <script type="application/ld+json">{"sku": "L-1"}</script></body></html>"##;

#[test]
fn link_page_record_and_links() {
    let rule = link_rule(None, &[], &[]);
    let detail = detail(Format::Html, &[("name", "h1::text"), ("url", "::url")]);
    let base = Url::parse("http://site.test/p/1").unwrap();
    let page = extract_link_page(&rule, Some(&detail), PRODUCT, &info(&base), true, true).unwrap();
    assert_eq!(
        page.record.map(Value::Object),
        Some(json!({"name": "Desk lamp", "url": "http://site.test/p/1"}))
    );
    let links: Vec<String> = page.links.iter().map(Url::to_string).collect();
    assert_eq!(
        links,
        [
            "http://site.test/p/2",
            "http://site.test/p/3",
            "http://site.test/cart?add=1",
            "http://site.test/about",
            "http://site.test/p/4"
        ]
    );
}

type LinkCase<'a> = (Option<&'a str>, &'a [&'a str], &'a [&'a str], &'a [&'a str]);

#[test]
fn link_page_within_allow_deny_and_what_is_asked_for() {
    let base = Url::parse("http://site.test/p/1").unwrap();
    // within, allow, deny, the links kept
    let cases: &[LinkCase] = &[
        (
            Some("main"),
            &[],
            &[],
            &[
                "http://site.test/p/2",
                "http://site.test/p/3",
                "http://site.test/cart?add=1",
            ],
        ),
        (
            None,
            &["/p/"],
            &["/p/3"],
            &["http://site.test/p/2", "http://site.test/p/4"],
        ),
        (Some("footer"), &["/p/"], &[], &["http://site.test/p/4"]),
        (Some("aside"), &[], &[], &[]),
    ];
    for (within, allow, deny, want) in cases {
        let rule = link_rule(*within, allow, deny);
        let page = extract_link_page(&rule, None, PRODUCT, &info(&base), false, true).unwrap();
        let links: Vec<String> = page.links.iter().map(Url::to_string).collect();
        assert_eq!(links, *want, "{within:?} {allow:?} {deny:?}");
        assert_eq!(page.record, None, "no record unless asked for");
    }
    let rule = link_rule(None, &[], &[]);
    let leaf = detail(Format::Html, &[("name", "h1")]);
    let page = extract_link_page(&rule, Some(&leaf), PRODUCT, &info(&base), true, false).unwrap();
    assert!(page.links.is_empty(), "no links unless asked for");
    assert_eq!(page.record.unwrap()["name"], json!("Desk lamp"));
    let page = extract_link_page(&rule, None, PRODUCT, &info(&base), true, false).unwrap();
    assert_eq!(page.record, Some(Fields::new()));
}

#[test]
fn link_page_record_from_json_inside_html() {
    let selector = r#"script[type="application/ld+json"]"#;
    let source = JsonSource::From {
        source: selector.into(),
        selector: Selector::parse(selector).unwrap(),
    };
    let rule = link_rule(None, &["/p/"], &[]);
    let detail = detail(Format::Json(source), &[("sku", "0.sku")]);
    let base = Url::parse("http://site.test/p/1").unwrap();
    let page = extract_link_page(&rule, Some(&detail), PRODUCT, &info(&base), true, true).unwrap();
    assert_eq!(page.record.unwrap()["sku"], json!("L-1"));
    assert_eq!(page.links.len(), 3);
}
