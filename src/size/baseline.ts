// A baseline without a registry: each default-branch build keeps its sizes as a small JSON
// file in the Actions cache, keyed by project, platforms and branch; a pull-request run
// restores the newest one for its base branch by key prefix. The key and file logic is
// pure; saveSizes/restoreSizes are the thin wrappers around @actions/cache.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { restoreFromActionsCache, saveToActionsCache } from '../action/actionscache.js'
import type { SizeEntry, SizeSet } from './diff.js'
import { isTrustedEvent } from '../action/env.js'

const KEY_BASE = 'aot-buildx-sizes'

/**
 * One key component: '-' separates components, so it never appears inside one. Otherwise
 * the prefix for branch "main" would also match keys of branch "main-old".
 */
export function keyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._]+/g, '_').replace(/^_+|_+$/g, '') || '_'
}

/** linux/arm64,linux/amd64 -> linux_amd64+linux_arm64: order-independent. */
export function platformsPart(platforms: readonly string[]): string {
  return [...platforms]
    .sort()
    .map((p) => keyPart(p))
    .join('+')
}

export function cacheKeyPrefix(project: string, platforms: readonly string[], branch: string): string {
  return `${KEY_BASE}-${keyPart(project)}-${platformsPart(platforms)}-${keyPart(branch)}-`
}

/**
 * The run id ends the key: restoring by prefix then finds the newest run's sizes. A re-run
 * (attempt 2 on) adds its attempt: the first attempt's key is taken.
 */
export function cacheKey(project: string, platforms: readonly string[], branch: string, runId: string, runAttempt = ''): string {
  const attempt = /^\d{1,6}$/.test(runAttempt) && runAttempt !== '1' ? `-${runAttempt}` : ''
  return cacheKeyPrefix(project, platforms, branch) + keyPart(runId) + attempt
}

/**
 * The cache version hashes the paths, so save and restore must name the same file: it
 * depends on project and platforms only, never on the branch or run.
 */
export function sizesFile(tempDir: string, project: string, platforms: readonly string[]): string {
  return path.join(tempDir, KEY_BASE, `${keyPart(project)}-${platformsPart(platforms)}.json`)
}

export interface StoredSizes {
  version: 1
  project: string
  branch: string
  runId: string
  runAttempt?: string
  sha: string
  sizes: SizeSet
}

export function serializeSizes(s: Omit<StoredSizes, 'version'>): string {
  return JSON.stringify({ version: 1, ...s }, null, 2) + '\n'
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function isEntry(v: unknown): v is SizeEntry {
  const e = v as SizeEntry
  return (
    typeof v === 'object' &&
    v !== null &&
    isCount(e.compressed) &&
    (e.uncompressed === undefined || isCount(e.uncompressed)) &&
    (e.appLayer === undefined || (isCount(e.appLayer) && e.appLayer <= e.compressed))
  )
}

/** The stored sizes, or undefined for anything this version did not write (then: no baseline). */
export function parseStoredSizes(text: string): StoredSizes | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  // Any field may hold anything: the file is read back from a cache.
  const v = parsed as Partial<Record<keyof StoredSizes, unknown>>
  if (v.version !== 1 || typeof v.sizes !== 'object' || v.sizes === null) return undefined
  const sizes: SizeSet = {}
  for (const [p, e] of Object.entries(v.sizes)) {
    if (!isEntry(e)) return undefined
    // Files written before appLayer existed have none: their diffs are not split.
    const entry: SizeEntry = { compressed: e.compressed }
    if (e.uncompressed !== undefined) entry.uncompressed = e.uncompressed
    if (e.appLayer !== undefined) entry.appLayer = e.appLayer
    sizes[p] = entry
  }
  return { version: 1, project: storedText(v.project), branch: storedText(v.branch), runId: storedText(v.runId), sha: storedText(v.sha), sizes }
}

function storedText(x: unknown): string {
  return typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? String(x) : ''
}

/**
 * For the report: "sizes cached from branch main (run 123, commit abc1234)". The file comes
 * from a cache: the run and commit appear only in their own shapes, and `branch` (for
 * Markdown: a code span) wraps the branch name.
 */
export function describeStored(s: StoredSizes, branch: (name: string) => string = (name) => name): string {
  const facts = [/^\d{1,20}$/.test(s.runId) ? `run ${s.runId}` : '', /^[0-9a-f]{7,64}$/.test(s.sha) ? `commit ${s.sha.slice(0, 7)}` : ''].filter((x) => x !== '')
  return `sizes cached from branch ${branch(s.branch)}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`
}

export interface CacheEvent {
  eventName: string
  /** GITHUB_REF, e.g. refs/heads/main. */
  ref: string
  /** GITHUB_BASE_REF: the base branch of a pull request, else ''. */
  baseRef: string
  defaultBranch: string
}

/**
 * Which branch this run saves its sizes for, and which branch's sizes it compares with. Saved
 * only by trusted events (push, workflow_dispatch) on the default branch: a workflow_run,
 * issue_comment or schedule run also has the default branch as GITHUB_REF, but may build a
 * pull request's code, whose sizes would become every later pull request's baseline.
 */
export function cacheRole(e: CacheEvent): { save?: string; restore?: string } {
  if ((e.eventName === 'pull_request' || e.eventName === 'pull_request_target') && e.baseRef !== '') return { restore: e.baseRef }
  const branch = e.ref.startsWith('refs/heads/') ? e.ref.slice('refs/heads/'.length) : ''
  if (isTrustedEvent(e.eventName) && branch !== '' && branch === e.defaultBranch) return { save: branch }
  return {}
}

export interface SaveOptions {
  tempDir: string
  project: string
  platforms: readonly string[]
  branch: string
  runId: string
  runAttempt?: string
  sha: string
  sizes: SizeSet
}

/** Saves this build's sizes; false when the cache service is unavailable or refused (a warning, not a failure). */
export async function saveSizes(o: SaveOptions): Promise<{ key: string; saved: boolean }> {
  const key = cacheKey(o.project, o.platforms, o.branch, o.runId, o.runAttempt)
  if (!cache.isFeatureAvailable()) return { key, saved: false }
  const file = sizesFile(o.tempDir, o.project, o.platforms)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, serializeSizes({ project: o.project, branch: o.branch, runId: o.runId, sha: o.sha, sizes: o.sizes }))
  // A refused save (read-only token, 429, a key taken) is one warning, never a failure.
  return { key, saved: await saveToActionsCache([file], key, 'The image sizes were', 'Pull requests compare with the sizes saved before this run.') }
}

export interface RestoreOptions {
  tempDir: string
  project: string
  platforms: readonly string[]
  branch: string
}

/** The newest sizes saved for the branch, or undefined when there are none (not an error). */
export async function restoreSizes(o: RestoreOptions): Promise<{ key: string; stored: StoredSizes } | undefined> {
  if (!cache.isFeatureAvailable()) return undefined
  const prefix = cacheKeyPrefix(o.project, o.platforms, o.branch)
  const file = sizesFile(o.tempDir, o.project, o.platforms)
  // A file left by an earlier step must not pass for the restored one.
  fs.rmSync(file, { force: true })
  let key: string | undefined
  try {
    key = await restoreFromActionsCache([file], prefix, [prefix])
  } catch (e) {
    core.warning(`Could not restore the baseline sizes from the Actions cache (${prefix}): ${(e as Error).message}`)
    return undefined
  }
  if (key === undefined || !fs.existsSync(file)) return undefined
  const stored = parseStoredSizes(fs.readFileSync(file, 'utf8'))
  return stored === undefined ? undefined : { key, stored }
}
