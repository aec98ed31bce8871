// The one size report of a whole monorepo run (mode: report): every build job of the reusable
// workflow keeps its outputs (size-report, sizes, smoke) as a small JSON file; this reads them
// back, checks their shape, and renders one table of every app and platform for the job summary
// and one pull-request comment. The files are our own jobs' data, but their names, projects,
// outcomes and messages come from the repository under build: every string is Markdown-escaped
// here, and nothing is trusted to have the shape it claims. Pure.
import { humanBytes, UNITS_NOTE } from './report.js'
import { signedBytes, signedPercent } from './diff.js'
import { blocks, code, text } from '../util/markdown.js'

/** What the workflow writes in `schema`: a file of another shape or version is refused, not guessed at. */
export const APP_REPORT_SCHEMA = 'aot-buildx-app-report/1'

export const APP_REPORT_ACCEPTED = `a folder of the JSON files the reusable workflow's build jobs write (schema ${APP_REPORT_SCHEMA}: app, project, platforms, outcome, digest, and the action's sizes, size-report and smoke outputs or null)`

/** A file that is not what a build job writes: the message names the field. */
export class AppReportError extends Error {}

export interface AppSize {
  compressed: number
  uncompressed: number | null
  appLayer: number | null
}

export interface AppRow {
  platform: string
  status: string
  baseline: number | null
  current: number | null
  delta: number | null
  percent: number | null
  appDelta: number | null
  startupDelta: number | null
  memoryDelta: number | null
}

export interface AppBreach {
  platform: string
  kind: string
  message: string
}

export interface AppSmoke {
  startupMs: number | null
  memoryPeak: number | null
  emulated: boolean
  ok: boolean
  outcome: string
}

/** One build job's file: one app, all its platforms (one runner) or one of them (distributed). */
export interface AppReport {
  app: string
  project: string
  platforms: string
  /** The build step's outcome: success, failure, cancelled, skipped. */
  outcome: string
  digest: string
  sizes: Record<string, AppSize>
  /** The action's size-report output; null where the build ended before its images were measured. */
  report: { hasBaseline: boolean; rows: AppRow[]; breaches: AppBreach[] } | null
  smoke: Record<string, AppSmoke>
}

const MAX_TEXT = 2000
const MAX_KEYS = 16

type Json = Record<string, unknown>

function fail(where: string, problem: string): never {
  throw new AppReportError(`${where} ${problem}`)
}

function obj(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'is not a JSON object')
  return v as Json
}

function str(v: unknown, where: string, max = MAX_TEXT): string {
  if (typeof v !== 'string') fail(where, 'is not a string')
  if (v.length > max) fail(where, `is longer than ${max} characters`)
  return v
}

function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) fail(where, 'is not a number')
  return v
}

function count(v: unknown, where: string): number {
  const n = num(v, where)
  if (n < 0) fail(where, 'is negative')
  return n
}

function nullable<T>(v: unknown, read: (v: unknown) => T): T | null {
  return v === null || v === undefined ? null : read(v)
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'is not true or false')
  return v
}

/** A JSON object keyed by platform (the action's outputs); at most a few keys, each a short string. */
function byPlatform<T>(v: unknown, where: string, read: (v: unknown, where: string) => T): Record<string, T> {
  if (v === null || v === undefined) return {}
  const o = obj(v, where)
  const keys = Object.keys(o)
  if (keys.length > MAX_KEYS) fail(where, `has ${keys.length} platforms`)
  const out: Record<string, T> = {}
  for (const k of keys) {
    str(k, `${where}: a platform name`, 100)
    out[k] = read(o[k], `${where}.${k}`)
  }
  return out
}

function readRow(v: unknown, where: string): AppRow {
  const o = obj(v, where)
  const delta = (p: unknown, w: string): number | null => nullable(p, (x) => num(obj(x, w).delta, `${w}.delta`))
  return {
    platform: str(o.platform, `${where}.platform`, 100),
    status: str(o.status, `${where}.status`, 40),
    baseline: nullable(o.baseline, (x) => count(x, `${where}.baseline`)),
    current: nullable(o.current, (x) => count(x, `${where}.current`)),
    delta: nullable(o.delta, (x) => num(x, `${where}.delta`)),
    percent: nullable(o.percent, (x) => num(x, `${where}.percent`)),
    appDelta: delta(o.app, `${where}.app`),
    startupDelta: delta(o.startupMs, `${where}.startupMs`),
    memoryDelta: delta(o.memoryPeak, `${where}.memoryPeak`)
  }
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(where, 'is not a JSON array')
  if (v.length > MAX_KEYS * 8) fail(where, `has ${v.length} entries`)
  return v
}

