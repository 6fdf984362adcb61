#!/usr/bin/env bash
# Benchmark every claw job on generated OpenClaw homes, against what operators do today.
#
#   scripts/bench.sh            medium (~100 MB) and large (~2 GB) homes, a ~200 MB JSONL
#                               transcript tree and a ~200 MB SQLite-era store
#   scripts/bench.sh --quick    medium and the ~200 MB JSONL tree (CI)
#   CLAW_BENCH_SCALES="sqlite200" scripts/bench.sh    the named homes only (another name: exit 2)
#
# Homes are generated once into $CLAW_BENCH_CACHE (default: bench-cache/, gitignored) and
# regenerated only when the generator's sources change. Each job runs twice: cold (fresh
# claw state dir, nothing recorded yet; with CLAW_BENCH_DROP_CACHES=1 and root, the page
# cache is dropped first, which slows everyone else on a shared box) and warm
# (the same state again: nothing new to do). Wall time from `date +%s%N`, peak RSS from
# `/usr/bin/time -f %M`. The baseline column is the jq/grep/cp one-liner the job replaces;
# the ratios are baseline time / claw time (above 1: claw is faster).
#
# Adding a job is one line in JOBS below:
#   "label|claw subcommand|extra claw args|baseline shell command"
# {home} and {tmp} are replaced; a row whose subcommand does not exist yet
# (`claw <subcommand> --help` fails) is skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CLAW_BENCH_CACHE:-$ROOT/bench-cache}
SEED=1
NOW=2026-11-21T08:00:00Z
SCALES=(medium large jsonl200 sqlite200)
# A baseline still running after this many seconds is stopped (ccusage is quadratic on
# SQLite-era homes).
BASELINE_TIMEOUT=${CLAW_BENCH_BASELINE_TIMEOUT:-300}
[[ ${1:-} == --quick ]] && SCALES=(medium jsonl200)
# CLAW_BENCH_SCALES="jsonl200 sqlite200": these homes only (one figure measured again alone).
[[ -n ${CLAW_BENCH_SCALES:-} ]] && read -ra SCALES <<<"$CLAW_BENCH_SCALES"

# claw-gen arguments per home; the transcript-only homes run TREE_JOBS instead of JOBS.
declare -A GEN_ARGS=(
  [medium]="--scale medium --era both"
  [large]="--scale large --era both"
  [jsonl200]="--scale medium --era jsonl --sessions 4800"
  [sqlite200]="--scale medium --era sqlite --sessions 5500"
)

for s in "${SCALES[@]}"; do
  [[ -n ${GEN_ARGS[$s]:-} ]] || { echo "bench: no home named '$s' (one of: ${!GEN_ARGS[*]})" >&2; exit 2; }
done

JOBS=(
  "config validate (structural)|config validate|--no-schema {home}/openclaw.json|jq empty {home}/openclaw.json"
  "config validate (OpenClaw schema)|config validate|--schema {schema} {home}/openclaw.json|{openclaw_validate}"
  "config backup|config backup||cp {home}/openclaw.json {tmp}/openclaw.json.bak"
  "cost report|cost report|--by day|find {home}/agents -name '*.jsonl*' ! -name '*.trajectory.jsonl' ! -name '*.zst' -print0 | xargs -0 cat | jq -n 'reduce (inputs | select(.message.usage.cost.total) | {d: .timestamp[0:10], c: .message.usage.cost.total}) as \$x ({}; .[\$x.d] += \$x.c)'"
  "rate-limit-detect|rate-limit-detect|--log-dir {home}/logs/gateway|cat {home}/logs/gateway/*.log | grep -c 429"
  "stuck-agent scan|stuck-agent scan||jq '[.runs[] | select(.endedAt == null)] | length' {home}/subagents/runs.json; for f in {home}/agents/*/sessions/*.jsonl; do stat -c '%Y %n' \"\$f\"; done | sort -n | tail -1"
  "compaction-backup|compaction-backup||mkdir -p {tmp}/copy && cp -r {home}/agents {tmp}/copy/"
)
# The transcript trees run only the cost-track table below.
TREE_JOBS=()

