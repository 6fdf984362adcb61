#!/usr/bin/env bash
# Install claw for the current user: the binary, a settings file, and either systemd user
# timers (default when systemd is present) or a crontab line. Idempotent; --uninstall undoes
# it (settings and state are kept); --dry-run prints what it would do and changes nothing.
#
#   scripts/install.sh [--dry-run] [--uninstall] [--mode systemd|cron|none] [--per-job]
#                      [--bin PATH] [--prefix DIR] [--no-enable]
#                      [--system [--user NAME] [--root DIR]]
#
#   --mode      systemd: claw-tick.timer (or one timer per job with --per-job) in
#               ~/.config/systemd/user; cron: one `claw tick` line in your crontab;
#               none: binary and settings only
#   --bin PATH  install this binary instead of building one with cargo (the build honours
#               CARGO_TARGET_DIR)
#   --prefix    where bin/ and share/ go (default ~/.local; /usr/local with --system)
#   --no-enable copy units but do not run systemctl (e.g. no user session yet)
#   --system    system units (jobs/system) in /etc/systemd/system, running as --user NAME
#               (default: $SUDO_USER, else openclaw: the account OpenClaw runs as), claw's
#               state in /var/lib/claw, settings in that account's ~/.config/claw; needs root
#   --root DIR  with --system: install under DIR instead of / (packaging, tests)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
dry=0 uninstall=0 mode="" per_job=0 bin="" enable=1 system=0 sys_user="" root="" prefix=""
: "${HOME:?HOME is not set}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --uninstall) uninstall=1 ;;
    --mode) mode="${2:?--mode needs systemd, cron or none}"; shift ;;
    --per-job) per_job=1 ;;
    --bin) bin="${2:?--bin needs a path}"; shift ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift ;;
    --no-enable) enable=0 ;;
    --system) system=1 ;;
    --user) sys_user="${2:?--user needs an account name}"; shift ;;
    --root) root="${2:?--root needs a directory}"; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$prefix" ]; then
  if [ "$system" = 1 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac
case "$root" in ""|/*) ;; *) echo "install.sh: --root must be absolute" >&2; exit 2 ;; esac
if [ -n "$root" ] && [ "$system" = 0 ]; then echo "install.sh: --root goes with --system" >&2; exit 2; fi
if [ -z "$mode" ]; then
  if [ "$system" = 1 ] || command -v systemctl >/dev/null 2>&1; then mode=systemd; else mode=cron; fi
fi
case "$mode" in systemd|cron|none) ;; *) echo "install.sh: --mode $mode: expected systemd, cron or none" >&2; exit 2 ;; esac
if [ "$system" = 1 ] && [ "$mode" = cron ]; then
  echo "install.sh: --system installs systemd units; for cron, install as the account itself" >&2; exit 2
fi

config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
if [ "$system" = 1 ]; then
  sys_user="${sys_user:-${SUDO_USER:-openclaw}}"
  # The account's home, where OpenClaw keeps ~/.openclaw and claw its settings.
  sys_home="$(getent passwd "$sys_user" 2>/dev/null | cut -d: -f6 || true)"
  if [ -z "$sys_home" ]; then
    if [ "$dry" = 1 ] || [ -n "$root" ]; then sys_home="/home/$sys_user"; else
      echo "install.sh: --user $sys_user: no such account" >&2; exit 67
    fi
  fi
  if [ "$dry" = 0 ] && [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: --system needs root (or --root DIR to stage the files)" >&2; exit 77
  fi
  config_home="$sys_home/.config"
  unitdir="$root/etc/systemd/system"
  unitsrc="$here/jobs/system"
  sysctl() { systemctl "$@"; }
else
  unitdir="$config_home/systemd/user"
  unitsrc="$here/jobs/user"
  sysctl() { systemctl --user "$@"; }
fi
bindir="$prefix/bin"
dest="$bindir/claw"
settings_dir="$config_home/claw"
crontab_cmd="${CRONTAB:-crontab}"
begin="# BEGIN claw (managed by scripts/install.sh)"
end="# END claw"

say() { echo "install.sh: $*"; }
# Run a command, or only print it with --dry-run.
act() {
  if [ "$dry" = 1 ]; then echo "would: $*"; else "$@"; fi
}
# Copy $1 to $root$2 with mode $3 unless identical.
put() {
  local to="$root$2"
  if [ -f "$to" ] && cmp -s "$1" "$to"; then
    [ "$dry" = 1 ] && echo "unchanged: $to"
    return 0
  fi
  act install -D -m "$3" "$1" "$to"
}
# The crontab on stdin minus claw's block, every other byte kept (blank lines too).
without_block() { sed "/^# BEGIN claw (managed/,/^# END claw\$/d"; }
can_systemctl() {
  [ "$enable" = 1 ] && [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 &&
    if [ "$system" = 1 ]; then [ -d /run/systemd/system ]; else systemctl --user show-environment >/dev/null 2>&1; fi
}
units() {
  if [ "$per_job" = 1 ]; then
    for f in "$unitsrc"/claw-*.timer; do
      case "$f" in */claw-tick.timer) ;; *) basename "$f" .timer ;; esac
    done
  else
    echo claw-tick
  fi
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ "$uninstall" = 1 ]; then
  if [ -d "$unitdir" ]; then
    for t in "$unitdir"/claw-*.timer; do
      [ -e "$t" ] || continue
      if can_systemctl; then act sysctl disable --now "$(basename "$t")" || true; fi
    done
    for f in "$unitdir"/claw-*.service "$unitdir"/claw-*.timer; do
      if [ -e "$f" ]; then act rm -f "$f"; fi
    done
    if can_systemctl; then act sysctl daemon-reload; fi
  fi
  if [ "$system" = 0 ] && command -v "$crontab_cmd" >/dev/null 2>&1 &&
    "$crontab_cmd" -l 2>/dev/null | grep -qxF "$begin"; then
    if [ "$dry" = 1 ]; then echo "would: remove the claw block from your crontab"; else
      "$crontab_cmd" -l >"$tmp/crontab" 2>/dev/null
      without_block <"$tmp/crontab" | "$crontab_cmd" -
    fi
  fi
  for f in "$root$dest" "$root$prefix/share/bash-completion/completions/claw" \
           "$root$prefix/share/zsh/site-functions/_claw" "$root$prefix/share/fish/vendor_completions.d/claw.fish" \
           "$root$prefix"/share/man/man1/claw.1 "$root$prefix"/share/man/man1/claw-*.1; do
    if [ -e "$f" ]; then act rm -f "$f"; fi
  done
  state="~/.local/state/claw"
  [ "$system" = 1 ] && state="/var/lib/claw"
  if [ "$dry" = 1 ]; then
    say "dry run: nothing was removed; $settings_dir and claw's state ($state) would be kept"
  else
    say "uninstalled; kept $settings_dir and claw's state ($state)"
  fi
  exit 0
