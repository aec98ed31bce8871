import { budgetFailure, checkBudgets, describeBudgets, formatBudget, parseMaxIncrease, parseMaxSize, parseSize } from '../../src/size/budget.js'
import { InputError } from '../../src/util/errors.js'
import { at, thrownBy } from '../helpers.js'
import { diffSizes, type SizeSet } from '../../src/size/diff.js'

const BOTH = ['linux/amd64', 'linux/arm64']

const inputError = (fn: () => unknown): InputError => thrownBy(fn, InputError)

/** `Input "<name>": <problem>. Accepted: <...>.` */
function expectShape(err: InputError, name: string, problem: RegExp): void {
  expect(err.input).toBe(name)
  const m = /^Input "([^"]+)": (.+)\. Accepted: (.+)\.$/s.exec(err.message)
  expect(m).not.toBeNull()
  expect((m as RegExpExecArray)[1]).toBe(name)
  expect((m as RegExpExecArray)[2]).toMatch(problem)
}

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1200', 1200],
    ['1200B', 1200],
    ['1 kB', 1000],
    ['1KB', 1000],
    ['15MB', 15_000_000],
    ['16.2 MB', 16_200_000],
    ['2GB', 2_000_000_000],
    ['1KiB', 1024],
    ['1.5 MiB', 1_572_864],
    ['1GiB', 1_073_741_824],
    ['.5MB', 500_000],
    [' 15mb ', 15_000_000]
  ])('%p is %d bytes', (text, n) => {
    expect(parseSize(text)).toBe(n)
  })

  it.each(['', 'MB', '15 XB', '-1MB', '15 M B', '1e6', '15MBs', 'fifteen', '1,5MB', '99999999999 GiB'])('%p is an input error naming max-size', (text) => {
    const err = inputError(() => parseSize(text))
    expectShape(err, 'max-size', /is not a size$/)
    expect(err.message).toContain('KiB, MiB, GiB')
  })

  it('names the input it is parsing for', () => {
    expectShape(
      inputError(() => parseSize('lots', 'max-increase')),
      'max-increase',
      /"lots" is not a size/
    )
  })
})

describe('parseMaxSize', () => {
  it('is empty when the input is', () => {
    expect(parseMaxSize('', BOTH)).toEqual({})
    expect(parseMaxSize('  \n ', BOTH)).toEqual({})
  })

  it('one value applies to every platform', () => {
    expect(parseMaxSize('15MB', BOTH)).toEqual({ 'linux/amd64': 15_000_000, 'linux/arm64': 15_000_000 })
  })

  it('takes one value per platform, by comma or newline, with platform aliases', () => {
    expect(parseMaxSize('linux/amd64=15MB,linux/arm64=14MiB', BOTH)).toEqual({ 'linux/amd64': 15_000_000, 'linux/arm64': 14 * 1024 ** 2 })
    expect(parseMaxSize('linux/x86_64 = 15MB\nlinux/arm64/v8=16MB', BOTH)).toEqual({ 'linux/amd64': 15_000_000, 'linux/arm64': 16_000_000 })
  })

  it('a bare value is the default and platform entries override it; unlisted platforms have no budget', () => {
    expect(parseMaxSize('15MB,linux/arm64=20MB', BOTH)).toEqual({ 'linux/amd64': 15_000_000, 'linux/arm64': 20_000_000 })
    expect(parseMaxSize('linux/arm64=20MB', BOTH)).toEqual({ 'linux/arm64': 20_000_000 })
  })

  it.each([
    ['linux/s390x=15MB', /"linux\/s390x" is not one of the platforms built \(linux\/amd64, linux\/arm64\)/],
    ['linux/arm64=15MB', /"linux\/arm64" is not one of the platforms built \(linux\/amd64\)/],
    ['linux/amd64=15MB,linux/x86_64=16MB', /linux\/amd64 is listed twice/],
    ['15MB,16MB', /"16MB" is a second size for every platform/],
    ['linux/amd64=lots', /"lots" is not a size/],
    ['linux/amd64=', /"" is not a size/],
    ['0', /"0" is zero/]
  ])('%p is an input error', (raw, problem) => {
    const platforms = raw === 'linux/arm64=15MB' ? ['linux/amd64'] : BOTH
    const err = inputError(() => parseMaxSize(raw, platforms))
    expectShape(err, 'max-size', problem)
    expect(err.message).toContain('Accepted: one size for every platform (15MB) or one per platform (linux/amd64=15MB,linux/arm64=15MB)')
  })
})

