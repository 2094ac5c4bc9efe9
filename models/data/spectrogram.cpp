#include "models/data/spectrogram.hpp"

#include <cmath>
#include <fftw3.h>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <stdexcept>

namespace sg::audio {

namespace {

// One r2c plan per length, made once (FFTW's planner is not thread-safe;
// executing a plan on new arrays is).
fftw_plan plan_for(int n) {
  static std::mutex mu;
  // never destroyed: the plans live as long as the process (no static destructor frees the map and loses them)
  static auto* plans = new std::map<int, fftw_plan>;
  std::lock_guard lock(mu);
  auto it = plans->find(n);
  if (it != plans->end()) return it->second;
  double* in = fftw_alloc_real(size_t(n));
  fftw_complex* out = fftw_alloc_complex(size_t(n / 2 + 1));
  fftw_plan p = fftw_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
  fftw_free(in);
  fftw_free(out);
  if (!p) throw std::runtime_error(fmt::format("FFTW: no plan for a transform of {} points", n));
  plans->emplace(n, p);
  return p;
}

struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};

} // namespace

int64_t specgram_frames(int64_t n, const SpecgramOptions& o) {
  if (n < o.nfft) return 1;
  return (n - o.noverlap) / (o.nfft - o.noverlap);
}

Spectrogram specgram(std::span<const int16_t> x, const SpecgramOptions& o) {
  if (o.nfft < 2 || o.noverlap < 0 || o.noverlap >= o.nfft || !(o.fs > 0) || !std::isfinite(o.fs))
    throw std::invalid_argument(fmt::format("specgram: NFFT {}, noverlap {}, Fs {}: need NFFT >= 2, "
                                            "0 <= noverlap < NFFT, Fs > 0", o.nfft, o.noverlap, o.fs));
  if (x.empty()) throw std::invalid_argument("specgram: an empty signal");
  const int n = o.nfft, bins = n / 2 + 1, step = n - o.noverlap;
  std::vector<double> w(static_cast<size_t>(n));
  double w2 = 0;
  for (int i = 0; i < n; ++i) {
    w[size_t(i)] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / (n - 1)); // numpy's hanning
    w2 += w[size_t(i)] * w[size_t(i)];
  }
  const double scale = 1.0 / (o.fs * w2);
  Spectrogram s;
  s.frames = specgram_frames(int64_t(x.size()), o);
  s.bins = bins;
  s.values.resize(size_t(s.frames * bins));
  const fftw_plan p = plan_for(n);
  std::unique_ptr<double, FftwFree> in(fftw_alloc_real(size_t(n)));
  std::unique_ptr<fftw_complex, FftwFree> out(fftw_alloc_complex(size_t(bins)));
  for (int64_t f = 0; f < s.frames; ++f) {
    const int64_t start = f * step;
    for (int i = 0; i < n; ++i) {
      const int64_t j = start + i;
      in.get()[i] = j < int64_t(x.size()) ? w[size_t(i)] * double(x[size_t(j)]) : 0.0;
    }
    fftw_execute_dft_r2c(p, in.get(), out.get());
    double* row = s.values.data() + f * bins;
    for (int k = 0; k < bins; ++k) {
      const double re = out.get()[k][0], im = out.get()[k][1];
      // the bins without a mirror image: DC, and Nyquist for an even NFFT
      const bool single = k == 0 || (n % 2 == 0 && k == bins - 1);
      row[k] = (re * re + im * im) * scale * (single ? 1.0 : 2.0);
    }
  }
  return s;
}

} // namespace sg::audio
