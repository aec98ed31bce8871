// Project facts: what the SDK says about the .csproj (evaluated properties), validated
// for a Native AOT container build, plus the files the restore layer needs.
// Pure: the shell (evaluate.ts) runs `dotnet msbuild` in the sandbox and passes text in.
import * as path from 'node:path'
import { clip, printable, ProjectError, quote } from '../util/errors.js'
import { isInside } from '../util/paths.js'
import { localPackageSources } from './feeds.js'
import { folderFiles, type FileView } from './inputs.js'
import { evaluationReads } from './reads.js'
import { VERSIONING_PROPERTIES } from './versioning.js'

export const MSBUILD_PROPERTIES = [
  'TargetName',
  'AssemblyName',
  'TargetFramework',
  'TargetFrameworks',
  'PublishAot',
  'InvariantGlobalization',
  'OutputType',
  'UsingMicrosoftNETSdk',
  'UsingMicrosoftNETSdkWeb',
  'MSBuildProjectDirectory',
  'IsTestProject',
  'ProjectAssetsFile'
] as const

/**
 * Item types whose files a build reads, asked of MSBuild so the build context holds exactly
 * what the project consumes: sources (linked ones too), content, resources, analyzer inputs,
 * gRPC contracts, local assembly and analyzer references, and Native AOT's own inputs.
 * Only evaluation counts: no target runs on the runner.
 */
export const INPUT_ITEMS = [
  'Compile',
  'Content',
  'EmbeddedResource',
  'None',
  'AdditionalFiles',
  'Protobuf',
  'Reference',
  'Analyzer',
  'EditorConfigFiles',
  'GlobalAnalyzerConfigFiles',
  'RdXmlFile',
  'TrimmerRootDescriptor',
  'NativeLibrary',
  'DirectPInvokeList'
] as const

/** Properties that name a file the compile reads (a strong-name key, an icon, a manifest, a rule set). */
export const FILE_PROPERTIES = ['AssemblyOriginatorKeyFile', 'ApplicationIcon', 'ApplicationManifest', 'Win32Resource', 'CodeAnalysisRuleSet'] as const

export type ProjectProperties = Partial<Record<(typeof MSBUILD_PROPERTIES)[number] | (typeof LOCATION_PROPERTIES)[number], string>>

export interface ProjectFacts {
  projectFile: string
  targetName: string
  /** The one target framework this build publishes. */
  targetFramework: string
  /** Whether the project lists several frameworks (publish must then name one). */
  multiTargeted: boolean
  dotnetMajor: number
  invariantGlobalization: boolean
  isWeb: boolean
  /** Absolute paths of every project reachable through ProjectReference, without this one. */
  references: string[]
  /** Where restore writes project.assets.json (MSBuildProjectExtensionsPath), absolute; '' when the evaluation did not say. */
  assetsFile?: string
}

/** Oldest .NET major whose Native AOT toolchain links without a target zlib (Microsoft's Native AOT container recipe for .NET 10). */
export const MIN_DOTNET_MAJOR = 9

/** Properties that say where MSBuild keeps generated and downloaded imports (not the repository's own). */
export const LOCATION_PROPERTIES = ['MSBuildProjectExtensionsPath', 'NuGetPackageRoot', 'MSBuildExtensionsPath', 'MSBuildSDKsPath', 'NetCoreRoot'] as const

/**
 * The switches every evaluation gets: the global properties the container build uses (so
 * conditions on Configuration evaluate as they will there), and no response files, which a
 * repository could use to add targets to what we run (Directory.Build.rsp).
 */
function evaluationSwitches(framework: string, configuration: string): string[] {
  const argv = ['-nologo', '-noAutoResponse', '-nodeReuse:false', `-property:Configuration=${configuration}`]
  // A multi-targeted project has an empty TargetFramework until one is chosen.
  if (framework !== '') argv.push(`-property:TargetFramework=${framework}`)
  return argv
}

/** argv for `dotnet` that evaluates the project without building it (no target runs). */
export function msbuildArgv(projectFile: string, framework: string, configuration = 'Release'): string[] {
  const argv = ['msbuild', projectFile, ...evaluationSwitches(framework, configuration)]
  for (const p of [...MSBUILD_PROPERTIES, ...LOCATION_PROPERTIES, ...FILE_PROPERTIES, ...VERSIONING_PROPERTIES]) argv.push(`-getProperty:${p}`)
  // PackageReference: the versioning tools that read git history (versioning.ts).
  argv.push('-getItem:ProjectReference', '-getItem:PackageReference')
  for (const i of INPUT_ITEMS) argv.push(`-getItem:${i}`)
  return argv
}