# cost-track beside every baseline from the same run, as ratios (see cost_table): reading the
# same bytes (`cat` of the tree, the floor), jq summing the logged costs, and ccusage (not on
# the SQLite store: it rescans SQLite-era stores quadratically). Each home is measured
# CLAW_BENCH_REPEAT times; every figure and ratio is the median of the rounds, each ratio
# taken within one round (a shared machine's load moves claw and its baselines together).
REPEAT=${CLAW_BENCH_REPEAT:-3}
COST_CAT="find {home}/agents -type f -print0 | xargs -0 cat"
COST_JQ="find {home}/agents -name '*.jsonl*' ! -name '*.trajectory.jsonl' ! -name '*.zst' -print0 | xargs -0 cat | jq -n '[inputs | .message.usage.cost.total // empty] | add'"
COST_CCUSAGE="[[ {home} == *sqlite200* ]] && exit 99; {ccusage} openclaw daily --json --offline --timezone UTC --open-claw-path {home}"

# Reference tools for the baseline column, when they can be had: OpenClaw 2026.9.6 (npm,
# under node 24) and ccusage 20.0.24 (npm). A row whose baseline tool is missing is skipped.
TOOLS=$CACHE/tools
OPENCLAW=${CLAW_TEST_OPENCLAW:-}
if [[ -z $OPENCLAW ]] && command -v npm >/dev/null; then
  OPENCLAW=$("$ROOT/scripts/install-openclaw.sh" 2>/dev/null || true)
fi
CCUSAGE=$TOOLS/node_modules/.bin/ccusage
if [[ ! -x $CCUSAGE ]] && command -v npm >/dev/null; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund ccusage@20.0.24 >/dev/null 2>&1) || true
fi
SCHEMA=$CACHE/openclaw.schema.json
if [[ -n $OPENCLAW && ! -s $SCHEMA ]]; then
  OPENCLAW_CONFIG_PATH=$CACHE/absent/openclaw.json "$OPENCLAW" config schema >"$SCHEMA" 2>/dev/null || rm -f "$SCHEMA"
fi

die() { echo "bench: $*" >&2; exit 1; }

if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "bench: installing GNU time" >&2
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -qq time >/dev/null || die "need /usr/bin/time (apt-get install time)"
fi
command -v jq >/dev/null || die "need jq for the baseline column"

echo "bench: building release" >&2
(cd "$ROOT" && cargo build --release --quiet)
TARGET=$(cd "$ROOT" && realpath -m "${CARGO_TARGET_DIR:-target}") # cargo builds there when it is set
BIN=$TARGET/release/claw
mkdir -p "$CACHE"

