// The one report of a whole monorepo run (mode: report): the build jobs' files read back,
// checked, joined per app and rendered as one table. Files are made the way the workflow's
// keep step makes them: from the action's own size-report, sizes and smoke outputs.
import { APP_REPORT_SCHEMA, AppReportError, appsLines, appsMarkdown, joinApps, parseAppReport, type AppReport } from '../../src/size/apps.js'
import { checkBudgets, parseMaxIncrease } from '../../src/size/budget.js'
import { diffSizes, reportJson } from '../../src/size/diff.js'
import type { SizeSet } from '../../src/size/types.js'
import { MARK } from '../util/hostile.js'

const AMD = 'linux/amd64'
const ARM = 'linux/arm64'
const MB = 1_000_000

/** A build job's file, its sizeReport computed by the action's own diff and budget code. */
function jobFile(o: { app: string; project: string; platforms: string; outcome?: string; current?: SizeSet; baseline?: SizeSet; maxSize?: Record<string, number>; maxIncrease?: string; smoke?: Record<string, unknown> | null }): string {
  const sizes: Record<string, unknown> = {}
  for (const [p, e] of Object.entries(o.current ?? {})) sizes[p] = { compressed: e.compressed, uncompressed: e.uncompressed ?? 0, appLayer: e.appLayer ?? 0, digest: `sha256:${'a'.repeat(64)}` }
  let report: unknown = null
  if (o.current !== undefined) {
    const diff = diffSizes(o.baseline, o.current)
    const breaches = checkBudgets(diff, o.maxSize ?? {}, parseMaxIncrease(o.maxIncrease ?? ''))
    report = reportJson(diff, breaches, { project: o.project, baselineSource: '', current: o.current })
  }
  return JSON.stringify({
    schema: APP_REPORT_SCHEMA,
    app: o.app,
    project: o.project,
    platforms: o.platforms,
    outcome: o.outcome ?? 'success',
    digest: o.current === undefined ? '' : `sha256:${'b'.repeat(64)}`,
    sizes: o.current === undefined ? null : sizes,
    sizeReport: report,
    smoke: o.smoke ?? null
  })
}

const smoke = (startupMs: number, emulated = false): Record<string, unknown> => ({ startupMs, memoryPeak: 20 * MB, emulated, ok: true, outcome: 'answered 200' })

/** Three apps: api on two native runners (distributed), worker on one runner, admin over budget. */
function run(): AppReport[] {
  return [
    jobFile({
      app: 'api',
      project: 'src/Api/Api.csproj',
      platforms: AMD,
      current: { [AMD]: { compressed: 12 * MB, appLayer: 4 * MB, startupMs: 40 } },
      baseline: { [AMD]: { compressed: 11 * MB, appLayer: 3 * MB, startupMs: 50 } },
      maxSize: { [AMD]: 20 * MB },
      smoke: { [AMD]: smoke(40) }
    }),
    jobFile({
      app: 'api',
      project: 'src/Api/Api.csproj',
      platforms: ARM,
      current: { [ARM]: { compressed: 11_500_000, appLayer: 3_900_000 } },
      baseline: { [ARM]: { compressed: 11_500_000, appLayer: 3_900_000 } },
      maxSize: { [ARM]: 20 * MB },
      smoke: { [ARM]: smoke(45) }
    }),
    jobFile({ app: 'worker', project: 'src/Worker/Worker.csproj', platforms: `${AMD},${ARM}`, current: { [AMD]: { compressed: 9 * MB, appLayer: 2 * MB }, [ARM]: { compressed: 8 * MB, appLayer: 2 * MB } } }),
    jobFile({
      app: 'admin',
      project: 'src/Admin/Admin.csproj',
      platforms: `${AMD},${ARM}`,
      outcome: 'failure',
      current: { [AMD]: { compressed: 30 * MB, appLayer: 10 * MB }, [ARM]: { compressed: 15 * MB, appLayer: 5 * MB } },
      baseline: { [AMD]: { compressed: 20 * MB, appLayer: 5 * MB }, [ARM]: { compressed: 15 * MB, appLayer: 5 * MB } },
      maxSize: { [AMD]: 25 * MB, [ARM]: 25 * MB },
      maxIncrease: '10%'
    }),
    jobFile({ app: 'cli', project: 'tools/Cli/Cli.csproj', platforms: `${AMD},${ARM}`, outcome: 'failure' })
  ].map((t) => parseAppReport(t))
}

