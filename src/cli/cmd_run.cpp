// `edgerun run MODEL_DIR`: one forward pass (or GPT-2 generation) on an image, text, token ids
// or a .npy tensor; prints labels / generated text, or a JSON report with --json.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "edgerun/edgerun.h"
#include "formats/image.h"
#include "formats/npy.h"
#include "formats/tokenizer.h"
#include "io/file.h"

namespace edgerun::cli {

namespace {
struct RunArgs {
  std::string model, input, text, ids, mask, token_types, output_npy, budget;
  std::string executor = "auto", trace, cost_model, labels;
  std::string attention, precision = "fp32";
  int agents = 0, io_depth = 0;
  std::string io_chunk;
  std::string io_engine = "auto";
  int64_t repeat = 1;
  bool no_prefetch = false, buffered = false, no_huge_pages = false, no_commit = false;
  bool json = false, quiet = false;
  int threads = 0;
  int64_t top = 5;
  int64_t new_tokens = 0;
  int64_t sample_top_k = 0;
  float temperature = 1.0f;
  uint64_t seed = 0;
};

bool has_ext(const std::string& p, std::initializer_list<const char*> exts) {
  std::string e = std::filesystem::path(p).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  for (const char* x : exts)
    if (e == x) return true;
  return false;
}

HostArray ids_array(const std::vector<int64_t>& v) {
  HostArray a(DType::I64, {1, static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.as<int64_t>());
  return a;
}

std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(", ", i);
    if (j == std::string::npos) j = s.size();
    if (j > i) {
      std::string tok = s.substr(i, j - i);
      try {
        size_t used = 0;
        out.push_back(std::stoll(tok, &used));
        if (used != tok.size()) throw std::invalid_argument("x");
      } catch (const std::exception&) {
        ER_THROW(InputError, "--ids: \"", tok, "\" is not an integer token id");
      }
    }
    i = j + 1;
  }
  if (out.empty()) ER_THROW(InputError, "--ids: no token ids given");
  return out;
}

// Replaces `path` only once the whole array is written, so a failure leaves no partial output.
void write_npy_atomic(const std::string& path, const HostArray& a) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  write_npy(tmp, a);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    ER_THROW(IoError, path, ": cannot write: ", ec.message());
  }
}

