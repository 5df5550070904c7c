//! Levels through the fetch seam (SPEC §8): seeds, sitemaps and link rules
//! on a scripted network and a paused clock. Slow pages are early in
//! discovery order, so the tests fail if anything follows fetch timing
//! instead of the order key.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use serde_json::{json, Value};

use super::tests::{column, detail, list, run, spider, Script};
use super::{Crawl, CrawlOptions, Event, PageDone, Resume};

/// A page of links: `(href, text)`.
fn links(links: &[(&str, &str)]) -> String {
    let items: String = links
        .iter()
        .map(|(href, text)| format!("<a href=\"{href}\">{text}</a>"))
        .collect();
    format!("<h1>Shop</h1><nav>{items}</nav>")
}

const TWO_SEEDS: &str = r#"
start = "http://h.test/"
[[seed]]
links = "nav a::attr(href)"
fields.region = "::text"
[[seed]]
links = "nav a::attr(href)"
fields.category = "::text"
fields.shop = "h1::text"
[list]
item = "li"
next = "a.next::attr(href)"
fields.id = "a"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.d = "p.d"
"#;

/// home → regions → categories (one reached from both regions) → paged lists → details.
fn shop() -> Script {
    Script::new()
        .page(
            "/",
            0,
            &links(&[("/r/north", "North"), ("/r/south", "South")]),
        )
        // The first region is slow: its categories still come first.
        .page(
            "/r/north",
            300,
            &links(&[("/c/tools", "Tools"), ("/c/toys#top", "Toys")]),
        )
        .page(
            "/r/south",
            0,
            &links(&[("/c/toys", "Toys again"), ("/c/food", "Food")]),
        )
        .page("/c/tools", 200, &list(&["t1", "t2"], Some("/c/tools?p=2")))
        .page("/c/tools?p=2", 0, &list(&["t3"], None))
        .page("/c/toys", 0, &list(&["y1"], None))
        .page("/c/food", 0, &list(&["f1"], None))
        .page("/d/t1", 100, &detail("T1"))
        .page("/d/t2", 0, &detail("T2"))
        .page("/d/t3", 0, &detail("T3"))
        .page("/d/y1", 0, &detail("Y1"))
        .page("/d/f1", 0, &detail("F1"))
}

