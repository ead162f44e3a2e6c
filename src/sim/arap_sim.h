// The ARAP simulator: the 4x4 PE array as four 2x2 PE groups, each running the instruction
// stream the global controller routes to it, with handshake flags between groups. It counts
// cycles (docs/ARAP.md "Cycle model") and computes the real q16 values in its data memory.
// Every access is checked: types, bounds, uninitialised reads, and races between groups (a read
// of data another group has not finished writing is an error naming both lines).
// Leaves out: memory-bank conflicts and host transfer time (no-stall, as SCALE-Sim's default).
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/arap_asm.h"

namespace edgerun::sim::arap {

// Cycle-model constants (docs/ARAP.md).
constexpr int64_t kReconfigCycles = 4;  // a group switches datapath (GEMM/SMAX/VEC) or context
constexpr int64_t kGemmPostCycles = 2;  // bias add and round/saturate stages after the last fold
constexpr int64_t kSmaxLog2Cycles = 2;  // leading-one search and mantissa, once per row
constexpr int64_t kVecDepth = 2;        // elementwise pipeline depth
constexpr int64_t kLnRsqrtCycles = 8;   // fp32 1/sqrt(var + eps), once per row
constexpr int64_t kActDepth = 8;        // fp32 activation pipeline (erf polynomial)

int64_t gemm_cycles(int64_t m, int64_t n, int64_t k);  // on one 2x2 group, output stationary
int64_t smax_cycles(int64_t m, int64_t n);
int64_t vec_cycles(int64_t m, int64_t n);
int64_t sfu_cycles(SfuFn fn, int64_t m, int64_t n);
// PE-cycles an SFU run keeps its PEs busy (utilization): LayerNorm works one row per PE.
int64_t sfu_busy_pe_cycles(SfuFn fn, int64_t m, int64_t n);

// The fp32 functions of the SFU datapath. docs/q16.md keeps LayerNorm and activations in fp32,
// so a bit-exact comparison needs the very functions the engine uses: the CLI and the tests plug
// in edgerun's CPU kernels (src/sim does not depend on src/kernels). Rows are independent.
struct Fp32Ops {
  // y (rows, d) = (x - mean) / sqrt(var + eps) * gamma + beta per row (biased variance).
  std::function<void(const float* x, int64_t rows, int64_t d, const float* gamma, const float* beta, float eps,
                     float* y)>
      layernorm;
  // y (n) = the model's activation of x (n).
  std::function<void(const float* x, int64_t n, float* y)> activation;
};
// Plain loops (LayerNorm as above in float, GELU with std::erf): the default, not bit-exact
// with the engine's vectorized kernels.
Fp32Ops plain_fp32_ops();

struct ArapConfig {
  // 4: stream g runs on PEG g (the ARAP). 1: the same program with all four streams
  // time-sharing PEG 0 (each keeps its own configuration registers; switching costs a
  // reconfiguration), the baseline of the 4-vs-1 speedup.
  int physical_pegs = 4;
  // Programs are untrusted: a run may touch at most as many elements as the data memory holds
  // (M x N, and M x K, N x K for a GEMM), and a whole program may do at most this many
  // operations (MACs plus elements), so that no program makes the simulator run for long.
  int64_t max_work = int64_t{1} << 31;
};

struct RunRecord {  // one GEMM / SMAX / VEC run
  int stream = 0, peg = 0;  // stream: the group the program addressed; peg: the one that ran it
  size_t instr = 0;         // index into Program::code
  RunKind kind = RunKind::None;
  int64_t m = 0, n = 0, k = 0;
  int64_t start = 0, end = 0;  // cycles; includes `reconfig`
  int64_t reconfig = 0;
  int64_t busy_pe_cycles = 0;  // PE-cycles doing work (MACs for a GEMM)
  int64_t macs = 0;
};

struct PegStats {
  int64_t busy_cycles = 0;      // cycles with a run in progress (reconfiguration included)
  int64_t reconfig_cycles = 0;
  int64_t busy_pe_cycles = 0;
  int64_t runs = 0;
};

struct StreamStats {
  int64_t instructions = 0;
  int64_t wait_cycles = 0;  // cycles stalled at WAIT beyond its other constraints
  int64_t end = 0;          // cycle its last run or signal finished
};

struct ArapResult {
  int physical_pegs = 4;
  int64_t cycles = 0;             // makespan
  int64_t macs = 0;
  int64_t busy_pe_cycles = 0;
  double pe_util = 0;             // busy PE-cycles / (16 PEs * cycles)
  double active_pe_util = 0;      // busy PE-cycles / (PEs of the groups in use * cycles)
  double mac_util = 0;            // MACs / (16 * cycles)
  std::vector<PegStats> pegs;     // per physical group
  std::vector<StreamStats> streams;
  std::vector<RunRecord> runs;    // in start order
};

class ArapMachine {
 public:
  ArapMachine(const Program& prog, ArapConfig cfg = {});

  void set_fp32_ops(Fp32Ops ops) { fp32_ = std::move(ops); }

  // Host interface: writes a declared tensor (row-major, rows*cols values). InputError if a value
  // does not fit the tensor's word type or the size differs. f32 tensors take the _f32 forms.
  void write_tensor(const std::string& name, const std::vector<int64_t>& values);
  void write_tensor_f32(const std::string& name, const std::vector<float>& values);
  std::vector<int64_t> read_tensor(const std::string& name) const;
  std::vector<float> read_tensor_f32(const std::string& name) const;
  // Marks every word of every tensor as written (zeros), for timing-only runs without data.
  void zero_fill();

  // Runs the program to the end. InputError "FILE:LINE: ..." for a machine fault (out-of-range
  // address, wrong word type, uninitialised read, overflow of an i32/i64 word, a race between
  // groups) and for a deadlock (every unfinished group waiting on a flag nobody will raise).
  ArapResult run();

 private:
  const TensorDecl& host_tensor(const std::string& name, bool f32, size_t n) const;
  const Program& prog_;
  ArapConfig cfg_;
  Fp32Ops fp32_ = plain_fp32_ops();
  std::vector<int64_t> dm_;  // f32 words hold their bit pattern
  std::vector<WordType> type_;
  std::vector<int16_t> owner_;  // tensor index per word, -1 free
  // Access tracking for the race checks: the cycle each word's last write ends, the cycle its
  // last read ends and the stream that read it, whether it was ever written.
  std::vector<int64_t> write_end_, read_end_;
  std::vector<int8_t> writer_, reader_;
  std::vector<uint8_t> written_;
  bool ran_ = false;

  friend struct RunContext;
};

nlohmann::json arap_result_json(const ArapResult& r, const Program& p);

}  // namespace edgerun::sim::arap
