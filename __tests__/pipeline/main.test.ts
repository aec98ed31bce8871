// run() in-process, from src (no bundle): @actions/core is mocked (inputs in, outputs, state,
// summary and failures recorded), and a fake `docker` first on PATH answers like the engine.
// The bundle's own wiring is proven by runner.test.ts, the real engine by the e2e suite.
import { jest } from '@jest/globals'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { FAKE_DOCKER, isEvaluation, makeLayout, REPO } from './fakes.js'

interface Recorded {
  inputs: Record<string, string>
  state: Record<string, string>
  outputs: Record<string, string>
  saved: Record<string, string>
  failed: string[]
  warnings: string[]
  infos: string[]
  secrets: string[]
  summary: string[]
}

const rec: Recorded = { inputs: {}, state: {}, outputs: {}, saved: {}, failed: [], warnings: [], infos: [], secrets: [], summary: [] }

const summary = {
  addRaw(text: string) {
    rec.summary.push(text)
    return summary
  },
  write: () => Promise.resolve(summary)
}

jest.unstable_mockModule('@actions/core', () => ({
  getInput: (name: string) => rec.inputs[name] ?? '',
  getState: (name: string) => rec.state[name] ?? '',
  saveState: (name: string, value: string) => {
    rec.saved[name] = value
  },
  setOutput: (name: string, value: string) => {
    rec.outputs[name] = value
  },
  setFailed: (message: string) => {
    rec.failed.push(message)
  },
  setSecret: (s: string) => {
    rec.secrets.push(s)
  },
  warning: (m: string) => {
    rec.warnings.push(m)
  },
  info: (m: string) => {
    rec.infos.push(m)
  },
  debug: () => undefined,
  group: async <T>(_name: string, fn: () => Promise<T>) => fn(),
  summary
}))

// The Actions cache, in memory: single files are kept by key (the smoke test's proofs, size
// baselines); anything else is only recorded. Available only where a test sets ACTIONS_RESULTS_URL.
const cacheStore = new Map<string, string>()
/** Every key a save was asked for, in order. */
const cacheSaves: string[] = []
jest.unstable_mockModule('@actions/cache', () => ({
  isFeatureAvailable: () => Boolean(process.env.ACTIONS_RESULTS_URL),
  restoreCache: (paths: string[], key: string) => {
    const text = cacheStore.get(key)
    const file = paths[0]
    if (text === undefined || file === undefined) return Promise.resolve(undefined)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, text)
    return Promise.resolve(key)
  },
  saveCache: (paths: string[], key: string) => {
    cacheSaves.push(key)
    const file = paths[0]
    cacheStore.set(key, file !== undefined && paths.length === 1 && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : '')
    return Promise.resolve(1)
  }
}))

const { run } = await import('../../src/main.js')

let root = ''
const savedEnv = { ...process.env }

// The "app" a smoke test asks (the fake docker publishes the container's port as this one).
const app = http.createServer((req, res) => {
  res.statusCode = req.url === '/broken' ? 500 : 200
  res.end('ok')
})
beforeAll(async () => {
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  await new Promise<void>((resolve) => app.close(() => { resolve(); }))
})

