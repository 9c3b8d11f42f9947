#!/usr/bin/python3
"""Golden values for stablerep-eval's Metrics.averagePrecision11 / meanAveragePrecision11: the
PASCAL VOC2007 11-point interpolated average precision, as the VOC devkit's VOCevalcls and
py-faster-rcnn's voc_ap(use_07_metric=True) compute it, written here in NumPy:

  rank the rows by descending score (ties: lower row first, a stable argsort of -score);
  tp, fp = cumulative counts of positives / negatives down the ranking;
  rec = tp / npos, prec = tp / (tp + fp);
  AP = sum over t in np.arange(0., 1.1, 0.1) of max(prec[rec >= t], default 0) / 11.

Note that np.arange's thresholds carry its rounding (3 * 0.1 = 0.30000000000000004), so a
recall of exactly 0.3 does not reach the 0.3 threshold; the Java code uses the same values.
mAP is the mean over the classes with at least one positive (a class with none has no AP).

Cases, under stablerep-eval/src/test/resources/golden/map/:
  random_*   n = 157 rows, K = 7 classes, continuous scores N(0, 1) plus 0.8 * target,
             each target on with probability 0.3; class 6 has no positives
  ties_*     the same targets, scores rounded to one decimal (many ties)
  small_*    n = 10, K = 2, hand-sized: recall values that hit the thresholds exactly
Each: <case>_scores.npy [n, K] float64, <case>_targets.npy [n, K] int8, <case>_ap.npy [K]
(NaN where a class has no positives), <case>_map.npy [].

Run from the repository root:  /usr/bin/python3 tools/reference/map_reference.py
"""
import os

import numpy as np

OUT = os.path.join("stablerep-eval", "src", "test", "resources", "golden", "map")


def ap11(scores, positive):
    npos = positive.sum()
    if npos == 0:
        return np.nan
    order = np.argsort(-scores, kind="stable")
    hits = positive[order].astype(np.float64)
    tp = np.cumsum(hits)
    fp = np.cumsum(1.0 - hits)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    ap = 0.0
    for t in np.arange(0.0, 1.1, 0.1):
        p = prec[rec >= t].max() if np.any(rec >= t) else 0.0
        ap += p / 11.0
    return ap


def case(name, scores, targets):
    aps = np.array([ap11(scores[:, k], targets[:, k] == 1) for k in range(scores.shape[1])])
    np.save(os.path.join(OUT, name + "_scores.npy"), scores)
    np.save(os.path.join(OUT, name + "_targets.npy"), targets.astype(np.int8))
    np.save(os.path.join(OUT, name + "_ap.npy"), aps)
    np.save(os.path.join(OUT, name + "_map.npy"), np.array(np.nanmean(aps)))
    print(name, "AP", np.round(aps, 4), "mAP %.6f" % np.nanmean(aps))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(11)
    n, k = 157, 7
    targets = (rng.random((n, k)) < 0.3).astype(np.int8)
    targets[:, 6] = 0
    scores = rng.normal(size=(n, k)) + 0.8 * targets
    case("random", scores, targets)
    case("ties", np.round(scores, 1), targets)
    small_t = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 0], [0, 1], [1, 0], [0, 0], [0, 1]])
    small_s = np.array([[0.9, 0.1], [0.8, 0.7], [0.7, 0.2], [0.6, 0.9], [0.5, 0.3],
                        [0.4, 0.4], [0.3, 0.8], [0.2, 0.5], [0.1, 0.6], [0.0, 0.0]])
    case("small", small_s, small_t)


if __name__ == "__main__":
    main()