/** One build job's file, checked field by field; throws AppReportError naming the field. */
export function parseAppReport(textOfFile: string): AppReport {
  let doc: unknown
  try {
    doc = JSON.parse(textOfFile)
  } catch (e) {
    throw new AppReportError(`is not JSON (${(e as Error).message})`)
  }
  const o = obj(doc, 'the file')
  if (o.schema !== APP_REPORT_SCHEMA) fail('schema', `is not ${APP_REPORT_SCHEMA}`)
  const app = str(o.app, 'app', 200)
  if (app.trim() === '') fail('app', 'is empty')
  const r = o.sizeReport === null || o.sizeReport === undefined ? null : obj(o.sizeReport, 'sizeReport')
  return {
    app,
    project: str(o.project, 'project', 500),
    platforms: str(o.platforms, 'platforms', 200),
    outcome: str(o.outcome, 'outcome', 40),
    digest: o.digest === null || o.digest === undefined ? '' : str(o.digest, 'digest', 200),
    sizes: byPlatform(o.sizes, 'sizes', (v, w) => {
      const e = obj(v, w)
      return { compressed: count(e.compressed, `${w}.compressed`), uncompressed: nullable(e.uncompressed, (x) => count(x, `${w}.uncompressed`)), appLayer: nullable(e.appLayer, (x) => count(x, `${w}.appLayer`)) }
    }),
    report:
      r === null
        ? null
        : {
            hasBaseline: bool(r.hasBaseline, 'sizeReport.hasBaseline'),
            rows: list(r.rows, 'sizeReport.rows').map((x, i) => readRow(x, `sizeReport.rows[${i}]`)),
            breaches: list(r.breaches, 'sizeReport.breaches').map((x, i) => {
              const b = obj(x, `sizeReport.breaches[${i}]`)
              return { platform: str(b.platform, `sizeReport.breaches[${i}].platform`, 100), kind: str(b.kind, `sizeReport.breaches[${i}].kind`, 40), message: str(b.message, `sizeReport.breaches[${i}].message`) }
            })
          },
    smoke: byPlatform(o.smoke, 'smoke', (v, w) => {
      const e = obj(v, w)
      return {
        startupMs: nullable(e.startupMs, (x) => count(x, `${w}.startupMs`)),
        memoryPeak: nullable(e.memoryPeak, (x) => count(x, `${w}.memoryPeak`)),
        emulated: bool(e.emulated, `${w}.emulated`),
        ok: bool(e.ok, `${w}.ok`),
        outcome: str(e.outcome, `${w}.outcome`)
      }
    })
  }
}

/** One app of the run: its jobs' files joined (one file per platform when distributed). */
export interface AppResult {
  app: string
  project: string
  /** The jobs whose build ended before a size report (name of their platforms, and outcome). */
  failed: { platforms: string; outcome: string }[]
  rows: { platform: string; size?: AppSize; row?: AppRow; smoke?: AppSmoke; breaches: AppBreach[] }[]
  overBudget: boolean
}

/** Every app, sorted by name; a platform reported twice, or one app under two projects, is refused. */
export function joinApps(reports: AppReport[]): AppResult[] {
  const byApp = new Map<string, AppResult>()
  for (const r of reports) {
    let a = byApp.get(r.app)
    if (a === undefined) {
      a = { app: r.app, project: r.project, failed: [], rows: [], overBudget: false }
      byApp.set(r.app, a)
    } else if (a.project !== r.project) {
      throw new AppReportError(`the app ${JSON.stringify(r.app)} is reported for two projects`)
    }
    if (r.report === null) {
      a.failed.push({ platforms: r.platforms, outcome: r.outcome })
      continue
    }
    const platforms = [...new Set([...r.report.rows.map((x) => x.platform), ...Object.keys(r.sizes)])]
    for (const p of platforms) {
      if (a.rows.some((x) => x.platform === p)) throw new AppReportError(`the app ${JSON.stringify(r.app)} reports ${JSON.stringify(p)} twice`)
      const breaches = r.report.breaches.filter((b) => b.platform === p)
      a.rows.push({ platform: p, size: r.sizes[p], row: r.report.rows.find((x) => x.platform === p), smoke: r.smoke[p], breaches })
      if (breaches.length > 0) a.overBudget = true
    }
  }
  const out = [...byApp.values()].sort((x, y) => (x.app < y.app ? -1 : x.app > y.app ? 1 : 0))
  for (const a of out) a.rows.sort((x, y) => (x.platform < y.platform ? -1 : x.platform > y.platform ? 1 : 0))
  return out
}

const ms = (n: number): string => `${n > 0 ? '+' : n < 0 ? '-' : ''}${Math.abs(Math.round(n))} ms`

function deltaCell(r: AppRow | undefined): string {
  if (r === undefined) return '—'
  if (r.status === 'new') return 'new platform'
  if (r.status === 'removed') return 'removed'
  if (r.delta === null) return '—'
  return `${signedBytes(r.delta)} (${signedPercent(r.percent ?? undefined)})`
}

