#!/usr/bin/env bash
# Run claw's jobs on the bundled sample OpenClaw home (examples/openclaw-home, both storage
# eras), in a scratch copy, and show what each found. Usage: scripts/demo.sh
# Exits 1 when any job failed (an exit other than 0, ok, or 1, a finding).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
# cargo builds into CARGO_TARGET_DIR when it is set (relative to this checkout).
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
claw="$target/release/claw"
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

failed=()
run() {
  echo "\$ claw $*"
  local code=0
  "$claw" "$@" || code=$?
  echo "(exit $code)"
  echo
  if [ "$code" -gt 1 ]; then failed+=("claw $* (exit $code)"); fi
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
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'demo.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
