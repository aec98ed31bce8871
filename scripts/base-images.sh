#!/usr/bin/env bash
# Make the base images that the generated Dockerfiles name available in the local engine:
#   mcr.microsoft.com/dotnet/sdk:10.0-noble-aot                        (build platform only)
#   mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled          (linux/amd64 + linux/arm64)
#   mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra    (linux/amd64 + linux/arm64)
#   mcr.microsoft.com/dotnet/runtime-deps:10.0-noble                   (linux/amd64 + linux/arm64)
#   mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot                     (build platform only)
#   mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled       (linux/amd64 + linux/arm64)
#   mcr.microsoft.com/dotnet/runtime-deps:11.0-resolute-chiseled-extra (linux/amd64 + linux/arm64)
#
# If Microsoft's registry answers, the real images are pulled. Otherwise STAND-INS are built
# under the same names from Debian 12 packages and the host's own .NET SDK, labelled
#   org.opencontainers.image.description=STAND-IN for <name>, ...; not Microsoft's image
#   aot-buildx.stand-in=true, aot-buildx.stand-in.hash=<hash of this script + inputs>
# and reused on the next run when the hash matches. The stand-ins are Debian 12 (glibc 2.36)
# based on both sides, so build and runtime stages still match each other.
# The .NET 11 stand-ins are NOT Ubuntu 26.04 "resolute" (its packages are not reachable
# where this runs): they are the same Debian 12 builds under the 11.0-resolute names, and
# the SDK one holds the host's .NET SDK (not .NET 11) with gcc and zlib1g-dev but no clang
# or llvm, as Microsoft's .NET 11 -aot image. They test the plumbing (the names, the
# toolchain stage installing clang/llvm itself), not .NET 11's compiler.
#
# Needs: a running engine with the containerd image store and QEMU binfmt (scripts/engine-up.sh).
#
# Environment:
#   AOT_BASE_IMAGES   auto (default) | real | stand-in
#   AOT_BASE_ONLY     space-separated subset of: sdk chiseled extra full sdk11 chiseled11 extra11   [all]
#   AOT_BASE_REBUILD  1 = rebuild stand-ins even if the hash matches
#   AOT_BASE_WORKDIR  parent of the temporary work dir                      [/var/tmp]
set -euo pipefail

SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble-aot
RD_REPO=mcr.microsoft.com/dotnet/runtime-deps
declare -A RD_IMAGE=(
  [chiseled]=$RD_REPO:10.0-noble-chiseled
  [extra]=$RD_REPO:10.0-noble-chiseled-extra
  [full]=$RD_REPO:10.0-noble
  [chiseled11]=$RD_REPO:11.0-resolute-chiseled
  [extra11]=$RD_REPO:11.0-resolute-chiseled-extra
)
# The SDK images by key: name, and the tools Microsoft's image carries on top of the SDK
# (.NET 10's -aot: clang llvm zlib1g-dev; .NET 11's: gcc zlib1g-dev, dotnet-docker PR 7231).
declare -A SDK_NAME=([sdk]=$SDK_IMAGE [sdk11]=mcr.microsoft.com/dotnet/sdk:11.0-resolute-aot)
declare -A SDK_TOOLS=([sdk]="clang llvm zlib1g-dev" [sdk11]="gcc zlib1g-dev")
# What each SDK image must (and must not) run, checked before reuse and after a build.
declare -A SDK_CHECK=(
  [sdk]='dotnet --version && clang --version | head -n1 && command -v llvm-objcopy >/dev/null'
  [sdk11]='dotnet --version && gcc --version | head -n1 && ! command -v clang >/dev/null && ! command -v llvm-objcopy >/dev/null'
)
RD_KEYS="chiseled extra full chiseled11 extra11"
# The flavour each runtime-deps key is built as.
rd_kind() { case "$1" in chiseled11) echo chiseled ;; extra11) echo extra ;; *) echo "$1" ;; esac; }
MODE="${AOT_BASE_IMAGES:-auto}"
ONLY="${AOT_BASE_ONLY:-sdk chiseled extra full sdk11 chiseled11 extra11}"
SUITE=bookworm
APP_UID=1654

