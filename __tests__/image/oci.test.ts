import {
  configPlatform,
  documentKind,
  indexPlatforms,
  isAttestation,
  layoutRoot,
  manifestCompressedSize,
  normalizeTarPath,
  platformImages,
  platformString,
  scanLayer,
  sha256Digest
} from '../../src/image/oci.js'
import { at } from '../helpers.js'
import * as tar from 'tar-stream'
import { SparseFile, readElfDynamic, type ElfFacts } from '../../src/image/elf.js'
import { MT, MemoryStore, addAttestation, addImage, appFiles, BASE_FILES, fileBytes, gzipLayer, multiArchImage, tarball } from '../fixtures/oci-image.js'
import { writeElf } from '../fixtures/elf-writer.js'

describe('platformImages', () => {
  it('returns exactly the two platform images of an index, skipping attestations', async () => {
    const store = new MemoryStore()
    const { index } = await multiArchImage(store)
    const images = await platformImages(store, index)
    expect(images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64'])
  })

  it('reads each manifest and config', async () => {
    const store = new MemoryStore()
    const { index, images: built } = await multiArchImage(store)
    const images = await platformImages(store, index)
    for (const [i, arch] of (['amd64', 'arm64'] as const).entries()) {
      const image = at(images, i)
      expect(image.manifestDigest).toBe(built[arch].descriptor.digest)
      expect(image.manifest.config.digest).toBe(built[arch].config.digest)
      expect(image.manifest.layers.map((l) => l.digest)).toEqual(built[arch].layers.map((l) => l.digest))
      expect(image.config.architecture).toBe(arch)
      expect(image.config.config?.Entrypoint).toEqual(['/app/TodoApi'])
      expect(image.config.config?.User).toBe('1654')
    }
  })

  it('compressedSize is the config plus every layer, as stored', async () => {
    const store = new MemoryStore()
    const { index, images: built } = await multiArchImage(store)
    const images = await platformImages(store, index)
    for (const [i, arch] of (['amd64', 'arm64'] as const).entries()) {
      const b = built[arch]
      const want = b.config.size + b.layers.reduce((s, l) => s + l.size, 0)
      const stored = [b.config, ...b.layers].reduce((s, d) => s + (store.blobs.get(d.digest) as Buffer).length, 0)
      expect(at(images, i).compressedSize).toBe(want)
      expect(at(images, i).compressedSize).toBe(stored)
    }
  })

  it('never reads an attestation manifest', async () => {
    const store = new MemoryStore()
    const { images: built } = await multiArchImage(store)
    const att = addAttestation(store, built.amd64.descriptor)
    const reads: string[] = []
    const spy = { read: (d: string) => (reads.push(d), store.read(d)) }
    expect(await platformImages(spy, att)).toEqual([])
    expect(reads).toEqual([])
  })

  it('reads a single manifest and takes its platform from the config', async () => {
    const store = new MemoryStore()
    const img = await addImage(store, { arch: 'arm64', layers: [appFiles('arm64')], platformOnDescriptor: false })
    const images = await platformImages(store, img.descriptor)
    expect(images).toHaveLength(1)
    expect(at(images, 0).platform).toBe('linux/arm64')
  })

  it('follows a nested index', async () => {
    const store = new MemoryStore()
    const { index } = await multiArchImage(store)
    const outer = store.putJson({ schemaVersion: 2, mediaType: MT.index, manifests: [index] }, MT.index)
    expect((await platformImages(store, outer)).map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64'])
  })
})

describe('isAttestation and platformString', () => {
  it.each([
    [{ os: 'unknown', architecture: 'unknown' }, undefined, true],
    [{ os: 'linux', architecture: 'amd64' }, { 'vnd.docker.reference.type': 'attestation-manifest' }, true],
    [{ os: 'linux', architecture: 'amd64' }, undefined, false],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { 'org.opencontainers.image.created': 'x' }, false]
  ])('%j %j -> %s', (platform, annotations, want) => {
    expect(isAttestation({ mediaType: MT.manifest, digest: 'sha256:0', size: 1, platform, annotations })).toBe(want)
  })

  it.each([
    [{ os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    [{ os: 'linux', architecture: 'arm64', variant: '' }, 'linux/arm64']
  ])('platformString %j -> %s', (p, want) => {
    expect(platformString(p)).toBe(want)
  })
})

describe('layoutRoot', () => {
  const desc = { mediaType: MT.index, digest: `sha256:${'a'.repeat(64)}`, size: 856, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }

  it('returns the one descriptor of index.json', () => {
    expect(layoutRoot(JSON.stringify({ schemaVersion: 2, manifests: [desc] }))).toEqual(desc)
  })

  it('one image named once per tag (buildx with several tags): that image', () => {
    const named = [desc, { ...desc, annotations: { 'org.opencontainers.image.ref.name': 'sha-1234567' } }]
    expect(layoutRoot(JSON.stringify({ schemaVersion: 2, manifests: named }))).toEqual(desc)
  })

  it.each([
    [[], 0],
    [[desc, { ...desc, digest: `sha256:${'b'.repeat(64)}` }], 2]
  ])('rejects an index.json with %# images', (manifests, n) => {
    expect(() => layoutRoot(JSON.stringify({ schemaVersion: 2, manifests }))).toThrow(`found ${n}`)
  })

  it('rejects an index.json without manifests', () => {
    expect(() => layoutRoot('{"schemaVersion":2}')).toThrow('found 0')
  })
})

describe('scanLayer', () => {
  it('lists a gzip layer and sums the file sizes only', async () => {
    const files = appFiles('amd64', [{ path: 'app/libSystem.Native.so', content: Buffer.alloc(12345, 7) }])
    const scan = await scanLayer(await gzipLayer(files), MT.layerGzip, () => undefined)
    expect(scan.uncompressedSize).toBe(fileBytes([files]))
    expect(scan.entries.map((e) => [e.path, e.type])).toEqual([
      ['/app', 'directory'],
      ['/app/TodoApi', 'file'],
      ['/app/appsettings.json', 'file'],
      ['/app/libSystem.Native.so', 'file']
    ])
    expect(scan.entries.every((e) => e.elf === undefined)).toBe(true)
  })

  it('reads the ELF facts of every ELF file by default, and of no other file', async () => {
    const lib = writeElf({ machine: 0xb7, soname: 'libz.so', needed: ['libc.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.17'] }], gapAfter: 400_000 })
    const scan = await scanLayer(await gzipLayer(appFiles('arm64', [{ path: 'app/libz.so', content: lib }])), MT.layerGzip)
    const facts = (p: string): ElfFacts | undefined => scan.entries.find((e) => e.path === p)?.elf
    expect(facts('/app/TodoApi')?.ident).toEqual({ bits: 64, little: true, type: 3, machine: 0xb7 })
    expect(facts('/app/libz.so')?.dynamic).toEqual(readElfDynamic(SparseFile.of(lib)))
    expect(facts('/app/appsettings.json')).toBeUndefined()
  })

  it('captures only the files asked for, with the extra ranges asked for', async () => {
    const lib = writeElf({ machine: 0x3e, needed: ['libc.so.6'], needs: [{ file: 'libc.so.6', versions: ['GLIBC_2.34'] }], gapBefore: 300_000 })
    const layer = await gzipLayer(appFiles('amd64', [{ path: 'app/libfar.so', content: lib }]))
    const first = (await scanLayer(layer, MT.layerGzip, (p) => (p === '/app/libfar.so' ? [] : undefined))).entries
    expect(first.find((e) => e.path === '/app/TodoApi')?.elf).toBeUndefined()
    const missing = first.find((e) => e.path === '/app/libfar.so')?.elf?.dynamic
    expect(missing?.kind).toBe('missing')
    const ranges = missing?.kind === 'missing' ? missing.ranges : []
    const again = (await scanLayer(layer, MT.layerGzip, (p) => (p === '/app/libfar.so' ? ranges : undefined))).entries
    expect(again.find((e) => e.path === '/app/libfar.so')?.elf?.dynamic).toEqual(readElfDynamic(SparseFile.of(lib)))
  })

  it('keeps where symlinks and hard links point', async () => {
    const pack = tar.pack()
    pack.entry({ name: 'usr/lib/libc.so.6', size: 1 }, 'x')
    pack.entry({ name: 'lib', type: 'symlink', linkname: 'usr/lib' })
    pack.entry({ name: './usr/lib/libc-copy.so.6', type: 'link', linkname: './usr/lib/libc.so.6' })
    pack.finalize()
    const chunks: Buffer[] = []
    for await (const c of pack) chunks.push(c as Buffer)
    const scan = await scanLayer(Buffer.concat(chunks), MT.layerTar)
    expect(scan.entries.map((e) => [e.path, e.type, e.linkname])).toEqual([
      ['/usr/lib/libc.so.6', 'file', undefined],
      ['/lib', 'symlink', 'usr/lib'],
      ['/usr/lib/libc-copy.so.6', 'link', '/usr/lib/libc.so.6']
    ])
  })

  it('reads an uncompressed layer, with symlinks counted as zero bytes', async () => {
    const scan = await scanLayer(await tarball(BASE_FILES), MT.layerTar)
    expect(scan.uncompressedSize).toBe(fileBytes([BASE_FILES]))
    expect(scan.entries.find((e) => e.path === '/lib')?.type).toBe('symlink')
  })

  it('refuses zstd layers', async () => {
    await expect(scanLayer(Buffer.alloc(10), 'application/vnd.oci.image.layer.v1.tar+zstd')).rejects.toThrow(/zstd/)
  })

  it.each([
    ['./app/TodoApi', '/app/TodoApi'],
    ['app/', '/app'],
    ['/etc//', '/etc'],
    ['usr/lib/libc.so.6', '/usr/lib/libc.so.6']
  ])('normalizeTarPath %j -> %j', (raw, want) => {
    expect(normalizeTarPath(raw)).toBe(want)
  })
})

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`
const M = 'application/vnd.oci.image.manifest.v1+json'

function index(manifests: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))
}

describe('raw documents from a registry (a merged index, a baseline)', () => {
  it('lists image manifests and skips attestations (by annotation, or unknown/unknown)', () => {
    const body = index([
      { mediaType: M, digest: D1, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: M, digest: D2, size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: M, digest: D3, size: 1, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': D1 } },
      { mediaType: M, digest: `sha256:${'4'.repeat(64)}`, size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      { mediaType: M, digest: `sha256:${'5'.repeat(64)}`, size: 1, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }
    ])
    expect(indexPlatforms(body, 'the index')).toEqual([
      { platform: 'linux/amd64', digest: D1 },
      { platform: 'linux/arm64/v8', digest: D2 }
    ])
  })

  it('also reads a Docker manifest list', () => {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: D1, size: 1, platform: { os: 'linux', architecture: 'amd64' } }]
      })
    )
    expect(indexPlatforms(body, 'x')).toEqual([{ platform: 'linux/amd64', digest: D1 }])
  })

  it.each([
    ['a manifest', Buffer.from(JSON.stringify({ mediaType: M, config: {}, layers: [] })), 'the index is not an image index (media type application/vnd.oci.image.manifest.v1+json)'],
    ['not JSON', Buffer.from('<html>'), 'the index is not a JSON manifest'],
    ['a bad digest', index([{ mediaType: M, digest: 'sha256:abc', size: 1, platform: { os: 'linux', architecture: 'amd64' } }]), 'the index lists a manifest without a sha256 digest']
  ])('refuses %s', (_name, body, message) => {
    expect(() => indexPlatforms(body, 'the index')).toThrow(message)
  })

  it('manifest size is config + layers', () => {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: M,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 1234 },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 10_000_000 },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D3, size: 5 }
        ]
      })
    )
    expect(manifestCompressedSize(body, 'm')).toBe(10_001_239)
  })

  it.each([
    ['an index', index([]), 'm is not an image manifest'],
    ['a negative size', Buffer.from(JSON.stringify({ mediaType: M, config: { digest: D1, size: -1 }, layers: [] })), 'm has a descriptor without a valid size'],
    ['no layers', Buffer.from(JSON.stringify({ mediaType: M, config: { digest: D1, size: 1 } })), 'm is not an image manifest']
  ])('manifest size refuses %s', (_name, body, message) => {
    expect(() => manifestCompressedSize(body, 'm')).toThrow(message)
  })

  it('sha256Digest is the digest of the exact bytes', () => {
    expect(sha256Digest(Buffer.from(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it.each([
    ['an OCI index', index([]), 'index'],
    ['a Docker manifest list', Buffer.from(JSON.stringify({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] })), 'index'],
    ['an OCI manifest', Buffer.from(JSON.stringify({ mediaType: M, config: { digest: D1, size: 1 }, layers: [] })), 'manifest'],
    ['a Docker manifest', Buffer.from(JSON.stringify({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { digest: D1, size: 1 }, layers: [] })), 'manifest'],
    ['a manifest without a media type', Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: D1, size: 1 }, layers: [] })), 'manifest']
  ])('documentKind: %s', (_name, body, kind) => {
    expect(documentKind(body, 'd')).toBe(kind)
  })

  it.each([
    ['not JSON', Buffer.from('<html>'), 'd is not a JSON manifest'],
    ['an image config', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' })), 'd is neither an image index nor an image manifest (media type none)'],
    ['an artifact', Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.empty.v1+json' })), 'd is neither an image index nor an image manifest (media type application/vnd.oci.empty.v1+json)'],
    ['an index whose media type says manifest', Buffer.from(JSON.stringify({ mediaType: M, manifests: [] })), 'd is neither']
  ])('documentKind refuses %s', (_name, body, message) => {
    expect(() => documentKind(body, 'd')).toThrow(message)
  })

  it('configPlatform: os/architecture, with the variant when the config names one', () => {
    expect(configPlatform('{"architecture":"arm64","os":"linux","config":{}}\n', 'c')).toBe('linux/arm64')
    expect(configPlatform(JSON.stringify({ architecture: 'arm', os: 'linux', variant: 'v7' }), 'c')).toBe('linux/arm/v7')
    expect(() => configPlatform(JSON.stringify({ os: 'linux' }), 'the config')).toThrow('the config names no os and architecture')
    expect(() => configPlatform('{"linux/amd64":{}}', 'c')).toThrow('c names no os and architecture')
    expect(() => configPlatform('not json', 'c')).toThrow('c is not a JSON manifest')
  })
})
