//! A scripted raw-HTTP/1.1 test server for integration tests.
//!
//! Written on a bare `TcpListener` rather than a framework so that a route can
//! misbehave the way real servers do: reset the connection, lie about the
//! Content-Length, stall mid-body, hang forever, or stream a huge body.
//!
//! ```ignore
//! mod support;
//! use support::{Reply, TestServer};
//!
//! let server = TestServer::start().await;
//! server.route("/a", Reply::html("<p>hi</p>"));
//! server.route_seq("/b", vec![Reply::status(503).header("Retry-After", "1"), Reply::text("ok")]);
//! // ... crawl server.url("/a") ...
//! assert_eq!(server.count("/b"), 2);
//! ```
//!
//! Every request is logged as a [`Hit`] with the instant its head was read, so
//! politeness can be asserted from the server side (see [`max_in_window`]).
//! Dropping the [`TestServer`] aborts the accept loop and every connection.
#![allow(dead_code)]

pub mod binary;
pub mod kill;
pub mod library;
pub mod proxy;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

/// Largest request head accepted before the connection is dropped.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body read; a longer one drops the connection.
const MAX_REQUEST_BODY: usize = 1024 * 1024;
/// Chunk size used by [`Reply::huge`].
const HUGE_CHUNK: usize = 64 * 1024;
/// How many bytes more than it sends a [`Reply::truncated`] or
/// [`Reply::stall_mid_body`] claims in its Content-Length.
pub const MISSING_BYTES: usize = 1024;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The request-target, path and query, exactly as sent.
    pub path: String,
    /// When the request head had been fully read.
    pub at: Instant,
    /// The `Host` header, or `""`.
    pub host_header: String,
    /// The `User-Agent` header, or `""`.
    pub user_agent: String,
    /// The `Accept-Encoding` header, or `""`.
    pub accept_encoding: String,
    /// The method (`GET`, `POST` …).
    pub method: String,
    /// Every header, in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (read by its Content-Length; empty without one).
    pub body: Vec<u8>,
}

impl Hit {
    /// The first header with this name (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a reply does beyond sending status, headers and body.
#[derive(Clone, Debug)]
enum Behaviour {
    /// Send the whole reply.
    Normal,
    /// Close the connection (with an RST) without answering.
    Reset,
    /// Claim `MISSING_BYTES` more than the body, send the body, close.
    Truncated,
    /// Never answer.
    Hang,
    /// Claim `MISSING_BYTES` more than the body, send the body, never finish.
    StallMidBody,
    /// Stream this many filler bytes.
    Huge(u64),
}

/// A scripted answer to one request; build with a constructor, then chain.
#[derive(Clone, Debug)]
pub struct Reply {
    code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Option<Duration>,
    /// Answer only once this gate is open.
    gate: Option<tokio::sync::watch::Receiver<bool>>,
    behaviour: Behaviour,
}

/// Holds the replies made [`Reply::held`] at it until the test opens it:
/// "answer once the test has done X", with no sleep.
#[derive(Debug)]
pub struct Gate(tokio::sync::watch::Sender<bool>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(tokio::sync::watch::channel(false).0)
    }

    /// Lets every reply held at the gate go, now and from now on.
    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

impl Reply {
    fn new(code: u16, content_type: Option<&str>, body: Vec<u8>, behaviour: Behaviour) -> Reply {
        let headers = content_type
            .map(|ct| vec![("Content-Type".to_string(), ct.to_string())])
            .unwrap_or_default();
        Reply {
            code,
            headers,
            body,
            delay: None,
            gate: None,
            behaviour,
        }
    }

    /// 200 with `text/html; charset=utf-8`.
    pub fn html(body: impl Into<String>) -> Reply {
        Reply::bytes("text/html; charset=utf-8", body.into().into_bytes())
    }

    /// 200 with `application/json`.
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::bytes("application/json", body.into().into_bytes())
    }

    /// 200 with `text/plain; charset=utf-8`.
    pub fn text(body: impl Into<String>) -> Reply {
        Reply::bytes("text/plain; charset=utf-8", body.into().into_bytes())
    }

    /// This status with an empty body and no Content-Type.
    pub fn status(code: u16) -> Reply {
        Reply::new(code, None, Vec::new(), Behaviour::Normal)
    }

    /// 200 with an arbitrary Content-Type and body.
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Reply {
        Reply::new(200, Some(content_type), body, Behaviour::Normal)
    }

