use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::{classify, Policy, Reserved};
use crate::fetch::{FetchErrorKind, Fetcher};
use crate::spider::{Limits, Rate, RequestRule};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn addresses_are_classified() {
    let table: &[(&str, Option<Reserved>)] = &[
        ("127.0.0.1", Some(Reserved::Loopback)),
        ("127.255.0.9", Some(Reserved::Loopback)),
        ("::1", Some(Reserved::Loopback)),
        ("10.1.2.3", Some(Reserved::Private)),
        ("172.16.0.1", Some(Reserved::Private)),
        ("172.31.255.255", Some(Reserved::Private)),
        ("192.168.1.1", Some(Reserved::Private)),
        ("fc00::1", Some(Reserved::Private)),
        ("fd12:3456::1", Some(Reserved::Private)),
        ("169.254.1.1", Some(Reserved::LinkLocal)),
        ("fe80::1", Some(Reserved::LinkLocal)),
        ("febf::1", Some(Reserved::LinkLocal)),
        ("169.254.169.254", Some(Reserved::Metadata)),
        ("fd00:ec2::254", Some(Reserved::Metadata)),
        ("100.64.0.1", Some(Reserved::SharedNat)),
        ("100.127.255.254", Some(Reserved::SharedNat)),
        ("0.0.0.0", Some(Reserved::Unspecified)),
        ("0.1.2.3", Some(Reserved::Unspecified)),
        ("::", Some(Reserved::Unspecified)),
        ("224.0.0.1", Some(Reserved::Multicast)),
        ("ff02::1", Some(Reserved::Multicast)),
        ("255.255.255.255", Some(Reserved::Broadcast)),
        // IPv6 carrying an IPv4 address is judged by that address.
        ("::ffff:127.0.0.1", Some(Reserved::Loopback)),
        ("::ffff:169.254.169.254", Some(Reserved::Metadata)),
        ("::ffff:10.0.0.1", Some(Reserved::Private)),
        ("64:ff9b::a9fe:a9fe", Some(Reserved::Metadata)),
        ("::ffff:93.184.216.34", None),
        // Public, including the neighbours of each range.
        ("93.184.216.34", None),
        ("8.8.8.8", None),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("169.253.255.255", None),
        ("11.0.0.1", None),
        ("2606:4700::1111", None),
        ("fec0::1", None),
        ("fbff::1", None),
    ];
    for (text, expected) in table {
        let ip: IpAddr = text.parse().unwrap();
        assert_eq!(classify(ip), *expected, "{text}");
    }
}

fn addr(text: &str) -> SocketAddr {
    SocketAddr::new(text.parse().unwrap(), 80)
}

#[test]
fn the_resolver_filter_keeps_public_addresses_and_refuses_when_none_is_left() {
    let policy = Policy::new(false, &[], SECOND);
    let mixed = vec![addr("127.0.0.1"), addr("93.184.216.34"), addr("::1")];
    assert_eq!(
        policy.filter("example.com", mixed).unwrap(),
        vec![addr("93.184.216.34")]
    );
    let refusal = policy
        .filter("intranet", vec![addr("10.0.0.7"), addr("fe80::1")])
        .unwrap_err()
        .to_string();
    assert!(refusal.contains("`intranet` resolves only to reserved addresses (10.0.0.7: private)"));
    assert!(refusal.contains("--allow-private"), "{refusal}");
    // Nothing resolved is the resolver's own error, not a refusal.
    assert_eq!(policy.filter("nowhere", vec![]).unwrap(), vec![]);
}

