//! The demo shop: product cards on list pages, each product with a detail page.
//!
//! Its markup has what real shops have and what the field language (SPEC §6)
//! is for: prices as European text (`€ 1.299,00`), sales showing the old
//! price struck through before the new one, tags as links (one product has
//! none; the tag pages themselves answer 404), the product's data as ld+json in the `<head>` beside a second
//! ld+json block of another type, a specs table and a release date as text.
//! Everything is computed from the product's number, so it is known in advance.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::{not_found, DemoSite, WORDS};

/// What a product is; cycled through by number.
const KINDS: [&str; 5] = ["Kettle", "Lamp", "Backpack", "Clock", "Chair"];
/// List prices in cents, cycled through by number: some past a thousand euros.
const PRICES: [u32; 8] = [
    129_900, 4_995, 38_900, 245_000, 1_550, 79_900, 12_900, 6_500,
];
const BRANDS: [&str; 3] = ["Nordlys", "Søndag", "Kobolt"];
const TAGS: [&str; 6] = ["Kitchen", "Outdoor", "Gift", "Steel", "Oak", "New"];
const COLOURS: [&str; 5] = ["Red", "Slate grey", "Oak brown", "White", "Sage green"];
const MATERIALS: [&str; 3] = ["Steel", "Oak", "Recycled plastic"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One product, every part derived from its number `id` (1-based).
struct Product {
    id: u32,
    name: String,
    /// What it sells for now, in cents.
    price: u32,
    /// On sale: what it sold for before, in cents.
    was: Option<u32>,
    tags: Vec<&'static str>,
}

impl Product {
    fn new(id: u32) -> Product {
        let word = WORDS[(id as usize * 5) % WORDS.len()];
        let list_price = PRICES[(id as usize - 1) % PRICES.len()];
        // Every third product is on sale at 20 % off (every list price is a
        // multiple of 5 cents, so the sale price is exact).
        let (price, was) = match id % 3 {
            0 => (list_price / 5 * 4, Some(list_price)),
            _ => (list_price, None),
        };
        // Every seventh product has no tags; the others one to three.
        let tag_count = if id % 7 == 0 { 0 } else { id % 3 + 1 };
        let tags = (0..tag_count)
            .map(|k| TAGS[((id + 2 * k) as usize) % TAGS.len()])
            .collect();
        Product {
            id,
            name: format!(
                "{}{} {}",
                word[..1].to_uppercase(),
                &word[1..],
                KINDS[id as usize % KINDS.len()]
            ),
            price,
            was,
            tags,
        }
    }

    fn sku(&self) -> String {
        format!("TR-{:04}", self.id)
    }

    fn brand(&self) -> &'static str {
        BRANDS[self.id as usize % BRANDS.len()]
    }

    fn in_stock(&self) -> bool {
        self.id % 4 != 0
    }

    /// The release date as the page writes it: `12 June 2024`.
    fn released(&self) -> String {
        let day = self.id * 11 % 28 + 1;
        let month = MONTHS[(self.id as usize * 5) % MONTHS.len()];
        format!("{day} {month} {}", 2023 + self.id % 3)
    }

    /// The release date as a sitemap's `lastmod`: `2024-06-12`.
    fn released_iso(&self) -> String {
        let day = self.id * 11 % 28 + 1;
        let month = (self.id as usize * 5) % MONTHS.len() + 1;
        format!("{}-{month:02}-{day:02}", 2023 + self.id % 3)
    }

    /// The specs table's rows, label then value.
    fn specs(&self) -> [(&'static str, String); 3] {
        let grams = 350 * self.id + 200;
        [
            (
                "Colour",
                COLOURS[self.id as usize % COLOURS.len()].to_string(),
            ),
            (
                "Material",
                MATERIALS[self.id as usize % MATERIALS.len()].to_string(),
            ),
            (
                "Weight",
                format!("{},{:02} kg", grams / 1000, grams % 1000 / 10),
            ),
        ]
    }

    /// The card on a list page.
    fn card(&self) -> String {
        let price = match self.was {
            Some(was) => format!(
                "<p class=\"price\"><s class=\"was\">{}</s> <ins class=\"sale\">{}</ins></p>",
                euros(was),
                euros(self.price)
            ),
            None => format!("<p class=\"price\">{}</p>", euros(self.price)),
        };
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|tag| format!("<a href=\"/shop/tag/{}\">{tag}</a>", tag.to_lowercase()))
            .collect();
        format!(
            "<div class=\"product\">\n  <h2 class=\"name\">{name}</h2>\n  {price}\n  \
             <div class=\"tags\">{tags}</div>\n  \
             <a class=\"more\" href=\"/shop/product/{id}\">View product</a>\n</div>\n",
            name = self.name,
            tags = tags.join(" "),
            id = self.id,
        )
    }

    /// The schema.org Product, as the detail page's `<head>` carries it.
    fn ld_json(&self) -> serde_json::Value {
        let availability = if self.in_stock() {
            "InStock"
        } else {
            "OutOfStock"
        };
        json!({
            "@context": "https://schema.org",
            "@type": "Product",
            "name": self.name,
            "sku": self.sku(),
            "brand": { "@type": "Brand", "name": self.brand() },
            "offers": {
                "@type": "Offer",
                "price": format!("{}.{:02}", self.price / 100, self.price % 100),
                "priceCurrency": "EUR",
                "availability": format!("https://schema.org/{availability}"),
            },
        })
    }

    /// The schema.org BreadcrumbList the detail page's body carries.
    fn breadcrumbs(&self) -> serde_json::Value {
        json!({
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                { "@type": "ListItem", "position": 1, "name": "Shop", "item": "/shop/page/1" },
                { "@type": "ListItem", "position": 2, "name": self.name },
            ],
        })
    }

    /// The detail page.
    fn page(&self) -> String {
        let mut specs = String::new();
        for (label, value) in self.specs() {
            let _ = writeln!(specs, "<tr><th>{label}</th><td>{value}</td></tr>");
        }
        let pretty = |value: serde_json::Value| {
            serde_json::to_string_pretty(&value).expect("a JSON value serialises")
        };
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{name} · Demo shop</title>\n\
             <script type=\"application/ld+json\">\n{product}\n</script>\n</head>\n<body>\n\
             <nav class=\"breadcrumbs\"><a href=\"/shop/page/1\">Shop</a> › {name}</nav>\n\
             <script type=\"application/ld+json\">{crumbs}</script>\n\
             <h1>{name}</h1>\n<p class=\"price\">{price}</p>\n\
             <p>Released <span class=\"released\">{released}</span></p>\n\
             <table class=\"specs\">\n{specs}</table>\n</body></html>\n",
            name = self.name,
            product = pretty(self.ld_json()),
            crumbs = self.breadcrumbs(),
            price = euros(self.price),
            released = self.released(),
        )
    }
}