async function start(
  inputs: Record<string, string>,
  opts: { state?: Record<string, string>; env?: Record<string, string>; mode?: string; wrongArm?: boolean; prepare?: (workspace: string) => void; layout?: { dir: string; digest: string } } = {}
): Promise<{ calls: string[][]; workspace: string }> {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-main-'))
  const workspace = path.join(root, 'ws')
  const bin = path.join(root, 'bin')
  fs.mkdirSync(bin)
  fs.mkdirSync(path.join(root, 'temp'))
  fs.cpSync(path.join(REPO, 'samples', 'TodoApi'), path.join(workspace, 'TodoApi'), { recursive: true, filter: (s) => !/\/(bin|obj)(\/|$)/.test(s) })
  fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 })
  opts.prepare?.(workspace)
  // A layout of its own, or the one a test built once (the same images, to the byte, on every run).
  const layout = opts.layout?.dir ?? path.join(root, 'layout')
  const digest = opts.layout?.digest ?? (await makeLayout(layout, opts.wrongArm ?? false))
  for (const k of Object.keys(process.env)) if (/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k)) Reflect.deleteProperty(process.env, k)
  Object.assign(process.env, {
    PATH: `${bin}${path.delimiter}${savedEnv.PATH ?? ''}`,
    GITHUB_WORKSPACE: workspace,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_STEP_SUMMARY: path.join(root, 'summary'),
    RUNNER_TEMP: path.join(root, 'temp'),
    FAKE_LOG: path.join(root, 'calls.log'),
    FAKE_MODE: opts.mode ?? 'ok',
    // A crashed app answers nothing: a port nobody listens on.
    FAKE_APP_PORT: opts.mode === 'smoke-crash' ? '1' : String((app.address() as AddressInfo).port),
    FAKE_LAYOUT: layout,
    FAKE_INDEX_DIGEST: digest,
    ...opts.env
  })
  fs.writeFileSync(path.join(root, 'calls.log'), '')
  Object.assign(rec, { inputs, state: opts.state ?? {}, outputs: {}, saved: {}, failed: [], warnings: [], infos: [], secrets: [], summary: [] })
  await run()
  const calls = fs.readFileSync(path.join(root, 'calls.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[])
  return { calls, workspace }
}

afterEach(() => {
  process.env = { ...savedEnv }
  fs.rmSync(root, { recursive: true, force: true })
})

describe('run(): build', () => {
  test('a build sets every output, writes the summary, and runs buildx once with the plan', async () => {
    const { calls, workspace } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' })
    expect(rec.failed).toEqual([])
    expect(Object.keys(rec.outputs).sort()).toEqual(['digest', 'dockerfile', 'metadata', 'size-linux-amd64', 'size-linux-arm64', 'size-report', 'sizes', 'smoke', 'timings'])
    expect(rec.outputs.dockerfile).toBe(path.join(workspace, 'TodoApi', 'Dockerfile.aot'))
    const build = calls.filter((c) => c[0] === 'buildx' && c[1] === 'build')
    expect(build).toHaveLength(2)
    expect(build[0]).not.toContain('type=registry')
    // The SBOM's facts: the restore's assets file only, on the build platform, exported to a folder; nothing pushed, cached out or attested.
    expect(build[1]?.slice(0, 12)).toEqual(['buildx', 'build', '--builder', 'default', '--file', path.join(workspace, 'TodoApi', 'Dockerfile.aot'), '--progress', 'plain', '--target', 'aot-facts', '--provenance', 'false'])
    for (const flag of ['--platform', '--cache-to', '--tag', '--metadata-file', '--push', '--load']) expect(build[1]).not.toContain(flag)
    expect(build[1]?.at(-2)).toMatch(/^type=local,dest=.*\/facts$/)
    // Pushed once, from the layout, after the images passed their checks; the digest is the layout's root with the SBOM attached.
    const pushes = calls.filter((c) => c[0] === 'buildx' && c[1] === 'imagetools' && c[2] === 'create')
    expect(pushes).toHaveLength(1)
    expect(calls).toContainEqual(['served', 200, true])
    expect(rec.outputs.digest).toMatch(/^sha256:[a-f0-9]{64}$/)
    expect(rec.outputs.digest).not.toBe(process.env.FAKE_INDEX_DIGEST)
    expect(pushes[0]?.at(-1)).toMatch(new RegExp(`/layout@${String(rec.outputs.digest)}$`))
    expect(rec.infos).toContain('linux/amd64: SPDX SBOM attached: 1 NuGet package, 1 runtime pack, 0 project references, the base image by name (its digest is in no provenance: provenance: false)')
    // buildx's metadata output names the index pushed, as the digest output does.
    expect((JSON.parse(rec.outputs.metadata ?? '{}') as Record<string, unknown>)['containerimage.digest']).toBe(rec.outputs.digest)
    const text = rec.summary.join('\n')
    expect(text).toMatch(/^\| linux\/arm64 \| /m)
    // One table per image: the build's figures and the size report share it; no total row.
    expect(text.match(/^\| Platform \|/gm)).toHaveLength(1)
    expect(text).toMatch(/No baseline found/)
    expect(text).not.toMatch(/total/i)
    // The smoke run's token, for the post step's clean-up after a cancelled job.
    expect(rec.saved).toEqual({ isPost: 'true', smoke: expect.stringMatching(/^\d+-[a-z0-9]+$/) as unknown })
  })

  test('a facts build that fails leaves the images as built: a warning names the cause, and the index buildx wrote is pushed', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'facts-fail' })
    expect(rec.failed).toEqual([])
    expect(rec.warnings).toEqual([expect.stringMatching(/^dotnet-sbom: the images carry no SBOM of their \.NET packages: exporting what restore resolved failed: docker buildx build --target aot-facts failed \(exit 1\): .*restore: not found/)])
    expect(rec.outputs.digest).toBe(process.env.FAKE_INDEX_DIGEST)
    expect(calls.filter((c) => c[1] === 'imagetools' && c[2] === 'create').map((c) => c.at(-1))).toEqual([expect.stringMatching(new RegExp(`/layout@${String(process.env.FAKE_INDEX_DIGEST)}$`))])
  })

  test('dotnet-sbom: false builds no facts and attaches nothing', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true', 'dotnet-sbom': 'false' })
    expect(rec.failed).toEqual([])
    expect(calls.some((c) => c.includes('aot-facts'))).toBe(false)
    expect(rec.outputs.digest).toBe(process.env.FAKE_INDEX_DIGEST)
  })

  test('the smoke test starts each image from the layout, asks the app, measures it, and only then pushes', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' })
    expect(rec.failed).toEqual([])
    const smoke = JSON.parse(rec.outputs.smoke ?? '{}') as Record<string, { startupMs: number; ok: boolean; emulated: boolean }>
    expect(smoke['linux/amd64']).toMatchObject({ ok: true, emulated: false })
    expect(smoke['linux/amd64']?.startupMs).toBeGreaterThanOrEqual(0)
    const at = (pred: (c: string[]) => boolean): number => calls.findIndex(pred)
    const loaded = at((c) => c[0] === 'image' && c[1] === 'load')
    const pushed = at((c) => c[1] === 'imagetools' && c[2] === 'create')
    expect(loaded).toBeGreaterThan(0)
    expect(pushed).toBeGreaterThan(loaded)
    // Started confined: the image is the repository's code.
    const network = calls.find((x) => x[0] === 'network' && x[1] === 'create')?.at(-1)
    for (const c of calls.filter((x) => x[0] === 'container' && x[1] === 'run')) {
      expect(c.slice(2, 3)).toEqual(['--detach'])
      for (const flag of [['--cap-drop', 'ALL'], ['--security-opt', 'no-new-privileges'], ['--network', network], ['--pids-limit', '512'], ['--memory', '1000000000']]) {
        expect(c[c.indexOf(flag[0] as string) + 1]).toBe(flag[1])
      }
      expect(c.at(-2)).toBe('127.0.0.1::8080')
    }
    // The network is the run's own, and removed after the last container.
    expect(calls.findIndex((x) => x[0] === 'network' && x[1] === 'rm' && x[2] === network)).toBeGreaterThan(calls.findLastIndex((x) => x[0] === 'container' && x[1] === 'rm'))
    // What it created is removed again.
    expect(calls.filter((c) => c[1] === 'rm' && c.includes('--force')).length).toBeGreaterThanOrEqual(2)
    expect(rec.summary.join('\n')).toMatch(/\| Start-up \| Memory \|/)
  })

  test('the facts build runs while the images are inspected and ends before the smoke test starts a container', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { env: { FAKE_FACTS_DELAY_MS: '400' } })
    expect(rec.failed).toEqual([])
    const facts = calls.findIndex((c) => c[0] === 'facts')
    expect(facts).toBeGreaterThan(calls.findIndex((c) => c[0] === 'buildx' && c[1] === 'build'))
    expect(facts).toBeLessThan(calls.findIndex((c) => c[0] === 'image' && c[1] === 'load'))
    expect(calls.findIndex((c) => c[0] === 'container' && c[1] === 'run')).toBeGreaterThan(facts)
  })

  test.each([
    ['running', false],
    ['inactive', true]
  ])('the current builder, asked about while the project is read (Status: %s), is started first only when a node is not running', async (status, bootstrapped) => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi' }, { env: { FAKE_BUILDER_STATUS: status } })
    expect(rec.failed).toEqual([])
    const inspects = calls.filter((c) => c[0] === 'buildx' && c[1] === 'inspect')
    expect(inspects[0]).toEqual(['buildx', 'inspect'])
    expect(inspects.some((c) => c.includes('--bootstrap'))).toBe(bootstrapped)
    // Asked once, before anything else of the engine's.
    expect(calls.filter((c) => c[0] === 'info')).toHaveLength(1)
  })

  test('an app that exits before answering fails the step with its last log lines, and nothing is pushed', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'smoke-crash' })
    expect(rec.failed[0]).toMatch(/^the built images failed their checks:\nlinux\/amd64: the smoke test failed: the app exited \(code 139\) before answering \/:\n {2}Unhandled exception/)
    expect(calls.some((c) => c[1] === 'imagetools')).toBe(false)
    expect(rec.outputs.sizes).toBeDefined()
  })

  test('an app that exits before its port can be read is reported as exited, not as a port problem', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'smoke-exit-at-once' })
    expect(rec.failed[0]).toMatch(/^the built images failed their checks:\nlinux\/amd64: the smoke test failed: the app exited \(code 139\) before answering \/:\n {2}Unhandled exception/)
  })

  test('a native start-up over max-startup fails the step before the push; smoke-test: false starts nothing', async () => {
    const over = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true', 'max-startup': '1ms' })
    expect(rec.failed[0]).toMatch(/linux\/amd64 started in \d+ ms, over the max-startup budget of 1 ms/)
    expect(over.calls.some((c) => c[1] === 'imagetools')).toBe(false)
    const off = await start({ project: 'TodoApi', context: 'TodoApi', 'smoke-test': 'false' })
    expect(rec.failed).toEqual([])
    // (Only the default base images are looked up, before the build.)
    expect(off.calls.some((c) => c[0] === 'container' || (c[0] === 'image' && !(c[1] === 'inspect' && c[4]?.startsWith('mcr.microsoft.com/dotnet/'))))).toBe(false)
    expect(rec.outputs.smoke).toBeUndefined()
  })

  test('a default base image the registry does not know fails the step before the build, naming it', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'default-image-missing' })
    expect(rec.failed[0]).toMatch(/^The default base images mcr\.microsoft\.com\/dotnet\/sdk:10\.0-noble-aot \(.*not found\) and mcr\.microsoft\.com\/dotnet\/runtime-deps:10\.0-noble-chiseled \(.*not found\) do not exist in the registry\./)
    expect(calls).toContainEqual(['buildx', 'imagetools', 'inspect', '--raw', 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot'])
    expect(calls.some((c) => c[0] === 'buildx' && c[1] === 'build')).toBe(false)
  })

  test('an image that fails its checks is never pushed', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { wrongArm: true })
    expect(rec.failed[0]).toMatch(/^the built images failed their checks:\nlinux\/arm64: /)
    expect(calls.some((c) => c[1] === 'imagetools')).toBe(false)
    expect(rec.outputs.sizes).toBeDefined()
  })

  test('a push that fails after the build is a clear error, with the sizes of what was built set', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'push-fails' })
    const lines = (rec.failed[0] ?? '').split('\n')
    expect(lines[0]).toMatch(/^pushing sha256:[a-f0-9]{64} to localhost:5000\/todo:1 failed: failed to do request: .*connection refused$/)
    expect(lines[1]).toMatch(/^Fix: the registry did not answer/)
    expect(lines[2]).toBe('Built, but not pushed: linux/amd64, linux/arm64 (the sizes outputs are set).')
    expect(rec.outputs.sizes).toBeDefined()
    expect(rec.summary.join('\n')).toContain('connection refused')
  })

  test('a push that loses the race between a manifest and its blob is pushed once more, and succeeds', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'localhost:5000/todo:1', push: 'true' }, { mode: 'push-race' })
    expect(rec.failed).toEqual([])
    expect(calls.filter((c) => c[1] === 'imagetools' && c[2] === 'create')).toHaveLength(2)
    expect(rec.infos).toContain('The registry did not have a blob yet when its manifest arrived (a race inside the push): pushing again.')
  })

  test('the token is masked before anything runs', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi', build: 'false', 'github-token': 'ghs_x' })
    expect(rec.secrets).toEqual(['ghs_x'])
  })

  test.each([
    ['secrets', 'A=x\ndXNlcjpwYXNzd29yZDE=', 'dXNlcjpwYXNzd29yZDE'],
    ['secret-envs', 'A=ghp_0123456789abcdefABCDEF0123456789abcd', 'ghp_0123456789abcdefABCDEF0123456789abcd'],
    ['build-args', 'VERSION=1\neyJhbGciOi.eyJzdWIi-token', 'eyJhbGciOi.eyJzdWIi-token']
  ])('a token typed into %s is masked before the input error, which does not print it', async (input, raw, token) => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', [input]: raw })
    expect(rec.secrets).toContain(token)
    expect(rec.failed).toHaveLength(1)
    expect(rec.failed[0]).toMatch(new RegExp(`^Input "${input}": .*entry \\d`))
    expect(rec.failed[0]).not.toContain(token.slice(0, 8))
    expect(calls).toEqual([])
  })

  test('a failed build fails the step with dotnet’s error first, after setting the outputs it has', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi' }, { mode: 'crti' })
    expect(rec.failed).toHaveLength(1)
    expect(rec.failed[0]?.split('\n')[0]).toBe('dotnet publish failed:')
    expect(rec.outputs.dockerfile).toBeDefined()
    expect(rec.outputs.digest).toBeUndefined()
  })

  test('an input error fails before docker is called, naming the input', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/s390x' })
    expect(rec.failed[0]).toMatch(/^Input "platforms": /)
    expect(calls).toEqual([])
  })

  test('secrets are masked first, reach buildx only through its environment, and never its argv', async () => {
    const { calls } = await start(
      { project: 'TodoApi', context: 'TodoApi', secrets: 'CORP_FEED_TOKEN=tok-123\nNuGetPackageSourceCredentials_corp=Username=ci;Password=pw-456', 'secret-envs': 'FROM_ENV=STEP_VAR' },
      { env: { STEP_VAR: 'env-789' } }
    )
    expect(rec.failed).toEqual([])
    expect(rec.secrets).toEqual(expect.arrayContaining(['tok-123', 'Username=ci;Password=pw-456', 'pw-456', 'env-789']))
    const build = calls.find((c) => c[0] === 'buildx' && c[1] === 'build' && !c.includes('nuget-export')) ?? []
    expect(build.filter((_a, i) => build[i - 1] === '--secret')).toEqual([
      'id=CORP_FEED_TOKEN,env=AOT_BUILDX_SECRET_CORP_FEED_TOKEN',
      'id=NuGetPackageSourceCredentials_corp,env=AOT_BUILDX_SECRET_NuGetPackageSourceCredentials_corp',
      'id=FROM_ENV,env=STEP_VAR'
    ])
    expect(calls).toContainEqual(['secret-env', ['AOT_BUILDX_SECRET_CORP_FEED_TOKEN:7', 'AOT_BUILDX_SECRET_NuGetPackageSourceCredentials_corp:27']])
    expect(JSON.stringify(calls)).not.toMatch(/tok-123|pw-456|env-789/)
  })

  test('load with several platforms on the classic image store is an input error before any builder is made', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', tags: 'todo:1', load: 'true' }, { mode: 'classic-store' })
    expect(rec.failed[0]).toMatch(/^Input "load": is true for 2 platforms, but this Docker engine uses the classic image store.*Accepted: load: true with one platform, or an engine with the containerd image store/s)
    expect(calls.some((c) => c[0] === 'buildx' && (c[1] === 'create' || c[1] === 'build'))).toBe(false)
  })

  // The Actions cache service is there (its calls fail here: nuget-cache is off to keep them out).
  const GHA = { ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/', ACTIONS_RUNTIME_TOKEN: 'x.y.z', ACTIONS_CACHE_SERVICE_V2: 'True' }

  test.each([
    ['Docker 28 with the containerd image store exports the gha cache itself: no builder is created', undefined, '28.5.2', false],
    ['Docker 27 (BuildKit 0.16, cache service v1 only) gets a docker-container builder for the gha cache', undefined, '27.5.1', true],
    ['the classic image store gets a docker-container builder for the gha cache', 'classic-store', '28.5.2', true]
  ])('%s', async (_name, mode, engine, creates) => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64', 'nuget-cache': 'false' }, { mode, env: { ...GHA, FAKE_ENGINE: engine, FAKE_BUILDX: '0.29.1' } })
    expect(rec.failed).toEqual([])
    expect(calls.some((c) => c[0] === 'buildx' && c[1] === 'create')).toBe(creates)
    const build = calls.find((c) => c[0] === 'buildx' && c[1] === 'build') ?? []
    expect(build).toEqual(expect.arrayContaining(['--cache-to', expect.stringMatching(/^type=gha,scope=.*,mode=min,ignore-error=true,timeout=2m$/) as unknown as string]))
    expect(build.includes('--builder') ? build[build.indexOf('--builder') + 1] : 'default').toBe(creates ? rec.saved.builder : 'default')
  })

  const keptStore = (ws: string): void => {
    fs.mkdirSync(path.join(ws, 'kept', 'packages', 'fake.package', '1.0.0'), { recursive: true })
    fs.writeFileSync(path.join(ws, 'kept', '.aot-buildx-nuget'), 'NuGet packages kept by aot-buildx-action between runs.\nkey: old\n')
  }
  // The SBOM's small facts build after the images' is not one of the builds these tests count.
  const buildsOf = (calls: string[][]): string[][] => calls.filter((c) => c[0] === 'buildx' && c[1] === 'build' && !c.includes('aot-facts'))
  const KEPT_SECRET = 'id=aot-buildx-nuget-kept,env=AOT_BUILDX_NUGET_KEPT'

  test('kept NuGet packages that no step needs are never loaded: the build gets only their secret (kept for another key, the cache is exported after)', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'kept' }, { prepare: keptStore })
    expect(rec.failed).toEqual([])
    const builds = buildsOf(calls)
    expect(builds.map((c) => (c.includes('nuget-export') ? 'export' : 'images'))).toEqual(['images', 'export'])
    expect(builds[0]).toEqual(expect.arrayContaining(['--secret', KEPT_SECRET]))
    expect(JSON.stringify(builds)).not.toMatch(/nuget-seed|nuget-load/)
  })

  test.each([
    ['loaded by a build of their own, then the images are built again without the kept secret, and the package cache is kept', false],
    ['a load that fails is a warning: the build goes on and restore downloads the packages', true]
  ])('kept NuGet packages a step needs are %s', async (_name, fails) => {
    const { calls, workspace } = await start({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'kept' }, { prepare: keptStore, env: { FAKE_NEEDS_KEPT: '1', ...(fails ? { FAKE_LOAD_FAILS: '1' } : {}) } })
    expect(rec.failed).toEqual([])
    const builds = buildsOf(calls)
    const kind = (c: string[]): string => (c.includes('nuget-load') ? 'load' : c.includes('nuget-export') ? 'export' : c.includes(KEPT_SECRET) ? 'images with kept secret' : 'images')
    expect(builds.map(kind)).toEqual(['images with kept secret', 'load', 'images', 'export'])
    expect(builds[1]).toEqual(expect.arrayContaining(['--build-context', `nuget-seed=${path.join(workspace, 'kept')}`, '--output', 'type=cacheonly']))
    expect(rec.infos.some((m) => m.startsWith('A step needs NuGet packages the emptied builder does not have'))).toBe(true)
    const warned = rec.warnings.filter((w) => w.startsWith('Could not load the kept NuGet packages'))
    expect(warned.length).toBe(fails ? 1 : 0)
    if (fails) expect(warned[0]).toContain('no space left on device')
  })

  test.each(['pull_request', 'workflow_run', 'schedule'])(
    'on %s, nuget-cache-dir neither seeds the build (the packages trusted runs kept may be private) nor keeps anything, and the package cache mount is not the trusted one',
    async (event) => {
      const { calls, workspace } = await start({ project: 'TodoApi', context: 'TodoApi', 'nuget-cache-dir': 'kept' }, { prepare: keptStore, env: { GITHUB_EVENT_NAME: event, FAKE_NEEDS_KEPT: '1' } })
      expect(rec.failed).toEqual([])
      const kind = (c: string[]): string => (c.includes('nuget-load') ? 'load' : c.includes('nuget-export') ? 'export' : 'images')
      expect(buildsOf(calls).map(kind)).toEqual(['images'])
      expect(fs.readFileSync(path.join(workspace, 'kept', '.aot-buildx-nuget'), 'utf8')).toContain('key: old')
      expect(rec.infos).toContain("nuget-cache-dir: not read on this event (a pull request's build gets no packages trusted runs kept)")
      const dockerfile = fs.readFileSync(path.join(workspace, 'TodoApi', 'Dockerfile.aot'), 'utf8')
      const ids = [...dockerfile.matchAll(/--mount=type=cache,id=([^,]+),target=\/root\/\.nuget\/packages/g)].map((m) => m[1])
      // No pull request number and no run id here: this run's own mount (plan.ts untrustedScope).
      expect(ids).toEqual(Array(4).fill(ids[0]))
      expect(ids[0]).toMatch(new RegExp(`^aot-buildx-nuget-untrusted-${event.replace('_', '-')}-run-aot-buildx-[A-Za-z0-9]+$`))
    }
  )

  // moby/buildkit cannot be pulled where these tests run: the exact create argv is the proof.
  test('the builder created for two platforms on the classic store runs on the host network', async () => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi' }, { mode: 'classic-store' })
    expect(rec.failed).toEqual([])
    const create = calls.filter((c) => c[0] === 'buildx' && c[1] === 'create')
    expect(create).toEqual([['buildx', 'create', '--name', rec.saved.builder, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap']])
    expect(rec.saved.builder).toMatch(/^aot-buildx-\d+$/)
    const build = calls.find((c) => c[0] === 'buildx' && c[1] === 'build' && !c.includes('nuget-export')) ?? []
    expect(build[build.indexOf('--builder') + 1]).toBe(rec.saved.builder)
  })

  test.each(['pull_request', 'pull_request_target', 'schedule'])('on %s, the builder created on the classic store (its docker driver cannot read the gha cache) is not on the host network, and nothing is exported', async (event) => {
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64', 'nuget-cache': 'false' }, { mode: 'classic-store', env: { ...GHA, GITHUB_EVENT_NAME: event, FAKE_BUILDX: '0.29.1' } })
    expect(rec.failed).toEqual([])
    const create = calls.filter((c) => c[0] === 'buildx' && c[1] === 'create')
    // On a bridge network of its own, made before it: not the host's, not the default bridge.
    expect(create).toEqual([['buildx', 'create', '--name', rec.saved.builder, '--driver', 'docker-container', '--driver-opt', `network=${rec.saved.builder}`, '--bootstrap']])
    const network = calls.findIndex((c) => c[0] === 'network' && c[1] === 'create')
    expect(calls[network]).toEqual(['network', 'create', '--driver', 'bridge', '--label', `io.github.aot-buildx.builder=${rec.saved.builder}`, rec.saved.builder])
    expect(network).toBeLessThan(calls.findIndex((c) => c[0] === 'buildx' && c[1] === 'create'))
    const build = calls.find((c) => c[0] === 'buildx' && c[1] === 'build') ?? []
    expect(build).toEqual(expect.arrayContaining(['--cache-from', expect.stringMatching(/^type=gha,scope=/) as unknown as string]))
    expect(build).not.toContain('--cache-to')
  })

  // Ubuntu 22.04 ships git 2.34: it ignores safe.bareRepository, so buildx must run no git in the context.
  test.each([
    ['git version 2.34.1', ['buildx-git-env', '0', '0'], "The runner's git is 2.34, older than 2.38: buildx runs no git in the context"],
    ['git version 2.39.5', undefined, undefined]
  ])('the runner has %s: buildx gets BUILDX_GIT_INFO=0 and BUILDX_GIT_LABELS=0 below 2.38, with one note; nothing otherwise', async (version, logged, note) => {
    const { calls } = await start(
      { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64' },
      { prepare: (ws) => { fs.writeFileSync(path.join(ws, '..', 'bin', 'git'), `#!/bin/sh\necho '${version}'\n`, { mode: 0o755 }); } }
    )
    expect(rec.failed).toEqual([])
    const gitEnv = calls.filter((c) => c[0] === 'buildx-git-env')
    expect(gitEnv).toEqual(logged === undefined ? [] : calls.filter((c) => c[0] === 'buildx' && c[1] === 'build').map(() => logged))
    // The images' build and the SBOM's facts build.
    expect(gitEnv.length).toBe(logged === undefined ? 0 : 2)
    const notes = rec.infos.filter((m) => m.includes('buildx runs no git'))
    expect(notes).toEqual(note === undefined ? [] : [expect.stringContaining(note) as unknown as string])
  })

  test('driver-opts and buildkitd-config-inline: a configured builder is created even where the docker driver would do', async () => {
    const toml = '[registry."localhost:5000"]\n  http = true'
    const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', 'driver-opts': 'image=moby/buildkit:v0.20.0\nnetwork=bridge\n"env.NO_PROXY=localhost,127.0.0.1"', 'buildkitd-config-inline': toml })
    expect(rec.failed).toEqual([])
    const create = calls.find((c) => c[0] === 'buildx' && c[1] === 'create') ?? []
    const config = create[create.indexOf('--buildkitd-config') + 1] ?? ''
    expect(create).toEqual([
      'buildx', 'create', '--name', rec.saved.builder, '--driver', 'docker-container',
      '--driver-opt', 'image=moby/buildkit:v0.20.0',
      '--driver-opt', 'network=bridge',
      '--driver-opt', '"env.NO_PROXY=localhost,127.0.0.1"',
      '--buildkitd-config', config,
      '--bootstrap'
    ])
    // Written by the action into this run's folder in RUNNER_TEMP, before buildx read it.
    expect(path.dirname(path.dirname(config))).toBe(path.join(root, 'temp'))
    expect(path.basename(config)).toBe('buildkitd.toml')
    expect(calls).toContainEqual(['buildkitd-config', `${toml}\n`])
    expect(rec.infos.join('\n')).toContain('driver-opts or a buildkitd config is given: creating a docker-container builder')
  })

  test('a buildkitd-config reached through a symlink in the workspace is refused before docker is called', async () => {
    const secret = path.join(os.tmpdir(), `aot-main-secret-${process.pid}.json`)
    fs.writeFileSync(secret, '{"auths":{}}')
    try {
      const { calls } = await start({ project: 'TodoApi', context: 'TodoApi', 'buildkitd-config': 'buildkitd.toml' }, { prepare: (ws) => { fs.symlinkSync(secret, path.join(ws, 'buildkitd.toml')); } })
      expect(rec.failed[0]).toMatch(/^Input "buildkitd-config": .*buildkitd\.toml is reached through a symlink in the workspace/)
      expect(calls).toEqual([])
    } finally {
      fs.rmSync(secret, { force: true })
    }
  })

  test('DOCKER_BUILD_SUMMARY=false turns the job summary off, as for Docker’s actions', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi' }, { env: { DOCKER_BUILD_SUMMARY: 'false' } })
    expect(rec.failed).toEqual([])
    expect(rec.summary).toEqual([])
  })
})

