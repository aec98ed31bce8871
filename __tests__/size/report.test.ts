import type { PlatformReport } from '../../src/image/inspect.js'
import { buildFrame, humanBytes, imagesOf, sizeOutputs, sizesJson, sizesTable, summaryMarkdown, type BuildFacts } from '../../src/size/report.js'
import { diffSizes, reportParts, sizeSetOf, tableOnly } from '../../src/size/diff.js'
import { checkBudgets, describeBudgets, parseMaxIncrease } from '../../src/size/budget.js'
import { at } from '../helpers.js'

const AMD = `sha256:${'1a2b3c4d5e6f'.repeat(5)}abcd`
const ARM = `sha256:${'9f8e7d6c5b4a'.repeat(5)}0123`

function report(platform: string, digest: string, compressed: number, uncompressed: number, app: number): PlatformReport {
  return {
    platform,
    digest,
    compressed,
    uncompressed,
    appLayer: { compressed: app, uncompressed: app * 3 },
    layers: 4,
    entrypoint: '/app/TodoApi',
    user: '1654',
    problems: [],
    native: { files: 1, glibc: {}, unreadable: [] }
  }
}

const REPORTS = [report('linux/amd64', AMD, 12_340_000, 31_900_000, 4_210_000), report('linux/arm64', ARM, 11_870_512, 30_001_234, 3_999)]

const RUNTIME = 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled'

const SUMMARY: BuildFacts = {
  project: 'samples/TodoApi/TodoApi.csproj',
  flavor: 'chiseled',
  runtimeImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled',
  buildSeconds: 83.24,
  qemu: 'not needed: every RUN of the generated Dockerfile runs on the build platform',
  pushed: [],
  indexDigest: `sha256:${'e'.repeat(64)}`,
  dockerfile: 'samples/TodoApi/Dockerfile.aot'
}

describe('humanBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.00 kB'],
    [1536, '1.54 kB'],
    [12_340_000, '12.34 MB'],
    [1_000_000_000, '1.00 GB'],
    [2_500_000_000_000, '2500.00 GB']
  ])('%d -> %s', (n, want) => {
    expect(humanBytes(n)).toBe(want)
  })

  it('rounds 999,999 bytes up to the next unit (1.00 MB, not 1000.00 kB)', () => {
    expect(humanBytes(999_999)).toBe('1.00 MB')
  })
})

describe('sizesJson and sizeOutputs', () => {
  it('keys sizes by platform', () => {
    expect(sizesJson(REPORTS)).toEqual({
      'linux/amd64': { compressed: 12_340_000, uncompressed: 31_900_000, appLayer: 4_210_000, digest: AMD },
      'linux/arm64': { compressed: 11_870_512, uncompressed: 30_001_234, appLayer: 3_999, digest: ARM }
    })
  })

  it('gives one flat output per platform in compressed bytes', () => {
    expect(sizeOutputs(REPORTS)).toEqual({ 'size-linux-amd64': '12340000', 'size-linux-arm64': '11870512' })
  })
})

const IMAGES = imagesOf(REPORTS, RUNTIME)

function summary(facts: BuildFacts = SUMMARY): string {
  return summaryMarkdown(buildFrame(facts), tableOnly(IMAGES))
}

const cells = (row: string): string[] =>
  row
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim())

const tables = (md: string): string[] => md.split('\n').filter((l) => l.startsWith('| Platform |'))

