#!/usr/bin/env bash
# Replays fuzz artifacts through the built target and sorts them by where they fail: inside cuvi's io
# code (a bug to fix and keep under tests/fuzz/regressions/) or inside libhdf5 (recorded in REPORT.md).
# Usage: tools/fuzz/triage.sh [ARTIFACT...]   (default: build-fuzz/artifacts/*)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${CUVI_FUZZ_BUILD:-$ROOT/build-fuzz}
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=1024"
[ $# -gt 0 ] || set -- "$BUILD"/artifacts/*
for a in "$@"; do
  [ -f "$a" ] || continue
  log=$(timeout 120 "$BUILD/fuzz_readers" -rss_limit_mb=6144 "$a" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "clean    $(basename "$a")"
    continue
  fi
  kind=$(grep -oE "ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer): [a-z-]+|runtime error|identifiers left open" <<<"$log" | head -1)
  # The first frame that belongs either to libhdf5 or to cuvi decides (interceptors and libc are skipped).
  frame=$(grep -E "^ +#[0-9]+ " <<<"$log" | grep -E "libhdf5|cuvi::" | head -1)
  where=cuvi
  grep -q "libhdf5" <<<"$frame" && where=libhdf5
  [ $rc -eq 124 ] && kind="timeout (>120 s)"
  printf '%-8s %s  [%s]  %s\n' "$where" "$(basename "$a")" "$kind" "$(sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ (in )?//; s/\(BuildId.*//; s#/lib/x86_64-linux-gnu/##' <<<"$frame" | cut -c1-100)"
done
