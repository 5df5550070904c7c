//! One extracted record: its fields in declaration order, and where it came from.

use serde::Serialize;
use serde_json::Value;

use crate::extract::Fields;

/// A record: list fields then detail fields, in the order the spider declares them.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    fields: Fields,
    page: u64,
    index: u32,
}

impl Record {
    pub(crate) fn new(fields: Fields, page: u64, index: u32) -> Record {
        Record {
            fields,
            page,
            index,
        }
    }

    /// The fields, in order.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// One field's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// The fields, taken out.
    pub fn into_fields(self) -> Fields {
        self.fields
    }

    /// A stable key: the list page's position in the crawl and the item's on the page.
    pub fn key(&self) -> (u64, u32) {
        (self.page, self.index)
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(serializer)
    }
}
