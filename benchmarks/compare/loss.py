#!/usr/bin/python3
"""Time StableRep's multi-positive contrastive loss (MultiPosConLoss) in PyTorch, single process.

Re-implemented from its semantics (no distributed all_gather: on one process it is the identity):

    f       = F.normalize(x, dim=1)                       # L2 per row
    logits  = f @ f.T / tau
    logits  = logits - 1e9 * I                            # self column masked
    logits  = logits - rowmax(logits).detach()
    mask    = 1[id_i == id_j and i != j]
    p       = mask / clamp(rowsum(mask), min=1)
    loss    = -mean_i sum_j p_ij * log_softmax(logits)_ij

What is timed: forward + backward, the gradient taken w.r.t. the raw embeddings x
(x.requires_grad). The caption-id mask and the target p are built INSIDE the timed region
(conservative: the Java side may build them outside). Forward alone is timed separately.

Usage:
    /usr/bin/python3 benchmarks/compare/loss.py [--threads 2] [--iters 100] [--warmup 10] [--json out.json]
"""
import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F

SHAPES = [  # (captions, images per caption, D)
    (256, 4, 256),  # N = 1024
    (43, 6, 256),   # N = 258
]


def multi_pos_con_loss(x, caption_ids, tau):
    n = x.shape[0]
    f = F.normalize(x, dim=1)
    logits = f @ f.T / tau
    eye = torch.eye(n, dtype=logits.dtype, device=logits.device)
    logits = logits - eye * 1e9
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    mask = (caption_ids[:, None] == caption_ids[None, :]).to(logits.dtype) * (1 - eye)
    p = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)
    return -(p * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def percentile(sorted_values, q):
    """Linear-interpolated percentile, q in [0, 100]."""
    k = (len(sorted_values) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def time_it(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p10_ms": percentile(times, 10),
        "p90_ms": percentile(times, 90),
        "min_ms": times[0],
        "iters": iters,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2, as the Java side)")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}, python {platform.python_version()}, "
          f"threads {torch.get_num_threads()} (interop {torch.get_num_interop_threads()})")
    print(torch.__config__.parallel_info().strip())
    print()

    results = []
    for captions, m, d in SHAPES:
        n = captions * m
        x = torch.randn(n, d, dtype=torch.float32)
        ids_list = torch.arange(captions).repeat_interleave(m)

        def forward():
            with torch.no_grad():
                caption_ids = ids_list.clone()  # mask built inside, from the ids
                return multi_pos_con_loss(x, caption_ids, args.tau)

        xg = x.clone().requires_grad_(True)

        def forward_backward():
            xg.grad = None
            caption_ids = ids_list.clone()
            loss = multi_pos_con_loss(xg, caption_ids, args.tau)
            loss.backward()
            return loss

        loss_value = forward_backward().item()
        grad_norm = xg.grad.norm().item()
        fwd = time_it(forward, args.warmup, args.iters)
        fb = time_it(forward_backward, args.warmup, args.iters)
        results.append({
            "N": n, "D": d, "captions": captions, "images_per_caption": m, "tau": args.tau,
            "loss": loss_value, "grad_norm": grad_norm,
            "forward": fwd, "forward_backward": fb,
        })

    header = f"{'N':>5} {'D':>4} {'caps x m':>9} | {'fwd median':>10} | {'fwd+bwd median':>14} {'p10':>8} {'p90':>8} | loss"
    print(header)
    print("-" * len(header))
    for r in results:
        fb = r["forward_backward"]
        print(f"{r['N']:>5} {r['D']:>4} {str(r['captions']) + 'x' + str(r['images_per_caption']):>9} | "
              f"{r['forward']['median_ms']:>7.3f} ms | {fb['median_ms']:>11.3f} ms {fb['p10_ms']:>5.3f} ms "
              f"{fb['p90_ms']:>5.3f} ms | {r['loss']:.5f}")
    print(f"\n{args.iters} timed iterations after {args.warmup} warm-up; times in ms, fp32, "
          f"mask built inside the timed region.")

    if args.json:
        meta = {
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "parallel_info": torch.__config__.parallel_info(),
            "machine": platform.processor() or platform.machine(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