    /// A redirect (`code` is 301, 302, 303, 307 or 308) to `location`.
    pub fn redirect(code: u16, location: &str) -> Reply {
        Reply::status(code).header("Location", location)
    }

    /// Read the request, then close the connection without answering.
    pub fn reset() -> Reply {
        Reply::new(200, None, Vec::new(), Behaviour::Reset)
    }

    /// Send a Content-Length [`MISSING_BYTES`] larger than `body`, the body,
    /// then close the connection.
    pub fn truncated(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200, Some(content_type), body.into(), Behaviour::Truncated)
    }

    /// Read the request and never answer (until the server is dropped).
    pub fn hang() -> Reply {
        Reply::new(200, None, Vec::new(), Behaviour::Hang)
    }

    /// Send headers claiming `first_part.len() + MISSING_BYTES` bytes, send
    /// `first_part`, then hold the connection open without sending more.
    pub fn stall_mid_body(content_type: &str, first_part: impl Into<Vec<u8>>) -> Reply {
        Reply::new(
            200,
            Some(content_type),
            first_part.into(),
            Behaviour::StallMidBody,
        )
    }

    /// Stream `total_bytes` of filler in 64 KiB chunks, with a Content-Length;
    /// stops quietly when the client goes away.
    pub fn huge(content_type: &str, total_bytes: u64) -> Reply {
        Reply::new(
            200,
            Some(content_type),
            Vec::new(),
            Behaviour::Huge(total_bytes),
        )
    }

    /// Add a response header (sent as given, after Content-Type).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Change the status code.
    pub fn code(mut self, code: u16) -> Reply {
        self.code = code;
        self
    }

    /// Wait this long after reading the request before answering.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// Answer only once `gate` is open (the request is logged at once).
    pub fn held(mut self, gate: &Gate) -> Reply {
        self.gate = Some(gate.0.subscribe());
        self
    }

    /// Gzip the body (as it stands now) and set `Content-Encoding: gzip`.
    pub fn gzip(mut self) -> Reply {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&self.body).expect("gzip into memory");
        self.body = encoder.finish().expect("gzip into memory");
        self.header("Content-Encoding", "gzip")
    }

    fn wants_close(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"))
    }
}

/// The replies scripted for one request-target.
struct Route {
    replies: Vec<Reply>,
    served: usize,
}

impl Route {
    /// The n-th request gets the n-th reply; the last one repeats.
    fn next_reply(&mut self) -> Reply {
        let i = self.served.min(self.replies.len() - 1);
        self.served += 1;
        self.replies[i].clone()
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Route>>,
    hits: Mutex<Vec<Hit>>,
    connections: AtomicUsize,
}

impl State {
    fn reply_for(&self, target: &str) -> Reply {
        let mut routes = self.routes.lock().unwrap();
        match routes.get_mut(target) {
            Some(route) => route.next_reply(),
            None => Reply::status(404),
        }
    }
}

/// A scripted HTTP/1.1 server on a loopback address; dropping it stops it.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

impl TestServer {
    /// Bind `127.0.0.1` on a free port and start serving.
    pub async fn start() -> TestServer {
        TestServer::start_on("127.0.0.1").await
    }

