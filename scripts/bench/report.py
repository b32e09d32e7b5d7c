#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""report.py DIR: the benchmark report from what scripts/bench/vm-run.sh wrote.

Reads DIR/info.txt, contenders.tsv, workloads.tsv, metrics.tsv and the fio
JSON under DIR/raw/<backing>/<workload>/<contender>/r<rep>.json, and writes
  DIR/results.csv   one row per backing, workload and contender: medians
  DIR/results.md    the tables, with ratios and the targets of issue 6
  DIR/ratios-*.dat  the ratios to dm-linear and to dm-thin, for ratios.gp
  DIR/ratios.png    the chart (gnuplot)
Ratios say how many times better a contender did than the reference, so
> 1 is always better: value/reference for IOPS and MB/s, reference/value
for times.  Exit status non-zero if an expected result is missing or a
JSON file does not parse (the suite is broken), never because of a speed.
"""

import csv
import json
import os
import statistics
import subprocess
import sys

REF_LIMIT = "dm-linear"
REF_THIN = "dm-thin"
OURS = "dm-vdisk"

UNITS = {"iops": "IOPS", "bw": "MB/s", "ms": "ms", "s": "s", "us": "µs"}


def die(msg):
    print(f"report: {msg}", file=sys.stderr)
    sys.exit(1)


def read_table(path, ncols):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            rows.append(line.split(None, ncols - 1))
    return rows


def load_fio(path, measure):
    """(value, p50 µs, p99 µs) of one fio run."""
    with open(path) as f:
        text = f.read()
    # fio prints "fio: terminating on signal" lines before the JSON when
    # it was interrupted; the JSON starts at the first brace.
    start = text.find("{")
    if start < 0:
        die(f"{path}: no JSON")
    try:
        job = json.loads(text[start:])["jobs"][0]
    except (ValueError, KeyError, IndexError) as e:
        die(f"{path}: {e}")
    kind, direction = measure.split(":")
    dirs = ["read", "write"] if direction == "rw" else [direction]
    if kind == "iops":
        value = sum(job[d]["iops"] for d in dirs)
    else:
        value = sum(job[d]["bw_bytes"] for d in dirs) / 1e6
    lat_dir = "read" if direction == "rw" else direction
    pct = job[lat_dir]["clat_ns"].get("percentile", {})
    p50 = pct.get("50.000000", 0) / 1000.0
    p99 = pct.get("99.000000", 0) / 1000.0
    if value <= 0:
        die(f"{path}: no I/O was done")
    return value, p50, p99


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit in ("IOPS",) or v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def main():
    if len(sys.argv) != 2:
        die("usage: report.py DIR")
    d = sys.argv[1]
    info = {}
    for row in read_table(os.path.join(d, "info.txt"), 2):
        info[row[0]] = row[1].strip() if len(row) > 1 else ""
    contenders = [r[0] for r in read_table(os.path.join(d, "contenders.tsv"), 3)]
    workloads = [(r[0], r[1], r[2], r[3].strip()) for r in
                 read_table(os.path.join(d, "workloads.tsv"), 4)]
    raw = os.path.join(d, "raw")
    backings = sorted(os.listdir(raw)) if os.path.isdir(raw) else []

    # samples[(backing, workload, contender)] = list of (value, p50, p99)
    samples = {}
    for b in backings:
        for wl, _group, measure, _desc in workloads:
            if ":" not in measure:
                continue
            for c in contenders:
                cdir = os.path.join(raw, b, wl, c)
                if not os.path.isdir(cdir):
                    continue
                for fn in sorted(os.listdir(cdir)):
                    if fn.endswith(".json"):
                        samples.setdefault((b, wl, c), []).append(
                            load_fio(os.path.join(cdir, fn), measure))
    mpath = os.path.join(d, "metrics.tsv")
    if os.path.exists(mpath):
        with open(mpath) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) < 7 or p[5] in ("", "-"):
                    continue
                b, wl, c = p[0], p[1], p[2]
                if b not in backings:
                    backings.append(b)
                samples.setdefault((b, wl, c), []).append((float(p[5]), None, None))

    # Medians.
    med = {}
    for key, s in samples.items():
        vals = [x[0] for x in s]
        p50 = [x[1] for x in s if x[1] is not None]
        p99 = [x[2] for x in s if x[2] is not None]
        med[key] = {
            "n": len(vals),
            "median": statistics.median(vals),
            "min": min(vals),
            "max": max(vals),
            "p50": statistics.median(p50) if p50 else None,
            "p99": statistics.median(p99) if p99 else None,
        }

    def higher_better(measure):
        return ":" in measure

    def ratio(b, wl, measure, c, ref):
        a, r = med.get((b, wl, c)), med.get((b, wl, ref))
        if not a or not r or a["median"] <= 0 or r["median"] <= 0:
            return None
        if higher_better(measure):
            return a["median"] / r["median"]
        return r["median"] / a["median"]

    # Every contender must have produced every workload it can run: a
    # missing result means the suite broke.  dm-linear has no snapshots.
    missing = []
    for b in backings:
        groups = {g for (wl, g, m, _) in workloads if any(
            (b, wl, c) in med for c in contenders)}
        for wl, g, m, _ in workloads:
            if g not in groups:
                continue
            for c in contenders:
                if (b, wl, c) in med:
                    continue
                if c == REF_LIMIT and g == "snap" and wl != "activate":
                    continue
                missing.append(f"{b}/{wl}/{c}")
    if missing:
        print("report: missing results: " + ", ".join(missing), file=sys.stderr)

    # ---- CSV ----
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["backing", "workload", "unit", "contender", "n", "median", "min", "max",
                    "p50_us", "p99_us", "ratio_to_" + REF_THIN, "ratio_to_" + REF_LIMIT])
        for b in backings:
            for wl, g, m, _ in workloads:
                unit = UNITS[m.split(":")[0]]
                for c in contenders:
                    x = med.get((b, wl, c))
                    if not x:
                        continue
                    rt, rl = ratio(b, wl, m, c, REF_THIN), ratio(b, wl, m, c, REF_LIMIT)
                    w.writerow([b, wl, unit, c, x["n"], f"{x['median']:.3f}", f"{x['min']:.3f}",
                                f"{x['max']:.3f}",
                                "" if x["p50"] is None else f"{x['p50']:.1f}",
                                "" if x["p99"] is None else f"{x['p99']:.1f}",
                                "" if rt is None else f"{rt:.3f}",
                                "" if rl is None else f"{rl:.3f}"])

    # ---- ratios for the chart: one file per panel ----
    others = [c for c in contenders if c != REF_LIMIT]
    panels = [(REF_LIMIT, others), (REF_THIN, [c for c in others if c != REF_THIN])]
    files = []
    for ref, cols in panels:
        path = os.path.join(d, f"ratios-{ref}.dat")
        files.append(path)
        with open(path, "w") as f:
            f.write("label " + " ".join(cols) + "\n")
            for b in backings:
                for wl, g, m, _ in workloads:
                    row = [ratio(b, wl, m, c, ref) for c in cols]
                    if all(r is None for r in row):
                        continue
                    f.write(f"{b}:{wl} " + " ".join("-" if r is None else f"{r:.3f}"
                                                    for r in row) + "\n")
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ratios.gp")
    png = os.path.join(d, "ratios.png")
    r = subprocess.run(["gnuplot", "-e", f"limitfile='{files[0]}'; thinfile='{files[1]}'; "
                        f"outfile='{png}'; nlimit={len(panels[0][1])}; nthin={len(panels[1][1])}",
                        gp], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        die("gnuplot failed: " + r.stderr.strip()[:500])

    # ---- markdown ----
    md = []
    md.append(f"# fio benchmark: {info.get('commit', '?')}\n")
    md.append(f"- kernel {info.get('kernel', '?')} in qemu ({info.get('accel', '?')}), "
              f"{info.get('cpus', '?')} vCPUs, {int(info.get('mem_kib', '0')) // 1024} MiB; "
              f"host {info.get('host_cpus', '?')} CPUs; {info.get('fio', '')}")
    md.append(f"- profile {info.get('profile', '?')}, {info.get('reps', '?')} repetitions, "
              f"contenders in alternating order, medians; "
              f"{info.get('start', '')} – {info.get('end', '')}")
    md.append(f"- command: `{info.get('command', '?')}`")
    md.append("- ratios: how many times better than the reference (> 1 is better): "
              "value/reference for IOPS and MB/s, reference/value for times\n")
    for b in backings:
        md.append(f"## Backing: {b}\n")
        md.append(f"| workload | unit | " + " | ".join(contenders) +
                  f" | {OURS} × {REF_THIN} | {OURS} × {REF_LIMIT} |")
        md.append("|---|---|" + "---:|" * (len(contenders) + 2))
        for wl, g, m, _ in workloads:
            if not any((b, wl, c) in med for c in contenders):
                continue
            unit = UNITS[m.split(":")[0]]
            cells = [fmt(med[(b, wl, c)]["median"], unit) if (b, wl, c) in med else "–"
                     for c in contenders]
            md.append(f"| {wl} | {unit} | " + " | ".join(cells) + " | " +
                      fmt_ratio(ratio(b, wl, m, OURS, REF_THIN)) + " | " +
                      fmt_ratio(ratio(b, wl, m, OURS, REF_LIMIT)) + " |")
        md.append("")
        md.append(f"Latency (µs, median of the runs' clat percentiles) and every "
                  f"contender's ratios, {b}:\n")
        md.append(f"| workload | contender | median | p50 | p99 | × {REF_THIN} | × {REF_LIMIT} | runs |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for wl, g, m, _ in workloads:
            unit = UNITS[m.split(":")[0]]
            for c in contenders:
                x = med.get((b, wl, c))
                if not x:
                    continue
                md.append(f"| {wl} | {c} | {fmt(x['median'], unit)} {unit} | {fmt(x['p50'])} | "
                          f"{fmt(x['p99'])} | {fmt_ratio(ratio(b, wl, m, c, REF_THIN))} | "
                          f"{fmt_ratio(ratio(b, wl, m, c, REF_LIMIT))} | {x['n']} |")
        md.append("")

    # ---- targets of issue 6 ----
    def get(b, wl, c):
        x = med.get((b, wl, c))
        return x["median"] if x else None

    md.append("## Targets (issue 6)\n")
    md.append("| target | backing | measured | verdict |")
    md.append("|---|---|---:|---|")

    def target(name, b, value, ok):
        if value is None:
            return  # not measured on this backing
        else:
            md.append(f"| {name} | {b} | {value:.2f} | {'met' if ok(value) else 'short'} |")

    wmeasure = {wl: m for wl, g, m, _ in workloads}
    for b in backings:
        def rt(wl, ref):
            return ratio(b, wl, wmeasure[wl], OURS, ref) if wl in wmeasure else None
        target(f"4K randwrite fresh ≥ 1.2× {REF_THIN}", b, rt("randwrite-fresh", REF_THIN),
               lambda v: v >= 1.2)
        target(f"4K randwrite fresh ≥ 0.8× {REF_LIMIT}", b, rt("randwrite-fresh", REF_LIMIT),
               lambda v: v >= 0.8)
        target(f"4K randwrite after snapshot ≥ 2× {REF_THIN}", b, rt("randwrite-snap", REF_THIN),
               lambda v: v >= 2)
        for wl in ("randread", "seqread-1m", "seqread-64k"):
            target(f"{wl} ≥ 0.9× {REF_LIMIT}", b, rt(wl, REF_LIMIT), lambda v: v >= 0.9)
        target(f"seqwrite-1m ≥ 0.9× {REF_LIMIT}", b, rt("seqwrite-1m", REF_LIMIT),
               lambda v: v >= 0.9)
        small, big = get(b, "snap-create-small", OURS), get(b, "snap-create-big", OURS)
        if small is not None and big is not None:
            target("snapshot latency big / small mapped (same: ≤ 1.5)", b, big / small,
                   lambda v: v <= 1.5)
        idle, during = get(b, "delete-p99-idle", OURS), get(b, "delete-p99-during", OURS)
        if idle is not None and during is not None:
            target("p99 during delete / idle ≤ 2", b, during / idle, lambda v: v <= 2)
    md.append("")
    md.append("![ratios](ratios.png)\n")
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(md))
    print(f"report: {os.path.join(d, 'results.md')}, results.csv, ratios.png")
    if missing:
        sys.exit(1)


if __name__ == "__main__":
    main()
