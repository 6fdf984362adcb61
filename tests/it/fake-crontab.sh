#!/bin/sh
# A stand-in for crontab(1) in install tests: `-l` prints $FAKE_CRONTAB_FILE, `-` replaces it.
case "$1" in
  -l) [ -f "$FAKE_CRONTAB_FILE" ] || { echo "no crontab for user" >&2; exit 1; }; cat "$FAKE_CRONTAB_FILE" ;;
  -) cat >"$FAKE_CRONTAB_FILE" ;;
  *) echo "fake crontab: unsupported $*" >&2; exit 2 ;;
esac
