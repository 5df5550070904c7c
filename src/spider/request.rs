//! `[request]`: what every request of the crawl sends (SPEC §7): headers,
//! cookies, warm-up pages, and a POST body for list pages.

use serde_json::Value;
use url::Url;

use super::template::{fill_json, fill_text, Values};
use crate::fetch::Body;

/// What every request sends.
#[derive(Clone, Default)]
pub struct RequestRule {
    /// Headers for every list and detail request, in file order. `{env:…}`
    /// is already read into the value; other placeholders are filled per
    /// request. Values never appear in `Debug` output.
    pub headers: Vec<(String, String)>,
    /// Keep one cookie jar for the crawl.
    pub cookies: bool,
    /// Pages fetched first, in order, for their cookies only.
    pub warmup: Vec<Url>,
    /// List pages are POSTed with this body; `None`: GET.
    pub body: Option<BodyTemplate>,
}

impl std::fmt::Debug for RequestRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestRule")
            .field("headers", &names)
            .field("cookies", &self.cookies)
            .field("warmup", &self.warmup)
            .field("body", &self.body)
            .finish()
    }
}

/// A POST body, placeholders unfilled.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    /// `json = { … }`: sent as `application/json`.
    Json(Value),
    /// `form = { … }`: sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

impl BodyTemplate {
    /// The body for one request.
    pub fn render(&self, values: &Values<'_>) -> Body {
        match self {
            BodyTemplate::Json(template) => Body {
                bytes: fill_json(template, values).to_string().into_bytes(),
                content_type: "application/json",
            },
            BodyTemplate::Form(pairs) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in pairs {
                    form.append_pair(name, &fill_text(value, values));
                }
                Body {
                    bytes: form.finish().into_bytes(),
                    content_type: "application/x-www-form-urlencoded",
                }
            }
        }
    }
}

impl RequestRule {
    /// The headers for one request, placeholders filled.
    pub fn headers_for(&self, values: &Values<'_>) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.clone(), fill_text(value, values)))
            .collect()
    }
}
