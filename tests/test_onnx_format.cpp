// The ONNX frontend on bad input: malformed and truncated protobufs, payloads past the end of
// the file, tensors whose bytes do not match their dtype and shape, external data outside the
// model's folder or short, reserved keys, IR and opset versions beyond the claims, cycles and
// dangling inputs, unsupported nodes (all named at once). Models are written here with libonnx's
// protobuf classes. Each case: the one error type and a message naming what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <onnx/onnx_pb.h>

#include "edgerun/edgerun.h"
#include "formats/onnx.h"
#include "formats/onnx_wire.h"
#include "models/model.h"
#include "runtime/engine.h"
#include "test_util.h"

using namespace edgerun;
using edgerun::test::contains;
using edgerun::test::error_of;
using edgerun::test::TempDir;

namespace {

// A model y = Relu(x W) with W (4, 3) as an initializer.
onnx::ModelProto relu_matmul(int64_t opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("tiny");
  auto* x = g->add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = x->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  shape->add_dim()->set_dim_value(4);
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->add_dims(3);
  std::vector<float> vals(12);
  for (int i = 0; i < 12; ++i) vals[i] = 0.25f * static_cast<float>(i - 5);
  w->set_raw_data(std::string(reinterpret_cast<const char*>(vals.data()), 48));
  auto* mm = g->add_node();
  mm->set_op_type("MatMul");
  mm->set_name("mm");
  mm->add_input("x");
  mm->add_input("W");
  mm->add_output("h");
  auto* r = g->add_node();
  r->set_op_type("Relu");
  r->set_name("relu");
  r->add_input("h");
  r->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

std::string save(const TempDir& d, const onnx::ModelProto& m, const std::string& name = "model.onnx") {
  return d.write(name, m.SerializeAsString());
}

std::string build_error(const std::string& path) {
  try {
    build_model(path);
  } catch (const InternalError& e) {
    return std::string("internal error: ") + e.what();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(OnnxFormat, TheTinyModelRuns) {
  TempDir d;
  auto s = Session::open(save(d, relu_matmul()), SessionOptions{});
  Inputs in;
  HostArray x(DType::F32, {2, 4});
  for (int i = 0; i < 8; ++i) x.as<float>()[i] = static_cast<float>(i);
  in.named.emplace_back("x", x);
  const HostArray y = s->run(in);
  ASSERT_EQ(y.shape, (Shape{2, 3}));
  for (int b = 0; b < 2; ++b)
    for (int n = 0; n < 3; ++n) {
      float acc = 0;
      for (int k = 0; k < 4; ++k) acc += static_cast<float>(b * 4 + k) * 0.25f * static_cast<float>(k * 3 + n - 5);
      EXPECT_FLOAT_EQ(y.as<float>()[b * 3 + n], std::max(0.0f, acc));
    }
}

TEST(OnnxFormat, EveryTruncationIsAFormatError) {
  TempDir d;
  const std::string bytes = relu_matmul().SerializeAsString();
  for (size_t n = 1; n < bytes.size(); ++n) {
    const std::string p = d.write("t.onnx", bytes.substr(0, n));
    const std::string e = build_error(p);
    EXPECT_FALSE(contains(e, "internal error") || e == "no error") << n << ": " << e;
  }
}

TEST(OnnxFormat, CorruptedBytesNeverCrash) {
  TempDir d;
  const std::string bytes = relu_matmul().SerializeAsString();
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    const std::string p = d.write("c.onnx", b);
    const std::string e = build_error(p);
    EXPECT_FALSE(contains(e, "internal error")) << e;
  }
}

TEST(OnnxFormat, PayloadsStayOnDiskAsRanges) {
  TempDir d;
  const std::string p = save(d, relu_matmul());
  const StrippedOnnx s = strip_onnx_payloads(p);
  ASSERT_EQ(s.payloads.size(), 1u);
  EXPECT_EQ(s.payloads[0].length, 48u);
  EXPECT_EQ(s.payloads[0].field, PayloadField::RawData);
  const std::string bytes = test::read_bytes(p);
  float first;
  std::memcpy(&first, bytes.data() + s.payloads[0].offset, 4);
  EXPECT_EQ(first, -1.25f);
  // The payload's bytes are not in the message libonnx parses.
  EXPECT_EQ(s.proto.find(bytes.substr(s.payloads[0].offset, 48)), std::string::npos);
}

TEST(OnnxFormat, TensorBytesMustMatchDtypeAndShape) {
  TempDir d;
  auto m = relu_matmul();
  m.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(44, '\0'));
  const std::string e = build_error(save(d, m));
  EXPECT_TRUE(contains(e, "44 bytes of data for FLOAT (4, 3), which needs 48")) << e;
}

TEST(OnnxFormat, ReservedPayloadKeyIsRefused) {
  TempDir d;
  auto m = relu_matmul();
  auto* e = m.mutable_graph()->mutable_initializer(0)->add_external_data();
  e->set_key(kPayloadKey);
  e->set_value("0");
  EXPECT_TRUE(contains(build_error(save(d, m)), "is reserved"));
}

class OnnxExternal : public ::testing::Test {
 protected:
  // W moved to external data at `location`, `length` bytes from `offset` (-1: leave out).
  std::string with_external(const std::string& location, int64_t offset = -1, int64_t length = -1) {
    auto m = relu_matmul();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* e = w->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (offset >= 0) add("offset", std::to_string(offset));
    if (length >= 0) add("length", std::to_string(length));
    return save(dir, m);
  }
  TempDir dir;
};

TEST_F(OnnxExternal, ResolvesInsideTheFolder) {
  dir.write("w.bin", std::string(100, '\0'));
  auto mg = build_model(with_external("w.bin", 52, 48));
  ASSERT_EQ(mg.graph.slots.size(), 1u);
  EXPECT_EQ(mg.graph.slots[0].begin, 52u);
  EXPECT_EQ(mg.graph.slots[0].end, 100u);
  EXPECT_EQ(mg.weights.paths.size(), 2u);
}

TEST_F(OnnxExternal, MissingShortOrOutsideFilesAreRefused) {
  EXPECT_TRUE(contains(build_error(with_external("absent.bin")), "does not exist"));
  dir.write("short.bin", std::string(40, '\0'));
  EXPECT_TRUE(contains(build_error(with_external("short.bin")), "40 bytes of data"));
  EXPECT_TRUE(contains(build_error(with_external("short.bin", 0, 48)), "runs past the end"));
  EXPECT_TRUE(contains(build_error(with_external("short.bin", 41)), "past the end"));
  EXPECT_TRUE(contains(build_error(with_external("../w.bin")), "'..' component"));
  EXPECT_TRUE(contains(build_error(with_external("/etc/passwd")), "absolute path"));
  TempDir other;
  other.write("w.bin", std::string(48, '\0'));
  std::filesystem::create_symlink(other.file("w.bin"), dir.file("link.bin"));
  EXPECT_TRUE(contains(build_error(with_external("link.bin")), "symbolic link"));
}

TEST(OnnxFormat, VersionsBeyondTheClaimsAreRefused) {
  TempDir d;
  auto m = relu_matmul(18);
  EXPECT_TRUE(contains(build_error(save(d, m)), "opset 18 is newer"));
  m = relu_matmul(9);
  EXPECT_TRUE(contains(build_error(save(d, m)), "opset 9 is older"));
  m = relu_matmul();
  m.set_ir_version(11);
  EXPECT_TRUE(contains(build_error(save(d, m)), "IR version 11"));
}

TEST(OnnxFormat, CyclesAndDanglingInputsAreRefused) {
  TempDir d;
  auto m = relu_matmul();
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");  // mm reads relu's output: a cycle
  EXPECT_TRUE(contains(build_error(save(d, m)), "uses 'y', which no earlier node"));
  m = relu_matmul();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  EXPECT_TRUE(contains(build_error(save(d, m)), "uses 'nowhere'"));
}

TEST(OnnxFormat, UnsupportedNodesAreNamedAtOnce) {
  TempDir d;
  auto m = relu_matmul();
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("NonMaxSuppression");
  n->set_name("nms");
  auto* q = m.mutable_graph()->add_node();
  q->set_op_type("QuantizeLinear");
  q->set_name("quant");
  auto* c = m.mutable_graph()->add_node();
  c->set_op_type("Custom");
  c->set_domain("com.example");
  c->set_name("custom");
  const std::string e = build_error(save(d, m));
  EXPECT_TRUE(contains(e, "3 nodes edgerun does not run")) << e;
  EXPECT_TRUE(contains(e, "'nms' (NonMaxSuppression): op type NonMaxSuppression is not supported")) << e;
  EXPECT_TRUE(contains(e, "quantized models")) << e;
  EXPECT_TRUE(contains(e, "domain \"com.example\"")) << e;
}

TEST(OnnxFormat, FilesOverTwoGigabytesAskForExternalData) {
  TempDir d;
  const std::string p = d.file("big.onnx");
  {
    std::ofstream f(p);
  }
  ASSERT_EQ(truncate(p.c_str(), (int64_t{1} << 31) + 10), 0);  // sparse: no disk space taken
  EXPECT_TRUE(contains(build_error(p), "save the model with its weights as external data"));
}

}  // namespace

namespace {

// y = Gemm(x, W^T, b) with W (N, K) larger than kOnnxChunkBytes.
onnx::ModelProto big_gemm(int64_t N, int64_t K) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  auto* x = g->add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(K);
  auto add_init = [&](const char* name, std::vector<int64_t> dims, uint32_t seed) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) t->add_dims(d), n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    std::mt19937 rng(seed);
    for (float& f : v) f = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  };
  add_init("W", {N, K}, 1);
  add_init("b", {N}, 2);
  auto* n = g->add_node();
  n->set_op_type("Gemm");
  n->set_name("fc");
  n->add_input("x");
  n->add_input("W");
  n->add_input("b");
  n->add_output("y");
  auto* a = n->add_attribute();
  a->set_name("transB");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  g->add_output()->set_name("y");
  return m;
}

}  // namespace

