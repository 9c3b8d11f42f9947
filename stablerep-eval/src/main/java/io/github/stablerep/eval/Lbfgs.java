package io.github.stablerep.eval;

/**
 * Limited-memory BFGS (Nocedal &amp; Wright, Numerical Optimization, 2nd ed., Alg. 7.4/7.5) with a
 * line search that enforces the strong Wolfe conditions (Alg. 3.5/3.6, cubic interpolation in
 * the zoom, bisection when the cubic is unusable):
 *
 * <pre>
 *   f(x + α p) ≤ f(x) + c₁ α ∇fᵀp          c₁ = 1e-4
 *   |∇f(x + α p)ᵀp| ≤ c₂ |∇fᵀp|             c₂ = 0.9
 * </pre>
 *
 * The strong curvature condition guarantees sᵀy &gt; 0, so every stored pair keeps the inverse
 * Hessian approximation positive definite; a pair with sᵀy ≤ 1e-10 yᵀy is skipped anyway, as
 * a guard against rounding. The initial matrix is γ I with γ = sᵀy / yᵀy of the newest pair.
 *
 * <p>Stops when max|∇f| ≤ gradientTolerance, or when the relative decrease
 * (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ relativeTolerance (scipy's L-BFGS-B factr test), or
 * at maxIterations, or when the line search cannot decrease f (rounding floor).
 */
final class Lbfgs {

  private static final double C1 = 1e-4;
  private static final double C2 = 0.9;
  private static final int MAX_LINE_SEARCH = 40;

  interface Function {
    /** f(x), writing ∇f(x) into {@code gradient}. */
    double evaluate(double[] x, double[] gradient);
  }

  enum Stop { GRADIENT, RELATIVE_CHANGE, MAX_ITERATIONS, LINE_SEARCH }

  record Result(double[] x, double value, double gradientMaxNorm, int iterations, Stop stop) {
    boolean converged() {
      return stop == Stop.GRADIENT || stop == Stop.RELATIVE_CHANGE;
    }
  }

  private Lbfgs() {}

  static Result minimize(Function f, double[] x0, int maxIterations, int history,
      double gradientTolerance, double relativeTolerance) {
    int n = x0.length;
    double[] x = x0.clone();
    double[] g = new double[n];
    double fx = f.evaluate(x, g);
    double[][] s = new double[history][];
    double[][] y = new double[history][];
    double[] rho = new double[history];
    int stored = 0;
    int newest = -1;
    double[] p = new double[n];
    double[] alpha = new double[history];
    LineSearch ls = new LineSearch(f, n);
    if (maxAbs(g) <= gradientTolerance) {
      return new Result(x, fx, maxAbs(g), 0, Stop.GRADIENT);
    }
    for (int iter = 1; iter <= maxIterations; iter++) {
      // two-loop recursion: p = −H g
      for (int i = 0; i < n; i++) {
        p[i] = -g[i];
      }
      for (int j = 0; j < stored; j++) {
        int k = Math.floorMod(newest - j, history);
        alpha[k] = rho[k] * dot(s[k], p);
        axpy(-alpha[k], y[k], p);
      }
      double initialStep = 1.0;
      if (stored > 0) {
        double gamma = dot(s[newest], y[newest]) / dot(y[newest], y[newest]);
        scale(gamma, p);
      } else {
        // no curvature yet: a first step of unit length in x, not in the gradient's units
        initialStep = Math.min(1.0, 1.0 / Math.sqrt(dot(g, g)));
      }
      for (int j = stored - 1; j >= 0; j--) {
        int k = Math.floorMod(newest - j, history);
        double beta = rho[k] * dot(y[k], p);
        axpy(alpha[k] - beta, s[k], p);
      }
      double slope = dot(g, p);
      if (!(slope < 0)) {
        // not a descent direction (rounding in a tired memory): restart from steepest descent
        stored = 0;
        for (int i = 0; i < n; i++) {
          p[i] = -g[i];
        }
        slope = dot(g, p);
        initialStep = Math.min(1.0, 1.0 / Math.sqrt(-slope));
      }
      if (!ls.search(x, fx, g, p, slope, initialStep)) {
        if (stored > 0) {
          stored = 0; // one retry along −g with a fresh memory before giving up
          iter--;
          continue;
        }
        return new Result(x, fx, maxAbs(g), iter - 1, Stop.LINE_SEARCH);
      }
      double[] sNew = new double[n];
      double[] yNew = new double[n];
      for (int i = 0; i < n; i++) {
        sNew[i] = ls.x[i] - x[i];
        yNew[i] = ls.g[i] - g[i];
      }
      double sy = dot(sNew, yNew);
      double yy = dot(yNew, yNew);
      if (sy > 1e-10 * yy) {
        newest = (newest + 1) % history;
        s[newest] = sNew;
        y[newest] = yNew;
        rho[newest] = 1.0 / sy;
        stored = Math.min(stored + 1, history);
      }
      double fPrev = fx;
      System.arraycopy(ls.x, 0, x, 0, n);
      System.arraycopy(ls.g, 0, g, 0, n);
      fx = ls.f;
      double gMax = maxAbs(g);
      if (gMax <= gradientTolerance) {
        return new Result(x, fx, gMax, iter, Stop.GRADIENT);
      }
      if ((fPrev - fx) / Math.max(Math.max(Math.abs(fPrev), Math.abs(fx)), 1.0) <= relativeTolerance) {
        return new Result(x, fx, gMax, iter, Stop.RELATIVE_CHANGE);
      }
    }
    return new Result(x, fx, maxAbs(g), maxIterations, Stop.MAX_ITERATIONS);
  }

