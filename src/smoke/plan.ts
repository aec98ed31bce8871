// The smoke test's decisions, pure: which platforms can be started on this runner (natively,
// or through a registered QEMU handler), what a start-up counts as, where the kernel keeps a
// container's peak memory, and the start-up and memory budgets.
import type { Arch, Platform } from '../dotnet/platforms.js'
import { archOf } from '../dotnet/platforms.js'
import { humanBytes } from '../size/report.js'

export type SmokeMode = 'auto' | 'true' | 'false'

export interface SmokeTarget {
  platform: Platform
  /** Runs through QEMU: its figures are shown as such and never held against a budget. */
  emulated: boolean
}

export interface SmokePlan {
  targets: SmokeTarget[]
  /** Platforms left out, with why (auto only). */
  skipped: { platform: Platform; reason: string }[]
  /** smoke-test: true, and a platform cannot be started: the step fails before the build. */
  error?: string
}

/**
 * What can run here: the runner's own architecture natively, another through QEMU when its
 * binfmt handler is registered (or will be, when setup-qemu installs it before the test).
 */
export function smokePlan(mode: SmokeMode, platforms: Platform[], native: Arch | undefined, binfmt: Arch[]): SmokePlan {
  if (mode === 'false') return { targets: [], skipped: [] }
  const targets: SmokeTarget[] = []
  const skipped: SmokePlan['skipped'] = []
  for (const p of platforms) {
    const a = archOf(p)
    if (a === native) targets.push({ platform: p, emulated: false })
    else if (binfmt.includes(a)) targets.push({ platform: p, emulated: true })
    else skipped.push({ platform: p, reason: `this runner is ${native ?? 'another architecture'} and has no QEMU handler for ${a} (setup-qemu: true registers one)` })
  }
  if (mode === 'true' && skipped.length > 0) {
    return { targets, skipped, error: `smoke-test is true, but ${skipped.map((s) => `${s.platform} cannot start here: ${s.reason}`).join('; ')}` }
  }
  return { targets, skipped }
}

/**
 * Where the kernel keeps a container's peak memory, for the cgroup layouts Docker uses: v2
 * (memory.peak, under the systemd or the cgroupfs driver) and v1 (memory.max_usage_in_bytes).
 * The first that exists is read; none (a remote engine, another layout) means no figure.
 */
export function peakMemoryFiles(containerId: string, root = '/sys/fs/cgroup'): string[] {
  if (!/^[a-f0-9]{64}$/.test(containerId)) return []
  return [
    `${root}/system.slice/docker-${containerId}.scope/memory.peak`,
    `${root}/docker/${containerId}/memory.peak`,
    `${root}/memory/system.slice/docker-${containerId}.scope/memory.max_usage_in_bytes`,
    `${root}/memory/docker/${containerId}/memory.max_usage_in_bytes`
  ]
}

/** A web app is up when it answers below 500: a 404 for / is an app that runs. */
export function isUp(status: number): boolean {
  return status > 0 && status < 500
}

/** Docker's State.StartedAt (RFC 3339 with nanoseconds) in epoch milliseconds; undefined when unreadable. */
export function startedAtMs(text: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text.trim())
  if (!m) return undefined
  const [, base = '', frac = '', zone = ''] = m
  const ms = Date.parse(`${base}${zone}`)
  // Docker's zero time (0001-01-01) means "never".
  if (Number.isNaN(ms) || ms <= 0) return undefined
  return ms + Number(`0.${frac || '0'}`) * 1000
}

export interface SmokeResult {
  platform: Platform
  emulated: boolean
  /** Web: container start to the first answer below 500; console: start to exit. */
  startupMs?: number
  /** Peak memory of the container's cgroup, bytes; undefined where the kernel's figure could not be read. */
  memoryPeak?: number
  /** Why the platform failed to start (with its last log lines), or undefined when it ran. */
  failure?: string
}

export interface SmokeBudgets {
  /** max-startup, milliseconds. */
  startupMs?: number
  /** max-memory, bytes. */
  memory?: number
}

/** Budget breaches of native platforms; emulated figures measure QEMU too and are never compared. */
export function smokeBreaches(results: SmokeResult[], budgets: SmokeBudgets, human: (bytes: number) => string): string[] {
  const out: string[] = []
  for (const r of results) {
    if (r.emulated || r.failure !== undefined) continue
    if (budgets.startupMs !== undefined && r.startupMs !== undefined && r.startupMs > budgets.startupMs) {
      out.push(`${r.platform} started in ${Math.round(r.startupMs)} ms, over the max-startup budget of ${budgets.startupMs} ms`)
    }
    if (budgets.memory !== undefined && r.memoryPeak !== undefined && r.memoryPeak > budgets.memory) {
      out.push(`${r.platform} peaked at ${human(r.memoryPeak)} of memory, over the max-memory budget of ${human(budgets.memory)}`)
    }
  }
  return out
}

/** How long a platform gets to answer or exit; QEMU start-ups take seconds, native ones milliseconds. */
export const SMOKE_TIMEOUT_MS = 60_000

/** One platform's result as a log line. */
export function smokeLine(r: SmokeResult): string {
  if (r.failure !== undefined) return `failed: ${r.failure}`
  const memory = r.memoryPeak !== undefined ? `, peak memory ${humanBytes(r.memoryPeak)}` : ''
  return `started in ${r.startupMs !== undefined ? `${Math.round(r.startupMs)} ms` : 'an unknown time'}${memory}${r.emulated ? ' (under QEMU: not comparable with native figures)' : ''}`
}

/** The smoke output: per platform, start-up ms, peak memory bytes (null where unknown), emulated, ok. */
export function smokeJson(results: SmokeResult[]): Record<string, { startupMs: number | null; memoryPeak: number | null; emulated: boolean; ok: boolean }> {
  const out: Record<string, { startupMs: number | null; memoryPeak: number | null; emulated: boolean; ok: boolean }> = {}
  for (const r of results) out[r.platform] = { startupMs: r.startupMs === undefined ? null : Math.round(r.startupMs), memoryPeak: r.memoryPeak ?? null, emulated: r.emulated, ok: r.failure === undefined }
  return out
}
