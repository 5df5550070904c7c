//! Reading a body: streamed against a cap, then decoded to text.
//!
//! A server's Content-Length is a claim, not a size to allocate: the buffer
//! starts at most [`MAX_PREALLOCATE`] and grows with the bytes that arrive.

use std::io::Read;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED};
use flate2::bufread::MultiGzDecoder;

use super::budget::Share;
use super::FetchErrorKind;

/// The most allocated for a body before any of it arrives.
const MAX_PREALLOCATE: u64 = 1024 * 1024;

/// The two bytes every gzip stream starts with (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How much of a body is read, and what happens to a longer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cap {
    /// A page: a body longer than this many bytes is refused (`max_body`).
    Refuse(u64),
    /// robots.txt: only the first this-many bytes are read (the rest is
    /// never read, however long the server goes on), and of a longer body
    /// only its complete lines are kept, so a rule cut in half does not
    /// become a broader one.
    Lines(u64),
}

/// Reads the body chunk by chunk, refusing it or cutting it short at `cap`;
/// a page's body that is gzip is then gunzipped within the same cap. With a
/// `share` of the crawl's budget, each chunk takes its bytes from it first,
/// waiting while the budget is spent (`budget.rs`).
pub(super) async fn read(
    response: reqwest::Response,
    cap: Cap,
    share: Option<&mut Share>,
) -> Result<Vec<u8>, FetchErrorKind> {
    let body = read_raw(response, cap, share).await?;
    match cap {
        Cap::Refuse(limit) => gunzip_if_gzip(body, limit),
        // robots.txt is text; a cut-short gzip stream would not inflate anyway.
        Cap::Lines(_) => Ok(body),
    }
}

/// A body that starts with the gzip magic bytes, gunzipped (concatenated
/// members one after the other, as `gunzip` does); any other as it is.
///
/// SPEC §11: "A body that is gzip is gunzipped whatever its Content-Type" —
/// sitemaps are served as `.xml.gz` files, which no Content-Encoding
/// announces. What it inflates to is held to `max_body` like any body, so a
/// few KB cannot become gigabytes in memory.
pub(super) fn gunzip_if_gzip(body: Vec<u8>, limit: u64) -> Result<Vec<u8>, FetchErrorKind> {
    if !body.starts_with(&GZIP_MAGIC) {
        return Ok(body);
    }
    let mut plain = Vec::with_capacity(initial_capacity(Some(body.len() as u64 * 4), limit));
    MultiGzDecoder::new(body.as_slice())
        .take(limit.saturating_add(1))
        .read_to_end(&mut plain)
        .map_err(|e| FetchErrorKind::Network(format!("the gzip body does not inflate ({e})")))?;
    match plain.len() as u64 > limit {
        true => Err(FetchErrorKind::TooLarge(limit)),
        false => Ok(plain),
    }
}

async fn read_raw(
    mut response: reqwest::Response,
    cap: Cap,
    mut share: Option<&mut Share>,
) -> Result<Vec<u8>, FetchErrorKind> {
    let (Cap::Refuse(limit) | Cap::Lines(limit)) = cap;
    let claimed = response.content_length();
    if matches!(cap, Cap::Refuse(_)) && claimed.is_some_and(|len| len > limit) {
        return Err(FetchErrorKind::TooLarge(limit));
    }
    let mut body = Vec::with_capacity(initial_capacity(claimed, limit));
    while let Some(chunk) = response.chunk().await.map_err(FetchErrorKind::network)? {
        if let Some(share) = share.as_mut() {
            share.take(chunk.len()).await;
        }
        let room = limit.saturating_sub(body.len() as u64);
        if (chunk.len() as u64) <= room {
            body.extend_from_slice(&chunk);
            continue;
        }
        if matches!(cap, Cap::Refuse(_)) {
            return Err(FetchErrorKind::TooLarge(limit));
        }
        // `room < chunk.len()`, so it fits a usize.
        body.extend_from_slice(&chunk[..room as usize]);
        let whole_lines = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        body.truncate(whole_lines);
        break;
    }
    Ok(body)
}

/// The buffer to start with: what the server claims, within the cap and
/// [`MAX_PREALLOCATE`] (16 KiB when it claims nothing).
fn initial_capacity(content_length: Option<u64>, limit: u64) -> usize {
    let capacity = content_length
        .unwrap_or(16 * 1024)
        .min(limit)
        .min(MAX_PREALLOCATE);
    usize::try_from(capacity).unwrap_or(0)
}

/// Decodes with the Content-Type charset, else `<meta charset>`, else UTF-8.
pub(super) fn decode(content_type: Option<&str>, body: Vec<u8>) -> String {
    let encoding = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&body))
        .unwrap_or(UTF_8);
    // The common case, valid UTF-8 without a BOM, keeps the buffer as it is.
    if encoding == UTF_8 && !body.starts_with(b"\xEF\xBB\xBF") {
        match String::from_utf8(body) {
            Ok(text) => return text,
            Err(e) => return UTF_8.decode(e.as_bytes()).0.into_owned(),
        }
    }
    let (text, _, _) = encoding.decode(&body);
    text.into_owned()
}

fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// Finds `charset=` inside a `<meta>` tag in the first 1024 bytes (the HTML prescan window).
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    head.match_indices("<meta").find_map(|(start, _)| {
        let tag = &head[start..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let after = &tag[tag.find("charset")? + "charset".len()..];
        let value = after.trim_start().strip_prefix('=')?.trim_start();
        let value = value.trim_start_matches(['"', '\'']);
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_:.".contains(c)))
            .unwrap_or(value.len());
        Encoding::for_label(&value.as_bytes()[..end]).map(ascii_found)
    })
}

/// A `<meta>` found by an ASCII scan cannot be in UTF-16, so a page
/// declaring it is read as UTF-8, and `x-user-defined` as windows-1252
/// (the HTML standard's prescan, "get an encoding").
fn ascii_found(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == UTF_16LE || encoding == UTF_16BE {
        return UTF_8;
    }
    if encoding == X_USER_DEFINED {
        return WINDOWS_1252;
    }
    encoding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_length_is_never_allocated_whole() {
        assert_eq!(
            initial_capacity(Some(50_000_000_000), 100_000_000_000),
            1 << 20
        );
        assert_eq!(initial_capacity(Some(u64::MAX), u64::MAX), 1 << 20);
        assert_eq!(initial_capacity(Some(300), 10 << 20), 300);
        assert_eq!(initial_capacity(None, 10 << 20), 16 * 1024);
        assert_eq!(initial_capacity(Some(5000), 100), 100);
    }

    fn gzip(parts: &[&[u8]]) -> Vec<u8> {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut out = Vec::new();
        for part in parts {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(part).unwrap();
            out.extend(encoder.finish().unwrap());
        }
        out
    }

    #[test]
    fn gzip_bodies_are_gunzipped_within_the_limit() {
        let xml = b"<urlset><url><loc>https://a.test/</loc></url></urlset>".to_vec();
        let plain = gunzip_if_gzip(xml.clone(), 10);
        assert_eq!(plain, Ok(xml.clone()), "a plain body is left as it is");
        assert_eq!(gunzip_if_gzip(gzip(&[&xml]), 1 << 20), Ok(xml.clone()));
        assert_eq!(
            gunzip_if_gzip(gzip(&[b"<a>", b"</a>"]), 100),
            Ok(b"<a></a>".to_vec()),
            "concatenated members"
        );
        let len = xml.len() as u64;
        assert_eq!(gunzip_if_gzip(gzip(&[&xml]), len), Ok(xml.clone()));
        assert_eq!(
            gunzip_if_gzip(gzip(&[&xml]), len - 1),
            Err(FetchErrorKind::TooLarge(len - 1))
        );
        let bomb = gzip(&[&vec![b' '; 50 << 20]]);
        assert!(bomb.len() < 100_000);
        assert_eq!(
            gunzip_if_gzip(bomb, 10 << 20),
            Err(FetchErrorKind::TooLarge(10 << 20))
        );
        let mut cut = gzip(&[&xml]);
        cut.truncate(cut.len() / 2);
        let broken = gunzip_if_gzip(cut, 1 << 20).unwrap_err();
        assert!(broken.to_string().contains("gzip"), "{broken}");
    }

    #[tokio::test]
    async fn a_page_body_is_gunzipped_and_robots_txt_is_not() {
        let body = gzip(&[b"<p>hello</p>"]);
        let response = |bytes: Vec<u8>| reqwest::Response::from(http::Response::new(bytes));
        let page = read(response(body.clone()), Cap::Refuse(1 << 20), None).await;
        assert_eq!(page, Ok(b"<p>hello</p>".to_vec()));
        let small = read(response(body.clone()), Cap::Refuse(5), None).await;
        assert_eq!(small, Err(FetchErrorKind::TooLarge(5)));
        let robots = read(response(body.clone()), Cap::Lines(1 << 20), None).await;
        assert_eq!(robots, Ok(body));
    }

    #[test]
    fn charset_sources_in_order() {
        let cafe_1252 = b"<p>caf\xe9</p>";
        assert_eq!(
            decode(Some("text/html; charset=windows-1252"), cafe_1252.to_vec()),
            "<p>café</p>"
        );
        assert_eq!(
            decode(
                Some("text/html; charset=\"ISO-8859-1\""),
                cafe_1252.to_vec()
            ),
            "<p>café</p>"
        );
        let meta = b"<html><head><meta charset=\"windows-1252\"></head><p>caf\xe9</p>";
        assert!(decode(Some("text/html"), meta.to_vec()).contains("café"));
        let http_equiv = b"<meta http-equiv=Content-Type content='text/html; charset=shift_jis'><p>\x93\xfa\x96\x7b</p>";
        assert!(decode(None, http_equiv.to_vec()).contains("日本"));
        assert_eq!(decode(None, "naïve".as_bytes().to_vec()), "naïve");
        // The header wins over the document.
        let conflict = b"<meta charset=shift_jis><p>caf\xe9</p>";
        assert!(decode(Some("text/html;charset=windows-1252"), conflict.to_vec()).contains("café"));
        assert_eq!(decode(None, b"\xEF\xBB\xBFbom".to_vec()), "bom");
        assert_eq!(decode(None, b"bad \xFF byte".to_vec()), "bad \u{FFFD} byte");
    }

    /// Caught by the meta-charset property: an ASCII page whose `<meta>` said
    /// UTF-16 was read as UTF-16, every two bytes one CJK character.
    #[test]
    fn a_meta_charset_of_utf_16_reads_as_utf_8() {
        for label in ["utf-16", "utf-16be", "UTF-16LE"] {
            let page = format!("<meta charset=\"{label}\"><p>café</p>");
            assert_eq!(decode(None, page.clone().into_bytes()), page);
        }
        let page = b"<meta charset=x-user-defined><p>caf\xe9</p>";
        assert!(decode(None, page.to_vec()).ends_with("café</p>"));
    }
}

