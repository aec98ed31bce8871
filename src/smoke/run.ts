// The smoke test, on the engine: each platform's image, loaded from the build's OCI layout as it
// will ship (nothing pushed or tagged yet), is started once, on a network of its own; a web app
// must answer, a console app must exit 0 or run through its window and then stop on SIGTERM.
// Measured: start-up time and the container's peak memory. Everything the test creates (the
// image name, the container, the network) is removed again, and labelled for the post step
// should the job be cancelled first.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { PlatformReport } from '../image/inspect.js'
import { writePlatformArchive } from '../image/archive.js'
import { lastMeaningfulLines } from '../engine/diagnose.js'
import { clip } from '../util/errors.js'
import { run } from '../util/proc.js'
import {
  consoleVerdict,
  containerId,
  firstOutputMs,
  isSmokeToken,
  isUp,
  networkCreateArgv,
  peakMemoryFiles,
  SMOKE_LABEL,
  smokeNetwork,
  smokeRunArgv,
  startedAtMs,
  STOP_DEADLINE_MS,
  type ConsoleRun,
  type SmokeResult,
  type SmokeTarget
} from './plan.js'

export interface SmokeOptions {
  ociDir: string
  /** Where the per-platform archives are written (removed after loading). */
  workDir: string
  isWeb: boolean
  /** smoke-url: the path a web app is asked for. */
  path: string
  /** smoke-args: arguments for a console app. */
  args: string[]
  /** How long a web app gets to answer. */
  timeoutMs: number
  /** smoke-window: how long a console app that has not exited must keep running. */
  windowMs: number
  /** The port the app listens on in the container (ASP.NET Core in Microsoft's images: 8080). */
  port: number
  /** The container's memory limit, bytes. */
  memoryLimit: number
  /** This run's name (smokeToken): image tags, labels, the network. */
  token: string
}

/** Polling interval while waiting for an answer: a readiness check, not a guess at how long start-up takes. */
const POLL_MS = 25

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function docker(args: string[]): Promise<{ code: number; out: string; stdout: string }> {
  const r = await run('docker', args)
  return { code: r.code, out: (r.stdout + r.stderr).trim(), stdout: r.stdout }
}

async function inspect(id: string, format: string): Promise<string> {
  return (await docker(['container', 'inspect', '--format', format, id])).out
}

function peakMemory(id: string): number | undefined {
  for (const f of peakMemoryFiles(id)) {
    try {
      const n = Number(fs.readFileSync(f, 'utf8').trim())
      if (Number.isSafeInteger(n) && n > 0) return n
    } catch {
      // not this layout
    }
  }
  return undefined
}

async function lastLogs(id: string): Promise<string> {
  const logs = await docker(['container', 'logs', '--tail', '40', id])
  return lastMeaningfulLines(logs.out, 15)
    .map((l) => `  ${clip(l, 300)}`)
    .join('\n')
}

/** A failed run: the outcome, and the app's last lines under it. */
async function failed(t: SmokeTarget, id: string, outcome: string, figures: Pick<SmokeResult, 'startupMs' | 'memoryPeak'> = {}): Promise<SmokeResult> {
  const lines = await lastLogs(id)
  return { ...t, ...figures, outcome, failure: lines === '' ? outcome : `${outcome}:\n${lines}`, ...(lines !== '' ? { lastLines: lines } : {}) }
}

/** `docker container wait` raced against a timer; undefined when the timer won. The timer never outlives the race. */
async function waitFor<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  // A pending timer would keep the action's process alive until it fired (the side-by-side bench
  // caught 60 s added to every console run).
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined)
    }, ms)
  })
  return Promise.race([p, deadline]).finally(() => {
    clearTimeout(timer)
  })
}

function exitCode(waited: { out: string }): number {
  const n = Number(waited.out.split('\n').pop())
  return Number.isInteger(n) ? n : -1
}

