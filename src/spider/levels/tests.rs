//! Seed levels, sitemap lists, `page_param` and `[links]` in spider files
//! (SPEC §8, §11): every key loads, every bad one is named.

use super::super::*;

fn load(text: &str) -> Result<Spider, SpiderError> {
    Spider::from_toml(text, "t.toml", "t")
}

fn names(spider: &Spider) -> Vec<String> {
    spider.columns().into_iter().map(|(name, _)| name).collect()
}

const SEEDED: &str = r#"
start = "http://shop.test/"
next = "a.next::attr(href)"
key = ["category", "sku"]
[[seed]]
links = "nav.departments a::attr(href)"
fields.department = "::text"
fields.site = "title"
[[seed]]
links = "ul.categories a::attr(href)"
next = "a.more::attr(href)"
fields.category = "::text | lower"
[list]
item = ".product"
fields.sku = ".sku"
fields.url = "a::attr(href)"
require = ["category", "sku"]
[detail]
follow = "url"
fields.price = ".price | number"
unique = ["department", "price"]
"#;

#[test]
fn seed_levels_load_outermost_first() {
    let spider = load(SEEDED).unwrap();
    assert_eq!(
        spider.paging,
        Paging::Single,
        "with seeds the start is one page"
    );
    assert_eq!(spider.starts.templates, ["http://shop.test/"]);
    assert_eq!(spider.seeds.len(), 2);
    let [outer, inner] = &spider.seeds[..] else {
        unreachable!()
    };
    assert!(matches!(outer.format, Format::Html));
    assert_eq!(outer.links.to_string(), "`nav.departments a::attr(href)`");
    assert!(outer.next.is_none());
    assert_eq!(
        inner.next.as_ref().unwrap().to_string(),
        "`a.more::attr(href)`"
    );
    assert!(spider.list.next.is_some(), "top-level next pages the lists");
    assert_eq!(spider.list.keep.require, ["category", "sku"]);
    assert_eq!(spider.key, ["category", "sku"]);
    assert_eq!(
        names(&spider),
        ["department", "site", "category", "sku", "url", "price"],
        "seed fields, then list fields, then detail fields"
    );
    let plan = spider.describe();
    for shown in [
        "(the first seed level)",
        "seed 1:  HTML, every link at `nav.departments a::attr(href)`",
        "seed 1 field department",
        "seed 2 next: `a.more::attr(href)`",
        "seed 2 field category",
        "| lower",
        "list:    HTML, one record per `.product`",
    ] {
        assert!(plan.contains(shown), "`{shown}` missing from:\n{plan}");
    }
}

#[test]
fn json_seeds_and_page_param() {
    let spider = load(
        r#"
start = "https://api.test/departments"
[[seed]]
format = "json"
links = "departments[].href | url"
fields.store = "store.name"
[[seed]]
format = "json"
json_from = "script#state"
links = "0.categories[].url"
[list]
format = "json"
items = "results"
page_param = "p"
fields.id = "id"
"#,
    )
    .unwrap();
    assert!(spider.seeds.iter().all(|seed| seed.format.is_json()));
    assert_eq!(spider.list.page_param.as_deref(), Some("p"));
    assert_eq!(names(&spider), ["store", "id"]);
    let plan = spider.describe();
    assert!(plan.contains("seed 2:  JSON from `script#state`"), "{plan}");
    assert!(plan.contains("counts `p=1, 2, 3 …`"), "{plan}");
    let whole = load(
        "start = 'https://api.test/'\nkey = 'anything'\n[[seed]]\nlinks = 'a::attr(href)'\nfields.c = '::text'\n[list]\nformat = 'json'\nitems = 'r'\nrequire = 'whatever'\n",
    )
    .unwrap();
    assert_eq!(whole.key, ["anything"], "whole JSON items: any names");
}

const SITEMAP: &str = r#"
start = "https://site.test/sitemap_index.xml.gz"
[list]
format = "sitemap"
allow = ["/product/", "/p/\\d+"]
deny = ["\\?"]
"#;

