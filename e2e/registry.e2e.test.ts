// The baseline image on a registry that needs a login, read the way the action reads it
// (docker buildx imagetools, so with the engine's own logins), on the real engine. The registry
// is the htpasswd one scripts/engine-up.sh starts on 127.0.0.1:5001. A two-platform image the
// engine already has (the runtime-deps base image) is pushed there; then the size report's
// baseline read runs twice: with a `docker login` in a temporary docker config (the sizes
// must equal what the registry stores, by tag and by one platform's digest), without one and
// with a wrong password (a warning that names the registry and docker/login-action, and no
// baseline), and for a tag that is not there (no baseline, no warning). The machine's own
// docker config is never used.
// Everything made here is removed afterwards: the local tag, the manifests in the registry
// (its blobs stay until the registry's garbage collection) and the temporary configs.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { jest } from '@jest/globals'
import { registrySizes } from '../src/image/registry.js'
import { sizeReport, type ReportSettings } from '../src/size/sizereport.js'
import { commentMarkdown, type Images } from '../src/size/diff.js'
import type { SizeSet } from '../src/size/types.js'
import { ACCEPT } from './harness.js'

const STATE = process.env.AOT_ENGINE_STATE ?? '/var/tmp/aot-buildx-engine'
const AUTH_REGISTRY = process.env.AOT_AUTH_REGISTRY_ADDR ?? '127.0.0.1:5001'
const SOURCE = 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'
const RUN = Date.now().toString(36)
const REPO = `aot-e2e/baseline-${RUN}`
const REF = `${AUTH_REGISTRY}/${REPO}:main`

const user = fs.readFileSync(path.join(STATE, 'auth-registry', 'user'), 'utf8').trim()
const password = fs.readFileSync(path.join(STATE, 'auth-registry', 'password'), 'utf8').trim()
const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** A docker config folder of its own: only the CLI plugins are taken from the user's (buildx may live there). */
function dockerConfig(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aot-e2e-${name}-`))
  const plugins = path.join(process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'cli-plugins')
  if (fs.existsSync(plugins)) fs.symlinkSync(plugins, path.join(dir, 'cli-plugins'))
  return dir
}

function docker(args: string[], config: string, input?: string): string {
  return execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG: config }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}


interface Desc {
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

/** A manifest straight from the registry's HTTP API, logged in: the independent account of what was pushed. */
async function manifest(ref: string): Promise<{ digest: string; body: { manifests?: Desc[]; config?: Desc; layers?: Desc[] } }> {
  const res = await fetch(`http://${AUTH_REGISTRY}/v2/${REPO}/manifests/${ref}`, { headers: { Accept: ACCEPT, Authorization: basic } })
  if (res.status !== 200) throw new Error(`the registry answered ${res.status} for ${REPO}:${ref}`)
  return { digest: res.headers.get('docker-content-digest') ?? '', body: (await res.json()) as { manifests?: Desc[]; config?: Desc; layers?: Desc[] } }
}

const settings = (over: Partial<ReportSettings> = {}): ReportSettings => ({
  baselineImage: REF,
  maxSize: {},
  maxIncrease: {},
  comment: false,
  githubToken: '',
  builder: '',
  tempDir: os.tmpdir(),
  platforms: ['linux/amd64', 'linux/arm64'],
  runner: { eventName: 'pull_request', ref: 'refs/pull/1/merge', baseRef: 'main', runId: '1', runAttempt: '1', sha: 'abc', serverUrl: '', repository: '', actionsCache: false },
  ...over
})

/** `fn` with DOCKER_CONFIG set to `config`, as a step after docker/login-action has it (run() passes this process's env). */
async function withDockerConfig<T>(config: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.DOCKER_CONFIG
  process.env.DOCKER_CONFIG = config
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.DOCKER_CONFIG
    else process.env.DOCKER_CONFIG = saved
  }
}

/** The size report's baseline read under `config`, with what it logged (warnings are ::warning:: lines on stdout). */
async function reportWith(config: string, over: Partial<ReportSettings>, sizes: SizeSet): Promise<{ report: Awaited<ReturnType<typeof sizeReport>>; markdown: string; log: string }> {
  const current: Images = { baseImage: '', rows: Object.entries(sizes).map(([platform, e]) => ({ platform, digest: '', compressed: e.compressed })) }
  const log: string[] = []
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    log.push(String(chunk))
    return true
  })
  try {
    const report = await withDockerConfig(config, () => sizeReport(settings(over), 'samples/TodoApi', current))
    return { report, markdown: commentMarkdown('samples/TodoApi', report.parts, ''), log: log.join('') }
  } finally {
    spy.mockRestore()
  }
}

let loggedIn = ''
let anonymous = ''
let wrongPassword = ''
let pushed: SizeSet = {}
const manifestDigests: string[] = []
/** The platform manifests by platform: each one is a single-manifest image of its own. */
const platformDigests: Record<string, string> = {}

