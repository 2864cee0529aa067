#!/usr/bin/env bash
# Builds the libFuzzer target over the io readers with clang (ASan + UBSan) and runs it for a bounded time
# from a generated seed corpus plus the kept regression inputs. Usage: tools/fuzz/run_fuzz.sh [SECONDS] [extra libFuzzer flags]
set -euo pipefail

SECONDS_TO_RUN=${1:-120}
shift || true
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${CUVI_FUZZ_BUILD:-$ROOT/build-fuzz}

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run_fuzz.sh: clang++ not found; on Debian: sudo apt-get install clang libclang-rt-dev" >&2
  exit 1
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
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# libhdf5 has no frame pointers: the slow unwinder is needed for the suppression to see H5F_open.
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
exec "$BUILD/fuzz_readers" "$CORPUS" \
  -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=30 -rss_limit_mb=4096 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$@"
