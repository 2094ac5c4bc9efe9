#!/usr/bin/env python3
"""One-off cross-check of keras_layers.py's GRU (reset_after=True) against
PyTorch's nn.GRU, whose equations are the same (r applied after the recurrent
product, separate input and recurrent biases) with gates stored r, z, n
instead of Keras's z, r, h. Not part of the test suite (Debian:
apt-get install python3-torch python3-numpy).

    python3 tools/numpy_reference/torch_gru_check.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_layers  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    B, T, n_in, u = 4, 9, 6, 5
    x = rng.uniform(-1, 1, (B, T, n_in))
    kernel = rng.uniform(-0.6, 0.6, (n_in, 3 * u))      # Keras columns: z, r, h
    recurrent = rng.uniform(-0.6, 0.6, (u, 3 * u))
    bias = rng.uniform(-0.6, 0.6, (2, 3 * u))           # input row, recurrent row
    h0 = rng.uniform(-0.8, 0.8, (B, u))

    w = {"kernel": kernel, "recurrent_kernel": recurrent, "bias": bias}
    cfg = {"activation": "tanh", "recurrent_activation": "sigmoid", "reset_after": True}
    ours, (h_last,) = keras_layers.rnn("gru", x, None, w, cfg, False, False, [h0])

    def torch_order(m):  # Keras (., 3u) columns z, r, h -> PyTorch (3u, .) rows r, z, n
        z, r, h = np.split(m, 3, axis=-1)
        return np.concatenate([r, z, h], axis=-1).T

    gru = torch.nn.GRU(n_in, u, batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(torch_order(kernel)))
        gru.weight_hh_l0.copy_(torch.from_numpy(torch_order(recurrent)))
        gru.bias_ih_l0.copy_(torch.from_numpy(torch_order(bias[0])))
        gru.bias_hh_l0.copy_(torch.from_numpy(torch_order(bias[1])))
        out, h_n = gru(torch.from_numpy(x), torch.from_numpy(h0)[None])
    d_seq = np.abs(out.numpy() - ours).max()
    d_last = np.abs(h_n[0].numpy() - h_last).max()
    print(f"max |numpy - torch|: outputs {d_seq:.3g}, final state {d_last:.3g} "
          f"(float64, batch {B}, {T} steps, {n_in} in, {u} units)")
    sys.exit(0 if max(d_seq, d_last) < 1e-12 else 1)


if __name__ == "__main__":
    main()
