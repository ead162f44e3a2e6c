// Test tool: `edgerun_peak_rss OUT_FILE PROGRAM [ARGS...]` runs PROGRAM as its child, writes the
// child's peak resident set in bytes (ru_maxrss of wait4, its whole life) to OUT_FILE, and exits
// as the child did: the same status, or the same signal raised again.
// Why a launcher: exec folds the memory image it replaces into the process's ru_maxrss, so a
// child spawned straight from a large test binary would report the test binary's peak. Here the
// child is forked from this small process instead.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT_FILE PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "edgerun_peak_rss: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execv(argv[2], argv + 2);
    std::fprintf(stderr, "edgerun_peak_rss: exec %s: %s\n", argv[2], std::strerror(errno));
    _exit(127);
  }
  int st = 0;
  rusage ru{};
  while (wait4(pid, &st, 0, &ru) < 0)
    if (errno != EINTR) return 2;
  if (std::FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "%llu\n", static_cast<unsigned long long>(ru.ru_maxrss) * 1024ull);
    std::fclose(f);
  }
  if (WIFSIGNALED(st)) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the child's core, if any, is already written
    signal(WTERMSIG(st), SIG_DFL);
    raise(WTERMSIG(st));
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
