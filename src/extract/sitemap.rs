//! Sitemaps (SPEC §8 "Sitemaps", §11): a sitemap's entries read as a stream,
//! the gzip around it, and the `Sitemap:` lines of a robots.txt.
//!
//! A sitemap may be 50 MB, so it is never held whole: [`Sitemap`] pulls XML
//! events from any [`BufRead`] through one reused buffer and hands out each
//! entry as soon as its closing tag is read. Whatever the input, memory stays
//! bounded: no single token (a run of text, a tag, a comment) and no kept
//! element's text may exceed 64 KiB, elements nest at most 32 deep, and
//! [`maybe_gunzip`] bounds what gzip may inflate to.
//! Entities declared in a DTD are never expanded, so entity bombs cannot grow.
//!
//! Pure: no network, no clock. `loc` is handed out as written; the engine
//! resolves it, filters it ([`UrlFilter`](super::UrlFilter)) and follows it.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};
use std::mem;
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;

/// The longest token (text run, tag, comment) or kept element text a sitemap
/// may hold, in bytes: 64 KiB. The protocol caps `loc` at 2,048 characters,
/// so anything longer is not a sitemap worth reading; the read ends with
/// [`SitemapError::TooLong`] (entries before it have been delivered).
const MAX_TEXT: usize = 64 * 1024;

/// How deep elements may nest: 32. A sitemap needs 4 (`urlset`, `url`,
/// `image:image`, `image:loc`); deeper nesting ends the read with
/// [`SitemapError::TooDeep`].
const MAX_DEPTH: usize = 32;

/// What a sitemap lists, from its root element (prefix and namespace ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SitemapKind {
    /// `<urlset>`: pages, one `<url>` each.
    Urlset,
    /// `<sitemapindex>`: more sitemaps, one `<sitemap>` each.
    Index,
}

impl SitemapKind {
    fn of_root(local_name: &[u8]) -> Option<SitemapKind> {
        match local_name {
            b"urlset" => Some(SitemapKind::Urlset),
            b"sitemapindex" => Some(SitemapKind::Index),
            _ => None,
        }
    }

    /// The element name of one entry: `url` or `sitemap`.
    pub(crate) fn entry_name(self) -> &'static str {
        match self {
            SitemapKind::Urlset => "url",
            SitemapKind::Index => "sitemap",
        }
    }
}

/// One `<url>` of a urlset or `<sitemap>` of an index, with its child
/// elements' texts: trimmed, entities decoded, CDATA taken as written. A child
/// that is absent or empty is `None`; when a child appears twice the first
/// counts. An index's entries have no `changefreq` or `priority`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SitemapEntry {
    /// `<loc>`: the page's (or sitemap's) URL as written, never empty.
    /// Entries without one are skipped, as Scrapy's sitemap reader does.
    pub loc: String,
    /// `<lastmod>`, as written (W3C datetime, not checked).
    pub lastmod: Option<String>,
    /// `<changefreq>`, as written (`daily`, `weekly` …).
    pub changefreq: Option<String>,
    /// `<priority>`, as written (`0.0` … `1.0`).
    pub priority: Option<String>,
}

