#!/usr/bin/env python3
"""Finds the line shapes vtrace does not take: groups the benchmark's log lines by shape
(host file, program, message skeleton with ids, numbers and addresses blanked), replays each
group on its own (up to --per-shape lines) and lists the shapes for which vtrace counts
undecodable, malformed-*, unrecognised-program or untrusted-host lines.

Usage: line_shapes.py --bin VTRACE --config vtrace.yaml --dir DATA [--per-shape 200] [--all]
  --all also prints the shapes that are counted as noise (parsed and ignored) and as records.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict

FILES = ["relay1.log", "relay2.log", "relay3.log", "gw1.log", "gw2.log"]
ENVELOPE = re.compile(r"^(?:\S+T\S+|\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\[:]+)(?:\[\d+\])?: ")
SUBS = [
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "), ""),  # exim's own timestamp
    (re.compile(r"\b[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}\b"), "EID"),
    (re.compile(r"^(?:NOQUEUE|[0-9A-Za-z]{8,16}): "), "QID: "),
    (re.compile(r"<[^<>]*>"), "<A>"),
    (re.compile(r"[\w.+-]+@[\w.-]+"), "ADDR"),
    (re.compile(r"\((?:smtp|submission):[^)]*\)"), "(smtp:IP)"),
    (re.compile(r"\b[0-9A-Za-z]{14}\b"), "QID"),
    (re.compile(r"\b[\w-]+(?:\.[\w-]+)+\.(?:jp|com|net|org|edu|io)\b"), "HOST"),
    (re.compile(r"\[[0-9a-fA-F:.]+\]"), "[IP]"),
    (re.compile(r"\b(?:queued as|id=|ID) ?[0-9A-Za-z]{8,16}\b"), "queued-as-QID"),
    (re.compile(r"\b[0-9A-F]{10,12}\b"), "QID"),
    (re.compile(r"'[^']*'"), "'S'"),
    (re.compile(r"\d+"), "9"),
]


def skeleton(message):
    for rx, rep in SUBS:
        message = rx.sub(rep, message)
    # Keep the words that say what the line is; drop the variable tail.
    words = message.split(" ")
    out = []
    for w in words:
        out.append(w if len(w) <= 2 else w.split("=", 1)[0] + ("=" if "=" in w else ""))
        if len(out) >= 7:
            break
    return " ".join(out)


def summary_counts(text):
    counts = {}
    for line in text.splitlines():
        if line.startswith("skipped lines:"):
            for tok in line.split()[2:]:
                k, _, v = tok.partition("=")
                counts[k] = int(v)
        elif line.startswith("records by format:"):
            counts["records"] = sum(int(t.partition("=")[2]) for t in line.split()[3:])
        elif line.startswith("incidents:"):
            counts["incidents"] = sum(int(t.partition("=")[2]) for t in line.split()[1:])
    return counts


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--per-shape", type=int, default=200)
    p.add_argument("--all", action="store_true")
    a = p.parse_args()

    shapes = OrderedDict()  # (file, program, skeleton) -> [count, sample lines]
    for name in FILES:
        path = os.path.join(a.dir, name)
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                m = ENVELOPE.match(line)
                if not m:
                    key = (name, "?", "(no syslog envelope)")
                else:
                    key = (name, m.group(2), skeleton(line[m.end():]))
                slot = shapes.get(key)
                if slot is None:
                    slot = shapes[key] = [0, []]
                slot[0] += 1
                if len(slot[1]) < a.per_shape:
                    slot[1].append(line)

    bad = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (name, prog, skel), (count, sample) in shapes.items():
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write("\n".join(sample) + "\n")
            r = subprocess.run([a.bin, "--config", a.config, "--replay", "--year", "2026",
                                "--timezone", "UTC", path], capture_output=True, text=True)
            c = summary_counts(r.stderr)
            problems = {k: v for k, v in c.items()
                        if v and (k in ("undecodable", "untrusted-host", "unrecognised-program")
                                  or k.startswith("malformed"))}
            rows.append((name, prog, skel, count, len(sample), c, problems, sample[0]))
            if problems:
                bad.append(rows[-1])
    print(f"{len(shapes)} line shapes in {', '.join(FILES)}")
    if not bad:
        print("no shape produces undecodable, malformed, unrecognised-program or "
              "untrusted-host lines")
    for name, prog, skel, count, n, c, problems, example in bad:
        print(f"PROBLEM {name} {prog}: '{skel}' ({count} lines; in {n} replayed: {problems})")
        print(f"    e.g. {example[:300]}")
    if a.all:
        for name, prog, skel, count, n, c, problems, example in rows:
            kind = "records" if c.get("records") else "noise" if c.get("noise") else "?"
            print(f"{kind:8s} {count:7d} {name:11s} {prog:22s} {skel[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
