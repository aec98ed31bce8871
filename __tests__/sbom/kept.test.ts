// SBOM statements kept for the next run of the same images: the key names the set of images and
// what the document names besides them; a file read back from the cache is used only when every
// statement is an SPDX in-toto statement about exactly its image.
import { createHash } from 'node:crypto'
import { keptKey, parseKept, restoreInputsHash, serializeKept, SBOM_FORMAT, MAX_STATEMENT_BYTES, type KeptImage, type KeptSettings } from '../../src/sbom/kept.js'
import { sbomStatement } from '../../src/sbom/spdx.js'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const settings: KeptSettings = { app: 'Shop.Api', framework: 'net10.0', runtimeImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled', created: 1700000000, tool: 'aot-buildx-action', restoreInputs: restoreInputsHash({ 'Shop.Api/Shop.Api.csproj': '<Project />' }) }
const images = [
  { platform: 'linux/amd64', digest: A },
  { platform: 'linux/arm64', digest: B }
]

function kept(platform: string, digest: string): KeptImage {
  const statement = sbomStatement({ app: 'Shop.Api', appVersion: '1.0.0', platform, manifestDigest: digest, components: [], base: { ref: settings.runtimeImage }, created: settings.created, tool: settings.tool }).toString('utf8')
  return { platform, digest, counts: { packages: 2, runtimePacks: 1, projects: 0, baseDigest: true }, statement }
}
const both = (): KeptImage[] => [kept('linux/amd64', A), kept('linux/arm64', B)]

describe('keptKey', () => {
  test('names the set of images, in any order, and every setting the document names', () => {
    const key = keptKey(images, settings)
    expect(key).toMatch(/^aot-buildx-sbom-v1-[a-f0-9]{32}$/)
    expect(keptKey([...images].reverse(), settings)).toBe(key)
    expect(keptKey([images[0] as { platform: string; digest: string }], settings)).not.toBe(key)
    expect(keptKey([{ platform: 'linux/amd64', digest: B }, { platform: 'linux/arm64', digest: A }], settings)).not.toBe(key)
    const restoreInputs = restoreInputsHash({ 'Shop.Api/Shop.Api.csproj': '<Project><PropertyGroup><Version>2.0.0</Version></PropertyGroup></Project>' })
    for (const change of [{ app: 'Other' }, { framework: 'net9.0' }, { runtimeImage: 'x:1' }, { created: 1700000001 }, { tool: 'other' }, { restoreInputs }]) {
      expect(keptKey(images, { ...settings, ...change })).not.toBe(key)
    }
  })

  test('is undefined for no image or a digest of another shape', () => {
    expect(keptKey([], settings)).toBeUndefined()
    expect(keptKey([{ platform: 'linux/amd64', digest: 'sha256:abc' }], settings)).toBeUndefined()
    expect(keptKey([{ platform: 'linux/amd64', digest: `sha512:${'a'.repeat(128)}` }], settings)).toBeUndefined()
  })
})

describe('parseKept', () => {
  test('gives back what was kept, in the order of the images asked for, with the count of entries the run left out', () => {
    const text = serializeKept({ images: both().reverse(), rejected: 3 })
    expect(parseKept(text, images)).toEqual({ images: both(), rejected: 3 })
  })

  test.each<[string, (k: KeptImage[]) => unknown]>([
    ['another version of the file', (k) => ({ version: 2, rejected: 0, images: k })],
    ['no count of entries left out', (k) => ({ version: 1, images: k })],
    ['one image fewer', (k) => ({ version: 1, rejected: 0, images: k.slice(1) })],
    ['another digest', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], digest: A }] })],
    ['a statement about another image', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], statement: kept('linux/arm64', A).statement }] })],
    ['a statement that is not SPDX', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], statement: (k[1]?.statement ?? '').replace('https://spdx.dev/Document', 'https://cyclonedx.org/bom') }] })],
    ['a statement that is not JSON', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], statement: '{' }] })],
    ['a statement over the size attached', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], statement: (k[1]?.statement ?? '').replace('"predicate":{', `"pad":"${'x'.repeat(MAX_STATEMENT_BYTES)}","predicate":{`) }] })],
    ['a count that is not a count', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], counts: { packages: -1, runtimePacks: 1, projects: 0, baseDigest: true } }] })],
    ['no counts', (k) => ({ version: 1, rejected: 0, images: [k[0], { ...k[1], counts: null }] })]
  ])('refuses %s', (_, change) => {
    expect(parseKept(JSON.stringify(change(both())), images)).toBeUndefined()
  })

  test('refuses what is not JSON, or not an object', () => {
    expect(parseKept('not json', images)).toBeUndefined()
    expect(parseKept('null', images)).toBeUndefined()
    expect(parseKept('[]', images)).toBeUndefined()
  })
})

describe('SBOM_FORMAT', () => {
  test('names the document this version writes: a change of the document bumps it, so no run attaches a statement of the old form', () => {
    // When this fails, the document changed: bump SBOM_FORMAT and record the new hash with it.
    const statement = sbomStatement({
      app: 'Shop.Api',
      appVersion: '1.0.0',
      platform: 'linux/amd64',
      manifestDigest: A,
      components: [
        { kind: 'package', name: 'Microsoft.Data.Sqlite.Core', version: '10.0.12', sha512: 'ab'.repeat(64), compiled: true, native: false },
        { kind: 'package', name: 'SQLitePCLRaw.lib.e_sqlite3', version: '2.1.12', compiled: false, native: true },
        { kind: 'project', name: 'Shop.Data', version: '1.0.0', compiled: true, native: false },
        { kind: 'runtime-pack', name: 'Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64', version: '10.0.1', compiled: true, native: false }
      ],
      base: { ref: settings.runtimeImage, digest: B },
      created: settings.created,
      tool: settings.tool
    })
    expect({ format: SBOM_FORMAT, document: createHash('sha256').update(statement).digest('hex') }).toEqual({ format: 1, document: 'b69a0b7d0a3e1b02502634e4f7ce8e03eadc7a075e0cd41d494bf638cac11706' })
  })
})
