import { entrypointPath, inspectImage, lastCopiedLayer, type PlatformReport } from '../../src/image/inspect.js'
import { platformImages, type PlatformImage } from '../../src/image/oci.js'
import type { Arch } from '../../src/dotnet/platforms.js'
import { at } from '../helpers.js'
import { BASE_FILES, GOOD_CONFIG, MemoryStore, addImage, appFiles, buildkitHistory, elfBinary, fileBytes, multiArchImage, type FileSpec, type ImageSpec } from '../fixtures/oci-image.js'

async function imageOf(store: MemoryStore, spec: ImageSpec): Promise<PlatformImage> {
  const built = await addImage(store, spec)
  return at(await platformImages(store, built.descriptor), 0, 'platform image')
}

/** Inspects one amd64 image built from the given app layer and config. */
async function inspectAmd64(app: FileSpec[], config = GOOD_CONFIG, arch: Arch = 'amd64'): Promise<PlatformReport> {
  const store = new MemoryStore()
  return inspectImage(store, await imageOf(store, { arch, layers: [BASE_FILES, app], config }))
}

describe('inspectImage on a good multi-arch image', () => {
  it.each(['amd64', 'arm64'] as Arch[])('linux/%s: sizes, app layer, entrypoint, user, no problems', async (arch) => {
    const store = new MemoryStore()
    const { index, images: built } = await multiArchImage(store)
    const image = (await platformImages(store, index)).find((i) => i.platform === `linux/${arch}`) as PlatformImage
    const r = await inspectImage(store, image)
    const b = built[arch]
    expect(r).toEqual({
      platform: `linux/${arch}`,
      digest: b.descriptor.digest,
      compressed: b.config.size + at(b.layers, 0).size + at(b.layers, 1).size,
      uncompressed: fileBytes(b.layerFiles),
      appLayer: { compressed: at(b.layers, 1).size, uncompressed: fileBytes([at(b.layerFiles, 1)]) },
      layers: 2,
      entrypoint: '/app/TodoApi',
      user: '1654',
      problems: [],
      // The stand-in entrypoint is an ELF header without a dynamic segment: nothing to need.
      native: { files: 1, glibc: {}, unreadable: [] },
      // Its Env does not set DOTNET_SYSTEM_GLOBALIZATION_INVARIANT.
      invariantGlobalization: false
    })
  })

  it('the app layer is the one that holds the entrypoint, wherever it is', async () => {
    const store = new MemoryStore()
    const app = appFiles('arm64')
    const extra: FileSpec[] = [{ path: 'opt/data.bin', content: Buffer.alloc(777, 3) }]
    const img = await imageOf(store, { arch: 'arm64', layers: [BASE_FILES, app, extra] })
    const r = await inspectImage(store, img)
    expect(r.appLayer).toEqual({ compressed: at(img.manifest.layers, 1).size, uncompressed: fileBytes([app]) })
    expect(r.uncompressed).toBe(fileBytes([BASE_FILES, app, extra]))
    expect(r.problems).toEqual([])
  })

  it('resolves a relative entrypoint against WorkingDir', async () => {
    const r = await inspectAmd64(appFiles('amd64'), { ...GOOD_CONFIG, Entrypoint: ['./TodoApi'], WorkingDir: '/app' })
    expect(r.entrypoint).toBe('/app/TodoApi')
    expect(r.problems).toEqual([])
  })
})

