use serde_json::json;
use url::Url;

use super::*;
use crate::extract::compile_css;
use crate::extract::field::Scope;

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