#[tokio::test(start_paused = true)]
async fn seed_levels_are_depth_first_and_carry_their_fields() {
    let script = Arc::new(shop());
    let records = run(spider(TWO_SEEDS), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["t1", "t2", "t3", "y1", "f1"]);
    assert_eq!(
        records[0],
        json!({"region": "North", "category": "Tools", "shop": "Shop",
               "id": "t1", "url": "http://h.test/d/t1", "d": "T1"}),
        "seed fields first, outermost level first, then list and detail fields"
    );
    // Reached from both regions, crawled once, under the first path.
    assert_eq!(records[3]["region"], "North");
    assert_eq!(records[3]["category"], "Toys");
    let paths = script.paths();
    for path in [
        "/",
        "/r/north",
        "/r/south",
        "/c/toys",
        "/c/tools?p=2",
        "/d/y1",
    ] {
        let n = paths.iter().filter(|p| *p == path).count();
        assert_eq!(n, 1, "{path} fetched once: {paths:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_seed_page_s_next_page_comes_after_everything_it_leads_to() {
    const PAGED: &str = r#"
start = "http://h.test/"
[[seed]]
links = "nav a::attr(href)"
next = "a.more::attr(href)"
fields.category = "::text"
[list]
item = "li"
fields.id = "a"
"#;
    let home2 = links(&[("/c/b", "B")]);
    let script = Arc::new(
        Script::new()
            .page(
                "/",
                0,
                &(links(&[("/c/a", "A")]) + "<a class=more href=/?p=2>more</a>"),
            )
            .page("/?p=2", 0, &home2)
            .page("/c/a", 500, &list(&["a1", "a2"], None))
            .page("/c/b", 0, &list(&["b1"], None)),
    );
    let records = run(spider(PAGED), CrawlOptions::default(), script).await;
    assert_eq!(column(&records, "id"), ["a1", "a2", "b1"]);
    assert_eq!(column(&records, "category"), ["A", "A", "B"]);
}

#[tokio::test(start_paused = true)]
async fn page_param_counts_from_the_bare_link_until_a_page_is_empty() {
    const COUNTED: &str = r#"
start = "http://h.test/"
[[seed]]
links = "nav a"  # no output named: the href of each match
[list]
item = "li"
page_param = "page"
fields.id = "a"
"#;
    let script = Arc::new(
        Script::new()
            .page("/", 0, &links(&[("/c?sort=new", "C")]))
            .page("/c?sort=new", 0, &list(&["1"], None))
            .page("/c?sort=new&page=2", 0, &list(&["2"], None))
            .page("/c?sort=new&page=3", 0, &list(&[], None)),
    );
    let records = run(spider(COUNTED), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["1", "2"]);
    assert_eq!(
        script.paths(),
        [
            "/",
            "/c?sort=new",
            "/c?sort=new&page=2",
            "/c?sort=new&page=3"
        ],
        "nothing past the first empty page"
    );
}

fn urlset(locs: &[&str]) -> String {
    let urls: String = locs
        .iter()
        .map(|l| {
            format!(
                "<url><loc>http://h.test{l}</loc><lastmod>2024-01-0{}</lastmod></url>",
                l.len() % 9
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{urls}</urlset>")
}

const SITEMAP: &str = r#"
start = "http://h.test/robots.txt"
[list]
format = "sitemap"
deny = ["/skip"]
fields.url = "loc"
[detail]
follow = "url"
fields.d = "p.d"
"#;

fn sitemap_site() -> Script {
    let index = "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
        <sitemap><loc>http://h.test/s1.xml</loc></sitemap>\
        <sitemap><loc>http://h.test/s2.xml</loc></sitemap></sitemapindex>";
    Script::new()
        .page(
            "/robots.txt",
            0,
            "User-agent: *\nSitemap: http://h.test/index.xml\nSitemap: http://h.test/s3.xml\n",
        )
        .page("/index.xml", 0, index)
        .page("/s1.xml", 400, &urlset(&["/p/1", "/skip/1", "/p/2"]))
        .page("/s2.xml", 0, &urlset(&["/p/3"]))
        .page("/s3.xml", 0, &urlset(&["/p/4", "/p/1"]))
        .page("/p/1", 0, &detail("1"))
        .page("/p/2", 0, &detail("2"))
        .page("/p/3", 0, &detail("3"))
        .page("/p/4", 0, &detail("4"))
}

#[tokio::test(start_paused = true)]
async fn sitemaps_follow_robots_and_indexes_in_document_order() {
    let script = Arc::new(sitemap_site());
    let records = run(spider(SITEMAP), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "d"), ["1", "2", "3", "4", "1"]);
    let paths = script.paths();
    assert!(!paths.iter().any(|p| p.starts_with("/skip")), "{paths:?}");
    assert_eq!(
        paths.iter().filter(|p| *p == "/p/1").count(),
        1,
        "a detail page is fetched once"
    );
}

const LINKS: &str = r#"
start = "http://h.test/"
[links]
depth = 2
deny = ["/private"]
[detail]
fields.url = "::url"
fields.title = "h1"
"#;

fn linked(title: &str, to: &[&str]) -> String {
    let anchors: String = to
        .iter()
        .map(|h| format!("<a href=\"{h}\">x</a>"))
        .collect();
    format!("<h1>{title}</h1>{anchors}")
}

fn link_site() -> Script {
    Script::new()
        .page(
            "/",
            0,
            &linked(
                "Home",
                &["/a", "/b", "/private/x", "http://other.test/o", "/"],
            ),
        )
        .page("/a", 300, &linked("A", &["/c", "/b", "/"]))
        .page("/b", 0, &linked("B", &["/d", "/c"]))
        .page("/c", 0, &linked("C", &["/e"]))
        .page("/d", 0, &linked("D", &[]))
        .page("/e", 0, &linked("E", &[]))
        .page("/o", 0, &linked("O", &["/f"]))
}

#[tokio::test(start_paused = true)]
async fn link_rules_go_breadth_first_once_per_page_within_the_start_s_host() {
    let script = Arc::new(link_site());
    let records = run(spider(LINKS), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "title"), ["A", "B", "C", "D"]);
    assert_eq!(records[0]["url"], "http://h.test/a");
    let paths = script.paths();
    assert!(
        !paths.contains(&"/e".to_string()),
        "depth 2 stops there: {paths:?}"
    );
    assert!(
        !paths.contains(&"/o".to_string()),
        "other hosts are not followed"
    );
    assert!(!paths.iter().any(|p| p.starts_with("/private")));
    assert_eq!(
        paths.iter().filter(|p| *p == "/").count(),
        1,
        "the start is not fetched again"
    );

    let wider = LINKS.replace("depth = 2", "depth = 1\nhosts = [\"other.test\"]");
    let script = Arc::new(link_site());
    let records = run(spider(&wider), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "title"), ["A", "B", "O"]);
    assert_eq!(records[2]["url"], "http://other.test/o");
}

/// Every event of a crawl: records and page marks.
async fn events(crawl: &mut Crawl) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = crawl.next_event().await {
        events.push(event.expect("no fatal error"));
    }
    events
}

fn records_of(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Record(r) => Some(Value::Object(r.fields().clone())),
            Event::PageDone(_) => None,
        })
        .collect()
}

