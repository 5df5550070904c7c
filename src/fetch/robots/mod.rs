//! robots.txt rules for one host (RFC 9309): `parser.rs` picks the group
//! for our product token, `rules.rs` stores its patterns as plain text and
//! matches a URL against them.
//!
//! No compiled regex per rule: what a parsed robots.txt holds is about the
//! size of the file (at most [`MAX_ROBOTS_BYTES`]), and a check is a scan
//! of the patterns without backtracking (SPEC §10 "Bounds").

mod parser;
mod rules;

use std::time::Duration;

use url::{Position, Url};

use parser::Group;

/// How much of a robots.txt is read and parsed: RFC 9309 §2.5 lets a
/// crawler ignore what follows the first 500 KiB, and a server cannot make
/// trawl buffer more.
pub const MAX_ROBOTS_BYTES: u64 = 500 * 1024;

/// What robots.txt lets this crawl do on one host.
#[derive(Debug)]
pub(crate) enum Robots {
    /// No robots.txt to obey (a 4xx answer, or none at the end of its
    /// redirects).
    AllowAll,
    /// The robots.txt could not be had (5xx, network): the host is off limits.
    DisallowAll(String),
    /// The rules of the group for our user agent.
    Rules(Group),
}

impl Robots {
    /// Parses a fetched robots.txt for `user_agent`'s product token. Only
    /// the lines within the first [`MAX_ROBOTS_BYTES`] count.
    pub(crate) fn parse(user_agent: &str, body: &[u8]) -> Robots {
        Robots::Rules(parser::parse(product_token(user_agent), within_cap(body)))
    }

    /// Whether `url` may be fetched; the error says why not.
    pub(crate) fn check(&self, url: &str) -> Result<(), String> {
        match self {
            Robots::AllowAll => Ok(()),
            Robots::DisallowAll(why) => {
                Err(format!("robots.txt unavailable ({why}); host skipped"))
            }
            Robots::Rules(group) if allowed(group, url) => Ok(()),
            Robots::Rules(_) => Err("disallowed by robots.txt".to_string()),
        }
    }

    /// The Crawl-delay for our user agent, if any. A number too large for a
    /// [`Duration`] (`1e30`) is [`Duration::MAX`]; negative, zero, NaN and
    /// infinite ones are ignored.
    pub(crate) fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Robots::Rules(group) => group
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::try_from_secs_f32(d).unwrap_or(Duration::MAX)),
            _ => None,
        }
    }
}

/// RFC 9309 §2.2.2: rules match the path and query; `/robots.txt` itself is
/// always allowed.
fn allowed(group: &Group, url: &str) -> bool {
    let parsed = Url::parse(url);
    let path = match &parsed {
        Ok(parsed) => &parsed[Position::BeforePath..Position::AfterQuery],
        Err(_) => url.split('#').next().unwrap_or(url),
    };
    path == "/robots.txt" || group.rules.allows(path.as_bytes())
}

/// The body up to the last line end within [`MAX_ROBOTS_BYTES`]: a line cut
/// by the cap could mean something its whole did not.
fn within_cap(body: &[u8]) -> &[u8] {
    let cap = MAX_ROBOTS_BYTES as usize;
    if body.len() <= cap {
        return body;
    }
    let end = body[..cap]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(0);
    &body[..end]
}