#[test]
fn allow_private_or_a_private_literal_start_allows_every_address() {
    let url = Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
    let refused = Policy::new(false, &["https://example.com/"], SECOND);
    let _ = refused.allow.set(false); // as settle() would find
    let message = refused.check_url(&url).unwrap_err().to_string();
    assert!(message.starts_with("169.254.169.254 is a cloud-metadata address; not fetched"));
    assert!(message.contains("--allow-private"), "{message}");
    for policy in [
        Policy::new(true, &[], SECOND),
        Policy::new(false, &["http://10.0.0.2:8080/list?page={page}"], SECOND),
        Policy::new(false, &["http://[::1]/"], SECOND),
    ] {
        assert!(policy.check_url(&url).is_ok());
        assert_eq!(
            policy
                .filter("metadata", vec![addr("169.254.169.254")])
                .unwrap()
                .len(),
            1
        );
    }
    // A public literal start allows nothing more.
    let public = Policy::new(false, &["http://93.184.216.34/"], SECOND);
    assert!(public.check_url(&url).is_err());
}

#[tokio::test]
async fn a_start_whose_name_resolves_to_loopback_allows_private_addresses() {
    let policy = Policy::new(false, &["http://localhost:9/list"], SECOND);
    assert_eq!(
        policy.allow.get(),
        None,
        "undecided until the first request"
    );
    policy.settle().await;
    assert!(policy
        .check_url(&Url::parse("http://10.0.0.1/").unwrap())
        .is_ok());

    let public = Policy::new(false, &["http://trawl-test.invalid/"], SECOND);
    public.settle().await;
    assert!(public
        .check_url(&Url::parse("http://10.0.0.1/").unwrap())
        .is_err());
}

/// A server that answers `/start` with a redirect to `location` and counts
/// every other request.
async fn redirecting_server(ip: &str, location: String) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let at = listener.local_addr().unwrap();
    let others = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&others);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0; 4096];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let reply = match buf[..n].starts_with(b"GET /start ") {
                true => format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                ),
                false => {
                    counted.fetch_add(1, Ordering::SeqCst);
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into()
                }
            };
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (at, others)
}

/// 127.0.0.2 plays a public host; the rest of loopback stays refused.
fn all_but_127_0_0_2(ip: IpAddr) -> Option<Reserved> {
    match ip == IpAddr::from([127, 0, 0, 2]) {
        true => None,
        false => classify(ip),
    }
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_fails_the_page_without_reaching_it() {
    let limits = Limits {
        rate: Rate::UNLIMITED,
        robots: false,
        retries: 2,
        ..Limits::default()
    };
    let (inside, reached) = redirecting_server("127.0.0.1", String::new()).await;
    let port = inside.port();
    for target in [
        format!("http://127.0.0.1:{port}/secret"),
        format!("http://[::ffff:127.0.0.1]:{port}/secret"),
        format!("http://localhost:{port}/secret"),
    ] {
        let (outside, _) = redirecting_server("127.0.0.2", target.clone()).await;
        let policy = Policy::with_classify(false, &[], SECOND, all_but_127_0_0_2);
        let fetcher = Fetcher::with_policy(&limits, &RequestRule::default(), policy).unwrap();
        let start = Url::parse(&format!("http://{outside}/start")).unwrap();
        let error = fetcher.get(&start).await.unwrap_err();
        let FetchErrorKind::Private(reason) = error.kind() else {
            panic!("{target}: expected a refusal, got {error}");
        };
        assert!(reason.contains("loopback"), "{reason}");
        assert!(reason.contains("--allow-private"), "{reason}");
        assert!(!error.is_retryable());
        assert_eq!(error.url(), &Url::parse(&target).unwrap());
        assert_eq!(
            fetcher.stats().retries.load(Ordering::SeqCst),
            0,
            "{target}"
        );
    }
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "nothing reached the refused server"
    );
}

#[test]
fn the_users_proxy_may_be_on_a_private_address() {
    let mut policy = Policy::new(false, &[], SECOND);
    policy.proxies = vec!["Proxy.Internal".into()];
    let at = vec![addr("10.0.0.3")];
    assert_eq!(policy.filter("proxy.internal", at.clone()).unwrap(), at);
    assert!(policy.filter("other.internal", at).is_err());
}
