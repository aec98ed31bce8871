// Do the default base images exist? Asked before the build, so a tag Microsoft does not publish
// (a new major's, a distro it dropped) fails in seconds with the tag and what exists, not
// minutes later inside BuildKit. A manifest lookup (docker buildx imagetools inspect --raw) with
// the engine's logins, under a timeout; an image of that name in the engine's store counts as
// existing. Only a registry that answers "not found" fails the build: one that cannot be
// reached, refuses us or is slow leaves the question to the build itself.
import { execFile } from 'node:child_process'
import { IMAGE_FACTS_SOURCE, knownImages } from '../dockerfile/images.js'
import { BuildError } from '../util/errors.js'
import { GIT_SAFETY_ENV } from '../util/proc.js'
import { classifyFailure, firstLine, registryOf } from './registry.js'

/** A registry that has not answered by then is treated as unreachable. */
export const LOOKUP_TIMEOUT_MS = 20_000

export interface Lookup {
  ref: string
  /** The engine's image store has an image of this name. */
  local: boolean
  /** The manifest lookup; absent when the local image answered the question. */
  remote?: { code: number; stderr: string; timedOut: boolean }
}

export type Verdict = { ref: string; state: 'exists' } | { ref: string; state: 'missing'; detail: string } | { ref: string; state: 'unknown'; detail: string }

/** What one lookup says. Pure. */
export function judge(l: Lookup, timeoutMs = LOOKUP_TIMEOUT_MS): Verdict {
  if (l.local || l.remote === undefined) return { ref: l.ref, state: 'exists' }
  const r = l.remote
  if (r.timedOut) return { ref: l.ref, state: 'unknown', detail: `${registryOf(l.ref)} did not answer within ${timeoutMs / 1000} s` }
  if (r.code === 0) return { ref: l.ref, state: 'exists' }
  const text = r.stderr.trim() || `exit code ${r.code}`
  if (classifyFailure(text) === 'not-found') return { ref: l.ref, state: 'missing', detail: firstLine(text) }
  return { ref: l.ref, state: 'unknown', detail: firstLine(text) }
}

/** A preview tag of the same image: 11.0-resolute-aot -> 11.0-preview-resolute-aot (Microsoft's tags before a major's GA). */
export function previewOf(ref: string): string | undefined {
  const m = /^(.*:)(\d+\.0)-(?!preview-)(.+)$/.exec(ref)
  return m === null ? undefined : `${m[1]}${m[2]}-preview-${m[3]}`
}

/** The error for default images the registry does not know, naming what does exist. Pure. */
export function missingImagesError(missing: Verdict[], major: number, existingAlternatives: string[]): BuildError {
  const lines = missing.map((v) => `${v.ref} (${v.state === 'missing' ? v.detail : 'not found'})`)
  const known = knownImages(major)
  return new BuildError(
    `The default base image${missing.length > 1 ? 's' : ''} ${lines.join(' and ')} ${missing.length > 1 ? 'do' : 'does'} not exist in the registry. ` +
      (existingAlternatives.length > 0 ? `What exists: ${existingAlternatives.join(', ')}. ` : '') +
      `The images this action knows for .NET ${major} (${IMAGE_FACTS_SOURCE}): ${known.join(', ') || 'none'}. ` +
      'Set sdk-image and runtime-image to images of one distro that exist (or choose another distro with the distro input).'
  )
}

/** Runs docker with a timeout: argv only, never a shell. */
function docker(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    // Explicit env: the one this process holds now (DOCKER_CONFIG may have been set by this step), with the git settings every command carries.
    execFile('docker', args, { env: { ...process.env, ...GIT_SAFETY_ENV }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve({ code: 0, stdout, stderr, timedOut: false })
        return
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string }
      resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr || e.message, timedOut: e.killed === true })
    })
  })
}

/**
 * Of `refs`, those under which the registry already holds exactly `digest` (a rebuild of the
 * same commit gives the same index: see "Reproducible images"), asked with the engine's logins.
 * A registry that does not answer, refuses us or holds something else: not held.
 */
export async function alreadyHeld(refs: string[], digest: string, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<string[]> {
  // json: without it buildx prints its text view of the manifest for a template on .Manifest.
  const held = await Promise.all(
    refs.map(async (r) => {
      const a = await docker(['buildx', 'imagetools', 'inspect', '--format', '{{json .Manifest.Digest}}', r], timeoutMs)
      return a.code === 0 && a.stdout.trim() === JSON.stringify(digest)
    })
  )
  return refs.filter((_r, i) => held[i] === true)
}

/** Looks one reference up: the engine's store first, then its registry. */
export async function lookup(ref: string, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<Lookup> {
  const local = await docker(['image', 'inspect', '--format', '{{.Id}}', ref], timeoutMs)
  if (local.code === 0 && !local.timedOut) return { ref, local: true }
  return { ref, local: false, remote: await docker(['buildx', 'imagetools', 'inspect', '--raw', ref], timeoutMs) }
}

/**
 * Checks the default images; throws a BuildError when the registry says one does not exist.
 * `debug` gets a line per image whose existence could not be settled (the build then goes on).
 */
export async function checkDefaultImages(refs: string[], major: number, debug: (line: string) => void, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<Verdict[]> {
  const verdicts = (await Promise.all(refs.map((r) => lookup(r, timeoutMs)))).map((l) => judge(l, timeoutMs))
  for (const v of verdicts) if (v.state === 'unknown') debug(`Could not check that ${v.ref} exists (${v.detail}): the build will tell.`)
  const missing = verdicts.filter((v) => v.state === 'missing')
  if (missing.length === 0) return verdicts
  const previews = missing.map((v) => previewOf(v.ref)).filter((r): r is string => r !== undefined)
  const found = (await Promise.all(previews.map((r) => lookup(r, timeoutMs)))).map((l) => judge(l, timeoutMs)).filter((v) => v.state === 'exists')
  throw missingImagesError(missing, major, found.map((v) => v.ref))
}