log() { echo "==> $*"; }
warn() { echo "WARNING: $*" >&2; }
die() { echo "ERROR: $*" >&2; exit 1; }
wanted() { [[ " $ONLY " == *" $1 "* ]]; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
T0=$SECONDS
step_start() { _step_t=$SECONDS; }
step_time() { echo "$((SECONDS - _step_t))s"; }

docker info >/dev/null 2>&1 || die "docker does not answer: run scripts/engine-up.sh first"
if [ "$(id -u)" -ne 0 ] && [ "$MODE" != real ]; then
  command -v sudo >/dev/null 2>&1 || die "building stand-ins needs root (apt, debootstrap, chroot)"
  exec sudo --preserve-env=AOT_BASE_IMAGES,AOT_BASE_ONLY,AOT_BASE_REBUILD,AOT_BASE_WORKDIR,NUGET_CERT_REVOCATION_MODE bash "$0" "$@"
fi

HOST_ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$HOST_ARCH" in
  amd64 | x86_64) HOST_ARCH=amd64 OTHER_ARCH=arm64 ;;
  arm64 | aarch64) HOST_ARCH=arm64 OTHER_ARCH=amd64 ;;
  *) die "unsupported host architecture $HOST_ARCH" ;;
esac
ARCHES="amd64 arm64"

# ---------------------------------------------------------------- checks (both paths)
loader_of() { case "$1" in amd64) echo /lib64/ld-linux-x86-64.so.2 ;; arm64) echo /lib/ld-linux-aarch64.so.1 ;; esac; }

# A runtime-deps image is usable for an arch when its dynamic loader runs (arm64 under QEMU).
rd_platform_ok() { # image arch
  local out
  out=$(docker run --rm --pull never --platform "linux/$2" --entrypoint "$(loader_of "$2")" "$1" --help 2>/dev/null) || return 1
  [[ "$out" == *"ld.so"* ]]
}
declare -A CHECKED=() # image id -> output of a passed check in this run
rd_ok() { # image flavour
  local a id
  id=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null) || return 1
  [ -n "${CHECKED[$id]:-}" ] && return 0
  for a in $ARCHES; do rd_platform_ok "$1" "$a" || return 1; done
  if [ "$(rd_kind "$2")" = full ]; then
    docker run --rm --pull never --platform "linux/$OTHER_ARCH" --entrypoint sh "$1" -c 'test "$(id -u app)" = 1654' >/dev/null 2>&1 || return 1
  fi
  CHECKED[$id]=ok
}
sdk_ok() { # key
  local id out name=${SDK_NAME[$1]}
  id=$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null) || return 1
  if [ -z "${CHECKED[$id]:-}" ]; then
    out=$(docker run --rm --pull never --platform "linux/$HOST_ARCH" "$name" sh -c "${SDK_CHECK[$1]}" 2>/dev/null) || return 1
    CHECKED[$id]=$out
  fi
  echo "${CHECKED[$id]}"
}
label_of() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

verify_all() {
  local f
  log "verifying images"
  local k out
  for k in sdk sdk11; do
    wanted "$k" || continue
    out=$(sdk_ok "$k") || die "${SDK_NAME[$k]} fails its check: ${SDK_CHECK[$k]}"
    log "  ${SDK_NAME[$k]}: dotnet $(echo "$out" | head -n1); $(echo "$out" | sed -n 2p)"
  done
  for f in $RD_KEYS; do
    wanted "$f" || continue
    rd_ok "${RD_IMAGE[$f]}" "$f" || die "${RD_IMAGE[$f]} does not run on both linux/amd64 and linux/arm64"
    log "  ${RD_IMAGE[$f]}: loader runs on linux/amd64 and linux/arm64"
  done
}

# ---------------------------------------------------------------- real images
mcr_answers() {
  timeout 20 docker buildx imagetools inspect "${RD_IMAGE[chiseled]}" >/dev/null 2>&1
}

pull_real() {
  local f a
  local k
  for k in sdk sdk11; do
    wanted "$k" || continue
    log "docker pull --platform linux/$HOST_ARCH ${SDK_NAME[$k]}"
    docker pull -q --platform "linux/$HOST_ARCH" "${SDK_NAME[$k]}" || die "pull of ${SDK_NAME[$k]} failed"
  done
  for f in $RD_KEYS; do
    wanted "$f" || continue
    for a in $ARCHES; do
      log "docker pull --platform linux/$a ${RD_IMAGE[$f]}"
      docker pull -q --platform "linux/$a" "${RD_IMAGE[$f]}" || die "pull of ${RD_IMAGE[$f]} ($a) failed"
    done
  done
}

