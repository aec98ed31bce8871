// A private, authenticated NuGet feed on the real engine: the "corp" fixture restores a package
// that only the feed of scripts/nuget-feed.sh (nginx, basic auth) serves. Without the secret the
// restore is refused and the failure names the feed and the inputs to set; with `secrets` (a
// NuGet.config's %VAR%) or `secret-envs` (NuGetPackageSourceCredentials_<source>) it restores,
// and the token is in no blob of the built images, no output, log line, summary or kept cache.
// The same runs prove load (both platforms into the containerd image store, then run),
// annotations and provenance.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { docker, makeFixtureWorkspace, output, REPO, runAction, WORK, type ActionRun } from './harness.js'

const RUN = Date.now()
const FEED_STATE = process.env.AOT_FEED_STATE ?? '/var/tmp/aot-buildx-feed'

interface Feed {
  url: string
  root: string
  user: string
  password: string
  accessLog: string
}

/** The feed scripts/nuget-feed.sh started; a missing feed fails the suite (it is a precondition). */
function feed(): Feed {
  const file = path.join(FEED_STATE, 'feed.env')
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: scripts/nuget-feed.sh up (run by scripts/e2e-setup.sh) starts the feed`)
  const v: Record<string, string> = {}
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) v[line.slice(0, eq)] = line.slice(eq + 1)
  }
  const get = (k: string): string => {
    const x = v[k]
    if (x === undefined || x === '') throw new Error(`${file} has no ${k}`)
    return x
  }
  return { url: get('AOT_FEED_URL'), root: get('AOT_FEED_ROOT'), user: get('AOT_FEED_USER'), password: get('AOT_FEED_PASSWORD'), accessLog: get('AOT_FEED_ACCESS_LOG') }
}

/** Packs Corp.Greeting at `version` and serves it from the feed's flat container. */
function publishPackage(f: Feed, version: string): void {
  const src = path.join(WORK, `corp-package-${version}`)
  fs.rmSync(src, { recursive: true, force: true })
  fs.cpSync(path.join(REPO, 'e2e', 'fixtures', 'corp-package'), src, { recursive: true })
  const out = path.join(src, 'out')
  execFileSync('dotnet', ['pack', path.join(src, 'Corp.Greeting', 'Corp.Greeting.csproj'), '-c', 'Release', `-p:Version=${version}`, '-o', out, '--nologo', '-v', 'q'], { stdio: 'pipe' })
  const id = 'corp.greeting'
  const dir = path.join(f.root, id, version)
  fs.mkdirSync(dir, { recursive: true })
  fs.copyFileSync(path.join(out, `Corp.Greeting.${version}.nupkg`), path.join(dir, `${id}.${version}.nupkg`))
  const index = path.join(f.root, id, 'index.json')
  const versions = fs.existsSync(index) ? (JSON.parse(fs.readFileSync(index, 'utf8')) as { versions: string[] }).versions : []
  fs.writeFileSync(index, JSON.stringify({ versions: [...new Set([...versions, version])] }))
  fs.rmSync(src, { recursive: true, force: true })
}

/** A fresh corp workspace that pins `version` and names the feed; `credentials: false` drops the config's credentials. */
function workspace(name: string, f: Feed, version: string, credentials = true): string {
  const ws = makeFixtureWorkspace(name, 'corp')
  const config = path.join(ws, 'NuGet.config')
  let text = fs.readFileSync(config, 'utf8').replace('__FEED_URL__', f.url)
  if (!credentials) text = text.replace(/\s*<packageSourceCredentials>[\s\S]*<\/packageSourceCredentials>/, '')
  fs.writeFileSync(config, text)
  const props = path.join(ws, 'Directory.Packages.props')
  fs.writeFileSync(props, fs.readFileSync(props, 'utf8').replace('0.0.0-filled-in-by-the-test', version))
  return ws
}

/** Lines of the feed's access log for the package at `version`: `"user" status "GET ..."`. */
function packageRequests(f: Feed, version: string): string[] {
  return fs
    .readFileSync(f.accessLog, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/corp.greeting/${version}/corp.greeting.${version}.nupkg`))
}

/** Every file under `dir` that holds `needle`, gzip members decompressed first (image layers). */
function filesHolding(dir: string, needle: string): string[] {
  const hits: string[] = []
  const want = Buffer.from(needle)
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) {
        const b = fs.readFileSync(p)
        if (b.includes(want)) hits.push(p)
        else if (b[0] === 0x1f && b[1] === 0x8b && gunzipSync(b).includes(want)) hits.push(`${p} (decompressed)`)
      }
    }
  }
  walk(dir)
  return hits
}