/** argv for `dotnet` that writes the preprocessed project (every import inlined, each named by its path) to `out`. */
export function preprocessArgv(projectFile: string, framework: string, configuration: string, out: string): string[] {
  return ['msbuild', projectFile, ...evaluationSwitches(framework, configuration), `-preprocess:${out}`]
}

/**
 * The files a preprocessed project imports, in order, each once. MSBuild marks every import
 * with its full path on a line of its own followed by a line of '=' characters.
 */
export function parseImports(preprocessed: string): string[] {
  const out = new Set<string>()
  const lines = preprocessed.split(/\r?\n/)
  for (const [i, line] of lines.entries()) {
    const l = line.trim()
    if (l !== '' && (l.startsWith('/') || /^[A-Za-z]:[\\/]/.test(l)) && /^={20,}$/.test(lines[i + 1]?.trim() ?? '')) out.add(l)
  }
  return [...out]
}

/** The imports that belong to the repository: not the SDK's, not NuGet packages', not restore's generated ones. */
export function repositoryImports(imports: string[], locations: string[]): string[] {
  const roots = locations.filter((l) => l.trim() !== '').map((l) => path.resolve(l.trim()))
  return imports.filter((f) => !roots.some((r) => isInside(r, f)))
}

export interface MsbuildEvaluation {
  properties: ProjectProperties
  references: string[]
  /** Absolute paths of the files the project's items name (may not exist); undefined when not asked (XML fallback). */
  items?: string[]
  /** Where MSBuild keeps imports that are not the repository's (SDK, packages, restore output). */
  locations?: string[]
  /** The ids of the project's PackageReference items (GlobalPackageReference ones included). */
  packages?: string[]
}

export type ItemJson = Record<string, string | undefined>

const COPIED = new Set(['always', 'preservenewest', 'ifdifferent'])

/** The file an item names: its HintPath for an assembly reference, else its full path. */
function itemFile(type: string, item: ItemJson, projectDir: string): string | undefined {
  // MSBuild reads relative item paths from the project's folder, wherever the item is defined.
  const dir = projectDir
  const resolve = (p: string): string => path.resolve(dir, p.replace(/\\/g, '/'))
  if (type === 'Reference') {
    // A framework or package reference names an assembly, not a file in the repository.
    if (item.HintPath !== undefined && item.HintPath !== '') return resolve(item.HintPath)
    return /\.dll$/i.test(item.Identity ?? '') ? resolve(item.Identity ?? '') : undefined
  }
  // None items are every other file in the folder; only those copied to the output are inputs.
  if (type === 'None' && !COPIED.has((item.CopyToOutputDirectory ?? '').toLowerCase()) && !COPIED.has((item.CopyToPublishDirectory ?? '').toLowerCase())) return undefined
  const full = item.FullPath ?? item.Identity
  return full === undefined || full === '' ? undefined : resolve(full)
}

/** Parses the JSON that `dotnet msbuild -getProperty:A -getProperty:B -getItem:X` prints. */
export function parseMsbuildJson(text: string): MsbuildEvaluation {
  const start = text.indexOf('{')
  let json: MsbuildJson
  try {
    if (start < 0) throw new Error('no JSON')
    json = JSON.parse(text.slice(start)) as MsbuildJson
  } catch {
    throw new ProjectError(`dotnet msbuild printed no JSON (${msbuildError(text)})`)
  }
  return evaluationFromJson(json)
}

/** The shape `-getProperty`/`-getItem` print, and the batch evaluator too (evaluator.ts). */
export interface MsbuildJson {
  Properties?: Record<string, string>
  Items?: Record<string, ItemJson[] | undefined>
}

/** The facts an evaluation's properties and items give: references, the files items name, where non-repository imports live. */
export function evaluationFromJson(json: MsbuildJson): MsbuildEvaluation {
  const all = json.Items ?? {}
  const refs = (all.ProjectReference ?? []).map((r) => r.FullPath ?? r.Identity ?? '').filter((r) => r !== '')
  const props = json.Properties ?? {}
  const items = new Set<string>()
  const projectDir = props.MSBuildProjectDirectory ?? ''
  for (const name of FILE_PROPERTIES) {
    const v = (props[name] ?? '').trim()
    if (v !== '' && projectDir !== '') items.add(path.resolve(projectDir, v.replace(/\\/g, '/')))
  }
  for (const type of INPUT_ITEMS) {
    for (const item of all[type] ?? []) {
      const f = itemFile(type, item, props.MSBuildProjectDirectory ?? item.DefiningProjectDirectory ?? '')
      if (f !== undefined) items.add(f)
    }
  }
  const packages = (all.PackageReference ?? []).map((r) => r.Identity ?? '').filter((id) => id !== '')
  return { properties: props, references: refs, items: [...items], locations: LOCATION_PROPERTIES.map((k) => props[k] ?? '').filter((v) => v !== ''), packages }
}