case "$MODE" in
  auto)
    log "checking whether Microsoft's registry answers (timeout 20s)"
    if mcr_answers; then MODE=real; else MODE=stand-in; fi
    ;;
  real | stand-in) ;;
  *) die "AOT_BASE_IMAGES must be auto, real or stand-in (got '$MODE')" ;;
esac

if [ "$MODE" = real ]; then
  log "path taken: REAL images from mcr.microsoft.com (no stand-ins built)"
  step_start
  pull_real
  log "pulled in $(step_time)"
  verify_all
  log "done in $((SECONDS - T0))s (real images)"
  exit 0
fi
log "path taken: STAND-INS (Microsoft's registry does not answer, or AOT_BASE_IMAGES=stand-in)"

# ---------------------------------------------------------------- stand-in inputs
# debian_mirror SUITE: the Debian mirror this host uses for SUITE (Debian's defaults below).
. "$(dirname "$SCRIPT_PATH")/lib/apt-sources.sh"
MIRROR=$(debian_mirror "$SUITE")
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SEC_MIRROR=$(debian_mirror "$SUITE-security")
SEC_MIRROR=${SEC_MIRROR:-http://deb.debian.org/debian-security}

HOST_CA=/etc/ssl/certs/ca-certificates.crt
[ -s "$HOST_CA" ] || die "$HOST_CA missing: the stand-ins copy the host's CA bundle"
ca_sum=$( { cat "$HOST_CA"; find /usr/local/share/ca-certificates -type f -name '*.crt' -print0 2>/dev/null | sort -z | xargs -0r cat; } | sha256sum | cut -c1-64)
script_sum=$(sha256sum "$SCRIPT_PATH" | cut -c1-64)
hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- apt helpers
# apt-get update only when something must come from apt and the lists lack it (or are stale).
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
}
apt_has() { # packages... -> all have an install candidate in the current lists (one apt-cache call)
  local out n
  out=$(apt-cache policy "$@" 2>/dev/null) || return 1
  n=$(grep -c 'Candidate: [0-9]' <<<"$out" || true)
  [ "$n" -eq "$#" ]
}
apt_install() {
  apt_has "$@" || apt_update_once
  log "apt-get install $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; then
    [ "$APT_UPDATED" = 0 ] || die "apt-get install $* failed"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
      die "apt-get install $* failed"
  fi
}

WORK=$(mktemp -d "${AOT_BASE_WORKDIR:-/var/tmp}/aot-base-images.XXXXXX")
cleanup() {
  local m r busy=0
  for r in "$WORK"/sdk-rootfs-*; do
    for m in "$r/proc" "$r/dev/pts"; do
      if mountpoint -q "$m" 2>/dev/null; then umount "$m" || umount -l "$m" || true; fi
    done
    if mountpoint -q "$r/proc" 2>/dev/null; then
      warn "$r/proc is still mounted: leaving $WORK in place"
      busy=1
    fi
  done
  [ "$busy" = 1 ] || rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

LABEL_DESC=org.opencontainers.image.description
LABEL_FLAG=aot-buildx.stand-in
LABEL_HASH=aot-buildx.stand-in.hash
desc_for() {
  case "$1" in
    *11.0-resolute*) echo "STAND-IN for $1, built from Debian 12 packages (not Ubuntu 26.04) with the host's .NET SDK (not .NET 11); not Microsoft's image" ;;
    *) echo "STAND-IN for $1, built from Debian packages; not Microsoft's image" ;;
  esac
}

# ---------------------------------------------------------------- runtime-deps stand-ins
rd_packages() { # flavour -> arch-specific packages (Architecture: all ones are in rd_packages_all)
  local p="base-files libc6 libgcc-s1 libstdc++6 libssl3"
  case "$(rd_kind "$1")" in
    chiseled) ;;
    extra) p="$p libicu72" ;;
    full) p="$p libicu72 dash coreutils libacl1 libattr1 libgmp10 libselinux1 libpcre2-8-0" ;;
  esac
  echo "$p"
}
rd_packages_all() { # flavour
  case "$(rd_kind "$1")" in
    chiseled) echo "ca-certificates" ;;
    *) echo "ca-certificates tzdata" ;;
  esac
}

rd_hash() { hash_of "$script_sum" "runtime-deps" "$1" "$ca_sum" "$MIRROR" "$SEC_MIRROR"; }

