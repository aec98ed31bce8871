// Size budgets: the max-size and max-increase inputs, and the check of a size diff against
// them. An over-budget platform fails the step with a message naming the platform, the
// figure and the budget. Pure.
import { InputError, quote } from '../util/errors.js'
import { parseList } from '../util/lists.js'
import { normalizePlatform } from '../dotnet/platforms.js'
import { humanBytes } from './report.js'
import type { Breach, MaxIncrease, SizeDiff } from './types.js'

export type { Breach, MaxIncrease } from './types.js'

// kB/MB/GB are decimal like humanBytes and registries; KiB/MiB/GiB binary. KB is read as kB.
const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }
const SIZE = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)$/
const PERCENT = /^(\d+(?:\.\d+)?|\.\d+)\s*%$/

const SIZE_UNITS = 'units B, kB, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024); no unit means bytes'
export const MAX_SIZE_ACCEPTED = `one size for every platform (15MB) or one per platform (linux/amd64=15MB,linux/arm64=15MB); ${SIZE_UNITS}`
export const MAX_INCREASE_ACCEPTED =
  'growth of the whole image as a size (500kB), a percentage of the baseline (5%), or both (500kB,5%); ' +
  'growth of the app layer alone, so base-image updates do not count, as app:500kB, app:5% or both; ' +
  `either scope or both; ${SIZE_UNITS}`
const SCOPED = /^([A-Za-z][\w-]*)\s*:\s*(.*)$/

