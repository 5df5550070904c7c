//! SPEC §10 "Bounds", by generated input: whatever a spider file or a server
//! holds, the parsers either work or give a clear error, and nothing
//! panics. Each property runs a few hundred generated inputs in `cargo test`;
//! `bench/fuzz` runs the same properties with many more (`PROPTEST_CASES`).
//!
//! Spider files, selectors, filters, JSON paths, pages, robots.txt,
//! templates, durations and sitemaps are here; column names, Retry-After,
//! Content-Length, charsets and gzip have theirs next to the code, under
//! `mod properties`. Test builds only.
//!
//! Every property prints `property NAME: N inputs` (with `--nocapture`), which
//! `bench/fuzz` sums into its report.

use crate::extract::{
    extract_detail, extract_list, kind_of, Chain, CssRule, JsonPath, Kind, PageInfo, Read, Sitemap,
};
use crate::fetch::Robots;
use crate::spider::template::{fill_json, fill_text, placeholders, Values};
use crate::spider::{format_duration, parse_duration, parse_rate, parse_size};
use crate::spider::{
    DETAIL_KEYS, LIMIT_KEYS, LINKS_KEYS, LIST_KEYS, REQUEST_KEYS, SEED_KEYS, TOP_KEYS,
};
use crate::Spider;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use scraper::Html;
use serde_json::{json, Value};
use url::Url;

use crate::proptest_run::check;

// ---------------------------------------------------------------- generators

/// Text a user or a server might plausibly write, and text they would not:
/// the pieces parsers split on, quotes, braces, non-ASCII, control bytes.
fn wild_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ._/-]{0,12}",
        r#"[\[\]{}()'"|:=.,*$@#&?%\\ a-z0-9-]{0,16}"#,
        "\\PC{0,12}",
        any::<String>().prop_map(|s| s.chars().take(24).collect()),
        Just(String::new()),
    ]
}

/// Generated CSS with the output suffixes trawl adds (`::text`,
/// `::attr(x)`, `::html`, `[]`): mostly well-formed, sometimes broken.
fn css_selector() -> impl Strategy<Value = String> {
    let suffix = prop_oneof![
        4 => Just(String::new()),
        4 => Just("::text".to_string()),
        1 => Just("::html".to_string()),
        4 => "::attr\\([a-z-]{1,6}\\)",
        1 => "::attr\\([a-z]{0,4}",
        1 => "::[a-z]{1,5}",
    ];
    let css = prop_oneof![4 => good_css(), 1 => wild_text()];
    (css, suffix, any::<bool>()).prop_map(|(css, suffix, many)| {
        let many = if many { "[]" } else { "" };
        format!("{css}{suffix}{many}")
    })
}

/// A CSS selector that parses: simple selectors joined by combinators.
fn good_css() -> impl Strategy<Value = String> {
    let simple = prop_oneof![
        "[a-z]{1,3}",
        "\\.[a-z][a-z0-9_-]{0,4}",
        "#[a-z][a-z0-9]{0,3}",
        "[a-z]{1,3}\\[[a-z]{1,5}\\]",
        r#"[a-z]{1,3}\[[a-z]{1,5}[\^$*~|]?="[a-z |]{0,5}"\]"#,
        "[a-z]{1,3}:(first-child|last-child|nth-child\\([0-9]{0,2}n?\\+?[0-9]?\\)|not\\(\\.[a-z]{1,3}\\))",
        Just("*".to_string()),
    ];
    let combinator = prop::sample::select(&[" ", " > ", " + ", " ~ ", ", "][..]);
    (
        simple.clone(),
        prop::collection::vec((combinator, simple), 0..3),
    )
        .prop_map(|(first, rest)| {
            let mut css = first;
            for (combinator, simple) in rest {
                css.push_str(combinator);
                css.push_str(&simple);
            }
            css
        })
}

/// The text of a filter argument: regexes, date formats, `{}`, noise.
fn arg_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ,.{}]{0,8}",
        r"\(?\\d\+\)?|\[a-z\]\*|\(\?P<x>\.\)|\\w\+|\(",
        "%[dmYHMSbBy%-]{1,2}[ /-]%[dmYbB]",
        wild_text(),
        Just("{}".to_string()),
    ]
}