RD_DEBS_READY=0
download_rd_debs() {
  [ "$RD_DEBS_READY" = 1 ] && return 0
  local a pkgs_arch="" pkgs_all="" f p
  if [[ " $(dpkg --print-foreign-architectures | tr '\n' ' ') " != *" $OTHER_ARCH "* ]]; then
    log "dpkg --add-architecture $OTHER_ARCH"
    dpkg --add-architecture "$OTHER_ARCH"
    apt_update_once
  fi
  for f in $RD_KEYS; do
    pkgs_arch="$pkgs_arch $(rd_packages "$f")"
    pkgs_all="$pkgs_all $(rd_packages_all "$f")"
  done
  pkgs_arch=$(echo "$pkgs_arch" | tr ' ' '\n' | sort -u | tr '\n' ' ')
  pkgs_all=$(echo "$pkgs_all" | tr ' ' '\n' | sort -u | tr '\n' ' ')
  # shellcheck disable=SC2046,SC2086
  apt_has $(for p in $pkgs_arch; do for a in $ARCHES; do echo "$p:$a"; done; done) $pkgs_all || apt_update_once
  mkdir -p "$WORK/debs/all"
  chmod 755 "$WORK" "$WORK/debs"
  for a in $ARCHES; do
    mkdir -p "$WORK/debs/$a"
    chmod 777 "$WORK/debs/$a"
    log "apt-get download ($a):$pkgs_arch"
    # shellcheck disable=SC2086
    (cd "$WORK/debs/$a" && apt-get download -q $(for p in $pkgs_arch; do echo "$p:$a"; done) >/dev/null) ||
      { [ "$APT_UPDATED" = 0 ] && apt_update_once &&
        (cd "$WORK/debs/$a" && apt-get download -q $(for p in $pkgs_arch; do echo "$p:$a"; done) >/dev/null); } ||
      die "apt-get download for $a failed"
  done
  chmod 777 "$WORK/debs/all"
  log "apt-get download (all):$pkgs_all"
  # shellcheck disable=SC2086
  (cd "$WORK/debs/all" && apt-get download -q $pkgs_all >/dev/null) || die "apt-get download of $pkgs_all failed"
  RD_DEBS_READY=1
}

deb_file() { # dir package -> the .deb (apt-get download names it PKG_VERSION_ARCH.deb)
  local d
  d=$(find "$1" -maxdepth 1 -name "${2}_*.deb" | head -n1)
  [ -n "$d" ] || die "no .deb for $2 in $1"
  echo "$d"
}

