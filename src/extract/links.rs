//! Link rules on one page (SPEC §8 "Link rules", §11): the URLs a page leads
//! to, and which of them an `allow`/`deny` rule keeps.
//!
//! Only what one page tells. Which hosts a crawl may go to (`hosts`), how
//! deep it goes (`depth`) and which pages it has already seen on other pages
//! are the engine's to decide.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// The elements whose `href` is a link to follow.
static LINKS: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("a[href], area[href]").expect("a valid selector"));

/// The element that may change the base links are resolved against.
static BASE: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("base[href]").expect("a valid selector"));

/// The `allow` and `deny` regexes of a sitemap or link rule. A URL is kept
/// when some `allow` regex matches somewhere in it (any URL, when `allow` is
/// empty) and no `deny` regex does: unanchored searches, as Scrapy's
/// LinkExtractor does, so write `^` or `$` to anchor. The default keeps all.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlFilter {
    /// A URL must match one of these; empty means any URL.
    pub allow: Vec<Regex>,
    /// A URL matching any of these is dropped, even when allowed.
    pub deny: Vec<Regex>,
}

impl UrlFilter {
    /// Whether the rule keeps `url`.
    pub(crate) fn keeps(&self, url: &str) -> bool {
        let allowed = self.allow.is_empty() || self.allow.iter().any(|r| r.is_match(url));
        allowed && !self.deny.iter().any(|r| r.is_match(url))
    }
}

/// The page's distinct links, in document order: the `href` of every
/// `a[href]` and `area[href]` (only those inside an element matching
/// `within`, when given — a matching element that is itself a link counts),
/// made absolute against the page's `<base href>` or else `base`, the
/// fragment dropped, only `http` and `https`, each URL once (its first
/// occurrence), and only those `filter` keeps. A bare `#fragment` is the
/// page itself. An `href` that does not parse is skipped.
pub(super) fn page_links(
    doc: &Html,
    base: &Url,
    within: Option<&Selector>,
    filter: &UrlFilter,
) -> Vec<Url> {
    let base = document_base(doc, base);
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for element in link_elements(doc, within) {
        let Some(url) = element
            .value()
            .attr("href")
            .and_then(|h| absolute(&base, h))
        else {
            continue;
        };
        if filter.keeps(url.as_str()) && seen.insert(url.clone()) {
            links.push(url);
        }
    }
    links
}

/// The link elements in document order, inside `within` when given.
fn link_elements<'a>(doc: &'a Html, within: Option<&Selector>) -> Vec<ElementRef<'a>> {
    let Some(within) = within else {
        return doc.select(&LINKS).collect();
    };
    let mut elements = Vec::new();
    let mut last: Option<ElementRef<'a>> = None;
    for region in doc.select(within) {
        // Regions come in document order, so one nested in an earlier region
        // is nested in the last one taken; its links are already in.
        if last.is_some_and(|outer| region.ancestors().any(|node| node.id() == outer.id())) {
            continue;
        }
        last = Some(region);
        if LINKS.matches(&region) {
            elements.push(region);
        }
        elements.extend(region.select(&LINKS));
    }
    elements
}

