//! robots.txt rules for one host (RFC 9309, parsed by `texting_robots`).

use std::time::Duration;

use texting_robots::Robot;

/// How much of a robots.txt is read and parsed: RFC 9309 §2.5 lets a
/// crawler ignore what follows the first 500 KiB, and a server cannot make
/// trawl buffer more.
pub const MAX_ROBOTS_BYTES: u64 = 500 * 1024;

/// What robots.txt lets this crawl do on one host.
#[derive(Debug)]
pub enum Robots {
    /// No usable robots.txt (a 4xx answer, or rules that do not parse).
    AllowAll,
    /// The robots.txt could not be had (5xx, network): the host is off limits.
    DisallowAll(String),
    /// Parsed rules for our user agent.
    Rules(Box<Robot>),
}

impl Robots {
    /// Parses a fetched robots.txt for `user_agent`'s product token.
    pub fn parse(user_agent: &str, body: &[u8]) -> Robots {
        match Robot::new(product_token(user_agent), body) {
            Ok(robot) => Robots::Rules(Box::new(robot)),
            Err(_) => Robots::AllowAll,
        }
    }

    /// Whether `url` may be fetched; the error says why not.
    pub fn check(&self, url: &str) -> Result<(), String> {
        match self {
            Robots::AllowAll => Ok(()),
            Robots::DisallowAll(why) => {
                Err(format!("robots.txt unavailable ({why}); host skipped"))
            }
            Robots::Rules(robot) if robot.allowed(url) => Ok(()),
            Robots::Rules(_) => Err("disallowed by robots.txt".to_string()),
        }
    }

    /// The Crawl-delay for our user agent, if any. A number too large for a
    /// [`Duration`] (`1e30`) is [`Duration::MAX`]; negative, zero, NaN and
    /// infinite ones are ignored.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Robots::Rules(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::try_from_secs_f32(d).unwrap_or(Duration::MAX)),
            _ => None,
        }
    }
}

/// `trawl/0.1 (+https://…)` → `trawl`: robots groups match the product token.
fn product_token(user_agent: &str) -> &str {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or(user_agent)
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
}