/** A web app: started detached with its port published on loopback, asked until it answers. */
async function webApp(image: string, t: SmokeTarget, o: SmokeOptions): Promise<SmokeResult> {
  const started = await docker(smokeRunArgv({ image, platform: t.platform, token: o.token, memoryLimit: o.memoryLimit, port: o.port, args: [] }))
  const id = containerId(started.stdout)
  if (started.code !== 0 || id === undefined) return notStarted(t, started.out)
  try {
    const mapped = (await docker(['container', 'port', id, `${o.port}/tcp`])).out.split('\n')[0] ?? ''
    const port = /:(\d+)$/.exec(mapped)?.[1]
    if (port === undefined) {
      // An app that exits at once has its ports released before they can be read.
      if ((await inspect(id, '{{.State.Running}}')) !== 'true') return await failed(t, id, `the app exited (code ${await inspect(id, '{{.State.ExitCode}}')}) before answering ${o.path}`)
      const outcome = `the container's port ${o.port} was not published (${clip(mapped, 200)})`
      return { ...t, outcome, failure: outcome }
    }
    const url = `http://127.0.0.1:${port}${o.path}`
    const deadline = Date.now() + o.timeoutMs
    let polls = 0
    let status = 0
    for (;;) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' })
        await res.body?.cancel()
        status = res.status
        if (isUp(res.status)) break
      } catch {
        // not listening yet
      }
      // Every few polls: a container that exited will never answer.
      if (++polls % 8 === 0 && (await inspect(id, '{{.State.Running}}')) !== 'true') {
        return await failed(t, id, `the app exited (code ${await inspect(id, '{{.State.ExitCode}}')}) before answering ${o.path}`)
      }
      if (Date.now() > deadline) return await failed(t, id, `the app did not answer ${o.path} below 500 within ${o.timeoutMs / 1000} s`)
      await delay(POLL_MS)
    }
    const upAt = Date.now()
    const start = startedAtMs(await inspect(id, '{{.State.StartedAt}}'))
    return { ...t, startupMs: start === undefined ? undefined : Math.max(0, upAt - start), memoryPeak: peakMemory(id), outcome: `answered GET ${o.path} with ${status}` }
  } finally {
    await docker(['container', 'rm', '--force', id])
  }
}

function notStarted(t: SmokeTarget, out: string): SmokeResult {
  const outcome = `the container did not start: ${clip(out, 400)}`
  return { ...t, outcome, failure: outcome }
}

/**
 * A console app: passes when it exits 0 within the window, or is still running after it and
 * then stops on SIGTERM within the deadline (consoleVerdict). Start-up is the time to its first
 * output line (or to its exit); peak memory is read while it still runs.
 */
async function consoleApp(image: string, t: SmokeTarget, o: SmokeOptions): Promise<SmokeResult> {
  const started = await docker(smokeRunArgv({ image, platform: t.platform, token: o.token, memoryLimit: o.memoryLimit, args: o.args }))
  const id = containerId(started.stdout)
  if (started.code !== 0 || id === undefined) return notStarted(t, started.out)
  try {
    const exited = docker(['container', 'wait', id])
    const inWindow = await waitFor(exited, o.windowMs)
    const start = startedAtMs(await inspect(id, '{{.State.StartedAt}}'))
    let runInfo: ConsoleRun
    let memoryPeak: number | undefined
    if (inWindow !== undefined) {
      const end = startedAtMs(await inspect(id, '{{.State.FinishedAt}}'))
      const oom = (await inspect(id, '{{.State.OOMKilled}}')) === 'true'
      runInfo = { kind: 'exited', code: exitCode(inWindow), afterMs: start === undefined || end === undefined ? o.windowMs : Math.max(0, end - start), oomKilled: oom }
    } else {
      // Still running: its memory is read now (the cgroup goes with the process), then it is asked to stop.
      memoryPeak = peakMemory(id)
      const termAt = Date.now()
      const ranMs = start === undefined ? o.windowMs : Math.max(0, termAt - start)
      await docker(['container', 'kill', '--signal', 'SIGTERM', id])
      const stopped = await waitFor(exited, STOP_DEADLINE_MS)
      runInfo = stopped === undefined ? { kind: 'hung', ranMs, deadlineMs: STOP_DEADLINE_MS } : { kind: 'stopped', ranMs, code: exitCode(stopped), stopMs: Date.now() - termAt }
    }
    const first = firstOutputMs((await docker(['container', 'logs', '--timestamps', id])).out)
    const end = runInfo.kind === 'exited' && start !== undefined ? start + runInfo.afterMs : undefined
    const at = first ?? end
    const figures = { startupMs: start === undefined || at === undefined ? undefined : Math.max(0, at - start), ...(memoryPeak !== undefined ? { memoryPeak } : {}) }
    const verdict = consoleVerdict(runInfo)
    if (!verdict.ok) return await failed(t, id, verdict.outcome, figures)
    return { ...t, ...figures, outcome: verdict.outcome }
  } finally {
    // SIGKILL for one that did not stop.
    await docker(['container', 'rm', '--force', id])
  }
}

