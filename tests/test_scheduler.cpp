// The multi-model scheduler (edgerun/scheduler.h): quotas in one budget, outputs bit for bit
// those of a Session of its own (batched: those of the same batch), the policies' orders (no
// starvation under round-robin, priority first, a case EDF meets and priority misses), bounded
// queues, early refusal of predicted misses, drain, and the config errors.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <span>
#include <thread>

#include "edgerun/preprocess.h"
#include "edgerun/scheduler.h"
#include "test_util.h"

using namespace edgerun;

namespace {
const std::string kData = EDGERUN_TEST_DATA;
const std::string kDet = kData + "/onnx/yolov3_tiny/model.onnx";
const std::string kSeg = kData + "/onnx/fcn_tiny";
const std::string kCls = kData + "/onnx/cnn_bn";
const std::string kVit = kData + "/golden/vit_cls";

ModelSpec spec(const std::string& name, const std::string& path) {
  ModelSpec m;
  m.name = name;
  m.path = path;
  m.threads = 2;
  return m;
}

// The first row of the fixture's input (the shape the scheduler plans and warms up for).
Inputs onnx_input(const std::string& npy) {
  HostArray a = read_npy(npy);
  a.shape[0] = 1;
  a.bytes.resize(static_cast<size_t>(a.numel() * dtype_size(a.dtype)));
  Inputs in;
  in.named.emplace_back("x", std::move(a));
  return in;
}

// The same input run by a Session of its own, with ample memory.
std::vector<std::pair<std::string, HostArray>> alone(const std::string& path, const Inputs& in) {
  SessionOptions o;
  o.threads = 2;
  return Session::open(path, o)->run_outputs(in);
}

void expect_same_bits(const std::vector<std::pair<std::string, HostArray>>& got,
                      const std::vector<std::pair<std::string, HostArray>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_EQ(got[i].second.shape, want[i].second.shape) << got[i].first;
    EXPECT_TRUE(got[i].second.bytes == want[i].second.bytes) << got[i].first << ": not the same bits";
  }
}

// A batch of n copies of a's first row, each scaled by (k + 1) so the rows differ.
HostArray rows_of(const HostArray& a, int n) {
  Shape s = a.shape;
  s[0] = n;
  HostArray b(a.dtype, s);
  const int64_t m = a.numel() / a.shape[0];
  for (int k = 0; k < n; ++k)
    for (int64_t i = 0; i < m; ++i) b.as<float>()[k * m + i] = a.as<float>()[i] * static_cast<float>(k + 1);
  return b;
}

SchedulerOptions opts(uint64_t budget, Policy p = Policy::RoundRobin) {
  SchedulerOptions o;
  o.budget_bytes = budget;
  o.policy = p;
  return o;
}
}  // namespace

TEST(Scheduler, ThreeModelsShareOneBudgetAndAnswerAsAlone) {
  const Inputs det = onnx_input(kData + "/onnx/yolov3_tiny/x.npy");
  const Inputs seg = onnx_input(kData + "/onnx/fcn_tiny/x.npy");
  const Inputs cls = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  // Less than the three models' weights and activations: some stream, every one under its quota.
  auto s = Scheduler::open({spec("det", kDet), spec("seg", kSeg), spec("cls", kCls)}, opts(6u << 20));
  uint64_t quotas = 0;
  for (const ModelStats& m : s->stats().models) {
    EXPECT_GE(m.quota_bytes, m.min_budget_bytes) << m.name;
    quotas += m.quota_bytes;
  }
  EXPECT_LE(quotas, 6u << 20);
  std::vector<std::future<RequestResult>> f;
  for (int k = 0; k < 3; ++k) {
    f.push_back(s->submit("det", det));
    f.push_back(s->submit("seg", seg));
    f.push_back(s->submit("cls", cls));
  }
  const auto want_det = alone(kDet, det), want_seg = alone(kSeg, seg), want_cls = alone(kCls, cls);
  for (size_t i = 0; i < f.size(); ++i) {
    RequestResult r = f[i].get();
    expect_same_bits(r.outputs, i % 3 == 0 ? want_det : i % 3 == 1 ? want_seg : want_cls);
    EXPECT_GT(r.predicted_service_ms, 0);
    EXPECT_GE(r.latency_ms, r.service_ms);
  }
  const SchedulerStats st = s->stats();
  EXPECT_LE(st.budget_high_water, 6u << 20);
  for (const ModelStats& m : st.models) EXPECT_EQ(m.ok, 3) << m.name;
}

