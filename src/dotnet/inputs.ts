// The files a project's container build consumes. The rule, in one line: every consumed
// project's whole folder (less bin/, obj/, hidden folders and the folders of other projects),
// plus every file outside those folders that the evaluation names (imports, items, files read
// by property functions, local package sources), plus the files the compiler and MSBuild find
// by name. Whole folders, because NuGet packages add items after restore (their build/ props
// and targets), which an evaluation before restore cannot list. Pure: `view` answers for
// absolute paths.
import * as path from 'node:path'
import { isInside, toPosix } from '../util/paths.js'

/** Found by name from each source folder up to the context: analyzer settings and MSBuild response files. */
export const BUILD_FILE_NAMES = ['.editorconfig', 'Directory.Build.rsp']

/** A project file of any MSBuild language (a folder holding one is that project's folder). */
const PROJECT_FILE = /\.[A-Za-z]*proj$/i

export interface FolderEntry {
  name: string
  kind: 'file' | 'dir' | 'other'
}

/** What the rule may ask of the file system (absolute paths); the shell answers. */
export interface FileView {
  isFile: (abs: string) => boolean
  /** A folder's entries; [] when it cannot be listed. */
  list: (absDir: string) => FolderEntry[]
  /** A file's text; undefined when it cannot be read. */
  read: (abs: string) => string | undefined
}

/**
 * The files of a folder, recursively, as MSBuild's default globs see it: hidden folders
 * (.git, .vs) are skipped, and so are `bin/` and `obj/` at its top and any sub-folder that
 * holds a project file (another project, or `skip` says so). Symbolic links are not followed.
 */
export function folderFiles(dir: string, view: Pick<FileView, 'list'>, skip: (absDir: string) => boolean = () => false): string[] {
  const out: string[] = []
  const walk = (d: string, top: boolean): void => {
    const entries = view.list(d)
    if (!top && (skip(d) || entries.some((e) => e.kind === 'file' && PROJECT_FILE.test(e.name)))) return
    for (const e of entries) {
      const p = path.join(d, e.name)
      if (e.kind === 'file') out.push(p)
      else if (e.kind === 'dir' && !e.name.startsWith('.') && !(top && (e.name === 'bin' || e.name === 'obj'))) walk(p, false)
    }
  }
  walk(dir, true)
  return out
}

export interface ContextInputs {
  /** Relative to the context, posix-style, sorted. */
  files: string[]
  /** Item files inside the workspace but outside the context: the build cannot see them. */
  outside: string[]
}

/**
 * `restore` is context-relative (restoreFiles(), which already holds what the evaluation
 * reads outside items); `items` and `projects` are absolute. Item files outside the workspace
 * belong to the toolchain (SDK analyzers, global config candidates) and are not inputs; item
 * paths that name no file (a glob's leftovers, a `.globalconfig` candidate) are dropped.
 */
export function contextInputs(context: string, workspace: string, restore: string[], projects: string[], items: string[], view: Pick<FileView, 'isFile' | 'list'>): ContextInputs {
  const out = new Set(restore)
  const outside = new Set<string>()
  const projectDirs = new Set(projects.map((p) => path.dirname(p)))
  const folders = new Set(projectDirs)
  // Each project's folder whole: a nested project's folder is its own (walked if consumed).
  for (const dir of projectDirs) {
    if (!isInside(context, dir)) continue
    for (const f of folderFiles(dir, view, (d) => projectDirs.has(d))) out.add(toPosix(path.relative(context, f)))
  }
  for (const f of items) {
    if (!isInside(workspace, f) || !view.isFile(f)) continue
    if (!isInside(context, f)) {
      outside.add(f)
      continue
    }
    out.add(toPosix(path.relative(context, f)))
    folders.add(path.dirname(f))
  }
  const visited = new Set<string>()
  for (const start of folders) {
    for (let dir = start; isInside(context, dir) && !visited.has(dir); dir = path.dirname(dir)) {
      visited.add(dir)
      for (const name of BUILD_FILE_NAMES) {
        const f = path.join(dir, name)
        if (view.isFile(f)) out.add(toPosix(path.relative(context, f)))
      }
      if (dir === path.dirname(dir)) break
    }
  }
  return { files: [...out].sort(), outside: [...outside].sort() }
}
