// The words of the word-vector commands (models/word_vectors.cpp): a word of
// the vocabulary (or its lower-case spelling), a sum or difference of words
// ("france-paris"), the gender direction g of the course's debiasing
// (e_woman − e_man, or the mean difference over pairs of words), each as a
// float64 tensor for a graph's input (sums and means added up here, on the
// host), and the vocabulary ranked by the cosines a graph computed.
#pragma once

#include "graph/tensor.hpp"
#include "models/data/glove.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sg::word_vectors {

// The row of `word`, else of its lower-case spelling (GloVe 6B is lower-case),
// else WordVectors::at's std::invalid_argument (naming it, with the closest spellings).
int32_t lookup(const WordVectors& v, const std::string& word);
// The row lookup() finds, as a graph input: a float64 (d,) tensor, as the course's numpy.
Tensor vec(const WordVectors& v, const std::string& word);
// The whole table, as a graph input: a float64 (V, d) tensor.
Tensor table(const WordVectors& v);

// A vector made of words (float64, (d,)), and how a command shows it.
struct Term {
  Tensor e;
  std::string shown;
};

// A word, or a sum/difference of words such as "france-paris" (a word of the
// vocabulary that holds '-' is taken whole), shown as "france - paris".
// std::invalid_argument for an empty word ("france+").
Term expression(const WordVectors& v, const std::string& e);

// The course's g = e_woman − e_man when `pairs` is empty, else the mean of
// e_a − e_b over the pairs "a:b,c:d,..." (--pairs), shown as "the mean of N
// pair difference(s)". std::invalid_argument naming --pairs for a pair that is not a:b.
Term gender_direction(const WordVectors& v, const std::string& pairs);

// `t`'s vector, for a cosine or a projection: std::invalid_argument if it is
// the zero vector ("king-king"), which has no direction, saying so and what
// (`of`) needed one. gender_direction() checks its --pairs' mean this way.
const Tensor& direction(const Term& t, const std::string& of);

// The k words with the largest `scores` (a (V,) tensor: one per row of the
// table), less the rows in `skip`, best first, as (word, score).
// std::invalid_argument naming the word if one of those scores is NaN (a zero vector's cosine).
std::vector<std::pair<std::string, double>> best(const WordVectors& v, const Tensor& scores,
                                                 const std::vector<int32_t>& skip, long long k);

} // namespace sg::word_vectors
