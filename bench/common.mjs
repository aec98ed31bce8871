// What the benchmarks share: the action run the way a runner runs it, the blog recipe built
// with the same buildx, BuildKit step times, logs kept for a second look.
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const PLATFORMS = 'linux/amd64,linux/arm64'

export function log(msg) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)
}

/** Empties the builder's cache (images, layers, cache mounts): a cold start. */
export function prune() {
  execFileSync('docker', ['buildx', 'prune', '-af'], { stdio: 'ignore' })
}

/**
 * A snapshot of the bundle, so every repetition measures the same action even if dist/ is
 * rebuilt while the benchmark runs.
 */
export function snapshotAction(dest) {
  fs.rmSync(dest, { recursive: true, force: true })
  fs.cpSync(path.join(REPO, 'dist'), dest, { recursive: true })
  return path.join(dest, 'index.js')
}

/** Per-step durations from a plain-progress BuildKit log: "#12 [linux/arm64 publish 4/4] RUN ..." + "#12 DONE 41.2s". */
export function stepTimes(logText) {
  const names = new Map()
  const out = []
  for (const m of logText.matchAll(/^#(\d+) (\[[^\]]+\] .*)$/gm)) if (!names.has(m[1])) names.set(m[1], m[2].slice(0, 110))
  for (const m of logText.matchAll(/^#(\d+) DONE ([\d.]+)s$/gm)) {
    const name = names.get(m[1])
    if (name && Number(m[2]) >= 1) out.push({ step: name, seconds: Number(m[2]) })
  }
  return out.sort((a, b) => b.seconds - a.seconds).slice(0, 8)
}

/** How many of the log's RUN steps BuildKit took from its cache, of how many. */
export function cachedRuns(logText) {
  const runs = [...logText.matchAll(/^#(\d+) \[[^\]]*\] RUN /gm)].map((m) => m[1])
  const cached = runs.filter((n) => new RegExp(`^#${n} CACHED$`, 'm').test(logText))
  return { runs: runs.length, cached: cached.length }
}

/** Every build's log, kept for a second look at a slow repetition. */
export function saveLog(dir, label, text) {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, `${label}.log`), text)
}

/**
 * The bundled action, run the way a runner runs it (INPUT_*, GITHUB_* files), in `temp`.
 * Returns the wall time, the action's own timings and outputs, and its log.
 */
export function runAction(action, ws, temp, inputs, extraEnv = {}) {
  fs.rmSync(temp, { recursive: true, force: true })
  fs.mkdirSync(temp, { recursive: true })
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_') || k.startsWith('GITHUB_')) delete env[k]
  for (const f of ['output', 'summary', 'state']) fs.writeFileSync(path.join(temp, f), '')
  Object.assign(env, {
    GITHUB_WORKSPACE: ws,
    RUNNER_TEMP: temp,
    GITHUB_OUTPUT: path.join(temp, 'output'),
    GITHUB_STEP_SUMMARY: path.join(temp, 'summary'),
    GITHUB_STATE: path.join(temp, 'state'),
    // A push run, as the defaults are measured: a run without an event is treated as a pull
    // request's (SECURITY.md), with a NuGet package cache mount of its own per run.
    GITHUB_EVENT_NAME: 'push',
    INPUT_SUMMARY: 'false'
  })
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  Object.assign(env, extraEnv)
  const t0 = process.hrtime.bigint()
  const r = spawnSync('node', [action], { env, cwd: ws, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const outText = fs.readFileSync(path.join(temp, 'output'), 'utf8')
  const outputs = {}
  for (const m of outText.matchAll(/^([^<\n]+)<<(.+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1]] = m[3]
  return { code: r.status, wall, outputs, log: r.stdout + r.stderr }
}

/** The blog recipe (or another hand-written Dockerfile), built with the same buildx, platforms and OCI output. */
export function runDockerfile(dockerfile, ctx, oci, buildArgs = {}, extraArgs = [], env = process.env) {
  fs.rmSync(oci, { recursive: true, force: true })
  const args = ['buildx', 'build', '--file', dockerfile, '--platform', PLATFORMS, '--progress', 'plain', '--output', `type=oci,tar=false,dest=${oci}`, ...extraArgs]
  for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`)
  const t0 = process.hrtime.bigint()
  const r = spawnSync('docker', [...args, ctx], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env })
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  return { code: r.status, wall, log: r.stdout + r.stderr }
}

export const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: s[0], median: s[Math.floor(s.length / 2)] }
}
export const ratio = (a, b) => Number((a / b).toFixed(3))
