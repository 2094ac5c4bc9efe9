#!/usr/bin/python3
"""PyTorch side of the seqgraph-vs-PyTorch CPU benchmark: our course models, model for model.

Usage (Debian's interpreter, which has python3-torch 1.13; the pyenv `python3` has no torch):

    /usr/bin/python3 tools/bench/torch_models.py WORKLOAD --threads N
        [--steps K] [--epochs E] [--data-dir DIR] [--seed S] [--graph-run PATH]

WORKLOAD (each mirrors a seqgraph model; the section of each below names our file):

    dinosaurus   models/dinosaurus.cpp: the character RNN, one name per SGD step.
                 Two lines: "pytorch-eager" (an eager loop of torch ops) and
                 "pytorch-nn.RNN" (torch.nn.RNN + Linear). Figure: steps/s over
                 --steps K (default 5000) after 200 untimed warm-up steps (training steps
                 too: K + 200 in all, "steps_total"). "loss": the smoothed loss (ours) after
                 all K + 200; "loss_after_steps": after exactly K steps, the figure that
                 graph-run dinosaurus train --iterations K ends with.
    lstm-layer   tools/bench/model_bench.cpp (ops/layers.cpp's LSTM): one nn.LSTM layer, B=64,
                 X=128, H=256, T=50, float32, SGD lr 1.0 on 0.5 * mean((h - y)^2). Figure:
                 ms/step, the median of --steps K (default 20) steps after 3 warm-up steps
                 (as model_bench.cpp; the mean is "mean_ms"); extra key "gflops".
    emojify-v2   models/emojify.cpp (V2): masked 2-layer LSTM classifier, Adam (Keras),
                 batches of 32. Figure: s/epoch over --epochs E (default 50), after an
                 untimed warm-up epoch on a throwaway copy (the timed model starts fresh, so
                 "loss", the last epoch's mean loss, is after E epochs as ours); extra keys
                 "train_accuracy", "test_accuracy" (after training, dropout off).
    nmt-attention models/nmt_attention.cpp: the course's date translator (Bi-LSTM(32) ->
                 one-step attention x 10 -> LSTM(64) -> Dense(11)), Adam (Keras, legacy decay
                 0.01), 10,000 training dates in batches of 100. Figure: s/epoch over
                 --epochs E (default 1), where an epoch is graph-run's: the 100 training steps
                 AND the forward pass over the 1000 validation dates that fit runs after each
                 epoch (equal work on both sides). Untimed before it: 5 training steps and one
                 validation batch on a throwaway copy (the timed model starts fresh, so "loss",
                 the last epoch's mean loss, is after E epochs as ours). The dates come from
                 --graph-run (`graph-run nmt_attention data`); extra keys "initial_loss" (the
                 first batch at the initial weights), "val_loss", "val_accuracy".
    sgemm        torch.mm of two float32 n x n matrices, n = 256, 512, 1024: one line
                 per n, median time over ~0.3 s of repetitions. Figure: GFLOP/s.

--data-dir defaults to <repository root>/../shared/data (dinos.txt, emojify/train_emoji.csv,
emojify/tesss.csv, glove/glove.6B.50d.5k.txt). --graph-run (default <repository root>/build/
graph-run) prints nmt-attention's dates. --seed (default 0, as graph-run's) seeds the initial
weights and the shuffles of dinosaurus, emojify-v2 and nmt-attention exactly as graph-run does
(see below), nmt-attention's dates, and sgemm's random matrices; lstm-layer uses
model_bench.cpp's fixed seeds.

Output protocol: one line of JSON on stdout per measurement, nothing else on stdout
(diagnostics go to stderr):

    {"impl": "...", "workload": "...", "threads": N, "figure": <float>, "unit": "...",
     "loss": <float or null>, ...extra keys}

Extra keys on every line: "torch" (torch's version), "blas" (the BLAS library torch loaded,
read from /proc/self/maps) and "omp_wait_policy". Timing is time.perf_counter, after untimed
warm-up. Errors (a missing data file, ...): a message on stderr and exit status 1.

Threads: before torch is imported, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS
are set to N and OMP_WAIT_POLICY to PASSIVE, each only where the environment does not set it
already (Debian's torch spin-waits in OpenMP otherwise and is several times slower at 2
threads on a 2-core machine; torch.set_num_threads does not limit OpenBLAS). Then
torch.set_num_threads(N) and torch.set_num_interop_threads(1).

BLAS: Debian's torch calls the system libblas.so.3 (BLAS_INFO=generic), which the Debian
alternatives system points at OpenBLAS's serial or pthread build. To choose one for torch only:
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 ...
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-serial  /usr/bin/python3 ...
The serial build never uses more than one thread in torch.mm (and in nn.LSTM's matmuls).

Same initial weights as seqgraph: the parameters, the shuffles and the synthetic inputs are
drawn with a port of seqgraph's counter-based generator (graph/random.hpp: SplitMix64,
FNV-1a stream names, Box-Muller normals) and initializers (graph/params.cpp: glorot_uniform,
orthogonal by modified Gram-Schmidt, unit_forget_bias), with the parameter names our models
use, so that at the same --seed both sides start from the same weights and see the examples
in the same order. Only dropout masks differ (emojify-v2: ours draw per graph node).
nmt-attention has no dropout: at --seed 0 both sides give the same loss after one epoch to
about six digits (16.70097 here, 16.700975 in graph-run's log).
For lstm-layer, the data and weights are model_bench.cpp's: x[i] = rng::normal(7, 1, i),
y[i] = rng::uniform(7, 2, i) - 0.5 (float32, flat index i), and lstm/kernel (128, 1024)
glorot_uniform, lstm/recurrent_kernel (256, 1024) orthogonal, lstm/bias (1024)
unit_forget_bias, all from seed 1.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_GRAPH_RUN = REPO_ROOT / "build" / "graph-run"

WORKLOADS = ("dinosaurus", "lstm-layer", "emojify-v2", "nmt-attention", "trigger-word", "sgemm")

# torch and numpy are imported in main(), after the thread variables are set.
torch = None
np = None
F = None


class DataError(Exception):
    """A missing or malformed data file: reported on stderr, exit status 1."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# seqgraph's random numbers and initializers (graph/random.hpp, graph/params.cpp)

M64 = (1 << 64) - 1


def sg_mix(z):
    """SplitMix64 finaliser on a Python int."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def sg_mix_array(z):
    """SplitMix64 finaliser on a uint64 array (numpy wraps array arithmetic mod 2^64)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def sg_hash_name(s):
    """FNV-1a of a name: the stream of a parameter or a shuffle."""
    h = 1469598103934665603
    for c in s.encode():
        h = ((h ^ c) * 1099511628211) & M64
    return h


