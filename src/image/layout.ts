// Reading the OCI layout a build wrote (I/O beside the pure parsers in oci.ts and inspect.ts).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { inspectImage, type PlatformReport } from './inspect.js'
import { documentKind, layoutRoot, platformImages, SHA256_DIGEST, type BlobStore, type Descriptor } from './oci.js'

export function layoutStore(dir: string): BlobStore {
  return {
    read: async (digest: string) => {
      const [alg, hex] = digest.split(':')
      if (alg === undefined || hex === undefined || !/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`bad digest ${digest}`)
      return fs.promises.readFile(path.join(dir, 'blobs', alg, hex))
    }
  }
}

/** The layout's root descriptor (what index.json names). */
export function readLayoutRoot(dir: string): ReturnType<typeof layoutRoot> {
  return layoutRoot(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'))
}

/** An index or manifest is JSON of a few kB; layers and large blobs are not read. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024

/**
 * The root whose blob the layout holds. A builder that pushes during the build (a remote or
 * docker-container builder with push-by-digest) names the registry's index in index.json; that
 * index differs from the layout's own (its provenance names the image), so its blob is not in
 * the layout. The layout then holds one index of its own, named by no other: that one is read.
 */
export function layoutImageRoot(dir: string): Descriptor {
  const named = readLayoutRoot(dir)
  const blob = (digest: string): string => path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length))
  if (!SHA256_DIGEST.test(named.digest) || fs.existsSync(blob(named.digest))) return named
  const indexes: { descriptor: Descriptor; children: string[] }[] = []
  for (const hex of fs.readdirSync(path.join(dir, 'blobs', 'sha256'))) {
    const file = path.join(dir, 'blobs', 'sha256', hex)
    const size = fs.statSync(file).size
    if (!/^[a-f0-9]{64}$/.test(hex) || size > MAX_DOCUMENT_BYTES) continue
    const body = fs.readFileSync(file)
    try {
      if (documentKind(body, hex) !== 'index') continue
    } catch {
      continue // a layer or a config
    }
    const doc = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests: Descriptor[] }
    indexes.push({ descriptor: { mediaType: doc.mediaType ?? named.mediaType, digest: `sha256:${hex}`, size }, children: doc.manifests.map((m) => m.digest) })
  }
  const roots = indexes.filter((i) => !indexes.some((o) => o.children.includes(i.descriptor.digest)))
  const [root] = roots
  if (root === undefined || roots.length !== 1) {
    throw new Error(`its index.json names ${named.digest}, which the layout does not hold, and the layout holds ${roots.length === 0 ? 'no index of its own' : `${roots.length} indexes named by no other (${roots.map((r) => r.descriptor.digest).join(', ')})`}`)
  }
  return root.descriptor
}

/** Every platform image of the layout, inspected side by side (decompressing layers is most of the action's own time). */
export async function inspectLayout(dir: string): Promise<PlatformReport[]> {
  try {
    const store = layoutStore(dir)
    const images = await platformImages(store, layoutImageRoot(dir))
    return await Promise.all(images.map((img) => inspectImage(store, img)))
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const why = err.code === 'ENOENT' && typeof err.path === 'string' ? `${path.relative(dir, err.path)} is missing` : err.message
    throw new Error(`could not read the images the build wrote to its OCI layout (${dir}): ${why}`)
  }
}

/** What a failed build still wrote to its layout: none when the layout is missing or incomplete. */
export async function builtImages(dir: string): Promise<PlatformReport[]> {
  try {
    return await inspectLayout(dir)
  } catch {
    return []
  }
}