/** What the runner would show: the log without the ::add-mask:: commands it consumes. */
function shownLog(run: ActionRun): string {
  return run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')
}

function expectNoToken(run: ActionRun, token: string, extraDirs: string[]): void {
  expect(shownLog(run)).not.toContain(token)
  expect(run.summary).not.toContain(token)
  for (const [name, value] of Object.entries(run.outputs)) expect(`${name}: ${value.includes(token) ? 'holds the token' : 'clean'}`).toBe(`${name}: clean`)
  // The workspace (generated Dockerfile and ignore file) and RUNNER_TEMP: the OCI layout of the
  // images, every layer decompressed, the metadata, and the NuGet packages kept for the next run.
  for (const d of [run.workspace, run.runnerTemp, ...extraDirs]) expect(filesHolding(d, token)).toEqual([])
}

const sizeOf = (run: ActionRun, platform: string): number => {
  const sizes = JSON.parse(output(run, 'sizes')) as Record<string, { compressed: number }>
  const s = sizes[platform]
  if (s === undefined) throw new Error(`no size for ${platform}`)
  return s.compressed
}

describe('a private NuGet feed behind basic auth', () => {
  const f = feed()
  // Prerelease labels keep versions unique per run (assembly version parts stop at 65534).
  const v1 = `1.0.0-r${RUN}`
  const v2 = `1.1.0-r${RUN}`
  const tag = `aot-e2e/corp-cli:${RUN}`
  let denied: ActionRun
  /** Where the feed's access log stood before and after the refused run: only its own requests count. */
  let deniedLogFrom = 0
  let deniedLogTo = 0
  let withSecret: ActionRun
  // Inside RUNNER_TEMP, where nuget-cache-dir may point (the harness makes <workspace>-temp).
  const kept = path.join(WORK, 'corp-secrets-temp', 'nuget-kept')

  beforeAll(() => {
    publishPackage(f, v1)
    publishPackage(f, v2)
    // A version no cache holds: the restore must ask the feed.
    deniedLogFrom = fs.statSync(f.accessLog).size
    denied = runAction(workspace('corp-denied', f, v1), { project: 'src/Corp.Orders.Cli' })
    deniedLogTo = fs.statSync(f.accessLog).size
    withSecret = runAction(
      workspace('corp-secrets', f, v1),
      {
        project: 'src/Corp.Orders.Cli',
        secrets: `CORP_FEED_TOKEN=${f.password}`,
        tags: tag,
        load: 'true',
        annotations: 'index:org.opencontainers.image.title=corp-cli\nmanifest:org.opencontainers.image.description=Orders CLI, built from a private feed',
        provenance: 'mode=max',
        'nuget-cache-dir': kept
      },
      { env: { GITHUB_RUN_ID: '4242', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'corp/orders' } }
    )
  })

  afterAll(() => {
    try {
      docker(['image', 'rm', '-f', tag])
    } catch {
      // not loaded: the test that loads it has failed already
    }
  })

  it('without the secret, the feed refuses the restore and the failure names the feed and the inputs to set', () => {
    expect(denied.code).not.toBe(0)
    // The runner shows the error command's lines (%0A) as the annotation: the cause comes first.
    const error = (denied.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace('::error::', '').split('%0A')
    expect(error[0]).toBe('dotnet restore failed:')
    const second = error[1] ?? ''
    expect(second).toContain('NU1301')
    expect(second).toContain(f.url)
    expect(denied.stdout).toContain('a NuGet feed refused the restore (401 or 403)')
    expect(denied.stdout).toContain('"secrets" or "secret-envs"')
    expect(denied.summary).toContain('a NuGet feed refused the restore')
    // The feed saw the restore's own requests (from a build container, not this host's readiness
    // check) and refused them.
    const log = fs.readFileSync(f.accessLog).subarray(deniedLogFrom, deniedLogTo).toString('utf8')
    expect(log).toMatch(/^\d+\.\d+\.\d+\.\d+ "(-|ci)" 401 "GET \/v3\/index.json/m)
    expect(log).not.toMatch(/ 200 "GET \/v3\/flat\/corp\.greeting/)
  })

  it('with secrets: CORP_FEED_TOKEN=..., the NuGet.config\'s %CORP_FEED_TOKEN% authenticates the restore', () => {
    if (withSecret.code !== 0) throw new Error(`the build failed (exit ${withSecret.code}):\n${withSecret.stdout.slice(-6000)}`)
    const got = packageRequests(f, v1)
    expect(got.some((l) => l.includes(`"${f.user}" 200`))).toBe(true)
    // Evaluated in the sandbox container, with no dotnet on the action's PATH.
    expect(withSecret.stdout).toMatch(/\(evaluated by dotnet msbuild in a sandbox container of /)
  })

  it('the token is in no image blob, output, log line, summary or kept package cache', () => {
    expect(withSecret.code).toBe(0)
    // The runner is told to mask it before anything can print it.
    expect(withSecret.stdout).toContain(`::add-mask::${f.password}`)
    // The kept packages hold the private package (the cache works), but never the token.
    expect(fs.readdirSync(path.join(kept, 'packages'))).toContain('corp.greeting')
    expectNoToken(withSecret, f.password, [kept])
    // The generated Dockerfile names the secret, never its value.
    const dockerfile = fs.readFileSync(path.join(withSecret.workspace, 'Dockerfile.aot'), 'utf8')
    expect(dockerfile).toContain('--mount=type=secret,id=CORP_FEED_TOKEN,required=true')
  })

  it('load: true puts both platforms into the image store, and each runs the private package\'s code', () => {
    expect(withSecret.code).toBe(0)
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const out = docker(['run', '--rm', '--platform', platform, tag]).toString()
      expect(out.trim()).toBe('Hello from Corp.Greeting to orders: 3 open')
    }
  })

  it('annotations and provenance reach the image index, and attestations stay out of the sizes', () => {
    expect(withSecret.code).toBe(0)
    const layout = fs.readdirSync(withSecret.runnerTemp).find((d) => d.startsWith('aot-buildx-'))
    if (layout === undefined) throw new Error('no OCI layout in RUNNER_TEMP')
    const oci = path.join(withSecret.runnerTemp, layout, 'oci')
    const blob = (digest: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(oci, 'blobs', 'sha256', digest.replace('sha256:', '')), 'utf8')) as Record<string, unknown>
    const root = (JSON.parse(fs.readFileSync(path.join(oci, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]
    if (root === undefined) throw new Error('empty OCI layout')
    const index = blob(root.digest) as { annotations?: Record<string, string>; manifests: { digest: string; platform?: { architecture: string }; annotations?: Record<string, string> }[] }
    expect(index.annotations?.['org.opencontainers.image.title']).toBe('corp-cli')
    const images = index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')
    const attestations = index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest')
    expect(images.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64'])
    expect(attestations).toHaveLength(2)
    for (const m of images) {
      const man = blob(m.digest) as { annotations?: Record<string, string>; config: { size: number }; layers: { size: number }[] }
      expect(man.annotations?.['org.opencontainers.image.description']).toBe('Orders CLI, built from a private feed')
      // The size output is the image's own manifest: config + layers, no attestation.
      expect(sizeOf(withSecret, `linux/${m.platform?.architecture ?? ''}`)).toBe(man.config.size + man.layers.reduce((s, l) => s + l.size, 0))
    }
    // mode=max provenance, naming the run as the builder.
    const att = blob(attestations[0]?.digest ?? '') as { layers: { digest: string; annotations?: Record<string, string> }[] }
    const statement = JSON.parse(fs.readFileSync(path.join(oci, 'blobs', 'sha256', (att.layers[0]?.digest ?? '').replace('sha256:', '')), 'utf8')) as { predicate: { builder?: { id?: string }; runDetails?: { builder?: { id?: string } }; metadata?: Record<string, unknown> } }
    const builderId = statement.predicate.builder?.id ?? statement.predicate.runDetails?.builder?.id
    expect(builderId).toBe('https://github.com/corp/orders/actions/runs/4242')
    expect(JSON.stringify(statement)).not.toContain(f.password)
  })

  it('with secret-envs: NuGetPackageSourceCredentials_corp=FEED_CREDS, NuGet\'s own variable authenticates a config without credentials', () => {
    const run = runAction(
      workspace('corp-secret-envs', f, v2, false),
      { project: 'src/Corp.Orders.Cli', platforms: 'linux/amd64', 'secret-envs': 'NuGetPackageSourceCredentials_corp=FEED_CREDS' },
      { env: { FEED_CREDS: `Username=${f.user};Password=${f.password}` } }
    )
    if (run.code !== 0) throw new Error(`the build failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
    expect(packageRequests(f, v2).some((l) => l.includes(`"${f.user}" 200`))).toBe(true)
    expect(run.stdout).toContain(`::add-mask::Username=${f.user};Password=${f.password}`)
    expectNoToken(run, f.password, [])
  })
})
