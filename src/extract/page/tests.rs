use serde_json::json;
use url::Url;

use super::*;
use crate::extract::compile_css;
use crate::extract::field::Scope;
use crate::extract::{LinkRule, UrlFilter};

fn read(text: &str, json: bool) -> Read {
    Read::parse(text, json).unwrap()
}
fn fields(list: &[(&str, &str)], json: bool) -> Vec<(String, Field)> {
    list.iter()
        .map(|(name, text)| (name.to_string(), Field::Read(read(text, json))))
        .collect()
}
fn url() -> Url {
    Url::parse("http://site.test/blog/page/1").unwrap()
}
fn info(url: &Url) -> PageInfo<'_> {
    PageInfo {
        url,
        status: 200,
        number: 7,
    }
}
fn html_rule(item: &str, list: &[(&str, &str)]) -> ListRule {
    ListRule {
        format: Format::Html,
        item: ItemRule::Css {
            source: item.into(),
            selector: compile_css(item).unwrap(),
        },
        fields: fields(list, false),
        next: None,
        stop: None,
        page_param: None,
        prefetch: false,
        keep: Keep::default(),
    }
}
fn json_rule(source: JsonSource, items: &str, list: &[(&str, &str)]) -> ListRule {
    ListRule {
        format: Format::Json(source),
        item: ItemRule::Json(JsonPath::parse(items).unwrap()),
        fields: fields(list, true),
        next: None,
        stop: None,
        page_param: None,
        prefetch: false,
        keep: Keep::default(),
    }
}
fn values(page: &ListPage) -> Vec<Value> {
    page.items.iter().cloned().map(Value::Object).collect()
}

#[test]
fn html_items_in_order_with_next_link() {
    let mut rule = html_rule(".item", &[("title", ".title"), ("url", "a::attr(href)")]);
    rule.next = Some(read("a.next::attr(href)", false));
    let body = r#"<div class=item><h2 class=title>One</h2><a href="/p/1">x</a></div>
        <div class=item><h2 class=title>Two</h2></div><a class=next href="2">n</a>"#;
    let base = url();
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        values(&page),
        [
            json!({"title": "One", "url": "http://site.test/p/1"}),
            json!({"title": "Two", "url": null})
        ]
    );
    assert_eq!(page.next.as_deref(), Some("http://site.test/blog/page/2"));
    let keys: Vec<_> = page.items[0].keys().cloned().collect();
    assert_eq!(keys, ["title", "url"]);
}

#[test]
fn page_values_work_on_html_and_json() {
    let list = [
        ("i", "::index"),
        ("p", "::page"),
        ("u", "::url"),
        ("s", "::status"),
    ];
    let base = url();
    let html = extract_list(&html_rule("li", &list), "<li>a<li>b", &info(&base)).unwrap();
    let want = |i: usize| json!({"i": i, "p": 7, "u": "http://site.test/blog/page/1", "s": 200});
    assert_eq!(values(&html), [want(0), want(1)]);
    let rule = json_rule(JsonSource::Body, "", &list);
    let json = extract_list(&rule, "[1, 2]", &info(&base)).unwrap();
    assert_eq!(values(&json), [want(0), want(1)]);
}

#[test]
fn json_items_whole_projected_and_an_object_is_one_item() {
    let body =
        r#"{"data":{"items":[{"z":1,"a":{"b":2}},{"z":3}]},"last":true,"links":{"next":null}}"#;
    let mut rule = json_rule(JsonSource::Body, "data.items", &[]);
    rule.next = Some(read("links.next", true));
    rule.stop = Some(JsonPath::parse("last").unwrap());
    let base = url();
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].keys().cloned().collect::<Vec<_>>(),
        ["z", "a"]
    );
    assert!(page.stop);
    assert_eq!(page.next, None);
    rule.fields = fields(&[("b", "a.b"), ("z", "z")], true);
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        values(&page),
        [json!({"b": 2, "z": 1}), json!({"b": null, "z": 3})]
    );
    let rule = json_rule(JsonSource::Body, "data", &[]);
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(page.items.len(), 1, "an object is one record");
}

