// edgerun serve over real HTTP (cpp-httplib's client on loopback): the Open Inference Protocol's
// routes, JSON and binary inference equal to a Session of its own bit for bit, every row of bad
// input answered with a 4xx and a JSON error while the server keeps serving, 8 concurrent clients
// on 3 models inside the budget, the API key, and a drain that answers every admitted request.
#include <httplib.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "edgerun/preprocess.h"
#include "edgerun/serve.h"
#include "test_util.h"

using namespace edgerun;
using json = nlohmann::json;

namespace {
const std::string kData = EDGERUN_TEST_DATA;

ServeConfig config(bool held = false) {
  ServeConfig c;
  for (auto [name, path] : {std::pair{"det", "/onnx/yolov3_tiny/model.onnx"}, {"seg", "/onnx/fcn_tiny"}, {"cls", "/onnx/cnn_bn"}}) {
    ModelSpec m;
    m.name = name;
    m.path = kData + path;
    m.threads = 2;
    c.models.push_back(m);
  }
  c.scheduler.budget_bytes = 6u << 20;
  c.scheduler.start_held = held;
  c.listen = "127.0.0.1:0";
  c.limits.max_body_bytes = 1u << 20;
  return c;
}

HostArray x_of(const std::string& model) {
  const char* f = model == "det" ? "/onnx/yolov3_tiny/x.npy" : model == "seg" ? "/onnx/fcn_tiny/x.npy" : "/onnx/cnn_bn/x.npy";
  return read_npy(kData + f);
}
std::string path_of(const std::string& model) {
  return kData + (model == "det" ? "/onnx/yolov3_tiny/model.onnx" : model == "seg" ? "/onnx/fcn_tiny" : "/onnx/cnn_bn");
}

// Each output of the model run by a Session of its own.
std::map<std::string, HostArray> reference(const std::string& model) {
  SessionOptions o;
  o.threads = 2;
  Inputs in;
  in.named.emplace_back("x", x_of(model));
  std::map<std::string, HostArray> m;
  for (auto& [n, a] : Session::open(path_of(model), o)->run_outputs(in)) m[n] = std::move(a);
  return m;
}

json json_request(const HostArray& x) {
  std::vector<float> v(x.as<float>(), x.as<float>() + x.numel());
  return {{"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", x.shape}, {"data", v}}}}};
}

// A binary request: the JSON header, then x's bytes; every output asked as binary.
std::pair<std::string, size_t> binary_request(const HostArray& x) {
  json h = {{"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", x.shape}, {"parameters", {{"binary_data_size", x.bytes.size()}}}}}},
            {"parameters", {{"binary_data_output", true}}}};
  std::string head = h.dump();
  return {head + std::string(reinterpret_cast<const char*>(x.bytes.data()), x.bytes.size()), head.size()};
}

// Outputs of a JSON response, as float32 arrays.
std::map<std::string, std::vector<float>> json_outputs(const std::string& body) {
  std::map<std::string, std::vector<float>> m;
  const json doc = json::parse(body);
  for (const json& o : doc["outputs"]) m[o["name"].get<std::string>()] = o["data"].get<std::vector<float>>();
  return m;
}

// Outputs of a binary response (Inference-Header-Content-Length bytes of JSON, then the data).
std::map<std::string, std::string> binary_outputs(const httplib::Result& r) {
  const size_t hl = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  const json h = json::parse(r->body.substr(0, hl));
  std::map<std::string, std::string> m;
  size_t at = hl;
  for (const json& o : h["outputs"]) {
    const size_t n = o["parameters"]["binary_data_size"];
    m[o["name"]] = r->body.substr(at, n);
    at += n;
  }
  EXPECT_EQ(at, r->body.size());
  return m;
}

bool same_bits(const std::vector<float>& got, const HostArray& want) {
  return got.size() == static_cast<size_t>(want.numel()) && std::memcmp(got.data(), want.bytes.data(), want.bytes.size()) == 0;
}

std::string error_message(const httplib::Result& r) { return json::parse(r->body).value("error", ""); }
}  // namespace

