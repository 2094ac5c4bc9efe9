#!/usr/bin/env bash
# One command for a fresh Debian 12 machine (as root): installs the Debian
# packages seqgraph needs that are missing, builds the release (optimised)
# build in ./build, and runs models end to end: the course's LSTM forward and
# backward (checked by finite differences), and a Dinosaurus training + sampling.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build pkg-config cmake g++ libboost-graph-dev libxtensor-dev libxsimd-dev
          libxtensor-blas-dev libopenblas-pthread-dev libtbb-dev libfmt-dev doctest-dev libcli11-dev
          graphviz python3-numpy libcairo2-dev libxsmm-dev libdnnl-dev
          libsndfile1-dev libfftw3-dev libsamplerate0-dev python3-matplotlib python3-scipy python3-pydub
          libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== building (release) in ./build"
[ -f build/build.ninja ] || meson setup build --buildtype=release
meson compile -C build

echo "== running a model end to end: the LSTM of 'RNN step by step', forward and backward"
build/graph-run eval rnn_step_by_step --graph lstm_forward --random-inputs --output-dir out/lstm_forward
build/graph-run eval rnn_step_by_step --graph lstm_backward --random-inputs --output-dir out/lstm_backward
build/graph-run gradcheck rnn_step_by_step --graph lstm_forward

echo "== training the Dinosaurus Island character model (22,001 iterations), then sampling names"
build/graph-run dinosaurus train --quiet --checkpoint out/dinosaurus.ckpt
build/graph-run dinosaurus sample --checkpoint out/dinosaurus.ckpt -n 5
