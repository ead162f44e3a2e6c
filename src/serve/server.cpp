// `edgerun serve`: the Open Inference Protocol over cpp-httplib, in front of the scheduler.
// httplib's defaults are bounded here: a connection queue of fixed size whose enqueue blocks the
// accepting thread when full (its own ThreadPool queues without bound), a maximum body, read,
// write and keep-alive timeouts. docs/SERVE.md.
#include <httplib.h>

#include <arpa/inet.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "edgerun/serve.h"
#include "serve/metrics.h"
#include "serve/protocol.h"

namespace edgerun {

namespace {
using serve::HttpError;

// Connection threads with a bounded queue: enqueue (on the accepting thread) waits while it is full.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int queue) : max_(static_cast<size_t>(queue)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lk(mu_);
    room_.wait(lk, [&] { return jobs_.size() < max_ || stop_; });
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lk(mu_);
        ready_.wait(lk, [&] { return !jobs_.empty() || stop_; });
        if (jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }
  size_t max_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

template <typename... Parts>
[[noreturn]] void input_error(Parts&&... parts) {
  std::ostringstream o;
  (o << ... << parts);
  throw InputError(o.str());
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

// "host:port" (IPv6 as "[::1]:8000").
std::pair<std::string, int> split_listen(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size())
    input_error("--listen ", s, " is not HOST:PORT (example: 127.0.0.1:8000)");
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string p = s.substr(colon + 1);
  if (p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5 || std::stoi(p) > 65535)
    input_error("--listen ", s, ": the port must be a number in [0, 65535]");
  if (host.empty()) input_error("--listen ", s, ": give the host (127.0.0.1 for this machine only)");
  return {host, std::stoi(p)};
}

bool same_secret(const std::string& a, const std::string& b) {
  unsigned char d = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return d == 0;
}

void json_error(httplib::Response& res, int status, const std::string& msg) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", msg}}.dump(), "application/json");
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServeConfig& c, const std::string& api_key) : c_(c), key_(api_key) {
    auto [host, port] = split_listen(c.listen);
    if (!is_loopback(host) && key_.empty())
      input_error("refusing to listen on ", c.listen, " (not loopback) without an API key: give --api-key-file or EDGERUN_API_KEY");
    sched_ = Scheduler::open(c.models, c.scheduler);
    for (const ModelSpec& m : sched_->specs()) meta_.emplace(m.name, serve::model_meta(m.name, sched_->summary(m.name)));
    const ServerLimits& l = c.limits;
    http_.new_task_queue = [l] { return new BoundedPool(l.threads, l.queue); };
    http_.set_payload_max_length(l.max_body_bytes);
    http_.set_read_timeout(l.read_timeout_s, 0);
    http_.set_write_timeout(l.write_timeout_s, 0);
    http_.set_keep_alive_timeout(l.keep_alive_s);
    http_.set_keep_alive_max_count(static_cast<size_t>(l.keep_alive_max));
    routes();
    port_ = port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
    if (port_ < 0) throw IoError("cannot listen on " + c.listen + " (address in use, or not this machine's)");
    listener_ = std::thread([this] { http_.listen_after_bind(); });
  }

  ~ServerImpl() override {
    stop();
    wait();
  }

  int port() const override { return port_; }
  Scheduler& scheduler() override { return *sched_; }

