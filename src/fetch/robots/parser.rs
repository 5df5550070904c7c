//! Reads a robots.txt into the group that applies to one product token
//! (RFC 9309 §2.1–2.2), in one pass, keeping nothing of the other groups.
//!
//! Lines are `key: value` (or `key value`, as Google reads them), `#`
//! starts a comment, keys are case-insensitive with the common typos
//! accepted; a BOM, CR, CRLF and invalid UTF-8 are tolerated. Unknown keys
//! and `sitemap:` lines are not group members: they neither start nor end
//! a group. Rules before the first `user-agent` line belong to no group.

use super::rules::RuleSet;

/// The merged groups that name our product token, else the merged `*`
/// groups, else nothing (everything allowed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Group {
    /// Their `allow` and `disallow` rules.
    pub(super) rules: RuleSet,
    /// Their first well-formed, non-negative `crawl-delay`, in seconds.
    pub(super) delay: Option<f32>,
}

/// Parses `body` for the crawler whose product token is `token`.
pub(super) fn parse(token: &str, body: &[u8]) -> Group {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut groups = Groups::new(token.as_bytes());
    for raw in body.split(|&b| b == b'\n' || b == b'\r') {
        groups.read(line(raw));
    }
    groups.finish()
}

/// One line of a robots.txt, as far as we care.
enum Line<'a> {
    Agent(&'a [u8]),
    Rule { allow: bool, pattern: &'a [u8] },
    Delay(&'a [u8]),
    Other,
}

/// The keys, with the spellings Google's reference parser also accepts.
const AGENT: &[&str] = &["user-agent", "useragent", "user agent"];
const ALLOW: &[&str] = &["allow"];
const DISALLOW: &[&str] = &[
    "disallow",
    "dissallow",
    "dissalow",
    "disalow",
    "diasllow",
    "disallaw",
];
const DELAY: &[&str] = &["crawl-delay", "crawldelay", "crawl delay"];

fn line(raw: &[u8]) -> Line<'_> {
    let raw = raw.split(|&b| b == b'#').next().unwrap_or_default();
    let Some((key, value)) = key_value(raw.trim_ascii()) else {
        return Line::Other;
    };
    let is = |names: &[&str]| names.iter().any(|n| key.eq_ignore_ascii_case(n.as_bytes()));
    let rule = |allow| Line::Rule {
        allow,
        pattern: value,
    };
    match () {
        _ if is(AGENT) => Line::Agent(value),
        _ if is(ALLOW) => rule(true),
        _ if is(DISALLOW) => rule(false),
        _ if is(DELAY) => Line::Delay(value),
        _ => Line::Other,
    }
}

/// `key: value`, or `key value` when the line is exactly two words.
fn key_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if let Some(colon) = line.iter().position(|&b| b == b':') {
        return Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()));
    }
    let space = line.iter().position(u8::is_ascii_whitespace)?;
    let value = line[space..].trim_ascii();
    match value.iter().any(u8::is_ascii_whitespace) {
        true => None,
        false => Some((&line[..space], value)),
    }
}

/// The state of the one pass: which groups the current one feeds.
struct Groups<'a> {
    token: &'a [u8],
    ours: Option<Group>,
    star: Option<Group>,
    /// The current group names our token / `*`.
    feeds_ours: bool,
    feeds_star: bool,
    /// The last group line was a `user-agent`: another one joins its group.
    in_agents: bool,
}

impl<'a> Groups<'a> {
    fn new(token: &'a [u8]) -> Self {
        Groups {
            token,
            ours: None,
            star: None,
            feeds_ours: false,
            feeds_star: false,
            in_agents: false,
        }
    }

    fn read(&mut self, line: Line<'_>) {
        match line {
            Line::Agent(value) => self.agent(product_token(value)),
            Line::Rule { allow, pattern } => {
                self.in_agents = false;
                self.each_fed(|group| group.rules.push(allow, pattern));
            }
            Line::Delay(value) => {
                self.in_agents = false;
                let delay = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<f32>().ok())
                    .filter(|d| *d >= 0.0);
                self.each_fed(|group| group.delay = group.delay.or(delay));
            }
            Line::Other => {}
        }
    }

    fn agent(&mut self, token: &[u8]) {
        if !self.in_agents {
            (self.feeds_ours, self.feeds_star, self.in_agents) = (false, false, true);
        }
        if !token.is_empty() && token.eq_ignore_ascii_case(self.token) {
            self.feeds_ours = true;
            self.ours.get_or_insert_with(Group::default);
        }
        if token == b"*" {
            self.feeds_star = true;
            self.star.get_or_insert_with(Group::default);
        }
    }

    fn each_fed(&mut self, mut apply: impl FnMut(&mut Group)) {
        if let Some(group) = self.ours.as_mut().filter(|_| self.feeds_ours) {
            apply(group);
        }
        if let Some(group) = self.star.as_mut().filter(|_| self.feeds_star) {
            apply(group);
        }
    }

    fn finish(self) -> Group {
        let group = self.ours.or(self.star).unwrap_or_default();
        Group {
            rules: group.rules.finish(),
            delay: group.delay,
        }
    }
}

/// `trawl/0.1 (+https://…)` → `trawl`: the part of a user agent that robots
/// groups name.
pub(super) fn product_token(user_agent: &[u8]) -> &[u8] {
    user_agent
        .split(|&b| b == b'/' || b.is_ascii_whitespace())
        .next()
        .unwrap_or(user_agent)
}
