// The op registry: one schema per OpKind (graph/op_kind.h) with its name, the names of its
// inputs, weight slots and parameters, the validation of an op against its graph (input count,
// slot count and shapes, output rows and cols), and its FLOP and byte counts for a pass shape.
// Graph::add_op validates through it; the graph's layer FLOPs, the profiler, cost model,
// planner and sim's GEMM lists read FLOPs and shapes from here and compute none of their own.
// A new op kind is a new OpKind, a new row in op_schema.cpp and an implementation in each
// backend that claims it (graph/backend.h).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "edgerun/types.h"
#include "graph/attention_gemms.h"
#include "graph/op_kind.h"

namespace edgerun {

struct Graph;
struct Op;

// Shape of one pass: B sequences of T new tokens after `past` cached ones; last_only: the run
// asks only for the last token's rows of TokensOrLast values (generation's LM logits).
struct PassShape {
  int64_t B = 1, T = 1, past = 0;
  bool last_only = false;
};

// What one op costs for one pass shape.
struct OpCost {
  double flops = 0;
  uint64_t weight_bytes = 0;  // weight bytes read: whole slots, or the rows a gather reads
  uint64_t input_bytes = 0, output_bytes = 0;  // activation bytes read and written
};

struct OpSchema {
  OpKind kind;
  const char* name;                  // "Linear", ...: in messages and the op harness
  std::vector<const char*> inputs;   // input names; a trailing "?" marks an optional one
  std::vector<const char*> slots;    // weight slot names in order; "?" marks an optional one
  std::vector<const char*> params;   // the OpParams fields the op reads
  // Throws InternalError naming the op when it does not fit its schema or its graph.
  void (*validate)(const Graph& g, const Op& op);
  double (*flops)(const Graph& g, const Op& op, const PassShape& s);
  // An N-D kind (graph/nd_bind.h): its inputs may be absent (kNone), its slots are those of its
  // weight inputs, and its shapes come from the bind.
  bool nd = false;
};

const OpSchema& op_schema(OpKind k);
const char* op_kind_name(OpKind k);

// Rows of op's output and of its input i for a pass shape.
int64_t op_rows(const Graph& g, const Op& op, const PassShape& s);
int64_t op_input_rows(const Graph& g, const Op& op, size_t i, const PassShape& s);

// Checks an op against its schema and graph (Graph::add_op calls it); InternalError naming it.
void validate_op(const Graph& g, const Op& op);

double op_flops(const Graph& g, const Op& op, const PassShape& s);
OpCost op_cost(const Graph& g, const Op& op, const PassShape& s);

// The precision an op computes in: Q16 when it carries calibrated exponents, Bf16 when one of
// its weights is bf16 (stored or rounded on load), Fp32 otherwise.
Precision op_precision(const Graph& g, const Op& op);

// The GEMM of a Linear (M = rows, K = in, N = out; an output chunk: its slot's rows) or a
// PatchEmbed (per image: patches x D x C P^2); nullopt for other kinds.
std::optional<GemmShape> op_gemm(const Graph& g, const Op& op, const PassShape& s);
// An Attention op's work through its variant's decomposition (graph/attention_gemms.h) for one
// sequence of s.T tokens; GEMM names start with the op's name.
AttentionWork attention_work(const Op& op, AttnVariant variant, int64_t tokens);

}  // namespace edgerun
