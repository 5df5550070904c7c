#!/usr/bin/env python3
"""Bookkeeping for bench/run: one row per measured run, then the table.

    report.py record LABEL RUN REQUESTS WALL_NS TIME_FILE >> runs.tsv
    report.py table SCENARIOS.tsv RUNS.tsv [--targets] [--header TEXT]

SCENARIOS.tsv has one row per scenario: LABEL, TITLE, REQUESTS, and BYTES,
the size of the site's list and detail pages (gen_site.py's site.json).

`record` reads GNU time's `-v` report (user, system, maximum RSS; TIME_FILE
may be "-" when /usr/bin/time is missing: those columns are then blank) and
prints one tab-separated row. `table` prints the Markdown table, medians over
the runs of each scenario (peak RSS is the largest of them), the comparisons
between scenarios, and with --targets the issue's targets, met or not.
"""

import statistics
import sys


def parse_time_v(path):
    user = sys_ = rss = None
    if path != "-":
        with open(path) as f:
            for line in f:
                key, _, value = line.strip().rpartition(": ")
                if key == "User time (seconds)":
                    user = float(value)
                elif key == "System time (seconds)":
                    sys_ = float(value)
                elif key == "Maximum resident set size (kbytes)":
                    rss = int(value)
    return user, sys_, rss


def record(label, run, requests, wall_ns, time_file):
    user, sys_, rss = parse_time_v(time_file)
    cells = [label, run, requests, f"{int(wall_ns) / 1e9:.3f}",
             "" if user is None else f"{user:.2f}",
             "" if sys_ is None else f"{sys_:.2f}",
             "" if rss is None else str(rss)]
    print("\t".join(cells))


def load(scenarios_path, runs_path):
    scenarios = []
    with open(scenarios_path) as f:
        for line in f:
            if line.strip():
                label, title, requests, size = line.rstrip("\n").split("\t")
                scenarios.append((label, title, int(requests), int(size)))
    runs = {}
    with open(runs_path) as f:
        for line in f:
            if not line.strip():
                continue
            label, _run, requests, wall, user, sys_, rss = line.rstrip("\n").split("\t")
            runs.setdefault(label, []).append({
                "requests": int(requests),
                "wall": float(wall),
                "cpu": float(user) + float(sys_) if user and sys_ else None,
                "rss": int(rss) if rss else None,
            })
    return scenarios, runs


def summarize(title, requests, size, rs):
    wall = statistics.median(r["wall"] for r in rs)
    cpus = [r["cpu"] for r in rs if r["cpu"] is not None]
    rsss = [r["rss"] for r in rs if r["rss"] is not None]
    return {
        "title": title,
        "requests": requests,
        "bytes": size,
        "runs": len(rs),
        "wall": wall,
        "pps": requests / wall if wall > 0 else float("inf"),
        "cpu_per_1000": statistics.median(cpus) / requests * 1000 if cpus else None,
        "rss_mib": max(rsss) / 1024 if rsss else None,
    }


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def change(new, old):
    """"+12.3 %": how much `new` is above (or below) `old`."""
    return f"{(new / old - 1) * 100:+.1f} %"


def fields_note(a, f):
    """What the spider language's features cost: scenario f against scenario a."""
    cpu = rss = ""
    if a["cpu_per_1000"] and f["cpu_per_1000"]:
        cpu = (f"; CPU-s per 1,000 pages {f['cpu_per_1000']:.3f} against {a['cpu_per_1000']:.3f} "
               f"(**{change(f['cpu_per_1000'], a['cpu_per_1000'])}**)")
    if a["rss_mib"] and f["rss_mib"]:
        rss = f"; peak RSS {f['rss_mib']:.1f} MiB against {a['rss_mib']:.1f} MiB"
    fa, ff = (x["bytes"] / (x["requests"] - 1) for x in (a, f))  # bytes per page, robots.txt aside
    return (
        f"- filters, `[]` and `json_from` (bench-fields.toml, 14 fields, against bench.toml's 4): "
        f"{f['pps']:,.0f} pages/s against {a['pps']:,.0f} "
        f"({change(f['pps'], a['pps'])}){cpu}{rss}. The shop variant's pages carry the same "
        f"filler less what the prices, tags and ld+json replace: "
        f"{ff:,.0f} bytes per page against {fa:,.0f} ({change(ff, fa)})."
    )


