#!/usr/bin/env python3
# Turns a CUDA source (.cu) into a C++ translation unit for the host emulator (tools/cuda_emu): kernel
# launches become emu::launch calls, __shared__ declarations become per-block emulator storage.
"""Usage: transform.py INPUT.cu OUTPUT.cpp DISPLAY_PATH

Line numbers are preserved (a #line directive names DISPLAY_PATH), so compiler messages, __LINE__ and
the emulator's diagnostics point into the original .cu file. What is rewritten:

  kernel<<<grid, block[, smem[, stream]]>>>(args);
      -> ::emu::launch(::emu::KernelInfo{...}, kernel, grid, block, smem, stream, args);
  __shared__ T name[d0][d1];          -> T (&name)[d0][d1] = ::emu::shared_var<T[d0][d1]>(__LINE__, __FILE__);
  extern __shared__ T name[];         -> T* name = ::emu::dynamic_shared<T>();
  __launch_bounds__(n)                -> removed; n is checked at every launch of that kernel
  #pragma unroll                      -> removed

KernelInfo also says whether the kernel can reach a barrier or warp collective (a call-graph scan of
this file); barrier-free kernels run thread after thread without fibers.
"""
import os
import re
import sys

SYNC_PRIMITIVES = {
    "__syncthreads", "__syncthreads_count", "__syncthreads_and", "__syncthreads_or", "__syncwarp",
    "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync", "__ballot_sync", "__any_sync",
    "__all_sync", "__match_any_sync", "__match_all_sync", "__reduce_add_sync", "__reduce_min_sync",
    "__reduce_max_sync",
}
NOT_FUNCTIONS = {"if", "for", "while", "switch", "catch", "return", "sizeof", "alignof", "decltype", "do", "else",
                 "static_assert", "__launch_bounds__", "defined"}


class TransformError(Exception):
    pass


