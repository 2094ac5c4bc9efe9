#include "models/plot/spectrogram_plot.hpp"

#include "models/plot/canvas.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>

namespace sg::plot {

namespace {

// matplotlib's viridis at 9 evenly spaced points, interpolated linearly
constexpr ColourMap kViridis = {{{0x44, 0x01, 0x54},
                                                         {0x47, 0x2d, 0x7b},
                                                         {0x3b, 0x52, 0x8b},
                                                         {0x2c, 0x72, 0x8e},
                                                         {0x21, 0x91, 0x8c},
                                                         {0x28, 0xae, 0x80},
                                                         {0x5e, 0xc9, 0x62},
                                                         {0xad, 0xdc, 0x30},
                                                         {0xfd, 0xe7, 0x25}}};

struct ImageDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};

constexpr double kW = 900, kLeft = 70, kRight = 20, kTop = 40, kSpecH = 260, kGap = 50, kTrackH = 160, kBottom = 50;

void draw(cairo_t* cr, const SpectrogramPlot& p) {
  const double pw = kW - kLeft - kRight, track_top = kTop + kSpecH + kGap;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text_at(cr, p.title, kW / 2, 12, 15, 0.5, 0, 0, true);
  // the spectrogram: dB, the colour scale from the clip's largest value down 80 dB
  std::vector<double> db(p.power.size());
  double top = -HUGE_VAL;
  for (size_t i = 0; i < db.size(); ++i) {
    db[i] = 10 * std::log10(std::max(p.power[i], 1e-30));
    top = std::max(top, db[i]);
  }
  std::unique_ptr<cairo_surface_t, ImageDeleter> img(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(p.frames), int(p.bins)));
  const int stride = cairo_image_surface_get_stride(img.get());
  unsigned char* px = cairo_image_surface_get_data(img.get());
  for (int64_t f = 0; f < p.frames; ++f)
    for (int64_t b = 0; b < p.bins; ++b) {
      const Rgb c = colour_at(kViridis, (db[size_t(f * p.bins + b)] - (top - 80)) / 80);
      unsigned char* q = px + (p.bins - 1 - b) * stride + f * 4; // low frequencies at the bottom
      const auto byte = [](double v) { return static_cast<unsigned char>(std::lround(v * 255)); };
      q[0] = byte(c.b), q[1] = byte(c.g), q[2] = byte(c.r), q[3] = 255;
    }
  cairo_surface_mark_dirty(img.get());
  cairo_save(cr);
  cairo_translate(cr, kLeft, kTop);
  cairo_scale(cr, pw / double(p.frames), kSpecH / double(p.bins));
  cairo_set_source_surface(cr, img.get(), 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_restore(cr);
  const double dur = std::max(p.duration_ms, 1.0);
  auto x_of = [&](double ms) { return kLeft + pw * ms / dur; };
  auto y_of = [&](double prob) { return track_top + kTrackH * (1 - prob); };
  // the track, the threshold and the chimes
  cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
  cairo_set_line_width(cr, 1.5);
  for (size_t i = 0; i < p.track_ms.size(); ++i) {
    const double x = x_of(p.track_ms[i]), y = y_of(std::clamp(double(p.track_p[i]), 0.0, 1.0));
    if (i == 0) cairo_move_to(cr, x, y);
    else cairo_line_to(cr, x, y);
  }
  cairo_stroke(cr);
  const double dash[] = {5, 4};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
  cairo_set_line_width(cr, 1);
  cairo_move_to(cr, kLeft, y_of(p.threshold));
  cairo_line_to(cr, kLeft + pw, y_of(p.threshold));
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_set_source_rgb(cr, 0.84, 0.15, 0.16);
  cairo_set_line_width(cr, 2);
  for (double c : p.chimes_ms) {
    cairo_move_to(cr, x_of(c), kTop);
    cairo_line_to(cr, x_of(c), track_top + kTrackH);
    cairo_stroke(cr);
  }
  // frames and axes
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, kLeft, kTop, pw, kSpecH);
  cairo_rectangle(cr, kLeft, track_top, pw, kTrackH);
  cairo_stroke(cr);
  const double step_s = dur > 20000 ? 5 : 1;
  for (double s = 0; s * 1000 <= dur + 1e-9; s += step_s) {
    const double x = x_of(s * 1000);
    for (double base : {kTop + kSpecH, track_top + kTrackH}) {
      cairo_move_to(cr, x, base);
      cairo_line_to(cr, x, base + 4);
      cairo_stroke(cr);
    }
    text_at(cr, fmt::format("{:g}", s), x, track_top + kTrackH + 6, 11, 0.5, 0);
  }
  text_at(cr, "time (s)", kLeft + pw / 2, track_top + kTrackH + 24, 12, 0.5, 0);
  for (int i = 0; i <= 4; ++i) {
    const double hz = p.max_hz * i / 4, y = kTop + kSpecH * (1 - i / 4.0);
    text_at(cr, fmt::format("{:g}", hz), kLeft - 6, y, 11, 1, 0.5);
    const double prob = i / 4.0;
    text_at(cr, fmt::format("{:.2f}", prob), kLeft - 6, y_of(prob), 11, 1, 0.5);
  }
  text_at(cr, "Hz", 16, kTop + kSpecH / 2, 12, 0.5, 0.5, -M_PI / 2);
  text_at(cr, "P(activate just ended)", 16, track_top + kTrackH / 2, 12, 0.5, 0.5, -M_PI / 2);
  text_at(cr, fmt::format("{} chime{} (red); threshold {:g} (dashed)", p.chimes_ms.size(),
                          p.chimes_ms.size() == 1 ? "" : "s", p.threshold),
          kLeft + pw, track_top - 6, 11, 1, 1);
}

} // namespace

void write_spectrogram_plot(const std::string& path, const SpectrogramPlot& p) {
  check_format(path, "a spectrogram plot");
  if (p.frames < 1 || p.bins < 1 || int64_t(p.power.size()) != p.frames * p.bins)
    throw std::invalid_argument(fmt::format("spectrogram plot: {} values for {} frames x {} bins", p.power.size(),
                                            p.frames, p.bins));
  if (p.track_ms.size() != p.track_p.size())
    throw std::invalid_argument(fmt::format("spectrogram plot: {} track times, {} probabilities", p.track_ms.size(),
                                            p.track_p.size()));
  write_surface(path, kW, kTop + kSpecH + kGap + kTrackH + kBottom, "the spectrogram plot",
                [&](cairo_t* cr) { draw(cr, p); });
}

} // namespace sg::plot
