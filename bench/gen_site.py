#!/usr/bin/env python3
"""Generate the benchmark's static blog: deterministic, byte for byte.

    python3 bench/gen_site.py DIR --pages N --items M [--shop]
    python3 bench/gen_site.py DIR --levels C --pages N --items M
    python3 bench/gen_site.py DIR --graph N

The first form writes

    DIR/robots.txt                       allows everything
    DIR/blog/page/{n}/index.html         n = 1..N, ~23 KB, M items each
    DIR/blog/post/{id}/index.html        id = 1..N*M, ~12 KB
    DIR/site.json                        {"pages", "items", "records", "requests", "bytes", ...}

served as /blog/page/{n}/ and /blog/post/{id}/ by any static server that maps
a directory to its index.html (nginx does by default; so does slow_server.py).

Item i (0-based) of list page n is post id = (n-1)*M + i + 1, titled
"Post {id}", linking to /blog/post/{id}/. Its detail page holds
<p class="description"> and <span class="author">, whose text is a pure
function of the id (`expected_record` below), so verify.py can check every
record without a stored copy of the expected output.

--shop writes the same site with what a shop's pages carry besides: each list
item gains a price text ("€ 1.299,00"), two to five tags
(<div class="tags"><a> Rust </a> …</div>) and on every fourth item a badge;
each detail page gains two <script type="application/ld+json"> blocks, a
BreadcrumbList and a Product (name, sku, offers.price "1.299,00",
priceCurrency, on every third product a gtin13). The pages are padded to the
same sizes as without --shop, so the extra markup replaces filler
paragraphs; site.json's "bytes" says how close they came. Without --shop the
pages are byte for byte what they were before --shop existed, so scenario a
of bench/run measures what it always measured. `expected_fields_record` is
what bench/spiders/bench-fields.toml should make of it.

--levels C writes a shop of three levels (SPEC §8 seed levels) instead:

    DIR/shop/index.html                  the home page: C category links
    DIR/shop/cat/{c}/index.html          category c's first list page
    DIR/shop/cat/{c}/page/{p}/index.html its list page p (2..N), paged by a.next
    DIR/blog/post/{id}/index.html        the detail pages, as the blog's

Item i (0-based) of page p of category c is post id ((c-1)*N + p-1)*M + i + 1,
so ids run 1, 2, 3 ... in discovery order (depth first: all of category 1
before category 2). `expected_levels_record` is what
bench/spiders/bench-levels.toml should make of it.

--graph N writes a link graph (SPEC §8 link rules): DIR/g/{n}/index.html for
n = 0..N-1, ~3 KB each, titled "Node {n}", linking (in this order) to a
pseudo-random node, its children 4n+1 and 4n+2, another pseudo-random node,
its children 4n+3 and 4n+4, its parent and node 0 (those that exist), plus
navigation links outside /g/. The children make every node reachable from
node 0 within log4(N) + 1 levels; the other links make most links lead to
pages already seen. `graph_bfs_order` is the order of the records of a
breadth-first link crawl from node 0 (bench/spiders/bench-links.toml), node
0 itself being no record.
"""

import argparse
import json
import os
import sys

GENERATOR_VERSION = 1

LIST_PAGE_BYTES = 23 * 1024
DETAIL_PAGE_BYTES = 12 * 1024

WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure "
    "in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint "
    "occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
    "laborum crawler spider record stream page robots polite rate burst latency"
).split()

AUTHORS = (
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
    "Donald Knuth", "Frances Allen", "John McCarthy", "Margaret Hamilton", "Ken Thompson",
    "Radia Perlman", "Tony Hoare", "Leslie Lamport",
)

TOPICS = ("Rust", "Crawling", "HTTP", "Parsing", "Databases", "Async", "Testing", "Ops")

# Tags of the --shop variant, written in mixed case and with spaces inside the
# link, as shops do; the spider lowers them.
TAGS = TOPICS + ("Tokio", "Serde", "Robots", "Sitemaps", "JSON", "Sale")


def _word(seed, k):
    return WORDS[(seed * 7919 + k * 104729 + (seed >> 3) * k) % len(WORDS)]


