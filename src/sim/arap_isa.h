// The ARAP instruction set: edgerun's own 44-bit format for the global controller of the
// reconfigurable 4x4 PE array (four 2x2 PE groups; seeds/001 section 2 gives only the width).
// One table (isa()) defines every opcode's fields, bit positions and ranges; the encoder, the
// decoder, the assembler, the disassembler and docs/ARAP.md's ISA table all come from it.
// Leaves out: the data-memory loads of the host interface (the host writes memory directly).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgerun::sim::arap {

constexpr int kInstrBits = 44;
constexpr int kNumPegs = 4;        // PEG00, PEG01, PEG10, PEG11 (bit g of the mask: PEG g)
constexpr int kPesPerPeg = 4;      // 2x2
constexpr int kNumPes = kNumPegs * kPesPerPeg;
constexpr int64_t kDmWords = 65536;  // data memory: 16-bit word addresses
constexpr int kNumFlags = 64;      // handshake event counters

enum class Opcode : uint8_t {
  Nop = 0x0,
  SetA = 0x1,   // operand A descriptor
  SetB = 0x2,   // operand B descriptor
  SetC = 0x3,   // destination descriptor
  SetD = 0x4,   // auxiliary operand D (bias / second addend)
  Dims = 0x5,   // M, N, K
  Shift = 0x6,  // output shift and the two operand alignment shifts
  Mult = 0x7,   // 31-bit multiplier of the GEMM post-op
  Gemm = 0x8,   // run: C = post(A . B^T)
  Smax = 0x9,   // run: shiftmax over the rows of A
  Vec = 0xA,    // run: elementwise function of A (and D)
  Sig = 0xB,    // handshake: count an event on a flag once this group's last run is done
  Wait = 0xC,   // handshake: stall this group until a flag has counted n events
  Sfu = 0xD,    // run: the fp32 steps of the q16 contract (LayerNorm, activation, residual add)
  Halt = 0xF,   // this group's stream ends
};

// Run kinds, for the reconfiguration model: a group pays kReconfigCycles to switch datapath.
enum class RunKind : uint8_t { None, Gemm, Smax, Vec, Sfu };

// GEMM output word types (field `out`).
enum class OutType : uint8_t { I16 = 0, I32 = 1, I64 = 2 };
// VEC functions (field `fn`).
enum class VecFn : uint8_t { Add = 0, Req = 1, Relu = 2 };
// SFU functions (field `fn`): docs/q16.md keeps LayerNorm, activations and residual adds in fp32.
enum class SfuFn : uint8_t { Ln = 0, Act = 1, Addf = 2, Deq = 3, Qnt = 4 };

struct FieldSpec {
  const char* name;
  int lo, width;     // bit position of the least significant bit, width in bits
  bool is_signed;    // two's complement
  int64_t min, max;  // accepted values (the assembler and the decoder enforce them)
  const char* meaning;
  // Assembly spelling: "" a number (an expression); "a|b|c" keywords for values 0, 1, 2, ...;
  // "?" a one-bit flag written as its name when set and left out when clear.
  const char* syntax = "";
  bool optional = false;  // a trailing operand that may be left out (then 0)
};

struct OpcodeSpec {
  Opcode op;
  const char* mnemonic;
  std::vector<FieldSpec> fields;  // payload fields, in assembly operand order
  const char* does;               // what it configures or runs
};

// The opcode table, in opcode order.
const std::vector<OpcodeSpec>& isa();
const OpcodeSpec* find_opcode(Opcode op);
const OpcodeSpec* find_mnemonic(std::string_view upper_mnemonic);

// The fields every instruction has.
constexpr FieldSpec kOpField{"op", 40, 4, false, 0, 15, "opcode", ""};
constexpr FieldSpec kPegField{"peg", 36, 4, false, 1, 15, "PE-group mask: bit g sends it to PEG g", ""};

struct Instr {
  Opcode op = Opcode::Nop;
  uint8_t mask = 1;             // PE groups it goes to
  std::array<int64_t, 4> f{};   // payload fields in OpcodeSpec::fields order
};

// Packs into the low 44 bits. InputError naming the field and its range if a value is outside it.
uint64_t encode(const Instr& in);
// Unpacks a 44-bit word: FormatError for an unknown opcode, a zero PEG mask, a value outside its
// field's range, or a reserved bit set.
Instr decode(uint64_t word);
// One line of assembly that assembles back to the same word ("@0,2 DIMS 17, 8, 32").
std::string disassemble(const Instr& in);
// The ISA as a Markdown table (docs/ARAP.md holds a copy; a test keeps them equal).
std::string isa_markdown();

}  // namespace edgerun::sim::arap
