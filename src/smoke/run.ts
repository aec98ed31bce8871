// The smoke test, on the engine: each platform's image, loaded from the build's OCI layout as it
// will ship (nothing pushed or tagged yet), is started once; a web app must answer, a console
// app must exit 0. Measured: start-up time and the container's peak memory. Everything the test
// creates (the image name, the container) is removed again.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { PlatformReport } from '../image/inspect.js'
import { writePlatformArchive } from '../image/archive.js'
import { lastMeaningfulLines } from '../engine/diagnose.js'
import { clip } from '../util/errors.js'
import { run } from '../util/proc.js'
import { isUp, peakMemoryFiles, startedAtMs, type SmokeResult, type SmokeTarget } from './plan.js'

export interface SmokeOptions {
  ociDir: string
  /** Where the per-platform archives are written (removed after loading). */
  workDir: string
  isWeb: boolean
  /** smoke-url: the path a web app is asked for. */
  path: string
  /** smoke-args: arguments for a console app. */
  args: string[]
  timeoutMs: number
  /** The port the app listens on in the container (ASP.NET Core in Microsoft's images: 8080). */
  port: number
}

/**
 * The image is the repository's code, started on the runner: no mounts, nothing of the
 * runner's environment, every capability dropped and no privilege gained through setuid.
 */
const CONFINED = ['--cap-drop', 'ALL', '--security-opt', 'no-new-privileges']

/** Polling interval while waiting for an answer: a readiness check, not a guess at how long start-up takes. */
const POLL_MS = 25

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function docker(args: string[]): Promise<{ code: number; out: string }> {
  const r = await run('docker', args)
  return { code: r.code, out: (r.stdout + r.stderr).trim() }
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

/** A web app: started detached with its port published on loopback, asked until it answers. */
async function webApp(image: string, t: SmokeTarget, o: SmokeOptions): Promise<SmokeResult> {
  const started = await docker(['container', 'run', '--detach', ...CONFINED, '--platform', t.platform, '--publish', `127.0.0.1::${o.port}`, image])
  const id = started.out.split('\n').pop() ?? ''
  if (started.code !== 0 || !/^[a-f0-9]{64}$/.test(id)) return { ...t, failure: `the container did not start: ${clip(started.out, 400)}` }
  try {
    const mapped = (await docker(['container', 'port', id, `${o.port}/tcp`])).out.split('\n')[0] ?? ''
    const port = /:(\d+)$/.exec(mapped)?.[1]
    if (port === undefined) {
      // An app that exits at once has its ports released before they can be read.
      if ((await inspect(id, '{{.State.Running}}')) !== 'true') return { ...t, failure: `the app exited (code ${await inspect(id, '{{.State.ExitCode}}')}) before answering ${o.path}:\n${await lastLogs(id)}` }
      return { ...t, failure: `the container's port ${o.port} was not published (${clip(mapped, 200)})` }
    }
    const url = `http://127.0.0.1:${port}${o.path}`
    const deadline = Date.now() + o.timeoutMs
    let polls = 0
    for (;;) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' })
        await res.body?.cancel()
        if (isUp(res.status)) break
      } catch {
        // not listening yet
      }
      // Every few polls: a container that exited will never answer.
      if (++polls % 8 === 0 && (await inspect(id, '{{.State.Running}}')) !== 'true') {
        return { ...t, failure: `the app exited (code ${await inspect(id, '{{.State.ExitCode}}')}) before answering ${o.path}:\n${await lastLogs(id)}` }
      }
      if (Date.now() > deadline) return { ...t, failure: `the app did not answer ${o.path} below 500 within ${o.timeoutMs / 1000} s:\n${await lastLogs(id)}` }
      await delay(POLL_MS)
    }
    const upAt = Date.now()
    const start = startedAtMs(await inspect(id, '{{.State.StartedAt}}'))
    return { ...t, startupMs: start === undefined ? undefined : Math.max(0, upAt - start), memoryPeak: peakMemory(id) }
  } finally {
    await docker(['container', 'rm', '--force', id])
  }
}

/** A console app: must exit 0 within the timeout. */
async function consoleApp(image: string, t: SmokeTarget, o: SmokeOptions): Promise<SmokeResult> {
  const started = await docker(['container', 'run', '--detach', ...CONFINED, '--platform', t.platform, image, ...o.args])
  const id = started.out.split('\n').pop() ?? ''
  if (started.code !== 0 || !/^[a-f0-9]{64}$/.test(id)) return { ...t, failure: `the container did not start: ${clip(started.out, 400)}` }
  try {
    // The deadline's timer is cleared once the app exits: a pending one would keep the action's
    // process alive until it fired (the side-by-side bench caught 60 s added to every console run).
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        resolve(undefined)
      }, o.timeoutMs)
    })
    const waited = await Promise.race([docker(['container', 'wait', id]), deadline]).finally(() => {
      clearTimeout(timer)
    })
    if (waited === undefined) {
      return { ...t, failure: `the app did not exit within ${o.timeoutMs / 1000} s (a console app must exit 0: for a long-running service, pass smoke-args that make it exit, or set smoke-test: false):\n${await lastLogs(id)}` }
    }
    const code = waited.out.split('\n').pop() ?? ''
    if (code !== '0') return { ...t, failure: `the app exited with ${clip(code, 40)}:\n${await lastLogs(id)}` }
    const start = startedAtMs(await inspect(id, '{{.State.StartedAt}}'))
    const end = startedAtMs(await inspect(id, '{{.State.FinishedAt}}'))
    // The cgroup is gone once the process exits: a console app has no memory figure.
    return { ...t, startupMs: start === undefined || end === undefined ? undefined : Math.max(0, end - start) }
  } finally {
    await docker(['container', 'rm', '--force', id])
  }
}

/** Every target, one after another (side by side they would slow each other's figures). */
export async function smokeTest(targets: SmokeTarget[], reports: PlatformReport[], o: SmokeOptions): Promise<SmokeResult[]> {
  const out: SmokeResult[] = []
  const tag = `${process.pid}-${Date.now().toString(36)}`
  for (const t of targets) {
    const report = reports.find((r) => r.platform === t.platform)
    if (report === undefined) {
      out.push({ ...t, failure: 'the build produced no image for it' })
      continue
    }
    const image = `aot-buildx-smoke:${tag}-${t.platform.split('/')[1] ?? 'image'}`
    const archive = path.join(o.workDir, `smoke-${t.platform.replace(/\//g, '-')}.tar`)
    try {
      await writePlatformArchive(o.ociDir, report.digest, image, archive)
      const loaded = await docker(['image', 'load', '--quiet', '--input', archive])
      // A load that names no image (an engine that reads the archive differently) is a failure of its own.
      if (loaded.code !== 0 || (await docker(['image', 'inspect', '--format', '{{.Id}}', image])).code !== 0) {
        out.push({ ...t, failure: `docker image load did not give the image the name ${image}: ${clip(loaded.out, 400)}` })
        continue
      }
      out.push(o.isWeb ? await webApp(image, t, o) : await consoleApp(image, t, o))
    } finally {
      fs.rmSync(archive, { force: true })
      await docker(['image', 'rm', '--force', image])
    }
  }
  return out
}
