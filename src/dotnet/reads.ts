// Files an evaluation reads that are neither imports nor items: a VERSION file read into
// <Version> by $([System.IO.File]::ReadAllText(...)), a file whose existence a condition asks
// for. Found in the text of the project files and their imports. Pure.
import * as path from 'node:path'

export interface EvaluationReads {
  /** Absolute candidate paths of files read or asked about (each resolved every way it can be read). */
  files: string[]
  /** Absolute candidate paths of folders listed ([System.IO.Directory]::GetFiles and the like). */
  folders: string[]
  /** Paths of reads and listings (not existence checks) that name a property we cannot know here. */
  unresolved: string[]
}

/** Property functions whose first argument is a path the evaluation reads (or lists). */
const READ_CALL = /\[(?:System\.)?IO\.(File|Directory)\]::(\w+)\s*\(/gi
/** A condition's Exists('...'). */
const EXISTS_CALL = /\bExists\s*\(/g

/** The text between the parenthesis at `open` and its match, or undefined when unbalanced. */
function argsAt(text: string, open: number): string | undefined {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === '(') depth++
    else if (c === ')') {
      depth--
      if (depth === 0) return text.slice(open + 1, i)
    }
  }
  return undefined
}

/** Arguments split at the commas outside parentheses and quotes. */
function splitArgs(args: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote = ''
  let start = 0
  for (let i = 0; i < args.length; i++) {
    const c = args[i] ?? ''
    if (quote !== '') {
      if (c === quote) quote = ''
    } else if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      out.push(args.slice(start, i))
      start = i + 1
    }
  }
  out.push(args.slice(start))
  return out.map((a) => a.trim())
}

const unquote = (s: string): string => (/^(['"`]).*\1$/s.test(s) ? s.slice(1, -1) : s)

/**
 * An argument's value with the properties known without evaluating (the file's own location,
 * the project's folder) and path-joining functions replaced; undefined while a property
 * function or property we cannot know remains.
 */
function resolveArg(arg: string, known: Record<string, string>): string | undefined {
  let s = unquote(arg.trim())
  for (let guard = 0; guard < 20; guard++) {
    const before = s
    s = s.replace(/\$\((\w+)\)/g, (m, name: string) => known[name.toLowerCase()] ?? m)
    // The innermost joining call whose arguments are plain text.
    s = s.replace(/\$\(\[(?:System\.IO\.Path|MSBuild)\]::(Combine|NormalizePath|NormalizeDirectory|GetFullPath)\(([^$()]*)\)\)/gi, (_m, _fn: string, inner: string) =>
      path.posix.join(...splitArgs(inner).map((a) => unquote(a).replace(/\\/g, '/')))
    )
    s = s.replace(/\.Trim\(\)/g, '')
    if (s === before) break
  }
  return s.includes('$(') || s.includes('@(') || s.includes('%(') || s.trim() === '' ? undefined : s.trim().replace(/\\/g, '/')
}

/**
 * The paths `file`'s text reads during evaluation. `projectDirs` are the folders of the
 * projects that import it (a project file's own folder for itself): MSBuild resolves a
 * relative path in a property function or condition from the project's folder, and
 * $(MSBuildProjectDirectory) is that folder; every candidate is returned, and the caller
 * keeps those that exist.
 */
export function evaluationReads(file: string, text: string, projectDirs: string[]): EvaluationReads {
  const files = new Set<string>()
  const folders = new Set<string>()
  const unresolved = new Set<string>()
  const thisDir = path.dirname(file)
  const dirs = projectDirs.length > 0 ? projectDirs : [thisDir]
  const calls: { arg: string; kind: 'read' | 'list' | 'exists' }[] = []
  for (const m of text.matchAll(READ_CALL)) {
    const args = argsAt(text, m.index + m[0].length - 1)
    if (args === undefined) continue
    const first = splitArgs(args)[0] ?? ''
    // Exists and GetLastWriteTime-like calls ask about a path; the rest read a file or list a folder.
    const asks = /^(Exists|GetAttributes|GetLastWriteTime|GetLastAccessTime|GetCreationTime)$/i.test(m[2] ?? '')
    calls.push({ arg: first, kind: asks ? 'exists' : (m[1] ?? '').toLowerCase() === 'directory' ? 'list' : 'read' })
  }
  for (const m of text.matchAll(EXISTS_CALL)) {
    // Not the Exists of [System.IO.File]::Exists, counted above.
    if (text.slice(Math.max(0, m.index - 2), m.index).endsWith('::')) continue
    const args = argsAt(text, m.index + m[0].length - 1)
    if (args !== undefined) calls.push({ arg: args, kind: 'exists' })
  }
  for (const { arg, kind } of calls) {
    const into = kind === 'list' ? folders : files
    let resolved = false
    for (const dir of dirs) {
      const known: Record<string, string> = {
        msbuildthisfiledirectory: `${thisDir}/`,
        msbuildthisfilefullpath: file,
        msbuildthisfile: path.basename(file),
        msbuildprojectdirectory: dir
      }
      const v = resolveArg(arg, known)
      if (v === undefined) continue
      resolved = true
      into.add(path.resolve(dir, v))
      // A relative path in an imported file may be meant from that file's folder.
      into.add(path.resolve(thisDir, v))
    }
    if (!resolved && kind !== 'exists') unresolved.add(unquote(arg.trim()))
  }
  return { files: [...files], folders: [...folders], unresolved: [...unresolved] }
}
