// Warm CI as a GitHub runner sees it, on the realistic shop fixture: the action's default
// `cache: auto` with the Actions cache service (scripts/cache-service.sh: the service's Twirp
// methods in front of Azurite's blob storage, started by e2e-setup), so BuildKit's `type=gha`
// cache and @actions/cache (NuGet packages, size baselines) go through GitHub's protocol.
//
// Run 1 (push to the default branch) starts on an empty builder and saves everything; then the
// builder is emptied completely, as every fresh runner's is; run 2 (nothing changed) and run 3
// (a pull request with a one-line change) get everything back from the service alone.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as cache from '@actions/cache'
import { docker, editFile, makeFixtureWorkspace, REPO, runAction, stepCacheState, WORK, type ActionRun } from './harness.js'

const RUN = Date.now().toString(36)
/** A default branch of this run's own: the service keeps entries between test runs, by scope. */
const BRANCH = `trunk-${RUN}`
const PR = String(Date.now() % 1_000_000)
const STATE = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
const PROJECT = 'src/Shop.Api'

interface Entry {
  key: string
  scope: string
  finalized: boolean
  size: number
}
interface Call {
  method: string
  key?: string
  scopes?: string[]
  result: string
  matchedKey?: string
  matchedScope?: string
}

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
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

function token(...scopes: string[]): string {
  return execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', ...scopes], { encoding: 'utf8' }).trim()
}

async function entries(): Promise<Entry[]> {
  const url = `${serviceEnv().ACTIONS_RESULTS_URL ?? ''}_stand-in/entries`
  return (await (await fetch(url)).json()) as Entry[]
}

/** The service's calls since `from` (a line count of its request log). */
function callsSince(from: number): Call[] {
  return fs
    .readFileSync(path.join(STATE, 'requests.jsonl'), 'utf8')
    .split('\n')
    .slice(from)
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Call)
}
const callCount = (): number => fs.readFileSync(path.join(STATE, 'requests.jsonl'), 'utf8').split('\n').filter((l) => l !== '').length

/** The runner's environment for a push to the default branch, or for a pull request into it. */
function runnerEnv(kind: 'push' | 'pull_request', n: number): Record<string, string> {
  const event = path.join(WORK, `warmci-${RUN}-event-${n}.json`)
  const repository = { full_name: 'octo/shop', default_branch: BRANCH, private: false }
  const sha = `${n}`.repeat(40).slice(0, 40)
  fs.writeFileSync(event, JSON.stringify(kind === 'push' ? { repository } : { repository, number: Number(PR), pull_request: { number: Number(PR), head: { sha } } }))
  const common = {
    ...serviceEnv(),
    GITHUB_EVENT_PATH: event,
    GITHUB_EVENT_NAME: kind,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'octo/shop',
    GITHUB_RUN_ID: `${Date.now()}`,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'image',
    GITHUB_SHA: sha
  }
  return kind === 'push'
    ? { ...common, GITHUB_REF: `refs/heads/${BRANCH}`, ACTIONS_RUNTIME_TOKEN: token(`refs/heads/${BRANCH}`) }
    : // As GitHub scopes a pull request's token: its merge ref to write, the base branch to read.
      { ...common, GITHUB_REF: `refs/pull/${PR}/merge`, GITHUB_BASE_REF: BRANCH, ACTIONS_RUNTIME_TOKEN: token(`refs/pull/${PR}/merge:rw`, `refs/heads/${BRANCH}:r`) }
}

/** A fresh runner's builder: no layers, no cache mounts, nothing built from the project. */
function emptyBuilder(): void {
  docker(['buildx', 'prune', '--all', '--force'])
  const left = docker(['buildx', 'du']).toString()
  expect(left).not.toMatch(/^[a-z0-9]{20,}/m)
}

/** restore, publish and the app's COPY: CACHED or ran, per step. */
function states(run: ActionRun): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, re] of [
    ['restore', /^RUN .*dotnet restore/],
    ['publish', /^RUN .*aot-publish/],
    ['app', /^COPY --link --from=publish/]
  ] as const) {
    const s = stepCacheState(run.stdout, re)
    out[name] = s.length === 0 ? 'absent' : s.every((c) => c) ? 'CACHED' : 'ran'
  }
  return out
}

