// The smoke test on the real engine: every platform's image, loaded from the build's OCI layout,
// is started before anything is pushed (amd64 natively, arm64 under the QEMU handler the e2e
// set-up registers). A web app that answers is measured and pushed; one that crashes on start
// fails the step with its own last words, and its tag never reaches the registry.
import * as path from 'node:path'
import { docker, editFile, makeWorkspace, output, registryJson, REGISTRY, runAction, type ActionRun } from './harness.js'

const RUN = `smoke-${Date.now().toString(36)}`

interface Smoke {
  startupMs: number | null
  memoryPeak: number | null
  emulated: boolean
  ok: boolean
}

function smokeOf(run: ActionRun): Record<string, Smoke> {
  return JSON.parse(output(run, 'smoke')) as Record<string, Smoke>
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
