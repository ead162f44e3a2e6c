// Attention-variant GEMM decompositions, a model's GEMM list read from its Graph, and the SAMM
// ASIC model on the digits-ViT-shaped fixture (tests/data/sim/vit_digits_shape).
#include <gtest/gtest.h>

#include "core/error.h"
#include "graph/attention_gemms.h"
#include "models/model.h"
#include "sim/gemm_shapes.h"
#include "sim/samm_asic.h"

using namespace edgerun;
using namespace edgerun::sim;

namespace {
const std::string kData = EDGERUN_TEST_DATA;

void expect_shape(const GemmShape& g, int64_t m, int64_t n, int64_t k) {
  EXPECT_EQ(g.m, m) << g.name;
  EXPECT_EQ(g.n, n) << g.name;
  EXPECT_EQ(g.k, k) << g.name;
}
}  // namespace

TEST(SimAttentionGemms, VariantShapes) {
  // The digits ViT: 17 tokens, 4 heads of 8.
  AttentionWork s = attention_gemms("softmax", 17, 4, 8, "att");
  ASSERT_EQ(s.gemms.size(), 8u);
  EXPECT_EQ(s.gemms[0].name, "att.h0.qk");
  expect_shape(s.gemms[0], 17, 17, 8);  // Q K^T: (T x hd)(hd x T)
  expect_shape(s.gemms[1], 17, 8, 17);  // P V: (T x T)(T x hd)
  EXPECT_EQ(s.exps, 4 * 17 * 17);
  for (const char* v : {"taylor", "sima"}) {
    AttentionWork t = attention_gemms(v, 17, 4, 8);
    ASSERT_EQ(t.gemms.size(), 8u) << v;
    EXPECT_EQ(t.gemms[6].name, "attention.h3.ktv");
    expect_shape(t.gemms[6], 8, 8, 17);   // K^T V: (hd x T)(T x hd)
    expect_shape(t.gemms[7], 17, 8, 8);   // Q (K^T V): (T x hd)(hd x hd)
    EXPECT_EQ(t.exps, 0) << v;
    EXPECT_EQ(t.col_adds, 2 * 17 * 32) << v;  // two column sums over tokens
  }
  // O(n^2 d) against O(n d^2): at 197 tokens, 12 heads of 64, taylor does 197/64 less work.
  auto macs = [](const AttentionWork& w) {
    int64_t n = 0;
    for (const GemmShape& g : w.gemms) n += g.m * g.n * g.k;
    return n;
  };
  EXPECT_EQ(macs(softmax_attention_gemms(197, 12, 64)), 2 * 12 * 197 * 197 * 64);
  EXPECT_EQ(macs(taylor_attention_gemms(197, 12, 64)), 2 * 12 * 197 * 64 * 64);
  EXPECT_THROW(attention_gemms("shiftmax2", 17, 4, 8), InputError);
  EXPECT_THROW(attention_gemms("softmax", 0, 4, 8), InputError);
  EXPECT_THROW(attention_gemms("taylor", 17, -1, 8), InputError);
  EXPECT_THROW(attention_gemms("sima", 17, 4, 1 << 20), InputError);
}

TEST(SimGemmShapes, VitFromGraph) {
  ModelGraph mg = build_model(kData + "/golden/vit_cls");  // d 48, 3 heads, 2 layers, 16x16/4
  const int64_t T = model_tokens(mg.info, 0);
  EXPECT_EQ(T, 17);
  EXPECT_THROW(model_tokens(mg.info, 12), InputError);
  ModelWorkload w = graph_workload(mg.graph, T, AttnVariant::Softmax);
  // patch embed + 2 x (q k v o fc1 fc2 + 3 heads x 2) + classifier
  ASSERT_EQ(w.gemms.size(), 1u + 2 * (6 + 6) + 1);
  EXPECT_EQ(w.n_attention, 2);
  expect_shape(w.gemms[0].gemm, 16, 48, 3 * 4 * 4);  // 16 patches x (C P^2) x D
  EXPECT_EQ(w.gemms[0].layer, "embeddings");
  expect_shape(w.gemms[1].gemm, 17, 48, 48);          // query
  expect_shape(w.gemms[4].gemm, 17, 17, 16);          // head 0: Q K^T
  expect_shape(w.gemms[5].gemm, 17, 16, 17);          // head 0: P V
  EXPECT_EQ(w.gemms[1].layer.rfind("encoder.layer.0", 0), 0u) << w.gemms[1].layer;
  expect_shape(w.gemms[11].gemm, 17, 96, 48);         // intermediate (FFN 96)
  expect_shape(w.gemms.back().gemm, 1, 5, 48);        // classifier on [CLS] only
  ModelWorkload t = graph_workload(mg.graph, T, AttnVariant::Taylor);
  ASSERT_EQ(t.gemms.size(), w.gemms.size());
  expect_shape(t.gemms[4].gemm, 16, 16, 17);          // K^T V
  EXPECT_THROW(graph_workload(mg.graph, T, AttnVariant::Shiftmax), UnsupportedError);
}

