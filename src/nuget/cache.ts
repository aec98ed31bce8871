// NuGet packages across CI runs. BuildKit's `type=gha` cache keeps layers but not the
// contents of `RUN --mount=type=cache`, so every fresh runner downloads every package again.
// The generated Dockerfile can take the packages in as a build context (`nuget-seed`) and
// write its package cache out (`--target nuget-export`); this module decides the cache key
// and the argv, and moves the folder in and out of @actions/cache (or a plain folder).
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import * as semver from 'semver'
import { restoreFromActionsCache, saveToActionsCache } from '../action/actionscache.js'
import { EXPORT_ID_ARG, NUGET_EXPORT_STAGE, NUGET_LOAD_STAGE, NUGET_SEED_STAGE } from '../dockerfile/generate.js'
import { KEPT_EXIT, KEPT_NEEDED } from '../dockerfile/scripts.js'

const KEY_BASE = 'aot-buildx-nuget'
/** Not a prefix of KEY_BASE's keys, nor they of its: neither kind restores the other. */
const UNTRUSTED_KEY_BASE = 'aot-buildx-pr-nuget'

/** A file in the store folder that says the action made it (and may replace it). */
export const NUGET_STORE_MARKER = '.aot-buildx-nuget'

export type NugetCacheMode = 'actions' | 'dir' | 'off'

/** The marker's text: it also records the key the kept packages were exported for. */
export function storeMarkerText(key: string): string {
  return `NuGet packages kept by aot-buildx-action between runs.\nkey: ${key}\n`
}

/** The key a marker records (none for a marker from before keys were recorded). */
export function storedKey(markerText: string): string | undefined {
  return /^key: (\S+)$/m.exec(markerText)?.[1]
}

/**
 * Which store keeps the packages: a given folder, the Actions cache, or none. With `auto`, a
 * build that has secrets (a private feed's credentials, as far as the action can tell) keeps
 * nothing in the Actions cache: every workflow run of the repository can read it, a fork pull
 * request's own workflow included, and packages restored with credentials are private.
 */
export function nugetCacheMode(input: 'auto' | 'true' | 'false', dir: string, actionsCacheAvailable: boolean, hasSecrets = false): NugetCacheMode {
  if (input === 'false') return 'off'
  if (dir !== '') return 'dir'
  if (!actionsCacheAvailable) return 'off'
  return input === 'auto' && hasSecrets ? 'off' : 'actions'
}

/** The notice for a build whose packages auto leaves out of the Actions cache. */
export const PRIVATE_PACKAGES_NOT_KEPT =
  "nuget-cache: auto keeps no NuGet packages in the Actions cache for a build with secrets (secrets, secret-envs, secret-files, nuget-config): every workflow run of the repository can read that cache, a fork pull request's own workflow included, and packages restored with credentials are private. nuget-cache: true keeps them there anyway; nuget-cache-dir keeps them in a folder of a self-hosted runner."


/**
 * Key: the project, and a hash of everything that decides which packages restore needs
 * (project/props/lock files, target platforms, SDK image). Restore keys fall back to any
 * earlier set of the same project: most packages carry over.
 */
export function nugetCacheKey(project: string, restoreFileContents: Record<string, string>, platforms: string[], sdkImage: string, trusted = true): { key: string; restoreKeys: string[] } {
  const slug = project.replace(/[^A-Za-z0-9._]+/g, '_').replace(/^_+|_+$/g, '') || '_'
  const h = createHash('sha256')
  for (const name of Object.keys(restoreFileContents).sort()) h.update(`${name}\0${restoreFileContents[name]}\0`)
  h.update(`${[...platforms].sort().join(',')}\0${sdkImage}`)
  // Untrusted events (a pull request's code) keep and find only their own sets: a trusted run's
  // set may hold private packages restored with the feed's credentials, which the pull request's
  // restore step could read once loaded into its build.
  const prefix = `${trusted ? KEY_BASE : UNTRUSTED_KEY_BASE}-${slug}-`
  return { key: `${prefix}${h.digest('hex').slice(0, 32)}`, restoreKeys: [prefix] }
}

/**
 * The packages the .NET SDK itself restores for a Native AOT publish: the runtime, ASP.NET Core
 * and NativeAOT runtime packs, the apphost, ILCompiler and ILLink. Most of every app's package
 * set (about 250 MB a platform, against a few MB of an app's own packages), and alike for every
 * app built on one SDK image: kept once for all of them, apart from each app's own packages.
 * Exact ids only (a package of a feed's own cannot pass for one by a prefix).
 */
