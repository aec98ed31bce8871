// The Dockerfile-specific ignore file, `<dockerfile>.dockerignore`, which BuildKit reads instead
// of the context's .dockerignore. Pure: the shell passes the repository's file and a directory
// lister in.
import dockerignoreModule, { type Ignore } from '@balena/dockerignore'
import { GENERATED_MARKER } from './generate.js'
import { ProjectError, quote } from '../util/errors.js'

type Factory = (options?: { ignorecase?: boolean }) => Ignore
// Its types declare an ES default export; at run time the CommonJS module is the function itself.
const dockerignore = ((dockerignoreModule as unknown as { default?: Factory }).default ?? dockerignoreModule) as unknown as Factory

/** What we leave out of the context when the repository has no .dockerignore of its own. */
export const DEFAULT_IGNORES = ['**/bin/', '**/obj/', '**/.vs/', '**/.vscode/', '**/*.user', '**/node_modules/', '.git/', '.github/', 'Dockerfile*', '**/*.Development.json']

/** The ignore file BuildKit reads for our Dockerfile only: `<dockerfile>.dockerignore`, next to it. */
export function dockerignorePath(dockerfile: string): string {
  return `${dockerfile}.dockerignore`
}

/**
 * A path relative to the context as an anchored .dockerignore pattern; special characters
 * escaped. Docker trims each line, so trailing white space becomes '?' (matches it too).
 */
export function ignorePattern(rel: string): string {
  const escaped = rel
    .split('/')
    .map((part) => part.replace(/[\\*?[\]]/g, (c) => `\\${c}`))
    .join('/')
  // Docker strips the leading '/' and then reads a leading '!' as "bring back": escape it.
  return `/${escaped.replace(/^!/, '\\!').replace(/\s+$/, (ws) => '?'.repeat(ws.length))}`
}

/** The lines of the context's .dockerignore, or our defaults when it has none. */
function userLines(userIgnore: string | undefined): string[] {
  return userIgnore === undefined ? DEFAULT_IGNORES : userIgnore.split(/\r?\n/).filter((l, i, all) => !(i === all.length - 1 && l === ''))
}

/** The context-relative files the context's .dockerignore (or our defaults) lets through, with Docker's matching rules. */
export function admitted(files: string[], userIgnore: string | undefined): string[] {
  // Docker reads '#' as a comment only in the first column.
  const ig = dockerignore({ ignorecase: false }).add(userLines(userIgnore).filter((l) => !l.startsWith('#')))
  return files.filter((f) => !ig.ignores(f))
}

/**
 * The restore inputs the restore stage can COPY: those the context's .dockerignore (or our
 * defaults) lets through; the others are named so the user hears of them.
 */
export function restoreCopies(files: string[], userIgnore: string | undefined): { copied: string[]; dropped: string[] } {
  const copied = admitted(files, userIgnore)
  const kept = new Set(copied)
  return { copied, dropped: files.filter((f) => !kept.has(f)) }
}

export interface DirEntry {
  name: string
  kind: 'file' | 'dir' | 'other'
}

/**
 * The allow-list for `files` (context-relative, already admitted): a folder whose every entry
 * is a listed file or such a folder is named once instead of file by file, which keeps the
 * list short for BuildKit's matcher. `list('')` is the context itself; a folder that cannot
 * be listed is never collapsed.
 */
export function allowList(files: string[], list: (rel: string) => DirEntry[]): string[] {
  const wanted = new Set(files)
  const holders = new Set<string>()
  for (const f of files) {
    for (let i = f.indexOf('/'); i > 0; i = f.indexOf('/', i + 1)) holders.add(f.slice(0, i))
  }
  const full = new Map<string, boolean>()
  const isFull = (dir: string): boolean => {
    const known = full.get(dir)
    if (known !== undefined) return known
    let entries: DirEntry[]
    try {
      entries = list(dir)
    } catch {
      entries = [{ name: '', kind: 'other' }]
    }
    const ok = entries.every((e) => {
      const p = `${dir}/${e.name}`
      return e.kind === 'file' ? wanted.has(p) : e.kind === 'dir' && holders.has(p) && isFull(p)
    })
    full.set(dir, ok)
    return ok
  }
  const out = new Set<string>()
  for (const f of files) {
    let pick = f
    // The outermost folder that is wholly wanted.
    for (let i = f.indexOf('/'); i > 0; i = f.indexOf('/', i + 1)) {
      const dir = f.slice(0, i)
      if (isFull(dir)) {
        pick = dir
        break
      }
    }
    out.add(pick)
  }
  return [...out].sort()
}

/** Ignore patterns of every git folder in the context, at any depth. */
export const GIT_FOLDERS = ['.git', '**/.git'] as const

/** Is this context-relative path in a git folder? */
export function inGitFolder(rel: string): boolean {
  return rel.split('/').includes('.git')
}

export interface OnlyThese {
  /** What the build consumes, as allowList() gives it. */
  paths: string[]
  /** The project, for the header. */
  project: string
}

/**
 * The Dockerfile-specific ignore file. With `only`, it admits just those paths (the project's
 * inputs, already filtered through the context's .dockerignore); without it, it is the
 * repository's own .dockerignore, copied whole so it is honoured and never edited, or our
 * defaults when it has none. Then what must never be sent to the builder (a NuGet package
 * folder or a secret file that lies in the context), as context-relative paths.
 */
export function generateDockerignore(userIgnore?: string, exclude: string[] = [], only?: OnlyThese): string {
  for (const p of [...exclude, ...(only?.paths ?? [])]) {
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(p)) throw new ProjectError(`the path ${quote(p)} contains control characters, which an ignore file cannot carry: rename it`)
  }
  const L = [`${GENERATED_MARKER} Do not edit: the action regenerates it on every run from the project and the context's .dockerignore.`]
  if (only !== undefined) {
    L.push(
      `# Only what ${only.project.replace(/[\r\n]/g, ' ')} consumes (its projects' folders, and the files MSBuild names outside them),`,
      `# less what ${userIgnore === undefined ? 'our defaults exclude (the context has no .dockerignore)' : "the context's .dockerignore excludes"}:`,
      '*',
      ...only.paths.map((p) => `!${ignorePattern(p)}`)
    )
  } else if (userIgnore !== undefined) L.push("# The context's .dockerignore:", ...userLines(userIgnore))
  else L.push('# The context has no .dockerignore: these defaults apply.', ...DEFAULT_IGNORES)
  if (exclude.length > 0) L.push('# Never sent to the builder:', ...exclude.map(ignorePattern))
  // Last, so no line above (the allow-list, the repository's own) can admit them: a checkout's
  // git folder holds the job's token (actions/checkout keeps it in .git/config).
  L.push('# Never sent to the builder, whatever the lines above say: git folders (a checkout keeps its token there).', ...GIT_FOLDERS)
  return `${L.join('\n')}\n`
}
