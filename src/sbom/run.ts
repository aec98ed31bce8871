// The SBOM's shell: exports what restore resolved with a small cached build, reads it, and
// attaches one SPDX statement per platform to the OCI layout before anything is pushed.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { archOf, type Platform } from '../dotnet/platforms.js'
import { FACTS_FILE, FACTS_STAGE } from '../dockerfile/generate.js'
import { factsArgv, type BuildPlan } from '../engine/buildx.js'
import { readLayoutRoot } from '../image/layout.js'
import { sha256Digest } from '../image/oci.js'
import { run } from '../util/proc.js'
import { MAX_ASSETS_BYTES, readAssets } from './assets.js'
import { attachStatements, attestationLayers, baseDigestFromProvenance } from './attach.js'
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
  /** Components listed per platform. */
  counts: { platform: string; packages: number; runtimePacks: number; projects: number; baseDigest: boolean }[]
  rejected: number
}

/** Reads the facts and rewrites the layout with the statements attached. Throws with the reason. */
export function attachSbom(job: SbomJob): SbomResult | { skipped: string } {
  const facts = readAssets(readFacts(job.factsDir), job.framework, job.images.map((i) => archOf(i.platform)))
  const blobsDir = path.join(job.ociDir, 'blobs', 'sha256')
  const read = (digest: string): Buffer => fs.readFileSync(path.join(blobsDir, digest.replace(/^sha256:/, '')))
  const root = readLayoutRoot(job.ociDir)
  const counts: SbomResult['counts'] = []
  const statements = job.images.map((img) => {
    const components = facts.components.get(archOf(img.platform)) ?? []
    const provenance = attestationLayers(read, root, img.digest).find((l) => l.predicateType.startsWith('https://slsa.dev/provenance/'))
    const baseDigest = provenance !== undefined ? baseDigestFromProvenance(provenance.body, job.runtimeImage) : undefined
    counts.push({
      platform: img.platform,
      packages: components.filter((c) => c.kind === 'package').length,
      runtimePacks: components.filter((c) => c.kind === 'runtime-pack').length,
      projects: components.filter((c) => c.kind === 'project').length,
      baseDigest: baseDigest !== undefined || job.runtimeImage.includes('@sha256:')
    })
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
    if (statement.length > 4 * 1024 * 1024) throw new Error(`the SBOM of ${img.platform} would be ${statement.length} bytes, more than an attestation takes`)
    return { manifestDigest: img.digest, statement }
  })
  const attached = attachStatements(read, root, statements)
  if ('skipped' in attached) return attached
  for (const b of attached.blobs) {
    const file = path.join(blobsDir, sha256Digest(b).slice('sha256:'.length))
    if (!fs.existsSync(file)) fs.writeFileSync(file, b)
  }
  // index.json names the new index under every tag it named the old one.
  const indexFile = path.join(job.ociDir, 'index.json')
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests?: { digest: string; size: number }[] }
  const manifests = (index.manifests ?? []).map((m) => (m.digest === root.digest ? { ...m, digest: attached.root.digest, size: attached.root.size } : m))
  const tmp = `${indexFile}.tmp`
  fs.writeFileSync(tmp, JSON.stringify({ ...index, manifests }))
  fs.renameSync(tmp, indexFile)
  return { digest: attached.root.digest, size: attached.root.size, counts, rejected: facts.rejected }
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
export function sbomLines(r: SbomResult): string[] {
  return r.counts.map(
    (c) =>
      `${c.platform}: SPDX SBOM attached: ${c.packages} NuGet package${c.packages === 1 ? '' : 's'}, ${c.runtimePacks} runtime pack${c.runtimePacks === 1 ? '' : 's'}, ${c.projects} project reference${c.projects === 1 ? '' : 's'}, the base image ${c.baseDigest ? 'by digest' : 'by name (its digest is in no provenance: provenance: false)'}`
  )
}
