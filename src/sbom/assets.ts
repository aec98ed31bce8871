// What went into each platform's binary, read from the restore's project.assets.json: the
// NuGet packages of that runtime identifier's target, the project references, and the runtime
// packs the SDK downloaded for it. Pure. The file is written by the repository's restore, so
// it is data we did not write: names and versions are checked, anything else is left out.
import type { Arch } from '../dotnet/platforms.js'
import { RID } from '../dotnet/platforms.js'

export interface Component {
  kind: 'package' | 'project' | 'runtime-pack'
  name: string
  version: string
  /** The .nupkg's SHA-512 as hex, where the assets file has it (packages only). */
  sha512?: string
  /** Managed assemblies that Native AOT compiles into the binary. */
  compiled: boolean
  /** Native files of the package for this runtime identifier, shipped beside the binary or linked into it. */
  native: boolean
}

export interface AssetsFacts {
  /** Per architecture, sorted by kind then name. */
  components: Map<Arch, Component[]>
  /** The project's own version as the assets file records it. */
  projectVersion: string
  /** Entries left out because their name or version is not one NuGet allows. */
  rejected: number
}

/** A larger assets file is not read (real ones are tens of kB to a few MB). */
export const MAX_ASSETS_BYTES = 16 * 1024 * 1024
/** More components for one runtime identifier is not an app's restore (large apps have hundreds). */
export const MAX_COMPONENTS = 5000

const NUGET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const VERSION = /^[0-9][0-9A-Za-z.+-]{0,63}$/

type Json = Record<string, unknown>

function obj(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined
}

/** Asset groups that carry files into the published app (NuGet's placeholder _._ counts: a meta-package). */
const RUN_GROUPS = ['runtime', 'native', 'resource', 'runtimeTargets']

function realFiles(group: unknown): boolean {
  const g = obj(group)
  return g !== undefined && Object.keys(g).some((f) => !f.endsWith('/_._') && f !== '_._')
}

/** base64 (as NuGet records it) to hex; undefined when it is not a SHA-512. */
export function sha512Hex(b64: unknown): string | undefined {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(b64)) return undefined
  return Buffer.from(b64, 'base64').toString('hex')
}

/** The target key of a framework and RID: the alias (assets version 4) or the framework's short name (version 3). */
function targetFor(targets: Json, framework: string, rid: string): Json | undefined {
  return obj(targets[`${framework}/${rid}`])
}

/**
 * The runtime packs compiled into a binary for one RID: the Native AOT runtime pack (.NET 10 on),
 * or before it the ILCompiler's RID package with the shared framework's runtime pack; and ASP.NET
 * Core's runtime pack for an app that references that framework. The apphost, crossgen and the compiler for the build machine
 * are downloaded too but do not end up in the image.
 */
export function runtimePacks(downloads: { name: string; version: string }[], rid: string, aspNetCore: boolean): { name: string; version: string }[] {
  const has = (n: string): boolean => downloads.some((d) => d.name === n)
  const aot = `Microsoft.NETCore.App.Runtime.NativeAOT.${rid}`
  const wanted = has(aot) ? [aot] : [`runtime.${rid}.Microsoft.DotNet.ILCompiler`, `Microsoft.NETCore.App.Runtime.${rid}`]
  // Restore downloads ASP.NET Core's runtime packs for a console app too: only a reference to the framework puts it in.
  if (aspNetCore) wanted.push(`Microsoft.AspNetCore.App.Runtime.${rid}`)
  return downloads.filter((d) => wanted.includes(d.name))
}

/** `[10.0.12, 10.0.12]` (an exact version range, as downloadDependencies records it) -> 10.0.12. */
function exactVersion(range: unknown): string | undefined {
  if (typeof range !== 'string') return undefined
  const m = /^\[\s*([^,\s\]]+)\s*(?:,\s*([^\s\]]+)\s*)?\]$/.exec(range)
  if (m === null || (m[2] !== undefined && m[2] !== m[1])) return undefined
  return m[1]
}

/**
 * Reads a project.assets.json for `framework` (the target framework the build publishes, as
 * the project names it) and each architecture. Throws with the reason when the file is not an
 * assets file for that framework and those runtime identifiers.
 */
