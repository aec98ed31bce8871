// The SBOM of a Native AOT image on the real engine and registry: the shop fixture's Shop.Api
// (Microsoft.Data.Sqlite, SQLitePCLRaw's native library, a project reference), both platforms,
// pushed with the defaults. After the push `docker buildx imagetools inspect --format
// '{{json .SBOM}}'` shows one SPDX 2.3 document per platform, which SPDX's validator accepts.
// What it lists is checked against the build itself, read here by a probe stage appended to the
// generated Dockerfile (every step cached): the restore's project.assets.json for the versions,
// and the ILCompiler's response file (.ilc.rsp) for what was compiled into each binary.
// BuildKit's own `sbom:` attestation (a generator image built here) stays beside ours.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { docker, listImageFiles, makeFixtureWorkspace, output, REGISTRY, runAction, type ActionRun } from './harness.js'

const RUN = Date.now().toString(36)
const REPO = `${REGISTRY}/aot-e2e/sbom-${RUN}`
const ws = makeFixtureWorkspace(`sbom-${RUN}`, 'shop')
const inputs = { project: 'src/Shop.Api', context: '.', platforms: 'linux/amd64,linux/arm64', push: 'true', tags: `${REPO}:main`, 'smoke-test': 'false' }
const ARCHES = { amd64: 'linux-x64', arm64: 'linux-arm64' } as const

interface Spdx {
  spdxVersion: string
  packages: { SPDXID: string; name: string; versionInfo?: string; checksums?: { algorithm: string; checksumValue: string }[]; externalRefs?: { referenceLocator: string }[] }[]
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[]
}

function must(run: ActionRun, what: string): ActionRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
  return run
}

function inspect(ref: string, format: string): Record<string, unknown> {
  return JSON.parse(docker(['buildx', 'imagetools', 'inspect', ref, '--format', format]).toString('utf8')) as Record<string, unknown>
}

function sboms(ref: string): Record<string, { SPDX?: Spdx; AdditionalSPDXs?: Spdx[] }> {
  return inspect(ref, '{{json .SBOM}}') as Record<string, { SPDX?: Spdx; AdditionalSPDXs?: Spdx[] }>
}

/** Ours is the one our tool made (BuildKit's scanner may be another). */
function ours(s: { SPDX?: Spdx; AdditionalSPDXs?: Spdx[] } | undefined): Spdx {
  const all = [s?.SPDX, ...(s?.AdditionalSPDXs ?? [])].filter((d): d is Spdx => d !== undefined)
  const found = all.find((d) => JSON.stringify((d as unknown as { creationInfo: unknown }).creationInfo).includes('aot-buildx-action'))
  if (found === undefined) throw new Error(`no SBOM of ours among ${all.length}`)
  return found
}

