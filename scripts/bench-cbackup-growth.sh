#!/usr/bin/env bash
# compaction-backup on a home that grows by appends: N rounds of "append to 10 % of the live
# transcripts, then snapshot", printing the store's size against N full copies of the home
# (what the operators' copy-before-compaction script keeps).
#
#   scripts/bench-cbackup-growth.sh HOME [ROUNDS]   (HOME is copied; default 50 rounds)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$(cd "${1:?usage: bench-cbackup-growth.sh HOME [ROUNDS]}" && pwd)
ROUNDS=${2:-50}
(cd "$ROOT" && cargo build --release --quiet)
BIN=$(cd "$ROOT" && realpath -m "${CARGO_TARGET_DIR:-target}")/release/claw
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$SRC" "$work/home"
export CLAW_OPENCLAW_DIR=$work/home CLAW_STATE_DIR=$work/state CLAW_SETTINGS=$work/claw.toml
printf '[compaction_backup]\nkeep_last = %d\n' "$ROUNDS" >"$CLAW_SETTINGS"
mapfile -t live < <(find "$work/home/agents" -name '*.jsonl' -path '*/sessions/*' ! -name '*.checkpoint.*' ! -name '*.trajectory.jsonl' | sort)
copies=0
t_first=0
t_sum=0
for r in $(seq 1 "$ROUNDS"); do
  if ((r > 1)); then
    # Append one realistic assistant line to every tenth live transcript.
    for ((i = r % 10; i < ${#live[@]}; i += 10)); do
      printf '{"type":"message","id":"g%07x","parentId":null,"timestamp":"2026-11-21T09:%02d:00.000Z","message":{"role":"assistant","content":[{"type":"text","text":"round %d: %s"}],"provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input":1200,"output":300,"cacheRead":9000,"cacheWrite":0,"totalTokens":10500,"cost":{"total":0.0123}},"stopReason":"stop","timestamp":1795251600000}}\n' \
        $((r * 100000 + i)) $((r % 60)) "$r" "$(printf 'lorem ipsum %.0s' {1..20})" >>"${live[$i]}"
    done
  fi
  t0=$(date +%s%N)
  "$BIN" compaction-backup
  dt=$(( ($(date +%s%N) - t0) / 1000000 ))
  ((r == 1)) && t_first=$dt || t_sum=$((t_sum + dt))
  copies=$((copies + $(du -sb "$work/home" | cut -f1)))
done
store=$(du -sb "$work/state/backups/sessions" | cut -f1)
home=$(du -sb "$work/home" | cut -f1)
echo "| home | rounds | first snapshot | later runs (mean) | store after $ROUNDS runs | $ROUNDS full copies | ratio |"
echo "|---|---|---|---|---|---|---|"
awk -v h="$home" -v n="$ROUNDS" -v f="$t_first" -v s="$t_sum" -v st="$store" -v c="$copies" 'BEGIN {
  printf "| %.0f MB | %d | %.2f s | %.3f s | %.1f MB | %.1f MB | %.0f× smaller |\n", h/1e6, n, f/1000, (n > 1 ? s/(n-1)/1000 : 0), st/1e6, c/1e6, c/st }'
"$BIN" compaction-backup verify && echo "(verify: store intact)"
