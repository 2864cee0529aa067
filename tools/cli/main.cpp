// cuvi command-line entry point: dispatches subcommands and turns errors into one line + exit 1.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "engine/error.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: cuvi <command> [options]\n"
      "commands: train, latent, normalize, de, evaluate, simulate, inspect, info\n";
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  try {
    std::fprintf(stderr, "cuvi: error: unknown command '%s'\n%s", argv[1], usage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuvi: error: %s\n", e.what());
    return 1;
  }
}