describe('inspectImage problems', () => {
  const withoutBinary = appFiles('amd64').filter((f) => f.path !== 'app/TodoApi')

  it('a binary for the wrong CPU', async () => {
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi', content: elfBinary('arm64') }])
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toContain('/app/TodoApi is built for AArch64')
    expect(r.problems[0]).toContain('linux/amd64 (x86-64)')
    expect(r.problems[0]).toContain('exec format error')
  })

  it('an x86-64 binary in the arm64 image', async () => {
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi', content: elfBinary('amd64') }], GOOD_CONFIG, 'arm64')
    expect(r.problems).toEqual([expect.stringContaining('built for x86-64, but the image is linux/arm64 (AArch64)')])
  })

  it('an ELF for another CPU is named; one for an unknown machine names its e_machine', async () => {
    const bin = elfBinary('amd64')
    bin.writeUInt16LE(0xf3, 18) // RISC-V
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi', content: bin }])
    expect(r.problems).toEqual([expect.stringContaining('built for RISC-V')])
    bin.writeUInt16LE(0x1234, 18)
    const unknown = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi', content: bin }])
    expect(unknown.problems).toEqual([expect.stringContaining('e_machine 0x1234')])
  })

  it('a missing entrypoint', async () => {
    const r = await inspectAmd64(withoutBinary)
    expect(r.problems).toEqual(['the entrypoint /app/TodoApi is not in the image'])
    expect(r.appLayer).toEqual({ compressed: 0, uncompressed: 0 })
  })

  it('an entrypoint that is a directory', async () => {
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi/', type: 'directory' }])
    expect(r.problems).toEqual(['the entrypoint /app/TodoApi is not in the image'])
  })

  it('an entrypoint that is not ELF', async () => {
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi', content: '#!/bin/sh\nexec dotnet /app/TodoApi.dll\n' }])
    expect(r.problems).toEqual(['the entrypoint /app/TodoApi is not an ELF executable'])
  })

  it('no ENTRYPOINT at all', async () => {
    const r = await inspectAmd64(appFiles('amd64'), { ...GOOD_CONFIG, Entrypoint: undefined })
    expect(r.entrypoint).toBe('')
    expect(r.problems).toEqual(['the image has no ENTRYPOINT'])
  })

  it.each([['app/TodoApi.dbg'], ['app/appsettings.Development.json'], ['app/TodoApi.pdb']])('%s in the image', async (file) => {
    const r = await inspectAmd64(appFiles('amd64', [{ path: file, content: 'x'.repeat(100) }]))
    expect(r.problems).toEqual([`/${file} is in the image (debug symbols or development settings must not ship)`])
  })

  it.each([[''], ['0'], ['root']])('User %j runs as root', async (user) => {
    const r = await inspectAmd64(appFiles('amd64'), { ...GOOD_CONFIG, User: user })
    expect(r.problems).toEqual(['the image runs as root; the generated Dockerfile sets USER $APP_UID'])
  })

  it('no User at all runs as root', async () => {
    const r = await inspectAmd64(appFiles('amd64'), { ...GOOD_CONFIG, User: undefined })
    expect(r.problems).toEqual([expect.stringContaining('runs as root')])
  })

  it.each([['0:0'], ['root:root']])('User %j (uid:gid form) runs as root', async (user) => {
    const r = await inspectAmd64(appFiles('amd64'), { ...GOOD_CONFIG, User: user })
    expect(r.problems).toEqual([expect.stringContaining('runs as root')])
  })

  it('reports several problems together', async () => {
    const r = await inspectAmd64([...withoutBinary, { path: 'app/TodoApi.dbg', content: 'x' }], { ...GOOD_CONFIG, User: '' })
    expect(r.problems).toHaveLength(3)
  })
})

describe('entrypointPath', () => {
  it.each([
    [{ Entrypoint: ['/app/TodoApi'] }, '/app/TodoApi'],
    [{ Entrypoint: ['TodoApi'], WorkingDir: '/app' }, '/app/TodoApi'],
    [{ Entrypoint: ['./bin/x'], WorkingDir: '/srv/' }, '/srv/bin/x'],
    [{ Entrypoint: ['TodoApi'] }, '/TodoApi'],
    [{ Cmd: ['/app/Tool', '--help'] }, '/app/Tool'],
    [{ Entrypoint: [], Cmd: [] }, ''],
    [{}, '']
  ])('%j -> %j', (config, want) => {
    expect(entrypointPath({ config })).toBe(want)
  })
})

describe('lastCopiedLayer: the app layer of an image known by manifest and config only', () => {
  const image = async (spec: Partial<ImageSpec> = {}): Promise<PlatformImage> => imageOf(new MemoryStore(), { arch: 'amd64', layers: [BASE_FILES, appFiles('amd64')], ...spec })

  it('is the app layer inspectImage finds, for an image of the generated Dockerfile', async () => {
    const store = new MemoryStore()
    const img = await imageOf(store, { arch: 'arm64', layers: [BASE_FILES, BASE_FILES.slice(0, 2), appFiles('arm64')] })
    expect(lastCopiedLayer(img)).toBe((await inspectImage(store, img)).appLayer.compressed)
    expect(lastCopiedLayer(img)).toBe(at(img.manifest.layers, -1).size)
  })

  it('reads the classic builder\'s history too', async () => {
    const img = await image({ history: [{ created_by: '/bin/sh -c #(nop) ADD file:abc in / ' }, { created_by: '/bin/sh -c #(nop) COPY dir:def in /app ' }] })
    expect(lastCopiedLayer(img)).toBe(at(img.manifest.layers, -1).size)
  })

  it.each([
    ['no history', []],
    ['a RUN made the last layer', [{ created_by: 'ADD rootfs.tar / # buildkit' }, { created_by: 'RUN rm -rf /tmp/x # buildkit' }]],
    ['history and layers do not match', [{ created_by: 'COPY /app/amd64/ ./ # buildkit' }]],
    ['the last COPY made no layer', [{ created_by: 'ADD a / # buildkit' }, { created_by: 'ADD b / # buildkit' }, { created_by: 'COPY x ./ # buildkit', empty_layer: true }]]
  ])('unknown when %s', async (_, history) => {
    expect(lastCopiedLayer(await image({ history }))).toBeUndefined()
  })

  it('unknown for a one-layer image and for an image without an entrypoint', async () => {
    expect(lastCopiedLayer(await image({ layers: [appFiles('amd64')], history: [{ created_by: 'COPY / / # buildkit' }] }))).toBeUndefined()
    expect(lastCopiedLayer(await image({ config: { User: '1654' }, history: buildkitHistory('amd64', 2) }))).toBeUndefined()
  })
})
