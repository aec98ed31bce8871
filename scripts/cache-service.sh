#!/usr/bin/env bash
# A local stand-in for GitHub's Actions cache service v2 (what BuildKit's `type=gha` cache and
# @actions/cache talk to on a runner), for the end-to-end tests and benchmarks:
#   - Azurite, Microsoft's Azure Storage emulator (npm package `azurite`), as the blob storage,
#     with one storage account whose key is made here;
#   - scripts/cache-service/server.mjs, the service's Twirp JSON methods, handing out signed
#     Azure Blob URLs as GitHub's service does.
#
#   cache-service.sh up                 start both (idempotent), write service.env
#   cache-service.sh down               stop what this script started (and nothing else)
#   cache-service.sh token SCOPE[:r|w|rw] ...   print an ACTIONS_RUNTIME_TOKEN with those scopes
#
# service.env holds ACTIONS_RESULTS_URL, ACTIONS_CACHE_SERVICE_V2 and AOT_CACHE_STATE; with a
# token from `token` that is the environment a runner gives a job.
#
# Environment: AOT_CACHE_STATE [/var/tmp/aot-buildx-cache], AOT_CACHE_ADDR [127.0.0.1:5010],
#              AOT_AZURITE_ADDR [127.0.0.1:10000], AOT_CACHE_TIMEOUT [60]
# A second instance (e.g. for tests that switch faults on, see server.mjs) is the same command
# with its own state folder and addresses; up, down and token then act on that one only:
#   AOT_CACHE_STATE=/var/tmp/aot-buildx-cache-2 AOT_CACHE_ADDR=127.0.0.1:5012 \
#     AOT_AZURITE_ADDR=127.0.0.1:10002 cache-service.sh up
set -euo pipefail

HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
REPO="$(dirname "$HERE")"
STATE="${AOT_CACHE_STATE:-/var/tmp/aot-buildx-cache}"
ADDR="${AOT_CACHE_ADDR:-127.0.0.1:5010}"
AZ_ADDR="${AOT_AZURITE_ADDR:-127.0.0.1:10000}"
TIMEOUT="${AOT_CACHE_TIMEOUT:-60}"
ACCOUNT=aotcache

log() { echo "==> cache-service: $*"; }
die() { echo "ERROR: cache-service: $*" >&2; exit 1; }

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }
# Ours: a service of another state folder would not know this folder's token secret.
service_ok() { curl -s -m 5 "http://$ADDR/_stand-in/health" 2>/dev/null | grep -qF "\"state\":\"$STATE\""; }
# Azurite answers any request (403 without a signature) once it listens.
azurite_ok() { local c; c=$(http_code "http://$AZ_ADDR/$ACCOUNT?comp=list"); [ -n "$c" ] && [ "$c" != 000 ]; }

pid_of_ours() { # NAME: the recorded pid, when it is still a node process
  local pid
  pid=$(cat "$STATE/$1.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = node ] && echo "$pid"
}

wait_for() { # DESCRIPTION PID CHECK
  local what=$1 pid=$2 check=$3 deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE/$what.log" >&2 || true; die "$what exited (log: $STATE/$what.log)"; }
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not answer within ${TIMEOUT}s (log: $STATE/$what.log)"
    sleep 0.2
  done
}

start() { # NAME CMD...: detached (own session, output to a log), pid recorded
  local name=$1; shift
  setsid "$@" >"$STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

up() {
  command -v node >/dev/null 2>&1 || die "node is not on PATH"
  [ -x "$REPO/node_modules/.bin/azurite-blob" ] || die "azurite is not installed: run npm ci in $REPO"
  command -v curl >/dev/null 2>&1 || die "curl is not on PATH"
  if [ -L "$STATE" ]; then die "$STATE is a symlink; remove it or set AOT_CACHE_STATE"; fi
  mkdir -p "$STATE/azurite"
  chmod 700 "$STATE"
  umask 077
  # Made once: the token signing secret and the storage account's key.
  [ -s "$STATE/secret" ] || head -c 32 /dev/urandom >"$STATE/secret"
  [ -s "$STATE/azurite.key" ] || head -c 64 /dev/urandom | base64 -w0 >"$STATE/azurite.key"
  if service_ok; then
    log "already answers on http://$ADDR/"
  else
    if ! azurite_ok; then
      pid_of_ours azurite >/dev/null && die "our Azurite runs but does not answer on $AZ_ADDR (log: $STATE/azurite.log)"
      log "starting Azurite's blob service on $AZ_ADDR (log: $STATE/azurite.log)"
      start azurite env "AZURITE_ACCOUNTS=$ACCOUNT:$(cat "$STATE/azurite.key")" \
        "$REPO/node_modules/.bin/azurite-blob" --blobHost "${AZ_ADDR%:*}" --blobPort "${AZ_ADDR##*:}" \
        --location "$STATE/azurite" --disableTelemetry --skipApiVersionCheck --silent
      wait_for azurite "$(cat "$STATE/azurite.pid")" azurite_ok
    fi
    # Ours but not healthy (e.g. Azurite had died): started again.
    stop_one service
    [ "$(http_code "http://$ADDR/_stand-in/health")" = 000 ] || die "something else answers on http://$ADDR/ (set AOT_CACHE_ADDR, or stop it)"
    log "starting the cache service on $ADDR (log: $STATE/service.log)"
    start service env "AOT_CACHE_STATE=$STATE" "AOT_CACHE_ADDR=$ADDR" "AOT_AZURITE_URL=http://$AZ_ADDR/$ACCOUNT" \
      node "$HERE/cache-service/server.mjs"
    wait_for service "$(cat "$STATE/service.pid")" service_ok
  fi
  printf 'ACTIONS_RESULTS_URL=http://%s/\nACTIONS_CACHE_SERVICE_V2=True\nAOT_CACHE_STATE=%s\n' "$ADDR" "$STATE" >"$STATE/service.env"
  log "ready: ACTIONS_RESULTS_URL=http://$ADDR/ (blobs: http://$AZ_ADDR/$ACCOUNT); $STATE/service.env"
}

stop_one() { # NAME
  local pid
  if ! pid=$(pid_of_ours "$1"); then rm -f "$STATE/$1.pid"; return 0; fi
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { kill -KILL "$pid" 2>/dev/null || true; break; }
    sleep 0.2
  done
  rm -f "$STATE/$1.pid"
}

down() {
  stop_one service
  stop_one azurite
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  token) shift; [ -s "$STATE/secret" ] || die "not set up: run $0 up"; node "$HERE/cache-service/token.mjs" "$STATE" "$@" ;;
  *) die "usage: $0 up|down|token SCOPE[:r|w|rw] ..." ;;
esac