def table(scenarios_path, runs_path, targets=False, header=None):
    scenarios, runs = load(scenarios_path, runs_path)
    s = {label: summarize(title, req, size, runs[label])
         for label, title, req, size in scenarios if label in runs}
    out = []
    if header:
        out += [header, ""]
    out.append("| scenario | requests | runs | pages/s | CPU-s / 1,000 pages | peak RSS MiB | wall s (median) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for label, *_ in scenarios:
        if label not in s:
            continue
        x = s[label]
        out.append(
            f"| {x['title']} | {x['requests']:,} | {x['runs']} | {x['pps']:,.0f} | "
            f"{fmt(x['cpu_per_1000'], '.3f')} | {fmt(x['rss_mib'], '.1f')} | {x['wall']:.2f} |"
        )
    out.append("")
    out.append("Medians over the runs; peak RSS is the largest of the runs. Pages = list pages + "
               "detail pages + robots.txt. CPU = user + system time of the crawler process only.")
    notes = []
    a, b, c, d, d0, e, f = (s.get(k) for k in ("a", "b", "c", "d", "d0", "e", "f"))
    g, h = s.get("g"), s.get("h")
    if a and b:
        cpu = (f", {b['cpu_per_1000'] / a['cpu_per_1000']:.1f}x less CPU per page"
               if a["cpu_per_1000"] and b["cpu_per_1000"] else "")
        notes.append(f"- trawl / Scrapy: **{a['pps'] / b['pps']:.1f}x** the pages/s{cpu}.")
    if a and c and a["rss_mib"] and c["rss_mib"]:
        notes.append(f"- memory: peak RSS {c['rss_mib']:.1f} MiB on {c['requests']:,} requests against "
                     f"{a['rss_mib']:.1f} MiB on {a['requests']:,} ({c['rss_mib'] / a['rss_mib']:.2f}x).")
    if d:
        notes.append(f"- latency: {d['pps']:,.0f} pages/s against the 1,000 pages/s ceiling of 100 ms x "
                     f"100 in flight ({d['pps'] / 10:.0f} %).")
    if d0:
        notes.append(f"- the latency scenario's server (bench/slow_server.py) with no delay: trawl got "
                     f"{d0['pps']:,.0f} pages/s from it, so the server alone is no bound below that "
                     f"(the server's own count of requests in flight is in the run's log).")
    if a and f:
        notes.append(fields_note(a, f))
    if a and e:
        notes.append(f"- `--state`: {e['pps']:,.0f} pages/s against {a['pps']:,.0f} without: costs "
                     f"**{(1 - e['pps'] / a['pps']) * 100:.1f} %** of pages/s.")
    if a and g:
        cpu = (f"; CPU-s per 1,000 pages {g['cpu_per_1000']:.3f} against {a['cpu_per_1000']:.3f} "
               f"({change(g['cpu_per_1000'], a['cpu_per_1000'])})"
               if a["cpu_per_1000"] and g["cpu_per_1000"] else "")
        notes.append(f"- seed levels (bench-levels.toml: a home page and its categories above "
                     f"`next`-paged lists): {g['pps']:,.0f} pages/s against {a['pps']:,.0f} on the "
                     f"`{{page}}`-paged blog ({change(g['pps'], a['pps'])}){cpu}.")
    if h:
        rss = (f", peak RSS {h['rss_mib']:.1f} MiB" if h["rss_mib"] else "")
        than = (f" (scenario a's: {a['rss_mib']:.1f} MiB)" if a and a["rss_mib"] and h["rss_mib"] else "")
        cpu = (f", {h['cpu_per_1000']:.3f} CPU-s per 1,000 pages" if h["cpu_per_1000"] else "")
        notes.append(f"- link rules (bench-links.toml, every page once, breadth first): "
                     f"{h['pps']:,.0f} pages/s over {h['requests']:,} pages{cpu}{rss}{than}.")
    for base, trio, where in ((a, ("i", "j", "k"), "on 127.0.0.1"), (d, ("di", "dj", "dk"), "at 100 ms latency")):
        got = [(name, s.get(key)) for name, key in zip(("open-ended `{page}`", "`next` links", "`{page}` + `prefetch`"), trio)]
        got = [(name, x) for name, x in got if x]
        if base and got:
            parts = ", ".join(f"{name} {x['pps']:,.0f} ({change(x['pps'], base['pps'])})" for name, x in got)
            notes.append(f"- paging without a known end {where}, against `last_page`'s {base['pps']:,.0f} pages/s: {parts}.")
    if notes:
        out += [""] + notes
    if targets:
        out += ["", "Targets (issue 4):", ""]

        def check(ok, what):
            out.append(f"- [{'x' if ok else ' '}] {what}")

        if a:
            check(a["pps"] >= 4000, f"≥ 4,000 pages/s on the 10k site: {a['pps']:,.0f}")
            if a["cpu_per_1000"] is not None:
                check(a["cpu_per_1000"] <= 0.4, f"≤ 0.4 CPU-s per 1,000 pages: {a['cpu_per_1000']:.3f}")
            if a["rss_mib"] is not None:
                check(a["rss_mib"] <= 50, f"peak RSS ≤ 50 MiB on the 10k site: {a['rss_mib']:.1f}")
        if a and b:
            check(a["pps"] >= 15 * b["pps"], f"≥ 15x Scrapy: {a['pps'] / b['pps']:.1f}x")
        if c and c["rss_mib"] is not None and a and a["rss_mib"] is not None:
            check(c["rss_mib"] <= 50 and c["rss_mib"] <= a["rss_mib"] * 1.1 + 1,
                  f"100k site: peak RSS ≤ 50 MiB and flat (within 10 % of the 10k site's): "
                  f"{c['rss_mib']:.1f} vs {a['rss_mib']:.1f}")
        if d:
            check(d["pps"] >= 900, f"≥ 900 pages/s at 100 ms latency: {d['pps']:,.0f}")
        if a and e:
            cost = (1 - e["pps"] / a["pps"]) * 100
            check(cost <= 10, f"`--state` costs ≤ 10 % of pages/s: {cost:.1f} %")
        if h and h["rss_mib"] is not None:
            # SPEC §10: peak memory under 64 MiB + 2 x max_body on any site.
            check(h["rss_mib"] <= 64 + 2 * 10,
                  f"100k link graph: peak RSS within SPEC §10's 64 MiB + 2 x max_body: {h['rss_mib']:.1f}")
    print("\n".join(out))


def main(argv):
    if len(argv) == 6 and argv[0] == "record":
        record(*argv[1:])
        return 0
    if len(argv) >= 3 and argv[0] == "table":
        rest = argv[3:]
        header = None
        if "--header" in rest:
            header = rest[rest.index("--header") + 1]
        table(argv[1], argv[2], targets="--targets" in rest, header=header)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
