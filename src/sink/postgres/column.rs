//! PostgreSQL column types: the type each [`Kind`] creates, the type a
//! table's column turns out to have, and values as parameters of the Rust
//! type that column takes.
//!
//! The extended protocol sends parameters in binary, so a value must be bound
//! as exactly the column's type (`i32` for `integer`, `serde_json::Value` for
//! `jsonb` …): binding by the column's type as read from the catalog is what
//! lets a value of another type be converted instead of failing its batch.

use serde_json::Value;
use tokio_postgres::types::{ToSql, Type};

use crate::extract::Kind;
use crate::sink::cell::{fit, Cell, Storage};

/// The type a column of `kind` is created with.
pub(super) fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "TEXT",
        Kind::Int => "BIGINT",
        Kind::Number => "DOUBLE PRECISION",
        Kind::Bool => "BOOLEAN",
        Kind::Json => "JSONB",
    }
}

/// A table column's type, as far as writing to it goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ColumnType {
    /// `text`, `varchar`, `char` or `name`; at most `max` characters when the type says.
    Text {
        max: Option<usize>,
    },
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric`, sent as text; `(precision, scale)` when the type says.
    Numeric {
        limit: Option<(i32, i32)>,
    },
    Bool,
    Json,
    Jsonb,
    /// Anything else (dates, arrays, enums, domains …), named as the
    /// catalog writes it: trawl leaves such a column out of every write.
    Other(String),
}

impl ColumnType {
    /// The type of a column from `pg_attribute`: its type's OID and modifier,
    /// and the name `format_type` gives it.
    pub(super) fn from_catalog(oid: u32, typmod: i32, name: String) -> ColumnType {
        // Length and precision modifiers are stored plus 4 (VARHDRSZ); -1 is none.
        let modifier = (typmod >= 4).then_some(typmod - 4);
        match Type::from_oid(oid) {
            Some(Type::TEXT | Type::NAME) => ColumnType::Text { max: None },
            Some(Type::VARCHAR | Type::BPCHAR) => ColumnType::Text {
                max: modifier.map(|n| n as usize),
            },
            Some(Type::INT2) => ColumnType::Int2,
            Some(Type::INT4) => ColumnType::Int4,
            Some(Type::INT8) => ColumnType::Int8,
            Some(Type::FLOAT4) => ColumnType::Float4,
            Some(Type::FLOAT8) => ColumnType::Float8,
            Some(Type::NUMERIC) => ColumnType::Numeric {
                // PostgreSQL's NUMERIC_TYPMOD_PRECISION and _SCALE (the scale
                // is an 11-bit signed number since PostgreSQL 15).
                limit: modifier.map(|m| ((m >> 16) & 0xFFFF, ((m & 0x7FF) ^ 1024) - 1024)),
            },
            Some(Type::BOOL) => ColumnType::Bool,
            Some(Type::JSON) => ColumnType::Json,
            Some(Type::JSONB) => ColumnType::Jsonb,
            _ => ColumnType::Other(name),
        }
    }

    /// Whether trawl writes this column at all.
    pub(super) fn is_written(&self) -> bool {
        !matches!(self, ColumnType::Other(_))
    }

    /// The parameter `$n` for this column: `numeric` is sent as text and cast.
    pub(super) fn placeholder(&self, n: usize) -> String {
        match self {
            ColumnType::Numeric { .. } => format!("${n}::text::numeric"),
            _ => format!("${n}"),
        }
    }

    /// The column's type as a person reads it, for warnings.
    pub(super) fn name(&self) -> String {
        match self {
            ColumnType::Text { max: None } => "text".into(),
            ColumnType::Text { max: Some(n) } => format!("text of at most {n} characters"),
            ColumnType::Int2 => "smallint".into(),
            ColumnType::Int4 => "integer".into(),
            ColumnType::Int8 => "bigint".into(),
            ColumnType::Float4 => "real".into(),
            ColumnType::Float8 => "double precision".into(),
            ColumnType::Numeric { limit: None } => "numeric".into(),
            ColumnType::Numeric {
                limit: Some((p, s)),
            } => format!("numeric({p},{s})"),
            ColumnType::Bool => "boolean".into(),
            ColumnType::Json => "json".into(),
            ColumnType::Jsonb => "jsonb".into(),
            ColumnType::Other(name) => format!("{name} (not written by trawl)"),
        }
    }

    /// NULL, typed for this column.
    pub(super) fn null(&self) -> Param {
        match self {
            ColumnType::Text { .. } | ColumnType::Numeric { .. } | ColumnType::Other(_) => {
                Param::Text(None)
            }
            ColumnType::Int2 => Param::Int2(None),
            ColumnType::Int4 => Param::Int4(None),
            ColumnType::Int8 => Param::Int8(None),
            ColumnType::Float4 => Param::Float4(None),
            ColumnType::Float8 => Param::Float8(None),
            ColumnType::Bool => Param::Bool(None),
            ColumnType::Json | ColumnType::Jsonb => Param::Json(None),
        }
    }

    /// `value` as a parameter for this column; `None` when it does not fit.
    pub(super) fn param(&self, value: Option<&Value>) -> Option<Param> {
        let cell = match self {
            ColumnType::Text { .. } => fit(value, Storage::Text),
            ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => fit(value, Storage::Int),
            ColumnType::Float4 | ColumnType::Float8 => fit(value, Storage::Float),
            // Integers first, so that a large one keeps every digit.
            ColumnType::Numeric { .. } => {
                fit(value, Storage::Int).or_else(|| fit(value, Storage::Float))
            }
            ColumnType::Bool => fit(value, Storage::Bool),
            ColumnType::Json | ColumnType::Jsonb => fit(value, Storage::Json),
            // Only NULL fits a column trawl does not write.
            ColumnType::Other(_) => match value {
                None | Some(Value::Null) => Some(Cell::Null),
                Some(_) => None,
            },
        }?;
        self.narrow(cell)
    }

    /// A converted value as this column's Rust type, if it is in range.
    fn narrow(&self, cell: Cell) -> Option<Param> {
        let param = match (self, cell) {
            (_, Cell::Null) => self.null(),
            (ColumnType::Text { max }, Cell::Text(s)) => {
                let s = without_nul(s);
                if max.is_some_and(|max| s.chars().count() > max) {
                    return None;
                }
                Param::Text(Some(s))
            }
            (ColumnType::Int2, Cell::Int(i)) => Param::Int2(Some(i.try_into().ok()?)),
            (ColumnType::Int4, Cell::Int(i)) => Param::Int4(Some(i.try_into().ok()?)),
            (ColumnType::Int8, Cell::Int(i)) => Param::Int8(Some(i)),
            (ColumnType::Float4, Cell::Float(x)) => {
                let x = x as f32;
                if !x.is_finite() {
                    return None;
                }
                Param::Float4(Some(x))
            }
            (ColumnType::Float8, Cell::Float(x)) => Param::Float8(Some(x)),
            (ColumnType::Numeric { limit }, Cell::Int(i)) => {
                numeric_fits(i as f64, *limit).then(|| Param::Text(Some(i.to_string())))?
            }
            (ColumnType::Numeric { limit }, Cell::Float(x)) => {
                numeric_fits(x, *limit).then(|| Param::Text(Some(x.to_string())))?
            }
            (ColumnType::Bool, Cell::Bool(b)) => Param::Bool(Some(b)),
            (ColumnType::Json | ColumnType::Jsonb, Cell::Json(mut v)) => {
                json_without_nul(&mut v);
                Param::Json(Some(v))
            }
            _ => return None,
        };
        Some(param)
    }
}

/// Whether `x` fits `numeric(precision, scale)`: rounded to `scale` digits,
/// fewer than `precision` digits in all.
fn numeric_fits(x: f64, limit: Option<(i32, i32)>) -> bool {
    match limit {
        None => true,
        Some((precision, scale)) => (x.abs() * 10f64.powi(scale)).round() < 10f64.powi(precision),
    }
}

/// PostgreSQL cannot store NUL in text (nor `\u0000` in `jsonb`); it becomes
/// U+FFFD rather than failing a batch on one odd page.
pub(super) fn without_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

fn json_without_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(json_without_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (without_nul(k), v))
                    .collect();
            }
            map.values_mut().for_each(json_without_nul);
        }
        _ => {}
    }
}

/// One value, as the Rust type its column takes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Param {
    /// Text, and `numeric` sent as text.
    Text(Option<String>),
    Int2(Option<i16>),
    Int4(Option<i32>),
    Int8(Option<i64>),
    Float4(Option<f32>),
    Float8(Option<f64>),
    Bool(Option<bool>),
    Json(Option<Value>),
}

impl Param {
    /// The value to bind.
    pub(super) fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(v) => v,
            Param::Int2(v) => v,
            Param::Int4(v) => v,
            Param::Int8(v) => v,
            Param::Float4(v) => v,
            Param::Float8(v) => v,
            Param::Bool(v) => v,
            Param::Json(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog(oid: Type, typmod: i32) -> ColumnType {
        ColumnType::from_catalog(oid.oid(), typmod, oid.name().to_string())
    }

    #[test]
    fn catalog_types_are_read_with_their_limits() {
        assert_eq!(catalog(Type::TEXT, -1), ColumnType::Text { max: None });
        assert_eq!(
            catalog(Type::VARCHAR, 14),
            ColumnType::Text { max: Some(10) }
        );
        assert_eq!(catalog(Type::VARCHAR, -1), ColumnType::Text { max: None });
        assert_eq!(catalog(Type::INT8, -1), ColumnType::Int8);
        assert_eq!(
            catalog(Type::NUMERIC, (10 << 16 | 2) + 4),
            ColumnType::Numeric {
                limit: Some((10, 2))
            }
        );
        assert_eq!(
            catalog(Type::NUMERIC, -1),
            ColumnType::Numeric { limit: None }
        );
        assert_eq!(catalog(Type::JSONB, -1), ColumnType::Jsonb);
        assert_eq!(
            catalog(Type::DATE, -1),
            ColumnType::Other("date".to_string())
        );
    }

    #[test]
    fn values_become_the_columns_rust_type() {
        let numeric = ColumnType::Numeric {
            limit: Some((5, 2)),
        };
        let short = ColumnType::Text { max: Some(3) };
        let cases: Vec<(ColumnType, Value, Option<Param>)> = vec![
            (ColumnType::Int8, json!(5), Some(Param::Int8(Some(5)))),
            (ColumnType::Int8, json!("5"), Some(Param::Int8(Some(5)))),
            (ColumnType::Int8, json!("five"), None),
            (ColumnType::Int8, json!(null), Some(Param::Int8(None))),
            (ColumnType::Int4, json!(5_000_000_000i64), None),
            (ColumnType::Int2, json!(-7), Some(Param::Int2(Some(-7)))),
            (ColumnType::Float8, json!(2), Some(Param::Float8(Some(2.0)))),
            (ColumnType::Float4, json!(1e300), None),
            (ColumnType::Bool, json!(true), Some(Param::Bool(Some(true)))),
            (
                ColumnType::Text { max: None },
                json!(1.5),
                Some(Param::Text(Some("1.5".into()))),
            ),
            (
                ColumnType::Text { max: None },
                json!("a\0b"),
                Some(Param::Text(Some("a\u{FFFD}b".into()))),
            ),
            (
                short.clone(),
                json!("abc"),
                Some(Param::Text(Some("abc".into()))),
            ),
            (short, json!("abcd"), None),
            (
                numeric.clone(),
                json!(123.456),
                Some(Param::Text(Some("123.456".into()))),
            ),
            (numeric.clone(), json!(999.999), None),
            (numeric, json!("12"), Some(Param::Text(Some("12".into())))),
            (
                ColumnType::Jsonb,
                json!({"a\0": ["x\0"]}),
                Some(Param::Json(Some(json!({"a\u{FFFD}": ["x\u{FFFD}"]})))),
            ),
            (
                ColumnType::Other("date".into()),
                json!(null),
                Some(Param::Text(None)),
            ),
            (ColumnType::Other("date".into()), json!("2026-01-01"), None),
        ];
        for (ty, value, expected) in cases {
            assert_eq!(ty.param(Some(&value)), expected, "{value} into {ty:?}");
        }
    }
}