#[test]
fn sitemap_lists_load() {
    let spider = load(SITEMAP).unwrap();
    assert!(matches!(spider.list.format, Format::Sitemap));
    let ItemRule::Sitemap(filter) = &spider.list.item else {
        panic!("a sitemap item rule")
    };
    assert_eq!((filter.allow.len(), filter.deny.len()), (2, 1));
    assert!(filter.keeps("https://site.test/p/12") && !filter.keeps("https://site.test/p/1?x"));
    assert_eq!(names(&spider), ["loc", "lastmod", "changefreq", "priority"]);
    assert!(spider.columns().iter().all(|(_, kind)| *kind == Kind::Text));
    let plan = spider.describe();
    for shown in [
        "a sitemap, one record per <url>",
        "allow:   URLs matching `/product/`, `/p/\\d+`",
        "deny:    URLs matching `\\?`",
        "each entry whole (loc, lastmod, changefreq, priority)",
    ] {
        assert!(plan.contains(shown), "`{shown}` missing from:\n{plan}");
    }
    let followed = load(&format!(
        "key = 'loc'\n{SITEMAP}require = ['loc', 'lastmod']\nunique = 'loc'\n[detail]\nfollow = 'loc'\nfields.title = 'h1'\n"
    ))
    .unwrap();
    assert_eq!(followed.detail.unwrap().follow, "loc");
    let projected = load(&format!(
        "{SITEMAP}fields.url = 'loc'\nfields.day = \"lastmod | re: '^([0-9-]+)'\"\nfields.p = 'priority | number'\n[detail]\nfollow = 'url'\nfields.t = 'h1'\nrequire = 'day'\n"
    ))
    .unwrap();
    let kinds = projected.columns();
    assert_eq!(kinds[2], ("p".to_string(), Kind::Number));
    assert_eq!(names(&projected), ["url", "day", "p", "t"]);
    let robots = load("start = 'https://site.test/robots.txt'\n[list]\nformat = 'sitemap'\n");
    let robots = robots.unwrap();
    assert!(matches!(robots.paging, Paging::Single));
    assert!(robots
        .describe()
        .contains("(a robots.txt: its Sitemap: lines are read)"));
}

const LINKS: &str = r#"
start = "https://Shop.test/catalog"
[links]
within = "main .products"
allow = ["/p/"]
deny = ["/p/old"]
depth = 2
hosts = ["CDN.shop.test", "img.shop.test"]
[detail]
fields.name = "h1"
fields.url = "::url"
fields.sku = "span.sku | int"
require = "sku"
"#;

#[test]
fn link_rules_load() {
    let spider = load(LINKS).unwrap();
    assert_eq!(spider.paging, Paging::Single);
    assert_eq!(
        spider.starts.templates,
        ["https://Shop.test/catalog"],
        "as written"
    );
    let ItemRule::Links(rule) = &spider.list.item else {
        panic!("a link rule")
    };
    assert_eq!(
        rule.within.as_ref().map(|(s, _)| s.as_str()),
        Some("main .products")
    );
    assert_eq!(rule.depth, 2);
    assert_eq!(rule.hosts, ["cdn.shop.test", "img.shop.test"]);
    assert_eq!((rule.filter.allow.len(), rule.filter.deny.len()), (1, 1));
    assert!(matches!(spider.list.format, Format::Html));
    assert!(spider.list.fields.is_empty() && spider.list.next.is_none());
    assert!(spider.seeds.is_empty());
    let detail = spider.detail.as_ref().unwrap();
    assert_eq!(detail.follow, "", "no follow: every link is followed");
    assert_eq!(detail.keep.require, ["sku"]);
    assert_eq!(names(&spider), ["name", "url", "sku"]);
    let plan = spider.describe();
    for shown in [
        "(the link crawl's start)",
        "links:   every distinct link inside `main .products`, followed 2 levels deep, breadth first",
        "allow:   URLs matching `/p/`",
        "deny:    URLs matching `/p/old`",
        "hosts:   the start's host and cdn.shop.test, img.shop.test",
        "detail:  HTML, every link kept",
        "detail field sku",
    ] {
        assert!(plan.contains(shown), "`{shown}` missing from:\n{plan}");
    }
    assert!(!plan.contains("list fields"), "{plan}");
    let bare = load("start = 'http://h.test/'\n[links]\n[detail]\nfields.t = 'title'\n").unwrap();
    let ItemRule::Links(rule) = &bare.list.item else {
        panic!("a link rule")
    };
    assert_eq!(
        (rule.depth, rule.hosts.len()),
        (1, 0),
        "depth defaults to 1"
    );
    assert!(rule.within.is_none());
    assert!(bare.describe().contains("followed 1 level deep"));
    assert!(bare.describe().contains("the start's host only"));
}

