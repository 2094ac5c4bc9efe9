#!/usr/bin/env python3
"""Lines of code (not blank, not only a comment) of each model file, at two
git revisions, with the part under "// ---- the model" / "// ---- V1:" /
"// ---- V2:" section headers (the graph definitions) and under "// ---- the
data" headers counted apart.

    tools/model_lines.py [OLD_REV [NEW_REV]]     (default: 9ba9088 and the work tree)
"""
import re
import subprocess
import sys

MODELS = ["rnn_step_by_step", "dinosaurus", "jazz", "word_vectors", "emojify", "glove"]


def text(rev, path):
    if rev is None:
        with open(path, encoding="utf-8") as f:
            return f.read()
    r = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


def count(src):
    parts = {"graph": 0, "data": 0, "rest": 0}
    section = "rest"
    in_block = False
    for line in src.splitlines():
        s = line.strip()
        if s.startswith("// ----"):
            h = s[7:].strip().lower()
            section = ("graph" if h.startswith(("the model", "v1:", "v2:")) else
                       "data" if h.startswith("the data") else "rest")
            continue
        if in_block:
            in_block = "*/" not in s
            continue
        if s.startswith("/*"):
            in_block = "*/" not in s
            continue
        if not s or s.startswith("//"):
            continue
        parts[section] += 1
    return parts


def main():
    old = sys.argv[1] if len(sys.argv) > 1 else "9ba9088"
    new = sys.argv[2] if len(sys.argv) > 2 else None
    print(f"| model file | code lines at {old} (model / data / rest) | now (model / data / rest) |")
    print("| --- | --- | --- |")
    tot = [0, 0]
    for m in MODELS:
        a, b = count(text(old, f"models/{m}.cpp")), count(text(new, f"models/{m}.cpp"))
        sa, sb = sum(a.values()), sum(b.values())
        tot[0] += sa
        tot[1] += sb
        print(f"| {m}.cpp | {sa} ({a['graph']} / {a['data']} / {a['rest']}) | {sb} ({b['graph']} / {b['data']} / {b['rest']}) |")
    print(f"| all six | {tot[0]} | {tot[1]} |")


if __name__ == "__main__":
    main()
