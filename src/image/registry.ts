// Reading images in registries (the baseline-image input, and the index a merge made) with
// Docker's own tools: `docker buildx imagetools inspect --raw` returns a manifest or index as
// the registry stores it. The registry is reached with the engine's logins (docker/login-action,
// credential helpers, the docker config DOCKER_CONFIG names), so the action holds no registry
// credentials at all, and any registry the engine can pull from works. Only manifests are read,
// never layers: the compressed size is config + layers from the manifest's descriptors. The
// uncompressed size would need every layer downloaded, so a registry baseline does not have it.
import { configPlatform, documentKind, indexPlatforms, manifestCompressedSize, sha256Digest, type ImageConfig, type PlatformImage } from './oci.js'
import { lastCopiedLayer } from './inspect.js'
import { imagetoolsInspectRawArgv, repositoryOf } from './scale.js'
import type { SizeSet } from '../size/types.js'
import { clip } from '../util/errors.js'
import { run } from '../util/proc.js'

/** The image (or the digest asked for) is not in its registry: there is no baseline, which is not an error. */
export class ImageNotFoundError extends Error {
  constructor(ref: string) {
    super(`image ${ref} was not found in its registry`)
    this.name = 'ImageNotFoundError'
  }
}

/** A read the registry refused, a credential helper that failed, or any other failure: docker's first line, clipped. */
export class RegistryReadError extends Error {
  constructor(
    readonly kind: 'denied' | 'credential-helper' | 'other',
    readonly registry: string,
    readonly detail: string
  ) {
    super(
      kind === 'denied'
        ? `the registry ${registry} refused access (${detail})`
        : kind === 'credential-helper'
          ? `the docker credential helper for ${registry} failed (${detail})`
          : detail
    )
    this.name = 'RegistryReadError'
  }
}

export type ReadFailure = 'not-found' | 'denied' | 'credential-helper' | 'other'

/**
 * The registry host of a reference, as Docker finds it: the first path component when it has a
 * dot or a port or is localhost, else Docker Hub (docker.io).
 */
export function registryOf(ref: string): string {
  const name = ref.trim().split('@')[0] ?? ''
  const slash = name.indexOf('/')
  if (slash < 0) return 'docker.io'
  const first = name.slice(0, slash)
  if (/[.:]/.test(first) || first === 'localhost') return first === 'index.docker.io' || first === 'registry-1.docker.io' ? 'docker.io' : first
  return 'docker.io'
}

/** The first line of docker's message worth quoting: buildx's `ERROR: ` prefix dropped, clipped. */
export function firstLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? ''
  return clip(line.replace(/^(ERROR|error):\s*/, ''), 200)
}

/**
 * What kind of failure buildx reported for a read. A credential helper that failed is its own
 * kind: its message can say `not found` (the helper's binary) without the image being missing.
 */
export function classifyFailure(text: string): ReadFailure {
  if (/error getting credentials|docker-credential-|credential helper/i.test(text)) return 'credential-helper'
  if (/\b401\b|\b403\b|unauthori[sz]ed|authentication required|authorization failed|no basic auth credentials|pull access denied|access (to the resource is )?denied|\bdenied:|forbidden/i.test(text)) return 'denied'
  if (/: not found\s*$|manifest unknown|MANIFEST_UNKNOWN|NAME_UNKNOWN|\b404 Not Found\b/im.test(text)) return 'not-found'
  return 'other'
}

