// The data of the date-translation assignment (Neural Machine Translation with
// Attention): random dates written the way people write them ("tuesday july
// 10 2007", "10.07.07") paired with their machine form ("2007-07-10"), the
// course's two character vocabularies, and the encodings of both sides, as
// the course's nmt_utils.py builds them (load_dataset, string_to_int).
//
// The dates. Uniform over the days from 1970-01-01 to `last` (both included;
// the course's Faker date_object() draws from 1970 to now), `last` being a
// parameter (default: today, UTC) so that tests and runs can be reproduced.
// Example i of a seed is a pure function of (seed, i, last) through sg::rng:
// a different count of examples never changes the first ones.
//
// The formats: the course's FORMATS, 24 entries, one drawn uniformly per
// example: Babel's en_US `short` (M/d/yy), `medium` (MMM d, y), `long`
// (MMMM d, y) and `full` (EEEE, MMMM d, y, listed ten times), then d MMM YYY,
// d MMMM YYY, dd MMM YYY, d MMM, YYY, d MMMM, YYY, dd, MMM YYY, d MM YY,
// d MMMM YYY (again), MMMM d YYY, MMMM d, YYY, dd.MM.YY. The text is
// lower-cased and its commas removed ("Tuesday, July 10, 2007" -> "tuesday
// july 10 2007").
//
// `Y` (YYY, YY) is the calendar year here, as `y` is. In CLDR, `Y` is the year
// of the week-numbering calendar, which differs from the calendar year for a
// few days around New Year. What the course's Babel wrote depends on its
// version: Babel 2.x up to 2.6 counted the locale's weeks and only ever moved
// early January back a year, which in en_US (weeks start on Sunday, week 1
// holds January 1) never happens, so there `Y` was the calendar year; 2.7
// (2019) to 2.16 the ISO week year (2018-12-31 -> "2019", 2016-01-01 ->
// "2015"); 2.17 (2025) the en_US week year (2018-12-30 and 12-31 -> "2019").
// Which one the course ran is not recorded (its first release is of 2018,
// its revised nmt_utils.py later). A human form whose year disagrees with
// its ISO form teaches a translator a wrong year, and the issue asks for the
// calendar year: so here `Y` = `y`.
//
// No date library: the proleptic Gregorian calendar by hand (days since
// 1970-01-01 both ways, leap years, the weekday from the day count).
#pragma once

#include "graph/tensor.hpp"
#include "models/data/text.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sg::dates {

// ---- the calendar

struct Date {
  int year = 1970, month = 1, day = 1; // month 1..12, day 1..days_in_month
  auto operator<=>(const Date&) const = default;
};

bool is_leap(int year);                 // divisible by 4, except centuries not divisible by 400
int days_in_month(int year, int month); // throws std::invalid_argument for a month outside 1..12
bool valid(Date d);                     // 1 <= month <= 12, 1 <= day <= days_in_month, |year| < 10^6
int64_t days_since_epoch(Date d);       // 1970-01-01 = 0 (negative before); throws if !valid(d)
Date from_days(int64_t days);           // the inverse; throws for a year outside |year| < 10^6
int weekday(Date d);                    // 0 = Monday .. 6 = Sunday (1970-01-01 is a Thursday, 3)
Date today();                           // the current date in UTC

std::string_view month_name(int month);  // "January"; throws std::invalid_argument outside 1..12
std::string_view month_abbr(int month);  // "Jan" (CLDR en abbreviated: "Sep", not "Sept")
std::string_view weekday_name(int wday); // "Monday" for 0; throws outside 0..6

// "2007-07-10"; std::invalid_argument for an invalid date or a year outside 0..9999.
std::string iso(Date d);
// The date of "YYYY-MM-DD" (exactly: four, two and two digits), if valid.
std::optional<Date> parse_iso(std::string_view text);

// ---- the formats

// A CLDR date pattern in the en_US locale, the fields the course's formats
// use: d dd (day), M MM (month number), MMM MMMM (month name), y yy YYY... (year;
// two letters: its last two digits, n letters: at least n digits), E EE EEE
// (abbreviated weekday) and EEEE (weekday); any character that is not a
// letter is copied. Also the names "short", "medium", "long" and "full" (en_US:
// "M/d/yy", "MMM d, y", "MMMM d, y", "EEEE, MMMM d, y"). As Babel writes it:
// format_date({2007, 7, 10}, "full") == "Tuesday, July 10, 2007". Throws
// std::invalid_argument for another letter, a field of an unsupported width,
// quotes, or an invalid date.
std::string format_date(Date d, std::string_view pattern);

// The course's 24 formats, in its order (index 3..12 are "full").
inline constexpr std::array<std::string_view, 24> formats = {
    "short",      "medium",      "long",        "full",       "full",        "full",
    "full",       "full",        "full",        "full",       "full",        "full",
    "full",       "d MMM YYY",   "d MMMM YYY",  "dd MMM YYY", "d MMM, YYY",  "d MMMM, YYY",
    "dd, MMM YYY", "d MM YY",    "d MMMM YYY",  "MMMM d YYY", "MMMM d, YYY", "dd.MM.YY"};

// format_date lower-cased, commas removed: the human side of an example.
std::string human_readable(Date d, std::string_view pattern);

// ---- the generator

struct Example {
  Date date;
  int format = 0;      // index into `formats`
  std::string human;   // human_readable(date, formats[format])
  std::string machine; // iso(date)
};

