#!/usr/bin/env bash
# Make this machine ready to build two-arch container images with docker buildx:
#   - a Docker engine with buildx and the containerd image store (multi-platform --load/--output),
#   - QEMU user-mode emulation registered in binfmt_misc (to *run* foreign-arch images),
#   - a local registry on http://127.0.0.1:5000 (override with AOT_REGISTRY_ADDR),
#   - a second one on http://127.0.0.1:5001 that needs a login (htpasswd, bcrypt), for the
#     tests of reading a baseline with the engine's logins (override with AOT_AUTH_REGISTRY_ADDR).
#
# Idempotent: whatever already works is left as it is. Anything this script starts
# (containerd, dockerd, the registry) is started detached, with its pid recorded in
# the state dir (AOT_ENGINE_STATE, default /var/tmp/aot-buildx-engine) so that
# scripts/engine-down.sh can stop exactly that and nothing else.
#
# Installs (only when something is missing or too old) are done with apt on Debian 12
# and 13 (bookworm, trixie), taking docker.io, docker-cli, docker-buildx and containerd from
# Debian forky behind an apt pin of 100 (Docker 28 + buildx 0.29 when this was written, as on
# GitHub's runners; BuildKit speaks GitHub's cache service v2 only from 0.20), or from forky/sid
# directly. An engine this script installed before with an older Docker (26 from trixie) is
# upgraded in place, keeping its images; a working engine it did not start is left as it is.
# On other systems it installs no engine: it says what is missing.
#
# Environment:
#   AOT_ENGINE_STATE          state dir (pids, logs, registry data)  [/var/tmp/aot-buildx-engine]
#   AOT_REGISTRY_ADDR         registry listen address                [127.0.0.1:5000]
#   AOT_AUTH_REGISTRY_ADDR    listen address of the registry that needs a login [127.0.0.1:5001];
#                             its user and password are in $AOT_ENGINE_STATE/auth-registry/
#   AOT_ENGINE_TIMEOUT        seconds to wait for each daemon        [90]
#   AOT_ENGINE_SKIP_REGISTRY  1 = do not set up the registries
#   AOT_ENGINE_SKIP_QEMU      1 = do not set up QEMU/binfmt
#   AOT_ENGINE_ALLOW_CLASSIC_STORE 1 = accept an already running engine without the
#                             containerd image store (e.g. when a docker-container builder is used)
set -euo pipefail

STATE="${AOT_ENGINE_STATE:-/var/tmp/aot-buildx-engine}"
REGISTRY_ADDR="${AOT_REGISTRY_ADDR:-127.0.0.1:5000}"
AUTH_REGISTRY_ADDR="${AOT_AUTH_REGISTRY_ADDR:-127.0.0.1:5001}"
AUTH_DIR="$STATE/auth-registry"
AUTH_USER=aot-e2e
TIMEOUT="${AOT_ENGINE_TIMEOUT:-90}"
CONTAINERD_SOCK=/run/containerd/containerd.sock

log() { echo "==> $*"; }
warn() { echo "WARNING: $*" >&2; }
die() { echo "ERROR: $*" >&2; exit 1; }


# ---------------------------------------------------------------- helpers
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# The daemon NAME this script started is still running (its recorded pid, still that program:
# pids are reused, e.g. after a reboot, and /var/tmp survives one).
ours_running() { local pid; pid=$(read_pid "$1"); pid_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; }
read_pid() { [ -f "$STATE/$1.pid" ] && cat "$STATE/$1.pid" || true; }

# wait_for DESCRIPTION PID COMMAND...: poll COMMAND until it succeeds, the process
# PID dies (if given), or TIMEOUT seconds pass.
wait_for() {
  local what=$1 pid=$2; shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      return 2
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
  log "$what is ready ($((SECONDS - ${_wait_start:-0}))s)"
}

