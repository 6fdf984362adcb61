#!/usr/bin/env bash
# `claw config validate` beside `openclaw config validate --json` on the same files, from the
# same run: called by bench.sh, or by hand:
#
#   scripts/bench-validate.sh CLAW OPENCLAW SCHEMA CONFIG...
#
# SCHEMA is what `openclaw config schema` printed (the real schema, bundled plugins included).
# Validation takes milliseconds, so one run says little on a shared machine: each config gets
# CLAW_BENCH_VALIDATE_ROUNDS rounds (default 7), each round one claw run and one OpenClaw run
# back to back; the figures are medians, the ratio is the median of the per-round ratios (load
# moves both sides of a round together). claw's first run, which builds the pre-processed
# schema cache, is reported apart as "cold". The load average is printed before and after.
# Verdicts must agree (valid or not, and the set of error paths): a row that disagrees says so.
set -euo pipefail

[[ $# -ge 4 ]] || { echo "usage: $0 CLAW OPENCLAW SCHEMA CONFIG..." >&2; exit 64; }
BIN=$1 OPENCLAW=$2 SCHEMA=$3
shift 3
ROUNDS=${CLAW_BENCH_VALIDATE_ROUNDS:-7}
command -v jq >/dev/null || { echo "bench-validate: need jq" >&2; exit 69; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CLAW_STATE_DIR=$tmp/state CLAW_OPENCLAW_DIR=$tmp/openclaw HOME=$tmp/home
mkdir -p "$CLAW_OPENCLAW_DIR" "$HOME"

# run OUT CMD... -> prints the wall time in ms; stdout of CMD into OUT.
run() {
  local out=$1 t0 t1
  shift
  t0=$(date +%s%N)
  "$@" >"$out" 2>/dev/null || true
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 ))
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# verdict JSON -> "valid|error paths" (OpenClaw lists errors only; claw marks severity)
verdict() { jq -r '[.valid, ([(.issues // [])[] | select((.severity // "error") == "error") | .path] | unique | join(","))] | map(tostring) | join("|")' "$1" 2>/dev/null || echo "unreadable"; }

echo "config validate beside openclaw config validate --json, $ROUNDS rounds each; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| config | claw cold | claw warm (median) | openclaw (median) | ratio (median of rounds) | verdicts |"
echo "|---|---|---|---|---|---|"
for cfg in "$@"; do
  abs=$(realpath "$cfg")
  rm -rf "$CLAW_STATE_DIR"
  cold=$(run "$tmp/claw.json" "$BIN" --json config validate --schema "$SCHEMA" "$abs")
  C=() O=() R=()
  agree=yes
  for ((i = 0; i < ROUNDS; i++)); do
    c=$(run "$tmp/claw.json" "$BIN" --json config validate --schema "$SCHEMA" "$abs")
    o=$(OPENCLAW_CONFIG_PATH=$abs run "$tmp/oc.json" "$OPENCLAW" config validate --json)
    # OpenClaw may print log lines before its JSON document.
    sed -n '/^{/,$p' "$tmp/oc.json" >"$tmp/oc-doc.json"
    [[ $(verdict "$tmp/claw.json") == "$(verdict "$tmp/oc-doc.json")" ]] || agree="NO: claw $(verdict "$tmp/claw.json") / openclaw $(verdict "$tmp/oc-doc.json")"
    C+=("$c") O+=("$o") R+=("$(awk -v o="$o" -v c="$c" 'BEGIN { printf "%.1f", o / c }')")
  done
  printf '| %s | %.1f ms | %.1f ms | %.0f ms | %s× | %s (%s) |\n' "$(realpath "$cfg" | awk -F/ '{print $(NF-2) "/" $(NF-1) "/" $NF}')" \
    "$(awk -v u="$cold" 'BEGIN { print u / 1000 }')" "$(awk -v u="$(median "${C[@]}")" 'BEGIN { print u / 1000 }')" \
    "$(awk -v u="$(median "${O[@]}")" 'BEGIN { print u / 1000 }')" "$(median "${R[@]}")" "$agree" \
    "$(verdict "$tmp/claw.json" | cut -d'|' -f1 | sed 's/true/valid/; s/false/invalid/')"
done
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores shared."
