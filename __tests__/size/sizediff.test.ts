import { checkBudgets, describeBudgets, parseMaxIncrease, parseMaxSize, type Breach } from '../../src/size/budget.js'
import { at } from '../helpers.js'
import { diffSizes, formatReport, reportJson, signedBytes, signedPercent, sizeSetOf, type SizeSet } from '../../src/size/diff.js'

const BASE: SizeSet = {
  'linux/amd64': { compressed: 12_000_000 },
  'linux/arm64': { compressed: 11_500_000 }
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

function report(baseline: SizeSet | undefined, current: SizeSet, breaches: Breach[] = [], source = 'registry image ghcr.io/o/app:main', budgets?: string): string {
  return formatReport(diffSizes(baseline, current), { project: 'samples/TodoApi', baselineSource: baseline ? source : '', breaches, budgets })
}

describe('diffSizes', () => {
  it('compares each platform and the total, sorted by platform', () => {
    const d = diffSizes(BASE, { 'linux/arm64': { compressed: 11_000_000 }, 'linux/amd64': { compressed: 12_600_000 } })
    expect(d.hasBaseline).toBe(true)
    expect(d.rows).toEqual([
      { platform: 'linux/amd64', baseline: 12_000_000, current: 12_600_000, delta: 600_000, percent: 5, status: 'changed' },
      { platform: 'linux/arm64', baseline: 11_500_000, current: 11_000_000, delta: -500_000, percent: (-500_000 / 11_500_000) * 100, status: 'changed' }
    ])
    expect(d.total).toMatchObject({ platform: 'total', baseline: 23_500_000, current: 23_600_000, delta: 100_000, status: 'changed' })
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
    // Totals count each side's platforms: +9 new, -7 removed.
    expect(d.total).toMatchObject({ baseline: 17, current: 19, delta: 2 })
  })

  it('without a baseline (or an empty one) has no deltas', () => {
    for (const b of [undefined, {}]) {
      const d = diffSizes(b, BASE)
      expect(d.hasBaseline).toBe(false)
      expect(d.rows.every((r) => r.status === 'no-baseline' && r.delta === undefined && r.baseline === undefined)).toBe(true)
      expect(d.total).toEqual({ platform: 'total', current: 23_500_000, status: 'no-baseline' })
    }
  })

  it('sizeSetOf takes compressed and uncompressed from the inspected images', () => {
    expect(sizeSetOf([{ platform: 'linux/amd64', compressed: 5, uncompressed: 9 }])).toEqual({ 'linux/amd64': { compressed: 5, uncompressed: 9 } })
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

describe('formatReport', () => {
  it('growth: baseline, this build, delta and percent, with a total line', () => {
    const md = report(BASE, { 'linux/amd64': { compressed: 12_600_000 }, 'linux/arm64': { compressed: 11_616_000 } })
    expect(md).toContain('### Image size: `samples/TodoApi`')
    expect(md).toContain('Compared with the registry image ghcr.io/o/app:main.')
    expect(md).toContain('| Platform | Baseline | This build | Delta | Delta % |')
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '12.00 MB', '12.60 MB', '+600.00 kB', '+5.00%'])
    expect(row(md, 'linux/arm64')).toEqual(['linux/arm64', '11.50 MB', '11.62 MB', '+116.00 kB', '+1.01%'])
    expect(row(md, '**Total**')).toEqual(['**Total**', '23.50 MB', '24.22 MB', '+716.00 kB', '+3.05%'])
    expect(md).not.toContain('Budget')
    expect(md).not.toContain('❌')
    // A registry baseline has no uncompressed sizes: the report says why they are not compared.
    expect(md).toMatch(/Uncompressed sizes are not compared, because a registry baseline does not have them/)
  })

  it('shrink: negative delta and percent', () => {
    const md = report(BASE, { 'linux/amd64': { compressed: 11_400_000 }, 'linux/arm64': { compressed: 11_500_000 } })
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '12.00 MB', '11.40 MB', '-600.00 kB', '-5.00%'])
    expect(row(md, 'linux/arm64')).toEqual(['linux/arm64', '11.50 MB', '11.50 MB', '0 B', '0.00%'])
    expect(row(md, '**Total**')).toEqual(['**Total**', '23.50 MB', '22.90 MB', '-600.00 kB', '-2.55%'])
  })

  it('new platform and removed platform rows', () => {
    const md = report({ 'linux/amd64': { compressed: 12_000_000 } }, { 'linux/arm64': { compressed: 11_000_000 } })
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '12.00 MB', '—', 'removed', '—'])
    expect(row(md, 'linux/arm64')).toEqual(['linux/arm64', '—', '11.00 MB', 'new platform', '—'])
    expect(row(md, '**Total**')).toEqual(['**Total**', '12.00 MB', '11.00 MB', '-1.00 MB', '-8.33%'])
  })

  it('no baseline: says so plainly and shows this build only', () => {
    const md = formatReport(diffSizes(undefined, BASE), {
      project: 'samples/TodoApi',
      baselineSource: '',
      breaches: [],
      noBaselineReason: 'no sizes cached for branch main yet'
    })
    expect(md).toContain('No baseline found (no sizes cached for branch main yet), so this report shows this build\'s sizes only.')
    expect(md).not.toContain('Compared with')
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '—', '12.00 MB', '—', '—'])
    expect(row(md, '**Total**')).toEqual(['**Total**', '—', '23.50 MB', '—', '—'])
  })

  it('budget breaches: the row is marked, the budget column names the budget, the messages are listed', () => {
    const current = { 'linux/amd64': { compressed: 12_100_000 }, 'linux/arm64': { compressed: 16_200_000 } }
    const diff = diffSizes(BASE, current)
    const maxSize = parseMaxSize('15MB', ['linux/amd64', 'linux/arm64'])
    const maxIncrease = parseMaxIncrease('5%')
    const breaches = checkBudgets(diff, maxSize, maxIncrease)
    const md = formatReport(diff, { project: 'samples/TodoApi', baselineSource: 'registry image x', breaches, budgets: describeBudgets(maxSize, maxIncrease) })
    expect(md).toContain('### Image size: `samples/TodoApi` ❌ over budget')
    expect(md).toContain('Budgets: max-size 15 MB per platform · max-increase 5%.')
    expect(md).toContain('| Platform | Baseline | This build | Delta | Delta % | Budget |')
    expect(row(md, 'linux/amd64')).toEqual(['linux/amd64', '12.00 MB', '12.10 MB', '+100.00 kB', '+0.83%', '✅'])
    expect(row(md, 'linux/arm64 ❌')).toEqual(['linux/arm64 ❌', '11.50 MB', '16.20 MB', '+4.70 MB', '+40.87%', '❌ max-size 15 MB, max-increase 5%'])
    expect(row(md, '**Total**')).toHaveLength(6)
    expect(md).toContain('- ❌ linux/arm64 is 16.20 MB (16,200,000 bytes), over the max-size budget of 15 MB')
    expect(md).toContain('- ❌ linux/arm64 grew by 40.87% (4,700,000 bytes), over the max-increase budget of 5%')
  })

  it('escapes markdown in the project and source', () => {
    const md = formatReport(diffSizes(undefined, BASE), { project: 'a|b<c>', baselineSource: '', breaches: [] })
    // Inside a code span HTML is literal text; the pipe cannot split the table.
    expect(md).toContain('`a\\|b<c>`')
    const tick = formatReport(diffSizes(undefined, BASE), { project: 'a`@team **x**`.csproj', baselineSource: '', breaches: [] })
    expect(tick).toContain('``a`@team **x**`.csproj``')
  })
})