docker_ok() { docker info >/dev/null 2>&1; }
buildx_ok() { docker buildx version >/dev/null 2>&1; }
containerd_store() { [[ "$(docker info --format '{{json .DriverStatus}}' 2>/dev/null)" == *io.containerd.snapshotter* ]]; }

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }
registry_ok() { [ "$(http_code "http://$REGISTRY_ADDR/v2/")" = 200 ]; }
# The registry that needs a login: 401 without credentials, 200 with the recorded ones (given
# to curl on stdin, so the password is on no command line).
auth_registry_code() {
  printf 'user = "%s:%s"\n' "$AUTH_USER" "$(cat "$AUTH_DIR/password" 2>/dev/null)" |
    curl -s -o /dev/null -m 5 -w '%{http_code}' -K - "http://$AUTH_REGISTRY_ADDR/v2/" 2>/dev/null || true
}
auth_registry_ok() {
  [ "$(http_code "http://$AUTH_REGISTRY_ADDR/v2/")" = 401 ] && [ -s "$AUTH_DIR/password" ] && [ "$(auth_registry_code)" = 200 ]
}

os_codename() { (. /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_CODENAME:-}") || echo ":"; }

# debian_mirror SUITE: the Debian mirror this host uses for SUITE.
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/apt-sources.sh"

# ---------------------------------------------------------------- apt
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -q || die "apt-get update failed"
    APT_UPDATED=1
  fi
}

# Keep package maintainer scripts from starting services (no systemd here; we start
# the daemons ourselves). Only if no policy-rc.d exists already; removed on exit.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
block_service_starts() {
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\n# temporary, written by aot-buildx engine-up.sh\nexit 101\n' | tee "$POLICY_RC" >/dev/null
    chmod 755 "$POLICY_RC"
    POLICY_RC_OURS=1
  fi
}
cleanup() {
  if [ "$POLICY_RC_OURS" = 1 ]; then rm -f "$POLICY_RC"; fi
}
trap cleanup EXIT

apt_install() {
  apt_update_once
  block_service_starts
  log "apt-get install $*"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" ||
    die "apt-get install $* failed"
}

pkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]; }

require_debian() {
  command -v apt-get >/dev/null 2>&1 || die "$1: apt-get not found; install it by hand (this script only installs on Debian 12/13)"
}

# ---------------------------------------------------------------- engine
dockerd_major() {
  command -v dockerd >/dev/null 2>&1 || { echo 0; return; }
  dockerd --version 2>/dev/null | sed -nE 's/^Docker version ([0-9]+)\..*/\1/p' | head -n1
}

# The engine the tests expect: Docker >= 28 with buildx >= 0.21 (GitHub's runners; gha cache v2).
WANT_DOCKER_MAJOR=28
WANT_BUILDX=0.21.0
buildx_semver() { docker buildx version 2>/dev/null | sed -nE 's/^[^ ]+ v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' | head -n1; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
# The answering engine's version when one answers (it may not be the dockerd on PATH), else the installed one.
engine_major() {
  local v
  v=$(docker version --format '{{.Server.Version}}' 2>/dev/null | sed -nE 's/^v?([0-9]+)\..*/\1/p')
  echo "${v:-$(dockerd_major)}"
}
engine_current() {
  [ "$(engine_major)" -ge "$WANT_DOCKER_MAJOR" ] 2>/dev/null && version_ge "$(buildx_semver)" "$WANT_BUILDX"
}

# An engine this script installed: its marker, or the trixie apt source its earlier versions
# wrote. Only such an engine is upgraded; one installed otherwise (docker-ce, ...) is not ours.
INSTALLED_MARKER=installed-engine
engine_installed_by_us() {
  pkg_installed docker.io && { [ -f "$STATE/$INSTALLED_MARKER" ] || [ -f /etc/apt/sources.list.d/aot-buildx-trixie.sources ]; }
}
# The suites install_engine_packages knows.
upgradable_os() { case "$(os_codename)" in debian:bookworm | debian:trixie | debian:forky | debian:sid) return 0 ;; *) return 1 ;; esac; }

