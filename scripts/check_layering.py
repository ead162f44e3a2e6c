#!/usr/bin/env python3
"""Checks every #include "..." under src/ and include/ against the module table.

The table is cmake/layering.txt (docs/ARCHITECTURE.md explains it); CMake builds each module
against an include tree made from the same table, so a forbidden include also fails to compile.
This check names the offending line without a build, and also checks what the compiler cannot:
that the table is transitively closed, that every public header has one owner, and that no
public header includes src/.

Usage: scripts/check_layering.py [--root DIR]    exit 0: clean; 1: violations (one per line)
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def read_table(path):
    uses, public_uses, owner = {}, {}, {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^(module|public)\s+(\S+)\s*:(.*)$", line)
        if not m:
            sys.exit(f"{path}:{n}: cannot read \"{line}\"")
        kind, name, rest = m.groups()
        if kind == "module":
            if "|" in rest:
                mods, pub = rest.split("|", 1)
                uses[name], public_uses[name] = mods.split(), pub.split()
            else:
                uses[name] = rest.split()
                public_uses[name] = rest.split() + [name]
        else:
            for h in rest.split():
                if h in owner:
                    sys.exit(f"{path}:{n}: public header {h} has two owners ({owner[h]}, {name})")
                owner[h] = name
    for m, pub in public_uses.items():
        if "all" in pub:
            public_uses[m] = list(uses)
    return uses, public_uses, owner


def module_of(rel, modules):
    """The module a path under src/ belongs to (the longest matching folder), or None."""
    best = None
    for m in modules:
        if rel == m or rel.startswith(m + "/"):
            if best is None or len(m) > len(best):
                best = m
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="project root (default: this script's project)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    table = os.path.join(root, "cmake", "layering.txt")
    uses, public_uses, owner = read_table(table)
    modules = list(uses)
    problems = []

    for m, deps in uses.items():
        for d in deps:
            if d not in uses:
                problems.append(f"{table}: module {m} uses unknown module {d}")
                continue
            for dd in uses[d]:
                if dd != m and dd not in deps:
                    problems.append(f"{table}: module {m} may use {d}, which uses {dd}; "
                                    f"{m} must list {dd} too (the table is transitively closed)")
    pub_dir = os.path.join(root, "include", "edgerun")
    for h in sorted(os.listdir(pub_dir)) if os.path.isdir(pub_dir) else []:
        if h.endswith(".h") and h not in owner:
            problems.append(f"include/edgerun/{h}: no owner in cmake/layering.txt")

    def check_file(path, rel_display, allowed_src, allowed_public, who):
        for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            if os.path.exists(os.path.join(os.path.dirname(path), inc)):
                continue  # beside the including file (tests' helpers, a module's own folder)
            if inc.startswith("edgerun/"):
                h = inc[len("edgerun/"):]
                own = owner.get(h)
                if own is None:
                    problems.append(f"{rel_display}:{n}: #include \"{inc}\": not a public header "
                                    f"listed in cmake/layering.txt")
                elif own not in allowed_public:
                    problems.append(f"{rel_display}:{n}: #include \"{inc}\": {who} may not use "
                                    f"the public headers of {own} (allowed: "
                                    f"{', '.join(allowed_public) or 'none'})")
                continue
            target = module_of(inc, modules)
            if target is None:
                problems.append(f"{rel_display}:{n}: #include \"{inc}\": no such module header")
            elif target not in allowed_src:
                problems.append(f"{rel_display}:{n}: #include \"{inc}\": {who} may not use "
                                f"{target} (allowed: {', '.join(allowed_src) or 'none'})")

    for dirpath, _, files in os.walk(os.path.join(root, "src")):
        for f in sorted(files):
            if not f.endswith((".h", ".cpp", ".cc", ".hpp")):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, os.path.join(root, "src"))
            m = module_of(os.path.dirname(rel), modules)
            if m is None:
                problems.append(f"src/{rel}: in no module of cmake/layering.txt")
                continue
            check_file(path, f"src/{rel}", [m] + uses[m], public_uses[m], m)
    for h in sorted(os.listdir(pub_dir)) if os.path.isdir(pub_dir) else []:
        own = owner.get(h)
        if own is None:
            continue
        # A public header includes std and the public headers of its owner and what it uses.
        allowed_public = [own] + uses[own]
        check_file(os.path.join(pub_dir, h), f"include/edgerun/{h}", [], allowed_public,
                   f"include/edgerun/{h} (owned by {own})")

    for p in problems:
        print(p)
    if problems:
        print(f"check_layering: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_layering: {len(modules)} modules, {len(owner)} public headers: clean",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
