//! SPEC §6 end to end: every field form, the filters, JSON inside HTML,
//! `require`/`unique`, `key`/`omit` — through the library against the
//! scripted server in `tests/support`, then through the real binary
//! (`trawl check`, file outputs, the summary, resuming with `--state`).
//!
//! Each test would fail without the feature it names: records are compared
//! whole with `json!`, and what the server was (or was not) asked for comes
//! from its request log. Spider files are written with `BASE` standing for
//! the server's `http://127.0.0.1:PORT`.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use support::binary::{s, summary_line, trawl};
use support::kill::{resumed_at, run_killable, XorShift};
use support::library::{base, crawl_to_end, spider_at};
use support::{Reply, TestServer};
use tempfile::TempDir;
use trawl::{Record, Spider, Summary};

// ---------------------------------------------------------------- helpers

/// A spider from TOML with `BASE` filled in, unlimited and without robots.txt
/// (so the request log holds only the pages).
fn spider(server: &TestServer, toml: &str) -> Spider {
    spider_at(server, toml, "rate = 0\nrobots = false", "test")
}

/// Runs a crawl to its end: its records and its summary.
async fn crawl(spider: Spider) -> (Vec<Record>, Summary) {
    crawl_to_end(spider).await
}

/// Runs a crawl to its end: its records as JSON, and its summary.
async fn run(spider: Spider) -> (Vec<Value>, Summary) {
    let (records, summary) = crawl(spider).await;
    let values = records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    (values, summary)
}

/// Every request-target the server saw, sorted (fetches run concurrently).
fn sorted_paths(server: &TestServer) -> Vec<String> {
    let mut paths: Vec<String> = server.hits().into_iter().map(|h| h.path).collect();
    paths.sort();
    paths
}

fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .expect("a record is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn html(body: &str) -> Reply {
    Reply::html(format!(
        "<!doctype html><html><body>\n{body}\n</body></html>"
    ))
}