/// A filter argument as written: quoted either way, bare, or unclosed.
fn filter_arg() -> impl Strategy<Value = String> {
    (arg_text(), 0..4u8).prop_map(|(text, quoting)| match quoting {
        0 => format!("'{text}'"),
        1 => format!("\"{text}\""),
        2 => text,
        _ => format!("'{text}"),
    })
}

/// A filter argument quoted so that it reads back as its text.
fn good_arg() -> impl Strategy<Value = String> {
    arg_text().prop_map(|text| match (text.contains('\''), text.contains('"')) {
        (false, _) => format!("'{text}'"),
        (true, false) => format!("\"{text}\""),
        (true, true) => format!("'{}'", text.replace('\'', "")),
    })
}

/// A filter chain: mostly filters with the arguments they take, sometimes
/// unknown names and wrong counts.
fn filter_chain() -> impl Strategy<Value = String> {
    let step = prop_oneof![3 => good_filter(), 1 => any_filter()];
    prop::collection::vec(step, 1..4).prop_map(|steps| steps.join(" | "))
}

/// One filter with as many arguments as it takes (their text generated).
fn good_filter() -> impl Strategy<Value = String> {
    let arg = good_arg;
    prop_oneof![
        prop::sample::select(&["trim", "lower", "upper", "number", "int", "url"][..])
            .prop_map(str::to_string),
        (arg(), arg()).prop_map(|(a, b)| format!("replace: {a} {b}")),
        (prop::sample::select(&["re", "re_all"][..]), arg()).prop_map(|(n, a)| format!("{n}: {a}")),
        (
            prop::sample::select(&["split", "join", "date", "fmt", "json"][..]),
            arg()
        )
            .prop_map(|(n, a)| format!("{n}: {a}")),
        prop_oneof![
            arg(),
            Just("0".to_string()),
            Just("-1.5".to_string()),
            Just("true".to_string()),
            Just("null".to_string()),
            Just("[]".to_string()),
        ]
        .prop_map(|a| format!("default: {a}")),
    ]
}

/// Any filter name (a few unknown) with 0–2 arguments.
fn any_filter() -> impl Strategy<Value = String> {
    let name = prop::sample::select(
        &[
            "trim", "lower", "upper", "replace", "re", "re_all", "split", "join", "number", "int",
            "date", "default", "fmt", "url", "json", "nubmer", "",
        ][..],
    );
    (name, prop::collection::vec(filter_arg(), 0..3)).prop_map(|(name, args)| {
        match args.is_empty() {
            true => name.to_string(),
            false => format!("{name}: {}", args.join(" ")),
        }
    })
}

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    toml::Value::from(text).to_string()
}

/// A JSON path: keys, indexes, `[k=v]` finds and `[]` maps, or noise.
fn json_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[a-z@_]{1,5}",
        "-?[0-9]{1,3}",
        Just("-9223372036854775808".to_string()),
        Just("99999999999999999999".to_string()),
        "[a-z]{0,3}\\[\\]",
        "[a-z]{0,3}\\[[a-z@_-]{0,3}=[a-z0-9 .=]{0,4}\\]",
        "[a-z]{0,3}\\[[a-z]{1,3}='[a-z\\]]{0,4}'\\]",
        wild_text(),
    ];
    prop::collection::vec(segment, 0..5).prop_map(|segments| segments.join("."))
}

/// A JSON path that parses: keys, indexes, finds and maps.
fn good_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[a-z@_]{1,3}",
        "-?[0-9]{1,2}",
        "[a-z]{1,3}\\[\\]",
        "[a-z]{1,3}\\[[a-z@_-]{1,3}=[a-z0-9 .=]{0,4}\\]",
    ];
    prop::collection::vec(segment, 0..4).prop_map(|segments| segments.join("."))
}

/// Any JSON value, a few levels deep, with the keys paths above name.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        wild_text().prop_map(Value::from),
        "[ 0-9.,€$-]{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z@_]{1,3}|[0-9]", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// An HTML page of the elements the selectors above name, sometimes broken.
