#!/usr/bin/env python3
"""Keras layers in plain numpy, written from Keras's documented equations (not
from seqgraph's C++), for tests/test_layers.cpp: the test saves inputs and
weights as .npy files and a config.json in a directory, runs

    python3 tools/numpy_reference/keras_layers.py <layer> <dir>

and compares the .npy files this writes back (float64) with its own outputs.
Needs numpy (Debian: apt-get install python3-numpy).

<layer>: lstm, gru, simple_rnn, bidirectional, conv1d, batch_normalization.

Recurrent layers read x (batch, steps, in), optional mask (batch, steps),
kernel, recurrent_kernel, bias (for bidirectional: forward_* and backward_*)
and write y (the output) and state_<k> (the final states). Keras semantics:

  LSTM (gates i, f, c, o):  i = rec(x Wi + h Ui + bi), f = rec(...), o = rec(...),
      c~ = act(x Wc + h Uc + bc), c' = f c + i c~, h' = o act(c')
  GRU (gates z, r, h), reset_after (bias rows b_in, b_rec):
      z = rec(x Wz + b_in_z + h Uz + b_rec_z), r = rec(x Wr + b_in_r + h Ur + b_rec_r),
      h~ = act(x Wh + b_in_h + r * (h Uh + b_rec_h))
    reset_before (one bias): z, r as above without b_rec, h~ = act(x Wh + bh + (r * h) Uh)
      h' = z h + (1 - z) h~
  SimpleRNN: h' = act(x W + h U + b)
  mask: at a masked step the states are carried unchanged; the output is the
      previous step's output (zeros before the first real step), or zeros when
      zero_output_for_mask (Bidirectional with return_sequences)
  go_backwards: steps processed last to first; return_sequences returns them
      in processing order
  Bidirectional: forward on x, backward = the layer with go_backwards on x,
      its sequence reversed back; merged by concat / sum / mul / ave

conv1d: x (batch, steps, in), kernel (k, in, filters), bias; padding valid or
same (Keras/TF: pad_total = max((out - 1) * stride + k - steps, 0), left half
rounded down), stride.

batch_normalization: x, gamma, beta, moving_mean, moving_variance; the channel
axis is config "axis" (default -1). training: batch mean and biased variance
over all other axes; moving statistics updated as m * moving + (1 - m) * batch,
the variance scaled by n / (n - (1 + epsilon)) as Keras 2.2's
BatchNormalization does; writes y, moving_mean_new, moving_variance_new.
inference: the moving statistics.
"""
import json
import os
import sys

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
}


def lstm_step(x, states, w, cfg):
    h, c = states
    act, rec = ACTIVATIONS[cfg["activation"]], ACTIVATIONS[cfg["recurrent_activation"]]
    u = h.shape[1]
    z = x @ w["kernel"] + h @ w["recurrent_kernel"]
    if "bias" in w:
        z = z + w["bias"]
    i, f, cc, o = (z[:, k * u:(k + 1) * u] for k in range(4))
    c_new = rec(f) * c + rec(i) * act(cc)
    h_new = rec(o) * act(c_new)
    return h_new, [h_new, c_new]


def gru_step(x, states, w, cfg):
    (h,) = states
    act, rec = ACTIVATIONS[cfg["activation"]], ACTIVATIONS[cfg["recurrent_activation"]]
    u = h.shape[1]
    W, U = w["kernel"], w["recurrent_kernel"]
    bias = w.get("bias")
    cols = [slice(k * u, (k + 1) * u) for k in range(3)]
    if cfg.get("reset_after", True):
        b_in = bias[0] if bias is not None else 0.0
        b_rec = bias[1] if bias is not None else np.zeros(3 * u)
        xs = x @ W + b_in
        hs = h @ U + b_rec
        z = rec(xs[:, cols[0]] + hs[:, cols[0]])
        r = rec(xs[:, cols[1]] + hs[:, cols[1]])
        hh = act(xs[:, cols[2]] + r * hs[:, cols[2]])
    else:
        xs = x @ W + (bias if bias is not None else 0.0)
        z = rec(xs[:, cols[0]] + h @ U[:, cols[0]])
        r = rec(xs[:, cols[1]] + h @ U[:, cols[1]])
        hh = act(xs[:, cols[2]] + (r * h) @ U[:, cols[2]])
    h_new = z * h + (1.0 - z) * hh
    return h_new, [h_new]


def simple_rnn_step(x, states, w, cfg):
    (h,) = states
    z = x @ w["kernel"] + h @ w["recurrent_kernel"]
    if "bias" in w:
        z = z + w["bias"]
    h_new = ACTIVATIONS[cfg["activation"]](z)
    return h_new, [h_new]


CELLS = {"lstm": (lstm_step, 2), "gru": (gru_step, 1), "simple_rnn": (simple_rnn_step, 1)}