describe('run(): an image the smoke test proved before', () => {
  const runs = (calls: string[][]): number => calls.filter((c) => c[0] === 'container' && c[1] === 'run').length
  let layout: { dir: string; digest: string }
  beforeEach(async () => {
    cacheStore.clear()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-main-layout-'))
    layout = { dir, digest: await makeLayout(dir, false) }
  })
  afterEach(() => {
    fs.rmSync(layout.dir, { recursive: true, force: true })
  })
  const cacheEnv = (event: string, runId: string): Record<string, string> => ({
    GITHUB_EVENT_NAME: event,
    ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/',
    ACTIONS_RUNTIME_TOKEN: 'token',
    // The gha cache (cache: auto with the service) needs a current buildx.
    FAKE_BUILDX: '0.29.1',
    GITHUB_RUN_ID: runId,
    GITHUB_SHA: 'abcdef0'.padEnd(40, '1')
  })

  test('is not started again: a second run of the unchanged image starts no container, and says its figures are reused', async () => {
    const first = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env: cacheEnv('push', '77') })
    expect(rec.failed).toEqual([])
    const started = runs(first.calls)
    expect(started).toBeGreaterThan(0)
    // One proof per started platform image, keyed by its digest.
    expect([...cacheStore.keys()].filter((k) => k.startsWith('aot-buildx-smoke-v1-'))).toHaveLength(started)
    const firstSmoke = JSON.parse(rec.outputs.smoke ?? '{}') as Record<string, { startupMs: number; outcome: string }>

    const second = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env: cacheEnv('pull_request', '78') })
    expect(rec.failed).toEqual([])
    expect(second.calls.filter((c) => c[0] === 'container' || c[0] === 'network' || (c[0] === 'image' && c[1] === 'load'))).toEqual([])
    // Nothing started, nothing for the post step to clean.
    expect(rec.saved.smoke).toBeUndefined()
    const smoke = JSON.parse(rec.outputs.smoke ?? '{}') as Record<string, { startupMs: number; outcome: string; ok: boolean }>
    expect(Object.keys(smoke)).toEqual(Object.keys(firstSmoke))
    for (const [p, s] of Object.entries(smoke)) {
      expect(s.startupMs).toBe(firstSmoke[p]?.startupMs)
      expect(s.outcome).toBe(`${firstSmoke[p]?.outcome ?? ''}; figures reused: this image digest passed the smoke test before (run 77, commit abcdef0) and was not started again`)
    }
    expect(rec.summary.join('\n')).toMatch(/\| \d+ ms \(reused\) \|/)
  })

  test('a pull request keeps no proof: the push after it starts the image itself', async () => {
    const pr = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env: cacheEnv('pull_request', '80') })
    expect(rec.failed).toEqual([])
    expect(runs(pr.calls)).toBeGreaterThan(0)
    expect([...cacheStore.keys()].filter((k) => k.startsWith('aot-buildx-smoke-'))).toEqual([])
    const push = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env: cacheEnv('push', '81') })
    expect(runs(push.calls)).toBe(runs(pr.calls))
  })

  test('the SBOM a push run made is kept for the same images: the next run attaches it without a facts build, giving the same index', async () => {
    const inputs = { project: 'TodoApi', context: 'TodoApi', 'source-date-epoch': '1700000000' }
    const first = await start(inputs, { layout, env: cacheEnv('push', '82') })
    expect(rec.failed).toEqual([])
    expect(first.calls.filter((c) => c[0] === 'facts')).toHaveLength(1)
    expect([...cacheStore.keys()].filter((k) => k.startsWith('aot-buildx-sbom-v1-'))).toHaveLength(1)
    const digest = rec.outputs.digest
    const lines = rec.infos.filter((l) => l.includes('SPDX SBOM attached'))
    const second = await start(inputs, { layout, env: cacheEnv('pull_request', '83') })
    expect(rec.failed).toEqual([])
    expect(second.calls.filter((c) => c[0] === 'facts' || c.includes('aot-facts'))).toEqual([])
    expect(rec.outputs.digest).toBe(digest)
    expect(rec.infos.filter((l) => l.includes('SPDX SBOM attached'))).toEqual(lines.map((l) => l.replace('SPDX SBOM attached', 'SPDX SBOM attached (kept by an earlier run of this image)')))
    // A push that finds them attaches them too, and saves nothing again.
    cacheSaves.length = 0
    const third = await start(inputs, { layout, env: cacheEnv('push', '84') })
    expect(rec.failed).toEqual([])
    expect(third.calls.filter((c) => c[0] === 'facts' || c.includes('aot-facts'))).toEqual([])
    expect(rec.outputs.digest).toBe(digest)
    expect(cacheSaves.filter((k) => k.startsWith('aot-buildx-sbom-'))).toEqual([])
  })

  test('an SBOM that cannot be kept (a folder where its file goes) is a warning: the images are attached and pushed as ever', async () => {
    const inputs = { project: 'TodoApi', context: 'TodoApi', 'source-date-epoch': '1700000000', tags: 'localhost:5000/todo:1', push: 'true' }
    await start(inputs, { layout, env: cacheEnv('push', '86'), prepare: (ws) => fs.mkdirSync(path.join(ws, '..', 'temp', 'aot-buildx-sbom', 'statements.json'), { recursive: true }) })
    expect(rec.failed).toEqual([])
    expect(rec.warnings).toEqual([expect.stringMatching(/^The SBOM of these images was not saved to the Actions cache \(key aot-buildx-sbom-v1-[a-f0-9]{32}\): .*The next run of the same images exports what restore resolved again\.$/)])
    expect(rec.infos.filter((l) => l.includes('SPDX SBOM attached'))).toHaveLength(2)
    expect(rec.outputs.digest).not.toBe(layout.digest)
  })

  test('no SBOM is kept by a pull request, nor where the images carry the build time (source-date-epoch: false)', async () => {
    await start({ project: 'TodoApi', context: 'TodoApi', 'source-date-epoch': '1700000000' }, { layout, env: cacheEnv('pull_request', '84') })
    expect(rec.failed).toEqual([])
    expect(rec.infos.filter((l) => l.includes('SPDX SBOM attached'))).toHaveLength(2)
    await start({ project: 'TodoApi', context: 'TodoApi', 'source-date-epoch': 'false' }, { layout, env: cacheEnv('push', '85') })
    expect(rec.failed).toEqual([])
    expect(rec.infos.filter((l) => l.includes('SPDX SBOM attached'))).toHaveLength(2)
    expect([...cacheStore.keys()].filter((k) => k.startsWith('aot-buildx-sbom-'))).toEqual([])
  })

  test('without the Actions cache, every run starts its images, as before', async () => {
    const env = { GITHUB_EVENT_NAME: 'push', GITHUB_RUN_ID: '90' }
    const first = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env })
    const second = await start({ project: 'TodoApi', context: 'TodoApi' }, { layout, env })
    expect(rec.failed).toEqual([])
    expect(runs(second.calls)).toBe(runs(first.calls))
    expect(cacheStore.size).toBe(0)
  })
})

