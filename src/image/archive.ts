// One platform of the build's OCI layout as an OCI archive that `docker load` takes (Docker 25+,
// either image store): the image as it will ship, without a push and without building again.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import * as tar from 'tar-stream'
import { SHA256_DIGEST } from './oci.js'

interface Manifest {
  mediaType?: string
  config: { digest: string }
  layers: { digest: string }[]
}

function blobPath(layout: string, digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new Error(`bad digest ${digest}`)
  return path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length))
}

/**
 * The index.json of an archive that holds one manifest, loaded under `name` (a one-component
 * repository:tag such as aot-buildx-smoke:1-arm64). containerd takes the name only fully
 * qualified: docker.io/library/<name>, which docker then shows as <name>.
 */
export function archiveIndex(manifest: { digest: string; size: number; mediaType: string }, name: string): string {
  const tag = name.slice(name.lastIndexOf(':') + 1)
  const full = name.includes('/') ? name : `docker.io/library/${name}`
  return JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...manifest, annotations: { 'io.containerd.image.name': full, 'org.opencontainers.image.ref.name': tag } }]
  })
}

/**
 * Writes the image `manifestDigest` of the layout at `layout` (its manifest, config and layers,
 * streamed from the layout's files) as an OCI archive to `dest`, named `name` for docker load.
 */
export async function writePlatformArchive(layout: string, manifestDigest: string, name: string, dest: string): Promise<void> {
  const manifestBody = fs.readFileSync(blobPath(layout, manifestDigest))
  const manifest = JSON.parse(manifestBody.toString('utf8')) as Manifest
  const mediaType = manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json'
  const pack = tar.pack()
  const out = pipeline(pack, fs.createWriteStream(dest))
  const small = (n: string, text: string): void => {
    pack.entry({ name: n }, text)
  }
  small('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  small('index.json', archiveIndex({ mediaType, digest: manifestDigest, size: manifestBody.length }, name))
  const blobs = [...new Set([manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)])]
  for (const d of blobs) {
    const file = blobPath(layout, d)
    const size = fs.statSync(file).size
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: `blobs/sha256/${d.slice('sha256:'.length)}`, size }, (err) => {
        if (err) reject(err)
        else resolve()
      })
      fs.createReadStream(file).on('error', reject).pipe(entry)
    })
  }
  pack.finalize()
  await out
}
