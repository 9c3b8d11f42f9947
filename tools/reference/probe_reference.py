#!/usr/bin/python3
"""Golden values for stablerep-eval's LinearProbe and KnnClassifier, from scikit-learn 1.2.

Data: scikit-learn's bundled digits set (load_digits: 1797 x 64, pixel values 0..16, 10
classes), split once with train_test_split(test_size=0.5, stratify=y, random_state=0). The
split was fixed before any Java code ran; a 50 % test set makes 0.2 points about 2 images.

Linear probe. sklearn does not standardise by itself, so the script z-scores exactly as the
Java probe does: training mean and population standard deviation (ddof=0, as StandardScaler),
a zero standard deviation replaced by 1 (the column is constant, centred to 0). Then
LogisticRegression(multi_class="multinomial", solver="lbfgs", C=1/(lambda*n)) minimises

    f(W, b) = (1/n) sum_i CE(softmax(W x_i + b), y_i) + (lambda/2) ||W||^2

(sklearn 1.2: LinearModelLoss with l2_reg_strength = 1/(C * n), bias unpenalised), the
objective in LinearProbe's Javadoc. For each fixed lambda the script records f at sklearn's solution
(computed here in float64 from coef_/intercept_), the coefficients and the test accuracy.
For the sweep it records sklearn's best test accuracy over the same 45-value grid
(np.logspace(-6, 5, 45)), an oracle that sees the test set.

kNN (DINO / solo-learn weighted kNN): rows L2-normalised, cosine similarity, the k = 20 most
similar training rows (ties: lower training index first; a stable sort of -similarity),
weights exp(sim / T) with T = 0.07 summed per class, prediction = argmax (ties: lowest class).
Features are the raw digits pixels (float64), not z-scored.

Writes, under stablerep-eval/src/test/resources/golden/probe/:
  train_x.npy [898, 64] float64, train_y.npy [898] int32, test_x.npy [899, 64], test_y.npy
  lambdas.npy [3]                 the fixed lambdas
  objective.npy [3]               f at sklearn's solution, float64
  coef_<i>.npy [10, 64], intercept_<i>.npy [10]   sklearn's solution for lambdas[i]
  test_accuracy.npy [3]
  grid_test_accuracy.npy [45]     test accuracy of sklearn fitted on all of train per grid lambda
  best_grid_accuracy.npy []       the maximum of the above
  knn_pred.npy [899] int32        NumPy kNN predictions for the test rows

Run from the repository root:  /usr/bin/python3 tools/reference/probe_reference.py
Requires Debian's python3-sklearn (1.2) and python3-numpy.
"""
import os
import shutil
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

OUT = os.path.join("stablerep-eval", "src", "test", "resources", "golden", "probe")
LAMBDAS = [1e-4, 1e-2, 1.0]
GRID = np.logspace(-6, 5, 45)
K = 20
T = 0.07


def standardise(train, *others):
    mean = train.mean(axis=0)
    std = train.std(axis=0, ddof=0)
    std[std == 0.0] = 1.0
    return [(a - mean) / std for a in (train,) + others]


def objective(x, y, coef, intercept, lam):
    logits = x @ coef.T + intercept
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    ce = lse - logits[np.arange(len(y)), y]
    return ce.mean() + 0.5 * lam * (coef ** 2).sum()


def fit(x, y, lam):
    clf = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=1.0 / (lam * len(y)),
                             tol=1e-12, max_iter=100000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning must not pass silently
        clf.fit(x, y)
    return clf


def knn(train, train_y, test, classes):
    tr = train / np.linalg.norm(train, axis=1, keepdims=True)
    te = test / np.linalg.norm(test, axis=1, keepdims=True)
    sim = te @ tr.T
    pred = np.empty(len(test), dtype=np.int32)
    for i in range(len(test)):
        order = np.argsort(-sim[i], kind="stable")[:K]
        votes = np.zeros(classes)
        for j in order:
            votes[train_y[j]] += np.exp(sim[i, j] / T)
        pred[i] = int(np.argmax(votes))
    return pred


def main():
    assert sklearn.__version__.startswith("1.2"), sklearn.__version__
    digits = load_digits()
    x = digits.data.astype(np.float64)
    y = digits.target.astype(np.int32)
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=0.5, stratify=y, random_state=0)
    zs_train, zs_test = standardise(train_x, test_x)

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    save = lambda name, a: np.save(os.path.join(OUT, name + ".npy"), a)
    save("train_x", train_x)
    save("train_y", train_y)
    save("test_x", test_x)
    save("test_y", test_y)

    objectives, accuracies = [], []
    for i, lam in enumerate(LAMBDAS):
        clf = fit(zs_train, train_y, lam)
        objectives.append(objective(zs_train, train_y, clf.coef_, clf.intercept_, lam))
        accuracies.append(clf.score(zs_test, test_y))
        save("coef_%d" % i, clf.coef_)
        save("intercept_%d" % i, clf.intercept_)
        print("lambda %g: objective %.12g, test accuracy %.4f, iterations %s"
              % (lam, objectives[-1], accuracies[-1], clf.n_iter_))
    save("lambdas", np.array(LAMBDAS))
    save("objective", np.array(objectives))
    save("test_accuracy", np.array(accuracies))

    grid_acc = np.array([fit(zs_train, train_y, lam).score(zs_test, test_y) for lam in GRID])
    save("grid_test_accuracy", grid_acc)
    save("best_grid_accuracy", np.array(grid_acc.max()))
    print("grid: best test accuracy %.4f at lambda %g" % (grid_acc.max(), GRID[grid_acc.argmax()]))

    pred = knn(train_x, train_y, test_x, 10)
    save("knn_pred", pred)
    print("knn: test accuracy %.4f" % (pred == test_y).mean())


if __name__ == "__main__":
    main()
