# shellcheck shell=bash
# Degraded mode of `claw rate-limit-detect` against the real gateway: sourced by scripts/e2e.sh,
# which calls `degraded_cases` once per version (after its rate-limit cases) with its helpers
# and variables ($work $oc_dir $oc_bin $prov_port $py $claw; oc ok fail wait_for write_settings).
#
# Checks: degraded-trip (a 429 storm on the fake provider stretches the heartbeat in
# openclaw.json and disables the provider's cron job in `openclaw cron list`), degraded-kill
# (claw killed between trip and recovery), degraded-restore (the next runs restore the config
# byte for byte and the cron job field for field), degraded-operator (a storm while the
# operator edited the heartbeat by hand: the edit is left alone, the cron job restored).

# The fields of every cron job that say what it is and whether it runs (not its timestamps).
dg_cron_fields() {
  oc cron list --all --json 2>/dev/null | "$py" -c '
import json, sys
d = json.load(sys.stdin)
keep = ("id", "name", "agentId", "enabled", "schedule", "payload", "delivery", "sessionTarget", "wakeMode")
jobs = sorted(({k: j.get(k) for k in keep} for j in d["jobs"]), key=lambda j: j["id"])
print(json.dumps(jobs, sort_keys=True))'
}

dg_job_enabled() { # id
  oc cron list --all --json 2>/dev/null | "$py" -c '
import json, sys
print([j for j in json.load(sys.stdin)["jobs"] if j["id"] == sys.argv[1]][0]["enabled"])' "$1" 2>/dev/null
}

dg_every() { # the heartbeat interval claw manages here (agents.defaults.heartbeat.every), or "unset"
  "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d.get("agents", {}).get("defaults", {}).get("heartbeat", {}).get("every", "unset"))' "$oc_dir/openclaw.json"
}

# The config equal to the snapshot: byte for byte, else (2026.7.x stamps meta.lastTouchedAt on
# every write, which no `openclaw config` command can put back) equal but for that stamp.
dg_config_same() { # snapshot -> prints "bytes" | "stamp" | "differs"
  if cmp -s "$1" "$oc_dir/openclaw.json"; then echo bytes; return; fi
  "$py" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.get("meta", {}).pop("lastTouchedAt", None)
print("stamp" if a == b else "differs")' "$1" "$oc_dir/openclaw.json"
}