describe('parseMaxIncrease', () => {
  it.each([
    ['', {}],
    ['5%', { percent: 5 }],
    ['2.5 %', { percent: 2.5 }],
    ['500kB', { bytes: 500_000 }],
    ['1MiB, 5%', { bytes: 1_048_576, percent: 5 }],
    ['0', { bytes: 0 }]
  ])('%p', (raw, want) => {
    expect(parseMaxIncrease(raw)).toEqual(want)
  })

  it.each([
    ['app:500kB', { appBytes: 500_000 }],
    ['app:5%', { appPercent: 5 }],
    ['App : 1.5 MiB, app:2%', { appBytes: 1_572_864, appPercent: 2 }],
    ['2MB, 10%, app:500kB, app:5%', { bytes: 2_000_000, percent: 10, appBytes: 500_000, appPercent: 5 }],
    ['app:0', { appBytes: 0 }]
  ])('app scope: %p', (raw, want) => {
    expect(parseMaxIncrease(raw)).toEqual(want)
  })

  it.each([
    ['5 percent', /"5 percent" is not a size/],
    ['%', /"%" is not a size/],
    ['-5%', /"-5%" is not a size/],
    ['5%,6%', /"6%" is a second percentage/],
    ['1MB,2MB', /"2MB" is a second size/],
    ['base:5%', /"base:5%" names the scope "base"; the only scope is app \(the app layer\), and no scope means the whole image/],
    ['image:1MB', /names the scope "image"/],
    ['app:lots', /"app:lots": "lots" is not a size or a percentage/],
    ['app:', /"app:": "" is not a size or a percentage/],
    ['app:-5%', /"-5%" is not a size or a percentage/],
    ['app:5%,app:6%', /"app:6%" is a second app-layer percentage/],
    ['app:1MB,app:2MB', /"app:2MB" is a second app-layer size/]
  ])('%p is an input error naming max-increase', (raw, problem) => {
    const err = inputError(() => parseMaxIncrease(raw))
    expectShape(err, 'max-increase', problem)
    expect(err.message).toContain('a percentage of the baseline (5%)')
    expect(err.message).toContain('app:500kB, app:5% or both')
  })
})

describe('formatBudget', () => {
  it.each([
    [15_000_000, '15 MB'],
    [16_200_000, '16.2 MB'],
    [1_048_576, '1 MiB'],
    [14 * 1024 ** 2, '14 MiB'],
    [2_000_000_000, '2 GB'],
    [1536, '1.5 KiB'],
    [1000, '1 kB'],
    [512, '512 B'],
    [0, '0 B'],
    [1_234_567, '1.23 MB (1,234,567 bytes)']
  ])('%d -> %s', (n, s) => {
    expect(formatBudget(n)).toBe(s)
  })
})

describe('describeBudgets', () => {
  it('says what is in force', () => {
    expect(describeBudgets({}, {})).toBe('')
    expect(describeBudgets(parseMaxSize('15MB', BOTH), {})).toBe('max-size 15 MB per platform')
    expect(describeBudgets(parseMaxSize('linux/arm64=16MB,linux/amd64=15MB', BOTH), parseMaxIncrease('1MB,5%'))).toBe(
      'max-size linux/amd64 15 MB, linux/arm64 16 MB · max-increase 1 MB and 5%'
    )
    expect(describeBudgets({}, parseMaxIncrease('app:500kB,10%,app:5%'))).toBe('max-increase 10% · max-increase app:500 kB and app:5% (app layer only)')
  })
})

