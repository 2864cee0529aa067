#!/usr/bin/env bash
# Builds the libFuzzer target over the io readers with clang (ASan + UBSan) and runs it for a bounded time
# from a generated seed corpus plus the kept regression inputs. Usage: tools/fuzz/run_fuzz.sh [SECONDS] [extra libFuzzer flags]
set -euo pipefail

SECONDS_TO_RUN=${1:-120}
shift || true
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${CUVI_FUZZ_BUILD:-$ROOT/build-fuzz}

if ! command -v clang++ >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run_fuzz.sh: clang++ not found; installing Debian's clang (libFuzzer comes with libclang-rt-dev)" >&2
    apt-get install -y clang
  else
    echo "run_fuzz.sh: clang++ not found; on Debian: sudo apt-get install clang" >&2
    exit 1
  fi
fi

cmake -S "$ROOT/tests/fuzz" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "${JOBS:-2}"

CORPUS="$BUILD/corpus"
ARTIFACTS="$BUILD/artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
"$BUILD/fuzz_make_seeds" "$CORPUS"
if compgen -G "$ROOT/tests/fuzz/regressions/*" >/dev/null; then
  cp "$ROOT"/tests/fuzz/regressions/* "$CORPUS"/
fi

export TMPDIR=${TMPDIR:-/tmp}
# A failed malloc returns NULL (as in production, where libhdf5 then reports an error) instead of
# aborting, and single allocations above 1 GiB (sizes libhdf5 takes from corrupt headers) fail the same way.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=1024${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
# LeakSanitizer is off: libhdf5 1.10.8 leaks its own metadata and type-conversion state on corrupt input
# (see tests/fuzz/REPORT.md). cuvi's resources are checked by the target itself: every HDF5 identifier
# must be closed after each input, and vlen buffers are owned by an arena freed on every path.
exec "$BUILD/fuzz_readers" "$CORPUS" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=30 -rss_limit_mb=6144 -detect_leaks=0 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$@"
