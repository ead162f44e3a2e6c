// DType tables and the half-precision conversions used when weights are widened to fp32.
#include "edgerun/dtype.h"

#include <array>
#include <cstring>

#include "core/error.h"

namespace edgerun {

namespace {
struct DTypeInfo {
  DType type;
  std::string_view name;
  int64_t size;
  const char* numpy;  // nullptr when numpy has no native descriptor
};
constexpr std::array<DTypeInfo, 15> kInfo{{
    {DType::F64, "F64", 8, "<f8"},     {DType::F32, "F32", 4, "<f4"},
    {DType::F16, "F16", 2, "<f2"},     {DType::BF16, "BF16", 2, nullptr},
    {DType::F8_E4M3, "F8_E4M3", 1, nullptr}, {DType::F8_E5M2, "F8_E5M2", 1, nullptr},
    {DType::I64, "I64", 8, "<i8"},     {DType::I32, "I32", 4, "<i4"},
    {DType::I16, "I16", 2, "<i2"},     {DType::I8, "I8", 1, "|i1"},
    {DType::U64, "U64", 8, "<u8"},     {DType::U32, "U32", 4, "<u4"},
    {DType::U16, "U16", 2, "<u2"},     {DType::U8, "U8", 1, "|u1"},
    {DType::BOOL, "BOOL", 1, "|b1"},
}};
const DTypeInfo& info(DType t) { return kInfo[static_cast<size_t>(t)]; }
}  // namespace

int64_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).name; }

std::optional<DType> dtype_from_name(std::string_view s) {
  for (const auto& i : kInfo)
    if (i.name == s) return i.type;
  return std::nullopt;
}

std::optional<std::string> dtype_numpy_descr(DType t) {
  if (!info(t).numpy) return std::nullopt;
  return std::string(info(t).numpy);
}

std::optional<DType> dtype_from_numpy_descr(std::string_view d) {
  // Accept '=' (native, little-endian here) and '|' for one-byte types as numpy writes them.
  std::string norm(d);
  if (!norm.empty() && norm[0] == '=') norm[0] = '<';
  for (const auto& i : kInfo) {
    if (!i.numpy) continue;
    std::string_view n = i.numpy;
    if (norm == n) return i.type;
    if (n[0] == '|' && norm.size() == n.size() && norm.substr(1) == n.substr(1)) return i.type;
  }
  return std::nullopt;
}

float bf16_to_f32(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void widen_to_f32(DType dt, const void* src, int64_t n, float* dst) {
  const auto* s16 = static_cast<const uint16_t*>(src);
  switch (dt) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s16 + i, 2);
        dst[i] = bf16_to_f32(v);
      }
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, s16 + i, 2);
        dst[i] = f16_to_f32(v);
      }
      break;
    default: ER_THROW(UnsupportedError, "cannot widen dtype ", dtype_name(dt), " to fp32 (F32, BF16 and F16 only)");
  }
}

}  // namespace edgerun