# Our apt source for Debian forky next to bookworm's, pinned to 100 so that only what is
# named with /forky comes from it. Replaces the trixie source earlier versions wrote.
add_forky_source() { # SUITE: the host's own suite, whose mirror is used
  local mirror keyring
  mirror=$(debian_mirror "$1")
  mirror=${mirror:-http://deb.debian.org/debian}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ ! -f /etc/apt/sources.list.d/aot-buildx-forky.sources ]; then
    log "adding apt source for Debian forky main at $mirror, pinned to priority 100"
    {
      echo "# written by aot-buildx engine-up.sh: Docker 28 + buildx 0.29 come from forky"
      echo "Types: deb"
      echo "URIs: $mirror"
      echo "Suites: forky"
      echo "Components: main"
      if [ -f "$keyring" ]; then echo "Signed-By: $keyring"; fi
    } | tee /etc/apt/sources.list.d/aot-buildx-forky.sources >/dev/null
    APT_UPDATED=0
  fi
  if [ ! -f /etc/apt/preferences.d/aot-buildx-forky ]; then
    printf 'Package: *\nPin: release n=forky\nPin-Priority: 100\n' |
      tee /etc/apt/preferences.d/aot-buildx-forky >/dev/null
    APT_UPDATED=0
  fi
  local f
  for f in /etc/apt/sources.list.d/aot-buildx-trixie.sources /etc/apt/preferences.d/aot-buildx-trixie; do
    if [ -f "$f" ]; then
      log "removing $f (written by an earlier version of this script)"
      rm -f "$f"
      APT_UPDATED=0
    fi
  done
}

install_engine_packages() {
  local osc codename pkgs=()
  osc=$(os_codename)
  codename=${osc#*:}
  case "$osc" in
    debian:bookworm | debian:trixie)
      add_forky_source "$codename"
      # containerd/forky too: docker.io 28 needs containerd >= 1.7.27 (bookworm's runc 1.1.5 is
      # kept, and so is libc6: these packages need only libc6 >= 2.34).
      pkgs=(docker.io/forky docker-buildx/forky docker-cli/forky containerd/forky)
      ;;
    debian:forky | debian:sid)
      pkgs=(docker.io docker-buildx docker-cli containerd)
      ;;
    *)
      die "no usable Docker engine, and this is not Debian 12/13 ($osc): install Docker Engine >= $WANT_DOCKER_MAJOR with buildx >= $WANT_BUILDX by hand and enable the containerd image store"
      ;;
  esac
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  command -v jq >/dev/null 2>&1 || pkgs+=(jq)
  ENGINE_PKGS=("${pkgs[@]}")
  if [ "${1:-}" = download-only ]; then
    # Everything fetched (and resolved) before a working engine is stopped for the upgrade.
    apt_update_once
    log "apt-get install --download-only ${pkgs[*]}"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only --no-install-recommends "${pkgs[@]}" >/dev/null ||
      return 1
    return 0
  fi
  log "installing the Docker engine on ${codename}: ${pkgs[*]}"
  apt_install "${pkgs[@]}"
  mkdir -p "$STATE"
  echo "${pkgs[*]}" >"$STATE/$INSTALLED_MARKER"
}

# Turn on the containerd image store in /etc/docker/daemon.json (merged, not overwritten).
ensure_daemon_json() {
  local f=/etc/docker/daemon.json tmp
  mkdir -p /etc/docker
  if [ ! -s "$f" ]; then
    log "writing $f with the containerd image store on"
    echo '{"features":{"containerd-snapshotter":true}}' | tee "$f" >/dev/null
    return 0
  fi
  if jq -e '.features["containerd-snapshotter"] == true' "$f" >/dev/null 2>&1; then
    return 0
  fi
  tmp=$(mktemp)
  if command -v jq >/dev/null 2>&1 && jq '.features["containerd-snapshotter"] = true' "$f" >"$tmp" 2>/dev/null; then
    :
  elif command -v python3 >/dev/null 2>&1 && python3 - "$f" >"$tmp" <<'PY'
import json, sys
with open(sys.argv[1]) as fh:
    d = json.load(fh)
d.setdefault("features", {})["containerd-snapshotter"] = True
print(json.dumps(d, indent=2))
PY
  then
    :
  else
    rm -f "$tmp"
    warn "$f exists and could not be merged (no jq/python3, or not JSON): add \"features\":{\"containerd-snapshotter\":true} by hand"
    return 0
  fi
  log "merging containerd-snapshotter=true into $f (backup: $f.aot-buildx.bak)"
  cp -p "$f" "$f.aot-buildx.bak"
  cp "$tmp" "$f"
  rm -f "$tmp"
}

