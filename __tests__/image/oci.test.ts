import { elfMachine, isAttestation, layoutRoot, normalizeTarPath, platformImages, platformString, scanLayer } from '../../src/image/oci.js'
import { at } from '../helpers.js'
import { MT, MemoryStore, addAttestation, addImage, appFiles, BASE_FILES, elfBinary, elfHeader, fileBytes, gzipLayer, multiArchImage, tarball } from '../fixtures/oci-image.js'

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

  it.each([
    [[], 0],
    [[desc, { ...desc, digest: `sha256:${'b'.repeat(64)}` }], 2]
  ])('rejects an index.json with %# entries', (manifests, n) => {
    expect(() => layoutRoot(JSON.stringify({ schemaVersion: 2, manifests }))).toThrow(`found ${n}`)
  })

  it('rejects an index.json without manifests', () => {
    expect(() => layoutRoot('{"schemaVersion":2}')).toThrow('found 0')
  })
})

describe('scanLayer', () => {
  it('lists a gzip layer and sums the file sizes only', async () => {
    const files = appFiles('amd64', [{ path: 'app/libSystem.Native.so', content: Buffer.alloc(12345, 7) }])
    const scan = await scanLayer(await gzipLayer(files), MT.layerGzip, () => false)
    expect(scan.uncompressedSize).toBe(fileBytes([files]))
    expect(scan.entries.map((e) => [e.path, e.type])).toEqual([
      ['/app', 'directory'],
      ['/app/TodoApi', 'file'],
      ['/app/appsettings.json', 'file'],
      ['/app/libSystem.Native.so', 'file']
    ])
    expect(scan.entries.every((e) => e.head === undefined)).toBe(true)
  })

  it('keeps the first 64 bytes of the files asked for', async () => {
    const scan = await scanLayer(await gzipLayer(appFiles('arm64')), MT.layerGzip, (p) => p === '/app/TodoApi')
    const bin = scan.entries.find((e) => e.path === '/app/TodoApi')
    expect(bin?.head).toEqual(elfBinary('arm64').subarray(0, 64))
    expect(scan.entries.find((e) => e.path === '/app/appsettings.json')?.head).toBeUndefined()
  })

  it('reads an uncompressed layer, with symlinks counted as zero bytes', async () => {
    const scan = await scanLayer(await tarball(BASE_FILES), MT.layerTar, () => false)
    expect(scan.uncompressedSize).toBe(fileBytes([BASE_FILES]))
    expect(scan.entries.find((e) => e.path === '/lib')?.type).toBe('symlink')
  })

  it('refuses zstd layers', async () => {
    await expect(scanLayer(Buffer.alloc(10), 'application/vnd.oci.image.layer.v1.tar+zstd', () => false)).rejects.toThrow(/zstd/)
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

describe('elfMachine', () => {
  it.each([
    ['x86-64', elfHeader(0x3e), 0x3e],
    ['AArch64', elfHeader(0xb7), 0xb7],
    ['big-endian', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, 0, ...new Array<number>(10).fill(0), 0x00, 0x16, 0, 0]), 0x16],
    ['a 19-byte buffer', elfHeader(0x3e).subarray(0, 19), undefined],
    ['an empty buffer', Buffer.alloc(0), undefined],
    ['a shell script', Buffer.from('#!/bin/sh\nexec /app/real "$@"\n'), undefined],
    ['a PE file', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62)]), undefined],
    ['nothing', undefined, undefined]
  ])('%s', (_label, head, want) => {
    expect(elfMachine(head)).toBe(want)
  })
})
