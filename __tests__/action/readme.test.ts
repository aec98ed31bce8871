// The README's workflow examples must pass the action's own input validation: every value
// of `tags` and `baseline-image` given to the action, with the expressions in it replaced by
// what a runner would put there. An expression the test does not know fails it, so a new
// example cannot slip past unchecked.
import * as fs from 'node:fs'
import * as path from 'node:path'
import yaml from 'js-yaml'
import { parseInputs } from '../../src/action/inputs.js'
import { matrixEntries } from '../../src/dotnet/solution.js'
import { InputError } from '../../src/util/errors.js'

const README = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')

type Values = Record<string, string>
type Node = Record<string, unknown>

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v)

// Image names are lower-case: an owner with capitals must be lowered first (the README says
// so), so the repository stands in lower-case here.
const GITHUB: Values = { 'github.repository': 'octo-org/shop', 'github.sha': '0123456789abcdef0123456789abcdef01234567' }
// Values that are not literal in the README (another action's output): not checked.
const OPAQUE = /^\$\{\{\s*steps\.[\w-]+\.outputs\.[\w-]+\s*\}\}$/

/** `value` with every known expression replaced; throws naming an unknown one. */
function substitute(value: string, known: Values): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    const v = known[expr]
    if (v === undefined) throw new Error(`README: no stand-in for \${{ ${expr} }} in ${JSON.stringify(value)}`)
    return v
  })
}

/** The matrix entries a job runs with: its include list, or what mode: discover would list. */
function matrixOf(job: Node): Values[] {
  const m = isNode(job.strategy) ? job.strategy.matrix : undefined
  if (typeof m === 'string' && m.includes('outputs.matrix')) {
    // Project names with capitals, as in the README's example entry.
    const apps = ['src/Shop.Api/Shop.Api.csproj', 'src/Billing.Worker/Billing.Worker.csproj'].map((project) => ({ project, framework: '' }))
    return matrixEntries(apps, 'linux/amd64,linux/arm64').map((e) => ({ ...e }))
  }
  if (isNode(m) && Array.isArray(m.include)) return m.include.filter(isNode).map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)])))
  if (isNode(m)) return [Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : String(v)]))]
  return [{}]
}

interface Use {
  example: number
  with: Values
  known: Values
}

/** Every step of the README's YAML examples that uses this action, once per matrix entry. */
function uses(): Use[] {
  const out: Use[] = []
  const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
  blocks.forEach((text, example) => {
    const doc = yaml.load(text)
    const workflowEnv: Values = {}
    if (isNode(doc) && isNode(doc.env)) for (const [k, v] of Object.entries(doc.env)) workflowEnv[`env.${k}`] = substitute(String(v), GITHUB)
    const jobs: Node[] = isNode(doc) && isNode(doc.jobs) ? Object.values(doc.jobs).filter(isNode) : [{ steps: doc }]
    for (const job of jobs) {
      const steps = Array.isArray(job.steps) ? job.steps.filter(isNode) : []
      for (const step of steps) {
        if (typeof step.uses !== 'string' || !step.uses.includes('aot-buildx-action') || !isNode(step.with)) continue
        const given = Object.fromEntries(Object.entries(step.with).map(([k, v]) => [k, String(v)]))
        for (const entry of matrixOf(job)) {
          const matrix = Object.fromEntries(Object.entries(entry).map(([k, v]) => [`matrix.${k}`, v]))
          out.push({ example, with: given, known: { ...GITHUB, ...workflowEnv, ...matrix } })
        }
      }
    }
  })
  return out
}

/** The action's validation of these inputs: the InputError it throws, or undefined. */
function validate(values: Values): InputError | undefined {
  try {
    parseInputs((n) => values[n] ?? (n === 'project' ? 'src/App' : ''), { workspace: '/ws', tempDir: '/tmp/rt' })
    return undefined
  } catch (e) {
    if (e instanceof InputError) return e
    throw e
  }
}

describe('README examples', () => {
  const all = uses()

  it('are found: every example that tags or compares an image', () => {
    expect(all.filter((u) => u.with.tags !== undefined).length).toBeGreaterThanOrEqual(4)
    expect(all.filter((u) => u.with['baseline-image'] !== undefined).length).toBeGreaterThanOrEqual(2)
  })

  it('give tags and baseline images the action accepts', () => {
    const checked: string[] = []
    for (const u of all) {
      for (const input of ['tags', 'baseline-image']) {
        const raw = u.with[input]
        if (raw === undefined || OPAQUE.test(raw.trim())) continue
        const value = substitute(raw, u.known)
        const err = validate({ [input]: value })
        expect({ example: u.example, input, value, error: err?.message }).toEqual({ example: u.example, input, value, error: undefined })
        checked.push(value)
      }
    }
    expect(checked).toContain('ghcr.io/octo-org/shop/shop-api:0123456789abcdef0123456789abcdef01234567')
  })

  it('would catch a tag made from a project path with capitals', () => {
    const value = substitute('ghcr.io/${{ github.repository }}/${{ matrix.project }}:1', { ...GITHUB, 'matrix.project': 'src/Shop.Api' })
    expect(validate({ tags: value })?.input).toBe('tags')
  })
})
