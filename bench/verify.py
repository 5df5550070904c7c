#!/usr/bin/env python3
"""Check a crawl's JSON Lines output against the generated site.

    python3 bench/verify.py OUT.jsonl --site DIR --base http://127.0.0.1:PORT
                            [--spider bench|bench-open|bench-next|bench-prefetch|bench-fields|bench-levels|bench-links] [--ordered]

Every record must equal what the spider (bench/spiders/SPIDER.toml) should
make of post `id` exactly: gen_site.expected_record(base, id) for bench.toml
(keys title, url, description, author), gen_site.expected_fields_record for
bench-fields.toml (which needs a --shop site), expected_levels_record for
bench-levels.toml (a --levels site; the category first), and for
bench-links.toml (a --graph site) expected_graph_record of node `id` (url,
title); keys in spider order, and a number of the same JSON type: an integer
where an integer is expected, any number of the same value where a float is
(1299 and 1299.0 are both the price "1.299,00"). Every id must appear exactly
once; with --ordered, in discovery order (1, 2, 3, ... ; for the graph, the
breadth-first order of gen_site.graph_bfs_order). Exits 1 with the first
problems listed otherwise.
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_site  # noqa: E402

POST = re.compile(r"^Post (\d+)$")
NODE = re.compile(r"^Node (\d+)$")

# spider (bench/spiders/NAME.toml) -> (its expected record (base, id, manifest),
# the site variant it needs, the title that gives a record's id)
SPIDERS = {
    "bench": (lambda base, i, m: gen_site.expected_record(base, i), None, POST),
    "bench-fields": (lambda base, i, m: gen_site.expected_fields_record(base, i), "shop", POST),
    "bench-levels": (gen_site.expected_levels_record, "levels", POST),
    "bench-links": (lambda base, i, m: gen_site.expected_graph_record(base, i), "graph", NODE),
}
# The paging variants write the same records as bench.toml.
for _name in ("bench-open", "bench-next", "bench-prefetch"):
    SPIDERS[_name] = SPIDERS["bench"]


def discovery_order(manifest):
    """The ids in the order the records must come: 1, 2, 3 ... or, for a
    graph, breadth first from node 0."""
    if manifest.get("variant") == "graph":
        return gen_site.graph_bfs_order(manifest["nodes"])
    return range(1, manifest["records"] + 1)


def same(got, want):
    """Equal as JSON values: types compared as JSON has them (1 is not 1.0 unless a float is wanted)."""
    if isinstance(want, bool) or want is None or isinstance(want, str):
        return type(got) is type(want) and got == want
    if isinstance(want, int):
        return type(got) is int and got == want
    if isinstance(want, float):
        return type(got) in (int, float) and got == want
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, dict):
        return (isinstance(got, dict) and list(got) == list(want)
                and all(same(got[k], want[k]) for k in want))
    raise TypeError(f"unexpected expected value {want!r}")


def verify(path, site, base, ordered, spider="bench"):
    with open(os.path.join(site, "site.json")) as f:
        manifest = json.load(f)
    expected_record, variant, title_re = SPIDERS[spider]
    have = manifest.get("variant", "blog")
    if (variant and have != variant) or (not variant and have not in ("blog", "shop")):
        return False, f"{spider}.toml needs a {'--' + variant if variant else 'blog'} site", [
            f"{site} is a {have} site"]
    want = manifest["records"]
    order = discovery_order(manifest)
    # rank[id] = the record's place in discovery order, from 1; 0 = no record
    rank = [0] * (max(order) + 1)
    for place, i in enumerate(order, 1):
        rank[i] = place
    problems = []
    seen = bytearray(len(rank))
    count = dupes = unknown = out_of_order = 0
    prev = 0

    def problem(msg):
        if len(problems) < 10:
            problems.append(msg)

    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                problem(f"line {lineno}: empty line")
                continue
            count += 1
            try:
                rec = json.loads(line)
            except ValueError as e:
                problem(f"line {lineno}: not JSON: {e}")
                continue
            m = title_re.match(str(rec.get("title"))) if isinstance(rec, dict) else None
            if not m:
                unknown += 1
                problem(f"line {lineno}: no {title_re.pattern!r} title: {line.strip()[:200]}")
                continue
            post_id = int(m.group(1))
            if not 0 <= post_id < len(rank) or not rank[post_id]:
                unknown += 1
                problem(f"line {lineno}: {m.group(0)} is not a record of the site")
                continue
            if seen[post_id]:
                dupes += 1
                problem(f"line {lineno}: {m.group(0)} written twice")
            seen[post_id] = 1
            if ordered and rank[post_id] != prev + 1:
                out_of_order += 1
                problem(f"line {lineno}: {m.group(0)} is record {rank[post_id]} in discovery order, "
                        f"after record {prev}")
            prev = rank[post_id]
            expected = expected_record(base, post_id, manifest)
            if list(rec.keys()) != list(expected):
                problem(f"line {lineno}: keys {list(rec.keys())}, expected {list(expected)}")
            elif not same(rec, expected):
                diff = {k: (rec.get(k), v) for k, v in expected.items() if not same(rec.get(k), v)}
                problem(f"line {lineno}: post {post_id}: (got, expected) {diff}")

    missing = want - sum(seen)
    if missing:
        first = [i for i in order if not seen[i]][:10]
        problem(f"{missing} posts missing, first: {first}")
    ok = not problems
    summary = (
        f"{count} records (want {want}), {missing} missing, {dupes} duplicated"
        + (f", {out_of_order} out of order" if ordered else "")
        + (f", {unknown} unknown" if unknown else "")
    )
    return ok, summary, problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output")
    ap.add_argument("--site", required=True, help="the generated site's directory")
    ap.add_argument("--base", required=True, help="scheme://host:port the crawl ran against")
    ap.add_argument("--spider", choices=sorted(SPIDERS), default="bench",
                    help="the spider that wrote the output (bench/spiders/SPIDER.toml); default bench")
    ap.add_argument("--ordered", action="store_true", help="also require discovery order")
    args = ap.parse_args(argv)
    ok, summary, problems = verify(args.output, args.site, args.base.rstrip("/"), args.ordered, args.spider)
    if ok:
        print(f"verified: {summary}")
        return 0
    print(f"VERIFY FAILED: {args.output}: {summary}", file=sys.stderr)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
