// The SBOM's shell: exports what restore resolved with a small cached build, reads it, and
// attaches one SPDX statement per platform to the OCI layout before anything is pushed.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { archOf, type Platform } from '../dotnet/platforms.js'
import { FACTS_FILE, FACTS_STAGE } from '../dockerfile/generate.js'
import { factsArgv, type BuildPlan } from '../engine/buildx.js'
import { layoutImageRoot, layoutStore, readLayoutRoot } from '../image/layout.js'
import { platformImages, sha256Digest } from '../image/oci.js'
import { run } from '../util/proc.js'
import { MAX_ASSETS_BYTES, readAssets } from './assets.js'
import { attachStatements, attestationLayers, baseDigestFromProvenance } from './attach.js'
import { MAX_STATEMENT_BYTES, restoreKeptSboms, type KeptImage, type KeptSet, type KeptSettings } from './kept.js'
import { sbomStatement } from './spdx.js'

/**
 * The aot-facts stage built into `<runDir>/facts`: every step it needs was just built, so this
 * takes about a second. Resolves to the folder, or to why it failed (never throws).
 */
export async function exportFacts(build: BuildPlan, env: Record<string, string>, runDir: string): Promise<{ dir: string; restoredAgain: boolean } | { why: string }> {
  const dest = path.join(runDir, 'facts')
  try {
    const r = await run('docker', factsArgv(build, FACTS_STAGE, dest), { env })
    const log = `${r.stdout}\n${r.stderr}`
    if (r.code === 0) return { dir: dest, restoredAgain: ranAgain(log, /dotnet restore/) }
    const tail = log.trim().split('\n').slice(-5).join(' / ')
    return { why: `docker buildx build --target ${FACTS_STAGE} failed (exit ${r.code}): ${tail.length > 600 ? `…${tail.slice(-600)}` : tail}` }
  } catch (e) {
    return { why: (e as Error).message }
  }
}

/** Where a run's SBOM comes from: the statements kept for these very images, or the facts exported now. */
export type SbomSource = { kept: KeptSet } | { facts: Awaited<ReturnType<typeof exportFacts>> }

/**
 * The statements a trusted run kept for the images the layout holds (kept.ts); undefined when
 * the cache has none for exactly these, or the layout cannot be read (the inspection that
 * follows says why). Never throws.
 */
export async function lookupKept(ociDir: string, settings: KeptSettings, tempDir: string): Promise<KeptSet | undefined> {
  try {
    const store = layoutStore(ociDir)
    const images = (await platformImages(store, layoutImageRoot(ociDir))).map((i) => ({ platform: i.platform, digest: i.manifestDigest }))
    return await restoreKeptSboms(images, settings, tempDir)
  } catch {
    return undefined
  }
}

