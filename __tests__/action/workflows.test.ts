// Our workflow files and the README's YAML examples, read by GitHub's own workflow parser and
// the checks of workflowcheck.ts. The broken copies below show that each check can fail.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import yaml from 'js-yaml'
import { parseAppReport } from '../../src/size/apps.js'
import { diffSizes, reportJson } from '../../src/size/diff.js'
import { MARK } from '../util/hostile.js'
import { checkWorkflow, evaluateExpression, isOurs, readActionSpec } from './workflowcheck.js'

const ROOT = path.join(import.meta.dirname, '..', '..')
const ACTION_YML = fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const WORKFLOWS = path.join(ROOT, '.github', 'workflows')
const action = readActionSpec(ACTION_YML)

/**
 * How a README block becomes a whole workflow: `workflow` as it is; `jobs` (a `jobs:` mapping
 * without `on:`) gets `on: push`; `steps` (a list of steps, `- uses: ...`) becomes the steps of
 * one job; `with` (a `with:` mapping alone) becomes the step using this action that it belongs to.
 */
type Kind = 'workflow' | 'jobs' | 'steps' | 'with'

/** Every README YAML block by its section, and which are fragments: a new block must be placed here. */
const README_BLOCKS: Record<string, Kind[]> = {
  'aot-buildx-action': ['steps'],
  'Quick start': ['workflow'],
  'Push to GHCR with docker/login-action and docker/metadata-action': ['jobs'],
  'Test the image in the next step': ['steps'],
  'A health check on a chiseled image': ['steps'],
  'Several projects: a matrix, built only when their inputs changed': ['jobs'],
  'A monorepo in one line: the reusable workflow': ['workflow'],
  'Size report on pull requests': ['workflow'],
  'Signed images': ['workflow'],
  'Scale out: one native runner per architecture': ['workflow', 'steps'],
  'Private repositories: one runner, both architectures': ['workflow'],
  'Private NuGet feeds': ['steps', 'steps']
}

interface Block {
  heading: string
  line: number
  text: string
}