/// What relative links resolve against: the first `<base href>` (itself
/// resolved against the page's URL) when it is http(s), as browsers do.
fn document_base(doc: &Html, page: &Url) -> Url {
    doc.select(&BASE)
        .next()
        .and_then(|element| element.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .filter(is_web)
        .unwrap_or_else(|| page.clone())
}

fn absolute(base: &Url, href: &str) -> Option<Url> {
    let mut url = base.join(href.trim()).ok().filter(is_web)?;
    url.set_fragment(None);
    Some(url)
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: &[&str], deny: &[&str]) -> UrlFilter {
        let compile = |list: &[&str]| list.iter().map(|r| Regex::new(r).unwrap()).collect();
        UrlFilter {
            allow: compile(allow),
            deny: compile(deny),
        }
    }

    #[test]
    fn keeps_by_unanchored_allow_and_deny() {
        let cases: &[(&[&str], &[&str], &str, bool)] = &[
            (&[], &[], "https://a.test/x", true),
            (&["/product/"], &[], "https://a.test/product/1", true),
            (&["/product/"], &[], "https://a.test/blog/1", false),
            (&["/product/", "/item/"], &[], "https://a.test/item/9", true),
            (&[], &[r"\?sort="], "https://a.test/p?sort=asc", false),
            (
                &["/product/"],
                &["/product/old"],
                "https://a.test/product/old-7",
                false,
            ),
            (&["^https://a\\.test/$"], &[], "https://a.test/", true),
            (&["^/product/"], &[], "https://a.test/product/1", false),
            (&["PRODUCT"], &[], "https://a.test/product/1", false),
        ];
        for (allow, deny, url, kept) in cases {
            assert_eq!(
                filter(allow, deny).keeps(url),
                *kept,
                "{allow:?} {deny:?} {url}"
            );
        }
    }

    fn links(html: &str, base: &str, within: Option<&str>, filter: &UrlFilter) -> Vec<String> {
        let doc = Html::parse_document(html);
        let base = Url::parse(base).unwrap();
        let within = within.map(|css| Selector::parse(css).unwrap());
        page_links(&doc, &base, within.as_ref(), filter)
            .into_iter()
            .map(String::from)
            .collect()
    }

    const PAGE: &str = r##"<html><body>
        <nav><a href="/">Home</a><a href="/about#team">About</a></nav>
        <main>
          <a href="p/1">one</a>
          <a href="https://other.test/x?y=1#z">other</a>
          <a href="//cdn.test/file">protocol-relative</a>
          <a href="#top">top</a>
          <a href="mailto:me@site.test">mail</a>
          <a href="javascript:void(0)">js</a>
          <a href="tel:+123">tel</a>
          <a href="ftp://files.test/f">ftp</a>
          <a href="http://[bad">unparsable</a>
          <a>no href</a>
          <a href="  p/2  ">spaced</a>
          <a href="p/1#again">one again</a>
          <area href="/map/zone" shape="rect">
          <link href="/style.css" rel="stylesheet">
          <div class="more"><a href="/p/3">three</a><div class="more"><a href="/p/4">four</a></div></div>
        </main>
        <footer><a href="/about">About again</a><a class="more" href="/p/5">five</a></footer>
        </body></html>"##;

    #[test]
    fn links_on_a_page() {
        let base = "http://site.test/list/index.html?page=2#here";
        let all = UrlFilter::default();
        let cases: &[(Option<&str>, &UrlFilter, &[&str])] = &[
            (
                None,
                &all,
                &[
                    "http://site.test/",
                    "http://site.test/about",
                    "http://site.test/list/p/1",
                    "https://other.test/x?y=1",
                    "http://cdn.test/file",
                    "http://site.test/list/index.html?page=2",
                    "http://site.test/list/p/2",
                    "http://site.test/map/zone",
                    "http://site.test/p/3",
                    "http://site.test/p/4",
                    "http://site.test/p/5",
                ],
            ),
            (
                Some("nav"),
                &all,
                &["http://site.test/", "http://site.test/about"],
            ),
            // Nested matches give their links once; a matching link counts itself.
            (
                Some(".more"),
                &all,
                &[
                    "http://site.test/p/3",
                    "http://site.test/p/4",
                    "http://site.test/p/5",
                ],
            ),
            (Some("aside"), &all, &[]),
            (
                Some("main"),
                &filter(&["/p/"], &["/p/2"]),
                &[
                    "http://site.test/list/p/1",
                    "http://site.test/p/3",
                    "http://site.test/p/4",
                ],
            ),
        ];
        for (within, filter, expected) in cases {
            assert_eq!(
                links(PAGE, base, *within, filter),
                *expected,
                "within {within:?}"
            );
        }
    }

    #[test]
    fn base_element_sets_where_links_resolve() {
        let all = UrlFilter::default();
        let cases = [
            (
                r#"<base href="/root/"><a href="x">x</a>"#,
                "http://site.test/root/x",
            ),
            (
                r#"<base href="https://cdn.test/"><a href="x">x</a>"#,
                "https://cdn.test/x",
            ),
            (
                r#"<base href="javascript:alert(1)"><a href="x">x</a>"#,
                "http://site.test/dir/x",
            ),
            (
                r#"<base target="_blank"><a href="x">x</a>"#,
                "http://site.test/dir/x",
            ),
        ];
        for (html, expected) in cases {
            assert_eq!(
                links(html, "http://site.test/dir/page", None, &all),
                [expected],
                "{html}"
            );
        }
    }

    #[test]
    fn odd_pages_give_no_links_and_no_panic() {
        let all = UrlFilter::default();
        for html in [
            "",
            "<a href>",
            "<a href=''>",
            "<<<>>>",
            "<a href=\"\u{0}\">",
            "\u{feff}",
        ] {
            let found = links(html, "https://site.test/a", None, &all);
            assert!(found.len() <= 1, "{html:?}: {found:?}");
        }
    }
}
