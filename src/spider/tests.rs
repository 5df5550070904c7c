//! Spider files: the shipped examples load, and every bad file names its key.

use std::time::Duration;

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
        "examples/catalog.toml",
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
            first: 1,
            last: Some(3)
        }
    );
    assert_eq!(
        spider.starts.templates,
        ["http://127.0.0.1:8000/blog/page/{page}"]
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
    assert!(matches!(next.paging, Paging::Next));
    assert!(next.list.next.is_some());
    let under =
        load("start = 'http://h.test/'\n[list]\nitem = '.p'\nnext = 'a.n::attr(href)'\n").unwrap();
    assert!(matches!(under.paging, Paging::Next));
    let single = load("start = 'http://h.test/'\n[list]\nitem = '.p'\n").unwrap();
    assert!(matches!(single.paging, Paging::Single));
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
fn allow_private_defaults_to_false_and_is_read_from_limits() {
    let default = load(BLOG).unwrap();
    assert!(!default.limits.allow_private);
    assert!(!default.describe().contains("private"));
    let spider = load(&format!("{BLOG}[limits]\nallow_private = true\n")).unwrap();
    assert!(spider.limits.allow_private);
    assert!(spider.describe().contains("private networks allowed"));
    let error = load(&format!("{BLOG}[limits]\nallow_private = \"yes\"\n")).unwrap_err();
    assert!(error.to_string().contains("allow_private"), "{error}");
}

#[test]
fn max_delay_defaults_to_ten_minutes_and_reads_like_timeout() {
    let default = load(BLOG).unwrap();
    assert_eq!(default.limits.max_delay, Duration::from_secs(600));
    assert!(default.describe().contains("waits up to 10m"));
    for (written, want) in [("\"90s\"", 90), ("30", 30), ("\"24h\"", 86_400), ("0", 0)] {
        let spider = load(&format!("{BLOG}[limits]\nmax_delay = {written}\n")).unwrap();
        assert_eq!(
            spider.limits.max_delay,
            Duration::from_secs(want),
            "{written}"
        );
    }
}

/// SPEC §10 "Flags": values that could not work are refused by the file
/// too, with the same words as the flags (the rules are `Limits::check_*`).
#[test]
fn values_that_could_not_work_are_refused() {
    let with_limits = |extra: &str| format!("{BLOG}[limits]\n{extra}\n");
    let cases = [
        ("rate = 1e-30", "limits.rate", "one request a day"),
        ("rate = 0.00001", "limits.rate", "one request a day"),
        ("rate = nan", "limits.rate", "≥ 0"),
        ("rate = inf", "limits.rate", "≥ 0"),
        ("burst = 2147483648", "limits.burst", "≤ 10000"),
        ("burst = 4294967296", "limits.burst", "≤ 10000"),
        ("burst = 10001", "limits.burst", "≤ 10000"),
        ("concurrency = 100000", "limits.concurrency", "≤ 10000"),
        ("timeout = \"25h\"", "limits.timeout", "at most a day"),
        ("timeout = 86401", "limits.timeout", "at most a day"),
        ("timeout = \"0s\"", "limits.timeout", "above zero"),
        ("max_delay = \"25h\"", "limits.max_delay", "at most a day"),
        ("max_delay = \"soon\"", "limits.max_delay", "soon"),
        ("max_delay = -1", "limits.max_delay", "-1"),
        ("user_agent = \"a\\nb\"", "limits.user_agent", "one-line"),
        ("user_agent = \"a\\u0000b\"", "limits.user_agent", "control"),
        ("retries = 4294967296", "limits.retries", "≥ 0"),
    ];
    for (extra, key, wanted) in cases {
        let error = load(&with_limits(extra)).unwrap_err();
        assert_eq!(error.key(), Some(key), "{extra}: {error}");
        assert!(error.to_string().contains(wanted), "{extra}: {error}");
    }
    let edge = load(&with_limits(
        "rate = 0.0000116\nburst = 10000\nconcurrency = 10000\ntimeout = \"24h\"",
    ))
    .unwrap();
    assert_eq!(edge.limits.burst.get(), Limits::MAX_BURST);
    assert_eq!(edge.limits.concurrency.get(), Limits::MAX_CONCURRENCY);
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
    // Cargo manifests (the library example's) are not spider files.
    for block in blocks.into_iter().filter(|b| !b.contains("Cargo.toml")) {
        // The environment is not the test's to set: a secret reads as text.
        let block = block.replace("{env:API_TOKEN}", "token");
        load(&block).unwrap_or_else(|e| panic!("README example does not load: {e}\n{block}"));
    }
}

/// A list spider whose `[list]` section ends with `extra`.
fn list_with(extra: &str) -> String {
    format!("start = 'http://h.test/p/{{page}}'\n[list]\nitem = '.item'\n{extra}\n")
}

/// A JSON list spider whose `[list]` section ends with `extra`.
fn json_with(extra: &str) -> String {
    format!("start = 'http://h.test/api'\n[list]\nformat = 'json'\nitems = 'items'\n{extra}\n")
}

#[test]
fn every_field_form_loads() {
    // `key` and `omit` belong at the top, before any section.
    let misplaced = load(&list_with("fields.sku = '.sku'\nkey = 'sku'")).unwrap_err();
    assert_eq!(misplaced.key(), Some("list.key"));
    let text = "key = 'sku'\nomit = ['url']\n".to_string()
        + &list_with(
            r#"fields.sku = ".sku | trim"
fields.url = "a::attr(href)"
fields.tags = ".tags a::text[]"
fields.price = [".sale .price | number", ".price | number"]
fields.site = { const = "Shop" }
fields.flags = { const = [1, 2] }
fields.files = { each = "ul.files a", fields = { title = "::text", href = "::attr(href)" } }
fields.specs = { rows = "table tr", key = "th", value = "td" }
fields.position = "::index"
require = ["sku"]
unique = "url""#,
        );
    let spider = load(&text).unwrap();
    assert_eq!(spider.key, ["sku"]);
    assert_eq!(spider.omit, ["url"]);
    assert_eq!(spider.list.keep.require, ["sku"]);
    assert_eq!(spider.list.keep.unique, ["url"]);
    let kinds: Vec<(String, Kind)> = spider.columns();
    let kind = |name: &str| kinds.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
    assert_eq!(kind("url"), None, "omitted fields are no columns");
    assert_eq!(kind("sku"), Some(Kind::Text));
    assert_eq!(kind("tags"), Some(Kind::Json));
    assert_eq!(kind("site"), Some(Kind::Text));
    assert_eq!(kind("flags"), Some(Kind::Json));
    assert_eq!(kind("files"), Some(Kind::Json));
    assert_eq!(kind("specs"), Some(Kind::Json));
    assert_eq!(kind("position"), Some(Kind::Int));
    let plan = spider.describe();
    for shown in [
        ".tags a::text[]",
        "first of [",
        "each `ul.files a`",
        "-> json",
        "require: sku",
        "unique:  url",
        "key:     sku",
        "omit:    url",
    ] {
        assert!(
            plan.contains(shown),
            "`{shown}` missing from the plan:\n{plan}"
        );
    }
}

#[test]
fn json_inside_html_loads() {
    let from = load(
        "start = 'http://h.test/p'\n[list]\nformat = 'json'\njson_from = 'script[type=\"application/ld+json\"]'\nitems = ''\nfields.name = '[@type=Product].name'\n",
    )
    .unwrap();
    assert!(from.describe().contains("JSON from `script"));
    let re = load(&json_with(
        "json_re = 'window\\.__STATE__\\s*=\\s*(\\{.*?\\});'",
    ))
    .unwrap();
    assert!(re.describe().contains("matched by"));
    let detail = load(&format!(
        "{}fields.url = 'url'\n[detail]\nfollow = 'url'\nformat = 'json'\njson_from = 'script#data'\nfields.name = 'name'\nrequire = 'name'\nunique = ['url', 'name']\n",
        json_with("")
    ))
    .unwrap();
    assert_eq!(detail.detail.unwrap().keep.unique, ["url", "name"]);
    let follow = load(&format!(
        "{}fields.slug = 'slug'\n[detail]\nfollow = \"slug | fmt: '/p/{{}}'\"\nfields.t = 'h1'\n",
        json_with("")
    ))
    .unwrap();
    assert!(!follow.detail.unwrap().follow_filters.is_empty());
}

#[test]
fn bad_fields_name_the_key() {
    let cases: Vec<(String, &str, &str)> = vec![
        (list_with("fields.a = 5"), "list.fields.a", "{ const = 5 }"),
        (
            list_with("fields._key = '.k'"),
            "list.fields._key",
            "key column",
        ),
        (list_with("fields.a = []"), "list.fields.a", "at least one"),
        (
            list_with("fields.a = ['.x', 3]"),
            "list.fields.a[1]",
            "a string",
        ),
        (
            list_with("fields.a = { cnst = 1 }"),
            "list.fields.a.cnst",
            "did you mean `const`",
        ),
        (
            list_with("fields.a = { const = 1, each = 'x' }"),
            "list.fields.a.each",
            "beside `const`",
        ),
        (
            list_with("fields.a = { each = 'li' }"),
            "list.fields.a.fields",
            "fields read inside",
        ),
        (
            list_with("fields.a = { each = 'li[', fields = { t = '::text' } }"),
            "list.fields.a.each",
            "CSS selector",
        ),
        (
            list_with("fields.a = { each = 'li', fields = { t = 'b[' } }"),
            "list.fields.a.fields.t",
            "CSS selector",
        ),
        (
            list_with("fields.a = { rows = 'tr', key = 'th' }"),
            "list.fields.a.value",
            "beside `rows`",
        ),
        (
            list_with("fields.a = { key = 'th', value = 'td' }"),
            "list.fields.a",
            "a table with",
        ),
        (
            list_with("fields.a = 'x::text[]x'"),
            "list.fields.a",
            "ending in",
        ),
        (
            list_with("fields.a = '.x'\nrequire = ['b']"),
            "list.require",
            "`a`",
        ),
        (
            list_with("fields.a = '.x'\nunique = []"),
            "list.unique",
            "at least one",
        ),
        (
            list_with("fields.a = '.x'\nunique = 3"),
            "list.unique",
            "field name",
        ),
        (
            "key = 'b'\n".to_string() + &list_with("fields.a = '.x'"),
            "key",
            "`a`",
        ),
        (
            "omit = ['b']\n".to_string() + &list_with("fields.a = '.x'"),
            "omit",
            "`a`",
        ),
        (
            list_with("json_from = 'script'"),
            "list.json_from",
            "format = \"json\"",
        ),
        (
            json_with("json_re = '(unclosed'"),
            "list.json_re",
            "regular expression",
        ),
        (
            json_with("json_re = 'a'\njson_from = 'b'"),
            "list.json_re",
            "not both",
        ),
        (
            json_with("json_from = 'b['"),
            "list.json_from",
            "CSS selector",
        ),
        (json_with("fields.a = 'x..y'"), "list.fields.a", "JSON path"),
        (
            json_with("fields.u = 'u'\n[detail]\nfollow = 'u'\nfields.i = '::index'"),
            "detail.fields.i",
            "[list]",
        ),
        (
            json_with("fields.u = 'u'\n[detail]\nfollow = 'v | url'"),
            "detail.follow",
            "`u`",
        ),
    ];
    for (text, key, hint) in cases {
        let err = load(&text).expect_err(&text);
        assert_eq!(err.key(), Some(key), "{err}\n{text}");
        let message = err.to_string();
        assert!(
            message.contains(hint),
            "`{message}` should mention `{hint}`"
        );
    }
}