int run(const RunArgs& a) {
  SessionOptions so;
  so.threads = a.threads;
  set_budget(so, a.budget);
  so.executor = a.executor;
  so.agents = a.agents;
  so.prefetch = !a.no_prefetch;
  so.huge_pages = !a.no_huge_pages;
  so.commit_budget = !a.no_commit;
  so.direct_io = !a.buffered;
  so.io_depth = a.io_depth;
  so.io_engine = a.io_engine;
  if (!a.io_chunk.empty()) so.io_chunk_bytes = parse_bytes(a.io_chunk, 0);
  so.trace_path = a.trace;
  so.cost_model_path = a.cost_model;
  so.expected_calls = a.repeat;
  so.attention = a.attention;
  so.precision = a.precision;
  auto session = Session::open(a.model, so);
  const ModelSummary& m = session->summary();
  const bool text_model = m.family != "vit";
  std::unique_ptr<Tokenizer> tok;
  auto tokenizer = [&]() -> Tokenizer& {
    if (!tok) tok = load_tokenizer(a.model, m.family == "bert" ? "wordpiece" : "bpe");
    return *tok;
  };

  Inputs in;
  int given = !a.input.empty() + !a.text.empty() + !a.ids.empty();
  if (given != 1) ER_THROW(InputError, "give exactly one of --input, --text, --ids");
  if (!a.input.empty()) {
    if (has_ext(a.input, {".npy"})) {
      HostArray x = read_npy(a.input);
      if (text_model) in.input_ids = std::move(x);
      else in.pixel_values = std::move(x);
    } else if (!text_model) {
      ImagePreprocess pp = load_image_preprocess(a.model, m.num_channels, m.image_size);
      in.pixel_values = load_image(a.input, pp, m.num_channels);
    } else {
      std::string text = read_text_file(a.input, 64ull << 20);
      Encoding e = tokenizer().encode(text);
      in.input_ids = ids_array(e.ids);
    }
  } else if (!a.text.empty()) {
    if (!text_model) ER_THROW(InputError, "--text needs a text model; ", m.arch, " takes images");
    Encoding e = tokenizer().encode(a.text);
    in.input_ids = ids_array(e.ids);
  } else {
    if (!text_model) ER_THROW(InputError, "--ids needs a text model; ", m.arch, " takes images");
    in.input_ids = ids_array(parse_ids(a.ids));
  }
  if (!a.mask.empty()) in.attention_mask = read_npy(a.mask);
  if (!a.token_types.empty()) in.token_type_ids = read_npy(a.token_types);
  if (in.input_ids && in.input_ids->numel() == 0) ER_THROW(InputError, "the input holds no tokens");

  nlohmann::json j;
  j["model"] = a.model;
  j["family"] = m.family;
  j["arch"] = m.arch;
  j["attention"] = m.attention;
  j["precision"] = m.precision;
  HostArray primary;
  if (a.new_tokens > 0) {
    GenerateParams gp;
    gp.new_tokens = a.new_tokens;
    gp.top_k = a.sample_top_k;
    gp.temperature = a.temperature;
    gp.seed = a.seed;
    const bool show = !a.json;
    const bool progress = a.json && isatty(STDERR_FILENO);
    gp.on_token = [&](int64_t i, int64_t t) {
      if (show && tok && in.input_ids->shape[0] == 1) {
        std::fputs(tok->decode({t}).c_str(), stdout);
        std::fflush(stdout);
      } else if (show) {
        std::printf("%lld ", static_cast<long long>(t));
        std::fflush(stdout);
      }
      if (progress) std::fprintf(stderr, "\rgenerating: %lld/%lld tokens", static_cast<long long>(i + 1),
                                 static_cast<long long>(a.new_tokens));
    };
    if (show) {
      if (!a.text.empty() || (!a.input.empty() && !has_ext(a.input, {".npy"})))
        std::fputs(tokenizer().decode(std::vector<int64_t>(in.input_ids->as<int64_t>(),
                                                           in.input_ids->as<int64_t>() + in.input_ids->numel())).c_str(), stdout);
      std::fflush(stdout);
    }
    session->prepare_generate(*in.input_ids, a.new_tokens);
    for (int64_t rep = 0; rep < a.repeat; ++rep) primary = session->generate(*in.input_ids, gp);
    if (progress) std::fputc('\n', stderr);
    if (show) std::fputc('\n', stdout);
    std::vector<int64_t> all(primary.as<int64_t>(), primary.as<int64_t>() + primary.numel());
    j["generated_ids"] = all;
    if (tok) j["generated_text"] = tok->decode(all);
  } else {
    session->prepare(in);
    for (int64_t rep = 0; rep < a.repeat; ++rep) primary = session->run(in);
    j["output"] = m.primary_output;
    j["output_shape"] = primary.shape;
    if (m.num_labels > 0) {  // classifier: top-k labels per row
      const int64_t B = primary.shape[0], C = primary.shape[1];
      nlohmann::json rows = nlohmann::json::array();
      for (int64_t b = 0; b < B; ++b) {
        const float* r = primary.as<float>() + b * C;
        std::vector<int64_t> idx(static_cast<size_t>(C));
        for (int64_t c = 0; c < C; ++c) idx[c] = c;
        const int64_t k = std::min(a.top, C);
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                          [&](int64_t x, int64_t y) { return r[x] > r[y] || (r[x] == r[y] && x < y); });
        nlohmann::json top = nlohmann::json::array();
        for (int64_t i = 0; i < k; ++i) {
          auto it = m.id2label.find(idx[i]);
          std::string label = it == m.id2label.end() ? "LABEL_" + std::to_string(idx[i]) : it->second;
          top.push_back({{"id", idx[i]}, {"label", label}, {"logit", r[idx[i]]}});
          if (!a.json && !a.quiet)
            std::printf("%s%lld\t%-20s\t%.4f\n", B > 1 ? ("[" + std::to_string(b) + "] ").c_str() : "",
                        static_cast<long long>(idx[i]), label.c_str(), r[idx[i]]);
        }
        rows.push_back(top);
      }
      j["top"] = rows;
      if (!a.labels.empty()) {  // accuracy of the top-1 label against int64 labels (N,)
        HostArray y = read_npy(a.labels);
        if (y.dtype != DType::I64 || y.numel() != B)
          ER_THROW(InputError, a.labels, ": labels must be int64 with ", B, " entries, one per input");
        int64_t correct = 0;
        for (int64_t b = 0; b < B; ++b) correct += rows[b][0]["id"].get<int64_t>() == y.as<int64_t>()[b];
        j["accuracy"] = static_cast<double>(correct) / static_cast<double>(B);
        j["correct"] = correct;
        if (!a.json) std::printf("accuracy %.2f%% (%lld of %lld)\n", 100.0 * correct / B, static_cast<long long>(correct), static_cast<long long>(B));
      }
    } else if (!a.json) {
      std::printf("%s: shape (", m.primary_output.c_str());
      for (size_t i = 0; i < primary.shape.size(); ++i)
        std::printf("%s%lld", i ? ", " : "", static_cast<long long>(primary.shape[i]));
      std::printf(")\n");
    }
  }
  if (!a.output_npy.empty()) write_npy_atomic(a.output_npy, primary);
  nlohmann::json rep = nlohmann::json::parse(session->report_json());
  for (auto it = rep.begin(); it != rep.end(); ++it) j[it.key()] = it.value();
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fflush(stdout);
    const double mib = 1048576.0;
    const uint64_t budget = j["budget_bytes"].get<uint64_t>();
    std::fprintf(stderr,
                 "%s%s: latency %.1f ms (waiting for weights %.1f ms, compute %.1f ms), %.1f MiB read\n"
                 "  peak RSS %.1f MiB = budget high-water %.1f MiB + outside the budget %.1f MiB; budget %s;"
                 " %d threads, BLAS %s",
                 j["executor"].get<std::string>().c_str(),
                 j["executor"] == "pipeload" ? (" (" + std::to_string(j["agents"].get<int>()) + (j["agents"].get<int>() == 1 ? " loading agent)" : " loading agents)")).c_str() : "",
                 j["latency_ms"].get<double>(), j["load_ms"].get<double>(), j["compute_ms"].get<double>(),
                 j["bytes_read"].get<double>() / mib, j["peak_rss_bytes"].get<double>() / mib,
                 j["budget_high_water_bytes"].get<double>() / mib,
                 (j["peak_rss_bytes"].get<double>() - j["budget_high_water_bytes"].get<double>()) / mib,
                 budget ? (std::to_string(static_cast<int64_t>(budget / mib)) + " MiB").c_str() : "unlimited",
                 j["threads"].get<int>(), j["blas_core"].get<std::string>().c_str());
    if (j["bound_ms"].get<double>() > 0 && j["streamed_bytes"].get<uint64_t>() > 0)
      std::fprintf(stderr, "; %.2fx the physical bound (%.1f ms, B %.2f GB/s: %s)",
                   j["latency_ms"].get<double>() / j["passes"].get<double>() / j["bound_ms"].get<double>(),
                   j["bound_ms"].get<double>(), j["read_bytes_per_s"].get<double>() / 1e9,
                   j["read_bandwidth_source"].get<std::string>().c_str());
    if (j["committed_bytes"].get<uint64_t>() > 0)
      std::fprintf(stderr, "\n  prepared in %.1f ms before the run: %.1f MiB of the budget committed",
                   j["prepare_ms"].get<double>(), j["committed_bytes"].get<double>() / mib);
    std::fputc('\n', stderr);
  }
  return 0;
}
}  // namespace

