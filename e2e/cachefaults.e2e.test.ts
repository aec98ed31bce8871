// GitHub's cache service refuses writes, and a refused write must not fail a build. Each of the
// service's faults is switched on in the stand-in (scripts/cache-service/server.mjs, POST
// /_stand-in/faults, limited to this run's cache scopes) around one real build of the shop
// fixture's API (one platform, pushed to the local registry): the build succeeds, the image is
// pushed, one warning says what was not saved and why, what was saved before is intact, and the
// next run is correct. The builder is shared and never emptied, so its steps may be CACHED
// locally; what the cache service holds and serves is asserted on the service itself.
//
// AOT_CACHE_STATE names the stand-in (default: the one scripts/e2e-setup.sh starts); a second
// instance with its own state and ports serves as well (see scripts/cache-service.sh).
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import { jest } from '@jest/globals'
import { makeFixtureWorkspace, REGISTRY, REPO, registryJson, runAction, WORK, type ActionRun } from './harness.js'

const RUN = `cf${Date.now().toString(36)}`
const MAIN = `trunk-${RUN}`
const STATE = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
const PROJECT = 'src/Shop.Api'
const IMAGE = 'aot-e2e/cachefaults'

interface Entry {
  id: number
  key: string
  scope: string
  finalized: boolean
  size: number
}
interface Call {
  method: string
  key?: string
  scope?: string
  scopes?: string[]
  result: string
  matchedScope?: string
  reason?: string
}