const MSBUILD_ERROR = /^\s*(?:(.+?)\((\d+)(?:,\d+)*\)|([^:]*?))\s*:\s*error\s+([A-Za-z]+\d+)\s*:\s*(.*?)(?:\s+\[[^\]]*\])?\s*$/

/**
 * What a failed evaluation said, as much as we relay: the first MSBuild error's code, file
 * and line and a clipped message, control characters escaped; else the first line that says
 * error, clipped. Never the raw output: the repository writes those messages.
 */
export function msbuildError(output: string): string {
  const lines = output.split(/\r?\n/)
  for (const l of lines) {
    const m = MSBUILD_ERROR.exec(l)
    if (m === null) continue
    const [, file, line, other, code = '', message = ''] = m
    const where = file !== undefined ? `${clip(printable(file), 200)}:${line ?? ''}` : clip(printable((other ?? '').trim()), 60)
    return `${code}${where !== '' ? ` at ${where}` : ''}: ${clip(printable(message), 300)}`
  }
  const first = lines.map((l) => l.trim()).find((l) => /error/i.test(l)) ?? lines.map((l) => l.trim()).find((l) => l !== '') ?? ''
  return first === '' ? 'no output' : clip(printable(first), 300)
}

const TRUE = (v: string | undefined): boolean => (v ?? '').trim().toLowerCase() === 'true'

