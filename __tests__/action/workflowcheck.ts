// Checks a workflow the way GitHub reads it, with GitHub's own parser (@actions/workflow-parser:
// schema, expressions and the contexts each key allows, `needs` that name no job or form a
// cycle), then what that parser leaves to the runner, read from the template it parsed:
// `needs.<job>` only for jobs this job needs, and only outputs they declare; `steps.<id>` only
// for earlier steps; `matrix.<key>` only for keys the matrix has, including a matrix from
// `fromJSON` of our discover output, whose shape is what src/dotnet/solution.ts lists; and every
// `with:` key of a step that uses this action an input of action.yml, with what it requires;
// in a reusable workflow (on: workflow_call), only the inputs and secrets it declares, and
// outputs that name jobs' declared outputs; a matrix dimension over our discover entries
// (`app: ${{ fromJSON(...).include }}`) only with the fields those entries have.
import { convertWorkflowTemplate, isBasicExpression, isLiteral, isMapping, isSequence, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index'
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/index'
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import { matrixEntries } from '../../src/dotnet/solution.js'

export interface ActionSpec {
  inputs: Map<string, { required: boolean }>
  outputs: Set<string>
}

/** action.yml as GitHub's action parser reads it; throws with its errors (the runner would refuse to load it). */
export function readActionSpec(text: string): ActionSpec {
  const parsed = parseAction({ name: 'action.yml', content: text }, new NoOperationTraceWriter())
  const errors = parsed.context.errors.getErrors().map((e) => e.message)
  if (errors.length > 0 || parsed.value === undefined) throw new Error(`action.yml: ${errors.join('; ') || 'empty'}`)
  const t = convertActionTemplate(parsed.context, parsed.value)
  return {
    inputs: new Map((t.inputs ?? []).map((i) => [i.id, { required: i.required === true }])),
    outputs: new Set((t.outputs ?? []).map((o) => o.id))
  }
}

/** A step that runs this action: the repository itself (`./`) or a release of it. */
export function isOurs(uses: string): boolean {
  return uses === './' || /^[\w.-]+\/aot-buildx-action@/.test(uses)
}

/** Modes in which the action needs no `project` (see action.yml's description of it). */
const PROJECT_OPTIONAL_MODES = new Set(['merge', 'discover'])

/** The keys of every entry of our discover output's `{"include": [...]}`. */
const DISCOVER_KEYS = new Set(Object.keys(matrixEntries([{ project: 'src/App/App.csproj', framework: '' }], 'linux/amd64')[0] ?? {}))

const str = (t: TemplateToken | undefined): string | undefined => (t !== undefined && isLiteral(t) ? t.toString() : undefined)
const find = (m: TemplateToken | undefined, key: string): TemplateToken | undefined => (m !== undefined && isMapping(m) ? m.find(key) : undefined)
function entries(m: TemplateToken | undefined): [string, TemplateToken][] {
  return m !== undefined && isMapping(m) ? [...m].map((kv) => [kv.key.toString(), kv.value]) : []
}
function items(s: TemplateToken | undefined): TemplateToken[] {
  return s !== undefined && isSequence(s) ? [...s] : []
}

/** An `if:` value: an expression with or without `${{ }}`. */
function condition(t: TemplateToken | undefined): string {
  return t === undefined ? '' : isBasicExpression(t) ? t.expression : (str(t) ?? '')
}

/**
 * Every expression under `t` (the parser turns `a ${{ b }}` into one `format(...)` expression),
 * and every `if:`, which is one without `${{ }}` too.
 */
function expressions(t: TemplateToken | undefined, out: { expr: string; line: number }[] = []): { expr: string; line: number }[] {
  if (t === undefined) return out
  if (isBasicExpression(t)) out.push({ expr: t.expression, line: t.line ?? 0 })
  else if (isMapping(t)) {
    for (const kv of t) {
      if (kv.key.toString() === 'if' && isLiteral(kv.value)) out.push({ expr: condition(kv.value), line: kv.value.line ?? 0 })
      else expressions(kv.value, out)
    }
  } else if (isSequence(t)) for (const v of t) expressions(v, out)
  return out
}

/** Context references `<ctx>.a.b` in an expression, string literals left out. */
function refs(expr: string, ctx: string): string[][] {
  const code = expr.replace(/'(?:[^']|'')*'/g, "''")
  return [...code.matchAll(new RegExp(`(?<![\\w.-])${ctx}((?:\\.[A-Za-z_][\\w-]*)+)`, 'g'))].map((m) => (m[1] ?? '').slice(1).split('.'))
}

