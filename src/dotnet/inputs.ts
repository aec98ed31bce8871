// The files a project's container build consumes: what restore needs, every file the items of
// the project and of the projects it references name, and the files the compiler and MSBuild
// find by name. Pure: `isFile` answers for absolute paths.
import * as path from 'node:path'
import { isInside, toPosix } from '../util/paths.js'

/** Found by name from each source folder up to the context: analyzer settings and MSBuild response files. */
export const BUILD_FILE_NAMES = ['.editorconfig', 'Directory.Build.rsp']

export interface ContextInputs {
  /** Relative to the context, posix-style, sorted. */
  files: string[]
  /** Item files inside the workspace but outside the context: the build cannot see them. */
  outside: string[]
}

/**
 * `restore` is context-relative (restoreFiles()); `items` and `projects` are absolute. Item
 * files outside the workspace belong to the toolchain (SDK analyzers, global config
 * candidates) and are not inputs; item paths that name no file (a glob's leftovers, a
 * `.globalconfig` candidate) are dropped.
 */
export function contextInputs(context: string, workspace: string, restore: string[], projects: string[], items: string[], isFile: (abs: string) => boolean): ContextInputs {
  const out = new Set(restore)
  const outside = new Set<string>()
  const folders = new Set(projects.map((p) => path.dirname(p)))
  for (const f of items) {
    if (!isInside(workspace, f) || !isFile(f)) continue
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
        if (isFile(f)) out.add(toPosix(path.relative(context, f)))
      }
      if (dir === path.dirname(dir)) break
    }
  }
  return { files: [...out].sort(), outside: [...outside].sort() }
}
