//! Spider files: the shipped examples load, and every bad file names its key.

use super::*;

const BLOG: &str = r#"
start = "http://127.0.0.1:8000/blog/page/{page}"
last_page = 3
[list]
item = ".item"
fields.title = ".title::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.description = ".description::text"
"#;

fn load(text: &str) -> Result<Spider, SpiderError> {
    Spider::from_toml(text, "t.toml", "t")
}

#[test]
fn shipped_examples_load() {
    for path in [
        "examples/blog.toml",
        "examples/api.toml",
        "examples/shop.toml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let spider = Spider::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!spider.describe().is_empty());
    }
}

#[test]
fn a_good_file_becomes_a_spider() {
    let spider = load(BLOG).unwrap();
    assert_eq!(spider.name, "t");
    assert_eq!(
        spider.paging,
        Paging::Numbered {
            template: "http://127.0.0.1:8000/blog/page/{page}".into(),
            first: 1,
            last: Some(3)
        }
    );
    let names: Vec<_> = spider.list.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["title", "url"], "fields keep the file's order");
    assert_eq!(spider.limits, Limits::default());
    assert_eq!(spider.detail.unwrap().follow, "url");
}

#[test]
fn paging_forms() {
    let next =
        load("start = 'http://h.test/shop/'\nnext = 'a.next::attr(href)'\n[list]\nitem = '.p'\n")
            .unwrap();
    assert!(matches!(next.paging, Paging::Next(_)));
    assert!(next.list.next.is_some());
    let under =
        load("start = 'http://h.test/'\n[list]\nitem = '.p'\nnext = 'a.n::attr(href)'\n").unwrap();
    assert!(matches!(under.paging, Paging::Next(_)));
    let single = load("start = 'http://h.test/'\n[list]\nitem = '.p'\n").unwrap();
    assert!(matches!(single.paging, Paging::Single(_)));
    let json = load("start = 'http://h.test/api?p={page}'\n[list]\nformat = 'json'\nitems = 'data'\nnext = 'links.next'\n");
    assert_eq!(
        json.unwrap_err().key(),
        Some("next"),
        "a template and next together"
    );
    let json = load("start = 'http://h.test/api'\n[list]\nformat = 'json'\nnext = 'links.next'\nstop = 'last'\n").unwrap();
    assert!(json.list.stop.is_some());
}

#[test]
fn limits_are_read_with_units() {
    let spider = load(&format!(
        "{BLOG}[limits]\nrate = 0\nburst = 4\nconcurrency = 64\ntimeout = \"500ms\"\nretries = 0\nrobots = false\nuser_agent = \"bot/2\"\nmax_body = \"1MiB\"\n"
    ))
    .unwrap();
    let l = spider.limits;
    assert_eq!(l.rate.per_second(), 0.0);
    assert_eq!((l.burst.get(), l.concurrency.get(), l.retries), (4, 64, 0));
    assert_eq!(l.timeout, std::time::Duration::from_millis(500));
    assert_eq!(
        (l.robots, l.user_agent.as_str(), l.max_body),
        (false, "bot/2", 1 << 20)
    );
    let bare = load(&format!(
        "{BLOG}[limits]\ntimeout = 2\nmax_body = 2048\nrate = 1.5\n"
    ))
    .unwrap();
    assert_eq!(bare.limits.timeout, std::time::Duration::from_secs(2));
    assert_eq!(bare.limits.max_body, 2048);
}

#[test]
fn bad_files_name_the_key() {
    let with_limits = |extra: &str| format!("{BLOG}[limits]\n{extra}\n");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("strat = 'x'\n{BLOG}"),
            "strat",
            "did you mean `start`",
        ),
        (with_limits("rat = 2"), "limits.rat", "did you mean `rate`"),
        (
            with_limits("rate = \"fast\""),
            "limits.rate",
            "expected a number",
        ),
        (with_limits("rate = -1"), "limits.rate", "≥ 0"),
        (with_limits("burst = 0"), "limits.burst", "≥ 1"),
        (with_limits("concurrency = 0"), "limits.concurrency", "≥ 1"),
        (with_limits("retries = -2"), "limits.retries", "≥ 0"),
        (
            with_limits("timeout = \"3 days\""),
            "limits.timeout",
            "duration",
        ),
        (
            with_limits("max_body = \"lots\""),
            "limits.max_body",
            "size",
        ),
        (with_limits("robots = \"yes\""), "limits.robots", "bool"),
        (
            BLOG.replace(".title::text", "h2[::text"),
            "list.fields.title",
            "CSS selector",
        ),
        (
            BLOG.replace("\".item\"", "\"div[\""),
            "list.item",
            "CSS selector",
        ),
        (
            BLOG.replace("follow = \"url\"", "follow = \"link\""),
            "detail.follow",
            "`url`",
        ),
        (BLOG.replace("start = ", "begin = "), "begin", "unknown key"),
        ("[list]\nitem='.x'\n".into(), "start", "required"),
        ("start = 'http://h.test/'\n".into(), "list", "[list]"),
        (BLOG.replace("http://", "ftp://"), "start", "http or https"),
        (
            BLOG.replace("http://127.0.0.1:8000", "not a url"),
            "start",
            "absolute",
        ),
        (
            BLOG.replace("last_page = 3", "last_page = 0"),
            "last_page",
            "≥ first_page",
        ),
        (
            BLOG.replace("item = \".item\"", "item = \".item\"\nitems = \"x\""),
            "list.items",
            "json",
        ),
        (
            BLOG.replace("[list]", "[list]\nformat = \"xml\""),
            "list.format",
            "\"json\"",
        ),
        (
            "start = 'http://h.test/'\nlast_page = 2\n[list]\nitem='.x'\n".into(),
            "last_page",
            "{page}",
        ),
    ];
    for (text, key, hint) in cases {
        let err = load(&text).expect_err(&text);
        assert_eq!(err.key(), Some(key), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(hint),
            "`{message}` should mention `{hint}`"
        );
        assert!(message.starts_with("t.toml: "), "{message}");
    }
}

#[test]
fn syntax_errors_name_the_line() {
    let err = load("start = 'http://h.test/'\n[list\nitem = 'x'\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    let err = Spider::from_path("/nonexistent/spider.toml").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/spider.toml"),
        "{err}"
    );
}

#[test]
fn readme_toml_examples_parse() {
    let readme = include_str!("../../README.md");
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect();
    assert!(blocks.len() >= 3, "the README shows its spider examples");
    for block in blocks {
        load(block).unwrap_or_else(|e| panic!("README example does not load: {e}\n{block}"));
    }
}