describe('joinApps: one entry per app, its platforms from one job or several', () => {
  const apps = joinApps(run())

  test('every app once, sorted; a distributed app has its two jobs joined', () => {
    expect(apps.map((a) => a.app)).toEqual(['admin', 'api', 'cli', 'worker'])
    const api = apps.find((a) => a.app === 'api')
    expect(api?.rows.map((r) => r.platform)).toEqual([AMD, ARM])
    expect(api?.rows[0]?.row?.delta).toBe(MB)
    expect(api?.rows[0]?.row?.appDelta).toBe(MB)
    expect(api?.rows[0]?.row?.startupDelta).toBe(-10)
    expect(api?.rows[1]?.row?.status).toBe('unchanged')
  })

  test('budgets are per app: only admin is over, on the platform that broke them', () => {
    expect(apps.filter((a) => a.overBudget).map((a) => a.app)).toEqual(['admin'])
    const admin = apps.find((a) => a.app === 'admin')
    expect(admin?.rows.find((r) => r.platform === AMD)?.breaches.map((b) => b.kind)).toEqual(['max-size', 'max-increase'])
    expect(admin?.rows.find((r) => r.platform === ARM)?.breaches).toEqual([])
  })

  test('a job that ended before its sizes is a failed entry, not a missing app', () => {
    expect(apps.find((a) => a.app === 'cli')).toMatchObject({ failed: [{ platforms: `${AMD},${ARM}`, outcome: 'failure' }], rows: [] })
  })

  test('one platform reported twice, or one app under two projects, is refused', () => {
    const [first] = run()
    if (first === undefined) throw new Error('no report')
    expect(() => joinApps([first, first])).toThrow(/the app "api" reports "linux\/amd64" twice/)
    expect(() => joinApps([first, { ...first, project: 'src/Other/Api.csproj', sizes: {}, report: { hasBaseline: false, rows: [], breaches: [] } }])).toThrow(/reported for two projects/)
  })
})

