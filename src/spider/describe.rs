//! `trawl check`'s plan: a [`Spider`] described for a person, section by
//! section, in the order a crawl meets them.

use std::fmt;

use regex::Regex;

use super::levels::SITEMAP_NAMES;
use super::{BodyTemplate, Paging, RequestRule, Spider, Total};
use crate::extract::{
    DetailRule, Field, Format, ItemRule, JsonSource, Keep, LinkRule, SeedRule, UrlFilter,
};

impl fmt::Display for Spider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "spider `{}`", self.name)?;
        self.write_start(f)?;
        write_seeds(f, &self.seeds)?;
        self.write_list(f)?;
        if let Some(detail) = &self.detail {
            write_detail(f, detail)?;
        }
        if !self.key.is_empty() {
            writeln!(
                f,
                "  key:     {} (database rows are updated by it)",
                self.key.join(", ")
            )?;
        }
        if !self.omit.is_empty() {
            writeln!(f, "  omit:    {} (read, not written)", self.omit.join(", "))?;
        }
        write_request(f, &self.request)?;
        write!(f, "{}", self.limits)
    }
}

impl Spider {
    fn write_start(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for template in &self.starts.templates {
            let how = match &self.paging {
                Paging::Single => self.start_role(template).to_string(),
                Paging::Numbered {
                    first,
                    last: Some(last),
                } => format!("pages {first} to {last}"),
                Paging::Numbered { first, last: None } => {
                    format!("from page {first} {}", self.end_rule())
                }
                Paging::Offset { first, step } => format!(
                    "offsets {first}, {}, {} … {}",
                    first + step,
                    first + 2 * step,
                    self.end_rule()
                ),
                Paging::Next => "following `next` until it is absent".to_string(),
            };
            writeln!(f, "  start:   {template} ({how})")?;
        }
        for (name, values) in &self.starts.vars {
            let shown: Vec<&str> = values.iter().take(5).map(String::as_str).collect();
            let more = match values.len() > 5 {
                true => format!(" … ({} values)", values.len()),
                false => String::new(),
            };
            writeln!(f, "  vars:    {name} = {}{more}", shown.join(", "))?;
        }
        let sequences = self.starts.sequences().len();
        if sequences > 1 {
            writeln!(
                f,
                "  runs:    {sequences} sequences, one after the other in this order"
            )?;
        }
        Ok(())
    }

    /// Where an open-ended sequence ends.
    fn end_rule(&self) -> String {
        match &self.total {
            Some(Total::Pages(read)) => format!("to the page count {read} on the first page"),
            Some(Total::Items(read)) => format!("to the item count {read} on the first page"),
            None => "until a page has no items or answers 404/410".to_string(),
        }
    }

    fn write_list(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.list.item {
            ItemRule::Css { source, .. } => {
                writeln!(f, "  list:    HTML, one record per `{source}`")?
            }
            ItemRule::Json(path) => writeln!(
                f,
                "  list:    JSON{}, one record per element of `{}`",
                json_source(&self.list.format),
                path.source()
            )?,
            ItemRule::Sitemap(filter) => {
                writeln!(
                    f,
                    "  list:    a sitemap, one record per <url> (an index or robots.txt leads to more sitemaps)"
                )?;
                write_filter(f, filter)?;
            }
            // A link crawl's records are its detail pages.
            ItemRule::Links(rule) => return write_links(f, rule),
        }
        if let Some(next) = &self.list.next {
            writeln!(f, "  next:    {next}")?;
        }
        if let Some(param) = &self.list.page_param {
            writeln!(
                f,
                "  paging:  each list counts `{param}=1, 2, 3 …` until a page has no items"
            )?;
        }
        if let Some(stop) = &self.list.stop {
            writeln!(
                f,
                "  stop:    after a page where `{}` is true",
                stop.source()
            )?;
        }
        match (&self.list.item, self.list.fields.is_empty()) {
            (ItemRule::Sitemap(_), true) => writeln!(
                f,
                "  list fields: each entry whole ({})",
                SITEMAP_NAMES.join(", ")
            )?,
            _ => write_fields(f, "list", &self.list.fields)?,
        }
        write_keep(f, "list", &self.list.keep)
    }
}

fn write_detail(f: &mut fmt::Formatter<'_>, detail: &DetailRule) -> fmt::Result {
    let kind = if detail.format.is_json() {
        "JSON"
    } else {
        "HTML"
    };
    let source = json_source(&detail.format);
    if detail.follow.is_empty() {
        writeln!(f, "  detail:  {kind}{source}, every link kept")?;
    } else {
        let filters = match detail.follow_filters.is_empty() {
            true => String::new(),
            false => format!(" | {}", detail.follow_filters),
        };
        writeln!(
            f,
            "  detail:  {kind}{source} page at field `{}`{filters}",
            detail.follow
        )?;
    }
    write_fields(f, "detail", &detail.fields)?;
    write_keep(f, "detail", &detail.keep)
}