fn html_page() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z €0-9.,<>&;]{0,12}",
        wild_text(),
        Just("<br>".to_string()),
        Just("<script type=\"application/ld+json\">{\"a\": [1, {\"b\": \"c\"}]}</script>".into()),
        Just("</div></li>".to_string()),
    ];
    leaf.prop_recursive(4, 64, 5, |inner| {
        (
            prop_oneof!["[a-z]{1,4}", Just("li".to_string()), Just("a".to_string())],
            r#"( (class|id|href|src|title)="[a-z ./:?#]{0,8}"){0,3}"#,
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(tag, attrs, children)| {
                format!("<{tag}{attrs}>{}</{tag}>", children.concat())
            })
    })
}

// ---------------------------------------------------------------- spider files

/// The examples shipped in `examples/`, which a mutation starts from.
fn examples() -> Vec<String> {
    let mut texts: Vec<String> = std::fs::read_dir("examples")
        .expect("examples/ is readable")
        .map(|entry| entry.expect("an examples/ entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| std::fs::read_to_string(path).expect("an example is readable"))
        .collect();
    texts.sort();
    texts
}

/// Keys a spider file may hold (the loader's own lists) and some it may
/// not, for inserted lines.
fn keys() -> Vec<&'static str> {
    let known = [
        TOP_KEYS,
        SEED_KEYS,
        LIST_KEYS,
        LINKS_KEYS,
        DETAIL_KEYS,
        REQUEST_KEYS,
        LIMIT_KEYS,
    ]
    .concat();
    let more = [
        "fields.x",
        "fields.title",
        "headers.Accept",
        "vars.q",
        "[list]",
        "[detail]",
        "[[seed]]",
        "[links]",
        "[limits]",
        "[request]",
        "[vars]",
        "naem",
    ];
    known.into_iter().chain(more).collect()
}

/// TOML values, valid for some keys and absurd for all.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"{page}\"".to_string()),
        Just("\"http://127.0.0.1:1/p/{page}?o={offset}&q={q}\"".to_string()),
        Just("\"{env:HOME}\"".to_string()),
        Just("\"9999999999d\"".to_string()),
        Just("\"1e-30\"".to_string()),
        Just("{ each = \"li\", title = \"::text\" }".to_string()),
        Just("{ rows = \"tr\", key = \"th\", value = \"td\" }".to_string()),
        Just("{ file = \"/nonexistent/values.txt\" }".to_string()),
        Just("[\"a\", 1, true]".to_string()),
        css_selector().prop_map(|s| format!("'{s}'")),
        (css_selector(), filter_chain()).prop_map(|(s, f)| format!("'{s} | {f}'")),
        json_path().prop_map(|p| format!("'{p}'")),
        wild_text().prop_map(|s| quoted(&s)),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
    ]
}