fn assert_no_failures(summary: &Summary) {
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

// ------------------------------------------------- 1. every field form (HTML)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_fields_of_every_form_with_a_page_template() {
    let server = TestServer::start().await;
    let b = base(&server);
    server.route(
        "/shop/3",
        html(
            r#"<div class="item">
  <h2 class="title">Alpha</h2>
  <em class="badge">New <b>!</b></em>
  <div class="tags"><a>red</a> <a> blue
    sky </a></div>
  <img src="/img/a-1.png"><img src="img/a-2.png">
  <span class="sale">8</span><span class="price">10</span>
  <ul class="files"><li><a href="/f/a.pdf">Manual</a></li><li><a href="f/a.txt"> Notes </a></li></ul>
  <table class="specs"><tr><th>Colour</th><td>Red</td></tr><tr><th>Size</th><td> M </td></tr><tr><th>Colour</th><td>Dark red</td></tr></table>
  <a class="more" href="/go/a">more</a>
</div>
<div class="item">
  <h2 class="title">Beta</h2>
  <div class="gallery"><img src="/g/b.png"></div>
  <span class="price">20</span>
  <a class="more" href="/item/b">more</a>
</div>"#,
        ),
    );
    server.route(
        "/shop/4",
        html(
            r#"<div class="item"><h2 class="title">Gamma</h2><span class="price">30</span><img src="/g/c.png">
<a class="more" href="/item/c">more</a></div>"#,
        ),
    );
    // Never asked for: last_page = 4.
    server.route("/shop/5", html(r#"<div class="item">past the end</div>"#));
    // Alpha's detail link redirects: `::url` is where the page was found.
    server.route("/go/a", Reply::redirect(302, "/item/a"));
    server.route("/item/a", html("<h1>About Alpha</h1>"));
    // `::status` is the status as answered, not a constant 200.
    server.route("/item/b", html("<h1>About Beta</h1>").code(203));
    server.route("/item/c", html("<h1>About Gamma</h1>"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/shop/{page}"
first_page = 3
last_page = 4
[list]
item = ".item"
fields.title = ".title::text"
fields.badge = ".badge::html"
fields.tags = ".tags a::text[]"
fields.images = "img::attr(src)[]"
fields.nothing = ".nope::text[]"
fields.pictures = [".gallery img::attr(src)[]", "img::attr(src)"]
fields.price = [".sale::text", ".price::text"]
fields.index = "::index"
fields.page = "::page"
fields.site = { const = "Shop" }
fields.listed = { const = true }
fields.sources = { const = ["web", 2] }
fields.files = { each = ".files a", fields = { title = "::text", href = "::attr(href)" } }
fields.specs = { rows = ".specs tr", key = "th", value = "td" }
fields.url = "a.more::attr(href)"
[detail]
follow = "url"
fields.final = "::url"
fields.status = "::status"
fields.heading = "h1::text"
"#,
    ))
    .await;

    let expected = [
        json!({
            "title": "Alpha",
            "badge": "<em class=\"badge\">New <b>!</b></em>",
            "tags": ["red", "blue sky"],
            "images": [format!("{b}/img/a-1.png"), format!("{b}/shop/img/a-2.png")],
            "nothing": [],
            "pictures": format!("{b}/img/a-1.png"),
            "price": "8",
            "index": 0,
            "page": 3,
            "site": "Shop",
            "listed": true,
            "sources": ["web", 2],
            "files": [
                {"title": "Manual", "href": format!("{b}/f/a.pdf")},
                {"title": "Notes", "href": format!("{b}/shop/f/a.txt")},
            ],
            "specs": {"Colour": "Dark red", "Size": "M"},
            "url": format!("{b}/go/a"),
            "final": format!("{b}/item/a"),
            "status": 200,
            "heading": "About Alpha",
        }),
        json!({
            "title": "Beta",
            "badge": null,
            "tags": [],
            "images": [format!("{b}/g/b.png")],
            "nothing": [],
            "pictures": [format!("{b}/g/b.png")],
            "price": "20",
            "index": 1,
            "page": 3,
            "site": "Shop",
            "listed": true,
            "sources": ["web", 2],
            "files": [],
            "specs": {},
            "url": format!("{b}/item/b"),
            "final": format!("{b}/item/b"),
            "status": 203,
            "heading": "About Beta",
        }),
        json!({
            "title": "Gamma",
            "badge": null,
            "tags": [],
            "images": [format!("{b}/g/c.png")],
            "nothing": [],
            "pictures": format!("{b}/g/c.png"),
            "price": "30",
            "index": 0,
            "page": 4,
            "site": "Shop",
            "listed": true,
            "sources": ["web", 2],
            "files": [],
            "specs": {},
            "url": format!("{b}/item/c"),
            "final": format!("{b}/item/c"),
            "status": 200,
            "heading": "About Gamma",
        }),
    ];
    assert_eq!(records, expected);
    // Keys in declaration order, list then detail.
    for record in &records {
        assert_eq!(
            keys(record),
            [
                "title", "badge", "tags", "images", "nothing", "pictures", "price", "index",
                "page", "site", "listed", "sources", "files", "specs", "url", "final", "status",
                "heading"
            ]
        );
    }
    assert_eq!(keys(&records[0]["files"][0]), ["title", "href"]);
    assert_eq!(
        sorted_paths(&server),
        ["/go/a", "/item/a", "/item/b", "/item/c", "/shop/3", "/shop/4"]
    );
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_is_the_position_in_a_next_chain_and_index_restarts_per_page() {
    let server = TestServer::start().await;
    let b = base(&server);
    let page = |names: &[&str], next: Option<&str>| {
        let mut body: String = names
            .iter()
            .map(|n| format!("<p class=\"item\">{n}</p>\n"))
            .collect();
        if let Some(next) = next {
            body += &format!("<a class=\"next\" href=\"{next}\">next</a>");
        }
        html(&body)
    };
    // The chain's URLs carry numbers that are not its positions.
    server.route("/chain/start", page(&["a", "b"], Some("/chain/p7")));
    server.route("/chain/p7", page(&["c"], Some("p9")));
    server.route("/chain/p9", page(&["d", "e", "f"], None));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/chain/start"
next = "a.next::attr(href)"
[list]
item = ".item"
fields.name = "::text"
fields.index = "::index"
fields.page = "::page"
fields.at = "::url"
"#,
    ))
    .await;

    let rec = |name: &str, index: u32, page: u32, path: &str| json!({"name": name, "index": index, "page": page, "at": format!("{b}{path}")});
    assert_eq!(
        records,
        [
            rec("a", 0, 1, "/chain/start"),
            rec("b", 1, 1, "/chain/start"),
            rec("c", 0, 2, "/chain/p7"),
            rec("d", 0, 3, "/chain/p9"),
            rec("e", 1, 3, "/chain/p9"),
            rec("f", 2, 3, "/chain/p9"),
        ]
    );
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_values_work_on_json_pages_after_a_redirect() {
    let server = TestServer::start().await;
    let b = base(&server);
    server.route(
        "/api/items?page=0",
        Reply::redirect(301, "/api/v2/items?page=0"),
    );
    server.route(
        "/api/v2/items?page=0",
        Reply::json(r#"{"items": [{"id": 1}, {"id": 2}]}"#),
    );
    server.route(
        "/api/items?page=1",
        Reply::json(r#"{"items": [{"id": 3}]}"#).code(203),
    );

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/api/items?page={page}"
first_page = 0
last_page = 1
[list]
format = "json"
items = "items"
fields.id = "id"
fields.index = "::index"
fields.page = "::page"
fields.at = "::url"
fields.status = "::status"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [
            json!({"id": 1, "index": 0, "page": 0, "at": format!("{b}/api/v2/items?page=0"), "status": 200}),
            json!({"id": 2, "index": 1, "page": 0, "at": format!("{b}/api/v2/items?page=0"), "status": 200}),
            json!({"id": 3, "index": 0, "page": 1, "at": format!("{b}/api/items?page=1"), "status": 203}),
        ]
    );
    assert_no_failures(&summary);
}

// ------------------------------------------------------------- 2. filters

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_end_to_end_and_a_detail_url_built_from_an_id() {
    let server = TestServer::start().await;
    let b = base(&server);
    server.route(
        "/market/",
        html(
            r#"<div class="item" data-id="7" data-meta='{"brand": {"name": "Acme"}}'>
  <span class="price">₦ 4,500</span>
  <span class="rating">4,5 stars</span>
  <span class="sku">SKU: ab-123</span>
  <span class="cats"> Shoes / Men /  / Sale </span>
  <span class="when">01/12/2026 18:30</span>
  <span class="day">1 Dec 2026</span>
  <span class="codes">x1 y22 z333</span>
</div>
<div class="item" data-id="8">
  <span class="price">1.299,00 €</span>
  <span class="rating">-3.5</span>
  <span class="sku">no sku here</span>
  <span class="cats"></span>
  <span class="when">31/02/2026 10:00</span>
  <span class="day">someday</span>
  <span class="note">hand made</span>
</div>
<div class="item">
  <span class="price">free</span>
</div>"#,
        ),
    );
    server.route("/item/7", html("<h1>Seven</h1>"));
    server.route("/item/8", html("<h1>Eight</h1>"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/market/"
[list]
item = ".item"
fields.id = "::attr(data-id)"
fields.price = ".price::text | number"
fields.rating = ".rating::text | int"
fields.sku = '.sku::text | re: "SKU: (\S+)" | upper'
fields.cats = ".cats::text | split: '/'"
fields.slug = ".cats::text | split: '/' | lower | join: '-'"
fields.codes = '.codes::text | re_all: "[a-z](\d+)"'
fields.when = ".when::text | date: '%d/%m/%Y %H:%M'"
fields.day = ".day::text | date: '%d %b %Y'"
fields.note = ".note::text | default: 'none'"
fields.brand = "::attr(data-meta) | json: 'brand.name'"
fields.naira = ".price::text | replace: '₦' 'NGN' | lower"
fields.link = "::attr(data-id) | fmt: 'item/{}' | url"
[detail]
follow = "id | fmt: '/item/{}'"
fields.name = "h1::text"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [
            json!({
                "id": "7",
                "price": 4500,
                "rating": 4,
                "sku": "AB-123",
                "cats": ["Shoes", "Men", "Sale"],
                "slug": "shoes-men-sale",
                "codes": ["1", "22", "333"],
                "when": "2026-12-01T18:30:00",
                "day": "2026-12-01",
                "note": "none",
                "brand": "Acme",
                "naira": "ngn 4,500",
                "link": format!("{b}/market/item/7"),
                "name": "Seven",
            }),
            json!({
                "id": "8",
                "price": 1299,
                "rating": -3,
                "sku": null,
                "cats": [],
                "slug": "",
                "codes": null,
                "when": null,
                "day": null,
                "note": "hand made",
                "brand": null,
                "naira": "1.299,00 €",
                "link": format!("{b}/market/item/8"),
                "name": "Eight",
            }),
            json!({
                "id": null,
                "price": null,
                "rating": null,
                "sku": null,
                "cats": null,
                "slug": null,
                "codes": null,
                "when": null,
                "day": null,
                "note": "none",
                "brand": null,
                "naira": "free",
                "link": null,
                "name": null,
            }),
        ]
    );
    // `int` writes a JSON integer, `number` an integer when it is one.
    assert!(records[0]["rating"].is_i64() && records[0]["price"].is_i64());
    // The detail URLs were built by `fmt` from the ids: nothing else was
    // asked for (no `/item/` for the item without an id).
    assert_eq!(sorted_paths(&server), ["/item/7", "/item/8", "/market/"]);
    assert_no_failures(&summary);
}

// ---------------------------------------------------- 3. JSON inside HTML

/// An ld+json block.
fn ld(json: &str) -> String {
    format!("<script type=\"application/ld+json\">{json}</script>\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_from_on_a_list_page_and_json_re_on_detail_pages() {
    let server = TestServer::start().await;
    let b = base(&server);
    let list = ld(r#"{"@type": "Organization", "name": "Shop"}"#)
        + &ld(r#"{"@type": "ItemList", oops this is not JSON"#)
        + &ld(r#"{"@type": "ItemList", "itemListElement": [
            {"name": "Alpha", "url": "/p/a", "offers": {"price": "1,200.50"}},
            {"name": "Beta", "url": "p/b", "offers": {"price": "3"}}]}"#);
    server.route("/catalog/", html(&list));
    let state = |sku: &str, colours: &[&str]| {
        let variants: Vec<String> = colours
            .iter()
            .map(|c| format!(r#"{{"colour": "{c}"}}"#))
            .collect();
        html(&format!(
            "<p>text</p><script>var x = 1; window.__STATE__ = {{\"product\": {{\"sku\": \"{sku}\", \"variants\": [{}]}}}};\nrender();</script>",
            variants.join(", ")
        ))
    };
    server.route("/p/a", state("A-1", &["red", "blue", "green"]));
    server.route("/catalog/p/b", state("B-2", &[]));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/catalog/"
[list]
format = "json"
json_from = 'script[type="application/ld+json"]'
items = "[@type=ItemList].itemListElement"
fields.name = "name"
fields.url = "url | url"
fields.price = "offers.price | number"
fields.index = "::index"
[detail]
follow = "url"
format = "json"
json_re = 'window\.__STATE__\s*=\s*(\{.*?\});'
fields.sku = "product.sku"
fields.colours = "product.variants[].colour"
fields.last = "product.variants.-1.colour"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [
            json!({"name": "Alpha", "url": format!("{b}/p/a"), "price": 1200.5, "index": 0,
                   "sku": "A-1", "colours": ["red", "blue", "green"], "last": "green"}),
            json!({"name": "Beta", "url": format!("{b}/catalog/p/b"), "price": 3, "index": 1,
                   "sku": "B-2", "colours": [], "last": null}),
        ]
    );
    assert_eq!(sorted_paths(&server), ["/catalog/", "/catalog/p/b", "/p/a"]);
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_re_on_a_list_page_and_json_from_on_detail_pages() {
    let server = TestServer::start().await;
    let b = base(&server);
    server.route(
        "/state",
        html(
            r#"<script>window.__STATE__ = {"results": {"items": [{"id": 1, "slug": "x"}, {"id": 2, "slug": "y"}]}};</script>"#,
        ),
    );
    // The invalid block sits first: skipping it shifts the others down.
    let detail = |name: &str| {
        html(
            &(ld("{ not json")
                + &ld(r#"{"@type": "BreadcrumbList", "name": "crumbs"}"#)
                + &ld(&format!(
                    r#"{{"@type": "Product", "name": "{name}", "brand": {{"name": "Acme"}}}}"#
                ))),
        )
    };
    server.route("/d/x", detail("Ex"));
    server.route("/d/y", detail("Why"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/state"
[list]
format = "json"
json_re = 'window\.__STATE__\s*=\s*(\{.*?\});'
items = "results.items"
fields.id = "id"
fields.link = "slug | fmt: '/d/{}' | url"
[detail]
follow = "link"
format = "json"
json_from = 'script[type="application/ld+json"]'
fields.name = "[@type=Product].name"
fields.brand = "[@type=Product].brand.name"
fields.second = "1.name"
fields.blocks = "[].@type"
"#,
    ))
    .await;

    let rec = |id: u32, slug: &str, name: &str| {
        json!({"id": id, "link": format!("{b}/d/{slug}"), "name": name, "brand": "Acme",
               "second": name, "blocks": ["BreadcrumbList", "Product"]})
    };
    assert_eq!(records, [rec(1, "x", "Ex"), rec(2, "y", "Why")]);
    assert_eq!(sorted_paths(&server), ["/d/x", "/d/y", "/state"]);
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_items_landing_on_an_object_is_one_record() {
    let server = TestServer::start().await;
    server.route(
        "/api/one",
        Reply::json(
            r#"{"data": {"id": 5, "name": "solo", "tags": ["a", "b"],
                "variants": [{"colour": "red", "price": 1}, {"colour": "blue", "price": 2}],
                "features": [{"label": "Prezzo", "value": "9 €"}, {"label": "Anno", "value": 2020},
                             {"label": "Prezzo", "value": "later rows win"}]}}"#,
        ),
    );
    server.route(
        "/api/whole",
        Reply::json(r#"{"data": {"id": 6, "name": "whole"}}"#),
    );

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/api/one"
[list]
format = "json"
items = "data"
fields.name = "name"
fields.tags = "tags[]"
fields.index = "::index"
fields.page = "::page"
fields.prices = "variants[].price"
fields.last = "variants.-1.colour"
fields.prezzo = "features[label=Prezzo].value | number"
fields.variants = { each = "variants", fields = { c = "colour | upper" } }
fields.specs = { rows = "features", key = "label", value = "value" }
"#,
    ))
    .await;
    assert_eq!(
        records,
        [json!({
            "name": "solo",
            "tags": ["a", "b"],
            "index": 0,
            "page": 1,
            "prices": [1, 2],
            "last": "blue",
            "prezzo": 9,
            "variants": [{"c": "RED"}, {"c": "BLUE"}],
            "specs": {"Prezzo": "later rows win", "Anno": 2020},
        })]
    );
    assert_no_failures(&summary);

    // Without fields the object is emitted whole.
    let (records, summary) = run(spider(
        &server,
        "start = \"BASE/api/whole\"\n[list]\nformat = \"json\"\nitems = \"data\"\n",
    ))
    .await;
    assert_eq!(records, [json!({"id": 6, "name": "whole"})]);
    assert_no_failures(&summary);
}

// ------------------------------------------------------ 4. require, unique

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_drops_records_and_skips_their_detail_pages() {
    let server = TestServer::start().await;
    let item = |name: &str, sku: Option<&str>, tags: &[&str]| {
        let sku = sku
            .map(|s| format!("<span class=\"sku\">{s}</span>"))
            .unwrap_or_default();
        let tags: String = tags.iter().map(|t| format!("<i>{t}</i>")).collect();
        format!(
            "<div class=\"item\"><h2>{name}</h2>{sku}{tags}<a href=\"/d/{name}\">more</a></div>\n"
        )
    };
    server.route(
        "/list",
        html(
            &[
                item("a", Some("S-A"), &["t"]),
                item("b", None, &["t"]),        // no sku: null
                item("c", Some(" "), &["t"]),   // sku "": empty
                item("d", Some("S-D"), &[]),    // no tags: []
                item("e", Some("S-E"), &["t"]), // its detail page lacks stock
                item("f", Some("S-F"), &["t", "u"]),
            ]
            .concat(),
        ),
    );
    for (name, stock) in [
        ("a", "<b class=\"stock\">3</b>"),
        ("b", "<b class=\"stock\">1</b>"),
        ("c", "<b class=\"stock\">1</b>"),
        ("d", "<b class=\"stock\">1</b>"),
        ("e", "<b class=\"other\">1</b>"),
        ("f", "<b class=\"stock\">9</b>"),
    ] {
        server.route(&format!("/d/{name}"), html(stock));
    }

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/list"
[list]
item = ".item"
fields.name = "h2::text"
fields.sku = ".sku::text"
fields.tags = "i::text[]"
fields.url = "a::attr(href)"
require = ["sku", "tags"]
[detail]
follow = "url"
fields.stock = ".stock::text | int"
require = "stock"
"#,
    ))
    .await;

    let b = base(&server);
    assert_eq!(
        records,
        [
            json!({"name": "a", "sku": "S-A", "tags": ["t"], "url": format!("{b}/d/a"), "stock": 3}),
            json!({"name": "f", "sku": "S-F", "tags": ["t", "u"], "url": format!("{b}/d/f"), "stock": 9}),
        ]
    );
    // Items dropped by the list's `require` never cost a request.
    assert_eq!(sorted_paths(&server), ["/d/a", "/d/e", "/d/f", "/list"]);
    assert_eq!(summary.records, 2);
    assert_eq!(
        summary.dropped_require, 4,
        "b, c, d by the list; e by the detail"
    );
    assert_eq!(summary.dropped_unique, 0);
    let line = summary.to_string();
    assert!(
        line.contains("4 records dropped (4 by require, 0 by unique)"),
        "{line}"
    );
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_and_unique_on_whole_json_items() {
    let server = TestServer::start().await;
    server.route(
        "/api?page=1",
        Reply::json(r#"{"items": [{"id": 1, "name": "a"}, {"id": 2}, {"id": 3, "name": ""}]}"#),
    );
    server.route(
        "/api?page=2",
        Reply::json(r#"{"items": [{"id": 1, "name": "again"}, {"id": 4, "name": "d"}]}"#),
    );
    server.route("/api?page=3", Reply::json(r#"{"items": []}"#));

    // Whole items: the names are the server's, checked per record.
    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/api?page={page}"
[list]
format = "json"
items = "items"
require = "name"
unique = "id"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [json!({"id": 1, "name": "a"}), json!({"id": 4, "name": "d"})]
    );
    assert_eq!((summary.dropped_require, summary.dropped_unique), (2, 1));
    assert_no_failures(&summary);
}

/// A page whose items are all dropped still had items: open-ended paging
/// goes on past it (it stops at a page with no items at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_emptied_by_require_does_not_end_open_ended_paging() {
    let server = TestServer::start().await;
    server.route("/p/1", html("<p class=\"item\"><b>a</b></p>"));
    server.route("/p/2", html("<p class=\"item\">no name</p>"));
    server.route("/p/3", html("<p class=\"item\"><b>c</b></p>"));
    server.route("/p/4", html("<p>no items</p>"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/p/{page}"
[list]
item = ".item"
fields.name = "b::text"
require = "name"
"#,
    ))
    .await;

    assert_eq!(records, [json!({"name": "a"}), json!({"name": "c"})]);
    assert_eq!(summary.dropped_require, 1);
    assert_eq!(sorted_paths(&server), ["/p/1", "/p/2", "/p/3", "/p/4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_unique_keeps_the_first_in_discovery_order_whichever_page_lands_first() {
    let server = TestServer::start().await;
    let page = |ids: &[&str]| {
        html(
            &ids.iter()
                .map(|id| format!("<p class=\"item\">{id}</p>\n"))
                .collect::<String>(),
        )
    };
    // Page 1 answers last; its records must still win over later repeats.
    let slow = Duration::from_millis(300);
    server.route("/p/1", page(&["x", "y"]).delay(slow));
    server.route("/p/2", page(&["y", "z", "z"]));
    server.route("/p/3", page(&["x", "w", "z"]));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/p/{page}"
last_page = 3
[list]
item = ".item"
fields.id = "::text"
fields.page = "::page"
fields.index = "::index"
unique = "id"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [
            json!({"id": "x", "page": 1, "index": 0}),
            json!({"id": "y", "page": 1, "index": 1}),
            json!({"id": "z", "page": 2, "index": 1}),
            json!({"id": "w", "page": 3, "index": 1}),
        ]
    );
    // Pages 2 and 3 were answered while page 1 was still held back.
    let first = server.hits_for("/p/1")[0].at;
    for later in ["/p/2", "/p/3"] {
        assert!(server.hits_for(later)[0].at < first + slow, "{later}");
    }
    assert_eq!(summary.records, 4);
    assert_eq!(summary.dropped_unique, 4);
    assert_eq!(summary.dropped_require, 0);
    let line = summary.to_string();
    assert!(
        line.contains("4 records dropped (0 by require, 4 by unique)"),
        "{line}"
    );
    assert_no_failures(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_over_several_fields_and_on_detail_fields() {
    let server = TestServer::start().await;
    let b = base(&server);
    let item = |brand: &str, model: &str, d: &str| {
        format!(
            "<div class=\"item\"><b>{brand}</b><i>{model}</i><a href=\"/d/{d}\">more</a></div>\n"
        )
    };
    server.route(
        "/list",
        html(
            &[
                item("acme", "x", "1"),
                item("acme", "y", "2"),
                item("other", "x", "3"),
                item("acme", "x", "4"), // a repeat of (acme, x): dropped, not fetched
                item("zeta", "q", "5"),
                item("zeta", "r", "6"),
            ]
            .concat(),
        ),
    );
    // Detail 2 answers last; by detail `sku` it still wins over detail 3.
    server.route(
        "/d/2",
        html("<p class=\"sku\">S-2</p>").delay(Duration::from_millis(200)),
    );
    // /d/4 may be fetched: `unique` is decided at emission, in order.
    for (d, sku) in [
        ("1", "S-1"),
        ("3", "S-2"),
        ("4", "S-4"),
        ("5", "S-5"),
        ("6", "S-1"),
    ] {
        server.route(
            &format!("/d/{d}"),
            html(&format!("<p class=\"sku\">{sku}</p>")),
        );
    }

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/list"
[list]
item = ".item"
fields.brand = "b::text"
fields.model = "i::text"
fields.url = "a::attr(href)"
unique = ["brand", "model"]
[detail]
follow = "url"
fields.sku = ".sku::text"
unique = "sku"
"#,
    ))
    .await;

    let rec = |brand: &str, model: &str, d: &str, sku: &str| json!({"brand": brand, "model": model, "url": format!("{b}/d/{d}"), "sku": sku});
    assert_eq!(
        records,
        [
            rec("acme", "x", "1", "S-1"),
            rec("acme", "y", "2", "S-2"),
            rec("zeta", "q", "5", "S-5"),
        ]
    );
    assert_eq!(
        summary.dropped_unique, 3,
        "(acme, x) by the list; S-2 and S-1 by the detail"
    );
    assert_eq!(summary.records, 3);
    assert_no_failures(&summary);
}

/// A list `unique` and a detail `unique` are two rules over different fields:
/// a detail value equal to some list value is not a repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn list_and_detail_unique_do_not_share_their_values() {
    let server = TestServer::start().await;
    let b = base(&server);
    server.route(
        "/list",
        html(
            "<p class=\"item\"><a href=\"/d/1\">A-1</a></p>\n\
             <p class=\"item\"><a href=\"/d/2\">A-2</a></p>",
        ),
    );
    // The detail page's sku happens to equal the list's id, as shops do.
    server.route("/d/1", html("<p class=\"sku\">A-1</p>"));
    server.route("/d/2", html("<p class=\"sku\">A-2</p>"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/list"
[list]
item = ".item"
fields.id = "a::text"
fields.url = "a::attr(href)"
unique = "id"
[detail]
follow = "url"
fields.sku = ".sku::text"
unique = "sku"
"#,
    ))
    .await;

    assert_eq!(
        records,
        [
            json!({"id": "A-1", "url": format!("{b}/d/1"), "sku": "A-1"}),
            json!({"id": "A-2", "url": format!("{b}/d/2"), "sku": "A-2"}),
        ]
    );
    assert_eq!(summary.dropped_unique, 0);
}

// ------------------------------------------------------------ 5. key, omit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_gives_the_identity_and_omit_hides_fields_that_still_work() {
    let server = TestServer::start().await;
    server.route(
        "/p/1",
        html(
            "<div class=\"item\" data-id=\"7\"><h2>Seven</h2><span class=\"sku\">A-1</span></div>\n\
             <div class=\"item\" data-id=\"8\"><h2>Eight</h2><span class=\"sku\">B-2</span></div>\n\
             <div class=\"item\" data-id=\"7\"><h2>Seven again</h2><span class=\"sku\">A-1</span></div>",
        ),
    );
    server.route("/item/7", html("<p class=\"stock\">3 left</p>"));
    server.route("/item/8", html("<p class=\"stock\">none</p>"));
    let toml = |top: &str| {
        format!(
            r#"
start = "BASE/p/{{page}}"
last_page = 1
{top}
[list]
item = ".item"
fields.id = "::attr(data-id) | int"
fields.name = "h2::text"
fields.sku = ".sku::text"
fields.page = "::page"
fields.link = "::attr(data-id) | fmt: '/item/{{}}'"
require = ["id", "link"]
unique = "id"
[detail]
follow = "link"
fields.stock = ".stock::text"
"#
        )
    };

    // One key field: its text. `omit` takes out the fields `follow`,
    // `require`, `unique` and `key` used.
    let (records, summary) = crawl(spider(
        &server,
        &toml("key = \"id\"\nomit = [\"id\", \"link\"]"),
    ))
    .await;
    let identities: Vec<Option<&str>> = records.iter().map(Record::identity).collect();
    assert_eq!(identities, [Some("7"), Some("8")]);
    let values: Vec<Value> = records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    assert_eq!(
        values,
        [
            json!({"name": "Seven", "sku": "A-1", "page": 1, "stock": "3 left"}),
            json!({"name": "Eight", "sku": "B-2", "page": 1, "stock": "none"}),
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.get("link").is_none() && r.get("id").is_none()));
    assert_eq!(summary.dropped_unique, 1);
    assert_eq!(
        sorted_paths(&server),
        ["/item/7", "/item/8", "/p/1"],
        "the omitted `link` was followed"
    );

    // Several key fields: a JSON array of their values, in `key` order.
    let (records, _) = crawl(spider(
        &server,
        &toml("key = [\"sku\", \"id\", \"page\"]\nomit = \"link\""),
    ))
    .await;
    let identities: Vec<Option<&str>> = records.iter().map(Record::identity).collect();
    assert_eq!(identities, [Some(r#"["A-1",7,1]"#), Some(r#"["B-2",8,1]"#)]);
    assert_eq!(
        keys(&serde_json::to_value(&records[0]).unwrap()),
        ["id", "name", "sku", "page", "stock"]
    );
    // A detail field can be the key too.
    let (records, _) = crawl(spider(&server, &toml("key = \"stock\""))).await;
    let identities: Vec<Option<&str>> = records.iter().map(Record::identity).collect();
    assert_eq!(identities, [Some("3 left"), Some("none")]);
    assert_eq!(
        serde_json::to_value(&records[0]).unwrap()["link"],
        json!("/item/7"),
        "without omit every field stays"
    );

    // Without `key` there is no identity.
    let (records, _) = crawl(spider(&server, &toml(""))).await;
    assert!(records.iter().all(|r| r.identity().is_none()));
}

// ------------------------------------------------------------- the binary

/// Writes a spider file (with `BASE` filled in) into `dir`; returns its path.
fn spider_file(server: &TestServer, dir: &TempDir, file: &str, text: &str) -> PathBuf {
    let path = dir.path().join(file);
    std::fs::write(&path, text.replace("BASE", &base(server))).expect("write spider file");
    path
}

// ------------------------------------------------------------ 6. check

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_each_fields_selector_filters_and_type() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let path = spider_file(
        &server,
        &dir,
        "shop.toml",
        r#"
start = "BASE/shop/{page}"
last_page = 2
key = ["sku", "id"]
omit = "link"
[list]
item = ".item"
fields.id = "::attr(data-id) | int"
fields.title = ".title::text | trim | lower"
fields.price = '.price::text | replace: "," "." | number'
fields.tags = ".tags a::text[]"
fields.cats = ".cats::text | split: '/'"
fields.files = { each = ".files a", fields = { title = "::text", href = "::attr(href)" } }
fields.specs = { rows = ".specs tr", key = "th", value = "td" }
fields.site = { const = "Shop" }
fields.flag = { const = true }
fields.alt = [".sale::text", ".price::text"]
fields.page = "::page"
fields.link = "::attr(data-id) | fmt: '/item/{}'"
require = ["title"]
unique = "id"
[detail]
follow = "link | url"
format = "json"
json_re = 'window\.__STATE__\s*=\s*(\{.*?\});'
fields.sku = "product.sku"
fields.when = "product.date | date: '%d/%m/%Y'"
require = "sku"
unique = ["sku"]
[limits]
rate = 0
"#,
    );

    let run = trawl(["check", &s(&path)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let plan = &run.stdout;
    let line = |section: &str, name: &str| {
        let start = format!("{section} field {name} ");
        plan.lines()
            .map(str::trim)
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no line for {section} field {name}:\n{plan}"))
    };
    #[rustfmt::skip]
    let wanted = [
        ("list", "id", "`::attr(data-id)` | int", "-> int"),
        ("list", "title", "`.title::text` | trim | lower", "-> text"),
        ("list", "price", "`.price::text` | replace: ',' '.' | number", "-> number"),
        ("list", "tags", "`.tags a::text[]`", "-> json"),
        ("list", "cats", "`.cats::text` | split: '/'", "-> json"),
        ("list", "files", "each `.files a` {title, href}", "-> json"),
        ("list", "specs", "rows `.specs tr`", "-> json"),
        ("list", "site", "\"Shop\"", "-> text"),
        ("list", "flag", "true", "-> bool"),
        ("list", "alt", "`.sale::text`, `.price::text`", "-> text"),
        ("list", "page", "`::page`", "-> int"),
        ("list", "link", "`::attr(data-id)` | fmt: '/item/{}'", "-> text"),
        ("detail", "sku", "`product.sku`", "-> text"),
        ("detail", "when", "`product.date` | date: '%d/%m/%Y'", "-> text"),
    ];
    for (section, name, shown, kind) in wanted {
        let line = line(section, name);
        assert!(line.contains(shown), "{shown:?} missing from {line:?}");
        assert!(line.ends_with(kind), "{line:?} should end with {kind:?}");
    }
    for shown in [
        "list require: title",
        "list unique:  id",
        "detail require: sku",
        "detail unique:  sku",
        "key:     sku, id",
        "omit:    link",
        "field `link` | url",
        "window\\.__STATE__",
    ] {
        assert!(
            plan.contains(shown),
            "{shown:?} missing from the plan:\n{plan}"
        );
    }
    assert!(
        plan.ends_with(&format!("{}: ok\n", path.display())),
        "{plan}"
    );
    assert!(
        server.hits().is_empty(),
        "check made requests: {:?}",
        server.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_field_rules_exit_2_name_the_key_and_fetch_nothing() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let start = "start = \"BASE/list/{page}\"\nlast_page = 2\n";
    let list = |extra: &str| {
        format!(
            "{start}[list]\nitem = \".item\"\nfields.title = \".title::text\"\n\
             fields.url = \"a::attr(href)\"\n{extra}\n"
        )
    };
    let detail = |extra: &str| {
        format!(
            "{}[detail]\nfollow = \"url\"\nfields.body = \".body::text\"\n{extra}\n",
            list("")
        )
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("filter_typo", list("fields.name = \".name::text | trim | lowr\""),
            vec!["key `list.fields.name`", "unknown filter `lowr`", "did you mean `lower`?"]),
        ("filter_far", list("fields.name = \".name::text | frobnicate\""),
            vec!["key `list.fields.name`", "unknown filter `frobnicate`", "lower"]),
        ("filter_args", list("fields.name = \".name::text | split\""),
            vec!["key `list.fields.name`", "split", "one argument"]),
        ("regex", list("fields.sku = '.sku::text | re: \"(unclosed\"'"),
            vec!["key `list.fields.sku`", "regular expression", "(unclosed"]),
        ("date_directive", list("fields.day = \".day::text | date: '%d %Q %Y'\""),
            vec!["key `list.fields.day`", "%Q"]),
        ("date_no_year", list("fields.day = \".day::text | date: '%d/%m'\""),
            vec!["key `list.fields.day`", "year"]),
        ("fmt", list("fields.p = [\".a::text\", \".b::text | fmt: 'x'\"]"),
            vec!["key `list.fields.p[1]`", "fmt", "{}"]),
        ("follow_filter", detail("").replace("follow = \"url\"", "follow = \"url | lowr\""),
            vec!["key `detail.follow`", "did you mean `lower`?"]),
        ("require", list("require = [\"title\", \"skuu\"]"),
            vec!["key `list.require`", "`skuu`", "`title`, `url`"]),
        ("require_empty", list("require = []"),
            vec!["key `list.require`", "at least one field"]),
        ("unique", list("unique = \"nope\""),
            vec!["key `list.unique`", "`nope`"]),
        ("detail_require", detail("require = [\"body\", \"missing\"]"),
            vec!["key `detail.require`", "`missing`"]),
        ("detail_unique", detail("unique = \"missing\""),
            vec!["key `detail.unique`", "`missing`"]),
        ("key", format!("key = \"nope\"\n{}", list("")),
            vec!["key `key`", "`nope`"]),
        ("omit", format!("omit = [\"title\", \"nope\"]\n{}", list("")),
            vec!["key `omit`", "`nope`"]),
        ("each_typo", list("fields.files = { each = \".f a\", feilds = { t = \"::text\" } }"),
            vec!["key `list.fields.files.feilds`", "did you mean `fields`?"]),
        ("each_without_fields", list("fields.files = { each = \".f a\" }"),
            vec!["key `list.fields.files.fields`"]),
        ("rows_without_value", list("fields.specs = { rows = \"tr\", key = \"th\" }"),
            vec!["key `list.fields.specs.value`"]),
        ("const_and_more", list("fields.c = { const = 1, each = \".a\" }"),
            vec!["key `list.fields.c.each`", "const"]),
        ("bare_number", list("fields.n = 3"),
            vec!["key `list.fields.n`", "{ const = 3 }"]),
        ("index_in_detail", detail("fields.pos = \"::index\""),
            vec!["key `detail.fields.pos`", "::index"]),
        ("json_from_html", list("json_from = \"script\""),
            vec!["key `list.json_from`", "format = \"json\""]),
        ("json_re", format!("{start}[list]\nformat = \"json\"\njson_re = \"(x\"\n"),
            vec!["key `list.json_re`", "regular expression"]),
        ("list_key_typo", list("requre = \"title\""),
            vec!["key `list.requre`", "unknown key", "did you mean `require`?"]),
        ("section_typo", format!("{}[detial]\nfollow = \"url\"\n", list("")),
            vec!["key `detial`", "unknown key", "did you mean `detail`?"]),
        // `[links]` is a section since §8; `follow` is none of its keys.
        ("links", format!("{}[links]\nfollow = \"a\"\n", list("")),
            vec!["key `links.follow`", "unknown key"]),
    ];
    for (name, text, wanted) in &cases {
        let path = spider_file(&server, &dir, &format!("{name}.toml"), text);
        for sub in ["check", "crawl"] {
            let run = trawl([sub, &s(&path)]).await;
            assert_eq!(run.code, Some(2), "{sub} {name}: {run:?}");
            assert!(run.stdout.is_empty(), "{sub} {name}: {:?}", run.stdout);
            let prefix = format!("trawl: error: {}: ", path.display());
            assert!(
                run.stderr.starts_with(&prefix),
                "{sub} {name}: {}",
                run.stderr
            );
            for w in wanted {
                assert!(
                    run.stderr.contains(w),
                    "{sub} {name}: wanted {w:?} in {}",
                    run.stderr
                );
            }
        }
        assert!(
            server.hits().is_empty(),
            "{name}: requests made: {:?}",
            server.hits()
        );
    }
}

/// A filter's own message follows the key, as "unknown key" does; today every
/// filter error is prefixed with "expected", which reads "expected unknown
/// filter `lowr`" and "expected filter `split` takes one argument".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn filter_errors_read_as_sentences() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let text = |rule: &str| {
        format!("start = \"BASE/\"\n[list]\nitem = \".item\"\nfields.name = \"{rule}\"\n")
    };
    for (file, rule, message) in [
        (
            "typo.toml",
            ".name::text | lowr",
            "key `list.fields.name`: unknown filter `lowr`; did you mean `lower`?",
        ),
        (
            "args.toml",
            ".name::text | split",
            "key `list.fields.name`: filter `split` takes one argument ('separator'), found 0",
        ),
    ] {
        let path = spider_file(&server, &dir, file, &text(rule));
        let run = trawl(["check", &s(&path)]).await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains(message),
            "wanted {message:?} in {}",
            run.stderr
        );
    }
}

// ------------------------------------------------------ 7. file outputs

/// A shop whose records carry arrays, sub-records and label → value objects;
/// one item fails `require`, one repeats an id. Returns the spider text.
fn array_shop(server: &TestServer) -> &'static str {
    server.route(
        "/shop/1",
        html(
            r#"<div class="item" data-id="1"><h2>Alpha, "the first"</h2><span class="price">₦ 4,500</span>
  <i>red</i><i>blue</i>
  <ul><li><a href="/f/a.pdf">Manual</a></li></ul>
  <table><tr><th>Colour</th><td>Red</td></tr></table></div>
<div class="item" data-id="2"><span class="price">12</span></div>
<div class="item" data-id="3"><h2>Gamma</h2></div>"#,
        ),
    );
    server.route(
        "/shop/2",
        html(
            r#"<div class="item" data-id="1"><h2>Alpha again</h2></div>
<div class="item" data-id="4"><h2>Delta</h2><i>x</i><span class="price">7.500</span></div>"#,
        ),
    );
    for (id, stock) in [("1", "3"), ("3", "0"), ("4", "12")] {
        server.route(
            &format!("/item/{id}"),
            html(&format!("<p class=\"stock\">{stock} left</p>")),
        );
    }
    r#"
name = "shop"
start = "BASE/shop/{page}"
last_page = 2
[list]
item = ".item"
fields.id = "::attr(data-id) | int"
fields.title = "h2::text"
fields.price = ".price::text | number"
fields.tags = "i::text[]"
fields.files = { each = "ul a", fields = { title = "::text", href = "::attr(href)" } }
fields.specs = { rows = "tr", key = "th", value = "td" }
fields.shop = { const = "Shop" }
require = "title"
unique = "id"
[detail]
follow = "id | fmt: '/item/{}'"
fields.stock = ".stock::text | int"
[limits]
rate = 0
robots = false
"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_json_outputs_carry_arrays_and_sub_records() {
    let server = TestServer::start().await;
    let b = base(&server);
    let dir = TempDir::new().unwrap();
    let path = s(&spider_file(
        &server,
        &dir,
        "shop.toml",
        array_shop(&server),
    ));

    let expected = [
        json!({"id": 1, "title": "Alpha, \"the first\"", "price": 4500, "tags": ["red", "blue"],
               "files": [{"title": "Manual", "href": format!("{b}/f/a.pdf")}],
               "specs": {"Colour": "Red"}, "shop": "Shop", "stock": 3}),
        json!({"id": 3, "title": "Gamma", "price": null, "tags": [], "files": [], "specs": {},
               "shop": "Shop", "stock": 0}),
        json!({"id": 4, "title": "Delta", "price": 7500, "tags": ["x"], "files": [], "specs": {},
               "shop": "Shop", "stock": 12}),
    ];

    // CSV: arrays and objects as JSON text, null empty, numbers as written.
    let csv = dir.path().join("out.csv");
    let run = trawl(["crawl", &path, "-o", &s(&csv)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{:?}", run.stdout);
    let summary = summary_line(&run.stderr);
    assert!(summary.contains(", 3 records,"), "{summary}");
    assert!(
        summary.contains("2 records dropped (1 by require, 1 by unique)"),
        "{summary}"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&csv)
        .unwrap();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let files = format!(r#"[{{"title":"Manual","href":"{b}/f/a.pdf"}}]"#);
    #[rustfmt::skip]
    let want: Vec<Vec<&str>> = vec![
        vec!["id", "title", "price", "tags", "files", "specs", "shop", "stock"],
        vec!["1", "Alpha, \"the first\"", "4500", r#"["red","blue"]"#, &files, r#"{"Colour":"Red"}"#, "Shop", "3"],
        vec!["3", "Gamma", "", "[]", "[]", "{}", "Shop", "0"],
        vec!["4", "Delta", "7500", r#"["x"]"#, "[]", "{}", "Shop", "12"],
    ];
    assert_eq!(rows, want);

    // JSON: one array of the records, keys in declaration order.
    let out = dir.path().join("out.json");
    let run = trawl(["crawl", &path, "-o", &s(&out)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        summary_line(&run.stderr).contains("2 records dropped (1 by require, 1 by unique)"),
        "{}",
        run.stderr
    );
    let array: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(array, Value::Array(expected.to_vec()));
    for record in array.as_array().unwrap() {
        assert_eq!(
            keys(record),
            ["id", "title", "price", "tags", "files", "specs", "shop", "stock"]
        );
    }

    // stdout: the same records as JSON Lines.
    let run = trawl(["crawl", &path]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, expected);
    // Each crawl: two list pages and the three kept items' details; the
    // item dropped by `require` (id 2) was never followed.
    assert_eq!(server.count("/shop/1"), 3);
    assert_eq!(server.count("/item/2"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn omitted_fields_have_no_csv_column() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    server.route(
        "/list",
        html("<p class=\"item\" data-id=\"7\"><b>Seven</b></p>"),
    );
    server.route("/item/7", html("<p class=\"stock\">3</p>"));
    let path = spider_file(
        &server,
        &dir,
        "omit.toml",
        r#"
start = "BASE/list"
omit = ["id", "link"]
[list]
item = ".item"
fields.id = "::attr(data-id)"
fields.name = "b::text"
fields.link = "::attr(data-id) | fmt: '/item/{}'"
[detail]
follow = "link"
fields.stock = ".stock::text"
[limits]
rate = 0
robots = false
"#,
    );
    let csv = dir.path().join("out.csv");
    let run = trawl(["crawl", &s(&path), "-o", &s(&csv)]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "name,stock\nSeven,3\n"
    );
}

// ------------------------------------------------------------ 8. resume

/// List pages and items of the resume site: enough records per page that
/// the CLI commits (every 1000 records) every two or three pages.
const PAGES: u32 = 16;
const PER_PAGE: u32 = 500;
/// 12 list pages a second: a whole crawl takes about 1.3 s, room for kills
/// to land mid-crawl even on a loaded machine.
const PACE: [&str; 5] = ["--rate", "12", "--burst", "1", "--no-robots"];
/// SIGKILLs that must land mid-crawl, each after a commit of its own run.
const KILLS: usize = 4;
/// The id of item `i` on page `p`: item 0 of every page repeats page 1's
/// first id, the rest are scattered over fewer ids than items, so repeats
/// fall both near and far behind (across any kill).
fn resume_id(p: u32, i: u32) -> u64 {
    let k = match i {
        0 => 0,
        _ => u64::from((p - 1) * PER_PAGE + i),
    };
    XorShift(k.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1).next() % 6000
}

/// Routes the site (JSON pages, cheap to read); returns every item as
/// (id, page, index), in discovery order.
fn resume_site(server: &TestServer) -> Vec<(u64, u32, u32)> {
    let mut items = Vec::new();
    for p in 1..=PAGES {
        let ids: Vec<String> = (0..PER_PAGE)
            .map(|i| {
                items.push((resume_id(p, i), p, i));
                format!(r#"{{"id": "{}"}}"#, resume_id(p, i))
            })
            .collect();
        server.route(
            &format!("/r?page={p}"),
            Reply::json(format!(r#"{{"items": [{}]}}"#, ids.join(", "))),
        );
    }
    items
}

/// The records a crawl of `items` writes from page `first` on, with every id
/// of the pages before already seen; and how many repeats it drops.
fn resume_expected(items: &[(u64, u32, u32)], first: u32) -> (Vec<Value>, usize) {
    let mut seen = std::collections::HashSet::new();
    let (mut records, mut dropped) = (Vec::new(), 0);
    for &(id, page, index) in items {
        let fresh = seen.insert(id);
        match (page >= first, fresh) {
            (false, _) => {}
            (true, true) => {
                records.push(json!({"id": id.to_string(), "page": page, "index": index}))
            }
            (true, false) => dropped += 1,
        }
    }
    (records, dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_holds_across_sigkill_and_resume() {
    let server = TestServer::start().await;
    let items = resume_site(&server);
    let (all, all_dropped) = resume_expected(&items, 1);
    assert!(all_dropped > 2 * PAGES as usize, "the site repeats ids");
    let dir = TempDir::new().unwrap();
    let spider = s(&spider_file(
        &server,
        &dir,
        "uniq.toml",
        &format!(
            r#"
start = "BASE/r?page={{page}}"
last_page = {PAGES}
[list]
format = "json"
items = "items"
fields.id = "id"
fields.page = "::page"
fields.index = "::index"
unique = "id"
"#
        ),
    ));
    let args = |out: &Path, state: &Path| -> Vec<String> {
        let mut args: Vec<String> = vec!["crawl".into(), spider.clone(), "-o".into(), s(out)];
        args.extend(["--state".into(), s(state)]);
        args.extend(PACE.iter().map(|a| a.to_string()));
        args
    };
    let read_records = |out: &Path| -> Vec<Value> {
        let text = std::fs::read_to_string(out).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };

    // Uninterrupted: every id once, its first sighting kept.
    let (out, state) = (dir.path().join("whole.jsonl"), dir.path().join("whole"));
    let (_, run) = run_killable(&args(&out, &state), &state, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(read_records(&out), all);
    let summary = summary_line(&run.stderr);
    assert!(
        summary.contains(&format!(
            "{all_dropped} records dropped (0 by require, {all_dropped} by unique)"
        )),
        "{summary}"
    );
    let whole = std::fs::read(&out).unwrap();

    // Killed a handful of times, each time after a commit of its own, then
    // run to its end: each rerun resumes mid-crawl with the ids committed
    // before the kill still counted as seen.
    let mut rng = XorShift::seeded("unique_holds_across_sigkill_and_resume");
    let (out, state) = (dir.path().join("killed.jsonl"), dir.path().join("killed"));
    let (mut kills, mut resumed_mid_crawl) = (0, 0);
    let last = loop {
        let kill = (kills < KILLS).then(|| Duration::from_millis(rng.range(0, 150)));
        let (killed, run) = run_killable(&args(&out, &state), &state, kill).await;
        // A kill may land after the crawl was marked complete, while the
        // process winds down: the rerun then says so and does nothing.
        let complete = run.stderr.contains("is complete");
        if kills > 0 && !complete {
            let at = resumed_at(&run.stderr).unwrap_or_else(|| panic!("no resume: {run:?}"));
            assert!(at > 0, "{}", run.stderr);
            resumed_mid_crawl += usize::from(at < all.len());
        }
        if !killed {
            break run;
        }
        kills += 1;
    };
    assert_eq!(last.code, Some(0), "{last:?}");
    assert!(resumed_mid_crawl >= 1, "{kills} kills, none mid-crawl");
    assert_eq!(
        read_records(&out),
        all,
        "every record exactly once, in order"
    );
    assert_eq!(std::fs::read(&out).unwrap(), whole, "byte for byte");

    // The last run dropped exactly the repeats on the pages it crawled,
    // repeats of ids committed by the killed runs included.
    let Some(committed) = resumed_at(&last.stderr) else {
        return; // the crawl was complete before the last kill
    };
    let first = (1..=PAGES + 1)
        .find(|&p| {
            all.iter()
                .filter(|r| r["page"].as_u64() < Some(u64::from(p)))
                .count()
                == committed
        })
        .expect("commits fall on page boundaries");
    let (rest, dropped) = resume_expected(&items, first);
    assert_eq!(rest.len() + committed, all.len());
    let summary = summary_line(&last.stderr);
    if dropped > 0 {
        let wanted = format!("{dropped} records dropped (0 by require, {dropped} by unique)");
        assert!(summary.contains(&wanted), "from page {first}: {summary}");
    }
}
