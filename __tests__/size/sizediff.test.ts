import { checkBudgets, describeBudgets, parseMaxIncrease, parseMaxSize, type Breach } from '../../src/size/budget.js'
import { at } from '../helpers.js'
import { commentMarkdown, diffSizes, reportJson, reportParts, signedBytes, signedPercent, sizeSetOf, sizeTable, type Images, type SizeSet } from '../../src/size/diff.js'

const BASE: SizeSet = {
  'linux/amd64': { compressed: 12_000_000 },
  'linux/arm64': { compressed: 11_500_000 }
}

const D = (c: string): string => `sha256:${c.repeat(64)}`

/** This build's images with the given compressed sizes (and app layers). */
function images(sizes: SizeSet, baseImage = 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'): Images {
  return { baseImage, rows: Object.entries(sizes).map(([platform, e], i) => ({ platform, digest: D(String(i)), ...e })) }
}

/** The markdown table row whose first cell is `first`. */
function row(md: string, first: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${first} |`))
  expect(line).toBeDefined()
  return (line as string)
    .slice(2, -2)
    .split(' | ')
    .map((c) => c.trim())
}

const header = (md: string): string[] => row(md, 'Platform')

function report(baseline: SizeSet | undefined, current: SizeSet, breaches: Breach[] = [], source = 'registry image `ghcr.io/o/app:main`', budgets?: string): string {
  const parts = reportParts(images(current), diffSizes(baseline, current), { baselineSource: baseline ? source : '', breaches, budgets })
  return commentMarkdown('samples/TodoApi', parts, '')
}

describe('diffSizes', () => {
  it('compares each platform, sorted by platform, and has no total', () => {
    const d = diffSizes(BASE, { 'linux/arm64': { compressed: 11_000_000 }, 'linux/amd64': { compressed: 12_600_000 } })
    expect(d.hasBaseline).toBe(true)
    expect(d.rows).toEqual([
      { platform: 'linux/amd64', baseline: 12_000_000, current: 12_600_000, delta: 600_000, percent: 5, status: 'changed' },
      { platform: 'linux/arm64', baseline: 11_500_000, current: 11_000_000, delta: -500_000, percent: (-500_000 / 11_500_000) * 100, status: 'changed' }
    ])
    expect(Object.keys(d)).toEqual(['hasBaseline', 'rows'])
  })

  it('marks a new platform, a removed platform and an unchanged one', () => {
    const d = diffSizes({ 'linux/amd64': { compressed: 10 }, 'linux/arm/v7': { compressed: 7 } }, { 'linux/amd64': { compressed: 10 }, 'linux/arm64': { compressed: 9 } })
    expect(d.rows.map((r) => [r.platform, r.status])).toEqual([
      ['linux/amd64', 'unchanged'],
      ['linux/arm/v7', 'removed'],
      ['linux/arm64', 'new']
    ])
    expect(d.rows[1]).toEqual({ platform: 'linux/arm/v7', baseline: 7, status: 'removed' })
    expect(d.rows[2]).toEqual({ platform: 'linux/arm64', current: 9, status: 'new' })
  })

  it('without a baseline (or an empty one) has no deltas', () => {
    for (const b of [undefined, {}]) {
      const d = diffSizes(b, BASE)
      expect(d.hasBaseline).toBe(false)
      expect(d.rows.every((r) => r.status === 'no-baseline' && r.delta === undefined && r.baseline === undefined)).toBe(true)
    }
  })

  it('splits the change into app layer and base image (compressed - app layer) where both sides know the app layer', () => {
    // Base image patched (+1,500,000), app grew by 20,000; config counts with the base.
    const d = diffSizes({ 'linux/amd64': { compressed: 12_000_000, appLayer: 4_000_000 } }, { 'linux/amd64': { compressed: 13_520_000, appLayer: 4_020_000 } })
    expect(at(d.rows, 0)).toMatchObject({
      delta: 1_520_000,
      app: { baseline: 4_000_000, current: 4_020_000, delta: 20_000, percent: 0.5 },
      base: { baseline: 8_000_000, current: 9_500_000, delta: 1_500_000, percent: 18.75 }
    })
  })

  it('has no split when a side has no app-layer figure, or an impossible one', () => {
    for (const [b, c] of [
      [{ compressed: 10 }, { compressed: 12, appLayer: 5 }],
      [{ compressed: 10, appLayer: 4 }, { compressed: 12 }],
      [{ compressed: 10, appLayer: 11 }, { compressed: 12, appLayer: 5 }]
    ]) {
      const r = at(diffSizes({ 'linux/amd64': b ?? { compressed: 0 } }, { 'linux/amd64': c ?? { compressed: 0 } }).rows, 0)
      expect(r.delta).toBe(2)
      expect(r.app).toBeUndefined()
      expect(r.base).toBeUndefined()
    }
  })

  it('sizeSetOf takes compressed, uncompressed and app layer from the images', () => {
    expect(sizeSetOf([{ platform: 'linux/amd64', compressed: 5, uncompressed: 9, appLayer: 2 }])).toEqual({ 'linux/amd64': { compressed: 5, uncompressed: 9, appLayer: 2 } })
    expect(sizeSetOf([{ platform: 'linux/amd64', compressed: 5 }])).toEqual({ 'linux/amd64': { compressed: 5 } })
  })
})

describe('signed figures', () => {
  it.each([
    [0, '0 B'],
    [512, '+512 B'],
    [-512, '-512 B'],
    [1_234_567, '+1.23 MB'],
    [-600_000, '-600.00 kB']
  ])('signedBytes(%d) = %s', (n, s) => {
    expect(signedBytes(n)).toBe(s)
  })

  it.each([
    [undefined, '—'],
    [5, '+5.00%'],
    [-4.3478, '-4.35%'],
    [0.0001, '0.00%']
  ])('signedPercent(%p) = %s', (p, s) => {
    expect(signedPercent(p)).toBe(s)
  })
})

describe('the size table and the comment', () => {
  it('growth: this build, baseline and delta per platform, one table, no total row', () => {
    const md = report(BASE, { 'linux/amd64': { compressed: 12_600_000, uncompressed: 30_000_000 }, 'linux/arm64': { compressed: 11_616_000 } })
    expect(md).toContain('### Image size: `samples/TodoApi`')
    expect(md).toContain('Compared with the registry image `ghcr.io/o/app:main`.')
    expect(md.match(/^\| Platform \|/gm)).toHaveLength(1)
    expect(header(md)).toEqual(['Platform', 'Compressed', 'Uncompressed', 'App layer', 'Base image', 'Digest', 'Baseline', 'Delta'])
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '12.60 MB', '30.00 MB', 'n/a', '`mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled`', '`sha256:000000000000…`', '12.00 MB', '+600.00 kB (+5.00%)'])
    expect(row(md, 'linux/arm64').slice(6)).toEqual(['11.50 MB', '+116.00 kB (+1.01%)'])
    expect(md).not.toMatch(/total/i)
    expect(md).not.toContain('Budget')
    expect(md).not.toContain('❌')
    // A registry baseline has no uncompressed sizes: the report says why they are not compared.
    expect(md).toMatch(/a registry baseline has no uncompressed sizes without downloading every layer/)
    // Neither side has app-layer figures: no split columns, and the note says why.
    expect(md).toContain('The change is not split into app layer and base image: the baseline has no app-layer figure.')
  })

  it('shrink: negative delta and percent', () => {
    const md = report(BASE, { 'linux/amd64': { compressed: 11_400_000 }, 'linux/arm64': { compressed: 11_500_000 } })
    expect(row(md, 'linux/amd64').slice(6)).toEqual(['12.00 MB', '-600.00 kB (-5.00%)'])
    expect(row(md, 'linux/arm64').slice(6)).toEqual(['11.50 MB', '0 B (0.00%)'])
  })

  it('new platform and removed platform rows', () => {
    const md = report({ 'linux/amd64': { compressed: 12_000_000 } }, { 'linux/arm64': { compressed: 11_000_000 } })
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '—', '—', '—', '—', '—', '12.00 MB', 'removed'])
    expect(row(md, 'linux/arm64').slice(6)).toEqual(['—', 'new platform'])
  })

  it('app layer Δ and base image Δ: where the baseline has the app layer, — where it does not', () => {
    const md = report(
      { 'linux/amd64': { compressed: 12_000_000, appLayer: 4_000_000 }, 'linux/arm64': { compressed: 11_500_000 } },
      { 'linux/amd64': { compressed: 13_520_000, appLayer: 4_020_000 }, 'linux/arm64': { compressed: 11_600_000, appLayer: 3_900_000 } }
    )
    expect(header(md).slice(6)).toEqual(['Baseline', 'Delta', 'App layer Δ', 'Base image Δ'])
    expect(row(md, 'linux/amd64').slice(3)).toEqual(['4.02 MB', expect.any(String), expect.any(String), '12.00 MB', '+1.52 MB (+12.67%)', '+20.00 kB', '+1.50 MB'])
    expect(row(md, 'linux/arm64').slice(8)).toEqual(['—', '—'])
    expect(md).toContain('App layer Δ and Base image Δ are — where the baseline has no app-layer figure.')
  })

  it('no baseline: says so plainly and shows this build only', () => {
    const parts = reportParts(images(BASE), diffSizes(undefined, BASE), { baselineSource: '', breaches: [], noBaselineReason: 'no sizes are cached for branch `main` yet' })
    const md = commentMarkdown('samples/TodoApi', parts, '')
    expect(md).toContain("No baseline found (no sizes are cached for branch `main` yet), so this report shows this build's sizes only.")
    expect(md).not.toContain('Compared with')
    expect(header(md)).toEqual(['Platform', 'Compressed', 'Uncompressed', 'App layer', 'Base image', 'Digest'])
    expect(row(md, 'linux/amd64').slice(0, 2)).toEqual(['linux/amd64', '12.00 MB'])
  })

  it('budget breaches: the row is marked, the budget column names the budget, the messages are listed', () => {
    const current = { 'linux/amd64': { compressed: 12_100_000 }, 'linux/arm64': { compressed: 16_200_000 } }
    const diff = diffSizes(BASE, current)
    const maxSize = parseMaxSize('15MB', ['linux/amd64', 'linux/arm64'])
    const maxIncrease = parseMaxIncrease('5%')
    const breaches = checkBudgets(diff, maxSize, maxIncrease)
    const md = commentMarkdown('samples/TodoApi', reportParts(images(current), diff, { baselineSource: 'registry image `x`', breaches, budgets: describeBudgets(maxSize, maxIncrease) }), '')
    expect(md).toContain('### Image size: `samples/TodoApi` ❌ over budget')
    expect(md).toContain('Budgets: max-size 15 MB per platform · max-increase 5%.')
    expect(header(md).slice(-1)).toEqual(['Budget'])
    expect(row(md, 'linux/amd64').slice(6)).toEqual(['12.00 MB', '+100.00 kB (+0.83%)', '✅'])
    expect(row(md, 'linux/arm64 ❌').slice(6)).toEqual(['11.50 MB', '+4.70 MB (+40.87%)', '❌ max-size 15 MB, max-increase 5%'])
    expect(md).toContain('- ❌ linux/arm64 is 16.20 MB (16,200,000 bytes), over the max-size budget of 15 MB')
    expect(md).toContain('- ❌ linux/arm64 grew by 40.87% (4,700,000 bytes), over the max-increase budget of 5%')
  })

  it('a merge (no base image, no uncompressed or app layer): n/a, and no Base image column', () => {
    const t = sizeTable({ baseImage: '', rows: [{ platform: 'linux/amd64', digest: D('a'), compressed: 14_000_000 }] }, diffSizes(undefined, { 'linux/amd64': { compressed: 14_000_000 } }))
    expect(t[0]).toBe('| Platform | Compressed | Uncompressed | App layer | Digest |')
    expect(t[2]).toBe('| linux/amd64 | 14.00 MB | n/a | n/a | `sha256:aaaaaaaaaaaa…` |')
  })

  it('escapes markdown in the project and the platform', () => {
    const md = commentMarkdown('a|b<c>', reportParts(images(BASE), diffSizes(undefined, BASE), { baselineSource: '', breaches: [] }), '')
    // Inside a code span HTML is literal text; the pipe cannot split the table.
    expect(md).toContain('`a\\|b<c>`')
    const tick = commentMarkdown('a`@team **x**`.csproj', reportParts(images(BASE), diffSizes(undefined, BASE), { baselineSource: '', breaches: [] }), '')
    expect(tick).toContain('``a`@team **x**`.csproj``')
    const odd = sizeTable(images({ 'linux/x|<b>': { compressed: 1 } }), diffSizes(undefined, { 'linux/x|<b>': { compressed: 1 } }))
    expect(odd[2]?.startsWith('| `linux/x\\|<b>` | 1 B |')).toBe(true)
  })

  it('the comment has the commit and run line under its heading', () => {
    const md = commentMarkdown('samples/TodoApi', reportParts(images(BASE), diffSizes(BASE, BASE), { baselineSource: 'registry image `x`', breaches: [] }), 'Commit `abc1234` · run 7')
    expect(md.split('\n').slice(0, 4)).toEqual(['### Image size: `samples/TodoApi`', '', 'Commit `abc1234` · run 7', ''])
  })
})

describe('reportJson', () => {
  it('has exact bytes for every row, the app/base split, and no total', () => {
    const current = { 'linux/amd64': { compressed: 12_600_001, uncompressed: 30_000_000, appLayer: 4_600_001 }, 'linux/arm64': { compressed: 11_499_999 } }
    const baseline = { ...BASE, 'linux/amd64': { compressed: 12_000_000, appLayer: 4_000_000 } }
    const j = reportJson(diffSizes(baseline, current), [], { project: 'samples/TodoApi', baselineSource: 'registry image x', current })
    expect(j).toEqual({
      project: 'samples/TodoApi',
      baselineSource: 'registry image x',
      hasBaseline: true,
      overBudget: false,
      rows: [
        {
          platform: 'linux/amd64',
          status: 'changed',
          baseline: 12_000_000,
          current: 12_600_001,
          delta: 600_001,
          percent: 5,
          uncompressed: 30_000_000,
          app: { baseline: 4_000_000, current: 4_600_001, delta: 600_001 },
          base: { baseline: 8_000_000, current: 8_000_000, delta: 0 }
        },
        { platform: 'linux/arm64', status: 'changed', baseline: 11_500_000, current: 11_499_999, delta: -1, percent: 0, app: null, base: null }
      ],
      breaches: []
    })
    expect(j).not.toHaveProperty('total')
    // Round-trips as the size-report output.
    expect(at((JSON.parse(JSON.stringify(j)) as { rows: { delta: number | null }[] }).rows, 0).delta).toBe(600_001)
  })

  it('uses null for figures a new, removed or unbaselined row does not have', () => {
    const j = reportJson(diffSizes({ 'linux/amd64': { compressed: 5 } }, { 'linux/arm64': { compressed: 6 } }), [])
    expect(j.rows).toEqual([
      { platform: 'linux/amd64', status: 'removed', baseline: 5, current: null, delta: null, percent: null, app: null, base: null },
      { platform: 'linux/arm64', status: 'new', baseline: null, current: 6, delta: null, percent: null, app: null, base: null }
    ])
    const none = reportJson(diffSizes(undefined, { 'linux/arm64': { compressed: 6 } }), [])
    expect(none.hasBaseline).toBe(false)
    expect(none.rows[0]).toEqual({ platform: 'linux/arm64', status: 'no-baseline', baseline: null, current: 6, delta: null, percent: null, app: null, base: null })
  })

  it('lists the breaches and sets overBudget', () => {
    const diff = diffSizes(BASE, { 'linux/amd64': { compressed: 16_000_000 }, 'linux/arm64': { compressed: 11_500_000 } })
    const breaches = checkBudgets(diff, parseMaxSize('linux/amd64=15MB', ['linux/amd64', 'linux/arm64']), {})
    const j = reportJson(diff, breaches)
    expect(j.overBudget).toBe(true)
    expect(j.breaches).toEqual([
      {
        platform: 'linux/amd64',
        kind: 'max-size',
        scope: 'image',
        figure: 16_000_000,
        budget: '15 MB',
        message: 'linux/amd64 is 16.00 MB (16,000,000 bytes), over the max-size budget of 15 MB'
      }
    ])
  })
})

describe('smoke-test figures against the baseline', () => {
  it('keep only native figures, and compare start-up and memory where both runs have them', async () => {
    const { diffSizes, reportJson, sizeSetOf, sizeTable } = await import('../../src/size/diff.js')
    const rows = [
      { platform: 'linux/amd64', digest: `sha256:${'a'.repeat(64)}`, compressed: 100, appLayer: 10, smoke: { startupMs: 210.4, memoryPeak: 30_000_000, emulated: false, failed: false } },
      { platform: 'linux/arm64', digest: `sha256:${'b'.repeat(64)}`, compressed: 90, appLayer: 9, smoke: { startupMs: 2500, memoryPeak: 90_000_000, emulated: true, failed: false } }
    ]
    const current = sizeSetOf(rows)
    expect(current['linux/amd64']).toMatchObject({ startupMs: 210, memoryPeak: 30_000_000 })
    expect(current['linux/arm64']?.startupMs).toBeUndefined()
    const diff = diffSizes({ 'linux/amd64': { compressed: 100, appLayer: 10, startupMs: 180, memoryPeak: 28_000_000 }, 'linux/arm64': { compressed: 90, startupMs: 100 } }, current)
    const amd = diff.rows.find((r) => r.platform === 'linux/amd64')
    expect(amd?.startup).toMatchObject({ baseline: 180, current: 210, delta: 30 })
    expect(amd?.memory).toMatchObject({ delta: 2_000_000 })
    expect(diff.rows.find((r) => r.platform === 'linux/arm64')?.startup).toBeUndefined()
    const table = sizeTable({ baseImage: '', rows }, diff).join('\n')
    expect(table).toContain('| 210 ms (+30 ms) | 30.00 MB (+2.00 MB) |')
    expect(table).toContain('| 2500 ms (QEMU) | 90.00 MB (QEMU) |')
    const json = reportJson(diff, [])
    expect(json.rows[0]?.startupMs).toMatchObject({ baseline: 180, current: 210, delta: 30 })
    expect(json.rows[1]?.startupMs).toBeUndefined()
  })
})
