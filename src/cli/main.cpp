// edgerun command-line entry point: thin subcommands over the library.
#include <cstdio>
int main() { std::puts("edgerun"); return 0; }
