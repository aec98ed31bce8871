// Reproducible images, end to end on the real engine and registry. The same commit is built
// twice, the second time with every step run again (no-cache: what an emptied builder does), and
// gives the same platform manifests; without provenance (BuildKit writes the build's start and
// end times and an invocation id into every provenance attestation) the same index too. A job
// that builds one platform makes the image the two-platform build made for it. The timestamps
// come from the commit (the workspace is a git checkout, as actions/checkout leaves it).
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { entry, makeFixtureWorkspace, makeWorkspace, REGISTRY, registryJson, registrySizes, runAction, stepCacheState, WORK, type ActionRun } from './harness.js'

const RUN = `repro-${Date.now().toString(36)}`
const REPO = 'aot-e2e/repro'
// 2025-01-01T00:00:00Z: the committer time every test checkout gets.
const COMMIT_TIME = 1735689600
const BOTH = 'linux/amd64,linux/arm64'

interface Sizes {
  [platform: string]: { digest: string }
}

function must(run: ActionRun, what: string): ActionRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
  return run
}

/** A checkout of one commit whose committer time is COMMIT_TIME (and author time another). */
function commit(ws: string): void {
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'release']]) {
    const r = spawnSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
      cwd: ws,
      env: { ...process.env, GIT_COMMITTER_DATE: `@${COMMIT_TIME} +0000`, GIT_AUTHOR_DATE: '@1700000000 +0000' },
      encoding: 'utf8'
    })
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`)
  }
}

const platformDigests = (run: ActionRun): Record<string, string> =>
  Object.fromEntries(Object.entries(JSON.parse(entry(run.outputs, 'sizes')) as Sizes).map(([p, s]) => [p, s.digest]))

describe('reproducible images: the same commit gives the same image', () => {
  let todo = ''
  const runs = {} as Record<'first' | 'again' | 'amd64' | 'provenance' | 'repeat', ActionRun>

  beforeAll(() => {
    todo = makeWorkspace(`${RUN}-todo`, ['TodoApi'])
    commit(todo)
    const inputs = { project: 'TodoApi', context: 'TodoApi', platforms: BOTH, push: 'true', provenance: 'false', 'smoke-test': 'false' }
    runs.first = must(runAction(todo, { ...inputs, tags: `${REGISTRY}/${REPO}:${RUN}-first` }), 'the first build')
    runs.again = must(runAction(todo, { ...inputs, tags: `${REGISTRY}/${REPO}:${RUN}-again`, 'no-cache': 'true' }), 'the build with every step again')
    runs.amd64 = must(runAction(todo, { ...inputs, platforms: 'linux/amd64', tags: `${REGISTRY}/${REPO}:${RUN}-amd64` }), 'the one-platform build')
    runs.provenance = must(runAction(todo, { project: 'TodoApi', context: 'TodoApi', platforms: BOTH, 'smoke-test': 'false' }), 'the build with provenance')
    // The first build again, to its tag and a new one: the registry holds the index under the first.
    runs.repeat = must(runAction(todo, { ...inputs, tags: `${REGISTRY}/${REPO}:${RUN}-first\n${REGISTRY}/${REPO}:${RUN}-repeat` }), 'the first build repeated')
    for (const [k, r] of Object.entries(runs)) console.log(`reproducible: ${k} ${r.seconds.toFixed(1)} s, index ${r.outputs.digest}, ${JSON.stringify(platformDigests(r))}`)
  })

  test('the timestamps come from the commit, and the log says so', () => {
    for (const r of Object.values(runs)) expect(r.stdout).toContain(`Image timestamps: source-date-epoch ${COMMIT_TIME} (2025-01-01T00:00:00.000Z), the commit time of HEAD`)
  })

  test('the second build ran every step again (nothing from the cache)', () => {
    const publish = stepCacheState(runs.again.stdout, /aot-publish/)
    expect(publish.length).toBeGreaterThan(0)
    expect(publish.every((cached) => !cached)).toBe(true)
    expect(stepCacheState(runs.again.stdout, /dotnet restore/).every((cached) => !cached)).toBe(true)
  })

  test('both builds pushed the same index and the same platform manifests', async () => {
    expect(runs.again.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(runs.again.outputs.digest).toBe(runs.first.outputs.digest)
    const first = await registrySizes(REPO, `${RUN}-first`)
    const again = await registrySizes(REPO, `${RUN}-again`)
    expect(Object.keys(first).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    expect(again).toEqual(first)
    expect(platformDigests(runs.again)).toEqual(platformDigests(runs.first))
  })

  test("the image config's times are the commit's", async () => {
    const first = await registrySizes(REPO, `${RUN}-first`)
    const manifest = await registryJson(REPO, entry(first, 'linux/arm64').digest)
    const res = await fetch(`http://${REGISTRY}/v2/${REPO}/blobs/${(manifest.body.config as { digest: string }).digest}`)
    const config = (await res.json()) as { created: string; history: { created?: string }[] }
    expect(config.created).toBe('2025-01-01T00:00:00Z')
    // The layers this build made (the base image's history keeps its own times).
    expect(config.history.at(-1)?.created).toBe('2025-01-01T00:00:00Z')
  })

  test("every file of the layers the build made carries the commit's time (rewrite-timestamp)", async () => {
    const first = await registrySizes(REPO, `${RUN}-first`)
    const manifest = await registryJson(REPO, entry(first, 'linux/arm64').digest)
    const app = (manifest.body.layers as { digest: string }[]).at(-1)?.digest ?? ''
    const blob = Buffer.from(await (await fetch(`http://${REGISTRY}/v2/${REPO}/blobs/${app}`)).arrayBuffer())
    const file = path.join(WORK, `${RUN}-app-layer.tar.gz`)
    fs.writeFileSync(file, blob)
    const listing = execFileSync('tar', ['-tvzf', file, '--full-time'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).trim().split('\n')
    expect(listing.some((l) => / app\/TodoApi$/.test(l))).toBe(true)
    for (const line of listing) expect(line).toMatch(/ 2025-01-01 00:00:00 /)
  })

  test('the same build again: the tag that holds its index already is not pushed again, a new tag is', async () => {
    expect(runs.repeat.outputs.digest).toBe(runs.first.outputs.digest)
    expect(runs.repeat.stdout).toContain(`The registry already holds ${runs.first.outputs.digest} under ${REGISTRY}/${REPO}:${RUN}-first: not pushed again.`)
    expect(runs.repeat.stdout).toMatch(new RegExp(`^::group::Push ${runs.first.outputs.digest} to ${REGISTRY}/${REPO}:${RUN}-repeat$`, 'm'))
    expect((await registryJson(REPO, `${RUN}-repeat`)).digest).toBe(runs.first.outputs.digest)
  })

  test('a job that builds one platform makes the image the two-platform build made for it', () => {
    expect(entry(platformDigests(runs.amd64), 'linux/amd64')).toBe(entry(platformDigests(runs.first), 'linux/amd64'))
  })

  test('with provenance (the default), the platform manifests are the same; the index differs by the attestation alone', () => {
    expect(platformDigests(runs.provenance)).toEqual(platformDigests(runs.first))
    expect(runs.provenance.outputs.digest).not.toBe(runs.first.outputs.digest)
  })
})

