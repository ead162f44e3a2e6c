// The ARAP simulator (arap_sim.h): an event-ordered list scheduler over the four group streams
// (each instruction is processed at the earliest cycle its group, its PE group, the controller's
// issue slot and its handshakes allow, smallest cycle first), with each run's q16 values computed
// when it starts and every data-memory access checked for type, bounds and races.
#include "sim/arap_sim.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "sim/arap_q16.h"

namespace edgerun::sim::arap {

using arapq::i128;

namespace impl {  // named, not anonymous: RunContext (a friend of ArapMachine) holds these

struct Desc {
  int64_t base = 0, rs = 0, cs = 0;
  bool set = false;
};

struct Stream {
  std::vector<size_t> code;  // indices into Program::code routed to this group
  size_t pc = 0;
  int64_t ready = 0;         // earliest cycle for its next instruction
  int64_t last_run_end = 0;
  bool done = false;
  Desc a, b, c, d;
  int64_t m = 1, n = 1, k = 0, s = 0, la = 0, ld = 0, mult = 0;
  bool dims_set = false;
  StreamStats st;
};

struct Peg {
  int64_t free = 0;
  RunKind last_kind = RunKind::None;
  int last_stream = -1;
  PegStats st;
};

const char* kind_name(RunKind k) {
  switch (k) {
    case RunKind::Gemm: return "GEMM";
    case RunKind::Smax: return "SMAX";
    case RunKind::Vec: return "VEC";
    case RunKind::Sfu: return "SFU";
    case RunKind::None: break;
  }
  return "-";
}

bool fits(WordType t, i128 v) {
  switch (t) {
    case WordType::I16: return v >= -arapq::kQMax && v <= arapq::kQMax;
    case WordType::I32: return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    case WordType::I64: return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
    case WordType::F32:
    case WordType::Free: return false;
  }
  return false;
}
bool is_int(WordType t) { return t == WordType::I16 || t == WordType::I32 || t == WordType::I64; }
float as_f32(int64_t w) { return std::bit_cast<float>(static_cast<uint32_t>(w)); }
int64_t f32_word(float v) { return static_cast<int64_t>(std::bit_cast<uint32_t>(v)); }
// Dequantized value k 2^e, exact in fp32 (|k| < 2^24), as docs/q16.md hands values between ops.
float deq(int64_t k, int e) { return static_cast<float>(static_cast<double>(k) * std::ldexp(1.0, e)); }

}  // namespace impl

using namespace impl;

// The state one run() needs beside the machine: streams, groups, flags, and the access checks.
struct RunContext {
  ArapMachine& mc;
  const Program& p;
  std::vector<Stream> streams;
  std::vector<Peg> pegs;
  std::vector<std::vector<int64_t>> events;  // per flag: cycles of its SIG events, ascending
  std::vector<int32_t> writer_instr;         // per word: instruction index of the last write
  int64_t work = 0;                          // operations so far, against ArapConfig::max_work
  ArapResult res;

  // The element of `d` at (i, j), with the whole access range checked up front by check_range.
  static int64_t at(const Desc& d, int64_t i, int64_t j) { return d.base + i * d.rs + j * d.cs; }

  [[noreturn]] void fault(size_t instr, int stream, const std::string& msg) const {
    throw InputError(p.where(instr) + ": PEG" + std::to_string(stream) + " " +
                     find_opcode(p.code[instr].op)->mnemonic + ": " + msg);
  }

  std::string word_name(int64_t a) const {
    const int16_t o = mc.owner_[static_cast<size_t>(a)];
    if (o < 0) return "word " + std::to_string(a) + " (no tensor)";
    const TensorDecl& t = p.tensors[static_cast<size_t>(o)];
    const int64_t off = a - t.base;
    return t.name + "[" + std::to_string(off / t.cols) + ", " + std::to_string(off % t.cols) + "]";
  }

  void check_range(size_t instr, int stream, const char* opnd, const Desc& d, int64_t rows, int64_t cols) const {
    if (!d.set) fault(instr, stream, std::string("operand ") + opnd + " was never set (SET" + opnd + ")");
    const int64_t last = d.base + (rows - 1) * d.rs + (cols - 1) * d.cs;
    if (last >= kDmWords)
      fault(instr, stream, std::string("operand ") + opnd + " reaches word " + std::to_string(last) +
                               ", past the end of the " + std::to_string(kDmWords) + "-word data memory");
  }