describe('reportJson', () => {
  it('has exact bytes for every row and the total', () => {
    const current = { 'linux/amd64': { compressed: 12_600_001, uncompressed: 30_000_000 }, 'linux/arm64': { compressed: 11_499_999 } }
    const j = reportJson(diffSizes(BASE, current), [], { project: 'samples/TodoApi', baselineSource: 'registry image x', current })
    expect(j).toEqual({
      project: 'samples/TodoApi',
      baselineSource: 'registry image x',
      hasBaseline: true,
      overBudget: false,
      rows: [
        { platform: 'linux/amd64', status: 'changed', baseline: 12_000_000, current: 12_600_001, delta: 600_001, percent: 5, uncompressed: 30_000_000 },
        { platform: 'linux/arm64', status: 'changed', baseline: 11_500_000, current: 11_499_999, delta: -1, percent: 0 }
      ],
      total: { platform: 'total', status: 'changed', baseline: 23_500_000, current: 24_100_000, delta: 600_000, percent: 2.55 },
      breaches: []
    })
    // Round-trips as the size-report output.
    expect(at((JSON.parse(JSON.stringify(j)) as { rows: { delta: number | null }[] }).rows, 0).delta).toBe(600_001)
  })

  it('uses null for figures a new, removed or unbaselined row does not have', () => {
    const j = reportJson(diffSizes({ 'linux/amd64': { compressed: 5 } }, { 'linux/arm64': { compressed: 6 } }), [])
    expect(j.rows).toEqual([
      { platform: 'linux/amd64', status: 'removed', baseline: 5, current: null, delta: null, percent: null },
      { platform: 'linux/arm64', status: 'new', baseline: null, current: 6, delta: null, percent: null }
    ])
    const none = reportJson(diffSizes(undefined, { 'linux/arm64': { compressed: 6 } }), [])
    expect(none.hasBaseline).toBe(false)
    expect(none.rows[0]).toEqual({ platform: 'linux/arm64', status: 'no-baseline', baseline: null, current: 6, delta: null, percent: null })
    expect(none.total).toEqual({ platform: 'total', status: 'no-baseline', baseline: null, current: 6, delta: null, percent: null })
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
        figure: 16_000_000,
        budget: '15 MB',
        message: 'linux/amd64 is 16.00 MB (16,000,000 bytes), over the max-size budget of 15 MB'
      }
    ])
  })
})
