// The pull-request size report: this build's per-platform sizes against a baseline (a
// registry image or the sizes cached from the base branch), as one markdown report for the
// job summary and the PR comment, and a JSON form with exact bytes. Pure.
import type { Breach, DiffRow, RowStatus, SizeDiff, SizeSet } from './types.js'
import type { PlatformReport } from '../image/inspect.js'
import { humanBytes } from './report.js'
import { cell, code } from '../util/markdown.js'

export type { DiffRow, RowStatus, SizeDiff, SizeEntry, SizeSet } from './types.js'

/** The sizes of this build, from the inspected images. */
export function sizeSetOf(reports: Pick<PlatformReport, 'platform' | 'compressed' | 'uncompressed'>[]): SizeSet {
  const out: SizeSet = {}
  for (const r of reports) out[r.platform] = { compressed: r.compressed, uncompressed: r.uncompressed }
  return out
}

function compare(platform: string, baseline: number | undefined, current: number | undefined, hasBaseline: boolean): DiffRow {
  if (!hasBaseline) return { platform, current, status: 'no-baseline' }
  if (baseline === undefined) return { platform, current, status: 'new' }
  if (current === undefined) return { platform, baseline, status: 'removed' }
  const delta = current - baseline
  return {
    platform,
    baseline,
    current,
    delta,
    percent: baseline > 0 ? (delta / baseline) * 100 : undefined,
    status: delta === 0 ? 'unchanged' : 'changed'
  }
}

/** An empty baseline counts as none: there is nothing to compare against. */
export function diffSizes(baseline: SizeSet | undefined, current: SizeSet): SizeDiff {
  const hasBaseline = baseline !== undefined && Object.keys(baseline).length > 0
  const base: SizeSet = hasBaseline ? baseline : {}
  const platforms = [...new Set([...Object.keys(base), ...Object.keys(current)])].sort()
  const rows = platforms.map((p) => compare(p, base[p]?.compressed, current[p]?.compressed, hasBaseline))
  const sum = (pick: (r: DiffRow) => number | undefined): number | undefined => {
    const xs = rows.map(pick).filter((x): x is number => x !== undefined)
    return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0)
  }
  // The total compares everything on each side, so an added or removed platform shows in it.
  const total = compare('total', sum((r) => r.baseline), sum((r) => r.current), hasBaseline)
  return { hasBaseline, rows, total }
}

/** +1.23 MB / -512 B / 0 B: humanBytes with a sign. */
export function signedBytes(n: number): string {
  if (n === 0) return '0 B'
  return `${n > 0 ? '+' : '-'}${humanBytes(Math.abs(n))}`
}

export function signedPercent(p: number | undefined): string {
  if (p === undefined) return '—'
  const s = p.toFixed(2)
  if (Number(s) === 0) return '0.00%'
  return `${p > 0 ? '+' : ''}${s}%`
}


function size(n: number | undefined): string {
  return n === undefined ? '—' : humanBytes(n)
}

function deltaCells(r: DiffRow): [string, string] {
  switch (r.status) {
    case 'new':
      return ['new platform', '—']
    case 'removed':
      return ['removed', '—']
    case 'no-baseline':
      return ['—', '—']
    default:
      return [signedBytes(r.delta ?? 0), signedPercent(r.percent)]
  }
}

export interface ReportOptions {
  /** The project path shown in the heading, e.g. samples/TodoApi. */
  project: string
  /** Where the baseline came from, e.g. "registry image ghcr.io/o/app:main"; '' when none was found. */
  baselineSource: string
  breaches: Breach[]
  /** The budgets in force, e.g. "max-size 15 MB per platform · max-increase 5%"; adds a Budget column. */
  budgets?: string
  /** Why there is no baseline, shown when baselineSource is ''. */
  noBaselineReason?: string
}