TEST(Scheduler, BatchedRequestsEqualTheBatchRunAlone) {
  const HostArray x = read_npy(kData + "/onnx/fcn_tiny/x.npy");
  SchedulerOptions o = opts(64u << 20);
  o.start_held = true;  // the four requests queue before the lane starts: one batch
  ModelSpec m = spec("seg", kSeg);
  m.max_batch = 4;
  auto s = Scheduler::open({m}, o);
  const HostArray batch = rows_of(x, 4);
  std::vector<std::future<RequestResult>> f;
  auto row = [&](int k) {  // row k of the batch, alone
    Inputs in;
    in.named.emplace_back("x", rows_of(x, 1));
    for (auto& v : std::span(in.named[0].second.as<float>(), static_cast<size_t>(in.named[0].second.numel()))) v *= static_cast<float>(k + 1);
    return in;
  };
  for (int k = 0; k < 4; ++k) f.push_back(s->submit("seg", row(k)));
  s->release();
  Inputs all;
  all.named.emplace_back("x", batch);
  const auto want = alone(kSeg, all);
  for (int k = 0; k < 4; ++k) {
    RequestResult r = f[k].get();
    EXPECT_EQ(r.batch, 4);
    ASSERT_EQ(r.outputs.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      const HostArray& w = want[j].second;
      const size_t row = w.bytes.size() / 4;
      ASSERT_EQ(r.outputs[j].second.bytes.size(), row);
      EXPECT_EQ(std::memcmp(r.outputs[j].second.bytes.data(), w.bytes.data() + k * row, row), 0)
          << "request " << k << " output " << want[j].first << ": not row " << k << " of the batch run alone";
    }
    // And, within the golden tolerance, the request run alone.
    const auto single = alone(kSeg, row(k));
    for (size_t j = 0; j < single.size(); ++j)
      EXPECT_LT(test::max_rel_err(r.outputs[j].second.as<float>(), single[j].second.as<float>(),
                                  static_cast<size_t>(single[j].second.numel())),
                1e-5);
  }
}

