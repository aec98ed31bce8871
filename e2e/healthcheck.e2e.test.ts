// The healthcheck input on the real engine: the web sample, with a health endpoint and one
// that answers 500 added to its copy, built for linux/amd64 and linux/arm64 with
// `healthcheck: /healthz` and with `healthcheck: /broken`, pushed, then run on each platform
// (arm64 under QEMU). Docker itself runs the probe: each container must turn healthy or
// unhealthy as its endpoint says, read from `docker inspect` until a deadline.
import { execFileSync } from 'node:child_process'
import * as path from 'node:path'
import { docker, editFile, entry, makeWorkspace, REGISTRY, registrySizes, removeContainer, runAction, startContainer, type ActionRun } from './harness.js'

const RUN = Date.now().toString(36)
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const
const ELF = { 'linux/amd64': 0x3e, 'linux/arm64': 0xb7 } as const
const REPO = 'aot-e2e/healthcheck'
const PROBE = '/usr/local/bin/aot-healthcheck'
/** Well under 1 MB. */
const MAX_PROBE_BYTES = 64 * 1024

function must(run: ActionRun): void {
  if (run.code !== 0) throw new Error(`action failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
}

interface Health {
  Status: string
  FailingStreak: number
  Log: { ExitCode: number; Output: string }[] | null
}

function health(cid: string): Health {
  return JSON.parse(docker(['inspect', '--format', '{{json .State.Health}}', cid]).toString()) as Health
}

/**
 * Docker's verdict on a container: its health read until it is no longer "starting" (a poll
 * of the engine's own state, not a wait standing in for readiness), or the deadline.
 */
async function verdict(cid: string, deadlineSeconds: number, answered = false): Promise<{ health: Health; seconds: number }> {
  const start = Date.now()
  for (;;) {
    const h = health(cid)
    const seconds = (Date.now() - start) / 1000
    // With `answered`, a verdict counts only once the last check reached the app (an HTTP
    // status line), not while an emulated app was still starting (connection refused).
    if (h.Status !== 'starting' && (!answered || /^HTTP\//.test(h.Log?.at(-1)?.Output ?? ''))) return { health: h, seconds }
    if (seconds > deadlineSeconds) {
      const logs = execFileSync('docker', ['logs', '--tail', '20', cid], { encoding: 'utf8' })
      throw new Error(`no verdict${answered ? ' from a check the app answered' : ''} after ${deadlineSeconds} s: ${JSON.stringify(h)}\n${logs}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** The last check's output, on one line. */
const lastOutput = (h: Health): string => (h.Log?.at(-1)?.Output ?? '').trim().replace(/\s*\n\s*/g, ' | ')

/** One file of an image with its tar header: content and mode. */
function fileWithMode(image: string, platform: string, file: string): { content: Buffer; mode: number } {
  const cid = docker(['create', '--platform', platform, image]).toString().trim()
  try {
    const tarball = docker(['cp', `${cid}:${file}`, '-'])
    const field = (from: number, to: number): number => parseInt(tarball.subarray(from, to).toString().replace(/\0.*$/, '').trim(), 8)
    return { content: tarball.subarray(512, 512 + field(124, 136)), mode: field(100, 108) }
  } finally {
    docker(['rm', '-f', cid])
  }
}

describe('healthcheck: a HEALTHCHECK that works on a chiseled image, on both platforms', () => {
  const healthy = `${REGISTRY}/${REPO}:${RUN}-healthz`
  const broken = `${REGISTRY}/${REPO}:${RUN}-broken`
  let first: ActionRun
  let second: ActionRun

  beforeAll(() => {
    const ws = makeWorkspace('healthcheck', ['TodoApi'])
    // The sample has no health endpoint: its copy gets one, and one that always fails.
    editFile(path.join(ws, 'TodoApi', 'Program.cs'), /^app\.Run\(\);$/m, 'app.MapGet("/healthz", () => "ok");\napp.MapGet("/broken", () => Results.StatusCode(500));\n\napp.Run();')
    const inputs = { project: 'TodoApi', context: 'TodoApi', push: 'true' }
    first = runAction(ws, { ...inputs, tags: healthy, healthcheck: '/healthz' })
    console.log(`healthcheck /healthz: ${first.seconds.toFixed(1)} s (exit ${first.code})`)
    must(first)
    // Only the HEALTHCHECK differs: everything else comes from the cache.
    second = runAction(ws, { ...inputs, tags: broken, healthcheck: '/broken' })
    console.log(`healthcheck /broken: ${second.seconds.toFixed(1)} s (exit ${second.code})`)
    must(second)
  })

  test('the probe was built once for both targets on the build platform; a web app gets no warning', () => {
    const vertices = new Set([...first.stdout.matchAll(/^#(\d+) \[[^\]]*\bhealthcheck [^\]]*\] RUN/gm)].map((m) => m[1]))
    expect(vertices.size).toBe(1)
    expect(first.stdout).not.toContain('is not a web app')
    // The second build changed only the final stage's config: the probe came from the cache.
    const probeRuns = [...second.stdout.matchAll(/^#(\d+) \[[^\]]*\bhealthcheck [^\]]*\] RUN/gm)].map((m) => m[1])
    expect(probeRuns.length).toBeGreaterThan(0)
    for (const n of probeRuns) expect(second.stdout).toMatch(new RegExp(`^#${n} CACHED$`, 'm'))
  })

  test.each(PLATFORMS)('%s: the image config has the exec-form HEALTHCHECK with its options', async (platform) => {
    const reg = await registrySizes(REPO, `${RUN}-healthz`)
    const res = await fetch(`http://${REGISTRY}/v2/${REPO}/blobs/${entry(reg, platform).config}`)
    const cfg = ((await res.json()) as { config: { Healthcheck?: Record<string, unknown>; User?: string } }).config
    const s = 1e9
    expect(cfg.Healthcheck).toEqual({ Test: ['CMD', PROBE, '/healthz'], Interval: 10 * s, Timeout: 5 * s, StartPeriod: 30 * s, StartInterval: 1 * s, Retries: 3 })
    expect(cfg.User).toBe('1654')
  })

  test.each(PLATFORMS)('%s: the probe in the image is a static ELF for the platform, executable by every user, well under 1 MB', (platform) => {
    const { content, mode } = fileWithMode(healthy, platform, PROBE)
    expect(content.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
    expect(content.readUInt16LE(18)).toBe(ELF[platform])
    expect(mode & 0o755).toBe(0o755)
    console.log(`${platform}: ${PROBE} is ${content.length} bytes (mode ${mode.toString(8)})`)
    expect(content.length).toBeLessThan(MAX_PROBE_BYTES)
  })

  test.each(PLATFORMS)('%s: /healthz answers 200, the container turns healthy; /broken answers 500, it turns unhealthy', async (platform) => {
    // Both containers at once: the unhealthy verdict needs the start period and three failed
    // checks, so the broken one gets a 2 s start period and is checked every 2 s instead of the
    // image's 30 s and 10 s (the image's own timing is asserted above; the probe and its
    // verdicts are what this test is about). Its
    // verdict is read once a check reached the app: under QEMU on a loaded machine the app may
    // still be starting when the start period ends.
    const good = startContainer(healthy, platform)
    const bad = startContainer(broken, platform, ['--health-start-period=2s', '--health-interval=2s'])
    try {
      const [g, b] = await Promise.all([verdict(good, 120), verdict(bad, 180, true)])
      console.log(`${platform} healthcheck /healthz: ${g.health.Status} after ${g.seconds.toFixed(1)} s (probe: exit ${g.health.Log?.at(-1)?.ExitCode}, "${lastOutput(g.health)}")`)
      console.log(`${platform} healthcheck /broken: ${b.health.Status} after ${b.seconds.toFixed(1)} s (probe: exit ${b.health.Log?.at(-1)?.ExitCode}, "${lastOutput(b.health)}", failing streak ${b.health.FailingStreak})`)
      expect(g.health.Status).toBe('healthy')
      expect(g.health.Log?.at(-1)).toMatchObject({ ExitCode: 0, Output: expect.stringMatching(/^HTTP\/1\.1 200 OK/) as unknown })
      expect(b.health.Status).toBe('unhealthy')
      expect(b.health.Log?.at(-1)).toMatchObject({ ExitCode: 1, Output: expect.stringMatching(/^HTTP\/1\.1 500 Internal Server Error/) as unknown })
      expect(b.health.FailingStreak).toBeGreaterThanOrEqual(3)
      // The app answered the probe the whole time: the broken one is running, just unhealthy.
      expect(docker(['inspect', '--format', '{{.State.Running}}', bad]).toString().trim()).toBe('true')
    } finally {
      removeContainer(good)
      removeContainer(bad)
    }
  })

  test('linux/amd64: the probe follows ASPNETCORE_HTTP_PORTS when the app is moved to another port', async () => {
    const cid = startContainer(healthy, 'linux/amd64', ['-e', 'ASPNETCORE_HTTP_PORTS=9090'])
    try {
      const v = await verdict(cid, 60)
      console.log(`linux/amd64 with ASPNETCORE_HTTP_PORTS=9090: ${v.health.Status} after ${v.seconds.toFixed(1)} s ("${lastOutput(v.health)}")`)
      expect(v.health.Status).toBe('healthy')
    } finally {
      removeContainer(cid)
    }
  })
})
