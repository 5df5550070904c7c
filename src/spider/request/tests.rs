//! `[request]`: every bad value names its key, and a secret read from the
//! environment appears in no error, `Debug` or `trawl check` output.
//!
//! The environment is faked (`request_in`): tests never set the test
//! process's own variables.

use std::ffi::OsString;

use serde_json::json;

use super::*;
use crate::spider::Spider;

const SECRET: &str = "s3cr3t-t0ken";

fn fake_env(name: &str) -> Option<OsString> {
    match name {
        "API_TOKEN" => Some(SECRET.into()),
        "BRACED" => Some("a{page}b}".into()),
        "TWO_LINES" => Some(format!("{SECRET}\nX-Evil: 1").into()),
        _ => None,
    }
}

fn known() -> Vec<String> {
    vec!["page".into(), "offset".into(), "q".into()]
}

/// `[request]` from TOML, read against the fake environment.
fn rule(toml_text: &str) -> Result<RequestRule, SpiderError> {
    let raw: RawRequest = toml::from_str(toml_text).expect("test TOML is a [request]");
    Builder { origin: "t.toml" }.request_in(&raw, &known(), &fake_env)
}

fn error(toml_text: &str) -> SpiderError {
    let error = rule(toml_text).expect_err(toml_text);
    assert!(!error.to_string().contains(SECRET), "{error}");
    error
}

#[test]
fn a_full_request_section() {
    let rule = rule(
        r#"
        headers = { Accept = "application/json", Authorization = "Bearer {env:API_TOKEN}", X-Page = "{page}" }
        cookies = true
        warmup = ["http://shop.test/", "https://shop.test/consent"]
        method = "POST"
        json = { page = "{page}", q = "{q}", size = 20, deep = [{ at = "{offset}" }] }
        "#,
    )
    .unwrap();
    assert_eq!(
        rule.headers[1],
        ("Authorization".into(), format!("Bearer {SECRET}"))
    );
    assert_eq!(
        rule.headers_as_written[1],
        ("Authorization".into(), "Bearer {env:API_TOKEN}".into())
    );
    assert!(rule.cookies);
    assert_eq!(rule.warmup.len(), 2);
    let vars = vec![("q".to_string(), "lego".to_string())];
    let values = Values {
        page: Some(3),
        offset: Some(40),
        vars: &vars,
    };
    let body = rule.body.as_ref().unwrap().render(&values);
    assert_eq!(body.content_type, "application/json");
    let sent: Value = serde_json::from_slice(&body.bytes).unwrap();
    assert_eq!(
        sent,
        json!({"page": 3, "q": "lego", "size": 20, "deep": [{"at": 40}]})
    );
    assert_eq!(rule.headers_for(&values)[2].1, "3");
    assert!(!format!("{rule:?}").contains(SECRET));
}

