// The ARAP opcode table and its encoder, decoder and disassembler (arap_isa.h). Every range check
// lives here, so the assembler and the decoder refuse exactly the same words.
#include "sim/arap_isa.h"

#include <sstream>

#include "core/error.h"

namespace edgerun::sim::arap {

namespace {

// Descriptor fields shared by SETA/SETB/SETC/SETD: 16 + 10 + 10 = the whole 36-bit payload.
std::vector<FieldSpec> descriptor(const char* row, const char* col) {
  return {{"base", 20, 16, false, 0, kDmWords - 1, "first element's word address"},
          {"rs", 10, 10, false, 0, 1023, row},
          {"cs", 0, 10, false, 0, 1023, col}};
}

std::vector<OpcodeSpec> make_isa() {
  std::vector<OpcodeSpec> t;
  t.push_back({Opcode::Nop, "NOP", {}, "nothing; takes one issue slot"});
  t.push_back({Opcode::SetA, "SETA", descriptor("words per step of m", "words per step of k"),
               "operand A: element (m, k) at base + m*rs + k*cs"});
  t.push_back({Opcode::SetB, "SETB", descriptor("words per step of n", "words per step of k"),
               "operand B: element (n, k) at base + n*rs + k*cs (cs = 1, rs = K reads a row-major "
               "(N, K) weight; rs = 1, cs = N reads a (K, N) matrix transposed)"});
  t.push_back({Opcode::SetC, "SETC", descriptor("words per step of m", "words per step of n"),
               "destination C: element (m, n) at base + m*rs + n*cs"});
  t.push_back({Opcode::SetD, "SETD", descriptor("words per step of m", "words per step of n"),
               "auxiliary operand D: element (m, n) at base + m*rs + n*cs; rs = 0 broadcasts one "
               "row (a bias)"});
  t.push_back({Opcode::Dims, "DIMS",
               {{"m", 24, 12, false, 1, 4095, "rows of C"},
                {"n", 12, 12, false, 1, 4095, "columns of C"},
                {"k", 0, 12, false, 0, 4095, "reduction length, GEMM only; may be left out (0)", "", true}},
               "the shape of the next run"});
  t.push_back({Opcode::Shift, "SHIFT",
               {{"s", 0, 8, true, -32, 127, "output shift: right by s rounding half away from zero; left by -s when negative"},
                {"la", 8, 6, false, 0, 63, "left shift of A in a VEC; may be left out (0)", "", true},
                {"ld", 14, 6, false, 0, 63, "left shift of D in a VEC add; may be left out (0)", "", true}},
               "the post-op shifts (the q16 rescale)"});
  t.push_back({Opcode::Mult, "MULT", {{"mult", 0, 31, false, 0, (int64_t{1} << 31) - 1, "unsigned multiplier"}},
               "the multiplier a GEMM with `mul` applies before its shift"});
  t.push_back({Opcode::Gemm, "GEMM",
               {{"out", 0, 2, false, 0, 2, "result word: i16 saturates, i32 and i64 must fit", "i16|i32|i64"},
                {"bias", 2, 1, false, 0, 1, "add D to the exact sum", "?"},
                {"mul", 3, 1, false, 0, 1, "multiply the sum by MULT", "?"}},
               "run on the group as a 2x2 output-stationary array: C = round_shift(sum_k A(m,k) B(n,k) "
               "[+ D(m,n)] [* MULT], s), the sum exact in 64 bits"});
  t.push_back({Opcode::Smax, "SMAX", {},
               "run shiftmax over M rows of N: A holds i32 scores u on Q.15 in the log2 domain; C(m,n) = "
               "sat16(2^(u - max_row - log2 sum_row 2^(u - max_row))) on 2^-15, by shifts and adds"});
  t.push_back({Opcode::Vec, "VEC", {{"fn", 0, 4, false, 0, 2, "function", "add|req|relu"}},
               "run elementwise over M x N (A, D: i16 or i32 words): add: C = sat16(round_shift((A << la) + "
               "(D << ld), s)); req: C = sat16(round_shift(A << la, s)); relu: max(0, req)"});
  t.push_back({Opcode::Sig, "SIG", {{"flag", 0, 6, false, 0, kNumFlags - 1, "event counter"}},
               "handshake: one event on `flag` once every run this group issued before it is done"});
  t.push_back({Opcode::Wait, "WAIT",
               {{"flag", 0, 6, false, 0, kNumFlags - 1, "event counter"},
                {"count", 6, 6, false, 1, 63, "events to wait for"}},
               "handshake: this group issues nothing more until `flag` has counted `count` events"});
  t.push_back({Opcode::Sfu, "SFU", {{"fn", 0, 4, false, 0, 4, "function", "ln|act|addf|deq|qnt"}},
               "run the group as a 4-lane fp32 unit over M x N (the steps docs/q16.md keeps in fp32): "
               "ln: C = LayerNorm of each row of A with gamma = B(0, n), beta = B(1, n), eps = B(2, 0); "
               "act: C = the model's activation of A; addf: C = A 2^s + D; deq: C = A 2^s; "
               "qnt: C = sat16(round_half_away(A 2^-s)) (A, B, D, C f32 words except the i16 A of "
               "addf/deq and the i16 C of qnt)"});
  t.push_back({Opcode::Halt, "HALT", {}, "the end of this group's stream"});
  return t;
}

uint64_t field_bits(const FieldSpec& f, int64_t v) {
  const uint64_t mask = (uint64_t{1} << f.width) - 1;
  return (static_cast<uint64_t>(v) & mask) << f.lo;
}

int64_t field_value(const FieldSpec& f, uint64_t word) {
  const uint64_t raw = (word >> f.lo) & ((uint64_t{1} << f.width) - 1);
  if (f.is_signed && (raw >> (f.width - 1)) != 0) return static_cast<int64_t>(raw) - (int64_t{1} << f.width);
  return static_cast<int64_t>(raw);
}

std::string keyword(const FieldSpec& f, int64_t v) {
  std::string s = f.syntax;
  int64_t i = 0;
  size_t p = 0;
  while (true) {
    const size_t q = s.find('|', p);
    if (i == v) return s.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (q == std::string::npos) return std::to_string(v);
    p = q + 1;
    ++i;
  }
}

}  // namespace

const std::vector<OpcodeSpec>& isa() {
  static const std::vector<OpcodeSpec> t = make_isa();
  return t;
}

const OpcodeSpec* find_opcode(Opcode op) {
  for (const OpcodeSpec& s : isa())
    if (s.op == op) return &s;
  return nullptr;
}

const OpcodeSpec* find_mnemonic(std::string_view m) {
  for (const OpcodeSpec& s : isa())
    if (m == s.mnemonic) return &s;
  return nullptr;
}

uint64_t encode(const Instr& in) {
  const OpcodeSpec* s = find_opcode(in.op);
  if (!s) ER_THROW(InputError, "opcode ", static_cast<int>(in.op), " does not exist");
  if (in.mask < kPegField.min || in.mask > kPegField.max)
    ER_THROW(InputError, s->mnemonic, ": PE-group mask ", static_cast<int>(in.mask), " outside [1, 15]");
  uint64_t w = field_bits(kOpField, static_cast<int64_t>(in.op)) | field_bits(kPegField, in.mask);
  for (size_t i = 0; i < s->fields.size(); ++i) {
    const FieldSpec& f = s->fields[i];
    if (in.f[i] < f.min || in.f[i] > f.max)
      ER_THROW(InputError, s->mnemonic, ": ", f.name, " = ", in.f[i], " outside [", f.min, ", ", f.max, "] (",
               f.meaning, "; bits ", f.lo + f.width - 1, ":", f.lo, ")");
    w |= field_bits(f, in.f[i]);
  }
  return w;
}

Instr decode(uint64_t word) {
  if (word >> kInstrBits)
    ER_THROW(FormatError, "instruction word 0x", std::hex, word, " has bits above bit 43");
  Instr in;
  const int64_t op = field_value(kOpField, word);
  const OpcodeSpec* s = find_opcode(static_cast<Opcode>(op));
  if (!s) ER_THROW(FormatError, "instruction word 0x", std::hex, word, std::dec, ": unknown opcode ", op);
  in.op = s->op;
  in.mask = static_cast<uint8_t>(field_value(kPegField, word));
  if (in.mask == 0) ER_THROW(FormatError, s->mnemonic, ": PE-group mask 0 sends the instruction nowhere");
  uint64_t used = field_bits(kOpField, -1) | field_bits(kPegField, -1);
  for (size_t i = 0; i < s->fields.size(); ++i) {
    const FieldSpec& f = s->fields[i];
    in.f[i] = field_value(f, word);
    if (in.f[i] < f.min || in.f[i] > f.max)
      ER_THROW(FormatError, s->mnemonic, ": ", f.name, " = ", in.f[i], " outside [", f.min, ", ", f.max, "]");
    used |= field_bits(f, -1);
  }
  if (word & ~used)
    ER_THROW(FormatError, s->mnemonic, ": reserved bits set in instruction word 0x", std::hex, word);
  return in;
}

std::string disassemble(const Instr& in) {
  const OpcodeSpec* s = find_opcode(in.op);
  ER_CHECK(s != nullptr);
  std::ostringstream o;
  o << '@';
  bool first = true;
  for (int g = 0; g < kNumPegs; ++g)
    if (in.mask >> g & 1) {
      o << (first ? "" : ",") << g;
      first = false;
    }
  o << ' ' << s->mnemonic;
  bool any = false;
  for (size_t i = 0; i < s->fields.size(); ++i) {
    const FieldSpec& f = s->fields[i];
    std::string tok;
    if (std::string_view(f.syntax) == "?") {
      if (in.f[i] == 0) continue;
      tok = f.name;
    } else if (f.syntax[0] != '\0') {
      tok = keyword(f, in.f[i]);
    } else {
      tok = std::to_string(in.f[i]);
    }
    o << (any ? ", " : " ") << tok;
    any = true;
  }
  return o.str();
}

std::string isa_markdown() {
  std::ostringstream o;
  o << "| op | mnemonic | payload fields (bits: name, range) | configures / does |\n";
  o << "|---|---|---|---|\n";
  for (const OpcodeSpec& s : isa()) {
    o << "| 0x" << std::hex << std::uppercase << static_cast<int>(s.op) << std::dec << std::nouppercase
      << " | `" << s.mnemonic << "` | ";
    if (s.fields.empty()) o << "none (payload zero)";
    for (size_t i = 0; i < s.fields.size(); ++i) {
      const FieldSpec& f = s.fields[i];
      o << (i ? "; " : "") << "[" << f.lo + f.width - 1;
      if (f.width > 1) o << ":" << f.lo;
      o << "] `" << f.name << "` ";
      if (std::string_view(f.syntax) == "?") o << "flag";
      else if (f.syntax[0] != '\0') {
        for (const char* c = f.syntax; *c; ++c) o << (*c == '|' ? std::string(" / ") : std::string(1, *c));
      }
      else o << (f.is_signed ? "signed " : "") << f.min << ".." << f.max;
      o << " (" << f.meaning << ")";
    }
    o << " | " << s.does << " |\n";
  }
  return o.str();
}

}  // namespace edgerun::sim::arap
