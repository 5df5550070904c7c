//! One extracted record: its fields in declaration order, and where it came from.

use serde::Serialize;
use serde_json::Value;

use super::order::OrderKey;
use crate::extract::Fields;

/// One extracted item: its fields (list fields, then detail fields, in the
/// order the spider declares them) and its place in the crawl.
///
/// A record serializes as a JSON object of its fields, which is what the
/// JSON Lines output holds; [`get`](Record::get) reads one field and
/// [`key`](Record::key) tells where it was found.
///
/// ```
/// use futures::StreamExt;
/// use serde_json::json;
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::{Crawl, CrawlOptions, Spider};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?;
/// let spider = Spider::from_toml(&format!(r#"
///     start = "{}/api/products?page={{page}}"
///     last_page = 1
///     [list]
///     format = "json"
///     items = "items"
///     fields.id = "id"
///     fields.name = "name"
///     "#, site.base_url()), "inline", "api")?;
/// let mut crawl = Crawl::start(spider, CrawlOptions::default())?;
/// let first = crawl.next().await.expect("the page has items")?;
/// assert_eq!(first.get("id"), Some(&json!(1)));
/// assert_eq!(first.fields().keys().collect::<Vec<_>>(), ["id", "name"]);
/// assert_eq!(first.key(), ("0".to_string(), 0)); // first list page, first item
/// let second = crawl.next().await.expect("four items a page")?;
/// assert_eq!(second.key(), ("0".to_string(), 1));
/// assert_eq!(serde_json::to_string(&second)?, r#"{"id":2,"name":"Product 2"}"#);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    fields: Fields,
    page: OrderKey,
    index: u32,
    /// The spider's `key` fields' values, when it declares a `key`.
    identity: Option<String>,
}

impl Record {
    pub(crate) fn new(fields: Fields, page: OrderKey, index: u32) -> Record {
        Record {
            fields,
            page,
            index,
            identity: None,
        }
    }

    /// The same record (position, identity) with other fields.
    pub(crate) fn with_fields(&self, fields: Fields) -> Record {
        Record {
            fields,
            page: self.page.clone(),
            index: self.index,
            identity: self.identity.clone(),
        }
    }

    /// Sets the record's identity (the spider's `key`, SPEC §6).
    pub(crate) fn identify(mut self, identity: Option<String>) -> Record {
        self.identity = identity;
        self
    }

    /// The fields, in order.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// One field's value; `None` when the record has no such field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The fields, taken out.
    pub fn into_fields(self) -> Fields {
        self.fields
    }

    /// A stable key: the page's position in the crawl (as text: `3` for the
    /// fourth list page of a plain crawl, `0.0.2.0` deeper in a crawl with
    /// levels) and the item's on the page. Databases key rows by it when
    /// the spider declares no `key`.
    pub fn key(&self) -> (String, u32) {
        (self.page.to_string(), self.index)
    }

    /// The record's identity from the spider's `key` fields (SPEC §6): the
    /// value's text for one field, a JSON array of the values for several.
    /// `None` when the spider declares no `key`; databases then key rows by
    /// [`Record::key`].
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(serializer)
    }
}