beforeAll(async () => {
  loggedIn = dockerConfig('login')
  anonymous = dockerConfig('anonymous')
  // A login whose password the registry no longer takes (docker login itself would refuse it).
  wrongPassword = dockerConfig('wrong')
  fs.writeFileSync(path.join(wrongPassword, 'config.json'), JSON.stringify({ auths: { [AUTH_REGISTRY]: { auth: Buffer.from(`${user}:not-the-password`).toString('base64') } } }), { mode: 0o600 })
  // --password-stdin: the password is on no command line.
  docker(['login', AUTH_REGISTRY, '--username', user, '--password-stdin'], loggedIn, password)
  docker(['image', 'inspect', SOURCE], loggedIn)
  docker(['tag', SOURCE, REF], loggedIn)
  try {
    docker(['push', '--quiet', REF], loggedIn)
  } finally {
    docker(['rmi', REF], loggedIn)
  }
  const index = await manifest('main')
  manifestDigests.push(index.digest)
  for (const m of index.body.manifests ?? []) {
    manifestDigests.push(m.digest)
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || m.platform?.os === 'unknown') continue
    const { body } = await manifest(m.digest)
    platformDigests[`${m.platform?.os}/${m.platform?.architecture}`] = m.digest
    pushed[`${m.platform?.os}/${m.platform?.architecture}`] = { compressed: (body.config?.size ?? 0) + (body.layers ?? []).reduce((s, l) => s + l.size, 0) }
  }
  console.log(`pushed ${REF} (index ${index.digest}): ${JSON.stringify(pushed)}`)
})

afterAll(async () => {
  // The index first (its tag goes with it), then the platform manifests it listed.
  for (const digest of manifestDigests) {
    const res = await fetch(`http://${AUTH_REGISTRY}/v2/${REPO}/manifests/${digest}`, { method: 'DELETE', headers: { Authorization: basic } })
    if (res.status !== 202 && res.status !== 404) console.log(`could not delete ${REPO}@${digest}: ${res.status}`)
  }
  for (const dir of [loggedIn, anonymous, wrongPassword]) if (dir !== '') fs.rmSync(dir, { recursive: true, force: true })
  pushed = {}
})

describe('a baseline image on a registry that needs a login', () => {
  test('the pushed image has two platforms', () => {
    expect(Object.keys(pushed).sort()).toEqual(['linux/amd64', 'linux/arm64'])
  })

  test('logged in (docker login into the docker config): the baseline sizes are the pushed image\'s', async () => {
    const current: SizeSet = { 'linux/amd64': { compressed: 1 }, 'linux/arm64': { compressed: 1 } }
    const { report, log } = await reportWith(loggedIn, {}, current)
    console.log(`logged in: baseline ${JSON.stringify(Object.fromEntries(report.json.rows.map((r) => [r.platform, r.baseline])))}, source ${report.json.baselineSource}; warnings: ${log.includes('::warning::') ? log : 'none'}`)
    expect(log).not.toContain('::warning::')
    expect(report.json.hasBaseline).toBe(true)
    expect(report.json.baselineSource).toBe(`registry image \`${REF}\``)
    for (const r of report.json.rows) expect(r.baseline).toBe(pushed[r.platform]?.compressed)
    const read = await withDockerConfig(loggedIn, () => registrySizes(REF))
    expect(Object.fromEntries(Object.entries(read).map(([p, e]) => [p, { compressed: e.compressed }]))).toEqual(pushed)
  })

  test('logged in: one platform\'s manifest by digest, a single-manifest image, takes its platform from its config', async () => {
    const digest = platformDigests['linux/arm64'] ?? ''
    const sizes = await withDockerConfig(loggedIn, () => registrySizes(`${AUTH_REGISTRY}/${REPO}@${digest}`))
    console.log(`logged in, by digest ${digest}: ${JSON.stringify(sizes)}`)
    expect(Object.keys(sizes)).toEqual(['linux/arm64'])
    expect(sizes['linux/arm64']?.compressed).toBe(pushed['linux/arm64']?.compressed)
  })

  test('not logged in: a warning that names the registry and docker/login-action, and no baseline', async () => {
    const { report, markdown, log } = await reportWith(anonymous, {}, pushed)
    const warning = log.split('\n').find((l) => l.startsWith('::warning::')) ?? ''
    console.log(`not logged in: ${warning}\nreport: ${markdown.split('\n').find((l) => l.startsWith('No baseline')) ?? ''}`)
    expect(warning).toContain(`::warning::Baseline image ${REF} could not be read: the registry ${AUTH_REGISTRY} refused access (`)
    expect(warning).toContain(`Log in to ${AUTH_REGISTRY} before this step with docker/login-action`)
    expect(report.json.hasBaseline).toBe(false)
    expect(markdown).toContain(`No baseline found (the registry ${AUTH_REGISTRY} refused access to the baseline image \`${REF}\``)
    // The password never reaches the log.
    expect(log).not.toContain(password)
  })

  test('a wrong password: refused as well, with the registry\'s 401 in the warning', async () => {
    const { report, log } = await reportWith(wrongPassword, {}, pushed)
    const warning = log.split('\n').find((l) => l.startsWith('::warning::')) ?? ''
    console.log(`wrong password: ${warning}`)
    expect(warning).toMatch(new RegExp(`the registry ${AUTH_REGISTRY.replace(/[.]/g, '\\.')} refused access \\(.*401 Unauthorized\\)`))
    expect(warning).toContain('docker/login-action')
    expect(report.json.hasBaseline).toBe(false)
  })

  test('logged in, but no such tag: no baseline, and no warning', async () => {
    const missing = `${AUTH_REGISTRY}/${REPO}:no-such-tag`
    const { report, markdown, log } = await reportWith(loggedIn, { baselineImage: missing }, pushed)
    expect(log).not.toContain('::warning::')
    expect(report.json.hasBaseline).toBe(false)
    expect(markdown).toContain(`No baseline found (the image \`${missing}\` was not found in its registry)`)
  })
})