  /** Strong-Wolfe line search; on success the accepted point is in x, f, g. */
  private static final class LineSearch {
    private final Function fn;
    final double[] x;
    final double[] g;
    double f;
    private final double[] x0;
    private double f0;
    private double slope0;
    private double[] p;

    LineSearch(Function fn, int n) {
      this.fn = fn;
      this.x = new double[n];
      this.g = new double[n];
      this.x0 = new double[n];
    }

    private double phi(double a) {
      for (int i = 0; i < x.length; i++) {
        x[i] = x0[i] + a * p[i];
      }
      f = fn.evaluate(x, g);
      return f;
    }

    private double dphi() {
      return dot(g, p);
    }

    boolean search(double[] start, double fStart, double[] gStart, double[] direction, double slope,
        double initialStep) {
      System.arraycopy(start, 0, x0, 0, x0.length);
      f0 = fStart;
      slope0 = slope;
      p = direction;
      double aPrev = 0;
      double fPrev = f0;
      double dPrev = slope0;
      double a = initialStep;
      for (int i = 0; i < MAX_LINE_SEARCH; i++) {
        double fa = phi(a);
        if (!Double.isFinite(fa)) {
          a = 0.5 * (aPrev + a); // overflowed: stay inside the finite region
          continue;
        }
        double da = dphi();
        if (fa > f0 + C1 * a * slope0 || (i > 0 && fa >= fPrev)) {
          return zoom(aPrev, fPrev, dPrev, a, fa, da);
        }
        if (Math.abs(da) <= -C2 * slope0) {
          return true;
        }
        if (da >= 0) {
          return zoom(a, fa, da, aPrev, fPrev, dPrev);
        }
        aPrev = a;
        fPrev = fa;
        dPrev = da;
        a = 2 * a;
      }
      return false;
    }

    private boolean zoom(double lo, double fLo, double dLo, double hi, double fHi, double dHi) {
      for (int j = 0; j < MAX_LINE_SEARCH; j++) {
        double a = cubicMin(lo, fLo, dLo, hi, fHi, dHi);
        double width = Math.abs(hi - lo);
        double left = Math.min(lo, hi);
        double right = Math.max(lo, hi);
        if (!(a > left + 0.1 * width && a < right - 0.1 * width)) {
          a = 0.5 * (lo + hi);
        }
        if (width <= 1e-16 * Math.max(1.0, right)) {
          break;
        }
        double fa = phi(a);
        double da = dphi();
        if (!Double.isFinite(fa) || fa > f0 + C1 * a * slope0 || fa >= fLo) {
          hi = a;
          fHi = fa;
          dHi = da;
        } else {
          if (Math.abs(da) <= -C2 * slope0) {
            return true;
          }
          if (da * (hi - lo) >= 0) {
            hi = lo;
            fHi = fLo;
            dHi = dLo;
          }
          lo = a;
          fLo = fa;
          dLo = da;
        }
      }
      // the interval collapsed without the curvature condition: accept lo if it decreased f
      // enough (Armijo), which is what a backtracking search would do
      if (lo > 0 && fLo <= f0 + C1 * lo * slope0 && fLo < f0) {
        phi(lo);
        return true;
      }
      return false;
    }
  }

  /** Minimiser of the cubic through (a, fa, da) and (b, fb, db); NaN when it has none. */
  private static double cubicMin(double a, double fa, double da, double b, double fb, double db) {
    if (!Double.isFinite(fb) || !Double.isFinite(db)) {
      return Double.NaN;
    }
    double d1 = da + db - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    if (!(disc >= 0)) {
      return Double.NaN;
    }
    double d2 = Math.signum(b - a) * Math.sqrt(disc);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
  }

  static double dot(double[] a, double[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += a[i] * b[i];
    }
    return sum;
  }

  static double maxAbs(double[] a) {
    double max = 0;
    for (double v : a) {
      max = Math.max(max, Math.abs(v));
    }
    return max;
  }

  private static void axpy(double alpha, double[] x, double[] y) {
    for (int i = 0; i < x.length; i++) {
      y[i] += alpha * x[i];
    }
  }

  private static void scale(double alpha, double[] x) {
    for (int i = 0; i < x.length; i++) {
      x[i] *= alpha;
    }
  }
}
