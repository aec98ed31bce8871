// The reusable workflow (.github/workflows/aot.yml), its sequence run here the way GitHub would
// run it, on the real engine and registry: a generated repository of 100 apps (bench/gen-
// monorepo.mjs) where a push changed two apps. Every step of ours gets the `with:` values that
// GitHub's own expression evaluator computes from the workflow's text; every `run:` script of the
// workflow runs under bash as the runner runs it. Jobs: discover (the plan script, then the
// action), build (one job per app and platform: distributed, push by digest; each in a fresh
// checkout and RUNNER_TEMP, then the workflow's report script), merge (the workflow's digests
// script, then the action), and the pull-request report (the action in mode: report over the
// jobs' report files). The build jobs run on this engine's docker driver: a fresh
// docker-container builder cannot pull the base images here (moby/buildkit is not reachable).
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import yaml from 'js-yaml'
import { evaluateExpression, isOurs } from '../__tests__/action/workflowcheck.js'
import { parseOutputFile, REGISTRY, REPO, registryJson, runAction, WORK, type ActionRun } from './harness.js'

interface Step {
  id?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, unknown>
}
interface Job {
  if?: string
  steps: Step[]
}
const wf = yaml.load(fs.readFileSync(path.join(REPO, '.github', 'workflows', 'aot.yml'), 'utf8')) as { jobs: Record<string, Job> }
const job = (id: string): Job => wf.jobs[id] ?? (() => { throw new Error(`aot.yml has no job ${id}`) })()
const ours = (id: string): Step => job(id).steps.find((s) => s.uses !== undefined && isOurs(s.uses)) ?? (() => { throw new Error(`${id} uses no step of ours`) })()
const script = (id: string, pick: (s: Step) => boolean): Step => job(id).steps.find((s) => s.run !== undefined && pick(s)) ?? (() => { throw new Error(`${id}: no such run step`) })()

const RUN = `wf-${Date.now().toString(36)}`
const PREFIX = `${REGISTRY}/aot-e2e/${RUN}/`
const CHANGED = ['Api001', 'Tool002']

/** A value of the workflow with each `${{ }}` in it evaluated, as the runner does. */
function interpolate(value: string, ctx: Record<string, unknown>): string {
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => evaluateExpression(e, ctx))
}

/** A `with:` block as GitHub hands it to the step: every value evaluated, empty ones left out as unset. */
function withValues(s: Step, ctx: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(s.with ?? {})) {
    const value = typeof v === 'string' ? interpolate(v, ctx) : String(v)
    if (value !== '') out[k] = value
  }
  return out
}

/** A run: step under bash (-e, pipefail) with its env: evaluated, a GITHUB_OUTPUT file and RUNNER_TEMP. */
function runScript(s: Step, ctx: Record<string, unknown>, runnerTemp: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(s.env ?? {})) env[k] = interpolate(v, ctx)
  const out = path.join(runnerTemp, `output-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  fs.writeFileSync(out, '')
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run ?? 'exit 99'], { env: { PATH: process.env.PATH ?? '', GITHUB_OUTPUT: out, RUNNER_TEMP: runnerTemp, ...env }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`the step failed (${r.status}): ${r.stdout}${r.stderr}`)
  return parseOutputFile(fs.readFileSync(out, 'utf8'))
}

const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], { cwd, encoding: 'utf8' }).trim()

/** What actions/checkout leaves: a clone of the repository at the pushed commit. */
function checkout(origin: string, name: string): string {
  const ws = path.join(WORK, RUN, name)
  fs.rmSync(ws, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(ws), { recursive: true })
  execFileSync('git', ['clone', '-q', origin, ws])
  return ws
}

function must(run: ActionRun, what: string): ActionRun {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.stdout.slice(-6000)}`)
  return run
}

