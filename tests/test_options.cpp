// "Did you mean" (models/suggest.hpp).
#include "models/suggest.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace sg;

TEST_CASE("Options.EditDistance") {
  struct Case {
    const char *a, *b;
    size_t d;
  };
  for (const Case& c : std::vector<Case>{{"", "", 0},
                                         {"", "abc", 3},
                                         {"train", "train", 0},
                                         {"trian", "train", 1},       // one swap
                                         {"dinosuarus", "dinosaurus", 1},
                                         {"iteration", "iterations", 1},
                                         {"kitten", "sitting", 3},
                                         {"ca", "abc", 3},            // optimal string alignment, not 2
                                         {"eval", "dot", 4}}) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    CHECK(edit_distance(c.a, c.b) == c.d);
    CHECK(edit_distance(c.b, c.a) == c.d);
  }
}

TEST_CASE("Options.CloseMatches") {
  const std::vector<std::string> commands{"list", "eval", "dot", "gradcheck", "train", "sample"};
  const std::vector<std::string> options{"iterations", "history", "save-every", "resume", "seed", "threads", "x-max"};
  const std::vector<std::string> prefixed{"seeds-all", "seed"};
  struct Case {
    std::string word;
    const std::vector<std::string>& candidates;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{
           {"trian", commands, {"train"}},
           {"sampel", commands, {"sample"}},
           {"gradchek", commands, {"gradcheck"}},
           {"grad", commands, {"gradcheck"}},          // a prefix
           {"tarin", commands, {"train"}},             // one swap
           {"fly", commands, {}},
           {"iteration", options, {"iterations"}},
           {"iter", options, {"iterations"}},
           {"s", options, {"save-every", "seed"}},     // prefixes, in the candidates' order
           {"seeds", prefixed, {"seed", "seeds-all"}}, // distance 1 before a prefix
           {"x", options, {"x-max"}},                  // not "distance 1" to every one-letter name
           {"resmue", options, {"resume"}},
           {"nothing-like-it", options, {}},
           {"", options, {}},
       }) {
    CAPTURE(c.word);
    CHECK(close_matches(c.word, c.candidates) == c.want);
  }
}