/// Why a sitemap could not be read (further). Entries read before it have
/// been delivered. Offsets count bytes of the XML, after gzip is undone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SitemapError {
    /// The root element is neither `<urlset>` nor `<sitemapindex>`.
    #[error("not a sitemap: {}", describe_root(.root))]
    NotASitemap {
        /// The root element's name as written; `None` when there is none.
        root: Option<String>,
    },
    /// The XML is not well-formed (or not UTF-8).
    #[error("malformed sitemap XML at byte {offset}: {reason}")]
    Malformed {
        /// Where the fault starts.
        offset: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// A token (text run, tag, comment) or a kept element's text is longer
    /// than 64 KiB: nothing in a sitemap is, so this is not one.
    #[error("sitemap text or markup longer than {limit} bytes at byte {offset}")]
    TooLong {
        /// Where the over-long token or element text starts.
        offset: u64,
        /// The limit: 64 KiB.
        limit: usize,
    },
    /// Elements nest deeper than 32 (a sitemap needs 4).
    #[error("sitemap elements nested deeper than {limit} at byte {offset}")]
    TooDeep {
        /// Where the element one too deep starts.
        offset: u64,
        /// The limit: 32.
        limit: usize,
    },
    /// A gzip body inflates past the limit given to [`maybe_gunzip`].
    #[error("gzip sitemap inflates to more than {limit} bytes")]
    TooLarge {
        /// The limit given to [`maybe_gunzip`].
        limit: u64,
    },
    /// Reading the body failed (a broken gzip stream, a dropped connection).
    #[error("reading the sitemap failed at byte {offset}")]
    Read {
        /// How far the XML had been read.
        offset: u64,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
}

impl SitemapError {
    /// The byte offset in the XML where reading stopped, when there is one
    /// (the message says it; the tests read it).
    #[cfg(test)]
    pub(crate) fn offset(&self) -> Option<u64> {
        match self {
            SitemapError::Malformed { offset, .. }
            | SitemapError::TooLong { offset, .. }
            | SitemapError::TooDeep { offset, .. }
            | SitemapError::Read { offset, .. } => Some(*offset),
            SitemapError::NotASitemap { .. } | SitemapError::TooLarge { .. } => None,
        }
    }
}

fn describe_root(root: &Option<String>) -> String {
    match root {
        Some(name) => format!("the root element is <{name}>, not <urlset> or <sitemapindex>"),
        None => "the document has no root element".to_string(),
    }
}

/// A sitemap being read: its [`kind`](Sitemap::kind), then its entries in
/// document order as an iterator.
///
/// An iterator rather than a callback, so the caller sets the pace: the
/// engine can pull a few entries, queue them, and come back for more when
/// its frontier has room, without a thread or a channel in between; stopping
/// early is dropping it. After an error the iterator yields that error once,
/// then `None`.
pub(crate) struct Sitemap<R> {
    reader: Reader<TokenLimit<R>>,
    /// Holds one event at a time; [`TokenLimit`] keeps it under [`MAX_TEXT`].
    buf: Vec<u8>,
    kind: SitemapKind,
    /// Elements open, the root being 1: entries sit at 2, their fields at 3.
    depth: usize,
    at: At,
    /// The entry being read, while `at` is `Entry` or `Field`.
    draft: Draft,
    /// The kept child's text so far, while `at` is `Field`; reused.
    text: String,
}

/// Where the reader stands in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Inside the root, outside any entry.
    Between,
    /// Inside an entry, outside its kept children.
    Entry,
    /// Inside a kept child of an entry, collecting its text.
    Field(Child),
    /// The root has closed, or an error was handed out.
    Done,
}

/// The kept children of an entry, as indexes into a [`Draft`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    Loc = 0,
    Lastmod = 1,
    Changefreq = 2,
    Priority = 3,
}

impl Child {
    fn of(kind: SitemapKind, local_name: &[u8]) -> Option<Child> {
        match (local_name, kind) {
            (b"loc", _) => Some(Child::Loc),
            (b"lastmod", _) => Some(Child::Lastmod),
            (b"changefreq", SitemapKind::Urlset) => Some(Child::Changefreq),
            (b"priority", SitemapKind::Urlset) => Some(Child::Priority),
            _ => None,
        }
    }
}

/// An entry whose closing tag has not been read yet.
#[derive(Default)]
struct Draft([Option<String>; 4]);

impl Draft {
    /// Keeps the first non-empty text of each child.
    fn set(&mut self, child: Child, text: &str) {
        let text = text.trim_matches(is_xml_space);
        let slot = &mut self.0[child as usize];
        if slot.is_none() && !text.is_empty() {
            *slot = Some(text.to_string());
        }
    }

