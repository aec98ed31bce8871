// Discovery (mode: discover): the projects a solution lists, which of them are Native AOT
// apps, their matrix entries, and whether a change touched what each one consumes. Pure.
import * as path from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { ProjectError } from '../util/errors.js'
import { isInside } from '../util/paths.js'
import type { ProjectProperties } from './project.js'

/** C# projects a classic .sln lists: `Project("{type}") = "Name", "path\to\App.csproj", "{guid}"`. */
export function parseSln(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/^\s*Project\("[^"]*"\)\s*=\s*"[^"]*"\s*,\s*"([^"]+)"/gm)) {
    const p = (m[1] ?? '').replace(/\\/g, '/')
    if (/\.csproj$/i.test(p)) out.push(p)
  }
  return out
}

const slnx = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (name) => ['Project', 'Folder'].includes(name) })

interface SlnxNode {
  Project?: { '@_Path'?: string }[]
  Folder?: SlnxNode[]
}

/** C# projects an .slnx lists, in folders or not. */
export function parseSlnx(text: string): string[] {
  let doc: { Solution?: SlnxNode | string }
  try {
    doc = slnx.parse(text) as { Solution?: SlnxNode | string }
  } catch (e) {
    throw new ProjectError(`the .slnx file is not valid XML: ${(e as Error).message}`)
  }
  if (doc.Solution === undefined) throw new ProjectError('the .slnx file has no <Solution> root element')
  const out: string[] = []
  const walk = (n: SlnxNode | string): void => {
    if (typeof n === 'string') return
    for (const p of n.Project ?? []) {
      const f = (p['@_Path'] ?? '').replace(/\\/g, '/')
      if (/\.csproj$/i.test(f)) out.push(f)
    }
    for (const f of n.Folder ?? []) walk(f)
  }
  walk(doc.Solution)
  return out
}

const TRUE = (v: string | undefined): boolean => (v ?? '').trim().toLowerCase() === 'true'

/** An executable that publishes with Native AOT and is not a test project. */
export function isAotApp(p: ProjectProperties): boolean {
  return (p.OutputType ?? '').trim().toLowerCase() === 'exe' && TRUE(p.PublishAot) && !TRUE(p.IsTestProject)
}

/** A lower-case name usable as an image repository component: `Shop.Api` -> `shop-api`. */
export function imageSlug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'app'
  )
}

export interface MatrixEntry {
  /** Workspace-relative, posix-style: the `project` input of the build job. */
  project: string
  /** Lower-case slug for image names; unique within the list. */
  name: string
  platforms: string
  /** The framework input a multi-targeted app needs; '' otherwise. */
  framework: string
}

/** Entries sorted by project; a name two projects share is made unique from their paths, then by a number. */
export function matrixEntries(apps: { project: string; framework: string }[], platforms: string): MatrixEntry[] {
  const sorted = [...apps].sort((a, b) => a.project.localeCompare(b.project))
  const base = sorted.map((a) => imageSlug(path.posix.basename(a.project, path.posix.extname(a.project))))
  const named = sorted.map((a, i) => {
    const b = base[i] ?? 'app'
    const dir = path.posix.dirname(a.project)
    return base.filter((x) => x === b).length > 1 && dir !== '.' ? imageSlug(`${dir}-${b}`) : b
  })
  // Two jobs must never push to one repository: whatever still collides gets a number.
  const used = new Set<string>()
  return sorted.map((a, i) => {
    const n = named[i] ?? 'app'
    let name = n
    for (let k = 2; used.has(name); k++) name = `${n}-${k}`
    used.add(name)
    return { project: a.project, name, platforms, framework: a.framework }
  })
}

/** The framework to build for a multi-targeted app: the newest listed `netX.Y`. */
export function newestFramework(targetFrameworks: string): string {
  const listed = targetFrameworks
    .split(';')
    .map((t) => t.trim())
    .filter((t) => /^net\d+\.\d+$/.test(t))
  const key = (t: string): number => {
    const [maj, min] = t.slice(3).split('.').map(Number)
    return (maj ?? 0) * 1000 + (min ?? 0)
  }
  return listed.sort((a, b) => key(a) - key(b)).at(-1) ?? ''
}

/** Files MSBuild, NuGet and the compiler find by name in a project's folder or any folder above it. */
export const BY_NAME = new Set(['Directory.Build.props', 'Directory.Build.targets', 'Directory.Build.rsp', 'Directory.Packages.props', 'NuGet.config', 'NuGet.Config', 'nuget.config', 'global.json', '.editorconfig', '.globalconfig'])

export interface AppInputs {
  /** Absolute paths of every file the app's build sees. */
  files: Set<string>
  /** Absolute folders of the app's project and the projects it references: a file deleted there may have been a source. */
  projectFolders: string[]
  /** The build context: by-name files between a project folder and it count. */
  context: string
}

/**
 * The first changed path (absolute) that is an input of the app: a file its build sees, or a
 * file that no longer exists and was one: under a project folder (a globbed source), in the
 * folder of a file the build sees (a linked source beside others), or a by-name file
 * (Directory.Build.props, NuGet.config, ...) in a folder from a project up to the context.
 */
export function firstChangedInput(app: AppInputs, changed: string[], exists: (abs: string) => boolean): string | undefined {
  const itemFolders = new Set([...app.files].map((f) => path.dirname(f)))
  // The build never sees a file outside the context, deleted or not.
  const wasInput = (f: string): boolean =>
    isInside(app.context, f) &&
    (app.projectFolders.some((d) => isInside(d, f)) || itemFolders.has(path.dirname(f)) || (BY_NAME.has(path.basename(f)) && app.projectFolders.some((d) => isInside(path.dirname(f), d))))
  return changed.find((f) => app.files.has(f) || (!exists(f) && wasInput(f)))
}

/** A git revision the user names: never read as an option, nothing git would expand. */
export function validRevision(rev: string): boolean {
  return /^[A-Za-z0-9._/@^~{}-]+$/.test(rev) && !rev.startsWith('-') && rev.length <= 200
}