describe('run(): post and merge', () => {
  test('the post step removes only the builder this job created', async () => {
    const own = await start({}, { state: { isPost: 'true', builder: 'aot-buildx-1-build-2' } })
    expect(own.calls).toEqual([['buildx', 'rm', '--force', '--', 'aot-buildx-1-build-2'], ['network', 'ls', '--quiet', '--filter', 'label=io.github.aot-buildx.builder=aot-buildx-1-build-2']])
    const other = await start({}, { state: { isPost: 'true', builder: '--all-inactive' } })
    expect(other.calls).toEqual([])
    expect(rec.warnings.join('\n')).toContain('only removes builders it created')
  })

  test('the post step ignores a docker-config state it did not write: the workspace\'s plugin folder never becomes DOCKER_CONFIG', async () => {
    const state: Record<string, string> = { isPost: 'true', builder: 'aot-buildx-1-build-2' }
    let forged = ''
    const { calls } = await start(
      {},
      {
        state,
        prepare: (ws) => {
          // What a ::save-state printed by the build would have named: a plugin of the repository's own.
          forged = path.join(ws, 'evil')
          fs.mkdirSync(path.join(forged, 'cli-plugins'), { recursive: true })
          fs.writeFileSync(path.join(forged, 'cli-plugins', 'docker-buildx'), '#!/bin/sh\ntouch canary\n', { mode: 0o755 })
          state['docker-config'] = forged
        }
      }
    )
    expect(process.env.DOCKER_CONFIG).not.toBe(forged)
    expect(rec.warnings.join('\n')).toContain('Ignoring the docker-config state')
    // The builder is still removed, with the runner's own buildx.
    expect(calls).toEqual([['buildx', 'rm', '--force', '--', 'aot-buildx-1-build-2'], ['network', 'ls', '--quiet', '--filter', 'label=io.github.aot-buildx.builder=aot-buildx-1-build-2']])
  })

  test('merge names the build inputs it ignores', async () => {
    await start({ mode: 'merge', tags: 'localhost:5000/todo:1', digests: `sha256:${'a'.repeat(64)}`, project: 'TodoApi', 'build-args': 'A=1', build: 'false' })
    expect(rec.warnings.join('\n')).toContain('these inputs are ignored: project, build-args')
  })
})

