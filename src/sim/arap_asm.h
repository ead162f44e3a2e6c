// The ARAP assembler: the text form of an ARAP program (docs/ARAP.md "Assembly") to 44-bit
// words, data-memory declarations and host-bound parameters. Program text is untrusted: every
// error is a FormatError that starts "FILE:LINE: ".
// Leaves out: macros and forward references (declare tensors, parameters and constants first).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/arap_isa.h"

namespace edgerun::sim::arap {

// What a data-memory word holds; the simulator checks every access against it.
enum class WordType : uint8_t { Free, I16, I32, I64, F32 };
const char* word_type_name(WordType t);

struct TensorDecl {
  std::string name;
  WordType type = WordType::I16;
  int64_t rows = 0, cols = 0;  // row-major, rows * cols consecutive words
  int64_t base = 0;            // word address
  int line = 0;
  int64_t words() const { return rows * cols; }
};

struct ParamDecl {
  std::string name;
  int64_t value = 0;   // the bound value, or the default when the host bound none
  bool bound = false;  // the host supplied it
  int line = 0;
};

struct Program {
  std::string path;               // for messages
  std::vector<Instr> code;
  std::vector<uint64_t> words;    // code, encoded
  std::vector<int> lines;         // source line of each instruction
  std::vector<TensorDecl> tensors;
  std::vector<ParamDecl> params;
  int64_t dm_words_used = 0;

  const TensorDecl* find_tensor(const std::string& name) const;
  const ParamDecl* find_param(const std::string& name) const;
  // "FILE:LINE" of instruction i.
  std::string where(size_t i) const;
};

constexpr size_t kMaxProgramBytes = 4u << 20;  // 4 MiB of text
constexpr size_t kMaxLineChars = 4096;

// Assembles `text` (named `path` in messages). `bind` gives values to the program's .param
// names (e.g. the shifts calibrated for a model); a bound name the program does not declare is
// an error when `strict` (so a host and a program cannot silently disagree).
Program assemble(const std::string& text, const std::string& path,
                 const std::map<std::string, int64_t>& bind = {}, bool strict = false);
Program assemble_file(const std::string& path, const std::map<std::string, int64_t>& bind = {},
                      bool strict = false);

// The program back as text: declarations, then one disassembled instruction per line.
std::string listing(const Program& p);

}  // namespace edgerun::sim::arap