containerd_answers() {
  [ -S "$CONTAINERD_SOCK" ] || return 1
  if command -v ctr >/dev/null 2>&1; then
    timeout 5 ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1
  fi
}

start_detached() { # NAME LOGFILE CMD...  -> echoes pid
  local name=$1 logf=$2; shift 2
  mkdir -p "$STATE"
  # setsid: own session, so the daemon does not die with (or hold open) our terminal/CI step.
  setsid "$@" >"$logf" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" | tee "$STATE/$name.pid" >/dev/null
  echo "$pid"
}

start_containerd() {
  if containerd_answers; then
    log "containerd already answers on $CONTAINERD_SOCK"
    return 0
  fi
  command -v containerd >/dev/null 2>&1 || die "containerd binary not found"
  log "starting containerd (log: $STATE/containerd.log)"
  local pid rc=0
  pid=$(start_detached containerd "$STATE/containerd.log" containerd)
  _wait_start=$SECONDS
  wait_for containerd "$pid" containerd_answers || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$STATE/containerd.log" >&2 || true
    die "containerd did not become ready within ${TIMEOUT}s (rc=$rc, see $STATE/containerd.log)"
  fi
}

start_dockerd() {
  command -v dockerd >/dev/null 2>&1 || die "dockerd binary not found"
  log "starting dockerd (log: $STATE/dockerd.log)"
  local pid rc=0
  pid=$(start_detached dockerd "$STATE/dockerd.log" dockerd --containerd="$CONTAINERD_SOCK")
  _wait_start=$SECONDS
  wait_for "dockerd (docker info)" "$pid" docker info || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$STATE/dockerd.log" >&2 || true
    die "dockerd did not answer 'docker info' within ${TIMEOUT}s (rc=$rc, see $STATE/dockerd.log)"
  fi
}

# stop_ours NAME: stop the daemon this script started under NAME (pid file), wait for it to exit.
stop_ours() {
  local name=$1 pid
  ours_running "$name" || { rm -f "$STATE/$name.pid"; return 0; }
  pid=$(read_pid "$name")
  log "stopping our $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + TIMEOUT))
  while pid_alive "$pid"; do
    [ "$SECONDS" -lt "$deadline" ] || die "$name pid $pid did not exit"
    sleep 0.2
  done
  rm -f "$STATE/$name.pid"
}

describe_engine() {
  echo "Docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || dockerd --version 2>/dev/null | sed -E 's/^Docker version ([^,]+).*/\1/' || echo '?'), buildx $(buildx_semver || true)"
}

# Whether an older engine may be upgraded here, or why not (on stdout).
why_not_upgrade() {
  if ! command -v apt-get >/dev/null 2>&1 || ! upgradable_os; then echo "this script upgrades only on Debian 12/13 ($(os_codename))"; return; fi
  if ! engine_installed_by_us; then echo "it was not installed by this script"; return; fi
  if docker_ok && [ -n "$(docker ps -q 2>/dev/null)" ]; then echo "containers are running on it"; return; fi
  if containerd_answers && ! ours_running containerd; then echo "containerd was not started by this script"; return; fi
  echo ""
}