TEST(OnnxFormat, LargeGemmWeightsAreCutIntoLayersOfOutputRows) {
  TempDir d;
  const int64_t N = 1100, K = 4096;  // 17.2 MB of weights: two chunks
  const auto m = big_gemm(N, K);
  const std::string p = save(d, m);
  auto mg = build_model(p);
  ASSERT_EQ(mg.graph.layers.size(), 2u);
  EXPECT_EQ(mg.graph.model_weight_bytes(), static_cast<uint64_t>(N * K + N) * 4);
  Inputs in;
  HostArray x(DType::F32, {2, K});
  for (int64_t i = 0; i < 2 * K; ++i) x.as<float>()[i] = static_cast<float>(i % 7) * 0.125f;
  in.named.emplace_back("x", x);
  SessionOptions o;
  o.direct_io = false;
  const HostArray y = Session::open(p, o)->run(in);
  ASSERT_EQ(y.shape, (Shape{2, N}));
  const auto& init = m.graph().initializer();
  const float* W = reinterpret_cast<const float*>(init[0].raw_data().data());
  const float* b = reinterpret_cast<const float*>(init[1].raw_data().data());
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c : {int64_t{0}, int64_t{599}, int64_t{600}, N - 1}) {
      double acc = b[c];
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x.as<float>()[r * K + k]) * W[c * K + k];
      EXPECT_NEAR(y.as<float>()[r * N + c], acc, 1e-3) << r << "," << c;
    }
  // Streamed one chunk at a time (small pages: no 2 MiB rounding): the resident bits.
  o.executor = Executor::Swap;
  o.huge_pages = false;
  SessionOptions plan_o;
  plan_o.huge_pages = false;
  o.budget_bytes = Session::open(p, plan_o)->plan(in).min_budget_bytes;
  auto s = Session::open(p, o);
  EXPECT_EQ(s->run(in).bytes, y.bytes);
  EXPECT_LT(s->report().budget_bytes, static_cast<uint64_t>(N * K * 4));
}

