#include "models/data/dates.hpp"

#include "graph/file.hpp"
#include "graph/random.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <stdexcept>

namespace sg::dates {

namespace {

constexpr int max_abs_year = 999'999;

// Division rounding toward minus infinity (the calendar's arithmetic works
// for years before 1970 and before year 0 alike).
constexpr int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days from 0000-01-01 to y-01-01 (proleptic Gregorian, year 0 a leap year):
// 365 per year plus one per leap year among 0..y-1.
constexpr int64_t days_before_year(int64_t y) {
  return 365 * y + floor_div(y + 3, 4) - floor_div(y + 99, 100) + floor_div(y + 399, 400);
}

// Days of the year before the first of `month` (1..12).
int days_before_month(int year, int month) {
  static constexpr std::array<int, 12> cumulative = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return cumulative[size_t(month - 1)] + (month > 2 && is_leap(year) ? 1 : 0);
}

constexpr std::array<std::string_view, 12> month_names = {"January", "February", "March",     "April",
                                                          "May",     "June",     "July",      "August",
                                                          "September", "October", "November", "December"};
constexpr std::array<std::string_view, 12> month_abbrs = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> weekday_names = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                           "Friday", "Saturday", "Sunday"};

void require_valid(Date d, std::string_view what) {
  if (!valid(d))
    throw std::invalid_argument(fmt::format("{}: {}-{}-{} is not a date", what, d.year, d.month, d.day));
}

// en_US's four named patterns (CLDR dateFormats), or the pattern itself.
std::string_view pattern_of(std::string_view name) {
  if (name == "short") return "M/d/yy";
  if (name == "medium") return "MMM d, y";
  if (name == "long") return "MMMM d, y";
  if (name == "full") return "EEEE, MMMM d, y";
  return name;
}

// One field of a pattern: `n` times the letter `c`.
std::string field(Date d, char c, int n, std::string_view pattern) {
  auto unsupported = [&] {
    return std::invalid_argument(
        fmt::format("date pattern '{}': the field '{}' is not supported", pattern, std::string(size_t(n), c)));
  };
  auto digits = [](int v, int width) { return fmt::format("{:0{}d}", v, width); };
  switch (c) {
  case 'd':
    if (n > 2) throw unsupported();
    return digits(d.day, n);
  case 'M':
    if (n <= 2) return digits(d.month, n);
    if (n == 3) return std::string(month_abbr(d.month));
    if (n == 4) return std::string(month_name(d.month));
    throw unsupported();
  case 'y':
  case 'Y': { // Y, the week-numbering year, taken as the calendar year: see the header
    const std::string y = digits(d.year, n);
    return n == 2 ? y.substr(y.size() - 2) : y;
  }
  case 'E':
    if (n <= 3) return std::string(weekday_name(weekday(d)).substr(0, 3));
    if (n == 4) return std::string(weekday_name(weekday(d)));
    throw unsupported();
  default: throw unsupported();
  }
}

constexpr bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Uniform in 0..n-1 from a uniform u in [0, 1).
int64_t pick(double u, int64_t n) { return std::min(int64_t(u * double(n)), n - 1); }

// The bytes of the character at s[i]: a well-formed UTF-8 sequence's length,
// or 1 for a byte outside one (each such byte is a character of its own).
size_t char_bytes(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t n = b < 0xC2 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 1;
  if (n == 1 || i + n > s.size()) return 1;
  return invalid_utf8_at(s.substr(i, n)) == std::string_view::npos ? n : 1;
}

// Calls f(character) for each character of `s`, as char_bytes splits it.
template <class F> void for_each_char(std::string_view s, F&& f) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = char_bytes(s, i);
    if (!f(s.substr(i, n))) return;
    i += n;
  }
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

HumanInput make_input(std::string_view text, int64_t line) {
  HumanInput in;
  in.text = std::string(text);
  in.ids = encode_human(text);
  in.length = human_length(text);
  in.unknown = std::count(in.ids.begin(), in.ids.end(), unk);
  in.line = line;
  return in;
}

// Row b of a (B, T, depth) one-hot tensor.
void set_row(Tensor& t, int64_t b, const std::vector<int>& ids, int depth) {
  const int64_t T = t.dim(1);
  if (int64_t(ids.size()) != T)
    throw std::invalid_argument(fmt::format("one_hot: sequence {} has {} ids, sequence 0 {}", b, ids.size(), T));
  for (int64_t s = 0; s < T; ++s) {
    const int id = ids[size_t(s)];
    if (id < 0 || id >= depth)
      throw std::out_of_range(fmt::format("one_hot: id {} (sequence {}, position {}) outside 0..{}", id, b, s,
                                          depth - 1));
    t.set((b * T + s) * depth + id, 1.0);
  }
}

} // namespace

// ---- the calendar

bool is_leap(int year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) throw std::invalid_argument(fmt::format("month {} is not 1..12", month));
  return days[size_t(month - 1)] + (month == 2 && is_leap(year) ? 1 : 0);
}

