use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Instant;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;

/// The entries of `xml`, and the error that ended the read, if any.
fn read_all(xml: impl BufRead) -> (Vec<SitemapEntry>, Option<SitemapError>) {
    let sitemap = match Sitemap::read(xml) {
        Ok(sitemap) => sitemap,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut entries = Vec::new();
    let mut error = None;
    for item in sitemap {
        match item {
            Ok(entry) => entries.push(entry),
            Err(e) => {
                assert!(error.is_none(), "a second error after {error:?}: {e}");
                error = Some(e);
            }
        }
    }
    (entries, error)
}

fn locs(xml: &str) -> Vec<String> {
    let (entries, error) = read_all(xml.as_bytes());
    assert!(error.is_none(), "{xml}: {error:?}");
    entries.into_iter().map(|e| e.loc).collect()
}

fn entry(
    loc: &str,
    lastmod: Option<&str>,
    changefreq: Option<&str>,
    priority: Option<&str>,
) -> SitemapEntry {
    SitemapEntry {
        loc: loc.into(),
        lastmod: lastmod.map(Into::into),
        changefreq: changefreq.map(Into::into),
        priority: priority.map(Into::into),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>
      https://shop.test/a
    </loc>
    <lastmod>2024-05-01T10:00:00+00:00</lastmod>
    <changefreq>daily</changefreq>
    <priority>0.8</priority>
  </url>
  <url><loc>https://shop.test/b</loc></url>
</urlset>
"#;

#[test]
fn urlset_entries_with_all_four_fields() {
    let sitemap = Sitemap::read(URLSET.as_bytes()).unwrap();
    assert_eq!(sitemap.kind(), SitemapKind::Urlset);
    let entries: Vec<_> = sitemap.map(Result::unwrap).collect();
    assert_eq!(
        entries,
        [
            entry(
                "https://shop.test/a",
                Some("2024-05-01T10:00:00+00:00"),
                Some("daily"),
                Some("0.8")
            ),
            entry("https://shop.test/b", None, None, None),
        ]
    );
}

#[test]
fn index_entries_are_sitemaps() {
    let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>https://shop.test/s1.xml.gz</loc><lastmod>2024-01-01</lastmod></sitemap>
        <sitemap><loc>https://shop.test/s2.xml</loc><priority>0.5</priority></sitemap>
        <url><loc>https://shop.test/not-an-entry-of-an-index</loc></url>
    </sitemapindex>"#;
    let sitemap = Sitemap::read(xml.as_bytes()).unwrap();
    assert_eq!(sitemap.kind(), SitemapKind::Index);
    assert_eq!(sitemap.kind().entry_name(), "sitemap");
    let entries: Vec<_> = sitemap.map(Result::unwrap).collect();
    assert_eq!(
        entries,
        [
            entry(
                "https://shop.test/s1.xml.gz",
                Some("2024-01-01"),
                None,
                None
            ),
            entry("https://shop.test/s2.xml", None, None, None),
        ]
    );
}

#[test]
fn names_are_matched_without_prefix_and_with_case() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"<ns0:urlset xmlns:ns0="http://www.sitemaps.org/schemas/sitemap/0.9">
                 <ns0:url><ns0:loc>https://a.test/1</ns0:loc></ns0:url></ns0:urlset>"#,
            &["https://a.test/1"],
        ),
        (
            r#"<sm:sitemapindex xmlns:sm="x"><sm:sitemap><loc>https://a.test/s</loc></sm:sitemap></sm:sitemapindex>"#,
            &["https://a.test/s"],
        ),
        (
            r#"<urlset xmlns="wrong:namespace"><url><loc>https://a.test/2</loc></url></urlset>"#,
            &["https://a.test/2"],
        ),
        (
            r#"<urlset><URL><loc>https://a.test/3</loc></URL><url><LOC>x</LOC></url></urlset>"#,
            &[],
        ),
        (r#"<urlset/>"#, &[]),
        (r#"<urlset></urlset>"#, &[]),
    ];
    for (xml, expected) in cases {
        assert_eq!(locs(xml), *expected, "{xml}");
    }
}

#[test]
fn text_is_trimmed_decoded_and_cdata_kept() {
    let cases = [
        (
            "<loc><![CDATA[https://a.test/?x=1&y=<2>]]></loc>",
            "https://a.test/?x=1&y=<2>",
        ),
        (
            "<loc>https://a.test/?x=1&amp;y=2&#38;z=&#x33;&lt;&gt;&quot;&apos;</loc>",
            "https://a.test/?x=1&y=2&z=3<>\"'",
        ),
        // An unescaped `&` is the commonest sitemap mistake: kept as written.
        (
            "<loc>https://a.test/?a=1&b=2</loc>",
            "https://a.test/?a=1&b=2",
        ),
        // References nobody defines stay as written; DTD entities are never expanded.
        (
            "<loc>https://a.test/&nbsp;x</loc>",
            "https://a.test/&nbsp;x",
        ),
        ("<loc>\n\t https://a.test/ \r\n</loc>", "https://a.test/"),
        (
            "<loc> <![CDATA[ https://a.test/c ]]> </loc>",
            "https://a.test/c",
        ),
        (
            "<loc>https://a.test/<!-- note -->d</loc>",
            "https://a.test/d",
        ),
        ("<loc>https://a.test/é/ü</loc>", "https://a.test/é/ü"),
        ("<loc>https://a.test/&#233;</loc>", "https://a.test/é"),
        ("<loc>https://a.test/&#xZZ;</loc>", "https://a.test/&#xZZ;"),
    ];
    for (inner, expected) in cases {
        let xml = format!("<urlset><url>{inner}</url></urlset>");
        assert_eq!(locs(&xml), [expected], "{inner}");
    }
}

#[test]
fn entity_bomb_is_not_expanded() {
    let xml = r#"<?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <urlset><url><loc>https://a.test/&lol2;</loc></url></urlset>"#;
    assert_eq!(locs(xml), ["https://a.test/&lol2;"]);
}

#[test]
fn extension_elements_are_ignored() {
    let xml = r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:xhtml="http://www.w3.org/1999/xhtml"
            xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
            xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
        <url>
          <xhtml:link rel="alternate" hreflang="de" href="https://a.test/de/p"/>
          <image:image><image:loc>https://a.test/img.png</image:loc><image:caption>A</image:caption></image:image>
          <news:news><news:publication><news:name>N</news:name></news:publication>
            <news:publication_date>2024-01-01</news:publication_date></news:news>
          <video:video><video:content_loc>https://a.test/v.mp4</video:content_loc>
            <video:thumbnail_loc>https://a.test/t.jpg</video:thumbnail_loc></video:video>
          <loc>https://a.test/p</loc>
          <xhtml:link rel="alternate" hreflang="fr" href="https://a.test/fr/p"></xhtml:link>
          <lastmod>2024-02-02</lastmod>
        </url>
        <extra><url><loc>https://a.test/too-deep</loc></url></extra>
        <url><image:image><image:loc>https://a.test/only-an-image.png</image:loc></image:image></url>
        <url><loc>https://a.test/q</loc></url>
    </urlset>"#;
    let (entries, error) = read_all(xml.as_bytes());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        entries,
        [
            entry("https://a.test/p", Some("2024-02-02"), None, None),
            entry("https://a.test/q", None, None, None),
        ]
    );
}

#[test]
fn missing_empty_and_repeated_children() {
    let xml = r#"<urlset>
        <url><lastmod>2024-01-01</lastmod></url>
        <url><loc></loc></url>
        <url><loc/></url>
        <url/>
        <url><loc>https://a.test/1</loc><loc>https://a.test/ignored</loc><lastmod/><priority> </priority></url>
        <url><loc>https://a.test/<b>2</b></loc></url>
    </urlset>"#;
    let (entries, error) = read_all(xml.as_bytes());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        entries,
        [
            entry("https://a.test/1", None, None, None),
            entry("https://a.test/2", None, None, None)
        ]
    );
}