/// One change to a spider file's lines.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    /// The value after the line's `=` replaced.
    Revalue(usize, String),
    /// A `key = value` line (or a table header) inserted.
    Insert(usize, &'static str, String),
    /// One byte of the file replaced.
    Byte(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), toml_value()).prop_map(|(i, v)| Mutation::Revalue(i, v)),
        (any::<usize>(), prop::sample::select(keys()), toml_value())
            .prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for mutation in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match mutation {
            Mutation::Delete(i) => {
                lines.remove(i % n);
            }
            Mutation::Duplicate(i) => lines.insert(i % n, lines[i % n].clone()),
            Mutation::Revalue(i, value) => {
                let line = &mut lines[i % n];
                if let Some(eq) = line.find('=') {
                    *line = format!("{}= {value}", &line[..eq]);
                }
            }
            Mutation::Insert(i, key, value) if key.starts_with('[') => {
                lines.insert(i % (n + 1), key.to_string());
                let _ = value;
            }
            Mutation::Insert(i, key, value) => {
                lines.insert(i % (n + 1), format!("{key} = {value}"));
            }
            Mutation::Byte(i, byte) => {
                let mut bytes = lines.join("\n").into_bytes();
                if !bytes.is_empty() {
                    let at = i % bytes.len();
                    bytes[at] = *byte;
                }
                lines = String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    lines.join("\n")
}

/// A spider file's verdict: a spider, or an error naming the file and
/// saying something.
fn load(text: &str) -> Result<(), TestCaseError> {
    match Spider::from_toml(text, "gen.toml", "gen") {
        Ok(spider) => {
            // A spider that loads can be described and typed for databases.
            prop_assert!(!spider.describe().is_empty());
            let _ = spider.columns();
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(shown.starts_with("gen.toml: "), "{shown}");
            let rest = shown["gen.toml: ".len()..].trim();
            let message = match e.key() {
                Some(key) => rest
                    .strip_prefix(&format!("key `{key}`:"))
                    .unwrap_or(rest)
                    .trim(),
                None => rest,
            };
            prop_assert!(!message.is_empty(), "an empty message: {shown:?}");
        }
    }
    Ok(())
}

#[test]
fn mutated_example_spiders_load_or_say_why() {
    let examples = examples();
    let strategy = (
        prop::sample::select(examples),
        prop::collection::vec(mutation(), 1..5),
    );
    check("spider-mutated", 300, strategy, |(text, mutations)| {
        load(&mutate(&text, &mutations))
    });
}

/// A spider file built from parts: a start, a list or links level, fields,
/// limits and a request, each with generated values.
fn generated_spider() -> impl Strategy<Value = String> {
    let start = prop_oneof![
        Just("start = \"http://127.0.0.1:1/p/{page}\"".to_string()),
        Just("start = [\"http://127.0.0.1:1/a\", \"http://127.0.0.1:1/b?o={offset}\"]".into()),
        Just("start = \"http://127.0.0.1:1/s?q={q}\"\n[vars]\nq = [\"a\", 2]".to_string()),
        toml_value().prop_map(|v| format!("start = {v}")),
    ];
    let top = prop::collection::vec((prop::sample::select(TOP_KEYS), toml_value()), 0..3);
    let fields = prop::collection::vec(("[a-z_]{0,6}", toml_value()), 0..4);
    let list = (any::<bool>(), css_selector(), json_path(), fields).prop_map(
        |(json, item, path, fields)| {
            let mut text = match json {
                true => format!("[list]\nformat = \"json\"\nitems = '{path}'\n"),
                false => format!("[list]\nitem = '{item}'\n"),
            };
            for (name, value) in fields {
                text.push_str(&format!("fields.\"{name}\" = {value}\n"));
            }
            text
        },
    );
    let limits = prop::collection::vec((prop::sample::select(LIMIT_KEYS), toml_value()), 0..3);
    (start, top, list, limits).prop_map(|(start, top, list, limits)| {
        let mut text = format!("{start}\n");
        for (key, value) in top {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text.push_str(&list);
        text.push_str("[limits]\n");
        for (key, value) in limits {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    })
}

#[test]
fn generated_spiders_load_or_say_why() {
    check("spider-generated", 300, generated_spider(), |text| {
        load(&text)
    });
}

#[test]
fn arbitrary_text_as_a_spider_file_is_an_error_not_a_panic() {
    let strategy = prop_oneof![any::<String>(), r#"[a-z\[\]={}"'., \n#0-9]{0,80}"#];
    check("spider-noise", 300, strategy, |text| load(&text));
}

// ---------------------------------------------------------------- selectors, paths, filters

fn base() -> Url {
    Url::parse("http://127.0.0.1:1/dir/page?x=1").expect("a URL")
}

#[test]
fn css_selectors_compile_or_say_why_and_read_any_page() {
    let base = base();
    check(
        "css",
        300,
        (css_selector(), html_page()),
        |(selector, page)| {
            match CssRule::parse(&selector) {
                Ok(rule) => {
                    let doc = Html::parse_document(&page);
                    let root = doc.root_element();
                    let value = rule.read(root, &base);
                    if rule.is_many() {
                        prop_assert!(value.is_array(), "{selector}: {value}");
                    } else {
                        prop_assert!(value.is_string() || value.is_null(), "{value}");
                    }
                    let _ = rule.matches(root, &base);
                }
                Err(e) => prop_assert!(!e.trim().is_empty(), "{selector:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn json_paths_compile_or_say_why_and_read_any_value() {
    check(
        "json-path",
        500,
        (json_path(), json_value()),
        |(path, value)| {
            match JsonPath::parse(&path) {
                Ok(compiled) => {
                    let got = compiled.get(&value);
                    if compiled.is_many() {
                        prop_assert!(got.is_array(), "{path}: {got}");
                    }
                    // `lookup` and `get` agree where `lookup` finds something.
                    if let Some(found) = compiled.lookup(&value) {
                        prop_assert_eq!(found, &got);
                    }
                }
                Err(e) => prop_assert!(!e.trim().is_empty(), "{path:?}"),
            }
            Ok(())
        },
    );
}

/// The kind a chain promises is the kind it gives, for every input
/// (database columns are typed from it).
fn promised(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Int => value.is_null() || value.is_i64() || value.is_u64(),
        Kind::Number => value.is_null() || value.is_number(),
        Kind::Bool => value.is_null() || value.is_boolean(),
        Kind::Text | Kind::Json => true,
    }
}

#[test]
fn filters_compile_or_say_why_and_keep_their_kind() {
    let base = base();
    check(
        "filters",
        500,
        (filter_chain(), json_value()),
        |(text, value)| {
            match Chain::parse(&text) {
                Ok(chain) => {
                    let kind = chain.kind(kind_of(&value));
                    let out = chain.apply(value.clone(), &base);
                    prop_assert!(promised(kind, &out), "{text}: {value} → {out} ({kind:?})");
                    // The chain as `trawl check` shows it means the same.
                    let shown = chain.to_string();
                    let again = Chain::parse(&shown)
                        .map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
                    prop_assert_eq!(again.apply(value, &base), out, "shown as {}", shown);
                }
                Err(e) => prop_assert!(!e.trim().is_empty(), "{text:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn field_reads_compile_or_say_why() {
    let strategy = (
        prop_oneof![css_selector(), json_path(), wild_text()],
        prop::option::of(filter_chain()),
        any::<bool>(),
    );
    check("field-read", 500, strategy, |(head, chain, json)| {
        let text = match chain {
            Some(chain) => format!("{head} | {chain}"),
            None => head,
        };
        if let Err(e) = Read::parse(&text, json) {
            prop_assert!(!e.to_string().trim().is_empty(), "{text:?}");
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- whole pages

/// A spider reading `page` with generated item and field rules; a rule
/// that does not compile is the loader's business (tested above).
fn spider_for(json: bool, item: &str, reads: &[String]) -> Option<Spider> {
    let mut text = String::from("start = \"http://127.0.0.1:1/p\"\n[list]\n");
    match json {
        true => text.push_str(&format!("format = \"json\"\nitems = {}\n", quoted(item))),
        false => text.push_str(&format!("item = {}\n", quoted(item))),
    }
    for (i, read) in reads.iter().enumerate() {
        text.push_str(&format!("fields.f{i} = {}\n", quoted(read)));
    }
    text.push_str("[detail]\nfollow = \"f0\"\n");
    if json {
        text.push_str("format = \"json\"\n");
    }
    text.push_str(
        &reads
            .iter()
            .enumerate()
            .map(|(i, read)| format!("fields.d{i} = {}\n", quoted(read)))
            .collect::<String>(),
    );
    Spider::from_toml(&text, "page.toml", "page").ok()
}

fn read_pages(json: bool, spider: &Spider, body: &str) -> Result<(), TestCaseError> {
    let url = base();
    let page = PageInfo {
        url: &url,
        status: 200,
        number: 1,
    };
    match extract_list(&spider.list, body, &page) {
        Ok(list) => {
            for item in &list.items {
                prop_assert!(item.keys().all(|k| k.starts_with('f')), "{item:?}");
            }
        }
        Err(e) => prop_assert!(json && !e.to_string().is_empty()),
    }
    if let Some(detail) = &spider.detail {
        if let Err(e) = extract_detail(detail, body, &page) {
            prop_assert!(json && !e.to_string().is_empty());
        }
    }
    Ok(())
}

/// Reads a page can hold: a well-formed selector (HTML) or path (JSON),
/// its output, and a chain of filters that compile.
fn good_reads(json: bool) -> impl Strategy<Value = Vec<String>> {
    let head = match json {
        true => good_path().boxed(),
        false => (
            good_css(),
            prop::sample::select(
                &[
                    "",
                    "::text",
                    "::html",
                    "::attr(href)",
                    "::attr(class)",
                    "::text[]",
                    "[]",
                ][..],
            ),
        )
            .prop_map(|(css, suffix)| format!("{css}{suffix}"))
            .boxed(),
    };
    let chain = prop::collection::vec(good_filter(), 0..3);
    let read = (head, chain).prop_map(|(head, chain)| match chain.is_empty() {
        true => head,
        false => format!("{head} | {}", chain.join(" | ")),
    });
    prop::collection::vec(read, 1..4)
}

#[test]
fn generated_html_pages_extract_without_panic() {
    let strategy = (good_css(), good_reads(false), html_page());
    check(
        "html-page",
        300,
        strategy,
        |(item, reads, body)| match spider_for(false, &item, &reads) {
            Some(spider) => read_pages(false, &spider, &body),
            None => Ok(()),
        },
    );
}

#[test]
fn generated_json_pages_extract_without_panic() {
    let body = prop_oneof![
        3 => json_value().prop_map(|v| v.to_string()),
        1 => wild_text(),
        1 => json_value().prop_map(|v| {
            let text = v.to_string();
            text.chars().take(text.chars().count() / 2).collect()
        }),
    ];
    let strategy = (good_path(), good_reads(true), body);
    check(
        "json-page",
        300,
        strategy,
        |(items, reads, body)| match spider_for(true, &items, &reads) {
            Some(spider) => read_pages(true, &spider, &body),
            None => Ok(()),
        },
    );
}

// ---------------------------------------------------------------- robots.txt

/// A robots.txt line: directives trawl reads, in any case and spacing,
/// with patterns of path characters, `*`, `$` and escapes.
fn robots_line() -> impl Strategy<Value = String> {
    let pattern = r"[a-z/*$%?=&.0-9A-F~]{0,10}";
    prop_oneof![
        pattern.prop_map(|p| format!("Disallow: {p}")),
        pattern.prop_map(|p| format!("allow:{p}")),
        "(trawl|\\*|other|TRAWL|tr)".prop_map(|a| format!("User-agent: {a}")),
        "-?[0-9.]{0,8}|nan|inf|1e30|-1e30|99999999999999999999"
            .prop_map(|d| format!("Crawl-delay: {d}")),
        "[a-z]{0,8}".prop_map(|s| format!("Sitemap: http://127.0.0.1:1/{s}")),
        wild_text(),
        Just("# comment".to_string()),
        Just(String::new()),
    ]
}

fn robots_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::collection::vec(robots_line(), 0..20), "\n|\r\n|\r")
            .prop_map(|(lines, end)| lines.join(&end).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn robots_url() -> impl Strategy<Value = String> {
    prop_oneof![
        r"/[a-z/*$%?=&.0-9A-F~]{0,12}".prop_map(|p| format!("http://127.0.0.1:1{p}")),
        wild_text(),
        Just("http://127.0.0.1:1/robots.txt".to_string()),
    ]
}

#[test]
fn robots_files_parse_and_answer_any_url() {
    let strategy = (robots_file(), robots_url(), wild_text());
    check("robots", 500, strategy, |(body, url, agent)| {
        let robots = Robots::parse(&format!("{agent}/1.0"), &body);
        if let Err(why) = robots.check(&url) {
            prop_assert!(!why.is_empty());
        }
        let _ = robots.crawl_delay();
        prop_assert!(robots.check("http://127.0.0.1:1/robots.txt").is_ok());
        Ok(())
    });
}

/// Literal rules (no `*`, `$` or `%`) for our user agent, and the RFC 9309
/// answer worked out here: the longest matching rule wins, `allow` on a
/// tie, and a path no rule matches is allowed.
#[test]
fn robots_longest_literal_rule_wins() {
    let rule = ("/[a-c/]{0,6}", any::<bool>());
    let strategy = (prop::collection::vec(rule, 0..8), "/[a-c/]{0,8}");
    check("robots-oracle", 500, strategy, |(rules, path)| {
        let mut text = String::from("User-agent: trawl\n");
        for (pattern, allow) in &rules {
            let verb = if *allow { "Allow" } else { "Disallow" };
            text.push_str(&format!("{verb}: {pattern}\n"));
        }
        let best = rules
            .iter()
            .filter(|(pattern, _)| path.starts_with(pattern.as_str()))
            .max_by_key(|(pattern, allow)| (pattern.len(), *allow));
        let expected = best.is_none_or(|(_, allow)| *allow);
        let robots = Robots::parse("trawl/0.1", text.as_bytes());
        let got = robots.check(&format!("http://127.0.0.1:1{path}")).is_ok();
        prop_assert_eq!(got, expected, "{} for {}", text, path);
        Ok(())
    });
}

// ---------------------------------------------------------------- templates

/// A piece of a start URL or body template, and what filling it gives.
#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    /// `{{` or `}}`: one brace.
    Brace(char),
    /// `{name}`: the value when `name` has one, else itself.
    Name(String),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[^{}]{0,6}".prop_map(Piece::Literal),
        prop::sample::select(&['{', '}'][..]).prop_map(Piece::Brace),
        prop::sample::select(&["page", "offset", "q", "n", "unset", "_x1"][..])
            .prop_map(|n| Piece::Name(n.to_string())),
    ]
}

#[test]
fn templates_fill_every_placeholder_and_nothing_else() {
    let vars = vec![
        ("q".to_string(), "a {q} b".to_string()),
        ("n".to_string(), String::new()),
    ];
    let values = Values {
        page: Some(3),
        offset: Some(40),
        vars: &vars,
    };
    let strategy = prop::collection::vec(piece(), 0..10);
    check("template", 1000, strategy, |pieces| {
        let (mut text, mut expected, mut names) = (String::new(), String::new(), Vec::new());
        for piece in &pieces {
            match piece {
                Piece::Literal(s) => (text.push_str(s), expected.push_str(s)).1,
                Piece::Brace(c) => (text.extend([*c, *c]), expected.push(*c)).1,
                Piece::Name(name) => {
                    text.push_str(&format!("{{{name}}}"));
                    names.push(name.clone());
                    expected.push_str(match name.as_str() {
                        "page" => "3",
                        "offset" => "40",
                        "q" => "a {q} b",
                        "n" => "",
                        _ => "",
                    });
                    if !["page", "offset", "q", "n"].contains(&name.as_str()) {
                        expected.push_str(&format!("{{{name}}}"));
                    }
                }
            }
        }
        prop_assert_eq!(fill_text(&text, &values), expected, "{}", text);
        prop_assert_eq!(placeholders(&text), names, "{}", text);
        let body = json!({ "k": text.clone(), "a": [text.clone(), 1] });
        let _ = fill_json(&body, &values);
        Ok(())
    });
}

#[test]
fn any_text_fills_without_panic() {
    let values = Values {
        page: Some(u64::MAX),
        offset: None,
        vars: &[],
    };
    check("template-noise", 1000, wild_text(), |text| {
        let filled = fill_text(&text, &values);
        if !text.contains(['{', '}']) {
            prop_assert_eq!(filled, text);
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- durations, sizes, rates

#[test]
fn durations_sizes_and_rates_parse_or_say_why() {
    let number = prop_oneof![
        "[0-9.]{0,25}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
    ];
    let unit = prop_oneof!["(ms|s|m|h|b|kb|MiB|GiB|GB| s|)", wild_text(),];
    check("values", 1000, (number, unit), |(number, unit)| {
        let text = format!("{number}{unit}");
        match parse_duration(&text) {
            // What `trawl check` shows reads back as the same duration.
            Ok(d) => prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{}", text),
            Err(e) => prop_assert!(e.contains(text.trim()), "{e}"),
        }
        if let Err(e) = parse_size(&text) {
            prop_assert!(e.contains(text.trim()), "{e}");
        }
        if let Err(e) = parse_rate(&text) {
            prop_assert!(!e.is_empty());
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- sitemaps

/// A sitemap or index with generated entries, sometimes cut or corrupted.
fn sitemap_xml() -> impl Strategy<Value = Vec<u8>> {
    let child = prop_oneof![
        "[a-z:/.?=&]{0,12}".prop_map(|s| format!("<loc>{s}</loc>")),
        "[0-9T:+-]{0,12}".prop_map(|s| format!("<lastmod>{s}</lastmod>")),
        "[0-9.]{0,4}".prop_map(|s| format!("<priority>{s}</priority>")),
        Just("<loc><![CDATA[http://127.0.0.1:1/a?b=1&c=2]]></loc>".to_string()),
        Just("<x:loc xmlns:x=\"y\">z</x:loc>".to_string()),
        wild_text(),
    ];
    let entry = (
        prop::sample::select(&["url", "sitemap", "u"][..]),
        prop::collection::vec(child, 0..4),
    )
        .prop_map(|(tag, children)| format!("<{tag}>{}</{tag}>", children.concat()));
    let root = prop::sample::select(&["urlset", "sitemapindex", "rss", ""][..]);
    (root, prop::collection::vec(entry, 0..6), any::<u8>(), any::<usize>()).prop_map(
        |(root, entries, cut, at)| {
            let mut xml = format!(
                "<?xml version=\"1.0\"?><{root} xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{}</{root}>",
                entries.concat()
            )
            .into_bytes();
            match cut % 4 {
                0 => xml.truncate(at % (xml.len() + 1)),
                1 => {
                    let at = at % xml.len();
                    xml[at] = cut;
                }
                _ => {}
            }
            xml
        },
    )
}

#[test]
fn sitemaps_read_or_say_why() {
    check("sitemap", 500, sitemap_xml(), |xml| {
        match Sitemap::read(&xml[..]) {
            Ok(sitemap) => {
                for entry in sitemap.take(100) {
                    match entry {
                        Ok(entry) => prop_assert!(!entry.loc.is_empty()),
                        Err(e) => prop_assert!(!e.to_string().is_empty()),
                    }
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    });
}

/// Rules with `*` and a final `$`, against a regex built from each
/// pattern: the longest pattern that matches wins (its `*` and `$` count,
/// as in Google's parser), `allow` on a tie.
#[test]
fn robots_wildcard_rules_match_as_their_regex() {
    let rule = ("/[ab/*]{0,5}\\$?", any::<bool>());
    let strategy = (prop::collection::vec(rule, 0..6), "/[ab/]{0,8}");
    check("robots-wildcards", 500, strategy, |(rules, path)| {
        let mut text = String::from("User-agent: *\n");
        for (pattern, allow) in &rules {
            let verb = if *allow { "Allow" } else { "Disallow" };
            text.push_str(&format!("{verb}: {pattern}\n"));
        }
        let matches = |pattern: &str| {
            let (body, anchored) = match pattern.strip_suffix('$') {
                Some(body) => (body, "$"),
                None => (pattern, ""),
            };
            let body: Vec<String> = body.split('*').map(regex::escape).collect();
            let re = regex::Regex::new(&format!("^{}{anchored}", body.join(".*")));
            re.expect("a regex").is_match(&path)
        };
        let best = rules
            .iter()
            .filter(|(pattern, _)| matches(pattern))
            .max_by_key(|(pattern, allow)| (pattern.len(), *allow));
        let expected = best.is_none_or(|(_, allow)| *allow);
        let robots = Robots::parse("trawl/0.1", text.as_bytes());
        let got = robots.check(&format!("http://127.0.0.1:1{path}")).is_ok();
        prop_assert_eq!(got, expected, "{} for {}", text, path);
        Ok(())
    });
}