TEST(Scheduler, RoundRobinServesEveryModelInTurn) {
  SchedulerOptions o = opts(64u << 20);
  o.start_held = true;
  auto s = Scheduler::open({spec("a", kCls), spec("b", kCls)}, o);
  const Inputs x = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  std::vector<std::future<RequestResult>> a, b;
  for (int k = 0; k < 6; ++k) a.push_back(s->submit("a", x));
  for (int k = 0; k < 2; ++k) b.push_back(s->submit("b", x));
  s->release();
  std::vector<int64_t> pa, pb;
  for (auto& f : a) pa.push_back(f.get().pass_index);
  for (auto& f : b) pb.push_back(f.get().pass_index);
  // a, b, a, b, a, a, a, a: b waits for one of a's requests, not for all six.
  EXPECT_EQ(pb, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(pa, (std::vector<int64_t>{0, 2, 4, 5, 6, 7}));
}

TEST(Scheduler, PriorityRunsTheHigherFirst) {
  SchedulerOptions o = opts(64u << 20, Policy::Priority);
  o.start_held = true;
  ModelSpec lo = spec("lo", kCls), hi = spec("hi", kCls);
  hi.priority = 5;
  auto s = Scheduler::open({lo, hi}, o);
  const Inputs x = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  auto l1 = s->submit("lo", x), l2 = s->submit("lo", x), h1 = s->submit("hi", x);
  s->release();
  EXPECT_EQ(h1.get().pass_index, 0);
  EXPECT_EQ(l1.get().pass_index, 1);
  EXPECT_EQ(l2.get().pass_index, 2);
}

// A short request with a tight deadline behind forty long ones of a higher priority: priority runs
// the long ones first and misses the deadline; EDF runs the short one first and meets it.
TEST(Scheduler, EdfMeetsADeadlineThatPriorityMisses) {
  const Inputs det = onnx_input(kData + "/onnx/yolov3_tiny/x.npy");
  const Inputs cls = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  // The two models' pass times, measured here (the fastest of ten each) rather than trusted from
  // one warm-up on a machine that may be busy: the fastest, so that a busy moment while measuring
  // cannot make the deadline loose enough for forty big passes to meet it.
  double big_ms = 0, small_ms = 0;
  {
    auto s = Scheduler::open({spec("big", kDet), spec("small", kCls)}, opts(64u << 20));
    std::vector<double> b, m;
    for (int k = 0; k < 10; ++k) {
      b.push_back(s->submit("big", det).get().service_ms);
      m.push_back(s->submit("small", cls).get().service_ms);
    }
    big_ms = percentile(b, 0);
    small_ms = percentile(m, 0);
  }
  std::map<Policy, bool> missed;
  for (Policy p : {Policy::Priority, Policy::Edf}) {
    SchedulerOptions o = opts(64u << 20, p);
    o.start_held = true;
    o.reject_predicted_misses = false;  // run it, and see whether it is late
    ModelSpec big = spec("big", kDet), small = spec("small", kCls);
    big.priority = 1;
    big.max_queue = 64;
    auto s = Scheduler::open({big, small}, o);
    std::vector<std::future<RequestResult>> f;
    for (int k = 0; k < 40; ++k) f.push_back(s->submit("big", det, 60000));
    // Met if it runs first (margin: ten big passes); missed by thirty if it runs last.
    auto urgent = s->submit("small", cls, small_ms + 10 * big_ms);
    s->release();
    const RequestResult u = urgent.get();
    missed[p] = u.deadline_missed;
    EXPECT_EQ(u.pass_index, p == Policy::Edf ? 0 : 40) << to_string(p);
    SCOPED_TRACE(std::string(to_string(p)) + ": small " + std::to_string(small_ms) + " ms, big " + std::to_string(big_ms) +
                 " ms, urgent latency " + std::to_string(u.latency_ms) + " ms");
    for (auto& x : f) x.get();
  }
  EXPECT_TRUE(missed[Policy::Priority]) << "big " << big_ms << " ms, small " << small_ms << " ms";
  EXPECT_FALSE(missed[Policy::Edf]) << "big " << big_ms << " ms, small " << small_ms << " ms";
}

TEST(Scheduler, AFullQueueAndAPredictedMissAreRefused) {
  SchedulerOptions o = opts(64u << 20);
  o.start_held = true;
  ModelSpec m = spec("cls", kCls);
  m.max_queue = 2;
  auto s = Scheduler::open({m}, o);
  const Inputs x = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  auto a = s->submit("cls", x), b = s->submit("cls", x);
  EXPECT_THROW(s->submit("cls", x), QueueFullError);
  EXPECT_THROW(s->submit("nope", x), InputError);
  s->release();
  a.get();
  b.get();
  // A deadline shorter than the model's predicted pass: refused before it queues.
  EXPECT_NE(test::error_of<UnavailableError>([&] { s->submit("cls", x, 1e-6); }).find("deadline"), std::string::npos);
  const SchedulerStats st = s->stats();
  EXPECT_EQ(st.models[0].rejected_full, 1);
  EXPECT_EQ(st.models[0].rejected_deadline, 1);
}

TEST(Scheduler, DrainAnswersEveryAdmittedRequest) {
  SchedulerOptions o = opts(64u << 20);
  o.start_held = true;
  auto s = Scheduler::open({spec("cls", kCls), spec("seg", kSeg)}, o);
  const Inputs x = onnx_input(kData + "/onnx/cnn_bn/x.npy");
  const Inputs y = onnx_input(kData + "/onnx/fcn_tiny/x.npy");
  std::vector<std::future<RequestResult>> f;
  for (int k = 0; k < 5; ++k) {
    f.push_back(s->submit("cls", x));
    f.push_back(s->submit("seg", y));
  }
  s->drain();  // releases the held lane, and returns once every admitted request is answered
  for (auto& r : f) {
    ASSERT_EQ(r.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_FALSE(r.get().outputs.empty());
  }
  EXPECT_THROW(s->submit("cls", x), UnavailableError);
}

TEST(Scheduler, BadRequestsFailAloneAndTheOthersAreServed) {
  auto s = Scheduler::open({spec("cls", kCls)}, opts(64u << 20));
  Inputs bad;
  bad.named.emplace_back("x", HostArray(DType::F32, {1, 3, 5, 5}));
  auto f = s->submit("cls", std::move(bad));
  EXPECT_THROW(f.get(), Error);
  auto g = s->submit("cls", onnx_input(kData + "/onnx/cnn_bn/x.npy"));
  EXPECT_FALSE(g.get().outputs.empty());
  EXPECT_EQ(s->stats().models[0].failed, 1);
}

TEST(Scheduler, ConfigErrorsNameTheModelAndTheSmallestBudget) {
  EXPECT_TRUE(test::contains(test::error_of<InputError>([] { Scheduler::open({spec("a", kCls), spec("a", kSeg)}, opts(64u << 20)); }),
                             "given twice"));
  EXPECT_TRUE(test::contains(test::error_of<InputError>([] { Scheduler::open({spec("a b", kCls)}, opts(64u << 20)); }),
                             "may hold only"));
  ModelSpec q = spec("det", kDet);
  q.quota_bytes = 4096;
  const std::string low = test::error_of<BudgetError>([&] { Scheduler::open({q}, opts(64u << 20)); });
  EXPECT_TRUE(test::contains(low, "model 'det'") && test::contains(low, "below its minimum budget")) << low;
  const std::string small = test::error_of<BudgetError>([] { Scheduler::open({spec("det", kDet), spec("seg", kSeg)}, opts(256u << 10)); });
  EXPECT_TRUE(test::contains(small, "below the models' minimum needs")) << small;
  const std::string missing = test::error_of<Error>([] { Scheduler::open({spec("x", kData + "/no/such/model.onnx")}, opts(64u << 20)); });
  EXPECT_TRUE(test::contains(missing, "model 'x'")) << missing;
}

TEST(Scheduler, TheReportHasPercentilesAnttAndStp) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({3, 1, 2, 4}, 50), 2);
  EXPECT_EQ(percentile({3, 1, 2, 4}, 100), 4);
  EXPECT_EQ(percentile({3, 1, 2, 4}, 75), 3);
  SchedulerStats st;
  ModelStats m;
  m.name = "m";
  m.ok = 2;
  m.single_ms = 10;
  m.latency_ms = {10, 20};
  m.service_ms = {10, 10};
  m.predicted_ms = {10, 10};
  m.predicted_service_ms = {10, 10};
  st.models = {m};
  st.budget_bytes = 100;
  const std::string j = scheduler_report_json(st, 1000);
  EXPECT_TRUE(test::contains(j, "\"antt\": 1.5")) << j;  // (10/10 + 20/10) / 2
  EXPECT_TRUE(test::contains(j, "\"stp\": 1.5")) << j;   // 10/10 + 10/20
  EXPECT_TRUE(test::contains(j, "\"throughput_per_s\": 2.0")) << j;
}