TEST(ServeHttp, RoutesAndBothEncodingsGiveTheBitsOfASessionAlone) {
  auto s = Server::start(config(), "");
  httplib::Client cl("127.0.0.1", s->port());
  auto v2 = cl.Get("/v2");
  ASSERT_TRUE(v2);
  EXPECT_EQ(json::parse(v2->body)["extensions"][0], "binary_tensor_data");
  EXPECT_EQ(cl.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(cl.Get("/v2/health/ready")->status, 200);
  const json meta = json::parse(cl.Get("/v2/models/det")->body);
  EXPECT_EQ(meta["inputs"][0]["name"], "x");
  EXPECT_EQ(meta["inputs"][0]["shape"], json::parse("[-1,3,128,128]"));
  EXPECT_EQ(meta["outputs"].size(), 3u);
  EXPECT_EQ(cl.Get("/v2/models/det/versions/1")->status, 200);
  EXPECT_EQ(cl.Get("/v2/models/det/ready")->status, 200);
  auto nope = cl.Get("/v2/models/nope");
  EXPECT_EQ(nope->status, 404);
  EXPECT_TRUE(test::contains(error_message(nope), "unknown model 'nope'"));
  EXPECT_EQ(cl.Get("/v2/models/det/versions/2")->status, 404);
  for (const std::string model : {"det", "seg", "cls"}) {
    const auto want = reference(model);
    auto r = cl.Post("/v2/models/" + model + "/infer", json_request(x_of(model)).dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const auto got = json_outputs(r->body);
    ASSERT_EQ(got.size(), want.size()) << r->body.substr(0, 300);
    for (const auto& [name, a] : want) EXPECT_TRUE(same_bits(got.at(name), a)) << model << " " << name << " (JSON)";
    auto [body, hl] = binary_request(x_of(model));
    auto b = cl.Post("/v2/models/" + model + "/infer", {{"Inference-Header-Content-Length", std::to_string(hl)}}, body,
                     "application/octet-stream");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->status, 200) << b->body;
    const auto bin = binary_outputs(b);
    for (const auto& [name, a] : want)
      EXPECT_TRUE(bin.at(name) == std::string(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size()))
          << model << " " << name << " (binary)";
  }
  const std::string metrics = cl.Get("/metrics")->body;
  EXPECT_TRUE(test::contains(metrics, "edgerun_requests_total{model=\"det\",outcome=\"ok\"} 2")) << metrics;
  EXPECT_TRUE(test::contains(metrics, "edgerun_request_latency_seconds_count{model=\"seg\"} 2")) << metrics;
  EXPECT_TRUE(test::contains(metrics, "edgerun_budget_bytes 6291456")) << metrics;
}

TEST(ServeHttp, EveryBadRequestGetsA4xxAndTheServerKeepsServing) {
  auto s = Server::start(config(), "");
  httplib::Client cl("127.0.0.1", s->port());
  const HostArray x = x_of("cls");
  auto post = [&](const std::string& body, httplib::Headers h = {}) {
    return cl.Post("/v2/models/cls/infer", h, body, "application/json");
  };
  json wrong_dtype = json_request(x);
  wrong_dtype["inputs"][0]["datatype"] = "INT64";
  json wrong_shape = json_request(x);
  wrong_shape["inputs"][0]["shape"] = {1, 3, 8, 8};
  json wrong_count = json_request(x);
  wrong_count["inputs"][0]["data"].erase(wrong_count["inputs"][0]["data"].size() - 1);
  json unknown_input = json_request(x);
  unknown_input["inputs"][0]["name"] = "y";
  json unknown_output = json_request(x);
  unknown_output["outputs"] = {{{"name", "nope"}}};
  json not_numbers = json_request(x);
  not_numbers["inputs"][0]["data"][0] = "a";
  auto [bin, hl] = binary_request(x);
  const struct {
    const char* what;
    httplib::Result r;
    int status;
    const char* says;
  } rows[] = {
      {"bad JSON", post("{\"inputs\": [", {}), 400, "not valid JSON"},
      {"no inputs", post("{}"), 400, "needs 'inputs'"},
      {"wrong datatype", post(wrong_dtype.dump()), 400, "the model takes FP32"},
      {"wrong shape", post(wrong_shape.dump()), 400, "the model takes [-1,3,16,16]"},
      {"wrong element count", post(wrong_count.dump()), 400, "has 1535 elements"},
      {"unknown input", post(unknown_input.dump()), 400, "has no input 'y'"},
      {"unknown output", post(unknown_output.dump()), 400, "has no output 'nope'"},
      {"not numbers", post(not_numbers.dump()), 400, "non-number"},
      {"unknown model", cl.Post("/v2/models/nope/infer", json_request(x).dump(), "application/json"), 404, "unknown model"},
      {"binary size disagrees with the body", post(bin.substr(0, bin.size() - 4), {{"Inference-Header-Content-Length", std::to_string(hl)}}), 400,
       "runs past the body"},
      {"binary data after the tensors", post(bin + "xx", {{"Inference-Header-Content-Length", std::to_string(hl)}}), 400, "bytes after"},
      {"header length past the body", post(bin, {{"Inference-Header-Content-Length", std::to_string(bin.size() + 1)}}), 400, "exceeds the body"},
      {"header length not a number", post(bin, {{"Inference-Header-Content-Length", "12x"}}), 400, "not a byte count"},
      {"oversized body", post(std::string((1u << 20) + 1, ' ')), 413, "larger than the server's maximum"},
  };
  for (const auto& row : rows) {
    ASSERT_TRUE(row.r) << row.what << ": no response";
    EXPECT_EQ(row.r->status, row.status) << row.what << ": " << row.r->body;
    EXPECT_TRUE(test::contains(error_message(row.r), row.says)) << row.what << ": " << row.r->body;
  }
  // A client that sends half a body and disconnects.
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(s->port()));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string part = "POST /v2/models/cls/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"inputs\":";
    ASSERT_GT(send(fd, part.data(), part.size(), 0), 0);
    close(fd);
  }
  auto ok = post(json_request(x).dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST(ServeHttp, EightClientsOnThreeModelsStayInTheBudgetAndGetTheirOwnAnswers) {
  auto s = Server::start(config(), "");
  const std::map<std::string, std::map<std::string, HostArray>> want = {
      {"det", reference("det")}, {"seg", reference("seg")}, {"cls", reference("cls")}};
  std::atomic<int> wrong{0}, answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      httplib::Client cl("127.0.0.1", s->port());
      const char* models[] = {"det", "seg", "cls"};
      for (int k = 0; k < 6; ++k) {
        const std::string m = models[(c + k) % 3];
        auto [body, hl] = binary_request(x_of(m));
        auto r = cl.Post("/v2/models/" + m + "/infer", {{"Inference-Header-Content-Length", std::to_string(hl)}}, body,
                         "application/octet-stream");
        if (!r || r->status != 200) {
          ++wrong;
          continue;
        }
        for (const auto& [name, a] : binary_outputs(r))
          if (a != std::string(reinterpret_cast<const char*>(want.at(m).at(name).bytes.data()), want.at(m).at(name).bytes.size())) ++wrong;
        ++answered;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), 48);
  EXPECT_LE(s->scheduler().stats().budget_high_water, 6u << 20);
}