    /// Bind `ip` (e.g. `"127.0.0.2"`: Linux routes all of 127/8 to `lo`) on a
    /// free port and start serving.
    pub async fn start_on(ip: &str) -> TestServer {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind test server");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state))).abort_handle();
        TestServer {
            addr,
            state,
            accept,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` followed by `path` (a leading `/` is added if missing).
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{}{}", self.addr, slash, path)
    }

    /// Answer every request for `path_and_query` with `reply`.
    pub fn route(&self, path_and_query: &str, reply: Reply) {
        self.route_seq(path_and_query, vec![reply]);
    }

    /// Answer the n-th request for `path_and_query` with `replies[n]`; the
    /// last reply repeats. Replaces any earlier script for that target.
    pub fn route_seq(&self, path_and_query: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "route_seq needs at least one reply");
        let route = Route { replies, served: 0 };
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path_and_query.to_string(), route);
    }

    /// Every request received so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// The requests received for exactly this request-target.
    pub fn hits_for(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    /// How many requests were received for exactly this request-target.
    pub fn count(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .count()
    }

    /// Arrival instants of every request so far (for [`max_in_window`]).
    pub fn hit_times(&self) -> Vec<Instant> {
        self.state
            .hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.at)
            .collect()
    }

    /// Forget the request log (routes and their sequence positions stay).
    pub fn clear_hits(&self) {
        self.state.hits.lock().unwrap().clear();
    }

    /// How many TCP connections have been accepted (to check keep-alive).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connections: aborting it drops
        // the set, which aborts every connection task, hung ones included.
        self.accept.abort();
    }
}

/// The largest number of `times` falling in any half-open window
/// `[t, t + window)`.
pub fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut end = 0;
    for (start, &t) in sorted.iter().enumerate() {
        // A window starting at a hit contains at least as many as any other.
        while end < sorted.len() && sorted[end] < t + window {
            end += 1;
        }
        best = best.max(end - start);
    }
    best
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        state.connections.fetch_add(1, Ordering::SeqCst);
        connections.spawn(serve_connection(stream, Arc::clone(&state)));
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

impl Head {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

fn parse_head(raw: &[u8]) -> Option<Head> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let mut parts = lines.next()?.split_whitespace();
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let connection = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let keep_alive = match connection.as_deref() {
        Some(v) if v.contains("close") => false,
        Some(v) if v.contains("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    Some(Head {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        keep_alive,
    })
}

/// Read one request head; `None` when the client closed or sent garbage.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_head(&buf[..end]);
            buf.drain(..end + 4);
            return head;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Read a body of `len` bytes following the head; `None` when the client
/// closed first or it is too large.
async fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> Option<Vec<u8>> {
    if len > MAX_REQUEST_BODY {
        return None;
    }
    while buf.len() < len {
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(buf.drain(..len).collect())
}

async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    while let Some(head) = read_head(&mut stream, &mut buf).await {
        // The head is logged when read, as before; a body (a POST) is read
        // next so that it does not stand in the way of the next head.
        let at = Instant::now();
        let len = head.header("content-length").parse().unwrap_or(0);
        let Some(body) = read_body(&mut stream, &mut buf, len).await else {
            break;
        };
        state.hits.lock().unwrap().push(Hit {
            path: head.target.clone(),
            at,
            host_header: head.header("host"),
            user_agent: head.header("user-agent"),
            accept_encoding: head.header("accept-encoding"),
            method: head.method.clone(),
            headers: head.headers.clone(),
            body,
        });
        let reply = state.reply_for(&head.target);
        if let Some(delay) = reply.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(mut gate) = reply.gate.clone() {
            // An error is the gate dropped: answer then.
            let _ = gate.wait_for(|open| *open).await;
        }
        let keep_alive = head.keep_alive && !reply.wants_close();
        if !matches!(send(&mut stream, &reply, keep_alive).await, Ok(true)) || !keep_alive {
            break;
        }
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}

fn response_head(reply: &Reply, content_length: u64, keep_alive: bool) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.code, reason(reply.code));
    let _ = write!(head, "Content-Length: {content_length}\r\n");
    for (name, value) in &reply.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !keep_alive && !reply.wants_close() {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Send `reply`; `Ok(true)` when the connection may serve another request.
async fn send(stream: &mut TcpStream, reply: &Reply, keep_alive: bool) -> std::io::Result<bool> {
    let body_len = reply.body.len() as u64;
    match reply.behaviour {
        Behaviour::Normal => {
            let mut out = response_head(reply, body_len, keep_alive);
            out.extend_from_slice(&reply.body);
            stream.write_all(&out).await?;
            Ok(true)
        }
        Behaviour::Reset => {
            // Zero linger turns the close into an RST, as a crashed server would.
            let _ = stream.set_zero_linger();
            Ok(false)
        }
        Behaviour::Truncated => {
            let mut out = response_head(reply, body_len + MISSING_BYTES as u64, false);
            out.extend_from_slice(&reply.body);
            stream.write_all(&out).await?;
            stream.shutdown().await?;
            Ok(false)
        }
        Behaviour::Hang => std::future::pending().await,
        Behaviour::StallMidBody => {
            let mut out = response_head(reply, body_len + MISSING_BYTES as u64, keep_alive);
            out.extend_from_slice(&reply.body);
            stream.write_all(&out).await?;
            std::future::pending().await
        }
        Behaviour::Huge(total) => {
            stream
                .write_all(&response_head(reply, total, keep_alive))
                .await?;
            let chunk = vec![b'x'; HUGE_CHUNK];
            let mut left = total;
            while left > 0 {
                let n = left.min(HUGE_CHUNK as u64) as usize;
                // An error here is the client closing early: stop quietly.
                stream.write_all(&chunk[..n]).await?;
                left -= n as u64;
            }
            Ok(true)
        }
    }
}
