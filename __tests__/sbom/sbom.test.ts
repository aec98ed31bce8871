// The SBOM's pure core: project.assets.json -> components per platform -> an SPDX 2.3 document
// in an in-toto statement -> the layout's attestation manifests. The documents are checked by
// SPDX's own validator (pyspdxtools, Debian's python3-spdx-tools, installed by engine-up.sh).
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { MAX_ASSETS_BYTES, runtimePacks, readAssets, sha512Hex, type Component } from '../../src/sbom/assets.js'
import { attachSbom, ranAgain, withIndex } from '../../src/sbom/run.js'
import { attachStatements, attestationLayers, baseDigestFromProvenance } from '../../src/sbom/attach.js'
import { nugetPurl, ociPurl, sbomStatement, spdxDocument, splitImageRef, type SbomInput } from '../../src/sbom/spdx.js'
import { sha256Digest, type Descriptor } from '../../src/image/oci.js'

const SHA = Buffer.alloc(64, 7).toString('base64')

/** The shape a .NET 10 restore writes for a web app with Microsoft.Data.Sqlite, for two RIDs (assets version 4). */
function assets(over: Record<string, unknown> = {}): Record<string, unknown> {
  const rid = (r: string): Record<string, unknown> => ({
    'Microsoft.Data.Sqlite/10.0.12': { type: 'package', dependencies: { 'Microsoft.Data.Sqlite.Core': '10.0.12' }, compile: { 'lib/netstandard2.0/_._': {} }, runtime: { 'lib/netstandard2.0/_._': {} } },
    'Microsoft.Data.Sqlite.Core/10.0.12': { type: 'package', compile: { 'lib/net8.0/Microsoft.Data.Sqlite.dll': {} }, runtime: { 'lib/net8.0/Microsoft.Data.Sqlite.dll': {} } },
    'Microsoft.DotNet.ILCompiler/10.0.12': { type: 'package', build: { 'build/Microsoft.DotNet.ILCompiler.props': {} } },
    [`runtime.${r}.Microsoft.DotNet.ILCompiler/10.0.12`]: { type: 'package' },
    'SQLitePCLRaw.lib.e_sqlite3/2.1.12': { type: 'package', compile: { 'lib/netstandard2.0/_._': {} }, runtime: { 'lib/netstandard2.0/_._': {} }, native: { [`runtimes/${r}/native/libe_sqlite3.so`]: {} } },
    'Shop.Data/1.0.0': { type: 'project', framework: '.NETCoreApp,Version=v10.0', compile: { 'bin/placeholder/Shop.Data.dll': {} }, runtime: { 'bin/placeholder/Shop.Data.dll': {} } }
  })
  return {
    version: 4,
    targets: { 'net10.0': {}, 'net10.0/linux-x64': rid('linux-x64'), 'net10.0/linux-arm64': rid('linux-arm64') },
    libraries: {
      'Microsoft.Data.Sqlite/10.0.12': { sha512: SHA, type: 'package' },
      'Microsoft.Data.Sqlite.Core/10.0.12': { sha512: SHA, type: 'package' },
      'SQLitePCLRaw.lib.e_sqlite3/2.1.12': { sha512: 'not base64 of 64 bytes', type: 'package' },
      'Shop.Data/1.0.0': { type: 'project', path: '../Shop.Data/Shop.Data.csproj' }
    },
    project: {
      version: '2.1.0',
      frameworks: {
        'net10.0': {
          targetAlias: 'net10.0',
          frameworkReferences: { 'Microsoft.AspNetCore.App': { privateAssets: 'none' }, 'Microsoft.NETCore.App': { privateAssets: 'all' } },
          downloadDependencies: [
            { name: 'Microsoft.AspNetCore.App.Runtime.linux-arm64', version: '[10.0.12, 10.0.12]' },
            { name: 'Microsoft.AspNetCore.App.Runtime.linux-x64', version: '[10.0.12, 10.0.12]' },
            { name: 'Microsoft.NETCore.App.Host.linux-arm64', version: '[10.0.12, 10.0.12]' },
            { name: 'Microsoft.NETCore.App.Runtime.linux-x64', version: '[10.0.12, 10.0.12]' },
            { name: 'Microsoft.NETCore.App.Runtime.NativeAOT.linux-arm64', version: '[10.0.12, 10.0.12]' },
            { name: 'Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64', version: '[10.0.12, 10.0.12]' },
            { name: 'runtime.linux-x64.Microsoft.DotNet.ILCompiler', version: '[10.0.12, 10.0.12]' }
          ]
        }
      }
    },
    ...over
  }
}

