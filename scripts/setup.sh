#!/usr/bin/env bash
# Idempotent setup: .venv with pinned requirements, and a Chromium that Playwright can drive.
# Order: Playwright's own Chromium if `playwright install` works, else the system's
# (installing Debian's chromium + fonts with apt where we run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.requirements.sha

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
want=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing requirements (first time takes about a minute)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  echo "$want" > "$STAMP"
fi
# The package itself, editable, for the console scripts iwrbench-generate / iwrbench-evaluate. A .venv that
# is a link to another checkout's environment (a git worktree sharing it) is left pointing where it points.
if [ ! -L "$VENV" ] && ! "$VENV/bin/python" -m pip show -q iwrbench >/dev/null 2>&1; then
  echo "setup: installing the iwrbench package (editable) and its console scripts"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
fi

have_chromium() {
  "$VENV/bin/python" - <<'PYEOF'
import sys
from iwrbench.sandbox.chromium_path import find_chromium
sys.exit(0 if find_chromium() else 1)
PYEOF
}

if ! have_chromium; then
  echo "setup: trying Playwright's own Chromium"
  if ! timeout 300 "$VENV/bin/python" -m playwright install chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "setup: Playwright's download failed; installing Debian's chromium with apt"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq chromium fonts-liberation fonts-dejavu-core >/dev/null
    fi
  fi
  if ! have_chromium; then
    echo "setup: no Chromium found. Install one (e.g. apt-get install chromium) or set IWRBENCH_CHROMIUM." >&2
    exit 1
  fi
fi
echo "setup: ready ($("$VENV/bin/python" -c 'from iwrbench.sandbox.chromium_path import find_chromium; print(find_chromium())'))"
