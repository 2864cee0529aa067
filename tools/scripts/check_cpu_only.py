#!/usr/bin/env python3
# Checks that a CPU-only build (-DCUVI_CUDA=OFF, or no nvcc) includes no CUDA header: preprocesses every
# translation unit of build-dir/compile_commands.json (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON) and
# names each one that reaches a CUDA Toolkit header. Catches unguarded includes even where the toolkit's
# headers happen to be on the default include path. Usage: check_cpu_only.py [build-dir]   (default build-cpu)
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

CUDA_NAME = re.compile(r"^(cuda|cublas|curand|cusparse|cufft|cusolver|nvrtc|nvtx|vector_types|driver_types)\w*\.h$")
CUDA_DIR = re.compile(r"/(cuda[-0-9.]*|cub|thrust|cccl|crt)/")
ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def cuda_headers(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    if args and os.path.basename(args[0]) == "ccache":
        args = args[1:]
    out = []
    skip = False
    for a in args:  # drop the output file; preprocess only and list every header reached
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    cmd = out + ["-M", "-MF", "/dev/stdout", "-E", "-o", "/dev/null"]
    r = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
    if r.returncode != 0:
        return entry["file"], ["(preprocessing failed: " + r.stderr.strip().splitlines()[-1] + ")"] if r.stderr else []
    deps = r.stdout.replace("\\\n", " ").split(":", 1)[-1].split()
    hits = []
    for d in deps:
        real = os.path.realpath(os.path.join(entry["directory"], d))
        in_tree = real.startswith(ROOT + os.sep)  # the project's own headers count only under a cuda/ folder
        if CUDA_DIR.search(real) or (not in_tree and CUDA_NAME.match(os.path.basename(d))):
            hits.append(d)
    return entry["file"], hits


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-cpu"
    cache = os.path.join(build, "CMakeCache.txt")
    db = os.path.join(build, "compile_commands.json")
    if not os.path.exists(db):
        sys.exit(f"check_cpu_only: {db} not found: configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
    if os.path.exists(cache) and re.search(r"^CUVI_CUDA:BOOL=ON$", open(cache).read(), re.M):
        sys.exit(f"check_cpu_only: {build} is a CUDA build (CUVI_CUDA=ON); configure it with -DCUVI_CUDA=OFF")
    entries = [e for e in json.load(open(db)) if not e["file"].endswith(".cu")]
    bad = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for src, hits in pool.map(cuda_headers, entries):
            if hits:
                bad += 1
                print(f"{os.path.relpath(src)}: includes {', '.join(sorted(set(hits))[:4])}")
    print(f"check_cpu_only: {len(entries)} translation units, {bad} include a CUDA header")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
