// NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and written by
// hand, so the course's data and reference arrays can be exchanged with numpy.
//
// Reading accepts little-endian C-order arrays of any rank (0-d included) with
// dtype '<f4' (loaded as float32) or '<f8' (float64). Integer and boolean
// arrays ('<i4', '<i8', '|u1'/'<u1', '|b1') are also accepted and converted to
// float64, because models take integer inputs such as token indices as floats;
// int64 values beyond 2^53 lose precision. Big-endian data, Fortran-order data
// (rank >= 2) and other dtypes are refused with an IoError.
//
// Writing produces version 1.0 ('<f4' or '<f8' by the tensor's dtype; 2.0 only
// if the header would not fit 1.0's 16-bit length), with the header dict padded
// by spaces and ended by '\n' so that the data starts at a multiple of 64 bytes,
// as numpy does.
#pragma once

#include "graph/errors.hpp"
#include "graph/tensor.hpp"

#include <string>
#include <string_view>

namespace sg {

// Reads a .npy file; throws IoError naming the file and the problem.
Tensor load_npy(const std::string& path);
// The same from the file's bytes; `name` is the file named in errors. A shape
// is checked (checked_numel) and against the bytes there before anything is
// allocated: a short file claiming a huge shape is an IoError, never a huge
// allocation. Empty arrays, (3, 0) as (0, 3), are read as numpy writes them.
Tensor parse_npy(std::string_view bytes, const std::string& name);

// Writes `t` as a .npy file; throws IoError if the file cannot be written.
void save_npy(const std::string& path, const Tensor& t);

} // namespace sg