  // Checks shared by every read: declared, written, and not still being written by someone.
  void touch_read(size_t instr, int stream, const char* opnd, int64_t a, int64_t t0, int64_t t1) {
    const size_t w = static_cast<size_t>(a);
    if (mc.type_[w] == WordType::Free)
      fault(instr, stream, std::string("operand ") + opnd + " reads " + word_name(a) + ", which no .tensor declares");
    if (!mc.written_[w]) fault(instr, stream, std::string("operand ") + opnd + " reads " + word_name(a) + ", which nothing has written");
    if (mc.write_end_[w] > t0)
      fault(instr, stream, std::string("operand ") + opnd + " reads " + word_name(a) + " at cycle " + std::to_string(t0) +
                               " but its write by " + p.where(static_cast<size_t>(writer_instr[w])) + " (PEG" +
                               std::to_string(mc.writer_[w]) + ") ends at cycle " + std::to_string(mc.write_end_[w]) +
                               ": a missing handshake (SIG/WAIT)?");
    if (t1 > mc.read_end_[w] || mc.reader_[w] != stream) {
      mc.read_end_[w] = std::max(mc.read_end_[w], t1);
      mc.reader_[w] = static_cast<int8_t>(stream);
    }
  }
  void bad_type(size_t instr, int stream, const char* opnd, int64_t a, const char* want) const {
    fault(instr, stream, std::string("operand ") + opnd + " reads " + word_name(a) + " (" +
                             word_type_name(mc.type_[static_cast<size_t>(a)]) + ") but needs " + want + " words");
  }
  // An integer word; `want` Free accepts any integer type.
  int64_t read(size_t instr, int stream, const char* opnd, int64_t a, WordType want, int64_t t0, int64_t t1) {
    const WordType t = mc.type_[static_cast<size_t>(a)];
    if (t != WordType::Free && (want == WordType::Free ? !is_int(t) : t != want))
      bad_type(instr, stream, opnd, a, want == WordType::Free ? "integer" : word_type_name(want));
    touch_read(instr, stream, opnd, a, t0, t1);
    return mc.dm_[static_cast<size_t>(a)];
  }
  int64_t read_narrow(size_t instr, int stream, const char* opnd, int64_t a, int64_t t0, int64_t t1) {
    const WordType t = mc.type_[static_cast<size_t>(a)];
    if (t != WordType::Free && t != WordType::I16 && t != WordType::I32) bad_type(instr, stream, opnd, a, "i16 or i32");
    return read(instr, stream, opnd, a, WordType::Free, t0, t1);
  }
  float readf(size_t instr, int stream, const char* opnd, int64_t a, int64_t t0, int64_t t1) {
    const WordType t = mc.type_[static_cast<size_t>(a)];
    if (t != WordType::Free && t != WordType::F32) bad_type(instr, stream, opnd, a, "f32");
    touch_read(instr, stream, opnd, a, t0, t1);
    return as_f32(mc.dm_[static_cast<size_t>(a)]);
  }

  void store(size_t instr, int stream, int64_t a, WordType want, int64_t word, int64_t t0, int64_t t1) {
    const size_t w = static_cast<size_t>(a);
    const WordType t = mc.type_[w];
    if (t == WordType::Free) fault(instr, stream, "writes " + word_name(a) + ", which no .tensor declares");
    if (t != want)
      fault(instr, stream, "writes " + std::string(word_type_name(want)) + " results into " + word_name(a) + " (" +
                               word_type_name(t) + ")");
    if (mc.reader_[w] >= 0 && mc.reader_[w] != stream && mc.read_end_[w] > t0)
      fault(instr, stream, "overwrites " + word_name(a) + " at cycle " + std::to_string(t0) + " while PEG" +
                               std::to_string(mc.reader_[w]) + " may read it until cycle " +
                               std::to_string(mc.read_end_[w]) + ": a missing handshake (SIG/WAIT)?");
    if (mc.writer_[w] >= 0 && mc.writer_[w] != stream && mc.write_end_[w] > t0)
      fault(instr, stream, "writes " + word_name(a) + " at cycle " + std::to_string(t0) + " while " +
                               p.where(static_cast<size_t>(writer_instr[w])) + " (PEG" + std::to_string(mc.writer_[w]) +
                               ") writes it until cycle " + std::to_string(mc.write_end_[w]));
    mc.dm_[w] = word;
    mc.write_end_[w] = t1;
    mc.writer_[w] = static_cast<int8_t>(stream);
    writer_instr[w] = static_cast<int32_t>(instr);
    mc.written_[w] = 1;
  }
  void write(size_t instr, int stream, int64_t a, WordType want, i128 v, int64_t t0, int64_t t1) {
    if (!fits(want, v))
      fault(instr, stream, "result overflows the " + std::string(word_type_name(want)) + " word " + word_name(a));
    store(instr, stream, a, want, static_cast<int64_t>(v), t0, t1);
  }
  void writef(size_t instr, int stream, int64_t a, float v, int64_t t0, int64_t t1) {
    store(instr, stream, a, WordType::F32, f32_word(v), t0, t1);
  }

