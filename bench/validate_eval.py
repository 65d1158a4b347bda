"""Validate bench/data/retrieval_eval.jsonl against the seed playbooks.

Checks the schema of every line, the per-language counts, that every gold
substring occurs in its source seed file (raw text), and prints how often each
gold substring occurs across all seeds. Exits non-zero on any error.

Seeds dir: ../shared/seeds relative to the repository root, or $RETENTION_SEEDS_DIR.
Usage: python bench/validate_eval.py [path/to/retrieval_eval.jsonl]
"""

import json
import os
import re
import sys
from collections import Counter

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_EVAL = os.path.join(REPO_ROOT, "bench", "data", "retrieval_eval.jsonl")

KEYS = {"id", "lang", "role", "query", "source", "gold"}
ID_PREFIX = {"zh": "zh", "zh-hant": "zht", "en": "en"}
ROLES = {"agent", "supervisor", "trainee"}
GOLD_MIN_LEN, GOLD_MAX_LEN = 6, 25
GOLD_MAX_OCCURRENCES = 3  # across all seeds
MIN_TOTAL, MIN_CHINESE, MIN_HANT, MIN_EN, MIN_PER_SOURCE = 64, 44, 10, 20, 3

# Frequent characters that exist in only one script; a cheap sanity check on the query's lang.
SIMPLIFIED_ONLY = set("户网说么这个续约时过还会对话门经号费务单级质检样该让为们账机离")
TRADITIONAL_ONLY = set("戶網說麼這個續約時過還會對話門經號費務單級質檢樣該讓為們帳機離")
CJK = re.compile(r"[\u3400-\u9fff]")


def seeds_dir():
    """Return the seeds directory ($RETENTION_SEEDS_DIR or ../shared/seeds from the repo root)."""
    env = os.environ.get("RETENTION_SEEDS_DIR")
    if env:
        return os.path.abspath(env)
    return os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "seeds"))


def load_seeds(directory):
    """Read every *.txt seed file in directory as raw UTF-8 text, keyed by file name."""
    seeds = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".txt"):
            with open(os.path.join(directory, name), encoding="utf-8") as fh:
                seeds[name] = fh.read()
    return seeds


def load_eval(path):
    """Parse the JSONL file into (line number, object) pairs, collecting parse errors."""
    records, errors = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {lineno}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {lineno}: invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"line {lineno}: not a JSON object")
                continue
            records.append((lineno, obj))
    return records, errors


def check_query_script(lang, query):
    """Return an error message if the query's characters do not match its lang, else None."""
    chars = set(query)
    if lang == "en":
        if CJK.search(query):
            return "en query contains CJK characters"
    elif lang == "zh":
        if not CJK.search(query):
            return "zh query contains no Chinese characters"
        if chars & TRADITIONAL_ONLY:
            return f"zh query uses traditional characters {sorted(chars & TRADITIONAL_ONLY)}"
    elif lang == "zh-hant":
        if chars & SIMPLIFIED_ONLY:
            return f"zh-hant query uses simplified characters {sorted(chars & SIMPLIFIED_ONLY)}"
        if not chars & TRADITIONAL_ONLY:
            return "zh-hant query shows no traditional characters"
    return None


