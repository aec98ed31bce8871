// One platform of an OCI layout as the archive docker load takes: the index names the image,
// and exactly that image's manifest, config and layers are in it, byte for byte.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as tar from 'tar-stream'
import { archiveIndex, writePlatformArchive } from '../../src/image/archive.js'
import { MemoryStore, multiArchImage } from '../fixtures/oci-image.js'

async function entries(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const extract = tar.extract()
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer)
      })
      stream.on('end', () => {
        out.set(h.name, Buffer.concat(chunks))
        next()
      })
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  fs.createReadStream(file).pipe(extract)
  await done
  return out
}

describe('writePlatformArchive', () => {
  it('holds the arm64 image alone, named for docker load', async () => {
    const store = new MemoryStore()
    const { images } = await multiArchImage(store)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-archive-'))
    const layout = path.join(dir, 'oci')
    fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true })
    for (const [digest, body] of store.blobs) fs.writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), body)
    const arm = images.arm64
    await writePlatformArchive(layout, arm.descriptor.digest, 'aot-buildx-smoke:1-arm64', path.join(dir, 'a.tar'))
    const got = await entries(path.join(dir, 'a.tar'))
    const want = [arm.descriptor.digest, arm.config.digest, ...arm.layers.map((l) => l.digest)].map((d) => `blobs/sha256/${d.slice(7)}`)
    expect([...got.keys()].sort()).toEqual(['index.json', 'oci-layout', ...want].sort())
    for (const d of [arm.descriptor.digest, arm.config.digest, ...arm.layers.map((l) => l.digest)]) expect(got.get(`blobs/sha256/${d.slice(7)}`)).toEqual(store.blobs.get(d))
    const index = JSON.parse((got.get('index.json') ?? Buffer.alloc(0)).toString('utf8')) as { manifests: { digest: string; size: number; annotations: Record<string, string> }[] }
    expect(index.manifests).toHaveLength(1)
    expect(index.manifests[0]).toMatchObject({ digest: arm.descriptor.digest, size: store.blobs.get(arm.descriptor.digest)?.length, annotations: { 'io.containerd.image.name': 'docker.io/library/aot-buildx-smoke:1-arm64', 'org.opencontainers.image.ref.name': '1-arm64' } })
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a digest that is not sha256 hex (it names a file path)', async () => {
    await expect(writePlatformArchive('/nonexistent', 'sha256:../../etc/passwd', 'x:1', '/tmp/never.tar')).rejects.toThrow('bad digest')
    const idx = JSON.parse(archiveIndex({ digest: 'sha256:ab', size: 2, mediaType: 'm' }, 'r/x:t')) as { manifests: { annotations: Record<string, string> }[] }
    expect(idx.manifests[0]?.annotations['org.opencontainers.image.ref.name']).toBe('t')
  })
})