const names = (cs: Component[] | undefined): string[] => (cs ?? []).map((c) => `${c.kind}:${c.name}@${c.version}`)

describe('readAssets: what went into each platform binary', () => {
  test('per RID: the packages that reach the app (a meta-package too), the project references, the Native AOT and ASP.NET Core runtime packs; nothing build-time only', () => {
    const f = readAssets(JSON.stringify(assets()), 'net10.0', ['amd64', 'arm64'])
    expect(names(f.components.get('amd64'))).toEqual([
      'runtime-pack:Microsoft.AspNetCore.App.Runtime.linux-x64@10.0.12',
      'runtime-pack:Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64@10.0.12',
      'package:Microsoft.Data.Sqlite@10.0.12',
      'package:Microsoft.Data.Sqlite.Core@10.0.12',
      'package:SQLitePCLRaw.lib.e_sqlite3@2.1.12',
      'project:Shop.Data@1.0.0'
    ])
    expect(names(f.components.get('arm64'))).toEqual([
      'runtime-pack:Microsoft.AspNetCore.App.Runtime.linux-arm64@10.0.12',
      'runtime-pack:Microsoft.NETCore.App.Runtime.NativeAOT.linux-arm64@10.0.12',
      'package:Microsoft.Data.Sqlite@10.0.12',
      'package:Microsoft.Data.Sqlite.Core@10.0.12',
      'package:SQLitePCLRaw.lib.e_sqlite3@2.1.12',
      'project:Shop.Data@1.0.0'
    ])
    expect(f.projectVersion).toBe('2.1.0')
    expect(f.rejected).toBe(0)
    const amd = f.components.get('amd64') ?? []
    expect(amd.find((c) => c.name === 'Microsoft.Data.Sqlite.Core')).toMatchObject({ compiled: true, native: false, sha512: '07'.repeat(64) })
    expect(amd.find((c) => c.name === 'Microsoft.Data.Sqlite')).toMatchObject({ compiled: false, native: false })
    // A hash that is not a SHA-512 is left out, not passed on.
    expect(amd.find((c) => c.name === 'SQLitePCLRaw.lib.e_sqlite3')).toEqual({ kind: 'package', name: 'SQLitePCLRaw.lib.e_sqlite3', version: '2.1.12', compiled: false, native: true })
  })

  test('before .NET 10 (no Native AOT runtime pack) the ILCompiler RID package and the shared framework runtime pack are what the binary is made of', () => {
    const d = [
      { name: 'runtime.linux-arm64.Microsoft.DotNet.ILCompiler', version: '9.0.5' },
      { name: 'Microsoft.NETCore.App.Runtime.linux-arm64', version: '9.0.5' },
      { name: 'Microsoft.NETCore.App.Runtime.linux-x64', version: '9.0.5' },
      { name: 'Microsoft.NETCore.App.Host.linux-arm64', version: '9.0.5' }
    ]
    expect(runtimePacks(d, 'linux-arm64', false).map((p) => p.name)).toEqual(['runtime.linux-arm64.Microsoft.DotNet.ILCompiler', 'Microsoft.NETCore.App.Runtime.linux-arm64'])
  })

  test("a console app: restore downloads ASP.NET Core's runtime packs too, but without a reference to that framework none of it is in the binary", () => {
    const a = assets()
    const fw = (a.project as { frameworks: Record<string, { frameworkReferences?: unknown }> }).frameworks['net10.0']
    if (fw !== undefined) fw.frameworkReferences = { 'Microsoft.NETCore.App': { privateAssets: 'all' } }
    const packs = names(readAssets(JSON.stringify(a), 'net10.0', ['amd64']).components.get('amd64')).filter((n) => n.startsWith('runtime-pack:'))
    expect(packs).toEqual(['runtime-pack:Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64@10.0.12'])
  })

  test("before .NET 10 the cross target's ILCompiler package comes through runtime.json (a target entry, not a download): it is listed for that RID", () => {
    const a = assets()
    const fw = (a.project as { frameworks: Record<string, { downloadDependencies: { name: string; version: string }[] }> }).frameworks['net10.0']
    if (fw !== undefined) fw.downloadDependencies = [{ name: 'Microsoft.NETCore.App.Runtime.linux-arm64', version: '[9.0.5, 9.0.5]' }, { name: 'runtime.linux-x64.Microsoft.DotNet.ILCompiler', version: '[9.0.5, 9.0.5]' }]
    const t = (a.targets as Record<string, Record<string, unknown>>)['net10.0/linux-arm64'] ?? {}
    delete t['runtime.linux-arm64.Microsoft.DotNet.ILCompiler/10.0.12']
    t['runtime.linux-arm64.Microsoft.DotNet.ILCompiler/9.0.5'] = { type: 'package' }
    const f = readAssets(JSON.stringify(a), 'net10.0', ['arm64'])
    expect(names(f.components.get('arm64')).filter((n) => n.startsWith('runtime-pack:'))).toEqual(['runtime-pack:Microsoft.NETCore.App.Runtime.linux-arm64@9.0.5', 'runtime-pack:runtime.linux-arm64.Microsoft.DotNet.ILCompiler@9.0.5'])
  })

  test('assets version 3 (keyed by the framework name) and a multi-targeted project read the framework published', () => {
    const a = assets()
    const frameworks = (a.project as { frameworks: Record<string, unknown> }).frameworks
    const v3 = { ...a, version: 3, targets: { 'net9.0/linux-x64': (a.targets as Record<string, unknown>)['net10.0/linux-x64'] }, project: { frameworks: { 'net9.0': frameworks['net10.0'], 'net10.0': {} } } }
    expect(readAssets(JSON.stringify(v3), 'net9.0', ['amd64']).components.get('amd64')).toHaveLength(6)
  })

  test('names and versions NuGet does not allow are left out and counted', () => {
    const a = assets()
    const t = (a.targets as Record<string, Record<string, unknown>>)['net10.0/linux-x64'] ?? {}
    t['Evil"Name/1.0.0'] = { type: 'package', runtime: { 'lib/x.dll': {} } }
    t['Fine/1.0.0\n::warning::x'] = { type: 'package', runtime: { 'lib/x.dll': {} } }
    const f = readAssets(JSON.stringify(a), 'net10.0', ['amd64'])
    expect(names(f.components.get('amd64')).join()).not.toMatch(/Evil|Fine/)
    expect(f.rejected).toBe(2)
  })

  test('errors name what is missing', () => {
    expect(() => readAssets('{', 'net10.0', ['amd64'])).toThrow('it is not JSON')
    expect(() => readAssets('{}', 'net10.0', ['amd64'])).toThrow('no targets or no project section')
    expect(() => readAssets(JSON.stringify(assets()), 'net9.0', ['amd64'])).toThrow('it has no framework net9.0')
    const a = assets({ targets: { 'net10.0': {} } })
    expect(() => readAssets(JSON.stringify(a), 'net10.0', ['arm64'])).toThrow('it has no target net10.0/linux-arm64')
  })

  test('sha512Hex takes NuGet base64 SHA-512 only', () => {
    expect(sha512Hex(SHA)).toBe('07'.repeat(64))
    expect(sha512Hex('abc')).toBeUndefined()
    expect(sha512Hex(7)).toBeUndefined()
  })
})