interface Step {
  id?: string
  uses?: string
  with: [string, TemplateToken][]
  token: TemplateToken
}

interface Job {
  id: string
  token: TemplateToken
  needs: string[]
  /** output name -> its expression text ('' when literal). */
  outputs: Map<string, string>
  steps: Step[]
}

function readJobs(root: TemplateToken): Job[] {
  return entries(find(root, 'jobs')).map(([id, token]) => {
    const needsToken = find(token, 'needs')
    const needs = needsToken === undefined ? [] : (str(needsToken) !== undefined ? [needsToken] : items(needsToken)).map((n) => str(n) ?? '')
    const outputs = new Map(entries(find(token, 'outputs')).map(([k, v]) => [k, isBasicExpression(v) ? v.expression : '']))
    const steps = items(find(token, 'steps')).map((s) => ({ id: str(find(s, 'id')), uses: str(find(s, 'uses')), with: entries(find(s, 'with')), token: s }))
    return { id, token, needs, outputs, steps }
  })
}

/** The step of `job` an output expression `steps.<id>.outputs.<name>` reads, with that name. */
function outputSource(job: Job, output: string): { step: Step; name: string } | undefined {
  const m = /^\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*$/.exec(job.outputs.get(output) ?? '')
  const step = job.steps.find((s) => s.id === m?.[1])
  return m?.[2] !== undefined && step !== undefined ? { step, name: m[2] } : undefined
}

/**
 * Where a matrix (or one of its dimensions) comes from our discover output: `expr` must be
 * fromJSON of a job output that is this action's `matrix` output in mode: discover, and the
 * job's if: must read that step's count (an empty matrix fails the job). `suffix` is what
 * follows the call: '' for the whole matrix, '.include' for a dimension of its entries.
 */
function discoverSource(expr: string, suffix: string, job: Job, jobs: Map<string, Job>, action: ActionSpec): string | undefined {
  const m = new RegExp(`^\\s*fromJSON\\(\\s*needs\\.([\\w-]+)\\.outputs\\.([\\w-]+)\\s*\\)${suffix.replace('.', '\\.')}\\s*$`, 'i').exec(expr)
  const from = m?.[1] !== undefined ? jobs.get(m[1]) : undefined
  const src = from !== undefined && m?.[2] !== undefined ? outputSource(from, m[2]) : undefined
  if (from === undefined || src === undefined || src.step.uses === undefined || !isOurs(src.step.uses) || src.name !== 'matrix' || str(find(find(src.step.token, 'with'), 'mode')) !== 'discover') {
    return `\${{ ${expr} }} is not fromJSON of this action's discover output (mode: discover, output matrix), so its shape is unknown`
  }
  const countOutputs = [...from.outputs.keys()].filter((o) => {
    const c = outputSource(from, o)
    return c?.step === src.step && c.name === 'count' && action.outputs.has('count')
  })
  const cond = condition(find(job.token, 'if'))
  if (!countOutputs.some((o) => refs(cond, 'needs').some((r) => r[0] === from.id && r[1] === 'outputs' && r[2] === o))) {
    return `its matrix comes from ${from.id}'s discover output, but its if: does not read that step's count (an empty matrix fails the job)`
  }
  return undefined
}

