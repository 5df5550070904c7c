//! The allow and disallow rules of a robots.txt, stored as canonical
//! patterns, and the RFC 9309 §2.2.2 match: the longest matching pattern
//! wins, `allow` on a tie.
//!
//! Patterns are plain text in one buffer (never a compiled regex per rule),
//! so a hostile 500 KiB file costs about 500 KiB; `*` and a final `$` are
//! matched without backtracking, each `*` segment at its leftmost place, so
//! a check costs at most one scan of the path per rule.

/// The rules that apply to us, most specific first.
#[derive(Debug, Default, Clone)]
pub(super) struct RuleSet {
    /// Every canonical pattern, end to end; a `*` in it is the wildcard.
    /// Canonical text is ASCII, so it is searched with `str::find`
    /// (Two-Way: linear in the path, whatever the pattern).
    bytes: String,
    rules: Vec<Rule>,
}

/// One `allow` or `disallow` line: `bytes[start..start + len]`.
#[derive(Debug, Clone, Copy)]
struct Rule {
    start: u32,
    len: u32,
    allow: bool,
    /// The pattern ended in `$`: the path must end where it does.
    anchored: bool,
}

impl RuleSet {
    /// Adds the pattern of an `allow` (or `disallow`) line, as written. An
    /// empty pattern matches nothing (RFC 9309: an empty `disallow` allows
    /// everything), and neither does one that would overflow the offsets.
    pub(super) fn push(&mut self, allow: bool, pattern: &[u8]) {
        if pattern.is_empty() {
            return;
        }
        let (pattern, anchored) = match pattern.strip_suffix(b"$") {
            Some(head) => (head, true),
            None => (pattern, false),
        };
        let start = self.bytes.len();
        for (i, piece) in pattern.split(|&b| b == b'*').enumerate() {
            if i > 0 {
                self.bytes.push('*');
            }
            canonical(piece, &mut self.bytes);
        }
        let (Ok(offset), Ok(len)) = (
            u32::try_from(start),
            u32::try_from(self.bytes.len() - start),
        ) else {
            self.bytes.truncate(start);
            return;
        };
        self.rules.push(Rule {
            start: offset,
            len,
            allow,
            anchored,
        });
    }

    /// Orders the rules most specific first (allow before disallow on a
    /// tie), so the first match decides, and gives back spare capacity.
    pub(super) fn finish(mut self) -> RuleSet {
        self.rules
            .sort_unstable_by_key(|r| (std::cmp::Reverse(r.specificity()), !r.allow));
        self.rules.shrink_to_fit();
        self.bytes.shrink_to_fit();
        self
    }

    /// Whether `path` (a URL's path and query, as sent) is allowed: by the
    /// most specific matching rule, or by default when none matches.
    pub(super) fn allows(&self, path: &[u8]) -> bool {
        let mut text = String::with_capacity(path.len());
        canonical(path, &mut text);
        self.rules
            .iter()
            .find(|rule| rule.matches(self.pattern(rule), &text))
            .is_none_or(|rule| rule.allow)
    }

    fn pattern(&self, rule: &Rule) -> &str {
        let start = rule.start as usize;
        &self.bytes[start..start + rule.len as usize]
    }

    /// Heap bytes held, for the memory bound's test.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.rules.capacity() * std::mem::size_of::<Rule>()
    }
}

impl Rule {
    /// RFC 9309: the match with the most octets is the most specific; the
    /// `*` and `$` count, as Google's reference parser counts them.
    fn specificity(&self) -> u32 {
        self.len.saturating_add(u32::from(self.anchored))
    }

    /// Whether the canonical `text` matches `pattern` from its start.
    ///
    /// `head*mid1*…*midN*last`: `head` is a prefix, each `mid` is taken at
    /// its leftmost place after the previous one (leaving the most room for
    /// what follows, so no other placement can succeed where this fails),
    /// and `last` is found after them, or is a suffix when anchored.
    fn matches(&self, pattern: &str, text: &str) -> bool {
        let Some((head, tail)) = pattern.split_once('*') else {
            return match self.anchored {
                true => text == pattern,
                false => text.starts_with(pattern),
            };
        };
        let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
        let Some(mut rest) = text.strip_prefix(head) else {
            return false;
        };
        if self.anchored && !rest.ends_with(last) {
            return false;
        }
        for segment in middle.split('*') {
            match rest.find(segment) {
                Some(at) => rest = &rest[at + segment.len()..],
                None => return false,
            }
        }
        match self.anchored {
            true => rest.ends_with(last),
            false => rest.contains(last),
        }
    }
}