TEST(SimGemmShapes, TextModelsNeedSeqAndCausalNeedsSoftmax) {
  ModelGraph bert = build_model(kData + "/golden/bert_cls");
  EXPECT_THROW(model_tokens(bert.info, 0), InputError);
  EXPECT_THROW(model_tokens(bert.info, bert.info.max_positions + 1), InputError);
  ModelWorkload w = graph_workload(bert.graph, model_tokens(bert.info, 8), AttnVariant::Sima);
  EXPECT_GT(w.gemms.size(), 0u);
  for (const LayerGemm& g : w.gemms) EXPECT_GT(g.gemm.m * g.gemm.n * g.gemm.k, 0);
  ModelGraph gpt = build_model(kData + "/golden/gpt2_lm");
  ModelWorkload gw = graph_workload(gpt.graph, 8, AttnVariant::Softmax);
  // The LM head may be cut into output-column chunks; together they cover the vocabulary once.
  int64_t head_n = 0;
  for (const LayerGemm& g : gw.gemms)
    if (g.gemm.name.rfind("lm_head", 0) == 0) {
      head_n += g.gemm.n;
      EXPECT_EQ(g.gemm.m, 8);
    }
  EXPECT_EQ(head_n, gpt.info.vocab_size);
  EXPECT_THROW(graph_workload(gpt.graph, 8, AttnVariant::Taylor), UnsupportedError);
  EXPECT_THROW(simulate_samm(gpt, 8, SammConfig{}, energy_params(Precision::Q16)),
               UnsupportedError);
}

TEST(SimSamm, DigitsVitScheduleByHand) {
  ModelGraph mg = build_model(kData + "/sim/vit_digits_shape");
  const int64_t T = model_tokens(mg.info, 0);
  ASSERT_EQ(T, 17);
  const EnergyParams e = energy_params(Precision::Q16);
  SammReport r = simulate_samm(mg, T, SammConfig{}, e);
  EXPECT_EQ(r.d_model, 32);
  EXPECT_EQ(r.n_head, 4);
  EXPECT_EQ(r.head_dim, 8);
  // One layer by hand (os; a GEMM occupies its array F * tau cycles):
  //   A 17x32: q, k, v (17 x 32 x 32): tau = 17 + 32 + 32 - 2 = 79 each   -> 0..237
  //   accumulator: key mean after k (158..175), v_sum after v (237..254)
  //   B 16x32: K^T V as (32 x 17)(17 x 32): 2 row folds x (16 + 32 + 17 - 2) -> 237..363
  //   C 17x1: Q_h k_sum_h^T, 4 heads x (17 + 1 + 8 - 2 = 24) after q and the mean -> 175..271
  //   A: Q (K^T V) block-diagonal (17 x 32 x 32): 79 -> 363..442
  //   elementwise: 17 rows -> 442..459
  // Two layers back to back: 918.
  EXPECT_EQ(r.attention.cycles, 918);
  const auto& st = r.attention.stages;
  ASSERT_EQ(st.size(), 2u * 12);
  EXPECT_EQ(st[5].unit, SammUnit::B);
  EXPECT_EQ(st[5].start, 237);
  EXPECT_EQ(st[5].end, 363);
  EXPECT_EQ(st[5].gemm.m, 32);
  EXPECT_EQ(st[5].gemm.k, 17);
  EXPECT_EQ(st[5].useful_macs, 4 * 8 * 8 * 17);  // the diagonal blocks
  EXPECT_EQ(st[9].end, 271);                     // last normaliser head
  EXPECT_EQ(st[11].end, 459);
  EXPECT_DOUBLE_EQ(r.attention.energy.dram, 0.0);  // weights live on chip
  // All GEMMs: + patch embed (16 x 32 x 4: 17+32+4-2 = 51), per layer o (79), fc1 (2 x 79),
  // fc2 (17+32+64-2 = 111), classifier (1 x 10 x 32: 17+32+32-2 = 79).
  EXPECT_EQ(r.all_gemms.cycles, 51 + 2 * (459 + 79 + 158 + 111) + 79);
  // Gating sweep: beta = 1 saves nothing; beta = 0 saves exactly the idle PEs' energy.
  ASSERT_FALSE(r.attention.sweep.empty());
  EXPECT_NEAR(r.attention.sweep.back().saving_total_pct, 0.0, 1e-12);
  const EnergyBreakdown& en = r.attention.energy;
  EXPECT_NEAR(r.attention.sweep.front().saving_total_pct,
              en.idle_ungated / en.total_ungated() * 100.0, 1e-9);
  for (size_t i = 1; i < r.attention.sweep.size(); ++i)
    EXPECT_LT(r.attention.sweep[i].saving_total_pct, r.attention.sweep[i - 1].saving_total_pct);
  // Idle PE-cycles over the three arrays: (544 + 512 + 17) x cycles - MACs run.
  const double idle = 1073.0 * 918 - static_cast<double>(r.attention.macs);
  EXPECT_NEAR(en.idle_ungated, idle * e.mac_pj, 1e-6 * en.idle_ungated);
}