# Upgrade the engine this script installed before (its Docker 26 from trixie, say): everything
# downloaded first, then our daemons stopped, apt upgrades the packages in place (images and
# daemon.json stay), and they start again. An install that fails restarts the old engine.
upgrade_engine() {
  log "upgrading the engine ($(describe_engine)) to Docker >= $WANT_DOCKER_MAJOR with buildx >= $WANT_BUILDX"
  # Ours (checked): recorded now, as the legacy sign (the trixie source) goes with the new source.
  touch "$STATE/$INSTALLED_MARKER"
  if ! install_engine_packages download-only; then
    warn "could not download the newer engine's packages: keeping $(describe_engine)"
    return 1
  fi
  stop_ours dockerd
  stop_ours containerd
  block_service_starts # here, not in the subshell below, so that the exit trap removes it
  if ! (apt_install "${ENGINE_PKGS[@]}"); then
    warn "the upgrade failed: starting the old engine again"
    start_containerd
    start_dockerd
    die "apt-get install ${ENGINE_PKGS[*]} failed; the old engine ($(describe_engine)) runs again"
  fi
  echo "${ENGINE_PKGS[*]}" >"$STATE/$INSTALLED_MARKER"
  engine_current || die "after the install the engine is still $(dockerd --version 2>/dev/null), buildx $(buildx_semver): wanted Docker >= $WANT_DOCKER_MAJOR with buildx >= $WANT_BUILDX"
}

too_old_warning() {
  warn "the engine ($(describe_engine)) is older than Docker $WANT_DOCKER_MAJOR with buildx $WANT_BUILDX and is not upgraded ($1): BuildKit's gha cache (GitHub's cache service v2) and its tests need the newer one"
}

ensure_engine() {
  if docker_ok && buildx_ok && containerd_store && engine_current; then
    log "Docker engine already usable ($(describe_engine), containerd image store): leaving it as it is"
    return 0
  fi

  if docker_ok; then
    # An engine answers. Is it ours (started by an earlier run of this script)?
    if ours_running dockerd; then
      local why=""
      engine_current || why=$(why_not_upgrade)
      if ! engine_current && [ -z "$why" ] && upgrade_engine; then
        ensure_daemon_json
        start_containerd
        start_dockerd
      else
        engine_current || too_old_warning "${why:-its packages could not be downloaded}"
        if ! containerd_store; then
          ensure_daemon_json
          stop_ours dockerd
          start_containerd
          start_dockerd
        fi
      fi
    else
      buildx_ok || die "a Docker engine is running but 'docker buildx version' fails: install the buildx plugin (e.g. package docker-buildx or docker-buildx-plugin)"
      engine_current || too_old_warning "it was not started by this script"
      if ! containerd_store; then
        if [ "${AOT_ENGINE_ALLOW_CLASSIC_STORE:-0}" = 1 ]; then
          warn "the running engine does not use the containerd image store: multi-platform --load will not work with its default builder (AOT_ENGINE_ALLOW_CLASSIC_STORE=1 accepts this)"
          return 0
        fi
        die "a Docker engine that this script did not start is running without the containerd image store, so it cannot --load multi-platform images. Add \"features\":{\"containerd-snapshotter\":true} to /etc/docker/daemon.json and restart it, or set AOT_ENGINE_ALLOW_CLASSIC_STORE=1 (e.g. when using a docker-container builder)."
      fi
      return 0
    fi
  else
    if [ -d /run/systemd/system ] && command -v dockerd >/dev/null 2>&1 && [ "$(dockerd_major)" -ge 23 ]; then
      die "dockerd is installed but not answering, and this machine runs systemd: start it with 'systemctl start docker' (this script only starts daemons on machines without systemd)"
    fi
    local major why
    major=$(dockerd_major)
    if [ "${major:-0}" -lt 23 ] || ! command -v containerd >/dev/null 2>&1 || ! buildx_ok || ! command -v docker >/dev/null 2>&1; then
      require_debian "Docker engine"
      install_engine_packages
    elif ! engine_current; then
      # Not running, so nobody is using it.
      why=$(why_not_upgrade)
      if [ -z "$why" ] && upgrade_engine; then :; else too_old_warning "${why:-its packages could not be downloaded}"; fi
    else
      log "Docker engine $major is installed but not running"
    fi
    buildx_ok || die "'docker buildx version' still fails after the install"
    ensure_daemon_json
    start_containerd
    start_dockerd
  fi

  containerd_store || die "the engine does not report the containerd image store (docker info DriverStatus lacks io.containerd.snapshotter); check /etc/docker/daemon.json and $STATE/dockerd.log"
  log "Docker engine ready ($(describe_engine)) with the containerd image store"
}

