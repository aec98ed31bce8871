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

/** Entries sorted by project; a name two projects share is made unique from their paths. */
export function matrixEntries(apps: { project: string; framework: string }[], platforms: string): MatrixEntry[] {
  const sorted = [...apps].sort((a, b) => a.project.localeCompare(b.project))
  const base = sorted.map((a) => imageSlug(path.posix.basename(a.project, path.posix.extname(a.project))))
  return sorted.map((a, i) => {
    const b = base[i] ?? 'app'
    const clash = base.filter((x) => x === b).length > 1
    return { project: a.project, name: clash ? imageSlug(path.posix.dirname(a.project) === '.' ? b : `${path.posix.dirname(a.project)}-${b}`) : b, platforms, framework: a.framework }
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

export interface AppInputs {
  /** Absolute paths of every file the app's build sees. */
  files: Set<string>
  /** Absolute folders of the app's project and the projects it references: a file deleted there may have been a source. */
  projectFolders: string[]
}

/**
 * The first changed path (absolute) that is an input of the app: a file its build sees, or a
 * file that no longer exists under one of its project folders (a deleted source was globbed).
 */
export function firstChangedInput(app: AppInputs, changed: string[], exists: (abs: string) => boolean): string | undefined {
  return changed.find((f) => app.files.has(f) || (!exists(f) && app.projectFolders.some((d) => isInside(d, f))))
}

/** A git revision the user names: never read as an option, nothing git would expand. */
export function validRevision(rev: string): boolean {
  return /^[A-Za-z0-9._/@^~{}-]+$/.test(rev) && !rev.startsWith('-') && rev.length <= 200
}
