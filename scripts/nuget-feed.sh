#!/usr/bin/env bash
# An authenticated NuGet v3 feed for the end-to-end tests, as a company's private feed looks to
# a build: nginx (Debian's nginx-light) serving a static feed (service index + flat container)
# behind HTTP basic auth, on the Docker bridge's gateway address so that build containers
# reach it. The tests pack a package and drop it into the feed's folder.
#
#   nuget-feed.sh up     install nginx if missing, start the feed (idempotent), write feed.env
#   nuget-feed.sh down   stop the nginx this script started (and nothing else)
#
# feed.env (mode 0600) holds AOT_FEED_URL (service index), AOT_FEED_ROOT (folder the flat
# container is served from), AOT_FEED_USER and AOT_FEED_PASSWORD (made once, random).
#
# Environment: AOT_FEED_STATE [/var/tmp/aot-buildx-feed], AOT_FEED_PORT [5555],
#              AOT_FEED_HOST [the gateway of Docker's bridge network], AOT_FEED_TIMEOUT [30]
set -euo pipefail

STATE="${AOT_FEED_STATE:-/var/tmp/aot-buildx-feed}"
PORT="${AOT_FEED_PORT:-5555}"
TIMEOUT="${AOT_FEED_TIMEOUT:-30}"

log() { echo "==> nuget-feed: $*"; }
die() { echo "ERROR: nuget-feed: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root"
  exec sudo --preserve-env=AOT_FEED_STATE,AOT_FEED_PORT,AOT_FEED_HOST,AOT_FEED_TIMEOUT bash "$0" "$@"
fi

pid_of_ours() { # the master pid nginx wrote, when it is still nginx
  local pid
  pid=$(cat "$STATE/nginx.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ] && echo "$pid"
}

down() {
  local pid
  if ! pid=$(pid_of_ours); then log "not running"; return 0; fi
  log "stopping nginx (pid $pid)"
  kill -QUIT "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { kill -KILL "$pid" 2>/dev/null || true; break; }
    sleep 0.2
  done
  rm -f "$STATE/nginx.pid"
  log "stopped"
}

http_code() { # url [user:password]: the credentials go to curl on stdin, never on its command line
  if [ -n "${2:-}" ]; then
    printf 'user = "%s"\n' "$2" | curl -s -o /dev/null -m 5 -w '%{http_code}' -K - "$1" 2>/dev/null || true
  else
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true
  fi
}

# The state folder holds the config nginx (root) reads: it must be ours, not a symlink another
# user planted under a world-writable parent.
own_state() {
  if [ -L "$STATE" ]; then die "$STATE is a symlink; remove it or set AOT_FEED_STATE"; fi
  mkdir -p "$STATE"
  [ "$(stat -c %u "$STATE")" = "$(id -u)" ] || die "$STATE belongs to another user; remove it or set AOT_FEED_STATE"
  chmod 755 "$STATE"
}

up() {
  { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; } || die "the Docker engine is not running (scripts/engine-up.sh starts it)"
  local host="${AOT_FEED_HOST:-}"
  [ -n "$host" ] || host=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null | head -n1)
  [[ "$host" =~ ^[0-9.]+$ ]] || die "could not find the Docker bridge's gateway address (got '$host'); set AOT_FEED_HOST"

  if ! command -v nginx >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "nginx is missing and apt-get is not there to install it"
    log "apt-get install nginx-light"
    # No service start by the package's scripts: this script starts its own nginx.
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; ours=1; fi
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light) >/dev/null ||
      { [ "$ours" = 0 ] || rm -f "$policy"; die "apt-get install nginx-light failed"; }
    [ "$ours" = 0 ] || rm -f "$policy"
  fi

  own_state
  mkdir -p "$STATE/root/v3/flat" "$STATE/logs"
  chmod 755 "$STATE/root" "$STATE/root/v3" "$STATE/root/v3/flat"
  if [ ! -s "$STATE/password" ]; then
    (umask 077; head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/password")
  fi
  local password url
  password=$(cat "$STATE/password")
  url="http://$host:$PORT/v3/index.json"
  # apr1 is one of the schemes nginx's auth_basic_user_file reads.
  printf 'ci:%s\n' "$(openssl passwd -apr1 "$password")" >"$STATE/htpasswd"
  chmod 644 "$STATE/htpasswd"
  cat >"$STATE/root/v3/index.json" <<EOF
{"version": "3.0.0", "resources": [{"@id": "http://$host:$PORT/v3/flat/", "@type": "PackageBaseAddress/3.0.0"}]}
EOF
  cat >"$STATE/nginx.conf" <<EOF
worker_processes 1;
pid $STATE/nginx.pid;
error_log $STATE/logs/error.log;
events { worker_connections 64; }
http {
  types { application/json json; application/octet-stream nupkg; }
  default_type application/octet-stream;
  # remote_user shows which requests came with credentials.
  log_format feed '\$remote_addr "\$remote_user" \$status "\$request"';
  access_log $STATE/logs/access.log feed;
  client_body_temp_path $STATE/tmp;
  server {
    listen $host:$PORT;
    root $STATE/root;
    auth_basic "aot-buildx test feed";
    auth_basic_user_file $STATE/htpasswd;
  }
}
EOF
  mkdir -p "$STATE/tmp"
  (umask 077; printf 'AOT_FEED_URL=%s\nAOT_FEED_ROOT=%s\nAOT_FEED_USER=ci\nAOT_FEED_PASSWORD=%s\nAOT_FEED_ACCESS_LOG=%s\n' "$url" "$STATE/root/v3/flat" "$password" "$STATE/logs/access.log" >"$STATE/feed.env")

  local pid
  if pid=$(pid_of_ours); then
    nginx -t -q -c "$STATE/nginx.conf" || die "the feed's nginx.conf does not pass nginx -t"
    kill -HUP "$pid"
    log "nginx (pid $pid) reloaded"
  else
    nginx -c "$STATE/nginx.conf" || die "nginx did not start; see $STATE/logs/error.log"
  fi
  local deadline=$((SECONDS + TIMEOUT))
  until [ "$(http_code "$url" "ci:$password")" = 200 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "$url did not answer 200 with the feed's credentials within ${TIMEOUT}s; see $STATE/logs/error.log"
    sleep 0.2
  done
  [ "$(http_code "$url")" = 401 ] || die "$url answers without credentials: the feed must refuse them"
  log "serving $url (basic auth; without credentials 401); credentials in $STATE/feed.env"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: nuget-feed.sh up|down" ;;
esac