/// `trawl/0.1 (+https://…)` → `trawl`: robots groups match the product token.
fn product_token(user_agent: &str) -> &str {
    &user_agent[..parser::product_token(user_agent.as_bytes()).len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_product_token() {
        let txt = b"User-agent: trawl\nDisallow: /private\nCrawl-delay: 2\n\nUser-agent: *\nDisallow: /\n";
        let robots = Robots::parse("trawl/0.1.0", txt);
        assert!(robots.check("http://h.test/public").is_ok());
        assert!(robots.check("http://h.test/private/x").is_err());
        assert_eq!(robots.crawl_delay(), Some(Duration::from_secs(2)));
        let other = Robots::parse("otherbot/1", txt);
        assert!(other.check("http://h.test/public").is_err());
    }

    #[test]
    fn absurd_crawl_delays_are_clamped_or_ignored() {
        let delay = |value: &str| {
            Robots::parse(
                "trawl/1",
                format!("User-agent: *\nCrawl-delay: {value}\n").as_bytes(),
            )
            .crawl_delay()
        };
        assert_eq!(delay("1e30"), Some(Duration::MAX));
        assert_eq!(delay("18446744073709551615"), Some(Duration::MAX));
        assert_eq!(delay("100000"), Some(Duration::from_secs(100_000)));
        assert_eq!(delay("0.5"), Some(Duration::from_millis(500)));
        for ignored in ["-5", "0", "NaN", "inf", "-inf", "1e39", "soon"] {
            assert_eq!(delay(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn unavailable_disallows_everything() {
        assert!(Robots::DisallowAll("HTTP 503".into())
            .check("http://h.test/")
            .is_err());
        assert!(Robots::AllowAll.check("http://h.test/").is_ok());
        assert_eq!(product_token("trawl/0.1 (+x)"), "trawl");
    }

    /// `(robots.txt, user agent, URL path, allowed)`.
    fn assert_table(cases: &[(&str, &str, &str, bool)]) {
        for &(txt, agent, path, allowed) in cases {
            let robots = Robots::parse(agent, txt.as_bytes());
            let url = format!("http://h.test{path}");
            assert_eq!(
                robots.check(&url).is_ok(),
                allowed,
                "{agent} {path} in {txt:?}"
            );
        }
    }

    #[test]
    fn the_group_is_ours_else_star_else_none() {
        let ours_and_star =
            "User-agent: *\nDisallow: /\n\nUser-agent: Trawl/2.0\nDisallow: /private\n";
        let merged = "User-agent: trawl\nDisallow: /a\n\nUser-agent: other\nDisallow: /b\n\n\
                      User-agent: TRAWL\nDisallow: /c\n";
        let shared = "User-agent: other\nUser-agent: trawl\nDisallow: /shared\n";
        let stars = "User-agent: *\nDisallow: /a\nUser-agent: *\nDisallow: /b\n";
        let empty_ours = "User-agent: trawl\nDisallow:\n\nUser-agent: *\nDisallow: /\n";
        let last_and_empty = "User-agent: *\nDisallow: /\nUser-agent: trawl\n";
        // A blank line ends nothing: one group for both agents (RFC 9309 §2.2).
        let one_group = "User-agent: trawl\n\nUser-agent: *\nDisallow: /\n";
        let before_any_agent = "Disallow: /\nUser-agent: other\nDisallow: /\n";
        assert_table(&[
            (
                ours_and_star,
                "trawl/0.1 (+https://x.test)",
                "/public",
                true,
            ),
            (
                ours_and_star,
                "trawl/0.1 (+https://x.test)",
                "/private/x",
                false,
            ),
            (ours_and_star, "trawlbot/1", "/public", false),
            (ours_and_star, "otherbot/1", "/public", false),
            (merged, "trawl/1", "/a", false),
            (merged, "trawl/1", "/b", true),
            (merged, "trawl/1", "/c", false),
            (shared, "trawl/1", "/shared", false),
            (shared, "trawl/1", "/else", true),
            (stars, "trawl/1", "/a", false),
            (stars, "trawl/1", "/b", false),
            (empty_ours, "trawl/1", "/anything", true),
            (empty_ours, "other/1", "/anything", false),
            (last_and_empty, "trawl/1", "/anything", true),
            (one_group, "trawl/1", "/anything", false),
            (before_any_agent, "trawl/1", "/x", true),
            ("User-agent:\nDisallow: /\n", "", "/x", true),
            ("", "trawl/1", "/x", true),
        ]);
    }

    #[test]
    fn the_most_specific_rule_wins_and_allow_wins_ties() {
        let star = |rules: &str| format!("User-agent: *\n{rules}");
        let cases: &[(&str, &str, bool)] = &[
            // Longest match, in octets, whichever comes first.
            ("Disallow: /a\nAllow: /a/b", "/a/b/c", true),
            ("Allow: /a/b\nDisallow: /a", "/a/x", false),
            ("Allow: /a\nDisallow: /a/b", "/a/b", false),
            ("Allow: /\nDisallow: /*.php$", "/x.php", false),
            // A tie goes to allow, in either order.
            ("Disallow: /a\nAllow: /a", "/a", true),
            ("Allow: /a\nDisallow: /a", "/a", true),
            ("Disallow: /*b\nAllow: /a*", "/ab", true),
            // `*` is any sequence, `$` anchors the end.
            ("Disallow: /*.php$", "/a.php", false),
            ("Disallow: /*.php$", "/a.php?x", true),
            ("Disallow: /*.php", "/a.php?x", false),
            ("Disallow: /*.php$", "/a.phpx", true),
            ("Disallow: /a*b*c$", "/a-b-c", false),
            ("Disallow: /a*b*c$", "/abcbc", false),
            ("Disallow: /a*b*c$", "/acb", true),
            ("Disallow: /a**b", "/a-b", false),
            ("Disallow: /a$", "/a", false),
            ("Disallow: /a$", "/ab", true),
            ("Disallow: *", "/x", false),
            ("Disallow: /a$b", "/a$b", false),
            // Queries are part of the path.
            ("Disallow: /search?q=", "/search?q=rust", false),
            ("Disallow: /search?q=", "/search", true),
            ("Disallow: /*?sort=", "/list?page=2&sort=asc", true),
            ("Disallow: /*sort=", "/list?page=2&sort=asc", false),
            // Percent-encoding: unreserved escapes decoded, hex case ignored,
            // UTF-8 escaped, reserved escapes distinct.
            ("Disallow: /~user", "/%7Euser/x", false),
            ("Disallow: /%7euser", "/~user/x", false),
            ("Disallow: /%62%61%7A", "/baz", false),
            ("Disallow: /foo/bar/ツ", "/foo/bar/%E3%83%84", false),
            ("Disallow: /foo/bar/%e3%83%84", "/foo/bar/ツ", false),
            ("Disallow: /a%2Fb", "/a/b", true),
            ("Disallow: /a/b", "/a%2fb", true),
            ("Disallow: /a%2fb", "/a%2Fb", false),
            ("Disallow: /a b", "/a%20b", false),
            ("Disallow: /%2A", "/x", true),
            // An empty disallow allows everything; an empty allow changes nothing.
            ("Disallow:", "/x", true),
            ("Disallow:\nDisallow: /", "/x", false),
            ("Allow:\nDisallow: /", "/x", false),
            // robots.txt itself is always allowed.
            ("Disallow: /", "/robots.txt", true),
            ("Disallow: /", "/robots.txt?x", false),
            ("Disallow: /", "/", false),
        ];
        for &(rules, path, allowed) in cases {
            let robots = Robots::parse("trawl/1", star(rules).as_bytes());
            let url = format!("http://h.test{path}");
            assert_eq!(
                robots.check(&url).is_ok(),
                allowed,
                "{path} against {rules:?}"
            );
        }
    }

    #[test]
    fn syntax_is_read_forgivingly() {
        let mut with_bom = b"\xEF\xBB\xBFUser-agent: *\nDisallow: /bom\n".to_vec();
        with_bom.extend(b"Disallow: /\xFF\xFE\n");
        let bom = Robots::parse("trawl/1", &with_bom);
        assert!(bom.check("http://h.test/bom").is_err());
        assert!(bom.check("http://h.test/ok").is_ok());
        assert!(bom.check("http://h.test/%FF%FEx").is_err());
        let garbage =
            "<html>\nUser-agent: *\n}{ nonsense ::: here\nSitemap: https://h.test/s.xml\n\
                       Host: h.test\nDisallow: /g\n";
        assert_table(&[
            (
                "User-agent: *\r\nDisallow: /crlf\r\n",
                "trawl/1",
                "/crlf",
                false,
            ),
            ("User-agent: *\rDisallow: /cr\r", "trawl/1", "/cr", false),
            (
                "# hi\nUser-agent: * # all\nDisallow: /c # not /c#x\n",
                "trawl/1",
                "/c",
                false,
            ),
            ("User-agent: *\nDisallow: /c#x\n", "trawl/1", "/cx", false),
            (
                "USER-AGENT: *\nDISALLOW: /caps\n",
                "trawl/1",
                "/caps",
                false,
            ),
            (
                "  User-agent :  *  \n  Disallow  :  /sp  \n",
                "trawl/1",
                "/sp",
                false,
            ),
            (
                "User-agent *\nDisallow /nocolon\n",
                "trawl/1",
                "/nocolon",
                false,
            ),
            ("User-agent: *\nDisalow: /typo\n", "trawl/1", "/typo", false),
            ("User-agent: *\nDisallow /a /b\n", "trawl/1", "/a", true),
            (garbage, "trawl/1", "/g", false),
            (garbage, "trawl/1", "/s.xml", true),
            // Sitemap and unknown lines do not end the user-agent list.
            (
                "User-agent: other\nSitemap: /s\nUser-agent: trawl\nDisallow: /x\n",
                "other/1",
                "/x",
                false,
            ),
        ]);
    }

    #[test]
    fn crawl_delay_comes_from_our_group() {
        let delay = |txt: &str| Robots::parse("trawl/1", txt.as_bytes()).crawl_delay();
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(
            delay("User-agent: trawl\nCrawl-delay: 3\nUser-agent: *\nCrawl-delay: 9\n"),
            secs(3)
        );
        assert_eq!(
            delay("User-agent: other\nCrawl-delay: 3\nUser-agent: *\nCrawl-delay: 9\n"),
            secs(9)
        );
        assert_eq!(delay("User-agent: other\nCrawl-delay: 3\n"), None);
        assert_eq!(
            delay("User-agent: trawl\nCrawl-delay: soon\nCrawl-delay: 4\nCrawl-delay: 5\n"),
            secs(4)
        );
        assert_eq!(
            delay("User-agent: trawl\nDisallow: /\nUser-agent: trawl\ncrawldelay: 6\n"),
            secs(6)
        );
    }

    #[test]
    fn the_cap_drops_a_cut_line() {
        let cap = MAX_ROBOTS_BYTES as usize;
        let mut body = format!("User-agent: *\nDisallow: /early\n{}\n", "#".repeat(cap));
        body.truncate(cap - 14);
        body.push_str("\nDisallow: /cut-and-more\n");
        let robots = Robots::parse("trawl/1", body.as_bytes());
        assert!(robots.check("http://h.test/early").is_err());
        assert!(robots.check("http://h.test/cut-and-more").is_ok());
        assert!(robots.check("http://h.test/cut").is_ok());
    }

    /// A file of wildcard rules as long as trawl reads: `texting_robots`
    /// held ~330 MiB for it (a regex per rule).
    fn hostile(rule: impl Fn(usize) -> String) -> Vec<u8> {
        let mut text = String::from("User-agent: *\n");
        for i in 0.. {
            let line = rule(i);
            if text.len() + line.len() > MAX_ROBOTS_BYTES as usize {
                break;
            }
            text.push_str(&line);
        }
        text.into_bytes()
    }

    #[test]
    fn hostile_files_cost_about_their_size() {
        let files = [
            hostile(|i| format!("Disallow: /*a*b*c{i}$\n")),
            hostile(|i| format!("Disallow: /{}x{i}$\n", "*a".repeat(40))),
            hostile(|i| format!("Allow: /{}\n", "*%61".repeat(i % 50))),
        ];
        for body in files {
            let Robots::Rules(group) = Robots::parse("trawl/1", &body) else {
                panic!("rules expected");
            };
            let held = group.rules.heap_bytes();
            assert!(held <= 2 * body.len(), "{held} bytes for {}", body.len());
        }
    }

    #[test]
    fn hostile_files_are_checked_in_one_pass() {
        let long_url = format!("http://h.test/{}?{}", "ab".repeat(1500), "a".repeat(1000));
        let files = [
            hostile(|i| format!("Disallow: /*a*b*c{i}$\n")),
            hostile(|i| format!("Disallow: /{}c\n", "*a".repeat(i % 200))),
            hostile(|_| format!("Disallow: /*{}b\n", "a".repeat(2000))),
        ];
        for body in files {
            let robots = Robots::parse("trawl/1", &body);
            assert!(robots.check(&long_url).is_ok());
        }
    }
}
