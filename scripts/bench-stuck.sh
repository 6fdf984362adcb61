#!/bin/bash
# Benchmark `claw stuck-agent scan` on a generated large home (N subagent sessions, LIVE of
# them running, ~2 KB skillsSnapshot per store entry, every transcript on disk), beside the
# operators' jq + stat loop over the same store. Usage: scripts/bench-stuck.sh [N] [LIVE].
# Data goes under a temp dir that is deleted afterwards. Needs python3, jq, GNU stat/time and
# a release build (cargo build --release).
set -eu
N=${1:-20000}
LIVE=${2:-1000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$(cd "$here" && realpath -m "${CARGO_TARGET_DIR:-target}")/release/claw"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 66; }
tmp=$(mktemp -d /tmp/claw-bench-stuck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/home" "$N" "$LIVE" <<'PY'
import json, os, sys, uuid, random, time
root = sys.argv[1]; N = int(sys.argv[2]); LIVE = int(sys.argv[3])
now = 1786363200000  # 2026-08-10T12:00:00Z
sd = os.path.join(root, "agents/main/sessions"); os.makedirs(sd, exist_ok=True)
os.makedirs(os.path.join(root, "subagents"), exist_ok=True)
random.seed(7)
snap = {"prompt": "s" * 1500, "skills": [{"name": f"skill{i}"} for i in range(10)]}
store = {}; runs = {}
def iso(ms): return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms/1000)) + ".000Z"
for i in range(N):
    sid = str(uuid.UUID(int=random.getrandbits(128), version=4))
    key = f"agent:main:subagent:{sid}"
    live = i < LIVE
    start = now - random.randint(5, 600) * 60000
    last = now - (random.randint(0, 20) * 60000 if live else random.randint(60, 6000) * 60000)
    e = {"sessionId": sid, "updatedAt": last, "label": f"job{i%50}", "status": "running" if live else "done",
         "spawnedBy": "agent:main:main", "spawnDepth": 1, "startedAt": start, "model": "claude-sonnet-4",
         "modelProvider": "anthropic", "inputTokens": 1000, "outputTokens": 200, "skillsSnapshot": snap}
    if not live: e["endedAt"] = last
    store[key] = e
    r = {"runId": f"r{i}", "childSessionKey": key, "requesterSessionKey": "agent:main:main", "task": "t", "label": f"job{i%50}",
         "createdAt": start, "startedAt": start}
    if not live: r.update(endedAt=last, outcome={"status": "ok"})
    runs[f"r{i}"] = r
    lines = [json.dumps({"type": "session", "version": 3, "id": sid, "timestamp": iso(start), "cwd": "/w"})]
    n = 60 if live else 6
    for j in range(n):
        t = start + (last - start) * (j + 1) // n
        lines.append(json.dumps({"type": "message", "id": f"{j:08x}", "timestamp": iso(t), "message": {"role": "assistant",
            "content": [{"type": "text", "text": "working " + "x" * 400}], "stopReason": "toolUse", "timestamp": t,
            "usage": {"input": 10, "output": 5}}}))
    p = os.path.join(sd, sid + ".jsonl")
    with open(p, "w") as f: f.write("\n".join(lines) + "\n")
    os.utime(p, (last/1000, last/1000))
json.dump(store, open(os.path.join(sd, "sessions.json"), "w"))
json.dump({"version": 2, "runs": runs}, open(os.path.join(root, "subagents/runs.json"), "w"))
PY
now=2026-08-10T12:00:00Z
t=$(date -d "$now" +%s)
dir="$tmp/home/agents/main/sessions"
echo "store $(du -h "$dir/sessions.json" | cut -f1), home $(du -sh "$tmp/home" | cut -f1)"
for i in 1 2 3; do
  /usr/bin/time -f "claw stuck-agent scan: %e s, %M KB max RSS" \
    env CLAW_STATE_DIR="$tmp/state" "$bin" --openclaw-dir "$tmp/home" --settings /dev/null \
    --now "$now" stuck-agent scan --quiet >/dev/null || true
done
# The operators' watchdog: each subagent session's transcript mtime, stale after 9 minutes.
loop() {
  jq -r "to_entries[] | select(.key | contains(\":subagent:\")) $1 | .value.sessionId" \
    "$dir/sessions.json" |
    while read -r sid; do
      m=$(stat -c %Y "$dir/$sid.jsonl" 2>/dev/null) || continue
      if [ $((t - m)) -gt 540 ]; then echo "$sid"; fi
    done | wc -l
}
s=$(date +%s.%N); n=$(loop ''); e=$(date +%s.%N)
echo "jq + stat, every subagent session: $(echo "$e - $s" | bc) s ($n stale)"
s=$(date +%s.%N); n=$(loop '| select(.value.status == "running")'); e=$(date +%s.%N)
echo "jq + stat, running sessions only: $(echo "$e - $s" | bc) s ($n stale)"