/**
 * The keys `matrix.<key>` may name in `job` (and, for a dimension whose values are our discover
 * entries, `matrix.<key>.<field>` in `nested`), or a problem saying why they cannot be known.
 */
function matrixKeys(job: Job, jobs: Map<string, Job>, action: ActionSpec): { keys?: Set<string>; nested: Map<string, Set<string>>; problem?: string } {
  const nested = new Map<string, Set<string>>()
  const matrix = find(find(job.token, 'strategy'), 'matrix')
  if (matrix === undefined) return { keys: new Set(), nested }
  if (isMapping(matrix)) {
    const keys = new Set<string>()
    const problems: string[] = []
    for (const [k, v] of entries(matrix)) {
      if (k === 'include' || k === 'exclude') for (const e of items(v)) for (const [ek] of entries(e)) keys.add(ek)
      else keys.add(k)
      // A dimension over the discover entries: fromJSON(needs.<job>.outputs.<matrix>).include.
      if (isBasicExpression(v) && /\.include\s*$/.test(v.expression)) {
        const problem = discoverSource(v.expression, '.include', job, jobs, action)
        if (problem !== undefined) problems.push(`strategy.matrix.${k}: ${problem}`)
        nested.set(k, DISCOVER_KEYS)
      }
    }
    return { keys, nested, ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) }
  }
  if (!isBasicExpression(matrix)) return { nested, problem: 'strategy.matrix is neither a mapping nor an expression' }
  const problem = discoverSource(matrix.expression, '', job, jobs, action)
  if (problem !== undefined && problem.includes('shape is unknown')) return { nested, problem: `strategy.matrix ${problem}` }
  return { keys: DISCOVER_KEYS, nested, ...(problem !== undefined ? { problem } : {}) }
}

function checkStepUse(job: Job, step: Step, action: ActionSpec, problems: string[]): void {
  if (step.uses === undefined || !isOurs(step.uses)) return
  const where = `job ${job.id}, step ${step.id ?? step.uses}`
  const given = new Set(step.with.map(([k]) => k))
  for (const k of given) if (!action.inputs.has(k)) problems.push(`${where}: "${k}" is not an input of action.yml`)
  for (const [name, def] of action.inputs) if (def.required && !given.has(name)) problems.push(`${where}: the required input "${name}" is missing`)
  const mode = str(step.with.find(([k]) => k === 'mode')?.[1]) ?? 'build'
  if (!given.has('project') && !PROJECT_OPTIONAL_MODES.has(mode)) problems.push(`${where}: "project" is required in mode: ${mode}`)
}

