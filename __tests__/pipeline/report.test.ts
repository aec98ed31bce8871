// mode: report through run(), in-process: @actions/core mocked (inputs in, summary, failures
// and log lines recorded), the pull request's comment posted to a real HTTP server on
// 127.0.0.1 speaking the REST endpoints used, and the untrusted writer's output captured.
import { jest } from '@jest/globals'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { APP_REPORT_SCHEMA } from '../../src/size/apps.js'
import { setSink } from '../../src/util/untrusted.js'
import { MARK } from '../util/hostile.js'

const rec = { inputs: {} as Record<string, string>, failed: [] as string[], warnings: [] as string[], infos: [] as string[], summary: [] as string[], state: {} as Record<string, string> }
const summary = {
  addRaw(text: string) {
    rec.summary.push(text)
    return summary
  },
  write: () => Promise.resolve(summary)
}
jest.unstable_mockModule('@actions/core', () => ({
  getInput: (name: string) => rec.inputs[name] ?? '',
  getState: (name: string) => rec.state[name] ?? '',
  saveState: (name: string, value: string) => {
    rec.state[name] = value
  },
  setOutput: () => undefined,
  setFailed: (m: string) => {
    rec.failed.push(m)
  },
  setSecret: () => undefined,
  warning: (m: string) => {
    rec.warnings.push(m)
  },
  info: (m: string) => {
    rec.infos.push(m)
  },
  debug: () => undefined,
  group: async <T>(_n: string, fn: () => Promise<T>) => fn(),
  summary
}))

// The event: a pull request of o/r, read by @actions/github when it is first imported.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-report-test-'))
const eventFile = path.join(tmp, 'event.json')
fs.writeFileSync(eventFile, JSON.stringify({ pull_request: { number: 7, head: { sha: 'c'.repeat(40) } }, repository: { default_branch: 'main' } }))
const workspace = path.join(tmp, 'ws')
fs.mkdirSync(workspace)
const summaryFile = path.join(tmp, 'summary.md')
fs.writeFileSync(summaryFile, '')
Object.assign(process.env, {
  GITHUB_EVENT_PATH: eventFile,
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_REPOSITORY: 'o/r',
  GITHUB_WORKSPACE: workspace,
  GITHUB_STEP_SUMMARY: summaryFile,
  RUNNER_TEMP: tmp,
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '42',
  GITHUB_RUN_ATTEMPT: '1'
})
const { run } = await import('../../src/main.js')

/** The comments of pull request 7, kept by a REST stand-in. */
interface Api {
  url: string
  posted: { method: string; body: string }[]
  close: () => Promise<void>
}

async function api(): Promise<Api> {
  const posted: Api['posted'] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      if (req.method === 'GET' && req.url?.startsWith('/repos/o/r/issues/7/comments')) res.end('[]')
      else if (req.method === 'POST' && req.url === '/repos/o/r/issues/7/comments') {
        posted.push({ method: 'POST', body })
        res.statusCode = 201
        res.end(JSON.stringify({ id: 1, html_url: 'http://x/1' }))
      } else {
        res.statusCode = 404
        res.end('{"message":"Not Found"}')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, posted, close: () => new Promise((r) => server.close(() => { r(); })) }
}

function reset(inputs: Record<string, string>): void {
  rec.inputs = inputs
  rec.failed = []
  rec.warnings = []
  rec.infos = []
  rec.summary = []
  rec.state = {}
}

let printed = ''
let restore: ((t: string) => void) | undefined
beforeEach(() => {
  printed = ''
  restore = setSink((t) => {
    printed += t
  })
})
afterEach(() => {
  if (restore !== undefined) setSink(restore)
})

const evil = `api\n::warning::${MARK}<img src=x>`

function writeReports(dir: string, files: Record<string, unknown>): string {
  const d = path.join(tmp, dir)
  fs.mkdirSync(d, { recursive: true })
  for (const [name, v] of Object.entries(files)) fs.writeFileSync(path.join(d, name), typeof v === 'string' ? v : JSON.stringify(v))
  return d
}

const job = (app: string, platform: string, compressed: number): Record<string, unknown> => ({
  schema: APP_REPORT_SCHEMA,
  app,
  project: `src/${app}.csproj`,
  platforms: platform,
  outcome: 'success',
  digest: `sha256:${'d'.repeat(64)}`,
  sizes: { [platform]: { compressed, uncompressed: compressed * 2, appLayer: 1000, digest: `sha256:${'e'.repeat(64)}` } },
  sizeReport: { hasBaseline: false, overBudget: false, rows: [{ platform, status: 'no-baseline', baseline: null, current: compressed, delta: null, percent: null, app: null, base: null }], breaches: [] },
  smoke: null
})

