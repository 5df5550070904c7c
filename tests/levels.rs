//! SPEC §8 end to end: seed levels, sitemaps and link rules, through the
//! library against the scripted server in `tests/support`, then through the
//! real binary (bad combinations; SIGKILL and resume across levels).
//!
//! Every test asserts both halves of the contract: the records (values,
//! key order and record order, compared whole with `json!`) and what the
//! server was asked (each page exactly once, nothing outside the rules).
//! Pages early in discovery order are answered late (`Reply::delay`), so a
//! crawl that emitted records in the order fetches finish would fail.
//! Spider files are written with `BASE` standing for `http://127.0.0.1:PORT`.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::binary::{s, trawl};
use support::kill::{resumed_at, run_killable, XorShift};
use support::library::{base, crawl_to_end, spider_at};
use support::{Reply, TestServer};
use tempfile::TempDir;
use trawl::{Spider, Summary};

/// Long enough that a page answered this late finishes after pages
/// discovered after it.
const LATE: Duration = Duration::from_millis(150);

// ---------------------------------------------------------------- helpers

/// A spider from TOML with `BASE` filled in, unlimited and without
/// robots.txt (so the request log holds only the pages).
fn spider(server: &TestServer, toml: &str) -> Spider {
    spider_with(server, toml, "rate = 0\nrobots = false")
}

/// A spider from TOML with `BASE` filled in and these `[limits]`.
fn spider_with(server: &TestServer, toml: &str, limits: &str) -> Spider {
    spider_at(server, toml, limits, "levels")
}

/// Runs a crawl to its end: its records as JSON, and its summary.
async fn run(spider: Spider) -> (Vec<Value>, Summary) {
    let (records, summary) = crawl_to_end(spider).await;
    let values = records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    (values, summary)
}

fn html(body: &str) -> Reply {
    Reply::html(format!(
        "<!doctype html><html><body>\n{body}\n</body></html>"
    ))
}

