#!/usr/bin/env python3
"""The benchmark's crawl written for Scrapy, to run beside trawl.

    bench/.venv/bin/python bench/scrapy_bench.py --base http://127.0.0.1:PORT --pages N -o OUT.jsonl

The same seed pattern as bench/spiders/bench.toml: list pages 1..N (a
template, no link following), every `.item` gives title and url, the url is
fetched for description and author, one record per item written as JSON
Lines. Politeness is off (no robots.txt, no delay, no AutoThrottle, 64
requests in flight per domain); everything else is Scrapy's default, as a
user would run it. Records come out in completion order (Scrapy does not
keep discovery order), so bench/run checks them without --ordered.
"""

import argparse
import sys

import scrapy
from scrapy.crawler import CrawlerProcess


def text(sel):
    """Like trawl's `::text`: all text inside the first match, whitespace collapsed."""
    first = sel[:1]
    if not first:
        return None
    return " ".join("".join(first.css("::text").getall()).split())


class BenchSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, base, pages, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [f"{base}/blog/page/{n}/" for n in range(1, int(pages) + 1)]

    def parse(self, response):
        for item in response.css(".item"):
            href = item.css("a::attr(href)").get()
            record = {
                "title": text(item.css(".title")),
                "url": response.urljoin(href) if href is not None else None,
            }
            if record["url"] is None:
                yield {**record, "description": None, "author": None}
                continue
            yield scrapy.Request(record["url"], callback=self.parse_detail, cb_kwargs={"record": record})

    def parse_detail(self, response, record):
        yield {
            **record,
            "description": text(response.css(".description")),
            "author": text(response.css(".author")),
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--pages", type=int, required=True, help="list pages (N)")
    ap.add_argument("-o", "--output", required=True, help="JSON Lines file to write")
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args(argv)

    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "DOWNLOAD_DELAY": 0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {args.output: {"format": "jsonlines", "encoding": "utf-8", "overwrite": True}},
    })
    crawler = process.create_crawler(BenchSpider)
    process.crawl(crawler, base=args.base.rstrip("/"), pages=args.pages)
    process.start()
    stats = crawler.stats.get_stats()
    print(
        f"scrapy {scrapy.__version__}: {stats.get('downloader/response_count', 0)} responses, "
        f"{stats.get('item_scraped_count', 0)} items, "
        f"{stats.get('log_count/ERROR', 0)} errors, finish reason {stats.get('finish_reason')}",
        file=sys.stderr,
    )
    return 1 if stats.get("log_count/ERROR", 0) or stats.get("finish_reason") != "finished" else 0


if __name__ == "__main__":
    sys.exit(main())
