#!/usr/bin/env bash
# Installs what the hub's local stack needs on a fresh Debian machine with the Rust toolchain, and
# does nothing for what is already there. Safe to run again. Everything it builds or downloads is
# cached outside the repository, under $HUB_CACHE (default ~/.cache/county-health-hub):
#   - PostgreSQL: the machine's server if 127.0.0.1:5432 answers; else Debian's package, started.
#   - MariaDB (front-end-processor tables of connector-table): the machine's server if
#     127.0.0.1:3306 answers; else Debian's mariadb-server, started, root allowed from loopback.
#   - Prometheus and promtool (Debian's package): deploy/prometheus is checked and scraped by tests;
#     docker-compose (Debian's package) validates docker-compose.yml.
#   - Debian's chromium and Noto CJK fonts: the monitor's dashboard is tested in headless chromium.
#   - tansu 0.6.0, a Kafka-protocol broker from crates.io (about ten minutes to build, once).
#   - a Python virtualenv with confluent-kafka, the third-party client of the interop test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="${HUB_CACHE:-$HOME/.cache/county-health-hub}"
tansu_version="0.6.0"
tansu_bin="$cache/tansu-$tansu_version/bin/tansu"
venv="$cache/venv"
mkdir -p "$cache"

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    log "PostgreSQL answers on 127.0.0.1:5432"
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian's packages"
    apt_install postgresql postgresql-client
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  # A development and CI machine: trust connections from loopback only, as this machine kind does.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    log "allowing trusted loopback connections in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  log "PostgreSQL did not start"; exit 1
}

ensure_mariadb() {
  if (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
    log "MariaDB/MySQL answers on 127.0.0.1:3306"
    return
  fi
  if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing MariaDB from Debian's packages"
    apt_install mariadb-server mariadb-client
  fi
  log "starting MariaDB"
  as_root /etc/init.d/mariadb start >/dev/null || true
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
  (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null || { log "MariaDB did not start"; exit 1; }
  # As for PostgreSQL: a development machine, root without a password from loopback only (the
  # packaged root authenticates by unix socket, which this connects through).
  as_root mariadb -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
}

ensure_build_tools() {
  local missing=()
  command -v cc >/dev/null || missing+=(build-essential)
  command -v make >/dev/null || missing+=(make)
  command -v perl >/dev/null || missing+=(perl)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v pg_isready >/dev/null || missing+=(postgresql-client)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

ensure_tansu() {
  if [ -x "$tansu_bin" ]; then
    log "tansu $tansu_version cached at $tansu_bin"
    return
  fi
  log "building tansu $tansu_version (once per machine, about ten minutes)"
  cargo install --locked "tansu@$tansu_version" --features dynostore,libsql \
    --root "$cache/tansu-$tansu_version" >"$cache/tansu-build.log" 2>&1 \
    || { tail -n 30 "$cache/tansu-build.log" >&2; exit 1; }
}

ensure_python() {
  local requirements="$root/tests/interop/requirements.txt"
  local stamp="$venv/.requirements.sha"
  local want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "Python interop client ready in $venv"
    return
  fi
  log "installing the Python interop client (confluent-kafka) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$want" >"$stamp"
}

# Prometheus and promtool from Debian's packages: the tests check deploy/prometheus with promtool
# and scrape the services with a real Prometheus (started by the tests on loopback ports, never
# as a system service: the package's own service is not started here).
ensure_prometheus() {
  if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    log "Prometheus $(prometheus --version 2>&1 | head -n 1 | cut -d' ' -f3) and promtool present"
    return
  fi
  log "installing Prometheus and promtool from Debian's packages"
  apt_install prometheus
}

# Debian's docker-compose validates docker-compose.yml in the tests (no Docker engine needed).
ensure_compose_validator() {
  command -v docker-compose >/dev/null 2>&1 && return
  log "installing docker-compose from Debian's packages (to validate docker-compose.yml)"
  apt_install docker-compose
}

# Debian's chromium (headless) renders the monitor's dashboard in its test; Noto CJK draws its
# Chinese labels in the screenshot.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] && fc-list : family 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null; then
    log "chromium and Noto CJK fonts present"
    return
  fi
  log "installing chromium and Noto CJK fonts from Debian's packages"
  apt_install chromium fonts-noto-cjk
}

ensure_build_tools
ensure_postgres
ensure_prometheus
ensure_compose_validator
ensure_chromium
ensure_mariadb
ensure_python
ensure_tansu
command -v cargo-nextest >/dev/null 2>&1 || log "cargo-nextest not found: tests will run with cargo test"
log "ready"