# ---------------------------------------------------------------- QEMU / binfmt
BINFMT_DIR=/proc/sys/fs/binfmt_misc
host_arch() { dpkg --print-architecture 2>/dev/null || uname -m; }

binfmt_good() { # handler name
  local f="$BINFMT_DIR/$1"
  [ -r "$f" ] && grep -qx 'enabled' "$f" && grep -Eq '^flags: .*F' "$f"
}

ensure_qemu() {
  local arch handler
  arch=$(host_arch)
  case "$arch" in
    amd64 | x86_64) handler=qemu-aarch64 ;;
    arm64 | aarch64) handler=qemu-x86_64 ;;
    *) die "unsupported host architecture $arch" ;;
  esac
  if binfmt_good "$handler"; then
    log "QEMU: $handler already registered and enabled ($(grep '^flags' "$BINFMT_DIR/$handler"))"
    return 0
  fi
  if ! pkg_installed qemu-user-static || ! pkg_installed binfmt-support; then
    require_debian "QEMU"
    apt_install qemu-user-static binfmt-support
  fi
  if [ ! -e "$BINFMT_DIR/register" ]; then
    log "mounting binfmt_misc on $BINFMT_DIR"
    mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" || die "could not mount binfmt_misc"
  fi
  if [ -e "$BINFMT_DIR/$handler" ] && ! grep -Eq '^flags: .*F' "$BINFMT_DIR/$handler"; then
    die "$BINFMT_DIR/$handler is registered without the F (fix-binary) flag, so containers cannot use it; unregister it (echo -1 > $BINFMT_DIR/$handler) and run this script again"
  fi
  log "update-binfmts --enable $handler"
  update-binfmts --enable "$handler" || die "update-binfmts --enable $handler failed"
  binfmt_good "$handler" || die "$BINFMT_DIR/$handler is not enabled with flag F after update-binfmts: $(cat "$BINFMT_DIR/$handler" 2>/dev/null | tr '\n' ' ')"
  log "QEMU: $handler enabled ($(grep '^flags' "$BINFMT_DIR/$handler"))"
}

# ---------------------------------------------------------------- cosign
# The e2e proves signing with a key (e2e/sign) with a cosign that signs with a signing config
# (cosign 3): Debian forky's, through the pinned source on bookworm and trixie.
cosign_ok() { cosign sign --help 2>&1 | grep -q -- '--signing-config'; }
ensure_cosign() {
  if cosign_ok; then
    log "cosign: $(command -v cosign) signs with a signing config"
    return 0
  fi
  local osc
  osc=$(os_codename)
  case "$osc" in
    debian:bookworm | debian:trixie) add_forky_source "${osc#*:}"; apt_update_once; apt_install cosign/forky ;;
    debian:forky | debian:sid) apt_update_once; apt_install cosign ;;
    *) die "no cosign 3 on PATH, and this is not Debian 12/13 ($osc): install cosign >= 3 by hand" ;;
  esac
  cosign_ok || die "cosign was installed but cannot sign with a signing config (cosign >= 3 needed)"
  log "cosign: installed $(command -v cosign)"
}

