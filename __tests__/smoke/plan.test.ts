import { isUp, peakMemoryFiles, smokeBreaches, smokeJson, smokeLine, smokePlan, startedAtMs, type SmokeResult } from '../../src/smoke/plan.js'
import { humanBytes } from '../../src/size/report.js'

describe('smokePlan', () => {
  const both = ['linux/amd64', 'linux/arm64'] as const
  it('auto: the native platform, and a foreign one only with its QEMU handler (marked emulated)', () => {
    expect(smokePlan('auto', [...both], 'amd64', ['arm64'])).toEqual({ targets: [{ platform: 'linux/amd64', emulated: false }, { platform: 'linux/arm64', emulated: true }], skipped: [] })
    const noQemu = smokePlan('auto', [...both], 'amd64', [])
    expect(noQemu.targets).toEqual([{ platform: 'linux/amd64', emulated: false }])
    expect(noQemu.skipped[0]?.reason).toContain('no QEMU handler for arm64 (setup-qemu: true registers one)')
    expect(noQemu.error).toBeUndefined()
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
    { platform: 'linux/amd64', emulated: false, startupMs: 180.4, memoryPeak: 30_000_000 },
    { platform: 'linux/arm64', emulated: true, startupMs: 2400, memoryPeak: 90_000_000 }
  ]

  it('hold native figures against max-startup and max-memory, never emulated ones', () => {
    expect(smokeBreaches(results, { startupMs: 100, memory: 20_000_000 }, humanBytes)).toEqual([
      'linux/amd64 started in 180 ms, over the max-startup budget of 100 ms',
      'linux/amd64 peaked at 30.00 MB of memory, over the max-memory budget of 20.00 MB'
    ])
    expect(smokeBreaches(results, { startupMs: 1000, memory: 50_000_000 }, humanBytes)).toEqual([])
  })

  it('say what ran under QEMU, and put figures in the smoke output', () => {
    expect(smokeLine(results[1] as SmokeResult)).toBe('started in 2400 ms, peak memory 90.00 MB (under QEMU: not comparable with native figures)')
    expect(smokeLine({ platform: 'linux/amd64', emulated: false, failure: 'the app exited (code 1)' })).toBe('failed: the app exited (code 1)')
    expect(smokeJson([...results, { platform: 'linux/s390x' as never, emulated: false, failure: 'x' }])).toEqual({
      'linux/amd64': { startupMs: 180, memoryPeak: 30_000_000, emulated: false, ok: true },
      'linux/arm64': { startupMs: 2400, memoryPeak: 90_000_000, emulated: true, ok: true },
      'linux/s390x': { startupMs: null, memoryPeak: null, emulated: false, ok: false }
    })
  })
})
