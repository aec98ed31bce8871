// run() with stream: true relays a command's output live: what a repository's build prints must
// reach the log as text, never as a workflow command, even when the command fails or never starts.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { jest } from '@jest/globals'
import { GIT_SAFETY_ENV, run } from '../../src/util/proc.js'
import { liveCommands, readAsRunner } from '../runnerlog.js'
import { HOSTILE, MARK } from './hostile.js'

let out = ''
beforeEach(() => {
  out = ''
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

describe('run(): streamed output, read as the runner reads a step', () => {
  test('stdout and stderr of a failing command: no command survives, the text is shown', async () => {
    const script = `process.stdout.write(${JSON.stringify(HOSTILE)}); process.stderr.write(${JSON.stringify(`\n::set-output name=err::${MARK}\r##[save-state name=s;]${MARK}`)}); process.exit(3)`
    const r = await run(process.execPath, ['-e', script], { stream: true })
    expect(r.code).toBe(3)
    expect(r.stdout).toBe(HOSTILE)
    process.stdout.write('::warning::ours\n')
    expect(liveCommands(out).map((c) => c.line)).toEqual(['::warning::ours'])
    const shown = readAsRunner(out).shown.join('\n')
    expect(shown).toContain(`::set-output name=x::${MARK}`)
    expect(shown).toContain(`##[save-state name=s;]${MARK}`)
  })

  test('a command that cannot start leaves the runner reading commands again', async () => {
    await expect(run('/nonexistent/aot-buildx-no-such-tool', [], { stream: true })).rejects.toThrow()
    process.stdout.write('::warning::ours\n')
    expect(liveCommands(out).map((c) => c.line)).toEqual(['::warning::ours'])
    expect(readAsRunner(out).stoppedAtEnd).toBeUndefined()
  })
})

describe('run(): git never takes a folder of the repository for a repository of its own', () => {
  // A pull request can commit files laid out like a bare repository (HEAD, refs/, objects/,
  // config) whose config names a command for a lazy fetch; git run in a folder below it (ours in
  // discover, buildx's for provenance) would find it before the checkout's .git and run it.
  let root = ''
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-git-'))
  })
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('the lazy fetch a planted config names does not run, where plain git runs it', async () => {
    const ws = path.join(root, 'ws')
    const planted = path.join(ws, 'src')
    const app = path.join(planted, 'App')
    const canary = path.join(root, 'PWNED')
    fs.mkdirSync(app, { recursive: true })
    expect(spawnSync('git', ['init', '-q', ws]).status).toBe(0)
    fs.mkdirSync(path.join(planted, 'objects'))
    fs.mkdirSync(path.join(planted, 'refs', 'heads'), { recursive: true })
    fs.writeFileSync(path.join(planted, 'HEAD'), 'ref: refs/heads/main\n')
    fs.writeFileSync(path.join(planted, 'refs', 'heads', 'main'), `${'1'.repeat(40)}\n`)
    fs.writeFileSync(
      path.join(planted, 'config'),
      `[core]\n\trepositoryformatversion = 1\n\tbare = false\n\tworktree = ..\n[extensions]\n\tpartialClone = origin\n[remote "origin"]\n\turl = ext::sh -c touch% ${canary}\n\tpromisor = true\n\tpartialclonefilter = blob:none\n[protocol]\n\tallow = always\n`
    )
    const argv = ['show', '--format=%H', 'HEAD', '--quiet']
    // What buildx runs in the context, through run(): nothing is fetched, nothing runs.
    const r = await run('git', argv, { cwd: app, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root } })
    expect(fs.existsSync(canary)).toBe(false)
    expect(r.code).not.toBe(0)
    // The same git without those settings runs the planted command: the attack is real here.
    spawnSync('git', argv, { cwd: app, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root } })
    expect(fs.existsSync(canary)).toBe(true)
  })

  // Git before 2.38 (Ubuntu 22.04 ships 2.34, Debian 11 2.30: self-hosted runners) does not know
  // safe.bareRepository and ignores it. Simulated on this git by leaving that one key out: the
  // planted config's core.fsmonitor, which `git status` runs, still must not run. (buildx gets
  // no git work at all on such a git: git.test.ts.)
  it('without safe.bareRepository (unknown to git < 2.38), a planted core.fsmonitor still does not run under git status, where plain git runs it', () => {
    const ws = path.join(root, 'ws')
    const planted = path.join(ws, 'src')
    const app = path.join(planted, 'App')
    const canary = path.join(root, 'PWNED')
    fs.mkdirSync(app, { recursive: true })
    expect(spawnSync('git', ['init', '-q', ws]).status).toBe(0)
    fs.mkdirSync(path.join(planted, 'objects'))
    fs.mkdirSync(path.join(planted, 'refs', 'heads'), { recursive: true })
    fs.writeFileSync(path.join(planted, 'HEAD'), 'ref: refs/heads/main\n')
    fs.writeFileSync(path.join(planted, 'refs', 'heads', 'main'), `${'1'.repeat(40)}\n`)
    fs.writeFileSync(path.join(planted, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = ..\n\tfsmonitor = touch ${canary}; false\n`)
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root }
    const status = ['status', '--porcelain', '--ignored']
    // A current git with the action's settings: the planted folder is not taken for a repository.
    spawnSync('git', status, { cwd: app, env: { ...base, ...GIT_SAFETY_ENV } })
    expect(fs.existsSync(canary)).toBe(false)
    // The same settings as a git older than 2.38 reads them: safe.bareRepository is an unknown key.
    expect(GIT_SAFETY_ENV.GIT_CONFIG_KEY_0).toBe('safe.bareRepository')
    spawnSync('git', status, { cwd: app, env: { ...base, ...GIT_SAFETY_ENV, GIT_CONFIG_KEY_0: 'x-unknown-to-old-git.bareRepository' } })
    expect(fs.existsSync(canary)).toBe(false)
    // Plain git runs the planted command: the attack is real here.
    spawnSync('git', status, { cwd: app, env: base })
    expect(fs.existsSync(canary)).toBe(true)
  })
})
