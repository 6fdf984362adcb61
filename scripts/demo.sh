#!/usr/bin/env bash
# Run claw's jobs on the bundled sample OpenClaw home (examples/openclaw-home, both storage
# eras), in a scratch copy, and show what each found. Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
claw="$PWD/target/release/claw"
work="$(mktemp -d "${TMPDIR:-/tmp}/claw-demo.XXXXXX")"
cp -a examples/openclaw-home "$work/openclaw"
export CLAW_OPENCLAW_DIR="$work/openclaw" CLAW_STATE_DIR="$work/state" CLAW_SETTINGS="$work/claw.toml"
# The sample home's clock: it was generated as of this time, in UTC days.
export CLAW_NOW=2026-11-21T08:00:00Z
cat >"$CLAW_SETTINGS" <<'TOML'
[general]
timezone = "UTC"

[[cost.budgets]]
period = "daily"
limit_usd = 0.25
TOML

run() {
  echo "\$ claw $*"
  "$claw" "$@" && echo "(exit 0)" || echo "(exit $?)"
  echo
}
has() { "$claw" "$@" --help >/dev/null 2>&1; }

run config validate
run config backup
run config list
run cost-track
run cost report --by model
run budget-check
run compaction-backup
run sessions list
if has rate-limit-detect; then run rate-limit-detect --log-dir "$work/openclaw/logs/gateway"; fi
if has stuck-agent scan; then run stuck-agent scan; fi
run status
echo "(scratch copy and claw state in $work)"