export function readAssets(text: string, framework: string, arches: Arch[]): AssetsFacts {
  let doc: Json | undefined
  try {
    doc = obj(JSON.parse(text))
  } catch {
    doc = undefined
  }
  if (doc === undefined) throw new Error('it is not JSON')
  const targets = obj(doc.targets)
  const libraries = obj(doc.libraries) ?? {}
  const project = obj(doc.project)
  if (targets === undefined || project === undefined) throw new Error('it has no targets or no project section')
  const frameworks = obj(project.frameworks) ?? {}
  // Version 4 keys frameworks by the alias the project names; version 3 by the short name, which for netX.Y is the same.
  const fw = obj(frameworks[framework]) ?? Object.values(frameworks).map(obj).find((f) => f?.targetAlias === framework)
  if (fw === undefined) throw new Error(`it has no framework ${framework}`)
  let rejected = 0
  const downloads: { name: string; version: string }[] = []
  for (const d of Array.isArray(fw.downloadDependencies) ? fw.downloadDependencies : []) {
    const e = obj(d)
    const name = e?.name
    const version = exactVersion(e?.version)
    if (typeof name === 'string' && NUGET_ID.test(name) && version !== undefined && VERSION.test(version)) downloads.push({ name, version })
    else rejected++
  }
  const aspNetCore = obj(fw.frameworkReferences)?.['Microsoft.AspNetCore.App'] !== undefined
  const components = new Map<Arch, Component[]>()
  for (const arch of arches) {
    const rid = RID[arch]
    const target = targetFor(targets, framework, rid)
    if (target === undefined) throw new Error(`it has no target ${framework}/${rid} (the restore did not name that runtime identifier)`)
    const list: Component[] = []
    for (const [key, value] of Object.entries(target)) {
      const entry = obj(value)
      const slash = key.indexOf('/')
      const name = key.slice(0, slash)
      const version = key.slice(slash + 1)
      if (entry === undefined || slash < 1 || !NUGET_ID.test(name) || !VERSION.test(version)) {
        rejected++
        continue
      }
      if (entry.type === 'project') {
        list.push({ kind: 'project', name, version, compiled: true, native: false })
        continue
      }
      if (entry.type !== 'package') continue
      // Build-time only (MSBuild files, analyzers, the compiler itself): nothing of it reaches the image.
      if (!RUN_GROUPS.some((g) => g in entry)) continue
      const compiled = realFiles(entry.runtime) || realFiles(entry.resource)
      const native = realFiles(entry.native) || Object.entries(obj(entry.runtimeTargets) ?? {}).some(([f, a]) => !f.endsWith('/_._') && obj(a)?.rid === rid)
      const sha512 = sha512Hex(obj(libraries[key])?.sha512)
      list.push({ kind: 'package', name, version, compiled, native, ...(sha512 !== undefined ? { sha512 } : {}) })
    }
    const resolved = Object.keys(target).flatMap((k) => {
      const slash = k.indexOf('/')
      const name = k.slice(0, slash)
      const version = k.slice(slash + 1)
      return slash > 0 && NUGET_ID.test(name) && VERSION.test(version) ? [{ name, version }] : []
    })
    for (const p of runtimePacks([...downloads, ...resolved.filter((r) => !downloads.some((d) => d.name === r.name))], rid, aspNetCore)) list.push({ kind: 'runtime-pack', name: p.name, version: p.version, compiled: true, native: false })
    if (list.length > MAX_COMPONENTS) throw new Error(`its target ${framework}/${rid} lists ${list.length} packages, more than the ${MAX_COMPONENTS} an SBOM takes`)
    // Ordinal, not locale order: the same file gives the same bytes on every runner.
    const ordinal = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
    const order = { 'runtime-pack': 0, package: 1, project: 2 }
    list.sort((a, b) => order[a.kind] - order[b.kind] || ordinal(a.name, b.name) || ordinal(a.version, b.version))
    components.set(arch, list)
  }
  const version = typeof project.version === 'string' && VERSION.test(project.version) ? project.version : ''
  return { components, projectVersion: version, rejected }
}