function smokeCells(sm: AppSmoke | undefined, r: AppRow | undefined): [string, string] {
  if (sm === undefined) return ['not run', '—']
  if (!sm.ok) return [`❌ ${text(sm.outcome || 'failed')}`, '—']
  const q = sm.emulated ? ' (QEMU)' : ''
  const startup = sm.startupMs === null ? 'n/a' : `${Math.round(sm.startupMs)} ms${q}${r?.startupDelta != null ? ` (${ms(r.startupDelta)})` : ''}`
  const memory = sm.memoryPeak === null ? 'n/a' : `${humanBytes(sm.memoryPeak)}${q}${r?.memoryDelta != null ? ` (${signedBytes(r.memoryDelta)})` : ''}`
  return [startup, memory]
}

/** A platform name as a cell: ours are short words, but this one came from a file. */
const platformCell = (p: string): string => code(p)

/**
 * The run's one report: a table of every app and platform (sizes, deltas against each app's
 * own baseline, start-up, budgets), then what is over budget and what failed. `runLine` is
 * Markdown we made (comment.ts runLine); '' leaves it out.
 */
export function appsMarkdown(title: string, apps: AppResult[], runLine = ''): string {
  const over = apps.filter((a) => a.overBudget).length
  const failed = apps.filter((a) => a.failed.length > 0).length
  const heading = `### Native AOT images: ${apps.length} app${apps.length === 1 ? '' : 's'} built${title !== '' ? ` from ${code(title)}` : ''}${over > 0 ? ` · ❌ ${over} over budget` : ''}${failed > 0 ? ` · ❌ ${failed} failed` : ''}`
  const table = [
    '| App | Project | Platform | Compressed | Δ | App layer | App layer Δ | Start-up | Memory | Budget |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|'
  ]
  for (const a of apps) {
    const head = [code(a.app), code(a.project)]
    for (const f of a.failed) table.push(`| ${head.join(' | ')} | ${code(f.platforms)} | ❌ no sizes (build step: ${text(f.outcome)}) | — | — | — | — | — | — |`)
    for (const x of a.rows) {
      const [startup, memory] = smokeCells(x.smoke, x.row)
      const current = x.size?.compressed ?? x.row?.current ?? undefined
      const budget = x.breaches.length > 0 ? `❌ ${[...new Set(x.breaches.map((b) => text(b.kind)))].join(', ')}` : '✅'
      const appLayer = x.size?.appLayer != null ? humanBytes(x.size.appLayer) : 'n/a'
      const appDelta = x.row?.appDelta != null ? signedBytes(x.row.appDelta) : '—'
      table.push(`| ${head.join(' | ')} | ${platformCell(x.platform)} | ${current === undefined ? '—' : humanBytes(current)} | ${deltaCell(x.row)} | ${appLayer} | ${appDelta} | ${startup} | ${memory} | ${budget} |`)
    }
  }
  const breaches = apps.flatMap((a) => a.rows.flatMap((x) => x.breaches.map((b) => `- ❌ ${code(a.app)}: ${text(b.message)}`)))
  const failures = apps.flatMap((a) => a.failed.map((f) => `- ❌ ${code(a.app)} (${code(f.platforms)}): the build step ended (${text(f.outcome)}) before its images were measured; its job's log says why.`))
  return blocks(
    [heading],
    runLine !== '' ? [runLine] : [],
    apps.length === 0 ? ['No app reported a size: every build job ended before writing its report.'] : table,
    breaches.length > 0 ? ['**Over budget:**', '', ...breaches] : [],
    failures.length > 0 ? ['**Failed:**', '', ...failures] : [],
    [
      `<sub>Compressed = config + layers, as a registry stores them. Δ compares each app with its own baseline (the sizes its default-branch build kept, or its baseline-image); — where it has none. Budgets are each app's own (max-size, max-increase), checked by its build job. ${UNITS_NOTE}</sub>`
    ]
  )
}

/** The same table as plain-text lines for the log (shown through the untrusted writer). */
export function appsLines(apps: AppResult[]): string[] {
  const out: string[] = []
  for (const a of apps) {
    for (const f of a.failed) out.push(`${a.app} (${a.project}) ${f.platforms}: no sizes (build step: ${f.outcome})`)
    for (const x of a.rows) {
      const current = x.size?.compressed ?? x.row?.current ?? undefined
      out.push(`${a.app} (${a.project}) ${x.platform}: ${current === undefined ? '—' : humanBytes(current)}${x.row?.delta != null ? ` (${signedBytes(x.row.delta)})` : ''}${x.breaches.length > 0 ? ' over budget' : ''}`)
    }
  }
  return out
}
