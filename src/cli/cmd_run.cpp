// `edgerun run MODEL_DIR`: one forward pass (or GPT-2 generation) on an image, text, token ids
// or a .npy tensor; prints labels / generated text, or a JSON report with --json.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "edgerun/preprocess.h"
#include "edgerun/edgerun.h"
#include "edgerun/format.h"
#include "edgerun/types.h"
#include "edgerun/tasks.h"

namespace edgerun::cli {

namespace {
struct RunArgs {
  std::string model;
  std::vector<std::string> output_npy;  // FILE (the primary output) or NAME=FILE
  std::string output_dir;
  SessionArgs session;  // --budget, --executor, --agents, --threads, --cost-model
  InputSpec spec;  // --input, --text, --ids, --attention-mask, --token-type-ids
  std::string trace, labels;
  std::string attention, precision;  // precision empty: what the folder holds
  int io_depth = 0;
  std::string io_chunk;
  std::string io_engine = "auto";
  int64_t repeat = 1;
  bool no_prefetch = false, buffered = false, no_huge_pages = false, no_commit = false;
  bool json = false, quiet = false;
  std::optional<int64_t> top;
  int64_t new_tokens = 0;
  int64_t sample_top_k = 0;
  std::optional<double> temperature;
  std::optional<uint64_t> seed;
  // Options given with an empty value (--ids "") are refused, not taken as absent.
  std::vector<std::string> given_empty;
};

constexpr int64_t kDefaultTop = 5;
// Direct reads go to O_DIRECT: sizes that are whole 4 KiB blocks, no larger than one read can be.
constexpr uint64_t kMinIoChunk = 4096, kMaxIoChunk = uint64_t{256} << 20;

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
               r.budget_bytes ? format_bytes(static_cast<double>(r.budget_bytes)).c_str() : "unlimited",
               r.threads, r.blas_core.c_str());
  if (r.bound_ms > 0 && r.streamed_bytes > 0) {
    // The bound is per pass (a generation makes one per token): compare the run's time per pass.
    const double passes = static_cast<double>(std::max<int64_t>(1, r.passes));
    const double per_pass = r.latency_ms / passes, ratio = per_pass / r.bound_ms;
    std::fprintf(stderr, "\n  %s%.1f ms per pass = %.2fx the physical bound per pass (%.1f ms at B %.2f GB/s: %s)",
                 r.passes > 1 ? (std::to_string(r.passes) + " passes, ").c_str() : "", per_pass, ratio, r.bound_ms,
                 r.read_bytes_per_s / 1e9, r.read_bandwidth_source.c_str());
    // Below the bound, the disk delivered more than the B it was measured at: show how much.
    if (ratio < 1 && r.latency_ms > 0)
      std::fprintf(stderr, "; this run read %.2f GB/s, faster than the recorded B (re-run `edgerun iobench`)",
                   static_cast<double>(r.bytes_read) / (r.latency_ms / 1e3) / 1e9);
  }
  if (r.committed_bytes > 0)
    std::fprintf(stderr, "\n  prepared in %.1f ms before the run: %.1f MiB of the budget committed", r.prepare_ms,
                 static_cast<double>(r.committed_bytes) / mib);
  std::fputc('\n', stderr);
}

// Options that do not apply to this model or this kind of run are refused, not ignored.
void check_applicable(const RunArgs& a, const ModelSummary& m) {
  const bool generating = a.new_tokens > 0;
  if (generating) check_generates(m);
  if (!generating && (a.sample_top_k > 0 || a.temperature || a.seed))
    fail<InputError>(a.sample_top_k > 0 ? "--sample-top-k" : a.temperature ? "--temperature" : "--seed",
                     " applies to generation (--new-tokens N)");
  if (generating && a.seed && a.sample_top_k == 0 && !a.temperature)
    fail<InputError>("--seed applies to sampling (--sample-top-k K or --temperature T); without them generation is greedy");
  const bool classifier = m.num_labels > 0 && !generating;
  if (!a.labels.empty() && !classifier)
    fail<InputError>("--labels: ", m.arch, " is not a classifier (its output is ", m.primary_output,
                     generating ? ", and this run generates" : "", ")");
  if (a.top && !classifier)
    fail<InputError>("--top: ", m.arch, " is not a classifier; its output is ", m.primary_output);
}

