// .npy (NumPy format versions 1.0-3.0) reading and writing: little-endian, C order only.
// Reading validates the header (magic, version, dict, shape, size == file size) of untrusted files.
#pragma once
#include <string>

#include "edgerun/array.h"

namespace edgerun {

// Throws FormatError naming the file for bad magic, unsupported version, big-endian or
// Fortran-order data, unknown dtype descriptors, or a data size that disagrees with the shape.
HostArray read_npy(const std::string& path);
// Writes format 1.0 (or 2.0 when the header needs it). Throws IoError.
void write_npy(const std::string& path, const HostArray& a);

}  // namespace edgerun
