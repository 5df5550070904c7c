//! Starts, value lists, offsets, totals and cursors through the fetch seam
//! (SPEC §7): which pages are asked for, in which order, and nothing past
//! an end.

use std::sync::Arc;

use serde_json::json;

use super::level_tests::resumes_after_every_page;
use super::tests::{column, list, run, spider, Script};
use super::CrawlOptions;

/// A JSON list page of `ids`, with an optional total and cursor.
fn api(ids: &[&str], total: Option<u64>, cursor: Option<&str>) -> String {
    let items: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
    json!({"items": items, "total": total, "next": cursor}).to_string()
}

const VARS: &str = r#"
start = ["http://h.test/a?q={q}&c={c}&p={page}", "http://h.test/b?q={q}&c={c}&p={page}"]
[vars]
q = ["x", "y"]
c = [1]
[list]
format = "json"
items = "items"
fields.id = "id"
fields.page = "::page"
fields.query = { const = "{q}/{c}" }
"#;

fn vars_site() -> Script {
    let mut script = Script::new();
    for (path, ids) in [
        ("/a?q=x&c=1", ["a-x-1", "a-x-2"]),
        ("/a?q=y&c=1", ["a-y-1", "a-y-2"]),
        ("/b?q=x&c=1", ["b-x-1", "b-x-2"]),
        ("/b?q=y&c=1", ["b-y-1", "b-y-2"]),
    ] {
        // The first sequence is slow: the others still come after it.
        let ms = if path == "/a?q=x&c=1" { 300 } else { 0 };
        script = script
            .page(&format!("{path}&p=1"), ms, &api(&ids[..1], None, None))
            .page(&format!("{path}&p=2"), ms, &api(&ids[1..], None, None))
            .page(&format!("{path}&p=3"), 0, &api(&[], None, None));
    }
    script
}

