//! Dotted paths into JSON: `items`, `links.next`, `data.0.name`; `""` is the value itself.

use serde_json::Value;

/// A compiled dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    source: String,
    segments: Vec<String>,
}

impl JsonPath {
    /// Compiles a dotted path; empty segments (`a..b`) are an error.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let text = text.trim();
        let segments: Vec<String> = if text.is_empty() {
            Vec::new()
        } else {
            text.split('.').map(str::to_string).collect()
        };
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!("a dotted path like `data.items`, found `{text}`"));
        }
        Ok(JsonPath {
            source: text.to_string(),
            segments,
        })
    }

    /// The path as the spider file wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the path maps with `[]` (its value is always an array).
    pub fn is_many(&self) -> bool {
        false
    }

    /// The value at this path, `null` when there is none.
    pub fn get(&self, value: &Value) -> Value {
        self.lookup(value).cloned().unwrap_or(Value::Null)
    }

    /// The value at this path, if there is one. Numeric segments index arrays.
    pub fn lookup<'v>(&self, mut value: &'v Value) -> Option<&'v Value> {
        for segment in &self.segments {
            value = match value {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookups() {
        let doc = json!({"data": {"items": [{"name": "a"}, {"name": "b"}]}, "last": true});
        let at = |p: &str| JsonPath::parse(p).unwrap().lookup(&doc).cloned();
        assert_eq!(at("last"), Some(json!(true)));
        assert_eq!(at("data.items.1.name"), Some(json!("b")));
        assert_eq!(at("data.items.9"), None);
        assert_eq!(at("data.missing"), None);
        assert_eq!(at(""), Some(doc.clone()));
        assert!(JsonPath::parse("a..b").is_err());
    }
}