# ---------------------------------------------------------------- SPDX validator
# The tests check every SBOM the action writes with SPDX's own validator (pyspdxtools, from
# spdx/tools-python): Debian forky's, through the pinned source on bookworm and trixie.
ensure_spdx_tools() {
  if command -v pyspdxtools >/dev/null 2>&1; then
    log "pyspdxtools: $(command -v pyspdxtools)"
    return 0
  fi
  local osc
  osc=$(os_codename)
  case "$osc" in
    debian:bookworm | debian:trixie) add_forky_source "${osc#*:}"; apt_update_once; apt_install python3-spdx-tools/forky python3-beartype/forky ;;
    debian:forky | debian:sid) apt_update_once; apt_install python3-spdx-tools ;;
    *) die "no pyspdxtools on PATH, and this is not Debian 12/13 ($osc): install spdx-tools (pip install spdx-tools) by hand" ;;
  esac
  command -v pyspdxtools >/dev/null 2>&1 || die "python3-spdx-tools was installed but pyspdxtools is not on PATH"
  log "pyspdxtools: installed $(command -v pyspdxtools)"
}

# ---------------------------------------------------------------- registry
ensure_registry() {
  if registry_ok; then
    log "registry already answers on http://$REGISTRY_ADDR/v2/"
    return 0
  fi
  if ! command -v docker-registry >/dev/null 2>&1; then
    require_debian "registry"
    local pkgs=(docker-registry)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    apt_install "${pkgs[@]}"
    # Its package may have started its own service (where services can start); if that
    # one now answers on our address, use it.
    if registry_ok; then
      log "registry (package service) answers on http://$REGISTRY_ADDR/v2/"
      return 0
    fi
  fi
  command -v curl >/dev/null 2>&1 || apt_install curl
  local old
  old=$(read_pid registry)
  if pid_alive "$old"; then
    die "our registry (pid $old) runs but http://$REGISTRY_ADDR/v2/ does not answer 200; see $STATE/registry.log"
  fi
  mkdir -p "$STATE/registry-data"
  cat <<EOF | tee "$STATE/registry.yml" >/dev/null
# written by aot-buildx engine-up.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  log "starting docker-registry on $REGISTRY_ADDR (log: $STATE/registry.log)"
  local pid rc=0
  pid=$(start_detached registry "$STATE/registry.log" docker-registry serve "$STATE/registry.yml")
  _wait_start=$SECONDS
  wait_for "registry (HTTP 200 on /v2/)" "$pid" registry_ok || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$STATE/registry.log" >&2 || true
    die "registry did not answer HTTP 200 on http://$REGISTRY_ADDR/v2/ within ${TIMEOUT}s (rc=$rc)"
  fi
}

# A second registry, with htpasswd (bcrypt) logins: the user is $AUTH_USER, the password is
# made once and kept in $AUTH_DIR/password (readable, like the registry's data: it guards
# throwaway test images on a loopback address). htpasswd comes from Debian's apache2-utils.
ensure_auth_registry() {
  if auth_registry_ok; then
    log "registry with logins already answers on http://$AUTH_REGISTRY_ADDR/v2/"
    return 0
  fi
  local old
  old=$(read_pid auth-registry)
  if pid_alive "$old"; then
    die "our registry with logins (pid $old) runs but http://$AUTH_REGISTRY_ADDR/v2/ does not answer 401, and 200 with the user in $AUTH_DIR; see $STATE/auth-registry.log (scripts/engine-down.sh stops it)"
  fi
  command -v docker-registry >/dev/null 2>&1 || die "docker-registry not found (ensure_registry installs it)"
  if ! command -v htpasswd >/dev/null 2>&1; then
    require_debian "htpasswd"
    apt_install apache2-utils
  fi
  mkdir -p "$AUTH_DIR" "$STATE/auth-registry-data"
  if [ ! -s "$AUTH_DIR/password" ] || [ ! -s "$AUTH_DIR/htpasswd" ]; then
    log "making the login $AUTH_USER of the registry on $AUTH_REGISTRY_ADDR ($AUTH_DIR)"
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$AUTH_DIR/password.new"
    # -i: the password from stdin, never on the command line; -B: bcrypt, all the registry reads.
    htpasswd -B -i -c "$AUTH_DIR/htpasswd.new" "$AUTH_USER" <"$AUTH_DIR/password.new" >/dev/null 2>&1 ||
      die "htpasswd could not write $AUTH_DIR/htpasswd"
    chmod 644 "$AUTH_DIR/password.new" "$AUTH_DIR/htpasswd.new"
    mv "$AUTH_DIR/htpasswd.new" "$AUTH_DIR/htpasswd"
    mv "$AUTH_DIR/password.new" "$AUTH_DIR/password"
    echo "$AUTH_USER" >"$AUTH_DIR/user"
  fi
  cat <<EOF | tee "$STATE/auth-registry.yml" >/dev/null
# written by aot-buildx engine-up.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/auth-registry-data
  delete:
    enabled: true
auth:
  htpasswd:
    realm: aot-buildx-e2e
    path: $AUTH_DIR/htpasswd
http:
  addr: $AUTH_REGISTRY_ADDR
EOF
  log "starting docker-registry with logins on $AUTH_REGISTRY_ADDR (log: $STATE/auth-registry.log)"
  local pid rc=0
  pid=$(start_detached auth-registry "$STATE/auth-registry.log" docker-registry serve "$STATE/auth-registry.yml")
  _wait_start=$SECONDS
  wait_for "registry with logins (HTTP 401, and 200 logged in, on /v2/)" "$pid" auth_registry_ok || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$STATE/auth-registry.log" >&2 || true
    die "the registry with logins did not answer on http://$AUTH_REGISTRY_ADDR/v2/ within ${TIMEOUT}s (rc=$rc)"
  fi
}

