//! A JSON value as a database cell: what a column's type asks for, and how a
//! value is made to fit it.
//!
//! Both engines convert by the type the column actually has, read from the
//! table, never by the kind the spider declares: an existing table keeps its
//! types, and a value meeting a column of another type is converted rather
//! than failing the crawl (SPEC §6 "Types in databases"). Into text anything
//! goes, as its text; a numeric string fits a numeric column; what fits
//! nowhere is written as NULL, and [`Misfits`] names the column once.

use std::collections::HashSet;

use serde_json::Value;

/// What a column takes, as far as converting a value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Anything, each value as its own type (an SQLite column without a type).
    Any,
    /// Text: strings as they are, anything else as its JSON text.
    Text,
    /// A 64-bit integer.
    Int,
    /// A double.
    Float,
    /// A boolean.
    Bool,
    /// A JSON document.
    Json,
}

/// A value converted for a column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Json(Value),
}

/// Converts `value` for a column that takes `storage`; `None` when it does not fit.
///
/// `null` (or a missing field) fits everywhere, as NULL.
pub(crate) fn fit(value: Option<&Value>, storage: Storage) -> Option<Cell> {
    let value = match value {
        None | Some(Value::Null) => return Some(Cell::Null),
        Some(value) => value,
    };
    match storage {
        Storage::Any => Some(native(value)),
        Storage::Text => Some(Cell::Text(text(value))),
        Storage::Int => int(value).map(Cell::Int),
        Storage::Float => float(value).map(Cell::Float),
        Storage::Bool => boolean(value).map(Cell::Bool),
        Storage::Json => Some(Cell::Json(value.clone())),
    }
}

/// Strings, numbers and booleans as themselves; arrays and objects as JSON text.
fn native(value: &Value) -> Cell {
    match value {
        Value::String(s) => Cell::Text(s.clone()),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => Cell::Text(other.to_string()),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An integer, an integral double, a boolean as 0 or 1, or a string of one.
fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| integral(n.as_f64()?)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => {
            let s = s.trim();
            s.parse().ok().or_else(|| integral(finite(s)?))
        }
        _ => None,
    }
}

fn integral(x: f64) -> Option<i64> {
    // `i64::MAX as f64` is 2^63, just past the range: the bound is exclusive.
    let range = (i64::MIN as f64)..(i64::MAX as f64);
    (x.fract() == 0.0 && range.contains(&x)).then_some(x as i64)
}

/// A number, a boolean as 0 or 1, or a string of a finite number.
fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => finite(s.trim()),
        _ => None,
    }
}

/// `"1.5"`, `"-2"`, `"1e3"`; not `"inf"` or `"NaN"`, which Rust would take.
fn finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A boolean, 0 or 1, or a string PostgreSQL reads as one (`true`, `f`, `yes` …).
fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Values that fitted no column, warned about once per column.
#[derive(Debug)]
pub(crate) struct Misfits {
    table: String,
    warned: HashSet<String>,
}

impl Misfits {
    pub(crate) fn new(table: &str) -> Misfits {
        Misfits {
            table: table.to_string(),
            warned: HashSet::new(),
        }
    }

    /// Says, the first time for `column`, that `value` did not fit its `sql_type`.
    pub(crate) fn note(&mut self, column: &str, sql_type: &str, value: Option<&Value>) {
        if self.warned.contains(column) {
            return;
        }
        self.warned.insert(column.to_string());
        let mut shown = value.map(Value::to_string).unwrap_or_default();
        if shown.chars().count() > 60 {
            shown = shown.chars().take(60).chain("…".chars()).collect();
        }
        tracing::warn!(
            "table `{}`, column `{column}` is {sql_type}: {shown} does not fit, written as NULL \
             (said once per column)",
            self.table
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_fit_columns_or_say_they_do_not() {
        use Cell::*;
        use Storage as S;
        let cases: Vec<(Value, Storage, Option<Cell>)> = vec![
            (json!(null), S::Int, Some(Null)),
            (json!("a"), S::Any, Some(Text("a".into()))),
            (json!(3), S::Any, Some(Int(3))),
            (json!(1.5), S::Any, Some(Float(1.5))),
            (json!(true), S::Any, Some(Bool(true))),
            (json!([1, "x"]), S::Any, Some(Text("[1,\"x\"]".into()))),
            (json!("a b"), S::Text, Some(Text("a b".into()))),
            (json!(1.5), S::Text, Some(Text("1.5".into()))),
            (json!(true), S::Text, Some(Text("true".into()))),
            (json!({"k": 1}), S::Text, Some(Text("{\"k\":1}".into()))),
            (json!(7), S::Int, Some(Int(7))),
            (json!(7.0), S::Int, Some(Int(7))),
            (json!(7.5), S::Int, None),
            (json!(1e300), S::Int, None),
            (json!(u64::MAX), S::Int, None),
            (json!(" 42 "), S::Int, Some(Int(42))),
            (json!("4.0"), S::Int, Some(Int(4))),
            (json!("abc"), S::Int, None),
            (json!(false), S::Int, Some(Int(0))),
            (json!([1]), S::Int, None),
            (json!(2), S::Float, Some(Float(2.0))),
            (json!("2.5"), S::Float, Some(Float(2.5))),
            (json!("1e3"), S::Float, Some(Float(1000.0))),
            (json!("inf"), S::Float, None),
            (json!("NaN"), S::Float, None),
            (json!("4,5"), S::Float, None),
            (json!(true), S::Bool, Some(Bool(true))),
            (json!(0), S::Bool, Some(Bool(false))),
            (json!("Yes"), S::Bool, Some(Bool(true))),
            (json!(2), S::Bool, None),
            (json!("maybe"), S::Bool, None),
            (json!([1, 2]), S::Json, Some(Json(json!([1, 2])))),
            (json!("s"), S::Json, Some(Json(json!("s")))),
        ];
        for (value, storage, expected) in cases {
            assert_eq!(
                fit(Some(&value), storage),
                expected,
                "{value} into {storage:?}"
            );
        }
        assert_eq!(fit(None, Storage::Bool), Some(Null));
    }
}
