"""Checks each publishable crate's `rust-version` (its MSRV) against what it builds on.

A crate's MSRV must be at least the highest `rust-version` of every crate it depends on
(normal and build dependencies, transitively, as resolved in Cargo.lock), and at least 1.85
(edition 2024). Its own code's use of newer std APIs is checked by clippy's `incompatible_msrv`
lint, which `cargo clippy -D warnings` runs against the same field.

Reads `cargo metadata` from stdin; prints one line per crate; exits 1 on a too-low MSRV.
"""
import json
import sys

PUBLISHED = ["rnnlab-series", "rnnlab-text", "rnnlab-layers", "rnnlab-train", "rnnlab-keras", "rnnlab-forecast"]
EDITION_2024 = (1, 85)


def version(text):
    return tuple(int(x) for x in text.split(".")[:2])


meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
graph = {n["id"]: n for n in meta["resolve"]["nodes"]}

failed = False
for name in PUBLISHED:
    root = next(p for p in packages.values() if p["name"] == name and p["source"] is None)
    declared = root.get("rust_version")
    if not declared:
        print(f"{name}: no rust-version in Cargo.toml")
        failed = True
        continue
    need, why = EDITION_2024, "edition 2024"
    seen, todo = set(), [root["id"]]
    while todo:
        pid = todo.pop()
        for dep in graph[pid]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds <= {"dev"} or dep["pkg"] in seen:
                continue
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])
            rv = packages[dep["pkg"]].get("rust_version")
            if rv and version(rv) > need:
                need, why = version(rv), packages[dep["pkg"]]["name"]
    ok = version(declared) >= need
    failed |= not ok
    print(f"{name}: rust-version {declared}, needs >= {need[0]}.{need[1]} ({why}): {'ok' if ok else 'TOO LOW'}")
sys.exit(1 if failed else 0)
