// SBOM statements kept for the next run of the same images. A platform image is its manifest
// digest, and with source-date-epoch the statement is a function of the image (the same
// packages went into the same bytes), so a run whose every platform digest a trusted run
// described before attaches that run's statements and builds no facts. One Actions cache entry
// per set of images (one lookup, one save), keyed by the digests and what else the document
// names. Key, file and parsing are pure; restoreKeptSboms and saveKeptSboms wrap @actions/cache.
//
// Trust: as for the smoke test's proofs (smoke/proven.ts): only trusted events save, and no
// untrusted run can write where a trusted run reads.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { restoreFromActionsCache, saveToActionsCache } from '../action/actionscache.js'
import { SHA256_DIGEST } from '../image/oci.js'
import { printable } from '../util/errors.js'
import { INTOTO_STATEMENT, SPDX_PREDICATE } from './spdx.js'

/** Bumped whenever the document this action writes changes: older statements are not reused. */
export const SBOM_FORMAT = 1

/** The largest statement attached (run.ts); a kept one over it is not read. */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024

export interface SbomCounts {
  packages: number
  runtimePacks: number
  projects: number
  baseDigest: boolean
}

export interface KeptImage {
  platform: string
  digest: string
  counts: SbomCounts
  statement: string
}

/**
 * What the document names besides the image: a change of any of these describes the image anew.
 * `restoreInputs` hashes the restore's inputs (restoreInputsHash): a package whose code the
 * compiler trimmed away, or a new project version, changes the document and not the image.
 */
export interface KeptSettings {
  app: string
  framework: string
  runtimeImage: string
  created: number
  tool: string
  restoreInputs: string
}

/** The restore's input files (context-relative name and text), hashed in name order. */
export function restoreInputsHash(contents: Record<string, string>): string {
  const h = createHash('sha256')
  for (const name of Object.keys(contents).sort()) h.update(`${name}\0${contents[name] ?? ''}\0`)
  return h.digest('hex').slice(0, 32)
}

/** The set of images and settings as a key; undefined for a digest of another shape. */
export function keptKey(images: { platform: string; digest: string }[], s: KeptSettings): string | undefined {
  if (images.length === 0 || images.some((i) => !SHA256_DIGEST.test(i.digest))) return undefined
  const ids = images.map((i) => `${i.platform}@${i.digest}`).sort()
  const hash = createHash('sha256').update(JSON.stringify({ ids, s })).digest('hex').slice(0, 32)
  return `aot-buildx-sbom-v${SBOM_FORMAT}-${hash}`
}

/** The cache version hashes the path: save and restore name the same file. */
export function keptFile(tempDir: string): string {
  return path.join(tempDir, 'aot-buildx-sbom', 'statements.json')
}

/** The statements, and how many entries of the assets file the run that made them left out (its warning is repeated). */
export interface KeptSet {
  images: KeptImage[]
  rejected: number
}

export function serializeKept(k: KeptSet): string {
  return JSON.stringify({ version: 1, rejected: k.rejected, images: k.images })
}

const count = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 100000

/** The statement describes exactly this image: an in-toto SPDX statement whose one subject is the digest. */
function describes(statement: string, digest: string): boolean {
  let doc: unknown
  try {
    doc = JSON.parse(statement)
  } catch {
    return false
  }
  if (typeof doc !== 'object' || doc === null) return false
  const d = doc as { _type?: unknown; predicateType?: unknown; subject?: unknown; predicate?: unknown }
  const subject = Array.isArray(d.subject) && d.subject.length === 1 ? (d.subject[0] as { digest?: { sha256?: unknown } } | null) : undefined
  return d._type === INTOTO_STATEMENT && d.predicateType === SPDX_PREDICATE && typeof d.predicate === 'object' && d.predicate !== null && subject?.digest?.sha256 === digest.slice('sha256:'.length)
}

/**
 * The statements read back from the cache for exactly these images, in their order; undefined
 * for anything else (another set, a file this version did not write, a statement that does not
 * name its image). Read back from a cache: every field is checked.
 */
export function parseKept(text: string, images: { platform: string; digest: string }[]): KeptSet | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  const v = parsed as { version?: unknown; rejected?: unknown; images?: unknown } | null
  if (typeof v !== 'object' || v === null || v.version !== 1 || !count(v.rejected) || !Array.isArray(v.images) || v.images.length !== images.length) return undefined
  const kept = v.images as Partial<Record<keyof KeptImage, unknown>>[]
  const out: KeptImage[] = []
  for (const want of images) {
    const k = kept.find((x) => x.platform === want.platform && x.digest === want.digest)
    const c: unknown = k?.counts
    if (k === undefined || typeof c !== 'object' || c === null || typeof k.statement !== 'string') return undefined
    const n = c as Partial<Record<keyof SbomCounts, unknown>>
    if (!count(n.packages) || !count(n.runtimePacks) || !count(n.projects) || typeof n.baseDigest !== 'boolean') return undefined
    if (Buffer.byteLength(k.statement) > MAX_STATEMENT_BYTES || !describes(k.statement, want.digest)) return undefined
    out.push({ platform: want.platform, digest: want.digest, counts: { packages: n.packages, runtimePacks: n.runtimePacks, projects: n.projects, baseDigest: n.baseDigest }, statement: k.statement })
  }
  return { images: out, rejected: v.rejected }
}

/** The statements a trusted run kept for these very images; undefined where the service is not there, misses or fails. */
export async function restoreKeptSboms(images: { platform: string; digest: string }[], s: KeptSettings, tempDir: string): Promise<KeptSet | undefined> {
  const key = keptKey(images, s)
  if (key === undefined || !cache.isFeatureAvailable()) return undefined
  const file = keptFile(tempDir)
  // A file left by an earlier step must not pass for the restored one.
  fs.rmSync(file, { force: true })
  try {
    // The exact key only: a prefix would match other images.
    if ((await restoreFromActionsCache([file], key)) === undefined || !fs.existsSync(file)) return undefined
  } catch (e) {
    core.info(printable(`dotnet-sbom: the SBOM kept for these images could not be read from the Actions cache (${key}): ${(e as Error).message}; it is made again.`))
    return undefined
  }
  return parseKept(fs.readFileSync(file, 'utf8'), images)
}

/** Keeps the statements of this run's images; anything that goes wrong is one warning, never a failure. */
export async function saveKeptSboms(k: KeptSet, s: KeptSettings, tempDir: string): Promise<boolean> {
  const key = keptKey(k.images, s)
  if (key === undefined || !cache.isFeatureAvailable()) return false
  const then = 'The next run of the same images exports what restore resolved again.'
  const file = keptFile(tempDir)
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.rmSync(file, { force: true })
    // A new file: never through a link or into a folder left in its place.
    fs.writeFileSync(file, serializeKept(k), { flag: 'wx' })
  } catch (e) {
    core.warning(printable(`The SBOM of these images was not saved to the Actions cache (key ${key}): ${(e as Error).message}. ${then}`))
    return false
  }
  return saveToActionsCache([file], key, 'The SBOM of these images was', then, undefined, { sharedKey: true })
}