fi

# 1. The binary. cargo puts it under CARGO_TARGET_DIR when that is set (relative to this
#    checkout), else target/.
if [ -z "$bin" ]; then
  target="${CARGO_TARGET_DIR:-$here/target}"
  case "$target" in /*) ;; *) target="$here/$target" ;; esac
  bin="$target/release/claw"
  if [ "$dry" = 1 ]; then
    echo "would: cargo build --release --locked (in $here, binary at $bin)"
  else
    (cd "$here" && cargo build --release --locked --quiet)
  fi
fi
if [ "$dry" = 0 ] && [ ! -x "$bin" ]; then echo "install.sh: $bin: not an executable" >&2; exit 66; fi
if [ -x "$bin" ]; then put "$bin" "$dest" 0755; else echo "would: install -D -m 0755 $bin $root$dest"; fi

# 2. Settings: the documented example, and claw.toml from it when there is none (owned by
#    the account the system units run as).
put "$here/examples/claw.example.toml" "$settings_dir/claw.example.toml" 0644
if [ ! -e "$root$settings_dir/claw.toml" ]; then
  act install -D -m 0600 "$here/examples/claw.example.toml" "$root$settings_dir/claw.toml"
  if [ "$system" = 1 ] && [ -z "$root" ]; then act chown -R "$sys_user:" "$settings_dir"; fi
fi

# 3. Completions and man pages (one per subcommand), generated by the binary being installed.
if [ -x "$bin" ]; then
  "$bin" completions bash >"$tmp/claw.bash"
  "$bin" completions zsh >"$tmp/_claw"
  "$bin" completions fish >"$tmp/claw.fish"
  "$bin" man --dir "$tmp/man1" >/dev/null
  put "$tmp/claw.bash" "$prefix/share/bash-completion/completions/claw" 0644
  put "$tmp/_claw" "$prefix/share/zsh/site-functions/_claw" 0644
  put "$tmp/claw.fish" "$prefix/share/fish/vendor_completions.d/claw.fish" 0644
  for page in "$tmp"/man1/*.1; do
    put "$page" "$prefix/share/man/man1/$(basename "$page")" 0644
  done
fi

# 4. The schedule.
case "$mode" in
  systemd)
    for u in $(units); do
      for ext in service timer; do
        if [ "$system" = 1 ]; then
          sed -e "s|/usr/local/bin/claw|$dest|" -e "s|^User=openclaw\$|User=$sys_user|" \
              -e "s|/home/openclaw/|$sys_home/|g" "$unitsrc/$u.$ext" >"$tmp/$u.$ext"
          put "$tmp/$u.$ext" "/etc/systemd/system/$u.$ext" 0644
        else
          sed "s|%h/.local/bin/claw|$dest|" "$unitsrc/$u.$ext" >"$tmp/$u.$ext"
          put "$tmp/$u.$ext" "$unitdir/$u.$ext" 0644
        fi
      done
    done
    if can_systemctl; then
      act sysctl daemon-reload
      for u in $(units); do act sysctl enable --now "$u.timer"; done
    else
      say "units are in $unitdir; enable them with:"
      for u in $(units); do
        if [ "$system" = 1 ]; then say "  systemctl enable --now $u.timer"; else say "  systemctl --user enable --now $u.timer"; fi
      done
      if [ "$system" = 0 ]; then say "(and 'loginctl enable-linger $(id -un)' so they run while you are logged out)"; fi
    fi
    ;;
  cron)
    command -v "$crontab_cmd" >/dev/null 2>&1 || { echo "install.sh: $crontab_cmd not found; use --mode systemd" >&2; exit 69; }
    # Work on files, not $(...), so every byte of the rest of the crontab is kept: blank
    # lines, comments, a missing final newline.
    "$crontab_cmd" -l >"$tmp/current" 2>/dev/null || : >"$tmp/current"
    without_block <"$tmp/current" >"$tmp/new"
    if [ -s "$tmp/new" ] && [ -n "$(tail -c 1 "$tmp/new")" ]; then echo >>"$tmp/new"; fi
    # cron has no trailing comments on variable lines, so the block is marked by comment
    # lines; its PATH applies only to the lines after it (the block goes last).
    printf '%s\n' "$begin" "PATH=$bindir:/usr/local/bin:/usr/bin:/bin" "* * * * * $dest tick" "$end" >>"$tmp/new"
    if cmp -s "$tmp/new" "$tmp/current"; then
      [ "$dry" = 1 ] && echo "unchanged: crontab"
    elif [ "$dry" = 1 ]; then
      sed -n "/^# BEGIN claw (managed/,/^# END claw\$/p" "$tmp/new" | sed 's/^/would: add to your crontab: /'
    else
      "$crontab_cmd" - <"$tmp/new"
    fi
    ;;
  none) ;;
esac
if [ "$dry" = 0 ]; then say "installed $root$dest (mode: $mode); check with: $dest doctor"; fi
