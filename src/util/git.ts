// Git on the runner: which checkout our own git commands use (never one found by walking up),
// and whether buildx may run git at all (its provenance and labels), from the runner's git version.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { clip } from './errors.js'
import { isInside } from './paths.js'
import { run } from './proc.js'

/** The first git that reads safe.bareRepository (GIT_SAFETY_ENV's main defence). */
export const SAFE_BARE_REPOSITORY_GIT: readonly [number, number] = [2, 38]

/** major.minor of `git --version` output ("git version 2.34.1"), or undefined. */
export function parseGitVersion(text: string): [number, number] | undefined {
  const m = /^git version (\d+)\.(\d+)/.exec(text.trim())
  return m === null ? undefined : [Number(m[1]), Number(m[2])]
}

/**
 * What buildx gets for its git work. buildx runs git in the context (rev-parse, status, remote)
 * for the provenance's vcs fields and, when asked, labels; a git older than 2.38 ignores
 * safe.bareRepository, so it would take a folder of the repository laid out like a bare
 * repository for one and read that folder's config. There (and where git's version cannot be
 * read) buildx runs no git: BUILDX_GIT_INFO=0 and BUILDX_GIT_LABELS=0 (buildx build/git.go).
 */
export function buildxGitEnv(versionText: string | undefined): { env: Record<string, string>; note: string } {
  const v = versionText === undefined ? undefined : parseGitVersion(versionText)
  const [major, minor] = SAFE_BARE_REPOSITORY_GIT
  if (v !== undefined && (v[0] > major || (v[0] === major && v[1] >= minor))) return { env: {}, note: '' }
  const what = v === undefined ? (versionText === undefined ? 'No git on the runner' : 'The runner\'s git version cannot be read') : `The runner's git is ${v[0]}.${v[1]}, older than ${major}.${minor}`
  return {
    env: { BUILDX_GIT_INFO: '0', BUILDX_GIT_LABELS: '0' },
    note: `${what}: buildx runs no git in the context (BUILDX_GIT_INFO=0, BUILDX_GIT_LABELS=0), so the provenance carries no vcs revision or source. A git before ${major}.${minor} cannot be told to ignore a folder of the repository laid out like a bare repository.`
  }
}

/** `git --version`'s output, or undefined when git does not run. */
export async function gitVersion(): Promise<string | undefined> {
  try {
    const r = await run('git', ['--version'])
    return r.code === 0 ? r.stdout : undefined
  } catch {
    return undefined
  }
}

/**
 * The checkout `dir` belongs to: the nearest folder from `dir` up to `workspace` (never above
 * it) holding a real `.git` folder (a repository cannot commit one; actions/checkout makes it,
 * in the workspace or in the folder its `path` names). Our git commands name it with
 * --git-dir/--work-tree, so git never walks up to a folder laid out like a repository.
 */
export function checkoutOf(dir: string, workspace: string): { gitDir: string; workTree: string } | undefined {
  if (!isInside(workspace, dir)) return undefined
  for (let cur = dir; ; cur = path.dirname(cur)) {
    const git = path.join(cur, '.git')
    try {
      if (fs.lstatSync(git).isDirectory()) return { gitDir: git, workTree: cur }
    } catch {
      // none here
    }
    if (path.relative(workspace, cur) === '') return undefined
  }
}

/**
 * The environment of our own git commands in a checkout: no system config, no prompt, a HOME of
 * our own (no user config), and git never looks above the workspace. (GIT_SAFETY_ENV is added
 * by run().)
 */
export function ownGitEnv(workspace: string, tempDir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CEILING_DIRECTORIES: path.dirname(workspace) }
}

/** git's arguments that name the checkout, so git never searches for a repository. */
export function checkoutArgs(checkout: { gitDir: string; workTree: string }): string[] {
  return [`--git-dir=${checkout.gitDir}`, `--work-tree=${checkout.workTree}`, '-c', 'core.fsmonitor=false', '-c', 'safe.directory=*']
}

/** A Unix time in seconds as SOURCE_DATE_EPOCH takes it: digits only, after 1970 and before 2^33. */
export function parseEpoch(text: string): number | undefined {
  const t = text.trim()
  if (!/^\d{1,11}$/.test(t)) return undefined
  const n = Number(t)
  return n < 2 ** 33 ? n : undefined
}

/** The committer time of a commit object's text (`committer <name> <email> <seconds> <zone>`, in its header). */
export function committerTime(commitText: string): number | undefined {
  // Lines end at \n only (a name may hold \r), and the header ends at the first empty line.
  const lines = commitText.split('\n')
  const end = lines.indexOf('')
  const line = (end < 0 ? lines : lines.slice(0, end)).find((l) => l.startsWith('committer '))
  const m = line === undefined ? null : / (\d{1,11}) [+-]\d{4}$/.exec(line)
  return m?.[1] === undefined ? undefined : parseEpoch(m[1])
}

/**
 * The committer time of HEAD in the checkout `dir` belongs to (a shallow clone has it), or
 * undefined with the reason: no checkout, or git cannot read it.
 */
export async function commitTime(dir: string, workspace: string, tempDir: string): Promise<{ epoch: number } | { why: string }> {
  const checkout = checkoutOf(dir, workspace)
  if (checkout === undefined) return { why: 'the context is not in a git checkout' }
  let r
  try {
    // The commit object itself: `git log` would read the work tree's .mailmap, which git before
    // 2.32 follows through a link (to /dev/zero, say).
    r = await run('git', [...checkoutArgs(checkout), 'cat-file', 'commit', 'HEAD'], { cwd: checkout.workTree, env: ownGitEnv(workspace, tempDir) })
  } catch {
    return { why: 'git does not run on this runner' }
  }
  const epoch = r.code === 0 ? committerTime(r.stdout) : undefined
  if (epoch === undefined) return { why: `git cannot read HEAD's commit time (${clip(r.stderr.trim().split('\n')[0] ?? '', 200)})` }
  return { epoch }
}