/// A seeded file with `extra` at the end of its `[list]`.
fn seeded_list(extra: &str) -> String {
    format!(
        "start = 'http://h.test/'\n[[seed]]\nlinks = 'a::attr(href)'\nfields.c = '::text'\n[list]\nitem = '.i'\nfields.t = '.t'\n{extra}\n"
    )
}

#[test]
fn bad_levels_name_the_key() {
    let seed = |body: &str| {
        format!("start = 'http://h.test/'\n[[seed]]\nlinks = 'a::attr(href)'\n[[seed]]\n{body}\n[list]\nitem = '.i'\n")
    };
    let list = |extra: &str| format!("start = 'http://h.test/'\n[list]\nitem = '.i'\n{extra}\n");
    let sitemap = |extra: &str| format!("{SITEMAP}{extra}\n");
    let links = |extra: &str| LINKS.replace("depth = 2", extra);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "start = 'http://h.test/'\n[seed]\nlinks = 'a'\n[list]\nitem = '.i'\n".into(),
            "seed",
            "[[seed]]",
        ),
        (seed("lnks = 'a'"), "seed[1].lnks", "did you mean `links`"),
        (seed("next = 'a'"), "seed[1].links", "required"),
        (seed("links = 'a['"), "seed[1].links", "CSS selector"),
        (seed("links = '::url'"), "seed[1].links", "giving the links"),
        (seed("links = ''"), "seed[1].links", "giving the links"),
        (
            seed("links = 'a'\nformat = 'xml'"),
            "seed[1].format",
            "\"json\"",
        ),
        (
            seed("links = 'a'\nformat = 'sitemap'"),
            "seed[1].format",
            "\"html\"",
        ),
        (
            seed("links = 'a'\njson_re = '('"),
            "seed[1].json_re",
            "regular expression",
        ),
        (
            seed("links = 'a'\nnext = 'b['"),
            "seed[1].next",
            "CSS selector",
        ),
        (
            seed("links = 'a'\nfields.i = '::index'"),
            "seed[1].fields.i",
            "seed page",
        ),
        (
            seed("links = 'a'\nfields.x = 3"),
            "seed[1].fields.x",
            "const",
        ),
        (
            seeded_list("").replace("http://h.test/", "http://h.test/{page}"),
            "start",
            "{page}",
        ),
        (
            format!("last_page = 3\n{}", seeded_list("")),
            "last_page",
            "[[seed]]",
        ),
        (seeded_list("require = 'd'"), "list.require", "`c`"),
        (format!("key = 'd'\n{}", seeded_list("")), "key", "`c`, `t`"),
        (format!("omit = ['d']\n{}", seeded_list("")), "omit", "`c`"),
        (
            seeded_list("fields.u = 'a::attr(href)'\n[detail]\nfollow = 'u'\nunique = 'd'"),
            "detail.unique",
            "`c`",
        ),
        (list("page_param = 'page'"), "list.page_param", "[[seed]]"),
        (
            seeded_list("page_param = 'page'\nnext = 'a.n::attr(href)'"),
            "list.page_param",
            "not both",
        ),
        (
            seeded_list("page_param = 'a=b'"),
            "list.page_param",
            "query parameter",
        ),
        (
            seeded_list("page_param = ''"),
            "list.page_param",
            "query parameter",
        ),
        (list("format = 'xml'"), "list.format", "\"sitemap\""),
        (list("allow = ['x']"), "list.allow", "format = \"sitemap\""),
        (list("deny = ['x']"), "list.deny", "format = \"sitemap\""),
        (sitemap("item = '.x'"), "list.item", "sitemap"),
        (sitemap("items = 'x'"), "list.items", "sitemap"),
        (sitemap("stop = 'x'"), "list.stop", "sitemap"),
        (sitemap("next = 'x'"), "list.next", "sitemap"),
        (format!("next = 'x'\n{SITEMAP}"), "next", "sitemap"),
        (sitemap("json_from = 'script'"), "list.json_from", "sitemap"),
        (
            sitemap("allow = ['ok', '(']").replacen(
                "allow = [\"/product/\", \"/p/\\\\d+\"]\n",
                "",
                1,
            ),
            "list.allow[1]",
            "regular expression",
        ),
        (
            SITEMAP.replace("\\\\?", "["),
            "list.deny[0]",
            "regular expression",
        ),
        (
            sitemap("require = 'url'"),
            "list.require",
            "`loc`, `lastmod`",
        ),
        (
            sitemap("fields.u = 'loc'\nunique = 'loc'"),
            "list.unique",
            "`u`",
        ),
        (sitemap("fields.u = 'loc..x'"), "list.fields.u", "JSON path"),
        (
            sitemap("[detail]\nfollow = 'url'"),
            "detail.follow",
            "`loc`",
        ),
        (
            list("fields.u = 'a'\n[detail]\nfields.x = 'h1'"),
            "detail.follow",
            "required with [list]",
        ),
        (format!("{}[links]\n", list("")), "links", "not both"),
        (
            "start = 'http://h.test/'\n[[seed]]\nlinks = 'a'\n[links]\n[detail]\nfields.t = 'h1'\n"
                .into(),
            "links",
            "not supported",
        ),
        (links("depth = 0"), "links.depth", "≥ 1"),
        (links("depth = -3"), "links.depth", "≥ 1"),
        (links("depth = 4294967296"), "links.depth", "≤ 4294967295"),
        (links("depth = 'two'"), "links.depth", "integer"),
        (links("dept = 2"), "links.dept", "did you mean `depth`"),
        (
            LINKS.replace("\"CDN.shop.test\"", "\"cdn.shop.test:8443\""),
            "links.hosts[0]",
            "port",
        ),
        (
            LINKS.replace("\"img.shop.test\"", "\"https://img.shop.test\""),
            "links.hosts[1]",
            "scheme",
        ),
        (
            LINKS.replace("\"img.shop.test\"", "\"\""),
            "links.hosts[1]",
            "host name",
        ),
        (
            LINKS.replace("\"img.shop.test\"", "\"img.shop.test/x\""),
            "links.hosts[1]",
            "host name",
        ),
        (
            LINKS.replace("main .products", "main["),
            "links.within",
            "CSS selector",
        ),
        (
            LINKS.replace("[\"/p/\"]", "[\"(\"]"),
            "links.allow[0]",
            "regular expression",
        ),
        (
            LINKS.replace(
                "start = \"https://Shop.test/catalog\"",
                "start = \"https://shop.test/{page}\"",
            ),
            "start",
            "{page}",
        ),
        (format!("next = 'a::attr(href)'\n{LINKS}"), "next", "depth"),
        (format!("first_page = 2\n{LINKS}"), "first_page", "[links]"),
        (
            format!("omit = 'nope'\n{LINKS}"),
            "omit",
            "`name`, `url`, `sku`",
        ),
        (
            LINKS.replace("require = \"sku\"", "require = \"price\""),
            "detail.require",
            "`sku`",
        ),
        (
            LINKS.replace("[detail]", "[detail]\nfollow = 'url'"),
            "detail.follow",
            "no `follow` with [links]",
        ),
        (
            "start = 'http://h.test/'\n[links]\n".into(),
            "detail.fields",
            "[detail] section with fields",
        ),
        (
            "start = 'http://h.test/'\n[links]\n[detail]\nformat = 'html'\n".into(),
            "detail.fields",
            "[detail] section with fields",
        ),
        (
            "start = 'http://h.test/'\n[links]\n[detail]\nfields.p = '::page'\n".into(),
            "detail.fields.p",
            "[list]",
        ),
        ("start = 'http://h.test/'\n".into(), "list", "[links]"),
    ];
    for (text, key, hint) in cases {
        let err = load(&text).expect_err(&text);
        assert_eq!(err.key(), Some(key), "{err}\n{text}");
        let message = err.to_string();
        assert!(
            message.contains(hint),
            "`{message}` should mention `{hint}`\n{text}"
        );
        assert!(message.starts_with("t.toml: "), "{message}");
    }
}