describe('run(): a hostile repository, evaluated by the real dotnet on the runner', () => {
  const TOKEN = 'ghs_thisIsTheRunnersToken0123456789'

  test('response files add no target, property functions read no secret, and global.json picks no SDK', async () => {
    const { workspace } = await start(
      { project: 'TodoApi', context: 'TodoApi', build: 'false', 'github-token': TOKEN },
      {
        env: { 'INPUT_GITHUB-TOKEN': TOKEN, ACTIONS_RUNTIME_TOKEN: TOKEN },
        prepare: (ws) => {
          // MSBuild reads Directory.Build.rsp next to the project unless -noAutoResponse.
          fs.writeFileSync(path.join(ws, 'TodoApi', 'Directory.Build.rsp'), '-t:Pwn\n')
          fs.writeFileSync(
            path.join(ws, 'TodoApi', 'Directory.Build.targets'),
            '<Project><Target Name="Pwn"><WriteLinesToFile File="$(MSBuildThisFileDirectory)../pwned" Lines="ran" /></Target></Project>\n'
          )
          fs.writeFileSync(
            path.join(ws, 'TodoApi', 'Directory.Build.props'),
            "<Project><PropertyGroup><Product>$([System.Environment]::GetEnvironmentVariable('INPUT_GITHUB-TOKEN'))$([System.Environment]::GetEnvironmentVariable('ACTIONS_RUNTIME_TOKEN'))</Product><AssemblyName>$([System.Environment]::GetEnvironmentVariable('INPUT_GITHUB-TOKEN'))</AssemblyName></PropertyGroup></Project>\n"
          )
          // An SDK pin no machine has: the muxer would refuse to run if it read this file.
          fs.writeFileSync(path.join(ws, 'global.json'), '{ "sdk": { "version": "99.0.100", "rollForward": "disable" } }\n')
        }
      }
    )
    expect(rec.failed).toEqual([])
    expect(fs.existsSync(path.join(workspace, 'pwned'))).toBe(false)
    const dockerfile = fs.readFileSync(path.join(workspace, 'TodoApi', 'Dockerfile.aot'), 'utf8')
    // The token never became the AssemblyName: the entrypoint is the project's own name.
    expect(dockerfile).toContain('ENTRYPOINT ["/app/TodoApi"]')
    for (const text of [dockerfile, ...rec.infos, ...rec.warnings, ...Object.values(rec.outputs)]) expect(text).not.toContain(TOKEN)
  })
})