def sg_uniform(seed, stream, counters):
    """rng::uniform(seed, stream, c) for each c of `counters`: [0, 1) with 53 bits, float64."""
    base = sg_mix(sg_mix(seed & M64) ^ (stream & M64))
    h = sg_mix_array(np.uint64(base) ^ np.asarray(counters, dtype=np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def sg_normal(seed, stream, n):
    """rng::Stream{seed, stream}.normal() drawn n times (counters 0..n-1): Box-Muller."""
    c = np.arange(n, dtype=np.uint64)
    u1 = np.maximum(sg_uniform(seed, stream, 2 * c), 1e-300)
    u2 = sg_uniform(seed, stream, 2 * c + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)


def sg_shuffle(items, seed, stream):
    """train::shuffle: Fisher-Yates with j = floor(uniform(seed, stream, i) * (i + 1))."""
    items = list(items)
    n = len(items)
    if n < 2:
        return items
    u = sg_uniform(seed, stream, np.arange(n, dtype=np.uint64))
    for i in range(n - 1, 0, -1):
        j = min(int(u[i] * float(i + 1)), i)
        items[i], items[j] = items[j], items[i]
    return items


def sg_init(kind, shape, seed, name, dtype="float64", a=0.0, b=0.0):
    """Initializer::make(shape, dtype, seed, name) as a numpy array of `dtype`."""
    shape = tuple(shape)
    n = int(np.prod(shape))
    stream = sg_hash_name(name)
    if kind == "zeros":
        v = np.zeros(n)
    elif kind == "normal":  # a + b * N(0, 1)
        v = a + b * sg_normal(seed, stream, n)
    elif kind == "uniform":  # a + (b - a) * U[0, 1)
        v = a + (b - a) * sg_uniform(seed, stream, np.arange(n, dtype=np.uint64))
    elif kind == "glorot_uniform":
        if len(shape) == 1:
            fan_in = fan_out = shape[0]
        else:
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        v = (2 * sg_uniform(seed, stream, np.arange(n, dtype=np.uint64)) - 1) * limit
    elif kind == "unit_forget_bias":
        assert len(shape) == 1 and shape[0] % 4 == 0
        v = np.zeros(n)
        v[shape[0] // 4: shape[0] // 2] = 1.0
    elif kind == "orthogonal":  # gain 1: modified Gram-Schmidt on a normal draw, in double
        cols = shape[-1]
        rows = n // cols
        transpose = rows < cols
        length, k = (cols, rows) if transpose else (rows, cols)
        q = sg_normal(seed, stream, length * k).reshape(k, length)  # k vectors of `length`
        for j in range(k):
            vj = q[j]
            for i in range(j):
                vj -= float(np.dot(q[i], vj)) * q[i]
            norm = math.sqrt(float(np.dot(vj, vj)))
            if norm < 1e-12:
                raise RuntimeError("orthogonal initializer: degenerate draw")
            vj /= norm
        v = q if transpose else q.T
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(shape).astype(dtype))


def keras_lstm_weights(name, n_in, units, seed):
    """ops/layers.cpp lstm_weights: (kernel (in, 4u) glorot, recurrent (u, 4u) orthogonal,
    bias (4u) unit forget), float32, gate order i, f, c, o (= torch's i, f, g, o)."""
    return (sg_init("glorot_uniform", (n_in, 4 * units), seed, name + "/kernel", "float32"),
            sg_init("orthogonal", (units, 4 * units), seed, name + "/recurrent_kernel", "float32"),
            sg_init("unit_forget_bias", (4 * units,), seed, name + "/bias", "float32"))


def load_keras_lstm(lstm, kernel, recurrent, bias, suffix="_l0"):
    """Copies Keras-layout weights into a one-layer nn.LSTM. Keras (and ours) has ONE bias;
    torch adds bias_ih + bias_hh, so bias_hh is kept at zero and frozen (a trained bias_hh
    would get the same gradient as bias_ih and move the sum twice as fast). `suffix` picks
    the weights: "_l0" (nn.LSTM), "_l0_reverse" (its backward direction), "" (nn.LSTMCell)."""
    w_ih, w_hh = getattr(lstm, "weight_ih" + suffix), getattr(lstm, "weight_hh" + suffix)
    b_ih, b_hh = getattr(lstm, "bias_ih" + suffix), getattr(lstm, "bias_hh" + suffix)
    with torch.no_grad():
        w_ih.copy_(torch.from_numpy(kernel.T.copy()))
        w_hh.copy_(torch.from_numpy(recurrent.T.copy()))
        b_ih.copy_(torch.from_numpy(bias))
        b_hh.zero_()
    b_hh.requires_grad_(False)


# ---------------------------------------------------------------------------
# output

COMMON = {}


def emit(impl, workload, threads, figure, unit, loss, **extra):
    rec = {"impl": impl, "workload": workload, "threads": threads, "figure": float(figure),
           "unit": unit, "loss": None if loss is None else float(loss)}
    rec.update(extra)
    rec.update(COMMON)
    sys.stdout.write(json.dumps(rec) + "\n")
    sys.stdout.flush()


def loaded_blas():
    """The BLAS shared object(s) mapped into this process, e.g. 'openblas-serial/libblas.so.3'."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                low = os.path.basename(path).lower()
                if ("blas" in low or "mkl" in low) and path not in found:
                    found.append(path)
    except OSError:
        return "unknown"
    return ", ".join("/".join(Path(p).resolve().parts[-2:]) for p in found) or "none"


def need_file(path):
    p = Path(path)
    if not p.is_file():
        raise DataError(f"missing data file '{p}' (set --data-dir; the default is "
                        f"<repository>/../shared/data)")
    return p


# ---------------------------------------------------------------------------
# 1. dinosaurus — mirrors models/dinosaurus.cpp (and models/dinosaurus.hpp, models/data/text.cpp)
#
#   vocabulary '\n' = 0, 'a'..'z' = 1..26 (27); names lower-cased, blank lines skipped, shuffled
#   once with train::shuffle(seed, "dinosaurus/shuffle"); step j trains on name j mod N with
#   X = [None] + chars (None = the zero vector), Y = chars + ['\n'];
#   a = tanh(Wax x + Waa a_prev + b), z = Wya a + by, loss = sum_t cross-entropy(z_t, y_t);
#   Wax (50, 27), Waa (50, 50), Wya (27, 50) ~ randn * 0.01 (seqgraph's stream per name),
#   b (50, 1), by (27, 1) zero; every gradient clipped to [-5, 5], SGD lr 0.01;
#   the hidden state carries over from one name to the next (a⟨0⟩ = 0 for the first name, no
#   gradient through it); smooth = 0.999 smooth + 0.001 loss from -log(1/27) * 7.
#   float64, as our plan (DType::f64).

N_X, N_A = 27, 50
DINO_VOCAB = "\nabcdefghijklmnopqrstuvwxyz"


def load_dinos(path, seed):
    names = []
    with open(need_file(path), "rb") as f:
        for number, raw in enumerate(f, 1):
            text = raw.decode("latin-1").strip().lower()
            if not text:
                continue
            idx = []
            for c in text:
                i = DINO_VOCAB.find(c)
                if i < 0:
                    raise DataError(f"{path}:{number}: {c!r} in name '{text}' is not in the vocabulary")
                idx.append(i)
            names.append(idx)
    if not names:
        raise DataError(f"'{path}' is empty: expected one name per line")
    return sg_shuffle(names, seed, sg_hash_name("dinosaurus/shuffle"))


def dino_params(seed, dtype):
    npdt = "float64" if dtype == torch.float64 else "float32"
    p = {
        "Wax": sg_init("normal", (N_A, N_X), seed, "Wax", npdt, 0.0, 0.01),
        "Waa": sg_init("normal", (N_A, N_A), seed, "Waa", npdt, 0.0, 0.01),
        "Wya": sg_init("normal", (N_X, N_A), seed, "Wya", npdt, 0.0, 0.01),
        "b": np.zeros((N_A, 1), npdt),
        "by": np.zeros((N_X, 1), npdt),
    }
    return {k: torch.from_numpy(v) for k, v in p.items()}


class DinoEager:
    """An eager loop of torch ops with autograd. Our x⟨t⟩ is one-hot, so Wax x⟨t⟩ is column
    x⟨t⟩ of Wax (exactly, in floating point): one index_select per name, and no input term at
    t = 1 (x⟨1⟩ = None, the zero vector)."""

    def __init__(self, init):
        self.p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
        self.params = list(self.p.values())
        self.opt = torch.optim.SGD(self.params, lr=0.01)

    def step(self, x_idx, y_idx, a):
        """x_idx: the T-1 inputs after the None; y_idx: (T,) targets; a: (50, 1) a_prev."""
        p = self.p
        # Wax x⟨t⟩ + b for t = 2..T at once, (50, T-1); then one addmm per step
        # (about 10 % faster than separate matmul and adds; the same sum, added in another order)
        wxb = p["Wax"].index_select(1, x_idx) + p["b"]
        a = torch.tanh(torch.addmm(p["b"], p["Waa"], a))  # x⟨1⟩ = 0
        hs = [a]
        for t in range(x_idx.shape[0]):
            a = torch.tanh(torch.addmm(wxb[:, t:t + 1], p["Waa"], a))
            hs.append(a)
        z = p["Wya"] @ torch.cat(hs, 1) + p["by"]  # (27, T): every step's logits at once
        loss = F.cross_entropy(z.t(), y_idx, reduction="sum")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, 5.0)
        self.opt.step()
        return loss.item(), a.detach()


class DinoNNRNN:
    """torch.nn.RNN over the whole name in one call, then Linear(50, 27)."""

    def __init__(self, init, dtype):
        self.rnn = torch.nn.RNN(N_X, N_A, nonlinearity="tanh").to(dtype)
        self.out = torch.nn.Linear(N_A, N_X).to(dtype)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(init["Wax"])
            self.rnn.weight_hh_l0.copy_(init["Waa"])
            self.rnn.bias_ih_l0.copy_(init["b"].flatten())
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(init["Wya"])
            self.out.bias.copy_(init["by"].flatten())
        # our model has one bias b: torch's second bias stays zero (frozen)
        self.rnn.bias_hh_l0.requires_grad_(False)
        self.params = [q for q in list(self.rnn.parameters()) + list(self.out.parameters())
                       if q.requires_grad]
        self.opt = torch.optim.SGD(self.params, lr=0.01)

    def step(self, x_onehot, y_idx, a):
        """x_onehot: (T, 1, 27), first row zero; a: (1, 1, 50)."""
        hs, h_n = self.rnn(x_onehot, a)
        z = self.out(hs[:, 0, :])
        loss = F.cross_entropy(z, y_idx, reduction="sum")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, 5.0)
        self.opt.step()
        return loss.item(), h_n.detach()


def run_dinosaurus(args):
    dtype = torch.float64
    names = load_dinos(Path(args.data_dir) / "dinos.txt", args.seed)
    init = dino_params(args.seed, dtype)
    newline = DINO_VOCAB.index("\n")
    warmup, steps = 200, args.steps if args.steps is not None else 5000
    total = warmup + steps
    # the examples as tensors, prepared outside the timed loop (ours: one-hot columns per step)
    eye = torch.eye(N_X, dtype=dtype)
    ex_idx, ex_onehot = [], []
    for name in names:
        x = torch.tensor(name, dtype=torch.long)
        y = torch.tensor(name + [newline], dtype=torch.long)
        ex_idx.append((x, y))
        ex_onehot.append((torch.cat([torch.zeros(1, N_X, dtype=dtype), eye[x]]).unsqueeze(1), y))
    for impl in ("pytorch-eager", "pytorch-nn.RNN"):
        if impl == "pytorch-eager":
            model, examples, a = DinoEager(init), ex_idx, torch.zeros(N_A, 1, dtype=dtype)
        else:
            model, examples, a = DinoNNRNN(init, dtype), ex_onehot, torch.zeros(1, 1, N_A, dtype=dtype)
        smooth = -math.log(1.0 / N_X) * 7
        n = len(examples)
        smooth_at = {}  # the smoothed loss after exactly K steps, K = --steps
        for j in range(warmup):
            x, y = examples[j % n]
            loss, a = model.step(x, y, a)
            smooth = 0.999 * smooth + 0.001 * loss
            smooth_at[j + 1] = smooth
        t0 = time.perf_counter()
        for j in range(warmup, total):
            x, y = examples[j % n]
            loss, a = model.step(x, y, a)
            smooth = 0.999 * smooth + 0.001 * loss
            if j + 1 == steps:
                smooth_at[j + 1] = smooth
        dt = time.perf_counter() - t0
        emit(impl, "dinosaurus", args.threads, steps / dt, "steps/s", smooth,
             steps_total=total, steps_timed=steps, loss_after_steps=smooth_at[steps],
             dtype="float64", last_loss=loss)


# ---------------------------------------------------------------------------
# 2. lstm-layer — mirrors tools/bench/model_bench.cpp (lstm_layer), i.e. ops/layers.cpp
#    lstm_weights / lstm (Keras LSTM, sigmoid recurrent activation, gates i, f, c, o) with
#    graph/params.cpp's initializers.
#
#   T=50 (--seq), B=64 (--batch), X=128, H=256, float32; fixed data drawn as model_bench.cpp's seeded():
#   x[i] = rng::normal(7, 1, i), y[i] = rng::uniform(7, 2, i) - 0.5 (flat row-major index i
#   of (T, B, X) and (T, B, H)); weights lstm/kernel, lstm/recurrent_kernel, lstm/bias from
#   seed 1 (its Plan's seed). --seed does not apply. h, c start at 0;
#   loss = 0.5 * mean((h_all - y)^2) over T*B*H; backward; SGD lr 1.0, no momentum (torch's
#   bias_hh frozen at 0: one bias, as ours). Figure: the median step time, as model_bench.cpp
#   (the mean is in "mean_ms").

LSTM_DATA_SEED, LSTM_WEIGHT_SEED = 7, 1


def run_lstm_layer(args):
    T, B, X, H = args.seq, args.batch, 128, 256
    warmup, steps = 3, args.steps if args.steps is not None else 20
    x = sg_normal(LSTM_DATA_SEED, 1, T * B * X).astype(np.float32).reshape(T, B, X)
    y = (sg_uniform(LSTM_DATA_SEED, 2, np.arange(T * B * H, dtype=np.uint64)) - 0.5)
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32).reshape(T, B, H))
    lstm = torch.nn.LSTM(X, H)
    load_keras_lstm(lstm, *keras_lstm_weights("lstm", X, H, LSTM_WEIGHT_SEED))
    params = [p for p in lstm.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=1.0)

    def step():
        h_all, _ = lstm(x)  # initial (h, c) = 0
        loss = 0.5 * F.mse_loss(h_all, y, reduction="mean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    sec = sorted(times)[len(times) // 2]
    flops = 3 * 2 * T * B * (X + H) * 4 * H
    emit("pytorch-nn.LSTM", "lstm-layer", args.threads, sec * 1e3, "ms/step", loss,
         gflops=flops / sec / 1e9, mean_ms=sum(times) / steps * 1e3, steps_total=warmup + steps,
         steps_timed=steps, T=T, B=B, X=X, H=H, dtype="float32")


# ---------------------------------------------------------------------------
# 3. emojify-v2 — mirrors models/emojify.cpp (V2), models/emojify.hpp, models/data/csv.cpp,
#    models/data/glove.cpp, ops/layers.cpp (LSTM, Dense), autodiff/optimizers.cpp and
#    ops/update.cpp (Adam).
#
#   words = sentence.lower().split(); a word without a GloVe vector is a zero vector at its
#   step (a real step); padded to max(10, longest in the batch), padding MASKED: padding steps
#   leave (h, c) unchanged, so the final state is the one after the last word. Here:
#   pack_padded_sequence with the word counts (the same result, and no work on padding).
#   Frozen embeddings (vectors looked up on the host, float32) -> LSTM(128, sequences) ->
#   Dropout(0.5) -> LSTM(128) -> Dropout(0.5) -> Dense(5); softmax cross-entropy, mean over
#   the batch. Weights: lstm/*, lstm_1/* (glorot, orthogonal, unit forget bias), dense/kernel
#   glorot, dense/bias 0 (seqgraph streams, --seed). Adam in Keras 2's form (ours):
#   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + 1e-7): written out, as
#   torch.optim.Adam puts epsilon inside the bias correction (a slightly different update).
#   Batches of 32 as fit::epoch_batches with FitOptions::bucket = 4 (models/emojify.cpp): the
#   order train::shuffle(seed, "emojify/shuffle" + epoch), cut in pools of 4 batches, each
#   pool stably sorted by word count and cut into batches, the batches shuffled with
#   (seed, "emojify/buckets" + epoch): the same batches on both sides. The epoch's loss is
#   the mean over examples. Dropout masks are torch's (ours draw per node).

EMO_MAX_LEN, EMO_UNITS, EMO_CLASSES, EMO_BATCH = 10, 128, 5, 32


def parse_csv_line(line):
    """models/data/csv.cpp parse_csv_line: quoted fields with "" escapes, no quotes inside
    unquoted fields."""
    fields, i, n = [], 0, len(line)
    while True:
        field = []
        if i < n and line[i] == '"':
            i += 1
            closed = False
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        field.append('"')
                        i += 2
                        continue
                    closed = True
                    i += 1
                    break
                field.append(line[i])
                i += 1
            if not closed:
                raise ValueError(f"the quote that opens field {len(fields) + 1} is never closed")
            if i < n and line[i] != ",":
                raise ValueError(f"text after the closing quote of field {len(fields) + 1}")
        else:
            while i < n and line[i] != ",":
                if line[i] == '"':
                    raise ValueError(f"a quote inside unquoted field {len(fields) + 1}")
                field.append(line[i])
                i += 1
        fields.append("".join(field))
        if i >= n:
            break
        i += 1
    return fields


def read_examples(path):
    """emojify::read_examples: (sentence trimmed, label 0..4) per non-blank row."""
    path = need_file(path)
    out = []
    with open(path, "rb") as f:
        data = f.read().decode("utf-8")
    if data.startswith("\ufeff"):
        data = data[1:]
    for number, line in enumerate(data.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip(" \t\r\n"):
            continue
        try:
            fields = parse_csv_line(line)
        except ValueError as e:
            raise DataError(f"{path}:{number}: {e}")
        if len(fields) < 2:
            raise DataError(f"{path}:{number}: {len(fields)} field(s) (expected `sentence,label`)")
        sentence, label = fields[0].strip(" \t\r\n"), fields[1].strip(" \t\r\n")
        if not sentence or not label.isdigit() or not 0 <= int(label) < EMO_CLASSES:
            raise DataError(f"{path}:{number}: bad row (empty sentence or label '{label}' not 0..4)")
        out.append((sentence, int(label)))
    if not out:
        raise DataError(f"'{path}' holds no sentences")
    return out


def read_glove_subset(path, wanted):
    """The vectors (float64) of the words in `wanted` from a GloVe text file."""
    path = need_file(path)
    vec, dim = {}, None
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            line = raw.decode("utf-8").rstrip("\r\n \t")
            if not line:
                continue
            parts = line.split()
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise DataError(f"{path}:{number}: the word '{parts[0]}' has no numbers after it")
            elif len(parts) - 1 != dim:
                raise DataError(f"{path}:{number}: ragged line: expected {dim} numbers")
            if parts[0] in wanted and parts[0] not in vec:
                vec[parts[0]] = np.array(parts[1:], dtype=np.float64)
    if dim is None:
        raise DataError(f"{path}: empty file: no word vectors in it")
    return vec, dim


def embed(examples, vectors, dim):
    """(X (m, L, d) float32 zero-padded, lengths (m,), labels (m,)), L = max(10, longest);
    a word without a vector is a zero row (a real step)."""
    ws = [s.lower().split() for s, _ in examples]
    L = max([EMO_MAX_LEN] + [len(w) for w in ws])
    X = np.zeros((len(ws), L, dim), np.float32)
    for b, words in enumerate(ws):
        for t, w in enumerate(words):
            v = vectors.get(w)
            if v is not None:
                X[b, t] = v.astype(np.float32)
    lengths = torch.tensor([len(w) for w in ws], dtype=torch.long)
    labels = torch.tensor([lab for _, lab in examples], dtype=torch.long)
    return torch.from_numpy(X), lengths, labels


def emojify_v2_model(dim, seed):
    """The V2 network (defined here, as torch is imported in main())."""

    class EmojifyV2(torch.nn.Module):
        def __init__(self, dim, seed):
            super().__init__()
            self.lstm = torch.nn.LSTM(dim, EMO_UNITS, batch_first=True)
            self.lstm_1 = torch.nn.LSTM(EMO_UNITS, EMO_UNITS, batch_first=True)
            self.dense = torch.nn.Linear(EMO_UNITS, EMO_CLASSES)
            load_keras_lstm(self.lstm, *keras_lstm_weights("lstm", dim, EMO_UNITS, seed))
            load_keras_lstm(self.lstm_1, *keras_lstm_weights("lstm_1", EMO_UNITS, EMO_UNITS, seed))
            with torch.no_grad():
                k = sg_init("glorot_uniform", (EMO_UNITS, EMO_CLASSES), seed, "dense/kernel", "float32")
                self.dense.weight.copy_(torch.from_numpy(k.T.copy()))
                self.dense.bias.zero_()

        def forward(self, X, lengths):
            packed = torch.nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True,
                                                             enforce_sorted=False)
            h1, _ = self.lstm(packed)
            h1 = h1._replace(data=F.dropout(h1.data, 0.5, self.training))
            _, (h2, _) = self.lstm_1(h1)  # h_n: after each sentence's last word, original order
            h = F.dropout(h2[0], 0.5, self.training)
            return self.dense(h)

    return EmojifyV2(dim, seed)


class KerasAdam:
    """Keras 2 Adam (ops/update.cpp ApplyAdam): lr 0.001, beta1 0.9, beta2 0.999, eps 1e-7;
    `decay` is Keras' legacy decay (autodiff/optimizers.cpp: inverse_time_decay(decay)): the
    step's lr is lr / (1 + decay * iterations), iterations = the steps before this one,
    applied before the bias correction (decay 0: lr itself)."""

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7, decay=0.0, halving_steps=None):
        self.params = list(params)
        self.lr, self.b1, self.b2, self.eps, self.decay = lr, beta1, beta2, eps, decay
        self.halving = halving_steps  # exponential_decay(0.5, halving_steps) instead of `decay`
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        lr = self.lr * (1.0 / (1.0 + self.decay * self.t))  # LRSchedule::at(lr, iterations)
        if self.halving:
            lr = self.lr * 0.5 ** (self.t / self.halving)
        self.t += 1
        lr_t = lr * math.sqrt(1.0 - self.b2 ** self.t) / (1.0 - self.b1 ** self.t)
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                g = p.grad
                m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
                v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
                p.addcdiv_(m, v.sqrt().add_(self.eps), value=-lr_t)


EMO_BUCKET = 4


def emojify_batches(lengths, seed, epoch):
    """fit::epoch_batches(data, {batch 32, shuffle, bucket 4}, seed, "emojify", epoch)."""
    m = len(lengths)
    order = sg_shuffle(range(m), seed, (sg_hash_name("emojify/shuffle") + epoch) & M64)
    pool = EMO_BUCKET * EMO_BATCH
    for at in range(0, m, pool):
        order[at:at + pool] = sorted(order[at:at + pool], key=lambda i: int(lengths[i]))  # stable
    batches = [order[i:i + EMO_BATCH] for i in range(0, m, EMO_BATCH)]
    return sg_shuffle(batches, seed, (sg_hash_name("emojify/buckets") + epoch) & M64)


def emojify_epoch(model, opt, X, lengths, labels, seed, epoch):
    m = X.shape[0]
    model.train()
    total = 0.0
    for batch in emojify_batches(lengths, seed, epoch):
        idx = torch.tensor(batch, dtype=torch.long)
        z = model(X[idx], lengths[idx])
        loss = F.cross_entropy(z, labels[idx])  # mean over the batch
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / m


def accuracy(model, X, lengths, labels):
    model.eval()
    with torch.no_grad():
        pred = model(X, lengths).argmax(1)
    return float((pred == labels).float().mean())


def run_emojify_v2(args):
    d = Path(args.data_dir)
    train = read_examples(d / "emojify" / "train_emoji.csv")
    test = read_examples(d / "emojify" / "tesss.csv")
    wanted = {w for s, _ in train + test for w in s.lower().split()}
    vectors, dim = read_glove_subset(d / "glove" / "glove.6B.50d.5k.txt", wanted)
    Xtr, Ltr, Ytr = embed(train, vectors, dim)
    Xte, Lte, Yte = embed(test, vectors, dim)
    epochs = args.epochs if args.epochs is not None else 50
    torch.manual_seed(args.seed)  # dropout masks

    # warm-up: one epoch on a throwaway copy (the measured model starts fresh)
    scratch = emojify_v2_model(dim, args.seed)
    emojify_epoch(scratch, KerasAdam(p for p in scratch.parameters() if p.requires_grad),
                  Xtr, Ltr, Ytr, args.seed, 0)

    model = emojify_v2_model(dim, args.seed)
    opt = KerasAdam(p for p in model.parameters() if p.requires_grad)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        loss = emojify_epoch(model, opt, Xtr, Ltr, Ytr, args.seed, epoch)
    sec = (time.perf_counter() - t0) / epochs
    emit("pytorch", "emojify-v2", args.threads, sec, "s/epoch", loss,
         train_accuracy=accuracy(model, Xtr, Ltr, Ytr), test_accuracy=accuracy(model, Xte, Lte, Yte),
         epochs=epochs, masking="pack_padded_sequence")


# ---------------------------------------------------------------------------
# 4. nmt-attention — mirrors models/nmt_attention.cpp, models/data/dates.hpp, ops/keras.hpp
#    (Bidirectional, LSTM, Dense, RepeatVector, Concatenate, Activation, Dot), ops/layers.cpp
#    and ops/update.cpp (Adam with Keras' legacy decay).
#
#   The data: the dates of `graph-run nmt_attention data -n 10000 --seed S` (run once, before
#   anything is timed; --graph-run names the binary), i.e. the training set of
#   `graph-run nmt_attention train -m 10000 --seed S`, and 1000 validation dates from the
#   stream models/nmt_attention.cpp's set_seed gives them (rng::mix(S ^ hash_name
#   ("nmt/validation"))), printed the same way. The human side encoded as dates.hpp's
#   encode_human (' ' 0, '.' 1, '/' 2, '0'-'9' 3..12, a..y without k, q, x, z 13..34,
#   <unk> 35, <pad> 36; truncated / padded to Tx = 30), the machine side as encode_machine
#   ('-' 0, '0'-'9' 1..10); ids kept on the host and one-hot encoded per batch (float32), as
#   DateSet::batch does.
#   The model, the course's: X (B, 30, 37) -> Bidirectional(LSTM(32, return_sequences)) =
#   nn.LSTM(bidirectional): [forward, backward put back in step order] -> a (B, 30, 64);
#   s0 = c0 = 0; for each of the Ty = 10 steps: [a, RepeatVector(30)(s)] (B, 30, 128) ->
#   Dense(10, tanh) -> Dense(1, relu) -> softmax over axis 1 -> alphas (B, 30, 1) ->
#   context = Dot(axes 1)(alphas, a) = bmm (B, 1, 64) -> the post-attention LSTM (64) one
#   step from (s, c) = nn.LSTMCell -> s -> Dense(11) logits. The attention Dense layers run at
#   every step on the whole (B, 30, 128) concatenation, as Keras (and ours) do: a's half of
#   the first product is not hoisted out of the loop. Loss: the sum over the 10 steps of the
#   batch-mean softmax cross-entropy (sum over all / B); the epoch's loss is the mean over
#   its batches (all of 100).
#   Weights (seqgraph streams, --seed): bidirectional/forward_lstm/*, bidirectional/backward_lstm/*
#   (37 -> 32), lstm_1/* (64 -> 64): kernel glorot_uniform, recurrent_kernel orthogonal, bias
#   unit_forget_bias (torch's bias_hh frozen at 0); dense (128 -> 10), dense_1 (10 -> 1),
#   dense_2 (64 -> 11): kernel glorot_uniform, bias zeros. Adam (Keras 2): lr 0.005, beta1 0.9,
#   beta2 0.999, epsilon 1e-7, decay 0.01 (per batch: the course's; tools/bench/run gives
#   graph-run the same schedule explicitly, --lr-schedule inverse-time --lr-decay-rate 0.01
#   --lr-decay-steps 1, whatever the model's default is). Batches of 100 from
#   train::shuffle(seed, hash_name("nmt_attention/shuffle") + epoch) each epoch.
#   Equal work per epoch: as graph-run's epoch (fit with Data::validation), an epoch here is
#   the 100 training steps AND a forward pass over the 1000 validation dates (batches of 100,
#   no gradient: loss and per-character accuracy), both inside the timed region.

NMT_TX, NMT_TY, NMT_HUMAN, NMT_MACHINE = 30, 10, 37, 11
NMT_NA, NMT_NS, NMT_BATCH = 32, 64, 100
NMT_TRAIN, NMT_VALIDATION = 10000, 1000
NMT_WARMUP_BATCHES = 5  # untimed training steps on a throwaway copy
NMT_HUMAN_CHARS = " ./0123456789abcdefghijlmnoprstuvwy"  # ids 0..34; <unk> 35, <pad> 36
NMT_MACHINE_CHARS = "-0123456789"
NMT_UNK, NMT_PAD = 35, 36


def nmt_read_dates(graph_run, n, seed):
    """[(human, iso)] of `graph-run nmt_attention data -n N --seed S`: lines of the human date
    left-justified in 30 columns, two spaces, the ISO date, then '(format)'."""
    cmd = [str(graph_run), "nmt_attention", "data", "-n", str(n), "--seed", str(seed)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise DataError(f"cannot run '{graph_run}' for the dates ({e}); set --graph-run")
    if p.returncode != 0:
        raise DataError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    line_re = re.compile(r"^(.*?)\s+(\d{4}-\d{2}-\d{2})\s+\((.*)\)$")
    out = []
    for number, line in enumerate(p.stdout.splitlines(), 1):
        if not line.strip():
            continue
        m = line_re.match(line)
        if not m:
            raise DataError(f"{' '.join(cmd)}: line {number} is not 'human  YYYY-MM-DD  (format)': {line!r}")
        out.append((m.group(1), m.group(2)))
    if len(out) != n:
        raise DataError(f"{' '.join(cmd)}: {len(out)} dates, expected {n}")
    return out


def nmt_encode(dates):
    """(human ids (m, 30), machine ids (m, 10)) as int64 tensors (dates.hpp encode_human,
    encode_machine; the human text is graph-run's, already normalised)."""
    X = np.full((len(dates), NMT_TX), NMT_PAD, np.int64)
    Y = np.zeros((len(dates), NMT_TY), np.int64)
    for b, (human, iso) in enumerate(dates):
        for t, ch in enumerate(human[:NMT_TX]):
            i = NMT_HUMAN_CHARS.find(ch)
            X[b, t] = i if i >= 0 else NMT_UNK
        if len(iso) != NMT_TY:
            raise DataError(f"machine date '{iso}' is not {NMT_TY} characters")
        Y[b] = [NMT_MACHINE_CHARS.index(ch) for ch in iso]
    return torch.from_numpy(X), torch.from_numpy(Y)


def nmt_model(seed):
    """The course's model with seqgraph's initial weights (torch is imported in main())."""

    def dense(n_in, n_out, name):
        d = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            k = sg_init("glorot_uniform", (n_in, n_out), seed, name + "/kernel", "float32")
            d.weight.copy_(torch.from_numpy(k.T.copy()))
            d.bias.zero_()
        return d

    class NMTAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.LSTM(NMT_HUMAN, NMT_NA, batch_first=True, bidirectional=True)
            load_keras_lstm(self.encoder, *keras_lstm_weights(
                "bidirectional/forward_lstm", NMT_HUMAN, NMT_NA, seed), suffix="_l0")
            load_keras_lstm(self.encoder, *keras_lstm_weights(
                "bidirectional/backward_lstm", NMT_HUMAN, NMT_NA, seed), suffix="_l0_reverse")
            self.densor1 = dense(2 * NMT_NA + NMT_NS, 10, "dense")
            self.densor2 = dense(10, 1, "dense_1")
            self.post = torch.nn.LSTMCell(2 * NMT_NA, NMT_NS)
            load_keras_lstm(self.post, *keras_lstm_weights("lstm_1", 2 * NMT_NA, NMT_NS, seed),
                            suffix="")
            self.output_layer = dense(NMT_NS, NMT_MACHINE, "dense_2")

        def forward(self, X):
            B = X.shape[0]
            a, _ = self.encoder(X)  # (B, Tx, 64): forward then backward, in step order
            s = X.new_zeros(B, NMT_NS)
            c = X.new_zeros(B, NMT_NS)
            zs = []
            for _ in range(NMT_TY):
                s_rep = s.unsqueeze(1).expand(B, NMT_TX, NMT_NS)  # RepeatVector(Tx)
                concat = torch.cat([a, s_rep], -1)  # (B, Tx, 128)
                e = torch.tanh(self.densor1(concat))  # (B, Tx, 10)
                energies = F.relu(self.densor2(e))  # (B, Tx, 1)
                alphas = torch.softmax(energies, 1)  # over Tx
                context = torch.bmm(alphas.transpose(1, 2), a)  # Dot(axes 1): (B, 1, 64)
                s, c = self.post(context[:, 0], (s, c))
                zs.append(self.output_layer(s))
            return torch.stack(zs, 1)  # (B, Ty, 11) logits

    return NMTAttention()


def nmt_loss(z, y):
    """Sum over the Ty steps of the batch-mean softmax cross-entropy."""
    return F.cross_entropy(z.reshape(-1, NMT_MACHINE), y.reshape(-1), reduction="sum") / z.shape[0]


def nmt_onehot(ids):
    return F.one_hot(ids, NMT_HUMAN).to(torch.float32)


def nmt_train(model, opt, X, Y, seed, epoch, batches=None):
    """One epoch's training steps (the first `batches` only, if given): the mean batch loss."""
    m = X.shape[0]
    order = sg_shuffle(range(m), seed, (sg_hash_name("nmt_attention/shuffle") + epoch) & M64)
    model.train()
    total, n = 0.0, 0
    for k, i in enumerate(range(0, m, NMT_BATCH)):
        if batches is not None and k >= batches:
            break
        idx = torch.tensor(order[i:i + NMT_BATCH], dtype=torch.long)
        loss = nmt_loss(model(nmt_onehot(X[idx])), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        n += len(idx)
    return total / n


def nmt_validate(model, X, Y):
    """fit::evaluate on the validation set: (mean loss, per-character accuracy), batches of 100."""
    model.eval()
    total, right = 0.0, 0
    with torch.no_grad():
        for i in range(0, X.shape[0], NMT_BATCH):
            z = model(nmt_onehot(X[i:i + NMT_BATCH]))
            y = Y[i:i + NMT_BATCH]
            total += nmt_loss(z, y).item() * y.shape[0]
            right += int((z.argmax(-1) == y).sum())
    return total / X.shape[0], right / Y.numel()


def run_nmt_attention(args):
    train = nmt_read_dates(args.graph_run, NMT_TRAIN, args.seed)
    val_seed = sg_mix((args.seed ^ sg_hash_name("nmt/validation")) & M64)
    if val_seed < 2 ** 63:
        validation = nmt_read_dates(args.graph_run, NMT_VALIDATION, val_seed)
    else:  # graph-run's --seed takes int64: the same work on other dates
        log(f"note: the validation stream's seed {val_seed} is past graph-run's --seed range; "
            f"validating on the first {NMT_VALIDATION} training dates instead (the same work)")
        validation = train[:NMT_VALIDATION]
    Xtr, Ytr = nmt_encode(train)
    Xva, Yva = nmt_encode(validation)
    epochs = args.epochs if args.epochs is not None else 1

    def adam(model):
        return KerasAdam((p for p in model.parameters() if p.requires_grad), lr=0.005,
                         decay=0.01)

    # warm-up: a few training steps and a validation batch on a throwaway copy (the measured
    # model starts fresh)
    scratch = nmt_model(args.seed)
    nmt_train(scratch, adam(scratch), Xtr, Ytr, args.seed, 0, batches=NMT_WARMUP_BATCHES)
    nmt_validate(scratch, Xva[:NMT_BATCH], Yva[:NMT_BATCH])
    del scratch

    model = nmt_model(args.seed)
    opt = adam(model)
    with torch.no_grad():  # the loss at the initial weights on the first batch
        first = torch.tensor(sg_shuffle(range(Xtr.shape[0]), args.seed,
                                        sg_hash_name("nmt_attention/shuffle"))[:NMT_BATCH])
        initial_loss = nmt_loss(model(nmt_onehot(Xtr[first])), Ytr[first]).item()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        loss = nmt_train(model, opt, Xtr, Ytr, args.seed, epoch)
        val_loss, val_accuracy = nmt_validate(model, Xva, Yva)
    sec = (time.perf_counter() - t0) / epochs
    emit("pytorch", "nmt-attention", args.threads, sec, "s/epoch", loss, epochs=epochs,
         examples=Xtr.shape[0], validation_examples=Xva.shape[0], batch=NMT_BATCH,
         initial_loss=initial_loss, val_loss=val_loss, val_accuracy=val_accuracy,
         warmup_batches=NMT_WARMUP_BATCHES)


# ---------------------------------------------------------------------------
# 5. trigger-word — mirrors models/trigger_word.cpp (ops/keras.hpp: Conv1D, BatchNormalization,
#    GRU with reset_after, TimeDistributed(Dense), Dropout; ops/nn: sigmoid_cross_entropy).
#
#   The data and the initial weights are seqgraph's: `bench-models trigger-word --dump DIR`
#   writes its initial parameters (DIR/params/<name, / as __>.npy), its D batches of 16
#   synthesized examples (DIR/X<k>.npy (16, 5511, 101), DIR/Y<k>.npy (16, 1375, 1)) and
#   DIR/meta.json (lr, dropout, batches, warmup, steps); tools/bench/run makes it once.
#   The model, the course's: X (B, 5511, 101) -> Conv1d(101, 196, 15, stride 4) ->
#   BatchNorm1d(196) -> ReLU -> Dropout -> GRU(196, 128) -> Dropout -> BatchNorm1d(128) ->
#   GRU(128, 128) -> Dropout -> BatchNorm1d(128) -> Dropout -> Linear(128, 1) per step ->
#   (B, 1375, 1) logits; loss: binary cross-entropy with logits, the mean over every step.
#   Keras -> torch: Conv1D kernel (k, in, out) -> weight (out, in, k); GRU gates z, r, h in
#   the kernel's columns -> torch's r, z, n rows (reset_after = torch's GRU), bias row 0 ->
#   bias_ih, row 1 -> bias_hh; BatchNormalization momentum 0.99, epsilon 1e-3 -> BatchNorm1d
#   momentum 0.01, eps 1e-3. Adam in Keras 2's form (KerasAdam), the dumped lr, halved every
#   `halving_steps` steps as the model's exponential_decay(0.5, steps) does. Steps: the
#   batches in turn, `warmup` untimed steps and `steps` timed ones (the median is the figure;
#   the loss is the mean of the timed steps' losses, each before its update). Dropout masks
#   are torch's (ours draw per node): the losses agree only roughly.

TW_FREQ, TW_TX, TW_TY, TW_BATCH = 101, 5511, 1375, 16


def tw_param(d, name):
    return np.load(Path(d) / "params" / (name.replace("/", "__") + ".npy"))


def tw_model(d, dropout):
    def gru_rows(w):  # Keras columns z, r, h (..., 3u) -> torch rows r, z, n (3u, ...)
        u = w.shape[-1] // 3
        z, r, h = w[..., :u], w[..., u:2 * u], w[..., 2 * u:]
        return np.concatenate([r, z, h], axis=-1)

    def load_gru(gru, name):
        k, rk, b = (tw_param(d, f"{name}/{p}") for p in ("kernel", "recurrent_kernel", "bias"))
        with torch.no_grad():
            gru.weight_ih_l0.copy_(torch.from_numpy(gru_rows(k).T.copy()))
            gru.weight_hh_l0.copy_(torch.from_numpy(gru_rows(rk).T.copy()))
            gru.bias_ih_l0.copy_(torch.from_numpy(gru_rows(b[0]).copy()))
            gru.bias_hh_l0.copy_(torch.from_numpy(gru_rows(b[1]).copy()))

    def bn(n, name):
        m = torch.nn.BatchNorm1d(n, eps=1e-3, momentum=0.01)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(tw_param(d, name + "/gamma")))
            m.bias.copy_(torch.from_numpy(tw_param(d, name + "/beta")))
            m.running_mean.copy_(torch.from_numpy(tw_param(d, name + "/moving_mean")))
            m.running_var.copy_(torch.from_numpy(tw_param(d, name + "/moving_variance")))
        return m

    class TriggerWord(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(TW_FREQ, 196, 15, stride=4)
            with torch.no_grad():
                self.conv.weight.copy_(torch.from_numpy(tw_param(d, "conv1d/kernel").transpose(2, 1, 0).copy()))
                self.conv.bias.copy_(torch.from_numpy(tw_param(d, "conv1d/bias")))
            self.bn0 = bn(196, "batch_normalization")
            self.gru0 = torch.nn.GRU(196, 128, batch_first=True)
            load_gru(self.gru0, "gru")
            self.bn1 = bn(128, "batch_normalization_1")
            self.gru1 = torch.nn.GRU(128, 128, batch_first=True)
            load_gru(self.gru1, "gru_1")
            self.bn2 = bn(128, "batch_normalization_2")
            self.dense = torch.nn.Linear(128, 1)
            with torch.no_grad():
                self.dense.weight.copy_(torch.from_numpy(tw_param(d, "time_distributed/kernel").T.copy()))
                self.dense.bias.copy_(torch.from_numpy(tw_param(d, "time_distributed/bias")))
            self.drop = torch.nn.Dropout(dropout)

        def forward(self, X):  # (B, Tx, 101) -> (B, Ty, 1) logits
            x = self.drop(F.relu(self.bn0(self.conv(X.transpose(1, 2)))))  # (B, 196, Ty)
            x, _ = self.gru0(x.transpose(1, 2))
            x = self.bn1(self.drop(x).transpose(1, 2)).transpose(1, 2)
            x, _ = self.gru1(x)
            x = self.drop(self.bn2(self.drop(x).transpose(1, 2)).transpose(1, 2))
            return self.dense(x)

    return TriggerWord()


def run_trigger_word(args):
    if args.dump is None:
        raise DataError("trigger-word needs --dump DIR (written by bench-models trigger-word --dump DIR)")
    d = Path(args.dump)
    meta = json.loads(need_file(d / "meta.json").read_text())
    batches = [(torch.from_numpy(np.load(need_file(d / f"X{k}.npy"))),
                torch.from_numpy(np.load(need_file(d / f"Y{k}.npy")))) for k in range(meta["batches"])]
    steps = args.steps if args.steps is not None else meta["steps"]
    warmup = meta["warmup"]
    model = tw_model(d, meta["dropout"])
    model.train()
    opt = KerasAdam(model.parameters(), lr=meta["lr"], halving_steps=meta.get("halving_steps"))

    def step(i):
        X, Y = batches[i % len(batches)]
        loss = F.binary_cross_entropy_with_logits(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(warmup):
        step(i)
    times, losses = [], []
    for i in range(steps):
        t0 = time.perf_counter()
        losses.append(step(warmup + i))
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    emit("pytorch", "trigger-word", args.threads, med, "s/step", sum(losses) / len(losses),
         examples_per_s=TW_BATCH / med, steps=steps, warmup=warmup)


# ---------------------------------------------------------------------------
# 6. sgemm — float32 torch.mm of two n x n matrices (no model of ours; the BLAS baseline)

def run_sgemm(args):
    g = torch.Generator().manual_seed(args.seed)
    for n in (256, 512, 1024):
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        c = torch.empty(n, n)
        for _ in range(3):
            torch.mm(a, b, out=c)
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        once = max(time.perf_counter() - t0, 1e-6)
        reps = max(5, min(2000, int(0.3 / once)))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        emit("pytorch", "sgemm", args.threads, 2.0 * n ** 3 / med / 1e9, "GFLOP/s", None,
             n=n, reps=reps, median_s=med)


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch side of the seqgraph benchmark "
                                 "(see the module docstring for the output protocol).")
    ap.add_argument("workload", choices=WORKLOADS)
    ap.add_argument("--threads", type=int, required=True, help="intra-op threads (and BLAS/OpenMP)")
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps (dinosaurus: 5000, lstm-layer: 20)")
    ap.add_argument("--batch", type=int, default=64, help="lstm-layer batch size (default 64)")
    ap.add_argument("--seq", type=int, default=50, help="lstm-layer sequence length (default 50)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="emojify-v2 epochs (default 50), nmt-attention epochs (default 1)")
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                    help=f"course data (default: {DEFAULT_DATA_DIR})")
    ap.add_argument("--seed", type=int, default=0, help="as graph-run's --seed (default 0)")
    ap.add_argument("--dump", default=None,
                    help="trigger-word: the directory bench-models trigger-word --dump wrote")
    ap.add_argument("--graph-run", default=str(DEFAULT_GRAPH_RUN),
                    help=f"nmt-attention: the graph-run that prints the dates (default: {DEFAULT_GRAPH_RUN})")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    if args.steps is not None and args.steps < 1:
        ap.error("--steps must be >= 1")
    if args.epochs is not None and args.epochs < 1:
        ap.error("--epochs must be >= 1")
    if args.batch < 1 or args.seq < 1:
        ap.error("--batch and --seq must be >= 1")

    n = str(args.threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    global torch, np, F
    import numpy
    import torch as _torch
    import torch.nn.functional as _F
    np, torch, F = numpy, _torch, _F
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    COMMON.update(torch=torch.__version__, blas=loaded_blas(),
                  omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"))
    if args.threads > 1 and "serial" in COMMON["blas"]:
        log(f"note: torch uses the serial OpenBLAS ({COMMON['blas']}): matrix products stay on "
            f"one thread; LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread for the "
            f"threaded build")

    try:
        {"dinosaurus": run_dinosaurus, "lstm-layer": run_lstm_layer,
         "emojify-v2": run_emojify_v2, "nmt-attention": run_nmt_attention,
         "trigger-word": run_trigger_word, "sgemm": run_sgemm}[args.workload](args)
    except DataError as e:
        log(f"torch_models.py: {e}")
        return 1
    except OSError as e:
        log(f"torch_models.py: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
