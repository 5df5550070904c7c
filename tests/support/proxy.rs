//! A small HTTP forward proxy on loopback that records what it was asked.
//!
//! An absolute-form request (`GET http://127.0.0.1:PORT/path HTTP/1.1`) is
//! forwarded to its origin with `Connection: close` and the whole answer is
//! relayed back; a `CONNECT host:port` (an https request through the proxy)
//! is recorded and refused with 403, which is enough to show it was asked.
//! One request per connection. Dropping the proxy stops it.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

/// One request the proxy received: its method and request-target as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyHit {
    pub method: String,
    pub target: String,
}

/// The running proxy.
pub struct Proxy {
    port: u16,
    hits: Arc<Mutex<Vec<ProxyHit>>>,
    accept: AbortHandle,
}

impl Proxy {
    /// Binds 127.0.0.1 on a free port and starts proxying.
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("local addr").port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&hits))).abort_handle();
        Proxy { port, hits, accept }
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, in arrival order.
    pub fn hits(&self) -> Vec<ProxyHit> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, hits: Arc<Mutex<Vec<ProxyHit>>>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(relay(stream, Arc::clone(&hits)));
    }
}

async fn relay(mut client: TcpStream, hits: Arc<Mutex<Vec<ProxyHit>>>) {
    let Some((head, mut rest)) = read_head(&mut client).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return;
    };
    hits.lock().unwrap().push(ProxyHit {
        method: method.to_string(),
        target: target.to_string(),
    });
    if method == "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    }
    let Some(after_scheme) = target.strip_prefix("http://") else {
        let _ = client
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(slash) => after_scheme.split_at(slash),
        None => (after_scheme, "/"),
    };
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    let mut length = 0;
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = line[name.len() + 1..].trim().parse().unwrap_or(0);
        }
        if ["connection", "proxy-connection", "keep-alive"]
            .iter()
            .any(|hop| name.eq_ignore_ascii_case(hop))
        {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    while rest.len() < length {
        let mut chunk = [0u8; 8192];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => rest.extend_from_slice(&chunk[..n]),
        }
    }
    let Ok(mut origin) = TcpStream::connect(authority).await else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let mut request = forwarded.into_bytes();
    request.extend_from_slice(&rest[..length]);
    if origin.write_all(&request).await.is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = origin.read_to_end(&mut answer).await;
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}

/// The request head as text and whatever followed it.
async fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Some((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
