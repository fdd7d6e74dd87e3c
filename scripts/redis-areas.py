#!/usr/bin/env python3
"""redis-areas.py PERF.DATA: where a redis-server's CPU went, by area.

Reads a `perf record --call-graph dwarf` profile of redis-server (the bench's
PROFILE=perf) and prints the share of its samples under the functions that
mark each area. A sample counts once for every area whose function is on
its stack, so nested areas (the commands a script calls, key lookups inside
commands) are also inside their parents. Debian's redis-server is stripped
but exports these symbols; its Lua interpreter's own frames have no names,
which is why the Lua share is computed as the script's minus the commands
it calls.
"""
import subprocess
import sys

AREAS = [
    # (label, symbols): the share of samples with the first symbol on the
    # stack, minus those with the second (None: nothing taken off); in print
    # order, indented labels inside the one above.
    ("commands", "call", None),
    ("  scripts (EVALSHA)", "evalGenericCommand", None),
    ("    the commands scripts call", "scriptCall", None),
    ("    the Lua interpreter and its conversions", "evalGenericCommand", "scriptCall"),
    ("  key lookups", "lookupKey", None),
    ("    expiry checks", "expireIfNeeded", None),
    ("  the AOF: what to append, built after each command", "feedAppendOnlyFile", None),
    ("the AOF: writing it", "flushAppendOnlyFile", None),
    ("reading requests (the reads, not what runs)", "readQueryFromClient", "processInputBuffer"),
    ("writing replies", "handleClientsWithPendingWrites", None),
    ("waiting for events", "epoll_wait", None),
]


def shares(path):
    out = subprocess.run(
        ["perf", "report", "-i", path, "--children", "--sort", "sym", "-g", "none", "--stdio"],
        capture_output=True, text=True, check=True).stdout
    children, kernel = {}, 0.0
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4 or not f[0].endswith("%"):
            continue
        child, self_ = float(f[0][:-1]), float(f[1][:-1])
        sym = " ".join(f[3:])
        if f[2] == "[k]":
            kernel += self_
        else:
            children[sym] = max(children.get(sym, 0.0), child)
    return children, kernel


def main():
    children, kernel = shares(sys.argv[1])
    print("redis: CPU by area (perf samples of the run; an area's share includes those indented under it)")
    for label, sym, minus in AREAS:
        v = children.get(sym, 0.0) - (children.get(minus, 0.0) if minus else 0.0)
        print(f"  {v:5.1f}%  {label}  ({sym}{' - ' + minus if minus else ''})")
    print(f"  {kernel:5.1f}%  in the kernel (system calls, interrupts; within the areas above)")


if __name__ == "__main__":
    main()
