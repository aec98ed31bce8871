// The sticky PR comment against a real HTTP server on 127.0.0.1 speaking the REST endpoints
// used: list issue comments (two pages, Link header), create, update, and a read-only mode
// that answers 403 like GITHUB_TOKEN on a fork's pull request.
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { jest } from '@jest/globals'
import { COMMENT_LIMIT, commentBody, commitOf, marker, runLine, upsertComment, type RunFacts } from '../../src/size/comment.js'
import { runUrl } from '../../src/action/env.js'
import { at } from '../helpers.js'

const TOKEN = 'ghs_TESTtoken0123456789abcdefABCDEF'

interface Comment {
  id: number
  body: string
  html_url: string
  user: { login: string }
}

interface Seen {
  method: string
  path: string
  authorization: string
  body: string
}

interface Api {
  url: string
  seen: Seen[]
  comments: Comment[]
  mode: 'ok' | 'readonly' | 'broken'
  /** Who the token is: comments it creates are by this login; an installation token (GITHUB_TOKEN, an app's) cannot call GET /user. */
  identity: { login: string; installation: boolean }
  /** Whether POST /graphql answers (it does on github.com; a proxy may not pass it). */
  graphql: boolean
  close: () => Promise<void>
}

const PAGE = 2

async function startApi(): Promise<Api> {
  const api: Api = {
    url: '',
    seen: [],
    mode: 'ok',
    identity: { login: 'github-actions[bot]', installation: true },
    graphql: true,
    // Other people's comments, so our own is on page 2 and pagination is needed to find it.
    comments: [
      { id: 11, body: 'LGTM', html_url: 'https://github.com/o/r/pull/1#issuecomment-11', user: { login: 'alice' } },
      { id: 12, body: `quoting: ${marker('samples/TodoApi')}`, html_url: 'https://github.com/o/r/pull/1#issuecomment-12', user: { login: 'bob' } },
      { id: 13, body: 'Needs a rebase', html_url: 'https://github.com/o/r/pull/1#issuecomment-13', user: { login: 'carol' } }
    ],
    close: () => Promise.resolve()
  }
  let nextId = 100
  const json = (res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(value))
  }
  // The answer to one request: status, JSON value, extra headers.
  const answer = (method: string, u: URL, body: string): [number, unknown, Record<string, string>?] => {
    if (api.mode === 'broken') return [500, { message: 'Server Error' }]
    if (method === 'GET' && u.pathname === '/repos/o/r/issues/1/comments') {
      const page = Number(u.searchParams.get('page') ?? '1')
      const last = Math.max(1, Math.ceil(api.comments.length / PAGE))
      const link = (p: number, rel: string): string => `<${api.url}/repos/o/r/issues/1/comments?per_page=100&page=${p}>; rel="${rel}"`
      const links = page < last ? [link(page + 1, 'next'), link(last, 'last')] : []
      return [200, api.comments.slice((page - 1) * PAGE, page * PAGE), links.length > 0 ? { Link: links.join(', ') } : {}]
    }
    const readonly: [number, unknown] = [403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' }]
    if (method === 'POST' && u.pathname === '/graphql') {
      if (!api.graphql) return [404, { message: 'Not Found' }]
      // Only the question the module asks: any other query gets GitHub's error shape.
      if (!/^query \{ viewer \{ login \} \}$/.test((JSON.parse(body) as { query: string }).query)) return [200, { errors: [{ message: 'unexpected query' }] }]
      return [200, { data: { viewer: { login: api.identity.login } } }]
    }
    if (method === 'GET' && u.pathname === '/user') return api.identity.installation ? readonly : [200, { login: api.identity.login, id: 7 }]
    if (method === 'POST' && u.pathname === '/repos/o/r/issues/1/comments') {
      if (api.mode === 'readonly') return readonly
      const c: Comment = { id: nextId++, body: (JSON.parse(body) as { body: string }).body, html_url: '', user: { login: api.identity.login } }
      c.html_url = `https://github.com/o/r/pull/1#issuecomment-${c.id}`
      api.comments.push(c)
      return [201, c]
    }
    const id = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(u.pathname)?.[1]
    if (method === 'PATCH' && id !== undefined) {
      if (api.mode === 'readonly') return readonly
      const c = api.comments.find((x) => x.id === Number(id))
      if (c === undefined) return [404, { message: 'Not Found' }]
      c.body = (JSON.parse(body) as { body: string }).body
      return [200, c]
    }
    return [404, { message: 'Not Found' }]
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const u = new URL(req.url ?? '', api.url)
      const body = Buffer.concat(chunks).toString('utf8')
      api.seen.push({ method: req.method ?? '', path: u.pathname + u.search, authorization: req.headers.authorization ?? '', body })
      const [status, value, headers] = answer(req.method ?? '', u, body)
      json(res, status, value, headers)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => {
        resolve()
      })
    })
  return api
}