#[test]
fn not_a_sitemap() {
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"", None),
        (b"   \n", None),
        (b"just text", None),
        (b"<?xml version='1.0'?><!-- nothing -->", None),
        (
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            Some("html"),
        ),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>",
            Some("feed"),
        ),
        (b"<URLSET></URLSET>", Some("URLSET")),
        (b"<x:sitemap xmlns:x='y'/>", Some("x:sitemap")),
    ];
    for (input, root) in cases {
        match Sitemap::read(*input) {
            Err(SitemapError::NotASitemap { root: found }) => {
                assert_eq!(found.as_deref(), *root, "{input:?}")
            }
            Err(e) => panic!("{input:?}: {e}"),
            Ok(_) => panic!("{input:?} read as a sitemap"),
        }
    }
    let error = Sitemap::read(&b"<html></html>"[..]).err().unwrap();
    assert_eq!(
        error.to_string(),
        "not a sitemap: the root element is <html>, not <urlset> or <sitemapindex>"
    );
}

#[test]
fn malformed_xml_delivers_the_entries_before_it() {
    let head =
        "<urlset><url><loc>https://a.test/1</loc></url><url><loc>https://a.test/2</loc></url>";
    let cases = [
        (
            "<url><loc>https://a.test/3</lo></url></urlset>",
            "mismatched end tag",
        ),
        (
            "<url><loc>https://a.test/3</loc></url><url><loc>https://a.test/4",
            "truncated",
        ),
        ("<url><loc>https://a.test/3</loc></url><url", "unclosed tag"),
        ("<url><loc>https://a.test/3</loc></url>", "no closing root"),
        ("</url></urlset>", "an end tag nothing opened"),
        (
            "<url><loc a='1' a='2'>https://a.test/3</loc></url></urlset>",
            "duplicate attribute (checked only when read)",
        ),
        (
            "<url><loc>x</loc></url><!-- never closed",
            "unclosed comment",
        ),
        (
            "<url><loc>https://a.test/\u{0}</loc></url></urlset>junk<after>",
            "junk after the root",
        ),
    ];
    for (tail, why) in cases {
        let xml = format!("{head}{tail}");
        let (entries, error) = read_all(xml.as_bytes());
        let locs: Vec<&str> = entries.iter().map(|e| e.loc.as_str()).collect();
        assert!(
            locs.starts_with(&["https://a.test/1", "https://a.test/2"]),
            "{why}: {locs:?}"
        );
        match why {
            // Well-formed enough: attributes are never read, nor is what
            // follows the root's end.
            "junk after the root" | "duplicate attribute (checked only when read)" => {
                assert!(error.is_none(), "{why}: {error:?}");
                assert_eq!(locs.len(), 3, "{why}");
            }
            _ => {
                let error = error.unwrap_or_else(|| panic!("{why}: no error"));
                assert!(
                    matches!(error, SitemapError::Malformed { .. }),
                    "{why}: {error:?}"
                );
                let offset = error.offset().unwrap();
                assert!(
                    offset >= head.len() as u64 && offset <= xml.len() as u64,
                    "{why}: {error}"
                );
                assert!(
                    error.to_string().contains(&format!("at byte {offset}")),
                    "{error}"
                );
            }
        }
    }
}

