// Our workflow files and the README's YAML examples, read by GitHub's own workflow parser and
// the checks of workflowcheck.ts. The broken copies below show that each check can fail.
import * as fs from 'node:fs'
import * as path from 'node:path'
import yaml from 'js-yaml'
import { checkWorkflow, readActionSpec } from './workflowcheck.js'

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
  'Size report on pull requests': ['workflow'],
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
