#!/usr/bin/env python3
"""Hot function names -> the linker's symbol ordering file for one build.

    resolve.py BINARY HOT-LIST OUT          # a build's ordering file
    resolve.py --hot BINARY TRACED OUT      # trace.py's names -> HOT-LIST

The committed hot list (crates/containerv-runtime/link/hot-functions.txt)
holds demangled names without Rust's symbol hashes (`nm -C`), and without
the `.llvm.N` suffix LTO gives promoted local functions: those hashes
change with the toolchain and every dependency's version, the demangled
names do not. For the linker (lld's --symbol-ordering-file) they are
mapped back to the mangled names of BINARY (a build of the same sources:
the order of a link does not change symbol names), every symbol a name
stands for (the instances of a generic function share it), in the hot
list's order. Prints how many hot names were found.
"""

import re
import subprocess
import sys

LLVM_SUFFIX = re.compile(r"\.llvm\.\d+$")


def symbols(binary):
    """(mangled, demangled) of every function symbol, by address."""

    def nm(*flags):
        out = subprocess.run(
            ["nm", "-n", "--defined-only", *flags, binary],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = []
        for line in out.splitlines():
            # "ADDR TYPE NAME" (a demangled name may hold spaces).
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] in "tTwW":
                rows.append(parts[2])
        return rows

    raw, dem = nm(), nm("-C")
    if len(raw) != len(dem):
        raise SystemExit(f"resolve.py: nm and nm -C disagree on {binary}")
    return [(r, LLVM_SUFFIX.sub("", d)) for r, d in zip(raw, dem)]


def main():
    args = sys.argv[1:]
    to_hot = args[:1] == ["--hot"]
    if to_hot:
        args = args[1:]
    if len(args) != 3:
        raise SystemExit(__doc__)
    binary, names, out = args
    syms = symbols(binary)
    with open(names) as f:
        wanted = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    if to_hot:
        demangled = dict(syms)
        seen, hot = set(), []
        for n in wanted:
            d = demangled.get(n, LLVM_SUFFIX.sub("", n))
            if d not in seen:
                seen.add(d)
                hot.append(d)
        with open(out, "w") as f:
            f.write("# Functions the runtime runs in its common commands, in first-run order:\n")
            f.write("# made by tools/hot-order/profile.sh; read by scripts/build-runtime.\n")
            f.write("".join(h + "\n" for h in hot))
        print(f"{len(hot)} hot functions")
        return
    by_name = {}
    for mangled, d in syms:
        by_name.setdefault(d, []).append(mangled)
    found, lines, done = 0, [], set()
    for n in wanted:
        ms = by_name.get(n)
        if not ms:
            continue
        found += 1
        for m in ms:
            if m not in done:
                done.add(m)
                lines.append(m)
    with open(out, "w") as f:
        f.write("".join(m + "\n" for m in lines))
    print(f"{found} of {len(wanted)} hot functions found, {len(lines)} symbols ordered")


if __name__ == "__main__":
    main()