export function isSdkPack(id: string): boolean {
  // The runtime identifiers this action builds for (linux-x64, linux-arm64), glibc or musl.
  const rid = 'linux(?:-musl)?-(?:x64|arm64)'
  return new RegExp(
    `^(?:microsoft\\.(?:netcore|aspnetcore)\\.app\\.(?:ref|(?:runtime(?:\\.nativeaot)?|host|crossgen2)\\.${rid})|(?:runtime\\.${rid}\\.)?microsoft\\.dotnet\\.ilcompiler|microsoft\\.net\\.illink\\.tasks)$`
  ).test(id.toLowerCase())
}

/** Not a prefix of KEY_BASE's keys, nor they of its (a project path `packs` stays apart). */
const PACKS_KEY_BASE = 'aot-buildx-packs'
const UNTRUSTED_PACKS_KEY_BASE = 'aot-buildx-pr-packs'

/**
 * Where the SDK's packs are kept: one set per SDK image and platforms, whatever the project (a
 * web app's set adds the ASP.NET Core runtime packs; a set kept after both kinds built holds
 * both). The key's tail is a hash of the packages it holds (packsKey), so a set that grew, or
 * moved to a new SDK patch, is kept anew. A pull request finds the sets trusted runs kept
 * (Microsoft's packs, public) after its own; it keeps sets only under its own prefix, which no
 * trusted run reads.
 */
export function packsKeyPrefixes(platforms: string[], sdkImage: string, trusted = true): { prefix: string; restoreKeys: string[] } {
  const h = createHash('sha256').update(`${[...platforms].sort().join(',')}\0${sdkImage}`).digest('hex').slice(0, 16)
  const own = `${trusted ? PACKS_KEY_BASE : UNTRUSTED_PACKS_KEY_BASE}-${h}-`
  return { prefix: own, restoreKeys: trusted ? [own] : [own, `${PACKS_KEY_BASE}-${h}-`] }
}

/**
 * Of each pack, the newest patch of each major.minor: the one the SDK image restores now for
 * that framework (a set loaded from an earlier SDK patch would otherwise carry every old patch
 * along; an app on an older framework keeps its own line). Folders are `id/version`.
 */
export function newestPacks(folders: string[]): { keep: string[]; drop: string[] } {
  const newest = new Map<string, string>()
  for (const f of folders) {
    const [id = '', version = ''] = f.split('/')
    const line = `${id}/${/^\d+\.\d+/.exec(version)?.[0] ?? version}`
    const had = newest.get(line)
    if (had === undefined || compareVersions(version, had.slice(had.indexOf('/') + 1)) > 0) newest.set(line, f)
  }
  const keep = [...newest.values()]
  return { keep, drop: folders.filter((f) => !keep.includes(f)) }
}

/** nuget.org's feed: the only source whose packs are kept for every app (and pull requests). */
export const NUGET_ORG = 'https://api.nuget.org/v3/index.json'

/**
 * Whether a package version folder's `.nupkg.metadata` (what NuGet writes beside a package it
 * extracted) names nuget.org as its source. A pack from another feed (an authenticated mirror,
 * whose URL may carry a token) stays with the app's own packages.
 */
export function fromNugetOrg(metadataText: string): boolean {
  try {
    const source = (JSON.parse(metadataText) as { source?: unknown }).source
    return typeof source === 'string' && source.replace(/\/+$/, '').toLowerCase() === NUGET_ORG.toLowerCase()
  } catch {
    return false
  }
}

/** NuGet versions as the folders name them (lower case, SemVer 2 or four parts). */
function compareVersions(a: string, b: string): number {
  const sa = semver.coerce(a, { includePrerelease: true, loose: true })
  const sb = semver.coerce(b, { includePrerelease: true, loose: true })
  const c = sa !== null && sb !== null ? semver.compare(sa, sb) : 0
  return c !== 0 ? c : a.localeCompare(b)
}

/** The full key of a set of packs: the prefix and a hash of the `id/version` folders it holds. */
export function packsKey(prefix: string, folders: string[]): string {
  return `${prefix}${createHash('sha256').update([...folders].sort().join('\n')).digest('hex').slice(0, 32)}`
}

/** Whether two keys of packs name the same packages (a pull request's set and a trusted run's alike). */
export function samePacks(a: string, b: string | undefined): boolean {
  const tail = (k: string): string => k.slice(k.lastIndexOf('-') + 1)
  return b !== undefined && tail(a) === tail(b)
}

