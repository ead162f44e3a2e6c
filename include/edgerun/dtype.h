// Implemented in src/core/
//
// Element types of tensors as stored in model files (the safetensors set) and as computed.
// Only F32 is computed in this version; BF16/F16 weights are converted on load.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgerun {

enum class DType : uint8_t {
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL,
};

// Bytes per element.
int64_t dtype_size(DType t);
// Safetensors spelling ("F32", "BF16", ...).
std::string_view dtype_name(DType t);
// Parses a safetensors dtype string; nullopt when unknown.
std::optional<DType> dtype_from_name(std::string_view s);
// NumPy array-interface descriptor ("<f4", "<i8", ...); nullopt if numpy has none.
std::optional<std::string> dtype_numpy_descr(DType t);
std::optional<DType> dtype_from_numpy_descr(std::string_view descr);

// bf16 / fp16 <-> fp32 conversions (exact for the widening direction).
float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float v);  // round to nearest even, NaN kept quiet
float f16_to_f32(uint16_t v);
// n elements of F32, BF16 or F16 at `src` (any alignment) as fp32; UnsupportedError for other dtypes.
void widen_to_f32(DType dt, const void* src, int64_t n, float* dst);

}  // namespace edgerun
