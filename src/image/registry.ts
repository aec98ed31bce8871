// Reads an image's per-platform sizes straight from a registry (the baseline-image input):
// only manifests and config blobs are fetched, never layers, so the figure is the
// compressed size (config + layers from the manifests), and the app layer where the config's
// history shows which layer it is. The uncompressed size would need every layer downloaded,
// so a registry baseline does not have it.
import { createHash } from 'node:crypto'
import type { BlobStore, Descriptor } from './oci.js'
import { platformImages } from './oci.js'
import { lastCopiedLayer } from './inspect.js'
import type { SizeSet } from '../size/diff.js'

export interface ImageReference {
  /** Host[:port] the API is served on: registry-1.docker.io for Docker Hub. */
  registry: string
  /** Repository path, with library/ for Docker Hub official images. */
  repository: string
  tag?: string
  digest?: string
  /** The tag or digest to fetch: the digest when both are given. */
  reference: string
}

export interface RegistryOptions {
  /** Basic credentials for the registry or its token service. Never logged. */
  credentials?: { username: string; password: string }
  /** Force plain http (true) or https (false); the default is http only for localhost. */
  plainHttp?: boolean
  /** For tests and proxies; defaults to the global fetch. */
  fetch?: typeof fetch
}

/** The registry answered 404 for the image itself: there is no baseline, which is not an error. */
export class ImageNotFoundError extends Error {
  constructor(ref: string) {
    super(`image ${ref} was not found in its registry`)
    this.name = 'ImageNotFoundError'
  }
}

const DOCKER_HUB = 'registry-1.docker.io'
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')
// Manifests and image configs are kilobytes; refuse anything absurd rather than buffer it.
const MAX_DOCUMENT = 8 * 1024 * 1024

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/

/** Parses [registry[:port]/]path[:tag][@sha256:digest] with Docker's defaults. */
export function parseReference(ref: string): ImageReference {
  const bad = (why: string): never => {
    throw new Error(`"${ref}" is not an image reference: ${why}`)
  }
  let rest = ref.trim()
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) bad('the digest is not sha256:<64 hex digits>')
  }
  const parts = rest.split('/')
  // Like Docker: the first component is a registry host if it has a dot or port, or is localhost.
  let registry = 'docker.io'
  const [first] = parts
  if (parts.length > 1 && first !== undefined && (/[.:]/.test(first) || first === 'localhost')) {
    registry = first
    parts.shift()
  }
  let tag: string | undefined
  const last = parts[parts.length - 1] ?? ''
  const colon = last.indexOf(':')
  if (colon >= 0) {
    tag = last.slice(colon + 1)
    parts[parts.length - 1] = last.slice(0, colon)
    if (!TAG.test(tag)) bad(`the tag "${tag}" is not valid`)
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) bad('the repository must be lower-case path components')
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    registry = DOCKER_HUB
    if (parts.length === 1) parts.unshift('library')
  }
  if (tag === undefined && digest === undefined) tag = 'latest'
  return { registry, repository: parts.join('/'), tag, digest, reference: digest ?? (tag as string) }
}

/** The canonical form of a parsed reference, for messages. */
export function referenceString(image: ImageReference): string {
  return `${image.registry}/${image.repository}${image.digest !== undefined ? `@${image.digest}` : `:${image.tag ?? 'latest'}`}`
}

function isLocal(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '')
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]'
}

/** Bearer challenge parameters: realm, service, scope. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const [, scheme, rest] = /^\s*(\w+)\s*(.*)$/s.exec(header) ?? []
  const params: Record<string, string> = {}
  if (scheme === undefined || rest === undefined) return { scheme: '', params }
  for (const [, key = '', quoted, bare] of rest.matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) params[key.toLowerCase()] = quoted ?? bare ?? ''
  return { scheme: scheme.toLowerCase(), params }
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

interface Fetched {
  body: Buffer
  contentType: string
  digest: string
}

/** A read-only client for one repository, with the anonymous or basic-credential token flow. */
export class RegistryClient {
  private readonly base: string
  private authorization: string | undefined
  private readonly fetchFn: typeof fetch

  constructor(
    readonly image: ImageReference,
    private readonly opts: RegistryOptions = {}
  ) {
    const scheme = (opts.plainHttp ?? isLocal(image.registry)) ? 'http' : 'https'
    this.base = `${scheme}://${image.registry}/v2/${image.repository}`
    this.fetchFn = opts.fetch ?? fetch
  }

  manifest(reference: string): Promise<Fetched> {
    return this.get(`/manifests/${reference}`, MANIFEST_ACCEPT, reference)
  }

  blob(digest: string): Promise<Fetched> {
    return this.get(`/blobs/${digest}`, '*/*', digest)
  }

