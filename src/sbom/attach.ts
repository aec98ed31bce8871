// Attaching SBOM statements to the images of an OCI layout, as BuildKit attaches its own
// attestations: each platform's attestation manifest (annotated vnd.docker.reference.type:
// attestation-manifest and vnd.docker.reference.digest: the platform manifest) gets one more
// in-toto layer; a platform without one gets a new one. The index is rewritten around them.
// Pure: blobs are read through `read`, and the new ones are returned for the caller to write.
import { sha256Digest, type Descriptor } from '../image/oci.js'
import { SPDX_PREDICATE } from './spdx.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const INTOTO_LAYER = 'application/vnd.in-toto+json'
const REF_TYPE = 'vnd.docker.reference.type'
const REF_DIGEST = 'vnd.docker.reference.digest'

type Read = (digest: string) => Buffer
type Json = Record<string, unknown>

function parse(body: Buffer): Json {
  return JSON.parse(body.toString('utf8')) as Json
}

function attestationOf(manifests: Descriptor[], manifestDigest: string): number {
  return manifests.findIndex((m) => m.annotations?.[REF_TYPE] === 'attestation-manifest' && m.annotations[REF_DIGEST] === manifestDigest)
}

/** The in-toto layers of one platform's attestation manifest: their predicate types and bodies. */
export function attestationLayers(read: Read, root: Descriptor, manifestDigest: string): { predicateType: string; body: Buffer }[] {
  const index = parse(read(root.digest)) as { manifests?: Descriptor[] }
  const i = attestationOf(index.manifests ?? [], manifestDigest)
  const att = index.manifests?.[i]
  if (att === undefined) return []
  const manifest = parse(read(att.digest)) as { layers?: Descriptor[] }
  return (manifest.layers ?? []).filter((l) => l.mediaType === INTOTO_LAYER).map((l) => ({ predicateType: l.annotations?.['in-toto.io/predicate-type'] ?? '', body: read(l.digest) }))
}

/**
 * The digest BuildKit's provenance records for the image the final stage starts from: its
 * materials (SLSA 0.2) or resolved dependencies (SLSA 1) name each image pulled, as
 * pkg:docker/<name>@<tag>?platform=..., with the digest it resolved to.
 */
export function baseDigestFromProvenance(statement: Buffer, baseRef: string): string | undefined {
  let doc: Json
  try {
    doc = parse(statement)
  } catch {
    return undefined
  }
  const predicate = (doc.predicate ?? {}) as Json
  const materials = [...((predicate.materials as unknown[] | undefined) ?? []), ...((((predicate.buildDefinition ?? {}) as Json).resolvedDependencies as unknown[] | undefined) ?? [])]
  const at = baseRef.indexOf('@')
  const nameTag = at < 0 ? baseRef : baseRef.slice(0, at)
  const colon = nameTag.lastIndexOf(':')
  const named = colon > nameTag.lastIndexOf('/') ? `${nameTag.slice(0, colon)}@${nameTag.slice(colon + 1)}` : nameTag
  const candidates = [named, named.replace(/^docker\.io\/(library\/)?/, ''), `docker.io/${named}`, `docker.io/library/${named}`]
  for (const m of materials) {
    const uri = (m as Json | null)?.uri
    const hex = (((m as Json | null)?.digest ?? {}) as Json).sha256
    if (typeof uri !== 'string' || typeof hex !== 'string' || !/^[a-f0-9]{64}$/.test(hex)) continue
    const name = uri.replace(/^pkg:docker\//, '').replace(/\?.*$/, '')
    if (uri.startsWith('pkg:docker/') && candidates.includes(name)) return `sha256:${hex}`
  }
  return undefined
}

export type AttachResult = { root: Descriptor; blobs: Buffer[] } | { skipped: string }

/**
 * The layout's root index with each statement attached to its platform's attestation manifest.
 * An image that is one manifest (no index: one platform without provenance) is left as it is.
 */
export function attachStatements(read: Read, root: Descriptor, statements: { manifestDigest: string; statement: Buffer }[]): AttachResult {
  const index = parse(read(root.digest))
  if (!Array.isArray(index.manifests) || (index.mediaType ?? root.mediaType) !== OCI_INDEX) {
    return { skipped: 'the image is a single manifest, not an index with attestations (one platform with provenance: false)' }
  }
  const manifests = [...(index.manifests as Descriptor[])]
  const blobs: Buffer[] = []
  const put = (body: Buffer): Descriptor => {
    blobs.push(body)
    return { mediaType: '', digest: sha256Digest(body), size: body.length }
  }
  for (const { manifestDigest, statement } of statements) {
    const layer: Descriptor = { ...put(statement), mediaType: INTOTO_LAYER, annotations: { 'in-toto.io/predicate-type': SPDX_PREDICATE } }
    const i = attestationOf(manifests, manifestDigest)
    const existing = manifests[i]
    let manifest: Json
    let config: Json
    if (existing !== undefined) {
      manifest = parse(read(existing.digest))
      const layers = (manifest.layers as Descriptor[] | undefined) ?? []
      if (layers.some((l) => l.digest === layer.digest)) continue
      const cfgDesc = manifest.config as Descriptor
      config = parse(read(cfgDesc.digest))
      const rootfs = (config.rootfs ?? { type: 'layers', diff_ids: [] }) as { type: string; diff_ids?: string[] }
      config = { ...config, rootfs: { ...rootfs, diff_ids: [...(rootfs.diff_ids ?? []), layer.digest] } }
      manifest = { ...manifest, layers: [...layers, layer] }
    } else {
      config = { architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }
      manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [layer] }
    }
    const cfgBody = Buffer.from(JSON.stringify(config))
    const oldConfig = (manifest.config ?? {}) as Descriptor
    manifest = { ...manifest, config: { ...oldConfig, ...put(cfgBody), mediaType: typeof oldConfig.mediaType === 'string' && oldConfig.mediaType !== '' ? oldConfig.mediaType : OCI_CONFIG } }
    const m = put(Buffer.from(JSON.stringify(manifest)))
    if (existing !== undefined) manifests[i] = { ...existing, digest: m.digest, size: m.size }
    else manifests.push({ mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, annotations: { [REF_DIGEST]: manifestDigest, [REF_TYPE]: 'attestation-manifest' }, platform: { architecture: 'unknown', os: 'unknown' } })
  }
  const newRoot = put(Buffer.from(JSON.stringify({ ...index, manifests })))
  return { root: { ...root, digest: newRoot.digest, size: newRoot.size }, blobs }
}
