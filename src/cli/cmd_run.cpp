// `edgerun run MODEL_DIR`: one forward pass (or GPT-2 generation) on an image, text, token ids
// or a .npy tensor; prints labels / generated text, or a JSON report with --json.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "edgerun/edgerun.h"
#include "edgerun/types.h"
#include "edgerun/tasks.h"

namespace edgerun::cli {

namespace {
struct RunArgs {
  std::string model, output_npy, budget;
  InputSpec spec;  // --input, --text, --ids, --attention-mask, --token-type-ids
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

// The run's summary line(s) on stderr, from the typed report.
void print_report(const Report& r) {
  const double mib = 1048576.0;
  std::string agents;
  if (r.executor == Executor::Pipeload)
    agents = " (" + std::to_string(r.agents) + (r.agents == 1 ? " loading agent)" : " loading agents)");
  std::fprintf(stderr,
               "%s%s: latency %.1f ms (waiting for weights %.1f ms, compute %.1f ms), %.1f MiB read\n"
               "  peak RSS %.1f MiB = budget high-water %.1f MiB + outside the budget %.1f MiB; budget %s;"
               " %d threads, BLAS %s",
               to_string(r.executor), agents.c_str(), r.latency_ms, r.load_ms, r.compute_ms,
               static_cast<double>(r.bytes_read) / mib, static_cast<double>(r.peak_rss_bytes) / mib,
               static_cast<double>(r.budget_high_water_bytes) / mib,
               (static_cast<double>(r.peak_rss_bytes) - static_cast<double>(r.budget_high_water_bytes)) / mib,
               r.budget_bytes ? (std::to_string(static_cast<int64_t>(r.budget_bytes / mib)) + " MiB").c_str() : "unlimited",
               r.threads, r.blas_core.c_str());
  if (r.bound_ms > 0 && r.streamed_bytes > 0)
    std::fprintf(stderr, "; %.2fx the physical bound (%.1f ms, B %.2f GB/s: %s)",
                 r.latency_ms / static_cast<double>(r.passes) / r.bound_ms, r.bound_ms, r.read_bytes_per_s / 1e9,
                 r.read_bandwidth_source.c_str());
  if (r.committed_bytes > 0)
    std::fprintf(stderr, "\n  prepared in %.1f ms before the run: %.1f MiB of the budget committed", r.prepare_ms,
                 static_cast<double>(r.committed_bytes) / mib);
  std::fputc('\n', stderr);
}

int run(const RunArgs& a) {
  SessionOptions so;
  so.threads = a.threads;
  set_budget(so, a.budget);
  so.executor = parse_executor(a.executor);
  so.agents = a.agents;
  so.prefetch = !a.no_prefetch;
  so.huge_pages = !a.no_huge_pages;
  so.commit_budget = !a.no_commit;
  so.direct_io = !a.buffered;
  so.io_depth = a.io_depth;
  so.io_engine = parse_io_engine(a.io_engine);
  if (!a.io_chunk.empty()) so.io_chunk_bytes = parse_bytes(a.io_chunk, 0);
  so.trace_path = a.trace;
  so.cost_model_path = a.cost_model;
  so.expected_calls = a.repeat;
  if (!a.attention.empty()) so.attention = parse_attn_variant(a.attention);
  so.precision = parse_precision(a.precision);
  auto session = Session::open(a.model, so);
  const ModelSummary& m = session->summary();
  const EncodedInput enc = encode_input(a.model, m, a.spec);
  const Inputs& in = enc.inputs;

  RunOutcome out;
  out.model = a.model;
  if (a.new_tokens > 0) {
    GenerateParams gp;
    gp.new_tokens = a.new_tokens;
    gp.top_k = a.sample_top_k;
    gp.temperature = a.temperature;
    gp.seed = a.seed;
    const bool show = !a.json;
    const bool progress = a.json && isatty(STDERR_FILENO);
    gp.on_token = [&](int64_t i, int64_t t) {
      if (show && enc.from_text() && in.input_ids->shape[0] == 1) {
        std::fputs(enc.decode({t}).c_str(), stdout);
        std::fflush(stdout);
      } else if (show) {
        std::printf("%lld ", static_cast<long long>(t));
        std::fflush(stdout);
      }
      if (progress) std::fprintf(stderr, "\rgenerating: %lld/%lld tokens", static_cast<long long>(i + 1),
                                 static_cast<long long>(a.new_tokens));
    };
    if (show) {
      if (enc.from_text()) std::fputs(enc.decode(enc.input_ids()).c_str(), stdout);
      std::fflush(stdout);
    }
    session->prepare_generate(*in.input_ids, a.new_tokens);
    for (int64_t rep = 0; rep < a.repeat; ++rep) out.primary = session->generate(*in.input_ids, gp);
    if (progress) std::fputc('\n', stderr);
    if (show) std::fputc('\n', stdout);
    out.generated = true;
    if (enc.from_text())
      out.generated_text = enc.decode(std::vector<int64_t>(out.primary.as<int64_t>(),
                                                           out.primary.as<int64_t>() + out.primary.numel()));
  } else {
    session->prepare(in);
    for (int64_t rep = 0; rep < a.repeat; ++rep) out.primary = session->run(in);
    if (m.num_labels > 0) {  // classifier: top-k labels per row
      out.top = top_labels(out.primary, m, a.top);
      const size_t B = out.top.size();
      if (!a.json && !a.quiet)
        for (size_t b = 0; b < B; ++b)
          for (const TopLabel& l : out.top[b])
            std::printf("%s%lld\t%-20s\t%.4f\n", B > 1 ? ("[" + std::to_string(b) + "] ").c_str() : "",
                        static_cast<long long>(l.id), l.label.c_str(), l.logit);
      if (!a.labels.empty()) {  // accuracy of the top-1 label against int64 labels (N,)
        out.accuracy = top1_accuracy(out.top, a.labels);
        const Accuracy& acc = *out.accuracy;
        if (!a.json)
          std::printf("accuracy %.2f%% (%lld of %lld)\n", 100.0 * acc.correct / acc.total,
                      static_cast<long long>(acc.correct), static_cast<long long>(acc.total));
      }
    } else if (!a.json) {
      std::printf("%s: shape (", m.primary_output.c_str());
      for (size_t i = 0; i < out.primary.shape.size(); ++i)
        std::printf("%s%lld", i ? ", " : "", static_cast<long long>(out.primary.shape[i]));
      std::printf(")\n");
    }
  }
  if (!a.output_npy.empty()) write_npy_atomic(a.output_npy, out.primary);
  const Report r = session->report();
  if (a.json) {
    std::printf("%s\n", run_json(m, r, out).c_str());
  } else {
    std::fflush(stdout);
    print_report(r);
  }
  return 0;
}
}  // namespace

Runner add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app.add_subcommand("run", "Run a model folder on an input");
  c->add_option("model", a->model, "Hugging Face model folder (config.json + *.safetensors)")->required();
  c->add_option("-i,--input", a->spec.file,
                "Input file: .npy (pixel values float32 (N,C,H,W) or token ids int64 (N,T)), an "
                "image (ViT) or a text file (BERT, GPT-2)");
  c->add_option("--text", a->spec.text, "Input text (BERT, GPT-2)");
  c->add_option("--ids", a->spec.ids, "Input token ids, comma separated (BERT, GPT-2)");
  c->add_option("--attention-mask", a->spec.attention_mask_npy, "BERT attention mask, int64 .npy (N,T)");
  c->add_option("--token-type-ids", a->spec.token_type_ids_npy, "BERT token type ids, int64 .npy (N,T)");
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
      ->check(CLI::IsMember(executor_names()));
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
      ->check(CLI::IsMember(io_engine_names()));
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