def description(post_id):
    """The text of <p class="description"> on post `post_id`'s page."""
    words = " ".join(_word(post_id, k) for k in range(14))
    return f"Post {post_id} is about {words}."


def author(post_id):
    return AUTHORS[post_id % len(AUTHORS)]


def title(post_id):
    return f"Post {post_id}"


def post_path(post_id):
    return f"/blog/post/{post_id}/"


def page_path(page):
    return f"/blog/page/{page}/"


def expected_record(base, post_id):
    """The record a crawler should emit for `post_id`, keys in spider order."""
    return {
        "title": title(post_id),
        "url": base + post_path(post_id),
        "description": description(post_id),
        "author": author(post_id),
    }


# --- the --shop variant: what a shop page carries besides -------------------------

def sku(post_id):
    return f"TB-{post_id:06d}"


def price_cents(post_id):
    """From 0,50 to 3.000,49: about two thirds of them need a thousands separator."""
    return (post_id * 7919 + 1234) % 300000 + 50


def price_text(post_id):
    """The price as a German shop writes it: "1.299,00"."""
    euros, cents = divmod(price_cents(post_id), 100)
    return f"{euros:,}".replace(",", ".") + f",{cents:02d}"


def tags(post_id):
    """Two to five tags, as written in the page."""
    n = 2 + post_id % 4
    return [TAGS[(post_id * 5 + k * 3) % len(TAGS)] for k in range(n)]


def badge(post_id):
    return "SALE" if post_id % 4 == 0 else None


def product_name(post_id):
    return f"{TOPICS[post_id % len(TOPICS)]} kit no. {post_id}, by {author(post_id)}"


def gtin13(post_id):
    return f"{4006381000000 + post_id:013d}" if post_id % 3 == 0 else None


def breadcrumbs(post_id):
    topic = TOPICS[post_id % len(TOPICS)]
    return [("Home", "/"), (topic, f"/blog/tag/{topic.lower()}/"), (title(post_id), post_path(post_id))]


def expected_fields_record(base, post_id):
    """What bench/spiders/bench-fields.toml makes of post `post_id` on a --shop site."""
    return {
        "title": title(post_id),
        "url": base + post_path(post_id),
        "id": post_id,  # ".title::text | int"
        "author": author(post_id),  # ".meta::text | re: '^by (.+?) ·'"
        "list_price": price_cents(post_id) / 100,  # ".price::text | number"
        "tags": [t.lower() for t in tags(post_id)],  # "div.tags a::text[] | trim | lower"
        "badge": (badge(post_id) or "none").lower(),  # "… | lower | default: 'none'"
        "name": product_name(post_id),  # "[@type=Product].name"
        "sku": sku(post_id),
        "price": price_cents(post_id) / 100,  # "[@type=Product].offers.price | number"
        "currency": "EUR",
        "image": f"https://img.example/{sku(post_id).lower()}.jpg",  # "… | lower | fmt: …"
        "crumbs": [name for name, _ in breadcrumbs(post_id)],  # "…itemListElement[].name"
        "gtin": gtin13(post_id) or "none",  # "… | default: 'none'"
    }


def _shop_item_markup(post_id):
    links = " ".join(f'<a href="/blog/tag/{t.lower()}/"> {t} </a>' for t in tags(post_id))
    out = f'<p class="price">€ {price_text(post_id)}</p>\n<div class="tags">{links}</div>\n'
    if badge(post_id):
        out += f'<span class="badge">{badge(post_id)}</span>\n'
    return out


def _ld_json(doc):
    # "</" cannot occur in this data; a real page would escape it as "<\/".
    return f'<script type="application/ld+json">{json.dumps(doc, ensure_ascii=False)}</script>\n'


def _shop_detail_markup(post_id):
    crumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": k, "name": name, "item": path}
            for k, (name, path) in enumerate(breadcrumbs(post_id), 1)
        ],
    }
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product_name(post_id),
        "sku": sku(post_id),
        "description": description(post_id),
        "brand": {"@type": "Brand", "name": author(post_id)},
        "offers": {
            "@type": "Offer",
            "price": price_text(post_id),
            "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock",
        },
    }
    if gtin13(post_id):
        product["gtin13"] = gtin13(post_id)
    return _ld_json(crumbs) + _ld_json(product)


