#!/usr/bin/env bash
# Run claw's jobs on the bundled sample OpenClaw home, in a scratch copy, and show the result.
# Usage: scripts/demo.sh            (builds release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
claw="$PWD/target/release/claw"
work="$(mktemp -d "${TMPDIR:-/tmp}/claw-demo.XXXXXX")"
cp -a examples/openclaw-home "$work/openclaw"
export CLAW_OPENCLAW_DIR="$work/openclaw" CLAW_STATE_DIR="$work/state" CLAW_SETTINGS="$work/claw.toml"
printf '[general]\ntimezone = "UTC"\n' > "$CLAW_SETTINGS"

run() { echo "\$ claw $*"; "$claw" "$@" || echo "(exit $?)"; }
run config validate
run config backup
run config list
# Each job below runs when this build has it.
for job in "cost-track" "cost report" "compaction-backup" "sessions list"; do
  # shellcheck disable=SC2086
  if "$claw" $job --help >/dev/null 2>&1; then run $job; fi
done
run status
echo "(scratch copy and claw state in $work)"
