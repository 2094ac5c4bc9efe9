#include "models/plot/heatmap.hpp"

#include "models/plot/canvas.hpp"

#include <algorithm>
#include <array>
#include <cairo.h>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::plot {

namespace {

// matplotlib's Blues (ColorBrewer's 9 classes), interpolated linearly
constexpr ColourMap kBlues = {{{0xf7, 0xfb, 0xff},
                                                       {0xde, 0xeb, 0xf7},
                                                       {0xc6, 0xdb, 0xef},
                                                       {0x9e, 0xca, 0xe1},
                                                       {0x6b, 0xae, 0xd6},
                                                       {0x42, 0x92, 0xc6},
                                                       {0x21, 0x71, 0xb5},
                                                       {0x08, 0x51, 0x9c},
                                                       {0x08, 0x30, 0x6b}}};

struct Layout {
  double cell = 26, left = 90, top = 64, label_band = 70, bottom = 128, right = 40;
  double width(size_t cols) const { return left + cell * double(cols) + right; }
  double height(size_t rows) const { return top + cell * double(rows) + label_band + bottom; }
};

void draw(cairo_t* cr, const Heatmap& m, const Layout& L) {
  const size_t rows = m.values.size(), cols = m.values[0].size();
  double top = 0;
  for (const auto& row : m.values)
    for (double v : row)
      if (std::isfinite(v)) top = std::max(top, v);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text_at(cr, m.title, L.width(cols) / 2, 20, 15, 0.5, 0, 0, true);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const double v = m.values[r][c];
      const Rgb k = std::isfinite(v) ? blues(top > 0 ? v / top : 0) : Rgb{0.6, 0.6, 0.6};
      cairo_set_source_rgb(cr, k.r, k.g, k.b);
      cairo_rectangle(cr, L.left + L.cell * double(c), L.top + L.cell * double(r), L.cell, L.cell);
      cairo_fill(cr);
    }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, L.left, L.top, L.cell * double(cols), L.cell * double(rows));
  cairo_stroke(cr);
  const double grid_bottom = L.top + L.cell * double(rows);
  for (size_t r = 0; r < rows; ++r)
    text_at(cr, m.y_labels[r], L.left - 8, L.top + L.cell * (double(r) + 0.5), 13, 1, 0.5);
  for (size_t c = 0; c < cols; ++c) // the label's end under its column, rising to the left at 45 degrees
    text_at(cr, m.x_labels[c], L.left + L.cell * (double(c) + 0.5), grid_bottom + 6, 12, 1, 0.5, -M_PI / 4);
  text_at(cr, m.y_title, 22, L.top + L.cell * double(rows) / 2, 13, 0.5, 0.5, -M_PI / 2);
  const double below = grid_bottom + L.label_band;
  text_at(cr, m.x_title, L.left + L.cell * double(cols) / 2, below, 13, 0.5, 0);
  // the colour bar: 0 .. top
  const double bar_w = std::min(L.cell * double(cols), 420.0), bar_x = L.left + (L.cell * double(cols) - bar_w) / 2,
               bar_y = below + 30, bar_h = 14;
  constexpr int steps = 200;
  for (int i = 0; i < steps; ++i) {
    const Rgb k = blues(double(i) / (steps - 1));
    cairo_set_source_rgb(cr, k.r, k.g, k.b);
    cairo_rectangle(cr, bar_x + bar_w * i / steps, bar_y, bar_w / steps + 0.5, bar_h);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, bar_x, bar_y, bar_w, bar_h);
  cairo_stroke(cr);
  for (int i = 0; i <= 4; ++i) {
    const double x = bar_x + bar_w * i / 4;
    cairo_move_to(cr, x, bar_y + bar_h);
    cairo_line_to(cr, x, bar_y + bar_h + 4);
    cairo_stroke(cr);
    text_at(cr, fmt::format("{:.2f}", top * i / 4), x, bar_y + bar_h + 6, 11, 0.5, 0);
  }
  text_at(cr, m.scale_title, bar_x + bar_w / 2, bar_y + bar_h + 24, 12, 0.5, 0);
}

} // namespace

Rgb blues(double t) { return colour_at(kBlues, t); }

void check_format(const std::string& path) { check_format(path, "a heat map"); }

void write_heatmap(const std::string& path, const Heatmap& m) {
  check_format(path);
  if (m.values.empty() || m.values[0].empty()) throw std::invalid_argument("heat map: no values");
  for (const auto& row : m.values)
    if (row.size() != m.values[0].size()) throw std::invalid_argument("heat map: rows of different lengths");
  if (m.x_labels.size() != m.values[0].size() || m.y_labels.size() != m.values.size())
    throw std::invalid_argument(fmt::format("heat map: {} x {} values with {} column and {} row labels",
                                            m.values.size(), m.values[0].size(), m.x_labels.size(), m.y_labels.size()));
  const Layout L;
  write_surface(path, L.width(m.values[0].size()), L.height(m.values.size()), "the heat map",
                [&](cairo_t* cr) { draw(cr, m, L); });
}

} // namespace sg::plot