let api: Api
let out: string[]

beforeEach(async () => {
  api = await startApi()
  out = []
  // @actions/core writes info and warnings to stdout: capture what the module logs.
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk))
    return true
  })
})

afterEach(async () => {
  jest.restoreAllMocks()
  await api.close()
})

function upsert(project: string, body: string): ReturnType<typeof upsertComment> {
  return upsertComment({ token: TOKEN, owner: 'o', repo: 'r', issueNumber: 1, project, body, baseUrl: api.url })
}

const ours = (): Comment[] => api.comments.filter((c) => c.user.login === api.identity.login)

describe('marker', () => {
  it('names the project and cannot close the HTML comment early', () => {
    expect(marker('samples/TodoApi')).toBe('<!-- aot-buildx-size-report project=samples/TodoApi -->')
    expect(marker('a b/-->x')).toBe('<!-- aot-buildx-size-report project=a%20b/--%3Ex -->')
  })
})

describe('commentBody', () => {
  it('puts the marker first and leaves a short body alone', () => {
    expect(commentBody('p', 'report')).toBe(`${marker('p')}\nreport`)
  })

  it('cuts a body over the limit at a line, with a note, keeping the marker', () => {
    const long = Array.from({ length: 2000 }, (_, i) => `| linux/amd64 | row ${i} | ${'x'.repeat(30)} |`).join('\n')
    expect(long.length).toBeGreaterThan(COMMENT_LIMIT)
    const body = commentBody('samples/TodoApi', long)
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    expect(body.startsWith(marker('samples/TodoApi'))).toBe(true)
    expect(body).toMatch(/\|\n\n… The report was cut here: it is longer than GitHub's 65,536-character comment limit\./)
  })

  it('never splits a surrogate pair', () => {
    const body = commentBody('p', '😀'.repeat(40_000))
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
  })
})

describe('upsertComment over HTTP', () => {
  it('creates a comment with the marker, reading every page of comments first', async () => {
    expect(await upsert('samples/TodoApi', '### Image size')).toBe('created')
    expect(api.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /repos/o/r/issues/1/comments?per_page=100',
      'GET /repos/o/r/issues/1/comments?per_page=100&page=2',
      'POST /repos/o/r/issues/1/comments'
    ])
    expect(api.seen.every((s) => s.authorization === `token ${TOKEN}`)).toBe(true)
    const post = JSON.parse(at(api.seen, 2).body) as { body: string }
    expect(post.body).toBe(`${marker('samples/TodoApi')}\n### Image size`)
    // bob quoted the marker mid-comment: that is not ours, so it was not updated.
    expect(api.comments.find((c) => c.id === 12)?.body).toBe(`quoting: ${marker('samples/TodoApi')}`)
  })

  it('a rerun updates its comment instead of adding another', async () => {
    expect(await upsert('samples/TodoApi', 'first')).toBe('created')
    api.seen.length = 0
    expect(await upsert('samples/TodoApi', 'second')).toBe('updated')
    const id = at(ours(), 0).id
    expect(api.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /repos/o/r/issues/1/comments?per_page=100',
      'GET /repos/o/r/issues/1/comments?per_page=100&page=2',
      // A comment with the marker exists: whose it is decides.
      'POST /graphql',
      `PATCH /repos/o/r/issues/comments/${id}`
    ])
    expect(JSON.parse(at(api.seen, 3).body)).toEqual({ body: `${marker('samples/TodoApi')}\nsecond` })
    expect(ours()).toHaveLength(1)
    expect(at(ours(), 0).body).toBe(`${marker('samples/TodoApi')}\nsecond`)
  })

  it("a comment with the marker that someone else wrote first is not ours: it is left alone, and ours is created, then updated", async () => {
    // The pull request's author posts the marker before the first report.
    const forged = { id: 50, body: `${marker('samples/TodoApi')}\n### Image size\nAll fine, merge me`, html_url: 'https://github.com/o/r/pull/1#issuecomment-50', user: { login: 'mallory' } }
    api.comments.push(forged)
    expect(await upsert('samples/TodoApi', 'first')).toBe('created')
    expect(api.seen.filter((s) => s.method === 'PATCH')).toEqual([])
    expect(await upsert('samples/TodoApi', 'second')).toBe('updated')
    expect(api.comments.find((c) => c.id === 50)?.body).toBe(`${marker('samples/TodoApi')}\n### Image size\nAll fine, merge me`)
    expect(ours().map((c) => c.body)).toEqual([`${marker('samples/TodoApi')}\nsecond`])
    expect(api.seen.filter((s) => s.method === 'PATCH').map((s) => s.path)).toEqual([`/repos/o/r/issues/comments/${at(ours(), 0).id}`])
  })

  it.each([
    ['a user token (GraphQL viewer)', { login: 'octo-ci', installation: false }, true],
    ["another app's installation token (GraphQL viewer)", { login: 'size-bot[bot]', installation: true }, true],
    ['a user token where GraphQL does not answer (GET /user)', { login: 'octo-ci', installation: false }, false],
    ['GITHUB_TOKEN where GraphQL does not answer (GET /user is refused: github-actions[bot])', { login: 'github-actions[bot]', installation: true }, false]
  ])('%s: only its own marked comment is updated', async (_, identity, graphql) => {
    api.identity = identity
    api.graphql = graphql
    // Marked comments by others, github-actions[bot] among them when the token is not GITHUB_TOKEN.
    for (const [id, login] of [[60, 'mallory'], [61, identity.login === 'github-actions[bot]' ? 'octo-ci' : 'github-actions[bot]']] as const) {
      api.comments.push({ id, body: `${marker('samples/TodoApi')}\nnot yours`, html_url: '', user: { login } })
    }
    expect(await upsert('samples/TodoApi', 'first')).toBe('created')
    expect(await upsert('samples/TodoApi', 'second')).toBe('updated')
    expect(api.comments.filter((c) => c.id === 60 || c.id === 61).map((c) => c.body)).toEqual([`${marker('samples/TodoApi')}\nnot yours`, `${marker('samples/TodoApi')}\nnot yours`])
    expect(ours().map((c) => c.body)).toEqual([`${marker('samples/TodoApi')}\nsecond`])
  })

  it('each project keeps its own comment, even when one path is a prefix of another', async () => {
    expect(await upsert('samples/TodoApi', 'todo 1')).toBe('created')
    expect(await upsert('samples/Todo', 'short 1')).toBe('created')
    expect(await upsert('samples/Worker', 'worker 1')).toBe('created')
    expect(await upsert('samples/Worker', 'worker 2')).toBe('updated')
    expect(await upsert('samples/TodoApi', 'todo 2')).toBe('updated')
    expect(ours().map((c) => c.body)).toEqual([
      `${marker('samples/TodoApi')}\ntodo 2`,
      `${marker('samples/Todo')}\nshort 1`,
      `${marker('samples/Worker')}\nworker 2`
    ])
  })

  it('truncates a body over the comment limit', async () => {
    const huge = Array.from({ length: 3000 }, (_, i) => `| row ${i} | ${'y'.repeat(40)} |`).join('\n')
    expect(await upsert('samples/TodoApi', huge)).toBe('created')
    const sent = (JSON.parse(at(api.seen, -1).body) as { body: string }).body
    expect(sent.length).toBeLessThanOrEqual(COMMENT_LIMIT)
    expect(sent.startsWith(marker('samples/TodoApi'))).toBe(true)
    expect(sent).toContain("GitHub's 65,536-character comment limit")
  })

  it('with a read-only token warns once and does not fail', async () => {
    api.mode = 'readonly'
    expect(await upsert('samples/TodoApi', 'report')).toBe('skipped-readonly')
    const warnings = out.filter((l) => l.startsWith('::warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/not posted on o\/r#1: the token can only read this repository/)
    expect(at(api.seen, -1).method).toBe('POST')
    // Also when the comment exists and would be updated.
    api.mode = 'ok'
    await upsert('samples/TodoApi', 'report')
    api.mode = 'readonly'
    out.length = 0
    expect(await upsert('samples/TodoApi', 'again')).toBe('skipped-readonly')
    expect(out.filter((l) => l.startsWith('::warning'))).toHaveLength(1)
  })

  it('other API failures throw an error without the token', async () => {
    api.mode = 'broken'
    const err = (await upsert('samples/TodoApi', 'report').catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toBe('could not post the size report comment on o/r#1: 500 Server Error')
    expect(JSON.stringify(err)).not.toContain(TOKEN)
    expect(String(err.stack)).not.toContain(TOKEN)
  })

  it('takes the API root from GITHUB_API_URL when no baseUrl is given', async () => {
    const saved = process.env.GITHUB_API_URL
    process.env.GITHUB_API_URL = api.url
    try {
      expect(await upsertComment({ token: TOKEN, owner: 'o', repo: 'r', issueNumber: 1, project: 'p', body: 'b' })).toBe('created')
    } finally {
      if (saved === undefined) delete process.env.GITHUB_API_URL
      else process.env.GITHUB_API_URL = saved
    }
    expect(api.seen.at(-1)?.method).toBe('POST')
  })

  it('never logs the token', async () => {
    await upsert('samples/TodoApi', 'one')
    await upsert('samples/TodoApi', 'two')
    api.mode = 'readonly'
    await upsert('samples/Worker', 'three')
    expect(out.length).toBeGreaterThanOrEqual(3)
    expect(out.join('')).toContain('Updated the size report comment on o/r#1')
    expect(out.join('')).not.toContain(TOKEN)
    expect(out.join('')).not.toContain(TOKEN.slice(4, 20))
  })
})

describe('the commit and run line', () => {
  const HEAD = '0123456789abcdef0123456789abcdef01234567'
  const MERGE = 'fedcba9876543210fedcba9876543210fedcba98'
  const FACTS: RunFacts = { eventName: 'pull_request', sha: MERGE, headSha: HEAD, serverUrl: 'https://github.com', repository: 'octo-org/todo.api', runId: '987654321', runAttempt: '2' }

  it('names the pull request head, not the merge commit, and links the run attempt', () => {
    expect(runLine(FACTS)).toBe('Commit `0123456` · [run 987654321 (attempt 2)](https://github.com/octo-org/todo.api/actions/runs/987654321/attempts/2)')
  })

  it('on a push names GITHUB_SHA; a first attempt is not called one', () => {
    expect(runLine({ ...FACTS, eventName: 'push', headSha: undefined, runAttempt: '1' })).toBe(
      'Commit `fedcba9` · [run 987654321](https://github.com/octo-org/todo.api/actions/runs/987654321/attempts/1)'
    )
    expect(commitOf({ eventName: 'pull_request_target', sha: MERGE, headSha: HEAD })).toBe(HEAD)
    expect(commitOf({ eventName: 'pull_request', sha: MERGE, headSha: '' })).toBe(MERGE)
  })

  it('a GitHub Enterprise server URL works, with or without a trailing slash; no attempt, no attempt path', () => {
    expect(runUrl({ ...FACTS, serverUrl: 'https://ghe.example.com:8443/', runAttempt: '' })).toBe('https://ghe.example.com:8443/octo-org/todo.api/actions/runs/987654321')
  })

  it.each([
    ['a server URL with a path that closes the link', { serverUrl: 'https://github.com/x)[y](https://evil' }],
    ['a server URL of another scheme', { serverUrl: 'javascript:alert(1)//' }],
    ['a server URL with credentials', { serverUrl: 'https://user:pw@github.com' }],
    ['a repository with Markdown', { repository: 'o/r](https://evil.example)' }],
    ['a repository with spaces and HTML', { repository: 'o/<img src=x onerror=alert(1)>' }],
    ['a repository of three parts', { repository: 'o/r/x' }],
    ['a repository ..', { repository: 'o/..' }],
    ['a run id that is not a number', { runId: '1/../../settings' }]
  ])('%s: no link', (_, odd) => {
    const f = { ...FACTS, ...odd }
    expect(runUrl(f)).toBe('')
    const line = runLine(f)
    expect(line).not.toContain('](')
    expect(line).not.toMatch(/[<>]/)
  })

  it('hostile values are left out, never rendered', () => {
    const line = runLine({ eventName: 'pull_request', sha: '`x` @team', headSha: '<b>', serverUrl: 'https://github.com', repository: 'o/r', runId: '12 [x](y)', runAttempt: '2) [z](w' })
    expect(line).toBe('')
    // A bad attempt drops the attempt only.
    expect(runLine({ ...FACTS, runAttempt: '2) [z](w' })).toBe('Commit `0123456` · [run 987654321](https://github.com/octo-org/todo.api/actions/runs/987654321)')
    // A bad repository keeps the run as plain text.
    expect(runLine({ ...FACTS, repository: 'o/r](x' })).toBe('Commit `0123456` · run 987654321 (attempt 2)')
  })
})
