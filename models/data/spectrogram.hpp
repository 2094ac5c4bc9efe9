// The course's spectrogram (`graph_spectrogram`: matplotlib's
// `specgram(x, NFFT=200, Fs=8000, noverlap=120)` on channel 0), through
// FFTW: frames of NFFT samples every NFFT - noverlap, each times a symmetric
// Hann window (numpy's `hanning`), its one-sided power spectral density
// |X_k|^2 / (Fs * sum(w^2)), the bins between DC and Nyquist doubled —
// matplotlib's `mlab._spectral_helper` in "psd" mode with scale_by_freq, no
// detrending, no padding beyond NFFT. Fs is the course's 8000 although the
// clips are 44.1 kHz: it only scales the values. 441,000 samples give
// 5,511 frames x 101 bins. Deterministic: FFTW's plans are made with
// FFTW_ESTIMATE (no timing-dependent choice), so a clip gives the same bits
// on every run on one machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sg::audio {

struct SpecgramOptions {
  int nfft = 200;
  double fs = 8000;
  int noverlap = 120;
};

struct Spectrogram {
  int64_t frames = 0, bins = 0;
  std::vector<double> values; // (frames, bins), frame-major: the model's (Tx, n_freq) input
  double at(int64_t frame, int64_t bin) const { return values[size_t(frame * bins + bin)]; }
};

// The frames a signal of n samples gives (matplotlib: (n - noverlap) //
// (nfft - noverlap); a signal shorter than nfft is zero-padded to one frame).
int64_t specgram_frames(int64_t n, const SpecgramOptions& o = {});

// std::invalid_argument for nfft < 2, noverlap outside [0, nfft), fs <= 0 or an empty signal.
Spectrogram specgram(std::span<const int16_t> x, const SpecgramOptions& o = {});

} // namespace sg::audio
