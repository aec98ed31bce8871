// The smoke test's decisions, pure: which platforms can be started on this runner (natively,
// or through a registered QEMU handler), how a container is started (confined, limited,
// labelled, on a network of its own), what a start-up counts as, what a console app's run
// means (exited, or ran and stopped on SIGTERM), where the kernel keeps a container's peak
// memory, and the start-up and memory budgets.
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
 * What is started here: the runner's own architecture natively; another one through QEMU (its
 * binfmt handler registered, or installed by setup-qemu before the test) with smoke-test: true
 * only. auto leaves emulated platforms out: under QEMU the sample web app takes seconds to
 * answer where it takes tens of milliseconds natively (README, "What an emulated platform
 * costs"), on every run whose image changed, and GitHub's runners register QEMU whenever a
 * workflow runs docker/setup-qemu-action, needed or not.
 */
export function smokePlan(mode: SmokeMode, platforms: Platform[], native: Arch | undefined, binfmt: Arch[]): SmokePlan {
  if (mode === 'false') return { targets: [], skipped: [] }
  const targets: SmokeTarget[] = []
  const skipped: SmokePlan['skipped'] = []
  for (const p of platforms) {
    const a = archOf(p)
    if (a === native) targets.push({ platform: p, emulated: false })
    else if (mode === 'auto') skipped.push({ platform: p, reason: `this runner is ${native ?? 'another architecture'}, and smoke-test: auto starts no platform under QEMU (seconds per start; smoke-test: true starts it)` })
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
  /** Web: container start to the first answer below 500; console: start to its first output line, or to its exit. */
  startupMs?: number
  /** Peak memory of the container's cgroup while it ran, bytes; undefined where the kernel's figure could not be read (or the app had exited). */
  memoryPeak?: number
  /** What happened, in one line of our own words: "ran 5.0 s, then stopped cleanly on SIGTERM (in 0.1 s)". */
  outcome: string
  /** Why the platform failed (the outcome with its last log lines), or undefined when it passed. */
  failure?: string
  /** The app's last log lines, where it failed and printed any. */
  lastLines?: string
  /** Not started: the figures of an earlier run that started this very image (smoke/proven.ts). */
  reused?: boolean
}

/** Which targets are started now, and which reuse the proof an earlier run left for their image (by platform). */
export function splitByProof<P>(targets: SmokeTarget[], proofs: ReadonlyMap<string, P>): { start: SmokeTarget[]; reuse: P[] } {
  const start: SmokeTarget[] = []
  const reuse: P[] = []
  for (const t of targets) {
    const p = proofs.get(t.platform)
    if (p === undefined) start.push(t)
    else reuse.push(p)
  }
  return { start, reuse }
}

/** Results in the targets' order, whether started now or reused. */
export function inTargetOrder(targets: SmokeTarget[], results: SmokeResult[]): SmokeResult[] {
  return targets.flatMap((t) => results.filter((r) => r.platform === t.platform))
}

/** The label on every container and network the smoke test creates; its value names one run, for the post step's clean-up. */
export const SMOKE_LABEL = 'aot-buildx.smoke'

/** One smoke run's name: the image tag prefix, the label value and the network's suffix. */
export function smokeToken(pid: number, now: number): string {
  return `${pid}-${now.toString(36)}`
}

/** A token in the shape smokeToken writes: what the post step accepts from its saved state. */
export function isSmokeToken(s: string): boolean {
  return /^\d{1,10}-[a-z0-9]{1,12}$/.test(s)
}

/** The run's own bridge network: no other container (the default bridge's, a job's services) is on it. */
export function smokeNetwork(token: string): string {
  return `aot-buildx-smoke-${token}`
}

export function networkCreateArgv(token: string): string[] {
  return ['network', 'create', '--driver', 'bridge', '--label', `${SMOKE_LABEL}=${token}`, smokeNetwork(token)]
}

/** Tasks (processes and threads, QEMU's included) a smoke-tested container may hold: a fork bomb stops here. */
export const SMOKE_PIDS_LIMIT = 512

/** The container's memory limit: 1 GB, or twice max-memory where that is more, so a budget breach is measured, not killed. */
export function smokeMemoryLimit(maxMemory: number | undefined): number {
  return Math.max(1_000_000_000, 2 * (maxMemory ?? 0))
}

export interface SmokeRun {
  image: string
  platform: Platform
  token: string
  memoryLimit: number
  /** A web app's port, published on the runner's loopback only; none for a console app. */
  port?: number
  /** smoke-args, after the image: the app's own arguments, never docker's. */
  args: string[]
}

/**
 * The image is the repository's code, started on the runner: no mounts, nothing of the
 * runner's environment, every capability dropped, no privilege gained through setuid, limited
 * tasks and memory, labelled for the clean-up after a cancelled job, and on a network of its own.
 */
export function smokeRunArgv(r: SmokeRun): string[] {
  return [
    'container',
    'run',
    '--detach',
    '--label',
    `${SMOKE_LABEL}=${r.token}`,
    '--network',
    smokeNetwork(r.token),
    '--pids-limit',
    String(SMOKE_PIDS_LIMIT),
    '--memory',
    String(r.memoryLimit),
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--platform',
    r.platform,
    ...(r.port !== undefined ? ['--publish', `127.0.0.1::${r.port}`] : []),
    r.image,
    ...r.args
  ]
}

/** The container id docker run --detach printed (its stdout's last line); undefined when there is none. */
export function containerId(stdout: string): string | undefined {
  const id = stdout.trim().split('\n').pop()?.trim() ?? ''
  return /^[a-f0-9]{64}$/.test(id) ? id : undefined
}

/** How long a console app still running after its window gets to stop on SIGTERM: docker stop's own default. */
export const STOP_DEADLINE_MS = 10_000

/** What a console app did, as the run observed it. */
export type ConsoleRun =
  /** It exited within the start window. */
  | { kind: 'exited'; code: number; afterMs: number; oomKilled: boolean }
  /** It was still running after the window, got SIGTERM and exited within the deadline. */
  | { kind: 'stopped'; ranMs: number; code: number; stopMs: number }
  /** It was still running after the window, got SIGTERM and did not exit within the deadline. */
  | { kind: 'hung'; ranMs: number; deadlineMs: number }

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/**
 * A console app passes when it exits 0 within the window, or runs through the window and then
 * stops on SIGTERM within the deadline with code 0 (a graceful shutdown, as a host does) or
 * 143 (ended by the signal itself: no handler, nothing left half done to report).
 */
export function consoleVerdict(r: ConsoleRun): { ok: boolean; outcome: string } {
  if (r.kind === 'exited') {
    if (r.code === 0) return { ok: true, outcome: `exited with code 0 after ${seconds(r.afterMs)}` }
    return { ok: false, outcome: `exited with code ${r.code} after ${seconds(r.afterMs)}${r.oomKilled ? ' (killed for running out of memory)' : ''}` }
  }
  if (r.kind === 'hung') {
    return {
      ok: false,
      outcome: `ran ${seconds(r.ranMs)}, then did not stop within ${seconds(r.deadlineMs)} of SIGTERM and was killed (docker stop and Kubernetes kill it the same way, cutting its shutdown short)`
    }
  }
  if (r.code === 0) return { ok: true, outcome: `ran ${seconds(r.ranMs)}, then stopped cleanly on SIGTERM (in ${seconds(r.stopMs)})` }
  if (r.code === 143) return { ok: true, outcome: `ran ${seconds(r.ranMs)}, then was ended by SIGTERM (in ${seconds(r.stopMs)}, code 143: no shutdown handler)` }
  return { ok: false, outcome: `ran ${seconds(r.ranMs)}, then exited with code ${r.code} on SIGTERM (in ${seconds(r.stopMs)}; a graceful shutdown exits 0)` }
}

/**
 * When the app first wrote anything, from `docker logs --timestamps` (stdout and stderr each in
 * order, so the earliest of all): epoch milliseconds, undefined for no output (or a log driver
 * that keeps none).
 */
export function firstOutputMs(timestamped: string): number | undefined {
  let first: number | undefined
  for (const line of timestamped.split('\n')) {
    const ms = startedAtMs(line.split(' ')[0] ?? '')
    if (ms !== undefined && (first === undefined || ms < first)) first = ms
  }
  return first
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

/** How long a web app gets to answer; QEMU start-ups take seconds, native ones milliseconds. */
export const SMOKE_TIMEOUT_MS = 60_000

/** One platform's result as a log line. */
export function smokeLine(r: SmokeResult): string {
  if (r.failure !== undefined) return `failed: ${r.failure}`
  const memory = r.memoryPeak !== undefined ? `, peak memory ${humanBytes(r.memoryPeak)}` : ''
  return `started in ${r.startupMs !== undefined ? `${Math.round(r.startupMs)} ms` : 'an unknown time'}${memory}${r.emulated ? ' (under QEMU: not comparable with native figures)' : ''}; ${r.outcome}`
}

export interface SmokeJsonEntry {
  startupMs: number | null
  memoryPeak: number | null
  emulated: boolean
  ok: boolean
  outcome: string
}

/** The smoke output: per platform, start-up ms, peak memory bytes (null where unknown), emulated, ok, and what happened. */
export function smokeJson(results: SmokeResult[]): Record<string, SmokeJsonEntry> {
  const out: Record<string, SmokeJsonEntry> = {}
  for (const r of results) {
    out[r.platform] = { startupMs: r.startupMs === undefined ? null : Math.round(r.startupMs), memoryPeak: r.memoryPeak ?? null, emulated: r.emulated, ok: r.failure === undefined, outcome: r.outcome }
  }
  return out
}
