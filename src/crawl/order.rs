//! Discovery order as a key: where a page stands in the crawl's tree.
//!
//! A key is a short list of positions. A page's children (the links a seed
//! page leads to, the sitemaps of an index) extend its key by the link's
//! index and a page ordinal of 0; the next page of the same sequence bumps
//! the last position. Lexicographic order is then depth-first discovery
//! order: everything a page leads to comes before its next page. Breadth-
//! first link crawls put the depth first instead (see [`OrderKey::below`]).
//! The key is derived from the request path alone, so it is the same in any
//! run of the same crawl, which is what makes it a resumable identity.

use std::fmt;

/// A page's place in discovery order.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub(crate) struct OrderKey(Vec<u32>);

impl OrderKey {
    /// The first page of start number `start`.
    pub(crate) fn start(start: u32) -> OrderKey {
        OrderKey(vec![start, 0])
    }

    /// List page number `n` (from 0) of a crawl with one start and no levels.
    #[cfg(test)]
    pub(crate) fn list_page(n: u32) -> OrderKey {
        OrderKey(vec![0, n])
    }

    /// The first page of the sequence that link number `index` of this page
    /// starts: after this page, before this page's successor.
    pub(crate) fn child(&self, index: u32) -> OrderKey {
        let mut parts = self.0.clone();
        parts.extend([index, 0]);
        OrderKey(parts)
    }

    /// Link number `index` one level below this page in a breadth-first
    /// crawl, whose keys start with the depth: every page at depth `d` comes
    /// before every page at depth `d + 1`, each depth in its parents' order.
    pub(crate) fn below(&self, index: u32) -> OrderKey {
        let mut parts = self.0.clone();
        parts[0] += 1;
        parts.push(index);
        OrderKey(parts)
    }

    /// The next page of the same sequence.
    pub(crate) fn successor(&self) -> OrderKey {
        let mut parts = self.0.clone();
        if let Some(last) = parts.last_mut() {
            *last += 1;
        }
        OrderKey(parts)
    }

    /// The positions, outermost first.
    pub(crate) fn parts(&self) -> &[u32] {
        &self.0
    }

    /// Big-endian bytes whose byte order is the key's order (a database
    /// index then sorts requests in discovery order).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|p| p.to_be_bytes()).collect()
    }

    /// The key [`to_bytes`](OrderKey::to_bytes) wrote, if `bytes` is one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<OrderKey> {
        if bytes.is_empty() || bytes.len() % 4 != 0 {
            return None;
        }
        let parts = bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(OrderKey(parts))
    }
}

/// The page's position as records show it: the page ordinal alone for the
/// pages of a single start (`3`, as before levels existed), else every
/// position joined by dots (`0.0.2.1`).
impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [0, page] = self.0[..] {
            return write!(f, "{page}");
        }
        let text: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&text.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_come_between_a_page_and_its_successor() {
        let page = OrderKey::start(0);
        let child = page.child(3);
        let grandchild = child.child(0).successor();
        assert!(page < child && child < grandchild && grandchild < page.successor());
        assert!(page.child(3).successor() < page.child(4));
        assert!(page.successor() < OrderKey::start(1));
    }

    #[test]
    fn breadth_first_keys_put_every_depth_before_the_next() {
        let start = OrderKey::start(0);
        let (a, b) = (start.below(0), start.below(1));
        assert!(start < a && a < b);
        assert!(b < a.below(0) && a.below(5) < b.below(0));
    }

    #[test]
    fn bytes_sort_as_keys_do_and_come_back() {
        let keys = [
            OrderKey::start(0),
            OrderKey::start(0).child(1),
            OrderKey::start(0).child(300).successor(),
            OrderKey::start(0).successor(),
        ];
        for pair in keys.windows(2) {
            assert!(pair[0].to_bytes() < pair[1].to_bytes());
        }
        for key in keys {
            assert_eq!(OrderKey::from_bytes(&key.to_bytes()), Some(key));
        }
        assert_eq!(OrderKey::from_bytes(&[1, 2]), None);
    }

    #[test]
    fn a_single_start_shows_its_page_number() {
        assert_eq!(OrderKey::start(0).successor().to_string(), "1");
        assert_eq!(OrderKey::start(0).child(2).to_string(), "0.0.2.0");
    }
}