// ONNX output names as file names: characters outside [A-Za-z0-9._-] become '_'.
std::string output_file_name(const std::string& name) {
  std::string f;
  for (char ch : name) f += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_') ? ch : '_';
  while (!f.empty() && f.front() == '.') f.erase(f.begin());
  return (f.empty() ? "output" : f) + ".npy";
}

// Where each output goes: --output-npy FILE (the primary output), NAME=FILE, --output-dir DIR.
std::vector<std::pair<std::string, std::string>> output_files(const RunArgs& a, const ModelSummary& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& arg : a.output_npy) {
    const size_t eq = arg.find('=');
    std::string name = m.primary_output, path = arg;
    if (m.family == "onnx" && eq != std::string::npos && eq > 0) {
      name = arg.substr(0, eq);
      path = arg.substr(eq + 1);
      if (std::find(m.outputs.begin(), m.outputs.end(), name) == m.outputs.end()) {
        std::string names;
        for (const auto& o : m.outputs) names += (names.empty() ? "" : ", ") + o;
        fail<InputError>("--output-npy ", arg, ": the model has no output named '", name, "' (", names, ")");
      }
    } else if (a.output_npy.size() > 1) {
      fail<InputError>("--output-npy is given ", a.output_npy.size(), " times; name each as NAME=FILE (ONNX models)");
    }
    check_output_file("--output-npy", path);
    out.emplace_back(name, path);
  }
  if (!a.output_dir.empty())
    for (const auto& o : m.outputs) out.emplace_back(o, (std::filesystem::path(a.output_dir) / output_file_name(o)).string());
  return out;
}

