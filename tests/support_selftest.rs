//! Checks that the scripted test server in `tests/support` behaves as its
//! docs say, so that other tests can trust it.

mod support;

use std::io::Read as _;
use std::time::{Duration, Instant};

use support::{max_in_window, Reply, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("selftest/1.0")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Sends the request and reads the whole body; `Err` if either step fails.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let resp = client.get(url).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.bytes().await?.to_vec()))
}

#[tokio::test]
async fn route_answers_and_unknown_is_404() {
    let server = TestServer::start().await;
    server.route("/a?x=1", Reply::html("<p>hi</p>").header("X-Test", "yes"));
    let resp = client().get(server.url("/a?x=1")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-test"], "yes");
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(resp.text().await.unwrap(), "<p>hi</p>");

    // Matching is on the exact target, query included.
    let (status, body) = fetch(&client(), &server.url("/a")).await.unwrap();
    assert_eq!((status, body.len()), (404, 0));
    let (status, _) = fetch(&client(), &server.url("/nowhere")).await.unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn routes_can_be_added_after_start_and_codes_changed() {
    let server = TestServer::start().await;
    let c = client();
    assert_eq!(fetch(&c, &server.url("/late")).await.unwrap().0, 404);
    server.route("/late", Reply::json("{}").code(201));
    let (status, body) = fetch(&c, &server.url("/late")).await.unwrap();
    assert_eq!((status, body), (201, b"{}".to_vec()));
}

#[tokio::test]
async fn sequence_replies_advance_and_last_repeats() {
    let server = TestServer::start().await;
    server.route_seq(
        "/seq",
        vec![
            Reply::status(503).header("Retry-After", "1"),
            Reply::text("one"),
            Reply::text("two"),
        ],
    );
    let c = client();
    let mut got = Vec::new();
    for _ in 0..4 {
        let (status, body) = fetch(&c, &server.url("/seq")).await.unwrap();
        got.push((status, String::from_utf8(body).unwrap()));
    }
    let want = [(503, ""), (200, "one"), (200, "two"), (200, "two")];
    let want: Vec<(u16, String)> = want.iter().map(|(s, b)| (*s, b.to_string())).collect();
    assert_eq!(got, want);
    assert_eq!(server.count("/seq"), 4);
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let server = TestServer::start().await;
    server.route("/k", Reply::text("k"));
    let c = client();
    for _ in 0..3 {
        fetch(&c, &server.url("/k")).await.unwrap();
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let server = TestServer::start().await;
    server.route("/c", Reply::text("bye"));
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    // read_to_end only returns once the server closes its side.
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("server closes after Connection: close")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(raw.contains("Content-Length: 3\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\nbye"), "{raw}");
}

#[tokio::test]
async fn gzip_body_decodes() {
    let server = TestServer::start().await;
    let text = "squeeze me ".repeat(100);
    server.route("/z", Reply::text(text.clone()).gzip());

    // reqwest decodes transparently...
    let (_, body) = fetch(&client(), &server.url("/z")).await.unwrap();
    assert_eq!(String::from_utf8(body).unwrap(), text);
    assert!(server.hits_for("/z")[0].accept_encoding.contains("gzip"));

    // ...and the wire really carries gzip.
    let raw_client = reqwest::Client::builder().no_gzip().build().unwrap();
    let resp = raw_client.get(server.url("/z")).send().await.unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let wire = resp.bytes().await.unwrap();
    assert!(wire.len() < text.len());
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&wire[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, text);
}

#[tokio::test]
async fn truncated_body_is_a_client_error() {
    let server = TestServer::start().await;
    server.route("/t", Reply::truncated("text/html", "<p>only part"));
    assert!(fetch(&client(), &server.url("/t")).await.is_err());
    assert_eq!(server.count("/t"), 1);
}

#[tokio::test]
async fn reset_is_a_client_error() {
    let server = TestServer::start().await;
    server.route("/r", Reply::reset());
    let err = fetch(&client(), &server.url("/r")).await.unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(server.count("/r"), 1);
}

#[tokio::test]
async fn hang_times_out_on_the_client() {
    let server = TestServer::start().await;
    server.route("/h", Reply::hang());
    let c = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = fetch(&c, &server.url("/h")).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(server.count("/h"), 1);
}

#[tokio::test]
async fn stall_mid_body_times_out_after_headers() {
    let server = TestServer::start().await;
    server.route("/s", Reply::stall_mid_body("text/html", "<html><body>"));
    let c = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let resp = c
        .get(server.url("/s"))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), 200);
    let err = resp.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn delay_holds_the_answer_back() {
    let server = TestServer::start().await;
    server.route("/d", Reply::text("late").delay(Duration::from_millis(200)));
    let started = Instant::now();
    let (_, body) = fetch(&client(), &server.url("/d")).await.unwrap();
    assert_eq!(body, b"late");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn redirect_is_followed() {
    let server = TestServer::start().await;
    server.route("/old", Reply::redirect(301, "/new"));
    server.route("/new", Reply::text("moved"));
    let resp = client().get(server.url("/old")).send().await.unwrap();
    assert_eq!(resp.url().as_str(), server.url("/new"));
    assert_eq!(resp.text().await.unwrap(), "moved");
}

#[tokio::test]
async fn huge_streams_every_byte_and_survives_early_close() {
    let server = TestServer::start().await;
    let total = 1_000_000u64;
    server.route("/big", Reply::huge("application/octet-stream", total));
    let resp = client().get(server.url("/big")).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(total));
    assert_eq!(resp.bytes().await.unwrap().len() as u64, total);

    // Drop a response after its headers: the server must stop quietly and keep serving.
    let resp = client().get(server.url("/big")).send().await.unwrap();
    drop(resp);
    server.route("/after", Reply::text("still here"));
    let (_, body) = fetch(&client(), &server.url("/after")).await.unwrap();
    assert_eq!(body, b"still here");
}

#[tokio::test]
async fn hit_log_records_path_headers_and_time() {
    let server = TestServer::start().await;
    server.route("/p?q=1", Reply::text("x"));
    let before = Instant::now();
    fetch(&client(), &server.url("/p?q=1")).await.unwrap();
    fetch(&client(), &server.url("/missing")).await.unwrap();

    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].path, "/p?q=1");
    assert_eq!(hits[0].user_agent, "selftest/1.0");
    assert_eq!(hits[0].host_header, server.addr().to_string());
    assert!(hits[0].at >= before && hits[1].at >= hits[0].at);
    assert_eq!(hits[1].path, "/missing");
    assert_eq!(server.hits_for("/p?q=1").len(), 1);
    assert_eq!(server.hit_times().len(), 2);

    server.clear_hits();
    assert!(server.hits().is_empty());
    assert_eq!(server.count("/p?q=1"), 0);
}

