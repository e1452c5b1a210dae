#!/usr/bin/env python3
"""Times scipy.stats.bootstrap on the same data as the Rust bench `scipy_compare`.

Data (identical in both languages, IEEE double arithmetic):
    u_i = frac(i * 0.6180339887498949), v_i = frac(i * 0.41421356237309503 + 0.5), i = 0..n-1
    binary:     a_i = [u_i < 0.72], b_i = [v_i < 0.70]
    continuous: a_i = u_i,          b_i = v_i

Run: python3 benches/scipy_bootstrap.py [--rows 100000] [--resamples 10000] [--kind binary]
         [--method percentile] [--batch 200] [--json]
Prints the wall-clock seconds of one call to
    scipy.stats.bootstrap((a, b), stat, paired=True, vectorized=True, n_resamples=..., batch=...)
With --json, prints one JSON line {"seconds": ..., "low": ..., "high": ..., ...}.
Exits 0 with a line starting "SKIP" when scipy or numpy is missing.
"""
import argparse
import json
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--resamples", type=int, default=10_000)
    p.add_argument("--kind", choices=["binary", "continuous"], default="binary")
    p.add_argument("--method", choices=["percentile", "BCa", "basic"], default="percentile")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        import numpy as np
        import scipy
        import scipy.stats as st
    except ImportError as e:  # pragma: no cover
        print(f"SKIP: scipy/numpy not importable ({e}); pip install scipy numpy")
        return 0

    i = np.arange(args.rows, dtype=np.float64)
    x = i * 0.6180339887498949
    u = x - np.floor(x)
    y = i * 0.41421356237309503 + 0.5
    v = y - np.floor(y)
    if args.kind == "binary":
        a = (u < 0.72).astype(np.float64)
        b = (v < 0.70).astype(np.float64)
    else:
        a, b = u, v

    def stat(a, b, axis=-1):
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)

    t0 = time.perf_counter()
    r = st.bootstrap((a, b), stat, paired=True, vectorized=True, n_resamples=args.resamples,
                     batch=args.batch, method=args.method, confidence_level=0.95,
                     rng=np.random.default_rng(0))
    secs = time.perf_counter() - t0
    out = {
        "seconds": secs,
        "scipy": scipy.__version__,
        "rows": args.rows,
        "resamples": args.resamples,
        "kind": args.kind,
        "method": args.method,
        "batch": args.batch,
        "point": float(np.mean(a - b)),
        "low": float(r.confidence_interval.low),
        "high": float(r.confidence_interval.high),
        "se": float(r.standard_error),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"scipy {scipy.__version__} bootstrap {args.kind} {args.method}: {secs:.2f} s "
              f"CI ({out['low']:.5f}, {out['high']:.5f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
