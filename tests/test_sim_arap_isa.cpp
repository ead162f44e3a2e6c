// ARAP's 44-bit ISA bit for bit (layout, round trips, range checks, the table in docs/ARAP.md)
// and the assembler: errors naming file and line, expressions and listings, mutated programs.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/error.h"
#include "io/file.h"
#include "sim/arap_vit.h"
#include "test_util.h"

using namespace edgerun;
using namespace edgerun::sim::arap;
using edgerun::test::error_of;

namespace {

const std::string kRoot = std::string(EDGERUN_TEST_DATA) + "/../..";

std::string asm_error(const std::string& text) {
  return error_of<FormatError>([&] { assemble(text, "bad.s"); });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ISA

TEST(ArapIsa, BitLayoutIsTheDocumentedOne) {
  Instr a{Opcode::SetA, 0b0101, {0x1234, 5, 7}};
  EXPECT_EQ(encode(a), (uint64_t{0x1} << 40) | (uint64_t{0b0101} << 36) | (uint64_t{0x1234} << 20) | (5u << 10) | 7u);
  Instr d{Opcode::Dims, 0xF, {17, 8, 32}};
  EXPECT_EQ(encode(d), (uint64_t{0x5} << 40) | (uint64_t{0xF} << 36) | (uint64_t{17} << 24) | (8u << 12) | 32u);
  Instr s{Opcode::Shift, 1, {-3, 2, 63}};  // s is 8-bit two's complement
  EXPECT_EQ(encode(s), (uint64_t{0x6} << 40) | (uint64_t{1} << 36) | (63u << 14) | (2u << 8) | 0xFDu);
  Instr g{Opcode::Gemm, 2, {1, 1, 1}};  // i32, bias, mul
  EXPECT_EQ(encode(g), (uint64_t{0x8} << 40) | (uint64_t{2} << 36) | 0b1101u);
  Instr w{Opcode::Wait, 8, {63, 4}};
  EXPECT_EQ(encode(w), (uint64_t{0xC} << 40) | (uint64_t{8} << 36) | (4u << 6) | 63u);
  EXPECT_LT(encode(Instr{Opcode::Mult, 0xF, {(int64_t{1} << 31) - 1}}), uint64_t{1} << 44);
}

TEST(ArapIsa, EveryOpcodeRoundTripsThroughWordsAndText) {
  std::mt19937_64 rng(7);
  for (const OpcodeSpec& spec : isa())
    for (int t = 0; t < 200; ++t) {
      Instr in;
      in.op = spec.op;
      in.mask = static_cast<uint8_t>(1 + rng() % 15);
      for (size_t i = 0; i < spec.fields.size(); ++i) {
        const FieldSpec& f = spec.fields[i];
        in.f[i] = f.min + static_cast<int64_t>(rng() % static_cast<uint64_t>(f.max - f.min + 1));
      }
      const uint64_t w = encode(in);
      const Instr back = decode(w);
      EXPECT_EQ(back.op, in.op);
      EXPECT_EQ(back.mask, in.mask);
      EXPECT_EQ(back.f, in.f) << spec.mnemonic;
      const Program p = assemble(disassemble(in) + "\n", "rt.s");
      ASSERT_EQ(p.words.size(), 1u);
      EXPECT_EQ(p.words[0], w) << disassemble(in);
    }
}

TEST(ArapIsa, OutOfRangeFieldsAndBadWordsAreRefused) {
  auto enc = [](Instr in) { return error_of<InputError>([&] { encode(in); }); };
  EXPECT_NE(enc({Opcode::SetA, 1, {65536, 0, 0}}).find("base = 65536 outside [0, 65535]"), std::string::npos);
  EXPECT_NE(enc({Opcode::SetB, 1, {0, 1024, 0}}).find("rs = 1024 outside [0, 1023]"), std::string::npos);
  EXPECT_NE(enc({Opcode::Shift, 1, {-33, 0, 0}}).find("s = -33 outside [-32, 127]"), std::string::npos);
  EXPECT_NE(enc({Opcode::Dims, 1, {0, 1, 1}}).find("m = 0 outside [1, 4095]"), std::string::npos);
  EXPECT_NE(enc({Opcode::Wait, 1, {0, 0}}).find("count = 0 outside [1, 63]"), std::string::npos);
  EXPECT_NE(enc({Opcode::Nop, 0, {}}).find("mask 0"), std::string::npos);
  auto dec = [](uint64_t w) { return error_of<FormatError>([&] { decode(w); }); };
  EXPECT_NE(dec(uint64_t{0xE} << 40 | uint64_t{1} << 36).find("unknown opcode 14"), std::string::npos);
  EXPECT_NE(dec(uint64_t{0x0} << 40).find("mask 0"), std::string::npos);
  EXPECT_NE(dec(uint64_t{1} << 36 | 1).find("reserved bits"), std::string::npos);  // NOP with payload
  EXPECT_NE(dec(uint64_t{1} << 44).find("above bit 43"), std::string::npos);
  EXPECT_NE(dec(uint64_t{0xA} << 40 | uint64_t{1} << 36 | 9).find("fn = 9 outside [0, 2]"), std::string::npos);
}

TEST(ArapIsa, DocsHoldTheGeneratedTable) {
  const std::string doc = read_text_file(kRoot + "/docs/ARAP.md");
  EXPECT_NE(doc.find(isa_markdown()), std::string::npos)
      << "docs/ARAP.md's ISA table differs from `edgerun sim arap --isa`:\n" << isa_markdown();
}

// ---------------------------------------------------------------------------------------------
// Assembler

TEST(ArapAsm, ErrorsNameFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"; ok\n@0 NOP\n@0 FROB 1\n", "bad.s:3: unknown instruction \"FROB\""},
      {"@0 SETA 1, 2\n", "bad.s:1: SETA needs operand `cs`"},
      {"\n@0 SETA 70000, 1, 1\n", "bad.s:2: SETA: base = 70000 outside [0, 65535]"},
      {"@0 SHIFT -40\n", "bad.s:1: SHIFT: s = -40 outside [-32, 127]"},
      {"@4 NOP\n", "bad.s:1: bad PE-group list \"@4\""},
      {"@0,0 NOP\n", "bad.s:1: PE group 0 named twice"},
      {"@ NOP\n", "bad.s:1:"},
      {"@0 SETA x, 1, 1\n", "bad.s:1: unknown name \"x\""},
      {".tensor x i16 2 2\n.tensor x i16 2 2\n", "bad.s:2: \"x\" is declared twice"},
      {".tensor x i8 2 2\n", "bad.s:1: tensor type \"i8\""},
      {".tensor big i16 300 300\n", "bad.s:1: tensor big needs 90000 words"},
      {".tensor x i16 2 2\n@0 SETA x[2, 0], 1, 1\n", "bad.s:2: element [2, 0] is outside tensor x (2 x 2)"},
      {"@0 GEMM i8\n", "bad.s:1: GEMM: `out` is \"i8\""},
      {"@0 GEMM i16, biass\n", "bad.s:1: GEMM: unexpected operand \"biass\""},
      {"@0 GEMM i16, bias, bias\n", "bad.s:1: GEMM: flag bias given twice"},
      {"@0 SMAX 3\n", "bad.s:1: SMAX: unexpected operand \"3\" (it takes no operands)"},
      {"@0 DIMS 1, 2, 3,\n", "bad.s:1: trailing ','"},
      {"@0 DIMS (1, 2, 3\n", "bad.s:1:"},
      {"@0 DIMS 0x1G, 1\n", "bad.s:1: bad number"},
      {"@0 DIMS 9z, 1\n", "bad.s:1: bad number"},
      {"hello\n", "bad.s:1: expected a directive"},
      {".org 5\n", "bad.s:1: unknown directive \".org\""},
      {"@0 NOP \x01\n", "bad.s:1: non-ASCII or control character"},
      {"; nothing\n", "bad.s: the program has no instructions"},
      {".equ A 99999999999999\n@0 NOP\n", "bad.s:1: number too large"},
  };
  for (const auto& [text, want] : cases) {
    const std::string e = asm_error(text);
    EXPECT_EQ(e.rfind(want, 0), 0u) << "program:\n" << text << "\nerror: " << e << "\nwanted: " << want;
  }
  EXPECT_NE(asm_error(std::string(5000, 'x')).find("bad.s:1: line longer than"), std::string::npos);
}