fn keys(record: &Value) -> Vec<&str> {
    record
        .as_object()
        .expect("a record is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// How often the server was asked for each request-target.
fn hit_counts(server: &TestServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for hit in server.hits() {
        *counts.entry(hit.path).or_insert(0) += 1;
    }
    counts
}

/// The server was asked for exactly `paths`, each once.
fn assert_fetched_once(server: &TestServer, paths: &[&str]) {
    let want: BTreeMap<String, usize> = paths.iter().map(|p| (p.to_string(), 1)).collect();
    assert_eq!(want.len(), paths.len(), "a path listed twice in the test");
    assert_eq!(hit_counts(server), want, "requests, each page once");
}

fn assert_no_failures(summary: &Summary) {
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

/// A sitemap `<urlset>` of these `<loc>`s.
fn urlset(locs: &[String]) -> String {
    let urls: String = locs
        .iter()
        .map(|l| format!("  <url><loc>{l}</loc></url>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{urls}</urlset>\n"
    )
}

/// A `<sitemapindex>` of these sitemaps.
fn sitemap_index(locs: &[String]) -> String {
    let maps: String = locs
        .iter()
        .map(|l| format!("  <sitemap><loc>{l}</loc><lastmod>2026-11-30</lastmod></sitemap>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{maps}</sitemapindex>\n"
    )
}

/// `text` gzipped, as a `.xml.gz` file is stored (no Content-Encoding).
fn gzipped(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(text.as_bytes())
        .expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

// ------------------------------------------------------------ 1. seed levels

/// The greengrocer: a paged home page (seed level 1) of departments, each
/// department page (seed level 2) of categories, each category a list
/// paged by `next`, each product followed to its detail page. "Fruit" is
/// linked from two departments.
fn greengrocer(server: &TestServer) {
    server.route(
        "/",
        html(
            r#"<h1>Greengrocer</h1>
<nav>
  <a class="dept" href="/d/fresh">Fresh</a>
  <a class="dept" href="javascript:void(0)">Offers</a>
  <a class="dept" href="/d/pantry#top"> Pantry <b>&amp; more</b> </a>
</nav>
<a class="more" href="/?page=2">more departments</a>"#,
        ),
    );
    server.route(
        "/?page=2",
        html(
            r#"<h1>Greengrocer, page 2</h1><nav><a class="dept" href="/d/bakery">Bakery</a></nav>"#,
        ),
    );
    // The department pages; `../c/veg` is relative to /d/fresh.
    server.route(
        "/d/fresh",
        html(
            r#"<h2>Fresh food</h2>
<ul class="cats">
  <li><a class="cat" data-tag="f" href="/c/fruit">Fruit</a></li>
  <li><a class="cat" data-tag="v" href="../c/veg">Vegetables</a></li>
</ul>"#,
        ),
    );
    server.route(
        "/d/pantry",
        html(
            r#"<h2>Pantry</h2>
<ul class="cats">
  <li><a class="cat" data-tag="t" href="/c/tins">Tins</a></li>
  <li><a class="cat" data-tag="df" href="/c/fruit">Dried fruit</a></li>
</ul>"#,
        ),
    );
    server.route(
        "/d/bakery",
        html(r#"<h2>Bakery</h2><ul class="cats"><li><a class="cat" data-tag="l" href="/c/loaves">Loaves</a></li></ul>"#),
    );
    let list = |names: &[&str], next: Option<&str>| {
        let mut body = String::from("<ul>\n");
        for n in names {
            body += &format!(
                "<li class=\"product\"><span class=\"name\">{n}</span> <a href=\"/p/{}\">see</a></li>\n",
                n.to_lowercase()
            );
        }
        body += "</ul>\n";
        if let Some(next) = next {
            body += &format!("<a class=\"next\" href=\"{next}\">next</a>\n");
        }
        html(&body)
    };
    // Fruit's first page answers last of all the list pages.
    server.route(
        "/c/fruit",
        list(&["Apple", "Pear"], Some("/c/fruit?p=2")).delay(LATE),
    );
    server.route("/c/fruit?p=2", list(&["Plum"], None));
    server.route("/c/veg", list(&["Leek"], None));
    server.route("/c/tins", list(&["Beans"], Some("/c/tins/2")));
    server.route("/c/tins/2", list(&["Soup"], None));
    server.route("/c/loaves", list(&["Bread"], None));
    for (name, price) in [
        ("apple", "1.10"),
        ("pear", "1.20"),
        ("plum", "1.30"),
        ("leek", "0.90"),
        ("beans", "0.80"),
        ("soup", "1.50"),
        ("bread", "2.00"),
    ] {
        let page = html(&format!("<h1>{name}</h1><p class=\"price\">{price}</p>"));
        let page = if name == "apple" {
            page.delay(LATE)
        } else {
            page
        };
        server.route(&format!("/p/{name}"), page);
    }
}

const GREENGROCER: &str = r#"
start = "BASE/"

[[seed]]
links = "nav a.dept::attr(href)"
next = "a.more::attr(href)"
fields.shop = "h1::text"
fields.department = "::text"

[[seed]]
links = "ul.cats a.cat::attr(href)"
fields.heading = "h2::text"
fields.category = "::text"
fields.tag = "::attr(data-tag)"

[list]
item = "li.product"
next = "a.next::attr(href)"
fields.name = ".name::text"
fields.url = "a::attr(href)"

[detail]
follow = "url"
fields.price = ".price::text"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_levels_carry_their_fields_depth_first_each_page_once() {
    let server = TestServer::start().await;
    greengrocer(&server);
    let b = base(&server);
    let (records, summary) = run(spider(&server, GREENGROCER)).await;

    let rec =
        |shop: &str, dept: &str, heading: &str, cat: &str, tag: &str, name: &str, price: &str| {
            json!({
                "shop": shop, "department": dept, "heading": heading, "category": cat, "tag": tag,
                "name": name, "url": format!("{b}/p/{}", name.to_lowercase()), "price": price,
            })
        };
    let (g, fresh) = ("Greengrocer", "Fresh food");
    // Depth first in document order: everything below Fresh before Pantry;
    // Fruit is crawled once, under Fresh (the first path to reach it), so
    // Pantry's "Dried fruit" gives nothing; the home page's own next page
    // (Bakery) comes after everything the first home page leads to; the
    // `::text` of a link is all its text; `javascript:` is no link.
    assert_eq!(
        records,
        vec![
            rec(g, "Fresh", fresh, "Fruit", "f", "Apple", "1.10"),
            rec(g, "Fresh", fresh, "Fruit", "f", "Pear", "1.20"),
            rec(g, "Fresh", fresh, "Fruit", "f", "Plum", "1.30"),
            rec(g, "Fresh", fresh, "Vegetables", "v", "Leek", "0.90"),
            rec(g, "Pantry & more", "Pantry", "Tins", "t", "Beans", "0.80"),
            rec(g, "Pantry & more", "Pantry", "Tins", "t", "Soup", "1.50"),
            rec(
                "Greengrocer, page 2",
                "Bakery",
                "Bakery",
                "Loaves",
                "l",
                "Bread",
                "2.00"
            ),
        ]
    );
    // Outermost first: seed fields (level by level), list fields, detail fields.
    assert_eq!(
        keys(&records[0]),
        [
            "shop",
            "department",
            "heading",
            "category",
            "tag",
            "name",
            "url",
            "price"
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(
        &server,
        &[
            "/",
            "/?page=2",
            "/d/fresh",
            "/d/pantry",
            "/d/bakery",
            "/c/fruit",
            "/c/fruit?p=2",
            "/c/veg",
            "/c/tins",
            "/c/tins/2",
            "/c/loaves",
            "/p/apple",
            "/p/pear",
            "/p/plum",
            "/p/leek",
            "/p/beans",
            "/p/soup",
            "/p/bread",
        ],
    );
}

/// `page_param` counts the query parameter 1, 2, 3 … on every link of the
/// last seed level until a page has no items, keeping the link's other
/// parameters; the order of the parameters is the engine's to choose, so
/// the site answers every order and the check compares them sorted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_param_counts_from_1_until_a_page_has_no_items() {
    let server = TestServer::start().await;
    server.route(
        "/",
        html(
            r#"<a class="c" href="/list?cat=a&amp;sort=new">A</a>
<a class="c" href="/list?cat=b">B</a>
<a class="c" href="/list?page=7&amp;cat=c">C</a>"#,
        ),
    );
    let page = |names: &[&str]| {
        let items: String = names
            .iter()
            .map(|n| format!("<li><span>{n}</span></li>"))
            .collect();
        html(&format!("<ul>{items}</ul>"))
    };
    // Every order of the parameters answers the same.
    let route = |params: &[&str], reply: Reply| {
        for order in permutations(params) {
            server.route(&format!("/list?{}", order.join("&")), reply.clone());
        }
    };
    route(&["cat=a", "sort=new"], page(&["a1", "a2"])); // page 1 as the bare link
    route(&["cat=a", "sort=new", "page=1"], page(&["a1", "a2"]));
    route(&["cat=a", "sort=new", "page=2"], page(&["a3"]));
    route(&["cat=a", "sort=new", "page=3"], page(&[]));
    route(&["cat=a", "sort=new", "page=4"], page(&["past the end"]));
    route(&["cat=b"], page(&["b1"]));
    route(&["cat=b", "page=1"], page(&["b1"]));
    route(&["cat=b", "page=2"], page(&[]));
    // C's link carries page=7: page 1 replaces it, never asks for page 7.
    route(&["cat=c", "page=7"], page(&["wrong: page 7"]));
    route(&["cat=c", "page=1"], page(&["c1"]));
    route(&["cat=c", "page=2"], page(&[]));
    route(&["cat=c", "page=3"], page(&["past the end"]));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/"
[[seed]]
links = "a.c::attr(href)"
fields.cat = "::text"
[list]
item = "li"
page_param = "page"
fields.name = "span::text"
fields.page = "::page"
"#,
    ))
    .await;
    assert_eq!(
        records,
        vec![
            json!({"cat": "A", "name": "a1", "page": 1}),
            json!({"cat": "A", "name": "a2", "page": 1}),
            json!({"cat": "A", "name": "a3", "page": 2}),
            json!({"cat": "B", "name": "b1", "page": 1}),
            json!({"cat": "C", "name": "c1", "page": 1}),
        ]
    );
    assert_no_failures(&summary);
    // Page 1 may be the bare link: count it as page=1.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for hit in server.hits() {
        let key = match hit.path.split_once('?') {
            Some(("/list", query)) => {
                let mut params: Vec<&str> = query.split('&').collect();
                if !params.iter().any(|p| p.starts_with("page=")) {
                    params.push("page=1");
                }
                params.sort();
                format!("/list?{}", params.join("&"))
            }
            _ => hit.path,
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    let want: BTreeMap<String, usize> = [
        "/",
        "/list?cat=a&page=1&sort=new",
        "/list?cat=a&page=2&sort=new",
        "/list?cat=a&page=3&sort=new",
        "/list?cat=b&page=1",
        "/list?cat=b&page=2",
        "/list?cat=c&page=1",
        "/list?cat=c&page=2",
    ]
    .iter()
    .map(|p| (p.to_string(), 1))
    .collect();
    assert_eq!(counts, want, "each page once; nothing after an empty page");
}

fn permutations(items: &[&str]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.iter().map(|s| s.to_string()).collect()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.to_string());
            out.push(tail);
        }
    }
    out
}

/// A seed level may read JSON: `links` is a path (every value it gives),
/// made absolute against the seed page; its fields are paths on that page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_seed_level_leads_to_json_lists() {
    let server = TestServer::start().await;
    server.route(
        "/api/menu",
        Reply::json(
            r#"{"shop": "Corner", "sections": [{"href": "/api/list/a"}, {"href": "list/b"}]}"#,
        ),
    );
    server.route(
        "/api/list/a",
        Reply::json(r#"{"items": [{"n": 1}, {"n": 2}]}"#).delay(LATE),
    );
    server.route("/api/list/b", Reply::json(r#"{"items": [{"n": 3}]}"#));
    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/api/menu"
[[seed]]
format = "json"
links = "sections[].href"
fields.shop = "shop"
[list]
format = "json"
items = "items"
fields.n = "n"
"#,
    ))
    .await;
    assert_eq!(
        records,
        vec![
            json!({"shop": "Corner", "n": 1}),
            json!({"shop": "Corner", "n": 2}),
            json!({"shop": "Corner", "n": 3}),
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/api/menu", "/api/list/a", "/api/list/b"]);
}

// ------------------------------------------------------------ 2. sitemaps

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_urlset_gives_all_four_fields_or_the_named_ones() {
    let server = TestServer::start().await;
    let b = base(&server);
    // An image extension's `image:loc` is not the entry's `loc`; a `loc`
    // may be wrapped in whitespace and carry entities.
    server.route(
        "/sitemap.xml",
        Reply::bytes(
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>{b}/p/1</loc>
    <lastmod>2026-11-01</lastmod>
    <changefreq>daily</changefreq>
    <priority>0.8</priority>
    <image:image><image:loc>{b}/img/1.png</image:loc></image:image>
  </url>
  <url><loc>{b}/p/2</loc></url>
  <url>
    <priority>0.3</priority>
    <loc>
      {b}/p/3?a=1&amp;b=2
    </loc>
  </url>
</urlset>
"#
            )
            .into_bytes(),
        ),
    );

    let (records, summary) = run(spider(
        &server,
        "start = \"BASE/sitemap.xml\"\n[list]\nformat = \"sitemap\"\n",
    ))
    .await;
    assert_eq!(
        records,
        vec![
            json!({"loc": format!("{b}/p/1"), "lastmod": "2026-11-01", "changefreq": "daily", "priority": "0.8"}),
            json!({"loc": format!("{b}/p/2"), "lastmod": null, "changefreq": null, "priority": null}),
            json!({"loc": format!("{b}/p/3?a=1&b=2"), "lastmod": null, "changefreq": null, "priority": "0.3"}),
        ]
    );
    assert_eq!(
        keys(&records[0]),
        ["loc", "lastmod", "changefreq", "priority"]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/sitemap.xml"]);

    server.clear_hits();
    let (records, _) = run(spider(
        &server,
        r#"
start = "BASE/sitemap.xml"
[list]
format = "sitemap"
fields.url = "loc"
fields.updated = "lastmod"
"#,
    ))
    .await;
    assert_eq!(
        records,
        vec![
            json!({"url": format!("{b}/p/1"), "updated": "2026-11-01"}),
            json!({"url": format!("{b}/p/2"), "updated": null}),
            json!({"url": format!("{b}/p/3?a=1&b=2"), "updated": null}),
        ]
    );
    assert_fetched_once(&server, &["/sitemap.xml"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sitemap_index_is_followed_in_order_through_gzip_with_allow_and_deny() {
    let server = TestServer::start().await;
    let b = base(&server);
    let at = |p: &str| format!("{b}{p}");
    server.route(
        "/sitemap_index.xml",
        Reply::bytes(
            "application/xml",
            sitemap_index(&[
                at("/sm/first.xml"),
                at("/sm/second.xml.gz"),
                at("/sm/third.xml.gz"),
            ])
            .into_bytes(),
        ),
    );
    // The first sitemap answers last.
    server.route(
        "/sm/first.xml",
        Reply::bytes(
            "text/xml",
            urlset(&[
                at("/product/a1"),
                at("/category/shoes"),
                at("/product/a2-discontinued"),
                at("/product/a3"),
            ])
            .into_bytes(),
        )
        .delay(LATE),
    );
    // Stored gzipped, as sites keep `.xml.gz` files: no Content-Encoding.
    server.route(
        "/sm/second.xml.gz",
        Reply::bytes(
            "application/gzip",
            gzipped(&urlset(&[
                at("/product/b1"),
                at("/product/a1"),
                at("/about"),
            ])),
        ),
    );
    server.route(
        "/sm/third.xml.gz",
        Reply::bytes(
            "application/octet-stream",
            gzipped(&urlset(&[at("/product/c1"), at("/product/c2")])),
        ),
    );
    for p in ["a1", "a2-discontinued", "a3", "b1", "c1", "c2"] {
        let page = html(&format!("<h1>Product {p}</h1>"));
        let page = if p == "a1" { page.delay(LATE) } else { page };
        server.route(&format!("/product/{p}"), page);
    }
    server.route("/category/shoes", html("<h1>Shoes</h1>"));
    server.route("/about", html("<h1>About</h1>"));

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/sitemap_index.xml"
[list]
format = "sitemap"
allow = ['/product/']
deny = ['discontinued']
fields.loc = "loc"
[detail]
follow = "loc"
fields.title = "h1::text"
"#,
    ))
    .await;
    let rec =
        |p: &str| json!({"loc": at(&format!("/product/{p}")), "title": format!("Product {p}")});
    // Sitemaps in the index's order, entries in each sitemap's order; a1 is
    // listed twice: two records, one fetch (SPEC §3).
    assert_eq!(
        records,
        vec![
            rec("a1"),
            rec("a3"),
            rec("b1"),
            rec("a1"),
            rec("c1"),
            rec("c2")
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(
        &server,
        &[
            "/sitemap_index.xml",
            "/sm/first.xml",
            "/sm/second.xml.gz",
            "/sm/third.xml.gz",
            "/product/a1",
            "/product/a3",
            "/product/b1",
            "/product/c1",
            "/product/c2",
        ],
    );
}

/// The `Sitemap:` lines of a robots.txt, in order (any case of the name).
fn robots_with_sitemaps(server: &TestServer) {
    let b = base(server);
    server.route(
        "/robots.txt",
        Reply::text(format!(
            "User-agent: *\nDisallow: /nothing-here\n\nSitemap: {b}/maps/one.xml\nsitemap: {b}/maps/two.xml\n"
        )),
    );
    server.route(
        "/maps/one.xml",
        Reply::bytes(
            "application/xml",
            urlset(&[format!("{b}/x/1"), format!("{b}/x/2")]).into_bytes(),
        )
        .delay(LATE),
    );
    server.route(
        "/maps/two.xml",
        Reply::bytes(
            "application/xml",
            urlset(&[format!("{b}/x/3")]).into_bytes(),
        ),
    );
}

const ROBOTS_START: &str = r#"
start = "BASE/robots.txt"
[list]
format = "sitemap"
fields.loc = "loc"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_txt_start_yields_its_sitemaps_in_order() {
    let server = TestServer::start().await;
    robots_with_sitemaps(&server);
    let b = base(&server);
    let (records, summary) = run(spider(&server, ROBOTS_START)).await;
    assert_eq!(
        records,
        vec![
            json!({"loc": format!("{b}/x/1")}),
            json!({"loc": format!("{b}/x/2")}),
            json!({"loc": format!("{b}/x/3")}),
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/robots.txt", "/maps/one.xml", "/maps/two.xml"]);
}

/// Obeying robots.txt and starting from it still asks for it once (SPEC §3:
/// fetched once per host; the same URL never twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_txt_start_with_robots_obeyed_is_fetched_once() {
    let server = TestServer::start().await;
    robots_with_sitemaps(&server);
    let (records, summary) = run(spider_with(
        &server,
        ROBOTS_START,
        "rate = 0\nrobots = true",
    ))
    .await;
    assert_eq!(records.len(), 3, "{records:?}");
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/robots.txt", "/maps/one.xml", "/maps/two.xml"]);
}

// ------------------------------------------------------------ 3. link rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_rules_within_allow_deny_one_level() {
    let server = TestServer::start().await;
    server.route(
        "/",
        html(
            r##"<header><a href="/about">About</a></header>
<main>
  <a href="/a">A</a>
  <a href="/b#top">B</a>
  <a href="b">B, relative</a>
  <a href="/skip/c">C</a>
  <a href="/">Home</a>
  <a href="#main">here</a>
  <a href="mailto:shop@example.com">mail</a>
  <a href="/r">moved</a>
  <map name="m"><area href="/d" alt="D"></map>
  <a href="/a">A again</a>
</main>
<footer><a href="/f">F</a></footer>"##,
        ),
    );
    let page = |title: &str| html(&format!("<h1>{title}</h1><a href=\"/deeper\">deeper</a>"));
    server.route("/a", page("Page A").delay(LATE));
    server.route("/b", page("Page B"));
    server.route("/d", page("Page D"));
    server.route("/r", Reply::redirect(302, "/moved"));
    server.route("/moved", page("Moved"));
    for never in ["/about", "/skip/c", "/f", "/deeper"] {
        server.route(never, page("never"));
    }

    let (records, summary) = run(spider(
        &server,
        r#"
start = "BASE/"
[links]
within = "main"
allow = ['/[a-d]$', '/r$', '/skip/']
deny = ['/skip/']
[detail]
fields.url = "::url"
fields.title = "h1::text"
"#,
    ))
    .await;
    let b = base(&server);
    // Distinct links in document order; the start page is no record;
    // `::url` is where the page was found.
    assert_eq!(
        records,
        vec![
            json!({"url": format!("{b}/a"), "title": "Page A"}),
            json!({"url": format!("{b}/b"), "title": "Page B"}),
            json!({"url": format!("{b}/moved"), "title": "Moved"}),
            json!({"url": format!("{b}/d"), "title": "Page D"}),
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/", "/a", "/b", "/r", "/moved", "/d"]);
}

/// A small link graph: `/` → a, b; a → a1, b, shared, /; b → b1, shared,
/// a1; a1 → deep1; shared → deep2; b1 → a; deep pages → /.
fn link_graph(server: &TestServer) {
    let page = |title: &str, links: &[&str]| {
        let links: String = links
            .iter()
            .map(|l| format!("<a href=\"{l}\">{l}</a>\n"))
            .collect();
        html(&format!("<h1>{title}</h1>\n{links}"))
    };
    server.route("/", page("Home", &["/a", "/b"]));
    server.route("/a", page("A", &["/a1", "/b", "/shared", "/"]).delay(LATE));
    server.route("/b", page("B", &["/b1", "/shared", "/a1"]));
    server.route(
        "/a1",
        page("A1", &["/deep1"]).delay(Duration::from_millis(100)),
    );
    server.route("/shared", page("Shared", &["/deep2"]));
    server.route("/b1", page("B1", &["/a"]));
    server.route("/deep1", page("Deep1", &["/"]));
    server.route("/deep2", page("Deep2", &["/"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_depth_is_levels_below_the_start_breadth_first_each_page_once() {
    let server = TestServer::start().await;
    link_graph(&server);
    let b = base(&server);
    let toml = |depth: u32| {
        format!(
            "start = \"BASE/\"\n[links]\ndepth = {depth}\n[detail]\n\
             fields.url = \"::url\"\nfields.title = \"h1::text\"\n"
        )
    };
    let titles = |records: &[Value]| -> Vec<String> {
        for r in records {
            let title = r["title"].as_str().unwrap_or_default().to_lowercase();
            assert_eq!(r["url"], json!(format!("{b}/{title}")), "{r}");
        }
        records
            .iter()
            .map(|r| r["title"].as_str().unwrap_or_default().to_string())
            .collect()
    };

    // The default depth is 1.
    let (records, summary) = run(spider(
        &server,
        "start = \"BASE/\"\n[links]\n[detail]\nfields.url = \"::url\"\nfields.title = \"h1::text\"\n",
    ))
    .await;
    assert_eq!(titles(&records), ["A", "B"]);
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/", "/a", "/b"]);

    server.clear_hits();
    let (records, _) = run(spider(&server, &toml(1))).await;
    assert_eq!(titles(&records), ["A", "B"]);
    assert_fetched_once(&server, &["/", "/a", "/b"]);

    // Level 2 in discovery order: a's new links, then b's; b, shared and a1
    // seen again are no records again.
    server.clear_hits();
    let (records, summary) = run(spider(&server, &toml(2))).await;
    assert_eq!(titles(&records), ["A", "B", "A1", "Shared", "B1"]);
    assert_no_failures(&summary);
    assert_fetched_once(&server, &["/", "/a", "/b", "/a1", "/shared", "/b1"]);

    server.clear_hits();
    let (records, _) = run(spider(&server, &toml(3))).await;
    assert_eq!(
        titles(&records),
        ["A", "B", "A1", "Shared", "B1", "Deep1", "Deep2"]
    );
    assert_fetched_once(
        &server,
        &["/", "/a", "/b", "/a1", "/shared", "/b1", "/deep1", "/deep2"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_leave_the_start_host_only_for_the_named_hosts() {
    let here = TestServer::start().await;
    let there = TestServer::start_on("127.0.0.2").await;
    let (h, t) = (base(&here), base(&there));
    here.route(
        "/",
        html(&format!(
            "<a href=\"/local\">local</a> <a href=\"{t}/away\">away</a>"
        )),
    );
    here.route("/local", html("<h1>Local</h1>"));
    here.route("/back", html("<h1>Back</h1>"));
    // The other host links back to the start's host (always allowed) and
    // to a third host nobody named (nothing listens there).
    there.route(
        "/away",
        html(&format!(
            "<h1>Away</h1><a href=\"{h}/back\">back</a> <a href=\"http://127.0.0.3:9/nope\">nope</a>"
        )),
    );
    let toml = |hosts: &str| {
        format!(
            "start = \"BASE/\"\n[links]\ndepth = 2\n{hosts}\n[detail]\n\
             fields.url = \"::url\"\nfields.title = \"h1::text\"\n"
        )
    };

    let (records, summary) = run(spider(&here, &toml(""))).await;
    assert_eq!(
        records,
        vec![json!({"url": format!("{h}/local"), "title": "Local"})]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&here, &["/", "/local"]);
    assert_eq!(there.hits().len(), 0, "the other host was never asked");

    here.clear_hits();
    let (records, summary) = run(spider(&here, &toml("hosts = [\"127.0.0.2\"]"))).await;
    assert_eq!(
        records,
        vec![
            json!({"url": format!("{h}/local"), "title": "Local"}),
            json!({"url": format!("{t}/away"), "title": "Away"}),
            json!({"url": format!("{h}/back"), "title": "Back"}),
        ]
    );
    assert_no_failures(&summary);
    assert_fetched_once(&here, &["/", "/local", "/back"]);
    assert_fetched_once(&there, &["/away"]);
}

// ------------------------------------------------- 4. bad combinations (CLI)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_level_combinations_exit_2_name_the_key_and_fetch_nothing() {
    let server = TestServer::start().await;
    server.route("/", html("<a href=\"/a\">a</a>"));
    let dir = TempDir::new().unwrap();
    let detail = "[detail]\nfields.title = \"h1::text\"\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "links_and_list",
            format!(
                "start = \"BASE/\"\n[list]\nitem = \"li\"\nfields.x = \"span::text\"\n\
                 [links]\ndepth = 1\n{detail}"
            ),
            "links",
        ),
        (
            "depth_0",
            format!("start = \"BASE/\"\n[links]\ndepth = 0\n{detail}"),
            "depth",
        ),
        (
            "depth_negative",
            format!("start = \"BASE/\"\n[links]\ndepth = -1\n{detail}"),
            "depth",
        ),
    ];
    for (name, text, key) in cases {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text.replace("BASE", &base(&server))).unwrap();
        let run = trawl(["crawl".to_string(), s(&path)]).await;
        assert_eq!(run.code, Some(2), "{name}: {run:?}");
        assert!(
            run.stderr.contains(key),
            "{name}: the message names `{key}`: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{name}");
        assert_eq!(
            server.hits().len(),
            0,
            "{name}: no request (robots.txt included)"
        );
    }
}

// ------------------------------------------- 5. SIGKILL and resume (CLI)

/// A site for the kill harness: its spider file, the records an
/// uninterrupted crawl writes, and for every page the records it leads to
/// (a page all of whose records are committed is never fetched again).
struct Scenario {
    name: &'static str,
    spider: String,
    records: Vec<Value>,
    leads: HashMap<String, Vec<usize>>,
}

impl Scenario {
    fn new(name: &'static str, spider: &str) -> Scenario {
        Scenario {
            name,
            spider: spider.to_string(),
            records: Vec::new(),
            leads: HashMap::new(),
        }
    }

    /// Adds a record; returns its index.
    fn record(&mut self, record: Value) -> usize {
        self.records.push(record);
        self.records.len() - 1
    }

    /// `path` leads to these records (on top of any given before).
    fn leads(&mut self, path: &str, records: impl IntoIterator<Item = usize>) {
        self.leads
            .entry(path.to_string())
            .or_default()
            .extend(records);
    }
}

/// Kills per scenario that must land mid-crawl, each after a commit of
/// its own run.
const KILLS: usize = 3;
/// Paced so that a whole crawl takes about two seconds: a kill gated on a
/// (once a second) commit lands mid-crawl.
const PACE: &str = "[limits]\nrate = 50\nburst = 1\nrobots = false\n";

/// home → 4 departments → 2 categories each → 3 list pages of 4 → details:
/// 125 pages, 96 records.
fn seed_scenario(server: &TestServer) -> Scenario {
    let b = base(server);
    let mut sc = Scenario::new(
        "seeds",
        &format!(
            r#"
start = "BASE/"
[[seed]]
links = "a.dept::attr(href)"
fields.dept = "::text"
[[seed]]
links = "a.cat::attr(href)"
fields.cat = "::text"
[list]
item = ".item"
next = "a.next::attr(href)"
fields.name = ".name::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.price = ".price::text"
{PACE}"#
        ),
    );
    let mut home = String::new();
    for d in 1..=4 {
        home += &format!("<a class=\"dept\" href=\"/d/{d}\">Dept {d}</a>\n");
        let mut dept = String::new();
        for c in 1..=2 {
            dept += &format!("<a class=\"cat\" href=\"/c/{d}-{c}\">Cat {d}-{c}</a>\n");
            for p in 1..=3 {
                let path = match p {
                    1 => format!("/c/{d}-{c}"),
                    _ => format!("/c/{d}-{c}/{p}"),
                };
                let mut list = String::new();
                let mut on_page = Vec::new();
                for i in 1..=4 {
                    let id = format!("{d}-{c}-{p}-{i}");
                    list += &format!(
                        "<div class=\"item\"><span class=\"name\">Item {id}</span> <a href=\"/p/{id}\">see</a></div>\n"
                    );
                    let price = format!("{}.{:02}", d * 10 + c, p * 10 + i);
                    server.route(
                        &format!("/p/{id}"),
                        html(&format!("<p class=\"price\">{price}</p>")),
                    );
                    let r = sc.record(json!({
                        "dept": format!("Dept {d}"), "cat": format!("Cat {d}-{c}"),
                        "name": format!("Item {id}"), "url": format!("{b}/p/{id}"), "price": price,
                    }));
                    sc.leads(&format!("/p/{id}"), [r]);
                    on_page.push(r);
                    sc.leads(&format!("/d/{d}"), [r]);
                    sc.leads("/", [r]);
                }
                if p < 3 {
                    list += &format!("<a class=\"next\" href=\"/c/{d}-{c}/{}\">next</a>\n", p + 1);
                }
                server.route(&path, html(&list));
                sc.leads(&path, on_page);
            }
        }
        server.route(&format!("/d/{d}"), html(&dept));
    }
    server.route("/", html(&home));
    sc
}

/// An index of three sitemaps (the second gzipped) of 30 item URLs each,
/// and a few URLs `allow` drops: 94 pages, 90 records.
fn sitemap_scenario(server: &TestServer) -> Scenario {
    let b = base(server);
    let mut sc = Scenario::new(
        "sitemaps",
        &format!(
            r#"
start = "BASE/sitemap_index.xml"
[list]
format = "sitemap"
allow = ['/item/']
fields.loc = "loc"
[detail]
follow = "loc"
fields.title = "h1::text"
{PACE}"#
        ),
    );
    let maps = ["/sm/1.xml", "/sm/2.xml.gz", "/sm/3.xml"];
    server.route(
        "/sitemap_index.xml",
        Reply::bytes(
            "application/xml",
            sitemap_index(&maps.map(|m| format!("{b}{m}"))).into_bytes(),
        ),
    );
    for (m, map) in maps.iter().enumerate() {
        let mut locs = vec![format!("{b}/about/{m}")];
        for i in 1..=30 {
            let path = format!("/item/{m}-{i}");
            server.route(&path, html(&format!("<h1>Item {m}-{i}</h1>")));
            locs.push(format!("{b}{path}"));
            let r =
                sc.record(json!({"loc": format!("{b}{path}"), "title": format!("Item {m}-{i}")}));
            sc.leads(&path, [r]);
            sc.leads(map, [r]);
            sc.leads("/sitemap_index.xml", [r]);
        }
        let xml = urlset(&locs);
        let reply = match map.ends_with(".gz") {
            true => Reply::bytes("application/gzip", gzipped(&xml)),
            false => Reply::bytes("application/xml", xml.into_bytes()),
        };
        server.route(map, reply);
    }
    sc
}

/// `/` → 10 pages → 9 new pages each, and links back up: depth 2 reaches
/// 101 pages, 100 records.
fn link_scenario(server: &TestServer) -> Scenario {
    let b = base(server);
    let mut sc = Scenario::new(
        "links",
        &format!(
            r#"
start = "BASE/"
[links]
depth = 2
allow = ['/n/']
[detail]
fields.url = "::url"
fields.title = "h1::text"
{PACE}"#
        ),
    );
    let link = |p: &str| format!("<a href=\"{p}\">{p}</a>\n");
    let mut home = String::from("<h1>Home</h1>\n");
    let mut second = Vec::new();
    for i in 1..=10 {
        let path = format!("/n/{i}");
        home += &link(&path);
        let r = sc.record(json!({"url": format!("{b}{path}"), "title": format!("N{i}")}));
        sc.leads(&path, [r]);
        sc.leads("/", [r]);
        let mut body = format!("<h1>N{i}</h1>\n{}{}", link("/"), link("/n/1"));
        for j in 1..=9 {
            let child = format!("/n/{i}-{j}");
            body += &link(&child);
            second.push((path.clone(), child.clone(), format!("N{i}-{j}")));
            // Depth 3: never fetched.
            server.route(
                &child,
                html(&format!(
                    "<h1>N{i}-{j}</h1>\n{}",
                    link(&format!("/n/{i}-{j}-x"))
                )),
            );
        }
        server.route(&path, html(&body));
    }
    server.route("/", html(&home));
    for (parent, child, title) in second {
        let r = sc.record(json!({"url": format!("{b}{child}"), "title": title}));
        sc.leads(&child, [r]);
        sc.leads(&parent, [r]);
        sc.leads("/", [r]);
    }
    sc
}

fn read_records(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn paths_since(server: &TestServer, from: usize) -> Vec<String> {
    server.hits()[from..]
        .iter()
        .map(|h| h.path.clone())
        .collect()
}

/// SPEC §7 on the same harness: 30 query values, each a sequence paged by
/// `{offset}` up to a total read from its first page, with a detail page
/// per item: 30 × (3 list pages + 5 details) = 240 pages, 150 records.
fn vars_scenario(server: &TestServer) -> Scenario {
    let values: Vec<String> = (1..=30).map(|q| format!("\"q{q}\"")).collect();
    let mut sc = Scenario::new(
        "vars",
        &format!(
            r#"
start = "BASE/search?q={{q}}&from={{offset}}"
step = 2
total = "total"
[vars]
q = [{}]
[list]
format = "json"
items = "items"
fields.q = "q"
fields.url = "url"
[detail]
follow = "url"
fields.title = "h1::text"
{PACE}"#,
            values.join(", ")
        ),
    );
    for q in 1..=30 {
        for from in [0, 2, 4] {
            let ids: Vec<u32> = (from..(from + 2).min(5)).collect();
            let items: Vec<Value> = ids
                .iter()
                .map(|i| json!({"q": format!("q{q}"), "url": format!("/d/{q}/{i}")}))
                .collect();
            let path = format!("/search?q=q{q}&from={from}");
            server.route(
                &path,
                Reply::json(json!({"total": 5, "items": items}).to_string()),
            );
            for i in ids {
                let detail = format!("/d/{q}/{i}");
                server.route(&detail, html(&format!("<h1>T{q}-{i}</h1>")));
                // A JSON value is kept as the API wrote it (relative).
                let r = sc.record(
                    json!({"q": format!("q{q}"), "url": detail, "title": format!("T{q}-{i}")}),
                );
                sc.leads(&detail, [r]);
                sc.leads(&path, [r]);
                // The first page's total bounds the later pages.
                sc.leads(&format!("/search?q=q{q}&from=0"), [r]);
            }
        }
    }
    sc
}

/// What one run asked for: only pages of the site, none twice, and none
/// whose records were all committed before it started.
fn check_run(sc: &Scenario, paths: &[String], committed: usize, what: &str) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for path in paths {
        *seen.entry(path.as_str()).or_insert(0) += 1;
        let leads = sc
            .leads
            .get(path)
            .unwrap_or_else(|| panic!("{what}: requested {path}, not a page the crawl needs"));
        assert!(
            leads.iter().any(|&r| r >= committed),
            "{what}: requested {path} again although all its records were committed \
             ({committed} records committed before the run)"
        );
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: requested twice in one run: {twice:?}"
    );
}

/// Crawls `sc` uninterrupted, then kills it at seeded random moments (each
/// a while after a commit of the killed run's own), reruns the same
/// command until it exits 0, and checks every run and the end result.
async fn kill_harness(server: &TestServer, sc: Scenario) {
    let mut rng = XorShift::seeded(&format!("levels_kill_{}", sc.name));
    let dir = TempDir::new().unwrap();
    let spider = dir.path().join(format!("{}.toml", sc.name));
    std::fs::write(&spider, sc.spider.replace("BASE", &base(server))).unwrap();
    let args = |out: &Path, state: &Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["crawl".into(), s(&spider), "-o".into(), s(out)];
        args.extend(["--state".into(), s(state)]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };

    // Uninterrupted (unpaced: the order does not depend on the pace).
    let (out, state) = (dir.path().join("whole.jsonl"), dir.path().join("whole"));
    let (_, run) = run_killable(&args(&out, &state, &["--rate", "0"]), &state, None).await;
    assert_eq!(run.code, Some(0), "{}: uninterrupted: {run:?}", sc.name);
    assert_eq!(
        read_records(&out),
        sc.records,
        "{}: uninterrupted records",
        sc.name
    );
    let reference = std::fs::read(&out).unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for path in paths_since(server, 0) {
        *counts.entry(path).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1) && counts.len() == sc.leads.len(),
        "{}: uninterrupted: every page once: {} pages of {}, {:?}",
        sc.name,
        counts.len(),
        sc.leads.len(),
        counts.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );

    // A kill counts once the next run resumed from it mid-crawl (a kill
    // may land after the last record, while the crawl winds down).
    let (mut kills, mut episodes) = (0, 0);
    while kills < KILLS {
        episodes += 1;
        assert!(
            episodes <= 6,
            "{}: {episodes} episodes without {KILLS} kills mid-crawl",
            sc.name
        );
        let ep = dir.path().join(format!("episode-{episodes}"));
        let (out, state) = (ep.join("out.jsonl"), ep.join("state"));
        std::fs::create_dir(&ep).unwrap();
        let episode_start = server.hits().len();
        let mut moments = Vec::new();
        let (mut runs, mut after_kill) = (0, false);
        loop {
            runs += 1;
            assert!(runs <= 20, "{}: episode {episodes}: no end", sc.name);
            let what = format!(
                "{}: episode {episodes}, run {runs} (kills: {moments:?})",
                sc.name
            );
            let kill = (kills < KILLS).then(|| Duration::from_millis(rng.range(0, 250)));
            let from = server.hits().len();
            let (killed, run) = run_killable(&args(&out, &state, &[]), &state, kill).await;
            let committed = match resumed_at(&run.stderr) {
                Some(n) => n,
                None if run.stderr.contains("is complete") => sc.records.len(),
                None => {
                    assert_eq!(runs, 1, "{what}: a rerun that does not resume: {run:?}");
                    0
                }
            };
            assert!(
                committed <= sc.records.len(),
                "{what}: {committed} committed"
            );
            if after_kill {
                assert!(
                    committed > 0,
                    "{what}: killed after a commit, resumed from 0"
                );
                moments.push(format!("resumed at {committed}"));
                kills += usize::from(committed < sc.records.len());
            }
            check_run(&sc, &paths_since(server, from), committed, &what);
            after_kill = killed;
            if killed {
                moments.push(format!(
                    "killed {}ms after a commit",
                    kill.unwrap().as_millis()
                ));
                continue;
            }
            assert_eq!(run.code, Some(0), "{what}: {run:?}");
            break;
        }
        assert_eq!(
            read_records(&out),
            sc.records,
            "{}: episode {episodes}: every record exactly once, in order",
            sc.name
        );
        assert!(
            std::fs::read(&out).unwrap() == reference,
            "{}: episode {episodes}: byte for byte the uninterrupted output",
            sc.name
        );
        // Over the episode: a page is fetched again only when a kill caught
        // it uncommitted (`check_run` judges that run by run), so at most
        // once per run. (Pages read ahead — seed pages, link pages, the
        // first pages of later sequences and their details — may be caught
        // uncommitted by every kill.)
        let mut counts: HashMap<String, usize> = HashMap::new();
        for path in paths_since(server, episode_start) {
            *counts.entry(path).or_insert(0) += 1;
        }
        let mut over: Vec<_> = counts.iter().filter(|(_, n)| **n > runs).collect();
        over.sort();
        assert!(
            over.is_empty(),
            "{}: episode {episodes} ({runs} runs, kills {moments:?}): pages fetched more \
             often than there were runs: {over:?}",
            sc.name,
        );
        println!(
            "{}: episode {episodes}: {} runs, kills {moments:?}",
            sc.name, runs
        );

        // Complete: a rerun says so, asks for nothing and changes nothing.
        let from = server.hits().len();
        let (_, run) = run_killable(&args(&out, &state, &[]), &state, None).await;
        assert_eq!(
            run.code,
            Some(0),
            "{}: rerun after completion: {run:?}",
            sc.name
        );
        assert_eq!(
            paths_since(server, from),
            Vec::<String>::new(),
            "{}: rerun after completion",
            sc.name
        );
        assert!(
            std::fs::read(&out).unwrap() == reference,
            "{}: rerun after completion changed the output",
            sc.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_resume_a_three_level_seed_crawl() {
    let server = TestServer::start().await;
    let sc = seed_scenario(&server);
    assert_eq!((sc.records.len(), sc.leads.len()), (96, 125));
    kill_harness(&server, sc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_resume_a_sitemap_index_crawl() {
    let server = TestServer::start().await;
    let sc = sitemap_scenario(&server);
    assert_eq!((sc.records.len(), sc.leads.len()), (90, 94));
    kill_harness(&server, sc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_resume_a_depth_2_link_crawl() {
    let server = TestServer::start().await;
    let sc = link_scenario(&server);
    assert_eq!((sc.records.len(), sc.leads.len()), (100, 101));
    kill_harness(&server, sc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_resume_thirty_query_values_paged_by_offset() {
    let server = TestServer::start().await;
    let sc = vars_scenario(&server);
    assert_eq!((sc.records.len(), sc.leads.len()), (150, 240));
    kill_harness(&server, sc).await;
}