/** Problems of one workflow text: GitHub's parser's errors, then ours; empty when none. */
export async function checkWorkflow(name: string, content: string, action: ActionSpec): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter())
  if (parsed.value === undefined) return parsed.context.errors.getErrors().map((e) => e.message)
  // The conversion adds what the schema cannot see: needs of unknown jobs, cycles.
  await convertWorkflowTemplate(parsed.context, parsed.value)
  const problems = parsed.context.errors.getErrors().map((e) => e.message)
  if (problems.length > 0) return problems

  const jobs = new Map(readJobs(parsed.value).map((j) => [j.id, j]))
  // A reusable workflow (on: workflow_call) reads only the inputs and secrets it declares, and
  // its outputs name jobs' declared outputs; the parser checks none of that.
  const call = find(find(parsed.value, 'on'), 'workflow_call')
  const declared = call === undefined ? undefined : { inputs: new Set(entries(find(call, 'inputs')).map(([k]) => k)), secrets: new Set(['GITHUB_TOKEN', ...entries(find(call, 'secrets')).map(([k]) => k)]) }
  for (const [k, v] of entries(find(call, 'outputs'))) {
    for (const { expr } of expressions(v)) {
      for (const [j, kind, out] of refs(expr, 'jobs')) {
        const from = j === undefined ? undefined : jobs.get(j)
        if (from === undefined || kind !== 'outputs' || out === undefined || !from.outputs.has(out)) problems.push(`${name}: workflow_call output ${k} reads jobs.${[j, kind, out].filter((x) => x !== undefined).join('.')}, which no job declares`)
      }
    }
  }
  for (const job of jobs.values()) {
    const mk = matrixKeys(job, jobs, action)
    if (mk.problem !== undefined) problems.push(`${name}: job ${job.id}: ${mk.problem}`)
    // Job-level keys (outputs may read any step), then each step (earlier steps only).
    const scopes: { exprs: { expr: string; line: number }[]; steps: Step[] }[] = [
      {
        exprs: entries(job.token)
          .filter(([k]) => k !== 'steps')
          .flatMap(([k, v]) => (k === 'if' ? [{ expr: condition(v), line: v.line ?? 0 }] : expressions(v))),
        steps: job.steps
      }
    ]
    job.steps.forEach((s, i) => scopes.push({ exprs: expressions(s.token), steps: job.steps.slice(0, i) }))
    for (const scope of scopes) {
      for (const { expr, line } of scope.exprs) {
        const at = `${name} (line ${line}): job ${job.id}`
        for (const [j, kind, out] of refs(expr, 'needs')) {
          const needed = j === undefined ? undefined : jobs.get(j)
          if (j === undefined || !job.needs.includes(j)) problems.push(`${at}: needs.${j ?? ''} but the job does not need ${j ?? '?'} (needs: [${job.needs.join(', ')}])`)
          else if (kind === 'outputs' && out !== undefined && needed !== undefined && !needed.outputs.has(out)) problems.push(`${at}: needs.${j}.outputs.${out}, but job ${j} has no output ${out}`)
        }
        for (const [id, kind, out] of refs(expr, 'steps')) {
          const step = scope.steps.find((s) => s.id === id)
          if (id === undefined || step === undefined) problems.push(`${at}: steps.${id ?? ''} is not an earlier step of the job`)
          else if (kind === 'outputs' && out !== undefined && step.uses !== undefined && isOurs(step.uses) && !action.outputs.has(out)) {
            problems.push(`${at}: steps.${id}.outputs.${out}, but action.yml has no output ${out}`)
          }
        }
        if (declared !== undefined) {
          for (const [input] of refs(expr, 'inputs')) if (input === undefined || !declared.inputs.has(input)) problems.push(`${at}: inputs.${input ?? ''} is not an input of on.workflow_call`)
          for (const [secret] of refs(expr, 'secrets')) if (secret === undefined || !declared.secrets.has(secret)) problems.push(`${at}: secrets.${secret ?? ''} is not a secret of on.workflow_call`)
        }
        for (const [key, field] of refs(expr, 'matrix')) {
          if (mk.keys !== undefined && (key === undefined || !mk.keys.has(key))) problems.push(`${at}: matrix.${key ?? ''} is not a key of the job's matrix (${[...mk.keys].join(', ') || 'none'})`)
          const fields = key === undefined ? undefined : mk.nested.get(key)
          if (fields !== undefined && (field === undefined || !fields.has(field))) problems.push(`${at}: matrix.${key ?? ''}.${field ?? ''} is not a field of the discover entries (${[...fields].join(', ')})`)
        }
      }
    }
    for (const step of job.steps) checkStepUse(job, step, action, problems)
  }
  return problems
}

/** GitHub's own expression evaluator (@actions/expressions) on a `${{ }}` value or an if:, as a string. */
export function evaluateExpression(value: string, ctx: Record<string, unknown>): string {
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(value)
  const lexed = new Lexer(m?.[1] ?? value).lex()
  const tree = new Parser(lexed.tokens, Object.keys(ctx), []).parse()
  return new Evaluator(tree, JSON.parse(JSON.stringify(ctx), data.reviver) as data.Dictionary).evaluate().coerceString()
}