const DIGEST = `sha256:${'ab'.repeat(32)}`
const BASE = `sha256:${'cd'.repeat(32)}`

function input(over: Partial<SbomInput> = {}): SbomInput {
  const f = readAssets(JSON.stringify(assets()), 'net10.0', ['amd64'])
  return {
    app: 'Shop.Api',
    appVersion: '2.1.0',
    platform: 'linux/amd64',
    manifestDigest: DIGEST,
    components: f.components.get('amd64') ?? [],
    base: { ref: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled', digest: BASE },
    created: 1764979200,
    tool: 'aot-buildx-action',
    ...over
  }
}

/** pyspdxtools parses the document as SPDX 2.3 JSON and runs SPDX's validation of it; exit 0 is valid. */
function validate(doc: unknown): { ok: boolean; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spdx-'))
  const file = path.join(dir, 'doc.spdx.json')
  fs.writeFileSync(file, JSON.stringify(doc))
  try {
    const out = execFileSync('pyspdxtools', ['-i', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return { ok: true, out }
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string }
    if (err.status === undefined) throw e
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe('spdxDocument: SPDX 2.3 as BuildKit attestations carry it', () => {
  test('SPDX validates it; every package has a purl where it is a NuGet package, the hashes the assets file has, and the base image by digest', () => {
    const doc = spdxDocument(input())
    const v = validate(doc)
    expect(v.out).toBe('')
    expect(v.ok).toBe(true)
    const pkgs = doc.packages as { SPDXID: string; name: string; versionInfo?: string; checksums?: { algorithm: string; checksumValue: string }[]; externalRefs?: { referenceLocator: string }[] }[]
    const purls = pkgs.flatMap((p) => (p.externalRefs ?? []).map((r) => r.referenceLocator))
    expect(purls).toEqual([
      `pkg:oci/shop.api@sha256%3A${'ab'.repeat(32)}?arch=amd64`,
      `pkg:oci/runtime-deps@sha256%3A${'cd'.repeat(32)}?arch=amd64&repository_url=mcr.microsoft.com%2Fdotnet%2Fruntime-deps&tag=10.0-noble-chiseled`,
      'pkg:nuget/Microsoft.AspNetCore.App.Runtime.linux-x64@10.0.12',
      'pkg:nuget/Microsoft.NETCore.App.Runtime.NativeAOT.linux-x64@10.0.12',
      'pkg:nuget/Microsoft.Data.Sqlite@10.0.12',
      'pkg:nuget/Microsoft.Data.Sqlite.Core@10.0.12',
      'pkg:nuget/SQLitePCLRaw.lib.e_sqlite3@2.1.12'
    ])
    expect(pkgs.find((p) => p.name === 'Microsoft.Data.Sqlite.Core')?.checksums).toEqual([{ algorithm: 'SHA512', checksumValue: '07'.repeat(64) }])
    expect(pkgs.find((p) => p.name === 'Shop.Data')).toMatchObject({ versionInfo: '1.0.0', downloadLocation: 'NOASSERTION' })
    const rels = (doc.relationships as { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[]).map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`)
    expect(rels).toContain('SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image')
    expect(rels).toContain('SPDXRef-Image DESCENDANT_OF SPDXRef-BaseImage')
    expect(rels.filter((r) => r.startsWith('SPDXRef-App STATIC_LINK'))).toHaveLength(4)
    expect(rels.some((r) => r.startsWith('SPDXRef-Image CONTAINS SPDXRef-NuGet-') && r.includes('SQLitePCLRaw'))).toBe(true)
    expect(doc.creationInfo).toEqual({ created: '2025-12-06T00:00:00Z', creators: ['Tool: aot-buildx-action'] })
  })

  test('the same restore gives the same bytes whatever the order of the assets file (a rebuilt image keeps its digest); another input another namespace', () => {
    const a0 = assets()
    const targets = a0.targets as Record<string, Record<string, unknown>>
    const reversed = Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, Object.fromEntries(Object.entries(t).reverse())]))
    const components = readAssets(JSON.stringify({ ...a0, targets: reversed }), 'net10.0', ['amd64']).components.get('amd64') ?? []
    expect(sbomStatement(input({ components })).equals(sbomStatement(input()))).toBe(true)
    const a = spdxDocument(input()).documentNamespace
    const b = spdxDocument(input({ created: 1 })).documentNamespace
    expect(a).not.toBe(b)
    expect(a).toMatch(/^https:\/\/spdx\.org\/spdxdocs\/aot-buildx-action\/shop\.api-amd64-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  test('without a base digest, without components: still valid SPDX', () => {
    const doc = spdxDocument(input({ base: { ref: 'debian:bookworm-slim' }, components: [], appVersion: '' }))
    expect(validate(doc).ok).toBe(true)
    const pkgs = doc.packages as { name: string; checksums?: unknown }[]
    expect(pkgs.map((p) => p.name)).toEqual(['shop.api', 'Shop.Api', 'debian'])
    expect(pkgs[2]?.checksums).toBeUndefined()
  })

  test('the SPDX validator is not a formality: a document with an id SPDX forbids and a dangling relationship fails', () => {
    const doc = spdxDocument(input()) as { packages: { SPDXID: string }[]; relationships: unknown[] }
    const first = doc.packages[3]
    if (first !== undefined) first.SPDXID = 'SPDXRef-has_underscore'
    const v = validate(doc)
    expect(v.ok).toBe(false)
    expect(v.out).toMatch(/spdx_id must only contain/)
  })

  test('the statement names the image by digest only (the same build under any tag keeps its digest), and carries the document as predicate', () => {
    const s = JSON.parse(sbomStatement(input()).toString('utf8')) as { _type: string; predicateType: string; subject: { name: string; digest: { sha256: string } }[]; predicate: { spdxVersion: string } }
    expect(s._type).toBe('https://in-toto.io/Statement/v0.1')
    expect(s.predicateType).toBe('https://spdx.dev/Document')
    expect(s.subject).toEqual([{ name: '_', digest: { sha256: 'ab'.repeat(32) } }])
    expect(s.predicate.spdxVersion).toBe('SPDX-2.3')
    expect(() => sbomStatement(input({ manifestDigest: 'sha256:short' }))).toThrow('not a sha256 digest')
  })

  test('purls and image references', () => {
    expect(nugetPurl('My.Pkg', '1.0.0+build.5')).toBe('pkg:nuget/My.Pkg@1.0.0%2Bbuild.5')
    expect(splitImageRef('localhost:5000/a/b:1@sha256:00')).toEqual({ repository: 'localhost:5000/a/b', tag: '1', digest: 'sha256:00' })
    expect(splitImageRef('localhost:5000/a')).toEqual({ repository: 'localhost:5000/a' })
    expect(ociPurl('debian', BASE, 'arm64')).toBe(`pkg:oci/debian@sha256%3A${'cd'.repeat(32)}?arch=arm64&repository_url=debian`)
  })
})

describe('attachStatements: the layout as BuildKit lays out attestations', () => {
  function store(): { read: (d: string) => Buffer; put: (o: unknown) => Descriptor; blobs: Map<string, Buffer> } {
    const blobs = new Map<string, Buffer>()
    return {
      blobs,
      read: (d) => {
        const b = blobs.get(d)
        if (b === undefined) throw new Error(`no blob ${d}`)
        return b
      },
      put: (o) => {
        const b = Buffer.from(JSON.stringify(o))
        const digest = sha256Digest(b)
        blobs.set(digest, b)
        return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: b.length }
      }
    }
  }
  const amd = `sha256:${'1'.repeat(64)}`
  const arm = `sha256:${'2'.repeat(64)}`

  function layout(withProvenance: boolean): { s: ReturnType<typeof store>; root: Descriptor } {
    const s = store()
    const manifests: Descriptor[] = [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm, size: 1, platform: { os: 'linux', architecture: 'arm64' } }
    ]
    if (withProvenance) {
      const statement = { predicateType: 'https://slsa.dev/provenance/v0.2', predicate: { materials: [{ uri: 'pkg:docker/mcr.microsoft.com/dotnet/runtime-deps@10.0-noble-chiseled?platform=linux%2Famd64', digest: { sha256: 'cd'.repeat(32) } }] } }
      const layer = s.put(statement)
      const config = s.put({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })
      const att = s.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size }, layers: [{ mediaType: 'application/vnd.in-toto+json', digest: layer.digest, size: layer.size, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }] })
      manifests.push({ ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.digest': amd, 'vnd.docker.reference.type': 'attestation-manifest' } })
    }
    const root = s.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })
    return { s, root: { ...root, mediaType: 'application/vnd.oci.image.index.v1+json' } }
  }

  test("an attestation manifest BuildKit wrote gets the SBOM beside its provenance; a platform without one gets its own; the images' manifests are untouched", () => {
    const { s, root } = layout(true)
    const sa = Buffer.from('{"predicateType":"https://spdx.dev/Document","a":1}')
    const sb = Buffer.from('{"predicateType":"https://spdx.dev/Document","b":1}')
    const r = attachStatements(s.read, root, [
      { manifestDigest: amd, statement: sa },
      { manifestDigest: arm, statement: sb }
    ])
    if ('skipped' in r) throw new Error(r.skipped)
    for (const b of r.blobs) s.blobs.set(sha256Digest(b), b)
    expect(r.root.digest).not.toBe(root.digest)
    const index = JSON.parse(s.read(r.root.digest).toString('utf8')) as { manifests: Descriptor[] }
    expect(index.manifests.slice(0, 2).map((m) => m.digest)).toEqual([amd, arm])
    expect(index.manifests.map((m) => m.annotations?.['vnd.docker.reference.digest'])).toEqual([undefined, undefined, amd, arm])
    const a = attestationLayers(s.read, r.root, amd)
    expect(a.map((l) => l.predicateType)).toEqual(['https://slsa.dev/provenance/v0.2', 'https://spdx.dev/Document'])
    expect(a[1]?.body.equals(sa)).toBe(true)
    expect(attestationLayers(s.read, r.root, arm).map((l) => l.predicateType)).toEqual(['https://spdx.dev/Document'])
    // The config lists every layer's digest, as BuildKit's does.
    const att = JSON.parse(s.read(index.manifests[2]?.digest ?? '').toString('utf8')) as { config: Descriptor; layers: Descriptor[] }
    const config = JSON.parse(s.read(att.config.digest).toString('utf8')) as { rootfs: { diff_ids: string[] } }
    expect(config.rootfs.diff_ids).toEqual(att.layers.map((l) => l.digest))
    expect(att.layers[1]).toEqual({ mediaType: 'application/vnd.in-toto+json', digest: sha256Digest(sa), size: sa.length, annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' } })
    // Attaching the same statements again changes nothing more.
    const again = attachStatements(s.read, r.root, [{ manifestDigest: amd, statement: sa }])
    if ('skipped' in again) throw new Error(again.skipped)
    expect(again.root.digest).toBe(r.root.digest)
  })

  test('a single-manifest image is left as it is, and says why', () => {
    const s = store()
    const m = s.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] })
    expect(attachStatements(s.read, m, [{ manifestDigest: m.digest, statement: Buffer.from('{}') }])).toEqual({ skipped: expect.stringContaining('single manifest') as unknown })
  })

  test("the base image's digest comes from the provenance's materials (SLSA 0.2) or resolved dependencies (SLSA 1)", () => {
    const { s, root } = layout(true)
    const prov = attestationLayers(s.read, root, amd)[0]?.body ?? Buffer.alloc(0)
    expect(baseDigestFromProvenance(prov, 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled')).toBe(BASE)
    expect(baseDigestFromProvenance(prov, 'mcr.microsoft.com/dotnet/runtime-deps:9.0')).toBeUndefined()
    const v1 = Buffer.from(JSON.stringify({ predicate: { buildDefinition: { resolvedDependencies: [{ uri: 'pkg:docker/debian@bookworm-slim?platform=linux%2Farm64', digest: { sha256: 'ef'.repeat(32) } }] } } }))
    expect(baseDigestFromProvenance(v1, 'docker.io/library/debian:bookworm-slim')).toBe(`sha256:${'ef'.repeat(32)}`)
    expect(baseDigestFromProvenance(Buffer.from('not json'), 'debian')).toBeUndefined()
  })
})

describe('attachSbom: the layout on disk', () => {
  async function fixture(): Promise<{ dir: string; oci: string; facts: string; digests: Record<string, string> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-sbom-'))
    const oci = path.join(dir, 'oci')
    const { makeLayout } = await import('../pipeline/fakes.js')
    const root = await makeLayout(oci, false)
    // buildx names the image once per tag.
    const index = JSON.parse(fs.readFileSync(path.join(oci, 'index.json'), 'utf8')) as { manifests: Record<string, unknown>[] }
    const [only] = index.manifests
    index.manifests = [{ ...only, annotations: { 'org.opencontainers.image.ref.name': 'a' } }, { ...only, annotations: { 'org.opencontainers.image.ref.name': 'b' } }]
    fs.writeFileSync(path.join(oci, 'index.json'), JSON.stringify(index))
    const rootDoc = JSON.parse(fs.readFileSync(path.join(oci, 'blobs', 'sha256', root.slice(7)), 'utf8')) as { manifests: Descriptor[] }
    const digests = Object.fromEntries(rootDoc.manifests.filter((m) => m.platform?.os === 'linux').map((m) => [`linux/${m.platform?.architecture ?? ''}`, m.digest]))
    const facts = path.join(dir, 'facts')
    fs.mkdirSync(facts)
    fs.writeFileSync(path.join(facts, 'project.assets.json'), JSON.stringify(assets()))
    return { dir, oci, facts, digests }
  }
  const job = (f: { oci: string; facts: string; digests: Record<string, string> }): Parameters<typeof attachSbom>[0] => ({
    ociDir: f.oci,
    factsDir: f.facts,
    framework: 'net10.0',
    images: Object.entries(f.digests).map(([platform, digest]) => ({ platform: platform as 'linux/amd64', digest })),
    app: 'Shop.Api',
    runtimeImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled',
    created: 0,
    tool: 'aot-buildx-action'
  })

  test('every entry of index.json (one per tag) names the new index, whose blob and attestation blobs are in the layout', async () => {
    const f = await fixture()
    const r = attachSbom(job(f))
    if ('skipped' in r) throw new Error(r.skipped)
    const index = JSON.parse(fs.readFileSync(path.join(f.oci, 'index.json'), 'utf8')) as { manifests: { digest: string; size: number; annotations: Record<string, string> }[] }
    expect(index.manifests.map((m) => [m.digest, m.size, m.annotations['org.opencontainers.image.ref.name']])).toEqual([[r.digest, r.size, 'a'], [r.digest, r.size, 'b']])
    const body = fs.readFileSync(path.join(f.oci, 'blobs', 'sha256', r.digest.slice(7)))
    expect(sha256Digest(body)).toBe(r.digest)
    expect(r.images.map((i) => [i.platform, i.counts.packages, i.counts.runtimePacks, i.counts.projects])).toEqual([['linux/amd64', 3, 2, 1], ['linux/arm64', 3, 2, 1]])
    fs.rmSync(f.dir, { recursive: true, force: true })
  })

  test('the exported file is read only as a regular file: a link or a folder in its place is refused, as is one over the size read', async () => {
    const f = await fixture()
    const file = path.join(f.facts, 'project.assets.json')
    fs.rmSync(file)
    fs.symlinkSync('/etc/passwd', file)
    expect(() => attachSbom(job(f))).toThrow('project.assets.json is not a regular file')
    fs.rmSync(file)
    fs.mkdirSync(file)
    expect(() => attachSbom(job(f))).toThrow('project.assets.json is not a regular file')
    fs.rmSync(file, { recursive: true })
    fs.writeFileSync(file, Buffer.alloc(MAX_ASSETS_BYTES + 1, 32))
    expect(() => attachSbom(job(f))).toThrow(/bytes, more than the \d+ read/)
    fs.rmSync(f.dir, { recursive: true, force: true })
  })

  test('withIndex: the metadata output names the index pushed', () => {
    const m = withIndex(JSON.stringify({ 'containerimage.digest': 'sha256:old', 'containerimage.descriptor': { mediaType: 'x', digest: 'sha256:old', size: 1 }, other: 1 }), 'sha256:new', 9)
    expect(JSON.parse(m)).toEqual({ 'containerimage.digest': 'sha256:new', 'containerimage.descriptor': { mediaType: 'x', digest: 'sha256:new', size: 9 }, other: 1 })
    expect(withIndex('not json', 'sha256:new', 9)).toBe('not json')
  })

  test('ranAgain: a restore step that did not come from the cache', () => {
    const cached = '#5 [restore 4/4] RUN dotnet restore x\n#5 CACHED\n#6 [aot-facts 1/1] COPY\n#6 DONE 0.0s'
    expect(ranAgain(cached, /dotnet restore/)).toBe(false)
    expect(ranAgain('#5 [restore 4/4] RUN dotnet restore x\n#5 0.3 Restoring\n#5 DONE 9.1s', /dotnet restore/)).toBe(true)
    expect(ranAgain('#6 [aot-facts 1/1] COPY\n#6 CACHED', /dotnet restore/)).toBe(false)
  })
})
