//! When to try again, and how long to wait first.

use std::time::{Duration, SystemTime};

/// Exponential backoff with jitter: `base · 2^(n−1)`, capped, scaled by a random 50–100 %.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// The wait before the first retry (before jitter).
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1-based).
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let doubled = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        doubled.min(self.cap).mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// Statuses SPEC §5 retries.
pub(super) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Reads `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
///
/// Anything else (negative, fractional, `NaN`, `inf`) is ignored. Seconds too
/// many for a `u64` count as `u64::MAX`; the caller compares the wait with
/// `max_delay` and never adds more than a capped wait to the clock.
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = backoff.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = backoff.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            assert!(backoff.delay(30) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn absurd_retry_afters_are_clamped_or_ignored() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        let max = Some(Duration::from_secs(u64::MAX));
        assert_eq!(parse_retry_after("18446744073709551615", now), max);
        assert_eq!(parse_retry_after("99999999999999999999999999", now), max);
        assert_eq!(
            parse_retry_after(" 99999999 ", now),
            Some(Duration::from_secs(99_999_999))
        );
        let far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).unwrap();
        assert!(far > Duration::from_secs(200_000_000_000), "{far:?}");
        for ignored in [
            "-1",
            "-18446744073709551616",
            "+5",
            "1.5",
            "1e30",
            "NaN",
            "inf",
            "-inf",
            "",
            "Fri, 31 Dec 99999 23:59:59 GMT",
            "Sat, 30 Feb 2026 00:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(ignored, now), None, "{ignored:?}");
        }
    }

    #[test]
    fn retryable_statuses() {
        let retried: Vec<u16> = (400..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(retried, [429, 500, 502, 503, 504]);
    }
}

/// Generated Retry-After values (SPEC §10 "Bounds"): any header text is a
/// wait or nothing, never a panic; digits are that many seconds (or the
/// most a `u64` holds); an HTTP date is the time until it.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::proptest_run::check;

    fn now() -> SystemTime {
        httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").expect("a date")
    }

    #[test]
    fn any_header_text_is_a_wait_or_nothing() {
        let text = prop_oneof![
            any::<String>(),
            "[ 0-9.eE+-]{0,30}",
            "(Mon|Wed|Fri|Xyz), [0-9]{1,3} (Jan|Feb|Oct|Foo) [0-9]{1,6} [0-9:]{0,9} (GMT|UTC|)",
        ];
        check("retry-after", 2000, text, |text| {
            let wait = parse_retry_after(&text, now());
            let digits = text.trim();
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let seconds = digits.parse().unwrap_or(u64::MAX);
                prop_assert_eq!(wait, Some(Duration::from_secs(seconds)));
            }
            Ok(())
        });
    }

    #[test]
    fn seconds_and_dates_read_back() {
        let strategy = (any::<u64>(), 0..100_000_000u64, any::<bool>());
        check(
            "retry-after-exact",
            2000,
            strategy,
            |(seconds, ahead, padded)| {
                let text = match padded {
                    true => format!(" {seconds}\t"),
                    false => seconds.to_string(),
                };
                let wait = parse_retry_after(&text, now());
                prop_assert_eq!(wait, Some(Duration::from_secs(seconds)));
                let date = httpdate::fmt_http_date(now() + Duration::from_secs(ahead));
                let wait = parse_retry_after(&date, now());
                prop_assert_eq!(wait, Some(Duration::from_secs(ahead)), "{}", date);
                Ok(())
            },
        );
    }
}
