// Images the smoke test already started: a platform image is its manifest digest, so one whose
// digest a trusted run started, with the same smoke settings, and that passed, is not started
// again; its figures are kept in the Actions cache (a small JSON file per platform, keyed by the
// digest) and reused, marked as such. Key, file and parsing are pure; restoreProofs and
// saveProof are the thin wrappers around @actions/cache.
//
// Trust: only trusted events (push, workflow_dispatch) save (proofToSave). Reading on any event
// is safe because no untrusted run can write where a trusted run reads: GitHub scopes an entry
// to the ref of the run that saved it, and a run reads its own ref's entries and its base or
// default branch's. A pull_request run (even one whose workflow calls @actions/cache with our key
// itself) writes only to refs/pull/N/merge, which no push reads; pull_request_target,
// workflow_run and issue_comment runs get read-only cache tokens; and the other untrusted events
// (schedule, merge_group, ...) run the base branch's workflow, in which this action saves
// nothing. A pull request that reads a trusted run's entry reuses figures of the very bytes it
// built, which a trusted run started.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { restoreFromActionsCache, saveToActionsCache } from '../action/actionscache.js'
import type { Platform } from '../dotnet/platforms.js'
import { SHA256_DIGEST } from '../image/oci.js'
import type { SmokeResult, SmokeTarget } from './plan.js'

/** The action's major version: a new major may judge an image differently, so it proves it again. */
export const PROOF_MAJOR = 1

const KEY_BASE = `aot-buildx-smoke-v${PROOF_MAJOR}`

/** What decides a smoke test's verdict and figures besides the image itself. */
export interface ProofSettings {
  isWeb: boolean
  /** smoke-url (web apps only). */
  path: string
  /** smoke-args (console apps only). */
  args: string[]
  /** smoke-window (console apps only). */
  windowMs: number
  /** The container's memory limit (from max-memory). */
  memoryLimit: number
  port: number
  timeoutMs: number
}

/** The settings that matter for this kind of app, hashed: a change of any of them proves the image again. */
export function settingsHash(s: ProofSettings): string {
  const relevant = s.isWeb ? { web: true, path: s.path, port: s.port, timeoutMs: s.timeoutMs, memoryLimit: s.memoryLimit } : { web: false, args: s.args, windowMs: s.windowMs, memoryLimit: s.memoryLimit }
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex').slice(0, 16)
}

/**
 * One platform image's key: the manifest digest, the platform, whether it ran under QEMU (its
 * figures measure the emulator too) and the settings. Undefined for a digest of another shape.
 */
export function proofKey(digest: string, t: SmokeTarget, s: ProofSettings): string | undefined {
  if (!SHA256_DIGEST.test(digest)) return undefined
  return `${KEY_BASE}-${digest.slice('sha256:'.length)}-${t.platform.replace(/[^a-z0-9]+/g, '_')}-${t.emulated ? 'qemu' : 'native'}-${settingsHash(s)}`
}

/** The cache version hashes the path: save and restore name the same file, one per platform. */
export function proofFile(tempDir: string, platform: Platform): string {
  return path.join(tempDir, 'aot-buildx-smoke-proof', `${platform.replace(/[^a-z0-9]+/g, '_')}.json`)
}

export interface StoredProof {
  version: 1
  digest: string
  platform: string
  emulated: boolean
  startupMs?: number
  memoryPeak?: number
  outcome: string
  runId: string
  sha: string
}

export function serializeProof(p: Omit<StoredProof, 'version'>): string {
  return JSON.stringify({ version: 1, ...p }, null, 2) + '\n'
}

const figure = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0 && n < 1e12

/**
 * A proof read back from the cache, for exactly this image and platform; undefined for
 * anything else (another digest, a file this version did not write). The outcome is our own
 * words, but read back from a cache: one printable line, at most 500 characters.
 */
