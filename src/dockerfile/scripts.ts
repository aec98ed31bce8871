// Shell scripts that run inside the generated Dockerfile, kept whole: each is one POSIX sh
// script with arguments, readable as shell and run directly by the tests. The Dockerfile
// carries them as here-documents (COPY <<'EOF'), so a hand build of the file needs nothing else.

/**
 * The optional secret whose presence says "kept NuGet packages exist for this build" (its value
 * is unused). A step that would download packages into an empty package cache stops with
 * KEPT_EXIT and KEPT_NEEDED instead; the action then loads the kept packages and builds again.
 * A secret, not a build arg: its presence changes no cache key, so cached steps stay cached.
 */
export const KEPT_SECRET_ID = 'aot-buildx-nuget-kept'
export const KEPT_EXIT = 42
export const KEPT_NEEDED = 'aot-buildx: this step needs the kept NuGet packages: they are loaded and the build runs again'

/** Where the publish step leaves each target's files (one folder per arch), for the final stage's COPY. */
export const PUBLISH_OUT = '/publish'

/** Where the publish script is installed in the publish stage. */
export const PUBLISH_SCRIPT_PATH = '/usr/local/bin/aot-publish'

/**
 * The publish step. Usage:
 *   aot-publish PROJECT CONFIGURATION FRAMEWORK CONFIGFILE ARCH...
 * FRAMEWORK and CONFIGFILE may be '' (single-target project; no NuGet.config secret).
 * Folders come from the environment so tests can move them: AOT_SRC (restored tree, /src),
 * AOT_BUILD (per-target copies, /build), AOT_APP (output, /publish), AOT_LOGS (/tmp),
 * AOT_NUGET_PACKAGES (the package cache mount, /root/.nuget/packages), AOT_SECRETS (where the
 * secret mounts are, /run/secrets). AOT_SECRET_IDS names the secrets the restore gets.
 */
export const PUBLISH_SCRIPT = String.raw`#!/bin/sh
# aot-publish: restore again only if the package cache lacks what the restore recorded, then
# publish every target, side by side when there are several, each in its own copy of the
# restored tree (a referenced library's RID-neutral bin/ and obj/ would otherwise be written by
# two processes at once; one target too, for the same paths). Each target's log is printed whole, in order, under its own header.
# (Written without brace expansions: the script lives in a JavaScript template string.)
if [ $# -lt 5 ]; then echo "usage: aot-publish PROJECT CONFIGURATION FRAMEWORK CONFIGFILE ARCH..." >&2; exit 2; fi
project=$1 configuration=$2 framework=$3 configfile=$4
shift 4
src=/src build=/build app=/publish logs=/tmp packages=/root/.nuget/packages
[ -z "$AOT_SRC" ] || src=$AOT_SRC
[ -z "$AOT_BUILD" ] || build=$AOT_BUILD
[ -z "$AOT_APP" ] || app=$AOT_APP
[ -z "$AOT_LOGS" ] || logs=$AOT_LOGS
[ -z "$AOT_NUGET_PACKAGES" ] || packages=$AOT_NUGET_PACKAGES
secrets=/run/secrets
[ -z "$AOT_SECRETS" ] || secrets=$AOT_SECRETS
# Tiered PGO instruments short-lived MSBuild/compiler processes for a profile they never use.
export DOTNET_TieredPGO=0

rids=""
for a in "$@"; do
  case $a in
    amd64) rid=linux-x64 ;;
    arm64) rid=linux-arm64 ;;
    *) echo "aot-publish: unknown architecture $a (accepted: amd64, arm64)" >&2; exit 2 ;;
  esac
  if [ -n "$rids" ]; then rids="$rids;$rid"; else rids=$rid; fi
done

restore() {
  # Quoted inside: a bare ';' would separate two properties on MSBuild's command line.
  set -- "$project" "-p:RuntimeIdentifiers=\"$rids\"" "-p:Configuration=$configuration"
  if [ -n "$framework" ]; then set -- "$@" "-p:TargetFramework=$framework"; fi
  if [ -n "$configfile" ]; then set -- "$@" --configfile "$configfile"; fi
  set -- dotnet restore "$@"
  # The build's secrets (ids in AOT_SECRET_IDS, mounted as files), as variables of this restore
  # only, set by env(1): a shell would drop names NuGet uses, such as ..._corp-feed.
  for id in $AOT_SECRET_IDS; do
    set -- "$id=$(cat "$secrets/$id")" "$@" || exit 1
  done
  env "$@"
}

# Symbols are never generated: the .dbg would be deleted anyway.
publish() {
  arch=$1
  set -- "$project" -a "$arch" -c "$configuration"
  if [ -n "$framework" ]; then set -- "$@" -f "$framework"; fi
  dotnet publish "$@" --no-restore -p:NativeDebugSymbols=false -o "$app/$arch"
}

# The SDK's first-use setup (NuGet's migrations behind a named mutex) once, before any two dotnet
# processes start at the same moment: two first runs side by side fail now and then with
# "The system cannot open the device or file specified : 'NuGet-Migrations'".
dotnet nuget --version > /dev/null 2>&1 || true

# The restore layer may come from a remote cache while the package cache mount is empty (a
# fresh runner): every package file the restore recorded is checked for, which is far cheaper
# than a no-op restore. The records are found wherever MSBuild put obj/.
cd "$src" || exit 1
records=$(find . -name project.nuget.cache -type f)
missing=$(printf '%s\n' "$records" | sed '/^$/d' | while read -r r; do
  sed -n "s#^ *\"\($packages/[^\"]*\)\",\{0,1\}\$#\1#p" "$r"
done | while read -r f; do [ -f "$f" ] || echo "$f"; done)
if [ -n "$missing" ] || [ -z "$records" ]; then
  if [ -f "$secrets/${KEPT_SECRET_ID}" ]; then echo "${KEPT_NEEDED}"; exit ${KEPT_EXIT}; fi
  echo "NuGet packages are missing from the cache mount: restoring again"
  restore || exit 1
fi

# One target or several, each compiles in the same folder, $build/<arch>: a compiler that
# records a path (the IL's debug directory, which the native binary carries over) then records
# the same one, so a job that builds one platform makes the same binary as one that builds two.
for a in "$@"; do
  mkdir -p "$build/$a" && cp -a "$src/." "$build/$a/" || exit 1
done
if [ $# -eq 1 ]; then
  (cd "$build/$1" && publish "$1") || exit 1
else
  for a in "$@"; do
    (cd "$build/$a" && publish "$a") > "$logs/publish-$a.log" 2>&1 &
    eval "pid_$a=\$!"
  done
  ok=1
  for a in "$@"; do
    pid=""
    eval "pid=\$pid_$a"
    if wait "$pid"; then echo "==> linux/$a: published"; else echo "==> linux/$a: dotnet publish failed"; ok=0; fi
    cat "$logs/publish-$a.log"
  done
  [ "$ok" = 1 ] || exit 1
fi
rm -f "$app"/*/*.dbg "$app"/*/*.Development.json "$app"/*/*.pdb
`
