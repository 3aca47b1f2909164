#!/usr/bin/env bash
# Downloads the real math evaluation data into datasets/ (gitignored), verifying each file:
#   datasets/gsm8k/test.jsonl     GSM8K test, 1319 lines  (openai/grade-school-math, MIT)
#   datasets/gsm8k/train.jsonl    GSM8K train, 7473 lines
#   datasets/math500/test.jsonl   MATH-500, 500 lines     (HuggingFaceH4/MATH-500)
# GSM8K test is checked against its sha256 (computed from a known-good copy). For the other two no
# reference hash was available when this was written, so they are checked by line count and by
# every line parsing as a JSON object with the expected fields; their sha256 is printed so it can
# be pinned. Each file is downloaded to a temporary sibling and renamed only after it passes.
# Usage: bash scripts/download-datasets.sh [--force]    (existing valid files are kept unless --force)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

GSM=https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data
MATH500=https://huggingface.co/datasets/HuggingFaceH4/MATH-500/resolve/main/test.jsonl

die() { echo "download-datasets: $*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is not installed"
command -v node >/dev/null || die "node is not installed"

sha() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }

# check FILE LINES FIELDS SHA: line count, JSON objects with the fields, and sha256 unless SHA is "-"
check() {
  local file=$1 lines=$2 fields=$3 want=$4
  local got
  got=$(grep -c '' "$file" || true)
  [[ "$got" == "$lines" ]] || { echo "expected $lines lines, got $got"; return 1; }
  node -e '
    const fs = require("fs"); const [file, fields] = process.argv.slice(1);
    fs.readFileSync(file, "utf8").split("\n").forEach((l, i) => {
      if (l.trim() === "") return;
      let r; try { r = JSON.parse(l); } catch (e) { console.log(`line ${i + 1}: not JSON`); process.exit(1); }
      for (const f of fields.split(",")) if (typeof r[f] !== "string") { console.log(`line ${i + 1}: no string field ${f}`); process.exit(1); }
    });' "$file" "$fields" || return 1
  if [[ "$want" != "-" ]]; then
    got=$(sha "$file")
    [[ "$got" == "$want" ]] || { echo "sha256 $got, expected $want"; return 1; }
  fi
}

# fetch URL DEST LINES FIELDS SHA
fetch() {
  local url=$1 dest=$2 lines=$3 fields=$4 want=$5
  if [[ -f "$dest" && $FORCE == 0 ]] && check "$dest" "$lines" "$fields" "$want" >/dev/null; then
    echo "ok       $dest (already present)"; return
  fi
  local dir; dir=$(dirname "$dest")
  local made=0; [[ -d "$dir" ]] || { mkdir -p "$dir"; made=1; }
  local tmp="$dest.$$.tmp"
  trap 'rm -f "$tmp"' EXIT
  if ! curl -fsSL --retry 2 --connect-timeout 15 -o "$tmp" "$url"; then
    rm -f "$tmp"; [[ $made == 1 ]] && rmdir "$dir" 2>/dev/null
    die "could not download $url (no network, or the source moved). Nothing was written to $dest."
  fi
  local why
  if ! why=$(check "$tmp" "$lines" "$fields" "$want"); then
    rm -f "$tmp"
    die "$url failed verification: $why. Nothing was written to $dest."
  fi
  mv -f "$tmp" "$dest"
  trap - EXIT
  echo "fetched  $dest  sha256 $(sha "$dest")$([[ "$want" == "-" ]] && echo "  (verified by line count and JSON only)")"
}

fetch "$GSM/test.jsonl"  "$ROOT/datasets/gsm8k/test.jsonl"  1319 question,answer \
  3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14
fetch "$GSM/train.jsonl" "$ROOT/datasets/gsm8k/train.jsonl" 7473 question,answer -
fetch "$MATH500"          "$ROOT/datasets/math500/test.jsonl" 500 problem,solution,answer -