function serviceEnv(): Record<string, string> {
  const file = path.join(STATE, 'service.env')
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: scripts/cache-service.sh up (run by scripts/e2e-setup.sh) starts the cache service stand-in`)
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
}
const service = (p: string): string => `${serviceEnv().ACTIONS_RESULTS_URL ?? ''}${p}`

function token(...scopes: string[]): string {
  return execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', ...scopes], { encoding: 'utf8', env: { ...process.env, AOT_CACHE_STATE: STATE } }).trim()
}

/**
 * One HTTP request on a connection of its own. The builds run synchronously (execFileSync), which
 * stops the event loop for minutes: fetch's pooled keep-alive socket is then closed by the server
 * without fetch having noticed, and the next call fails with EPIPE.
 */
function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; json: () => unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) as unknown })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

async function entries(scope: string): Promise<Entry[]> {
  return ((await request(service('_stand-in/entries'))).json() as Entry[]).filter((e) => e.scope === scope && e.finalized)
}

/** Switches a fault on for the scopes starting with `scope`; returns a function that switches it off. */
async function fault(body: Record<string, unknown>): Promise<() => Promise<void>> {
  const res = await request(service('_stand-in/faults'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`the stand-in refused the fault ${JSON.stringify(body)}: ${res.status} ${res.text}`)
  const { id } = res.json() as { id: number }
  return async () => {
    await request(service(`_stand-in/faults?id=${id}`), { method: 'DELETE' })
  }
}

/** The stand-in's request log; it is written from the first request on, so absent means none yet. */
const requestLines = (): string[] => {
  const file = path.join(STATE, 'requests.jsonl')
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []
}
const callCount = (): number => requestLines().filter((l) => l !== '').length
function callsSince(from: number): Call[] {
  return requestLines()
    .filter((l) => l !== '')
    .slice(from)
    .map((l) => JSON.parse(l) as Call)
}

/** The workflow's warnings about caches (what was not saved or read). */
function cacheWarnings(run: ActionRun): string[] {
  return run.stdout.split('\n').filter((l) => /^::warning::.*(not saved|not read)/.test(l))
}

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
}

let n = 0
/** One build of the API, pushed under a tag of its own, as a runner runs it for `event` with a token of these scopes. */
function build(ws: string, event: 'push' | 'pull_request_target', ref: string, scopes: string[], inputs: Record<string, string> = {}): { run: ActionRun; calls: Call[]; tag: string } {
  n += 1
  const eventFile = path.join(WORK, `${RUN}-event-${n}.json`)
  const repository = { full_name: 'octo/shop', default_branch: MAIN, private: false }
  fs.writeFileSync(eventFile, JSON.stringify(event === 'push' ? { repository } : { repository, number: 7, pull_request: { number: 7, head: { sha: '7'.repeat(40) } } }))
  const tag = `${RUN}-${n}`
  const from = callCount()
  const run = runAction(
    ws,
    // The image's cache under faults: the SBOM's facts scope (a second index) stays out of these counts; warmci covers it.
    { project: PROJECT, platforms: 'linux/amd64', 'smoke-test': 'false', push: 'true', tags: `${REGISTRY}/${IMAGE}:${tag}`, 'dotnet-sbom': 'false', ...inputs },
    {
      env: {
        ...serviceEnv(),
        GITHUB_EVENT_PATH: eventFile,
        GITHUB_EVENT_NAME: event,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'octo/shop',
        GITHUB_RUN_ID: `${Date.now()}`,
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_JOB: 'image',
        GITHUB_SHA: `${n}`.repeat(40).slice(0, 40),
        GITHUB_REF: `refs/heads/${ref}`,
        ...(event === 'pull_request_target' ? { GITHUB_BASE_REF: MAIN } : {}),
        ACTIONS_RUNTIME_TOKEN: token(...scopes)
      }
    }
  )
  must(run, `build ${n} (${event} on ${ref})`)
  console.log(`cache faults build ${n} (${event} on ${ref}, ${scopes.join(' ')}): ${run.seconds.toFixed(1)} s; cache warnings: ${JSON.stringify(cacheWarnings(run))}`)
  return { run, calls: callsSince(from), tag }
}

const pushed = async (tag: string): Promise<string> => (await registryJson(IMAGE, tag)).digest
const byId = (es: Entry[]): Record<number, string> => Object.fromEntries(es.map((e) => [e.id, `${e.key} ${e.size}`]))

/** The newest index of the scope, downloaded, and the blob keys it names. */
async function indexBlobs(scope: string): Promise<string[]> {
  const index = (await entries(scope)).filter((e) => e.key.startsWith('index-')).sort((a, b) => b.id - a.id)[0]
  if (index === undefined) throw new Error(`no cache index in ${scope}`)
  const res = await request(service('twirp/github.actions.results.api.v1.CacheService/GetCacheEntryDownloadURL'), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token(`${scope}:r`)}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ key: index.key, restore_keys: [], version: VERSION })
  })
  const { signed_download_url: url } = res.json() as { signed_download_url: string }
  const config = (await request(url)).json() as { layers: { blob: string }[] }
  return config.layers.map((l) => `buildkit-blob-1-${l.blob}`)
}
/** go-actions-cache's version of every key (a constant: sha256 of "|go-actionscache-1.0"). */
const VERSION = '693bb7016429d80366022f036f84856888c9f13e00145f5f6f4dce303a38d6f2'

describe("GitHub's cache service refuses writes; the builds succeed", () => {
  const scope = `refs/heads/${MAIN}`
  let ws = ''
  let saved: Entry[] = []

  beforeAll(async () => {
    ws = makeFixtureWorkspace(RUN, 'shop')
    const first = build(ws, 'push', MAIN, [scope])
    expect(cacheWarnings(first.run)).toEqual([])
    expect(first.run.stdout).toMatch(/--cache-to type=gha,scope=\S+,ignore-error=true,timeout=2m /)
    saved = await entries(scope)
    expect(saved.filter((e) => e.key.startsWith('index-')).length).toBe(1)
    // cache-mode min (the default): the image's layers, not the intermediate stages.
    expect(saved.filter((e) => e.key.startsWith('buildkit-blob-')).length).toBeGreaterThanOrEqual(2)
    console.log(`saved by the first build: ${saved.length} entries, ${saved.reduce((s, e) => s + e.size, 0)} bytes`)
  })

  test('a pull_request_target run (GitHub gives it a read-only token): the cache is read, nothing is written, no warning', async () => {
    const { run, calls, tag } = build(ws, 'pull_request_target', MAIN, [`${scope}:r`])
    expect(await pushed(tag)).toMatch(/^sha256:/)
    expect(run.stdout).toMatch(/--cache-from type=gha,/)
    expect(run.stdout).not.toContain('--cache-to')
    // Untrusted events never write the gha cache, whatever their token: a line says so, not a warning.
    expect(cacheWarnings(run)).toEqual([])
    expect(run.stdout).toMatch(/^A pull_request_target run may build a pull request's code: the gha cache is read, not written/m)
    expect(calls.filter((c) => c.method === 'CreateCacheEntry')).toEqual([])
    expect(calls.some((c) => c.method === 'GetCacheEntryDownloadURL' && c.key?.startsWith('index-') === true && c.result === 'hit')).toBe(true)
    expect(byId(await entries(scope))).toEqual(byId(saved))
  })

  test('a read-only token on a push run: the cache is read, nothing is written, one warning', async () => {
    const { run, calls, tag } = build(ws, 'push', MAIN, [`${scope}:r`])
    expect(await pushed(tag)).toMatch(/^sha256:/)
    expect(run.stdout).toMatch(/--cache-from type=gha,/)
    expect(run.stdout).not.toContain('--cache-to')
    // One warning for each thing not saved: the build cache, and the sizes the service refused.
    expect(cacheWarnings(run)).toEqual([
      expect.stringMatching(/^::warning::The build cache is read but not saved: this run's cache token can only read .*push run/),
      expect.stringMatching(/^::warning::The image sizes were not saved to the Actions cache .*cache token can only read/)
    ])
    expect(calls.filter((c) => c.method === 'CreateCacheEntry' && c.result === 'created')).toEqual([])
    expect(byId(await entries(scope))).toEqual(byId(saved))
  })

  test('429 past the uploads a minute: the build succeeds after BuildKit gives up, one warning; the next run saves', async () => {
    // A feature branch, as GitHub scopes it: its own ref to write, the default branch to read.
    const branch = `feature-${RUN}`
    const off = await fault({ scope: `refs/heads/${branch}`, rateLimit: { creates: 0, windowSeconds: 3600, retryAfter: 60 } })
    let limited
    try {
      limited = build(ws, 'push', branch, [`refs/heads/${branch}`, `${scope}:r`])
    } finally {
      await off()
    }
    expect(await pushed(limited.tag)).toMatch(/^sha256:/)
    expect(cacheWarnings(limited.run)).toEqual([
      expect.stringMatching(/^::warning::The build cache was not saved to GitHub Actions Cache: the cache service refused the uploads with 429 Too Many Requests .*\(BuildKit: .*resource_exhausted\)/)
    ])
    expect(limited.calls.filter((c) => c.method === 'CreateCacheEntry').map((c) => c.result)).toContain('rate_limited')
    expect(await entries(`refs/heads/${branch}`)).toEqual([])
    expect(byId(await entries(scope))).toEqual(byId(saved))
    // The next run: no fault, the branch's index saved, naming only blobs the service holds.
    const next = build(ws, 'push', branch, [`refs/heads/${branch}`, `${scope}:r`])
    expect(cacheWarnings(next.run)).toEqual([])
    const held = new Set([...(await entries(`refs/heads/${branch}`)), ...(await entries(scope))].map((e) => e.key))
    const named = await indexBlobs(`refs/heads/${branch}`)
    expect(named.filter((k) => !held.has(k))).toEqual([])
  })

  test('an entry evicted between lookup and download (the index): the build reads no cache, says so once, and saves a fresh index', async () => {
    const off = await fault({ scope, evict: { when: 'download', keyPrefix: 'index-', count: 1 } })
    let evicted
    try {
      evicted = build(ws, 'push', MAIN, [scope])
    } finally {
      await off()
    }
    expect(await pushed(evicted.tag)).toMatch(/^sha256:/)
    expect(cacheWarnings(evicted.run)).toEqual([
      expect.stringMatching(/^::warning::The build cache was not read from gha:\d+: an entry was evicted between its lookup and its download .*\(BuildKit: GET \S+ \(BlobNotFound\)\)/)
    ])
    expect(evicted.calls.filter((c) => c.method === 'evict').map((c) => c.key)).toEqual([expect.stringMatching(/^index-/)])
    const now = await entries(scope)
    // Every blob saved before is still there, unchanged; a new index replaces the evicted one.
    const blobs = (es: Entry[]): Record<number, string> => byId(es.filter((e) => e.key.startsWith('buildkit-blob-')))
    expect(blobs(now)).toEqual(blobs(saved))
    expect(now.filter((e) => e.key.startsWith('index-')).length).toBe(1)
    // The next run reads that index: no warning, no import error, nothing uploaded again.
    const next = build(ws, 'push', MAIN, [scope])
    expect(cacheWarnings(next.run)).toEqual([])
    expect(next.calls.some((c) => c.method === 'GetCacheEntryDownloadURL' && c.key?.startsWith('index-') === true && c.result === 'hit')).toBe(true)
    expect(next.calls.filter((c) => c.method === 'CreateCacheEntry' && c.key?.startsWith('buildkit-blob-') === true)).toEqual([])
    saved = await entries(scope)
  })

  test('an entry evicted while the export writes it (not_found): one warning; the next run saves', async () => {
    const branch = `race-${RUN}`
    const off = await fault({ scope: `refs/heads/${branch}`, evict: { when: 'finalize', keyPrefix: 'index-', count: 1 } })
    let raced
    try {
      raced = build(ws, 'push', branch, [`refs/heads/${branch}`, `${scope}:r`])
    } finally {
      await off()
    }
    expect(await pushed(raced.tag)).toMatch(/^sha256:/)
    expect(cacheWarnings(raced.run)).toEqual([expect.stringMatching(/^::warning::The build cache was not saved to GitHub Actions Cache: an entry was evicted while BuildKit wrote it .*not_found/)])
    expect(await entries(`refs/heads/${branch}`)).toEqual([])
    const next = build(ws, 'push', branch, [`refs/heads/${branch}`, `${scope}:r`])
    expect(cacheWarnings(next.run)).toEqual([])
    expect((await entries(`refs/heads/${branch}`)).filter((e) => e.key.startsWith('index-')).length).toBe(1)
  })

  test('a byte budget with least-recently-used eviction: the build succeeds; the newest index survives; the next run restores what was evicted', async () => {
    // The budget is what the scope holds now, to the byte: whatever this build writes (at least
    // BuildKit's new index) evicts the least recently used entries, however much the builder
    // already held. The NuGet packages stay out of this build: a kept set larger than the room
    // left would evict everything, itself included (it did once, with half the bytes as budget).
    const bytes = (await entries(scope)).reduce((s, e) => s + e.size, 0)
    const off = await fault({ scope, budget: { bytes } })
    let squeezed
    try {
      squeezed = build(ws, 'push', MAIN, [scope], { 'nuget-cache': 'false' })
      const left = await entries(scope)
      expect(left.reduce((s, e) => s + e.size, 0)).toBeLessThanOrEqual(bytes)
      // GitHub's eviction is silent: nothing in the build failed, so nothing is warned.
      expect(cacheWarnings(squeezed.run)).toEqual([])
      expect(squeezed.calls.filter((c) => c.method === 'evict' && c.reason === 'budget').length).toBeGreaterThan(0)
      // The index this build wrote is the most recently used entry but one (the sizes): it stays.
      const written = squeezed.calls.filter((c) => c.method === 'CreateCacheEntry' && c.result === 'created' && c.key?.startsWith('index-') === true).map((c) => c.key)
      expect(written).toHaveLength(1)
      expect(left.map((e) => e.key)).toContain(written[0])
    } finally {
      await off()
    }
    expect(await pushed(squeezed.tag)).toMatch(/^sha256:/)
    // Budget lifted: the next run uploads again what the index names and the service lost.
    const next = build(ws, 'push', MAIN, [scope])
    expect(cacheWarnings(next.run)).toEqual([])
    const held = new Set((await entries(scope)).map((e) => e.key))
    expect((await indexBlobs(scope)).filter((k) => !held.has(k))).toEqual([])
  })
})

describe('@actions/cache against the faults: one warning each, never a failure', () => {
  const saved = { ...process.env }
  const dir = path.join(WORK, `${RUN}-protocol`)
  const branch = `refs/heads/protocol-${RUN}`
  let out: string[] = []
  let restore: () => void = () => undefined

  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'temp'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'data.txt'), RUN)
    Object.assign(process.env, serviceEnv(), { GITHUB_WORKSPACE: dir, RUNNER_TEMP: path.join(dir, 'temp'), GITHUB_SERVER_URL: 'https://github.com' })
  })
  afterAll(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) Reflect.deleteProperty(process.env, k)
    Object.assign(process.env, saved)
  })
  beforeEach(() => {
    out = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk))
      return true
    })
    restore = () => {
      spy.mockRestore()
    }
  })
  afterEach(() => {
    restore()
  })
  const warnings = (): string[] => out.join('').split('\n').filter((l) => l.startsWith('::warning'))
  const save = async (key: string, tok: string): Promise<boolean> => {
    const { saveToActionsCache } = await import('../src/action/actionscache.js')
    return saveToActionsCache([path.join(dir, 'data.txt')], key, 'The data were', 'Nothing else.', tok)
  }

  test('429 with Retry-After (the real library: a warning of its own and an info line) is one warning', async () => {
    const off = await fault({ scope: branch, rateLimit: { creates: 0, windowSeconds: 3600, retryAfter: 60 } })
    try {
      process.env.ACTIONS_RUNTIME_TOKEN = token(branch)
      expect(await save(`k429-${RUN}`, process.env.ACTIONS_RUNTIME_TOKEN)).toBe(false)
    } finally {
      await off()
    }
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::The data were not saved .*429 Too Many Requests .*it named 60 s to wait/)])
  })

  test("the service's read-only answer (a token whose claim the action cannot read) is one warning", async () => {
    process.env.ACTIONS_RUNTIME_TOKEN = token(`${branch}:r`)
    expect(await save(`kro-${RUN}`, '')).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/^::warning::The data were not saved .*cache token can only read/)])
  })

  test('a key saved before (ReserveCacheError) is one warning; the entry stays as it was', async () => {
    process.env.ACTIONS_RUNTIME_TOKEN = token(branch)
    expect(await save(`kdup-${RUN}`, process.env.ACTIONS_RUNTIME_TOKEN)).toBe(true)
    const before = await entries(branch)
    expect(await save(`kdup-${RUN}`, process.env.ACTIONS_RUNTIME_TOKEN)).toBe(false)
    expect(warnings()).toEqual([expect.stringMatching(/exists already/)])
    expect(byId(await entries(branch))).toEqual(byId(before))
    expect(await cache.restoreCache([path.join(dir, 'data.txt')], `kdup-${RUN}`)).toBe(`kdup-${RUN}`)
  })
})
