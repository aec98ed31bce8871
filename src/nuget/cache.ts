// NuGet packages across CI runs. BuildKit's `type=gha` cache keeps layers but not the
// contents of `RUN --mount=type=cache`, so every fresh runner downloads every package again.
// The generated Dockerfile can take the packages in as a build context (`nuget-seed`) and
// write its package cache out (`--target nuget-export`); this module decides the cache key
// and the argv, and moves the folder in and out of @actions/cache (or a plain folder).
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
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

export function hasPackages(dir: string): boolean {
  try {
    return fs.readdirSync(path.join(dir, 'packages')).length > 0
  } catch {
    return false
  }
}

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
