#!/usr/bin/python3
"""Coefficients of the exponential in the Java kernels (models.internal.GraphKernels.expNonPositive).

exp(y) for y in [-32, 0] is computed as p(y/32)^32, p the degree-6 Chebyshev interpolant of exp on
[-1, 0], written in the power basis and rounded to float32. Prints the coefficients (lowest degree
first) and the interpolant's largest relative error on [-1, 0], measured in float64 on a fine grid.

Usage: /usr/bin/python3 tools/reference/exp_polynomial.py [--degree 6]
"""
import argparse

import numpy as np
from numpy.polynomial import chebyshev, polynomial


def coefficients(degree):
    n = degree + 1
    u = np.cos(np.pi * (np.arange(n) + 0.5) / n)      # Chebyshev nodes on [-1, 1]
    x = (u - 1) / 2                                    # mapped to [-1, 0]
    in_u = chebyshev.cheb2poly(chebyshev.chebfit(u, np.exp(x), degree))
    in_x = np.zeros(1)
    for k, a in enumerate(in_u):                       # u = 2x + 1
        in_x = polynomial.polyadd(in_x, a * polynomial.polypow([1, 2], k))
    return in_x[: degree + 1].astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--degree", type=int, default=6)
    args = parser.parse_args()
    c = coefficients(args.degree)
    xs = np.linspace(-1, 0, 200001)
    err = np.max(np.abs(polynomial.polyval(xs, c.astype(np.float64)) - np.exp(xs)) / np.exp(xs))
    for k, v in enumerate(c):
        print(f"c{k} = {float(v)!r}")
    print(f"max relative error on [-1, 0]: {err:.3g}")


if __name__ == "__main__":
    main()
