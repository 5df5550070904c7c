//! `trawl try`: one page fetched under the spider's manners and read with
//! its rules, shown to a person (SPEC §10). Nothing is written.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::crawl::Request;
use crate::extract::{
    extract_detail, extract_link_page, extract_list, extract_seed, Field, Fields, ItemRule,
    PageInfo,
};
use crate::fetch::Ask;
use crate::{Fetcher, Spider};
use serde_json::Value;
use url::Url;

use super::args::Overrides;
use super::{fail, load, run::exit};

/// Items shown in full; the rest are counted.
const SHOWN: usize = 3;

/// `trawl try SPIDER [URL] [--detail]`.
pub(super) async fn try_page(
    path: &Path,
    url: Option<&str>,
    detail: bool,
    overrides: &Overrides,
) -> ExitCode {
    let spider = match load(path, overrides) {
        Ok(spider) => spider,
        Err(code) => return code,
    };
    let ask = match what_to_fetch(&spider, url) {
        Ok(ask) => ask,
        Err(message) => return fail(exit::USAGE, message),
    };
    // The page tried is its crawl's start: on a private network, it may be fetched.
    let fetcher = match Fetcher::with_starts(&spider.limits, &spider.request, &[ask.url.as_str()]) {
        Ok(fetcher) => fetcher,
        Err(e) => return fail(exit::FAULT, format!("cannot set up the HTTP client: {e}")),
    };
    let started = Instant::now();
    let page = match fetcher.send(&ask).await {
        Ok(page) => page,
        Err(e) => return fail(exit::FAULT, e),
    };
    let mut out = format!(
        "{} → {}, {} bytes in {} ms\n",
        page.url,
        page.status,
        page.text.len(),
        started.elapsed().as_millis()
    );
    let info = PageInfo {
        url: &page.url,
        status: page.status,
        number: 1,
    };
    let shown = match detail {
        true => show_detail(&spider, &page.text, &info, &mut out),
        false => show_page(&spider, &page.text, &info, &mut out),
    };
    if let Err(e) = shown {
        let _ = writeln!(out, "the page cannot be read: {e}");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::from(exit::OK)
}

/// The URL given, or the spider's first start.
fn what_to_fetch(spider: &Spider, url: Option<&str>) -> Result<Ask, String> {
    match url {
        Some(text) => {
            let url = Url::parse(text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| format!("URL: expected an absolute http(s) URL, found `{text}`"))?;
            Ok(Ask::get(url))
        }
        None => Request::roots(spider)
            .first()
            .map(|root| root.ask(spider))
            .ok_or_else(|| "the spider has no start to try".to_string()),
    }
}

fn show_page(
    spider: &Spider,
    body: &str,
    info: &PageInfo<'_>,
    out: &mut String,
) -> Result<(), String> {
    if let Some(seed) = spider.seeds.first() {
        let page = extract_seed(seed, body, info).map_err(|e| e.to_string())?;
        let _ = writeln!(
            out,
            "seed level 1: {} links at {}",
            page.links.len(),
            seed.links
        );
        for (url, fields) in page.links.iter().take(10) {
            let _ = writeln!(out, "  {url}  {}", Value::Object(fields.clone()));
        }
        show_next(out, page.next.as_deref());
        return Ok(());
    }
    if let ItemRule::Links(rule) = &spider.list.item {
        let page = extract_link_page(rule, spider.detail.as_ref(), body, info, false, true)
            .map_err(|e| e.to_string())?;
        let _ = writeln!(out, "links: {} kept by within/allow/deny", page.links.len());
        for url in page.links.iter().take(10) {
            let _ = writeln!(out, "  {url}");
        }
        return Ok(());
    }
    let list = extract_list(&spider.list, body, info).map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "list: {} items matched {}",
        list.items.len(),
        item_rule(spider)
    );
    for (i, item) in list.items.iter().take(SHOWN).enumerate() {
        let _ = writeln!(out, "  item {}", i + 1);
        show_fields(out, item);
    }
    if list.items.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more", list.items.len() - SHOWN);
    }
    let shown = &list.items[..list.items.len().min(SHOWN)];
    show_unmatched(out, &spider.list.fields, shown);
    for sitemap in &list.sitemaps {
        let _ = writeln!(out, "sitemap: {sitemap}");
    }
    show_next(out, list.next.as_deref());
    Ok(())
}

fn show_detail(
    spider: &Spider,
    body: &str,
    info: &PageInfo<'_>,
    out: &mut String,
) -> Result<(), String> {
    let Some(rule) = &spider.detail else {
        return Err("the spider has no [detail] section".into());
    };
    let fields = extract_detail(rule, body, info).map_err(|e| e.to_string())?;
    let _ = writeln!(out, "detail fields:");
    show_fields(out, &fields);
    show_unmatched(out, &rule.fields, std::slice::from_ref(&fields));
    Ok(())
}

fn show_fields(out: &mut String, fields: &Fields) {
    let width = fields.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in fields {
        let _ = writeln!(out, "    {name:width$}  {value}");
    }
}

/// Fields that are empty in every item shown, with their rules.
fn show_unmatched(out: &mut String, rules: &[(String, Field)], items: &[Fields]) {
    if items.is_empty() {
        return;
    }
    for (name, field) in rules {
        let empty = items.iter().all(|item| match item.get(name) {
            None | Some(Value::Null) => true,
            Some(Value::Array(values)) => values.is_empty(),
            Some(_) => false,
        });
        if empty {
            let _ = writeln!(out, "matched nothing: `{name}` ({})", describe(field));
        }
    }
}

fn describe(field: &Field) -> String {
    match field {
        Field::Read(read) => read.to_string(),
        Field::Fallback(reads) => {
            let each: Vec<String> = reads.iter().map(ToString::to_string).collect();
            each.join(" or ")
        }
        Field::Const(value) => format!("const {value}"),
        Field::Each { .. } => "each".to_string(),
        Field::Rows { .. } => "rows".to_string(),
    }
}

fn show_next(out: &mut String, next: Option<&str>) {
    if let Some(next) = next {
        let _ = writeln!(out, "next: {next}");
    }
}

fn item_rule(spider: &Spider) -> String {
    match &spider.list.item {
        ItemRule::Css { source, .. } => format!("`{source}`"),
        ItemRule::Json(path) => format!("`{}`", path.source()),
        ItemRule::Sitemap(_) => "the sitemap's <url> entries".to_string(),
        ItemRule::Links(_) => "the page's links".to_string(),
    }
}