/** Bytes in a size such as 15MB, 1.5 MiB or 1200; undefined for anything else. */
function sizeOf(text: string): number | undefined {
  const [, amount, unit] = SIZE.exec(text.trim()) ?? []
  if (amount === undefined || unit === undefined) return undefined
  const mult = UNITS[(unit === '' ? 'b' : unit).toLowerCase()]
  if (mult === undefined) return undefined
  const n = Math.round(Number(amount) * mult)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Bytes in a size such as 15MB; throws an InputError naming `input` for anything else. */
export function parseSize(text: string, input = 'max-size', accepted = MAX_SIZE_ACCEPTED): number {
  const n = sizeOf(text)
  if (n === undefined) throw new InputError(input, `${quote(text.trim())} is not a size`, accepted)
  return n
}

/**
 * Per-platform max-size in bytes; {} when the input is empty. A bare size applies to every
 * platform, and platform=size entries override it for their platform.
 */
export function parseMaxSize(raw: string, platforms: readonly string[]): Record<string, number> {
  const fail = (problem: string): never => {
    throw new InputError('max-size', problem, MAX_SIZE_ACCEPTED)
  }
  let all: number | undefined
  const own: Record<string, number> = {}
  for (const item of parseList(raw)) {
    const eq = item.indexOf('=')
    const sizeText = eq < 0 ? item : item.slice(eq + 1).trim()
    const n = parseSize(sizeText)
    if (n === 0) fail(`"${item}" is zero, which no image fits in`)
    if (eq < 0) {
      if (all !== undefined) fail(`"${item}" is a second size for every platform`)
      all = n
      continue
    }
    const name = item.slice(0, eq).trim()
    const platform = normalizePlatform(name) ?? name
    if (!platforms.includes(platform)) fail(`"${name}" is not one of the platforms built (${platforms.join(', ')})`)
    if (own[platform] !== undefined) fail(`${platform} is listed twice`)
    own[platform] = n
  }
  const out: Record<string, number> = {}
  for (const p of platforms) {
    const n = own[p] ?? all
    if (n !== undefined) out[p] = n
  }
  return out
}

/**
 * Byte and percent limits for the whole image, and (app:) for the app layer alone; a platform
 * over any of them is over budget.
 */
export function parseMaxIncrease(raw: string): MaxIncrease {
  const out: MaxIncrease = {}
  // Typed on the variable, so a call narrows like a throw.
  const fail: (problem: string) => never = (problem) => {
    throw new InputError('max-increase', problem, MAX_INCREASE_ACCEPTED)
  }
  for (const item of parseList(raw)) {
    const scoped = SCOPED.exec(item)
    const scope = scoped?.[1]?.toLowerCase()
    if (scoped !== null && scope !== 'app') fail(`${quote(item)} names the scope ${quote(scoped[1] ?? '')}; the only scope is app (the app layer), and no scope means the whole image`)
    const amount = scoped?.[2] ?? item
    const pm = PERCENT.exec(amount)
    if (scope === 'app') {
      if (pm !== null) {
        if (out.appPercent !== undefined) fail(`${quote(item)} is a second app-layer percentage`)
        out.appPercent = Number(pm[1])
        continue
      }
      const n = sizeOf(amount)
      if (n === undefined) fail(`${quote(item)}: ${quote(amount.trim())} is not a size or a percentage`)
      if (out.appBytes !== undefined) fail(`${quote(item)} is a second app-layer size`)
      out.appBytes = n
      continue
    }
    if (pm !== null) {
      if (out.percent !== undefined) fail(`${quote(item)} is a second percentage`)
      out.percent = Number(pm[1])
      continue
    }
    const n = parseSize(item, 'max-increase', MAX_INCREASE_ACCEPTED)
    if (out.bytes !== undefined) fail(`${quote(item)} is a second size`)
    out.bytes = n
  }
  return out
}

function trimNumber(v: number): string {
  return String(Number(v.toFixed(2)))
}

/** A budget in the unit it was most likely written in: 15000000 -> "15 MB", 1048576 -> "1 MiB". */
export function formatBudget(bytes: number): string {
  const units: [string, number][] = [
    ['GB', 1e9],
    ['GiB', 1024 ** 3],
    ['MB', 1e6],
    ['MiB', 1024 ** 2],
    ['kB', 1e3],
    ['KiB', 1024]
  ]
  for (const [name, size] of units) {
    const v = bytes / size
    // Round in that unit to at most two decimals: then it is how the user wrote it.
    if (v >= 1 && Math.abs(v * 100 - Math.round(v * 100)) < 1e-9) return `${trimNumber(v)} ${name}`
  }
  return bytes < 1000 ? `${bytes} B` : `${humanBytes(bytes)} (${exact(bytes)})`
}

function exact(n: number): string {
  return `${n.toLocaleString('en-US')} bytes`
}

/** The budgets in force, for the report; '' when there are none. */
export function describeBudgets(maxSize: Record<string, number>, maxIncrease: MaxIncrease): string {
  const parts: string[] = []
  const sizes = Object.entries(maxSize).sort(([a], [b]) => a.localeCompare(b))
  const [first] = sizes
  if (first !== undefined) {
    const [, size] = first
    const same = sizes.every(([, n]) => n === size)
    parts.push(same ? `max-size ${formatBudget(size)} per platform` : `max-size ${sizes.map(([p, n]) => `${p} ${formatBudget(n)}`).join(', ')}`)
  }
  const growth = (bytes: number | undefined, percent: number | undefined, prefix: string): string =>
    [bytes !== undefined ? `${prefix}${formatBudget(bytes)}` : '', percent !== undefined ? `${prefix}${percent}%` : ''].filter((x) => x !== '').join(' and ')
  const image = growth(maxIncrease.bytes, maxIncrease.percent, '')
  const app = growth(maxIncrease.appBytes, maxIncrease.appPercent, 'app:')
  if (image !== '') parts.push(`max-increase ${image}`)
  if (app !== '') parts.push(`max-increase ${app} (app layer only)`)
  return parts.join(' · ')
}

function growthBreach(platform: string, scope: Breach['scope'], figure: number, budget: string, what: string, by: string): Breach {
  return { platform, kind: 'max-increase', scope, figure, budget, message: `${what} grew by ${by}, over the max-increase budget of ${budget}` }
}

/**
 * Every budget a platform of this build is over. Growth budgets need a baseline for the
 * platform. An app-scoped budget where the baseline has no app-layer figure is checked
 * against the whole image's growth: a budget is never skipped because a split is unknown.
 */
export function checkBudgets(diff: SizeDiff, maxSize: Record<string, number>, maxIncrease: MaxIncrease): Breach[] {
  const out: Breach[] = []
  for (const r of diff.rows) {
    if (r.current === undefined) continue
    const max = maxSize[r.platform]
    if (max !== undefined && r.current > max) {
      const budget = formatBudget(max)
      out.push({
        platform: r.platform,
        kind: 'max-size',
        scope: 'image',
        figure: r.current,
        budget,
        message: `${r.platform} is ${humanBytes(r.current)} (${exact(r.current)}), over the max-size budget of ${budget}`
      })
    }
    if (r.delta === undefined) continue
    const delta = r.delta
    if (maxIncrease.bytes !== undefined && delta > maxIncrease.bytes) {
      out.push(growthBreach(r.platform, 'image', delta, formatBudget(maxIncrease.bytes), r.platform, `${humanBytes(delta)} (${exact(delta)})`))
    }
    if (maxIncrease.percent !== undefined && r.percent !== undefined && r.percent > maxIncrease.percent) {
      out.push(growthBreach(r.platform, 'image', r.percent, `${maxIncrease.percent}%`, r.platform, `${r.percent.toFixed(2)}% (${exact(delta)})`))
    }
    const app = r.app
    const unsplit = 'its baseline has no app-layer figure, so the whole image counts'
    if (maxIncrease.appBytes !== undefined) {
      const budget = `app:${formatBudget(maxIncrease.appBytes)}`
      if (app !== undefined && app.delta > maxIncrease.appBytes) {
        out.push(growthBreach(r.platform, 'app', app.delta, budget, `${r.platform}'s app layer`, `${humanBytes(app.delta)} (${exact(app.delta)})`))
      } else if (app === undefined && delta > maxIncrease.appBytes) {
        out.push(growthBreach(r.platform, 'app', delta, budget, r.platform, `${humanBytes(delta)} (${exact(delta)}; ${unsplit})`))
      }
    }
    if (maxIncrease.appPercent !== undefined) {
      const budget = `app:${maxIncrease.appPercent}%`
      if (app?.percent !== undefined) {
        if (app.percent > maxIncrease.appPercent) {
          out.push(growthBreach(r.platform, 'app', app.percent, budget, `${r.platform}'s app layer`, `${app.percent.toFixed(2)}% (${exact(app.delta)})`))
        }
      } else if (r.percent !== undefined && r.percent > maxIncrease.appPercent) {
        out.push(growthBreach(r.platform, 'app', r.percent, budget, r.platform, `${r.percent.toFixed(2)}% (${exact(delta)}; ${unsplit})`))
      }
    }
  }
  return out
}

/** The step's failure message. */
export function budgetFailure(breaches: Breach[]): string {
  return `the image is over its size budget:\n${breaches.map((b) => b.message).join('\n')}`
}