/// Appends `raw` in the one spelling both sides are compared in (RFC 9309
/// §2.2.2): `%XX` of an unreserved character is that character, other
/// escapes keep their octet with uppercase hex, reserved characters stay as
/// written (`%2F` is not `/`), and every other octet (non-ASCII, controls,
/// space, a `%` that starts no escape…) is escaped.
fn canonical(raw: &[u8], out: &mut String) {
    let mut i = 0;
    while i < raw.len() {
        let escaped = match raw[i] {
            b'%' => raw.get(i + 1..i + 3).and_then(hex_octet),
            _ => None,
        };
        match escaped {
            Some(octet) if is_unreserved(octet) => out.push(char::from(octet)),
            Some(octet) => push_escape(octet, out),
            None if is_unreserved(raw[i]) || is_reserved(raw[i]) => out.push(char::from(raw[i])),
            None => push_escape(raw[i], out),
        }
        i += if escaped.is_some() { 3 } else { 1 };
    }
}

/// `[b'7', b'e']` → `0x7E`.
fn hex_octet(pair: &[u8]) -> Option<u8> {
    let digit = |b: &u8| char::from(*b).to_digit(16);
    let (high, low) = (digit(pair.first()?)?, digit(pair.get(1)?)?);
    u8::try_from(high * 16 + low).ok()
}

fn push_escape(octet: u8, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(octet >> 4)]));
    out.push(char::from(HEX[usize::from(octet & 15)]));
}

/// RFC 3986 §2.3.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2: gen-delims and sub-delims.
fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' // gen-delims
            | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_are_compared_in_one_spelling() {
        let cases: &[(&[u8], &str)] = &[
            (b"/a/b?c=d&e", "/a/b?c=d&e"),
            (b"/%7euser/%7E", "/~user/~"),
            (b"/%62%61%7A", "/baz"),
            (b"/%2f%2F/", "/%2F%2F/"),
            (b"/%e3%83%84", "/%E3%83%84"),
            ("/ツ".as_bytes(), "/%E3%83%84"),
            (b"/\xFF", "/%FF"),
            (b"/a b\"<>{}|\\^`", "/a%20b%22%3C%3E%7B%7D%7C%5C%5E%60"),
            (b"/100%", "/100%25"),
            (b"/%zz%4", "/%25zz%254"),
            (b"/%+1", "/%25+1"),
            (b"/!$&'()*+,;=:@[]", "/!$&'()*+,;=:@[]"),
        ];
        for &(raw, want) in cases {
            let mut out = String::new();
            canonical(raw, &mut out);
            assert_eq!(out, want, "{raw:?}");
        }
    }

    #[test]
    fn wildcards_match_without_backtracking() {
        // (pattern as written, path, matches)
        let cases: &[(&str, &str, bool)] = &[
            ("/", "/", true),
            ("/a", "/abc", true),
            ("/abc", "/a", false),
            ("/a$", "/a", true),
            ("/a$", "/a/", false),
            ("*", "/", true),
            ("*$", "/", true),
            ("/*", "/", true),
            ("/*/", "/", false),
            ("/*a", "/bab", true),
            ("/*a$", "/bab", false),
            ("/*a$", "/baba", true),
            ("/*ab*ab$", "/abab", true),
            ("/*ab*ab$", "/aab", false),
            ("/*aa*a$", "/aaa", true),
            ("/*aa*a$", "/aa", false),
            ("/*a*a*a", "/aa", false),
            ("/*a*a*a", "/aaa", true),
            ("/x*y*z", "/xzy", false),
            ("/x*y*z", "/x-y-z-", true),
            ("/fish*.php", "/fishheads/catfish.php?parameters", true),
            ("/fish*.php", "/Fish.PHP", false),
            ("/*.php$", "/filename.php/", false),
            ("private", "/private", false),
        ];
        for &(pattern, path, want) in cases {
            let mut set = RuleSet::default();
            set.push(false, pattern.as_bytes());
            assert_eq!(
                !set.finish().allows(path.as_bytes()),
                want,
                "{pattern} on {path}"
            );
        }
    }

    #[test]
    fn rules_go_most_specific_first() {
        let mut set = RuleSet::default();
        for (allow, pattern) in [
            (false, "/a"),
            (true, "/a*$"),
            (false, "/a*$"),
            (false, "/abc"),
        ] {
            set.push(allow, pattern.as_bytes());
        }
        let order: Vec<_> = set
            .finish()
            .rules
            .iter()
            .map(|r| (r.specificity(), r.allow))
            .collect();
        assert_eq!(order, [(4, true), (4, false), (4, false), (2, false)]);
    }
}
