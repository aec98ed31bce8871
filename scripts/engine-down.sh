#!/usr/bin/env bash
# Stop what scripts/engine-up.sh started — and nothing else: the registries, then dockerd,
# then containerd, each by the pid recorded in the state dir, waiting for each to exit.
# Daemons that were already running before engine-up.sh (no pid file) are left alone.
# Installed packages, daemon.json, binfmt handlers and registry data are kept.
# Safe to run twice.
#
# Environment: AOT_ENGINE_STATE (default /var/tmp/aot-buildx-engine), AOT_ENGINE_TIMEOUT (default 60)
set -euo pipefail

STATE="${AOT_ENGINE_STATE:-/var/tmp/aot-buildx-engine}"
TIMEOUT="${AOT_ENGINE_TIMEOUT:-60}"

log() { echo "==> $*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

# The recorded pid must still be the program we started (pids get reused).
is_ours() { # pid expected-comm
  local comm
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [ "$comm" = "$2" ]
}

wait_gone() { # pid seconds
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

stop_one() { # name expected-comm
  local name=$1 comm=$2 f="$STATE/$1.pid" pid
  if [ ! -f "$f" ]; then
    log "$name: no pid file, nothing to stop"
    return 0
  fi
  pid=$(cat "$f")
  if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
    log "$name: pid ${pid:-?} is not running"
    rm -f "$f"
    return 0
  fi
  if ! is_ours "$pid" "$comm"; then
    log "$name: pid $pid is now '$(cat "/proc/$pid/comm" 2>/dev/null)', not $comm: leaving it alone"
    rm -f "$f"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$TIMEOUT"; then
    log "$name: pid $pid still running after ${TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name: pid $pid did not exit"
  fi
  rm -f "$f"
  log "$name: stopped"
}

if [ "$(id -u)" -ne 0 ] && ls "$STATE"/*.pid >/dev/null 2>&1; then
  command -v sudo >/dev/null 2>&1 || die "run as root"
  exec sudo --preserve-env=AOT_ENGINE_STATE,AOT_ENGINE_TIMEOUT bash "$0" "$@"
fi

stop_one registry docker-registry
stop_one auth-registry docker-registry
stop_one dockerd dockerd
stop_one containerd containerd
log "engine-down done"
