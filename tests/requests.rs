//! `[request]` and proxies (SPEC §7, §11 "Requests"), asserted from what a
//! local server and a local proxy received.
//!
//! Three tiers: the fetch stack alone (`Fetcher::with_request` sending an
//! [`Ask`]), the real binary crawling a spider with a `[request]` section,
//! and the real binary behind `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`. The
//! environment is set for the child process only, never for this one.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use support::binary::{command, run, s, Run};
use support::proxy::{Proxy, ProxyHit};
use support::{Hit, Reply, TestServer};
use tempfile::TempDir;
use trawl::fetch::{Ask, Body, FetchErrorKind};
use trawl::spider::{Limits, Rate, RequestRule};
use trawl::Fetcher;
use url::Url;

/// The value of `API_TOKEN` given to the child; it must reach the server
/// and nothing else.
const SECRET: &str = "tok-9f3a7c1e-very-secret";

fn limits() -> Limits {
    Limits {
        rate: Rate::UNLIMITED,
        // These servers are on loopback, and no start says so.
        allow_private: true,
        ..Limits::default()
    }
}

fn fetcher(cookies: bool) -> Fetcher {
    let rule = RequestRule {
        cookies,
        ..RequestRule::default()
    };
    Fetcher::with_request(&limits(), &rule).expect("a client")
}

fn url(server: &TestServer, path: &str) -> Url {
    Url::parse(&server.url(path)).unwrap()
}

fn json_post(url: Url, body: Value) -> Ask {
    Ask {
        url,
        headers: vec![
            ("Accept".into(), "application/json".into()),
            ("Authorization".into(), "Bearer abc".into()),
        ],
        body: Some(Body {
            bytes: body.to_string().into_bytes(),
            content_type: "application/json",
        }),
    }
}

/// The hits that are not robots.txt.
fn pages(server: &TestServer) -> Vec<Hit> {
    let hits = server.hits().into_iter();
    hits.filter(|h| h.path != "/robots.txt").collect()
}

// ------------------------------------------------------------ fetch stack