describe('the cache service stand-in speaks the protocol @actions/cache speaks to GitHub', () => {
  const dir = path.join(WORK, `warmci-${RUN}-protocol`)
  const saved = { ...process.env }
  const key = `protocol-${RUN}`

  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'temp'), { recursive: true })
    Object.assign(process.env, serviceEnv(), { GITHUB_WORKSPACE: dir, RUNNER_TEMP: path.join(dir, 'temp'), GITHUB_SERVER_URL: 'https://github.com' })
  })
  afterAll(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) Reflect.deleteProperty(process.env, k)
    Object.assign(process.env, saved)
  })

  test('saved under the writable scope; a pull request reads it through the base branch; another branch does not; a second save is refused', async () => {
    const file = path.join(dir, 'data.txt')
    fs.writeFileSync(file, `contents ${RUN}`)
    process.env.ACTIONS_RUNTIME_TOKEN = token(`refs/heads/${BRANCH}`)
    expect(await cache.saveCache([file], key)).toBeGreaterThan(0)
    // GitHub answers 409 already_exists; @actions/cache logs it and returns -1.
    expect(await cache.saveCache([file], key)).toBe(-1)
    fs.rmSync(file)
    process.env.ACTIONS_RUNTIME_TOKEN = token(`refs/pull/${PR}/merge:rw`, `refs/heads/${BRANCH}:r`)
    expect(await cache.restoreCache([file], 'protocol-none', [`protocol-${RUN}`])).toBe(key)
    expect(fs.readFileSync(file, 'utf8')).toBe(`contents ${RUN}`)
    process.env.ACTIONS_RUNTIME_TOKEN = token(`refs/heads/other-${RUN}`)
    expect(await cache.restoreCache([file], key)).toBeUndefined()
  })

  test('a token that is not signed with its secret is refused (401)', async () => {
    const good = token(`refs/heads/${BRANCH}`)
    const [head = '', body = ''] = good.split('.')
    const res = await fetch(`${serviceEnv().ACTIONS_RESULTS_URL ?? ''}twirp/github.actions.results.api.v1.CacheService/GetCacheEntryDownloadURL`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${head}.${body}.${Buffer.from('forged').toString('base64url')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key, restore_keys: [], version: 'x' })
    })
    expect(res.status).toBe(401)
    expect(((await res.json()) as { code: string }).code).toBe('unauthenticated')
  })
})