inline constexpr Date first_date{1970, 1, 1};

// Example i of `seed`: a day uniform in first_date..last, a format uniform in
// the 24. Throws std::invalid_argument if `last` is invalid, before 1970-01-01
// or after 9999-12-31, or i < 0.
Example example(uint64_t seed, int64_t i, Date last = today());
// Examples 0..n-1 of `seed`.
std::vector<Example> generate(int64_t n, uint64_t seed, Date last = today());

// ---- vocabularies and encodings (the course's load_dataset and string_to_int)

inline constexpr int Tx = 30; // human side: truncated to 30 characters, right-padded with <pad>
inline constexpr int Ty = 10; // machine side: YYYY-MM-DD
inline constexpr int human_size = 37;   // 35 characters, then <unk> and <pad>
inline constexpr int machine_size = 11; // '-' = 0, '0'..'9' = 1..10
inline constexpr int unk = 35;          // a character outside the 35
inline constexpr int pad = 36;          // after the end of the text

// The 35 characters that occur in human forms, sorted: ' ' = 0, '.' = 1,
// '/' = 2, '0'..'9' = 3..12, then the 22 letters a..y without k, q, x and z
// (a = 13 .. y = 34): the course's human_vocab, less its <unk> and <pad>.
const data::CharVocab& human_chars();
// The machine vocabulary: "-0123456789".
const data::CharVocab& machine_vocab();

// The course's preprocessing of a human string: ASCII letters lower-cased,
// commas removed. (Python's str.lower() lowers non-ASCII letters too; those
// are <unk> either way, except U+0130 'İ', which Python lowers to 'i' and a
// combining dot, two characters: here it is one <unk>.)
std::string normalize(std::string_view text);
// string_to_int(text, length, human_vocab): normalize, then one id per
// character (a UTF-8 sequence is one character, as in Python; a byte that is
// not part of well-formed UTF-8 is one character too) -- a character outside
// the 35 is <unk> (the course's vocab.get(c, '<unk>') returns the string
// '<unk>', a bug: the id is meant) -- truncated to `length` ids and
// right-padded with <pad> to `length`. Never throws for any bytes.
std::vector<int> encode_human(std::string_view text, int length = Tx);
// The characters of encode_human's text before truncation (after normalize).
int64_t human_length(std::string_view text);
// The ids of a machine string: exactly Ty characters of "-0123456789", else
// std::invalid_argument.
std::vector<int> encode_machine(std::string_view iso_date);

// One id's text: its character, "<unk>" or "<pad>"; std::out_of_range
// outside 0..36. (An attention map's axis labels.)
std::string human_token(int id);
// The tokens of `ids` without the <pad>s: decode_human(encode_human(s)) is
// normalize(s) for a string of the 35 characters at most Tx long.
std::string decode_human(std::span<const int> ids);
// The characters of machine ids (any count); std::out_of_range outside 0..10.
std::string decode_machine(std::span<const int> ids);

// (B, T, depth), row (b, t) e_{ids[b][t]}: every ids[b] of the same length T,
// every id in 0..depth-1 (else std::invalid_argument / std::out_of_range).
Tensor one_hot(const std::vector<std::vector<int>>& ids, int depth, DType dtype = DType::f32);

// The course's Xoh and Yoh of a batch: X (B, Tx, 37), the human forms;
// Y (B, Ty, 11), the machine forms. (The course's model takes Y as Ty
// arrays of (B, 11): Yoh.swapaxes(0, 1).)
struct Batch {
  Tensor X, Y;
};
Batch one_hot_batch(std::span<const Example> examples, DType dtype = DType::f32);

// ---- user input: a date string typed on a command line or read from a file

// One human date string, ready for the model.
struct HumanInput {
  std::string text;     // the input, surrounding whitespace removed
  std::vector<int> ids; // encode_human(text): Tx ids
  int64_t length = 0;   // human_length(text): characters before truncation
  int64_t unknown = 0;  // of ids, how many are <unk>
  int64_t line = 1;     // its line in the input
  bool truncated() const { return length > Tx; }
};

// A date string, `name` naming it in errors ("argument 1"). Surrounding
// whitespace (space, tab, CR, LF, FF, VT) is removed; inside, every
// character counts. Throws IoError "<name>: not UTF-8 text (byte 0x.. at
// column ..)" and "<name>: empty date string". A text longer than Tx
// characters is truncated to its first Tx, as the course's string_to_int
// does, and says so (truncated()): a command decides whether to warn.
// Characters outside the vocabulary are <unk> (counted in `unknown`). Any
// other bytes give a well-defined encoding, never an exception.
HumanInput parse_human(std::string_view bytes, const std::string& name);
// A file's bytes, one date string per line (LF or CRLF); blank lines are
// skipped (each input keeps its line number). IoError "<name>:<line>: not
// UTF-8 text ..." and "<name>: no date strings (the input is empty or blank)".
std::vector<HumanInput> parse_human_lines(std::string_view bytes, const std::string& name);
// The largest file read_human_lines reads (checked before reading).
inline constexpr uint64_t kMaxDateFileBytes = uint64_t(64) << 20;
// parse_human_lines over read_file(path): IoError for a missing, unreadable or
// larger file too.
std::vector<HumanInput> read_human_lines(const std::string& path);

} // namespace sg::dates