/**
 * Every target side by side, each from loading its image to removing it: an emulated platform's
 * seconds under QEMU never hold up a native one, whose figures are measured from its own
 * container's start (and its own cgroup) as before.
 */
export async function smokeTest(targets: SmokeTarget[], reports: PlatformReport[], o: SmokeOptions): Promise<SmokeResult[]> {
  const network = await docker(networkCreateArgv(o.token))
  if (network.code !== 0) {
    const outcome = `docker could not create the smoke test's network ${smokeNetwork(o.token)}: ${clip(network.out, 400)}`
    return targets.map((t) => ({ ...t, outcome, failure: outcome }))
  }
  try {
    // Loads one at a time, native platforms first (two loads of a layer both images hold would
    // race in the engine's content store); each container starts as soon as its own image is in.
    let loads = Promise.resolve()
    const loadInTurn = async (load: () => Promise<void>): Promise<void> => {
      const turn = loads.then(load)
      loads = turn.catch(() => undefined)
      return turn
    }
    const order = [...targets].sort((a, b) => Number(a.emulated) - Number(b.emulated))
    // Every run settles (its container removed) before the network goes, even when one throws.
    const settled = await Promise.allSettled(order.map((t) => oneTarget(t, reports, o, loadInTurn)))
    return targets.map((t) => {
      const r = settled[order.indexOf(t)]
      if (r?.status !== 'fulfilled') throw r?.reason
      return r.value
    })
  } finally {
    await docker(['network', 'rm', smokeNetwork(o.token)])
  }
}

async function oneTarget(t: SmokeTarget, reports: PlatformReport[], o: SmokeOptions, inTurn: (load: () => Promise<void>) => Promise<void>): Promise<SmokeResult> {
  const report = reports.find((r) => r.platform === t.platform)
  if (report === undefined) return { ...t, outcome: 'the build produced no image for it', failure: 'the build produced no image for it' }
  const image = `aot-buildx-smoke:${o.token}-${t.platform.split('/')[1] ?? 'image'}`
  const archive = path.join(o.workDir, `smoke-${t.platform.replace(/\//g, '-')}.tar`)
  try {
    let loadFailure: string | undefined
    await inTurn(async () => {
      await writePlatformArchive(o.ociDir, report.digest, image, archive)
      const loaded = await docker(['image', 'load', '--quiet', '--input', archive])
      // A load that names no image (an engine that reads the archive differently) is a failure of its own.
      if (loaded.code !== 0 || (await docker(['image', 'inspect', '--format', '{{.Id}}', image])).code !== 0) {
        loadFailure = `docker image load did not give the image the name ${image}: ${clip(loaded.out, 400)}`
      }
    })
    if (loadFailure !== undefined) return { ...t, outcome: loadFailure, failure: loadFailure }
    return o.isWeb ? await webApp(image, t, o) : await consoleApp(image, t, o)
  } finally {
    fs.rmSync(archive, { force: true })
    await docker(['image', 'rm', '--force', image])
  }
}

/**
 * The post step's clean-up after a cancelled job: the containers, network and images of one
 * smoke run (its token, as saved in the step's state, in the shape smokeToken writes).
 */
export async function removeSmokeLeftovers(token: string): Promise<void> {
  if (!isSmokeToken(token)) return
  const filter = `label=${SMOKE_LABEL}=${token}`
  const containers = (await docker(['container', 'ls', '--all', '--quiet', '--filter', filter])).stdout.split('\n').filter((l) => /^[a-f0-9]+$/.test(l))
  if (containers.length > 0) await docker(['container', 'rm', '--force', ...containers])
  const networks = (await docker(['network', 'ls', '--quiet', '--filter', filter])).stdout.split('\n').filter((l) => /^[a-f0-9]+$/.test(l))
  if (networks.length > 0) await docker(['network', 'rm', ...networks])
  const images = (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=aot-buildx-smoke:${token}-*`])).stdout.split('\n').filter((l) => l.startsWith(`aot-buildx-smoke:${token}-`))
  if (images.length > 0) await docker(['image', 'rm', '--force', ...images])
}