#[test]
fn defaults_send_nothing_extra() {
    let empty = rule("").unwrap();
    assert!(empty.headers.is_empty() && empty.warmup.is_empty());
    assert!(!empty.cookies);
    assert!(empty.body.is_none());
    let get = rule(r#"method = "GET""#).unwrap();
    assert!(get.body.is_none());
}

#[test]
fn a_form_body_is_text() {
    let rule = rule(
        r#"
        method = "POST"
        form = { q = "{q}", page = "{page}", size = 20, exact = true }
        "#,
    )
    .unwrap();
    let vars = vec![("q".to_string(), "lego duplo".to_string())];
    let values = Values {
        page: Some(2),
        offset: None,
        vars: &vars,
    };
    let body = rule.body.unwrap().render(&values);
    assert_eq!(body.content_type, "application/x-www-form-urlencoded");
    assert_eq!(
        String::from_utf8(body.bytes).unwrap(),
        "q=lego+duplo&page=2&size=20&exact=true"
    );
}

#[test]
fn a_secret_with_braces_is_sent_as_it_is() {
    let rule = rule(r#"headers = { X-Key = "{env:BRACED}-{page}" }"#).unwrap();
    let values = Values {
        page: Some(7),
        ..Values::default()
    };
    assert_eq!(rule.headers_for(&values)[0].1, "a{page}b}-7");
}

#[test]
fn every_error_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"headers = { Authorization = "Bearer {env:NOT_SET_ANYWHERE}" }"#,
            "request.headers.Authorization",
            "`NOT_SET_ANYWHERE` to be set",
        ),
        (
            r#"headers = { Authorization = "Bearer {env:TWO_LINES}" }"#,
            "request.headers.Authorization",
            "`TWO_LINES` to hold text a header can carry",
        ),
        (
            r#"headers = { Authorization = "Bearer {env:}" }"#,
            "request.headers.Authorization",
            "`{env:NAME}`",
        ),
        (
            r#"headers = { "X-Bad Name" = "1" }"#,
            "request.headers.X-Bad Name",
            "a header name",
        ),
        (
            "headers = { X-Two = \"a\\nb\" }",
            "request.headers.X-Two",
            "one line",
        ),
        (
            r#"headers = { User-Agent = "bot" }"#,
            "request.headers.User-Agent",
            "limits.user_agent",
        ),
        (
            "method = \"POST\"\nform = { a = \"1\" }\nheaders = { Content-Type = \"text/plain\" }",
            "request.headers.Content-Type",
            "from the body",
        ),
        (
            "cookies = true\nheaders = { Cookie = \"a=1\" }",
            "request.headers.Cookie",
            "cookies = true",
        ),
        (
            r#"headers = { X-Page = "{pgae}" }"#,
            "request.headers.X-Page",
            "found `{pgae}`",
        ),
        (
            r#"warmup = ["/relative"]"#,
            "request.warmup[0]",
            "absolute http(s) URL",
        ),
        (
            r#"warmup = ["http://ok.test/", "ftp://x.test/"]"#,
            "request.warmup[1]",
            "scheme `ftp`",
        ),
        (r#"method = "PUT""#, "request.method", "\"GET\" or \"POST\""),
        (r#"method = "POST""#, "request.method", "a body beside"),
        (
            r#"json = { page = "{page}" }"#,
            "request.json",
            "method = \"POST\" beside it",
        ),
        (
            r#"form = { page = "{page}" }"#,
            "request.form",
            "method = \"POST\" beside it",
        ),
        (
            "method = \"POST\"\njson = { a = 1 }\nform = { b = 2 }",
            "request.form",
            "`json` or `form`, not both",
        ),
        (
            "method = \"POST\"\njson = { filters = [{ q = \"{nope}\" }] }",
            "request.json.filters[0].q",
            "found `{nope}`",
        ),
        (
            "method = \"POST\"\njson = \"{}\"",
            "request.json",
            "a table",
        ),
        (
            "method = \"POST\"\nform = { q = \"{nope}\" }",
            "request.form.q",
            "found `{nope}`",
        ),
        (
            "method = \"POST\"\nform = { q = [1, 2] }",
            "request.form.q",
            "a string, number or boolean",
        ),
        (
            "method = \"POST\"\njson = { token = \"{env:API_TOKEN}\" }",
            "request.json.token",
            "only in `request.headers`",
        ),
    ];
    for (text, key, expected) in cases {
        let error = error(text);
        assert_eq!(error.key(), Some(*key), "{text}: {error}");
        assert!(error.to_string().contains(expected), "{text}: {error}");
    }
}

#[test]
fn the_spider_file_knows_the_section() {
    const BASE: &str = "start = 'http://h.test/p/{page}'\n[list]\nitem = '.i'\n";
    let load = |extra: &str| Spider::from_toml(&format!("{BASE}{extra}"), "t.toml", "t");
    let error = load("[request]\nheader = {}\n").unwrap_err();
    assert_eq!(error.key(), Some("request.header"));
    assert!(
        error.to_string().contains("did you mean `headers`?"),
        "{error}"
    );
    let error = load("[request]\ncookies = 'yes'\n").unwrap_err();
    assert_eq!(error.key(), Some("request.cookies"), "{error}");
    let error = load("[request]\nheaders = { Accept = 1 }\n").unwrap_err();
    assert_eq!(error.key(), Some("request.headers.Accept"), "{error}");
    let spider = load("[request]\nheaders = { Accept = 'application/json' }\n").unwrap();
    assert_eq!(spider.request.headers.len(), 1);
    assert!(load("").unwrap().request.headers.is_empty());
    let vars = "[vars]\nq = ['a']\n[request]\nheaders = { X-Q = '{q}' }\nmethod = 'POST'\njson = { q = '{q}' }\n";
    let spider = load(vars).unwrap();
    assert_eq!(
        spider.request.headers[0].1, "{q}",
        "a var is filled per request"
    );
    let error = load(&vars.replace("json = { q = '{q}' }", "json = { q = '{r}' }")).unwrap_err();
    assert_eq!(error.key(), Some("request.json.q"), "{error}");
}

#[test]
fn check_shows_headers_as_written() {
    let spider = Spider::from_toml(
        "start = 'http://h.test/p/{page}'\n[list]\nitem = '.i'\n[request]\nheaders = { Accept = 'text/html', X-Key = '{env:HOME}' }\ncookies = true\nwarmup = ['http://h.test/']\nmethod = 'POST'\nform = { p = '{page}' }\n",
        "t.toml",
        "t",
    )
    .unwrap();
    let plan = spider.describe();
    for line in [
        "header:  Accept: text/html",
        "header:  X-Key: {env:HOME}",
        "cookies: one jar",
        "warmup:  http://h.test/",
        "POST application/x-www-form-urlencoded p={page}",
    ] {
        assert!(plan.contains(line), "{line} in\n{plan}");
    }
}
