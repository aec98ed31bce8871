// The size report: outputs and job-summary markdown from the per-platform reports. Pure.
import type { PlatformReport } from '../image/inspect.js'
import { platformSlug, type Platform } from '../dotnet/platforms.js'
import { cell, code } from '../util/markdown.js'

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

export interface SummaryInput {
  project: string
  flavor: string
  runtimeImage: string
  reports: PlatformReport[]
  buildSeconds: number
  qemu: string
  pushed: string[]
  indexDigest: string
  dockerfile: string
}


export function summaryMarkdown(s: SummaryInput): string {
  const L: string[] = []
  L.push(`### Native AOT image: ${code(s.project)}`, '')
  L.push('| Platform | Compressed | Uncompressed | App layer | Base image | Digest |', '|---|---:|---:|---:|---|---|')
  for (const r of s.reports) {
    L.push(
      `| ${r.platform} | ${humanBytes(r.compressed)} | ${humanBytes(r.uncompressed)} | ${humanBytes(r.appLayer.compressed)} | ${code(s.runtimeImage)} | \`${r.digest.slice(0, 19)}…\` |`
    )
  }
  L.push('')
  L.push(
    `Flavor **${s.flavor}** · build ${s.buildSeconds.toFixed(1)} s · QEMU: ${cell(s.qemu)}` +
      (s.indexDigest !== '' ? ` · index \`${s.indexDigest}\`` : '')
  )
  if (s.pushed.length > 0) L.push('', `Pushed: ${s.pushed.map(code).join(', ')}`)
  L.push(
    '',
    '<sub>Compressed = config + layers as stored in a registry and pulled. Uncompressed = the sum of the files in the decompressed layers. ' +
      `App layer = the compressed layer holding the entrypoint. Dockerfile: ${code(s.dockerfile)}. 1 MB = 10⁶ bytes.</sub>`,
    ''
  )
  return L.join('\n')
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
