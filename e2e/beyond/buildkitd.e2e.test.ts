// Builders beyond the docker driver, end to end: a standalone BuildKit daemon (the `buildkitd`
// binary named by AOT_BUILDKITD) used as a buildx `remote` builder, and the docker-container
// builder the action creates itself from a BuildKit image (AOT_BUILDKIT_IMAGE, an image whose
// entrypoint is buildkitd, as moby/buildkit's is). Outside CI's suite list: moby/buildkit's image
// cannot be pulled on our CI machines, and buildkitd is built from its public source for this
// suite (README, "Builders beyond the docker driver"). Run it with scripts/e2e-buildkitd.sh.
//
// Neither builder sees the engine's images: the base images are pushed to the local registry,
// which each builder's buildkitd config names as the mirror of mcr.microsoft.com.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { REGISTRY, WORK, docker, freePort, makeFixtureWorkspace, makeWorkspace, output, registryJson, runAction, waitForHttp, type ActionRun } from '../harness.js'

const ENGINE_STATE = process.env.AOT_ENGINE_STATE ?? '/var/tmp/aot-buildx-engine'

const BUILDKITD = process.env.AOT_BUILDKITD ?? ''
const IMAGE = process.env.AOT_BUILDKIT_IMAGE ?? ''
const RUN = Date.now().toString(36)
const REMOTE = `aot-e2e-remote-${RUN}`
const BASES = ['sdk:10.0-noble-aot', 'runtime-deps:10.0-noble-chiseled', 'runtime-deps:10.0-noble-chiseled-extra']
const CONFIG = `[registry."mcr.microsoft.com"]\n  mirrors = ["${REGISTRY}"]\n[registry."${REGISTRY}"]\n  http = true\n  insecure = true\n`

