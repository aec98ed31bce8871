// Review finding: the git protection rests on safe.bareRepository, which git reads from 2.38 on;
// an older git (Ubuntu 22.04 ships 2.34, Debian 11 2.30: self-hosted runners) ignores the
// unknown key, and nothing else the action sets stops a planted bare-repository config's
// core.fsmonitor command, which `git status` (buildx's dirty check for provenance) runs.
// Simulated here on a current git by leaving out the one key an old git does not know.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { GIT_SAFETY_ENV } from '../../src/util/proc.js'

describe('review: git older than 2.38 and a planted bare repository', () => {
  let root = ''
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'aot-oldgit-'))
  })
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true })
  })

  it('without safe.bareRepository (unknown to git < 2.38), the other settings still keep the planted command from running', () => {
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
    // A current git with the action's settings: the planted folder is not taken for a repository.
    spawnSync('git', ['status', '--porcelain', '--ignored'], { cwd: app, env: { ...base, ...GIT_SAFETY_ENV } })
    expect(fs.existsSync(canary)).toBe(false)
    // The same settings as a git older than 2.38 reads them: safe.bareRepository is an unknown key.
    const asOldGit = { ...GIT_SAFETY_ENV, GIT_CONFIG_KEY_0: 'x-unknown-to-old-git.bareRepository' }
    spawnSync('git', ['status', '--porcelain', '--ignored'], { cwd: app, env: { ...base, ...asOldGit } })
    expect(fs.existsSync(canary)).toBe(false)
  })
})
