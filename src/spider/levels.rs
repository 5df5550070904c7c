//! Levels of SPEC §8 as a spider file writes them: `[[seed]]` levels above
//! the list, `[list] format = "sitemap"`, `page_param`, and `[links]` in
//! place of `[list]`.
//!
//! Each becomes the `extract` rule the engine runs; the combinations §11
//! calls bad are refused here, naming the key.

use regex::Regex;

use super::raw::{RawDetail, RawLinks, RawList, RawSeed, RawSpider};
use super::{Builder, Paging, SpiderError};
use crate::extract::{
    compile_css, Chain, DetailRule, Field, Format, Input, ItemRule, Keep, LinkRule, ListRule,
    SeedRule, UrlFilter,
};

/// The names of a sitemap entry's parts: the record's fields when a sitemap
/// list gives none.
pub(super) const SITEMAP_NAMES: [&str; 4] = ["loc", "lastmod", "changefreq", "priority"];

/// A `[[seed]]` written as `[seed]` is one table, not a list of levels; say
/// so before serde says "expected a sequence".
pub(super) fn check_seed_shape(doc: &toml::Table, origin: &str) -> Result<(), SpiderError> {
    match doc.get("seed") {
        Some(toml::Value::Table(_)) => Err(SpiderError::at(
            origin,
            "seed",
            "expected `[[seed]]` sections (double brackets, one per level), found a single `[seed]` table",
        )),
        _ => Ok(()),
    }
}

