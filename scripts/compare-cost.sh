#!/usr/bin/env bash
# Per-day spend on one OpenClaw home, side by side: claw's cost-track, ccusage 20.0.24
# (`ccusage openclaw daily --json --offline`), the operators' jq sum of usage.cost.total, and,
# for a generated home, the generator's ground truth. Days in UTC.
#
#   scripts/compare-cost.sh HOME [TRUTH.json]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOME_DIR=$(cd "${1:?usage: compare-cost.sh HOME [TRUTH.json]}" && pwd)
TRUTH=${2:-${HOME_DIR}.truth.json}
CACHE=${CLAW_BENCH_CACHE:-$ROOT/bench-cache}
CCUSAGE=$CACHE/tools/node_modules/.bin/ccusage
if [[ ! -x $CCUSAGE ]]; then
  mkdir -p "$CACHE/tools"
  (cd "$CACHE/tools" && npm install --silent --no-audit --no-fund ccusage@20.0.24 >/dev/null)
fi
(cd "$ROOT" && cargo build --release --quiet)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Readers of a WAL database leave -wal/-shm files beside it: keep the bundled sample pristine.
if [[ $HOME_DIR == "$ROOT"/examples/* ]]; then
  cp -a "$HOME_DIR" "$work/home"
  HOME_DIR=$work/home
fi
printf '[general]\ntimezone = "UTC"\n' >"$work/claw.toml"
export CLAW_SETTINGS=$work/claw.toml CLAW_STATE_DIR=$work/state CLAW_OPENCLAW_DIR=$HOME_DIR
"$ROOT/target/release/claw" -q cost-track
"$ROOT/target/release/claw" --json cost report --by day >"$work/claw.json"
"$CCUSAGE" openclaw daily --json --offline --timezone UTC --open-claw-path "$HOME_DIR" >"$work/ccusage.json"
find "$HOME_DIR/agents" -name '*.jsonl*' ! -name '*.trajectory.jsonl' ! -name '*.zst' -print0 |
  xargs -0 cat | jq -r 'select(.message.usage.cost.total != null) | [(.timestamp // "")[0:10], .message.usage.cost.total] | @tsv' >"$work/jq.tsv"
python3 - "$work" "$TRUTH" <<'PY'
import json, sys, os, collections
work, truth_path = sys.argv[1], sys.argv[2]
from decimal import Decimal
# claw's amounts are exact decimal strings; the truth's too ("usd"), when the generator wrote it.
claw = {r["key"]: Decimal(r["cost_usd"]) for r in json.load(open(f"{work}/claw.json"))["rows"]}
cc = {d["date"]: d["totalCost"] for d in json.load(open(f"{work}/ccusage.json"))["daily"]}
jq = collections.defaultdict(float)
for line in open(f"{work}/jq.tsv"):
    day, usd = line.rstrip("\n").split("\t")
    jq[day] += float(usd)
truth = {}
if os.path.exists(truth_path):
    for r in json.load(open(truth_path))["cost"]["rows"]:
        truth[r["day"]] = truth.get(r["day"], 0) + (Decimal(r["usd"]) if "usd" in r else Decimal(r["micros"]) / 10**6)
days = sorted(set(claw) | set(cc) | set(jq) | set(truth))
print("| day | claw | ccusage | jq sum | truth |")
print("|---|---|---|---|---|")
fmt = lambda d, m: f"{float(m[d]):.6f}" if d in m else "-"
for d in days:
    print(f"| {d} | {fmt(d, claw)} | {fmt(d, cc)} | {fmt(d, jq)} | {fmt(d, truth)} |")
tot = lambda m: f"{float(sum(m.values())):.6f}" if m else "-"
print(f"| total | {tot(claw)} | {tot(cc)} | {tot(jq)} | {tot(truth)} |")
PY