  // ---- the three datapath configurations ----
  void gemm(size_t instr, int g, Stream& s, const Instr& in, int64_t t0, int64_t t1) {
    const int64_t M = s.m, N = s.n, K = s.k;
    const WordType out = in.f[0] == 0 ? WordType::I16 : in.f[0] == 1 ? WordType::I32 : WordType::I64;
    const bool bias = in.f[1] != 0, mul = in.f[2] != 0;
    if (K > 0) {
      check_range(instr, g, "A", s.a, M, K);
      check_range(instr, g, "B", s.b, N, K);
    }
    check_range(instr, g, "C", s.c, M, N);
    if (bias) check_range(instr, g, "D", s.d, M, N);
    std::vector<int64_t> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(N * K));
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) A[i * K + k] = read(instr, g, "A", at(s.a, i, k), WordType::I16, t0, t1);
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) B[j * K + k] = read(instr, g, "B", at(s.b, j, k), WordType::I16, t0, t1);
    std::vector<i128> C(static_cast<size_t>(M * N));
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        int64_t acc = 0;  // |A B| <= 2^30 per product, K < 2^12: exact in 64 bits
        for (int64_t k = 0; k < K; ++k) acc += A[i * K + k] * B[j * K + k];
        i128 v = acc;
        if (bias) v += read(instr, g, "D", at(s.d, i, j), WordType::Free, t0, t1);
        if (mul) v *= s.mult;
        C[i * N + j] = arapq::round_shift(v, static_cast<int>(s.s));
      }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        i128 v = C[i * N + j];
        if (out == WordType::I16) v = arapq::sat16(v);
        write(instr, g, at(s.c, i, j), out, v, t0, t1);
      }
  }

  void smax(size_t instr, int g, Stream& s, int64_t t0, int64_t t1) {
    const int64_t M = s.m, N = s.n;
    check_range(instr, g, "A", s.a, M, N);
    check_range(instr, g, "C", s.c, M, N);
    std::vector<int64_t> u(static_cast<size_t>(N));
    for (int64_t i = 0; i < M; ++i) {
      int64_t mx = std::numeric_limits<int64_t>::min();
      for (int64_t j = 0; j < N; ++j) {
        // i32 scores: differences of two of them cannot overflow 64 bits.
        u[j] = read(instr, g, "A", at(s.a, i, j), WordType::I32, t0, t1);
        mx = std::max(mx, u[j]);
      }
      int64_t sum = 0;  // each term <= 2^15, N < 2^12
      for (int64_t j = 0; j < N; ++j) sum += arapq::pow2_q15(u[j] - mx);
      const int64_t l = arapq::log2_q15(sum);
      for (int64_t j = 0; j < N; ++j)
        write(instr, g, at(s.c, i, j), WordType::I16, arapq::sat16(arapq::pow2_q15(u[j] - mx - l)), t0, t1);
    }
  }

  void vec(size_t instr, int g, Stream& s, const Instr& in, int64_t t0, int64_t t1) {
    const int64_t M = s.m, N = s.n;
    const auto fn = static_cast<VecFn>(in.f[0]);
    check_range(instr, g, "A", s.a, M, N);
    check_range(instr, g, "C", s.c, M, N);
    if (fn == VecFn::Add) check_range(instr, g, "D", s.d, M, N);
    std::vector<i128> out(static_cast<size_t>(M * N));
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        // i16 and i32 operands only: then the aligned sum stays below 2^96 and no shift of it
        // can overflow 128 bits.
        i128 v = static_cast<i128>(read_narrow(instr, g, "A", at(s.a, i, j), t0, t1)) << s.la;
        if (fn == VecFn::Add) v += static_cast<i128>(read_narrow(instr, g, "D", at(s.d, i, j), t0, t1)) << s.ld;
        if (s.s < 0 && (v >= (static_cast<i128>(1) << (126 + s.s)) || -v >= (static_cast<i128>(1) << (126 + s.s))))
          fault(instr, g, "the left shift by " + std::to_string(-s.s) + " overflows 128 bits");
        v = arapq::round_shift(v, static_cast<int>(s.s));
        if (fn == VecFn::Relu && v < 0) v = 0;
        out[i * N + j] = arapq::sat16(v);
      }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) write(instr, g, at(s.c, i, j), WordType::I16, out[i * N + j], t0, t1);
  }

  void sfu(size_t instr, int g, Stream& s, const Instr& in, int64_t t0, int64_t t1) {
    const int64_t M = s.m, N = s.n;
    const auto fn = static_cast<SfuFn>(in.f[0]);
    const int e = static_cast<int>(s.s);
    check_range(instr, g, "A", s.a, M, N);
    check_range(instr, g, "C", s.c, M, N);
    std::vector<float> x(static_cast<size_t>(M * N)), y(static_cast<size_t>(M * N));
    const bool int_in = fn == SfuFn::Addf || fn == SfuFn::Deq;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        x[i * N + j] = int_in ? deq(read(instr, g, "A", at(s.a, i, j), WordType::I16, t0, t1), e)
                              : readf(instr, g, "A", at(s.a, i, j), t0, t1);
    switch (fn) {
      case SfuFn::Ln: {
        check_range(instr, g, "B", s.b, 3, N);
        std::vector<float> gamma(static_cast<size_t>(N)), beta(static_cast<size_t>(N));
        for (int64_t j = 0; j < N; ++j) {
          gamma[j] = readf(instr, g, "B", at(s.b, 0, j), t0, t1);
          beta[j] = readf(instr, g, "B", at(s.b, 1, j), t0, t1);
        }
        const float eps = readf(instr, g, "B", at(s.b, 2, 0), t0, t1);
        if (!mc.fp32_.layernorm) fault(instr, g, "the host gave the SFU no LayerNorm function");
        mc.fp32_.layernorm(x.data(), M, N, gamma.data(), beta.data(), eps, y.data());
        break;
      }
      case SfuFn::Act:
        if (!mc.fp32_.activation) fault(instr, g, "the host gave the SFU no activation function");
        mc.fp32_.activation(x.data(), M * N, y.data());
        break;
      case SfuFn::Addf:
        check_range(instr, g, "D", s.d, M, N);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) y[i * N + j] = x[i * N + j] + readf(instr, g, "D", at(s.d, i, j), t0, t1);
        break;
      case SfuFn::Deq: y = x; break;
      case SfuFn::Qnt:
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j)
            write(instr, g, at(s.c, i, j), WordType::I16, arapq::quantize16(x[i * N + j], e), t0, t1);
        return;
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) writef(instr, g, at(s.c, i, j), y[i * N + j], t0, t1);
  }

  // Earliest cycle stream g can process its next instruction; -1 while blocked on a WAIT.
  int64_t key(int g) const {
    const Stream& s = streams[static_cast<size_t>(g)];
    const size_t i = s.code[s.pc];
    const Instr& in = p.code[i];
    int64_t t = std::max(s.ready, static_cast<int64_t>(i) + 1);  // the controller issues one per cycle
    switch (in.op) {
      case Opcode::Gemm:
      case Opcode::Smax:
      case Opcode::Vec:
      case Opcode::Sfu: return std::max(t, pegs[static_cast<size_t>(g % mc.cfg_.physical_pegs)].free);
      case Opcode::Sig: return std::max(t, s.last_run_end);
      case Opcode::Wait: {
        const auto& ev = events[static_cast<size_t>(in.f[0])];
        const size_t need = static_cast<size_t>(in.f[1]);
        if (ev.size() < need) return -1;
        return std::max(t, ev[need - 1] + 1);  // one cycle of handshake latency
      }
      default: return t;
    }
  }

  void step(int g, int64_t t) {
    Stream& s = streams[static_cast<size_t>(g)];
    const size_t i = s.code[s.pc++];
    const Instr& in = p.code[i];
    ++s.st.instructions;
    s.ready = t + 1;
    switch (in.op) {
      case Opcode::Nop: break;
      case Opcode::SetA: s.a = {in.f[0], in.f[1], in.f[2], true}; break;
      case Opcode::SetB: s.b = {in.f[0], in.f[1], in.f[2], true}; break;
      case Opcode::SetC: s.c = {in.f[0], in.f[1], in.f[2], true}; break;
      case Opcode::SetD: s.d = {in.f[0], in.f[1], in.f[2], true}; break;
      case Opcode::Dims:
        s.m = in.f[0], s.n = in.f[1], s.k = in.f[2];
        s.dims_set = true;
        break;
      case Opcode::Shift: s.s = in.f[0], s.la = in.f[1], s.ld = in.f[2]; break;
      case Opcode::Mult: s.mult = in.f[0]; break;
      case Opcode::Sig:
        events[static_cast<size_t>(in.f[0])].push_back(t);
        s.st.end = std::max(s.st.end, t + 1);
        break;
      case Opcode::Wait: break;  // key() held it until its flag counted enough events
      case Opcode::Halt: s.done = true; break;
      case Opcode::Gemm:
      case Opcode::Smax:
      case Opcode::Vec:
      case Opcode::Sfu: {
        if (!s.dims_set) fault(i, g, "runs before any DIMS");
        const int pg = g % mc.cfg_.physical_pegs;
        Peg& peg = pegs[static_cast<size_t>(pg)];
        RunRecord r;
        r.stream = g;
        r.peg = pg;
        r.instr = i;
        r.m = s.m, r.n = s.n;
        if (in.op == Opcode::Gemm) {
          r.kind = RunKind::Gemm;
          r.k = s.k;
          r.macs = s.m * s.n * s.k;
          r.busy_pe_cycles = r.macs;
          r.end = gemm_cycles(s.m, s.n, s.k);
        } else if (in.op == Opcode::Smax) {
          r.kind = RunKind::Smax;
          r.busy_pe_cycles = s.m * (3 * s.n + kSmaxLog2Cycles);
          r.end = smax_cycles(s.m, s.n);
        } else if (in.op == Opcode::Vec) {
          r.kind = RunKind::Vec;
          r.busy_pe_cycles = s.m * s.n;
          r.end = vec_cycles(s.m, s.n);
        } else {
          const auto fn = static_cast<SfuFn>(in.f[0]);
          r.kind = RunKind::Sfu;
          r.busy_pe_cycles = sfu_busy_pe_cycles(fn, s.m, s.n);
          r.end = sfu_cycles(fn, s.m, s.n);
        }
        if (s.m * s.n > kDmWords || (r.kind == RunKind::Gemm && (s.m * s.k > kDmWords || s.n * s.k > kDmWords)))
          fault(i, g, "a " + std::to_string(s.m) + " x " + std::to_string(s.n) + (r.kind == RunKind::Gemm ? " x " + std::to_string(s.k) : "") +
                          " run touches more elements than the " + std::to_string(kDmWords) + "-word data memory holds");
        work += r.busy_pe_cycles + s.m * s.n;
        if (work > mc.cfg_.max_work)
          fault(i, g, "the program does more than " + std::to_string(mc.cfg_.max_work) +
                          " operations, the simulator's limit (ArapConfig::max_work)");
        r.reconfig = (peg.last_kind != r.kind || peg.last_stream != g) ? kReconfigCycles : 0;
        r.start = t;
        r.end += t + r.reconfig;
        const int64_t t0 = t + r.reconfig;
        if (in.op == Opcode::Gemm) gemm(i, g, s, in, t0, r.end);
        else if (in.op == Opcode::Smax) smax(i, g, s, t0, r.end);
        else if (in.op == Opcode::Vec) vec(i, g, s, in, t0, r.end);
        else sfu(i, g, s, in, t0, r.end);
        peg.free = r.end;
        peg.last_kind = r.kind;
        peg.last_stream = g;
        peg.st.busy_cycles += r.end - r.start;
        peg.st.reconfig_cycles += r.reconfig;
        peg.st.busy_pe_cycles += r.busy_pe_cycles;
        ++peg.st.runs;
        s.last_run_end = r.end;
        s.st.end = std::max(s.st.end, r.end);
        res.macs += r.macs;
        res.busy_pe_cycles += r.busy_pe_cycles;
        res.runs.push_back(r);
        break;
      }
    }
    if (s.pc >= s.code.size()) s.done = true;
  }
};