/** The error for a failed read of `ref`, from what docker printed. */
function readFailure(ref: string, r: { code: number; stdout: string; stderr: string }): Error {
  const text = r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`
  const kind = classifyFailure(text)
  return kind === 'not-found' ? new ImageNotFoundError(ref) : new RegistryReadError(kind, registryOf(ref), firstLine(text))
}

export interface RawDocument {
  body: Buffer
  digest: string
}

/**
 * One manifest or index as the registry stores it, with the digest of its exact bytes; a
 * reference by digest must match it (content addressing is all the integrity a read has).
 */
export async function inspectRaw(builder: string, ref: string): Promise<RawDocument> {
  let r
  try {
    r = await run('docker', imagetoolsInspectRawArgv(builder, ref))
  } catch (e) {
    throw new RegistryReadError('other', registryOf(ref), `docker could not be run: ${firstLine((e as Error).message)}`)
  }
  if (r.code !== 0) throw readFailure(ref, r)
  const digest = sha256Digest(r.stdoutBytes)
  const at = ref.lastIndexOf('@')
  const expected = at >= 0 ? ref.slice(at + 1) : undefined
  if (expected !== undefined && digest !== expected) throw new RegistryReadError('other', registryOf(ref), `the registry returned content with digest ${digest} for ${ref}`)
  return { body: r.stdoutBytes, digest }
}

/** The platform of a single-manifest image, from its config (`imagetools inspect --format '{{json .Image}}'`). */
/** The image config of one platform's manifest, as imagetools reads it (the registry's logins). */
async function imageConfigText(builder: string, ref: string): Promise<string> {
  const argv = ['buildx', 'imagetools', 'inspect', ...(builder === '' ? [] : ['--builder', builder]), '--format', '{{json .Image}}', ref]
  const r = await run('docker', argv)
  if (r.code !== 0) throw readFailure(ref, r)
  return r.stdout
}

/** The app layer's size where the config's history shows which layer it is (see lastCopiedLayer). */
function appLayerOf(manifest: Buffer, configText: string): number | undefined {
  try {
    return lastCopiedLayer({ manifest: JSON.parse(manifest.toString('utf8')) as PlatformImage['manifest'], config: JSON.parse(configText) as ImageConfig })
  } catch {
    return undefined
  }
}

/**
 * Per-platform compressed sizes of an image in a registry: its index and each platform's
 * manifest (attestations skipped), or a single manifest and the platform its config names.
 */
export async function registrySizes(ref: string, opts: { builder?: string } = {}): Promise<SizeSet> {
  const builder = opts.builder ?? ''
  const root = await inspectRaw(builder, ref)
  const out: SizeSet = {}
  if (documentKind(root.body, `the manifest of ${ref}`) === 'manifest') {
    // By digest, so the config read belongs to the very manifest measured (a tag can move).
    const pinned = `${repositoryOf(ref)}@${root.digest}`
    const config = await imageConfigText(builder, pinned)
    const appLayer = appLayerOf(root.body, config)
    out[configPlatform(config, `the image config of ${pinned}`)] = { compressed: manifestCompressedSize(root.body, `the manifest of ${ref}`), ...(appLayer === undefined ? {} : { appLayer }) }
    return out
  }
  const repo = repositoryOf(ref)
  // One at a time: a few small documents, and a runner's cores are the build's.
  for (const e of indexPlatforms(root.body, `the index of ${ref}`)) {
    const pinned = `${repo}@${e.digest}`
    let manifest: RawDocument
    try {
      manifest = await inspectRaw(builder, pinned)
    } catch (err) {
      // A platform manifest the index lists but the registry lacks is a broken image, not a missing one.
      if (err instanceof ImageNotFoundError) throw new RegistryReadError('other', registryOf(ref), `the index of ${ref} lists ${e.digest}, which the registry does not have`)
      throw err
    }
    // The config says which layer the app is; without it the change is simply not split.
    const appLayer = appLayerOf(manifest.body, await imageConfigText(builder, pinned).catch(() => ''))
    out[e.platform] = { compressed: manifestCompressedSize(manifest.body, `the manifest ${pinned}`), ...(appLayer === undefined ? {} : { appLayer }) }
  }
  return out
}

/**
 * What to do about a baseline the registry would not serve, word for word in TROUBLESHOOTING.md
 * (a unit test keeps the two in step).
 */
const GHCR_LOGIN = 'For ghcr.io: docker/login-action with registry: ghcr.io, username: ${{ github.actor }}, password: ${{ secrets.GITHUB_TOKEN }}, and permissions: packages: read.'

export const BASELINE_ADVICE = {
  denied: `the action reads registries with the engine's own logins: log in to the baseline's registry before this step with docker/login-action (or install the registry's credential helper). ${GHCR_LOGIN}`,
  credentialHelper: 'the docker config names a credential helper for the registry that is missing or failed: install it on the runner, or log in with docker/login-action before this step instead.'
} as const

/**
 * What the size report says when the baseline image could not be read: a warning for the log
 * (none when the image is simply not there: that is no baseline, not a problem) and the short
 * reason the report shows.
 */
export function baselineFailure(ref: string, e: unknown, shown = ref): { warning?: string; reason: string } {
  if (e instanceof ImageNotFoundError) return { reason: `the image ${shown} was not found in its registry` }
  if (e instanceof RegistryReadError && e.kind === 'denied') {
    const ghcr = e.registry === 'ghcr.io' ? ` ${GHCR_LOGIN}` : ''
    return {
      warning: `Baseline image ${ref} could not be read: ${e.message}. Log in to ${e.registry} before this step with docker/login-action (or the registry's credential helper): the action reads registries with the engine's own logins.${ghcr}`,
      reason: `the registry ${e.registry} refused access to the baseline image ${shown}: log in to it with docker/login-action before this step`
    }
  }
  if (e instanceof RegistryReadError && e.kind === 'credential-helper') {
    return {
      warning: `Baseline image ${ref} could not be read: ${e.message}. Install the credential helper the docker config names for ${e.registry}, or log in with docker/login-action before this step.`,
      reason: `the baseline image ${shown} could not be read: the docker credential helper for ${e.registry} failed`
    }
  }
  const detail = e instanceof Error ? e.message : String(e)
  return { warning: `Baseline image ${ref} could not be read: ${clip(detail, 240)}`, reason: `the baseline image ${shown} could not be read` }
}