describe('reproducible images: the shop fixture (a library, central package management, native SQLite)', () => {
  test('Shop.Api with a health check (its probe is a layer of its own) built twice, the second time with every step again: the same index and platform manifests', async () => {
    const ws = makeFixtureWorkspace(`${RUN}-shop`, 'shop')
    commit(ws)
    const inputs = { project: 'src/Shop.Api', platforms: BOTH, push: 'true', provenance: 'false', 'smoke-test': 'false', healthcheck: '/healthz' }
    const first = must(runAction(ws, { ...inputs, tags: `${REGISTRY}/${REPO}:${RUN}-shop-first` }), 'the first Shop.Api build')
    const again = must(runAction(ws, { ...inputs, tags: `${REGISTRY}/${REPO}:${RUN}-shop-again`, 'no-cache': 'true' }), 'the second Shop.Api build')
    console.log(`reproducible: shop ${first.seconds.toFixed(1)} s then ${again.seconds.toFixed(1)} s, index ${first.outputs.digest} / ${again.outputs.digest}`)
    expect(stepCacheState(again.stdout, /aot-publish/).every((cached) => !cached)).toBe(true)
    expect(again.outputs.digest).toBe(first.outputs.digest)
    expect(await registrySizes(REPO, `${RUN}-shop-again`)).toEqual(await registrySizes(REPO, `${RUN}-shop-first`))
  })
})