TEST(ArapAsm, ExpressionsParamsAndListingRoundTrip) {
  const std::string text =
      ".equ N 3\n.param S 5\n.tensor a i16 4 N\n.tensor b i32 2 2\n"
      "@0,2 SETA b[1, 1], N*2-1, (N+1)*2 ; comment\n@all SHIFT S\n@1 DIMS N, 0x10, 7 # other comment\n";
  const Program p = assemble(text, "x.s");
  ASSERT_EQ(p.code.size(), 3u);
  EXPECT_EQ(p.find_tensor("b")->base, 12);
  EXPECT_EQ(p.code[0].f[0], 12 + 1 * 2 + 1);
  EXPECT_EQ(p.code[0].f[1], 5);
  EXPECT_EQ(p.code[0].f[2], 8);
  EXPECT_EQ(p.code[0].mask, 0b0101);
  EXPECT_EQ(p.code[1].f[0], 5);
  EXPECT_EQ(p.code[2].f[1], 16);
  EXPECT_EQ(p.lines, (std::vector<int>{5, 6, 7}));
  const Program bound = assemble(text, "x.s", {{"S", -7}});
  EXPECT_EQ(bound.code[1].f[0], -7);
  EXPECT_TRUE(bound.find_param("S")->bound);
  EXPECT_NE(error_of<FormatError>([&] { assemble(text, "x.s", {{"T", 1}}, true); }).find("declares no .param T"),
            std::string::npos);
  EXPECT_EQ(error_of<FormatError>([&] { assemble(text, "x.s", {{"S", 300}}); }).rfind("x.s:6: SHIFT: s = 300", 0), 0u);
  const Program again = assemble(listing(p), "listing.s");
  EXPECT_EQ(again.words, p.words);
}

TEST(ArapAsm, MutatedProgramsFailCleanly) {
  // Untrusted text: random edits of the bundled program either assemble and run, or fail with
  // an edgerun error; never a crash or a hang (the run's work is capped).
  const std::string base = vit_layer_program({});
  const std::string alphabet = "@0123456789,;[]()+-*xabcdefSETAGMQUVWIHL. \n";
  std::mt19937 rng(11);
  int ran = 0, refused = 0;
  for (int t = 0; t < 400; ++t) {
    std::string text = base;
    for (int e = 0; e < 1 + static_cast<int>(rng() % 4); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 30); break;
        default: text.insert(at, text.substr(rng() % text.size(), rng() % 60)); break;
      }
    }
    try {
      const Program p = assemble(text, "fuzz.s");
      ArapMachine m(p, {1 + 3 * static_cast<int>(rng() % 2), int64_t{1} << 24});
      m.zero_fill();
      m.run();
      ++ran;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_EQ(ran + refused, 400);
  EXPECT_GT(refused, 0);
}