bool valid(Date d) {
  return d.year >= -max_abs_year && d.year <= max_abs_year && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= days_in_month(d.year, d.month);
}

int64_t days_since_epoch(Date d) {
  require_valid(d, "days_since_epoch");
  return days_before_year(d.year) - days_before_year(1970) + days_before_month(d.year, d.month) + d.day - 1;
}

Date from_days(int64_t days) {
  constexpr int64_t limit = 366 * int64_t(max_abs_year);
  if (days < -limit || days > limit) throw std::invalid_argument(fmt::format("from_days: {} days", days));
  const int64_t z = days + days_before_year(1970); // days since 0000-01-01
  // A year within one of the answer (a Gregorian year averages 365.2425 days), then corrected.
  int64_t y = floor_div(z * 400, 146097);
  while (days_before_year(y) > z) --y;
  while (days_before_year(y + 1) <= z) ++y;
  if (y < -max_abs_year || y > max_abs_year) throw std::invalid_argument(fmt::format("from_days: {} days", days));
  const int year = int(y), doy = int(z - days_before_year(y)); // 0..365
  int month = 12;
  while (days_before_month(year, month) > doy) --month;
  return {year, month, doy - days_before_month(year, month) + 1};
}

int weekday(Date d) {
  const int64_t r = (days_since_epoch(d) + 3) % 7; // day 0 was a Thursday
  return int(r < 0 ? r + 7 : r);
}

Date today() {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return from_days(floor_div(int64_t(s), 86400));
}

std::string_view month_name(int month) {
  if (month < 1 || month > 12) throw std::invalid_argument(fmt::format("month {} is not 1..12", month));
  return month_names[size_t(month - 1)];
}

std::string_view month_abbr(int month) {
  if (month < 1 || month > 12) throw std::invalid_argument(fmt::format("month {} is not 1..12", month));
  return month_abbrs[size_t(month - 1)];
}

std::string_view weekday_name(int wday) {
  if (wday < 0 || wday > 6) throw std::invalid_argument(fmt::format("weekday {} is not 0..6", wday));
  return weekday_names[size_t(wday)];
}

std::string iso(Date d) {
  require_valid(d, "iso");
  if (d.year < 0 || d.year > 9999) throw std::invalid_argument(fmt::format("iso: the year {} is not 0..9999", d.year));
  return fmt::format("{:04d}-{:02d}-{:02d}", d.year, d.month, d.day);
}

// ---- the formats

std::optional<Date> parse_iso(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  int v[3] = {0, 0, 0};
  const int at[3][2] = {{0, 4}, {5, 2}, {8, 2}};
  for (int f = 0; f < 3; ++f)
    for (int i = at[f][0]; i < at[f][0] + at[f][1]; ++i) {
      if (t[size_t(i)] < '0' || t[size_t(i)] > '9') return std::nullopt;
      v[f] = v[f] * 10 + (t[size_t(i)] - '0');
    }
  const Date d{v[0], v[1], v[2]};
  if (!valid(d)) return std::nullopt;
  return d;
}

std::string format_date(Date d, std::string_view name) {
  require_valid(d, "format_date");
  if (d.year < 0) throw std::invalid_argument(fmt::format("format_date: the year {} is before year 0", d.year));
  const std::string_view pattern = pattern_of(name);
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    size_t j = i + 1;
    while (j < pattern.size() && pattern[j] == c) ++j;
    if (c == '\'')
      throw std::invalid_argument(fmt::format("date pattern '{}': quoted text is not supported", pattern));
    if (is_ascii_letter(c))
      out += field(d, c, int(j - i), pattern);
    else
      out += pattern.substr(i, j - i);
    i = j;
  }
  return out;
}

std::string human_readable(Date d, std::string_view pattern) { return normalize(format_date(d, pattern)); }

// ---- the generator

Example example(uint64_t seed, int64_t i, Date last) {
  require_valid(last, "dates::example: the last date");
  if (last < first_date || last > Date{9999, 12, 31})
    throw std::invalid_argument(fmt::format(
        "dates::example: the last date {}-{:02d}-{:02d} is not in 1970-01-01..9999-12-31", last.year, last.month,
        last.day));
  if (i < 0) throw std::invalid_argument(fmt::format("dates::example: example {}", i));
  constexpr uint64_t stream = rng::hash_name("dates/examples");
  const uint64_t k = 2 * uint64_t(i);
  Example e;
  e.date = from_days(pick(rng::uniform(seed, stream, k), days_since_epoch(last) + 1));
  e.format = int(pick(rng::uniform(seed, stream, k + 1), int64_t(formats.size())));
  e.human = human_readable(e.date, formats[size_t(e.format)]);
  e.machine = iso(e.date);
  return e;
}

std::vector<Example> generate(int64_t n, uint64_t seed, Date last) {
  if (n < 0) throw std::invalid_argument(fmt::format("dates::generate: {} examples", n));
  std::vector<Example> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(example(seed, i, last));
  return out;
}

