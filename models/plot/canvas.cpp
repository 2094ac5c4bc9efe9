#include "models/plot/canvas.hpp"

#include "graph/errors.hpp"

#include <algorithm>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <stdexcept>

namespace sg::plot {

Rgb colour_at(const ColourMap& map, double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const double x = t * double(map.size() - 1);
  const size_t i = std::min(size_t(x), map.size() - 2);
  const double f = x - double(i);
  const auto mix = [&](size_t k) { return (map[i][k] + f * (map[i + 1][k] - map[i][k])) / 255.0; };
  return {mix(0), mix(1), mix(2)};
}

namespace {

std::string extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

} // namespace

void check_format(const std::string& path, const std::string& what) {
  const std::string e = extension(path);
  if (e != ".png" && e != ".svg" && e != ".pdf")
    throw std::invalid_argument(
        fmt::format("cannot write {} as '{}': the extension must be .png, .svg or .pdf", what, path));
}

void write_surface(const std::string& path, double w, double h, const std::string& what,
                   const std::function<void(cairo_t*)>& draw) {
  check_format(path, what);
  auto check = [&](cairo_status_t st) {
    if (st != CAIRO_STATUS_SUCCESS)
      throw IoError(fmt::format("cannot write {} '{}': {}", what, path, cairo_status_to_string(st)));
  };
  const std::string e = extension(path);
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> s(
      e == ".png"   ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(std::ceil(w)), int(std::ceil(h)))
      : e == ".svg" ? cairo_svg_surface_create(path.c_str(), w, h)
                    : cairo_pdf_surface_create(path.c_str(), w, h));
  check(cairo_surface_status(s.get()));
  {
    std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(s.get()));
    draw(cr.get());
    check(cairo_status(cr.get()));
  }
  if (e == ".png") check(cairo_surface_write_to_png(s.get(), path.c_str()));
  cairo_surface_finish(s.get());
  check(cairo_surface_status(s.get()));
}

void text_at(cairo_t* cr, const std::string& s, double x, double y, double size, double align_x, double align_y,
             double angle, bool bold) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -e.x_bearing - align_x * e.width, -e.y_bearing - align_y * e.height);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

} // namespace sg::plot
