// The transcendental elementwise kernels (exp, log, tanh, sigmoid, sqrt),
// picked at run time for the CPU: the same binary runs xsimd's AVX2 or
// AVX-512 batches where the CPU has them, SSE2 (the x86-64 baseline) where
// not.
//
// Every path gives the bits of the baseline: the wide paths compute each
// lane with the same operations as the SSE2 batch (no FMA: the wide
// translation units are built without -mfma and with -ffp-contract=off),
// and the elements the baseline computes with the scalar libm call (before
// the output is 16-byte aligned, after the last whole group of 4 floats or
// 2 doubles) are computed with that call on every path. So a result, a
// checkpoint or a figure in the README does not depend on which of these
// kernels ran (tests/test_simd.cpp checks it, element by element, against
// the baseline on every path this CPU has).
#pragma once

#include <cstdint>

namespace sg::simd {

enum class Fn : uint8_t { Exp, Log, Tanh, Sigmoid, Sqrt };

enum class Arch : uint8_t { Baseline, Avx2, Avx512 };

const char* arch_name(Arch a); // "sse2", "avx2", "avx512"

// Whether this CPU (and its OS) runs the arch's instructions.
bool available(Arch a);

// The arch the kernels use: SEQGRAPH_SIMD (sse2, avx2 or avx512; read once)
// if set, else the widest available. A SEQGRAPH_SIMD this CPU cannot run, or
// an unknown value, is an error (std::runtime_error naming the value).
Arch active();

// y[i] = f(x[i]) for i < n, with the active arch, or with a given one (tests,
// benchmarks: it must be available).
void unary(Fn f, const float* x, float* y, int64_t n);
void unary(Fn f, const double* x, double* y, int64_t n);
void unary(Arch a, Fn f, const float* x, float* y, int64_t n);
void unary(Arch a, Fn f, const double* x, double* y, int64_t n);

// The wide paths (ops/simd_wide.hpp, one translation unit per arch): y = f(x)
// over whole groups of the baseline's width, n a multiple of 16 / sizeof(T).
void unary_avx2(Fn f, const float* x, float* y, int64_t n);
void unary_avx2(Fn f, const double* x, double* y, int64_t n);
void unary_avx512(Fn f, const float* x, float* y, int64_t n);
void unary_avx512(Fn f, const double* x, double* y, int64_t n);

// The dropout mask (ops/nn.cpp's DropoutMask): out[i] = keep if
// (rng::mix(base ^ (first + i)) >> 11) >= cut, else 0, for i < n, with the
// active arch: elements [first, first + n) of a mask that starts at 0 (a
// data-parallel rank's rows of the global batch's mask).
// Integer arithmetic: the same bits on every path.
void keep_mask(uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first);
void keep_mask(uint64_t base, uint64_t cut, double keep, double* out, int64_t n, int64_t first);
void keep_mask(Arch a, uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first);
void keep_mask_avx2(uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first);
void keep_mask_avx2(uint64_t base, uint64_t cut, double keep, double* out, int64_t n, int64_t first);
void keep_mask_avx512(uint64_t base, uint64_t cut, float keep, float* out, int64_t n, int64_t first);
void keep_mask_avx512(uint64_t base, uint64_t cut, double keep, double* out, int64_t n, int64_t first);

} // namespace sg::simd