describe('the reusable workflow, its jobs run in order: a push that changed two of 100 apps', () => {
  const inputs = { project: 'Mono.sln', platforms: 'linux/amd64,linux/arm64', push: true, 'image-prefix': PREFIX, tag: '', distribute: 'true', 'max-size': '', 'max-increase': '', budgets: '{}', 'smoke-test': 'auto', comment: false, name: 'aot', registry: '', runner: 'ubuntu-24.04', 'arm64-runner': 'ubuntu-24.04-arm', 'registry-username': '' }
  let github: Record<string, unknown> = {}
  let plan: Record<string, string> = {}
  let discover: ActionRun
  let matrix: { include: { project: string; name: string; platforms: string; framework: string }[] } = { include: [] }
  const builds: { app: string; platform: string; run: ActionRun; inputs: Record<string, string> }[] = []
  const merges: Record<string, ActionRun> = {}
  let reportsDir = ''
  let tagsBeforeMerge: string[] = []

  beforeAll(async () => {
    const origin = path.join(WORK, RUN, 'origin')
    fs.mkdirSync(origin, { recursive: true })
    execFileSync('node', [path.join(REPO, 'bench', 'gen-monorepo.mjs'), origin, '100'])
    git(origin, 'init', '-q', '-b', 'main')
    git(origin, 'add', '-A')
    git(origin, 'commit', '-qm', 'base')
    const before = git(origin, 'rev-parse', 'HEAD')
    for (const app of CHANGED) fs.appendFileSync(path.join(origin, 'apps', app, 'Program.cs'), `// ${RUN}\n`)
    git(origin, 'commit', '-qam', 'two apps changed')
    const sha = git(origin, 'rev-parse', 'HEAD')
    github = { event_name: 'push', sha, actor: 'octo', token: '', event: { before, repository: { private: false } } }
    const ctx = (more: Record<string, unknown> = {}): Record<string, unknown> => ({ inputs, github, secrets: {}, ...more })

    // discover: the plan script, then the action with the workflow's with:.
    const temp = path.join(WORK, RUN, 'discover-temp')
    fs.mkdirSync(temp, { recursive: true })
    plan = runScript(script('discover', (s) => s.id === 'plan'), ctx(), temp)
    const dws = checkout(origin, 'discover')
    discover = must(runAction(dws, withValues(ours('discover'), ctx())), 'discover')
    matrix = JSON.parse(discover.outputs.matrix ?? '{}') as typeof matrix
    const needs = { discover: { outputs: { matrix: discover.outputs.matrix, count: discover.outputs.count, platforms: plan.platforms, distributed: plan.distributed } } }

    // build: one job per app and platform, each in its own checkout and RUNNER_TEMP.
    reportsDir = path.join(WORK, RUN, 'reports')
    fs.mkdirSync(reportsDir, { recursive: true })
    const platforms = JSON.parse(plan.platforms ?? '[]') as string[]
    let index = 0
    for (const app of matrix.include) {
      for (const platform of platforms) {
        const c = ctx({ needs, matrix: { app, platform }, strategy: { 'job-index': index } })
        const ws = checkout(origin, `build-${app.name}-${platform.replace('/', '-')}`)
        const given = withValues(ours('build'), c)
        const run = runAction(ws, given)
        console.log(`workflow: build ${app.name} ${platform} exit ${run.code} in ${run.seconds.toFixed(1)} s, digest ${run.outputs.digest}`)
        builds.push({ app: app.name, platform, run, inputs: given })
        // The workflow's report step, with steps.aot as this job's step left it.
        const jobTemp = path.join(WORK, RUN, `build-temp-${index}`)
        fs.mkdirSync(jobTemp, { recursive: true })
        runScript(script('build', (s) => (s.run ?? '').includes('aot-report')), { ...c, steps: { aot: { outcome: run.code === 0 ? 'success' : 'failure', outputs: run.outputs } } }, jobTemp)
        for (const f of fs.readdirSync(path.join(jobTemp, 'aot-report'))) fs.copyFileSync(path.join(jobTemp, 'aot-report', f), path.join(reportsDir, f))
        index++
      }
    }
    tagsBeforeMerge = await Promise.all(matrix.include.map(async (a) => ((await (await fetch(`http://${REGISTRY}/v2/aot-e2e/${RUN}/${a.name}/tags/list`)).json()) as { tags?: string[] | null }).tags ?? [])).then((t) => t.flat())

    // merge: per app, the workflow's digests script over the downloaded reports, then the action.
    for (const app of matrix.include) {
      const c = ctx({ needs, matrix: { app } })
      const mergeTemp = path.join(WORK, RUN, `merge-temp-${app.name}`)
      fs.mkdirSync(mergeTemp, { recursive: true })
      fs.cpSync(reportsDir, path.join(mergeTemp, 'aot-report'), { recursive: true })
      const digests = runScript(script('merge', (s) => s.id === 'digests'), c, mergeTemp)
      const ws = path.join(WORK, RUN, `merge-${app.name}`)
      fs.mkdirSync(ws, { recursive: true })
      merges[app.name] = must(runAction(ws, withValues(ours('merge'), { ...c, steps: { digests: { outputs: digests } } })), `merge of ${app.name}`)
    }
  })

  test('the plan: distributed (a public repository, distribute: auto would say so too), one build job per platform', () => {
    expect(plan).toEqual({ distributed: 'true', platforms: '["linux/amd64","linux/arm64"]' })
    expect(evaluateExpression(job('build').if ?? '', { needs: { discover: { outputs: { count: discover.outputs.count } } } })).toBe('true')
  })

  test('discover lists exactly the two changed apps of 100, from the push\'s before', () => {
    expect(discover.outputs.count).toBe('2')
    expect(matrix.include.map((a) => a.name).sort()).toEqual(['api001', 'tool002'])
    expect(matrix.include.map((a) => a.project).sort()).toEqual(['apps/Api001/Api001.csproj', 'apps/Tool002/Tool002.csproj'])
  })

  test('four build jobs, each built one platform of one app and pushed it by digest only (no tag before the merge)', () => {
    expect(builds).toHaveLength(4)
    for (const b of builds) {
      expect(b.run.code).toBe(0)
      expect(b.inputs).toEqual(expect.objectContaining({ platforms: b.platform, 'push-by-digest': 'true', push: 'false', tags: `${PREFIX}${b.app}:${String(github.sha)}` }))
      expect(b.run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(Object.keys(JSON.parse(b.run.outputs.sizes ?? '{}') as object)).toEqual([b.platform])
    }
    expect(tagsBeforeMerge).toEqual([])
  })

  test('each build job kept a report file in the shape the report job reads', () => {
    const files = fs.readdirSync(reportsDir).sort()
    expect(files).toHaveLength(4)
    for (const f of files) {
      const r = JSON.parse(fs.readFileSync(path.join(reportsDir, f), 'utf8')) as { schema: string; app: string; outcome: string; digest: string }
      expect(r.schema).toBe('aot-buildx-app-report/1')
      expect(r.outcome).toBe('success')
      expect(builds.some((b) => b.app === r.app && b.run.outputs.digest === r.digest)).toBe(true)
    }
  })

  test('each merge tagged one index of both platforms, made of exactly its build jobs\' digests', async () => {
    for (const app of matrix.include) {
      expect(merges[app.name]?.code).toBe(0)
      const index = await registryJson(`aot-e2e/${RUN}/${app.name}`, String(github.sha))
      const manifests = (index.body.manifests as { digest: string; platform?: { architecture: string }; annotations?: Record<string, string> }[]).filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')
      expect(manifests.map((m) => m.platform?.architecture).sort()).toEqual(['amd64', 'arm64'])
      const jobs = builds.filter((b) => b.app === app.name)
      // A job's digest is its platform's index (with its attestation) or manifest: each is in the merged index.
      for (const b of jobs) {
        const pushed = await registryJson(`aot-e2e/${RUN}/${app.name}`, b.run.outputs.digest ?? '')
        const platformDigest = Array.isArray(pushed.body.manifests) ? (pushed.body.manifests as { digest: string; annotations?: Record<string, string> }[]).find((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')?.digest : b.run.outputs.digest
        expect(manifests.map((m) => m.digest)).toContain(platformDigest)
      }
    }
  })

  // always() is a status function the evaluator leaves to the runner (true here): the rest is evaluated.
  const reportIf = (): string => (job('report').if ?? '').replace(/^always\(\) && /, '')

  test('the report job: one table of every app built, both platforms each, from the jobs\' files', () => {
    // On a pull request it runs; this push run would skip it (its if:), so it is run here as a pull request's would.
    expect(evaluateExpression(reportIf(), { github, needs: { discover: { result: 'success', outputs: { count: '2' } } } })).toBe('false')
    const ws = path.join(WORK, RUN, 'report')
    fs.mkdirSync(ws, { recursive: true })
    const prGithub = { ...github, event_name: 'pull_request' }
    expect(evaluateExpression(reportIf(), { github: prGithub, needs: { discover: { result: 'success', outputs: { count: '2' } } } })).toBe('true')
    const given = withValues(ours('report'), { inputs, github: prGithub, runner: { temp: path.dirname(reportsDir) }, secrets: {} })
    expect(given.reports).toBe(path.join(path.dirname(reportsDir), 'aot-report'))
    fs.cpSync(reportsDir, given.reports ?? '', { recursive: true })
    const r = must(runAction(ws, given), 'the report')
    for (const app of ['api001', 'tool002']) for (const p of ['linux/amd64', 'linux/arm64']) expect(r.summary).toMatch(new RegExp(`${app}.*${p.replace('/', '\\/')}|${p.replace('/', '\\/')}.*${app}`))
    // One table for the whole run.
    expect(r.summary.match(/^\|---/gm)).toHaveLength(1)
  })
})
