// The user's own build caches on the real engine (docker driver, containerd image store):
// cache-to writes a local and a registry cache; after the builder is emptied completely, as a
// fresh runner's is, a build with either cache-from restores and publishes from cache.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { docker, makeWorkspace, registryJson, REGISTRY, runAction, stepCacheState, WORK, type ActionRun } from './harness.js'

const RUN = `cache-${Date.now().toString(36)}`

function must(run: ActionRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
}

/** Everything the builder holds (layers, cache mounts), as on a fresh runner. */
function emptyBuilder(): void {
  docker(['buildx', 'prune', '--all', '--force'])
}

describe('cache-from / cache-to: local and registry caches survive an emptied builder', () => {
  const local = path.join(WORK, `${RUN}-local`)
  const ref = `${REGISTRY}/aot-e2e/buildcache:${RUN}`
  let first: ActionRun

  beforeAll(() => {
    fs.rmSync(local, { recursive: true, force: true })
    const ws = makeWorkspace('cache-first', ['HelloAot'])
    // A value of this run's own, so no earlier cache holds this build.
    const program = path.join(ws, 'HelloAot', 'Program.cs')
    fs.writeFileSync(program, fs.readFileSync(program, 'utf8').replace('Hello, World!', `Hello from ${RUN}`))
    // One cache per build: BuildKit 0.13 (Docker 26) writes a local cache without its index when
    // it exports another cache in the same build (the action warns about that combination).
    // One platform: the caches do not depend on it, and every build after the emptying is cold.
    first = runAction(ws, { project: 'HelloAot', context: 'HelloAot', platforms: 'linux/amd64', 'cache-to': `type=local,dest=${local},mode=max` })
    must(first, 'the first build')
    must(runAction(ws, { project: 'HelloAot', context: 'HelloAot', platforms: 'linux/amd64', 'cache-to': `type=registry,ref=${ref},mode=max` }), 'the registry export')
  })

  it('writes both caches', async () => {
    expect(fs.existsSync(path.join(local, 'index.json'))).toBe(true)
    expect((await registryJson('aot-e2e/buildcache', RUN)).digest).toMatch(/^sha256:/)
    expect(first.stdout).toContain(`--cache-to type=local,dest=${local},mode=max`)
  })

  it.each([
    ['local', () => `type=local,src=${local}`],
    ['registry', () => `type=registry,ref=${ref}`]
  ])('a fresh builder with the %s cache restores and publishes from it', (_name, from) => {
    emptyBuilder()
    const ws = makeWorkspace(`cache-${_name}`, ['HelloAot'])
    const program = path.join(ws, 'HelloAot', 'Program.cs')
    fs.writeFileSync(program, fs.readFileSync(program, 'utf8').replace('Hello, World!', `Hello from ${RUN}`))
    const run = runAction(ws, { project: 'HelloAot', context: 'HelloAot', platforms: 'linux/amd64', 'cache-from': from() })
    must(run, `the build from the ${_name} cache`)
    // restore and publish are the expensive steps: both come from the imported cache.
    const runs = [...run.stdout.matchAll(/^#(\d+) \[([^\]]*)\] RUN /gm)].map(([, n, name]) => `${name ?? ''}: ${new RegExp(`^#${n ?? ''} CACHED$`, 'm').test(run.stdout) ? 'CACHED' : 'ran'}`)
    console.log(`${_name} cache, RUN steps: ${runs.join('; ')}`)
    for (const step of [/^RUN .*dotnet restore/, /^RUN .*aot-publish/]) {
      const states = stepCacheState(run.stdout, step)
      expect(states.length).toBeGreaterThan(0)
      expect(`${String(step)}: ${states.map((c) => (c ? 'CACHED' : 'ran')).join(', ')}`).toBe(`${String(step)}: ${states.map(() => 'CACHED').join(', ')}`)
    }
    console.log(`fresh builder, ${_name} cache: ${run.seconds.toFixed(1)} s (first build ${first.seconds.toFixed(1)} s)`)
  })
})
