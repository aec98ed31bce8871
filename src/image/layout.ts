// Reading the OCI layout a build wrote (I/O beside the pure parsers in oci.ts and inspect.ts).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { inspectImage, type PlatformReport } from './inspect.js'
import { layoutRoot, platformImages, type BlobStore } from './oci.js'

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

/** Every platform image of the layout, inspected side by side (decompressing layers is most of the action's own time). */
export async function inspectLayout(dir: string): Promise<PlatformReport[]> {
  const store = layoutStore(dir)
  const images = await platformImages(store, readLayoutRoot(dir))
  return Promise.all(images.map((img) => inspectImage(store, img)))
}

/** What a failed build still wrote to its layout: none when the layout is missing or incomplete. */
export async function builtImages(dir: string): Promise<PlatformReport[]> {
  try {
    return await inspectLayout(dir)
  } catch {
    return []
  }
}
