// The scheduler's handling of request inputs: the probe input a model's minimum budget and
// predictions are sized for, the shape key that decides which requests may share a batch, and
// the concatenation of a batch's inputs along the batch axis and the split of its outputs.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "edgerun/edgerun.h"
#include "edgerun/scheduler.h"

namespace edgerun {

// The input of one sequence or image of the model's usual shape (ModelSpec::tokens).
Inputs probe_input(const ModelSummary& m, const ModelSpec& spec);

// Rows (axis 0) of the request; InputError when its inputs disagree on it or have none.
int64_t batch_rows(const Inputs& in);

// Every input's name, dtype and dimensions after the first: requests with equal keys can be
// concatenated along axis 0.
std::string shape_key(const Inputs& in);

// The inputs of several requests (equal shape keys) as one.
Inputs concat_batch(const std::vector<const Inputs*>& parts);

// Output rows [row, row + rows) of each output (axis 0).
std::vector<std::pair<std::string, HostArray>> slice_rows(const std::vector<std::pair<std::string, HostArray>>& outs,
                                                          int64_t row, int64_t rows, int64_t total_rows);

}  // namespace edgerun
