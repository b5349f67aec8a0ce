#!/usr/bin/env bash
# Run the whole suite on SQLite, then on a throw-away PostgreSQL (installed from Debian when missing).
# Any pytest failure, including exit 5 (no tests collected), fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PYTEST_ARGS=()
POSTGRES_ONLY=0
for arg in "$@"; do
  if [ "$arg" = "--postgres-only" ]; then POSTGRES_ONLY=1; else PYTEST_ARGS+=("$arg"); fi
done

# The portal's browser test drives Debian's chromium (never `playwright install`, which downloads its own).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "== installing chromium (Debian package) for the portal browser test"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ "$POSTGRES_ONLY" = 0 ]; then
  echo "== pytest on SQLite"
  "$PY" -m pytest -q ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}
fi

echo "== starting a throw-away PostgreSQL"
eval "$(./scripts/pg.sh start)"
trap './scripts/pg.sh stop "$PG_DIR"' EXIT
echo "== pytest on PostgreSQL ($WHOLESALE_TEST_DATABASE_URL)"
WHOLESALE_TEST_DATABASE_URL="$WHOLESALE_TEST_DATABASE_URL" "$PY" -m pytest -q ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}
