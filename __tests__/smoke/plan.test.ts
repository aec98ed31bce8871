import {
  consoleVerdict,
  containerId,
  firstOutputMs,
  isSmokeToken,
  isUp,
  networkCreateArgv,
  peakMemoryFiles,
  smokeBreaches,
  smokeJson,
  smokeLine,
  smokeMemoryLimit,
  smokePlan,
  smokeRunArgv,
  smokeToken,
  startedAtMs,
  type SmokeResult
} from '../../src/smoke/plan.js'
import { humanBytes } from '../../src/size/report.js'

describe('smokePlan', () => {
  const both = ['linux/amd64', 'linux/arm64'] as const
  it('auto: the native platforms only, even where a QEMU handler is registered', () => {
    for (const binfmt of [['arm64'], []] as const) {
      const plan = smokePlan('auto', [...both], 'amd64', [...binfmt])
      expect(plan.targets).toEqual([{ platform: 'linux/amd64', emulated: false }])
      expect(plan.skipped).toEqual([{ platform: 'linux/arm64', reason: 'this runner is amd64, and smoke-test: auto starts no platform under QEMU (seconds per start; smoke-test: true starts it)' }])
      expect(plan.error).toBeUndefined()
    }
    expect(smokePlan('auto', ['linux/arm64'], 'arm64', ['amd64']).targets).toEqual([{ platform: 'linux/arm64', emulated: false }])
  })

  it('true: a foreign platform through its QEMU handler, marked emulated', () => {
    expect(smokePlan('true', [...both], 'amd64', ['arm64'])).toEqual({ targets: [{ platform: 'linux/amd64', emulated: false }, { platform: 'linux/arm64', emulated: true }], skipped: [] })
  })

  it('true: a platform that cannot start is an error; false: nothing', () => {
    expect(smokePlan('true', [...both], 'arm64', []).error).toMatch(/^smoke-test is true, but linux\/amd64 cannot start here: this runner is arm64/)
    expect(smokePlan('false', [...both], 'amd64', ['arm64'])).toEqual({ targets: [], skipped: [] })
  })
})

describe('figures', () => {
  it('reads the peak from the cgroup layouts Docker uses, for a full container id only', () => {
    const id = 'a'.repeat(64)
    expect(peakMemoryFiles(id, '/cg')).toEqual([
      `/cg/system.slice/docker-${id}.scope/memory.peak`,
      `/cg/docker/${id}/memory.peak`,
      `/cg/memory/system.slice/docker-${id}.scope/memory.max_usage_in_bytes`,
      `/cg/memory/docker/${id}/memory.max_usage_in_bytes`
    ])
    expect(peakMemoryFiles('../../etc')).toEqual([])
  })

  it('counts any answer below 500 as up', () => {
    expect([200, 302, 404, 499, 500, 503, 0].map(isUp)).toEqual([true, true, true, true, false, false, false])
  })

  it('reads Docker\'s StartedAt with its nanoseconds and zone', () => {
    expect(startedAtMs('2026-11-30T12:00:00.123456789Z')).toBeCloseTo(Date.UTC(2026, 10, 30, 12, 0, 0) + 123.456789, 3)
    expect(startedAtMs('2026-11-30T13:00:00+01:00')).toBe(Date.UTC(2026, 10, 30, 12, 0, 0))
    expect(startedAtMs('0001-01-01T00:00:00Z')).toBeUndefined()
    expect(startedAtMs('yesterday')).toBeUndefined()
  })
})

describe('budgets and reporting', () => {
  const results: SmokeResult[] = [
    { platform: 'linux/amd64', emulated: false, startupMs: 180.4, memoryPeak: 30_000_000, outcome: 'answered GET / with 200' },
    { platform: 'linux/arm64', emulated: true, startupMs: 2400, memoryPeak: 90_000_000, outcome: 'answered GET / with 404' }
  ]

  it('hold native figures against max-startup and max-memory, never emulated ones', () => {
    expect(smokeBreaches(results, { startupMs: 100, memory: 20_000_000 }, humanBytes)).toEqual([
      'linux/amd64 started in 180 ms, over the max-startup budget of 100 ms',
      'linux/amd64 peaked at 30.00 MB of memory, over the max-memory budget of 20.00 MB'
    ])
    expect(smokeBreaches(results, { startupMs: 1000, memory: 50_000_000 }, humanBytes)).toEqual([])
  })

  it('say what ran under QEMU, and put figures in the smoke output', () => {
    expect(smokeLine(results[1] as SmokeResult)).toBe('started in 2400 ms, peak memory 90.00 MB (under QEMU: not comparable with native figures); answered GET / with 404')
    expect(smokeLine({ platform: 'linux/amd64', emulated: false, outcome: 'the app exited (code 1)', failure: 'the app exited (code 1)' })).toBe('failed: the app exited (code 1)')
    expect(smokeJson([...results, { platform: 'linux/s390x' as never, emulated: false, outcome: 'exited with code 1 after 0.2 s', failure: 'x' }])).toEqual({
      'linux/amd64': { startupMs: 180, memoryPeak: 30_000_000, emulated: false, ok: true, outcome: 'answered GET / with 200' },
      'linux/arm64': { startupMs: 2400, memoryPeak: 90_000_000, emulated: true, ok: true, outcome: 'answered GET / with 404' },
      'linux/s390x': { startupMs: null, memoryPeak: null, emulated: false, ok: false, outcome: 'exited with code 1 after 0.2 s' }
    })
  })
})