describe('summaryMarkdown without a size report (the images failed their checks)', () => {
  const md = summary()
  const rows = md.split('\n').filter((l) => /^\| linux\//.test(l))

  it('has one table, with one row per platform', () => {
    expect(tables(md)).toHaveLength(1)
    expect(rows).toHaveLength(2)
  })

  it.each([
    [0, 'linux/amd64', '12.34 MB', '31.90 MB', '4.21 MB', AMD],
    [1, 'linux/arm64', '11.87 MB', '30.00 MB', '4.00 kB', ARM]
  ])('row %d: %s with compressed, uncompressed, app layer, base image and digest', (i, platform, compressed, uncompressed, app, digest) => {
    const c = cells(at(rows, i))
    expect(c).toHaveLength(6)
    expect(c[0]).toBe(platform)
    expect(c[1]).toBe(compressed)
    expect(c[2]).toBe(uncompressed)
    expect(c[3]).toBe(app)
    expect(c[4]).toBe(`\`${RUNTIME}\``)
    expect(c[5]).toContain(digest.slice(0, 19))
  })

  it('the header has as many columns as the rows, and no baseline columns', () => {
    expect(cells(at(tables(md), 0))).toEqual(['Platform', 'Compressed', 'Uncompressed', 'App layer', 'Base image', 'Digest'])
    expect(md).not.toMatch(/baseline/i)
  })

  it('has no Total row: nobody pulls both architectures', () => {
    expect(md).not.toMatch(/total/i)
  })

  it('mentions the flavor, the QEMU reason and the index digest after the table, and one footnote', () => {
    expect(md).toContain('Flavor **chiseled**')
    expect(md).toContain(`QEMU: ${SUMMARY.qemu}`)
    expect(md).toContain(SUMMARY.indexDigest)
    expect(md).toContain('83.2 s')
    expect(md.indexOf('Flavor')).toBeGreaterThan(md.indexOf('| linux/arm64 |'))
    expect(md.match(/<sub>/g)).toHaveLength(1)
    expect(md).toContain('Dockerfile: `samples/TodoApi/Dockerfile.aot`.')
  })

  it('says nothing about pushing when nothing was pushed', () => {
    expect(md).not.toContain('Pushed')
  })

  it('lists the pushed tags', () => {
    const pushed = summary({ ...SUMMARY, pushed: ['ghcr.io/o/todo:1', 'ghcr.io/o/todo:latest'] })
    expect(pushed).toContain('Pushed: `ghcr.io/o/todo:1`, `ghcr.io/o/todo:latest`')
  })

  it('escapes | and angle brackets in the project name', () => {
    const out = summary({ ...SUMMARY, project: 'src/a|b/<App>.csproj' })
    // A code span: HTML inside it is literal text, and the pipe is escaped for the table.
    expect(out).toContain('`src/a\\|b/<App>.csproj`')
    expect(out).not.toContain('a|b')
    const tick = summary({ ...SUMMARY, project: 'src/`x` @team [l](http://e)/A.csproj' })
    expect(tick).toContain('``src/`x` @team [l](http://e)/A.csproj``')
  })

  it('keeps a hostile base image inert in its cell', () => {
    const out = summaryMarkdown(buildFrame(SUMMARY), tableOnly(imagesOf(REPORTS, 'x|y`<img src=a>`')))
    const row = out.split('\n').find((l) => l.startsWith('| linux/amd64 |'))
    expect(cells(row ?? '')).toHaveLength(6)
    // A code span its backtick cannot close, the pipe escaped: no cell added, no HTML.
    expect(out).toContain('| `` x\\|y`<img src=a>` `` |')
  })
})

describe('summaryMarkdown: the version a git-history versioning tool left in the binary', () => {
  it('says the fallback and how to pass the real version, or the passed value in a code span', () => {
    const md = summary({ ...SUMMARY, versioning: [{ tool: 'MinVer', text: 'the fallback, 0.0.0-alpha.0. Pass `MinVerVersionOverride=2.3.5`.' }, { tool: 'GitVersion', text: 'from build-args Version', value: '2.3.5`<b>|' }] })
    expect(md).toContain('Version (MinVer): the fallback, 0.0.0-alpha.0. Pass `MinVerVersionOverride=2.3.5`.')
    expect(md).toContain('Version (GitVersion): ``2.3.5`<b>\\|``, from build-args Version')
    expect(summary()).not.toContain('Version (')
  })
})

describe('summaryMarkdown with a size report', () => {
  // The baseline: the same base image layers, a smaller app; arm64's base image was patched.
  const baseline = {
    'linux/amd64': { compressed: 12_000_000, appLayer: 3_870_000 },
    'linux/arm64': { compressed: 11_500_000, appLayer: 3_999 }
  }
  const diff = diffSizes(baseline, sizeSetOf(IMAGES.rows))
  const maxIncrease = parseMaxIncrease('app:5%')
  const breaches = checkBudgets(diff, {}, maxIncrease)
  const parts = reportParts(IMAGES, diff, { baselineSource: 'registry image `ghcr.io/o/todo:main`', breaches, budgets: describeBudgets({}, maxIncrease) })
  const md = summaryMarkdown(buildFrame(SUMMARY), parts)

  it('shows one table: this build, the baseline, the delta, and the delta split into app layer and base image', () => {
    expect(tables(md)).toHaveLength(1)
    expect(cells(at(tables(md), 0))).toEqual([
      'Platform',
      'Compressed',
      'Uncompressed',
      'App layer',
      'Base image',
      'Digest',
      'Baseline',
      'Delta',
      'App layer Δ',
      'Base image Δ',
      'Budget'
    ])
    const amd = cells(md.split('\n').find((l) => l.startsWith('| linux/amd64')) ?? '')
    expect(amd.slice(0, 4)).toEqual(['linux/amd64 ❌', '12.34 MB', '31.90 MB', '4.21 MB'])
    // 12,340,000 - 12,000,000 = +340,000: +340,000 of app (4,210,000 - 3,870,000), 0 of base.
    expect(amd.slice(6)).toEqual(['12.00 MB', '+340.00 kB (+2.83%)', '+340.00 kB', '0 B', '❌ max-increase app:5%'])
    const arm = cells(md.split('\n').find((l) => l.startsWith('| linux/arm64')) ?? '')
    // 11,870,512 - 11,500,000 = +370,512, all of it base image: the app layer is unchanged.
    expect(arm.slice(6)).toEqual(['11.50 MB', '+370.51 kB (+3.22%)', '0 B', '+370.51 kB', '✅'])
  })

  it('has the heading, the baseline and the budgets once, the breaches, then the build facts', () => {
    expect(md.startsWith('### Native AOT image: `samples/TodoApi/TodoApi.csproj` ❌ over budget\n')).toBe(true)
    expect(md.match(/Compared with/g)).toHaveLength(1)
    expect(md).toContain('Budgets: max-increase app:5% (app layer only).')
    expect(md).toContain("- ❌ linux/amd64's app layer grew by 8.79% (340,000 bytes), over the max-increase budget of app:5%")
    expect(md).not.toMatch(/total/i)
    expect(md.indexOf('Flavor')).toBeGreaterThan(md.indexOf('**Over budget:**'))
  })
})

describe('the summary names the runtime image used, and what the smoke test saw', () => {
  it('says runtime-image, not a flavor, when the workflow named the image', () => {
    const given = summary({ ...SUMMARY, flavor: undefined, runtimeImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled' })
    expect(given).not.toContain('Flavor')
    expect(given).toContain('Runtime image `mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled` (runtime-image)')
    expect(summary({ ...SUMMARY, flavor: 'chiseled-extra', runtimeImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra' })).toContain(
      'Flavor **chiseled-extra** (`mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra`)'
    )
  })

  it('says per platform what happened, with a failed one\'s last lines fenced', () => {
    const md = summary({
      ...SUMMARY,
      smoke: [
        { platform: 'linux/amd64', emulated: false, startupMs: 40, memoryPeak: 20_000_000, outcome: 'ran 5.0 s, then stopped cleanly on SIGTERM (in 0.1 s)' },
        {
          platform: 'linux/arm64',
          emulated: true,
          outcome: 'exited with code 139 after 1.2 s',
          failure: 'exited with code 139 after 1.2 s:\n  Unhandled exception. ```boom``` <b>|',
          lastLines: '  Unhandled exception. ```boom``` <b>|'
        }
      ]
    })
    expect(md).toContain('- `linux/amd64`: ran 5\\.0 s, then stopped cleanly on SIGTERM \\(in 0\\.1 s\\)')
    expect(md).toContain('- `linux/arm64` (QEMU): ❌ exited with code 139 after 1\\.2 s')
    // The app's own text only inside a fence it cannot close.
    expect(md).toContain('Last lines of `linux/arm64`:\n\n````\n  Unhandled exception. ```boom``` <b>|\n````')
    expect(md).not.toContain('Last lines of `linux/amd64`')
  })

  it('puts the outcome of a failed run in the table, not "did not start"', () => {
    const images = imagesOf(REPORTS, RUNTIME, [
      { platform: 'linux/amd64', emulated: false, outcome: 'ran 5.0 s, then did not stop within 10.0 s of SIGTERM and was killed', failure: 'x' },
      { platform: 'linux/arm64', emulated: true, startupMs: 900, outcome: 'exited with code 0 after 0.9 s' }
    ])
    const table = tableOnly(images).table.join('\n')
    expect(table).not.toContain('did not start')
    expect(table).toContain('| ❌ ran 5\\.0 s, then did not stop within 10\\.0 s of SIGTERM and was killed | — |')
    expect(table).toContain('| 900 ms (QEMU) |')
  })
})

describe('sizesTable', () => {
  const table = sizesTable(REPORTS)
  const lines = table.split('\n')

  it('has a header and one line per platform', () => {
    expect(lines).toHaveLength(3)
    expect(at(lines, 0).split(/\s{2,}/).map((s) => s.trim()).filter((s) => s !== '')).toEqual(['platform', 'compressed', 'uncompressed', 'app layer', 'digest'])
    expect(at(lines, 1).startsWith('linux/amd64')).toBe(true)
    expect(at(lines, 2).startsWith('linux/arm64')).toBe(true)
  })

  it('aligns every column', () => {
    for (const header of ['compressed', 'uncompressed', 'app layer', 'digest']) {
      const col = at(lines, 0).indexOf(header)
      expect(col).toBeGreaterThan(0)
      for (const line of lines.slice(1)) {
        expect(line[col - 1]).toBe(' ')
        expect(line[col]).not.toBe(' ')
      }
    }
    expect(at(lines, 1).indexOf('12.34 MB')).toBe(at(lines, 0).indexOf('compressed'))
    expect(at(lines, 2).indexOf(ARM.slice(0, 19))).toBe(at(lines, 0).indexOf('digest'))
  })
})
