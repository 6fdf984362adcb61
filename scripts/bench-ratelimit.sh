#!/bin/sh
# rate-limit-detect benchmark: ~1 GB of gateway log lines (10 files of 100 MB, tslog shape, 0.1 %
# model-fetch 429 lines), a cold scan beside `grep -c 429`, then a warm run with ~100 KB new.
# Usage: scripts/bench-ratelimit.sh [target/release/claw]. Data lives in a temp dir, deleted after.
set -eu
CLAW=${1:-target/release/claw}
CLAW=$(cd "$(dirname "$CLAW")" && pwd)/$(basename "$CLAW")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/claw-rl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs" "$work/home"
python3 "$here/bench-ratelimit-gen.py" "$work/logs"
du -sh "$work/logs"
run() {
  HOME="$work/home" CLAW_STATE_DIR="$work/state" "$CLAW" --now 2026-11-20T23:59:00Z \
    rate-limit-detect --log-dir "$work/logs" "$@"
}
sync
echo "grep -c 429 (page cache warm):"
/usr/bin/time -f "%e s, %M KB" sh -c "cat $work/logs/*.log | grep -c 429"
echo "claw cold scan:"
/usr/bin/time -f "%e s, %M KB" sh -c "HOME=$work/home CLAW_STATE_DIR=$work/state $CLAW --now 2026-11-20T23:59:00Z --json rate-limit-detect --log-dir $work/logs > $work/cold.json" || true
python3 -c "import json;d=json.load(open('$work/cold.json'));s=d['detail']['stats'];print('events',s['new_events'],'lines',s['lines_read'],'bytes',s['bytes_read'])"
echo "claw warm, nothing new:"
/usr/bin/time -f "%e s, %M KB" sh -c "HOME=$work/home CLAW_STATE_DIR=$work/state $CLAW --now 2026-11-20T23:59:00Z rate-limit-detect --log-dir $work/logs" || true
# ~100 KB new at the end of the newest file.
newest=$(ls "$work/logs" | sort | tail -1)
tail -c 100000 "$work/logs/openclaw-2026-11-19.log" | sed '1d' >> "$work/logs/$newest"
echo "claw warm, ~100 KB new:"
/usr/bin/time -f "%e s, %M KB" sh -c "HOME=$work/home CLAW_STATE_DIR=$work/state $CLAW --now 2026-11-20T23:59:00Z --json rate-limit-detect --log-dir $work/logs > $work/warm.json" || true
python3 -c "import json;d=json.load(open('$work/warm.json'));s=d['detail']['stats'];print('events',s['new_events'],'lines',s['lines_read'],'bytes',s['bytes_read'])"