/** Validates evaluated properties for a Native AOT container build. */
export function projectFacts(projectFile: string, ev: MsbuildEvaluation, framework: string, allReferences: string[]): ProjectFacts {
  const p = ev.properties
  const file = path.basename(projectFile)
  if (!TRUE(p.UsingMicrosoftNETSdk)) {
    throw new ProjectError(
      `${file} is not an SDK-style project (no Sdk="Microsoft.NET.Sdk" on its <Project> element). ` +
        'Native AOT needs an SDK-style project: convert it with `dotnet try-convert` or start from `dotnet new console --aot` / `dotnet new webapiaot`.'
    )
  }
  if ((p.OutputType ?? '').toLowerCase() !== 'exe') {
    throw new ProjectError(
      `${file} has OutputType ${quote(p.OutputType ?? '')}: only an executable can be the entrypoint of an image. ` +
        'Point the "project" input at the app project (OutputType Exe), not at a library.'
    )
  }
  if (!TRUE(p.PublishAot)) {
    throw new ProjectError(
      `${file} does not enable Native AOT: PublishAot is ${quote(p.PublishAot ?? '')}. ` +
        'Add <PublishAot>true</PublishAot> to a <PropertyGroup> in the project file (or its Directory.Build.props). ' +
        'The action does not force it from the command line: the trimming and AOT analyzers must see it in the project too.'
    )
  }
  const listed = (p.TargetFrameworks ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  let tfm = (p.TargetFramework ?? '').trim()
  const multi = listed.length > 0
  if (framework !== '') {
    if (multi && !listed.includes(framework)) {
      throw new ProjectError(`Input "framework": ${file} does not target ${quote(framework)}. Accepted: one of ${clip(listed.join(', '), 120)}.`)
    }
    if (!multi && tfm !== '' && tfm !== framework) {
      throw new ProjectError(`Input "framework": ${file} targets only ${quote(tfm)}, not ${quote(framework)}. Accepted: ${quote(tfm)}, or leave "framework" empty.`)
    }
    tfm = framework
  } else if (tfm === '' && multi) {
    throw new ProjectError(
      `${file} targets several frameworks (${clip(listed.join(', '), 120)}). Set the "framework" input to the one to publish, e.g. framework: ${listed[listed.length - 1]}.`
    )
  }
  // NuGet's own property where it is set (RestoreOutputPath moves it), else where it defaults to.
  const assets = (p.ProjectAssetsFile ?? '').trim().replace(/\\/g, '/')
  const extensions = (p.MSBuildProjectExtensionsPath ?? '').trim().replace(/\\/g, '/')
  const m = /^net(\d+)\.(\d+)$/.exec(tfm)
  if (m === null) {
    throw new ProjectError(
      `${file} targets ${quote(tfm)}, which has no Native AOT Linux container support. ` +
        `Accepted: net${MIN_DOTNET_MAJOR}.0 or later without an OS suffix (e.g. net10.0).`
    )
  }
  const major = Number(m[1])
  if (major < MIN_DOTNET_MAJOR) {
    throw new ProjectError(
      `${file} targets ${tfm}. .NET ${major} links the target's own zlib, which a cross build cannot get from the SDK image, ` +
        `and .NET ${major} is out of support. Accepted: net${MIN_DOTNET_MAJOR}.0 or later (net10.0 recommended).`
    )
  }
  const targetName = (p.TargetName ?? '').trim() || (p.AssemblyName ?? '').trim() || path.basename(projectFile, path.extname(projectFile))
  if (!/^[A-Za-z0-9_.+-]+$/.test(targetName)) {
    throw new ProjectError(`${file} has TargetName ${quote(targetName)}, which cannot be a literal exec-form ENTRYPOINT. Use letters, digits, '.', '_', '-' or '+'.`)
  }
  return {
    projectFile,
    targetName,
    targetFramework: tfm,
    multiTargeted: multi,
    dotnetMajor: major,
    invariantGlobalization: TRUE(p.InvariantGlobalization),
    isWeb: TRUE(p.UsingMicrosoftNETSdkWeb),
    references: allReferences,
    // The file name joined as a list: ncc reads path.resolve(..., 'name') as a file of ours to
    // bundle, and rewrote it to dist/'s own folder when a checkout held such files.
    assetsFile: assets !== '' ? path.resolve(path.dirname(projectFile), assets) : extensions === '' ? '' : [path.resolve(path.dirname(projectFile), extensions), 'project.assets.json'].join(path.sep)
  }
}

/** Files, next to a project or in a folder above it, that change what restore does without being MSBuild imports. */
export const CONFIG_FILE_NAMES = ['NuGet.config', 'NuGet.Config', 'nuget.config', 'global.json', 'packages.lock.json']

/** The MSBuild files found by name when no SDK could list the imports (XML fallback). */
export const IMPORT_FILE_NAMES = ['Directory.Build.props', 'Directory.Build.targets', 'Directory.Packages.props']

/** Kept for callers that name every file the fallback looks for. */
export const RESTORE_FILE_NAMES = [...IMPORT_FILE_NAMES, ...CONFIG_FILE_NAMES]

export interface RestoreInputs {
  /** Relative to the context, posix-style, sorted: what the restore layer copies. */
  files: string[]
  /** Files that would change restore but lie above the context (the build cannot see them). */
  warnings: string[]
  /** Sentences for the log: local package sources and evaluation reads the build cannot see. */
  notes: string[]
}

const posix = (p: string): string => p.split(path.sep).join('/')

/** The deepest folder holding both paths: the context that would include a file. */
export function commonFolder(a: string, b: string): string {
  const pa = path.resolve(a).split(path.sep)
  const pb = path.resolve(b).split(path.sep)
  let i = 0
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++
  return pa.slice(0, i).join(path.sep) || path.sep
}

/**
 * The files the restore layer must copy, relative to the context: every project file in the
 * closure, every file MSBuild imported for them that belongs to the repository (`imports`,
 * absolute; undefined when no SDK listed them, and then the Directory.* files found by name),
 * NuGet.config, global.json and packages.lock.json from each project's folder up to the
 * context, and (given `view`) the files of the local package sources those NuGet.config files
 * name and the files property functions and conditions read (evaluationInputs). An import inside the workspace but outside the context fails here, by name: the
 * container build would silently evaluate the project without it. Imports outside the
 * workspace are the runner's own toolchain (SDK, workloads, packages); the build image has its own.
 * `exists` answers for absolute paths, so this stays pure.
 */
export function restoreFiles(context: string, projects: string[], exists: (abs: string) => boolean, imports?: string[], workspace?: string, view?: FileView): RestoreInputs {
  const out = new Set<string>()
  const warnings = new Set<string>()
  for (const proj of projects) {
    if (!isInside(context, proj)) {
      throw new ProjectError(
        `${proj} is outside the build context ${context}. Set the "context" input to a folder that holds every referenced project (${commonFolder(context, proj)}).`
      )
    }
    out.add(posix(path.relative(context, proj)))
  }
  for (const f of imports ?? []) {
    // The import list is read from the evaluation's output, which the repository's text can
    // forge: a path is taken only where it exists inside the workspace (exists never looks
    // through a link out), so a forged one through a link tells nothing of the runner's files.
    if (isInside(context, f)) {
      if (exists(f)) out.add(posix(path.relative(context, f)))
    }
    else if (workspace === undefined || isInside(workspace, f)) {
      throw new ProjectError(
        `${f} is imported when the project is evaluated, but it lies outside the build context ${context}, so the container build would not see it. ` +
          `Set the "context" input to a folder that holds it (${commonFolder(context, f)}), or move the file into the context.`
      )
    }
  }
  const names = imports === undefined ? RESTORE_FILE_NAMES : CONFIG_FILE_NAMES
  for (const proj of projects) {
    let dir = path.dirname(proj)
    for (;;) {
      for (const name of names) {
        // packages.lock.json belongs to its own project only.
        if (name === 'packages.lock.json' && dir !== path.dirname(proj)) continue
        const abs = path.join(dir, name)
        if (!exists(abs)) continue
        if (isInside(context, abs)) out.add(posix(path.relative(context, abs)))
        else warnings.add(abs)
      }
      const up = path.dirname(dir)
      // Up to the workspace: a file above the context is reported, not silently missed.
      if (up === dir || !isInside(workspace ?? context, up)) break
      dir = up
    }
  }
  const notes = view === undefined ? [] : evaluationInputs(context, projects, [...out], view, out)
  return { files: [...out].sort(), warnings: [...warnings].sort(), notes }
}

/**
 * What restore and the evaluation read besides project files and imports, added to `out`
 * (context-relative): the files of every local package source a NuGet.config in `copied`
 * names, and the files property functions and conditions of the projects and their imports
 * read. Returns sentences about what the build cannot see.
 */
function evaluationInputs(context: string, projects: string[], copied: string[], view: FileView, out: Set<string>): string[] {
  const notes: string[] = []
  const rel = (p: string): string => posix(path.relative(context, p)) || '.'
  const projectDirs = projects.map((p) => path.dirname(p))
  const add = (f: string): void => {
    out.add(rel(f))
  }
  for (const f of copied.filter((c) => /(^|\/)nuget\.config$/i.test(c))) {
    const abs = path.join(context, f)
    const { folders, unresolved } = localPackageSources(abs, view.read(abs) ?? '')
    for (const dir of folders) {
      if (!isInside(context, dir)) {
        notes.push(`${f} names the local package source ${dir}, which lies outside the build context ${context}: the container's restore cannot read it. Set "context" to a folder that holds it, or keep the packages inside the context.`)
        continue
      }
      const files = folderFiles(dir, view)
      if (files.length === 0) notes.push(`${f} names the local package source ${rel(dir)}, which holds no file here: the container's restore finds no package in it.`)
      files.forEach(add)
    }
    for (const v of unresolved) notes.push(`${f} names the package source ${v}, a path the action cannot resolve (an environment variable or a Windows drive): it is not copied into the build.`)
  }
  // The projects' own files and every MSBuild file copied (the imports), each read once.
  const msbuildFiles = new Set([...projects, ...copied.filter((c) => /\.(props|targets|[A-Za-z]*proj)$/i.test(c)).map((c) => path.join(context, c))])
  const projectSet = new Set(projects)
  for (const file of msbuildFiles) {
    const text = view.read(file)
    if (text === undefined) continue
    const r = evaluationReads(file, text, projectSet.has(file) ? [path.dirname(file)] : projectDirs)
    for (const f of r.files) {
      // Build output the runner may hold is never an input.
      if (!view.isFile(f) || projectDirs.some((p) => isInside(path.join(p, 'bin'), f) || isInside(path.join(p, 'obj'), f))) continue
      if (isInside(context, f)) add(f)
      else notes.push(`${rel(file)} reads ${f} during evaluation, but it lies outside the build context ${context}: the container build evaluates without it.`)
    }
    for (const d of r.folders) {
      // A project's own folder is in the build already; in the restore layer it would make every edit restore again.
      if (!isInside(context, d) || projectDirs.some((p) => isInside(d, p) || isInside(p, d))) continue
      folderFiles(d, view).forEach(add)
    }
    for (const u of r.unresolved) {
      notes.push(`${rel(file)} reads ${u} during evaluation (a property function), a path the action cannot resolve before the build: if it lies outside the projects' folders, the container build does not see it.`)
    }
  }
  return notes
}