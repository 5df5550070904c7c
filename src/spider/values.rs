//! Durations and sizes as people write them: `500ms`, `30s`, `2m`; `512KiB`, `10MiB`.

use std::time::Duration;

use super::limits::{Limits, Rate};

/// Parses a duration: `500ms`, `30s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("a duration like `500ms`, `30s` or `2m`, found `{text}`"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "a duration unit of ms, s, m or h, found `{other}` in `{text}`"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("a duration, found `{text}`"))
}

/// Parses a size: `512KiB`, `10MiB`, `1GB`; a bare number is bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("a size like `512KiB` or `10MiB`, found `{text}`"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "a size unit of B, KB, MB, GB, KiB, MiB or GiB, found `{other}` in `{text}`"
            ))
        }
    };
    Ok((value * factor).round() as u64)
}

/// Parses a rate in requests per second, by [`Limits::check_rate`]'s rules.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) fn parse_rate(text: &str) -> Result<Rate, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("a number of requests per second ≥ 0, found `{text}`"))?;
    Limits::check_rate(rate)
}

/// `600s` → `10m`: a duration in the largest unit [`parse_duration`] reads back exactly.
pub(crate) fn format_duration(duration: Duration) -> String {
    let (seconds, nanos) = (duration.as_secs(), duration.subsec_nanos());
    match (seconds, nanos) {
        (0, 0) => "0s".to_string(),
        (s, 0) if s % 3600 == 0 => format!("{}h", s / 3600),
        (s, 0) if s % 60 == 0 => format!("{}m", s / 60),
        (s, 0) => format!("{s}s"),
        _ if nanos % 1_000_000 == 0 => format!("{}ms", duration.as_millis()),
        _ => format!("{}s", duration.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("500ms", Some(500)),
            ("30s", Some(30_000)),
            ("2m", Some(120_000)),
            ("1.5", Some(1_500)),
            ("7", Some(7_000)),
            ("1h", Some(3_600_000)),
            ("fast", None),
            ("3 days", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = parse_duration(text).ok().map(|d| d.as_millis() as u64);
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn sizes() {
        let cases = [
            ("512KiB", Some(524_288)),
            ("10MiB", Some(10_485_760)),
            ("1GB", Some(1_000_000_000)),
            ("2048", Some(2048)),
            ("1 kib", Some(1024)),
            ("ten", None),
            ("5XB", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("2.5").map(Rate::per_second), Ok(2.5));
        assert_eq!(parse_rate("0"), Ok(Rate::UNLIMITED));
        for bad in ["-1", "inf", "NaN", "x", "1e-30", "0.00001"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        let tiny = parse_rate("1e-30").unwrap_err();
        assert!(tiny.contains("one request a day"), "{tiny}");
    }

    #[test]
    fn durations_format_in_the_units_they_are_read_in() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(600), "10m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(1500), "1500ms"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
            assert_eq!(parse_duration(text), Ok(duration), "{text}");
        }
    }
}
