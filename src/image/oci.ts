// Reading what buildx built: an OCI image index -> one manifest per platform -> config and
// layers. Sizes and the per-image checks come from here. Works on any BlobStore (an OCI
// layout folder, or a registry), so it is testable with an in-memory store.
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import * as tar from 'tar-stream'

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

/** The root descriptor of an OCI layout's index.json (buildx writes exactly one). */
export function layoutRoot(indexJson: string): Descriptor {
  const index = JSON.parse(indexJson) as { manifests?: Descriptor[] }
  const ms = index.manifests ?? []
  const [root] = ms
  if (root === undefined || ms.length !== 1) throw new Error(`expected one entry in the OCI layout's index.json, found ${ms.length}`)
  return root
}

export interface LayerEntry {
  path: string
  size: number
  type: string
  /** First bytes of the files the caller asked for. */
  head?: Buffer
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

/** Decompresses one layer and lists its entries; the sum of file sizes is its uncompressed size. */
export async function scanLayer(blob: Buffer, mediaType: string, wantHead: (path: string) => boolean): Promise<LayerScan> {
  const extract = tar.extract()
  const entries: LayerEntry[] = []
  let total = 0
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header: TarHeader, stream, next) => {
      const p = normalizeTarPath(header.name)
      const size = header.size ?? 0
      if (header.type === 'file') total += size
      const entry: LayerEntry = { path: p, size, type: header.type ?? 'file' }
      entries.push(entry)
      const chunks: Buffer[] = []
      let have = 0
      const want = header.type === 'file' && wantHead(p)
      stream.on('data', (chunk: unknown) => {
        const c = chunk as Buffer
        if (want && have < 64) {
          chunks.push(c)
          have += c.length
        }
      })
      stream.on('end', () => {
        if (want) entry.head = Buffer.concat(chunks).subarray(0, 64)
        next()
      })
      stream.on('error', reject)
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  const source = Readable.from([blob])
  if (/gzip/.test(mediaType)) {
    source.pipe(createGunzip()).pipe(extract)
  } else if (/zstd/.test(mediaType)) {
    throw new Error(`zstd layers are not supported yet (${mediaType})`)
  } else {
    source.pipe(extract)
  }
  await done
  return { uncompressedSize: total, entries }
}

/** ELF header facts: class/endianness aside, e_machine says which CPU the file is for. */
export function elfMachine(head: Buffer | undefined): number | undefined {
  if (head === undefined || head.length < 20) return undefined
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined
  const little = head[5] === 1
  return little ? head.readUInt16LE(18) : head.readUInt16BE(18)
}
