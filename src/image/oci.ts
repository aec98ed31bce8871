// Reading what buildx built: an OCI image index -> one manifest per platform -> config and
// layers. Sizes and the per-image checks come from here. Works on any BlobStore (an OCI
// layout folder), so it is testable with an in-memory store; the raw documents a registry
// returns (an index, a manifest, read with `docker buildx imagetools inspect --raw`) are
// parsed here too, so every reading of an image has one set of rules.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import * as tar from 'tar-stream'
import { ElfCapture, type ElfFacts, type Range } from './elf.js'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

export interface BlobStore {
  read(digest: string): Promise<Buffer>
}

export interface ImageConfig {
  architecture?: string
  os?: string
  variant?: string
  config?: { Entrypoint?: string[]; Cmd?: string[]; User?: string; WorkingDir?: string; Env?: string[] }
  /** One entry per build step; the steps without empty_layer made the layers, in order. */
  history?: { created_by?: string; empty_layer?: boolean }[]
}

export interface PlatformImage {
  platform: string
  manifestDigest: string
  manifest: { config: Descriptor; layers: Descriptor[] }
  config: ImageConfig
  /** Config + layers, compressed: what a registry stores and a pull downloads. */
  compressedSize: number
}

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']

export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/

export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
}

export function platformString(p: NonNullable<Descriptor['platform']>): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/')
}

/** Image manifests (attestations skipped) reachable from a descriptor: an index or a single manifest. */
export async function platformImages(store: BlobStore, root: Descriptor): Promise<PlatformImage[]> {
  const out: PlatformImage[] = []
  const visit = async (d: Descriptor): Promise<void> => {
    if (isAttestation(d)) return
    const body = JSON.parse((await store.read(d.digest)).toString('utf8')) as {
      mediaType?: string
      manifests?: Descriptor[]
      config?: Descriptor
      layers?: Descriptor[]
    }
    const type = body.mediaType ?? d.mediaType
    if (INDEX_TYPES.includes(type) || body.manifests !== undefined) {
      for (const m of body.manifests ?? []) await visit(m)
      return
    }
    if (!MANIFEST_TYPES.includes(type) || body.config === undefined) return
    const config = JSON.parse((await store.read(body.config.digest)).toString('utf8')) as ImageConfig
    const platform = d.platform ? platformString(d.platform) : `${config.os ?? 'unknown'}/${config.architecture ?? 'unknown'}`
    const layers = body.layers ?? []
    out.push({
      platform,
      manifestDigest: d.digest,
      manifest: { config: body.config, layers },
      config,
      compressedSize: body.config.size + layers.reduce((s, l) => s + l.size, 0)
    })
  }
  await visit(root)
  return out
}

export function sha256Digest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
  } catch {
    // reported below
  }
  throw new Error(`${what} is not a JSON manifest`)
}

/** A document without a mediaType may be any kind (Docker's older ones name none). */
function mediaTypeIsOneOf(doc: Record<string, unknown>, types: string[]): boolean {
  return doc.mediaType === undefined || (typeof doc.mediaType === 'string' && types.includes(doc.mediaType))
}

function mediaTypeText(doc: Record<string, unknown>): string {
  const t = doc.mediaType
  if (t === undefined || t === null) return 'none'
  return typeof t === 'string' ? t : JSON.stringify(t)
}

/** What a raw document from a registry is: an image index (or manifest list), or one image manifest. */
export function documentKind(body: Buffer, what: string): 'index' | 'manifest' {
  const doc = parseJson(body, what)
  if (Array.isArray(doc.manifests) && mediaTypeIsOneOf(doc, INDEX_TYPES)) return 'index'
  if (doc.config !== undefined && Array.isArray(doc.layers) && mediaTypeIsOneOf(doc, MANIFEST_TYPES)) return 'manifest'
  throw new Error(`${what} is neither an image index nor an image manifest (media type ${mediaTypeText(doc)})`)
}

/** The platform an image config names (os/architecture[/variant]): a single-manifest image has no other. */
export function configPlatform(text: string, what: string): string {
  const config = parseJson(Buffer.from(text), what) as ImageConfig
  if (typeof config.os !== 'string' || config.os === '' || typeof config.architecture !== 'string' || config.architecture === '') {
    throw new Error(`${what} names no os and architecture`)
  }
  return platformString({ os: config.os, architecture: config.architecture, variant: typeof config.variant === 'string' ? config.variant : undefined })
}

export interface IndexEntry {
  platform: string
  digest: string
}