function readmeBlocks(): Block[] {
  const out: Block[] = []
  let heading = ''
  const lines = README.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const h = /^#+\s+(.*)$/.exec(line)
    if (h?.[1] !== undefined) heading = h[1]
    if (!/^ *```yaml\s*$/.test(line)) continue
    const body: string[] = []
    let j = i + 1
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) body.push(lines[j] ?? '')
    // Dedent to the block's own leftmost column (a fence inside a bullet, steps shown indented).
    const min = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length))
    out.push({ heading, line: i + 1, text: body.map((l) => l.slice(min)).join('\n') })
    i = j
  }
  return out
}

function kindOf(text: string): Kind | undefined {
  const doc = yaml.load(text)
  if (Array.isArray(doc)) return 'steps'
  if (typeof doc !== 'object' || doc === null) return undefined
  const keys = Object.keys(doc)
  if (keys.includes('jobs')) return keys.includes('on') ? 'workflow' : 'jobs'
  if (keys.length === 1 && keys[0] === 'with') return 'with'
  return undefined
}

const indent = (text: string, n: number): string =>
  text
    .split('\n')
    .map((l) => (l.trim() === '' ? l : ' '.repeat(n) + l))
    .join('\n')

function wrap(kind: Kind, text: string): string {
  const job = (steps: string): string => `on: push\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n${indent(steps, 6)}\n`
  if (kind === 'workflow') return text
  if (kind === 'jobs') return `on: push\n${text}`
  if (kind === 'steps') return job(text)
  return job(`- uses: org/aot-buildx-action@v1\n${indent(text, 2)}`)
}

const blocks = readmeBlocks()

describe("action.yml, as GitHub's action parser reads it", () => {
  test('parses, with its inputs and outputs', () => {
    expect(action.inputs.has('project')).toBe(true)
    expect(action.outputs.has('matrix')).toBe(true)
  })

  test('a ${{ }} in a description is refused (the runner would fail to load the action)', () => {
    const broken = ACTION_YML.replace("description: 'Target framework to publish", "description: 'Use ${{ secrets.X }}. Target framework to publish")
    expect(broken).not.toBe(ACTION_YML)
    expect(() => readActionSpec(broken)).toThrow(/Unrecognized named-value: 'secrets'/)
  })
})

describe('workflow files', () => {
  const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))

  test('there are some', () => {
    expect(files).toEqual(expect.arrayContaining(['ci.yml', 'e2e.yml', 'release.yml', 'codeql.yml']))
  })

  test.each(files)('%s passes', async (f) => {
    expect(await checkWorkflow(f, fs.readFileSync(path.join(WORKFLOWS, f), 'utf8'), action)).toEqual([])
  })
})

describe('README YAML examples', () => {
  test('every block is placed (whole workflow or which fragment)', () => {
    const found: Record<string, (Kind | undefined)[]> = {}
    for (const b of blocks) (found[b.heading] ??= []).push(kindOf(b.text))
    expect(found).toEqual(README_BLOCKS)
  })

  test.each(blocks.map((b) => [`line ${b.line} (${b.heading})`, b] as const))('%s passes', async (_, b) => {
    const kind = kindOf(b.text)
    expect(kind).toBeDefined()
    expect(await checkWorkflow(`README.md:${b.line}`, wrap(kind as Kind, b.text), action)).toEqual([])
  })
})

describe('broken copies are rejected', () => {
  const e2e = fs.readFileSync(path.join(WORKFLOWS, 'e2e.yml'), 'utf8')
  const discover = wrap('jobs', blocks.find((b) => b.heading.startsWith('Several projects'))?.text ?? '')
  const scaleOut = blocks.find((b) => b.heading.startsWith('Scale out'))?.text ?? ''

  /** The problems of `content`, after checking that the edit changed something. */
  async function problems(original: string, content: string): Promise<string> {
    expect(content).not.toBe(original)
    return (await checkWorkflow('broken.yml', content, action)).join('\n')
  }

  const inline = (steps: string, jobExtra = ''): string => `on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n${jobExtra}    steps:\n${indent(steps, 6)}\n`

  test('expression syntax', async () => {
    expect(await problems('', inline('- run: echo "${{ github.sha ) }}"'))).toMatch(/Unexpected symbol: '\)'/)
  })

  test('an unknown context or function', async () => {
    expect(await problems('', inline('- run: echo "${{ gihtub.sha }}"'))).toMatch(/Unrecognized named-value: 'gihtub'/)
    expect(await problems('', inline('- run: echo "${{ toJSON2(github) }}"'))).toMatch(/Unrecognized function: 'toJSON2'/)
  })

  test('a context where GitHub does not allow it', async () => {
    expect(await problems('', inline('- run: "true"', '    timeout-minutes: ${{ steps.x.outputs.y }}\n'))).toMatch(/Unrecognized named-value: 'steps'/)
  })

  test('needs of an unknown job, and a cycle', async () => {
    expect(await problems(e2e, e2e.replace('needs: discover', 'needs: discovery'))).toMatch(/Job 'shop' depends on unknown job 'discovery'/)
    expect(await problems(e2e, e2e.replace('  discover:\n    runs-on', '  discover:\n    needs: shop\n    runs-on'))).toMatch(/cycle/)
  })

  test('needs.<job> of a job it does not need, and an output that job does not declare', async () => {
    expect(await problems(discover, discover.replace('    needs: discover\n', ''))).toMatch(/needs\.discover but the job does not need discover/)
    expect(await problems(discover, discover.replace("count != '0'", "total != '0'"))).toMatch(/job discover has no output total/)
  })

  test('steps.<id> of no earlier step, and an output our action does not have', async () => {
    expect(await problems(scaleOut, scaleOut.replace('steps.aot.outputs.digest', 'steps.aot.outputs.digests'))).toMatch(/action\.yml has no output digests/)
    expect(await problems(scaleOut, scaleOut.replace('steps.digests.outputs.list', 'steps.digest.outputs.list'))).toMatch(/steps\.digest is not an earlier step/)
  })

  test('matrix keys: a literal matrix, and the shape of our discover output', async () => {
    expect(await problems(scaleOut, scaleOut.replace('${{ matrix.platform }}', '${{ matrix.platfrom }}'))).toMatch(/matrix\.platfrom is not a key of the job's matrix \(platform, runner\)/)
    expect(await problems(discover, discover.replace('${{ matrix.project }}', '${{ matrix.path }}'))).toMatch(/matrix\.path is not a key of the job's matrix \(project, name, platforms, framework\)/)
    expect(await problems(e2e, e2e.replace('ubuntu-latest\n    outputs:\n      matrix: ${{ steps.apps.outputs.matrix }}', 'ubuntu-latest\n    outputs:\n      matrix: ${{ steps.apps.outputs.count }}'))).toMatch(
      /is not fromJSON of this action's discover output/
    )
    expect(await problems(discover, discover.replace('          mode: discover\n', ''))).toMatch(/is not fromJSON of this action's discover output/)
  })

  test("a matrix from discovery that an empty list would fail (no if: on the discover job's count)", async () => {
    expect(await problems(discover, discover.replace(/ {4}if: needs\.discover\.outputs\.count.*\n/, ''))).toMatch(/does not read that step's count/)
  })

  test('inputs of our action: an unknown name, project missing in mode: build', async () => {
    expect(await problems(e2e, e2e.replace('          project: samples/', '          projekt: samples/'))).toMatch(/"projekt" is not an input of action\.yml/)
    expect(await problems(scaleOut, scaleOut.replace('          project: src/TodoApi\n', ''))).toMatch(/"project" is required in mode: build/)
    // mode: merge needs no project; the same step in mode: build does.
    expect(await problems(scaleOut, scaleOut.replace('mode: merge', 'mode: build'))).toMatch(/"project" is required in mode: build/)
  })

  test('a required input of action.yml that a step leaves out', async () => {
    const strict = readActionSpec(ACTION_YML.replace(/(\n {2}framework:\n {4}description: '[^\n]*'\n {4}required: )false/, '$1true'))
    expect(strict.inputs.get('framework')?.required).toBe(true)
    const text = inline('- uses: org/aot-buildx-action@v1\n  with:\n    project: src/App')
    expect(await checkWorkflow('strict.yml', text, action)).toEqual([])
    expect((await checkWorkflow('strict.yml', text, strict)).join('\n')).toMatch(/the required input "framework" is missing/)
  })
})

describe('aot.yml, the reusable workflow (the parts GitHub would run, evaluated here)', () => {
  interface WfStep {
    id?: string
    uses?: string
    if?: string
    run?: string
    env?: Record<string, string>
    with?: Record<string, unknown>
  }
  interface WfJob {
    needs?: string | string[]
    if?: string
    'runs-on': string
    permissions?: Record<string, string>
    strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown> }
    outputs?: Record<string, string>
    steps: WfStep[]
  }
  interface Wf {
    on: { workflow_call: { inputs: Record<string, { type: string; default?: unknown }>; secrets: Record<string, { required: boolean }>; outputs: Record<string, unknown> } }
    permissions: unknown
    jobs: Record<string, WfJob>
  }
  const TEXT = fs.readFileSync(path.join(WORKFLOWS, 'aot.yml'), 'utf8')
  const wf = yaml.load(TEXT) as Wf
  const job = (id: string): WfJob => {
    const j = wf.jobs[id]
    if (j === undefined) throw new Error(`aot.yml has no job ${id}`)
    return j
  }
  const step = (jobId: string, pick: (s: WfStep) => boolean): WfStep => {
    const s = job(jobId).steps.find(pick)
    if (s === undefined) throw new Error(`aot.yml: job ${jobId} has no such step`)
    return s
  }
  const ours = (jobId: string): WfStep => step(jobId, (s) => s.uses !== undefined && isOurs(s.uses))
  const withOf = (s: WfStep, key: string): string => {
    const v = s.with?.[key]
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : ''
  }

  const evaluate = evaluateExpression

  /** A run: step's script under bash, as the runner runs it (bash -e), with its env and a GITHUB_OUTPUT file. */
  function runStep(s: WfStep, env: Record<string, string>): { code: number; stdout: string; outputs: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-yml-'))
    const out = path.join(dir, 'output')
    fs.writeFileSync(out, '')
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run ?? 'exit 99'], { cwd: dir, env: { PATH: process.env.PATH ?? '', GITHUB_OUTPUT: out, RUNNER_TEMP: dir, ...env }, encoding: 'utf8' })
    return { code: r.status ?? -1, stdout: r.stdout, outputs: fs.readFileSync(out, 'utf8') }
  }
  const outputsOf = (text: string): Record<string, string> => Object.fromEntries(text.split('\n').filter((l) => /^[\w-]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))

  test('is a workflow_call workflow with the inputs and secrets the README documents', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_call'])
    const inputs = wf.on.workflow_call.inputs
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(['project', 'platforms', 'push', 'image-prefix', 'tag', 'distribute', 'max-size', 'max-increase', 'budgets', 'comment']))
    expect(inputs.distribute?.default).toBe('auto')
    expect(inputs.push).toEqual(expect.objectContaining({ type: 'boolean', default: false }))
    expect(Object.keys(wf.on.workflow_call.secrets)).toEqual(['REGISTRY_PASSWORD', 'BUILD_SECRETS'])
    for (const s of Object.values(wf.on.workflow_call.secrets)) expect(s.required).toBe(false)
  })

  test("the README's table of its inputs lists every input, with its default", () => {
    const section = README.slice(README.indexOf('### A monorepo in one line: the reusable workflow'), README.indexOf('### Reading the project in a sandbox'))
    const rows = [...section.matchAll(/^\| `([\w-]+)` \|([^|]*)\|/gm)].map((m) => [m[1], (m[2] ?? '').trim()])
    expect(rows.map(([k]) => k)).toEqual(Object.keys(wf.on.workflow_call.inputs))
    for (const [k, shown] of rows) {
      const d = wf.on.workflow_call.inputs[k ?? '']?.default
      // Empty defaults are shown empty; the two computed ones say what they become.
      if (k === 'tag') expect(shown).toBe('the commit SHA')
      else if (k === 'registry-username') expect(shown).toBe('`github.actor`')
      else expect(shown).toBe(d === '' || d === undefined ? '' : `\`${JSON.stringify(d).replace(/^"|"$/g, '')}\``)
    }
  })

  test('jobs and needs: discover -> build -> merge -> report', () => {
    expect(Object.keys(wf.jobs)).toEqual(['discover', 'build', 'merge', 'report'])
    expect(job('discover').needs).toBeUndefined()
    expect(job('build').needs).toBe('discover')
    expect(job('merge').needs).toEqual(['discover', 'build'])
    expect(job('report').needs).toEqual(['discover', 'build', 'merge'])
  })

  test('permissions: none for the workflow, each job lists only its own', () => {
    expect(wf.permissions).toEqual({})
    expect(Object.fromEntries(Object.entries(wf.jobs).map(([id, j]) => [id, j.permissions]))).toEqual({
      discover: { contents: 'read' },
      build: { contents: 'read', packages: 'write' },
      merge: { packages: 'write' },
      report: { 'pull-requests': 'write' }
    })
  })

  test("discover: our action in mode: discover, its matrix and count are the job's outputs, history fetched for changed-since", () => {
    const d = ours('discover')
    expect(withOf(d, 'mode')).toBe('discover')
    expect(job('discover').outputs).toMatchObject({ matrix: `\${{ steps.${d.id ?? ''}.outputs.matrix }}`, count: `\${{ steps.${d.id ?? ''}.outputs.count }}` })
    expect(step('discover', (s) => s.uses === 'actions/checkout@v5').with?.['fetch-depth']).toBe(0)
  })

  test.each([
    ['a pull request: its base', { event_name: 'pull_request', event: { pull_request: { base: { sha: 'b'.repeat(40) } }, before: 'x' } }, 'b'.repeat(40)],
    ['a push: the commit before it', { event_name: 'push', event: { before: 'a'.repeat(40) } }, 'a'.repeat(40)],
    ["a branch's first push (before is all zeros): every app", { event_name: 'push', event: { before: '0'.repeat(40) } }, ''],
    ['workflow_dispatch: every app', { event_name: 'workflow_dispatch', event: { inputs: {} } }, ''],
    ['another event: every app', { event_name: 'schedule', event: {} }, '']
  ])('changed-since on %s', (_, github, expected) => {
    expect(evaluate(withOf(ours('discover'), 'changed-since'), { github })).toBe(expected)
  })

  test("build: the matrix is discover's entries × the platform jobs the plan lists, guarded by count, no fail-fast", () => {
    const b = job('build')
    expect(b.strategy?.matrix).toEqual({ app: '${{ fromJSON(needs.discover.outputs.matrix).include }}', platform: '${{ fromJSON(needs.discover.outputs.platforms) }}' })
    expect(b.strategy?.['fail-fast']).toBe(false)
    expect(b.if).toBe("needs.discover.outputs.count != '0'")
    expect(job('discover').outputs?.platforms).toBe('${{ steps.plan.outputs.platforms }}')
    const a = ours('build')
    expect(withOf(a, 'project')).toBe('${{ matrix.app.project }}')
    expect(withOf(a, 'framework')).toBe('${{ matrix.app.framework }}')
    expect(withOf(a, 'platforms')).toBe('${{ matrix.platform }}')
  })

  const inputs = { runner: 'ubuntu-24.04', 'arm64-runner': 'ubuntu-24.04-arm', push: true, 'image-prefix': 'ghcr.io/o/', tag: '', budgets: '{"api": {"max-size": "20MB", "max-increase": "app:5%"}}', 'max-size': '15MB', 'max-increase': '' }
  const ctx = (distributed: string, platform: string, name = 'api', over: Partial<typeof inputs> = {}): Record<string, unknown> => ({
    inputs: { ...inputs, ...over },
    needs: { discover: { outputs: { distributed, count: '2' }, result: 'success' } },
    matrix: { app: { name, project: `src/${name}/${name}.csproj`, framework: '' }, platform },
    github: { sha: 'f'.repeat(40), event_name: 'pull_request' },
    secrets: {},
    strategy: { 'job-index': 0 }
  })

  test('build: runs-on is the arm64 runner only for a distributed linux/arm64 job', () => {
    const runsOn = job('build')['runs-on']
    expect(evaluate(runsOn, ctx('true', 'linux/arm64'))).toBe('ubuntu-24.04-arm')
    expect(evaluate(runsOn, ctx('true', 'linux/amd64'))).toBe('ubuntu-24.04')
    expect(evaluate(runsOn, ctx('false', 'linux/amd64,linux/arm64'))).toBe('ubuntu-24.04')
  })

  test('build: distributed jobs push by digest, one runner pushes the multi-platform image, nothing without push', () => {
    const a = ours('build')
    const pushes = (c: Record<string, unknown>): [string, string] => [evaluate(withOf(a, 'push'), c), evaluate(withOf(a, 'push-by-digest'), c)]
    expect(pushes(ctx('true', 'linux/arm64'))).toEqual(['false', 'true'])
    expect(pushes(ctx('false', 'linux/amd64,linux/arm64'))).toEqual(['true', 'false'])
    expect(pushes(ctx('true', 'linux/arm64', 'api', { push: false }))).toEqual(['false', 'false'])
    expect(evaluate(withOf(a, 'tags'), ctx('true', 'linux/arm64'))).toBe(`ghcr.io/o/api:${'f'.repeat(40)}`)
    expect(evaluate(withOf(a, 'tags'), ctx('true', 'linux/arm64', 'api', { tag: 'v1' }))).toBe('ghcr.io/o/api:v1')
    expect(evaluate(withOf(a, 'tags'), ctx('false', 'linux/amd64', 'api', { 'image-prefix': '' }))).toBe('')
  })

  test('build: budgets per app (the budgets input names the app), else the shared ones', () => {
    const a = ours('build')
    expect(evaluate(withOf(a, 'max-size'), ctx('false', 'linux/amd64', 'api'))).toBe('20MB')
    expect(evaluate(withOf(a, 'max-increase'), ctx('false', 'linux/amd64', 'api'))).toBe('app:5%')
    expect(evaluate(withOf(a, 'max-size'), ctx('false', 'linux/amd64', 'web'))).toBe('15MB')
    expect(evaluate(withOf(a, 'max-size'), ctx('false', 'linux/amd64', 'api', { budgets: '{}' }))).toBe('15MB')
  })

  test('merge: only for a distributed push, per app, also after another app failed', () => {
    const m = job('merge')
    expect(m.strategy?.matrix).toEqual({ app: '${{ fromJSON(needs.discover.outputs.matrix).include }}' })
    expect(m.if?.startsWith('always() && ')).toBe(true)
    // always() is a status function the evaluator leaves to the runner: the rest is evaluated.
    const cond = (m.if ?? '').replace(/^always\(\) && /, '')
    expect(evaluate(cond, ctx('true', ''))).toBe('true')
    expect(evaluate(cond, ctx('false', ''))).toBe('false')
    expect(evaluate(cond, ctx('true', '', 'api', { push: false }))).toBe('false')
    expect(withOf(ours('merge'), 'mode')).toBe('merge')
  })

  test('report: one job for the run, after build and merge, if: always() on pull requests, mode: report with the comment', () => {
    const r = job('report')
    expect(r.strategy).toBeUndefined()
    expect(r.if?.startsWith('always() && ')).toBe(true)
    const cond = (r.if ?? '').replace(/^always\(\) && /, '')
    expect(evaluate(cond, ctx('false', ''))).toBe('true')
    expect(evaluate(cond, { ...ctx('false', ''), github: { event_name: 'push' } })).toBe('false')
    const a = ours('report')
    expect(withOf(a, 'mode')).toBe('report')
    expect(withOf(a, 'comment')).toBe('${{ inputs.comment }}')
    expect(withOf(step('report', (s) => s.uses === 'actions/download-artifact@v4'), 'path')).toBe(withOf(a, 'reports'))
  })

  describe('the plan step (bash, as the runner runs it): one native runner per architecture where arm64 runners are free', () => {
    const plan = step('discover', (s) => s.id === 'plan')
    const planned = (PLATFORMS: string, DISTRIBUTE: string, PRIVATE: string, push: Record<string, string> = { PUSH: 'false', PREFIX: '' }): { code: number; out: Record<string, string>; stdout: string } => {
      const r = runStep(plan, { PLATFORMS, DISTRIBUTE, PRIVATE, ...push })
      return { code: r.code, out: outputsOf(r.outputs), stdout: r.stdout }
    }
    test.each([
      ['a public repository, auto', 'linux/amd64,linux/arm64', 'auto', 'false', 'true', ['linux/amd64', 'linux/arm64']],
      ['a private repository, auto', 'linux/amd64,linux/arm64', 'auto', 'true', 'false', ['linux/amd64,linux/arm64']],
      ['visibility unknown, auto', 'linux/amd64,linux/arm64', 'auto', '', 'false', ['linux/amd64,linux/arm64']],
      ['true, newline-separated, arm64/v8 read as arm64', 'linux/arm64/v8\nlinux/amd64\n', 'true', 'true', 'true', ['linux/arm64', 'linux/amd64']],
      ['false on a public repository', 'linux/amd64, linux/arm64', 'false', 'false', 'false', ['linux/amd64,linux/arm64']],
      ['one platform: nothing to distribute', 'linux/arm64', 'true', 'false', 'false', ['linux/arm64']],
      ['a platform listed twice', 'linux/amd64,linux/amd64', 'true', 'false', 'false', ['linux/amd64']]
    ])('%s', (_, platforms, distribute, priv, distributed, jobs) => {
      const r = planned(platforms, distribute, priv)
      expect(r.code).toBe(0)
      expect(r.out.distributed).toBe(distributed)
      expect(JSON.parse(r.out.platforms ?? '')).toEqual(jobs)
    })
    test.each([
      ['linux/386', 'auto', /::error title=platforms::/],
      ['*', 'auto', /::error title=platforms::/],
      ['', 'auto', /::error title=platforms::The input platforms is empty/],
      ['linux/amd64', 'sometimes', /::error title=distribute::/]
    ])('refused: platforms %j, distribute %j', (platforms, distribute, message) => {
      const r = planned(platforms, distribute, 'false')
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(message)
      expect(r.out).toEqual({})
    })
    test('refused: push without image-prefix (before any build starts); with it, planned', () => {
      const r = planned('linux/amd64', 'auto', 'false', { PUSH: 'true', PREFIX: '' })
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/::error title=image-prefix::push is true but image-prefix is empty/)
      expect(planned('linux/amd64', 'auto', 'false', { PUSH: 'true', PREFIX: 'ghcr.io/o/' }).code).toBe(0)
    })
    test('the step gets exactly these variables from the workflow', () => {
      expect(Object.keys(plan.env ?? {}).sort()).toEqual(['DISTRIBUTE', 'PLATFORMS', 'PREFIX', 'PRIVATE', 'PUSH'])
    })
  })

  describe("the build job's keep step writes the file mode: report reads; the merge job's step finds an app's digests", () => {
    const keep = step('build', (s) => s.run?.includes('aot-buildx-app-report/1') === true)
    const evilProject = `src/"quoted"/$(touch x)\n::warning::${MARK}.csproj`
    const sizeReport = reportJson(diffSizes({ 'linux/arm64': { compressed: 9 } }, { 'linux/arm64': { compressed: 10, appLayer: 4 } }), [], { project: 'p', baselineSource: '', current: { 'linux/arm64': { compressed: 10 } } })
    test("the action's outputs go in as JSON, the matrix's text as strings: parseAppReport accepts it", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-keep-'))
      const env = {
        RUNNER_TEMP: dir,
        SIZES: JSON.stringify({ 'linux/arm64': { compressed: 10, uncompressed: 30, appLayer: 4, digest: `sha256:${'e'.repeat(64)}` } }),
        SIZE_REPORT: JSON.stringify(sizeReport),
        SMOKE: JSON.stringify({ 'linux/arm64': { startupMs: 31, memoryPeak: 1000, emulated: false, ok: true, outcome: 'answered 200' } })
      }
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', keep.run ?? ''], { cwd: dir, env: { PATH: process.env.PATH ?? '', APP: 'api', PROJECT: evilProject, PLATFORMS: 'linux/arm64', OUTCOME: 'failure', DIGEST: `sha256:${'d'.repeat(64)}`, INDEX: '3', ...env }, encoding: 'utf8' })
      expect(r.status).toBe(0)
      const parsed = parseAppReport(fs.readFileSync(path.join(dir, 'aot-report', 'api-3.json'), 'utf8'))
      expect(parsed).toMatchObject({ app: 'api', project: evilProject, platforms: 'linux/arm64', outcome: 'failure', digest: `sha256:${'d'.repeat(64)}` })
      expect(parsed.report?.rows[0]).toMatchObject({ platform: 'linux/arm64', delta: 1 })
      expect(parsed.smoke['linux/arm64']?.startupMs).toBe(31)
      // The project's text was data to jq, never shell: nothing ran.
      expect(fs.existsSync(path.join(dir, 'x'))).toBe(false)
    })

    test('a build that set no outputs still leaves a file: the report lists the app as failed', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-keep-'))
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', keep.run ?? ''], { env: { PATH: process.env.PATH ?? '', RUNNER_TEMP: dir, APP: 'web', PROJECT: 'src/Web/Web.csproj', PLATFORMS: 'linux/amd64,linux/arm64', OUTCOME: 'failure', DIGEST: '', SIZES: '', SIZE_REPORT: '', SMOKE: '', INDEX: '0' }, encoding: 'utf8' })
      expect(r.status).toBe(0)
      const parsed = parseAppReport(fs.readFileSync(path.join(dir, 'aot-report', 'web-0.json'), 'utf8'))
      expect(parsed).toMatchObject({ app: 'web', report: null, sizes: {}, smoke: {}, outcome: 'failure' })
    })

    test("merge: exactly the app's own digests (api, not api-admin), one per line", () => {
      const digests = step('merge', (s) => s.id === 'digests')
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-merge-'))
      fs.mkdirSync(path.join(dir, 'aot-report'))
      const put = (name: string, app: string, digest: string): void => {
        fs.writeFileSync(path.join(dir, 'aot-report', name), JSON.stringify({ schema: 'aot-buildx-app-report/1', app, digest }))
      }
      put('api-0.json', 'api', `sha256:${'1'.repeat(64)}`)
      put('api-1.json', 'api', `sha256:${'2'.repeat(64)}`)
      put('api-admin-2.json', 'api-admin', `sha256:${'3'.repeat(64)}`)
      put('web-3.json', 'web', '')
      const out = path.join(dir, 'output')
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', digests.run ?? ''], { env: { PATH: process.env.PATH ?? '', RUNNER_TEMP: dir, GITHUB_OUTPUT: out, APP: 'api' }, encoding: 'utf8' })
      expect(r.status).toBe(0)
      expect(fs.readFileSync(out, 'utf8')).toBe(`list<<EOF_DIGESTS\nsha256:${'1'.repeat(64)}\nsha256:${'2'.repeat(64)}\nEOF_DIGESTS\n`)
    })
  })

  describe('broken copies of aot.yml are rejected', () => {
    async function problems(content: string): Promise<string> {
      expect(content).not.toBe(TEXT)
      return (await checkWorkflow('aot.yml', content, action)).join('\n')
    }
    test("a field the discover entries do not have, and a matrix dimension that is not discover's", async () => {
      expect(await problems(TEXT.replace('project: ${{ matrix.app.project }}', 'project: ${{ matrix.app.path }}'))).toMatch(/matrix\.app\.path is not a field of the discover entries \(project, name, platforms, framework\)/)
      expect(await problems(TEXT.replace("app: ${{ fromJSON(needs.discover.outputs.matrix).include }}\n        # One", "app: ${{ fromJSON(needs.discover.outputs.count).include }}\n        # One"))).toMatch(
        /strategy\.matrix\.app: .* is not fromJSON of this action's discover output/
      )
    })
    test('a build over the discover entries without the count guard', async () => {
      expect(await problems(TEXT.replace("    if: needs.discover.outputs.count != '0'\n    strategy", '    strategy'))).toMatch(/job build: strategy\.matrix\.app: its matrix comes from discover's discover output, but its if: does not read that step's count/)
    })
    test('an input or secret the workflow does not declare, an output of no job', async () => {
      expect(await problems(TEXT.replace('inputs.arm64-runner ||', 'inputs.arm-runner ||'))).toMatch(/inputs\.arm-runner is not an input of on\.workflow_call/)
      expect(await problems(TEXT.replace('secrets: ${{ secrets.BUILD_SECRETS }}', 'secrets: ${{ secrets.NUGET_TOKEN }}'))).toMatch(/secrets\.NUGET_TOKEN is not a secret of on\.workflow_call/)
      expect(await problems(TEXT.replace('value: ${{ jobs.discover.outputs.count }}', 'value: ${{ jobs.discover.outputs.total }}'))).toMatch(/workflow_call output count reads jobs\.discover\.outputs\.total, which no job declares/)
    })
    test('our action in mode: report with an input it does not have', async () => {
      expect(await problems(TEXT.replace('          reports: ${{ runner.temp }}/aot-report', '          report-dir: ${{ runner.temp }}/aot-report'))).toMatch(/"report-dir" is not an input of action\.yml/)
    })
  })
})
