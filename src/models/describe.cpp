// The public model-folder tools of edgerun/models.h: describe_model (`edgerun info`) and the
// synth catalog and writer over models/synth.h.
#include "models/model.h"
#include "models/synth.h"

namespace edgerun {

ModelDescription describe_model(const std::string& model_dir) {
  ModelGraph mg = build_model(model_dir);
  const ModelInfo& i = mg.info;
  ModelDescription d;
  d.family = family_name(i.family);
  d.arch = i.arch;
  d.primary_output = i.primary_output;
  d.hidden = i.hidden;
  d.n_layer = i.n_layer;
  d.n_head = i.n_head;
  d.weight_bytes = mg.graph.model_weight_bytes();
  d.streamed_bytes_per_pass = mg.graph.total_weight_bytes();
  d.ops = static_cast<int64_t>(mg.graph.ops.size());
  d.architecture_note = i.architecture_note;
  d.unused_tensors = i.unused_tensors;
  for (size_t l = 0; l < mg.graph.layers.size(); ++l)
    d.layers.push_back({mg.graph.layers[l].name, mg.graph.layer_weight_bytes(static_cast<int32_t>(l)),
                        static_cast<int64_t>(mg.graph.layers[l].end_op - mg.graph.layers[l].first_op)});
  return d;
}

std::vector<SynthCatalogEntry> synth_catalog() {
  std::vector<SynthCatalogEntry> out;
  for (const SynthSpec& s : synth_specs())
    out.push_back({s.name, s.source, s.arch, s.n_layer, s.hidden, synth_param_count(s)});
  return out;
}

SynthWritten synth_folder(const std::string& name, const std::string& out_dir, const SynthOptions& opts) {
  const SynthResult r = synth_model(find_synth_spec(name), out_dir, opts);
  return {r.spec.arch, r.spec.n_layer, r.n_params, r.weight_bytes, r.files};
}

}  // namespace edgerun
