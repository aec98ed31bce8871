// The smoke test on the real engine: every platform's image, loaded from the build's OCI layout,
// is started before anything is pushed (amd64 natively, arm64 under the QEMU handler the e2e
// set-up registers). A web app that answers is measured and pushed; one that crashes on start
// fails the step with its own last words, and its tag never reaches the registry.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { defaultImages } from '../src/dockerfile/images.js'
import { SMOKE_LABEL } from '../src/smoke/plan.js'
import { docker, editFile, makeFixtureWorkspace, makeWorkspace, output, registryJson, REGISTRY, REPO, runAction, runActionCancelled, WORK, type ActionRun } from './harness.js'

const RUN = `smoke-${Date.now().toString(36)}`

interface Smoke {
  startupMs: number | null
  memoryPeak: number | null
  emulated: boolean
  ok: boolean
  outcome: string
}

function smokeOf(run: ActionRun): Record<string, Smoke> {
  return JSON.parse(output(run, 'smoke')) as Record<string, Smoke>
}

/** The step's error annotation, as lines. */
function errorLines(run: ActionRun): string[] {
  return (run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace('::error::', '').split('%0A')
}

/** Containers and networks the smoke test labelled and did not remove again. */
function labelled(): string {
  return (
    docker(['container', 'ls', '--all', '--quiet', '--filter', `label=${SMOKE_LABEL}`]).toString().trim() + docker(['network', 'ls', '--quiet', '--filter', `label=${SMOKE_LABEL}`]).toString().trim()
  )
}

/** Names of images the smoke test loaded and did not remove again. */
function leftovers(): string[] {
  return docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('aot-buildx-smoke:'))
}