degraded_cases() {
  local st=$work/claw-degraded dg=$work/degraded.toml rc job
  dg_run() { # claw with its own state dir: the breaker here is this section's alone
    HOME="$work/home" OPENCLAW_STATE_DIR="$oc_dir" CLAW_STATE_DIR="$st" \
      timeout "${dg_timeout:-900}" "$claw" --settings "$dg" "$@"
  }
  # window 1 h: the operator case re-reads this storm with a fresh state dir minutes later.
  write_settings "$dg" "[rate_limit]
log_dirs = [\"$work/logs\"]
journald = \"off\"
threshold = 3
window_secs = 3600
alert = false
openclaw_timeout_secs = 180"
  # A job on the limited provider (no model: the default fake/m1), far from due.
  job=$(oc cron add --name e2e-degraded --every 6h --agent main --message "E2E cron job" --json 2>/dev/null \
    | "$py" -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
  [ -n "$job" ] || { fail degraded-trip "openclaw cron add failed"; return; }
  # The rate-limit cases before this one leave their degraded-mode changes outstanding (their
  # last run was half-way back: heartbeat at x2): `--restore` undoes them now.
  claw_run "$work/rl.toml" rate-limit-detect --restore >"$work/dg-pre-restore.out" 2>&1
  # The config as OpenClaw writes it: its first write reformats a hand-written file (2-space
  # JSON, meta stamps) whoever asks, so the snapshot is taken after one no-op write of its own.
  oc config set gateway.mode local >/dev/null 2>&1
  local cfg0=$work/dg-config-before.json cron0=$work/dg-cron-before.json
  cp "$oc_dir/openclaw.json" "$cfg0"
  dg_cron_fields >"$cron0"
  local every0
  every0=$(dg_every)

  # --- the storm -----------------------------------------------------------------------
  curl -s -m 5 -X POST -d '{"mode":"429"}' "http://127.0.0.1:$prov_port/control" >/dev/null
  local turns="1" i
  case $ver in 2026.7.*) turns="1 2" ;; esac
  for i in $turns; do
    oc agent --agent main --session-key "agent:main:e2e-dg-storm-$i" -m "storm $i" --timeout 60 --json >/dev/null 2>&1
  done
  curl -s -m 5 -X POST -d '{"mode":"ok"}' "http://127.0.0.1:$prov_port/control" >/dev/null
  dg_run rate-limit-detect --json >"$work/dg-trip.json" 2>"$work/dg-trip.err"
  rc=$?
  local every1 en1
  every1=$(dg_every)
  en1=$(dg_job_enabled "$job")
  if [ "$rc" = 1 ] && [ "$every1" != "$every0" ] && [ "$en1" = False ]; then
    ok degraded-trip "(before: --restore of the earlier cases: $(grep -c 'restored to' "$work/dg-pre-restore.out") restored) heartbeat every $every0 -> $every1 in openclaw.json, cron job $job enabled=false in openclaw cron list"
  else
    fail degraded-trip "exit $rc, heartbeat $every0 -> $every1, job enabled=$en1: $(tail -3 "$work/dg-trip.err" | tr '\n' ' ')"
  fi

  # --- killed between trip and recovery, then the recovery -------------------------------
  # Half-open and closed at +20 min (heartbeat x2 through `openclaw config set`): claw is
  # SIGKILLed while that runs; the run at +60 min settles it and restores everything.
  local plus20 plus60
  plus20=$(date -u -d '+20 min' +%Y-%m-%dT%H:%M:%SZ)
  plus60=$(date -u -d '+60 min' +%Y-%m-%dT%H:%M:%SZ)
  HOME="$work/home" OPENCLAW_STATE_DIR="$oc_dir" CLAW_STATE_DIR="$st" \
    "$claw" --settings "$dg" --now "$plus20" rate-limit-detect >"$work/dg-kill.out" 2>&1 &
  local bg=$! kids=""
  # SIGKILL once its `openclaw config set` runs (claw's first child in this run).
  dg_kids() { kids=$(pgrep -P "$bg" | tr '\n' ' '); [ -n "$kids" ]; }
  wait_for 120 dg_kids
  sleep 1
  kill -KILL "$bg" 2>/dev/null
  wait "$bg" 2>/dev/null
  # The openclaw command it started finishes on its own (or not): waited for, by PID.
  local k
  for k in $kids; do wait_for 180 sh -c "! kill -0 $k 2>/dev/null"; done
  local killed_status
  killed_status=$("$py" -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
print(",".join(f"{k}:{s}:{p}" for k, s, p in c.execute("SELECT kind, status, pending FROM rl_changes WHERE kind != '"'outage'"' ORDER BY id")))' "$st/ledger.db" 2>/dev/null)
  dg_run --now "$plus60" rate-limit-detect --json >"$work/dg-restore.json" 2>"$work/dg-restore.err"
  rc=$?
  local same cron1 en2
  same=$(dg_config_same "$cfg0")
  cron1=$(dg_cron_fields)
  en2=$(dg_job_enabled "$job")
  if [ -n "$kids" ]; then
    ok degraded-kill "claw SIGKILLed while openclaw config set ran (its rows then: $killed_status); the next run exit $rc"
  else
    fail degraded-kill "claw never started openclaw in the x2 step: $(tail -3 "$work/dg-kill.out" | tr '\n' ' ')"
  fi
  if [ "$same" != differs ] && [ "$(cat "$cron0")" = "$cron1" ]; then
    if [ "$same" = bytes ]; then
      ok degraded-restore "openclaw.json byte-for-byte as before the storm; every cron job field-for-field (job $job enabled=$en2)"
    else
      ok degraded-restore "openclaw.json equal to before but meta.lastTouchedAt (OpenClaw $ver stamps every write); every cron job field-for-field (job $job enabled=$en2)"
    fi
  else
    fail degraded-restore "config: $same ($(diff "$cfg0" "$oc_dir/openclaw.json" | head -6 | tr '\n' ' ')); cron: $(diff <(cat "$cron0") <(echo "$cron1") | head -4 | tr '\n' ' '); exit $rc: $(tail -3 "$work/dg-restore.err" | tr '\n' ' ')"
  fi

  # --- a storm while the operator edited the heartbeat by hand ---------------------------
  # The same storm read again with a fresh state dir trips again; the operator then sets the
  # heartbeat by hand; the recovery leaves that value alone and restores the cron job.
  st=$work/claw-degraded-2
  dg_run rate-limit-detect >"$work/dg-trip2.out" 2>&1
  oc config set agents.defaults.heartbeat.every 45m >/dev/null 2>&1
  local plus80 plus100
  plus80=$(date -u -d '+80 min' +%Y-%m-%dT%H:%M:%SZ)
  plus100=$(date -u -d '+100 min' +%Y-%m-%dT%H:%M:%SZ)
  dg_run --now "$plus80" rate-limit-detect >"$work/dg-op1.out" 2>&1
  dg_run --now "$plus100" rate-limit-detect >"$work/dg-op2.out" 2>&1
  local every3 en3
  every3=$(dg_every)
  en3=$(dg_job_enabled "$job")
  if [ "$every3" = 45m ] && [ "$en3" = True ] && grep -q "changed by someone else" "$work/dg-op1.out" "$work/dg-op2.out"; then
    ok degraded-operator "the operator's heartbeat 45m left alone (claw warned), cron job $job re-enabled"
  else
    fail degraded-operator "heartbeat $every3, job enabled=$en3: $(cat "$work/dg-trip2.out" "$work/dg-op1.out" "$work/dg-op2.out" | tail -4 | tr '\n' ' ')"
  fi
  # Leave the gateway as this section found it for the cases after it.
  oc config unset agents.defaults.heartbeat.every >/dev/null 2>&1
  [ "$every0" = unset ] || oc config set agents.defaults.heartbeat.every "$every0" >/dev/null 2>&1
  oc cron rm "$job" >/dev/null 2>&1
}