describe('checkBudgets', () => {
  const base: SizeSet = { 'linux/amd64': { compressed: 12_000_000 }, 'linux/arm64': { compressed: 12_000_000 } }

  it('names the platform, the figure and the budget for max-size', () => {
    const diff = diffSizes(base, { 'linux/amd64': { compressed: 15_000_000 }, 'linux/arm64': { compressed: 16_200_000 } })
    const breaches = checkBudgets(diff, parseMaxSize('15MB', BOTH), {})
    // Exactly at the budget is within it.
    expect(breaches).toEqual([
      {
        platform: 'linux/arm64',
        kind: 'max-size',
        scope: 'image',
        figure: 16_200_000,
        budget: '15 MB',
        message: 'linux/arm64 is 16.20 MB (16,200,000 bytes), over the max-size budget of 15 MB'
      }
    ])
    expect(budgetFailure(breaches)).toBe('the image is over its size budget:\nlinux/arm64 is 16.20 MB (16,200,000 bytes), over the max-size budget of 15 MB')
  })

  it('max-increase in bytes and in percent', () => {
    const diff = diffSizes(base, { 'linux/amd64': { compressed: 12_500_000 }, 'linux/arm64': { compressed: 13_200_000 } })
    const breaches = checkBudgets(diff, {}, parseMaxIncrease('1MB,5%'))
    expect(breaches.map((b) => [b.platform, b.kind, b.figure, b.budget])).toEqual([
      ['linux/arm64', 'max-increase', 1_200_000, '1 MB'],
      ['linux/arm64', 'max-increase', 10, '5%']
    ])
    expect(at(breaches, 0).message).toBe('linux/arm64 grew by 1.20 MB (1,200,000 bytes), over the max-increase budget of 1 MB')
    expect(at(breaches, 1).message).toBe('linux/arm64 grew by 10.00% (1,200,000 bytes), over the max-increase budget of 5%')
  })

  it('growth budgets need a baseline; max-size applies to a new platform; a removed one has nothing to check', () => {
    const noBase = diffSizes(undefined, { 'linux/amd64': { compressed: 99_000_000 } })
    expect(checkBudgets(noBase, {}, parseMaxIncrease('0'))).toEqual([])
    expect(checkBudgets(noBase, { 'linux/amd64': 1 }, {}).map((b) => b.kind)).toEqual(['max-size'])
    const moved = diffSizes({ 'linux/amd64': { compressed: 1 } }, { 'linux/arm64': { compressed: 50 } })
    expect(checkBudgets(moved, { 'linux/amd64': 1, 'linux/arm64': 10 }, parseMaxIncrease('0,0%')).map((b) => [b.platform, b.kind])).toEqual([['linux/arm64', 'max-size']])
  })

  it('shrinking never breaches a growth budget, and max-increase 0 forbids any growth', () => {
    const diff = diffSizes(base, { 'linux/amd64': { compressed: 11_000_000 }, 'linux/arm64': { compressed: 12_000_001 } })
    expect(checkBudgets(diff, {}, parseMaxIncrease('0')).map((b) => [b.platform, b.figure])).toEqual([['linux/arm64', 1]])
  })

  describe('app-scoped max-increase', () => {
    // Microsoft patched the base image (+1.5 MB on each platform); amd64's app also grew by 600 kB.
    const before: SizeSet = { 'linux/amd64': { compressed: 12_000_000, appLayer: 4_000_000 }, 'linux/arm64': { compressed: 12_000_000, appLayer: 4_000_000 } }
    const after: SizeSet = { 'linux/amd64': { compressed: 14_100_000, appLayer: 4_600_000 }, 'linux/arm64': { compressed: 13_500_000, appLayer: 4_000_000 } }
    const diff = diffSizes(before, after)

    it('ignores base-image growth that a whole-image budget would count', () => {
      expect(checkBudgets(diff, {}, parseMaxIncrease('1MB')).map((b) => b.platform)).toEqual(['linux/amd64', 'linux/arm64'])
      expect(checkBudgets(diff, {}, parseMaxIncrease('app:1MB,app:20%'))).toEqual([])
    })

    it('fails on app growth, naming the app layer', () => {
      const breaches = checkBudgets(diff, {}, parseMaxIncrease('app:500kB,app:10%'))
      expect(breaches).toEqual([
        {
          platform: 'linux/amd64',
          kind: 'max-increase',
          scope: 'app',
          figure: 600_000,
          budget: 'app:500 kB',
          message: "linux/amd64's app layer grew by 600.00 kB (600,000 bytes), over the max-increase budget of app:500 kB"
        },
        {
          platform: 'linux/amd64',
          kind: 'max-increase',
          scope: 'app',
          figure: 15,
          budget: 'app:10%',
          message: "linux/amd64's app layer grew by 15.00% (600,000 bytes), over the max-increase budget of app:10%"
        }
      ])
    })

    it('a shrinking app layer passes app:0 even while the base image grows', () => {
      const d = diffSizes(before, { ...after, 'linux/amd64': { compressed: 13_400_000, appLayer: 3_900_000 } })
      expect(checkBudgets(d, {}, parseMaxIncrease('app:0'))).toEqual([])
    })

    it('where the baseline has no app-layer figure, checks the whole image and says so (never skipped)', () => {
      const unsplit = diffSizes({ 'linux/amd64': { compressed: 12_000_000 } }, { 'linux/amd64': { compressed: 13_500_000, appLayer: 4_000_000 } })
      const breaches = checkBudgets(unsplit, {}, parseMaxIncrease('app:1MB,app:5%'))
      expect(breaches.map((b) => [b.scope, b.figure, b.budget])).toEqual([
        ['app', 1_500_000, 'app:1 MB'],
        ['app', 12.5, 'app:5%']
      ])
      expect(at(breaches, 0).message).toBe(
        'linux/amd64 grew by 1.50 MB (1,500,000 bytes; its baseline has no app-layer figure, so the whole image counts), over the max-increase budget of app:1 MB'
      )
    })
  })
})