make_rootfs() { # flavour arch dir
  local f=$1 a=$2 r=$3 p
  mkdir -p "$r"
  for p in $(rd_packages "$f"); do dpkg-deb -x "$(deb_file "$WORK/debs/$a" "$p")" "$r"; done
  for p in $(rd_packages_all "$f"); do dpkg-deb -x "$(deb_file "$WORK/debs/all" "$p")" "$r"; done
  # ca-certificates' postinst would generate the bundle; we only unpack, so bring the
  # bundle this machine trusts (it may include a TLS-intercepting proxy's CA).
  mkdir -p "$r/etc/ssl/certs" "$r/usr/lib/ssl"
  cp "$HOST_CA" "$r/etc/ssl/certs/ca-certificates.crt"
  ln -sfn /etc/ssl/certs "$r/usr/lib/ssl/certs"
  ln -sfn /etc/ssl/certs/ca-certificates.crt "$r/usr/lib/ssl/cert.pem"
  f=$(rd_kind "$f")
  if [ "$f" = full ]; then
    [ -e "$r/bin/sh" ] || ln -s dash "$r/bin/sh"
    shell=/bin/sh
  else
    shell=/usr/sbin/nologin
  fi
  printf 'root:x:0:0:root:/root:%s\napp:x:%s:%s:app:/home/app:%s\n' "$shell" "$APP_UID" "$APP_UID" "$shell" >"$r/etc/passwd"
  printf 'root:x:0:\napp:x:%s:\n' "$APP_UID" >"$r/etc/group"
  install -d -m 0755 -o "$APP_UID" -g "$APP_UID" "$r/home/app"
  install -d -m 0700 "$r/root"
  install -d -m 1777 "$r/tmp"
  rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/lintian" "$r/usr/share/bug" \
    "$r/usr/share/gdb" "$r/usr/share/gcc" "$r/usr/share/common-licenses"
  if [ "$f" != full ]; then
    # Like the chiseled slices: libraries and data only (no iconv modules, no CA sources/tools).
    rm -rf "$r"/usr/lib/*-linux-gnu/gconv "$r/usr/share/ca-certificates" "$r/usr/sbin" "$r/sbin" "$r/usr/bin" "$r/bin" \
      "$r/etc/ca-certificates.conf" "$r/usr/share/locale"
  fi
}

build_rd() { # flavour
  local f=$1 name=${RD_IMAGE[$1]} h ctx a envs
  h=$(rd_hash "$f")
  if [ "${AOT_BASE_REBUILD:-0}" != 1 ] && [ "$(label_of "$name" "$LABEL_HASH")" = "$h" ] && rd_ok "$name" "$f"; then
    log "$name: reused (stand-in, hash $h)"
    return 0
  fi
  step_start
  download_rd_debs
  ctx="$WORK/rd-$f"
  mkdir -p "$ctx"
  for a in $ARCHES; do
    make_rootfs "$f" "$a" "$ctx/rootfs-$a"
    tar --numeric-owner -C "$ctx/rootfs-$a" -cf "$ctx/rootfs-$a.tar" .
    rm -rf "$ctx/rootfs-$a"
  done
  envs="APP_UID=$APP_UID ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true"
  [ "$(rd_kind "$f")" = chiseled ] && envs="$envs DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true"
  {
    echo "FROM scratch"
    echo "ARG TARGETARCH"
    echo "ADD rootfs-\${TARGETARCH}.tar /"
    echo "ENV $envs"
    # Microsoft's chiseled images run as the non-root user app; the full one as root.
    if [ "$(rd_kind "$f")" != full ]; then echo "USER \$APP_UID"; fi
  } >"$ctx/Dockerfile"
  log "$name: building stand-in for linux/amd64,linux/arm64"
  docker buildx build -q --platform linux/amd64,linux/arm64 --provenance=false --load \
    --label "$LABEL_DESC=$(desc_for "$name")" --label "$LABEL_FLAG=true" --label "$LABEL_HASH=$h" \
    -t "$name" "$ctx" >/dev/null || die "docker buildx build of $name failed"
  rm -rf "$ctx"
  rd_ok "$name" "$f" || die "$name was built but its loader does not run on both platforms"
  log "$name: built (stand-in, hash $h) in $(step_time)"
}

# ---------------------------------------------------------------- SDK stand-in
dotnet_root() {
  local d
  command -v dotnet >/dev/null 2>&1 || return 1
  d=$(dirname "$(readlink -f "$(command -v dotnet)")")
  [ -d "$d/sdk" ] || return 1
  echo "$d"
}

build_sdk() { # key
  local key=$1 name=${SDK_NAME[$1]} droot sdkinfo h r
  droot=$(dotnet_root) || die "the SDK stand-in copies the host's .NET SDK, but no dotnet with an sdk/ folder is on PATH"
  sdkinfo=$(cd / && dotnet --list-sdks && dotnet --list-runtimes)
  h=$(hash_of "$script_sum" "$key" "$HOST_ARCH" "$sdkinfo" "$ca_sum" "$MIRROR" "$SEC_MIRROR" "${NUGET_CERT_REVOCATION_MODE:-}")
  if [ "${AOT_BASE_REBUILD:-0}" != 1 ] && [ "$(label_of "$name" "$LABEL_HASH")" = "$h" ] && sdk_ok "$key" >/dev/null; then
    log "$name: reused (stand-in, hash $h)"
    return 0
  fi
  step_start
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  r=$WORK/sdk-rootfs-$key
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  debootstrap --variant=minbase "$SUITE" "$r" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  }
  log "debootstrap done ($(step_time))"

  # apt inside the image: same Debian mirrors as the host (the generated Dockerfile
  # apt-get installs the cross toolchain in it).
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SEC_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Trust what the host trusts: its extra CAs go where update-ca-certificates finds them.
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$r/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$r/usr/local/share/ca-certificates/"
  fi
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  mount -t proc proc "$r/proc"

  local t=$SECONDS
  log "chroot: apt-get install ${SDK_TOOLS[$key]} + SDK dependencies"
  chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root apt-get update -q >"$WORK/chroot-apt.log" 2>&1 || { tail -n 20 "$WORK/chroot-apt.log" >&2; die "apt-get update in the SDK rootfs failed"; }
  # shellcheck disable=SC2086 # the tools are a list of package names
  chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    ${SDK_TOOLS[$key]} \
    ca-certificates curl git libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata zlib1g procps \
    >>"$WORK/chroot-apt.log" 2>&1 || { tail -n 20 "$WORK/chroot-apt.log" >&2; die "apt-get install in the SDK rootfs failed"; }
  log "chroot apt-get install done ($((SECONDS - t))s)"
  chroot "$r" sh -c "getent group app >/dev/null || groupadd --gid $APP_UID app; getent passwd app >/dev/null || useradd --no-log-init --uid $APP_UID --gid $APP_UID --create-home --shell /bin/sh app"

  log "copying the host's .NET SDK from $droot"
  mkdir -p "$r/usr/share/dotnet"
  cp -a "$droot/." "$r/usr/share/dotnet/"
  ln -sfn /usr/share/dotnet/dotnet "$r/usr/bin/dotnet"
  chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DOTNET_NOLOGO=true DOTNET_CLI_TELEMETRY_OPTOUT=true \
    dotnet --info >"$WORK/dotnet-info.log" 2>&1 || { cat "$WORK/dotnet-info.log" >&2; die "dotnet --info fails inside the SDK rootfs"; }
  local sdk_ver rt_ver asp_ver
  sdk_ver=$(cd / && dotnet --version)
  rt_ver=$(cd / && dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" {v = $2} END {print v}')
  asp_ver=$(cd / && dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" {v = $2} END {print v}')

  chroot "$r" apt-get clean
  umount "$r/proc"
  rm -rf "$r/var/lib/apt/lists/"* "$r/tmp/"* "$r/tmp/".[!.]* "$r/root/.dotnet" "$r/root/.nuget" "$r/usr/sbin/policy-rc.d" \
    "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/info" "$r/var/log/"*.log
  : >"$r/etc/resolv.conf"
  cp "$HOST_CA" "$r/etc/ssl/certs/ca-certificates.crt"

  local changes=(
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/share/dotnet"
    --change "ENV APP_UID=$APP_UID"
    --change "ENV ASPNETCORE_HTTP_PORTS=8080"
    --change "ENV DOTNET_RUNNING_IN_CONTAINER=true"
    --change "ENV DOTNET_GENERATE_ASPNET_CERTIFICATE=false"
    --change "ENV DOTNET_NOLOGO=true"
    --change "ENV DOTNET_CLI_TELEMETRY_OPTOUT=true"
    --change "ENV DOTNET_USE_POLLING_FILE_WATCHER=true"
    --change "ENV NUGET_XMLDOC_MODE=skip"
    --change "ENV DOTNET_SDK_VERSION=$sdk_ver"
    --change "ENV DOTNET_VERSION=$rt_ver"
    --change "ENV ASPNET_VERSION=$asp_ver"
    --change "LABEL $LABEL_DESC=\"$(desc_for "$name")\""
    --change "LABEL $LABEL_FLAG=true"
    --change "LABEL $LABEL_HASH=$h"
    --change "WORKDIR /"
    --change 'CMD ["bash"]'
  )
  if [ -n "${NUGET_CERT_REVOCATION_MODE:-}" ]; then
    changes+=(--change "ENV NUGET_CERT_REVOCATION_MODE=$NUGET_CERT_REVOCATION_MODE")
  fi
  t=$SECONDS
  log "$name: docker import of the rootfs ($(du -sh "$r" | cut -f1))"
  tar --numeric-owner -C "$r" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf - . |
    docker import "${changes[@]}" - "$name" >/dev/null || die "docker import of $name failed"
  log "import done ($((SECONDS - t))s)"
  rm -rf --one-file-system "$r"
  sdk_ok "$key" >/dev/null || die "$name was built but fails its check: ${SDK_CHECK[$key]}"
  log "$name: built (stand-in, hash $h, SDK $sdk_ver) in $(step_time)"
}

for k in sdk sdk11; do
  if wanted "$k"; then build_sdk "$k"; fi
done
for f in $RD_KEYS; do
  if wanted "$f"; then build_rd "$f"; fi
done
verify_all
log "done in $((SECONDS - T0))s (stand-ins)"