/** The build's own record, from a stage appended to the generated Dockerfile: every step it needs is cached. */
function probe(): { assets: Record<string, unknown>; rsp: Record<string, string> } {
  const generated = fs.readFileSync(path.join(ws, 'Dockerfile.aot'), 'utf8')
  const native = (arch: keyof typeof ARCHES): string => `/build/${arch}/src/Shop.Api/obj/Release/net10.0/${ARCHES[arch]}/native/Shop.Api.ilc.rsp`
  const stage = ['FROM scratch AS probe', 'COPY --from=restore /src/src/Shop.Api/obj/project.assets.json /', `COPY --from=publish ${native('amd64')} /amd64.rsp`, `COPY --from=publish ${native('arm64')} /arm64.rsp`, ''].join('\n')
  fs.writeFileSync(path.join(ws, 'Dockerfile.probe'), `${generated}\n${stage}`)
  fs.copyFileSync(path.join(ws, 'Dockerfile.aot.dockerignore'), path.join(ws, 'Dockerfile.probe.dockerignore'))
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-probe-'))
  const r = spawnSync('docker', ['buildx', 'build', '-f', 'Dockerfile.probe', '--target', 'probe', '--output', `type=local,dest=${out}`, '.'], { cwd: ws, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`the probe build failed:\n${r.stderr.slice(-4000)}`)
  return {
    assets: JSON.parse(fs.readFileSync(path.join(out, 'project.assets.json'), 'utf8')) as Record<string, unknown>,
    rsp: { amd64: fs.readFileSync(path.join(out, 'amd64.rsp'), 'utf8'), arm64: fs.readFileSync(path.join(out, 'arm64.rsp'), 'utf8') }
  }
}

/** id@version of every NuGet package the compiler was given (-r: paths in the package folder), lower case as NuGet lays them out. */
function compiledPackages(rsp: string): string[] {
  const out = new Set<string>()
  for (const [, id, version] of rsp.matchAll(/^-r:\/root\/\.nuget\/packages\/([^/]+)\/([^/]+)\//gm)) out.add(`${id}@${version}`)
  return [...out].sort()
}

function related(doc: Spdx, from: string, type: string): Spdx['packages'] {
  const ids = doc.relationships.filter((r) => r.spdxElementId === from && r.relationshipType === type).map((r) => r.relatedSpdxElement)
  return doc.packages.filter((p) => ids.includes(p.SPDXID))
}

let run: ActionRun
let build: ReturnType<typeof probe>

beforeAll(() => {
  run = must(runAction(ws, inputs), 'the build of Shop.Api')
  build = probe()
})

describe('the SBOM of the shop fixture (Shop.Api, two platforms), after the push', () => {
  test('imagetools shows an SPDX 2.3 document for each platform of the pushed index, and SPDX\'s validator accepts both', () => {
    const digest = output(run, 'digest')
    expect(run.stdout).toMatch(/linux\/amd64: SPDX SBOM attached: \d+ NuGet packages, 2 runtime packs, 1 project reference, the base image by digest/)
    const s = sboms(`${REPO}@${digest}`)
    expect(Object.keys(s).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const doc = ours(s[platform])
      expect(doc.spdxVersion).toBe('SPDX-2.3')
      const file = path.join(os.tmpdir(), `aot-e2e-sbom-${RUN}-${platform.replace('/', '-')}.spdx.json`)
      fs.writeFileSync(file, JSON.stringify(doc))
      const v = spawnSync('pyspdxtools', ['-i', file], { encoding: 'utf8' })
      expect(`${v.stdout}${v.stderr}`).toBe('')
      expect(v.status).toBe(0)
    }
  })

  test('each lists Microsoft.Data.Sqlite and SQLitePCLRaw with the versions the assets file has, the runtime packs for its own RID only, and the project reference', () => {
    const s = sboms(`${REPO}:main`)
    const targets = build.assets.targets as Record<string, Record<string, { type: string }>>
    for (const [arch, rid] of Object.entries(ARCHES)) {
      const doc = ours(s[`linux/${arch}`])
      const listed = new Map(doc.packages.map((p) => [p.name, p.versionInfo]))
      const restored = Object.keys(targets[`net10.0/${rid}`] ?? {}).map((k) => k.split('/') as [string, string])
      const wanted = restored.filter(([n]) => n === 'Microsoft.Data.Sqlite' || n.startsWith('SQLitePCLRaw.'))
      expect(wanted.map(([n]) => n)).toEqual(expect.arrayContaining(['Microsoft.Data.Sqlite', 'SQLitePCLRaw.core', 'SQLitePCLRaw.lib.e_sqlite3']))
      for (const [n, v] of wanted) expect([n, listed.get(n)]).toEqual([n, v])
      const packs = doc.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-RuntimePack-')).map((p) => p.name)
      expect(packs.sort()).toEqual([`Microsoft.AspNetCore.App.Runtime.${rid}`, `Microsoft.NETCore.App.Runtime.NativeAOT.${rid}`])
      expect(JSON.stringify(doc.packages)).not.toContain(arch === 'amd64' ? 'linux-arm64' : 'linux-x64')
      expect(listed.get('Shop.Data')).toBe('1.0.0')
      // The hash the assets file has for the package, as hex.
      const libs = build.assets.libraries as Record<string, { sha512?: string }>
      const core = doc.packages.find((p) => p.name === 'SQLitePCLRaw.core')
      expect(core?.checksums).toEqual([{ algorithm: 'SHA512', checksumValue: Buffer.from(libs[`SQLitePCLRaw.core/${listed.get('SQLitePCLRaw.core') ?? ''}`]?.sha512 ?? '', 'base64').toString('hex') }])
    }
  })

  test('nothing that is not in the build: what the SBOM says was compiled in is exactly what the compiler was given, and the native library it says the image holds is there', () => {
    for (const arch of Object.keys(ARCHES) as (keyof typeof ARCHES)[]) {
      const doc = ours(sboms(`${REPO}:main`)[`linux/${arch}`])
      const linked = related(doc, 'SPDXRef-App', 'STATIC_LINK').filter((p) => !p.SPDXID.startsWith('SPDXRef-Project-'))
      const compiled = compiledPackages(build.rsp[arch] ?? '')
      expect(compiled.length).toBeGreaterThan(3)
      expect(linked.map((p) => `${p.name.toLowerCase()}@${p.versionInfo ?? ''}`).sort()).toEqual(compiled)
      const contained = related(doc, 'SPDXRef-Image', 'CONTAINS').map((p) => p.name)
      expect(contained).toContain('SQLitePCLRaw.lib.e_sqlite3')
      expect(listImageFiles(`${REPO}:main`, `linux/${arch}`)).toContain('app/libe_sqlite3.so')
    }
  })

  test("the base image by digest: the one BuildKit's provenance of the same image names", () => {
    const provenance = inspect(`${REPO}:main`, '{{json .Provenance}}') as Record<string, { SLSA?: { materials?: { uri: string; digest: { sha256: string } }[] } }>
    for (const arch of Object.keys(ARCHES)) {
      const doc = ours(sboms(`${REPO}:main`)[`linux/${arch}`])
      const base = related(doc, 'SPDXRef-Image', 'DESCENDANT_OF')[0]
      const material = provenance[`linux/${arch}`]?.SLSA?.materials?.find((m) => m.uri.includes('/dotnet/runtime-deps@'))
      expect(material).toBeDefined()
      expect(base?.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: material?.digest.sha256 }])
    }
  })
})

describe("BuildKit's sbom: beside it", () => {
  test('with a generator image, imagetools shows both documents for each platform: BuildKit\'s scan and ours', () => {
    // A generator that follows BuildKit's SBOM protocol: it writes one SPDX statement of its own.
    const gen = path.join(ws, 'generator')
    fs.mkdirSync(gen, { recursive: true })
    const statement = JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://spdx.dev/Document', predicate: { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'generator-scan', dataLicense: 'CC0-1.0', documentNamespace: 'https://example.invalid/scan', creationInfo: { created: '2026-01-01T00:00:00Z', creators: ['Tool: e2e-generator'] }, packages: [] } })
    fs.writeFileSync(path.join(gen, 'scan.json'), statement)
    const sdk = /^FROM --platform=\$BUILDPLATFORM (\S+) AS restore$/m.exec(fs.readFileSync(path.join(ws, 'Dockerfile.aot'), 'utf8'))?.[1] ?? ''
    fs.writeFileSync(path.join(gen, 'Dockerfile'), `FROM ${sdk}\nCOPY scan.json /scan.json\nENTRYPOINT ["/bin/sh", "-c", "cp /scan.json \\"$BUILDKIT_SCAN_DESTINATION/scan.spdx.json\\""]\n`)
    const image = `${REGISTRY}/aot-e2e/sbom-generator:${RUN}`
    const b = spawnSync('docker', ['buildx', 'build', '--platform', 'linux/amd64', '--output', `type=image,name=${image},push=true`, gen], { encoding: 'utf8' })
    if (b.status !== 0) throw new Error(`the generator image did not build:\n${b.stderr.slice(-3000)}`)
    const r = must(runAction(ws, { ...inputs, tags: `${REPO}:with-scanner`, sbom: `generator=${image}` }), 'the build with sbom: generator=')
    const s = sboms(`${REPO}:with-scanner`)
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const docs = [s[platform]?.SPDX, ...(s[platform]?.AdditionalSPDXs ?? [])].map((d) => (d as unknown as { name: string } | undefined)?.name)
      expect(docs).toHaveLength(2)
      expect(docs).toContain('generator-scan')
      expect(ours(s[platform]).packages.map((p) => p.name)).toContain('Microsoft.Data.Sqlite')
    }
    expect(output(r, 'digest')).not.toBe(output(run, 'digest'))
  })
})