/**
 * argv of a build of one of the package cache's own targets. A new id each time makes its copy
 * run again: a cached result would be an earlier build's package set, or a load into a cache
 * mount emptied since. (--no-cache would also hand the copy a fresh, empty cache mount.)
 */
function packageCacheArgv(builder: string, dockerfile: string, context: string, target: string, extra: string[], runId: string, output: string): string[] {
  return [
    'buildx',
    'build',
    ...(builder !== '' ? ['--builder', builder] : []),
    '--file',
    dockerfile,
    '--target',
    target,
    ...extra,
    '--build-arg',
    `${EXPORT_ID_ARG}=${runId}`,
    '--progress',
    'plain',
    '--output',
    output,
    context
  ]
}

/** argv that writes the builder's NuGet package cache into `dest` as files. */
export function exportArgv(builder: string, dockerfile: string, context: string, dest: string, exportId: string): string[] {
  return packageCacheArgv(builder, dockerfile, context, NUGET_EXPORT_STAGE, [], exportId, `type=local,dest=${dest}`)
}

/**
 * argv that copies the kept packages in `seed` into the builder's NuGet package cache: a build
 * of its own, so no image step's cache key depends on the kept packages.
 */
export function loadArgv(builder: string, dockerfile: string, context: string, seed: string, loadId: string): string[] {
  return packageCacheArgv(builder, dockerfile, context, NUGET_LOAD_STAGE, ['--build-context', `${NUGET_SEED_STAGE}=${seed}`], loadId, 'type=cacheonly')
}

/**
 * Whether the build stopped because a step needs the kept packages: the step's own output line
 * (BuildKit prefixes it with the step and its seconds; the step's name also holds the text) and
 * its exit code.
 */
export function keptPackagesNeeded(log: string): boolean {
  const line = new RegExp(`^#\\d+ [\\d.]+ ${KEPT_NEEDED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm')
  return line.test(log) && new RegExp(`exit code: ${KEPT_EXIT}\\b`).test(log)
}

/** The package folders a store holds: `packages/`, or those of its parts (`own/packages/`, `packs/packages/`). */
export function packageFolders(dir: string): string[] {
  const folders = [path.join(dir, 'packages'), ...STORE_PARTS.map((p) => path.join(dir, p, 'packages'))]
  return folders.filter((f) => {
    try {
      return fs.readdirSync(f).length > 0
    } catch {
      return false
    }
  })
}

export function hasPackages(dir: string): boolean {
  return packageFolders(dir).length > 0
}

/** An Actions cache store's two parts, each an entry of its own: the app's packages and the SDK's packs. */
export const STORE_PARTS = ['own', 'packs'] as const

/**
 * Restores the folder from the Actions cache ('exact' means nothing new needs saving), or with
 * lookupOnly only asks whether an entry exists, downloading nothing.
 */
export async function restoreSeed(dir: string, key: string, restoreKeys: string[], lookupOnly = false): Promise<'exact' | 'partial' | 'miss'> {
  try {
    const hit = await restoreFromActionsCache([dir], key, restoreKeys, { lookupOnly })
    if (hit === undefined) return 'miss'
    return hit === key ? 'exact' : 'partial'
  } catch (e) {
    core.warning(`NuGet cache restore failed (the build downloads packages instead): ${(e as Error).message}`)
    return 'miss'
  }
}

/** A refused save (read-only token, 429, a key taken) is one warning, never a failure. */
export async function saveSeed(dir: string, key: string): Promise<void> {
  await saveToActionsCache([dir], key, 'The NuGet packages were', 'The next build on a fresh runner downloads them from the feeds again.')
}

/**
 * Whether this run's packages may be kept. A trusted event's (push, workflow_dispatch) always.
 * Any other event's never in nuget-cache-dir: on a self-hosted runner every later run, trusted
 * ones too, seeds its build from that folder. In the Actions cache only on pull_request, whose
 * entries live in the pull request's own merge-ref scope, which no other ref reads; other
 * untrusted events (pull_request_target, workflow_run, issue_comment, schedule, ...) save into
 * a branch scope that trusted runs restore from.
 */
export function mayKeepPackages(mode: NugetCacheMode, trustedEvent: boolean, eventName: string): boolean {
  if (mode === 'off') return false
  if (trustedEvent) return true
  return mode === 'actions' && eventName === 'pull_request'
}