#[test]
fn malformed_error_names_the_byte_offset() {
    let xml = "<urlset><url><loc>https://a.test/1</loc></url><url></lock></url></urlset>";
    let (entries, error) = read_all(xml.as_bytes());
    assert_eq!(entries.len(), 1);
    let error = error.unwrap();
    assert_eq!(
        error.offset(),
        Some(xml.find("</lock>").unwrap() as u64),
        "{error}"
    );
}

#[test]
fn invalid_utf8_text_is_malformed() {
    let mut xml =
        b"<urlset><url><loc>https://a.test/1</loc></url><url><loc>https://a.test/".to_vec();
    xml.extend_from_slice(b"\xff\xfe</loc></url></urlset>");
    let (entries, error) = read_all(&xml[..]);
    assert_eq!(entries.len(), 1);
    assert!(
        matches!(error, Some(SitemapError::Malformed { .. })),
        "{error:?}"
    );
}

#[test]
fn gzip_is_undone_whatever_the_name() {
    let gz = gzip(URLSET.as_bytes());
    let mut two_members = gzip(b"<urlset><url><loc>https://a.test/1</loc></url>");
    two_members.extend(gzip(b"<url><loc>https://a.test/2</loc></url></urlset>"));
    let cases: &[(&[u8], &[&str])] = &[
        (&gz, &["https://shop.test/a", "https://shop.test/b"]),
        (
            URLSET.as_bytes(),
            &["https://shop.test/a", "https://shop.test/b"],
        ),
        (&two_members, &["https://a.test/1", "https://a.test/2"]),
    ];
    for (body, expected) in cases {
        // One byte per fill_buf: the magic must be sniffed across reads.
        for capacity in [1, 2, 3, 8192] {
            let reader = BufReader::with_capacity(capacity, *body);
            let (entries, error) = read_all(maybe_gunzip(reader, 1 << 20));
            assert!(error.is_none(), "{error:?}");
            let locs: Vec<&str> = entries.iter().map(|e| e.loc.as_str()).collect();
            assert_eq!(locs, *expected, "capacity {capacity}");
        }
    }
}