def rnn(cell, x, mask, w, cfg, go_backwards, zero_output_for_mask, initial):
    """Keras RNN over x (batch, steps, in): (outputs in processing order, final states)."""
    step, n_states = CELLS[cell]
    B, T, _ = x.shape
    u = w["recurrent_kernel"].shape[0]
    states = initial if initial is not None else [np.zeros((B, u)) for _ in range(n_states)]
    prev_out = np.zeros((B, u))
    outs = []
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    for t in order:
        out, new_states = step(x[:, t, :], states, w, cfg)
        if mask is not None:
            m = mask[:, t][:, None] != 0
            new_states = [np.where(m, s_new, s_old) for s_new, s_old in zip(new_states, states)]
            out = np.where(m, out, 0.0 if zero_output_for_mask else prev_out)
        states = new_states
        prev_out = out
        outs.append(out)
    return np.stack(outs, axis=1), states


def load(d, name):
    path = os.path.join(d, name + ".npy")
    return np.load(path).astype(np.float64) if os.path.exists(path) else None


def weights(d, prefix=""):
    w = {}
    for k in ("kernel", "recurrent_kernel", "bias"):
        v = load(d, prefix + k)
        if v is not None:
            w[k] = v
    return w


def initial_states(d, prefix=""):
    states = []
    while (s := load(d, f"{prefix}initial_state_{len(states)}")) is not None:
        states.append(s)
    return states or None


def finish(out_seq, states, cfg):
    y = out_seq if cfg.get("return_sequences") else out_seq[:, -1, :]
    return y, states


def recurrent(cell, d, cfg):
    x, mask = load(d, "x"), load(d, "mask")
    seq, states = rnn(cell, x, mask, weights(d), cfg, cfg.get("go_backwards", False), False,
                      initial_states(d))
    return finish(seq, states, cfg)


def bidirectional(d, cfg):
    x, mask = load(d, "x"), load(d, "mask")
    cell, seqs = cfg["cell"], cfg.get("return_sequences", False)
    fwd, fs = rnn(cell, x, mask, weights(d, "forward_"), cfg, False, seqs, initial_states(d, "forward_"))
    bwd, bs = rnn(cell, x, mask, weights(d, "backward_"), cfg, True, seqs, initial_states(d, "backward_"))
    if seqs:
        a, b = fwd, bwd[:, ::-1, :]
    else:
        a, b = fwd[:, -1, :], bwd[:, -1, :]
    mode = cfg.get("merge_mode", "concat")
    y = {"concat": lambda: np.concatenate([a, b], axis=-1), "sum": lambda: a + b,
         "mul": lambda: a * b, "ave": lambda: (a + b) / 2}[mode]()
    return y, fs + bs


def conv1d(d, cfg):
    x, k, b = load(d, "x"), load(d, "kernel"), load(d, "bias")
    B, S, _ = x.shape
    K, _, F = k.shape
    stride = cfg.get("strides", 1)
    if cfg.get("padding", "valid") == "same":
        out = -(-S // stride)
        pad_total = max((out - 1) * stride + K - S, 0)
        left = pad_total // 2
        x = np.concatenate([np.zeros((B, left, x.shape[2])), x,
                            np.zeros((B, pad_total - left, x.shape[2]))], axis=1)
    else:
        out = (S - K) // stride + 1
    y = np.zeros((B, out, F))
    for t in range(out):
        window = x[:, t * stride:t * stride + K, :]  # (B, K, in)
        y[:, t, :] = np.einsum("bkc,kcf->bf", window, k)
    if b is not None:
        y = y + b
    return ACTIVATIONS[cfg.get("activation", "linear")](y)


def batch_normalization(d, cfg):
    x = load(d, "x")
    gamma, beta = load(d, "gamma"), load(d, "beta")
    mm, mv = load(d, "moving_mean"), load(d, "moving_variance")
    eps, momentum = cfg.get("epsilon", 1e-3), cfg.get("momentum", 0.99)
    axis = cfg.get("axis", -1) % x.ndim
    axes = tuple(a for a in range(x.ndim) if a != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    gamma, beta, mm, mv = (v.reshape(shape) for v in (gamma, beta, mm, mv))
    if not cfg.get("training", False):
        return {"y": (x - mm) / np.sqrt(mv + eps) * gamma + beta}
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    n = x.size // x.shape[axis]
    return {"y": (x - mean) / np.sqrt(var + eps) * gamma + beta,
            "moving_mean_new": (momentum * mm + (1 - momentum) * mean).ravel(),
            "moving_variance_new": (momentum * mv + (1 - momentum) * var * n / (n - (1 + eps))).ravel()}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    layer, d = sys.argv[1], sys.argv[2]
    cfg_path = os.path.join(d, "config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    cfg.setdefault("activation", "tanh" if layer in CELLS or layer == "bidirectional" else "linear")
    cfg.setdefault("recurrent_activation", "sigmoid")
    if layer in CELLS:
        results = recurrent(layer, d, cfg)
    elif layer == "bidirectional":
        results = bidirectional(d, cfg)
    elif layer == "conv1d":
        results = {"y": conv1d(d, cfg)}
    elif layer == "batch_normalization":
        results = batch_normalization(d, cfg)
    else:
        sys.exit(f"unknown layer '{layer}'\n" + __doc__)
    if isinstance(results, tuple):
        y, states = results
        results = {"y": y}
        results.update({f"state_{k}": s for k, s in enumerate(states)})
    for name, v in results.items():
        np.save(os.path.join(d, name + ".npy"), np.asarray(v, dtype=np.float64))


if __name__ == "__main__":
    main()