describe('smoke test: a web app on both platforms, before the push', () => {
  const repo = 'aot-e2e/smoke-todo'
  let ok: ActionRun
  let crash: ActionRun

  beforeAll(() => {
    const ws = makeWorkspace('smoke-ok', ['TodoApi'])
    ok = runAction(ws, { project: 'TodoApi', context: 'TodoApi', tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true', 'smoke-url': '/todos/1', 'smoke-test': 'true' })
    console.log(`smoke ok: ${ok.seconds.toFixed(1)} s (exit ${ok.code}); smoke ${ok.outputs.smoke ?? '(none)'}`)
    const broken = makeWorkspace('smoke-crash', ['TodoApi'])
    editFile(path.join(broken, 'TodoApi', 'Program.cs'), /app\.Run\(\);/, 'throw new InvalidOperationException("the database connection string is missing");')
    // One platform is enough to see a crash refused (and halves the compile of the changed source).
    crash = runAction(broken, { project: 'TodoApi', context: 'TodoApi', platforms: 'linux/amd64', tags: `${REGISTRY}/${repo}:${RUN}-crash`, push: 'true', 'smoke-test': 'true' })
    console.log(`smoke crash: ${crash.seconds.toFixed(1)} s (exit ${crash.code})`)
  })

  it('starts each platform, measures start-up and memory natively, marks the emulated one', () => {
    if (ok.code !== 0) throw new Error(`the build failed (exit ${ok.code}):\n${ok.stdout.slice(-5000)}`)
    const smoke = smokeOf(ok)
    expect(smoke['linux/amd64']).toMatchObject({ ok: true, emulated: false })
    expect(smoke['linux/arm64']).toMatchObject({ ok: true, emulated: true })
    for (const s of Object.values(smoke)) expect(s.startupMs).toBeGreaterThan(0)
    // The kernel's figure for the native run: the app and nothing else, tens of MB at most.
    expect(smoke['linux/amd64']?.memoryPeak).toBeGreaterThan(1_000_000)
    expect(smoke['linux/amd64']?.memoryPeak).toBeLessThan(500_000_000)
    expect(ok.summary).toMatch(/\| Start-up \| Memory \|/)
    expect(ok.summary).toMatch(/\| \d+ ms \(QEMU\) \|/)
  })

  it('pushes only after the smoke test, and leaves no image or container behind', async () => {
    expect(ok.code).toBe(0)
    const log = ok.stdout
    expect(log.indexOf('linux/amd64: started in')).toBeGreaterThan(0)
    expect(log.indexOf('linux/amd64: started in')).toBeLessThan(log.indexOf(`Push `))
    expect((await registryJson(repo, RUN)).digest).toBe(output(ok, 'digest'))
    expect(leftovers()).toEqual([])
    expect(docker(['container', 'ls', '--all', '--filter', 'ancestor=aot-buildx-smoke', '--quiet']).toString().trim()).toBe('')
  })

  it('a web app that crashes on start fails the step with its own error, and nothing is pushed', async () => {
    expect(crash.code).not.toBe(0)
    const error = (crash.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace('::error::', '').split('%0A')
    expect(error[0]).toBe('the built images failed their checks:')
    expect(error[1]).toMatch(/^linux\/amd64: the smoke test failed: the app exited \(code \d+\) before answering \/:$/)
    expect(error.join('\n')).toContain('the database connection string is missing')
    await expect(registryJson(repo, `${RUN}-crash`)).rejects.toThrow('registry answered 404')
    expect(crash.outputs.sizes).toBeDefined()
    expect(leftovers()).toEqual([])
  })
})

describe('smoke test: a console app', () => {
  it('must exit 0; its run time is its start-up figure', () => {
    const ws = makeWorkspace('smoke-console', ['HelloAot'])
    const run = runAction(ws, { project: 'HelloAot', context: 'HelloAot', platforms: 'linux/amd64' })
    if (run.code !== 0) throw new Error(`the build failed (exit ${run.code}):\n${run.stdout.slice(-5000)}`)
    const smoke = smokeOf(run)
    expect(Object.keys(smoke)).toEqual(['linux/amd64'])
    expect(smoke['linux/amd64']).toMatchObject({ ok: true, emulated: false, memoryPeak: null })
    expect(smoke['linux/amd64']?.startupMs).toBeGreaterThan(0)
  })
})

describe('smoke test: a worker service (e2e/fixtures/worker) runs until it is stopped', () => {
  const repo = 'aot-e2e/smoke-worker'
  const project = 'Worker/Worker.csproj'
  let ws: string
  let worker: ActionRun

  beforeAll(() => {
    ws = makeFixtureWorkspace('smoke-worker', 'worker')
    worker = runAction(ws, { project, platforms: 'linux/amd64', tags: `${REGISTRY}/${repo}:${RUN}`, push: 'true' })
    console.log(`smoke worker: ${worker.seconds.toFixed(1)} s (exit ${worker.code}); smoke ${worker.outputs.smoke ?? '(none)'}`)
  })

  it('passes the default smoke test: ran its window, then stopped cleanly on SIGTERM; measured and pushed', async () => {
    if (worker.code !== 0) throw new Error(`the run failed (exit ${worker.code}):\n${worker.stdout.slice(-5000)}`)
    const amd = smokeOf(worker)['linux/amd64']
    expect(amd).toMatchObject({ ok: true, emulated: false })
    expect(amd?.outcome).toMatch(/^ran \d+\.\d s, then stopped cleanly on SIGTERM \(in \d+\.\d s\)$/)
    // Start-up is its first output line; memory is read while it runs (a worker has a cgroup to read).
    expect(amd?.startupMs).toBeGreaterThan(0)
    expect(amd?.memoryPeak).toBeGreaterThan(1_000_000)
    expect(worker.summary).toMatch(/- `linux\/amd64`: ran \d+\\\.\d s, then stopped cleanly on SIGTERM/)
    expect((await registryJson(repo, RUN)).digest).toBe(output(worker, 'digest'))
    expect(leftovers()).toEqual([])
    expect(labelled()).toBe('')
  })

  it('a worker that hangs while stopping fails with what happened and its last lines, and is not pushed', async () => {
    const hang = runAction(ws, { project, platforms: 'linux/amd64', tags: `${REGISTRY}/${repo}:${RUN}-hang`, push: 'true', 'smoke-args': '--mode=hang-on-stop' })
    expect(hang.code).not.toBe(0)
    const error = errorLines(hang)
    expect(error[0]).toBe('the built images failed their checks:')
    expect(error[1]).toMatch(/^linux\/amd64: the smoke test failed: ran \d+\.\d s, then did not stop within 10\.0 s of SIGTERM and was killed/)
    expect(error.join('\n')).toContain('waiting for a lock that is never released')
    expect(smokeOf(hang)['linux/amd64']).toMatchObject({ ok: false })
    await expect(registryJson(repo, `${RUN}-hang`)).rejects.toThrow('registry answered 404')
    expect(labelled()).toBe('')
  })

  it('a worker that crashes in its window fails with its exit code and last lines, in the log and the summary', () => {
    const crash = runAction(ws, { project, platforms: 'linux/amd64', 'smoke-args': '--mode=crash' })
    expect(crash.code).not.toBe(0)
    const error = errorLines(crash)
    expect(error[1]).toMatch(/^linux\/amd64: the smoke test failed: exited with code [1-9]\d* after \d+\.\d s:$/)
    expect(error.join('\n')).toContain('the queue connection string is missing')
    expect(crash.summary).toMatch(/- `linux\/amd64`: ❌ exited with code [1-9]\d* after/)
    expect(crash.summary).toMatch(/Last lines of `linux\/amd64`:\n\n```+\n[\s\S]*the queue connection string is missing/)
    expect(crash.summary).not.toContain('did not start')
  })

  it('reaches neither another container nor the runner\'s loopback services', () => {
    // A listener on the default bridge, where containers without a network of their own can reach it.
    const helper = docker(['run', '--detach', '--rm', '--label', 'aot-e2e-smoke-helper', '--entrypoint', 'perl', defaultImages(10, '', 'chiseled').sdk, '-MIO::Socket::INET', '-e', 'my $s = IO::Socket::INET->new(LocalPort => 18080, Listen => 5, ReuseAddr => 1) or die; while (my $c = $s->accept) { close $c }'])
      .toString()
      .trim()
    try {
      const ip = docker(['container', 'inspect', '--format', '{{.NetworkSettings.IPAddress}}', helper]).toString().trim()
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
      // The registry listens on the runner's 127.0.0.1:5000 only: not through the gateway either.
      const probe = runAction(ws, { project, platforms: 'linux/amd64', 'smoke-args': `--probe=${ip}:18080,gateway:5000` })
      if (probe.code !== 0) throw new Error(`the probe reached something or failed (exit ${probe.code}):\n${probe.stdout.slice(-3000)}`)
      expect(smokeOf(probe)['linux/amd64']?.outcome).toMatch(/^exited with code 0 after/)
    } finally {
      docker(['rm', '--force', helper])
    }
  })

  it('a cancelled job leaves no container or network behind: the post step removes what is labelled', async () => {
    const cancelled = await runActionCancelled(ws, { project, platforms: 'linux/amd64', 'smoke-window': '120s' }, () => docker(['container', 'ls', '--quiet', '--filter', `label=${SMOKE_LABEL}`]).toString().trim() !== '')
    // Cancelled while its labelled container ran (an action without the label runs to its end instead).
    expect(cancelled.code).toBe(130)
    expect(cancelled.stdout).toContain('Smoke test linux/amd64')
    expect(labelled()).toBe('')
    expect(leftovers()).toEqual([])
  })
})

describe('smoke test: an image proven before is not started again (the Actions cache service stand-in)', () => {
  const STATE = process.env.AOT_CACHE_STATE ?? '/var/tmp/aot-buildx-cache'
  // A branch of this run's own: the service keeps entries between test runs, by scope.
  const BRANCH = `smoke-proof-${RUN}`

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
  const token = (...scopes: string[]): string => execFileSync('bash', [path.join(REPO, 'scripts', 'cache-service.sh'), 'token', ...scopes], { encoding: 'utf8' }).trim()

  /** A push to the branch, with a token for its scope, as GitHub gives one. */
  function runnerEnv(n: number): Record<string, string> {
    const event = path.join(WORK, `smoke-proof-${RUN}-event-${n}.json`)
    fs.mkdirSync(WORK, { recursive: true })
    fs.writeFileSync(event, JSON.stringify({ repository: { full_name: 'octo/shop', default_branch: BRANCH, private: false } }))
    return {
      ...serviceEnv(),
      GITHUB_EVENT_PATH: event,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REPOSITORY: 'octo/shop',
      GITHUB_RUN_ID: `${Date.now()}`,
      GITHUB_SHA: `${n}`.repeat(40),
      GITHUB_REF: `refs/heads/${BRANCH}`,
      ACTIONS_RUNTIME_TOKEN: token(`refs/heads/${BRANCH}`)
    }
  }

  /** The run, and the containers the engine created with the smoke test's label while it ran (docker events, not the action's own log). */
  function counted(ws: string, n: number): { run: ActionRun; created: string[] } {
    // To the millisecond: the test before this one (a cancelled job) created a labelled container
    // in the second before this run began, and a whole-second window counted it (CI, stop 28).
    const since = (Date.now() / 1000).toFixed(3)
    // Only the proofs go through the service: no layer cache or package export to wait for.
    // Both platforms are built (as the realistic suite builds them: cached), one is started: auto starts the native one only.
    const run = runAction(ws, { project: 'src/Shop.Api', cache: 'none', 'nuget-cache': 'false' }, { env: runnerEnv(n) })
    const until = Math.ceil(Date.now() / 1000) + 1
    const events = docker(['events', '--since', since, '--until', String(until), '--filter', 'type=container', '--filter', 'event=create', '--filter', `label=${SMOKE_LABEL}`, '--format', '{{.ID}} {{index .Actor.Attributes "image"}}']).toString()
    return { run, created: events.split('\n').filter((l) => l.trim() !== '') }
  }

  it('a second run of the unchanged image starts no container, and reuses the first run\'s figures, marked as reused', () => {
    // The realistic shop fixture's web app: project references, central package management, props above it.
    const ws = makeFixtureWorkspace('smoke-proof', 'shop')
    const first = counted(ws, 1)
    if (first.run.code !== 0) throw new Error(`run 1 failed (exit ${first.run.code}):\n${first.run.stdout.slice(-5000)}`)
    // The control: the first run really started its image.
    expect(first.created).toHaveLength(1)
    // auto started the native platform only, though QEMU is registered here.
    expect(Object.keys(smokeOf(first.run))).toEqual(['linux/amd64'])
    const proven = smokeOf(first.run)['linux/amd64']
    expect(proven).toMatchObject({ ok: true, emulated: false })
    expect(first.run.stdout).not.toContain('figures reused')

    const second = counted(ws, 2)
    if (second.run.code !== 0) throw new Error(`run 2 failed (exit ${second.run.code}):\n${second.run.stdout.slice(-5000)}`)
    // The same image, to the byte: its platform manifest digest did not change.
    expect(JSON.parse(output(second.run, 'sizes'))).toEqual(JSON.parse(output(first.run, 'sizes')))
    expect(second.created).toEqual([])
    const reused = smokeOf(second.run)['linux/amd64']
    expect(reused).toMatchObject({ ok: true, emulated: false, startupMs: proven?.startupMs })
    expect(reused?.outcome).toMatch(new RegExp(`^${(proven?.outcome ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; figures reused: this image digest passed the smoke test before \\(run \\d+, commit 1111111\\) and was not started again$`))
    expect(second.run.stdout).toMatch(/^linux\/amd64: started in \d+ ms.*; figures reused: this image digest passed the smoke test before/m)
    expect(second.run.summary).toMatch(/\| \d+ ms \(reused\) \|/)
    expect(labelled()).toBe('')

  })
})
