// Faults on the real engine: dockerd stops while the publish step runs. The step must end
// promptly with an error that names the engine, keep the outputs it has, and its post step
// must still run. The engine is started again afterwards (scripts/engine-up.sh is idempotent).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { editFile, ENTRY, makeFixtureWorkspace, parseOutputFile, REPO } from './harness.js'

const STATE = process.env.AOT_ENGINE_STATE ?? '/var/tmp/aot-buildx-engine'

interface Ended {
  code: number
  stdout: string
  outputs: Record<string, string>
  /** Seconds from stopping dockerd to the action's exit. */
  afterStop: number
  post: { status: number | null; out: string }
}

/** Runs the action and stops dockerd while the publish step runs. */
async function runAndStopEngine(workspace: string, inputs: Record<string, string>): Promise<Ended> {
  const temp = path.join(workspace, '..', `${path.basename(workspace)}-temp`)
  fs.rmSync(temp, { recursive: true, force: true })
  fs.mkdirSync(temp, { recursive: true })
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_')) env[k] = v
  for (const f of ['output', 'summary', 'state']) fs.writeFileSync(path.join(temp, f), '')
  Object.assign(env, {
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: temp,
    GITHUB_OUTPUT: path.join(temp, 'output'),
    GITHUB_STEP_SUMMARY: path.join(temp, 'summary'),
    GITHUB_STATE: path.join(temp, 'state'),
    GITHUB_ACTIONS: 'true'
  })
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const child = spawn('node', [ENTRY], { env, cwd: workspace })
  let stdout = ''
  let stoppedAt = 0
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr.on('data', (b: Buffer) => (stdout += b.toString()))
  // The publish step runs when a `dotnet publish` process exists (containers share the host's
  // process table): stop dockerd then, as `systemctl stop docker` would.
  const poll = setInterval(() => {
    if (stoppedAt !== 0) return
    if (spawnSync('pgrep', ['-f', 'dotnet publish .*-a arm64']).status !== 0) return
    stoppedAt = Date.now()
    process.kill(Number(fs.readFileSync(path.join(STATE, 'dockerd.pid'), 'utf8').trim()), 'SIGTERM')
  }, 250)
  // Bounded: a hang fails the test instead of holding CI.
  const code = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL')
      clearInterval(poll)
      reject(new Error(`the action did not end within 300 s (engine stopped: ${stoppedAt !== 0})\n${stdout.slice(-3000)}`))
    }, 300_000)
    child.on('close', (c) => {
      clearTimeout(t)
      clearInterval(poll)
      resolve(c ?? -1)
    })
  })
  const afterStop = stoppedAt === 0 ? -1 : (Date.now() - stoppedAt) / 1000
  // The post step, as the runner runs it after the job.
  const state = fs.readFileSync(env.GITHUB_STATE as string, 'utf8')
  for (const m of state.matchAll(/^([^<]+)<<(.+)\n([\s\S]*?)\n\2$/gm)) if (m[1] !== undefined && m[3] !== undefined) env[`STATE_${m[1]}`] = m[3]
  const post = spawnSync('node', [ENTRY], { env, cwd: workspace, encoding: 'utf8' })
  return { code, stdout, outputs: parseOutputFile(fs.readFileSync(env.GITHUB_OUTPUT as string, 'utf8')), afterStop, post: { status: post.status, out: post.stdout + post.stderr } }
}

describe('the engine goes away during the publish step', () => {
  let ended: Ended

  beforeAll(async () => {
    const ws = makeFixtureWorkspace('fault-engine', 'shop')
    // A change of its own, so the publish step runs whatever the engine has cached.
    editFile(path.join(ws, 'src/Shop.Api/Program.cs'), /Revision = "api-\d+"/, `Revision = "api-fault-${Date.now()}"`)
    try {
      ended = await runAndStopEngine(ws, { project: 'src/Shop.Api' })
    } finally {
      execFileSync('bash', [path.join(REPO, 'scripts', 'engine-up.sh')], { stdio: 'inherit' })
    }
    console.log(`engine stopped during publish: the action ended ${ended.afterStop.toFixed(1)} s later (exit ${ended.code})`)
  })

  test('the step fails promptly, and its error leads with the engine that went away', () => {
    expect(ended.afterStop).toBeGreaterThanOrEqual(0)
    expect(ended.afterStop).toBeLessThan(120)
    expect(ended.code).not.toBe(0)
    const error = decodeURIComponent((ended.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '').replace(/%0A/g, '\n').replace(/%25/g, '%'))
    const lines = error.replace('::error::', '').split('\n')
    expect(lines[0]).toMatch(/Unavailable|EOF|connection|Cannot connect|closing/)
    expect(lines[1]).toMatch(/^Fix: the Docker engine \(dockerd and its BuildKit\) stopped answering/)
    expect(ended.stdout).not.toMatch(/^\s+at .*\(node:/m)
  })

  test('the outputs it has are set, and the post step still runs cleanly', () => {
    expect(ended.outputs.dockerfile).toMatch(/Dockerfile\.aot$/)
    expect(ended.outputs.digest).toBeUndefined()
    expect(ended.post.status).toBe(0)
  })

  test('the engine answers again for the suites after this one', () => {
    expect(spawnSync('docker', ['info'], { encoding: 'utf8' }).status).toBe(0)
  })
})
