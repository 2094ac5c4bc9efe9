// The loss history of a training run as CSV: a header row, then one row per
// step, the step (iteration or epoch) first and the loss after it:
//
//   iteration,loss
//   0,23.0855...
//   1,23.0840...
//
// Numbers are written in their shortest exact form and each row is flushed as
// it is written, so the file can be watched while training runs and holds
// every finished step if it stops.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sg::train {

class History {
public:
  // Creates `path` with the header "<unit>,loss". A resumed run
  // (first_step > 0) keeps the existing file's rows for steps before
  // first_step and appends after them: its file is then what an uninterrupted
  // run writes. Throws IoError if the file cannot be written, or if the file
  // to resume has another header.
  // `columns`: the metrics after the loss ("accuracy", "val_loss", ...).
  History(const std::string& path, const std::string& unit, int64_t first_step = 0,
          const std::vector<std::string>& columns = {});
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  void add(int64_t step, double loss, const std::vector<double>& metrics = {}); // one per column
  const std::string& path() const { return path_; }

private:
  std::string path_;
  size_t columns_ = 0;
  std::FILE* f_ = nullptr;
};

} // namespace sg::train