/// Generated Content-Length claims, Content-Type charsets, bodies and gzip
/// streams (SPEC §10 "Bounds"): nothing a server sends sizes a buffer past
/// the cap, and any bytes under any label decode to text.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use encoding_rs::{ISO_2022_JP, REPLACEMENT};

    use super::*;
    use crate::proptest_run::check;

    #[test]
    fn a_claimed_length_never_sizes_the_buffer_past_the_caps() {
        let strategy = (proptest::option::of(any::<u64>()), any::<u64>());
        check("content-length", 5000, strategy, |(claimed, limit)| {
            let capacity = initial_capacity(claimed, limit) as u64;
            prop_assert!(capacity <= MAX_PREALLOCATE && capacity <= limit);
            Ok(())
        });
    }

    /// A Content-Type value: real and made-up labels, quoted or not, in
    /// any case and place, or noise.
    fn content_type() -> impl Strategy<Value = String> {
        let label = prop_oneof![
            prop::sample::select(
                &[
                    "utf-8",
                    "UTF8",
                    "latin1",
                    "windows-1252",
                    "shift_jis",
                    "euc-kr",
                    "gb18030",
                    "big5",
                    "utf-16",
                    "utf-16be",
                    "iso-2022-jp",
                    "iso-2022-kr",
                    "replacement",
                    "x-user-defined",
                    "koi8-r",
                    "",
                ][..]
            )
            .prop_map(str::to_string),
            "\\PC{0,10}",
        ];
        prop_oneof![
            (label, "[ \"']{0,2}", "(; q=1)?").prop_map(|(label, quote, tail)| {
                format!("text/html;charset={quote}{label}{quote}{tail}")
            }),
            any::<String>(),
        ]
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "\\PC{0,40}".prop_map(String::into_bytes),
            (
                "[a-z0-9_-]{0,12}",
                prop::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(label, tail)| {
                    let mut body = format!("<meta charset=\"{label}\"><p>").into_bytes();
                    body.extend(tail);
                    body
                }),
        ]
    }

    #[test]
    fn any_bytes_under_any_charset_decode_to_text() {
        let strategy = (proptest::option::of(content_type()), body());
        check("charset", 2000, strategy, |(content_type, body)| {
            let text = decode(content_type.as_deref(), body.clone());
            // UTF-8 declared and sent arrives unchanged.
            let declared_utf8 = content_type.as_deref() == Some("text/html;charset=utf-8");
            if let (true, Ok(sent)) = (declared_utf8, std::str::from_utf8(&body)) {
                prop_assert_eq!(text, sent.trim_start_matches('\u{feff}'));
            }
            Ok(())
        });
    }

    #[test]
    fn an_ascii_page_reads_as_itself_under_its_meta_charset() {
        let label = prop_oneof![
            "[a-z0-9_-]{0,12}",
            prop::sample::select(&["utf-16", "UTF-16BE", "x-user-defined", "latin1"][..])
                .prop_map(str::to_string),
        ];
        let strategy = (label, "[ -~]{0,40}");
        check("meta-charset", 2000, strategy, |(label, text)| {
            let page = format!("<meta charset=\"{label}\"><p>{text}");
            let declared = Encoding::for_label(label.as_bytes());
            // ISO-2022-JP reads `~` and `\\` otherwise; the replacement
            // encoding (iso-2022-kr …) refuses the page on purpose.
            if declared.is_none_or(|e| e != ISO_2022_JP && e != REPLACEMENT) {
                prop_assert_eq!(decode(None, page.clone().into_bytes()), page);
            }
            Ok(())
        });
    }

    #[test]
    fn any_gzip_body_inflates_within_the_limit_or_says_why() {
        let strategy = (prop::collection::vec(any::<u8>(), 0..200), 0..400u64);
        check("gzip", 2000, strategy, |(mut tail, limit)| {
            let mut body = GZIP_MAGIC.to_vec();
            body.append(&mut tail);
            match gunzip_if_gzip(body, limit) {
                Ok(plain) => prop_assert!(plain.len() as u64 <= limit),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        });
    }
}