ArapMachine::ArapMachine(const Program& prog, ArapConfig cfg) : prog_(prog), cfg_(cfg) {
  if (cfg_.physical_pegs != 1 && cfg_.physical_pegs != kNumPegs)
    ER_THROW(InputError, "ARAP: physical PE groups must be 1 or 4, not ", cfg_.physical_pegs);
  const size_t n = static_cast<size_t>(kDmWords);
  dm_.assign(n, 0);
  type_.assign(n, WordType::Free);
  owner_.assign(n, -1);
  write_end_.assign(n, 0);
  read_end_.assign(n, 0);
  writer_.assign(n, -1);
  reader_.assign(n, -1);
  written_.assign(n, 0);
  ER_CHECK(prog.tensors.size() < 32768);
  for (size_t t = 0; t < prog.tensors.size(); ++t) {
    const TensorDecl& d = prog.tensors[t];
    for (int64_t w = d.base; w < d.base + d.words(); ++w) {
      type_[static_cast<size_t>(w)] = d.type;
      owner_[static_cast<size_t>(w)] = static_cast<int16_t>(t);
    }
  }
}

const TensorDecl& ArapMachine::host_tensor(const std::string& name, bool f32, size_t n) const {
  const TensorDecl* t = prog_.find_tensor(name);
  if (!t) ER_THROW(InputError, prog_.path, ": the program declares no tensor \"", name, "\" (the host expects it)");
  if ((t->type == WordType::F32) != f32)
    ER_THROW(InputError, prog_.path, ": tensor ", name, " is declared ", word_type_name(t->type), "; the host treats it as ",
             f32 ? "f32" : "an integer tensor");
  if (n != static_cast<size_t>(-1) && static_cast<int64_t>(n) != t->words())
    ER_THROW(InputError, prog_.path, ": tensor ", name, " is declared ", t->rows, " x ", t->cols, " (", t->words(),
             " words); the host has ", n, " values for it");
  return *t;
}

