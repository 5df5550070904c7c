//! `number` and `int`: the first number in a text, read the way shops write
//! prices (SPEC §6, §11).
//!
//! The number is the run of digits and separators starting at the first digit.
//! A `,` or `.` followed by exactly three digits is a thousands separator, any
//! other is the decimal point, which ends the number after its digits. Beyond
//! the SPEC's rule, four readings that it leaves open or that it would get
//! wrong on real pages:
//!
//! - once one kind of separator has grouped thousands, the other kind is the
//!   decimal point (`1,234.567` → 1234.567);
//! - a first group of `0` is never followed by thousands (`0.500` → 0.5);
//! - a `,` between two-digit groups groups too (Indian lakhs: `1,23,456`);
//! - a no-break, narrow or thin space and `'` or `’` group thousands only
//!   (`1 299,00` → 1299, `1'299.50` → 1299.5).

use serde_json::{Number, Value};

/// `number`: a text's first number; a number as it is; anything else `null`.
pub(super) fn number(value: Value) -> Value {
    match value {
        Value::String(text) => parse(&text).map_or(Value::Null, Value::Number),
        Value::Number(n) => Value::Number(n),
        _ => Value::Null,
    }
}

/// `int`: as [`number`], truncated toward zero; `null` outside the `i64` range.
pub(super) fn int(value: Value) -> Value {
    let Value::Number(n) = number(value) else {
        return Value::Null;
    };
    if n.is_i64() {
        return Value::Number(n);
    }
    // 2^63 is exact as an f64; every float below it truncates into range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match n.as_f64().map(f64::trunc) {
        Some(t) if (-LIMIT..LIMIT).contains(&t) => Value::from(t as i64),
        _ => Value::Null,
    }
}

/// The first number in `text`: an integer when it has no fraction and fits
/// `i64`, else a float; `None` when there is no digit.
pub(super) fn parse(text: &str) -> Option<Number> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let negative = text[..start].ends_with(['-', '−']);
    let (whole, fraction) = read(&text[start..]);
    let sign = if negative { "-" } else { "" };
    if fraction.bytes().all(|b| b == b'0') {
        if let Ok(n) = format!("{sign}{whole}").parse::<i64>() {
            return Some(Number::from(n));
        }
    }
    let float: f64 = format!("{sign}{whole}.{fraction}0").parse().ok()?;
    Number::from_f64(float)
}

/// The digits before and after the decimal point of the number `text` starts with.
fn read(text: &str) -> (String, &str) {
    let (first, mut rest) = digits(text);
    let mut whole = first.to_string();
    let mut grouped_by = None;
    while let Some((sep, after)) = separator(rest) {
        let (group, next) = digits(after);
        let next_sep = separator(next).map(|(c, _)| c);
        let thousands = (group.len() == 3 && first != "0" && grouped_by.is_none_or(|g| g == sep))
            || (sep == ',' && group.len() == 2 && next_sep == Some(','));
        if thousands {
            whole.push_str(group);
            grouped_by = Some(sep);
            rest = next;
        } else if matches!(sep, ',' | '.') {
            return (whole, group);
        } else {
            break;
        }
    }
    (whole, "")
}

/// A separator at the start of `text` with a digit after it, and what follows it.
fn separator(text: &str) -> Option<(char, &str)> {
    let sep = text.chars().next()?;
    let after = &text[sep.len_utf8()..];
    let groups = matches!(
        sep,
        ',' | '.' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’'
    );
    (groups && after.starts_with(|c: char| c.is_ascii_digit())).then_some((sep, after))
}

/// The ASCII digits `text` starts with, and the rest.
fn digits(text: &str) -> (&str, &str) {
    let len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_in_text() {
        let cases: &[(&str, Value)] = &[
            // SPEC §6 and §11
            ("₦ 4,500", json!(4500)),
            ("1.299,00 €", json!(1299)),
            ("4,5", json!(4.5)),
            ("4,500 €", json!(4500)),
            ("7.500", json!(7500)),
            ("10.000 Ft", json!(10000)),
            ("$1,234,567.89", json!(1234567.89)),
            ("abc", Value::Null),
            ("-3.5 °C", json!(-3.5)),
            // more
            ("", Value::Null),
            ("42", json!(42)),
            ("Price: 19.99 USD", json!(19.99)),
            ("1.234.567", json!(1234567)),
            ("1,234,56", json!(1234.56)),
            ("12.3456", json!(12.3456)),
            ("4,500.", json!(4500)),
            ("4.", json!(4)),
            ("1.5.3", json!(1.5)),
            ("2 for 5", json!(2)),
            ("Rs.500", json!(500)),
            ("- 5", json!(5)),
            ("−7", json!(-7)),
            ("$-5", json!(-5)),
            ("5-10", json!(5)),
            ("-0", json!(0)),
            ("007", json!(7)),
            ("1.0", json!(1)),
            ("0.5", json!(0.5)),
            // beyond the SPEC (see the module's notes)
            ("1,234.567", json!(1234.567)),
            ("1.234,567", json!(1234.567)),
            ("0.500 kg", json!(0.5)),
            ("₹1,23,456", json!(123456)),
            ("₹12,34,567.50", json!(1234567.5)),
            ("1\u{a0}299,00 €", json!(1299)),
            ("1\u{202f}299", json!(1299)),
            ("CHF 1'299.50", json!(1299.5)),
            ("1\u{a0}29", json!(1)),
            ("1 299", json!(1)),
            // too big for i64: a float
            ("99999999999999999999", json!(1e20)),
        ];
        for (text, want) in cases {
            assert_eq!(number(json!(text)), *want, "{text:?}");
        }
    }

    #[test]
    fn numbers_as_values() {
        assert_eq!(number(json!(3.25)), json!(3.25));
        assert_eq!(number(json!(true)), Value::Null);
        assert_eq!(number(json!({"a": 1})), Value::Null);
        let huge = "9".repeat(400);
        assert_eq!(number(json!(huge)), Value::Null); // not a finite f64
    }

    #[test]
    fn ints() {
        let cases: &[(Value, Value)] = &[
            (json!("4,5"), json!(4)),
            (json!("-3.9"), json!(-3)),
            (json!("1.299,00 €"), json!(1299)),
            (json!(7.99), json!(7)),
            (json!(-0.5), json!(0)),
            (json!(12), json!(12)),
            (json!("none"), Value::Null),
            (json!(false), Value::Null),
            (json!(1e300), Value::Null),
            (json!(u64::MAX), Value::Null),
        ];
        for (value, want) in cases {
            let got = int(value.clone());
            assert_eq!(got, *want, "{value}");
            assert!(got.is_null() || got.is_i64(), "{value} gave {got}");
        }
    }
}
