#include "models/train/progress.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sg::train {

using Clock = std::chrono::steady_clock;

ProgressMode progress_mode(bool quiet, std::FILE* out) {
  if (quiet) return ProgressMode::quiet;
  return ::isatty(::fileno(out)) ? ProgressMode::bar : ProgressMode::lines;
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, std::round(seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  if (s >= 60) return fmt::format("{}:{:02}", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string format_bar(int64_t done, int64_t total, double elapsed, double eta, double loss,
                       int width) {
  const int digits = static_cast<int>(fmt::formatted_size("{}", total));
  std::string bar(static_cast<size_t>(width), '.');
  if (total > 0) {
    const auto filled = static_cast<int>(std::clamp<int64_t>(done * width / total, 0, width));
    std::fill_n(bar.begin(), filled, '=');
    if (done < total && filled > 0) bar[size_t(filled - 1)] = '>';
  }
  std::string s = fmt::format("{:>{}}/{} [{}] - {}", done, digits, total, bar, format_duration(elapsed));
  if (done < total && eta >= 0) s += " - ETA " + format_duration(eta);
  return s + fmt::format(" - loss: {:.4f}", loss);
}

std::string format_line(int64_t done, int64_t total, double elapsed, double eta, double loss,
                        const std::string& metrics, int columns) {
  const std::string rest = metrics.empty() ? "" : " - " + metrics;
  constexpr int kWidth = 30, kNarrowest = 5;
  std::string line = format_bar(done, total, elapsed, eta, loss, kWidth) + rest;
  const int room = columns - 1; // the last column would wrap on some terminals
  if (columns <= 0 || int(line.size()) <= room) return line;
  const int width = std::max(kNarrowest, kWidth - (int(line.size()) - room));
  line = format_bar(done, total, elapsed, eta, loss, width) + rest;
  if (int(line.size()) > room) line.resize(size_t(std::max(room, 0)));
  return line;
}

namespace {
int terminal_columns(std::FILE* f) {
  winsize w{};
  return ::ioctl(::fileno(f), TIOCGWINSZ, &w) == 0 ? int(w.ws_col) : 0;
}
} // namespace

Progress::Progress(int64_t total, int64_t done, ProgressMode mode, std::FILE* out)
    : total_(total), start_(done), done_(done), mode_(mode), out_(out), t0_(Clock::now()) {}

Progress::~Progress() {
  if (mode_ == ProgressMode::bar && drawn_ && !finished_) std::fputc('\n', out_);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - t0_).count();
}

void Progress::update(int64_t done, double loss, const std::string& metrics) {
  done_ = done;
  loss_ = loss;
  metrics_ = metrics;
  if (mode_ != ProgressMode::bar) return;
  const auto now = Clock::now();
  if (done < total_ && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void Progress::draw() {
  const double t = elapsed();
  const int64_t ran = done_ - start_;
  const double eta = ran > 0 ? t / double(ran) * double(total_ - done_) : -1;
  fmt::print(out_, "\r{}\033[K", format_line(done_, total_, t, eta, loss_, metrics_, terminal_columns(out_)));
  std::fflush(out_);
  drawn_ = true;
}

void Progress::erase() {
  if (drawn_) std::fputs("\r\033[K", out_);
}

void Progress::print(const std::string& text) {
  if (mode_ == ProgressMode::quiet) return;
  if (mode_ == ProgressMode::bar) erase();
  std::fputs(text.c_str(), out_);
  if (text.empty() || text.back() != '\n') std::fputc('\n', out_);
  if (mode_ == ProgressMode::bar && drawn_)
    draw();
  else
    std::fflush(out_);
}

void Progress::finish(const std::string& summary) {
  if (mode_ == ProgressMode::bar && drawn_ && !finished_) {
    draw();
    std::fputc('\n', out_);
  }
  finished_ = true;
  if (!summary.empty()) fmt::print(out_, "{}\n", summary);
  std::fflush(out_);
}

} // namespace sg::train