int run(RunArgs a) {
  for (const std::string& opt : a.given_empty) fail<InputError>(opt, " is empty");
  check_output_folder("--output-dir", a.output_dir);
  for (const std::string& o : a.output_npy)  // before any work; NAME= is resolved once the model is open
    check_output_file("--output-npy", o.find('=') != std::string::npos ? o.substr(o.find('=') + 1) : o);
  if (a.spec.files.size() == 1) a.spec.file = a.spec.files[0];
  check_output_file("--trace", a.trace);
  if (a.temperature && !(*a.temperature > 0 && *a.temperature <= 1e6))
    fail<InputError>("--temperature ", *a.temperature, ": must be > 0 (and at most 1e6); for greedy "
                     "decoding leave out --temperature and --sample-top-k");
  SessionOptions so = session_options(a.session);
  so.prefetch = !a.no_prefetch;
  so.huge_pages = !a.no_huge_pages;
  so.commit_budget = !a.no_commit;
  so.direct_io = !a.buffered;
  so.io_depth = a.io_depth;
  so.io_engine = parse_io_engine(a.io_engine);
  if (!a.io_chunk.empty()) {
    so.io_chunk_bytes = parse_bytes(a.io_chunk, 0);
    if (so.io_chunk_bytes < kMinIoChunk || so.io_chunk_bytes > kMaxIoChunk || so.io_chunk_bytes % 4096)
      fail<InputError>("--io-chunk ", a.io_chunk, ": direct reads must be whole 4 KiB blocks, from 4K to 256M");
  }
  so.trace_path = a.trace;
  so.expected_calls = a.repeat;
  if (!a.attention.empty()) so.attention = parse_attn_variant(a.attention);
  if (!a.precision.empty()) so.precision = parse_precision(a.precision);
  auto session = Session::open(a.model, so);
  const ModelSummary& m = session->summary();
  warn_about_model(m.architecture_note, m.unused_tensors);
  check_applicable(a, m);
  const auto out_files = output_files(a, m);
  if (!a.output_dir.empty() && m.family != "onnx") fail<InputError>("--output-dir applies to ONNX models (every output as NAME.npy)");
  const EncodedInput enc = encode_input(a.model, m, a.spec);
  const Inputs& in = enc.inputs;
  // Generated ids the tokenizer could not decode would fail halfway through the printed text.
  if (a.new_tokens > 0 && enc.from_text() && enc.vocab_size() < m.vocab_size)
    fail<FormatError>(a.model, ": the tokenizer has ", enc.vocab_size(), " tokens but the model can generate ",
                      m.vocab_size, " (config.json's vocab_size): the generated text could not be decoded");

  RunOutcome out;
  out.model = a.model;
  if (a.new_tokens > 0) {
    GenerateParams gp;
    gp.new_tokens = a.new_tokens;
    // --temperature alone samples from the whole vocabulary.
    gp.top_k = a.sample_top_k > 0 ? a.sample_top_k : (a.temperature ? m.vocab_size : 0);
    gp.temperature = static_cast<float>(a.temperature.value_or(1.0));
    gp.seed = a.seed.value_or(0);
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
    std::vector<std::pair<std::string, HostArray>> all;
    const bool every_output = m.outputs.size() > 1 && !out_files.empty();
    for (int64_t rep = 0; rep < a.repeat; ++rep) {
      if (every_output) {
        all = session->run_outputs(in);
        out.primary = all.front().second;
      } else {
        out.primary = session->run(in);
      }
    }
    if (all.empty()) all.emplace_back(m.primary_output, out.primary);
    if (!out_files.empty()) {
      if (!a.output_dir.empty()) std::filesystem::create_directories(a.output_dir);
      for (const auto& [name, path] : out_files)
        for (const auto& [n, arr] : all)
          if (n == name) write_npy_atomic(path, arr);
    }
    if (m.num_labels > 0) {  // classifier: top-k labels per row
      out.top = top_labels(out.primary, m, a.top.value_or(kDefaultTop));
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
      for (const auto& [name, arr] : all) {
        std::printf("%s: %s (", name.c_str(), std::string(dtype_name(arr.dtype)).c_str());
        for (size_t i = 0; i < arr.shape.size(); ++i)
          std::printf("%s%lld", i ? ", " : "", static_cast<long long>(arr.shape[i]));
        std::printf(")\n");
      }
    }
  }
  if (out.generated)
    for (const auto& [name, path] : out_files) write_npy_atomic(path, out.primary);
  const Report r = session->report();
  warn_unused_agents(a.session, r.executor);
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
  c->add_option("model", a->model,
                "Hugging Face model folder (config.json + *.safetensors), or an .onnx file (or a folder holding model.onnx)")
      ->required();
  c->add_option("-i,--input", a->spec.files,
                "Input file: .npy (pixel values float32 (N,C,H,W) or token ids int64 (N,T)), an "
                "image (ViT) or a text file (BERT, GPT-2); - reads standard input. ONNX models: NAME=FILE "
                "per graph input (FILE alone for a graph of one input), .npy or an image");
  c->add_option("--image-size", a->spec.image_size,
                "ONNX image inputs: resize to this square size (default: the input's declared height and width, else 224)")
      ->check(CLI::Range(1, 16384));
  c->add_option("--mean", a->spec.mean, "ONNX image inputs: per-channel mean after scaling to [0,1] (default 0.485 0.456 0.406)")
      ->expected(1, 16);
  c->add_option("--std", a->spec.std, "ONNX image inputs: per-channel std (default 0.229 0.224 0.225)")->expected(1, 16);
  c->add_option("--text", a->spec.text, "Input text (BERT, GPT-2)");
  c->add_option("--ids", a->spec.ids, "Input token ids, comma separated (BERT, GPT-2)");
  c->add_option("--attention-mask", a->spec.attention_mask_npy, "BERT attention mask, int64 .npy (N,T)");
  c->add_option("--token-type-ids", a->spec.token_type_ids_npy, "BERT token type ids, int64 .npy (N,T)");
  c->add_option("-o,--output-npy", a->output_npy,
                "Write the primary output as .npy: float32 logits or last hidden state; with --new-tokens, "
                "the prompt and generated token ids (int64 (N, T+new)). ONNX models: NAME=FILE for any output");
  c->add_option("--output-dir", a->output_dir, "ONNX models: write every output as DIR/NAME.npy");
  c->add_flag("--json", a->json, "Print a JSON report on stdout");
  c->add_flag("-q,--quiet", a->quiet, "Do not print per-input labels");
  c->add_option("--labels", a->labels, "Classifiers: int64 .npy of true labels (N,); prints accuracy");
  add_session_options(c, a->session);
  c->add_option("--top", a->top, "Classifiers: labels to print per input (default 5)")->check(CLI::Range(1, 1000000));
  c->add_option("-n,--new-tokens", a->new_tokens, "GPT-2: generate this many tokens (0: one forward pass)")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  c->add_option("--sample-top-k", a->sample_top_k,
                "GPT-2: sample from the k most likely tokens (0: greedy, unless --temperature is given)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  c->add_option("--temperature", a->temperature,
                "GPT-2: sampling temperature > 0; alone, samples from the whole vocabulary (default: greedy "
                "decoding; 1 with --sample-top-k)");
  c->add_option("--seed", a->seed, "GPT-2: sampling seed (default 0)");
  c->add_flag("--no-prefetch", a->no_prefetch, "swap: no one-block prefetch");
  c->add_flag("--no-huge-pages", a->no_huge_pages,
              "Under a budget, read weights into 4 KiB pages only (default: 2 MiB transparent huge pages where the kernel has them)");
  c->add_flag("--no-commit", a->no_commit,
              "Under a budget, do not commit the plan's pages before the run (default: they are faulted in before "
              "the clock starts, reported as prepare_ms, so that no pass pays for them)");
  c->add_flag("--buffered-io", a->buffered, "Read weights through the page cache instead of O_DIRECT");
  c->add_option("--io-depth", a->io_depth, "Direct reads in flight per weight file (default 32)")->check(CLI::Range(1, 256));
  c->add_option("--io-chunk", a->io_chunk, "Size of each direct read, whole 4 KiB blocks from 4K to 256M (default 4M)");
  c->add_option("--io-engine", a->io_engine,
                "How direct reads are kept in flight: auto (io_uring where the kernel allows it, else threads) | uring | threads")
      ->check(CLI::IsMember(io_engine_names()))
      ->capture_default_str();
  c->add_option("--repeat", a->repeat, "Run the input this many times (residency across runs)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  c->add_option("--trace", a->trace, "Write a Chrome/Perfetto trace of the run (JSON)");
  c->add_option("--attention", a->attention,
                "Attention variant: softmax | taylor | sima | shiftmax (default: the config's "
                "\"edgerun_attention\", else softmax; causal models: softmax only)");
  c->add_option("--precision", a->precision,
                "fp32 | bf16 (weights rounded to bf16) | q16 (16-bit fixed point, ViT/BERT, needs the "
                "model's edgerun_q16.json; see docs/q16.md) (default: fp32, or what a converted folder holds)");
  // An option given as "" must not read as absent (--ids "" would fall back to another input).
  c->callback([a, c] {
    for (const char* opt : {"--text", "--ids", "--attention-mask", "--token-type-ids", "--output-dir",
                            "--labels", "--trace", "--io-chunk", "--attention", "--cost-model"})
      if (c->count(opt) > 0 && c->get_option(opt)->as<std::string>().empty()) a->given_empty.push_back(opt);
    for (const auto* list : {&a->spec.files, &a->output_npy})
      for (const std::string& v : *list)
        if (v.empty()) a->given_empty.push_back(list == &a->spec.files ? "--input" : "--output-npy");
  });
  return [a] {
    a->model = resolve_model_folder(a->model);
    return run(*a);
  };
}

}  // namespace edgerun::cli