void ArapMachine::write_tensor(const std::string& name, const std::vector<int64_t>& values) {
  const TensorDecl* t = &host_tensor(name, false, values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!fits(t->type, values[i]))
      ER_THROW(InputError, prog_.path, ": value ", values[i], " at ", i, " does not fit tensor ", name, " (",
               word_type_name(t->type), ")");
    const size_t w = static_cast<size_t>(t->base) + i;
    dm_[w] = values[i];
    written_[w] = 1;
  }
}

void ArapMachine::write_tensor_f32(const std::string& name, const std::vector<float>& values) {
  const TensorDecl& t = host_tensor(name, true, values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t w = static_cast<size_t>(t.base) + i;
    dm_[w] = f32_word(values[i]);
    written_[w] = 1;
  }
}

std::vector<int64_t> ArapMachine::read_tensor(const std::string& name) const {
  const TensorDecl& t = host_tensor(name, false, static_cast<size_t>(-1));
  return {dm_.begin() + t.base, dm_.begin() + t.base + t.words()};
}

std::vector<float> ArapMachine::read_tensor_f32(const std::string& name) const {
  const TensorDecl& t = host_tensor(name, true, static_cast<size_t>(-1));
  std::vector<float> v(static_cast<size_t>(t.words()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = as_f32(dm_[static_cast<size_t>(t.base) + i]);
  return v;
}

void ArapMachine::zero_fill() {
  for (const TensorDecl& t : prog_.tensors)
    for (int64_t w = t.base; w < t.base + t.words(); ++w) written_[static_cast<size_t>(w)] = 1;
}

ArapResult ArapMachine::run() {
  if (ran_) ER_THROW(InputError, prog_.path, ": an ARAP machine runs its program once; make a new one");
  ran_ = true;
  RunContext c{*this, prog_, {}, {}, {}, {}, 0, {}};
  c.streams.resize(kNumPegs);
  c.pegs.resize(static_cast<size_t>(cfg_.physical_pegs));
  c.events.resize(kNumFlags);
  c.writer_instr.assign(static_cast<size_t>(kDmWords), -1);
  for (size_t i = 0; i < prog_.code.size(); ++i)
    for (int g = 0; g < kNumPegs; ++g)
      if (prog_.code[i].mask >> g & 1) c.streams[static_cast<size_t>(g)].code.push_back(i);
  for (Stream& s : c.streams) s.done = s.code.empty();

  int64_t last_t = 0;
  while (true) {
    int best = -1;
    int64_t best_t = 0;
    bool any_left = false;
    for (int g = 0; g < kNumPegs; ++g) {
      if (c.streams[static_cast<size_t>(g)].done) continue;
      any_left = true;
      const int64_t t = c.key(g);
      if (t >= 0 && (best < 0 || t < best_t)) best = g, best_t = t;
    }
    if (!any_left) break;
    if (best < 0) {
      std::string msg = prog_.path + ": deadlock: every unfinished PE group waits on a flag no group will raise:";
      for (int g = 0; g < kNumPegs; ++g) {
        const Stream& s = c.streams[static_cast<size_t>(g)];
        if (s.done) continue;
        const size_t i = s.code[s.pc];
        const Instr& in = prog_.code[i];
        msg += " PEG" + std::to_string(g) + " at " + prog_.where(i) + " (WAIT " + std::to_string(in.f[0]) + ", " +
               std::to_string(in.f[1]) + ": flag has " + std::to_string(c.events[static_cast<size_t>(in.f[0])].size()) +
               " events);";
      }
      msg.pop_back();
      throw InputError(msg);
    }
    ER_CHECK(best_t >= last_t, "ARAP scheduler went back in time");
    last_t = best_t;
    Stream& s = c.streams[static_cast<size_t>(best)];
    const Instr& in = prog_.code[s.code[s.pc]];
    if (in.op == Opcode::Wait) {
      const int64_t unblocked = std::max(s.ready, static_cast<int64_t>(s.code[s.pc]) + 1);
      s.st.wait_cycles += best_t - unblocked;
    }
    c.step(best, best_t);
  }

  ArapResult& r = c.res;
  r.physical_pegs = cfg_.physical_pegs;
  for (Stream& s : c.streams) {
    s.st.end = std::max(s.st.end, s.code.empty() ? 0 : s.ready);
    r.cycles = std::max(r.cycles, s.st.end);
    r.streams.push_back(s.st);
  }
  for (const Peg& pg : c.pegs) r.pegs.push_back(pg.st);
  if (r.cycles > 0) {
    r.pe_util = static_cast<double>(r.busy_pe_cycles) / (static_cast<double>(kNumPes) * static_cast<double>(r.cycles));
    r.active_pe_util = static_cast<double>(r.busy_pe_cycles) /
                       (static_cast<double>(kPesPerPeg * cfg_.physical_pegs) * static_cast<double>(r.cycles));
    r.mac_util = static_cast<double>(r.macs) / (static_cast<double>(kNumPes) * static_cast<double>(r.cycles));
  }
  std::stable_sort(r.runs.begin(), r.runs.end(), [](const RunRecord& a, const RunRecord& b) { return a.start < b.start; });
  return std::move(c.res);
}

nlohmann::json arap_result_json(const ArapResult& r, const Program& p) {
  nlohmann::json j;
  j["physical_pegs"] = r.physical_pegs;
  j["cycles"] = r.cycles;
  j["macs"] = r.macs;
  j["busy_pe_cycles"] = r.busy_pe_cycles;
  j["pe_util"] = r.pe_util;
  j["active_pe_util"] = r.active_pe_util;
  j["mac_util"] = r.mac_util;
  nlohmann::json pegs = nlohmann::json::array();
  for (const PegStats& s : r.pegs)
    pegs.push_back({{"busy_cycles", s.busy_cycles}, {"reconfig_cycles", s.reconfig_cycles},
                    {"busy_pe_cycles", s.busy_pe_cycles}, {"runs", s.runs}});
  j["pegs"] = pegs;
  nlohmann::json st = nlohmann::json::array();
  for (const StreamStats& s : r.streams)
    st.push_back({{"instructions", s.instructions}, {"wait_cycles", s.wait_cycles}, {"end", s.end}});
  j["streams"] = st;
  nlohmann::json runs = nlohmann::json::array();
  for (const RunRecord& x : r.runs)
    runs.push_back({{"line", p.lines[x.instr]}, {"stream", x.stream}, {"peg", x.peg}, {"kind", kind_name(x.kind)},
                    {"m", x.m}, {"n", x.n}, {"k", x.k}, {"start", x.start}, {"end", x.end}, {"reconfig", x.reconfig}});
  j["runs"] = runs;
  return j;
}

}  // namespace edgerun::sim::arap