def check_record(lineno, obj, seeds, seen_ids, seen_queries):
    """Validate one record's schema and gold substrings; return a list of error messages."""
    where = f"line {lineno} ({obj.get('id', '?')})"
    errors = []
    if set(obj) != KEYS:
        errors.append(f"{where}: keys {sorted(obj)} != {sorted(KEYS)}")
        return errors
    rid, lang, role, query, source, gold = (obj[k] for k in ("id", "lang", "role", "query", "source", "gold"))
    if lang not in ID_PREFIX:
        errors.append(f"{where}: unknown lang {lang!r}")
    elif not isinstance(rid, str) or not re.fullmatch(ID_PREFIX[lang] + r"-\d{3}", rid):
        errors.append(f"{where}: id {rid!r} should look like {ID_PREFIX[lang]}-001")
    if rid in seen_ids:
        errors.append(f"{where}: duplicate id")
    seen_ids.add(rid)
    if role not in ROLES:
        errors.append(f"{where}: unknown role {role!r}")
    if not isinstance(query, str) or not query.strip():
        errors.append(f"{where}: empty query")
    else:
        if query in seen_queries:
            errors.append(f"{where}: duplicate query")
        seen_queries.add(query)
        if lang in ID_PREFIX:
            msg = check_query_script(lang, query)
            if msg:
                errors.append(f"{where}: {msg}")
    if source not in seeds:
        errors.append(f"{where}: source {source!r} not found in seeds dir")
    if not isinstance(gold, list) or not 1 <= len(gold) <= 3:
        errors.append(f"{where}: gold must be a list of 1-3 strings")
        return errors
    for g in gold:
        if not isinstance(g, str):
            errors.append(f"{where}: gold item {g!r} is not a string")
            continue
        if not GOLD_MIN_LEN <= len(g) <= GOLD_MAX_LEN:
            errors.append(f"{where}: gold {g!r} has length {len(g)}, want {GOLD_MIN_LEN}-{GOLD_MAX_LEN}")
        if "\n" in g or "\r" in g:
            errors.append(f"{where}: gold {g!r} spans a line break")
        if "(" in g or ")" in g:
            errors.append(f"{where}: gold {g!r} contains an ASCII parenthesis (pinyin artefact?)")
        if source in seeds and g not in seeds[source]:
            errors.append(f"{where}: gold {g!r} not found in {source}")
        total = sum(text.count(g) for text in seeds.values())
        if total > GOLD_MAX_OCCURRENCES:
            errors.append(f"{where}: gold {g!r} occurs {total} times across seeds (max {GOLD_MAX_OCCURRENCES})")
    return errors


def check_counts(records, seeds):
    """Check the per-language, per-source and total counts; return a list of error messages."""
    errors = []
    langs = Counter(obj.get("lang") for _, obj in records)
    sources = Counter(obj.get("source") for _, obj in records)
    chinese = langs["zh"] + langs["zh-hant"]
    if len(records) < MIN_TOTAL:
        errors.append(f"only {len(records)} questions, want >= {MIN_TOTAL}")
    if chinese < MIN_CHINESE:
        errors.append(f"only {chinese} Chinese questions, want >= {MIN_CHINESE}")
    if langs["zh-hant"] < MIN_HANT:
        errors.append(f"only {langs['zh-hant']} zh-hant questions, want >= {MIN_HANT}")
    if langs["en"] < MIN_EN:
        errors.append(f"only {langs['en']} en questions, want >= {MIN_EN}")
    for name in seeds:
        if sources[name] < MIN_PER_SOURCE:
            errors.append(f"only {sources[name]} questions from {name}, want >= {MIN_PER_SOURCE}")
    return errors


def print_summary(records, seeds):
    """Print counts per lang, role and source, then each gold substring's occurrences per seed."""
    for key in ("lang", "role", "source"):
        counts = Counter(obj.get(key) for _, obj in records)
        print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)))
    short = {name: name[:3] for name in seeds}
    print("\nid        src  in_src total  per-seed  gold")
    for _, obj in records:
        for g in obj.get("gold") or []:
            if not isinstance(g, str):
                continue
            per = {short[n]: t.count(g) for n, t in seeds.items()}
            total = sum(per.values())
            in_src = seeds.get(obj.get("source"), "").count(g)
            per_txt = " ".join(f"{k}:{v}" for k, v in per.items() if v)
            print(f"{obj.get('id', '?'):<9} {str(obj.get('source'))[:3]:<4} {in_src:>6} {total:>5}  {per_txt:<9} {g}")


def main(argv):
    """Run all checks on the eval file and return the process exit code."""
    path = argv[1] if len(argv) > 1 else DEFAULT_EVAL
    directory = seeds_dir()
    if not os.path.isdir(directory):
        print(f"ERROR: seeds dir not found: {directory} (set RETENTION_SEEDS_DIR)")
        return 2
    if not os.path.isfile(path):
        print(f"ERROR: eval file not found: {path}")
        return 2
    seeds = load_seeds(directory)
    records, errors = load_eval(path)
    seen_ids, seen_queries = set(), set()
    for lineno, obj in records:
        errors.extend(check_record(lineno, obj, seeds, seen_ids, seen_queries))
    errors.extend(check_counts(records, seeds))
    print(f"eval file: {path}\nseeds dir: {directory} ({len(seeds)} files)\nquestions: {len(records)}")
    print_summary(records, seeds)
    if errors:
        print(f"\n{len(errors)} ERROR(S):")
        for err in errors:
            print("  " + err)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