describe('run(): mode: report', () => {
  test('every app of the run in one summary and ONE comment on the pull request; names shown only through the untrusted writer', async () => {
    const server = await api()
    try {
      const files: Record<string, unknown> = {}
      for (let i = 0; i < 12; i++) files[`app${i}-${i}.json`] = job(`app${i}`, 'linux/amd64', 1_000_000 + i)
      files['evil-12.json'] = job(evil, 'linux/arm64', 2_000_000)
      const dir = writeReports('many', files)
      process.env.GITHUB_API_URL = server.url
      reset({ mode: 'report', reports: dir, project: 'Shop.sln', comment: 'true', 'github-token': 'ghs_test', summary: 'true' })
      await run()
      expect(rec.failed).toEqual([])
      expect(server.posted).toHaveLength(1)
      const body = (JSON.parse(server.posted[0]?.body ?? '{}') as { body: string }).body
      expect(body.startsWith('<!-- aot-buildx-size-report project=apps%3AShop.sln -->\n### Native AOT images: 13 apps built from `Shop.sln`')).toBe(true)
      expect(body.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(13)
      expect(body).toContain('Commit `ccccccc` · [run 42](https://github.com/o/r/actions/runs/42/attempts/1)')
      expect(rec.summary).toHaveLength(1)
      expect(rec.summary[0]).toContain('| `app11` | `src/app11.csproj` | `linux/amd64` | 1.00 MB |')
      // The hostile name reached the log only inside a stop-commands block, and no log line of ours.
      const m = /::stop-commands::([0-9a-f-]+)\n([\s\S]*?)\n::\1::\n/.exec(printed)
      expect(m?.[2]).toContain(`::warning::${MARK}`)
      expect(printed.replace(m?.[0] ?? '', '')).not.toContain(MARK)
      expect([...rec.infos, ...rec.warnings].join('\n')).not.toContain(MARK)
    } finally {
      await server.close()
    }
  })

  test('a missing folder is an input error naming reports, not a stack trace', async () => {
    reset({ mode: 'report', reports: path.join(tmp, 'nowhere') })
    await run()
    expect(rec.failed).toHaveLength(1)
    expect(rec.failed[0]).toMatch(/^Input "reports": .*nowhere does not exist \(did any build job keep its report\?\)\. Accepted: a folder of the JSON files/)
    expect(rec.failed[0]).not.toMatch(/\n\s+at /)
  })

  test('a folder without report files, and reports missing in mode: report', async () => {
    reset({ mode: 'report', reports: writeReports('empty', { 'notes.txt': 'x' }) })
    await run()
    expect(rec.failed[0]).toMatch(/^Input "reports": .*empty holds no \.json report file/)
    reset({ mode: 'report' })
    await run()
    expect(rec.failed[0]).toMatch(/^Input "reports": is required in mode: report/)
    reset({ mode: 'build', project: 'x', reports: tmp })
    await run()
    expect(rec.failed[0]).toMatch(/^Input "reports": is only read in mode: report \(mode is build\)/)
  })

  test('a malformed file is an input error naming the file and the field; its text is never echoed raw', async () => {
    const broken = job('api', 'linux/amd64', 1)
    ;(broken.sizes as Record<string, Record<string, unknown>>)['linux/amd64'] = { compressed: `::error::${MARK}` }
    reset({ mode: 'report', reports: writeReports('bad', { 'ok-0.json': job('web', 'linux/amd64', 5), 'api-1.json': broken }) })
    await run()
    expect(rec.failed).toHaveLength(1)
    expect(rec.failed[0]).toMatch(/^Input "reports": api-1\.json: sizes\.linux\/amd64\.compressed is not a number\. Accepted:/)
    expect(rec.failed[0]).not.toContain(MARK)
    reset({ mode: 'report', reports: writeReports('notjson', { 'x-0.json': '{"schema": "aot-buildx-app-report/1", ' }) })
    await run()
    expect(rec.failed[0]).toMatch(/^Input "reports": x-0\.json: is not JSON/)
    expect(rec.failed[0]).not.toMatch(/\n\s+at /)
  })

  test('inputs that only shape a build are named as ignored', async () => {
    reset({ mode: 'report', reports: writeReports('ignored', { 'a-0.json': job('a', 'linux/amd64', 5) }), tags: 'r/x:1', 'max-size': '10MB', comment: 'false' })
    await run()
    expect(rec.failed).toEqual([])
    expect(rec.warnings).toContain('mode: report builds nothing, so these inputs are ignored: tags, max-size.')
  })

  test('comment: false writes the summary and posts nothing', async () => {
    reset({ mode: 'report', reports: writeReports('one', { 'a-0.json': job('a', 'linux/amd64', 5) }), comment: 'false' })
    await run()
    expect(rec.failed).toEqual([])
    expect(rec.summary).toHaveLength(1)
    expect(rec.infos).toContain('comment: false: the report is in the job summary only.')
  })
})