  private basic(): string | undefined {
    const c = this.opts.credentials
    return c === undefined ? undefined : `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
  }

  private async get(suffix: string, accept: string, reference: string): Promise<Fetched> {
    const url = this.base + suffix
    const send = (): Promise<Response> =>
      this.fetchFn(url, { headers: { Accept: accept, ...(this.authorization !== undefined ? { Authorization: this.authorization } : {}) }, redirect: 'follow' })
    let res = await send()
    if (res.status === 401 && (await this.authenticate(res))) res = await send()
    if (res.status === 404 && suffix.startsWith('/manifests/') && reference === this.image.reference) {
      await res.body?.cancel()
      throw new ImageNotFoundError(referenceString(this.image))
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw new Error(`GET ${url} answered ${res.status} ${res.statusText}`.trim())
    }
    const length = Number(res.headers.get('content-length') ?? '0')
    if (length > MAX_DOCUMENT) {
      await res.body?.cancel()
      throw new Error(`GET ${url}: ${length} bytes is too large for a manifest or image config`)
    }
    const body = Buffer.from(await res.arrayBuffer())
    const digest = sha256(body)
    // Content addressing is the only integrity check a registry response has: enforce it.
    if (DIGEST.test(reference) && digest !== reference) throw new Error(`GET ${url}: the content's digest is ${digest}, not ${reference}`)
    const claimed = res.headers.get('docker-content-digest')
    if (!DIGEST.test(reference) && claimed !== null && DIGEST.test(claimed) && claimed !== digest) {
      throw new Error(`GET ${url}: the content's digest is ${digest}, but the registry says ${claimed}`)
    }
    const [contentType = ''] = (res.headers.get('content-type') ?? '').split(';')
    return { body, contentType: contentType.trim(), digest }
  }

  /** Answers a 401 challenge; false when there is nothing more to try. */
  private async authenticate(res: Response): Promise<boolean> {
    await res.body?.cancel()
    if (this.authorization !== undefined && this.authorization.startsWith('Bearer ')) return false
    const { scheme, params } = parseChallenge(res.headers.get('www-authenticate') ?? '')
    if (scheme === 'basic') {
      const basic = this.basic()
      if (basic === undefined || this.authorization === basic) return false
      this.authorization = basic
      return true
    }
    if (scheme !== 'bearer' || !params.realm) return false
    const tokenUrl = new URL(params.realm)
    if (params.service) tokenUrl.searchParams.set('service', params.service)
    tokenUrl.searchParams.set('scope', params.scope || `repository:${this.image.repository}:pull`)
    const basic = this.basic()
    const tr = await this.fetchFn(tokenUrl, { headers: basic !== undefined ? { Authorization: basic } : {} })
    if (!tr.ok) {
      await tr.body?.cancel()
      throw new Error(`the registry's token service ${tokenUrl.origin}${tokenUrl.pathname} answered ${tr.status} ${tr.statusText}`.trim())
    }
    const json = (await tr.json()) as { token?: string; access_token?: string }
    const token = json.token ?? json.access_token
    if (!token) throw new Error(`the registry's token service ${tokenUrl.origin}${tokenUrl.pathname} returned no token`)
    this.authorization = `Bearer ${token}`
    return true
  }
}

/**
 * A BlobStore over the registry for platformImages: digests listed in an index are
 * manifests (read from /manifests/), everything else is a blob (config, from /blobs/).
 */
export function registryStore(client: RegistryClient, known: Map<string, Buffer> = new Map()): BlobStore {
  const manifests = new Set<string>()
  const remember = (body: Buffer): void => {
    try {
      const doc = JSON.parse(body.toString('utf8')) as { manifests?: Descriptor[] }
      for (const m of doc.manifests ?? []) manifests.add(m.digest)
    } catch {
      // Not JSON (it would not be a manifest either): nothing to learn from it.
    }
  }
  for (const body of known.values()) remember(body)
  return {
    read: async (digest: string) => {
      const cached = known.get(digest)
      if (cached !== undefined) return cached
      const fetched = manifests.has(digest) ? await client.manifest(digest) : await client.blob(digest)
      remember(fetched.body)
      known.set(digest, fetched.body)
      return fetched.body
    }
  }
}

/**
 * Per-platform compressed sizes of an image in a registry, with the app layer where the
 * config's history shows it; attestation manifests are skipped.
 */
export async function registrySizes(ref: string, opts: RegistryOptions = {}): Promise<SizeSet> {
  const client = new RegistryClient(parseReference(ref), opts)
  const root = await client.manifest(client.image.reference)
  let mediaType = root.contentType
  try {
    mediaType = (JSON.parse(root.body.toString('utf8')) as { mediaType?: string }).mediaType ?? mediaType
  } catch {
    throw new Error(`the manifest of ${ref} is not JSON`)
  }
  const store = registryStore(client, new Map([[root.digest, root.body]]))
  const images = await platformImages(store, { mediaType, digest: root.digest, size: root.body.length })
  const out: SizeSet = {}
  for (const img of images) {
    const appLayer = lastCopiedLayer(img)
    out[img.platform] = appLayer === undefined ? { compressed: img.compressedSize } : { compressed: img.compressedSize, appLayer }
  }
  return out
}
