//! Durations and sizes as people write them: `500ms`, `30s`, `2m`; `512KiB`, `10MiB`.

use std::time::Duration;

/// Parses a duration: `500ms`, `30s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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
pub fn parse_size(text: &str) -> Result<u64, String> {
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

/// Parses a rate in requests per second: a number ≥ 0.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "a number of requests per second ≥ 0, found `{text}`"
        )),
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
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("inf").is_err());
        assert!(parse_rate("x").is_err());
    }
}