#[tokio::test]
async fn two_servers_on_two_loopback_addresses() {
    let one = TestServer::start_on("127.0.0.1").await;
    let two = TestServer::start_on("127.0.0.2").await;
    assert_eq!(two.addr().ip().to_string(), "127.0.0.2");
    assert!(two.url("/x").starts_with("http://127.0.0.2:"));
    one.route("/", Reply::text("one"));
    two.route("/", Reply::text("two"));
    let c = client();
    assert_eq!(fetch(&c, &one.url("/")).await.unwrap().1, b"one");
    assert_eq!(fetch(&c, &two.url("/")).await.unwrap().1, b"two");
    assert_eq!((one.count("/"), two.count("/")), (1, 1));
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = TestServer::start().await;
    server.route("/h", Reply::hang());
    let addr = server.addr();
    let url = server.url("/h");
    let pending = tokio::spawn(async move { fetch(&client(), &url).await });
    while server.count("/h") == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server);
    // The hung connection is aborted, so the client sees an error, not a hang.
    let result = tokio::time::timeout(Duration::from_secs(3), pending).await;
    assert!(result
        .expect("hung connection closed on drop")
        .unwrap()
        .is_err());
    // And the listener is gone.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn max_in_window_counts_half_open_windows() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let w = Duration::from_millis(100);
    let cases: &[(&[u64], usize)] = &[
        (&[], 0),
        (&[0], 1),
        (&[0, 100, 200], 1), // exactly one window apart: half-open, so 1
        (&[0, 99, 200], 2),
        (&[0, 10, 20, 150, 160], 3),
        (&[300, 0, 50, 320, 310], 3), // unsorted input
        (&[5, 5, 5], 3),
    ];
    for (ms, want) in cases {
        let times: Vec<Instant> = ms.iter().map(|&m| at(m)).collect();
        assert_eq!(max_in_window(&times, w), *want, "times {ms:?}");
    }
}
