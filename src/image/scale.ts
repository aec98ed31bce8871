// Scale-out: one job per architecture pushes its image by digest only (no tag), and a merge
// job joins the digests into one multi-platform index under the tags. Pure: the argv of
// every command, and what the outputs and summary say, from what the registry returned.
import { SHA256_DIGEST } from './oci.js'
import type { Images } from '../size/diff.js'
import { humanBytes, textColumns, type SummaryFrame } from '../size/report.js'
import { code } from '../util/markdown.js'

export type Mode = 'build' | 'merge' | 'discover' | 'report'

/** A tag without its tag: ghcr.io/o/app:1 -> ghcr.io/o/app, localhost:5000/app:1 -> localhost:5000/app. */
export function repositoryOf(tag: string): string {
  const at = tag.indexOf('@')
  const ref = at < 0 ? tag : tag.slice(0, at)
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  return colon > slash ? ref.slice(0, colon) : ref
}

/** The distinct repositories of the tags, in order (app:1 and app:latest are one repository). */
export function repositories(tags: string[]): string[] {
  return [...new Set(tags.map(repositoryOf))]
}

/**
 * The buildx output of a per-architecture job: push by digest only (no tag is created), to
 * every repository of the tags. Several names go in one CSV field, quoted.
 */
export function pushByDigestOutput(repos: string[]): string {
  const name = repos.length === 1 ? `name=${repos[0]}` : `"name=${repos.join(',')}"`
  return `type=image,${name},push-by-digest=true,name-canonical=true,push=true`
}

/**
 * How a pushed build reaches the registry. buildx pushes itself, except on the docker driver:
 * it cannot push by digest ("push-by-digest is currently not implemented for docker driver"),
 * and with the containerd image store it pushes a tag twice (BuildKit's exporter, then buildx
 * through the daemon), which registries have answered with 500s. There the OCI layout the
 * build writes anyway is pushed once, after the images passed their checks (layoutPushArgv).
 */
export function pushByDigestMethod(driver: string): 'buildx' | 'layout' {
  return driver === 'docker' ? 'layout' : 'buildx'
}

/** The builder argument of imagetools: it takes the builder's registry settings (mirrors, insecure). */
function builderArgs(builder: string): string[] {
  return builder === '' ? [] : ['--builder', builder]
}

/**
 * Pushes an image served read-only from a local OCI layout (`source`, e.g. 127.0.0.1:PORT/layout)
 * to each repository by digest: buildx copies the blobs and uses the engine's registry
 * credentials, which the action never reads.
 */
/** Copies the layout's image `digest` from `source` to every reference: repo@digest (by digest) or repo:tag. */
export function layoutPushArgv(builder: string, refs: string[], digest: string, source: string): string[] {
  return ['buildx', 'imagetools', 'create', ...builderArgs(builder), '--progress', 'plain', ...refs.flatMap((r) => ['--tag', r]), `${source}@${digest}`]
}

/** Merge sources: a bare digest is taken from `repo` (the first tag's repository); a full reference as given. */
export function mergeSources(digests: string[], repo: string): string[] {
  return digests.map((d) => (SHA256_DIGEST.test(d) ? `${repo}@${d}` : d))
}

export function imagetoolsCreateArgv(builder: string, tags: string[], sources: string[], annotations: string[] = []): string[] {
  return ['buildx', 'imagetools', 'create', ...builderArgs(builder), '--progress', 'plain', ...tags.flatMap((t) => ['--tag', t]), ...annotations.flatMap((a) => ['--annotation', a]), ...sources]
}

/**
 * Annotations a merge can set: imagetools create writes only the index and its descriptors
 * (index:, manifest-descriptor:); the manifests are the build jobs' and are not rewritten.
 */
export function mergeAnnotations(annotations: string[]): { passed: string[]; left: string[] } {
  const passed: string[] = []
  const left: string[] = []
  for (const a of annotations) {
    const head = a.slice(0, a.indexOf('='))
    const colon = head.lastIndexOf(':')
    const types = colon < 0 ? ['manifest'] : head.slice(0, colon).replace(/\[[^\]]*\]$/, '').split(',').map((t) => t.trim())
    if (types.every((t) => t === 'index' || t === 'manifest-descriptor')) passed.push(a)
    else left.push(a)
  }
  return { passed, left }
}

export function imagetoolsInspectRawArgv(builder: string, ref: string): string[] {
  return ['buildx', 'imagetools', 'inspect', ...builderArgs(builder), '--raw', ref]
}

export interface MergedPlatform {
  platform: string
  digest: string
  compressed: number
}

/**
 * What is wrong with a merged index against the platforms asked for: a platform missing (a
 * platform job's digest was not passed), or present twice (two digests of one platform).
 */
export function mergeProblems(found: MergedPlatform[], wanted: string[]): string[] {
  const problems: string[] = []
  const seen = new Map<string, number>()
  for (const f of found) seen.set(f.platform, (seen.get(f.platform) ?? 0) + 1)
  for (const [p, n] of seen) if (n > 1) problems.push(`${p} is in the merged index ${n} times: two of the digests are images of the same platform`)
  for (const w of wanted) if (!seen.has(w)) problems.push(`the merged index has no ${w} image: pass the digest of the ${w} job too`)
  return problems
}

export interface MergedSizesJson {
  [platform: string]: { compressed: number; uncompressed: null; appLayer: null; digest: string }
}

/** The `sizes` output of a merge: compressed and digest; the rest needs the layers, so null. */
export function mergedSizesJson(found: MergedPlatform[]): MergedSizesJson {
  const out: MergedSizesJson = {}
  for (const f of found) out[f.platform] = { compressed: f.compressed, uncompressed: null, appLayer: null, digest: f.digest }
  return out
}

export function mergedSizeOutputs(found: MergedPlatform[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of found) out[`size-${f.platform.replace(/\//g, '-')}`] = String(f.compressed)
  return out
}


export interface MergeSummary {
  title: string
  found: MergedPlatform[]
  tags: string[]
  indexDigest: string
  seconds: number
}

/** The one table's rows of a merge: manifests give the compressed size and digest only. */
export function mergedImages(found: MergedPlatform[]): Images {
  return { baseImage: '', rows: found.map((f) => ({ platform: f.platform, digest: f.digest, compressed: f.compressed })) }
}

export function mergeFrame(s: MergeSummary): SummaryFrame {
  return {
    heading: `### Native AOT image (merged): ${code(s.title)}`,
    facts: [`Merged ${s.found.length} platform image${s.found.length === 1 ? '' : 's'} in ${s.seconds.toFixed(1)} s · index ${code(s.indexDigest)}`, '', `Pushed: ${s.tags.map(code).join(', ')}`],
    notes: ['Uncompressed and app-layer sizes are not available from manifests alone (they need every layer downloaded): the platform jobs report them.']
  }
}

export function mergedTable(found: MergedPlatform[]): string {
  const rows = [['platform', 'compressed', 'digest'], ...found.map((f) => [f.platform, humanBytes(f.compressed), f.digest])]
  return textColumns(rows)
}