    fn finish(self) -> Option<SitemapEntry> {
        let [loc, lastmod, changefreq, priority] = self.0;
        Some(SitemapEntry {
            loc: loc?,
            lastmod,
            changefreq,
            priority,
        })
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl<R: BufRead> Sitemap<R> {
    /// Reads up to the root element, which gives the [`kind`](Sitemap::kind);
    /// the entries are read as the iterator is pulled. Any XML prolog
    /// (declaration, comments, doctype) is skipped; text must be UTF-8.
    pub(crate) fn read(reader: R) -> Result<Sitemap<R>, SitemapError> {
        let mut reader = Reader::from_reader(TokenLimit::new(reader));
        // `?a=1&b=2` unescaped is the commonest sitemap mistake: keep the `&`.
        reader.config_mut().allow_dangling_amp = true;
        let mut buf = Vec::new();
        let (kind, empty) = read_root(&mut reader, &mut buf)?;
        Ok(Sitemap {
            reader,
            buf,
            kind,
            depth: usize::from(!empty),
            at: if empty { At::Done } else { At::Between },
            draft: Draft::default(),
            text: String::new(),
        })
    }

    /// Whether the entries are pages (`<urlset>`) or sitemaps (`<sitemapindex>`).
    pub(crate) fn kind(&self) -> SitemapKind {
        self.kind
    }

    /// Reads one event; an entry when it was an entry's closing tag.
    fn step(&mut self) -> Result<Option<SitemapEntry>, SitemapError> {
        let mut buf = mem::take(&mut self.buf);
        buf.clear();
        let result = self.read_event(&mut buf);
        self.buf = buf;
        result
    }

    fn read_event(&mut self, buf: &mut Vec<u8>) -> Result<Option<SitemapEntry>, SitemapError> {
        self.reader.get_mut().mark();
        let event = self
            .reader
            .read_event_into(buf)
            .map_err(|e| xml_error(&self.reader, e))?;
        match event {
            Event::Start(tag) => self.open(tag.local_name().as_ref()).map(|()| None),
            Event::Empty(tag) => {
                self.open(tag.local_name().as_ref())?;
                Ok(self.close())
            }
            Event::End(_) => Ok(self.close()),
            Event::Text(text) => self.push_text(|| text.xml10_content()),
            Event::CData(text) => self.push_text(|| text.xml10_content()),
            Event::GeneralRef(reference) => self.push_reference(&reference),
            Event::Eof => Err(self.malformed(format!(
                "the document ends with {} element(s) still open",
                self.depth
            ))),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => Ok(None),
        }
    }

    /// An element opens: an entry at depth 2, a kept child of one at depth 3.
    fn open(&mut self, local_name: &[u8]) -> Result<(), SitemapError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SitemapError::TooDeep {
                offset: self.reader.get_ref().start,
                limit: MAX_DEPTH,
            });
        }
        match (self.at, self.depth) {
            (At::Between, 2) if local_name == self.kind.entry_name().as_bytes() => {
                self.draft = Draft::default();
                self.at = At::Entry;
            }
            (At::Entry, 3) => {
                if let Some(child) = Child::of(self.kind, local_name) {
                    self.text.clear();
                    self.at = At::Field(child);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An element closes: a kept child's text is stored, an entry is done.
    fn close(&mut self) -> Option<SitemapEntry> {
        self.depth = self.depth.saturating_sub(1);
        match (self.at, self.depth) {
            (At::Field(child), 2) => {
                self.draft.set(child, &self.text);
                self.at = At::Entry;
            }
            (At::Entry, 1) => {
                self.at = At::Between;
                return mem::take(&mut self.draft).finish();
            }
            (_, 0) => self.at = At::Done,
            _ => {}
        }
        None
    }

    /// Text counts only inside a kept child, so only there is it decoded.
    fn push_text<'a, E: fmt::Display>(
        &mut self,
        decode: impl FnOnce() -> Result<Cow<'a, str>, E>,
    ) -> Result<Option<SitemapEntry>, SitemapError> {
        if !matches!(self.at, At::Field(..)) {
            return Ok(None);
        }
        let text = decode().map_err(|e| self.malformed(format!("text that is not UTF-8 ({e})")))?;
        self.append(&text).map(|()| None)
    }

    /// `&amp;` and the other four XML entities and `&#…;` are decoded; any
    /// other reference is kept as written (DTD entities are never expanded).
    fn push_reference(
        &mut self,
        reference: &BytesRef<'_>,
    ) -> Result<Option<SitemapEntry>, SitemapError> {
        if !matches!(self.at, At::Field(..)) {
            return Ok(None);
        }
        let raw = String::from_utf8_lossy(reference);
        let decoded = match reference.resolve_char_ref() {
            Ok(Some(c)) => c.to_string(),
            _ => match resolve_predefined_entity(&raw) {
                Some(text) => text.to_string(),
                None => format!("&{raw};"),
            },
        };
        self.append(&decoded).map(|()| None)
    }

    fn append(&mut self, piece: &str) -> Result<(), SitemapError> {
        if self.text.len() + piece.len() > MAX_TEXT {
            return Err(SitemapError::TooLong {
                offset: self.reader.get_ref().start,
                limit: MAX_TEXT,
            });
        }
        self.text.push_str(piece);
        Ok(())
    }

    fn malformed(&self, reason: String) -> SitemapError {
        SitemapError::Malformed {
            offset: self.reader.buffer_position(),
            reason,
        }
    }

    /// The capacity of the event buffer, to prove it stays small.
    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

impl<R: BufRead> Iterator for Sitemap<R> {
    type Item = Result<SitemapEntry, SitemapError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !matches!(self.at, At::Done) {
            match self.step() {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => {}
                Err(e) => {
                    self.at = At::Done;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl<R: BufRead> std::iter::FusedIterator for Sitemap<R> {}

impl<R> fmt::Debug for Sitemap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sitemap")
            .field("kind", &self.kind)
            .field("position", &self.reader.buffer_position())
            .field("done", &matches!(self.at, At::Done))
            .finish_non_exhaustive()
    }
}

/// Skips the prolog up to the root element: the sitemap's kind, and whether
/// the root is empty (`<urlset/>`).
fn read_root<R: BufRead>(
    reader: &mut Reader<TokenLimit<R>>,
    buf: &mut Vec<u8>,
) -> Result<(SitemapKind, bool), SitemapError> {
    loop {
        buf.clear();
        reader.get_mut().mark();
        let event = reader
            .read_event_into(buf)
            .map_err(|e| xml_error(reader, e))?;
        let (name, empty) = match &event {
            Event::Start(tag) => (tag.name(), false),
            Event::Empty(tag) => (tag.name(), true),
            Event::Eof => return Err(SitemapError::NotASitemap { root: None }),
            _ => continue,
        };
        return match SitemapKind::of_root(name.local_name().as_ref()) {
            Some(kind) => Ok((kind, empty)),
            None => Err(SitemapError::NotASitemap {
                root: Some(
                    String::from_utf8_lossy(name.as_ref())
                        .chars()
                        .take(80)
                        .collect(),
                ),
            }),
        };
    }
}

/// Turns the XML reader's error into ours, with the offset that fits it.
fn xml_error<R>(reader: &Reader<TokenLimit<R>>, error: quick_xml::Error) -> SitemapError {
    let quick_xml::Error::Io(io_error) = error else {
        return SitemapError::Malformed {
            offset: reader.error_position(),
            reason: error.to_string(),
        };
    };
    let marker = io_error.get_ref();
    if marker.is_some_and(|e| e.is::<TokenTooLong>()) {
        return SitemapError::TooLong {
            offset: reader.get_ref().start,
            limit: MAX_TEXT,
        };
    }
    if let Some(InflateLimit { limit }) = marker.and_then(|e| e.downcast_ref()) {
        return SitemapError::TooLarge { limit: *limit };
    }
    let source = Arc::try_unwrap(io_error)
        .unwrap_or_else(|shared| io::Error::new(shared.kind(), shared.to_string()));
    SitemapError::Read {
        offset: reader.buffer_position(),
        source,
    }
}

/// Lets the XML reader take at most [`MAX_TEXT`] + 1 bytes per event: its
/// buffer holds one whole event, so this is what keeps it small whatever the
/// input (a 50 MB run of text without a `<` included).
struct TokenLimit<R> {
    inner: R,
    /// Bytes handed out since the last [`mark`](TokenLimit::mark).
    taken: usize,
    /// Bytes handed out before the last mark: where the current token starts.
    start: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("an XML token longer than {MAX_TEXT} bytes")]
struct TokenTooLong;

impl<R> TokenLimit<R> {
    fn new(inner: R) -> TokenLimit<R> {
        TokenLimit {
            inner,
            taken: 0,
            start: 0,
        }
    }

    /// Called before each event: the next token starts here.
    fn mark(&mut self) {
        self.start += self.taken as u64;
        self.taken = 0;
    }
}

impl<R: BufRead> BufRead for TokenLimit<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let room = (MAX_TEXT + 1).saturating_sub(self.taken);
        if room == 0 {
            return Err(io::Error::other(TokenTooLong));
        }
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(room)])
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.taken += amount;
    }
}

impl<R: BufRead> Read for TokenLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The two bytes every gzip stream starts with (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A body read as it is, or gunzipped when it starts with the gzip magic
/// bytes — whatever its name or Content-Type said (SPEC §11). Undoing gzip
/// yields at most `limit` bytes: one more is a read error, which
/// [`Sitemap`] reports as [`SitemapError::TooLarge`]. A plain body passes
/// through unbounded (its size is the fetch layer's `max_body`).
///
/// Lazy: nothing is read until the first read, so errors come out of the
/// reads, where [`Sitemap`] reports them with an offset. Concatenated gzip
/// members are read one after the other, as `gunzip` does.
pub(crate) fn maybe_gunzip<R: BufRead>(reader: R, limit: u64) -> Gunzip<R> {
    Gunzip {
        state: Sniff::Unread {
            reader,
            head: Vec::with_capacity(GZIP_MAGIC.len()),
        },
        limit,
    }
}

/// A body with its gzip (if any) undone; see [`maybe_gunzip`].
pub(crate) struct Gunzip<R> {
    state: Sniff<R>,
    limit: u64,
}

impl<R> fmt::Debug for Gunzip<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            Sniff::Unread { .. } | Sniff::Switching => "unread",
            Sniff::Plain(_) => "plain",
            Sniff::Gzip(_) => "gzip",
        };
        f.debug_struct("Gunzip")
            .field("state", &state)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// The bytes read to sniff the magic go back in front of the body.
type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

enum Sniff<R> {
    /// Nothing handed out yet; `head` holds the first bytes read so far.
    Unread {
        reader: R,
        head: Vec<u8>,
    },
    Plain(Sniffed<R>),
    /// Boxed: the decoder is large, and allocates its window anyway.
    Gzip(Box<BufReader<Inflate<MultiGzDecoder<Sniffed<R>>>>>),
    /// Only while switching from `Unread`.
    Switching,
}

impl<R: BufRead> Gunzip<R> {
    /// On the first read, looks at the first two bytes and picks the way to read.
    fn sniffed(&mut self) -> io::Result<&mut dyn BufRead> {
        if let Sniff::Unread { reader, head } = &mut self.state {
            while head.len() < GZIP_MAGIC.len() {
                let mut byte = [0u8];
                match reader.read(&mut byte) {
                    Ok(0) => break,
                    Ok(_) => head.push(byte[0]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if let Sniff::Unread { reader, head } = mem::replace(&mut self.state, Sniff::Switching)
            {
                let gzip = head == GZIP_MAGIC;
                let body = Cursor::new(head).chain(reader);
                self.state = match gzip {
                    true => {
                        let inflate = Inflate::new(MultiGzDecoder::new(body), self.limit);
                        Sniff::Gzip(Box::new(BufReader::new(inflate)))
                    }
                    false => Sniff::Plain(body),
                };
            }
        }
        match &mut self.state {
            Sniff::Plain(body) => Ok(body),
            Sniff::Gzip(body) => Ok(body),
            Sniff::Unread { .. } | Sniff::Switching => {
                Err(io::Error::other("gzip sniffing failed"))
            }
        }
    }
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.sniffed()?.read(out)
    }
}

impl<R: BufRead> BufRead for Gunzip<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.sniffed()?.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        match &mut self.state {
            Sniff::Plain(body) => body.consume(amount),
            Sniff::Gzip(body) => body.consume(amount),
            Sniff::Unread { .. } | Sniff::Switching => {}
        }
    }
}

/// Counts what gzip yields and fails once it passes the limit, so a few KB
/// that inflate to gigabytes cost one buffer, not the memory.
struct Inflate<R> {
    inner: R,
    produced: u64,
    limit: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("gzip body inflates to more than {limit} bytes")]
struct InflateLimit {
    limit: u64,
}

impl<R> Inflate<R> {
    fn new(inner: R, limit: u64) -> Inflate<R> {
        Inflate {
            inner,
            produced: 0,
            limit,
        }
    }
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let over = || io::Error::other(InflateLimit { limit: self.limit });
        if self.produced > self.limit {
            return Err(over());
        }
        let n = self.inner.read(out)?;
        self.produced += n as u64;
        match self.produced > self.limit {
            true => Err(over()),
            false => Ok(n),
        }
    }
}

/// The `Sitemap:` lines of a robots.txt, in order: the field name in any
/// case, the value trimmed, `#` comments stripped (RFC 9309 §2.2). Values are
/// as written; the caller resolves them against the robots.txt URL.
pub(crate) fn robots_sitemaps(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split(['\n', '\r']).filter_map(sitemap_line).collect()
}

fn sitemap_line(line: &str) -> Option<String> {
    let line = line.split('#').next().unwrap_or_default();
    let (field, value) = line.split_once(':')?;
    let value = value.trim();
    let is_sitemap = field.trim().eq_ignore_ascii_case("sitemap") && !value.is_empty();
    is_sitemap.then(|| value.to_string())
}

#[cfg(test)]
mod tests;
