// Git on the runner: which checkout our own git commands use (never one found by walking up),
// and whether buildx may run git at all (its provenance and labels), from the runner's git version.
import * as fs from 'node:fs'
import * as path from 'node:path'
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
