// VitHostSteps (edgerun/tools.h): a q16 ViT's host work through the CPU backend's kernels.
#include <memory>

#include "core/error.h"
#include "edgerun/edgerun.h"
#include "edgerun/tools.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/q16.h"
#include "models/model.h"

namespace edgerun {

namespace {
class CpuVitHostSteps final : public VitHostSteps {
 public:
  explicit CpuVitHostSteps(const std::string& dir) : dir_(dir) {
    BuildOptions bo;
    bo.attention = AttnVariant::Shiftmax;
    bo.precision = Precision::Q16;
    mg_ = build_model(dir, bo);
    for (const Op& op : mg_.graph.ops)
      if (op.kind == OpKind::Activation) {
        act_ = op.p.act;
        break;
      }
  }

  void layernorm(const float* x, int64_t rows, int64_t d, const float* g, const float* b, float eps,
                 float* y) const override {
    kernels::layernorm(x, rows, d, g, b, eps, y);
  }

  void activation(const float* x, int64_t n, float* y) const override { kernels::activation(x, n, act_, y); }

  std::vector<float> embed(const HostArray& px) const override {
    const ModelInfo& mi = mg_.info;
    const int64_t C = mi.num_channels, S = mi.image_size, P = mi.patch_size, D = mi.hidden;
    const int64_t np = S / P, T = np * np + 1;
    const std::vector<float> w = read_model_tensor(dir_, "embeddings.patch_embeddings.projection.weight"),
                             b = read_model_tensor(dir_, "embeddings.patch_embeddings.projection.bias"),
                             cls = read_model_tensor(dir_, "embeddings.cls_token"),
                             pos = read_model_tensor(dir_, "embeddings.position_embeddings");
    std::vector<float> x(static_cast<size_t>(T * D)), scratch(static_cast<size_t>((T - 1) * C * P * P));
    kernels::patch_embed(px.as<float>(), 1, C, S, S, P, w.data(), b.data(), cls.data(), pos.data(), D,
                         scratch.data(), x.data());
    return x;
  }

  std::vector<float> head(const std::vector<float>& x) const override {
    const Op* ln = nullptr;
    const Op* head = nullptr;
    for (const Op& op : mg_.graph.ops) {
      if (op.name == "layernorm") ln = &op;
      if (op.name == "classifier") head = &op;
    }
    if (!ln || !head || !head->p.q16)
      ER_THROW(UnsupportedError, dir_, ": sim arap --model needs a ViTForImageClassification (final layernorm, classifier)");
    const int64_t D = mg_.info.hidden, L = mg_.graph.values[head->output].cols;
    const std::vector<float> lg = read_model_tensor(dir_, "layernorm.weight"),
                             lb = read_model_tensor(dir_, "layernorm.bias"),
                             hw = read_model_tensor(dir_, "classifier.weight"),
                             hb = read_model_tensor(dir_, "classifier.bias");
    std::vector<float> z(static_cast<size_t>(D)), logits(static_cast<size_t>(L));
    kernels::layernorm(x.data(), 1, D, lg.data(), lb.data(), ln->p.eps, z.data());
    std::vector<char> scratch(q16::linear_scratch_bytes(1, D, L, false) + 64);
    q16::linear(z.data(), 1, D, hw.data(), nullptr, L, hb.data(), {head->p.q_x[0], head->p.q_w, head->p.q_out},
                logits.data(), scratch.data());
    return logits;
  }

  HostArray engine_logits(const HostArray& px) const override {
    SessionOptions so;
    so.threads = 1;
    so.precision = Precision::Q16;
    so.attention = AttnVariant::Shiftmax;
    Inputs in;
    in.pixel_values = px;
    return Session::open(dir_, so)->run(in);
  }

 private:
  std::string dir_;
  ModelGraph mg_;
  ActKind act_ = ActKind::GeluErf;
};
}  // namespace

std::unique_ptr<VitHostSteps> VitHostSteps::open(const std::string& model_dir) {
  return std::make_unique<CpuVitHostSteps>(model_dir);
}

}  // namespace edgerun
