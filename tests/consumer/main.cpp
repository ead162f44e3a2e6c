// consumer MODEL_DIR INPUT.npy OUTPUT.npy: opens a session through the installed public API,
// runs it on INPUT and writes the primary output; a bad model folder must surface as the
// exported error types.
#include <cstdio>
#include <exception>

#include "edgerun/edgerun.h"
#include "edgerun/errors.h"
#include "edgerun/types.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR INPUT.npy OUTPUT.npy\n");
    return 2;
  }
  try {
    edgerun::Session::open(argv[2], edgerun::SessionOptions{});  // a .npy file is no model folder
    std::fprintf(stderr, "consumer: opening a .npy as a model folder did not throw\n");
    return 1;
  } catch (const edgerun::Error& e) {
    std::printf("bad folder refused: %s\n", e.what());
  }
  try {
    edgerun::SessionOptions o;
    o.threads = 1;
    auto s = edgerun::Session::open(argv[1], o);
    edgerun::Inputs in;
    const edgerun::HostArray x = edgerun::read_npy(argv[2]);
    if (x.dtype == edgerun::DType::F32) in.pixel_values = x;
    else in.input_ids = x;
    const edgerun::HostArray y = s->run(in);
    edgerun::write_npy(argv[3], y);
    std::printf("%s %s: %lld outputs, executor %s\n", s->summary().family.c_str(),
                s->summary().primary_output.c_str(), static_cast<long long>(y.numel()),
                edgerun::to_string(s->report().executor));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