Runner add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand("run", "Run a model folder on an input");
  c->add_option("model", a->model, "Hugging Face model folder (config.json + *.safetensors)")->required();
  c->add_option("-i,--input", a->input,
                "Input file: .npy (pixel values float32 (N,C,H,W) or token ids int64 (N,T)), an "
                "image (ViT) or a text file (BERT, GPT-2)");
  c->add_option("--text", a->text, "Input text (BERT, GPT-2)");
  c->add_option("--ids", a->ids, "Input token ids, comma separated (BERT, GPT-2)");
  c->add_option("--attention-mask", a->mask, "BERT attention mask, int64 .npy (N,T)");
  c->add_option("--token-type-ids", a->token_types, "BERT token type ids, int64 .npy (N,T)");
  c->add_option("-o,--output-npy", a->output_npy, "Write the primary output (logits or last hidden state) as .npy");
  c->add_flag("--json", a->json, "Print a JSON report on stdout");
  c->add_flag("-q,--quiet", a->quiet, "Do not print per-input labels");
  c->add_option("--labels", a->labels, "Classifiers: int64 .npy of true labels (N,); prints accuracy");
  c->add_option("-t,--threads", a->threads, "Compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  c->add_option("--top", a->top, "Labels to print per input for classifiers")->check(CLI::Range(1, 1000000));
  c->add_option("-n,--new-tokens", a->new_tokens, "GPT-2: generate this many tokens")->check(CLI::Range(0, 1 << 20));
  c->add_option("--sample-top-k", a->sample_top_k, "GPT-2: sample from the top k (0: greedy)")->check(CLI::Range(0, 1 << 24));
  c->add_option("--temperature", a->temperature, "GPT-2: sampling temperature")->check(CLI::PositiveNumber);
  c->add_option("--seed", a->seed, "GPT-2: sampling seed");
  c->add_option("-b,--budget", a->budget,
                "Memory budget: bytes, K/M/G suffix (300M, 1.5G) or a percentage of the model's "
                "weight bytes (10%)");
  c->add_option("-e,--executor", a->executor, "auto | resident | swap | pipeload")
      ->check(CLI::IsMember({"auto", "resident", "swap", "pipeload"}));
  c->add_option("--agents", a->agents, "pipeload: loading agents (default: planner's choice)")
      ->check(CLI::Range(1, 64));
  c->add_flag("--no-prefetch", a->no_prefetch, "swap: no one-block prefetch");
  c->add_flag("--no-huge-pages", a->no_huge_pages,
              "Under a budget, read weights into 4 KiB pages only (default: 2 MiB transparent huge pages where the kernel has them)");
  c->add_flag("--no-commit", a->no_commit,
              "Under a budget, do not commit the plan's pages before the run (default: they are faulted in before "
              "the clock starts, reported as prepare_ms, so that no pass pays for them)");
  c->add_flag("--buffered-io", a->buffered, "Read weights through the page cache instead of O_DIRECT");
  c->add_option("--io-depth", a->io_depth, "Direct reads in flight per weight file (default 32)")->check(CLI::Range(1, 256));
  c->add_option("--io-chunk", a->io_chunk, "Size of each direct read (default 4M)");
  c->add_option("--io-engine", a->io_engine,
                "How direct reads are kept in flight: auto (io_uring where the kernel allows it, else threads) | uring | threads")
      ->check(CLI::IsMember({"auto", "uring", "threads"}));
  c->add_option("--repeat", a->repeat, "Run the input this many times (residency across runs)")
      ->check(CLI::Range(1, 1000000));
  c->add_option("--trace", a->trace, "Write a Chrome/Perfetto trace of the run (JSON)");
  c->add_option("--cost-model", a->cost_model, "Cost model JSON from `edgerun profile` for the planner");
  c->add_option("--attention", a->attention,
                "Attention variant: softmax | taylor | sima | shiftmax (default: the config's "
                "\"edgerun_attention\", else softmax; causal models: softmax only)");
  c->add_option("--precision", a->precision,
                "fp32 | bf16 (weights rounded to bf16) | q16 (16-bit fixed point, ViT/BERT, needs the "
                "model's edgerun_q16.json; see docs/q16.md)");
  return [a] { return run(*a); };
}

}  // namespace edgerun::cli
