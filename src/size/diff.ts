// The pull-request size report: this build's per-platform sizes against a baseline (a
// registry image or the sizes cached from the base branch). One table per image serves the
// job summary and the PR comment alike; the JSON form has exact bytes. Pure.
import type { Breach, DiffRow, ImageRow, Images, PartDiff, ReportParts, RowStatus, SizeDiff, SizeEntry, SizeSet } from './types.js'
import { humanBytes, UNITS_NOTE } from './report.js'
import { blocks, cell, code, text } from '../util/markdown.js'

export type { DiffRow, ImageRow, Images, PartDiff, ReportParts, RowStatus, SizeDiff, SizeEntry, SizeSet } from './types.js'


/** The sizes of this build, the current side of the diff. */
export function sizeSetOf(rows: Pick<ImageRow, 'platform' | 'compressed' | 'uncompressed' | 'appLayer' | 'smoke'>[]): SizeSet {
  const out: SizeSet = {}
  for (const r of rows) {
    const e: SizeEntry = { compressed: r.compressed }
    if (r.uncompressed !== undefined) e.uncompressed = r.uncompressed
    if (r.appLayer !== undefined) e.appLayer = r.appLayer
    // Only native figures are kept and compared: QEMU's measure the emulator too.
    if (r.smoke !== undefined && !r.smoke.emulated && !r.smoke.failed) {
      if (r.smoke.startupMs !== undefined) e.startupMs = Math.round(r.smoke.startupMs)
      if (r.smoke.memoryPeak !== undefined) e.memoryPeak = r.smoke.memoryPeak
    }
    out[r.platform] = e
  }
  return out
}

function part(baseline: number, current: number): PartDiff {
  const delta = current - baseline
  return baseline > 0 ? { baseline, current, delta, percent: (delta / baseline) * 100 } : { baseline, current, delta }
}

/** An app-layer figure that cannot be part of the image is no split at all. */
function appOf(e: SizeEntry): number | undefined {
  return e.appLayer !== undefined && e.appLayer >= 0 && e.appLayer <= e.compressed ? e.appLayer : undefined
}

function compare(platform: string, baseline: SizeEntry | undefined, current: SizeEntry | undefined, hasBaseline: boolean): DiffRow {
  if (!hasBaseline) return { platform, current: current?.compressed, status: 'no-baseline' }
  if (baseline === undefined) return { platform, current: current?.compressed, status: 'new' }
  if (current === undefined) return { platform, baseline: baseline.compressed, status: 'removed' }
  const whole = part(baseline.compressed, current.compressed)
  const row: DiffRow = { platform, ...whole, status: whole.delta === 0 ? 'unchanged' : 'changed' }
  const appBefore = appOf(baseline)
  const appNow = appOf(current)
  if (appBefore !== undefined && appNow !== undefined) {
    row.app = part(appBefore, appNow)
    // The base is everything but the app layer: the runtime image's layers and the image config.
    row.base = part(baseline.compressed - appBefore, current.compressed - appNow)
  }
  if (baseline.startupMs !== undefined && current.startupMs !== undefined) row.startup = part(baseline.startupMs, current.startupMs)
  if (baseline.memoryPeak !== undefined && current.memoryPeak !== undefined) row.memory = part(baseline.memoryPeak, current.memoryPeak)
  return row
}