def mask_source(src):
    """Same length as src, with comments and string/char literal contents replaced by spaces."""
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def match_forward(text, i, open_c, close_c):
    """Index just past the bracket matching text[i] == open_c."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_c:
            depth += 1
        elif text[j] == close_c:
            depth -= 1
            if depth == 0:
                return j + 1
    raise TransformError("unbalanced %s at offset %d" % (open_c, i))


def match_backward(text, j, open_c, close_c):
    """Index of the bracket matching text[j] == close_c."""
    depth = 0
    for i in range(j, -1, -1):
        if text[i] == close_c:
            depth += 1
        elif text[i] == open_c:
            depth -= 1
            if depth == 0:
                return i
    raise TransformError("unbalanced %s at offset %d" % (close_c, j))


def split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def scopes(masked):
    """For each '{', whether it opens a namespace/class scope (True) or anything else (False)."""
    kinds = {}
    for m in re.finditer(r"\{", masked):
        head = masked[max(0, m.start() - 300):m.start()]
        head = head[max(head.rfind(";"), head.rfind("}"), head.rfind("{")) + 1:]
        kinds[m.start()] = bool(re.search(r"\b(namespace|struct|class|union)\b[^()]*$", head)) or bool(
            re.search(r'extern\s+"\s*"\s*$', head))
    return kinds


def find_functions(masked):
    """Function definitions at namespace or class scope: (name, is_kernel, body_start, body_end, params)."""
    kinds = scopes(masked)
    funcs, stack, i = [], [], 0
    n = len(masked)
    while i < n:
        c = masked[i]
        if c == "{":
            at_scope = all(stack)
            if at_scope and not kinds[i]:
                head_end = i
                k = i - 1
                while k >= 0 and masked[k].isspace():
                    k -= 1
                tail = masked[:k + 1]
                tail_stripped = re.sub(r"(\s*\b(const|noexcept|override|final)\b)+$", "", tail)
                k = len(tail_stripped) - 1
                if k >= 0 and masked[k] == ")":
                    open_paren = match_backward(masked, k, "(", ")")
                    m = re.search(r"([A-Za-z_]\w*)\s*$", masked[:open_paren])
                    if m and m.group(1) not in NOT_FUNCTIONS:
                        end = match_forward(masked, head_end, "{", "}")
                        decl_start = max(masked.rfind(";", 0, m.start()), masked.rfind("}", 0, m.start()),
                                         masked.rfind("{", 0, m.start())) + 1
                        is_kernel = "__global__" in masked[decl_start:m.start()]
                        funcs.append((m.group(1), is_kernel, head_end, end, masked[open_paren + 1:k]))
                        i = end
                        continue
            stack.append(kinds[i])
        elif c == "}":
            if stack:
                stack.pop()
        i += 1
    return funcs


def sync_functions(masked, funcs, known=()):
    """Names of functions (and function-like macros) that can reach a barrier or warp collective; `known`:
    such functions defined elsewhere (included headers)."""
    sync = set(SYNC_PRIMITIVES) | set(known)
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)((?:.*\\\n)*.*)$", masked, re.M):
        if any(p in m.group(2) for p in SYNC_PRIMITIVES):
            sync.add(m.group(1))
    calls = {}
    for name, _, a, b, _ in funcs:
        calls.setdefault(name, set()).update(
            re.findall(r"\b([A-Za-z_]\w*)\s*(?:<[^;(){}]*>)?\s*\(", masked[a:b]))
        calls[name].update(re.findall(r"\b([A-Z_][A-Z0-9_]+)\b", masked[a:b]))  # object-like macros
    changed = True
    while changed:
        changed = False
        for name, called in calls.items():
            if name not in sync and called & sync:
                sync.add(name)
                changed = True
    return sync


def header_sync_functions(src, root):
    """Barrier-reaching functions defined in the project headers (#include "....cuh") that src includes: a
    kernel calling one of them reaches a barrier too."""
    sync = set()
    if not root:
        return sync
    for m in re.finditer(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+\.cuh)"', src, re.M):
        path = os.path.join(root, m.group(1))
        if os.path.exists(path):
            with open(path) as f:
                masked = mask_source(f.read())
            sync |= sync_functions(masked, find_functions(masked)) - set(SYNC_PRIMITIVES)
    return sync


def transform(src, display, root=None):
    masked = mask_source(src)
    edits = []  # (start, end, replacement)

    def blank(a, b):
        return "".join(ch if ch == "\n" else " " for ch in src[a:b])

    for m in re.finditer(r"^[ \t]*#[ \t]*pragma[ \t]+unroll\b.*$", masked, re.M):
        edits.append((m.start(), m.end(), ""))

    bounds = {}
    for m in re.finditer(r"__launch_bounds__\s*\(", masked):
        close = match_forward(masked, m.end() - 1, "(", ")")
        args = split_top(src[m.end():close - 1])
        name = re.match(r"\s*([A-Za-z_]\w*)", masked[close:])
        if not name:
            raise TransformError("%s:%d: __launch_bounds__ not followed by a kernel name" %
                                 (display, line_of(src, m.start())))
        bounds[name.group(1)] = args[0]
        edits.append((m.start(), close, blank(m.start(), close)))

    funcs = find_functions(masked)
    sync = sync_functions(masked, funcs, header_sync_functions(src, root))
    kernels = {name for name, is_kernel, _, _, _ in funcs if is_kernel}
    bodies = [(a, b) for _, _, a, b, _ in funcs]
    # Per kernel: bit i set when parameter i is a __restrict__ pointer (first mask) to const data (second).
    restrict = {}
    for name, is_kernel, _, _, params in funcs:
        if not is_kernel:
            continue
        r = c = 0
        for i, prm in enumerate(split_top(params)):
            if "__restrict__" in prm and i < 64:
                r |= 1 << i
                if re.search(r"\bconst\b", prm.split("*")[0]):
                    c |= 1 << i
        restrict[name] = (r, c)

    def inside_function(pos):
        return any(a <= pos < b for a, b in bodies)

    for m in re.finditer(r"\bextern\s+__shared__\s+(?:__align__\s*\([^)]*\)\s*)?([^;]*?)\s+(\w+)\s*\[\s*\]\s*;",
                         masked):
        type_ = src[m.start(1):m.end(1)].strip()
        edits.append((m.start(), m.end(), "%s* %s = ::emu::dynamic_shared<%s>();" % (type_, m.group(2), type_)))

    for m in re.finditer(r"(?<!extern )\b__shared__\b", masked):
        if re.search(r"\bextern\s+$", masked[max(0, m.start() - 20):m.start()]):
            continue
        semi = masked.index(";", m.end())
        decl = src[m.end():semi]
        where = "%s:%d" % (display, line_of(src, m.start()))
        if not inside_function(m.start()):
            raise TransformError(where + ": __shared__ at namespace scope is not emulated")
        d = re.fullmatch(r"\s*(?:__align__\s*\([^)]*\)\s*)?([A-Za-z_][\w:<>\s\*]*?)\s*\b(\w+)\s*((?:\[[^\]]*\]\s*)*)",
                         decl)
        if not d or "," in decl.split("[")[0] or "=" in decl:
            raise TransformError(where + ": unsupported __shared__ declaration '%s' (one declarator, no "
                                 "initialiser)" % decl.strip())
        type_, name, dims = d.group(1).strip(), d.group(2), re.sub(r"\s+", "", d.group(3))
        if dims:
            rep = "%s (&%s)%s = ::emu::shared_var<%s%s>(__LINE__, __FILE__);" % (type_, name, dims, type_, dims)
        else:
            rep = "%s& %s = ::emu::shared_var<%s>(__LINE__, __FILE__);" % (type_, name, type_)
        edits.append((m.start(), semi + 1, rep))

    for m in re.finditer(r"<<<", masked):
        where = "%s:%d" % (display, line_of(src, m.start()))
        k = m.start() - 1
        while k >= 0 and masked[k].isspace():
            k -= 1
        end_callee = k + 1
        if masked[k] == ">":
            k = match_backward(masked, k, "<", ">") - 1
        while k >= 0 and (masked[k].isalnum() or masked[k] in "_:"):
            k -= 1
        start = k + 1
        callee = src[start:end_callee].strip()
        if not callee:
            raise TransformError(where + ": cannot find the launched kernel")
        close_cfg = masked.index(">>>", m.end())
        cfg = split_top(src[m.end():close_cfg])
        if not 2 <= len(cfg) <= 4:
            raise TransformError(where + ": launch configuration needs 2 to 4 values")
        cfg += ["0", "nullptr"][len(cfg) - 2:]
        p = close_cfg + 3
        while masked[p].isspace():
            p += 1
        if masked[p] != "(":
            raise TransformError(where + ": expected the kernel arguments after >>>")
        close_args = match_forward(masked, p, "(", ")")
        args = src[p + 1:close_args - 1].strip()
        q = close_args
        while masked[q].isspace():
            q += 1
        if masked[q] != ";":
            raise TransformError(where + ": a launch must be a statement of its own")
        base = re.sub(r"<.*", "", callee).split("::")[-1].strip()
        if base not in kernels:
            raise TransformError(where + ": %s is not a __global__ function of this file" % base)
        info = '::emu::KernelInfo{"%s", "%s", %d, int(%s), %s, 0x%xull, 0x%xull}' % (
            base, display, line_of(src, m.start()), bounds.get(base, "0"), "true" if base in sync else "false",
            restrict[base][0], restrict[base][1])
        call = "::emu::launch(%s, %s, %s%s);" % (info, callee, ", ".join(cfg), (", " + args) if args else "")
        newlines = src.count("\n", start, q + 1)
        edits.append((start, q + 1, " ".join(call.split("\n")) + "\n" * newlines))

    edits.sort()
    for a, b in zip(edits, edits[1:]):
        if a[1] > b[0]:
            raise TransformError("%s:%d: overlapping rewrites" % (display, line_of(src, b[0])))
    out, last = [], 0
    for a, b, rep in edits:
        out.append(src[last:a])
        out.append(rep)
        last = b
    out.append(src[last:])
    body = "".join(out)
    if body.count("\n") != src.count("\n"):
        raise TransformError(display + ": line count changed")
    header = ('// Generated by tools/cuda_emu/transform.py from %s; edit the .cu file, not this one.\n'
              '#include "emu_cuda.h"\n#line 1 "%s"\n' % (display, display))
    return header + body


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        src = f.read()
    try:
        # argv[1] is <root>/<argv[3]>: the project root, where the included headers are found.
        root = argv[1][:-len(argv[3])] if argv[1].endswith(argv[3]) else None
        text = transform(src, argv[3], root)
    except TransformError as e:
        sys.stderr.write("transform.py: %s\n" % e)
        return 1
    with open(argv[2], "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