TEST(ServeHttp, AnApiKeyGuardsEveryRouteButHealth) {
  EXPECT_TRUE(test::contains(test::error_of<InputError>([] {
                               ServeConfig c = config();
                               c.listen = "0.0.0.0:0";
                               Server::start(c, "");
                             }),
                             "without an API key"));
  auto s = Server::start(config(), "sekrit");
  httplib::Client cl("127.0.0.1", s->port());
  EXPECT_EQ(cl.Get("/v2/health/ready")->status, 200);
  EXPECT_EQ(cl.Get("/v2")->status, 401);
  EXPECT_EQ(cl.Get("/metrics", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(cl.Get("/v2", {{"Authorization", "Bearer sekrit"}})->status, 200);
}

TEST(ServeHttp, StopAnswersEveryAdmittedRequestThenRefuses) {
  auto s = Server::start(config(/*held=*/true), "");
  const HostArray x = x_of("cls");
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      httplib::Client cl("127.0.0.1", s->port());
      auto r = cl.Post("/v2/models/cls/infer", json_request(x).dump(), "application/json");
      if (r && r->status == 200) ++ok;
    });
  // Every request admitted (queued behind the held lane) before the drain starts.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s->scheduler().stats().models[2].queued < 4 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(s->scheduler().stats().models[2].queued, 4);
  s->stop();
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);
  httplib::Client late("127.0.0.1", s->port());
  EXPECT_FALSE(late.Get("/v2/health/live")) << "the listener is closed after the drain";
}