impl Builder<'_> {
    /// `[[seed]]` levels, outermost first.
    pub(super) fn seeds(&self, raw: &[RawSeed]) -> Result<Vec<SeedRule>, SpiderError> {
        raw.iter()
            .enumerate()
            .map(|(i, seed)| self.seed(&format!("seed[{i}]"), seed))
            .collect()
    }

    fn seed(&self, section: &str, raw: &RawSeed) -> Result<SeedRule, SpiderError> {
        let format = self.format(section, raw.format.as_deref(), &raw.json_from, &raw.json_re)?;
        let json = format.is_json();
        let key = format!("{section}.links");
        let links = self.read(&key, &link_source(&raw.links, json), json)?;
        // `::url` and friends give one value about the page, never its links:
        // a seed level whose link is itself would go round in a circle.
        if raw.links.trim().is_empty() || matches!(links.input(), Input::Page(_)) {
            return Err(self.err(
                key,
                format!(
                    "a selector or path giving the links, e.g. \"nav a::attr(href)\", found `{}`",
                    raw.links
                ),
            ));
        }
        let next = match raw.next.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(next) => Some(self.read(&format!("{section}.next"), next, json)?),
            None => None,
        };
        let fields = self.fields(&format!("{section}.fields"), &raw.fields, json)?;
        if let Some((name, _)) = fields.iter().find(|(_, f)| f.reads_list_position()) {
            return Err(self.err(
                format!("{section}.fields.{name}"),
                "`::index` and `::page` in [list] fields only: a seed page is not a list page",
            ));
        }
        Ok(SeedRule {
            format,
            links,
            next,
            fields,
        })
    }

    /// The start of a crawl that is not paged by the start itself: with
    /// seeds the list sequences start at the last level's links, with
    /// `[links]` there is no paging. `why` names the section that says so.
    pub(super) fn single_start(&self, raw: &RawSpider, why: &str) -> Result<Paging, SpiderError> {
        if raw
            .start
            .list()
            .iter()
            .any(|s| s.contains("{page}") || s.contains("{offset}"))
        {
            return Err(self.err(
                "start",
                format!(
                    "a URL without `{{page}}` or `{{offset}}` with {why}: each start is one page"
                ),
            ));
        }
        for (key, given) in [
            ("first_page", raw.first_page.is_some()),
            ("last_page", raw.last_page.is_some()),
            ("step", raw.step.is_some()),
            ("first_offset", raw.first_offset.is_some()),
        ] {
            if given {
                return Err(self.err(
                    key,
                    format!("no page numbers with {why}: the start is one page"),
                ));
            }
        }
        Ok(Paging::Single)
    }

    /// `[list] page_param`: only list sequences started by seed links count
    /// a query parameter; a start is paged by `{page}` or `next`.
    pub(super) fn page_param(
        &self,
        raw: &RawList,
        has_next: bool,
        seeds: &[SeedRule],
    ) -> Result<Option<String>, SpiderError> {
        let Some(param) = &raw.page_param else {
            return Ok(None);
        };
        let key = "list.page_param";
        if seeds.is_empty() {
            return Err(self.err(
                key,
                "`page_param` only below [[seed]] levels (it pages the lists their links lead to); \
                 page a start with `{page}` in `start` or with `next`",
            ));
        }
        if has_next {
            return Err(self.err(key, "`next` or `page_param`, not both"));
        }
        let plain = |c: char| !(c.is_whitespace() || "=&?#".contains(c));
        if param.is_empty() || !param.chars().all(plain) {
            return Err(self.err(
                key,
                format!("a query parameter name, e.g. \"page\", found `{param}`"),
            ));
        }
        Ok(Some(param.clone()))
    }

    /// `[list] format = "sitemap"`: entries are the items, read with paths.
    pub(super) fn sitemap_list(
        &self,
        raw: &RawList,
        next_key: Option<&str>,
        seeds: &[SeedRule],
    ) -> Result<ListRule, SpiderError> {
        let misplaced = [
            ("list.item", raw.item.is_some()),
            ("list.items", raw.items.is_some()),
            ("list.stop", raw.stop.is_some()),
            ("list.json_from", raw.json_from.is_some()),
            ("list.json_re", raw.json_re.is_some()),
            ("list.page_param", raw.page_param.is_some()),
            (next_key.unwrap_or_default(), next_key.is_some()),
        ];
        if let Some((key, _)) = misplaced.iter().find(|(_, given)| *given) {
            return Err(self.err(
                *key,
                "no such key with format = \"sitemap\": its entries are the items, \
                 and a sitemap index or robots.txt leads to the other sitemaps",
            ));
        }
        let filter = self.url_filter("list", &raw.allow, &raw.deny)?;
        let fields = self.fields("list.fields", &raw.fields, true)?;
        let mut known = seed_names(seeds);
        match fields.is_empty() {
            true => known.extend(SITEMAP_NAMES),
            false => known.extend(fields.iter().map(|(name, _)| name.as_str())),
        }
        let keep = Keep {
            require: self.names("list.require", raw.require.as_ref(), Some(&known))?,
            unique: self.names("list.unique", raw.unique.as_ref(), Some(&known))?,
        };
        Ok(ListRule {
            format: Format::Sitemap,
            item: ItemRule::Sitemap(filter),
            fields,
            next: None,
            stop: None,
            page_param: None,
            prefetch: false,
            keep,
        })
    }

    /// `allow` and `deny` of `section`, each regex compiled.
    fn url_filter(
        &self,
        section: &str,
        allow: &Option<Vec<String>>,
        deny: &Option<Vec<String>>,
    ) -> Result<UrlFilter, SpiderError> {
        let compile = |name: &str, patterns: &Option<Vec<String>>| {
            let patterns = patterns.as_deref().unwrap_or_default();
            patterns
                .iter()
                .enumerate()
                .map(|(i, pattern)| self.regex(&format!("{section}.{name}[{i}]"), pattern))
                .collect::<Result<Vec<Regex>, SpiderError>>()
        };
        Ok(UrlFilter {
            allow: compile("allow", allow)?,
            deny: compile("deny", deny)?,
        })
    }

    fn regex(&self, key: &str, pattern: &str) -> Result<Regex, SpiderError> {
        Regex::new(pattern).map_err(|e| {
            self.err(
                key,
                format!(
                    "a regular expression, found `{pattern}` ({})",
                    super::one_line(&e.to_string())
                ),
            )
        })
    }

    /// `[links]` in place of `[list]`: the start's links are the items, each
    /// followed as the detail page, whose fields make the record.
    pub(super) fn link_crawl(
        &self,
        raw: &RawSpider,
        links: &RawLinks,
        seeds: &[SeedRule],
    ) -> Result<(Paging, ListRule, Option<DetailRule>), SpiderError> {
        if !seeds.is_empty() {
            return Err(self.err(
                "links",
                "[list] below [[seed]] levels ([links] below seed levels is not supported)",
            ));
        }
        if raw.next.is_some() {
            return Err(self.err(
                "next",
                "no `next` with [links]: `depth` says how far links are followed",
            ));
        }
        let paging = self.single_start(raw, "[links]")?;
        let list = ListRule {
            format: Format::Html,
            item: ItemRule::Links(self.link_rule(links)?),
            fields: Vec::new(),
            next: None,
            stop: None,
            page_param: None,
            prefetch: false,
            keep: Keep::default(),
        };
        let detail = self.link_detail(raw.detail.as_ref())?;
        Ok((paging, list, Some(detail)))
    }

    fn link_rule(&self, raw: &RawLinks) -> Result<LinkRule, SpiderError> {
        let within = match &raw.within {
            Some(css) => Some((
                css.clone(),
                compile_css(css).map_err(|e| self.err("links.within", e))?,
            )),
            None => None,
        };
        let depth = match raw.depth.unwrap_or(1) {
            n if n < 1 => {
                return Err(self.err(
                    "links.depth",
                    format!("a depth ≥ 1 (levels of links below the start), found {n}"),
                ))
            }
            n => u32::try_from(n).map_err(|_| {
                self.err("links.depth", format!("a depth ≤ {}, found {n}", u32::MAX))
            })?,
        };
        let hosts = raw.hosts.as_deref().unwrap_or_default();
        let hosts = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| self.host(&format!("links.hosts[{i}]"), host))
            .collect::<Result<_, _>>()?;
        Ok(LinkRule {
            within,
            filter: self.url_filter("links", &raw.allow, &raw.deny)?,
            depth,
            hosts,
        })
    }

    /// A `hosts` entry: a host name, lower-cased as URLs write it. A port
    /// or scheme would suggest a host differs by them; only the name counts.
    fn host(&self, key: &str, text: &str) -> Result<String, SpiderError> {
        let text = text.trim();
        let expected = |what: &str| {
            self.err(
                key,
                format!("a host name without {what}, e.g. \"shop.example.com\", found `{text}`"),
            )
        };
        if text.contains("://") {
            return Err(expected("a scheme"));
        }
        let ported = match text.strip_prefix('[') {
            Some(ipv6) => ipv6.contains("]:"),
            None => text.contains(':'),
        };
        if ported {
            return Err(expected("a port"));
        }
        match url::Host::parse(text) {
            Ok(host) => Ok(host.to_string()),
            Err(e) => Err(self.err(key, format!("a host name, found `{text}` ({e})"))),
        }
    }

    /// `[detail]` of a link crawl: required, with fields and no `follow`.
    fn link_detail(&self, raw: Option<&RawDetail>) -> Result<DetailRule, SpiderError> {
        let needed = "a [detail] section with fields: with [links], each linked page's \
                      [detail] fields make its record";
        let raw = raw.ok_or_else(|| self.err("detail.fields", needed))?;
        if raw.follow.is_some() {
            return Err(self.err(
                "detail.follow",
                "no `follow` with [links]: every link kept is followed",
            ));
        }
        if raw.fields.is_empty() {
            return Err(self.err("detail.fields", needed));
        }
        let (format, fields, keep) = self.detail_body(raw, Some(Vec::new()))?;
        Ok(DetailRule {
            follow: String::new(),
            follow_filters: Chain::default(),
            format,
            fields,
            keep,
        })
    }
}

/// The seed levels' field names, outermost level first.
pub(super) fn seed_names(seeds: &[SeedRule]) -> Vec<&str> {
    seeds
        .iter()
        .flat_map(|seed| &seed.fields)
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The seed fields, outermost level first.
pub(super) fn seed_fields(seeds: &[SeedRule]) -> impl Iterator<Item = &(String, Field)> {
    seeds.iter().flat_map(|seed| &seed.fields)
}

#[cfg(test)]
mod tests;

/// A seed's `links` as read: an HTML selector that names no output reads
/// the `href` of each match (`nav a` means the links in the nav, as a
/// LinkExtractor would take them), not its text.
fn link_source(links: &str, json: bool) -> String {
    let (head, filters) = crate::extract::split_pipe(links);
    let head = head.trim();
    if json || head.contains("::") || head.ends_with("[]") || head.is_empty() {
        return links.to_string();
    }
    match filters {
        Some(chain) => format!("{head}::attr(href) | {}", chain.trim()),
        None => format!("{head}::attr(href)"),
    }
}
