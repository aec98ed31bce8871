// Realistic solutions on the real engine: the "shop" fixture is shaped like a real repository
// (central package management, a repository NuGet.config and global.json with rollForward,
// props above the apps, an explicit import from eng/, a source file linked from outside the
// project folders, a library with per-RID native SQLite assets, a web API, a console app that
// needs ICU and moves obj/ in containers, a test project, docs). Every build is the bundled
// action run as a runner runs it; results are read from the registry and running containers.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { at, docker, editFile, entry, fileFromImage, freePort, makeFixtureWorkspace, output, registryJson, registrySizes, REGISTRY, removeContainer, runAction, runActionAsync, startContainer, waitForHttp, type ActionRun } from './harness.js'

const RUN = `r${Date.now().toString(36)}`
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const
const ELF = { 'linux/amd64': 0x3e, 'linux/arm64': 0xb7 } as const
/** One-line rebuilds alternating app and library; the race they guard against hit 9 of 16. */
const REBUILDS = Number(process.env.AOT_E2E_REBUILDS ?? '3')

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
}

interface VersionInfo {
  api: string
  data: string
  shared: string
  sqlite: string
}

/** Starts the image on a platform, reads /version and /products, stops it. */
async function ask(image: string, platform: string): Promise<{ version: VersionInfo; products: unknown[] }> {
  const port = await freePort()
  const cid = startContainer(image, platform, ['-p', `127.0.0.1:${port}:8080`])
  try {
    const v = await waitForHttp(`http://127.0.0.1:${port}/version`)
    expect(v.status).toBe(200)
    const p = await fetch(`http://127.0.0.1:${port}/products`)
    return { version: (await v.json()) as VersionInfo, products: (await p.json()) as unknown[] }
  } finally {
    removeContainer(cid)
  }
}

