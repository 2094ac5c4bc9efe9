#!/usr/bin/env python3
"""The course's numpy LSTM (forward and hand-derived backward), run on the
inputs `graph-run eval ... --random-inputs` saved, compared with graph-run's
outputs. Needs numpy (Debian: python3-numpy).

    build/graph-run eval rnn_step_by_step --graph lstm_forward  --random-inputs --output-dir out/f
    build/graph-run eval rnn_step_by_step --graph lstm_backward --random-inputs --output-dir out/b
    python3 tools/numpy_reference/lstm_step_by_step.py out/f out/b
"""
import sys
import numpy as np


def load(d, name):
    return np.load(f"{d}/{name}.npy")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def lstm_cell_forward(xt, a_prev, c_prev, p):
    concat = np.concatenate([a_prev, xt], axis=0)
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    a_next = ot * np.tanh(c_next)
    return a_next, c_next, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt)


def lstm_forward(x, a0, p):
    n_x, m, T_x = x.shape
    n_a = a0.shape[0]
    a = np.zeros((n_a, m, T_x)); c = np.zeros_like(a); caches = []
    a_next, c_next = a0, np.zeros_like(a0)
    y = None
    if "Wy" in p:
        y = np.zeros((p["Wy"].shape[0], m, T_x))
    for t in range(T_x):
        a_next, c_next, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, p)
        a[:, :, t], c[:, :, t] = a_next, c_next
        if y is not None:
            y[:, :, t] = softmax(p["Wy"] @ a_next + p["by"])
        caches.append(cache)
    return a, y, c, caches


def lstm_cell_backward(da_next, dc_next, cache, p):
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt = cache
    n_a = a_next.shape[0]
    tc = np.tanh(c_next)
    dot = da_next * tc * ot * (1 - ot)
    dcct = (dc_next * it + ot * (1 - tc ** 2) * it * da_next) * (1 - cct ** 2)
    dit = (dc_next * cct + ot * (1 - tc ** 2) * cct * da_next) * it * (1 - it)
    dft = (dc_next * c_prev + ot * (1 - tc ** 2) * c_prev * da_next) * ft * (1 - ft)
    concat = np.concatenate([a_prev, xt], axis=0).T
    g = {"dWf": dft @ concat, "dWi": dit @ concat, "dWc": dcct @ concat, "dWo": dot @ concat,
         "dbf": dft.sum(1, keepdims=True), "dbi": dit.sum(1, keepdims=True),
         "dbc": dcct.sum(1, keepdims=True), "dbo": dot.sum(1, keepdims=True)}
    W = lambda k, s: p[k][:, s]
    g["da_prev"] = sum(W(k, slice(None, n_a)).T @ d for k, d in
                       (("Wf", dft), ("Wi", dit), ("Wc", dcct), ("Wo", dot)))
    g["dc_prev"] = dc_next * ft + ot * (1 - tc ** 2) * ft * da_next
    g["dxt"] = sum(W(k, slice(n_a, None)).T @ d for k, d in
                   (("Wf", dft), ("Wi", dit), ("Wc", dcct), ("Wo", dot)))
    return g


def lstm_backward(da, caches, p):
    n_a, m, T_x = da.shape
    n_x = caches[0][8].shape[0]
    dx = np.zeros((n_x, m, T_x))
    tot = {k: np.zeros_like(p[k[1:]]) for k in ("dWf", "dWi", "dWc", "dWo", "dbf", "dbi", "dbc", "dbo")}
    da_prevt = np.zeros((n_a, m)); dc_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        g = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, caches[t], p)
        dx[:, :, t] = g["dxt"]
        for k in tot:
            tot[k] += g[k]
        da_prevt, dc_prevt = g["da_prev"], g["dc_prev"]
    return dict(tot, dx=dx, da0=da_prevt)


def main(fdir, bdir):
    worst = 0.0
    names = ["Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by"]
    p = {k: load(f"{fdir}/inputs", k) for k in names}
    a, y, c, _ = lstm_forward(load(f"{fdir}/inputs", "x"), load(f"{fdir}/inputs", "a0"), p)
    for k, v in (("a", a), ("y", y), ("c", c)):
        e = np.abs(v - load(fdir, k)).max(); worst = max(worst, e)
        print(f"lstm_forward  {k:4s} max |numpy - seqgraph| = {e:.3g}")
    p = {k: load(f"{bdir}/inputs", k) for k in names[:8]}
    _, _, _, caches = lstm_forward(load(f"{bdir}/inputs", "x"), load(f"{bdir}/inputs", "a0"), p)
    g = lstm_backward(load(f"{bdir}/inputs", "da"), caches, p)
    for k, v in sorted(g.items()):
        e = np.abs(v - load(bdir, k)).max(); worst = max(worst, e)
        print(f"lstm_backward {k:4s} max |numpy - seqgraph| = {e:.3g}")
    print(f"worst: {worst:.3g}")
    return 0 if worst < 1e-10 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
