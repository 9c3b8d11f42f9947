#!/usr/bin/python3
"""scikit-learn side of ProbeBenchmark: LogisticRegression(multinomial, lbfgs) on Fashion-MNIST
pixels (60 000 x 784, 10 classes) at one fixed lambda, C = 1/(lambda * n), on features z-scored
by StandardScaler (population std, as the Java probe). Timed: StandardScaler fit/transform +
LogisticRegression.fit. Reported as one JSON line: seconds, iterations, the objective
(1/n) sum CE + (lambda/2)||W||^2 at the solution in float64, train and test accuracy.

  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/compare/probe_fmnist.py \
      [--data /usr/share/datasets/fashion-mnist] [--lam 1e-4] [--tol 1e-4] [--reps 1]

tol is sklearn's (default 1e-4): scipy's L-BFGS-B gtol on sklearn 1.2's sum-scaled objective;
scipy's default ftol 2.2e-9 (relative decrease) is what stops it in practice.
"""
import argparse
import gzip
import json
import os
import struct
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert struct.unpack(">I", raw[:4])[0] == magic, path
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--lam", type=float, default=1e-4)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--reps", type=int, default=1)
    a = ap.parse_args()
    j = lambda name: os.path.join(a.data, name)
    # pixels / 255 as float32, the Java side's input; z-scoring removes the scale
    tr_x = (idx(j("train-images-idx3-ubyte.gz"), 2051, 3).reshape(-1, 784) / 255.0).astype(np.float32)
    tr_y = idx(j("train-labels-idx1-ubyte.gz"), 2049, 1).astype(np.int64)
    te_x = (idx(j("t10k-images-idx3-ubyte.gz"), 2051, 3).reshape(-1, 784) / 255.0).astype(np.float32)
    te_y = idx(j("t10k-labels-idx1-ubyte.gz"), 2049, 1).astype(np.int64)
    n = len(tr_y)
    for _ in range(a.reps):
        t0 = time.perf_counter()
        scaler = StandardScaler().fit(tr_x.astype(np.float64))
        xs = scaler.transform(tr_x.astype(np.float64))
        clf = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=1.0 / (a.lam * n),
                                 tol=a.tol, max_iter=20000)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(xs, tr_y)
        seconds = time.perf_counter() - t0
        logits = xs @ clf.coef_.T + clf.intercept_
        m = logits.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
        obj = (lse - logits[np.arange(n), tr_y]).mean() + 0.5 * a.lam * (clf.coef_ ** 2).sum()
        print(json.dumps({
            "impl": "sklearn " + sklearn.__version__, "lambda": a.lam, "tol": a.tol,
            "seconds": round(seconds, 3), "iterations": int(clf.n_iter_[0]),
            "converged": not any("converge" in str(w.message) for w in caught),
            "objective": float("%.12g" % obj),
            "train_accuracy": round(float((clf.predict(xs) == tr_y).mean()), 4),
            "test_accuracy": round(float(clf.score(scaler.transform(te_x.astype(np.float64)), te_y)), 4),
        }), flush=True)


if __name__ == "__main__":
    main()