export function parseProof(text: string, digest: string, t: SmokeTarget): StoredProof | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  // Any field may hold anything: the file is read back from a cache.
  const v = parsed as Partial<Record<keyof StoredProof, unknown>>
  if (v.version !== 1 || v.digest !== digest || v.platform !== t.platform || v.emulated !== t.emulated) return undefined
  if (typeof v.outcome !== 'string' || v.outcome.length > 500 || !/^[\x20-\x7e]+$/.test(v.outcome)) return undefined
  const { startupMs, memoryPeak } = v
  if ((startupMs !== undefined && !figure(startupMs)) || (memoryPeak !== undefined && !figure(memoryPeak))) return undefined
  const shape = (x: unknown, re: RegExp): string => (typeof x === 'string' && re.test(x) ? x : '')
  return {
    version: 1,
    digest,
    platform: t.platform,
    emulated: t.emulated,
    ...(figure(startupMs) ? { startupMs } : {}),
    ...(figure(memoryPeak) ? { memoryPeak } : {}),
    outcome: v.outcome,
    runId: shape(v.runId, /^\d{1,20}$/),
    sha: shape(v.sha, /^[0-9a-f]{7,64}$/)
  }
}

/** Where reused figures come from, in our words (the run and commit in their own shapes only). */
export function reusedNote(p: Pick<StoredProof, 'runId' | 'sha'>): string {
  const facts = [p.runId !== '' ? `run ${p.runId}` : '', p.sha !== '' ? `commit ${p.sha.slice(0, 7)}` : ''].filter((x) => x !== '')
  return `figures reused: this image digest passed the smoke test before${facts.length > 0 ? ` (${facts.join(', ')})` : ''} and was not started again`
}

/** A stored proof as this run's result for the platform, marked as reused. */
export function reusedResult(p: StoredProof): SmokeResult {
  return {
    platform: p.platform as Platform,
    emulated: p.emulated,
    ...(p.startupMs !== undefined ? { startupMs: p.startupMs } : {}),
    ...(p.memoryPeak !== undefined ? { memoryPeak: p.memoryPeak } : {}),
    outcome: `${p.outcome}; ${reusedNote(p)}`,
    reused: true
  }
}

/**
 * What this run may keep as proof: only a trusted event's results, only when every image passed
 * its checks (smoke test and budgets included), only what was started now (not reused).
 */
export function proofsToSave(results: SmokeResult[], problems: number, trustedEvent: boolean): SmokeResult[] {
  if (!trustedEvent || problems > 0) return []
  return results.filter((r) => r.failure === undefined && r.reused !== true)
}

/** The proofs the cache holds for these targets, by platform; none where the service is not there or misses. */
export async function restoreProofs(targets: { target: SmokeTarget; digest: string }[], s: ProofSettings, tempDir: string): Promise<Map<string, StoredProof>> {
  const out = new Map<string, StoredProof>()
  if (!cache.isFeatureAvailable()) return out
  await Promise.all(
    targets.map(async ({ target, digest }) => {
      const key = proofKey(digest, target, s)
      if (key === undefined) return
      const file = proofFile(tempDir, target.platform)
      // A file left by an earlier step must not pass for the restored one.
      fs.rmSync(file, { force: true })
      try {
        // The exact key only: a prefix would match another image's proof.
        if ((await restoreFromActionsCache([file], key)) === undefined || !fs.existsSync(file)) return
      } catch (e) {
        core.info(`The smoke test's earlier figures for ${target.platform} could not be read from the Actions cache (${key}): ${(e as Error).message}; it is started.`)
        return
      }
      const proof = parseProof(fs.readFileSync(file, 'utf8'), digest, target)
      if (proof !== undefined) out.set(target.platform, proof)
    })
  )
  return out
}

/** Saves one platform's proof; a refusal is one warning (saveToActionsCache), never a failure. */
export async function saveProof(r: SmokeResult, digest: string, s: ProofSettings, tempDir: string, run: { runId: string; sha: string }): Promise<boolean> {
  const key = proofKey(digest, r, s)
  if (key === undefined || !cache.isFeatureAvailable()) return false
  const file = proofFile(tempDir, r.platform)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const figures = { ...(r.startupMs !== undefined ? { startupMs: Math.round(r.startupMs) } : {}), ...(r.memoryPeak !== undefined ? { memoryPeak: r.memoryPeak } : {}) }
  fs.writeFileSync(file, serializeProof({ digest, platform: r.platform, emulated: r.emulated, ...figures, outcome: r.outcome, runId: run.runId, sha: run.sha }))
  return saveToActionsCache([file], key, `The smoke test's figures for ${r.platform} were`, 'The next run of this image starts it again.')
}
