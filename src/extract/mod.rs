//! HOW to read a page: rules compiled once at load, applied to a decoded body.
//!
//! Everything here is pure and synchronous — no I/O, no clock — so the engine
//! can run it wherever parsing is cheapest and tests can run it on strings.

mod css;
mod field;
mod filter;
mod json;
mod levels;
mod links;
mod page;
mod sitemap;

pub(crate) use css::compile as compile_css;
#[cfg(test)]
pub(crate) use css::CssRule;
#[cfg(test)]
pub(crate) use field::kind_of;
pub(crate) use field::{Field, Input, PageInfo, Read, ReadError, Scope};
pub(crate) use filter::{split_pipe, Chain};
pub(crate) use json::JsonPath;
pub(crate) use levels::{extract_link_page, extract_seed, LinkRule, SeedRule};
pub(crate) use links::UrlFilter;
pub(crate) use page::{
    extract_detail, extract_list, extract_sitemap, extract_value, values_text, DetailRule, Format,
    ItemRule, JsonSource, Keep, ListRule,
};
pub(crate) use sitemap::maybe_gunzip;
#[cfg(test)]
pub(crate) use sitemap::Sitemap;

/// The fields of one record, in the order the spider declares them.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// The kind of value a field produces, as far as the spider file tells: it
/// types database columns (SPEC §6 "Types in databases").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Text, or anything the file does not pin down (the default).
    Text,
    /// Always a JSON integer or `null` (an `int` filter last, an integer constant).
    Int,
    /// Always a JSON number or `null` (a `number` filter last, a float constant).
    Number,
    /// Always `true`, `false` or `null` (a boolean constant).
    Bool,
    /// An array or object: `[]`, `each`, label → value, array/table constants.
    Json,
}

/// Why a page could not be read. The page counts as failed; the crawl goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ExtractError(pub(crate) String);
