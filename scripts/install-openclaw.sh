#!/bin/sh
# Idempotently install the reference OpenClaw (node@24 + openclaw, both from the npm registry)
# and print the path of a wrapper that runs it under node 24.
#
# usage: scripts/install-openclaw.sh [DIR]
#   DIR      default $CLAW_OPENCLAW_REF_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/claw-openclaw
#   env      OC_VERSION (default 2026.9.6), OC_NODE_SPEC (default 24)
#            Give each version its own DIR (scripts/e2e.sh uses claw-openclaw for 2026.9.6 and
#            claw-openclaw-<version> for the others): one npm project holds one openclaw.
# prints    DIR/bin/openclaw   (a sh wrapper: node 24 + openclaw.mjs, node 24 first on PATH)
#
# Why two npm steps: openclaw's preinstall refuses a node older than 24.16 and runs with
# whichever `node` is first on PATH, so node@24 is installed first and put on PATH for the
# openclaw install. A re-run with the right version in place is a fast no-op.
set -eu
dir=${1:-${CLAW_OPENCLAW_REF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claw-openclaw}}
oc_ver=${OC_VERSION:-2026.9.6}
node_spec=${OC_NODE_SPEC:-24}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
node_bin="$dir/node_modules/node/bin/node"
oc_entry="$dir/node_modules/openclaw/openclaw.mjs"
wrapper="$dir/bin/openclaw"

installed() {
  [ -x "$node_bin" ] && [ -f "$oc_entry" ] &&
    "$node_bin" "$oc_entry" --version 2>/dev/null | grep -q "^OpenClaw $oc_ver "
}

if ! installed; then
  command -v npm >/dev/null 2>&1 || { echo "install-openclaw.sh: npm not found on PATH" >&2; exit 69; }
  [ -f "$dir/package.json" ] || printf '{"name":"claw-openclaw-ref","private":true}\n' >"$dir/package.json"
  (
    cd "$dir"
    npm install --no-audit --no-fund --save-exact "node@$node_spec" >&2
    PATH="$dir/node_modules/node/bin:$PATH" npm install --no-audit --no-fund --save-exact "openclaw@$oc_ver" >&2
  )
  installed || { echo "install-openclaw.sh: $oc_entry does not report OpenClaw $oc_ver" >&2; exit 70; }
fi

if [ ! -x "$wrapper" ] || ! grep -q "$oc_entry" "$wrapper" 2>/dev/null; then
  mkdir -p "$dir/bin"
  tmp="$wrapper.tmp.$$"
  cat >"$tmp" <<WRAP
#!/bin/sh
# runs OpenClaw $oc_ver under node 24 (written by claw's scripts/install-openclaw.sh)
PATH="$dir/node_modules/node/bin:\$PATH"
export PATH
exec "$node_bin" "$oc_entry" "\$@"
WRAP
  chmod 755 "$tmp"
  mv "$tmp" "$wrapper"
fi
echo "$wrapper"