TEST(OnnxFormat, MisalignedEmbeddedWeightsBindInPlace) {
  // raw_data inside an .onnx file lies at any offset: the loader moves each tensor to an aligned
  // spot in its read buffer rather than converting it into a second buffer.
  ModelGraph mg = build_model(std::string(EDGERUN_TEST_DATA) + "/onnx/cnn_bn/model.onnx");
  int misaligned = 0;
  for (const WeightSlot& s : mg.graph.slots) misaligned += s.begin % 4 != 0;
  ASSERT_GT(misaligned, 0);
  MemoryBudget budget(MemoryBudget::kUnlimited);
  EngineOptions eo;
  eo.threads = 1;
  eo.plan.kind = Executor::Swap;
  Engine e(mg, budget, eo);
  RunRequest r;
  const HostArray x = read_npy(std::string(EDGERUN_TEST_DATA) + "/onnx/cnn_bn/x.npy");
  r.named.emplace_back("x", &x);
  const HostArray y = e.forward(r);
  const HostArray ref = read_npy(std::string(EDGERUN_TEST_DATA) + "/onnx/cnn_bn/logits.npy");
  ASSERT_EQ(y.shape, ref.shape);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.as<float>()[i], ref.as<float>()[i], 1e-4);
  // Nothing is converted but the tensors that share a read with a weight packed by its backend
  // (oneDNN's convs: the read buffer goes once packed, so its other tensors are copied out).
  uint64_t beside_packed = 0, packed = 0;
  for (const Layer& l : mg.graph.layers) {
    uint64_t p = 0;
    for (SlotId s : l.slots) p += mg.graph.slots[s].packer != nullptr;
    if (p) beside_packed += l.slots.size() - p;
    packed += p;
  }
  EXPECT_EQ(e.loader().weight_copies(), beside_packed);
  EXPECT_EQ(e.loader().weight_packs(), packed);
  // Resident, every slot stays bound after the pass: each at an aligned address.
  eo.plan.kind = Executor::Resident;
  Engine res(mg, budget, eo);
  const HostArray y2 = res.forward(r);
  EXPECT_EQ(std::memcmp(y.bytes.data(), y2.bytes.data(), y.bytes.size()), 0);
  for (const WeightSlot& s : mg.graph.slots) {
    ASSERT_NE(s.data, nullptr) << s.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(s.data) % alignof(float), 0u) << s.name << " at file offset " << s.begin;
  }
}
