// The size report: outputs and job-summary markdown from the per-platform reports. Pure.
import type { PlatformReport } from '../image/inspect.js'
import { platformSlug, type Platform } from '../dotnet/platforms.js'
import { blocks, cell, code, fenced, text } from '../util/markdown.js'
import type { Images, ReportParts } from './types.js'

/** Decimal units, like `docker image ls` and registries: 1 MB = 1,000,000 bytes. */
export function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB']
  let v = n
  let u = -1
  // Move up a unit when the rounded figure would read 1000.00.
  while (Number(v.toFixed(2)) >= 1000 && u < units.length - 1) {
    v /= 1000
    u++
  }
  return `${v.toFixed(2)} ${units[u]}`
}

/** The last footnote sentence of the summary and the comment. */
export const UNITS_NOTE = '1 MB = 10⁶ bytes.'

export interface SizesJson {
  [platform: string]: { compressed: number; uncompressed: number; appLayer: number; digest: string }
}

export function sizesJson(reports: PlatformReport[]): SizesJson {
  const out: SizesJson = {}
  for (const r of reports) out[r.platform] = { compressed: r.compressed, uncompressed: r.uncompressed, appLayer: r.appLayer.compressed, digest: r.digest }
  return out
}

/** One flat output per platform (compressed bytes), e.g. size-linux-arm64. */
export function sizeOutputs(reports: PlatformReport[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const r of reports) out[`size-${platformSlug(r.platform as Platform)}`] = String(r.compressed)
  return out
}

/** The job summary around the size table: what only the summary says. */
export interface SummaryFrame {
  /** The heading, e.g. "### Native AOT image: `src/App/App.csproj`". */
  heading: string
  /** Lines after the table: flavor, timings, the index, what was pushed. */
  facts: string[]
  /** Footnote sentences after the table's own. */
  notes: string[]
}

/** The one table's rows of a build: every figure the images were inspected for. */
export function imagesOf(reports: PlatformReport[], runtimeImage: string, smoke: SmokeFigures[] = []): Images {
  return {
    baseImage: runtimeImage,
    rows: reports.map((r) => {
      const run = smoke.find((x) => x.platform === r.platform)
      return {
        platform: r.platform,
        digest: r.digest,
        compressed: r.compressed,
        uncompressed: r.uncompressed,
        appLayer: r.appLayer.compressed,
        ...(run !== undefined ? { smoke: { startupMs: run.startupMs, memoryPeak: run.memoryPeak, emulated: run.emulated, failed: run.failure !== undefined, outcome: run.outcome, ...(run.reused === true ? { reused: true } : {}) } } : {})
      }
    })
  }
}

/** What the table and the summary show of a smoke test (smoke/plan.ts SmokeResult). */
export interface SmokeFigures {
  platform: string
  startupMs?: number
  memoryPeak?: number
  emulated: boolean
  /** What happened, in our own words. */
  outcome: string
  failure?: string
  /** The app's last lines, where it failed: its own text, shown only in a fenced block. */
  lastLines?: string
  /** Not started: an earlier run's figures for this very image. */
  reused?: boolean
}

export interface BuildFacts {
  project: string
  /** The flavor that chose the runtime image; undefined when runtime-image named it. */
  flavor?: string
  runtimeImage: string
  buildSeconds: number
  qemu: string
  pushed: string[]
  indexDigest: string
  dockerfile: string
  /** The smoke test's runs, one per started platform. */
  smoke?: SmokeFigures[]
  /** Where a versioning tool reads git history: what the binary's version is (the value, when known, is the user's text). */
  versioning?: { tool: string; text: string; value?: string }[]
}

export function buildFrame(s: BuildFacts): SummaryFrame {
  const runtime = s.flavor !== undefined ? `Flavor **${s.flavor}** (${code(s.runtimeImage)})` : `Runtime image ${code(s.runtimeImage)} (runtime-image)`
  const facts = [`${runtime} · build ${s.buildSeconds.toFixed(1)} s · QEMU: ${cell(s.qemu)}` + (s.indexDigest !== '' ? ` · index ${code(s.indexDigest)}` : '')]
  facts.push(...smokeFacts(s.smoke ?? []))
  for (const v of s.versioning ?? []) facts.push('', `Version (${cell(v.tool)}): ${v.value !== undefined ? `${code(v.value)}, ` : ''}${cell(v.text)}`)
  if (s.pushed.length > 0) facts.push('', `Pushed: ${s.pushed.map(code).join(', ')}`)
  return { heading: `### Native AOT image: ${code(s.project)}`, facts, notes: [`Dockerfile: ${code(s.dockerfile)}.`] }
}

/** What each started platform did, and a failed one's last lines (the app's text, fenced). */
export function smokeFacts(runs: SmokeFigures[]): string[] {
  if (runs.length === 0) return []
  const out = ['', 'Smoke test:', '']
  for (const r of runs) out.push(`- ${code(r.platform)}${r.emulated ? ' (QEMU)' : ''}: ${r.failure !== undefined ? '❌ ' : ''}${text(r.outcome)}`)
  for (const r of runs) {
    if (r.failure === undefined || r.lastLines === undefined) continue
    out.push('', `Last lines of ${code(r.platform)}:`, '', fenced(r.lastLines))
  }
  return out
}

/** The job summary: heading, the size report's one table with its baseline and budgets, the facts, one footnote. */
export function summaryMarkdown(frame: SummaryFrame, parts: ReportParts): string {
  return blocks(
    [`${frame.heading}${parts.overBudget ? ' ❌ over budget' : ''}`],
    parts.intro,
    parts.table,
    parts.breaches,
    frame.facts,
    [`<sub>${[...parts.notes, ...frame.notes, UNITS_NOTE].join(' ')}</sub>`]
  )
}

/** Plain-text table for a terminal (the main-job command prints it). */
export function sizesTable(reports: PlatformReport[]): string {
  const rows = [['platform', 'compressed', 'uncompressed', 'app layer', 'digest']]
  for (const r of reports) rows.push([r.platform, humanBytes(r.compressed), humanBytes(r.uncompressed), humanBytes(r.appLayer.compressed), r.digest.slice(0, 19)])
  return textColumns(rows)
}

/** Rows as plain-text columns, each as wide as its longest cell, two spaces apart. */
export function textColumns(rows: string[][]): string {
  const widths: number[] = []
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length)
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n')
}