#[tokio::test]
async fn a_post_carries_its_headers_body_and_content_type() {
    let server = TestServer::start().await;
    server.route("/search", Reply::json(r#"{"items":[]}"#));
    server.route("/form", Reply::html("<p>ok</p>"));
    let fetcher = fetcher(false);

    let ask = json_post(url(&server, "/search"), json!({"page": 2, "q": "lego"}));
    let page = fetcher.send(&ask).await.expect("a page");
    assert_eq!(page.text, r#"{"items":[]}"#);
    let hit = &server.hits_for("/search")[0];
    assert_eq!(hit.method, "POST");
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert_eq!(hit.header("accept"), Some("application/json"));
    assert_eq!(hit.header("authorization"), Some("Bearer abc"));
    let body: Value = serde_json::from_slice(&hit.body).unwrap();
    assert_eq!(body, json!({"page": 2, "q": "lego"}));

    let form = Ask {
        body: Some(Body {
            bytes: b"q=lego+duplo&page=2".to_vec(),
            content_type: "application/x-www-form-urlencoded",
        }),
        ..Ask::get(url(&server, "/form"))
    };
    fetcher.send(&form).await.expect("a page");
    let hit = &server.hits_for("/form")[0];
    assert_eq!(hit.method, "POST");
    assert_eq!(
        hit.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(hit.body, b"q=lego+duplo&page=2");

    fetcher
        .send(&Ask::get(url(&server, "/form")))
        .await
        .unwrap();
    let hit = &server.hits_for("/form")[1];
    assert_eq!((hit.method.as_str(), hit.body.len()), ("GET", 0));
    assert_eq!(hit.header("authorization"), None);
}

#[tokio::test]
async fn redirects_keep_a_post_on_307_and_308_and_turn_it_into_a_get_otherwise() {
    let server = TestServer::start().await;
    for code in [301, 302, 303, 307, 308] {
        let target = format!("/to/{code}");
        server.route(&format!("/from/{code}"), Reply::redirect(code, &target));
        server.route(&target, Reply::json("{}"));
    }
    let fetcher = fetcher(false);
    for code in [301, 302, 303, 307, 308] {
        let ask = json_post(url(&server, &format!("/from/{code}")), json!({"page": 1}));
        let page = fetcher.send(&ask).await.expect("a page");
        assert_eq!(page.url.path(), format!("/to/{code}"));
        let first = &server.hits_for(&format!("/from/{code}"))[0];
        assert_eq!(first.method, "POST");
        let hop = &server.hits_for(&format!("/to/{code}"))[0];
        let kept = matches!(code, 307 | 308);
        assert_eq!(hop.method, if kept { "POST" } else { "GET" }, "{code}");
        assert_eq!(hop.body.is_empty(), !kept, "{code}");
        assert_eq!(hop.header("content-type").is_some(), kept, "{code}");
        assert_eq!(hop.header("accept"), Some("application/json"), "{code}");
        assert_eq!(hop.header("authorization"), Some("Bearer abc"), "{code}");
    }
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_host() {
    let api = TestServer::start().await;
    let other = TestServer::start_on("127.0.0.2").await;
    other.route("/landing", Reply::json("{}"));
    api.route("/moved", Reply::redirect(307, &other.url("/landing")));
    let ask = json_post(url(&api, "/moved"), json!({"page": 1}));
    fetcher(false).send(&ask).await.expect("a page");
    let hop = &other.hits_for("/landing")[0];
    assert_eq!(hop.method, "POST");
    assert_eq!(hop.header("accept"), Some("application/json"));
    assert_eq!(hop.header("authorization"), None);
}

#[tokio::test]
async fn a_post_is_retried_and_checked_against_robots_like_a_get() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::text("User-agent: *\nDisallow: /private\n"),
    );
    server.route_seq("/flaky", vec![Reply::status(503), Reply::json("{}")]);
    let fetcher = fetcher(false);
    let ask = json_post(url(&server, "/flaky"), json!({"page": 1}));
    fetcher.send(&ask).await.expect("the retry succeeds");
    let hits = server.hits_for("/flaky");
    assert_eq!(hits.len(), 2);
    assert!(hits
        .iter()
        .all(|h| h.method == "POST" && h.body == br#"{"page":1}"#));

    let ask = json_post(url(&server, "/private"), json!({"page": 1}));
    let error = fetcher.send(&ask).await.expect_err("robots.txt forbids it");
    assert!(matches!(error.kind(), FetchErrorKind::Robots(_)), "{error}");
    assert_eq!(server.count("/private"), 0);
}

#[tokio::test]
async fn a_header_value_that_cannot_be_sent_fails_the_page_naming_the_header() {
    let server = TestServer::start().await;
    server.route("/p", Reply::html("ok"));
    let ask = Ask {
        headers: vec![("X-Query".into(), "two\nlines".into())],
        ..Ask::get(url(&server, "/p"))
    };
    let error = fetcher(false).send(&ask).await.unwrap_err();
    assert_eq!(error.kind(), &FetchErrorKind::Header("X-Query".into()));
    assert_eq!(server.count("/p"), 0);
}

#[tokio::test]
async fn one_jar_for_the_crawl_host_only_and_path_matched() {
    let server = TestServer::start().await;
    let other = TestServer::start_on("127.0.0.2").await;
    server.route(
        "/warm",
        Reply::html("hi")
            .header("Set-Cookie", "sid=abc; Path=/")
            .header("Set-Cookie", "api=1; Path=/api"),
    );
    server.route(
        "/login",
        Reply::redirect(302, "/home").header("Set-Cookie", "login=yes; Path=/"),
    );
    for path in ["/list", "/api/items", "/home", "/after"] {
        server.route(path, Reply::html("ok"));
    }
    other.route("/list", Reply::html("ok"));
    let fetcher = fetcher(true);
    let get = |u: Url| async { fetcher.send(&Ask::get(u)).await.expect("a page") };

    get(url(&server, "/warm")).await;
    get(url(&server, "/list")).await;
    get(url(&server, "/api/items")).await;
    get(url(&other, "/list")).await;
    get(url(&server, "/login")).await;
    assert_eq!(server.hits_for("/warm")[0].header("cookie"), None);
    assert_eq!(
        server.hits_for("/list")[0].header("cookie"),
        Some("sid=abc")
    );
    let api = server.hits_for("/api/items")[0]
        .header("cookie")
        .unwrap()
        .to_string();
    assert!(api.contains("sid=abc") && api.contains("api=1"), "{api}");
    assert_eq!(
        other.hits_for("/list")[0].header("cookie"),
        None,
        "host-only"
    );
    let home = server.hits_for("/home")[0]
        .header("cookie")
        .unwrap()
        .to_string();
    assert!(
        home.contains("login=yes"),
        "a redirect's Set-Cookie is kept: {home}"
    );

    // The jar, saved for the state and loaded by a resumed crawl.
    let saved = fetcher.cookies().expect("a jar");
    assert!(!saved.contains(SECRET));
    let resumed = self::fetcher(true);
    resumed.load_cookies(&saved).expect("our own jar");
    resumed
        .send(&Ask::get(url(&server, "/after")))
        .await
        .unwrap();
    let after = server.hits_for("/after")[0]
        .header("cookie")
        .unwrap()
        .to_string();
    assert!(
        after.contains("sid=abc") && after.contains("login=yes"),
        "{after}"
    );
    assert!(resumed.load_cookies("not a jar").is_err());
}

#[tokio::test]
async fn without_cookies_true_no_cookie_is_ever_sent() {
    let server = TestServer::start().await;
    server.route(
        "/warm",
        Reply::html("hi").header("Set-Cookie", "sid=abc; Path=/"),
    );
    server.route("/list", Reply::html("ok"));
    let fetcher = fetcher(false);
    for path in ["/warm", "/list"] {
        fetcher.send(&Ask::get(url(&server, path))).await.unwrap();
    }
    assert!(server.hits().iter().all(|h| h.header("cookie").is_none()));
    assert_eq!(fetcher.cookies(), None);
    assert!(Fetcher::new(&limits()).unwrap().load_cookies("[]").is_ok());
}

// ------------------------------------------------------------- the binary

/// A spider file in a fresh directory.
fn spider_file(text: &str) -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("spider.toml");
    std::fs::write(&path, text).unwrap();
    (dir, s(&path))
}

/// The binary with `args` and no proxy settings of its own.
fn trawl_command<'a>(args: impl IntoIterator<Item = &'a str>) -> Command {
    let mut cmd = command(args);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUEST_METHOD",
        "API_TOKEN",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// A list page of two items, each with a detail page.
fn blog(server: &TestServer) {
    server.route(
        "/list/1",
        Reply::html(
            r#"<div class="item"><a href="/post/1">One</a></div>
               <div class="item"><a href="/post/2">Two</a></div>"#,
        ),
    );
    for n in [1, 2] {
        server.route(
            &format!("/post/{n}"),
            Reply::html(format!(r#"<p class="body">Body {n}</p>"#)),
        );
    }
}

fn blog_spider(server: &TestServer, request: &str) -> String {
    format!(
        r#"
start = "{}"
last_page = 1
[list]
item = ".item"
fields.title = "a::text"
fields.url = "a::attr(href)"
[detail]
follow = "url"
fields.body = ".body::text"
[limits]
rate = 0
{request}
"#,
        server.url("/list/{page}")
    )
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push((s(&path), std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn records(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, Some(0), "stderr:\n{}", run.stderr);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_go_with_list_and_detail_requests_and_the_secret_nowhere_else() {
    let server = TestServer::start().await;
    blog(&server);
    let (dir, path) = spider_file(&blog_spider(
        &server,
        "[request]\nheaders = { Accept = \"text/html\", Authorization = \"Bearer {env:API_TOKEN}\" }\n",
    ));
    let out = dir.path().join("out.jsonl");
    let state = dir.path().join("state");

    let mut check = trawl_command(["check", &path]);
    check.env("API_TOKEN", SECRET);
    let check = run(check).await;
    assert_eq!(check.code, Some(0), "{}", check.stderr);
    assert!(
        check
            .stdout
            .contains("Authorization: Bearer {env:API_TOKEN}"),
        "{}",
        check.stdout
    );

    let mut crawl = trawl_command(["-vv", "crawl", &path, "-o", &s(&out), "--state", &s(&state)]);
    crawl.env("API_TOKEN", SECRET);
    let crawl = run(crawl).await;
    assert_eq!(crawl.code, Some(0), "{}", crawl.stderr);

    let pages = pages(&server);
    let paths: Vec<&str> = pages.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    for hit in &pages {
        let bearer = format!("Bearer {SECRET}");
        assert_eq!(
            hit.header("authorization"),
            Some(bearer.as_str()),
            "{}",
            hit.path
        );
        assert_eq!(hit.header("accept"), Some("text/html"), "{}", hit.path);
    }

    let mut written = vec![
        ("check stdout".to_string(), check.stdout.into_bytes()),
        ("check stderr".to_string(), check.stderr.into_bytes()),
        ("crawl stdout".to_string(), crawl.stdout.into_bytes()),
        ("crawl stderr".to_string(), crawl.stderr.into_bytes()),
    ];
    written.extend(files_under(dir.path()));
    assert!(written.iter().any(|(name, _)| name.ends_with("out.jsonl")));
    assert!(written.len() > 6, "the state wrote files: {written:?}");
    for (name, bytes) in &written {
        assert!(!contains(bytes, SECRET), "the secret is in {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_variable_is_exit_2_naming_it_and_fetching_nothing() {
    let server = TestServer::start().await;
    blog(&server);
    let (_dir, path) = spider_file(&blog_spider(
        &server,
        "[request]\nheaders = { Authorization = \"Bearer {env:API_TOKEN}\" }\n",
    ));
    for verb in ["check", "crawl"] {
        let done = run(trawl_command([verb, path.as_str()])).await;
        assert_eq!(done.code, Some(2), "{verb}: {}", done.stderr);
        assert!(
            done.stderr.contains("request.headers.Authorization"),
            "{}",
            done.stderr
        );
        assert!(done.stderr.contains("`API_TOKEN`"), "{}", done.stderr);
    }
    assert!(server.hits().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_from_a_warmup_page_go_back_on_list_and_detail_requests() {
    let server = TestServer::start().await;
    blog(&server);
    server.route(
        "/warm",
        Reply::html("consent").header("Set-Cookie", "sid=abc; Path=/"),
    );
    let request = format!(
        "[request]\ncookies = true\nwarmup = [\"{}\"]\n",
        server.url("/warm")
    );
    let (_dir, path) = spider_file(&blog_spider(&server, &request));
    let done = run(trawl_command(["crawl", path.as_str()])).await;
    assert_eq!(records(&done).len(), 2);
    let pages = pages(&server);
    assert_eq!(pages[0].path, "/warm", "the warm-up comes first");
    assert_eq!(pages.len(), 4);
    for hit in &pages[1..] {
        assert_eq!(hit.header("cookie"), Some("sid=abc"), "{}", hit.path);
    }

    // The same crawl without `cookies = true`: the warm-up is fetched, its
    // cookie never sent back.
    server.clear_hits();
    let request = format!("[request]\nwarmup = [\"{}\"]\n", server.url("/warm"));
    let (_dir, path) = spider_file(&blog_spider(&server, &request));
    let done = run(trawl_command(["crawl", path.as_str()])).await;
    assert_eq!(records(&done).len(), 2);
    assert_eq!(server.count("/warm"), 1);
    assert!(server.hits().iter().all(|h| h.header("cookie").is_none()));
}

/// A JSON API whose list pages are POSTed.
fn api_spider(server: &TestServer, body: &str) -> String {
    format!(
        r#"
start = "{}"
last_page = 2
[list]
format = "json"
items = "items"
fields.name = "name"
[limits]
rate = 0
[request]
method = "POST"
{body}
"#,
        server.url("/api/search?p={page}")
    )
}

fn api(server: &TestServer) {
    for page in [1, 2] {
        server.route(
            &format!("/api/search?p={page}"),
            Reply::json(format!(r#"{{"items":[{{"name":"item {page}"}}]}}"#)),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_post_a_json_body_where_page_is_a_number_and_a_var_a_string() {
    let server = TestServer::start().await;
    api(&server);
    let body = r#"json = { page = "{page}", label = "page {page}", q = "{q}", size = 20 }"#;
    let spider = api_spider(&server, body).replace("[list]", "[vars]\nq = [\"7\"]\n[list]");
    let (_dir, path) = spider_file(&spider);
    let done = run(trawl_command(["crawl", path.as_str()])).await;
    assert_eq!(records(&done).len(), 2);
    for page in [1, 2] {
        let hit = &server.hits_for(&format!("/api/search?p={page}"))[0];
        assert_eq!(hit.method, "POST");
        assert_eq!(hit.header("content-type"), Some("application/json"));
        let sent: Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(
            sent,
            json!({"page": page, "label": format!("page {page}"), "q": "7", "size": 20}),
            "a whole {{page}} is a number, a var stays a string"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_post_a_form() {
    let server = TestServer::start().await;
    api(&server);
    let (_dir, path) = spider_file(&api_spider(
        &server,
        r#"form = { q = "lego duplo", page = "{page}" }"#,
    ));
    let done = run(trawl_command(["crawl", path.as_str()])).await;
    assert_eq!(records(&done).len(), 2);
    for page in [1, 2] {
        let hit = &server.hits_for(&format!("/api/search?p={page}"))[0];
        assert_eq!(hit.method, "POST");
        assert_eq!(
            hit.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(hit.body, format!("q=lego+duplo&page={page}").into_bytes());
    }
}

// ---------------------------------------------------------------- proxies

/// One list page with one item, no detail.
fn one_page_spider(start: &str) -> String {
    format!(
        "start = \"{start}\"\n[list]\nitem = \".item\"\nfields.title = \"::text\"\n[limits]\nrate = 0\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_covers_every_http_request_robots_and_loopback_included() {
    let server = TestServer::start().await;
    server.route("/list", Reply::html(r#"<p class="item">one</p>"#));
    let proxy = Proxy::start().await;
    let (_dir, path) = spider_file(&one_page_spider(&server.url("/list")));
    let mut crawl = trawl_command(["crawl", path.as_str()]);
    crawl.env("HTTP_PROXY", proxy.url());
    let done = run(crawl).await;
    assert_eq!(records(&done), [json!({"title": "one"})]);
    let get = |path: &str| ProxyHit {
        method: "GET".into(),
        target: server.url(path),
    };
    assert_eq!(proxy.hits(), [get("/robots.txt"), get("/list")]);
    assert_eq!(
        server.hits().len(),
        2,
        "the server saw the proxy's requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_entries_are_host_names() {
    let server = TestServer::start().await;
    server.route("/list", Reply::html(r#"<p class="item">one</p>"#));
    let proxy = Proxy::start().await;
    let by_name = format!("http://localhost:{}/list", server.addr().port());
    let with_port = server.addr().to_string();
    for (start, no_proxy, proxied) in [
        (by_name.as_str(), "localhost", false),
        (by_name.as_str(), "example.com,localhost", false),
        (&server.url("/list"), "127.0.0.1", false),
        // A host name does not cover the address it resolves to.
        (&server.url("/list"), "localhost", true),
        // Nor does an entry with a port match: entries are host names.
        (&server.url("/list"), with_port.as_str(), true),
    ] {
        let before = proxy.hits().len();
        let (_dir, path) = spider_file(&one_page_spider(start));
        let mut crawl = trawl_command(["crawl", path.as_str()]);
        crawl
            .env("HTTP_PROXY", proxy.url())
            .env("NO_PROXY", no_proxy);
        let done = run(crawl).await;
        assert_eq!(records(&done).len(), 1, "{start} {no_proxy}");
        let through = proxy.hits().len() - before;
        assert_eq!(through > 0, proxied, "{start} with NO_PROXY={no_proxy}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_requests_go_through_https_proxy_with_connect() {
    let proxy = Proxy::start().await;
    let (_dir, path) = spider_file(&one_page_spider("https://127.0.0.1:9/list"));
    let mut crawl = trawl_command(["crawl", path.as_str(), "--retries", "0"]);
    crawl.env("HTTPS_PROXY", proxy.url());
    let done = run(crawl).await;
    assert!(done.stderr.contains("127.0.0.1:9"), "{}", done.stderr);
    let connect = ProxyHit {
        method: "CONNECT".into(),
        target: "127.0.0.1:9".into(),
    };
    assert!(proxy.hits().contains(&connect), "{:?}", proxy.hits());

    // HTTP_PROXY alone is for http: an https request does not use it.
    let before = proxy.hits().len();
    let mut crawl = trawl_command(["crawl", path.as_str(), "--retries", "0"]);
    crawl.env("HTTP_PROXY", proxy.url());
    run(crawl).await;
    assert_eq!(proxy.hits().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_crawl_keeps_its_cookies_from_the_state() {
    let server = TestServer::start().await;
    // The first page opens the session; the later ones are only for it.
    server.route(
        "/p/1",
        Reply::html("<div class=item><h2>one</h2></div>").header("Set-Cookie", "sid=s1; Path=/"),
    );
    for n in [2, 3] {
        server.route(
            &format!("/p/{n}"),
            Reply::html(format!("<div class=item><h2>p{n}</h2></div>")),
        );
    }
    let text = format!(
        "start = '{}'\nlast_page = 3\n[list]\nitem = '.item'\nfields.t = 'h2'\n\
         [limits]\nrate = 0\nrobots = false\n[request]\ncookies = true\n",
        server.url("/p/{page}")
    );
    let (dir, path) = spider_file(&text);
    let out = dir.path().join("out.jsonl").display().to_string();
    let state = dir.path().join("state").display().to_string();
    let first = run(trawl_command([
        "crawl",
        path.as_str(),
        "-o",
        &out,
        "--state",
        &state,
        "--max-pages",
        "1",
    ]))
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let second = run(trawl_command([
        "crawl",
        path.as_str(),
        "-o",
        &out,
        "--state",
        &state,
    ]))
    .await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(
        server.count("/p/1"),
        1,
        "the committed page is not fetched again"
    );
    for n in [2, 3] {
        let hit = server.hits_for(&format!("/p/{n}"));
        assert_eq!(hit.len(), 1);
        assert_eq!(
            hit[0].header("cookie"),
            Some("sid=s1"),
            "page {n} went on in the session"
        );
    }
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
}