/** Whether a step whose name matches ran in a build's plain log (rather than coming from the cache). */
export function ranAgain(log: string, step: RegExp): boolean {
  const ids = new Set<string>()
  for (const [, id, name] of log.matchAll(/^#(\d+) \[[^\]]*\] (.*)$/gm)) if (id !== undefined && name !== undefined && step.test(name)) ids.add(id)
  return [...ids].some((id) => !new RegExp(`^#${id} CACHED$`, 'm').test(log))
}

/** The exported assets file: a regular file of at most MAX_ASSETS_BYTES (the restore wrote it; a link is not followed). */
function readFacts(dir: string): string {
  // Joined as a list: ncc's asset finder reads path.join(x, 'name') as a file to bundle, and
  // copied exported facts it found under the working folder into dist/.
  const file = [dir, FACTS_FILE].join(path.sep)
  const st = fs.lstatSync(file)
  if (!st.isFile()) throw new Error(`${FACTS_FILE} is not a regular file`)
  if (st.size > MAX_ASSETS_BYTES) throw new Error(`${FACTS_FILE} is ${st.size} bytes, more than the ${MAX_ASSETS_BYTES} read (real ones are a few MB at most)`)
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  try {
    return fs.readFileSync(fd, 'utf8')
  } finally {
    fs.closeSync(fd)
  }
}

export interface SbomJob {
  ociDir: string
  factsDir: string
  /** The target framework the build published. */
  framework: string
  images: { platform: Platform; digest: string }[]
  app: string
  runtimeImage: string
  /** Seconds: the images' source-date-epoch, or the build's time. */
  created: number
  tool: string
}

export interface SbomResult {
  /** The layout's new root (index) digest and size. */
  digest: string
  size: number
  /** Each platform's statement and what it lists. */
  images: KeptImage[]
  rejected: number
}

const blobReader =
  (ociDir: string) =>
  (digest: string): Buffer =>
    fs.readFileSync(path.join(ociDir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')))

/** Each platform's statement, from the exported facts and the layout's provenance. Throws with the reason. */
export function describeImages(job: SbomJob): { images: KeptImage[]; rejected: number } {
  const facts = readAssets(readFacts(job.factsDir), job.framework, job.images.map((i) => archOf(i.platform)))
  const read = blobReader(job.ociDir)
  const root = readLayoutRoot(job.ociDir)
  const images = job.images.map((img): KeptImage => {
    const components = facts.components.get(archOf(img.platform)) ?? []
    const provenance = attestationLayers(read, root, img.digest).find((l) => l.predicateType.startsWith('https://slsa.dev/provenance/'))
    const baseDigest = provenance !== undefined ? baseDigestFromProvenance(provenance.body, job.runtimeImage) : undefined
    const statement = sbomStatement({
      app: job.app,
      appVersion: facts.projectVersion,
      platform: img.platform,
      manifestDigest: img.digest,
      components,
      base: { ref: job.runtimeImage, ...(baseDigest !== undefined ? { digest: baseDigest } : {}) },
      created: job.created,
      tool: job.tool
    })
    // The layout's readers take documents up to 4 MiB (layout.ts); an SBOM of 5000 packages is under 3.
    if (statement.length > MAX_STATEMENT_BYTES) throw new Error(`the SBOM of ${img.platform} would be ${statement.length} bytes, more than an attestation takes`)
    return {
      platform: img.platform,
      digest: img.digest,
      counts: {
        packages: components.filter((c) => c.kind === 'package').length,
        runtimePacks: components.filter((c) => c.kind === 'runtime-pack').length,
        projects: components.filter((c) => c.kind === 'project').length,
        baseDigest: baseDigest !== undefined || job.runtimeImage.includes('@sha256:')
      },
      statement: statement.toString('utf8')
    }
  })
  return { images, rejected: facts.rejected }
}

/** The layout rewritten with each image's statement attached; index.json names the new index under every tag it named the old one. */
export function attachToLayout(ociDir: string, images: KeptImage[]): { digest: string; size: number } | { skipped: string } {
  const read = blobReader(ociDir)
  const root = readLayoutRoot(ociDir)
  const attached = attachStatements(
    read,
    root,
    images.map((i) => ({ manifestDigest: i.digest, statement: Buffer.from(i.statement, 'utf8') }))
  )
  if ('skipped' in attached) return attached
  const blobsDir = path.join(ociDir, 'blobs', 'sha256')
  for (const b of attached.blobs) {
    const file = path.join(blobsDir, sha256Digest(b).slice('sha256:'.length))
    if (!fs.existsSync(file)) fs.writeFileSync(file, b)
  }
  const indexFile = path.join(ociDir, 'index.json')
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests?: { digest: string; size: number }[] }
  const manifests = (index.manifests ?? []).map((m) => (m.digest === root.digest ? { ...m, digest: attached.root.digest, size: attached.root.size } : m))
  const tmp = `${indexFile}.tmp`
  fs.writeFileSync(tmp, JSON.stringify({ ...index, manifests }))
  fs.renameSync(tmp, indexFile)
  return { digest: attached.root.digest, size: attached.root.size }
}

/** Reads the facts and rewrites the layout with the statements attached. Throws with the reason. */
export function attachSbom(job: SbomJob): SbomResult | { skipped: string } {
  const { images, rejected } = describeImages(job)
  const r = attachToLayout(job.ociDir, images)
  return 'skipped' in r ? r : { ...r, images, rejected }
}

/** buildx's metadata with the index the layout now holds (containerimage.digest and its descriptor). */
export function withIndex(metadata: string, digest: string, size: number): string {
  try {
    const m = JSON.parse(metadata) as Record<string, unknown>
    if (typeof m['containerimage.digest'] === 'string') m['containerimage.digest'] = digest
    const d = m['containerimage.descriptor']
    if (d !== null && typeof d === 'object') m['containerimage.descriptor'] = { ...(d as Record<string, unknown>), digest, size }
    return JSON.stringify(m)
  } catch {
    return metadata
  }
}

/** One log line per platform: counts only (the names are the repository's). */
export function sbomLines(images: Pick<KeptImage, 'platform' | 'counts'>[], kept = false): string[] {
  return images.map(
    ({ platform, counts: c }) =>
      `${platform}: SPDX SBOM attached${kept ? ' (kept by an earlier run of this image)' : ''}: ${c.packages} NuGet package${c.packages === 1 ? '' : 's'}, ${c.runtimePacks} runtime pack${c.runtimePacks === 1 ? '' : 's'}, ${c.projects} project reference${c.projects === 1 ? '' : 's'}, the base image ${c.baseDigest ? 'by digest' : 'by name (its digest is in no provenance: provenance: false)'}`
  )
}