describe('how a container is started', () => {
  const token = smokeToken(4242, Date.UTC(2026, 11, 6))

  it('names one run by a token the post step can check', () => {
    expect(token).toBe(`4242-${Date.UTC(2026, 11, 6).toString(36)}`)
    expect(isSmokeToken(token)).toBe(true)
    // A forged state: never passed to docker.
    for (const bad of ['', '--filter', 'x', '1-a;rm', '1-A', `1-${'a'.repeat(13)}`, '1-a\n2-b']) expect(isSmokeToken(bad)).toBe(false)
  })

  it('on a labelled network of its own', () => {
    expect(networkCreateArgv(token)).toEqual(['network', 'create', '--driver', 'bridge', '--label', `aot-buildx.smoke=${token}`, `aot-buildx-smoke-${token}`])
  })

  it('confined, limited, labelled, on that network; a web app published on loopback only, a console app with its arguments after the image', () => {
    const base = ['container', 'run', '--detach', '--label', `aot-buildx.smoke=${token}`, '--network', `aot-buildx-smoke-${token}`, '--pids-limit', '512', '--memory', '1000000000', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--platform', 'linux/arm64']
    expect(smokeRunArgv({ image: 'aot-buildx-smoke:t-arm64', platform: 'linux/arm64', token, memoryLimit: 1_000_000_000, port: 8080, args: [] })).toEqual([...base, '--publish', '127.0.0.1::8080', 'aot-buildx-smoke:t-arm64'])
    expect(smokeRunArgv({ image: 'aot-buildx-smoke:t-arm64', platform: 'linux/arm64', token, memoryLimit: 1_000_000_000, args: ['--rm', '--network=host'] })).toEqual([...base, 'aot-buildx-smoke:t-arm64', '--rm', '--network=host'])
  })

  it('limits memory to 1 GB, or twice max-memory where that is more (a budget breach is measured, not killed)', () => {
    expect(smokeMemoryLimit(undefined)).toBe(1_000_000_000)
    expect(smokeMemoryLimit(64_000_000)).toBe(1_000_000_000)
    expect(smokeMemoryLimit(800_000_000)).toBe(1_600_000_000)
  })

  it('reads the container id from docker run\'s stdout, and nothing else', () => {
    const id = 'c'.repeat(64)
    expect(containerId(`${id}\n`)).toBe(id)
    expect(containerId('Unable to find image\n')).toBeUndefined()
    expect(containerId('')).toBeUndefined()
  })
})

describe('what a console app did', () => {
  it('exit 0 in the window passes; any other code fails, saying so', () => {
    expect(consoleVerdict({ kind: 'exited', code: 0, afterMs: 312, oomKilled: false })).toEqual({ ok: true, outcome: 'exited with code 0 after 0.3 s' })
    expect(consoleVerdict({ kind: 'exited', code: 139, afterMs: 1040, oomKilled: false })).toEqual({ ok: false, outcome: 'exited with code 139 after 1.0 s' })
    expect(consoleVerdict({ kind: 'exited', code: 137, afterMs: 2000, oomKilled: true })).toEqual({ ok: false, outcome: 'exited with code 137 after 2.0 s (killed for running out of memory)' })
  })

  it('still running after the window and stopped on SIGTERM in time passes (0, or 143 without a handler); another code or no stop fails', () => {
    expect(consoleVerdict({ kind: 'stopped', ranMs: 5012, code: 0, stopMs: 140 })).toEqual({ ok: true, outcome: 'ran 5.0 s, then stopped cleanly on SIGTERM (in 0.1 s)' })
    expect(consoleVerdict({ kind: 'stopped', ranMs: 5012, code: 143, stopMs: 20 })).toEqual({ ok: true, outcome: 'ran 5.0 s, then was ended by SIGTERM (in 0.0 s, code 143: no shutdown handler)' })
    expect(consoleVerdict({ kind: 'stopped', ranMs: 5012, code: 1, stopMs: 300 })).toEqual({ ok: false, outcome: 'ran 5.0 s, then exited with code 1 on SIGTERM (in 0.3 s; a graceful shutdown exits 0)' })
    expect(consoleVerdict({ kind: 'hung', ranMs: 5012, deadlineMs: 10_000 })).toEqual({
      ok: false,
      outcome: 'ran 5.0 s, then did not stop within 10.0 s of SIGTERM and was killed (docker stop and Kubernetes kill it the same way, cutting its shutdown short)'
    })
  })

  it('started when it first wrote anything: the earliest timestamp of stdout and stderr', () => {
    const logs = ['2026-12-06T05:00:01.500000000Z info: started', '2026-12-06T05:00:01.250000000Z Unhandled exception.', 'not a timestamp'].join('\n')
    expect(firstOutputMs(logs)).toBe(Date.UTC(2026, 11, 6, 5, 0, 1, 250))
    expect(firstOutputMs('')).toBeUndefined()
  })
})