describe('run(): mode: discover', () => {
  test('a solution that is a link out of the workspace is refused by name, never read', async () => {
    await start(
      { mode: 'discover', project: 'App.sln' },
      {
        prepare: (ws) => {
          // A runner file outside the workspace, as a pull request's link would name one.
          const outside = path.join(path.dirname(ws), 'runner-secret.sln')
          fs.writeFileSync(outside, 'Project("{X}") = "A", "../A/A.csproj", "{Y}"\n')
          fs.symlinkSync(outside, path.join(ws, 'App.sln'))
        }
      }
    )
    expect(rec.failed.join('\n')).toMatch(/^Input "project": App\.sln leads through a symbolic link out of the workspace\./)
    // Where the link leads is not said: the answer is the same whether or not it exists on the runner.
    expect(rec.failed.join('\n')).not.toContain('runner-secret')
  })

  test('lists the Native AOT apps of a folder as a matrix, calls no engine, and keeps a hostile project name inert in the summary', async () => {
    const hostile = 'Evil`App|<b>'
    const { calls } = await start(
      { mode: 'discover', tags: 'r/x:1', push: 'false' },
      {
        prepare: (ws) => {
          fs.mkdirSync(path.join(ws, hostile))
          fs.copyFileSync(path.join(ws, 'TodoApi', 'TodoApi.csproj'), path.join(ws, hostile, `${hostile}.csproj`))
          fs.copyFileSync(path.join(ws, 'TodoApi', 'Program.cs'), path.join(ws, hostile, 'Program.cs'))
          fs.mkdirSync(path.join(ws, 'Lib'))
          fs.writeFileSync(path.join(ws, 'Lib', 'Lib.csproj'), '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n')
        }
      }
    )
    expect(rec.failed).toEqual([])
    // The evaluation sandbox's `docker run` (passed through to the real engine) is the only docker call.
    expect(calls.filter((c) => !isEvaluation(c))).toEqual([])
    expect(calls.filter(isEvaluation)).toHaveLength(1)
    const m = JSON.parse(rec.outputs.matrix ?? '{}') as { include: { project: string; name: string }[] }
    expect(m.include).toEqual([
      { project: `${hostile}/${hostile}.csproj`, name: 'evil-app-b', platforms: 'linux/amd64,linux/arm64', framework: '' },
      { project: 'TodoApi/TodoApi.csproj', name: 'todoapi', platforms: 'linux/amd64,linux/arm64', framework: '' }
    ])
    expect(rec.outputs.count).toBe('2')
    expect(rec.warnings.join('\n')).toContain('mode: discover builds nothing, so these inputs are ignored: tags')
    const text = rec.summary.join('')
    // The name reaches the summary only inside a code span its backtick cannot close, with its pipe escaped.
    expect(text).toContain('``Evil`App\\|<b>/Evil`App\\|<b>.csproj``')
    expect(text.split('``Evil`App\\|<b>/Evil`App\\|<b>.csproj``').join('')).not.toContain('<b>')
  })
})