#[test]
fn short_bodies_pass_through() {
    for body in [&b""[..], b"x", b"\x1f", b"\x1fx", b"\x8b\x1f"] {
        let mut out = Vec::new();
        maybe_gunzip(body, 10).read_to_end(&mut out).unwrap();
        assert_eq!(out, body);
    }
}

#[test]
fn gzip_limit_is_exact() {
    let text = b"<urlset><url><loc>https://a.test/1</loc></url></urlset>";
    let gz = gzip(text);
    let mut out = Vec::new();
    maybe_gunzip(&gz[..], text.len() as u64)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, text);
    let error = maybe_gunzip(&gz[..], text.len() as u64 - 1)
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("gzip body inflates to more than {} bytes", text.len() - 1)
    );
}

#[test]
fn broken_gzip_is_a_read_error() {
    let mut gz = gzip(URLSET.as_bytes());
    gz.truncate(gz.len() / 2);
    let (_, error) = read_all(maybe_gunzip(&gz[..], 1 << 20));
    assert!(
        matches!(error, Some(SitemapError::Read { .. })),
        "{error:?}"
    );
    let (_, error) = read_all(maybe_gunzip(&b"\x1f\x8bnot gzip at all"[..], 1 << 20));
    assert!(
        matches!(error, Some(SitemapError::Read { .. })),
        "{error:?}"
    );
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    // ~12 MB of entries that gzip squeezes into a few KB.
    let entry = b"<url><loc>https://a.test/</loc></url>";
    let mut xml = b"<urlset>".to_vec();
    for _ in 0..(12 << 20) / entry.len() {
        xml.extend_from_slice(entry);
    }
    xml.extend_from_slice(b"</urlset>");
    let bomb = gzip(&xml);
    assert!(
        bomb.len() * 100 < xml.len(),
        "ratio {}",
        xml.len() / bomb.len()
    );
    drop(xml);

    let limit = 1 << 20;
    let mut counting = Counting {
        inner: &bomb[..],
        count: 0,
    };
    let (entries, error) = read_all(maybe_gunzip(BufReader::new(&mut counting), limit));
    assert!(
        matches!(error, Some(SitemapError::TooLarge { limit: 1_048_576 })),
        "{error:?}"
    );
    assert_eq!(
        error.unwrap().to_string(),
        "gzip sitemap inflates to more than 1048576 bytes"
    );
    // Entries up to the limit are delivered; the rest of the bomb is never inflated.
    let per_entry = entry.len() as u64;
    assert!(
        entries.len() as u64 >= (limit - 2 * 8192) / per_entry,
        "{}",
        entries.len()
    );
    assert!(entries.len() as u64 <= limit / per_entry);
    assert!(
        counting.count < bomb.len() as u64 / 4,
        "{} of {}",
        counting.count,
        bomb.len()
    );
}

/// A sitemap of `entries` URLs, made as it is read: never held whole.
struct Generated {
    entries: usize,
    next: usize,
    pending: Vec<u8>,
    at: usize,
    state: GeneratedState,
}

enum GeneratedState {
    Header,
    Entries,
    Footer,
    Done,
}