/// Cents as a European shop writes them: `€ 1.299,00`.
fn euros(cents: u32) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("€ {grouped},{:02}", cents % 100)
}

/// `/shop/page/{n}`: `shop_items_per_page` product cards, and an `a.next`
/// link on all but the last page.
pub(super) async fn list_page(State(site): State<Arc<DemoSite>>, Path(n): Path<u32>) -> Response {
    if n == 0 || n > site.shop_pages {
        return not_found();
    }
    let first = (n - 1) * site.shop_items_per_page + 1;
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Shop, page {n}</title></head>\n\
         <body>\n<h1>Shop</h1>\n"
    );
    for id in first..first + site.shop_items_per_page {
        html.push_str(&Product::new(id).card());
    }
    if n < site.shop_pages {
        let _ = writeln!(
            html,
            "<a class=\"next\" href=\"/shop/page/{}\">Next page</a>",
            n + 1
        );
    }
    html.push_str("</body></html>\n");
    Html(html).into_response()
}

/// `/shop/product/{id}`: the product's detail page.
pub(super) async fn product_page(
    State(site): State<Arc<DemoSite>>,
    Path(id): Path<u32>,
) -> Response {
    if id == 0 || id > site.shop_product_count() {
        return not_found();
    }
    Html(Product::new(id).page()).into_response()
}

/// The category a product is in: its kind, in lower case (`lamp`).
fn category(id: u32) -> String {
    KINDS[id as usize % KINDS.len()].to_lowercase()
}

