#!/usr/bin/python3
"""Summarise BackendBenchmark JMH JSON results (-rf json) as GFLOP/s and oneDNN/plain ratios.

Per benchmark and size it pools the per-iteration GFLOP/s (the `gflop` secondary metric) of
every file given and prints the median and the best iteration for each backend, then the
oneDNN/plain ratio of the medians and of the bests. On a shared machine other processes only
ever slow a run down, so the best iteration is the steadier estimate of what a kernel can do;
the median says what you will typically get. Per-file ratios are printed too, to show the
run-to-run spread.

    /usr/bin/python3 benchmarks/compare/jmh_gflops.py run1.json run2.json ...
"""
import json
import statistics
import sys
from collections import defaultdict


def load(path):
    out = defaultdict(list)  # (bench, size) -> backend -> values
    with open(path) as fh:
        for rec in json.load(fh):
            bench = rec["benchmark"].rsplit(".", 1)[-1]
            params = rec.get("params", {})
            size = params.get("size", "320ch 64x64")
            backend = params.get("backend", "?")
            raw = rec["secondaryMetrics"]["gflop"]["rawData"]
            out[(bench, size, backend)].extend(v for fork in raw for v in fork)
    return out


def main(paths):
    runs = [load(p) for p in paths]
    pooled = defaultdict(list)
    for run in runs:
        for key, vals in run.items():
            pooled[key].extend(vals)
    keys = sorted({(b, s) for b, s, _ in pooled})
    print(f"{len(paths)} run(s); GFLOP/s per iteration: median [best]")
    print(f"{'benchmark':<16} {'size':<12} {'oneDNN':>16} {'plain':>16} {'ratio med':>9} {'ratio best':>10}  per-run ratio of medians")
    for bench, size in keys:
        o = pooled.get((bench, size, "onednn"), [])
        p = pooled.get((bench, size, "plain"), [])
        if not o or not p:
            continue
        om, pm = statistics.median(o), statistics.median(p)
        per_run = []
        for run in runs:
            ro, rp = run.get((bench, size, "onednn")), run.get((bench, size, "plain"))
            if ro and rp:
                per_run.append(f"{statistics.median(ro) / statistics.median(rp):.2f}")
        print(f"{bench:<16} {size:<12} {om:>7.1f} [{max(o):>6.1f}] {pm:>7.1f} [{max(p):>6.1f}] "
              f"{om / pm:>9.2f} {max(o) / max(p):>10.2f}  {' '.join(per_run)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