/** The image manifests of an index, attestation manifests (and unknown/unknown) skipped. */
export function indexPlatforms(body: Buffer, what: string): IndexEntry[] {
  const doc = parseJson(body, what)
  const manifests = doc.manifests
  if (!Array.isArray(manifests) || !mediaTypeIsOneOf(doc, INDEX_TYPES)) {
    throw new Error(`${what} is not an image index (media type ${mediaTypeText(doc)})`)
  }
  const out: IndexEntry[] = []
  for (const m of manifests as Descriptor[]) {
    if (isAttestation(m)) continue
    if (typeof m.digest !== 'string' || !SHA256_DIGEST.test(m.digest)) throw new Error(`${what} lists a manifest without a sha256 digest`)
    out.push({ platform: m.platform !== undefined ? platformString(m.platform) : 'unknown', digest: m.digest })
  }
  return out
}

/** Compressed size of one image manifest: config + layers, what a registry stores and a pull downloads. */
export function manifestCompressedSize(body: Buffer, what: string): number {
  const doc = parseJson(body, what)
  const config = doc.config as Descriptor | undefined
  const layers = doc.layers as Descriptor[] | undefined
  if (!mediaTypeIsOneOf(doc, MANIFEST_TYPES) || config === undefined || !Array.isArray(layers)) {
    throw new Error(`${what} is not an image manifest (media type ${mediaTypeText(doc)})`)
  }
  const size = (d: Descriptor): number => {
    if (!Number.isSafeInteger(d.size) || d.size < 0) throw new Error(`${what} has a descriptor without a valid size`)
    return d.size
  }
  return size(config) + layers.reduce((s, l) => s + size(l), 0)
}

/**
 * The root descriptor of an OCI layout's index.json: buildx writes one image, named once per
 * tag (each entry the same digest, its own `org.opencontainers.image.ref.name`).
 */
export function layoutRoot(indexJson: string): Descriptor {
  const index = JSON.parse(indexJson) as { manifests?: Descriptor[] }
  const ms = index.manifests ?? []
  const [root] = ms
  const digests = [...new Set(ms.map((m) => m.digest))]
  if (root === undefined || digests.length !== 1) throw new Error(`expected one image in the OCI layout's index.json, found ${digests.length} (${digests.join(', ') || 'no entry'})`)
  return root
}

export interface LayerEntry {
  path: string
  size: number
  type: string
  /** What a symlink points at; for a hard link, the path in the layer it names. */
  linkname?: string
  /** The ELF facts of a regular file the scan captured; undefined for a file that is not ELF. */
  elf?: ElfFacts
}

export interface LayerScan {
  uncompressedSize: number
  entries: LayerEntry[]
}

export function normalizeTarPath(p: string): string {
  return '/' + p.replace(/^\.?\/+/, '').replace(/\/+$/, '')
}

// tar-stream's types promise a size and a type, but its decoder yields null for a base-256
// size it cannot read and for a type flag it does not know.
type TarHeader = Omit<tar.Header, 'size' | 'type'> & { size: number | null; type: tar.Header['type'] | null }

/**
 * Decompresses one layer and lists its entries; the sum of file sizes is its uncompressed size.
 * `capture` says which files to read ELF facts from (with any extra byte ranges a first scan
 * found missing): by default every regular file, of which only ELF files keep bytes, and only
 * their first ones and their dynamic segment (elf.ts), never a whole file.
 */
export async function scanLayer(blob: Buffer, mediaType: string, capture: (path: string) => Range[] | undefined = () => []): Promise<LayerScan> {
  const extract = tar.extract()
  const entries: LayerEntry[] = []
  let total = 0
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header: TarHeader, stream, next) => {
      const p = normalizeTarPath(header.name)
      const size = header.size ?? 0
      if (header.type === 'file') total += size
      const entry: LayerEntry = { path: p, size, type: header.type ?? 'file' }
      if ((header.type === 'symlink' || header.type === 'link') && typeof header.linkname === 'string') {
        entry.linkname = header.type === 'link' ? normalizeTarPath(header.linkname) : header.linkname
      }
      entries.push(entry)
      const extra = header.type === 'file' ? capture(p) : undefined
      const elf = extra === undefined ? undefined : new ElfCapture(size, extra)
      stream.on('data', (chunk: unknown) => {
        elf?.write(chunk as Buffer)
      })
      stream.on('end', () => {
        const facts = elf?.end()
        if (facts !== undefined) entry.elf = facts
        next()
      })
      stream.on('error', reject)
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  const source = Readable.from([blob])
  if (/gzip/.test(mediaType)) {
    // Large chunks: with zlib's default 16 KiB, handing each chunk back to JavaScript took more
    // time than inflating it (about 0.4 s of a two-platform image's 0.5 s to inspect).
    source.pipe(createGunzip({ chunkSize: 256 * 1024 })).pipe(extract)
  } else if (/zstd/.test(mediaType)) {
    throw new Error(`zstd layers are not supported yet (${mediaType})`)
  } else {
    source.pipe(extract)
  }
  await done
  return { uncompressedSize: total, entries }
}