/// What a state store holds after committing `done`: the requests they
/// discovered that are not done themselves, and their URLs as visited.
fn committed(done: &[&PageDone]) -> Resume {
    let keys: HashSet<_> = done.iter().map(|p| p.key.clone()).collect();
    Resume {
        done: done.len() as u64,
        pending: done
            .iter()
            .flat_map(|p| p.children.iter().cloned())
            .filter(|r| !keys.contains(&r.key))
            .collect(),
        visited: done.iter().map(|p| p.visit.clone()).collect(),
        ..Resume::default()
    }
}

/// Resuming after any number of committed pages gives the rest of the
/// records, in order, and fetches no committed page again.
pub(super) async fn resumes_after_every_page(toml: &str, site: fn() -> Script) {
    let script = Arc::new(site());
    let options = CrawlOptions {
        page_details: true,
        ..CrawlOptions::default()
    };
    let mut crawl = Crawl::with_fetch(spider(toml), options.clone(), script);
    let all = events(&mut crawl).await;
    let expected = records_of(&all);
    let pages: Vec<&PageDone> = all
        .iter()
        .filter_map(|e| match e {
            Event::PageDone(p) => Some(p),
            Event::Record(_) => None,
        })
        .collect();
    assert!(pages.len() >= 3);
    let mut before = 0;
    for k in 0..=pages.len() {
        // A state with nothing committed is a fresh crawl.
        let mut options = options.clone();
        options.resume = (k > 0).then(|| committed(&pages[..k]));
        let script = Arc::new(site());
        let mut crawl = Crawl::with_fetch(spider(toml), options, script.clone());
        let rest = records_of(&events(&mut crawl).await);
        assert_eq!(rest, expected[before..], "resumed after {k} pages");
        let fetched: HashSet<String> = script.paths().into_iter().collect();
        for page in &pages[..k] {
            let path = match page.url.query() {
                Some(q) => format!("{}?{q}", page.url.path()),
                None => page.url.path().to_string(),
            };
            assert!(
                !fetched.contains(&path),
                "{path} committed, fetched again after {k}"
            );
        }
        before += pages.get(k).map_or(0, |p| p.records as usize);
    }
}

#[tokio::test(start_paused = true)]
async fn every_level_resumes_where_it_was_committed() {
    resumes_after_every_page(TWO_SEEDS, shop).await;
    resumes_after_every_page(LINKS, link_site).await;
    resumes_after_every_page(SITEMAP, sitemap_site).await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_seed_page_loses_only_what_it_leads_to() {
    let script = Arc::new(shop().status("/r/north", 0, 500));
    let crawl = Crawl::with_fetch(spider(TWO_SEEDS), CrawlOptions::default(), script.clone());
    let summary = crawl.summary_handle();
    let records: Vec<Value> = crawl
        .map(|r| Value::Object(r.expect("no fatal error").into_fields()))
        .collect()
        .await;
    assert_eq!(column(&records, "id"), ["y1", "f1"]);
    assert_eq!(
        records[0]["region"], "South",
        "toys now first reached from the south"
    );
    let failures = summary.summary().failures;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].url.ends_with("/r/north"));
}

#[tokio::test(start_paused = true)]
async fn a_start_that_fails_is_a_crawl_that_got_nothing() {
    for toml in [TWO_SEEDS, LINKS, SITEMAP] {
        let script = Arc::new(Script::new());
        let mut crawl = Crawl::with_fetch(spider(toml), CrawlOptions::default(), script);
        let mut error = None;
        while let Some(event) = crawl.next_event().await {
            if let Err(e) = event {
                error = Some(e);
            }
        }
        let error = error.expect("the crawl reports that it got nothing");
        assert!(error.to_string().contains("nothing was fetched"), "{error}");
    }
}