#[tokio::test(start_paused = true)]
async fn each_start_and_combination_of_vars_is_a_sequence_in_order() {
    let script = Arc::new(vars_site());
    let records = run(spider(VARS), CrawlOptions::default(), script.clone()).await;
    assert_eq!(
        column(&records, "id"),
        ["a-x-1", "a-x-2", "a-y-1", "a-y-2", "b-x-1", "b-x-2", "b-y-1", "b-y-2"],
        "starts in order, each with every combination, the first var outermost"
    );
    assert_eq!(column(&records, "page")[..2], [1, 2]);
    assert_eq!(
        column(&records, "query")[..3],
        ["x/1", "x/1", "y/1"],
        "vars fill constants"
    );
    let paths = script.paths();
    assert_eq!(
        paths.len(),
        12,
        "each sequence ends at its first empty page: {paths:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn several_sequences_resume_after_every_page() {
    resumes_after_every_page(VARS, vars_site).await;
}

const OFFSET: &str = r#"
start = "http://h.test/items?from={offset}&size=2"
step = 2
first_offset = 10
[list]
format = "json"
items = "items"
fields.id = "id"
fields.page = "::page"
"#;

#[tokio::test(start_paused = true)]
async fn offsets_count_from_first_offset_by_step_until_an_empty_page() {
    let script = Arc::new(
        Script::new()
            .page("/items?from=10&size=2", 0, &api(&["a", "b"], None, None))
            .page("/items?from=12&size=2", 0, &api(&["c"], None, None))
            .page("/items?from=14&size=2", 0, &api(&[], None, None)),
    );
    let records = run(spider(OFFSET), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
    assert_eq!(column(&records, "page"), [1, 1, 2]);
    assert_eq!(
        script.paths().len(),
        3,
        "nothing after the first empty page"
    );
}

#[tokio::test(start_paused = true)]
async fn a_total_of_items_ends_offsets_and_lets_pages_be_fetched_ahead() {
    let toml = format!("{OFFSET}\ntotal = \"total\"\n");
    let toml = toml
        .replace("[list]\n", "")
        .replace("format = \"json\"", "[list]\nformat = \"json\"");
    let script = Arc::new(
        Script::new()
            .page(
                "/items?from=10&size=2",
                100,
                &api(&["a", "b"], Some(15), None),
            )
            .page(
                "/items?from=12&size=2",
                500,
                &api(&["c", "d"], Some(15), None),
            )
            .page("/items?from=14&size=2", 0, &api(&["e"], Some(15), None)),
    );
    let records = run(spider(&toml), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c", "d", "e"]);
    assert_eq!(
        script.paths().len(),
        3,
        "no offset ≥ the total is asked for"
    );
    let (second, third) = (
        script.when("/items?from=12&size=2"),
        script.when("/items?from=14&size=2"),
    );
    assert!(
        third < second + std::time::Duration::from_millis(500),
        "the third page was fetched ahead of the second's answer"
    );
}

#[tokio::test(start_paused = true)]
async fn total_pages_on_the_first_html_page_bounds_a_page_template() {
    const PAGES: &str = r#"
start = "http://h.test/list/{page}"
total_pages = "ul.pager li:nth-last-child(2)::text | int"
[list]
item = "li.item"
fields.id = "::text"
"#;
    let page = |ids: &[&str]| {
        let items: String = ids
            .iter()
            .map(|i| format!("<li class=item>{i}</li>"))
            .collect();
        format!("<ul>{items}</ul><ul class=pager><li>1</li><li>2</li><li>3</li><li>next</li></ul>")
    };
    let script = Arc::new(
        Script::new()
            .page("/list/1", 0, &page(&["a"]))
            .page("/list/2", 0, &page(&["b"]))
            .page("/list/3", 0, &page(&["c"]))
            .page("/list/4", 0, &page(&["never"])),
    );
    let records = run(spider(PAGES), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
    assert!(!script.paths().contains(&"/list/4".to_string()));
}

#[tokio::test(start_paused = true)]
async fn a_cursor_becomes_the_next_url_through_filters() {
    const CURSOR: &str = r#"
start = "http://h.test/api"
next = "next | fmt: 'http://h.test/api?after={}'"
[list]
format = "json"
items = "items"
fields.id = "id"
"#;
    let script = Arc::new(
        Script::new()
            .page("/api", 0, &api(&["a"], None, Some("c1")))
            .page("/api?after=c1", 0, &api(&["b"], None, Some("c2")))
            .page("/api?after=c2", 0, &api(&["c"], None, None)),
    );
    let records = run(spider(CURSOR), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
}

const OPEN: &str = r#"
start = "http://h.test/p/{page}"
[list]
item = "li"
fields.id = "a"
fields.url = "a::attr(href)"
"#;

fn open_site() -> Script {
    Script::new()
        .page("/p/1", 200, &list(&["a", "b"], None))
        .page("/p/2", 0, &list(&["c"], None))
        .page("/p/3", 0, &list(&[], None))
}

#[tokio::test(start_paused = true)]
async fn prefetch_guesses_pages_ahead_and_drops_those_past_the_end_unreported() {
    let toml = OPEN.replace("[list]\n", "[list]\nprefetch = true\n");
    let script = Arc::new(open_site());
    let crawl = super::Crawl::with_fetch(spider(&toml), CrawlOptions::default(), script.clone());
    let summary = crawl.summary_handle();
    let records: Vec<serde_json::Value> =
        futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::map(crawl, |r| {
            serde_json::Value::Object(r.unwrap().into_fields())
        }))
        .await;
    assert_eq!(column(&records, "id"), ["a", "b", "c"]);
    assert_eq!(
        script.when("/p/2"),
        std::time::Duration::ZERO,
        "page 2 was asked for before page 1 answered"
    );
    let paths = script.paths();
    assert!(
        paths.contains(&"/p/5".to_string()),
        "guessed past the end: {paths:?}"
    );
    assert!(
        summary.summary().failures.is_empty(),
        "pages past the end are not failures"
    );
}

#[tokio::test(start_paused = true)]
async fn prefetch_resumes_after_every_page() {
    let toml = OPEN.replace("[list]\n", "[list]\nprefetch = true\n");
    resumes_after_every_page(&toml, open_site).await;
}

#[tokio::test(start_paused = true)]
async fn an_open_chain_s_next_page_goes_before_detail_pages() {
    let script = Arc::new(open_site());
    let toml = format!("{OPEN}[detail]\nfollow = \"url\"\nfields.d = \"p.d\"\n");
    run(spider(&toml), CrawlOptions::default(), script.clone()).await;
    let turns: std::collections::HashMap<String, u64> = script
        .seen()
        .into_iter()
        .map(|s| (s.path, s.turn))
        .collect();
    use crate::fetch::CHAIN_TURN;
    assert_ne!(
        turns["/p/2"] & CHAIN_TURN,
        0,
        "marked as the chain's next page: {turns:?}"
    );
    assert_eq!(turns["/d/a"] & CHAIN_TURN, 0, "{turns:?}");
}

const POSTED: &str = r#"
start = "http://h.test/api"
[list]
format = "json"
items = "items"
fields.id = "id"
[request]
method = "POST"
json = { page = "{page}", q = "x" }
"#;

fn posted_site() -> Script {
    Script::new()
        .page(r#"/api {"page":1,"q":"x"}"#, 0, &api(&["a"], None, None))
        .page(r#"/api {"page":2,"q":"x"}"#, 0, &api(&["b"], None, None))
        .page(r#"/api {"page":3,"q":"x"}"#, 0, &api(&[], None, None))
}

#[tokio::test(start_paused = true)]
async fn a_page_only_in_the_post_body_pages_the_sequence_at_one_url() {
    let script = Arc::new(posted_site());
    let records = run(spider(POSTED), CrawlOptions::default(), script.clone()).await;
    assert_eq!(column(&records, "id"), ["a", "b"]);
    assert_eq!(
        script.paths().len(),
        3,
        "one URL, three bodies: {:?}",
        script.paths()
    );
}

#[tokio::test(start_paused = true)]
async fn posted_sequences_resume_after_every_page() {
    resumes_after_every_page(POSTED, posted_site).await;
}
