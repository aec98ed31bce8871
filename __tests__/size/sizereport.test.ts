// The size report shell with @actions/github mocked: the event payload of a pull request and
// an Octokit that records the comment it is asked to create. No baseline source is reachable
// (no baseline-image, no cache service), so nothing else is called.
import { jest } from '@jest/globals'
import type { Images } from '../../src/size/diff.js'

const created: string[] = []
const payload: { pull_request?: { number: number; head: { sha: unknown } } } = {}
const octokit = {
  paginate: () => Promise.resolve([]),
  rest: {
    issues: {
      listComments: () => Promise.resolve({ data: [] }),
      updateComment: () => Promise.resolve({ data: {} }),
      createComment: (o: { body: string }) => {
        created.push(o.body)
        return Promise.resolve({ data: { html_url: 'https://github.com/o/r/pull/7#issuecomment-1' } })
      }
    }
  }
}
jest.unstable_mockModule('@actions/github', () => ({ context: { payload, repo: { owner: 'o', repo: 'r' } }, getOctokit: () => octokit }))

const { sizeReport } = await import('../../src/size/sizereport.js')
type Settings = Parameters<typeof sizeReport>[0]

const HEAD = '0123456789abcdef0123456789abcdef01234567'
const MERGE = 'fedcba9876543210fedcba9876543210fedcba98'

const IMAGES: Images = {
  baseImage: 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled',
  rows: [{ platform: 'linux/arm64', digest: `sha256:${'a'.repeat(64)}`, compressed: 11_870_512, uncompressed: 30_001_234, appLayer: 4_000_000 }]
}

function settings(runner: Partial<Settings['runner']> = {}): Settings {
  return {
    baselineImage: '',
    maxSize: {},
    maxIncrease: {},
    comment: true,
    githubToken: 'ghs_test',
    builder: '',
    tempDir: '/nonexistent',
    platforms: ['linux/arm64'],
    runner: {
      eventName: 'pull_request',
      ref: 'refs/pull/7/merge',
      baseRef: 'main',
      runId: '987654321',
      runAttempt: '3',
      sha: MERGE,
      serverUrl: 'https://github.com',
      repository: 'o/r',
      actionsCache: false,
      ...runner
    }
  }
}

beforeEach(() => {
  created.length = 0
  payload.pull_request = { number: 7, head: { sha: HEAD } }
  // @actions/core logs to stdout.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})

afterEach(() => {
  jest.restoreAllMocks()
})

describe('sizeReport: the pull-request comment', () => {
  it("names the pull request's head commit and links the run attempt, above the same table as the summary's", async () => {
    const r = await sizeReport(settings(), 'samples/TodoApi', IMAGES)
    expect(created).toHaveLength(1)
    const body = created[0] ?? ''
    expect(body).toContain('### Image size: `samples/TodoApi`\n\nCommit `0123456` · [run 987654321 (attempt 3)](https://github.com/o/r/actions/runs/987654321/attempts/3)\n')
    expect(body).not.toContain(MERGE.slice(0, 7))
    for (const line of r.parts.table) expect(body).toContain(line)
    expect(body.match(/^\| Platform \|/gm)).toHaveLength(1)
  })

  it('keeps hostile runner facts and a hostile payload inert: no link, nothing of them rendered', async () => {
    payload.pull_request = { number: 7, head: { sha: '[x](https://evil.example) @team' } }
    await sizeReport(settings({ serverUrl: 'https://evil.example/)[x](https://evil.example', repository: 'o/r<img src=x>', runAttempt: '1 [y](z)' }), 'samples/TodoApi', IMAGES)
    const body = created[0] ?? ''
    expect(body).not.toContain('evil')
    expect(body).not.toContain('<img')
    expect(body).not.toContain('@team')
    // A payload head that is not a commit id names no commit (the merge commit is not one a reviewer knows).
    expect(body).toContain('### Image size: `samples/TodoApi`\n\nRun 987654321\n')
    expect(body).not.toContain(MERGE.slice(0, 7))
  })

  it('no comment outside a pull request', async () => {
    delete payload.pull_request
    await sizeReport(settings({ eventName: 'push' }), 'samples/TodoApi', IMAGES)
    expect(created).toEqual([])
  })
})