/// `/shop/`: the shop's home, whose menu leads to one page per category.
pub(super) async fn home() -> Response {
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Demo shop</title></head>\n\
         <body>\n<h1>Demo shop</h1>\n<nav class=\"categories\">\n",
    );
    for kind in KINDS {
        let _ = writeln!(
            html,
            "  <a href=\"/shop/category/{}\">{kind}</a>",
            kind.to_lowercase()
        );
    }
    html.push_str("</nav>\n<a href=\"/shop/page/1\">Every product</a>\n</body></html>\n");
    Html(html).into_response()
}

/// The category page's query string.
#[derive(serde::Deserialize)]
pub(super) struct CategoryQuery {
    /// 1-based; missing means 1.
    page: Option<u32>,
}

/// `/shop/category/{kind}?page={n}`: that kind's products, one card a page
/// (`?page=` counts from 1; a page past the last has no cards).
pub(super) async fn category_page(
    State(site): State<Arc<DemoSite>>,
    Path(kind): Path<String>,
    Query(query): Query<CategoryQuery>,
) -> Response {
    if !KINDS.iter().any(|k| k.to_lowercase() == kind) {
        return not_found();
    }
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return not_found();
    }
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{kind}, page {page}</title></head>\n\
         <body>\n<h1>{kind}</h1>\n"
    );
    let products = (1..=site.shop_product_count()).filter(|id| category(*id) == kind);
    if let Some(id) = products.clone().nth(page as usize - 1) {
        html.push_str(&Product::new(id).card());
    }
    html.push_str("</body></html>\n");
    Html(html).into_response()
}

/// `/sitemap.xml`: an index of the shop's sitemap (gzip) and the blog's.
pub(super) async fn sitemap_index(headers: HeaderMap) -> Response {
    let base = base_of(&headers);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
         <sitemap><loc>{base}/sitemaps/shop.xml.gz</loc></sitemap>\n\
         <sitemap><loc>{base}/sitemaps/blog.xml</loc></sitemap>\n</sitemapindex>\n"
    );
    ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `/sitemaps/shop.xml.gz`: every product page, gzipped, served as a file
/// (no Content-Encoding), as sites serve `.xml.gz` sitemaps.
pub(super) async fn shop_sitemap(
    State(site): State<Arc<DemoSite>>,
    headers: HeaderMap,
) -> Response {
    let base = base_of(&headers);
    let xml = urlset((1..=site.shop_product_count()).map(|id| {
        format!(
            "<loc>{base}/shop/product/{id}</loc><lastmod>{}</lastmod>",
            Product::new(id).released_iso()
        )
    }));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = std::io::Write::write_all(&mut gz, xml.as_bytes());
    let body = gz.finish().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/gzip")], body).into_response()
}