function must(run: ActionRun, what: string): ActionRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-8000)}`)
  return run
}

interface Desc {
  digest: string
  platform?: { os: string; architecture: string }
  annotations?: Record<string, string>
}

/** The platforms an index in the registry holds (attestation manifests left out). */
async function platformsOf(repo: string, ref: string): Promise<string[]> {
  const { body } = await registryJson(repo, ref)
  return ((body.manifests ?? []) as Desc[])
    .filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')
    .map((m) => `${m.platform?.os ?? ''}/${m.platform?.architecture ?? ''}`)
    .sort()
}

interface DockerEvent {
  Action: string
  Actor: { ID: string; Attributes: Record<string, string> }
}

/** The engine's network and container events since `since` (seconds), up to now. */
function engineEvents(since: number): DockerEvent[] {
  const out = docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', 'type=container', '--format', '{{json .}}']).toString()
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DockerEvent & { Type: string })
}

/** The networks the builder's container (buildx_buildkit_<builder>0) joined, and the networks made that are not the smoke test's. */
function builderNetworks(events: DockerEvent[]): { builder: string; joined: string[]; created: string[]; destroyed: string[] } {
  const created = events.find((e) => e.Action === 'create' && /^buildx_buildkit_aot-buildx-[\w.-]+0$/.test(e.Actor.Attributes.name ?? '') && e.Actor.Attributes.image !== undefined)
  const id = created?.Actor.ID ?? ''
  const network = (e: DockerEvent): boolean => e.Actor.Attributes.type !== undefined
  const ours = (e: DockerEvent): boolean => network(e) && !(e.Actor.Attributes.name ?? '').startsWith('aot-buildx-smoke-')
  return {
    builder: created?.Actor.Attributes.name ?? '',
    joined: events.filter((e) => network(e) && e.Action === 'connect' && e.Actor.Attributes.container === id).map((e) => e.Actor.Attributes.name ?? ''),
    created: events.filter((e) => ours(e) && e.Action === 'create').map((e) => e.Actor.Attributes.name ?? ''),
    destroyed: events.filter((e) => ours(e) && e.Action === 'destroy').map((e) => e.Actor.Attributes.name ?? '')
  }
}

let daemon: ChildProcess | undefined
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-e2e-buildkitd-'))
const root = `/var/lib/aot-e2e-buildkitd-${RUN}`

beforeAll(async () => {
  // Preconditions: this suite fails, never skips, without them.
  if (BUILDKITD === '' || !fs.existsSync(BUILDKITD)) throw new Error(`AOT_BUILDKITD must name a buildkitd binary (got "${BUILDKITD}"): see README, "Builders beyond the docker driver"`)
  if (IMAGE === '') throw new Error('AOT_BUILDKIT_IMAGE must name a BuildKit image (entrypoint buildkitd) the engine can run: see README, "Builders beyond the docker driver"')
  for (const b of BASES) {
    docker(['tag', `mcr.microsoft.com/dotnet/${b}`, `${REGISTRY}/dotnet/${b}`])
    docker(['push', '-q', `${REGISTRY}/dotnet/${b}`])
  }
  fs.writeFileSync(path.join(dir, 'buildkitd.toml'), CONFIG)
  const sock = path.join(dir, 'buildkitd.sock')
  const log = fs.openSync(path.join(dir, 'buildkitd.log'), 'w')
  daemon = spawn(
    BUILDKITD,
    ['--config', path.join(dir, 'buildkitd.toml'), '--addr', `unix://${sock}`, '--root', root, '--otel-socket-path', path.join(dir, 'otel.sock'), '--oci-worker=true', '--oci-worker-net', 'host', '--containerd-worker=false'],
    { stdio: ['ignore', log, log], detached: true }
  )
  docker(['buildx', 'create', '--name', REMOTE, '--driver', 'remote', `unix://${sock}`])
  // Ready when buildx can talk to it (bootstrap retries the socket until the daemon answers).
  for (let i = 0; ; i++) {
    try {
      docker(['buildx', 'inspect', '--bootstrap', REMOTE])
      break
    } catch (e) {
      if (i >= 60 || daemon.exitCode !== null) throw new Error(`buildkitd did not come up: ${fs.readFileSync(path.join(dir, 'buildkitd.log'), 'utf8').slice(-3000)}\n${String(e)}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  const version = execFileSync(BUILDKITD, ['--version'], { encoding: 'utf8' }).trim()
  console.log(`remote builder ${REMOTE}: ${version}`)
}, 10 * 60 * 1000)

afterAll(() => {
  try {
    docker(['buildx', 'rm', REMOTE])
  } catch {
    // not created
  }
  if (daemon?.pid !== undefined) {
    try {
      process.kill(daemon.pid, 'SIGTERM')
    } catch {
      // gone
    }
  }
  fs.rmSync(root, { recursive: true, force: true })
})

describe('a standalone buildkitd as a buildx remote builder', () => {
  const ws = makeWorkspace(`bk-remote-${RUN}`, ['HelloAot'])
  const repo = `aot-e2e/bk-hello-${RUN}`
  const base = { project: 'HelloAot', context: 'HelloAot', builder: REMOTE }
  const digests: Record<string, string> = {}

  test('two platforms built, the runner\'s smoke-tested, pushed: the registry holds exactly the index the action names', async () => {
    const run = must(runAction(ws, { ...base, platforms: 'linux/amd64,linux/arm64', push: 'true', tags: `${REGISTRY}/${repo}:both` }), 'two-platform push')
    const index = await registryJson(repo, 'both')
    expect(output(run, 'digest')).toBe(index.digest)
    expect(await platformsOf(repo, 'both')).toEqual(['linux/amd64', 'linux/arm64'])
    // smoke-test: auto starts the runner's own platform (none under QEMU).
    const smoke = JSON.parse(output(run, 'smoke')) as Record<string, { ok: boolean }>
    expect(Object.entries(smoke).map(([p, r]) => [p, r.ok])).toEqual([['linux/amd64', true]])
  })

  test('one platform pushed by tag: the pushed manifest is the one the action names', async () => {
    const run = must(runAction(ws, { ...base, platforms: 'linux/amd64', push: 'true', tags: `${REGISTRY}/${repo}:amd64` }), 'one-platform push')
    expect(output(run, 'digest')).toBe((await registryJson(repo, 'amd64')).digest)
  })

  // The case that failed before: buildx pushes during the build, and the layout's index.json
  // names the registry's index, whose provenance differs from the layout's own.
  test.each([
    ['linux/amd64', 'false'],
    ['linux/arm64', 'auto']
  ])('push by digest, %s, smoke-test %s, provenance on: a digest the registry holds, a summary, no stack trace', async (platform, smokeTest) => {
    const run = must(runAction(ws, { ...base, platforms: platform, 'push-by-digest': 'true', tags: `${REGISTRY}/${repo}`, 'smoke-test': smokeTest }), `push by digest ${platform}`)
    const digest = output(run, 'digest')
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect((await registryJson(repo, digest)).digest).toBe(digest)
    expect(run.summary).toContain('HelloAot')
    expect(run.stdout).not.toMatch(/^\s+at .*\(.*\.js:\d+:\d+\)$/m)
    digests[platform] = digest
  })

  test('merge joins the two digests under one tag: an index of both platforms', async () => {
    const run = must(runAction(ws, { mode: 'merge', digests: [digests['linux/amd64'], digests['linux/arm64']].join('\n'), tags: `${REGISTRY}/${repo}:merged`, builder: REMOTE }), 'merge')
    expect(output(run, 'digest')).toBe((await registryJson(repo, 'merged')).digest)
    expect(await platformsOf(repo, 'merged')).toEqual(['linux/amd64', 'linux/arm64'])
  })
})

describe('the docker-container builder the action creates (driver-opts image=AOT_BUILDKIT_IMAGE)', () => {
  const ws = makeFixtureWorkspace(`bk-own-${RUN}`, 'shop')
  const repo = `aot-e2e/bk-shop-api-${RUN}`
  const inputs = { project: 'src/Shop.Api', 'driver-opts': `image=${IMAGE}`, 'buildkitd-config-inline': CONFIG, platforms: 'linux/amd64,linux/arm64', push: 'true', tags: `${REGISTRY}/${repo}:main` }

  test('on a push: created on the host network, the shop API built for both platforms, the runner\'s started, pushed; removed after the job', async () => {
    const since = Math.floor(Date.now() / 1000)
    const run = must(runAction(ws, inputs), 'own builder on push')
    expect(run.stdout).toMatch(/creating a docker-container builder/)
    // On the host's network: no network of its own made, its container joined the host's.
    const net = builderNetworks(engineEvents(since))
    expect(net.builder).toMatch(/^buildx_buildkit_aot-buildx-/)
    expect(net.joined).toEqual(['host'])
    expect(net.created).toEqual([])
    expect(output(run, 'digest')).toBe((await registryJson(repo, 'main')).digest)
    expect(await platformsOf(repo, 'main')).toEqual(['linux/amd64', 'linux/arm64'])
    const smoke = JSON.parse(output(run, 'smoke')) as Record<string, { ok: boolean }>
    expect(Object.entries(smoke).map(([p, r]) => [p, r.ok])).toEqual([['linux/amd64', true]])
    // The post step removed the builder it made.
    expect(docker(['buildx', 'ls']).toString()).not.toMatch(/aot-buildx-/)
  })

  // Its own bridge network does not reach the runner's loopback, where the registry listens: the
  // same registry storage is served on the default bridge's gateway address for this case.
  test('on a pull request: the builder gets a bridge network of its own (labelled), not the host network, and both are removed after the job', async () => {
    const gateway = (JSON.parse(docker(['network', 'inspect', 'bridge']).toString()) as { IPAM: { Config: { Gateway: string }[] } }[])[0]?.IPAM.Config[0]?.Gateway ?? ''
    const port = await freePort()
    const config = path.join(dir, 'registry.yml')
    fs.writeFileSync(config, fs.readFileSync(path.join(ENGINE_STATE, 'registry.yml'), 'utf8').replace(/^(\s*addr:).*$/m, `$1 ${gateway}:${port}`))
    const registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
    const since = Math.floor(Date.now() / 1000)
    try {
      await waitForHttp(`http://${gateway}:${port}/v2/`)
      const mirror = CONFIG.replaceAll(REGISTRY, `${gateway}:${port}`)
      const event = path.join(WORK, `bk-own-${RUN}-event.json`)
      fs.writeFileSync(event, JSON.stringify({ number: 7, pull_request: { number: 7, head: { sha: 'b'.repeat(40) } }, repository: { full_name: 'octo/shop', default_branch: 'main', private: false } }))
      const run = must(
        runAction(ws, { ...inputs, 'buildkitd-config-inline': mirror, platforms: 'linux/amd64', push: 'false', tags: `${REGISTRY}/${repo}:pr` }, { env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: event, GITHUB_REF: 'refs/pull/7/merge', GITHUB_BASE_REF: 'main', GITHUB_REPOSITORY: 'octo/shop' } }),
        'own builder on pull_request'
      )
      // Built through the mirror on the bridge's gateway, and started.
      expect((JSON.parse(output(run, 'smoke')) as Record<string, { ok: boolean }>)['linux/amd64']?.ok).toBe(true)
      // A network of the builder's own name, the builder's container on it alone (never the
      // host's), and the post step removed both.
      const net = builderNetworks(engineEvents(since))
      const name = net.builder.replace(/^buildx_buildkit_/, '').replace(/0$/, '')
      expect(name).toMatch(/^aot-buildx-/)
      expect(net.created).toEqual([name])
      expect(net.joined).toEqual([name])
      expect(net.destroyed).toEqual([name])
      expect(docker(['ps', '-a', '--format', '{{.Names}}']).toString()).not.toContain(net.builder)
    } finally {
      registry.kill()
    }
  })
})
