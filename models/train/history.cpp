#include "models/train/history.hpp"

#include "graph/errors.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <vector>

namespace sg::train {

namespace {

// The rows of an existing history before `first_step` (after checking its header).
std::vector<std::string> rows_before(const std::string& path, const std::string& header,
                                     int64_t first_step) {
  std::ifstream in(path);
  std::vector<std::string> rows;
  if (!in) return rows; // nothing to keep: the resumed run starts a new file
  std::string line;
  if (!std::getline(in, line)) return rows;
  if (line != header)
    throw IoError(fmt::format("history '{}' starts with '{}', not '{}': not a history of this run",
                              path, line, header));
  while (std::getline(in, line)) {
    size_t pos = 0;
    int64_t step = -1;
    try {
      step = std::stoll(line, &pos);
    } catch (const std::exception&) {
    }
    if (pos == 0 || pos >= line.size() || line[pos] != ',' || step < 0 || step >= first_step) break;
    rows.push_back(line);
  }
  return rows;
}

} // namespace

History::History(const std::string& path, const std::string& unit, int64_t first_step,
                 const std::vector<std::string>& columns)
    : path_(path), columns_(columns.size()) {
  std::string header = unit + ",loss";
  for (auto& c : columns) header += "," + c;
  std::vector<std::string> keep;
  if (first_step > 0) keep = rows_before(path, header, first_step);
  f_ = std::fopen(path.c_str(), "w");
  if (!f_)
    throw IoError(fmt::format("cannot write history '{}': {}", path, std::strerror(errno)));
  fmt::print(f_, "{}\n", header);
  for (auto& r : keep) fmt::print(f_, "{}\n", r);
  std::fflush(f_);
}

History::~History() {
  if (f_) std::fclose(f_);
}

void History::add(int64_t step, double loss, const std::vector<double>& metrics) {
  if (metrics.size() != columns_)
    throw std::logic_error(fmt::format("history '{}': {} metrics for {} columns", path_, metrics.size(), columns_));
  fmt::print(f_, "{},{}", step, loss);
  for (double m : metrics) fmt::print(f_, ",{}", m);
  fmt::print(f_, "\n");
  if (std::fflush(f_) != 0)
    throw IoError(fmt::format("error writing history '{}': {}", path_, std::strerror(errno)));
}

} // namespace sg::train
