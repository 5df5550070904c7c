//! The built-in demo site: a small blog, a JSON product API and a shop.
//!
//! `trawl demo` serves it and crawls it; tests and benchmarks use it as a
//! site whose every page is known in advance. All content is generated from
//! the numbers in [`DemoSite`], so two runs serve the same bytes.
//!
//! | route | answer |
//! |---|---|
//! | `/robots.txt` | allows everything |
//! | `/blog/page/{n}` | `items_per_page` posts, and a `a.next` link on all but the last page |
//! | `/blog/post/{id}` | a detail page with `.description` and `.author` |
//! | `/api/products?page={n}` | `{"items": [...], "is_last_page": .., "page": n, "links": {"next": ..}}` |
//! | `/shop/page/{n}` | `shop_items_per_page` `.product` cards (name, price as `€ 1.299,00`, some on sale, tags, a link), and a `a.next` link on all but the last page |
//! | `/shop/` | the shop's home: a `nav.categories` menu, one link per kind |
//! | `/shop/category/{kind}?page={n}` | that kind's products, one card a page; a page past the last has none |
//! | `/sitemap.xml` | a sitemap index: `/sitemaps/shop.xml.gz` (every product, gzip, with `lastmod`) and `/sitemaps/blog.xml` |
//! | `/shop/product/{id}` | a detail page: Product ld+json in the head, BreadcrumbList ld+json in the body, a `table.specs` and a `.released` date |
//!
//! Pages past the end answer 404 (blog, shop) or an empty last page (API).

use std::fmt::Write as _;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod shop;

/// How long [`DemoServer::shutdown`] waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Words that titles and descriptions are built from.
const WORDS: [&str; 16] = [
    "amber", "brisk", "cobalt", "drift", "ember", "fjord", "granite", "harbor", "indigo",
    "juniper", "kestrel", "lantern", "meadow", "nimbus", "orchard", "pebble",
];

/// Shape of the demo site: how many pages of how many items each part has.
///
/// Every page is generated from these numbers, so a test knows in advance
/// what a crawl of it finds:
///
/// ```
/// use trawl::demo::DemoSite;
///
/// let site = DemoSite { pages: 40, items_per_page: 25, ..DemoSite::default() };
/// assert_eq!(site.post_count(), 1000);
/// assert_eq!(DemoSite::default().post_count(), 15);
/// assert_eq!(DemoSite::default().product_count(), 12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSite {
    /// Number of blog list pages, `/blog/page/1` to `/blog/page/{pages}`.
    pub pages: u32,
    /// Posts on each blog list page.
    pub items_per_page: u32,
    /// Number of non-empty API pages, `/api/products?page=1` onwards.
    pub api_pages: u32,
    /// Products on each non-empty API page.
    pub api_items_per_page: u32,
    /// Number of shop list pages, `/shop/page/1` to `/shop/page/{shop_pages}`.
    pub shop_pages: u32,
    /// Product cards on each shop list page.
    pub shop_items_per_page: u32,
}

impl Default for DemoSite {
    /// 3 blog pages of 5 posts, 3 API pages of 4 products, 2 shop pages of 4 products.
    fn default() -> Self {
        DemoSite {
            pages: 3,
            items_per_page: 5,
            api_pages: 3,
            api_items_per_page: 4,
            shop_pages: 2,
            shop_items_per_page: 4,
        }
    }
}

impl DemoSite {
    /// How many blog posts the site has (each with its own detail page).
    pub fn post_count(&self) -> u32 {
        self.pages * self.items_per_page
    }

    /// How many products the API serves across all its pages.
    pub fn product_count(&self) -> u32 {
        self.api_pages * self.api_items_per_page
    }

    /// How many products the shop has (each with its own detail page).
    pub fn shop_product_count(&self) -> u32 {
        self.shop_pages * self.shop_items_per_page
    }
}