#[test]
fn bad_json_is_a_page_error() {
    let rule = json_rule(JsonSource::Body, "items", &[]);
    let base = url();
    assert!(extract_list(&rule, "<html>", &info(&base)).is_err());
    assert!(extract_list(&rule, r#"{"items": 3}"#, &info(&base)).is_err());
    assert_eq!(
        extract_list(&rule, r#"{}"#, &info(&base))
            .unwrap()
            .items
            .len(),
        0
    );
}

#[test]
fn malformed_html_parses_like_a_browser() {
    let rule = html_rule("li", &[("t", "::text")]);
    let base = url();
    let page = extract_list(
        &rule,
        "<ul><li>one<li>two <b>bold</ul><p>unclosed",
        &info(&base),
    )
    .unwrap();
    let texts: Vec<_> = page.items.iter().map(|f| f["t"].clone()).collect();
    assert_eq!(texts, [json!("one"), json!("two bold")]);
}

#[test]
fn json_from_reads_every_script_and_skips_what_does_not_parse() {
    let body = r#"<html><head>
        <script type="application/ld+json">{"@type": "BreadcrumbList", "name": "crumbs"}</script>
        <script type="application/ld+json">{ not json </script>
        <script type="application/ld+json">
          {"@type": "Product", "name": "Lamp &amp; shade", "offers": {"price": "12.50"}}
        </script></head><body></body></html>"#;
    let selector = r#"script[type="application/ld+json"]"#;
    let source = JsonSource::From {
        source: selector.into(),
        selector: compile_css(selector).unwrap(),
    };
    let rule = DetailRule {
        follow: "url".into(),
        follow_filters: Chain::default(),
        format: Format::Json(source),
        fields: fields(
            &[
                ("name", "[@type=Product].name"),
                ("first", "0.name"),
                ("price", "[@type=Product].offers.price"),
            ],
            true,
        ),
        keep: Keep::default(),
    };
    let base = url();
    let got = extract_detail(&rule, body, &info(&base)).unwrap();
    assert_eq!(got["first"], json!("crumbs"));
    assert_eq!(got["name"], json!("Lamp &amp; shade"), "script text is raw");
}

#[test]
fn json_re_takes_the_first_group_and_a_miss_is_no_items() {
    let pattern = Regex::new(r"window\.__STATE__\s*=\s*(\{.*?\});").unwrap();
    let rule = json_rule(JsonSource::Re(pattern.clone()), "results", &[("a", "a")]);
    let body = r#"<script>window.__STATE__ = {"results": [{"a": 1}, {"a": 2}]};</script>"#;
    let base = url();
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(values(&page), [json!({"a": 1}), json!({"a": 2})]);
    let miss = extract_list(&rule, "<p>nothing here</p>", &info(&base)).unwrap();
    assert!(miss.items.is_empty());
    let broken = "<script>window.__STATE__ = {results: 1};</script>";
    assert!(extract_list(&rule, broken, &info(&base)).is_err());
}

#[test]
fn sub_records_label_value_fallbacks_and_constants() {
    let body = r#"<div class=p>
        <ul class=files><li><a href="/a.pdf">A</a></li><li><a href="b.pdf">B</a></li></ul>
        <table class=specs><tr><th>Colour</th><td>Red</td></tr><tr><th>Size</th><td> XL </td></tr>
          <tr><th>Colour</th><td>Blue</td></tr></table>
        <span class=price>12</span></div>"#;
    let each = Field::Each {
        each: Scope::parse("ul.files a", false).unwrap(),
        fields: fields(&[("title", "::text"), ("href", "::attr(href)")], false),
    };
    let rows = Field::Rows {
        rows: Scope::parse("table.specs tr", false).unwrap(),
        key: read("th", false),
        value: read("td", false),
    };
    let fallback = Field::Fallback(vec![read(".sale", false), read(".price", false)]);
    let mut rule = html_rule(".p", &[]);
    rule.fields = vec![
        ("links".into(), each),
        ("specs".into(), rows),
        ("price".into(), fallback),
        ("site".into(), Field::Const(json!("Shop"))),
        (
            "none".into(),
            Field::Each {
                each: Scope::parse("ol li", false).unwrap(),
                fields: vec![],
            },
        ),
    ];
    let base = url();
    let page = extract_list(&rule, body, &info(&base)).unwrap();
    assert_eq!(
        values(&page)[0],
        json!({
            "links": [{"title": "A", "href": "http://site.test/a.pdf"},
                      {"title": "B", "href": "http://site.test/blog/page/b.pdf"}],
            "specs": {"Colour": "Blue", "Size": "XL"},
            "price": "12",
            "site": "Shop",
            "none": [],
        })
    );
}

#[test]
fn keep_rules() {
    let keep = Keep {
        require: vec!["sku".into()],
        unique: vec!["a".into(), "b".into()],
    };
    let record = |v: Value| match v {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    assert_eq!(keep.missing(&record(json!({"sku": ""}))), Some("sku"));
    assert_eq!(keep.missing(&record(json!({"sku": []}))), Some("sku"));
    assert_eq!(keep.missing(&record(json!({}))), Some("sku"));
    assert_eq!(keep.missing(&record(json!({"sku": 0}))), None);
    assert_eq!(
        keep.unique_key(&record(json!({"a": "x", "b": 2})))
            .as_deref(),
        Some(r#"["x",2]"#)
    );
    assert_eq!(values_text(&["a".into()], &record(json!({"a": "x"}))), "x");
    assert_eq!(values_text(&["a".into()], &record(json!({"a": 5}))), "5");
}

fn sitemap_rule(allow: &[&str], deny: &[&str], list: &[(&str, &str)]) -> ListRule {
    let compile = |list: &[&str]| list.iter().map(|r| Regex::new(r).unwrap()).collect();
    ListRule {
        format: Format::Sitemap,
        item: ItemRule::Sitemap(UrlFilter {
            allow: compile(allow),
            deny: compile(deny),
        }),
        fields: fields(list, true),
        next: None,
        stop: None,
        page_param: None,
        prefetch: false,
        keep: Keep::default(),
    }
}

const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://site.test/p/1</loc><lastmod>2026-01-02</lastmod>
       <changefreq>daily</changefreq><priority>0.8</priority></url>
  <url><loc> https://site.test/blog/x?a=1&amp;b=2 </loc></url>
  <url><loc>https://site.test/p/old-2</loc><priority>0.1</priority></url>
  <url><lastmod>2026-01-01</lastmod></url>
  <url><loc>https://site.test/p/3</loc><lastmod>2025-12-31T10:00:00+00:00</lastmod></url>
</urlset>"#;

fn sitemap_page(rule: &ListRule, body: &str, at: &str) -> Result<ListPage, ExtractError> {
    let base = Url::parse(at).unwrap();
    extract_list(rule, body, &info(&base))
}

#[test]
fn sitemap_entries_are_whole_objects_of_texts() {
    let page = sitemap_page(
        &sitemap_rule(&[], &[], &[]),
        URLSET,
        "https://site.test/sitemap.xml",
    )
    .unwrap();
    assert_eq!(
        values(&page),
        [
            json!({"loc": "https://site.test/p/1", "lastmod": "2026-01-02",
                   "changefreq": "daily", "priority": "0.8"}),
            json!({"loc": "https://site.test/blog/x?a=1&b=2", "lastmod": null,
                   "changefreq": null, "priority": null}),
            json!({"loc": "https://site.test/p/old-2", "lastmod": null,
                   "changefreq": null, "priority": "0.1"}),
            json!({"loc": "https://site.test/p/3", "lastmod": "2025-12-31T10:00:00+00:00",
                   "changefreq": null, "priority": null}),
        ],
        "an entry without loc is skipped"
    );
    assert!(page.sitemaps.is_empty());
    assert_eq!((page.next, page.stop), (None, false));
}

#[test]
fn sitemap_fields_filters_allow_and_deny() {
    let list = [
        ("url", "loc"),
        ("day", "lastmod | re: '^(\\d{4}-\\d\\d-\\d\\d)'"),
        ("priority", "priority | number"),
        ("i", "::index"),
    ];
    let rule = sitemap_rule(&["/p/"], &["old"], &list);
    let page = sitemap_page(&rule, URLSET, "https://site.test/sitemap.xml").unwrap();
    assert_eq!(
        values(&page),
        [
            json!({"url": "https://site.test/p/1", "day": "2026-01-02", "priority": 0.8, "i": 0}),
            json!({"url": "https://site.test/p/3", "day": "2025-12-31", "priority": null, "i": 1}),
        ]
    );
    let keys: Vec<_> = page.items[0].keys().cloned().collect();
    assert_eq!(keys, ["url", "day", "priority", "i"]);
}

#[test]
fn sitemap_index_and_robots_txt_lead_to_sitemaps() {
    let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>https://site.test/sitemap-posts.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>
        <sitemap><loc>/sitemap-pages.xml</loc></sitemap>
        </sitemapindex>"#;
    let rule = sitemap_rule(&["/p/"], &["pages"], &[]);
    let page = sitemap_page(&rule, index, "https://site.test/sitemap.xml").unwrap();
    assert!(page.items.is_empty());
    assert_eq!(
        page.sitemaps,
        [
            "https://site.test/sitemap-posts.xml.gz",
            "/sitemap-pages.xml"
        ],
        "document order, as written; allow/deny are for pages"
    );
    let robots = "User-agent: *\nDisallow: /admin\nSitemap: https://site.test/a.xml\n\
                  sitemap: /b.xml # the second\n";
    let page = sitemap_page(&rule, robots, "https://site.test/robots.txt").unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.sitemaps, ["https://site.test/a.xml", "/b.xml"]);
    let not_robots = sitemap_page(&rule, robots, "https://site.test/robots.txt.bak");
    assert!(
        not_robots.is_err(),
        "only the path /robots.txt is robots.txt"
    );
}

#[test]
fn bad_sitemaps_are_page_errors_that_say_why() {
    let rule = sitemap_rule(&[], &[], &[]);
    let cases = [
        ("<html><body>hi</body></html>", "<html>"),
        ("", "no root element"),
        (
            "<urlset><url><loc>https://site.test/a</loc></url><url><loc>x</urlset>",
            "malformed",
        ),
    ];
    for (body, wanted) in cases {
        let error = sitemap_page(&rule, body, "https://site.test/s.xml").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("the sitemap cannot be read: "),
            "{message}"
        );
        assert!(
            message.contains(wanted),
            "{message} should mention {wanted}"
        );
    }
}

#[test]
fn link_rules_are_not_list_pages() {
    let rule = ListRule {
        item: ItemRule::Links(LinkRule {
            within: None,
            filter: UrlFilter::default(),
            depth: 1,
            hosts: Vec::new(),
        }),
        ..html_rule("a", &[])
    };
    let error = sitemap_page(&rule, "<a href=/x>x</a>", "http://site.test/").unwrap_err();
    assert!(error.to_string().contains("extract_link_page"), "{error}");
}