impl Generated {
    fn new(entries: usize) -> Generated {
        Generated {
            entries,
            next: 0,
            pending: Vec::new(),
            at: 0,
            state: GeneratedState::Header,
        }
    }

    fn refill(&mut self) {
        self.pending.clear();
        self.at = 0;
        self.state = match self.state {
            GeneratedState::Header => {
                self.pending.extend_from_slice(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                      <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
                );
                GeneratedState::Entries
            }
            GeneratedState::Entries => {
                let end = (self.next + 64).min(self.entries);
                for i in self.next..end {
                    writeln!(
                        self.pending,
                        "  <url><loc>https://shop.test/product/{i}?ref=sitemap&amp;v=2</loc>\
                         <lastmod>2024-05-01</lastmod><changefreq>daily</changefreq>\
                         <priority>0.5</priority></url>"
                    )
                    .unwrap();
                }
                self.next = end;
                match end == self.entries {
                    true => GeneratedState::Footer,
                    false => GeneratedState::Entries,
                }
            }
            GeneratedState::Footer => {
                self.pending.extend_from_slice(b"</urlset>\n");
                GeneratedState::Done
            }
            GeneratedState::Done => GeneratedState::Done,
        };
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            self.refill();
        }
        let n = (self.pending.len() - self.at).min(out.len());
        out[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_20_mb_sitemap_streams_in_bounded_memory() {
    let total = 130_000;
    let mut counting = Counting {
        inner: Generated::new(total),
        count: 0,
    };
    let started = Instant::now();
    let mut sitemap = Sitemap::read(BufReader::new(&mut counting)).unwrap();
    let mut seen = 0;
    let mut largest_buffer = 0;
    while let Some(entry) = sitemap.next() {
        let entry = entry.unwrap();
        if seen == 0 || seen == total - 1 {
            assert_eq!(
                entry.loc,
                format!("https://shop.test/product/{seen}?ref=sitemap&v=2")
            );
            assert_eq!(entry.priority.as_deref(), Some("0.5"));
        }
        seen += 1;
        largest_buffer = largest_buffer.max(sitemap.buffer_capacity());
    }
    let elapsed = started.elapsed();
    drop(sitemap);
    assert_eq!(seen, total);
    assert!(counting.count > 20_000_000, "{} bytes", counting.count);
    // One event at a time: the longest here is the root tag, under 100 bytes.
    assert!(
        largest_buffer <= 256,
        "buffer grew to {largest_buffer} bytes"
    );
    eprintln!(
        "{seen} entries, {} MB in {elapsed:.2?}: {:.0} entries/s, buffer {largest_buffer} bytes",
        counting.count / 1_000_000,
        seen as f64 / elapsed.as_secs_f64()
    );
}

/// A reader that yields `prefix` and then `byte` forever: a body with no end.
struct Endless {
    prefix: &'static [u8],
    byte: u8,
}

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(out.len());
            out[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix = &self.prefix[n..];
            return Ok(n);
        }
        out.fill(self.byte);
        Ok(out.len())
    }
}

#[test]
fn endless_tokens_stop_at_the_text_limit() {
    let cases: &[(&'static [u8], u8, &str)] = &[
        (b"<urlset><url><loc>https://a.test/", b'a', "text"),
        (b"<urlset><url><loc>", b' ', "whitespace"),
        (b"<urlset><url a='", b'x', "attribute"),
        (b"<urlset><!--", b'-', "comment"),
        (b"<urlset><url><loc><![CDATA[", b'c', "cdata"),
        (b"<urlset", b' ', "root tag"),
        (b"", b'z', "text before the root"),
    ];
    for (prefix, byte, what) in cases {
        let mut sitemap = match Sitemap::read(BufReader::new(Endless {
            prefix,
            byte: *byte,
        })) {
            Err(SitemapError::TooLong { limit, offset }) => {
                assert_eq!((limit, offset), (MAX_TEXT, 0), "{what}");
                continue;
            }
            Err(e) => panic!("{what}: {e}"),
            Ok(sitemap) => sitemap,
        };
        let error = sitemap.next().unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                SitemapError::TooLong {
                    limit: MAX_TEXT,
                    ..
                }
            ),
            "{what}: {error:?}"
        );
        assert!(sitemap.next().is_none(), "{what}: fused");
        assert!(
            sitemap.buffer_capacity() <= 2 * (MAX_TEXT + 1),
            "{what}: {}",
            sitemap.buffer_capacity()
        );
    }
}

