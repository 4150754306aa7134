#!/usr/bin/env bash
# Start a throwaway PostgreSQL and Redis on loopback, run the given command against
# them (DATABASE_URL, CELERY_BROKER_URL, CACHE_URL exported), then stop them.
# When localstripe (a local Stripe server, a dev extra) is installed, it is started on
# loopback too and STRIPE_API_BASE points at it, for the Stripe provider's tests.
# TEST_WORKERS=N (`make test`'s PYTEST_WORKERS) starts N more Redis servers, one per test
# worker, listed in TEST_WORKER_REDIS as `port:directory` (tests/workers.py).
# Exit status: the command's. Used by `make test` (and `make bench`).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
run_dir="$(mktemp -d /tmp/backoffice-services.XXXXXX)"
pg_data="$run_dir/pg"
redis_dir="$run_dir/redis"
mkdir -p "$redis_dir"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_postgres() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server with apt-get..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  else
    echo "redis-server is missing: install it (e.g. 'sudo apt-get install redis-server') and retry." >&2
    exit 2
  fi
}

for tool in initdb pg_ctl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is missing: install the PostgreSQL server (e.g. 'apt-get install postgresql')." >&2
    exit 2
  fi
done
ensure_redis

pg_port="$(free_port)"
redis_port="$(free_port)"

localstripe_bin=""
if [ -x "$here/.venv/bin/localstripe" ]; then
  localstripe_bin="$here/.venv/bin/localstripe"
elif command -v localstripe >/dev/null 2>&1; then
  localstripe_bin="$(command -v localstripe)"
fi
localstripe_pid=""

redis_dirs=("$redis_dir")

start_redis() {  # port directory
  mkdir -p "$2"
  redis-server --port "$1" --bind 127.0.0.1 --daemonize yes --dir "$2" \
    --pidfile "$2/redis.pid" --logfile "$2/redis.log" --save "" --appendonly no
}

wait_redis() {  # port
  for _ in $(seq 50); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
}

stop_redis() {  # directory
  if [ -f "$1/redis.pid" ]; then
    redis_pid="$(cat "$1/redis.pid")"
    kill "$redis_pid" 2>/dev/null
    # Redis writes its log and removes its pid file on the way out: let it finish first.
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

cleanup() {
  set +e
  if [ -n "$localstripe_pid" ]; then
    kill "$localstripe_pid" 2>/dev/null
    wait "$localstripe_pid" 2>/dev/null
  fi
  as_postgres pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1
  for dir in "${redis_dirs[@]}"; do stop_redis "$dir"; done
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" = "0" ]; then chown -R postgres "$run_dir"; chmod 755 "$run_dir"; fi
as_postgres initdb -D "$pg_data" -U postgres -A trust --no-sync >"$run_dir/initdb.log" 2>&1 \
  || { cat "$run_dir/initdb.log"; exit 1; }
as_postgres pg_ctl -D "$pg_data" -l "$run_dir/pg.log" -w -t 60 start -o \
  "-p $pg_port -k $run_dir -c listen_addresses=127.0.0.1 -c max_connections=1000 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  >/dev/null || { cat "$run_dir/pg.log"; exit 1; }

start_redis "$redis_port" "$redis_dir"
worker_redis=()
for worker in $(seq 0 $(("${TEST_WORKERS:-0}" - 1))); do
  port="$(free_port)"
  dir="$run_dir/redis-gw$worker"
  redis_dirs+=("$dir")
  start_redis "$port" "$dir"
  worker_redis+=("$port:$dir")
done
wait_redis "$redis_port"
for item in "${worker_redis[@]}"; do wait_redis "${item%%:*}"; done

if [ -n "$localstripe_bin" ]; then
  stripe_port="$(free_port)"
  "$(dirname "$localstripe_bin")/python" "$here/scripts/localstripe_serve.py" "$stripe_port" \
    >"$run_dir/localstripe.log" 2>&1 &
  localstripe_pid=$!
  for _ in $(seq 100); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
      "$stripe_port" 2>/dev/null && break
    sleep 0.1
  done
  export STRIPE_API_BASE="http://127.0.0.1:$stripe_port"
  export TEST_LOCALSTRIPE_LOG="$run_dir/localstripe.log"
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/backoffice"
export CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/0"
export CACHE_URL="redis://127.0.0.1:$redis_port/1"
export SECRET_KEY="${SECRET_KEY:-throwaway-test-secret-key-not-for-production-use-0123456789}"
export TEST_PG_DATA="$pg_data" TEST_PG_PORT="$pg_port" TEST_PG_SOCKET_DIR="$run_dir"
export TEST_REDIS_PORT="$redis_port" TEST_REDIS_DIR="$redis_dir"
export TEST_WORKER_REDIS="${worker_redis[*]}"
export WEBHOOK_ALLOW_PRIVATE_URLS=1

cd "$here"
set +e
"$@"
status=$?
set -e
exit $status
