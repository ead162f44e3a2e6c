// Per-family graph builders called by build_model (model.cpp) after it has read the config,
// decided the architecture and opened the weights.
#pragma once
#include "formats/safetensors.h"
#include "graph/graph.h"
#include "models/config.h"
#include "models/model.h"

namespace edgerun {

void build_vit(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g);
void build_bert(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g);
void build_gpt2(const ConfigJson& cfg, const WeightSet& ws, ModelInfo& info, Graph& g);

}  // namespace edgerun