  void stop() override {
    std::call_once(stop_once_, [this] {
      draining_ = true;
      sched_->drain();  // every admitted request answered
      // httplib stops writing a response once it is stopped: let every answer be written first
      // (bounded by the write timeout, for a client that stopped reading).
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait_for(lk, std::chrono::seconds(c_.limits.write_timeout_s + 1), [&] { return in_flight_ == 0; });
      }
      http_.stop();  // connection threads end, then join
      if (listener_.joinable()) listener_.join();
      if (!c_.scheduler.trace_path.empty()) sched_->write_trace(c_.scheduler.trace_path);
      std::lock_guard<std::mutex> lk(mu_);
      stopped_ = true;
      cv_.notify_all();
    });
  }

  void wait() override {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return stopped_; });
  }

 private:
  const serve::ModelMeta& model(const std::string& name, const std::string& version) const {
    auto it = meta_.find(name);
    if (it == meta_.end()) throw HttpError(404, "unknown model '" + name + "'");
    if (!version.empty() && version != "1") throw HttpError(404, "model '" + name + "' has version 1 only, not '" + version + "'");
    return it->second;
  }

  // Runs a handler, turning its refusals into {"error": ...} responses.
  template <typename F>
  static void guarded(httplib::Response& res, F f) {
    try {
      f();
    } catch (const HttpError& e) {
      json_error(res, e.status, e.what());
    } catch (const QueueFullError& e) {
      json_error(res, 429, e.what());
    } catch (const UnavailableError& e) {
      json_error(res, 503, e.what());
    } catch (const InputError& e) {
      json_error(res, 400, e.what());
    } catch (const BudgetError& e) {
      json_error(res, 400, std::string("the request does not fit its model's quota: ") + e.what());
    } catch (const std::exception& e) {
      json_error(res, 500, e.what());
    }
  }

  void routes() {
    http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (key_.empty() || req.path.rfind("/v2/health/", 0) == 0) return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0 && same_secret(auth.substr(7), key_)) return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer");
      json_error(res, 401, "missing or wrong API key (Authorization: Bearer KEY)");
      return httplib::Server::HandlerResponse::Handled;
    });
    http_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string why = res.status == 413   ? "the request body is larger than the server's maximum"
                              : res.status == 404 ? "no such route (see the Open Inference Protocol's /v2 routes)"
                              : res.status == 400 ? "malformed HTTP request"
                                                  : "HTTP status " + std::to_string(res.status);
      json_error(res, res.status, why);
    });
    http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      json_error(res, 500, "internal error");
    });
    http_.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(nlohmann::json{{"name", "edgerun"}, {"version", "0.1.0"}, {"extensions", {"binary_tensor_data"}}}.dump(),
                      "application/json");
    });
    http_.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    http_.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) { res.status = draining_ ? 503 : 200; });
    http_.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { res.set_content(serve::model_meta_json(model(req.matches[1].str(), req.matches[2].str())), "application/json"); });
    });
    http_.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/ready)", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        model(req.matches[1].str(), req.matches[2].str());
        res.status = draining_ ? 503 : 200;
        res.set_content(nlohmann::json{{"name", req.matches[1].str()}, {"ready", !draining_.load()}}.dump(), "application/json");
      });
    });
    http_.Post(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/infer)", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { infer(req, res); });
    });
    http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(serve::prometheus_text(sched_->stats(), draining_, allowance_bytes(c_)), "text/plain; version=0.0.4");
    });
  }

  // An inference request from its start until its response is written (or abandoned): the
  // provider holds it, and httplib drops the provider when the response is done.
  struct Flight {
    explicit Flight(ServerImpl* s) : s(s) {
      std::lock_guard<std::mutex> lk(s->mu_);
      ++s->in_flight_;
    }
    ~Flight() {
      std::lock_guard<std::mutex> lk(s->mu_);
      if (--s->in_flight_ == 0) s->cv_.notify_all();
    }
    ServerImpl* s;
  };

  void infer(const httplib::Request& req, httplib::Response& res) {
    auto flight = std::make_shared<Flight>(this);
    if (draining_) throw UnavailableError("the server is shutting down");
    const std::string name = req.matches[1].str();
    const serve::ModelMeta& meta = model(name, req.matches[2].str());
    std::optional<uint64_t> hl;
    if (req.has_header("Inference-Header-Content-Length")) {
      const std::string v = req.get_header_value("Inference-Header-Content-Length");
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        throw HttpError(400, "Inference-Header-Content-Length '" + v + "' is not a byte count");
      hl = std::stoull(v);
    }
    serve::InferRequest r = serve::parse_infer(req.body, hl, meta);
    std::future<RequestResult> f = sched_->submit(name, serve::to_inputs(r, sched_->summary(name)));
    RequestResult out = f.get();
    auto body = std::make_shared<serve::ResponseBody>(name, r.id, std::move(out.outputs), r);
    if (body->header_length()) res.set_header("Inference-Header-Content-Length", std::to_string(body->header_length()));
    const char* type = body->header_length() ? "application/octet-stream" : "application/json";
    if (auto n = body->length()) {
      res.set_content_provider(static_cast<size_t>(*n), type, [body, flight](size_t, size_t, httplib::DataSink& sink) {
        std::string chunk;
        if (body->next(chunk)) return sink.write(chunk.data(), chunk.size());
        return true;
      });
    } else {
      res.set_chunked_content_provider(type, [body, flight](size_t, httplib::DataSink& sink) {
        std::string chunk;
        if (body->next(chunk)) return sink.write(chunk.data(), chunk.size());
        sink.done();
        return true;
      });
    }
  }

  ServeConfig c_;
  std::string key_;
  std::unique_ptr<Scheduler> sched_;
  std::map<std::string, serve::ModelMeta> meta_;
  httplib::Server http_;
  int port_ = -1;
  std::thread listener_;
  std::atomic<bool> draining_{false};
  std::once_flag stop_once_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  int in_flight_ = 0;  // inference requests whose response is not written yet
};
}  // namespace

std::unique_ptr<Server> Server::start(const ServeConfig& c, const std::string& api_key) {
  return std::make_unique<ServerImpl>(c, api_key);
}

}  // namespace edgerun