describe("run(): a layout whose index.json names the registry's index (a builder that pushed during the build)", () => {
  const FOREIGN = `sha256:${'ab'.repeat(32)}`
  let dir = ''
  let own = ''
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-main-foreign-'))
    own = await makeLayout(dir, false)
    fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: FOREIGN, size: 1234 }] }))
  })
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test("is read through the layout's own index: both images checked and reported", async () => {
    await start({ project: 'TodoApi', context: 'TodoApi', 'smoke-test': 'false' }, { layout: { dir, digest: FOREIGN } })
    expect(rec.failed).toEqual([])
    expect(rec.outputs.digest).toBe(FOREIGN)
    expect(Object.keys(JSON.parse(rec.outputs.sizes ?? '{}') as object)).toEqual(['linux/amd64', 'linux/arm64'])
  })

  test('holding no index of its own: the step fails with what was built and the cause first, in the log and the summary, never a stack trace', async () => {
    fs.rmSync(path.join(dir, 'blobs', 'sha256', own.slice(7)))
    await start({ project: 'TodoApi', context: 'TodoApi', 'smoke-test': 'false' }, { layout: { dir, digest: FOREIGN } })
    expect(rec.failed).toHaveLength(1)
    const message = rec.failed[0] ?? ''
    expect(message).toMatch(new RegExp(`^The build succeeded \\(index ${FOREIGN}\\), but could not read the images the build wrote to its OCI layout \\(.+\\): its index\\.json names ${FOREIGN}, which the layout does not hold, and the layout holds no index of its own\\. The images were not checked, smoke-tested or reported\\.$`))
    expect(message).not.toMatch(/\n\s+at /)
    expect(rec.summary.join('')).toContain('which the layout does not hold')
  })
})
