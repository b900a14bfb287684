#!/usr/bin/env python3
"""Checks `tessera train --log-json` files for the text tests (standard library only).

  trainlog.py decreasing LOG N       N records, steps 1..N, every field present and sane, and
                                     the last loss below the first
  trainlog.py same LOG1 LOG2 TOL     the same losses within a relative tolerance
  trainlog.py linreg LOG OPT LR N    the losses equal an independent re-implementation of
                                     torch.optim's OPT (sgd with momentum 0.9, or adamw with
                                     its defaults) on the linear regression of cli/train.tir
"""
import json
import math
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fail(msg):
    print("trainlog.py: " + msg)
    sys.exit(1)


def decreasing(path, n):
    recs = load(path)
    if len(recs) != n:
        fail("%d records, expected %d" % (len(recs), n))
    for i, r in enumerate(recs):
        for key in ("step", "loss", "step_time_s", "tokens_per_s"):
            if key not in r:
                fail("record %d has no %r: %r" % (i, key, r))
        if r["step"] != i + 1:
            fail("record %d has step %r" % (i, r["step"]))
        if not (math.isfinite(r["loss"]) and r["step_time_s"] >= 0 and r["tokens_per_s"] >= 0):
            fail("bad record %r" % r)
    if not recs[-1]["loss"] < recs[0]["loss"]:
        fail("the loss did not go down: %r" % [r["loss"] for r in recs])
    print("ok: %d steps, loss %.6f -> %.6f" % (n, recs[0]["loss"], recs[-1]["loss"]))


def same(a, b, tol):
    la = [r["loss"] for r in load(a)]
    lb = [r["loss"] for r in load(b)]
    if len(la) != len(lb):
        fail("%d vs %d records" % (len(la), len(lb)))
    for i, (x, y) in enumerate(zip(la, lb)):
        if abs(x - y) > tol * max(1.0, abs(y)):
            fail("step %d: loss %r vs %r" % (i + 1, x, y))
    print("ok: %d equal losses" % len(la))


# The data and initial weights of cli/train.tir.
X = [[1.0, 2.0], [0.0, 1.0], [2.0, -1.0], [1.0, 1.0]]
Y = [3.0, 1.0, 0.5, 2.0]


def linreg(path, opt, lr, n):
    w, b = [0.1, -0.2], [0.05]
    params = [w, b]
    bufs = [[0.0] * len(p) for p in params]
    m = [[0.0] * len(p) for p in params]
    v = [[0.0] * len(p) for p in params]
    want = []
    for t in range(n):
        d = [sum(xi * wi for xi, wi in zip(x, w)) + b[0] - y for x, y in zip(X, Y)]
        want.append(sum(e * e for e in d) / len(d))
        gw = [2.0 / len(d) * sum(e * x[j] for e, x in zip(d, X)) for j in range(2)]
        gb = [2.0 / len(d) * sum(d)]
        for k, (p, g) in enumerate(zip(params, [gw, gb])):
            for j in range(len(p)):
                if opt == "sgd":  # momentum 0.9, first step buf = g
                    bufs[k][j] = g[j] if t == 0 else 0.9 * bufs[k][j] + g[j]
                    p[j] -= lr * bufs[k][j]
                else:  # adamw defaults
                    p[j] *= 1 - lr * 1e-2
                    m[k][j] = 0.9 * m[k][j] + 0.1 * g[j]
                    v[k][j] = 0.999 * v[k][j] + 0.001 * g[j] * g[j]
                    mhat = m[k][j] / (1 - 0.9 ** (t + 1))
                    vhat = v[k][j] / (1 - 0.999 ** (t + 1))
                    p[j] -= lr * mhat / (math.sqrt(vhat) + 1e-8)
    got = [r["loss"] for r in load(path)]
    if len(got) != n:
        fail("%d records, expected %d" % (len(got), n))
    for i, (x, y) in enumerate(zip(got, want)):
        if abs(x - y) > 1e-12 * max(1.0, abs(y)):
            fail("step %d: loss %r, expected %r" % (i + 1, x, y))
    print("ok: %d losses match %s" % (n, opt))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "decreasing":
        decreasing(sys.argv[2], int(sys.argv[3]))
    elif cmd == "same":
        same(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "linreg":
        linreg(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    else:
        fail("unknown command " + cmd)