describe('warm CI on fresh runners: type=gha and @actions/cache through the Actions cache service', () => {
  let ws = ''
  const runs: ActionRun[] = []
  const calls: Call[][] = []

  beforeAll(() => {
    ws = makeFixtureWorkspace(`warmci-${RUN}`, 'shop')
    editFile(path.join(ws, PROJECT, 'Program.cs'), /Revision = "api-0"/, `Revision = "api-0-${RUN}"`)
    // A fixed image time, as a checkout's commit time gives: the same images, the same digests.
    // Run 3 names another time: the same steps, new digests.
    for (const [n, kind, epoch] of [
      [1, 'push', '1700000000'],
      [2, 'push', '1700000000'],
      [3, 'push', '1700000100'],
      [4, 'pull_request', '1700000000']
    ] as const) {
      const inputs = { project: PROJECT, 'smoke-test': 'false', 'source-date-epoch': epoch }
      emptyBuilder()
      if (n === 4) editFile(path.join(ws, PROJECT, 'Program.cs'), /Revision = "api-0-[^"]+"/, `Revision = "api-1-${RUN}"`)
      const from = callCount()
      const run = runAction(ws, inputs, { env: runnerEnv(kind, n) })
      must(run, `run ${n}`)
      runs.push(run)
      if (process.env.AOT_E2E_DUMP) fs.writeFileSync(`/tmp/warmci-run${n}.log`, run.stdout)
      calls.push(callsSince(from))
      console.log(`warm CI run ${n} (${kind}, empty builder): ${run.seconds.toFixed(1)} s; steps ${JSON.stringify(states(run))}`)
    }
  })

  test('run 1 exports the gha cache through the docker driver and saves the NuGet packages and the sizes', async () => {
    const [first] = runs
    expect(first?.stdout).toContain('--cache-to type=gha,')
    expect(first?.stdout).toMatch(/^#\d+ exporting to GitHub Actions Cache$/m)
    // The containerd image store's docker driver exports the cache itself: no builder of ours.
    expect(first?.stdout).not.toContain('creating a docker-container builder')
    expect(states(first as ActionRun)).toEqual({ restore: 'ran', publish: 'ran', app: 'ran' })
    const mine = (await entries()).filter((e) => e.scope === `refs/heads/${BRANCH}` && e.finalized)
    expect(mine.filter((e) => e.key.startsWith('index-')).length).toBeGreaterThan(0)
    expect(mine.filter((e) => /^sha256:|^buildkit-blob-/.test(e.key)).length).toBeGreaterThan(3)
    // The app's own packages (Microsoft.Data.Sqlite, SQLitePCLRaw) and the SDK's packs (runtime,
    // ILCompiler: most of the bytes), two entries; the packs' one every app on the SDK image shares.
    const own = mine.filter((e) => e.key.startsWith('aot-buildx-nuget-'))
    const packs = mine.filter((e) => e.key.startsWith('aot-buildx-packs-'))
    expect(own).toHaveLength(1)
    expect(packs).toHaveLength(1)
    expect(own[0]?.size).toBeGreaterThan(1_000_000)
    expect(packs[0]?.size).toBeGreaterThan(5 * (own[0]?.size ?? 0))
    expect(mine.some((e) => e.key.startsWith('aot-buildx-sizes-'))).toBe(true)
    // The SBOM it attached, kept for the next run of the same images.
    expect(first?.stdout).toMatch(/^linux\/amd64: SPDX SBOM attached: \d+ NuGet packages?/m)
    expect((calls[0] ?? []).filter((c) => c.method === 'CreateCacheEntry' && c.key?.startsWith('aot-buildx-sbom-v1-')).map((c) => c.result)).toEqual(['created'])
  })

  test('run 2, nothing changed, on an empty builder: every step CACHED from the service, no package downloaded or loaded', () => {
    const second = runs[1] as ActionRun
    expect(states(second)).toEqual({ restore: 'CACHED', publish: 'CACHED', app: 'CACHED' })
    expect(second.stdout).toMatch(/^#\d+ importing cache manifest from gha:/m)
    // The package set exists under its exact key: looked up (one call, no download), never
    // needed by a step, so neither downloaded nor loaded, and not saved again.
    expect(second.stdout).toContain('; downloaded only if a step of the build needs the packages')
    expect(second.stdout).not.toContain('Download the kept NuGet packages')
    expect(second.stdout).not.toMatch(/^Loaded \d+ packages/m)
    expect(second.stdout).not.toMatch(/^#\d+ [\d.]+ aot-buildx: this step needs the kept NuGet packages/m)
    const nuget = (calls[1] ?? []).filter((c) => c.method === 'GetCacheEntryDownloadURL' && /^aot-buildx-(nuget|packs)-/.test(c.key ?? ''))
    expect(nuget.map((c) => [c.key?.slice(0, 17), c.result])).toEqual([
      ['aot-buildx-nuget-', 'hit'],
      ['aot-buildx-packs-', 'hit']
    ])
    expect((calls[1] ?? []).filter((c) => c.method === 'CreateCacheEntry' && /^aot-buildx-(nuget|packs)-/.test(c.key ?? ''))).toEqual([])
    // The same images as run 1's: its SBOM is attached as it kept it, and no facts are built.
    expect(second.stdout).toMatch(/^linux\/amd64: SPDX SBOM attached \(kept by an earlier run of this image\): \d+ NuGet packages?, \d+ runtime packs?/m)
    expect(second.stdout).not.toContain('dotnet-sbom:')
    const sbom = (calls[1] ?? []).filter((c) => /^(GetCacheEntryDownloadURL|CreateCacheEntry)$/.test(c.method) && c.key?.startsWith('aot-buildx-sbom-'))
    expect(sbom.map((c) => [c.method, c.result])).toEqual([['GetCacheEntryDownloadURL', 'hit']])
  })

  test("run 3, nothing changed but the image time, on an empty builder: new digests, so the SBOM is made again, its facts from their own gha scope (no restore runs again), and kept", () => {
    const third = runs[2] as ActionRun
    // The app's COPY may run again under the new time (a copy of one binary); restore and publish do not.
    expect(states(third)).toMatchObject({ restore: 'CACHED', publish: 'CACHED' })
    expect(third.stdout).toMatch(/^linux\/amd64: SPDX SBOM attached: \d+ NuGet packages?, \d+ runtime packs?/m)
    expect(third.stdout).not.toContain('dotnet-sbom:')
    const sbom = (calls[2] ?? []).filter((c) => /^(GetCacheEntryDownloadURL|CreateCacheEntry)$/.test(c.method) && c.key?.startsWith('aot-buildx-sbom-'))
    expect(sbom.map((c) => [c.method, c.result])).toEqual([
      ['GetCacheEntryDownloadURL', 'miss'],
      ['CreateCacheEntry', 'created']
    ])
    expect(third.outputs.digest).not.toBe(runs[0]?.outputs.digest)
  })

  test("run 4, a one-line change in a pull request: restore runs again in the pull request's own package cache mount, loaded with the SDK's packs the default branch kept (public), never with its packages (they may be private); the sizes compare with the default branch", () => {
    const third = runs[3] as ActionRun
    expect(states(third)).toEqual({ restore: 'ran', publish: 'ran', app: 'ran' })
    expect(third.stdout).toMatch(/^#\d+ \[[^\]]*\] RUN --mount=type=cache,id=aot-buildx-nuget-untrusted-pull-request-pr-\d+,/m)
    // A pull request looks up only the app sets pull requests kept: the default branch's is never
    // fetched, loaded or asked for, so the restore downloads the app's packages from the feed.
    // The SDK's packs it finds under its own prefix first, then under the trusted runs'.
    expect(third.stdout).toMatch(/^#\d+ [\d.]+ aot-buildx: this step needs the kept NuGet packages/m)
    expect(third.stdout).toMatch(/^Loaded \d+ packages/m)
    const lookups = (calls[3] ?? []).filter((c) => c.method === 'GetCacheEntryDownloadURL')
    expect(lookups.filter((c) => c.key?.startsWith('aot-buildx-nuget-'))).toEqual([])
    const nuget = lookups.filter((c) => c.key?.startsWith('aot-buildx-pr-nuget-'))
    expect(nuget.map((c) => c.result)).toEqual(['miss'])
    const packs = lookups.filter((c) => /^aot-buildx-(pr-)?packs-/.test(c.key ?? ''))
    // Looked up (its own prefix, then the trusted runs'), then downloaded by the key found when
    // the restore step asked for the packs.
    expect(packs.map((c) => [c.key?.replace(/[0-9a-f]{16}-[0-9a-f]*$/, ''), c.result, c.matchedKey?.slice(0, 17), c.matchedScope])).toEqual([
      ['aot-buildx-pr-packs-', 'hit', 'aot-buildx-packs-', `refs/heads/${BRANCH}`],
      ['aot-buildx-packs-', 'hit', 'aot-buildx-packs-', `refs/heads/${BRANCH}`]
    ])
    // Whatever it keeps, it keeps under its own prefix, never one a trusted run restores; and
    // not the packs it found (the same packages).
    const creates = (calls[3] ?? []).filter((c) => c.method === 'CreateCacheEntry')
    expect(creates.filter((c) => /^aot-buildx-(nuget|packs|pr-packs)-/.test(c.key ?? ''))).toEqual([])
    expect(creates.filter((c) => c.key?.startsWith('aot-buildx-pr-nuget-'))).toHaveLength(1)
    // Nor an SBOM: a pull request's statements are never kept.
    expect(creates.filter((c) => c.key?.startsWith('aot-buildx-sbom-'))).toEqual([])
    const sizes = lookups.filter((c) => c.key?.startsWith('aot-buildx-sizes-'))
    expect(sizes.map((c) => [c.result, c.matchedScope, c.scopes])).toEqual([['hit', `refs/heads/${BRANCH}`, [`refs/pull/${PR}/merge`, `refs/heads/${BRANCH}`]]])
    expect(third.summary).toContain(`sizes cached from branch \`${BRANCH}\``)
    // A pull request compares; it does not save sizes for the branch.
    expect((calls[3] ?? []).filter((c) => c.method === 'CreateCacheEntry' && c.key?.startsWith('aot-buildx-sizes-'))).toEqual([])
  })
})