describe('shop: web API with a library, CPM, props above, linked source, native SQLite', () => {
  const repo = 'aot-e2e/shop-api'
  const tagOf = (i: number): string => `${REGISTRY}/${repo}:${RUN}-${i}`
  let ws = ''
  const runs: ActionRun[] = []
  const edits: string[] = []

  beforeAll(() => {
    ws = makeFixtureWorkspace('shop-api', 'shop')
    editFile(path.join(ws, 'src/Shop.Api/Program.cs'), /Revision = "api-0"/, `Revision = "api-0-${RUN}"`)
    edits.push(`api-0-${RUN}`)
    // smoke-test: true starts arm64 too (under the QEMU handler the e2e set-up registers; auto starts native platforms only).
    const cold = runAction(ws, { project: 'src/Shop.Api', tags: tagOf(0), push: 'true', 'smoke-test': 'true' })
    console.log(`shop api, cold: ${cold.seconds.toFixed(1)} s (exit ${cold.code})`)
    must(cold, 'the cold build')
    runs.push(cold)
    for (let i = 1; i <= REBUILDS; i++) {
      const lib = i % 2 === 0
      // Values of this run's own: an engine that built the fixture before must still rebuild.
      const value = lib ? `data-${i}-${RUN}` : `api-${i}-${RUN}`
      if (lib) editFile(path.join(ws, 'src/Shop.Data/Catalog.cs'), /Revision = "data-[^"]+"/, `Revision = "${value}"`)
      else editFile(path.join(ws, 'src/Shop.Api/Program.cs'), /Revision = "api-[^"]+"/, `Revision = "${value}"`)
      edits.push(value)
      // Only the last rebuild pushes: the publish step is what is under test, and each push to
      // the test registry is one more chance of its own flakes.
      // The loop proves the build under one-line changes; the smoke test (its own suite, and the
      // cold and last builds here) would only add a QEMU start per rebuild.
      const r = runAction(ws, i === REBUILDS ? { project: 'src/Shop.Api', tags: tagOf(i), push: 'true', 'smoke-test': 'true' } : { project: 'src/Shop.Api', 'smoke-test': 'false' })
      console.log(`shop api, rebuild ${i} (${lib ? 'library' : 'app'} changed): ${r.seconds.toFixed(1)} s (exit ${r.code})`)
      runs.push(r)
    }
  })

  test('the evaluation saw Release conditions and every import; the restore layer copies them', () => {
    const df = fs.readFileSync(path.join(ws, 'Dockerfile.aot'), 'utf8')
    // PublishAot is on for Release only in Shop.Api.csproj: the build is Native AOT.
    expect(at(runs, 0).stdout).toContain('Shop.Api, net10.0, web app')
    // In the sandbox container, with no dotnet on the action's PATH (the harness takes it off).
    expect(at(runs, 0).stdout).toContain('(evaluated by dotnet msbuild in a sandbox container of mcr.microsoft.com/dotnet/sdk:10.0-noble-aot)')
    for (const f of ['Directory.Build.props', 'Directory.Packages.props', 'NuGet.config', 'global.json', 'eng/aot.props', 'src/Directory.Build.props', 'src/Shop.Data/Shop.Data.csproj']) {
      expect(df).toMatch(new RegExp(`COPY --link \\[[^\\]]*"${f.replace(/\./g, '\\.')}"`))
    }
    expect(df).toContain("-p:Configuration='Release'")
  })

  test('the cold and the last builds started both platforms before the push (the smoke test)', () => {
    for (const r of [at(runs, 0), at(runs, -1)]) {
      const smoke = JSON.parse(output(r, 'smoke')) as Record<string, { ok: boolean; emulated: boolean; startupMs: number | null }>
      expect(Object.keys(smoke).sort()).toEqual([...PLATFORMS])
      for (const p of PLATFORMS) expect(smoke[p]?.ok).toBe(true)
      expect(smoke['linux/amd64']?.emulated).toBe(false)
    }
  })

  test(`every one of ${REBUILDS} one-line rebuilds, alternating app and library, succeeded`, () => {
    const failed = runs.map((r, i) => ({ i, r })).filter(({ r }) => r.code !== 0)
    for (const { i, r } of failed) console.log(`rebuild ${i} failed:\n${r.stdout.slice(-4000)}`)
    expect(failed.map(({ i }) => i)).toEqual([])
    for (const r of runs) expect(r.stdout).not.toContain('MSB4018')
    // Each target published in its own tree.
    expect(at(runs, -1).stdout).toMatch(/Shop\.Data -> \/build\/amd64\/src\/Shop\.Data\/bin\//)
    expect(at(runs, -1).stdout).toMatch(/Shop\.Data -> \/build\/arm64\/src\/Shop\.Data\/bin\//)
  })

  test('after the rebuilds, both arch images run the last app and library changes and query SQLite natively', async () => {
    const last = runs.length - 1
    const lastApi = [...edits].reverse().find((e) => e.startsWith('api-')) ?? 'api-0'
    const lastData = [...edits].reverse().find((e) => e.startsWith('data-')) ?? 'data-0'
    const reg = await registrySizes(repo, `${RUN}-${last}`)
    expect(Object.keys(reg).sort()).toEqual([...PLATFORMS])
    // The digest output is what the registry serves for the tag (pushed once, from the layout).
    expect(at(runs, last).outputs.digest).toBe((await registryJson(repo, `${RUN}-${last}`)).digest)
    for (const p of PLATFORMS) {
      const got = await ask(tagOf(last), p)
      expect(got.version).toMatchObject({ api: lastApi, data: lastData, shared: 'shared-0' })
      expect(got.version.sqlite).toMatch(/^3\.\d+\.\d+$/)
      expect(got.products).toHaveLength(3)
    }
  })

  test('each image ships the native SQLite library built for its own architecture, and the digests the action reported', async () => {
    const last = runs.length - 1
    const sizes = JSON.parse(output(at(runs, last), 'sizes')) as Record<string, { digest: string }>
    const reg = await registrySizes(repo, `${RUN}-${last}`)
    for (const p of PLATFORMS) {
      expect(entry(sizes, p).digest).toBe(entry(reg, p).digest)
      const so = fileFromImage(tagOf(last), p, '/app/libe_sqlite3.so')
      expect(so.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
      expect(so.readUInt16LE(18)).toBe(ELF[p])
    }
  })
})

describe('shop: console app that needs ICU, obj/ moved in containers', () => {
  const repo = 'aot-e2e/shop-worker'
  const tag = `${REGISTRY}/${repo}:${RUN}`
  let ws = ''
  let first: ActionRun
  let second: ActionRun

  beforeAll(() => {
    ws = makeFixtureWorkspace('shop-worker', 'shop')
    // This run's own source, so the publish step runs even on an engine that built the fixture before.
    fs.appendFileSync(path.join(ws, 'src/Shop.Worker/Program.cs'), `\n// e2e run ${RUN}\n`)
    first = runAction(ws, { project: 'src/Shop.Worker/Shop.Worker.csproj', tags: tag, push: 'true' })
    console.log(`shop worker, cold: ${first.seconds.toFixed(1)} s (exit ${first.code})`)
    must(first, 'the worker build')
    editFile(path.join(ws, 'src/Shared/BuildInfo.cs'), /shared-0/, 'shared-1')
    second = runAction(ws, { project: 'src/Shop.Worker/Shop.Worker.csproj', tags: tag, push: 'true' })
    console.log(`shop worker, linked shared file changed: ${second.seconds.toFixed(1)} s (exit ${second.code})`)
    must(second, 'the worker rebuild')
  })

  afterAll(() => {
    try {
      docker(['rmi', tag])
    } catch {
      // not pulled
    }
  })

  test('InvariantGlobalization=false picks chiseled-extra, and the month name comes through ICU on both arches', () => {
    expect(first.stdout).toContain('Flavor chiseled-extra (auto: InvariantGlobalization is false)')
    for (const p of PLATFORMS) {
      const out = docker(['run', '--rm', '--platform', p, tag]).toString()
      expect(out).toContain('month: 3月')
      expect(out).toMatch(/products: 3; sqlite 3\.\d+\.\d+; shared-1/)
    }
  })

  test('the restore record is found under obj/container/: the publish step never restores again', () => {
    // The step's own output line (BuildKit prefixes it with the step and seconds), not the script echo.
    for (const r of [first, second]) expect(r.stdout).not.toMatch(/^#\d+ [\d.]+ NuGet packages are missing from the cache mount/m)
    expect(first.stdout).toMatch(/==> linux\/arm64: published/)
  })

  test('the linked shared file is an input: changing it ran the publish step again', () => {
    const publish = /^#(\d+) \[[^\]]*\] RUN --mount=type=cache,id=aot-buildx-nuget,target=\/root\/\.nuget\/packages,sharing=private/m.exec(second.stdout)
    expect(publish).not.toBeNull()
    expect(second.stdout).not.toMatch(new RegExp(`^#${publish?.[1] ?? 'x'} CACHED$`, 'm'))
    expect(second.stdout).toMatch(/==> linux\/amd64: published/)
  })

  test("a change outside the worker's inputs (the other app, the solution, an unconsumed file, docs) leaves every step cached; the repository's .dockerignore is never edited", () => {
    const own = path.join(ws, '.dockerignore')
    const before = fs.readFileSync(own, 'utf8')
    // Not covered by the repository's .dockerignore: with the whole context sent, each of these rebuilt everything.
    editFile(path.join(ws, 'src/Shop.Api/Program.cs'), /Revision = "api-[^"]+"/, `Revision = "api-other-${RUN}"`)
    fs.appendFileSync(path.join(ws, 'Shop.slnx'), `<!-- ${RUN} -->\n`)
    // Beside the project folders, not in one: a project's folder is an input whole (packages add items after restore).
    fs.writeFileSync(path.join(ws, 'src/NOTES.md'), `not consumed ${RUN}\n`)
    editFile(path.join(ws, 'docs/ops.md'), /port 8080/, 'port 8080 (see also /health)')
    const third = runAction(ws, { project: 'src/Shop.Worker/Shop.Worker.csproj' })
    must(third, 'the build after unrelated changes')
    const runSteps = [...third.stdout.matchAll(/^#(\d+) \[[^\]]*\] (RUN|COPY) /gm)].map((m) => m[1])
    expect(runSteps.length).toBeGreaterThanOrEqual(6)
    for (const n of runSteps) expect(third.stdout).toMatch(new RegExp(`^#${n} CACHED$`, 'm'))
    expect(fs.readFileSync(own, 'utf8')).toBe(before)
    const ignore = fs.readFileSync(path.join(ws, 'Dockerfile.aot.dockerignore'), 'utf8').split('\n')
    expect(ignore).toContain('*')
    // The linked file's folder holds nothing else, so it is admitted as a folder.
    expect(ignore).toContain('!/src/Shared')
    expect(ignore.some((l) => l.includes('Shop.Api') || l.includes('docs'))).toBe(false)
  })
})

describe('shop: two matrix jobs at once on one builder', () => {
  // Two runners' workspaces, one engine: the jobs of a matrix over the apps of one repository,
  // several rounds, each with new sources in both (a race shows up in some rounds, not all).
  const ROUNDS = Number(process.env.AOT_E2E_MATRIX_ROUNDS ?? '2')
  const rounds: ActionRun[][] = []
  const again: ActionRun[] = []
  const apps = ['src/Shop.Api', 'src/Shop.Cli'] as const

  beforeAll(async () => {
    const spaces = apps.map((_, i) => makeFixtureWorkspace(`shop-matrix-${i}`, 'shop'))
    for (let n = 1; n <= ROUNDS; n++) {
      // This round's own sources, so both publish steps run even on an engine that built the fixture before.
      for (const [i, a] of apps.entries()) fs.appendFileSync(path.join(at(spaces, i), a, 'Program.cs'), `\n// matrix ${RUN} round ${n}\n`)
      // Concurrent builds are the point; the smoke test is proven elsewhere.
      const jobs = await Promise.all(apps.map((a, i) => runActionAsync(at(spaces, i), { project: a, 'smoke-test': 'false' })))
      for (const [i, r] of jobs.entries()) console.log(`matrix round ${n}, ${apps[i]}: ${r.seconds.toFixed(1)} s (exit ${r.code})`)
      rounds.push(jobs)
    }
    for (const [i, a] of apps.entries()) again.push(runAction(at(spaces, i), { project: a, 'smoke-test': 'false' }))
  })

  test(`in each of ${ROUNDS} rounds both jobs built and published their own app`, () => {
    for (const [n, jobs] of rounds.entries()) {
      for (const [i, r] of jobs.entries()) {
        must(r, `round ${n + 1}, the ${apps[i]} job`)
        expect(r.stdout).toMatch(/==> linux\/arm64: published/)
      }
    }
  })

  test("neither job evicted or overwrote the other's results: each rerun finds every step cached", () => {
    for (const r of again) {
      must(r, 'the rerun')
      const steps = [...r.stdout.matchAll(/^#(\d+) \[[^\]]*\] RUN /gm)].map((m) => m[1])
      expect(steps.length).toBeGreaterThanOrEqual(3)
      for (const n of steps) expect(r.stdout).toMatch(new RegExp(`^#${n} CACHED$`, 'm'))
    }
  })
})

describe('shop: one platform pushed on the docker driver', () => {
  const repo = 'aot-e2e/shop-arm64'
  let run: ActionRun

  beforeAll(() => {
    const ws = makeFixtureWorkspace('shop-arm64', 'shop')
    run = runAction(ws, { project: 'src/Shop.Api', platforms: 'linux/arm64', tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true' })
    console.log(`shop api, linux/arm64 only: ${run.seconds.toFixed(1)} s (exit ${run.code})`)
  })

  test('succeeds, and its digest output is the digest the registry serves for the tag', async () => {
    must(run, 'the single-platform push')
    const { digest } = await registryJson(repo, RUN)
    expect(run.outputs.digest).toBe(digest)
    const sizes = JSON.parse(output(run, 'sizes')) as Record<string, { compressed: number }>
    expect(Object.keys(sizes)).toEqual(['linux/arm64'])
    const reg = await registrySizes(repo, RUN)
    expect(entry(sizes, 'linux/arm64').compressed).toBe(entry(reg, 'linux/arm64').size)
  })
})

describe('shop: what the action refuses or reports, read as a user would', () => {
  test('a context that leaves out an imported props file is refused by name before any build', () => {
    const ws = makeFixtureWorkspace('shop-narrow', 'shop')
    // src/ holds every project, but not the props files and eng/aot.props above it.
    const r = runAction(ws, { project: 'src/Shop.Api', context: 'src' })
    expect(r.code).not.toBe(0)
    const error = r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? ''
    expect(error).toMatch(/::error::\S+\/shop-narrow\/(Directory\.Build\.props|Directory\.Packages\.props|eng\/aot\.props) is imported when the project is evaluated, but it lies outside the build context \S+\/shop-narrow\/src/)
    expect(error).toContain('"context" input')
    expect(r.stdout).not.toContain('docker buildx build --')
    expect(fs.existsSync(path.join(ws, 'src/Dockerfile.aot'))).toBe(false)
  })

  test("a compile error in the library: the error leads with the failing platforms and dotnet's own line", () => {
    const ws = makeFixtureWorkspace('shop-broken', 'shop')
    editFile(path.join(ws, 'src/Shop.Data/Catalog.cs'), /public const string Revision = "data-0";/, 'public const string Revision = "data-0"')
    const r = runAction(ws, { project: 'src/Shop.Api' })
    expect(r.code).not.toBe(0)
    const error = decodeURIComponent((r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace(/%0A/g, '\n').replace(/%25/g, '%'))
    const lines = error.replace('::error::', '').split('\n')
    expect(lines[0]).toBe('dotnet publish failed for linux/amd64, linux/arm64:')
    expect(lines[1]).toMatch(/^ {2}src\/Shop\.Data\/Catalog\.cs\(\d+,\d+\): error CS1002: ; expected \[src\/Shop\.Data\/Shop\.Data\.csproj\] \(linux\/amd64, linux\/arm64\)$/)
    expect(lines.slice(0, 6).join('\n')).not.toMatch(/RUN --mount|TieredPGO|\bat Microsoft/)
    const head = r.summary.split('<details>')[0]
    expect(head).toContain('error CS1002')
    expect(head).not.toMatch(/RUN --mount|TieredPGO/)
  })

  test('a registry that is down: the error leads with which registry refused, and says what was built', async () => {
    const ws = makeFixtureWorkspace('shop-down', 'shop')
    const port = await freePort()
    const r = runAction(ws, { project: 'src/Shop.Api', tags: `127.0.0.1:${port}/shop/api:1`, push: 'true' })
    expect(r.code).not.toBe(0)
    const error = decodeURIComponent((r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace(/%0A/g, '\n').replace(/%25/g, '%'))
    const lines = error.replace('::error::', '').split('\n')
    expect(lines[0]).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused`))
    expect(lines[1]).toMatch(/^Fix: the registry did not answer/)
    expect(r.summary.split('<details>')[0]).toContain('connection refused')
  })

  test('a RUNNER_TEMP without room (a 2 MB tmpfs) is a clear error before any build', () => {
    const ws = makeFixtureWorkspace('shop-fulltemp', 'shop')
    const temp = path.join(ws, '..', 'shop-fulltemp-tmpfs')
    fs.mkdirSync(temp, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', temp])
    try {
      for (const f of ['output', 'summary', 'state', 'env', 'path']) fs.writeFileSync(path.join(temp, f), '')
      const r = runAction(ws, { project: 'src/Shop.Api' }, { runnerTemp: temp })
      expect(r.code).not.toBe(0)
      expect(r.stdout).toMatch(/::error::RUNNER_TEMP \(.*\) has [\d.]+ MB free; the action needs at least \d+ MB/)
      expect(r.stdout).not.toContain('docker buildx build --')
    } finally {
      execFileSync('umount', [temp])
    }
  })
})
