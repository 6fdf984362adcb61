#!/usr/bin/env bash
# End-to-end suite: claw against the REAL OpenClaw gateway (npm, node 24) and a fake model
# provider (scripts/e2e_provider.py), every claw action judged by its effect on the gateway.
#
# usage: scripts/e2e.sh [VERSION...]        default: 2026.9.6 2026.7.1
#   env  CLAW_BIN      claw binary (default target/debug/claw)
#        E2E_PYTHON    python with `zstandard` (for the zstd ground truth; default python3)
#        E2E_KEEP=1    keep the scratch directories (printed) after the run
# exit  0 every check passed; 1 a check failed (each printed as `e2e FAIL <version> <check>`)
#
# Everything binds 127.0.0.1. Every process started here is stopped by PID (its process
# group) in an EXIT trap, on success or failure; every wait has a deadline. One line per
# check (`e2e ok|FAIL|known <version> <check>: <what was observed>`) and `e2e-timing:` lines.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
claw=${CLAW_BIN:-$root/target/debug/claw}
py=${E2E_PYTHON:-python3}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2026.9.6 2026.7.1)
[ -x "$claw" ] || { echo "e2e.sh: $claw: no claw binary (cargo build first)" >&2; exit 66; }
# Resolved before any scratch HOME is exported: the npm installs are cached in the real home.
cache=${XDG_CACHE_HOME:-$HOME/.cache}