#[test]
fn long_element_text_from_many_small_pieces_stops_at_the_limit() {
    let mut xml =
        "<urlset><url><loc>https://a.test/1</loc></url><url><loc>https://a.test/".to_string();
    xml.push_str(&"a&amp;".repeat(MAX_TEXT / 2));
    xml.push_str("</loc></url></urlset>");
    let (entries, error) = read_all(xml.as_bytes());
    assert_eq!(entries.len(), 1);
    assert!(
        matches!(error, Some(SitemapError::TooLong { .. })),
        "{error:?}"
    );
}

#[test]
fn deep_nesting_stops_at_the_depth_limit() {
    let xml = format!(
        "<urlset><url><loc>https://a.test/1</loc></url>{}",
        "<x>".repeat(10_000)
    );
    let (entries, error) = read_all(xml.as_bytes());
    assert_eq!(entries.len(), 1);
    let error = error.unwrap();
    assert!(
        matches!(error, SitemapError::TooDeep { limit: 32, .. }),
        "{error:?}"
    );
    let first_too_deep = "<urlset><url><loc>https://a.test/1</loc></url>".len() + 31 * 3;
    assert_eq!(error.offset(), Some(first_too_deep as u64));
}

#[test]
fn no_input_panics() {
    let pieces: &[&[u8]] = &[
        b"<urlset>",
        b"</urlset>",
        b"<url>",
        b"</url>",
        b"<loc>",
        b"</loc>",
        b"<sitemapindex>",
        b"<sitemap>",
        b"</sitemap>",
        b"https://a.test/",
        b"&amp;",
        b"&",
        b"&#x;",
        b"&#0;",
        b";",
        b"<![CDATA[",
        b"]]>",
        b"<!--",
        b"-->",
        b"<?xml version='1.0'?>",
        b"<!DOCTYPE x [",
        b"]>",
        b"<",
        b">",
        b"/>",
        b"'",
        b"\"",
        b"=",
        b" ",
        b"\n",
        b"\xff",
        b"\x1f\x8b",
        b"\0",
        b"<ns:url>",
        b"</ns:url>",
        b"<lastmod>",
        b"</lastmod>",
        b"<priority>",
        b"x",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..3000 {
        let mut input = Vec::new();
        for _ in 0..rng.usize(0..40) {
            input.extend_from_slice(pieces[rng.usize(0..pieces.len())]);
        }
        let as_gzip = rng.bool();
        let body = if as_gzip { gzip(&input) } else { input.clone() };
        let (entries, _) = read_all(maybe_gunzip(&body[..], 1 << 16));
        assert!(entries.iter().all(|e| !e.loc.is_empty()));
    }
}

#[test]
fn robots_sitemap_lines() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        (
            "User-agent: *\nDisallow: /private\nSitemap: https://a.test/s1.xml\nsitemap:https://a.test/s2.xml.gz\n",
            &["https://a.test/s1.xml", "https://a.test/s2.xml.gz"],
        ),
        ("SITEMAP :   https://a.test/s.xml   # the main one\r\n", &["https://a.test/s.xml"]),
        ("# Sitemap: https://a.test/commented.xml\nSitemap: # nothing\nSitemap:\n", &[]),
        ("\u{feff}Sitemap: https://a.test/bom.xml", &["https://a.test/bom.xml"]),
        ("Sitemap: /relative.xml\rSitemap: https://a.test/cr.xml", &["/relative.xml", "https://a.test/cr.xml"]),
        ("Sitemaps: https://a.test/no.xml\nXSitemap: https://a.test/no.xml\n", &[]),
        (
            "user-agent: bot\n  Sitemap: https://a.test/indented.xml\nsitemap: https://a.test/indented.xml",
            &["https://a.test/indented.xml", "https://a.test/indented.xml"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(robots_sitemaps(text), *expected, "{text:?}");
    }
}
