#!/usr/bin/env bash
# Starts and stops the local broker (tansu, a Kafka-protocol broker) on loopback.
#   scripts/stack.sh broker-start <port> <storage> <dir>   storage: memory | sqlite
#   scripts/stack.sh broker-stop <dir>
# The broker's pid and log live in <dir>. It listens on IPv4 only, so it advertises 127.0.0.1.
set -euo pipefail

cache="${HUB_CACHE:-$HOME/.cache/county-health-hub}"
tansu="$cache/tansu-0.6.0/bin/tansu"

log() { printf '[stack] %s\n' "$*" >&2; }

wait_for_port() {
  local port="$1" what="$2"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$what did not open 127.0.0.1:$port"; return 1
}

broker_start() {
  local port="$1" storage="$2" dir="$3"
  mkdir -p "$dir"
  if [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
    log "broker already running (pid $(cat "$dir/broker.pid"))"; return 0
  fi
  [ -x "$tansu" ] || { log "tansu is not built: run scripts/setup.sh"; exit 1; }
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "127.0.0.1:$port is already in use (another broker?); stop it or choose another port"
    exit 1
  fi
  local engine
  case "$storage" in
    memory) engine="memory://tansu/" ;;
    # Relative path: tansu mangles absolute sqlite paths. It is relative to $dir (the cwd below).
    sqlite) engine="sqlite://broker.db" ;;
    *) log "unknown storage $storage"; exit 1 ;;
  esac
  (
    cd "$dir"
    # Its own session: a Ctrl-C meant for the script that started it does not stop it first.
    exec setsid "$tansu" broker \
      --cluster-id county-health-hub \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$engine" >"$dir/broker.log" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$dir/broker.pid"
  wait_for_port "$port" "tansu" && kill -0 "$pid" 2>/dev/null \
    || { log "tansu did not start"; tail -n 20 "$dir/broker.log" >&2; exit 1; }
  log "broker on 127.0.0.1:$port ($storage), log $dir/broker.log"
}

broker_stop() {
  local dir="$1"
  if [ -f "$dir/broker.pid" ]; then
    local pid
    pid="$(cat "$dir/broker.pid")"
    kill "$pid" 2>/dev/null || true
    # Gone before returning, so that its port is free again; killed if it hangs.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker (pid $pid) did not stop in 10 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/broker.pid"
  fi
}

case "${1:-}" in
  broker-start) broker_start "$2" "$3" "$4" ;;
  broker-stop) broker_stop "$2" ;;
  *) echo "usage: $0 broker-start <port> <memory|sqlite> <dir> | broker-stop <dir>" >&2; exit 2 ;;
esac