pids=()
scratch_dirs=()
# A PID and all its descendants: the gateway starts helpers in their own sessions
# (spawn-broker), so killing its process group alone would leave them running.
tree() {
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}
# Stop a PID's tree: TERM, then KILL what is left after 3 s (2026.9.6 drains for up to
# 315 s on TERM while a model call hangs; the suite does not wait for that).
stop_tree() {
  local all p
  all=$(tree "$1")
  for p in $all; do kill -TERM "$p" 2>/dev/null; done
  for _ in 1 2 3 4 5 6; do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.5
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null; done
}
# Everything still running with this scratch dir as its OpenClaw state (a gateway restarted
# by claw, its helpers, a CLI call cut short): found by its environment, never by name.
stop_by_state() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    [ "$p" = $$ ] && continue
    # (a process that ended meanwhile has no environ: the redirect's error is silenced too)
    if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qx "OPENCLAW_STATE_DIR=$1/state"; then
      kill -KILL "$p" 2>/dev/null
    fi
  done
}
stop_gateway() {
  [ -f "$1/gateway.pid" ] && stop_tree "$(cat "$1/gateway.pid")"
  stop_by_state "$1"
}
cleanup() {
  local p d
  for d in "${scratch_dirs[@]}"; do stop_gateway "$d"; done
  for p in "${pids[@]}"; do stop_tree "$p"; done
  for d in "${scratch_dirs[@]}"; do
    if [ "${E2E_KEEP:-}" = 1 ]; then echo "e2e: kept $d" >&2; else rm -rf "$d"; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
t_all=$(date +%s)
ok() { echo "e2e ok   $ver $1: $2"; }
fail() { echo "e2e FAIL $ver $1: $2"; failed=1; }
# A refusal by this OpenClaw version that claw reports as a failure (the effect is absent and
# claw says so): not a pass of the effect, not a claw bug.
known() { echo "e2e known $ver $1: $2"; }

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS CMD...: poll CMD every 0.5 s until it succeeds or the deadline passes.
wait_for() {
  local secs=$1; shift
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

health() { curl -s -m 2 "http://127.0.0.1:$gw_port/health" | grep -q '"ok":true'; }

# 300 s: on a loaded 2-core machine one CLI call (node start, connect, a model turn) took
# over 120 s.
oc() { timeout 300 "$oc_bin" "$@"; }

# Start the gateway in its own process group; PID in $work/gateway.pid. Also the body of
# claw's restart_command (scripts can't share shell functions, so it is written out below).
write_gateway_scripts() {
  # What a service manager does (Restart=on-failure, 3 starts): 2026.9.6 gives up starting
  # when its state lease is not ready within 5 s, which a loaded machine makes happen. A
  # config the gateway rejects still fails every start (and the suite's check with it).
  cat >"$work/start-gateway.sh" <<EOF
#!/bin/sh
export HOME="$work/home" OPENCLAW_STATE_DIR="$oc_dir"
setsid sh -c 'for n in 1 2 3; do "\$0" gateway run && exit 0; echo "e2e: gateway exited \$?, start \$n of 3" >&2; sleep 2; done' \
  "$oc_bin" >>"$work/gateway.out" 2>&1 </dev/null &
echo \$! >"$work/gateway.pid"
EOF
  cat >"$work/restart-gateway.sh" <<EOF
#!/bin/bash
# claw's restart_command in the e2e suite: stop the gateway by PID (with its helpers), start it.
$(declare -f tree stop_tree)
echo "restart \$(date +%s)" >>"$work/restarts.log"
p=\$(cat "$work/gateway.pid" 2>/dev/null)
[ -n "\$p" ] && stop_tree "\$p"
exec sh "$work/start-gateway.sh"
EOF
  chmod 755 "$work/start-gateway.sh" "$work/restart-gateway.sh"
}

start_gateway() {
  sh "$work/start-gateway.sh"
  if wait_for 240 health; then return 0; fi
  tail -20 "$work/gateway.out" >&2
  return 1
}

# Provider requests since line N whose current turn contains TEXT.
prov_lines() { wc -l <"$work/provider.jsonl" 2>/dev/null || echo 0; }
prov_seen() { # since text
  # Not a pipe: grep -q stops reading at the first match, and under pipefail the writer's
  # EPIPE would turn a match into a miss.
  grep -q "$2" < <(tail -n +"$(( $1 + 1 ))" "$work/provider.jsonl" 2>/dev/null)
}

# --- the claw side ---------------------------------------------------------------------
claw_run() { # settings-file args...
  local s=$1; shift
  HOME="$work/home" OPENCLAW_STATE_DIR="$oc_dir" XDG_STATE_HOME="$work/xdg" \
    XDG_CONFIG_HOME="$work/xdg-config" CLAW_STATE_DIR="${claw_state:-$work/claw-state}" \
    timeout "${claw_timeout:-180}" "$claw" --settings "$s" "$@"
}

write_settings() { # file extra-toml [extra [gateway] lines, replacing a default]
  local gw="${3:-}"
  cat >"$1" <<EOF
[general]
openclaw_bin = "$oc_bin"

[gateway]
$(grep -q '^restart_command' <<<"$gw" || echo "restart_command = [\"bash\", \"$work/restart-gateway.sh\"]")
$(grep -q '^health_timeout_secs' <<<"$gw" || echo "health_timeout_secs = 240")
command_timeout_secs = 240
$gw

[stuck]
steer_input_text = "E2E_STEER proceed without waiting."
# 2026.7.1's CLI took over 60 s to answer on a loaded 2-core machine.
command_timeout_secs = 120

$2
EOF
}

spawn_hung_subagent() { # session-key -> prints the child session key once the child hangs
  local key=$1 before
  before=$(prov_lines)
  oc agent --agent main --session-key "$key" -m "E2E_SPAWN for $key" --json >"$work/agent-$$.json" 2>&1 || true
  # The child asks the provider with E2E_HANG in its turn and never gets an answer.
  if ! wait_for 60 prov_seen "$before" '"hang_session": true'; then return 1; fi
  "$py" - "$oc_dir" "$key" <<'PY'
import sqlite3, sys, time, json, os
d, parent = sys.argv[1], sys.argv[2]
db = os.path.join(d, "state", "openclaw.sqlite")
for _ in range(60):
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        r = c.execute("SELECT child_session_key FROM subagent_runs WHERE requester_session_key = ? ORDER BY created_at DESC LIMIT 1", (parent,)).fetchone()
        if r:
            print(r[0]); sys.exit(0)
    except sqlite3.Error:
        pass
    time.sleep(0.5)
sys.exit(1)
PY
}

task_status() { # child session key -> newest task status
  "$py" - "$oc_dir" "$1" <<'PY'
import sqlite3, sys, os
c = sqlite3.connect(f"file:{os.path.join(sys.argv[1], 'state', 'openclaw.sqlite')}?mode=ro", uri=True, timeout=2)
rows = [r[0] for r in c.execute("SELECT status FROM task_runs WHERE child_session_key = ? ORDER BY created_at DESC", (sys.argv[2],))]
print(rows[0] if rows else "none")
PY
}
task_terminal() { case "$(task_status "$1")" in succeeded|failed|cancelled|canceled|timed_out|lost|killed) return 0;; esac; return 1; }

# Ground truth of spend: the sum of usage.cost.total over every live transcript line, JSONL
# files (not trajectories or archives) and SQLite transcript_events (event_json or zstd).
transcript_cost() {
  "$py" - "$oc_dir" <<'PY'
import glob, json, os, sqlite3, sys
from decimal import Decimal
d = sys.argv[1]
# The literals as written, added exactly (claw's totals are exact).
tot = Decimal(0); n = 0; z = 0
# claw leaves a compressed event compressed when its navigation_json says it is no assistant
# message: count those (`other`) and any where the decoded event says otherwise (`wrong`).
other = 0; wrong = 0
def says_other(nav):
    try: v = json.loads(nav)
    except (TypeError, ValueError): return False
    if not isinstance(v, dict) or v.get("version") != 1 or not isinstance(v.get("navigation"), dict): return False
    m = v["navigation"].get("message")
    if m is None: return True
    return isinstance(m, dict) and (m.get("role") is None or (isinstance(m.get("role"), str) and m["role"] != "assistant"))
def take(line):
    global tot, n
    try: e = json.loads(line, parse_float=Decimal)
    except ValueError: return
    m = e.get("message") or {}
    c = ((m.get("usage") or {}).get("cost") or {}).get("total")
    if e.get("type") == "message" and m.get("role") == "assistant" and isinstance(c, (int, Decimal)):
        tot += c; n += 1
for f in glob.glob(os.path.join(d, "agents", "*", "sessions", "*.jsonl")):
    if f.endswith(".trajectory.jsonl"): continue
    for line in open(f, encoding="utf-8", errors="replace"): take(line)
for db in glob.glob(os.path.join(d, "agents", "*", "agent", "openclaw-agent.sqlite")):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    cols = [r[1] for r in c.execute("PRAGMA table_info(transcript_events)")]
    has_z = "event_zstd" in cols
    q = "SELECT event_json, %s, %s FROM transcript_events" % ("event_zstd" if has_z else "NULL", "navigation_json" if "navigation_json" in cols else "NULL")
    for j, zb, nav in c.execute(q):
        if j is None and zb is not None:
            import zstandard
            j = zstandard.ZstdDecompressor().decompress(zb, max_output_size=1 << 26).decode()
            z += 1
            if says_other(nav):
                other += 1
                m = (json.loads(j).get("message") or {})
                wrong += isinstance(m, dict) and m.get("role") == "assistant"
        if j: take(j)
print(f"{tot} {n} {z} {other} {wrong}")
PY
}

# Entry ids of a session's transcript (JSONL file from sessions.json, or transcript_events).
session_ids() {
  "$py" - "$oc_dir" "$1" <<'PY'
import glob, json, os, sqlite3, sys
d, key = sys.argv[1], sys.argv[2]
store = os.path.join(d, "agents", "main", "sessions", "sessions.json")
if os.path.exists(store):
    e = json.load(open(store)).get(key) or {}
    f = e.get("sessionFile") or os.path.join(os.path.dirname(store), f"{e.get('sessionId')}.jsonl")
    if os.path.exists(f):
        for line in open(f):
            try: print(json.loads(line)["id"])
            except (ValueError, KeyError): pass
        sys.exit(0)
db = os.path.join(d, "agents", "main", "agent", "openclaw-agent.sqlite")
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
sid = c.execute("SELECT session_id FROM session_windows WHERE session_key = ?", (key,)).fetchone()
for j, z in c.execute("SELECT event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq", (sid[0],)):
    if j is None and z is not None:
        import zstandard
        j = zstandard.ZstdDecompressor().decompress(z, max_output_size=1 << 26).decode()
    try: print(json.loads(j)["id"])
    except (ValueError, KeyError, TypeError): pass
PY
}

# Checksums of everything the gateway owns under the state dir (claw's read-only opens must
# change none of it): agent databases and transcripts.
owned_sums() {
  find "$oc_dir/agents" -type f \( -name '*.sqlite' -o -name '*.jsonl' -o -name 'sessions.json' \) \
    -printf '%P %s %T@\n' 2>/dev/null | sort
}

run_version() {
  ver=$1
  local t0 t1
  t0=$(date +%s)
  local dir=$cache/claw-openclaw
  [ "$ver" = 2026.9.6 ] || dir=$cache/claw-openclaw-$ver
  oc_bin=$(OC_VERSION=$ver "$here/install-openclaw.sh" "$dir") || { fail install "install-openclaw.sh failed"; return; }
  t1=$(date +%s); echo "e2e-timing: $ver install $((t1 - t0)) s"; t0=$t1

  work=$(mktemp -d "${TMPDIR:-/tmp}/claw-e2e-$ver.XXXXXX")
  scratch_dirs+=("$work")
  oc_dir=$work/state
  mkdir -p "$work/home" "$oc_dir" "$work/xdg" "$work/logs"
  "$py" "$here/e2e_provider.py" --log "$work/provider.jsonl" --port-file "$work/provider.port" \
    >"$work/provider.out" 2>&1 </dev/null &
  pids+=($!)
  wait_for 20 test -s "$work/provider.port" || { fail provider "fake provider did not start"; return; }
  prov_port=$(cat "$work/provider.port")
  gw_port=$(free_port)
  # 2026.9.x defers tool schemas behind tool search unless told not to; 2026.7.1 has no
  # such key (its schema is strict), and offers sessions_spawn directly.
  local tools=''
  case $ver in 2026.9.*) tools='"tools": {"toolSearch": false},' ;; esac
  cat >"$oc_dir/openclaw.json" <<EOF
{
  "meta": {"lastTouchedVersion": "$ver"},
  "gateway": {"mode": "local", "port": $gw_port, "bind": "loopback",
              "auth": {"mode": "token", "token": "e2e-token-0123456789abcdef"}},
  $tools
  "models": {"providers": {"fake": {"baseUrl": "http://127.0.0.1:$prov_port/v1",
    "apiKey": "fake-key", "api": "openai-completions",
    "models": [{"id": "m1", "name": "m1", "contextWindow": 200000, "maxTokens": 8192,
                "cost": {"input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75}}]}}},
  "logging": {"file": "$work/logs/openclaw-$(date +%Y-%m-%d).log"},
  "agents": {"defaults": {"model": "fake/m1"}}
}
EOF
  export HOME="$work/home" OPENCLAW_STATE_DIR="$oc_dir"
  write_gateway_scripts
  if ! start_gateway; then fail gateway "no /health within 240 s"; return; fi
  t1=$(date +%s); echo "e2e-timing: $ver gateway-start $((t1 - t0)) s"; t0=$t1

  # --- cost-track while the gateway writes -------------------------------------------------
  write_settings "$work/claw.toml" ""
  local i
  # A turn is set-up, not the check: one retry when the CLI gave up under load.
  for i in 1 2 3; do
    oc agent --agent main --session-key "agent:main:e2e-cost-$i" -m "hello $i" --json >"$work/cost-turn-$i.out" 2>&1 \
      || oc agent --agent main --session-key "agent:main:e2e-cost-$i" -m "hello $i" --json >"$work/cost-turn-$i.out" 2>&1 \
      || fail cost "openclaw agent turn $i failed twice: $(tail -2 "$work/cost-turn-$i.out" | tr '\n' ' ' | cut -c1-300)"
  done
  # A long reply is stored zstd-compressed in the SQLite era: ask for one, with a long prompt
  # (a compressed user message, which claw need not decompress).
  oc agent --agent main --session-key agent:main:e2e-cost-long -m "E2E_LONG please: $(printf 'the same words again, ' | head -c 22 | awk '{for(i=0;i<80;i++) printf "%s", $0}')" --json >/dev/null 2>&1 || true
  local before_sums after_sums truth got
  before_sums=$(owned_sums)
  claw_run "$work/claw.toml" cost-track >"$work/cost-track.out" 2>&1
  local rc=$?
  after_sums=$(owned_sums)
  truth=$(transcript_cost)
  got=$(claw_run "$work/claw.toml" cost report --json 2>/dev/null | "$py" -c 'import json,sys; print(json.load(sys.stdin)["total"]["cost_usd"])')
  local t_usd t_lines t_zstd t_other t_wrong
  read -r t_usd t_lines t_zstd t_other t_wrong <<<"$truth"
  # 2026.9.6 compresses the long prompt: claw's skip must have had something to skip.
  if [ "$ver" = 2026.9.6 ] && [ "${t_other:-0}" -lt 1 ]; then t_wrong="no compressed event other than an assistant message"; fi
  if [ "$rc" = 0 ] && [ "${t_wrong:-1}" = 0 ] && "$py" -c "import sys; from decimal import Decimal as D; t=D('$t_usd'); g=D('${got:-NaN}'); sys.exit(0 if t > 0 and t == g else 1)"; then
    ok cost "claw total \$$got = transcripts \$$t_usd ($t_lines usage lines, $t_zstd zstd rows, $t_other of them no assistant message by their navigation, $t_wrong wrongly)"
  else
    fail cost "cost-track exit $rc, claw total '$got', transcripts '${truth}' (navigation check: ${t_wrong:-none} wrong): $(tail -2 "$work/cost-track.out")"
  fi
  if [ "$before_sums" = "$after_sums" ]; then
    ok cost-readonly "no gateway-owned file changed size or mtime during cost-track"
  else
    fail cost-readonly "$(diff <(echo "$before_sums") <(echo "$after_sums") | head -5)"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver cost $((t1 - t0)) s"; t0=$t1

  # --- steer: the hung run receives a new model request within 20 s (60 under load) --------
  write_settings "$work/steer.toml" '[stuck.actions]
idle = "steer"'
  local child before now
  if child=$(spawn_hung_subagent agent:main:e2e-steer); then
    before=$(prov_lines)
    now=$(date -u -d '+20 min' +%Y-%m-%dT%H:%M:%SZ)
    # A scan may make 2 gateway calls per stuck run, each up to command_timeout_secs.
    claw_timeout=600 claw_run "$work/steer.toml" stuck-agent scan --now "$now" >"$work/steer.out" 2>&1
    # 20 s on a quiet machine; 60 at a load of 30 (a steer that never arrives, as with
    # sessions.send behind the hung call, still fails).
    local ts=$(date +%s)
    if wait_for 60 prov_seen "$before" 'E2E_STEER'; then
      ok steer "provider received the steered turn for $child $(( $(date +%s) - ts )) s after the scan ($(grep -o 'steer [a-z]*' "$work/steer.out" | head -1))"
    elif grep -q 'steer failed' "$work/steer.out" && grep -q 'unauthorized' "$work/steer.out"; then
      known steer "gateway refused sessions.steer (unauthorized) and claw reported 'steer failed': $(grep -o 'steer failed.*' "$work/steer.out" | head -1)"
    else
      fail steer "no provider request with the steer text within 60 s; claw said: $(tail -3 "$work/steer.out" | tr '\n' ' ')"
    fi
  else
    fail steer "could not get a hung subagent (see $work/provider.jsonl)"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver steer $((t1 - t0)) s"; t0=$t1

  # --- kill: the run ends (task terminal) ----------------------------------------------------
  write_settings "$work/kill.toml" '[stuck.actions]
idle = "kill"'
  if child=$(spawn_hung_subagent agent:main:e2e-kill); then
    now=$(date -u -d '+20 min' +%Y-%m-%dT%H:%M:%SZ)
    claw_timeout=600 claw_run "$work/kill.toml" stuck-agent scan --now "$now" >"$work/kill.out" 2>&1
    if wait_for 60 task_terminal "$child"; then
      if grep -q 'kill ok' "$work/kill.out"; then
        ok kill "task of $child is $(task_status "$child"); claw said 'kill ok'"
      else
        fail kill "the run ended but claw did not say 'kill ok': $(tail -3 "$work/kill.out" | tr '\n' ' ')"
      fi
    elif grep -q 'kill failed' "$work/kill.out" && grep -q 'unauthorized' "$work/kill.out"; then
      known kill "gateway refused sessions.abort (unauthorized), task still $(task_status "$child"); claw reported: $(grep -o 'kill failed.*' "$work/kill.out" | head -1 | cut -c1-240)"
    else
      fail kill "task of $child still $(task_status "$child") after 60 s; claw said: $(tail -3 "$work/kill.out" | tr '\n' ' ')"
    fi
  else
    fail kill "could not get a hung subagent"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver kill $((t1 - t0)) s"; t0=$t1

  # --- compaction hook: installed and enabled by claw, never blocks the gateway ------------
  claw_run "$work/claw.toml" compaction-backup install-hook >"$work/hook.out" 2>&1
  rc=$?
  if [ "$rc" = 0 ] && oc hooks list --json 2>/dev/null | "$py" -c '
import json, sys
h = [x for x in json.load(sys.stdin)["hooks"] if x["name"] == "claw-compaction-backup"]
sys.exit(0 if h and not h[0].get("disabled") and h[0].get("eligible") else 1)'; then
    ok hook-enabled "claw installed and enabled the hook; openclaw hooks list --json lists it enabled and eligible"
  else
    fail hook-enabled "install-hook exit $rc: $(tail -3 "$work/hook.out" | tr '\n' ' ')"
  fi
  # 2026.7.1 loads a newly enabled hook only at its next start.
  case $ver in 2026.7.*) bash "$work/restart-gateway.sh"; wait_for 240 health || fail hook "no /health after restart" ;; esac
  local ck=agent:main:e2e-compact
  for i in 1 2 3; do oc agent --agent main --session-key "$ck" -m "turn $i" --json >/dev/null 2>&1; done
  claw_run "$work/claw.toml" compaction-backup >/dev/null 2>&1
  session_ids "$ck" >"$work/pre-ids"
  # Hold claw's compaction-backup lock for 20 s: the hook's claw waits for it (--wait 45).
  mkdir -p "$work/claw-state/locks"
  flock "$work/claw-state/locks/compaction-backup.lock" sleep 20 &
  local holder=$!
  pids+=("$holder")
  sleep 0.5
  local tc=$(date +%s)
  oc gateway call sessions.compact --params "{\"key\":\"$ck\"}" --json --timeout 120000 >"$work/compact.out" 2>&1 &
  local compactor=$!
  pids+=("$compactor")
  # /health latency while the hook's claw waits for the lock (one sample every 0.25 s).
  : >"$work/health-ms"
  while kill -0 "$holder" 2>/dev/null; do
    curl -s -o /dev/null -m 30 -w '%{time_total}\n' "http://127.0.0.1:$gw_port/health" >>"$work/health-ms"
    sleep 0.25
  done
  wait_for 120 bash -c "! kill -0 $compactor 2>/dev/null"
  local took=$(( $(date +%s) - tc ))
  # The hook really ran claw while the lock was held: a compaction-backup run in claw's ledger
  # that started after the compaction was asked for.
  local hook_runs stats
  hook_runs=$("$py" - "$work/claw-state/ledger.db" "$(date -u -d "@$tc" +%Y-%m-%dT%H:%M:%SZ)" <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
print(c.execute("SELECT count(*) FROM runs WHERE job LIKE 'compaction-backup%' AND started_at >= ?", (sys.argv[2],)).fetchone()[0])
PY
)
  # A blocked event loop answers nothing for the whole 20 s hold (spawnSync did); a machine
  # shared with builds adds noise of its own, so p95 is judged against 500 ms and the worst
  # sample against 5 s, and both are printed.
  stats=$("$py" -c '
import sys
v = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
p95 = v[int(len(v) * 0.95) - 1] if v else 99999
print(len(v), int(v[-1]) if v else 99999, int(p95), int(v[len(v)//2]) if v else 99999)' "$work/health-ms")
  local n worst p95 med
  read -r n worst p95 med <<<"$stats"
  if [ "$hook_runs" -ge 1 ] && [ "$p95" -lt 500 ] && [ "$worst" -lt 5000 ]; then
    ok hook-nonblocking "/health during the 20 s lock hold: $n samples, median ${med} ms, p95 ${p95} ms, worst ${worst} ms; compaction took ${took} s; hook's claw runs: $hook_runs"
  else
    fail hook-nonblocking "/health: $n samples, median ${med} ms, p95 ${p95} ms, worst ${worst} ms; compaction took ${took} s; hook's claw runs since the compaction: $hook_runs"
  fi
  # Every pre-compaction entry comes back from claw's store.
  sleep 2
  claw_run "$work/claw.toml" compaction-backup >/dev/null 2>&1
  rm -rf "$work/restored"; mkdir -p "$work/restored"
  claw_run "$work/claw.toml" sessions restore "$ck" --to "$work/restored" >"$work/restore.out" 2>&1
  local missing
  missing=$("$py" - "$work/pre-ids" "$work/restored" <<'PY'
import glob, json, os, sys
want = [l.strip() for l in open(sys.argv[1]) if l.strip()]
have = set()
for f in glob.glob(os.path.join(sys.argv[2], "**", "*"), recursive=True):
    if os.path.isfile(f):
        for line in open(f, errors="replace"):
            try: have.add(json.loads(line).get("id"))
            except (ValueError, AttributeError): pass
print(sum(1 for w in want if w not in have), len(want))
PY
)
  if [ "${missing%% *}" = 0 ] && [ "${missing##* }" -gt 0 ]; then
    ok hook-restore "all ${missing##* } pre-compaction entries restored by claw sessions restore; compaction answer: $(head -c 120 "$work/compact.out" | tr '\n' ' ')"
  else
    fail hook-restore "missing/total pre-compaction entries: $missing; $(tail -2 "$work/restore.out" | tr '\n' ' ')"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver hook $((t1 - t0)) s"; t0=$t1

  # --- rate-limit-detect: a 429 storm trips the breaker (and aborts the running subagent),
  # a probe closes it when the provider recovers -------------------------------------------
  write_settings "$work/rl.toml" "[rate_limit]
log_dirs = [\"$work/logs\"]
journald = \"off\"
threshold = 3
abort_subagents = true
alert = false
timeout_secs = 90
[[rate_limit.probes]]
provider = \"fake\"
style = \"openai\"
url = \"http://127.0.0.1:$prov_port/v1/chat/completions\"
model = \"m1\"
api_key_env = \"E2E_FAKE_KEY\""
  local rl_child=""
  rl_child=$(spawn_hung_subagent agent:main:e2e-rl) || fail rl-abort "could not get a hung subagent"
  curl -s -m 5 -X POST -d '{"mode":"429"}' "http://127.0.0.1:$prov_port/control" >/dev/null
  # 2026.9.x retries a 429 up to 9 times within one turn; 2026.7.x once: two turns there.
  local turns="1"
  case $ver in 2026.7.*) turns="1 2" ;; esac
  for i in $turns; do
    oc agent --agent main --session-key "agent:main:e2e-storm-$i" -m "storm $i" --timeout 60 --json >/dev/null 2>&1
  done
  E2E_FAKE_KEY=fake-key claw_run "$work/rl.toml" rate-limit-detect --json >"$work/rl-trip.json" 2>"$work/rl-trip.err"
  rc=$?
  local rl_state
  rl_state=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("state","?"))' "$work/claw-state/rate-limit.json" 2>/dev/null)
  if [ "$rc" = 1 ] && [ "$rl_state" = open ]; then
    ok rl-trip "a 429 storm tripped the breaker (exit 1, state file: open)"
  else
    fail rl-trip "exit $rc, state '$rl_state': $(tail -2 "$work/rl-trip.err" | tr '\n' ' ')"
  fi
  if [ -n "$rl_child" ]; then
    if wait_for 60 task_terminal "$rl_child"; then
      ok rl-abort "abort_subagents ended the running subagent (task $(task_status "$rl_child"))"
    else
      # What claw recorded for the abort (the ledger's rl_actions).
      local acts
      acts=$("$py" - "$work/claw-state/ledger.db" "$rl_child" <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
for ok, detail in c.execute("SELECT ok, detail FROM rl_actions WHERE action = 'abort-subagent' AND target LIKE ?", (f"%{sys.argv[2]}%",)):
    print(f"ok={ok} {detail}")
PY
)
      if grep -q 'ok=0.*unauthorized' <<<"$acts"; then
        known rl-abort "gateway refused sessions.abort (unauthorized), task still $(task_status "$rl_child"); claw recorded: $(head -c 160 <<<"$acts")"
      else
        fail rl-abort "task of $rl_child still $(task_status "$rl_child"); claw recorded: ${acts:-nothing}"
      fi
    fi
  fi
  # Recovery: the provider answers again; past the cooldown the probe closes the breaker.
  curl -s -m 5 -X POST -d '{"mode":"ok"}' "http://127.0.0.1:$prov_port/control" >/dev/null
  before=$(prov_lines)
  now=$(date -u -d '+40 min' +%Y-%m-%dT%H:%M:%SZ)
  E2E_FAKE_KEY=fake-key claw_run "$work/rl.toml" rate-limit-detect --now "$now" --json >"$work/rl-close.json" 2>"$work/rl-close.err"
  rc=$?
  rl_state=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("state","?"))' "$work/claw-state/rate-limit.json" 2>/dev/null)
  if [ "$rc" = 0 ] && [ "$rl_state" = closed ] && [ "$(prov_lines)" -gt "$before" ]; then
    ok rl-probe "the probe reached the recovered provider and closed the breaker (exit 0, state file: closed)"
  else
    fail rl-probe "exit $rc, state '$rl_state', provider requests since: $(( $(prov_lines) - before )): $(tail -2 "$work/rl-close.err" | tr '\n' ' ')"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver rate-limit $((t1 - t0)) s"; t0=$t1
  . "$here/e2e-degraded.sh" && degraded_cases; t1=$(date +%s); echo "e2e-timing: $ver degraded $((t1 - t0)) s"; t0=$t1

  # --- config heal --restart after a truncation and after a wipe ---------------------------
  claw_run "$work/claw.toml" config backup >"$work/backup.out" 2>&1 || fail heal "config backup failed: $(tail -2 "$work/backup.out")"
  local good
  good=$(sha256sum <"$oc_dir/openclaw.json")
  for damage in truncate wipe; do
    case $damage in
      truncate) head -c 100 "$oc_dir/openclaw.json" >"$work/cfg.tmp" ;;
      # What users found after a clobber: 43 bytes, valid, everything else gone.
      wipe) printf '{\n  "gateway": {\n    "mode": "local"\n  }\n}\n' >"$work/cfg.tmp" ;;
    esac
    cat "$work/cfg.tmp" >"$oc_dir/openclaw.json"
    # The restart waits up to health_timeout_secs (240 s) for /health.
    claw_timeout=400 claw_run "$work/claw.toml" config heal --restart >"$work/heal-$damage.out" 2>&1
    rc=$?
    if wait_for 240 health && [ "$(sha256sum <"$oc_dir/openclaw.json")" = "$good" ] \
      && oc config validate --json 2>/dev/null | grep -q '"valid":true'; then
      ok "heal-$damage" "claw exit $rc; gateway healthy on the restored config (sha256 equal, openclaw validates it)"
    else
      fail "heal-$damage" "claw exit $rc: $(tail -2 "$work/heal-$damage.out" | tr '\n' ' '); health: $(curl -s -m 2 "http://127.0.0.1:$gw_port/health")"
    fi
  done
  t1=$(date +%s); echo "e2e-timing: $ver heal $((t1 - t0)) s"; t0=$t1

  # --- after the restarts: a subagent run left "running" is orphaned, not progressing -----
  # (the steer/kill children on 2026.7.1, which refused both; 2026.9.x ends them itself).
  local stale
  stale=$(claw_run "$work/claw.toml" stuck-agent scan --json 2>/dev/null | "$py" -c '
import json, sys
d = json.load(sys.stdin)
runs = [r for r in d["runs"] if r["class"] not in ("finished",)]
bad = [r["run_key"] + ":" + r["class"] for r in runs if r["class"] != "orphaned"]
orph = [r for r in runs if r["class"] == "orphaned" and any("gateway restarted" in e for e in r["evidence"])]
print(len(runs), len(orph), " ".join(bad))')
  local n_open n_orph rest
  read -r n_open n_orph rest <<<"$stale"
  if [ -n "$n_open" ] && [ -z "$rest" ] && [ "$n_orph" = "$n_open" ]; then
    ok stale-orphaned "$n_open run(s) still open after the gateway restarts, all classed orphaned (gateway restarted after they started)"
  else
    fail stale-orphaned "open runs after restarts: ${n_open:-?}, orphaned by restart: ${n_orph:-?}, others: ${rest:-none}"
  fi
  t1=$(date +%s); echo "e2e-timing: $ver stale $((t1 - t0)) s"; t0=$t1

  # Last: it leaves the gateway down.
  gateway_check_cases
  t1=$(date +%s); echo "e2e-timing: $ver gateway-check $((t1 - t0)) s"; t0=$t1
}

# --- claw gateway check against the real gateway (issue 16) --------------------------------
# Healthy: exit 0, then silent. bind "lan" + auth "none": exit 1 with the finding and its fix,
# judged from a copy of the config (OPENCLAW_CONFIG_PATH; the gateway itself stays on
# loopback). Killed: restarted once by the harness's restart script, exit 1, one "down"
# alert, a recovery alert when back. Down with a restart that does nothing: at most
# max_restarts_per_hour restarts, then exactly one restart-loop alert. Alerts go to a command
# sink appending to a file. Times are --now offsets, so an "hour" takes seconds.
gc_alert_keys() { # file -> "kind:key" per alert, in order
  [ -f "$1" ] || return 0
  "$py" -c '
import json, sys
d = json.JSONDecoder(); t = open(sys.argv[1]).read(); i = 0
while True:
    while i < len(t) and t[i].isspace(): i += 1
    if i >= len(t): break
    v, i = d.raw_decode(t, i)
    print(v["kind"] + ":" + v["key"])' "$1"
}
gc_settings() { # file alerts-file [extra gateway lines]
  # probe_timeout_secs 10: at a load of 30 a live /health took up to 2.9 s, and one slow
  # answer with failures_before_restart = 1 is a restart; a killed gateway refuses at once.
  # The scratch config's token and fake key are plain text by design, and OpenClaw's own audit
  # warns about trusted proxies on every loopback gateway: both are ignored the way an
  # operator would ([gateway] ignore_findings), every other finding counts.
  write_settings "$1" "[alerts]
cooldown_secs = 3600
retries = 0
[[alerts.sinks]]
name = \"e2e\"
kind = \"command\"
command = [\"sh\", \"-c\", \"cat >> '$2'; echo >> '$2'\"]" "probe_timeout_secs = 10
failures_before_restart = 1
max_restarts_per_hour = 3
log_dir = \"$work/logs\"
journalctl_bin = \"\"
ignore_findings = [\"config.plaintext_secrets\", \"gateway.trusted_proxies_missing\"]
${3:-}"
}
gateway_check_cases() {
  local st=$work/gc-state t0 r rc
  t0=$(date -u +%s)
  gc_at() { date -u -d "@$(( t0 + $1 * 60 ))" +%Y-%m-%dT%H:%M:%SZ; }
  # Short health wait: the restarted gateway answers after claw gave up, so the restart is a
  # "down" alert and the next check's answer a recovery.
  gc_settings "$work/gc.toml" "$work/gc-alerts.jsonl" "health_timeout_secs = 5"
  gc_settings "$work/gc-lan.toml" "$work/gc-lan-alerts.jsonl"
  gc_settings "$work/gc-loop.toml" "$work/gc-loop-alerts.jsonl" \
    "restart_command = [\"sh\", \"-c\", \"echo noop >> '$work/noop-restarts'\"]
health_timeout_secs = 2"

  # Healthy. The first run caches the schema and runs OpenClaw's security audit (and may say
  # the schema was cached); the second has nothing new to say.
  claw_state=$st claw_run "$work/gc.toml" --now "$(gc_at 0)" gateway check >"$work/gc-1.out" 2>&1
  rc=$?
  claw_state=$st claw_run "$work/gc.toml" --now "$(gc_at 1)" gateway check >"$work/gc-2.out" 2>&1
  r=$?
  if [ "$rc" = 0 ] && [ "$r" = 0 ] && [ ! -s "$work/gc-2.out" ] && [ ! -s "$work/gc-alerts.jsonl" ]; then
    ok gc-healthy "exit 0 twice, the second run silent, no alert (first said: $(head -c 100 "$work/gc-1.out" | tr '\n' ' '))"
  else
    fail gc-healthy "exits $rc, $r; first: $(head -c 300 "$work/gc-1.out" | tr '\n' ' '); second: $(head -c 300 "$work/gc-2.out" | tr '\n' ' ')"
  fi

  # Exposure, judged from a copy of the config; the gateway keeps its loopback bind.
  mkdir -p "$work/lan"
  "$py" - "$oc_dir/openclaw.json" "$work/lan/openclaw.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["gateway"]["bind"] = "lan"
c["gateway"]["auth"] = {"mode": "none"}
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
  chmod 600 "$work/lan/openclaw.json"
  # Its own state (its findings must not reach the other cases' alerts) with the schema
  # already cached (one `config schema` less).
  mkdir -p "$work/gc-lan-state" && cp -r "$st/schemas" "$work/gc-lan-state/" 2>/dev/null
  OPENCLAW_CONFIG_PATH=$work/lan/openclaw.json claw_state=$work/gc-lan-state \
    claw_run "$work/gc-lan.toml" --now "$(gc_at 1)" gateway check >"$work/gc-lan.out" 2>&1
  rc=$?
  if [ "$rc" = 1 ] && grep -q '^critical gateway.bind_no_auth: gateway.bind "lan"' "$work/gc-lan.out" \
    && grep -q 'fix: set gateway.auth.mode "token"' "$work/gc-lan.out" && wait_for 30 health \
    && grep -qx 'alert:finding:gateway.bind_no_auth' <<<"$(gc_alert_keys "$work/gc-lan-alerts.jsonl")"; then
    ok gc-exposure "exit 1: $(grep -m1 '^critical gateway.bind_no_auth' "$work/gc-lan.out" | cut -c1-120); $(grep -m1 'fix: set gateway.auth.mode' "$work/gc-lan.out" | sed 's/^ *//' | cut -c1-80) (gateway still loopback); alerts: $(gc_alert_keys "$work/gc-lan-alerts.jsonl" | tr '\n' ' ')"
  else
    fail gc-exposure "exit $rc, health: $(curl -s -m 10 "http://127.0.0.1:$gw_port/health"), alerts '$(gc_alert_keys "$work/gc-lan-alerts.jsonl" | tr '\n' ' ')': $(head -c 400 "$work/gc-lan.out" | tr '\n' ' ')"
  fi

  # Killed: one restart by the harness's script, exit 1, and one alert: `down` when the
  # gateway was not back before claw stopped waiting for it (recovery comes at the next check),
  # or a `restarted` notice when claw saw it answer again (how fast depends on the machine).
  stop_gateway "$work"
  wait_for 30 bash -c "! curl -s -m 2 http://127.0.0.1:$gw_port/health >/dev/null" || fail gc-restart "the gateway still answers after it was killed"
  local n0 n1 keys
  n0=$(wc -l <"$work/restarts.log" 2>/dev/null || echo 0)
  claw_state=$st claw_run "$work/gc.toml" --now "$(gc_at 2)" gateway check --json >"$work/gc-down.json" 2>"$work/gc-down.err"
  rc=$?
  n1=$(wc -l <"$work/restarts.log" 2>/dev/null || echo 0)
  local kind
  kind=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["action"]["kind"])' "$work/gc-down.json" 2>/dev/null)
  keys=$(gc_alert_keys "$work/gc-alerts.jsonl" | tr '\n' ' ')
  local back_keys
  case "$keys" in
    "alert:down ") back_keys="alert:down recovery:down " ;;
    "alert:restarted ") back_keys="alert:restarted " ;;
    *) back_keys="" ;;
  esac
  if [ "$rc" = 1 ] && [ "$kind" = restart ] && [ $((n1 - n0)) = 1 ] && [ -n "$back_keys" ]; then
    ok gc-restart "gateway killed: claw ran the restart script once (action restart, exit 1), alerts: $keys"
  else
    fail gc-restart "exit $rc, action '$kind', restart script runs $((n1 - n0)), alerts '$keys': $(tail -2 "$work/gc-down.err" | tr '\n' ' ')"
  fi
  if wait_for 240 health; then
    claw_state=$st claw_run "$work/gc.toml" --now "$(gc_at 3)" gateway check >"$work/gc-back.out" 2>&1
    rc=$?
    keys=$(gc_alert_keys "$work/gc-alerts.jsonl" | tr '\n' ' ')
    if [ "$rc" = 0 ] && [ -n "$back_keys" ] && [ "$keys" = "$back_keys" ] && [ "$(wc -l <"$work/restarts.log")" = "$n1" ]; then
      ok gc-recovery "back after the restart: exit 0, alerts: $keys, no second restart"
    else
      fail gc-recovery "exit $rc, alerts '$keys': $(head -c 300 "$work/gc-back.out" | tr '\n' ' ')"
    fi
  else
    fail gc-recovery "the gateway restarted by claw never answered /health within 240 s: $(tail -3 "$work/gateway.out" | tr '\n' ' ')"
  fi

  # Down for good with a restart that does nothing: 3 restarts, then one restart-loop alert.
  # Two hours on, so the restart above is out of the hour.
  stop_gateway "$work"
  wait_for 30 bash -c "! curl -s -m 2 http://127.0.0.1:$gw_port/health >/dev/null"
  local m codes=""
  # 3 restarts, the hold with its alert, and one more held check that alerts nothing new.
  for m in 120 121 122 123 124; do
    claw_state=$st claw_run "$work/gc-loop.toml" --now "$(gc_at $m)" gateway check >>"$work/gc-loop.out" 2>&1
    codes="$codes$?"
  done
  local noops loops
  noops=$(wc -l <"$work/noop-restarts" 2>/dev/null || echo 0)
  keys=$(gc_alert_keys "$work/gc-loop-alerts.jsonl" | tr '\n' ' ')
  loops=$(gc_alert_keys "$work/gc-loop-alerts.jsonl" | grep -c '^alert:restart-loop$')
  if [ "$codes" = 11111 ] && [ "$noops" = 3 ] && [ "$loops" = 1 ]; then
    ok gc-restart-loop "5 checks over 5 minutes with a no-op restart: 3 restarts, then one restart-loop alert (alerts: $keys)"
  else
    fail gc-restart-loop "exits $codes, no-op restarts $noops, alerts '$keys': $(tail -3 "$work/gc-loop.out" | tr '\n' ' ')"
  fi
}

for v in "${versions[@]}"; do
  tv=$(date +%s)
  run_version "$v"
  # Stop this version's processes before the next (the trap catches what is left).
  stop_gateway "$work"
  for p in "${pids[@]}"; do stop_tree "$p"; done
  pids=()
  echo "e2e-timing: $v total $(( $(date +%s) - tv )) s"
done
echo "e2e-timing: all $(( $(date +%s) - t_all )) s"
exit $failed
