//! Reading a body: streamed against `max_body`, then decoded to text.

use encoding_rs::{Encoding, UTF_8};

use super::FetchErrorKind;

/// Reads the body chunk by chunk, refusing it as soon as it passes `limit`.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, FetchErrorKind> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(FetchErrorKind::TooLarge(limit));
    }
    let capacity = response.content_length().unwrap_or(16 * 1024).min(limit) as usize;
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(FetchErrorKind::network)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchErrorKind::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Decodes with the Content-Type charset, else `<meta charset>`, else UTF-8.
pub fn decode(content_type: Option<&str>, body: Vec<u8>) -> String {
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
        Encoding::for_label(&value.as_bytes()[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