# ---------------------------------------------------------------- main
qemu_handler() { case "$(host_arch)" in amd64 | x86_64) echo qemu-aarch64 ;; *) echo qemu-x86_64 ;; esac; }

all_ready() {
  docker_ok && buildx_ok && containerd_store && { engine_current || ! ours_running dockerd; } &&
    { [ "${AOT_ENGINE_SKIP_QEMU:-0}" = 1 ] || binfmt_good "$(qemu_handler)"; } &&
    { [ "${AOT_ENGINE_SKIP_REGISTRY:-0}" = 1 ] || { registry_ok && auth_registry_ok; }; } && cosign_ok
}

summary() {
  local server client bx store h bf reg
  server=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
  client=$(docker version --format '{{.Client.Version}}' 2>/dev/null || echo '?')
  bx=$(docker buildx version 2>/dev/null | awk '{print $2}')
  store=$(containerd_store && echo containerd || echo classic)
  h=$(qemu_handler)
  if binfmt_good "$h"; then bf="$h enabled (flags $(sed -n 's/^flags: //p' "$BINFMT_DIR/$h"))"; else bf="$h NOT enabled"; fi
  if [ "${AOT_ENGINE_SKIP_REGISTRY:-0}" = 1 ]; then reg="skipped"; else reg="http://$REGISTRY_ADDR (and http://$AUTH_REGISTRY_ADDR with logins)"; fi
  log "ready in $((SECONDS - start_all))s: docker server $server (client $client, image store: $store), buildx $bx, registry $reg, binfmt $bf"
}

start_all=$SECONDS
if [ "$(id -u)" -ne 0 ]; then
  if all_ready; then
    log "everything is already in place (not root, nothing to change)"
    summary
    exit 0
  fi
  command -v sudo >/dev/null 2>&1 || die "something must be installed or started and this is not root (and there is no sudo): run as root"
  log "re-running as root with sudo"
  exec sudo --preserve-env=AOT_ENGINE_STATE,AOT_REGISTRY_ADDR,AOT_AUTH_REGISTRY_ADDR,AOT_ENGINE_TIMEOUT,AOT_ENGINE_SKIP_REGISTRY,AOT_ENGINE_SKIP_QEMU,AOT_ENGINE_ALLOW_CLASSIC_STORE bash "$0" "$@"
fi

mkdir -p "$STATE"
ensure_engine
if [ "${AOT_ENGINE_SKIP_QEMU:-0}" != 1 ]; then ensure_qemu; fi
ensure_cosign
ensure_spdx_tools
if [ "${AOT_ENGINE_SKIP_REGISTRY:-0}" != 1 ]; then
  ensure_registry
  ensure_auth_registry
fi
summary