/// `trawl check`'s lines for `[request]`. Header values are shown as the
/// file wrote them: `{env:…}` stays unresolved, so no secret is printed.
fn write_request(f: &mut fmt::Formatter<'_>, request: &RequestRule) -> fmt::Result {
    for url in &request.warmup {
        writeln!(f, "  warmup:  {url} (fetched first, for its cookies)")?;
    }
    for (name, value) in &request.headers_as_written {
        writeln!(f, "  header:  {name}: {value}")?;
    }
    if request.cookies {
        writeln!(f, "  cookies: one jar for the crawl (RFC 6265)")?;
    }
    match &request.body {
        Some(BodyTemplate::Json(json)) => {
            writeln!(f, "  method:  list pages POST application/json {json}")
        }
        Some(BodyTemplate::Form(pairs)) => {
            let pairs: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
            writeln!(
                f,
                "  method:  list pages POST application/x-www-form-urlencoded {}",
                pairs.join("&")
            )
        }
        None => Ok(()),
    }
}

pub(super) fn json_source(format: &Format) -> String {
    match format {
        Format::Json(JsonSource::From { source, .. }) => format!(" from `{source}`"),
        Format::Json(JsonSource::Re(pattern)) => format!(" matched by `{}`", pattern.as_str()),
        _ => String::new(),
    }
}

fn write_fields(
    f: &mut fmt::Formatter<'_>,
    section: &str,
    fields: &[(String, Field)],
) -> fmt::Result {
    if fields.is_empty() {
        return writeln!(f, "  {section} fields: each item whole");
    }
    for (name, field) in fields {
        let kind = format!("{:?}", field.kind()).to_lowercase();
        writeln!(f, "  {section} field {name:<12} <- {field}  -> {kind}")?;
    }
    Ok(())
}

fn write_keep(f: &mut fmt::Formatter<'_>, section: &str, keep: &Keep) -> fmt::Result {
    if !keep.require.is_empty() {
        writeln!(f, "  {section} require: {}", keep.require.join(", "))?;
    }
    if !keep.unique.is_empty() {
        writeln!(f, "  {section} unique:  {}", keep.unique.join(", "))?;
    }
    Ok(())
}

/// `trawl check`'s lines for the seed levels.
fn write_seeds(f: &mut fmt::Formatter<'_>, seeds: &[SeedRule]) -> fmt::Result {
    for (i, seed) in seeds.iter().enumerate() {
        let level = i + 1;
        let kind = if seed.format.is_json() {
            "JSON"
        } else {
            "HTML"
        };
        let format = json_source(&seed.format);
        writeln!(
            f,
            "  seed {level}:  {kind}{format}, every link at {}",
            seed.links
        )?;
        if let Some(next) = &seed.next {
            writeln!(f, "  seed {level} next: {next}")?;
        }
        for (name, field) in &seed.fields {
            let kind = format!("{:?}", field.kind()).to_lowercase();
            writeln!(f, "  seed {level} field {name:<10} <- {field}  -> {kind}")?;
        }
    }
    Ok(())
}

/// `trawl check`'s lines for a sitemap list's or a link rule's filter.
fn write_filter(f: &mut fmt::Formatter<'_>, filter: &UrlFilter) -> fmt::Result {
    let sources = |list: &[Regex]| {
        let quoted: Vec<String> = list.iter().map(|r| format!("`{}`", r.as_str())).collect();
        quoted.join(", ")
    };
    if !filter.allow.is_empty() {
        writeln!(f, "  allow:   URLs matching {}", sources(&filter.allow))?;
    }
    if !filter.deny.is_empty() {
        writeln!(f, "  deny:    URLs matching {}", sources(&filter.deny))?;
    }
    Ok(())
}

/// `trawl check`'s lines for `[links]`.
fn write_links(f: &mut fmt::Formatter<'_>, rule: &LinkRule) -> fmt::Result {
    let within = match &rule.within {
        Some((source, _)) => format!(" inside `{source}`"),
        None => String::new(),
    };
    let levels = match rule.depth {
        1 => "1 level deep".to_string(),
        n => format!("{n} levels deep, breadth first"),
    };
    writeln!(
        f,
        "  links:   every distinct link{within}, followed {levels}; each page a record"
    )?;
    write_filter(f, &rule.filter)?;
    let hosts = match rule.hosts.is_empty() {
        true => "the start's host only".to_string(),
        false => format!("the start's host and {}", rule.hosts.join(", ")),
    };
    writeln!(f, "  hosts:   {hosts}")
}

impl Spider {
    /// What a one-page start is to the crawl.
    fn start_role(&self, start: &str) -> &'static str {
        let robots = url::Url::parse(start).is_ok_and(|u| u.path() == "/robots.txt");
        match (&self.list.item, self.seeds.is_empty()) {
            (ItemRule::Links(_), _) => "the link crawl's start",
            (_, false) => "the first seed level",
            (ItemRule::Sitemap(_), true) if robots => "a robots.txt: its Sitemap: lines are read",
            (_, true) => "one page",
        }
    }
}