export function formatReport(diff: SizeDiff, opts: ReportOptions): string {
  const L: string[] = []
  const over = opts.breaches.length > 0
  const budgetColumn = over || (opts.budgets ?? '') !== ''
  L.push(`### Image size: ${code(opts.project)}${over ? ' ❌ over budget' : ''}`, '')
  if (diff.hasBaseline) {
    L.push(`Compared with the ${cell(opts.baselineSource || 'baseline')}.`)
  } else {
    L.push(`No baseline found${opts.noBaselineReason ? ` (${cell(opts.noBaselineReason)})` : ''}, so this report shows this build's sizes only.`)
  }
  if (budgetColumn && opts.budgets) L.push('', `Budgets: ${cell(opts.budgets)}.`)
  L.push('')
  const head = ['Platform', 'Baseline', 'This build', 'Delta', 'Delta %']
  const align = ['---', '---:', '---:', '---:', '---:']
  if (budgetColumn) {
    head.push('Budget')
    align.push('---')
  }
  L.push(`| ${head.join(' | ')} |`, `| ${align.join(' | ')} |`)
  const line = (r: DiffRow, isTotal: boolean): string => {
    const mine = isTotal ? [] : opts.breaches.filter((b) => b.platform === r.platform)
    const name = isTotal ? '**Total**' : `${cell(r.platform)}${mine.length > 0 ? ' ❌' : ''}`
    const cells = [name, size(r.baseline), size(r.current), ...deltaCells(r)]
    if (budgetColumn) {
      if (mine.length > 0) cells.push(`❌ ${mine.map((b) => `${b.kind} ${cell(b.budget)}`).join(', ')}`)
      else cells.push(isTotal || r.current === undefined ? '' : '✅')
    }
    return `| ${cells.join(' | ')} |`
  }
  for (const r of diff.rows) L.push(line(r, false))
  L.push(line(diff.total, true))
  if (over) {
    L.push('', '**Over budget:**', '')
    for (const b of opts.breaches) L.push(`- ❌ ${cell(b.message)}`)
  }
  L.push(
    '',
    '<sub>Sizes are compressed: config + layers as a registry stores them and a pull downloads them. ' +
      'Uncompressed sizes are not compared, because a registry baseline does not have them without downloading every layer. ' +
      'Delta % is relative to the baseline. 1 MB = 10⁶ bytes.</sub>',
    ''
  )
  return L.join('\n')
}

export interface ReportJsonRow {
  platform: string
  status: RowStatus
  baseline: number | null
  current: number | null
  delta: number | null
  /** Rounded to 2 decimals; the bytes are exact. */
  percent: number | null
  uncompressed?: number
}

export interface ReportJson {
  project?: string
  baselineSource?: string
  hasBaseline: boolean
  overBudget: boolean
  rows: ReportJsonRow[]
  total: ReportJsonRow
  breaches: Breach[]
}

/** The size-report output: every figure in exact bytes (null where there is none). */
export function reportJson(diff: SizeDiff, breaches: Breach[], meta: { project?: string; baselineSource?: string; current?: SizeSet } = {}): ReportJson {
  const row = (r: DiffRow): ReportJsonRow => {
    const out: ReportJsonRow = {
      platform: r.platform,
      status: r.status,
      baseline: r.baseline ?? null,
      current: r.current ?? null,
      delta: r.delta ?? null,
      // `|| 0`: no -0 for a shrink that rounds to zero.
      percent: r.percent === undefined ? null : Math.round(r.percent * 100) / 100 || 0
    }
    const u = meta.current?.[r.platform]?.uncompressed
    if (u !== undefined) out.uncompressed = u
    return out
  }
  return {
    ...(meta.project !== undefined ? { project: meta.project } : {}),
    ...(meta.baselineSource !== undefined ? { baselineSource: meta.baselineSource } : {}),
    hasBaseline: diff.hasBaseline,
    overBudget: breaches.length > 0,
    rows: diff.rows.map(row),
    total: row(diff.total),
    breaches
  }
}