/// A running demo server; dropping it shuts the server down.
///
/// Dropping stops it at once, cutting open connections; [`DemoServer::shutdown`]
/// lets requests in flight finish first. The server is a task on the Tokio
/// runtime it was started on.
///
/// ```
/// use trawl::demo::{DemoServer, DemoSite};
/// use trawl::fetch::Fetcher;
/// use trawl::spider::Limits;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let site = DemoServer::start(DemoSite::default()).await?; // a free port on 127.0.0.1
/// assert!(site.addr().ip().is_loopback());
/// let robots = url::Url::parse(&format!("{}/robots.txt", site.base_url()))?;
///
/// let fetcher = Fetcher::new(&Limits { allow_private: true, ..Limits::default() })?;
/// assert_eq!(fetcher.get(&robots).await?.text, "User-agent: *\nAllow: /\n");
/// site.shutdown().await; // or drop it
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl DemoServer {
    /// Serves `site` on `127.0.0.1` on a free port.
    ///
    /// # Errors
    ///
    /// When the listener cannot be bound.
    pub async fn start(site: DemoSite) -> std::io::Result<DemoServer> {
        DemoServer::start_on(site, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `site` on `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound (in use, or not a local address).
    pub async fn start_on(site: DemoSite, addr: SocketAddr) -> std::io::Result<DemoServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, router(site)).with_graceful_shutdown(async move {
            // A dropped sender counts as a stop too.
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve.into_future());
        Ok(DemoServer {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits (up to 5 s) for requests in
    /// flight to finish, then closes whatever is left.
    ///
    /// # Cancel safety
    ///
    /// Dropping this future drops the server, which then stops at once.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await;
        // `Drop` aborts the task if the grace period ran out.
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The demo site's routes, for serving on a listener of your own.
pub(crate) fn router(site: DemoSite) -> Router {
    Router::new()
        .route("/robots.txt", get(robots))
        .route("/blog/page/{n}", get(blog_page))
        .route("/blog/post/{id}", get(blog_post))
        .route("/api/products", get(api_products))
        .route("/shop/", get(shop::home))
        .route("/shop/category/{kind}", get(shop::category_page))
        .route("/sitemap.xml", get(shop::sitemap_index))
        .route("/sitemaps/shop.xml.gz", get(shop::shop_sitemap))
        .route("/sitemaps/blog.xml", get(shop::blog_sitemap))
        .route("/shop/page/{n}", get(shop::list_page))
        .route("/shop/product/{id}", get(shop::product_page))
        .with_state(Arc::new(site))
}

/// A deterministic phrase of `len` words for `id`.
fn words(id: u32, len: u32) -> String {
    let n = WORDS.len() as u64;
    let (id, len) = (u64::from(id), u64::from(len));
    let picked: Vec<&str> = (0..len)
        .map(|k| WORDS[((id * 7 + k * 5 + k * k) % n) as usize])
        .collect();
    picked.join(" ")
}

fn title(id: u32) -> String {
    format!("Post {id}: {}", words(id, 3))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn robots() -> &'static str {
    "User-agent: *\nAllow: /\n"
}

async fn blog_page(State(site): State<Arc<DemoSite>>, Path(n): Path<u32>) -> Response {
    if n == 0 || n > site.pages {
        return not_found();
    }
    let first = (n - 1) * site.items_per_page + 1;
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Blog, page {n}</title></head>\n\
         <body>\n<h1>Blog</h1>\n"
    );
    for id in first..first + site.items_per_page {
        let _ = writeln!(
            html,
            "<div class=\"item\"><h2 class=\"title\">{}</h2><a href=\"/blog/post/{id}\">read more</a></div>",
            title(id)
        );
    }
    if n < site.pages {
        let _ = writeln!(
            html,
            "<a class=\"next\" href=\"/blog/page/{}\">next</a>",
            n + 1
        );
    }
    html.push_str("</body></html>\n");
    Html(html).into_response()
}

async fn blog_post(State(site): State<Arc<DemoSite>>, Path(id): Path<u32>) -> Response {
    if id == 0 || id > site.post_count() {
        return not_found();
    }
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<article>\n<h1>{title}</h1>\n\
         <p class=\"description\">Description of post {id}. A few words on {words}.</p>\n\
         <span class=\"author\">Author {author}</span>\n</article>\n\
         <a href=\"/blog/page/1\">back to the blog</a>\n</body></html>\n",
        title = title(id),
        words = words(id + 1, 4),
        author = id % 7,
    );
    Html(html).into_response()
}

/// The API's query string.
#[derive(Deserialize)]
struct ApiQuery {
    /// 1-based; missing means 1.
    page: Option<u32>,
}

async fn api_products(State(site): State<Arc<DemoSite>>, Query(q): Query<ApiQuery>) -> Response {
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return not_found();
    }
    let items: Vec<serde_json::Value> = if page <= site.api_pages {
        let first = (page - 1) * site.api_items_per_page + 1;
        (first..first + site.api_items_per_page)
            .map(product)
            .collect()
    } else {
        Vec::new()
    };
    let is_last_page = page >= site.api_pages;
    let next = (!is_last_page).then(|| format!("/api/products?page={}", page + 1));
    let body = serde_json::json!({
        "items": items,
        "is_last_page": is_last_page,
        "page": page,
        "links": { "next": next },
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn product(id: u32) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": format!("Product {id}"),
        "price": f64::from(id) * 1.5,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(client: &reqwest::Client, url: String) -> (u16, String) {
        let resp = client.get(url).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn serves_list_detail_api_and_404s() {
        let server = DemoServer::start(DemoSite::default()).await.unwrap();
        let base = server.base_url();
        assert!(base.starts_with("http://127.0.0.1:"));
        let c = reqwest::Client::new();

        let (status, robots) = get(&c, format!("{base}/robots.txt")).await;
        assert_eq!(
            (status, robots.as_str()),
            (200, "User-agent: *\nAllow: /\n")
        );

        let (status, page2) = get(&c, format!("{base}/blog/page/2")).await;
        assert_eq!(status, 200);
        assert_eq!(page2.matches("<div class=\"item\">").count(), 5);
        assert!(page2.contains("<h2 class=\"title\">Post 6: "));
        assert!(page2.contains("<a href=\"/blog/post/10\">read more</a>"));
        assert!(!page2.contains("/blog/post/11\""));
        assert!(page2.contains("<a class=\"next\" href=\"/blog/page/3\">next</a>"));
        let (_, page3) = get(&c, format!("{base}/blog/page/3")).await;
        assert!(!page3.contains("class=\"next\""));
        assert_eq!(get(&c, format!("{base}/blog/page/4")).await.0, 404);
        assert_eq!(get(&c, format!("{base}/blog/page/0")).await.0, 404);

        let (status, post) = get(&c, format!("{base}/blog/post/9")).await;
        assert_eq!(status, 200);
        assert!(post.contains("<p class=\"description\">Description of post 9. "));
        assert!(post.contains("<span class=\"author\">Author 2</span>"));
        assert_eq!(get(&c, format!("{base}/blog/post/16")).await.0, 404);

        let (status, api) = get(&c, format!("{base}/api/products?page=2")).await;
        assert_eq!(status, 200);
        let api: serde_json::Value = serde_json::from_str(&api).unwrap();
        assert_eq!(api["page"], 2);
        assert_eq!(api["is_last_page"], false);
        assert_eq!(api["links"]["next"], "/api/products?page=3");
        let items = api["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0],
            serde_json::json!({"id": 5, "name": "Product 5", "price": 7.5})
        );

        let (_, last) = get(&c, format!("{base}/api/products?page=3")).await;
        let last: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(
            (last["is_last_page"].clone(), last["links"]["next"].clone()),
            (true.into(), serde_json::Value::Null)
        );
        let (_, past) = get(&c, format!("{base}/api/products?page=9")).await;
        let past: serde_json::Value = serde_json::from_str(&past).unwrap();
        assert_eq!(
            past,
            serde_json::json!({"items": [], "is_last_page": true, "page": 9, "links": {"next": null}})
        );
    }

    #[tokio::test]
    async fn content_is_deterministic_and_shutdown_stops_serving() {
        let site = DemoSite {
            pages: 1,
            items_per_page: 2,
            api_pages: 1,
            api_items_per_page: 1,
            shop_pages: 1,
            shop_items_per_page: 1,
        };
        let a = DemoServer::start(site).await.unwrap();
        let b = DemoServer::start(site).await.unwrap();
        let c = reqwest::Client::new();
        let url = |s: &DemoServer| format!("{}/blog/page/1", s.base_url());
        assert_eq!(get(&c, url(&a)).await, get(&c, url(&b)).await);

        let addr = a.addr();
        a.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        drop(b);
    }
}