# --- filler: a small fixed set of paragraphs, picked per page by number ---------

def _paragraph(seed, n_words):
    return " ".join(_word(seed, k) for k in range(n_words)).capitalize() + "."


FILLER = [
    f"<p>{_paragraph(1000 + i, 60)} {_paragraph(2000 + i, 45)}</p>" for i in range(37)
]


def _filler(seed, n_bytes):
    """Realistic-looking paragraphs, about `n_bytes` of them."""
    out, size, k = [], 0, 0
    while size < n_bytes:
        p = FILLER[(seed + k * 11) % len(FILLER)]
        out.append(p)
        size += len(p) + 1
        k += 1
    return "\n".join(out)


def _head(page_title, desc):
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{page_title} · The Trawl Bench Blog</title>
<meta name="description" content="{desc}">
<link rel="stylesheet" href="/static/site.css">
<link rel="alternate" type="application/rss+xml" href="/feed.xml" title="RSS">
<style>
body{{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}}
header,footer{{background:#1d3557;color:#f1faee;padding:1rem 2rem}}
nav a{{color:#f1faee;margin-right:1rem;text-decoration:none}}
main{{display:grid;grid-template-columns:3fr 1fr;gap:2rem;padding:2rem;max-width:72rem;margin:auto}}
.widget{{background:#fff;border:1px solid #ddd;border-radius:4px;padding:1rem;margin-bottom:1rem}}
.pager a{{padding:.2rem .5rem;border:1px solid #ccc;margin:0 .1rem}}
</style>
</head>
<body>
<header>
<a class="logo" href="/">The Trawl Bench Blog</a>
<nav>
<a href="/">Home</a><a href="/blog/page/1/">Blog</a><a href="/about/">About</a>
<a href="/archive/">Archive</a><a href="/tags/">Tags</a><a href="/contact/">Contact</a>
</nav>
</header>
"""


def _sidebar(seed):
    recent = "\n".join(
        f'<li><a href="/blog/tag/{t.lower()}/">{t}</a> <small>({(seed * 7 + i * 13) % 90 + 10})</small></li>'
        for i, t in enumerate(TOPICS)
    )
    archive = "\n".join(
        f'<li><a href="/archive/20{y:02d}/{m:02d}/">20{y:02d}-{m:02d}</a></li>'
        for y in (23, 24) for m in range(1, 13)
    )
    return f"""<aside>
<section class="widget"><h3>Search</h3>
<form action="/search" method="get"><input type="search" name="q" placeholder="Search posts"><button>Go</button></form>
</section>
<section class="widget"><h3>Topics</h3><ul>
{recent}
</ul></section>
<section class="widget"><h3>Archive</h3><ul>
{archive}
</ul></section>
<section class="widget"><h3>About</h3>
{FILLER[seed % len(FILLER)]}
</section>
</aside>
"""


def _footer():
    return """<footer>
<p>&copy; 2024 The Trawl Bench Blog. Generated for benchmarking; every page is static.</p>
<nav><a href="/privacy/">Privacy</a><a href="/terms/">Terms</a><a href="/feed.xml">RSS</a></nav>
</footer>
</body>
</html>
"""


def _pad(html_before_footer, target, seed):
    size = len(html_before_footer.encode()) + len(_footer())
    if size >= target:
        return ""
    return '<section class="more">\n' + _filler(seed, target - size - 40) + "\n</section>\n"


def list_page(page, pages, items, shop=False):
    first = (page - 1) * items + 1
    rows = []
    for post_id in range(first, first + items):
        rows.append(
            f'<div class="item">\n'
            f'<h2 class="title">{title(post_id)}</h2>\n'
            f'<p class="meta">by {author(post_id)} · {TOPICS[post_id % len(TOPICS)]}</p>\n'
            f'<p class="excerpt">{description(post_id)[:90]}…</p>\n'
            f'<a href="{post_path(post_id)}">Read more</a>\n'
            + (_shop_item_markup(post_id) if shop else "")
            + "</div>"
        )
    pager = []
    if page > 1:
        pager.append(f'<a class="prev" href="{page_path(page - 1)}">Newer</a>')
    for p in range(max(1, page - 3), min(pages, page + 3) + 1):
        pager.append(f'<a href="{page_path(p)}">{p}</a>')
    if page < pages:
        pager.append(f'<a class="next" href="{page_path(page + 1)}">Older</a>')
    body = (
        _head(f"Blog, page {page}", f"Posts {first} to {first + items - 1}")
        + "<main>\n<section class=\"posts\">\n"
        + f"<h1>Blog — page {page} of {pages}</h1>\n"
        + "\n".join(rows)
        + '\n<div class="pager">' + " ".join(pager) + "</div>\n</section>\n"
        + _sidebar(page)
        + "</main>\n"
    )
    return body + _pad(body, LIST_PAGE_BYTES, page) + _footer()


def detail_page(post_id, shop=False):
    body = (
        _head(title(post_id), description(post_id)[:120])
        + "<main>\n<article>\n"
        + f'<h1 class="post-title">{title(post_id)}</h1>\n'
        + f'<p class="byline">By <span class="author">{author(post_id)}</span>'
        + f' in <a href="/blog/tag/{TOPICS[post_id % len(TOPICS)].lower()}/">{TOPICS[post_id % len(TOPICS)]}</a></p>\n'
        + f'<p class="description">{description(post_id)}</p>\n'
        + (_shop_detail_markup(post_id) if shop else "")
        + '<div class="body">\n'
    )
    tail = "</div>\n</article>\n" + _sidebar(post_id) + "</main>\n"
    pad = _filler(post_id, DETAIL_PAGE_BYTES - len(body.encode()) - len(tail) - len(_footer()) - 40)
    return body + pad + "\n" + tail + _footer()


# --- --levels: home -> categories -> paged lists -> detail pages -----------------

def category_name(c):
    return f"{TOPICS[(c - 1) % len(TOPICS)]} {c}"


def levels_post_id(c, p, i, pages, items):
    return ((c - 1) * pages + p - 1) * items + i + 1


def levels_category_of(post_id, pages, items):
    return (post_id - 1) // (pages * items) + 1


def expected_levels_record(base, post_id, manifest):
    """What bench/spiders/bench-levels.toml makes of post `post_id` on a --levels site."""
    c = levels_category_of(post_id, manifest["pages"], manifest["items"])
    return {"category": category_name(c), **expected_record(base, post_id)}


def levels_list_path(c, p):
    return f"/shop/cat/{c}/" if p == 1 else f"/shop/cat/{c}/page/{p}/"


def levels_home(categories):
    links = "\n".join(
        f'<li><a href="{levels_list_path(c, 1)}">{category_name(c)}</a></li>'
        for c in range(1, categories + 1)
    )
    body = (
        _head("Shop", f"{categories} categories")
        + '<main>\n<section class="shop">\n<h1>Shop</h1>\n'
        + f'<ul class="categories">\n{links}\n</ul>\n</section>\n'
        + _sidebar(0)
        + "</main>\n"
    )
    return body + _footer()


def levels_list_page(c, p, pages, items):
    rows = []
    for i in range(items):
        post_id = levels_post_id(c, p, i, pages, items)
        rows.append(
            f'<div class="item">\n'
            f'<h2 class="title">{title(post_id)}</h2>\n'
            f'<p class="meta">by {author(post_id)} · {category_name(c)}</p>\n'
            f'<p class="excerpt">{description(post_id)[:90]}…</p>\n'
            f'<a href="{post_path(post_id)}">Read more</a>\n'
            "</div>"
        )
    pager = []
    if p > 1:
        pager.append(f'<a class="prev" href="{levels_list_path(c, p - 1)}">Newer</a>')
    for q in range(max(1, p - 3), min(pages, p + 3) + 1):
        pager.append(f'<a href="{levels_list_path(c, q)}">{q}</a>')
    if p < pages:
        pager.append(f'<a class="next" href="{levels_list_path(c, p + 1)}">Older</a>')
    body = (
        _head(f"{category_name(c)}, page {p}", f"{category_name(c)}: page {p} of {pages}")
        + "<main>\n<section class=\"posts\">\n"
        + f"<h1>{category_name(c)} — page {p} of {pages}</h1>\n"
        + "\n".join(rows)
        + '\n<div class="pager">' + " ".join(pager) + "</div>\n</section>\n"
        + _sidebar(c * 1000 + p)
        + "</main>\n"
    )
    return body + _pad(body, LIST_PAGE_BYTES, c * 1000 + p) + _footer()


def generate_levels(root, categories, pages, items):
    manifest = {
        "generator": GENERATOR_VERSION,
        "variant": "levels",
        "categories": categories,
        "pages": pages,
        "items": items,
        "records": categories * pages * items,
        # home + list pages + detail pages + robots.txt
        "requests": 1 + categories * pages * (1 + items) + 1,
    }
    return _generate(root, manifest, lambda: _write_levels(root, categories, pages, items))


def _write_levels(root, categories, pages, items):
    d = os.path.join(root, "shop")
    os.makedirs(d, exist_ok=True)
    size = _write(os.path.join(d, "index.html"), levels_home(categories))
    for c in range(1, categories + 1):
        for p in range(1, pages + 1):
            d = os.path.join(root, levels_list_path(c, p).strip("/"))
            os.makedirs(d, exist_ok=True)
            size += _write(os.path.join(d, "index.html"), levels_list_page(c, p, pages, items))
    for post_id in range(1, categories * pages * items + 1):
        d = os.path.join(root, "blog", "post", str(post_id))
        os.makedirs(d, exist_ok=True)
        size += _write(os.path.join(d, "index.html"), detail_page(post_id))
    return size


# --- --graph: a link graph --------------------------------------------------------

GRAPH_PAGE_BYTES = 3 * 1024


def graph_path(n):
    return f"/g/{n}/"


def node_title(n):
    return f"Node {n}"


def graph_links(n, nodes):
    """The /g/ links of node `n`, in document order (repeats included)."""
    kids = [k for k in range(4 * n + 1, 4 * n + 5) if k < nodes]
    out = [(n * 7919 + 13) % nodes] + kids[:2] + [(n * 104729 + 7) % nodes] + kids[2:]
    if n > 0:
        out.append((n - 1) // 4)
    out.append(0)
    return out


def graph_bfs_order(nodes):
    """The nodes a breadth-first link crawl from node 0 records, in order."""
    seen = bytearray(nodes)
    seen[0] = 1
    order, head = [0], 0
    while head < len(order):
        for k in graph_links(order[head], nodes):
            if not seen[k]:
                seen[k] = 1
                order.append(k)
        head += 1
    return order[1:]


def expected_graph_record(base, n):
    """What bench/spiders/bench-links.toml makes of node `n`."""
    return {"url": base + graph_path(n), "title": node_title(n)}


def graph_page(n, nodes):
    links = "\n".join(
        f'<li><a href="{graph_path(k)}">{node_title(k)}</a></li>' for k in graph_links(n, nodes)
    )
    body = (
        f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{node_title(n)} · The Trawl Bench Graph</title>\n</head>\n<body>\n"
        '<nav><a href="/">Home</a> <a href="/about/">About</a> <a href="/tags/">Tags</a> '
        '<a href="/feed.xml">RSS</a></nav>\n'
        f"<main>\n<h1>{node_title(n)}</h1>\n<ul class=\"links\">\n{links}\n</ul>\n"
    )
    tail = "</main>\n</body>\n</html>\n"
    pad = _filler(n, GRAPH_PAGE_BYTES - len(body.encode()) - len(tail) - 40)
    return body + '<section class="more">\n' + pad + "\n</section>\n" + tail


def generate_graph(root, nodes):
    manifest = {
        "generator": GENERATOR_VERSION,
        "variant": "graph",
        "nodes": nodes,
        "records": nodes - 1,
        # every node + robots.txt
        "requests": nodes + 1,
    }
    return _generate(root, manifest, lambda: _write_graph(root, nodes))


def _write_graph(root, nodes):
    size = 0
    for n in range(nodes):
        d = os.path.join(root, "g", str(n))
        os.makedirs(d, exist_ok=True)
        size += _write(os.path.join(d, "index.html"), graph_page(n, nodes))
    return size


def _generate(root, manifest, write_pages):
    """Writes robots.txt, the pages (`write_pages()` returns their size) and
    site.json, unless site.json says the same site is there already."""
    os.makedirs(root, exist_ok=True)
    manifest_path = os.path.join(root, "site.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
        if {k: v for k, v in old.items() if k != "bytes"} == manifest:
            return old  # already generated, identically
    _write(os.path.join(root, "robots.txt"), "User-agent: *\nAllow: /\n")
    manifest["bytes"] = write_pages()
    _write(manifest_path + ".tmp", json.dumps(manifest))
    os.replace(manifest_path + ".tmp", manifest_path)
    return manifest


def _write(path, text):
    """Writes `text`; returns its size in bytes."""
    data = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def generate(root, pages, items, shop=False):
    os.makedirs(root, exist_ok=True)
    manifest = {
        "generator": GENERATOR_VERSION,
        "variant": "shop" if shop else "blog",
        "pages": pages,
        "items": items,
        "records": pages * items,
        # list pages + detail pages + robots.txt
        "requests": pages + pages * items + 1,
    }
    manifest_path = os.path.join(root, "site.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
        if {k: v for k, v in old.items() if k != "bytes"} == manifest:
            return old  # already generated, identically
    _write(os.path.join(root, "robots.txt"), "User-agent: *\nAllow: /\n")
    size = 0  # of the list and detail pages
    for page in range(1, pages + 1):
        d = os.path.join(root, "blog", "page", str(page))
        os.makedirs(d, exist_ok=True)
        size += _write(os.path.join(d, "index.html"), list_page(page, pages, items, shop))
    for post_id in range(1, pages * items + 1):
        d = os.path.join(root, "blog", "post", str(post_id))
        os.makedirs(d, exist_ok=True)
        size += _write(os.path.join(d, "index.html"), detail_page(post_id, shop))
    manifest["bytes"] = size
    _write(manifest_path + ".tmp", json.dumps(manifest))
    os.replace(manifest_path + ".tmp", manifest_path)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--pages", type=int, help="list pages (N; with --levels, per category)")
    ap.add_argument("--items", type=int, help="items per list page (M)")
    ap.add_argument("--shop", action="store_true",
                    help="add a shop's markup: prices, tags, ld+json (bench/spiders/bench-fields.toml)")
    ap.add_argument("--levels", type=int, metavar="C",
                    help="a shop of C categories: home -> categories -> lists -> details "
                         "(bench/spiders/bench-levels.toml)")
    ap.add_argument("--graph", type=int, metavar="N",
                    help="a link graph of N pages instead (bench/spiders/bench-links.toml)")
    args = ap.parse_args(argv)
    if args.graph is not None:
        if args.graph < 2 or args.pages or args.items or args.shop or args.levels:
            ap.error("--graph N takes N >= 2 and no other option")
        m = generate_graph(args.dir, args.graph)
        print(f"site: {args.dir}: graph of {m['nodes']} pages, {m['records']} records, "
              f"{m['bytes']:,} bytes of pages", file=sys.stderr)
        return
    if not args.pages or not args.items or args.pages < 1 or args.items < 1:
        ap.error("--pages and --items must be at least 1")
    if args.levels is not None:
        if args.levels < 1 or args.shop:
            ap.error("--levels C takes C >= 1, without --shop")
        m = generate_levels(args.dir, args.levels, args.pages, args.items)
        print(f"site: {args.dir}: levels, {m['categories']} categories x {m['pages']} list pages x "
              f"{m['items']} items = {m['records']} records, {m['requests']} requests, "
              f"{m['bytes']:,} bytes of pages", file=sys.stderr)
        return
    m = generate(args.dir, args.pages, args.items, args.shop)
    print(
        f"site: {args.dir}: {m['variant']}, {m['pages']} list pages x {m['items']} items = "
        f"{m['records']} records, {m['requests']} requests, {m['bytes']:,} bytes of pages",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
