#!/usr/bin/env python3
# Checks what the emulator cannot see: each kernel's registers (nvcc -Xptxas -v, no GPU needed) against the
# largest block the emulated tests launched it with (CUVI_EMU_LAUNCH_LOG), under the sm_90 per-block limits.
"""Usage: check_resources.py LAUNCH_LOG SOURCE_ROOT [NVCC] [ARCH]

LAUNCH_LOG lines are "kernel file max_threads_per_block" (written by the emulator at exit). A launch
whose block needs more registers than a multiprocessor has for one block fails on the hardware with
"too many resources requested for launch"; registers are allocated per warp in units of 256, so a block
needs ceil(regs / 8) * 8 * ceil(threads / 32) * 32 of the 65536 registers.
"""
import collections
import os
import re
import subprocess
import sys

REGS_PER_BLOCK = 65536
MAX_REGS_PER_THREAD = 255


def base_name(demangled):
    d = demangled.replace("(anonymous namespace)::", "")
    d = d[:d.index("(")] if "(" in d else d
    d = re.sub(r"<.*>$", "", d)
    return d.split("::")[-1].split()[-1]


def ptxas_usage(nvcc, arch, root, cu):
    cmd = [nvcc, "-std=c++17", "-arch=" + arch, "--expt-relaxed-constexpr", "-I", root, "-Xptxas", "-v", "-c",
           os.path.join(root, cu), "-o", os.devnull]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("nvcc failed on %s:\n%s" % (cu, out.stderr))
    usage, current = {}, None
    for line in out.stderr.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            current = m.group(1)
        m = re.search(r"Used (\d+) registers", line)
        if m and current:
            usage[current] = int(m.group(1))
            current = None
    names = subprocess.run(["c++filt"], input="\n".join(usage), capture_output=True, text=True).stdout.split("\n")
    result = collections.defaultdict(int)
    for mangled, demangled in zip(usage, names):
        name = base_name(demangled)
        result[name] = max(result[name], usage[mangled])
    return result


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    log, root = argv[1], argv[2]
    nvcc = argv[3] if len(argv) > 3 else "nvcc"
    arch = argv[4] if len(argv) > 4 else "sm_90"
    launched = {}
    with open(log) as f:
        for line in f:
            kernel, cu, threads = line.split()
            key = (kernel, cu)
            launched[key] = max(launched.get(key, 0), int(threads))
    failures = 0
    for cu in sorted({cu for _, cu in launched}):
        regs = ptxas_usage(nvcc, arch, root, cu)
        for (kernel, file), threads in sorted(launched.items()):
            if file != cu:
                continue
            if kernel not in regs:
                print("  %-34s %-28s not found in the ptxas report" % (kernel, cu))
                failures += 1
                continue
            r = regs[kernel]
            need = (r + 7) // 8 * 8 * ((threads + 31) // 32 * 32)
            ok = need <= REGS_PER_BLOCK and r <= MAX_REGS_PER_THREAD
            failures += not ok
            print("  %-34s %-28s %3d registers x %4d threads = %6d of %d %s" %
                  (kernel, cu, r, threads, need, REGS_PER_BLOCK, "ok" if ok else "TOO MANY: the launch fails"))
    print("check_resources: %d kernel(s) over the per-block register limit" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
