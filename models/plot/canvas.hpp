// What every cairo plot of seqgraph shares: the file formats (by extension),
// the drawing surface and its errors, and text placed by its alignment.
#pragma once

#include <array>
#include <cairo.h>
#include <functional>
#include <string>

namespace sg::plot {

// A colour, r, g, b in [0, 1].
struct Rgb {
  double r, g, b;
};
// A colour map as matplotlib lists its own: 9 evenly spaced points from 0 to
// 1, channels 0..255.
using ColourMap = std::array<std::array<int, 3>, 9>;
// The map's colour at t in [0, 1] (clamped; NaN as 0), linear between its points.
Rgb colour_at(const ColourMap& map, double t);

// std::invalid_argument unless `path` ends in .png, .svg or .pdf (any case);
// `what` names the plot in the message ("a heat map").
void check_format(const std::string& path, const std::string& what);

// A surface of width x height points for `path`'s format; draw(cr) paints
// it, then the file is written. IoError naming `what` and the path if cairo
// fails.
void write_surface(const std::string& path, double width, double height, const std::string& what,
                   const std::function<void(cairo_t*)>& draw);

// `s` at (x, y), `align_x`/`align_y` in [0, 1] the point of its box that
// lands there (0, 0: top left), rotated by `angle` radians.
void text_at(cairo_t* cr, const std::string& s, double x, double y, double size, double align_x, double align_y,
             double angle = 0, bool bold = false);

} // namespace sg::plot