describe('appsMarkdown: one table for the whole run', () => {
  const md = appsMarkdown('Shop.sln', joinApps(run()), 'Commit `abc1234`')

  test('a heading that counts apps, over-budget ones and failed ones; one row per app and platform', () => {
    expect(md.split('\n')[0]).toBe('### Native AOT images: 4 apps built from `Shop.sln` · ❌ 1 over budget · ❌ 1 failed')
    expect(md).toContain('Commit `abc1234`')
    const rows = md.split('\n').filter((l) => l.startsWith('| `'))
    // admin ×2, api ×2, cli (failed), worker ×2.
    expect(rows).toHaveLength(7)
    expect(md.match(/^\| App \| Project \| Platform/gm)).toHaveLength(1)
  })

  test('sizes, deltas, app layer, start-up with its change, and the budget per row', () => {
    const row = (app: string, platform: string): string => md.split('\n').find((l) => l.startsWith(`| \`${app}\``) && l.includes(`\`${platform}\``)) ?? ''
    expect(row('api', AMD)).toBe('| `api` | `src/Api/Api.csproj` | `linux/amd64` | 12.00 MB | +1.00 MB (+9.09%) | 4.00 MB | +1.00 MB | 40 ms (-10 ms) | 20.00 MB | ✅ |')
    expect(row('api', ARM)).toBe('| `api` | `src/Api/Api.csproj` | `linux/arm64` | 11.50 MB | 0 B (0.00%) | 3.90 MB | 0 B | 45 ms | 20.00 MB | ✅ |')
    expect(row('worker', AMD)).toBe('| `worker` | `src/Worker/Worker.csproj` | `linux/amd64` | 9.00 MB | — | 2.00 MB | — | not run | — | ✅ |')
    expect(row('admin', AMD)).toContain('| 30.00 MB | +10.00 MB (+50.00%) | 10.00 MB | +5.00 MB |')
    expect(row('admin', AMD).endsWith('| ❌ max\\-size, max\\-increase |')).toBe(true)
    expect(row('admin', ARM).endsWith('| ✅ |')).toBe(true)
    expect(row('cli', `${AMD},${ARM}`)).toContain('❌ no sizes (build step: failure)')
  })

  test('what is over budget and what failed, listed under the table by app', () => {
    expect(md).toContain('**Over budget:**\n\n- ❌ `admin`: linux/amd64 is 30\\.00 MB')
    expect(md).toContain('- ❌ `admin`: linux/amd64 grew by 50\\.00%')
    expect(md).toContain('**Failed:**\n\n- ❌ `cli` (`linux/amd64,linux/arm64`): the build step ended (failure) before its images were measured')
  })

  test('twelve apps get one table in one text, not twelve', () => {
    const many = Array.from({ length: 12 }, (_, i) => parseAppReport(jobFile({ app: `app-${i}`, project: `src/App${i}/App${i}.csproj`, platforms: AMD, current: { [AMD]: { compressed: MB + i } } })))
    const text = appsMarkdown('.', joinApps(many))
    expect(text.match(/^### /gm)).toHaveLength(1)
    expect(text.split('\n').filter((l) => l.startsWith('| `app-'))).toHaveLength(12)
  })

  test('no report at all says so', () => {
    expect(appsMarkdown('.', [])).toContain('No app reported a size')
  })
})

describe('hostile names: everything from the files is inert Markdown', () => {
  const evil = `x\`|<img src=x onerror=alert(1)>**@${MARK}**\n::warning::${MARK}\n| a | b |`
  const file = JSON.parse(
    jobFile({ app: evil, project: `${evil}.csproj`, platforms: AMD, current: { [AMD]: { compressed: MB } }, maxSize: { [AMD]: 1 }, smoke: { [AMD]: { startupMs: null, memoryPeak: null, emulated: false, ok: false, outcome: evil } } })
  ) as Record<string, unknown>
  const report = file.sizeReport as { breaches: { message: string; kind: string }[] }
  for (const b of report.breaches) {
    b.message = evil
    b.kind = `<b>${MARK}</b>`
  }
  const md = appsMarkdown(evil, joinApps([parseAppReport(JSON.stringify(file)), parseAppReport(jobFile({ app: 'ok', project: 'ok.csproj', platforms: `${AMD}|<x>`, outcome: `<script>${MARK}` }))]))

  // Inside a code span every character is literal text: GitHub renders no HTML or mention there.
  const outsideCode = md.replace(/(?<![\\`])(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '')

  test('no raw HTML, no mention, no line that starts a workflow command, no table broken open', () => {
    expect(outsideCode).toContain('&lt;b&gt;')
    expect(outsideCode).not.toMatch(/<img|<b>|<script|<x>/)
    expect(outsideCode).not.toMatch(/(?<!\\)@pwned/)
    expect(md.split('\n').some((l) => l.trimStart().startsWith('::'))).toBe(false)
    // Every table row has the header's 10 columns: no unescaped pipe added one.
    for (const l of md.split('\n').filter((x) => x.startsWith('| '))) expect(l.split(/(?<!\\)\|/).length - 2).toBe(10)
  })

  test('the plain-text lines hold the names as they are (they go to the log only through the untrusted writer)', () => {
    expect(appsLines(joinApps([parseAppReport(JSON.stringify(file))])).join('\n')).toContain(`::warning::${MARK}`)
  })
})

describe('parseAppReport: a file not written by a build job is refused, naming the field', () => {
  /** The file's parts a test edits. */
  interface Shape {
    schema?: string
    app?: string
    project: string
    sizes: Record<string, Record<string, unknown>>
    sizeReport: { rows: Record<string, unknown>[] | Record<string, unknown>; breaches: unknown[] }
    smoke: Record<string, Record<string, unknown>>
  }
  const good = JSON.parse(jobFile({ app: 'api', project: 'src/Api/Api.csproj', platforms: AMD, current: { [AMD]: { compressed: MB, appLayer: 1000 } }, smoke: { [AMD]: smoke(40) } })) as Shape
  const bad = (edit: (o: Shape) => void): string => {
    const o = structuredClone(good)
    edit(o)
    return JSON.stringify(o)
  }

  test('the good file passes', () => {
    expect(parseAppReport(JSON.stringify(good)).sizes[AMD]).toEqual({ compressed: MB, uncompressed: 0, appLayer: 1000 })
  })

  test.each([
    ['not JSON', '{"schema": ', /is not JSON/],
    ['an array', '[]', /the file is not a JSON object/],
    ['another schema', bad((o) => (o.schema = 'aot-buildx-app-report/2')), /schema is not aot-buildx-app-report\/1/],
    ['no app', bad((o) => delete o.app), /app is not a string/],
    ['an empty app', bad((o) => (o.app = ' ')), /app is empty/],
    ['a size as text', bad((o) => ((o.sizes[AMD] ?? {}).compressed = '1 MB')), /sizes\.linux\/amd64\.compressed is not a number/],
    ['a negative size', bad((o) => ((o.sizes[AMD] ?? {}).compressed = -1)), /sizes\.linux\/amd64\.compressed is negative/],
    ['rows not a list', bad((o) => (o.sizeReport.rows = {})), /sizeReport\.rows is not a JSON array/],
    ['a delta that is not a number', bad((o) => (((o.sizeReport.rows as Record<string, unknown>[])[0] ?? {}).delta = 'NaN')), /sizeReport\.rows\[0\]\.delta is not a number/],
    ['a smoke flag as text', bad((o) => ((o.smoke[AMD] ?? {}).ok = 'yes')), /smoke\.linux\/amd64\.ok is not true or false/],
    ['a huge name', bad((o) => (o.project = 'x'.repeat(501))), /project is longer than 500 characters/],
    ['a breach without a message', bad((o) => (o.sizeReport.breaches = [{ platform: AMD, kind: 'max-size' }])), /sizeReport\.breaches\[0\]\.message is not a string/]
  ])('%s', (_, text, message) => {
    expect(() => parseAppReport(text)).toThrow(AppReportError)
    expect(() => parseAppReport(text)).toThrow(message)
  })
})