/// `/sitemaps/blog.xml`: every blog post.
pub(super) async fn blog_sitemap(
    State(site): State<Arc<DemoSite>>,
    headers: HeaderMap,
) -> Response {
    let base = base_of(&headers);
    let xml = urlset((1..=site.post_count()).map(|id| format!("<loc>{base}/blog/post/{id}</loc>")));
    ([(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

/// A `<urlset>` with one `<url>` per entry (its children as given).
fn urlset(entries: impl Iterator<Item = String>) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for entry in entries {
        let _ = writeln!(xml, "<url>{entry}</url>");
    }
    xml.push_str("</urlset>\n");
    xml
}

/// `http://HOST` as the request named it (sitemap locations are absolute).
fn base_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use serde_json::Value;

    use super::*;
    use crate::demo::DemoServer;
    use crate::spider::Rate;
    use crate::{Crawl, CrawlOptions, Spider};

    async fn get(url: String) -> (u16, String) {
        let resp = reqwest::get(url).await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[test]
    fn euros_group_thousands_with_dots() {
        for (cents, text) in [
            (0, "€ 0,00"),
            (1_550, "€ 15,50"),
            (129_900, "€ 1.299,00"),
            (245_000, "€ 2.450,00"),
            (123_456_789, "€ 1.234.567,89"),
        ] {
            assert_eq!(euros(cents), text);
        }
    }

    #[tokio::test]
    async fn serves_cards_details_and_404s() {
        let server = DemoServer::start(DemoSite::default()).await.unwrap();
        let base = server.base_url();

        let (status, page1) = get(format!("{base}/shop/page/1")).await;
        assert_eq!(status, 200);
        assert_eq!(page1.matches("<div class=\"product\">").count(), 4);
        assert!(page1.contains("<p class=\"price\">€ 1.299,00</p>"));
        assert!(page1.contains(
            "<p class=\"price\"><s class=\"was\">€ 389,00</s> <ins class=\"sale\">€ 311,20</ins></p>"
        ));
        assert!(page1.contains("<a class=\"more\" href=\"/shop/product/4\">"));
        assert!(page1.contains("<a class=\"next\" href=\"/shop/page/2\">"));
        let (_, page2) = get(format!("{base}/shop/page/2")).await;
        assert!(
            page2.contains("<div class=\"tags\"></div>"),
            "product 7 has no tags"
        );
        assert!(!page2.contains("class=\"next\""));
        for past in [
            "/shop/page/0",
            "/shop/page/3",
            "/shop/product/0",
            "/shop/product/9",
        ] {
            assert_eq!(get(format!("{base}{past}")).await.0, 404, "{past}");
        }

        let (status, detail) = get(format!("{base}/shop/product/3")).await;
        assert_eq!(status, 200);
        let (head, body) = detail.split_once("</head>").unwrap();
        let ld_json = |part: &str| -> Value {
            let text = part
                .split("<script type=\"application/ld+json\">")
                .nth(1)
                .unwrap();
            serde_json::from_str(text.split("</script>").next().unwrap()).unwrap()
        };
        let product = ld_json(head);
        assert_eq!(product["@type"], "Product");
        assert_eq!(product["sku"], "TR-0003");
        assert_eq!(product["offers"]["price"], "311.20");
        assert_eq!(ld_json(body)["@type"], "BreadcrumbList");
        assert!(body.contains("<span class=\"released\">6 April 2023</span>"));
        assert!(body.contains("<tr><th>Weight</th><td>1,25 kg</td></tr>"));
    }

    #[tokio::test]
    async fn the_catalog_example_reads_every_product() {
        let server = DemoServer::start(DemoSite::default()).await.unwrap();
        let text = include_str!("../../examples/catalog.toml")
            .replace("127.0.0.1:8000", &server.addr().to_string());
        let mut spider = Spider::from_toml(&text, "examples/catalog.toml", "catalog").unwrap();
        spider.limits.rate = Rate::UNLIMITED;
        let records: Vec<Value> = Crawl::start(spider, CrawlOptions::default())
            .unwrap()
            .map(|record| serde_json::to_value(record.unwrap()).unwrap())
            .collect()
            .await;
        let specs = |colour: &str, material: &str, weight: &str| json!({"Colour": colour, "Material": material, "Weight": weight});
        let expected = [
            json!({"name": "Fjord Lamp", "price": 1299, "was": null, "tags": ["outdoor", "steel"],
                "page": 1, "position": 0, "sku": "TR-0001", "brand": "Søndag",
                "availability": "InStock", "released": "2024-06-12",
                "specs": specs("Slate grey", "Oak", "0,55 kg")}),
            json!({"name": "Kestrel Backpack", "price": 49.95, "was": null,
                "tags": ["gift", "oak", "kitchen"], "page": 1, "position": 1, "sku": "TR-0002",
                "brand": "Kobolt", "availability": "InStock", "released": "2025-11-23",
                "specs": specs("Oak brown", "Recycled plastic", "0,90 kg")}),
            json!({"name": "Pebble Clock", "price": 311.2, "was": 389, "tags": ["steel"],
                "page": 1, "position": 2, "sku": "TR-0003", "brand": "Nordlys",
                "availability": "InStock", "released": "2023-04-06",
                "specs": specs("White", "Steel", "1,25 kg")}),
            json!({"name": "Ember Chair", "price": 2450, "was": null, "tags": ["oak", "kitchen"],
                "page": 1, "position": 3, "sku": "TR-0004", "brand": "Søndag",
                "availability": "OutOfStock", "released": "2024-09-17",
                "specs": specs("Sage green", "Oak", "1,60 kg")}),
            json!({"name": "Juniper Kettle", "price": 15.5, "was": null,
                "tags": ["new", "outdoor", "steel"], "page": 2, "position": 0, "sku": "TR-0005",
                "brand": "Kobolt", "availability": "InStock", "released": "2025-02-28",
                "specs": specs("Red", "Recycled plastic", "1,95 kg")}),
            json!({"name": "Orchard Lamp", "price": 639.2, "was": 799, "tags": ["kitchen"],
                "page": 2, "position": 1, "sku": "TR-0006", "brand": "Nordlys",
                "availability": "InStock", "released": "2023-07-11",
                "specs": specs("Slate grey", "Steel", "2,30 kg")}),
            json!({"name": "Drift Backpack", "price": 129, "was": null, "tags": [],
                "page": 2, "position": 2, "sku": "TR-0007", "brand": "Søndag",
                "availability": "InStock", "released": "2024-12-22",
                "specs": specs("Oak brown", "Oak", "2,65 kg")}),
            json!({"name": "Indigo Clock", "price": 65, "was": null,
                "tags": ["gift", "oak", "kitchen"], "page": 2, "position": 3, "sku": "TR-0008",
                "brand": "Kobolt", "availability": "OutOfStock", "released": "2025-05-05",
                "specs": specs("White", "Recycled plastic", "3,00 kg")}),
        ];
        assert_eq!(records, expected);
    }

    /// An example spider against a fresh demo site, its records as JSON.
    async fn crawl_example(text: &str, origin: &str) -> Vec<Value> {
        let server = DemoServer::start(DemoSite::default()).await.unwrap();
        let text = text.replace("127.0.0.1:8000", &server.addr().to_string());
        let mut spider = Spider::from_toml(&text, origin, "example").unwrap();
        spider.limits.rate = Rate::UNLIMITED;
        Crawl::start(spider, CrawlOptions::default())
            .unwrap()
            .map(|record| serde_json::to_value(record.unwrap()).unwrap())
            .collect()
            .await
    }

    #[tokio::test]
    async fn the_levels_example_goes_category_by_category() {
        let records = crawl_example(
            include_str!("../../examples/shop-levels.toml"),
            "shop-levels.toml",
        )
        .await;
        let seen: Vec<(String, u64)> = records
            .iter()
            .map(|r| {
                let id = r["url"].as_str().unwrap().rsplit('/').next().unwrap();
                (
                    r["category"].as_str().unwrap().to_string(),
                    id.parse().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, u64)> = [
            ("Kettle", 5),
            ("Lamp", 1),
            ("Lamp", 6),
            ("Backpack", 2),
            ("Backpack", 7),
            ("Clock", 3),
            ("Clock", 8),
            ("Chair", 4),
        ]
        .iter()
        .map(|(c, id)| (c.to_string(), *id))
        .collect();
        assert_eq!(seen, expected);
        assert_eq!(records[1]["name"], "Fjord Lamp");
        assert_eq!(records[1]["released"], "2024-06-12");
    }

    #[tokio::test]
    async fn the_sitemap_example_reads_the_gzipped_sitemap_through_the_index() {
        let records =
            crawl_example(include_str!("../../examples/sitemap.toml"), "sitemap.toml").await;
        assert_eq!(
            records.len(),
            8,
            "the shop's products, not the blog's posts"
        );
        assert_eq!(records[0]["modified"], "2024-06-12");
        assert_eq!(records[0]["name"], "Fjord Lamp");
        assert_eq!(records[0]["price"], 1299);
        assert!(records[7]["url"]
            .as_str()
            .unwrap()
            .ends_with("/shop/product/8"));
    }

    #[tokio::test]
    async fn the_links_example_reads_every_post_of_the_first_page() {
        let records = crawl_example(include_str!("../../examples/links.toml"), "links.toml").await;
        let titles: Vec<&str> = records
            .iter()
            .map(|r| r["title"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (1..=DemoSite::default().items_per_page)
            .map(super::super::title)
            .collect();
        assert_eq!(titles, expected);
    }
}
