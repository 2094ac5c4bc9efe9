// describe() and the wrong-struct error of the node attributes (ops/attrs.hpp).
#include "ops/attrs.hpp"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace sg {

const char* to_string(Padding p) {
  switch (p) {
  case Padding::valid: return "valid";
  case Padding::same: return "same";
  }
  return "?";
}

const char* to_string(ScheduleKind k) {
  switch (k) {
  case ScheduleKind::constant: return "constant";
  case ScheduleKind::inverse_time: return "inverse_time";
  case ScheduleKind::exponential: return "exponential";
  }
  return "?";
}

double LRSchedule::at(double lr, double t) const {
  if (kind == ScheduleKind::constant) return lr;
  const double x = staircase ? std::floor(t / steps) : t / steps;
  if (kind == ScheduleKind::inverse_time) return lr * (1.0 / (1.0 + rate * x));
  return lr * std::pow(rate, x);
}

namespace {

std::string value_text(const LRSchedule& s) {
  if (s.kind == ScheduleKind::constant) return "constant";
  return fmt::format("{}(rate {}, steps {}{})", to_string(s.kind), s.rate, s.steps, s.staircase ? ", staircase" : "");
}
std::string value_text(int64_t v) { return fmt::format("{}", v); }
std::string value_text(uint64_t v) { return fmt::format("{}", v); }
std::string value_text(double v) { return fmt::format("{}", v); }
std::string value_text(bool v) { return v ? "true" : "false"; }
std::string value_text(Padding p) { return to_string(p); }
std::string value_text(const std::vector<int64_t>& v) { return to_string(v); }

} // namespace

const char* Attrs::name() const {
  return std::visit([](const auto& a) { return std::remove_cvref_t<decltype(a)>::name; }, v_);
}

std::string describe(const Attrs& a) {
  std::string s;
  std::visit(
      [&](const auto& at) {
        at.fields([&](const char* field, const auto& value) {
          s += fmt::format("{}{}={}", s.empty() ? "" : ", ", field, value_text(value));
        });
      },
      a.variant());
  return s;
}

void Attrs::wrong_type(const char* wanted) const {
  const std::string held = describe(*this);
  throw std::logic_error(fmt::format("node attributes: read as {}, but the node holds {}{}{}{}", wanted,
                                     name(), held.empty() ? "" : " (", held, held.empty() ? "" : ")"));
}

} // namespace sg
