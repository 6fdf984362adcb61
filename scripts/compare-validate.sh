#!/bin/sh
# Compare `claw config validate` with the real `openclaw config validate --json` on every config
# in ../shared/samples/configs/ and on claw's own cases in tests/fixtures/configs/, and print a
# markdown table (with the generated corpus of scripts/compare_corpus.py). Exit 0 when every
# verdict agrees and error paths agree as required, 1 otherwise.
#
# usage: scripts/compare-validate.sh [--only SUBSTRING] [--no-cache] [--jobs N]
# env:   CLAW_BIN             claw binary to test (default: `cargo build`, target/debug/claw)
#        CLAW_TEST_OPENCLAW   openclaw executable (default: scripts/install-openclaw.sh, which
#                             installs node@24 + openclaw@2026.9.6 from npm on first use)
#        CLAW_SHARED          the shared samples checkout (default: ../shared beside the repo)
#        CLAW_COMPARE_CACHE   where OpenClaw's verdicts are kept between runs, per OpenClaw
#                             version and case content (default: $XDG_CACHE_HOME/claw-compare,
#                             ~/.cache/claw-compare); `--no-cache` always asks OpenClaw
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

claw=${CLAW_BIN:-}
if [ -z "$claw" ]; then
  (cd "$root" && cargo build --quiet)
  claw="$(cd "$root" && realpath -m "${CARGO_TARGET_DIR:-target}")/debug/claw"
fi
oc=${CLAW_TEST_OPENCLAW:-}
if [ -z "$oc" ]; then
  oc=$("$root/scripts/install-openclaw.sh")
fi
shared=${CLAW_SHARED:-$root/../shared}
samples="$shared/samples/configs"
[ -d "$samples" ] || { echo "compare-validate.sh: $samples: no such directory" >&2; exit 66; }
command -v python3 >/dev/null 2>&1 || { echo "compare-validate.sh: python3 not found" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/claw-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/home" "$work/oc-state"
# TOML basic string: escape backslashes and quotes in the path.
oc_toml=$(printf '%s' "$oc" | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '[general]\nopenclaw_bin = "%s"\n' "$oc_toml" >"$work/claw.toml"

# Cache the schema the installed OpenClaw prints, through claw itself (as an operator would).
env -i PATH=/usr/bin:/bin HOME="$work/home" OPENCLAW_STATE_DIR="$work/oc-state" \
  CLAW_STATE_DIR="$work/claw-state" CLAW_SETTINGS="$work/claw.toml" \
  "$claw" config schema refresh

python3 "$root/scripts/compare_validate.py" \
  --claw "$claw" --openclaw "$oc" \
  --claw-state "$work/claw-state" --claw-settings "$work/claw.toml" \
  --fixtures "$root/tests/fixtures/configs" --samples "$samples" \
  --scratch "$work/cases" \
  --cache "${CLAW_COMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claw-compare}" "$@"