# The cache is valid while the generator's sources are unchanged.
STAMP=$(cat "$ROOT"/gen/src/*.rs | sha256sum | cut -c1-16)
GEN=$TARGET/release/claw-gen

declare -A GEN_SECS
for s in "${SCALES[@]}"; do
  dir=$CACHE/$s
  if [[ $(cat "$dir/stamp" 2>/dev/null) != "$STAMP" ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "bench: generating the $s home (seed $SEED)" >&2
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    "$GEN" --out "$dir/home" --seed "$SEED" ${GEN_ARGS[$s]}
    echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$dir/gen-ms"
    echo "$STAMP" >"$dir/stamp"
  fi
  GEN_SECS[$s]=$(awk '{printf "%.1f", $1/1000}' "$dir/gen-ms")
done

drop_caches() {
  sync
  { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null && return 0
  return 1
}

# measure CMD... -> "<seconds> <peak RSS MB> <exit code>"
measure() {
  local out t0 t1 rc
  out=$(mktemp)
  t0=$(date +%s%N)
  set +e
  /usr/bin/time -f %M -o "$out" "$@" >/dev/null 2>"$out.err"
  rc=$?
  set -e
  t1=$(date +%s%N)
  # GNU time puts "Command exited with non-zero status N" before the figure: take the last line.
  tail -n 1 "$out" | awk -v ns=$((t1 - t0)) -v rc="$rc" '{printf "%.3f %.0f %d\n", ns/1e9, $1/1024, rc}'
  rm -f "$out" "$out.err"
}

ratio() { awk -v b="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.1f×", b / c; else print "-" }'; }

CAN_DROP=no
[[ ${CLAW_BENCH_DROP_CACHES:-0} == 1 ]] && drop_caches && CAN_DROP=yes

ROWS=()
REAL_HOME=$HOME
for s in "${SCALES[@]}"; do
  home=$CACHE/$s/home
  size=$(du -sh "$home" | cut -f1)
  [[ $s == *200 ]] && size="agents/ $(du -sh "$home/agents" | cut -f1)"
  jobs=("${JOBS[@]}")
  [[ $s == *200 ]] && jobs=("${TREE_JOBS[@]}")
  for job in ${jobs[@]+"${jobs[@]}"}; do
    IFS='|' read -r label sub extra baseline <<<"$job"
    # shellcheck disable=SC2086
    "$BIN" $sub --help >/dev/null 2>&1 || continue
    [[ $baseline == *"{ccusage}"* && ! -x $CCUSAGE ]] && continue
    [[ $baseline == *"{openclaw_validate}"* && ( -z $OPENCLAW || ! -s $SCHEMA ) ]] && continue
    tmp=$(mktemp -d)
    extra=${extra//\{home\}/$home}
    extra=${extra//\{schema\}/$SCHEMA}
    baseline=${baseline//\{openclaw_validate\}/OPENCLAW_CONFIG_PATH=\{home\}/openclaw.json $OPENCLAW config validate --json}
    baseline=${baseline//\{ccusage\}/$CCUSAGE}
    baseline=${baseline//\{home\}/$home}
    baseline=${baseline//\{tmp\}/$tmp}
    export CLAW_OPENCLAW_DIR=$home CLAW_STATE_DIR=$tmp/state CLAW_NOW=$NOW HOME=$tmp
    echo "bench: $s: $label" >&2
    [[ $CAN_DROP == yes ]] && drop_caches
    # shellcheck disable=SC2086
    read -r cw cm cr < <(measure "$BIN" $sub $extra)
    # shellcheck disable=SC2086
    read -r ww wm wr < <(measure "$BIN" $sub $extra)
    [[ $CAN_DROP == yes ]] && drop_caches
    read -r bw bm brc < <(measure timeout "$BASELINE_TIMEOUT" bash -c "$baseline")
    unset CLAW_OPENCLAW_DIR CLAW_STATE_DIR CLAW_NOW
    export HOME=$REAL_HOME
    rm -rf "$tmp"
    if [[ $brc == 99 ]]; then
      ROWS+=("| $label | $s ($size) | ${cw}s / ${cm} MB (exit $cr) | ${ww}s / ${wm} MB (exit $wr) | (not run here) | - | - |")
    elif [[ $brc == 124 ]]; then
      # Stopped at the time limit: the baseline took at least that long.
      ROWS+=("| $label | $s ($size) | ${cw}s / ${cm} MB (exit $cr) | ${ww}s / ${wm} MB (exit $wr) | > ${BASELINE_TIMEOUT}s (stopped) | > $(ratio "$bw" "$cw") | > $(ratio "$bw" "$ww") |")
    else
      ROWS+=("| $label | $s ($size) | ${cw}s / ${cm} MB (exit $cr) | ${ww}s / ${wm} MB (exit $wr) | ${bw}s / ${bm} MB | $(ratio "$bw" "$cw") | $(ratio "$bw" "$ww") |")
    fi
  done
done

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# cost_table: one row per home, claw cold / warm and each baseline, the ratios per round.
COST_ROWS=()
cost_table() {
  local s home tmp cw cm cr ww wm wr bw bm brc name cmd said
  local -a CW CM WW XCAT XJQ XCC CAT JQ CC
  for s in "${SCALES[@]}"; do
    home=$CACHE/$s/home
    CW=() CM=() WW=() XCAT=() XJQ=() XCC=() CAT=() JQ=() CC=()
    for ((round = 1; round <= REPEAT; round++)); do
      echo "bench: $s: cost-track round $round/$REPEAT (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      tmp=$(mktemp -d)
      export CLAW_OPENCLAW_DIR=$home CLAW_STATE_DIR=$tmp/state CLAW_NOW=$NOW HOME=$tmp
      [[ $CAN_DROP == yes ]] && drop_caches
      read -r cw cm cr < <(measure "$BIN" -q cost-track)
      read -r ww wm wr < <(measure "$BIN" -q cost-track)
      [[ $cr == 0 && $wr == 0 ]] || echo "bench: $s: cost-track exited $cr / $wr" >&2
      CW+=("$cw") CM+=("$cm") WW+=("$ww")
      said=""
      for name in cat jq ccusage; do
        case $name in
          cat) cmd=$COST_CAT ;;
          jq) cmd=$COST_JQ ;;
          ccusage) [[ -x $CCUSAGE ]] || continue; cmd=$COST_CCUSAGE ;;
        esac
        cmd=${cmd//\{ccusage\}/$CCUSAGE}
        cmd=${cmd//\{home\}/$home}
        [[ $CAN_DROP == yes ]] && drop_caches
        read -r bw bm brc < <(measure timeout "$BASELINE_TIMEOUT" bash -c "$cmd")
        [[ $brc == 0 ]] || continue # not run here (99), stopped (124) or failed: no figure
        said+=", $name ${bw}s"
        case $name in
          # claw / cat: how far above the floor (1.0× is reading speed).
          cat) CAT+=("$bw") XCAT+=("$(awk -v c="$cw" -v b="$bw" 'BEGIN { printf "%.2f", c / b }')") ;;
          jq) JQ+=("$bw") XJQ+=("$(awk -v c="$cw" -v b="$bw" 'BEGIN { printf "%.2f", b / c }')") ;;
          ccusage) CC+=("$bw") XCC+=("$(awk -v c="$cw" -v b="$bw" 'BEGIN { printf "%.2f", b / c }')") ;;
        esac
      done
      # Each round's figures, so a median can be read against the spread under it.
      echo "bench: $s: round $round: claw ${cw}s${said}" >&2
      unset CLAW_OPENCLAW_DIR CLAW_STATE_DIR CLAW_NOW
      export HOME=$REAL_HOME
      rm -rf "$tmp"
    done
    fig() { [[ $# -gt 0 ]] && echo "$(median "$@")s" || echo "-"; }
    x() { [[ $# -gt 0 ]] && echo "$(median "$@")×" || echo "-"; }
    COST_ROWS+=("| $s ($(du -sh "$home/agents" | cut -f1) agents/) | $(median "${CW[@]}")s / $(median "${CM[@]}" | awk '{printf "%.0f", $1}') MB | $(median "${WW[@]}")s | $(fig ${CAT[@]+"${CAT[@]}"}) | $(x ${XCAT[@]+"${XCAT[@]}"}) | $(fig ${JQ[@]+"${JQ[@]}"}) | $(x ${XJQ[@]+"${XJQ[@]}"}) | $(fig ${CC[@]+"${CC[@]}"}) | $(x ${XCC[@]+"${XCC[@]}"}) |")
  done
}
cost_table

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); claw $("$BIN" --version | cut -d' ' -f2)."
for s in "${SCALES[@]}"; do
  echo "Home $s: $(du -sh "$CACHE/$s/home" | cut -f1), generated in ${GEN_SECS[$s]} s (release, seed $SEED)."
done
echo "Cold: fresh claw state dir; page cache dropped: $CAN_DROP. Warm: second run, nothing new. Ratios: baseline time / claw time."
echo
echo "| job | home | claw cold (wall / peak RSS) | claw warm | baseline (what operators do today) | cold vs baseline | warm vs baseline |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"

echo
echo "cost-track beside its baselines, same rounds (median of $REPEAT; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)). claw/cat: times the floor (lower is better); jq/claw and ccusage/claw: times faster than the baseline."
echo
echo "| home | claw cold (wall / peak RSS) | claw warm | cat of the tree | claw/cat | jq | jq/claw | ccusage 20.0.24 | ccusage/claw |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${COST_ROWS[@]}"

# config validate beside `openclaw config validate` on the homes' configs with the real
# schema, repeated rounds (milliseconds need them on a shared box): scripts/bench-validate.sh.
if [[ -n $OPENCLAW && -s $SCHEMA ]]; then
  VCFGS=()
  for s in "${SCALES[@]}"; do
    [[ $s != *200 && -f $CACHE/$s/home/openclaw.json ]] && VCFGS+=("$CACHE/$s/home/openclaw.json")
  done
  if [[ ${#VCFGS[@]} -gt 0 ]]; then
    echo
    # Fewer rounds in --quick (CI): each OpenClaw run is a second or more.
    VROUNDS=7
    [[ ${1:-} == --quick ]] && VROUNDS=3
    CLAW_BENCH_VALIDATE_ROUNDS=${CLAW_BENCH_VALIDATE_ROUNDS:-$VROUNDS} \
      "$ROOT/scripts/bench-validate.sh" "$BIN" "$OPENCLAW" "$SCHEMA" "${VCFGS[@]}"
  fi
fi

# compaction-backup on a home that grows by appends, against full copies (full run only).
if [[ " ${SCALES[*]} " == *" large "* ]]; then
  echo
  echo "compaction-backup, 50 rounds of appends on the large home:"
  echo
  "$ROOT/scripts/bench-cbackup-growth.sh" "$CACHE/large/home" 50
fi