// ---- vocabularies and encodings

const data::CharVocab& human_chars() {
  static const data::CharVocab v(" ./0123456789abcdefghijlmnoprstuvwy");
  return v;
}

const data::CharVocab& machine_vocab() {
  static const data::CharVocab v("-0123456789");
  return v;
}

std::string normalize(std::string_view text) {
  std::string s;
  s.reserve(text.size());
  for (char c : text)
    if (c != ',') s += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  return s;
}

std::vector<int> encode_human(std::string_view text, int length) {
  if (length < 0) throw std::invalid_argument(fmt::format("encode_human: length {}", length));
  const std::string s = normalize(text);
  std::vector<int> ids;
  ids.reserve(size_t(length));
  for_each_char(s, [&](std::string_view c) {
    if (ids.size() == size_t(length)) return false;
    const int id = c.size() == 1 ? human_chars().index(c[0]) : -1;
    ids.push_back(id >= 0 ? id : unk);
    return true;
  });
  ids.resize(size_t(length), pad);
  return ids;
}

int64_t human_length(std::string_view text) {
  int64_t n = 0;
  for_each_char(normalize(text), [&](std::string_view) { return ++n, true; });
  return n;
}

std::vector<int> encode_machine(std::string_view s) {
  if (s.size() != size_t(Ty))
    throw std::invalid_argument(fmt::format("encode_machine: '{}' has {} characters, not {}", s, s.size(), Ty));
  std::vector<int> ids;
  for (char c : s) {
    const int id = machine_vocab().index(c);
    if (id < 0)
      throw std::invalid_argument(fmt::format("encode_machine: '{}': a character outside '-' and 0-9", s));
    ids.push_back(id);
  }
  return ids;
}

std::string human_token(int id) {
  if (id == unk) return "<unk>";
  if (id == pad) return "<pad>";
  if (id < 0 || id >= human_size) throw std::out_of_range(fmt::format("human id {} is not 0..{}", id, human_size - 1));
  return std::string(1, human_chars().at(id));
}

std::string decode_human(std::span<const int> ids) {
  std::string s;
  for (int id : ids)
    if (id != pad) s += human_token(id);
  return s;
}

std::string decode_machine(std::span<const int> ids) {
  std::string s;
  for (int id : ids) {
    if (id < 0 || id >= machine_size)
      throw std::out_of_range(fmt::format("machine id {} is not 0..{}", id, machine_size - 1));
    s += machine_vocab().at(id);
  }
  return s;
}

Tensor one_hot(const std::vector<std::vector<int>>& ids, int depth, DType dtype) {
  if (depth < 1) throw std::invalid_argument(fmt::format("one_hot: depth {}", depth));
  const int64_t B = int64_t(ids.size()), T = ids.empty() ? 0 : int64_t(ids[0].size());
  Tensor t({B, T, depth}, dtype);
  for (int64_t b = 0; b < B; ++b) set_row(t, b, ids[size_t(b)], depth);
  return t;
}

Batch one_hot_batch(std::span<const Example> examples, DType dtype) {
  const auto B = int64_t(examples.size());
  Batch batch{Tensor({B, Tx, human_size}, dtype), Tensor({B, Ty, machine_size}, dtype)};
  for (int64_t b = 0; b < B; ++b) {
    set_row(batch.X, b, encode_human(examples[size_t(b)].human), human_size);
    set_row(batch.Y, b, encode_machine(examples[size_t(b)].machine), machine_size);
  }
  return batch;
}

// ---- user input

HumanInput parse_human(std::string_view bytes, const std::string& name) {
  if (const size_t at = invalid_utf8_at(bytes); at != std::string_view::npos)
    throw IoError(fmt::format("{}: not UTF-8 text (byte 0x{:02x} at column {})", name,
                              static_cast<unsigned char>(bytes[at]), at + 1));
  const std::string_view text = strip(bytes);
  if (text.empty()) throw IoError(fmt::format("{}: empty date string", name));
  return make_input(text, 1);
}

std::vector<HumanInput> parse_human_lines(std::string_view bytes, const std::string& name) {
  std::vector<HumanInput> out;
  for (int64_t number = 1; !bytes.empty(); ++number) {
    const size_t eol = bytes.find('\n');
    const std::string_view line = bytes.substr(0, eol);
    bytes.remove_prefix(eol == std::string_view::npos ? bytes.size() : eol + 1);
    require_utf8(line, name, number);
    if (const std::string_view text = strip(line); !text.empty()) out.push_back(make_input(text, number));
  }
  if (out.empty()) throw IoError(fmt::format("{}: no date strings (the input is empty or blank)", name));
  return out;
}

std::vector<HumanInput> read_human_lines(const std::string& path) {
  return parse_human_lines(read_file(path, "date strings file", kMaxDateFileBytes), path);
}

} // namespace sg::dates