/** An empty baseline counts as none: there is nothing to compare against. */
export function diffSizes(baseline: SizeSet | undefined, current: SizeSet): SizeDiff {
  const hasBaseline = baseline !== undefined && Object.keys(baseline).length > 0
  const base: SizeSet = hasBaseline ? baseline : {}
  const platforms = [...new Set([...Object.keys(base), ...Object.keys(current)])].sort()
  // No total row: nobody pulls both architectures, so their sum is no size anyone sees.
  return { hasBaseline, rows: platforms.map((p) => compare(p, base[p], current[p], hasBaseline)) }
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

function deltaCell(r: DiffRow): string {
  switch (r.status) {
    case 'new':
      return 'new platform'
    case 'removed':
      return 'removed'
    case 'no-baseline':
      return '—'
    default:
      return `${signedBytes(r.delta ?? 0)} (${signedPercent(r.percent)})`
  }
}

/** A platform as it is (linux/arm64), or, read from a registry in another shape, in a code span. */
function platformCell(p: string): string {
  return /^[A-Za-z0-9./-]+$/.test(p) ? p : code(p)
}

function partCell(p: PartDiff | undefined): string {
  return p === undefined ? '—' : signedBytes(p.delta)
}

/**
 * The one size table of an image: this build's figures per platform, and with a baseline
 * its size, the change, and the change split into app layer and base image. A Budget column
 * when budgets are set or broken.
 */
export function sizeTable(images: Images, diff: SizeDiff, breaches: Breach[] = [], budgetColumn = false): string[] {
  const withBase = images.baseImage !== ''
  const split = diff.rows.some((r) => r.app !== undefined)
  const cols: [string, string][] = [
    ['Platform', '---'],
    ['Compressed', '---:'],
    ['Uncompressed', '---:'],
    ['App layer', '---:']
  ]
  if (withBase) cols.push(['Base image', '---'])
  cols.push(['Digest', '---'])
  if (diff.hasBaseline) cols.push(['Baseline', '---:'], ['Delta', '---:'])
  if (diff.hasBaseline && split) cols.push(['App layer Δ', '---:'], ['Base image Δ', '---:'])
  const smoked = images.rows.some((i) => i.smoke !== undefined)
  if (smoked) cols.push(['Start-up', '---:'], ['Memory', '---:'])
  if (budgetColumn) cols.push(['Budget', '---'])
  const L = [`| ${cols.map(([h]) => h).join(' | ')} |`, `| ${cols.map(([, a]) => a).join(' | ')} |`]
  for (const r of diff.rows) {
    const img = images.rows.find((i) => i.platform === r.platform)
    const mine = breaches.filter((b) => b.platform === r.platform)
    // A platform the build no longer has: its own figures are blank, not n/a.
    const own = (n: number | undefined): string => (img === undefined ? '—' : n === undefined ? 'n/a' : humanBytes(n))
    const cells = [`${platformCell(r.platform)}${mine.length > 0 ? ' ❌' : ''}`, size(r.current), own(img?.uncompressed), own(img?.appLayer)]
    if (withBase) cells.push(img === undefined ? '—' : code(images.baseImage))
    cells.push(img === undefined ? '—' : code(`${img.digest.slice(0, 19)}…`))
    if (diff.hasBaseline) cells.push(size(r.baseline), deltaCell(r))
    if (diff.hasBaseline && split) cells.push(partCell(r.app), partCell(r.base))
    if (smoked) cells.push(...smokeCells(img?.smoke, r))
    if (budgetColumn) {
      if (mine.length > 0) cells.push(`❌ ${mine.map((b) => `${b.kind} ${cell(b.budget)}`).join(', ')}`)
      else cells.push(r.current === undefined ? '' : '✅')
    }
    L.push(`| ${cells.join(' | ')} |`)
  }
  return L
}

/** Start-up and memory cells: figures under QEMU say so (they measure the emulator too), and reused ones (an earlier run started this very image). */
function smokeCells(sm: ImageRow['smoke'], r: DiffRow): [string, string] {
  if (sm === undefined) return ['not run', '—']
  // What happened, not a guess (escaped: a start failure quotes the engine, which may quote the image).
  if (sm.failed) return [`❌ ${text(sm.outcome ?? 'failed')}`, '—']
  const q = `${sm.emulated ? ' (QEMU)' : ''}${sm.reused === true ? ' (reused)' : ''}`
  // A change against the baseline's native figure, where both were measured.
  const ms = (n: number): string => `${n > 0 ? '+' : n < 0 ? '-' : ''}${Math.abs(Math.round(n))} ms`
  const startup = sm.startupMs === undefined ? 'n/a' : `${Math.round(sm.startupMs)} ms${q}${r.startup !== undefined ? ` (${ms(r.startup.delta)})` : ''}`
  const memory = sm.memoryPeak === undefined ? 'n/a' : `${humanBytes(sm.memoryPeak)}${q}${r.memory !== undefined ? ` (${signedBytes(r.memory.delta)})` : ''}`
  return [startup, memory]
}

/** What the table's figures mean, as sentences for a footnote. */
export function tableNotes(diff: SizeDiff): string[] {
  const out = [
    'Compressed = config + layers, as a registry stores them and a pull downloads them. Uncompressed = the files in the decompressed layers.',
    'App layer = the compressed layer holding the entrypoint; the base image is the rest (its layers and the image config).'
  ]
  if (diff.hasBaseline) {
    out.push(
      'Baseline and deltas are compressed sizes (a registry baseline has no uncompressed sizes without downloading every layer); Delta % is relative to the baseline.'
    )
    const split = diff.rows.filter((r) => r.status === 'changed' || r.status === 'unchanged')
    if (split.some((r) => r.app === undefined)) {
      out.push(
        split.every((r) => r.app === undefined)
          ? 'The change is not split into app layer and base image: the baseline has no app-layer figure.'
          : 'App layer Δ and Base image Δ are — where the baseline has no app-layer figure.'
      )
    }
  }
  return out
}

export interface ReportOptions {
  /**
   * Where the baseline came from, as Markdown whose outside text is in code spans already,
   * e.g. "registry image `ghcr.io/o/app:main`"; '' when none was found.
   */
  baselineSource: string
  breaches: Breach[]
  /** The budgets in force, e.g. "max-size 15 MB per platform · max-increase 5%"; adds a Budget column. */
  budgets?: string
  /** Why there is no baseline, shown when baselineSource is ''; Markdown like baselineSource. */
  noBaselineReason?: string
}


export function reportParts(images: Images, diff: SizeDiff, opts: ReportOptions): ReportParts {
  const over = opts.breaches.length > 0
  const budgets = opts.budgets ?? ''
  const intro = [
    diff.hasBaseline
      ? `Compared with the ${opts.baselineSource || 'baseline'}.`
      : `No baseline found${opts.noBaselineReason ? ` (${opts.noBaselineReason})` : ''}, so this report shows this build's sizes only.`
  ]
  if (budgets !== '') intro.push(`Budgets: ${cell(budgets)}.`)
  const breaches = over ? ['**Over budget:**', '', ...opts.breaches.map((b) => `- ❌ ${cell(b.message)}`)] : []
  return { overBudget: over, intro, table: sizeTable(images, diff, opts.breaches, over || budgets !== ''), breaches, notes: tableNotes(diff) }
}

/** The table and its notes alone, for a summary without a size report (the images failed their checks). */
export function tableOnly(images: Images): ReportParts {
  const diff = diffSizes(undefined, sizeSetOf(images.rows))
  return { overBudget: false, intro: [], table: sizeTable(images, diff), breaches: [], notes: tableNotes(diff) }
}

/**
 * The pull-request comment: complete on its own (baseline, sizes, deltas, budgets), with the
 * commit and run it was made from, so an outdated comment does not pass for a current one.
 */
export function commentMarkdown(project: string, parts: ReportParts, runLine: string): string {
  return blocks(
    [`### Image size: ${code(project)}${parts.overBudget ? ' ❌ over budget' : ''}`],
    runLine !== '' ? [runLine] : [],
    parts.intro,
    parts.table,
    parts.breaches,
    [`<sub>${[...parts.notes, UNITS_NOTE].join(' ')}</sub>`]
  )
}

export interface PartJson {
  baseline: number
  current: number
  delta: number
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
  /** The change of the app layer and of the rest (base image and config); null where a side has no app-layer figure. */
  app: PartJson | null
  base: PartJson | null
  /** The smoke test's native start-up (ms) and peak memory (bytes) against the baseline's, where both have them. */
  startupMs?: PartJson | null
  memoryPeak?: PartJson | null
}

export interface ReportJson {
  project?: string
  baselineSource?: string
  hasBaseline: boolean
  overBudget: boolean
  rows: ReportJsonRow[]
  breaches: Breach[]
}

function partJson(p: PartDiff | undefined): PartJson | null {
  return p === undefined ? null : { baseline: p.baseline, current: p.current, delta: p.delta }
}

/** The size-report output: every figure in exact bytes (null where there is none). */
export function reportJson(diff: SizeDiff, breaches: Breach[], meta: { project?: string; baselineSource?: string; current?: SizeSet } = {}): ReportJson {
  const row = (r: DiffRow): ReportJsonRow => {
    const u = meta.current?.[r.platform]?.uncompressed
    return {
      platform: r.platform,
      status: r.status,
      baseline: r.baseline ?? null,
      current: r.current ?? null,
      delta: r.delta ?? null,
      // `|| 0`: no -0 for a shrink that rounds to zero.
      percent: r.percent === undefined ? null : Math.round(r.percent * 100) / 100 || 0,
      ...(u !== undefined ? { uncompressed: u } : {}),
      app: partJson(r.app),
      base: partJson(r.base),
      // Native smoke-test figures against the baseline's; absent when either run has none.
      ...(r.startup !== undefined ? { startupMs: partJson(r.startup) } : {}),
      ...(r.memory !== undefined ? { memoryPeak: partJson(r.memory) } : {})
    }
  }
  return {
    ...(meta.project !== undefined ? { project: meta.project } : {}),
    ...(meta.baselineSource !== undefined ? { baselineSource: meta.baselineSource } : {}),
    hasBaseline: diff.hasBaseline,
    overBudget: breaches.length > 0,
    rows: diff.rows.map(row),
    breaches
  }
}
