#!/usr/bin/python3
"""Golden numbers for the Fashion-MNIST linear-probe parity test (stablerep-eval), from
scikit-learn 1.2's LogisticRegression(multinomial, lbfgs).

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, or the folder given as
the first argument), read here with gzip + numpy from the IDX headers, independently of the Java
reader. Features are the 784 raw pixels as float64 (0..255).

The CI test is sized for a 2-core machine, so it uses a fixed subset (stated, not sampled):
  train: the first N_TRAIN = 10000 rows of train-images (the file is already shuffled; every
         class has 942-1043 of them), test: all 10000 rows of t10k.
Features are z-scored with the subset's training mean and population std (std 0 -> 1), exactly
as the Java probe does, then sklearn fits with C = 1/(lambda * n):

  fixed lambdas FIXED = [1e-4, 1e-2]: the objective
      f = (1/n) sum_i CE_i + (lambda/2) ||W||^2
  at sklearn's solution (evaluated here in float64 from coef_/intercept_), sklearn's iteration
  count and its test accuracy.

  sweep: GRID = np.logspace(-6, 5, 12) (one value per decade over the default [1e-6, 1e5]
  range; the default 45-value grid is too slow for CI). For each lambda sklearn is fitted on all
  N_TRAIN rows, from large lambda to small, each fit warm-started from the previous one (as the
  Java sweep does; the optimum is unique for lambda > 0, so this changes only the time) and
  capped at GRID_MAX_ITER = 3000 iterations (the smallest lambdas, nearly unregularised, do not
  converge in that; grid_converged records which did), and scored on the test set. The maximum
  is an oracle (it sees the test set) that the Java sweep, which chooses on its own validation
  split, must come within 0.3 points of.

Writes (no data, only numbers) under stablerep-eval/src/test/resources/golden/fmnist/:
  fixed_lambdas.npy [2], fixed_objective.npy [2], fixed_test_accuracy.npy [2],
  fixed_iterations.npy [2], grid.npy [12], grid_test_accuracy.npy [12],
  grid_converged.npy [12] (bool), best_grid_accuracy.npy [], n_train.npy [] (int64),
  train_label_head.npy [16], test_label_head.npy [16] (int32; guards against a different file)

Run from the repository root:  /usr/bin/python3 tools/reference/fmnist_probe_reference.py [dir]
"""
import gzip
import os
import struct
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

OUT = os.path.join("stablerep-eval", "src", "test", "resources", "golden", "fmnist")
N_TRAIN = 10000
FIXED = [1e-4, 1e-2]
GRID = np.logspace(-6, 5, 12)
GRID_MAX_ITER = 3000


def idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    found, = struct.unpack(">I", raw[:4])
    assert found == magic, (path, found)
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder):
    tr_x = idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 2051, 3).reshape(-1, 784)
    tr_y = idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 2049, 1)
    te_x = idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), 2051, 3).reshape(-1, 784)
    te_y = idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), 2049, 1)
    return (tr_x.astype(np.float64), tr_y.astype(np.int64),
            te_x.astype(np.float64), te_y.astype(np.int64))


def standardise(train, *others):
    mean = train.mean(axis=0)
    std = train.std(axis=0, ddof=0)
    std[std == 0.0] = 1.0
    return [(a - mean) / std for a in (train,) + others]


def objective(x, y, coef, intercept, lam):
    logits = x @ coef.T + intercept
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return (lse - logits[np.arange(len(y)), y]).mean() + 0.5 * lam * (coef ** 2).sum()


def fit(x, y, lam, strict, max_iter=20000, init=None):
    clf = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=1.0 / (lam * len(y)),
                             tol=1e-12, max_iter=max_iter, warm_start=init is not None)
    if init is not None:
        clf.coef_, clf.intercept_ = init.coef_.copy(), init.intercept_.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(x, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if strict and not converged:
        raise RuntimeError("sklearn did not converge for lambda %g" % lam)
    return clf, converged


def main():
    assert sklearn.__version__.startswith("1.2"), sklearn.__version__
    folder = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    tr_x, tr_y, te_x, te_y = load(folder)
    tr_x, tr_y = tr_x[:N_TRAIN], tr_y[:N_TRAIN]
    print("class counts in the subset:", np.bincount(tr_y))
    zs_tr, zs_te = standardise(tr_x, te_x)
    os.makedirs(OUT, exist_ok=True)
    save = lambda name, a: np.save(os.path.join(OUT, name + ".npy"), a)

    objs, accs, iters = [], [], []
    for lam in FIXED:
        t = time.time()
        clf, _ = fit(zs_tr, tr_y, lam, strict=True)
        objs.append(objective(zs_tr, tr_y, clf.coef_, clf.intercept_, lam))
        accs.append(clf.score(zs_te, te_y))
        iters.append(int(clf.n_iter_[0]))
        print("lambda %g: objective %.12g, test accuracy %.4f, %d iterations, %.1f s"
              % (lam, objs[-1], accs[-1], iters[-1], time.time() - t), flush=True)
    grid_acc, grid_conv = np.zeros(len(GRID)), np.zeros(len(GRID), dtype=bool)
    prev = None
    for i in range(len(GRID) - 1, -1, -1):
        lam = GRID[i]
        t = time.time()
        clf, conv = fit(zs_tr, tr_y, lam, strict=False, max_iter=GRID_MAX_ITER, init=prev)
        prev = clf
        grid_acc[i] = clf.score(zs_te, te_y)
        grid_conv[i] = conv
        print("grid lambda %g: test accuracy %.4f, %d iterations, converged %s, %.1f s"
              % (lam, grid_acc[i], clf.n_iter_[0], conv, time.time() - t), flush=True)
    save("fixed_lambdas", np.array(FIXED))
    save("fixed_objective", np.array(objs))
    save("fixed_test_accuracy", np.array(accs))
    save("fixed_iterations", np.array(iters, dtype=np.int64))
    save("grid", GRID)
    save("grid_test_accuracy", grid_acc)
    save("grid_converged", np.array(grid_conv))
    save("best_grid_accuracy", np.array(grid_acc.max()))
    save("n_train", np.array(N_TRAIN, dtype=np.int64))
    save("train_label_head", tr_y[:16].astype(np.int32))
    save("test_label_head", te_y[:16].astype(np.int32))
    print("grid: best test accuracy %.4f at lambda %g" % (grid_acc.max(), GRID[grid_acc.argmax()]))


if __name__ == "__main__":
    main()
