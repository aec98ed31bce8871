// Git on the runner: buildx gets git work only from a git that honours safe.bareRepository, and
// our own git commands name the checkout instead of looking for one above the context.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { buildxGitEnv, checkoutOf, committerTime, commitTime, parseEpoch, parseGitVersion } from '../../src/util/git.js'

describe('buildxGitEnv: buildx runs git in the context only with a git of 2.38 or later', () => {
  const OFF = { BUILDX_GIT_INFO: '0', BUILDX_GIT_LABELS: '0' }

  it.each(['git version 2.30.2', 'git version 2.34.1', 'git version 2.37.7', 'git version 1.99.0'])('%s ignores safe.bareRepository: buildx gets BUILDX_GIT_INFO=0 and BUILDX_GIT_LABELS=0, and one note says why', (v) => {
    const r = buildxGitEnv(`${v}\n`)
    expect(r.env).toEqual(OFF)
    expect(r.note).toMatch(new RegExp(`^The runner's git is ${v.slice(12).split('.').slice(0, 2).join('\\.')}, older than 2\\.38: buildx runs no git in the context`))
  })

  it('no git, or a version that cannot be read: the same, said so', () => {
    const none = buildxGitEnv(undefined)
    expect(none.env).toEqual(OFF)
    expect(none.note).toMatch(/^No git on the runner: buildx runs no git/)
    const unread = buildxGitEnv('something else')
    expect(unread.env).toEqual(OFF)
    expect(unread.note).toMatch(/^The runner's git version cannot be read: buildx runs no git/)
  })

  it.each(['git version 2.38.0', 'git version 2.39.5', 'git version 2.47.1.windows.1', 'git version 3.0.0'])('%s: buildx is left as it is, nothing said', (v) => {
    expect(buildxGitEnv(v)).toEqual({ env: {}, note: '' })
  })

  it('parseGitVersion reads major.minor', () => {
    expect(parseGitVersion('git version 2.34.1')).toEqual([2, 34])
    expect(parseGitVersion('git version 2.39.5 (Apple Git-154)')).toEqual([2, 39])
    expect(parseGitVersion('2.39.5')).toBeUndefined()
  })
})

describe('checkoutOf: the checkout our git commands name, never a folder above the workspace', () => {
  let root = ''
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-checkout-'))
  })
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('the nearest real .git folder from the context up to the workspace', () => {
    const ws = path.join(root, 'ws')
    const app = path.join(ws, 'src', 'App')
    fs.mkdirSync(app, { recursive: true })
    expect(spawnSync('git', ['init', '-q', ws]).status).toBe(0)
    expect(checkoutOf(app, ws)).toEqual({ gitDir: path.join(ws, '.git'), workTree: ws })
    // A checkout in a subfolder (actions/checkout's path:) is found from below it.
    const sub = path.join(ws, 'sub')
    fs.mkdirSync(path.join(sub, 'App'), { recursive: true })
    expect(spawnSync('git', ['init', '-q', sub]).status).toBe(0)
    expect(checkoutOf(path.join(sub, 'App'), ws)).toEqual({ gitDir: path.join(sub, '.git'), workTree: sub })
  })

  it('a repository above the workspace, a folder laid out like a bare repository, or a .git that is a link or a file is no checkout', () => {
    expect(spawnSync('git', ['init', '-q', root]).status).toBe(0)
    const ws = path.join(root, 'ws')
    const planted = path.join(ws, 'src')
    fs.mkdirSync(path.join(planted, 'objects'), { recursive: true })
    fs.mkdirSync(path.join(planted, 'refs'))
    fs.writeFileSync(path.join(planted, 'HEAD'), 'ref: refs/heads/main\n')
    fs.writeFileSync(path.join(planted, 'config'), '[core]\n\tbare = false\n\tworktree = ..\n')
    fs.mkdirSync(path.join(planted, 'App'))
    expect(checkoutOf(path.join(planted, 'App'), ws)).toBeUndefined()
    fs.symlinkSync(path.join(root, '.git'), path.join(ws, '.git'))
    expect(checkoutOf(path.join(planted, 'App'), ws)).toBeUndefined()
    fs.writeFileSync(path.join(planted, '.git'), `gitdir: ${path.join(root, '.git')}\n`)
    expect(checkoutOf(path.join(planted, 'App'), ws)).toBeUndefined()
    // A context outside the workspace has none.
    expect(checkoutOf(root, ws)).toBeUndefined()
  })
})

describe('commitTime: the committer time of HEAD, for source-date-epoch', () => {
  const git = (cwd: string, ...args: string[]): void => {
    const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, env: { ...process.env, GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z', GIT_AUTHOR_DATE: '2024-06-01T00:00:00Z' } })
    expect(r.status).toBe(0)
  }

  it('reads the committer time (not the author time) of the checkout the context is in', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-epoch-'))
    fs.mkdirSync(path.join(ws, 'src', 'App'), { recursive: true })
    fs.writeFileSync(path.join(ws, 'src', 'App', 'a.txt'), 'a')
    git(ws, 'init', '-q')
    git(ws, 'add', '-A')
    git(ws, 'commit', '-qm', 'one')
    expect(await commitTime(path.join(ws, 'src', 'App'), ws, os.tmpdir())).toEqual({ epoch: 1735689600 })
  })

  it('no checkout, or a checkout without a commit: the reason, no time', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-epoch-none-'))
    expect(await commitTime(ws, ws, os.tmpdir())).toEqual({ why: 'the context is not in a git checkout' })
    git(ws, 'init', '-q')
    const r = await commitTime(ws, ws, os.tmpdir())
    expect(r).toEqual({ why: expect.stringMatching(/^git cannot read HEAD's commit time/) as string })
  })

  it.each([
    ['0', 0],
    ['1735689600', 1735689600],
    [' 1735689600\n', 1735689600],
    ['-1', undefined],
    ['1.5', undefined],
    ['1e9', undefined],
    ['99999999999', undefined],
    ['', undefined]
  ])('parseEpoch(%j) is %j', (text, want) => {
    expect(parseEpoch(text)).toBe(want)
  })
})

describe('committerTime: read from the commit object, never through .mailmap', () => {
  it('takes the committer line of the header, not the author line or the message', () => {
    const text = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1700000000 +0200\ncommitter C <c@x> 1735689600 -0500\n\ncommitter fake <f@x> 1 +0000\n'
    expect(committerTime(text)).toBe(1735689600)
    expect(committerTime('tree x\nauthor A <a@x> 1 +0000\n\nmsg\n')).toBeUndefined()
    // A name may hold a carriage return: a forged "committer" after it is not a line of its own.
    expect(committerTime('tree x\nauthor x\rcommitter a <b> 1 +0000\ry <a@x> 1700000000 +0000\ncommitter C <c@x> 1735689600 +0000\n\nm\n')).toBe(1735689600)
  })

  it('a work tree .mailmap that is a link to /dev/zero is never read', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-epoch-mailmap-'))
    fs.writeFileSync(path.join(ws, 'a.txt'), 'a')
    const r = spawnSync('sh', ['-c', 'git init -q && git add -A && git -c user.email=t@x -c user.name=t commit -qm one'], { cwd: ws, env: { ...process.env, GIT_COMMITTER_DATE: '@1735689600 +0000' } })
    expect(r.status).toBe(0)
    fs.symlinkSync('/dev/zero', path.join(ws, '.mailmap'))
    expect(await commitTime(ws, ws, os.tmpdir())).toEqual({ epoch: 1735689600 })
  })
})
