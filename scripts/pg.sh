#!/usr/bin/env bash
# `pg.sh start` installs PostgreSQL if needed, starts a throw-away cluster on a free loopback port and prints
# shell assignments (PG_DIR, WHOLESALE_TEST_DATABASE_URL); `pg.sh stop DIR` stops it and removes DIR.
set -euo pipefail
as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
case "${1:-}" in
  start)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      echo "installing postgresql (Debian package)" >&2
      $SUDO apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
    fi
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    DIR=$(mktemp -d /tmp/wholesale-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_postgres "$PGBIN/initdb -D $DIR/data -A trust -U postgres" >/dev/null
    as_postgres "$PGBIN/pg_ctl -D $DIR/data -o '-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' -l $DIR/log -w start" >/dev/null
    as_postgres "$PGBIN/psql -h 127.0.0.1 -p $PORT -U postgres -qc 'create database wholesale_test'" >/dev/null
    echo "PG_DIR=$DIR"
    echo "WHOLESALE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/wholesale_test"
    ;;
  stop)
    DIR="$2"
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    as_postgres "$PGBIN/pg_ctl -D $DIR/data -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: pg.sh start | stop DIR" >&2; exit 2 ;;
esac
