// Finds the project and reads its facts: `dotnet msbuild -getProperty` when an SDK is on
// the runner (Directory.Build.props, conditions and defaults count), XML as a fallback.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as core from '@actions/core'
import { clip, InputError, ProjectError } from '../util/errors.js'
import { evaluateXml, msbuildArgv, parseImports, parseMsbuildJson, preprocessArgv, projectFacts, repositoryImports, restoreFiles, type MsbuildEvaluation, type ProjectFacts, type ProjectProperties } from './project.js'
import { onPath, run, type ProcResult } from '../util/proc.js'
import { contextInputs } from './inputs.js'
import { repositoryView } from '../util/files.js'

const PROJECT_EXT = /\.csproj$/i

export function locateProject(p: string): string {
  let st: fs.Stats
  try {
    st = fs.statSync(p)
  } catch {
    throw new InputError('project', `${p} does not exist`, 'a path to a .csproj file, or a folder that holds exactly one')
  }
  if (st.isFile()) {
    if (!PROJECT_EXT.test(p)) throw new InputError('project', `${p} is not a .csproj file`, 'a .csproj file, or a folder that holds exactly one')
    return p
  }
  const [only, ...others] = fs.readdirSync(p).filter((f) => PROJECT_EXT.test(f)).sort()
  if (only === undefined) throw new InputError('project', `no .csproj file in ${p}`, 'a .csproj file, or a folder that holds exactly one')
  if (others.length > 0) throw new InputError('project', `${p} holds several projects (${[only, ...others].join(', ')})`, 'the path of one of them')
  return path.join(p, only)
}

function directoryBuildProps(projectFile: string, workspace: string): string[] {
  const out: string[] = []
  let dir = path.dirname(projectFile)
  for (;;) {
    const f = path.join(dir, 'Directory.Build.props')
    if (fs.existsSync(f)) {
      out.unshift(fs.readFileSync(f, 'utf8'))
      break // MSBuild imports only the nearest one (which may import its parent itself).
    }
    if (dir === workspace || path.dirname(dir) === dir) break
    dir = path.dirname(dir)
  }
  return out
}

/**
 * The environment and folder `dotnet` evaluates in. The repository is untrusted: property
 * functions can read environment variables, so the runner's (tokens, INPUT_*, ACTIONS_*) stay
 * out; and the folder is outside the repository, so its global.json cannot point the muxer at
 * an SDK shipped in the repository. DOTNET_RUNNING_IN_CONTAINER is set as the SDK image sets it,
 * so props that key on it evaluate as they will in the build.
 */
export function evaluationEnv(from: NodeJS.ProcessEnv, home: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: from.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    DOTNET_CLI_HOME: home,
    TMPDIR: home,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
    DOTNET_GENERATE_ASPNET_CERTIFICATE: 'false',
    DOTNET_RUNNING_IN_CONTAINER: 'true',
    MSBUILDDISABLENODEREUSE: '1'
  }
  // Where the SDK and packages are: locations, never credentials.
  for (const k of ['DOTNET_ROOT', 'DOTNET_ROOT_X64', 'DOTNET_ROOT_ARM64', 'NUGET_PACKAGES', 'LANG']) {
    const v = from[k]
    if (v !== undefined && v !== '') env[k] = v
  }
  return env
}

interface Evaluator {
  useSdk: boolean
  workspace: string
  configuration: string
  /** Empty folder outside the repository: the evaluation's cwd, HOME and TMPDIR. */
  home: string
  /** Properties only (discovery): no -preprocess, so no import list. */
  propertiesOnly?: boolean
}

/** What dotnet printed last, under what it could not do. */
function msbuildFailed(what: string, projectFile: string, r: ProcResult): ProjectError {
  return new ProjectError(`dotnet msbuild could not ${what} ${path.basename(projectFile)}:\n${clip((r.stdout + r.stderr).trim().split('\n').slice(-15).join('\n'), 4000)}`)
}

async function evaluate(projectFile: string, framework: string, ev: Evaluator): Promise<MsbuildEvaluation & { imports?: string[] }> {
  if (!ev.useSdk) return evaluateXml(projectFile, fs.readFileSync(projectFile, 'utf8'), directoryBuildProps(projectFile, ev.workspace))
  const env = evaluationEnv(process.env, ev.home)
  if (ev.propertiesOnly === true) {
    const r = await run('dotnet', msbuildArgv(projectFile, framework, ev.configuration), { cwd: ev.home, env })
    if (r.code !== 0) throw msbuildFailed('evaluate', projectFile, r)
    return parseMsbuildJson(r.stdout)
  }
  const pp = path.join(ev.home, `${path.basename(projectFile)}-${process.hrtime.bigint()}.pp.xml`)
  // Properties and the preprocessed project (the one place MSBuild names every import) side by side.
  const [r, p] = await Promise.all([
    run('dotnet', msbuildArgv(projectFile, framework, ev.configuration), { cwd: ev.home, env }),
    run('dotnet', preprocessArgv(projectFile, framework, ev.configuration, pp), { cwd: ev.home, env })
  ])
  if (r.code !== 0) throw msbuildFailed('evaluate', projectFile, r)
  const out = parseMsbuildJson(r.stdout)
  if (p.code !== 0 || !fs.existsSync(pp)) throw msbuildFailed('list the imports of', projectFile, p)
  const imports = repositoryImports(parseImports(fs.readFileSync(pp, 'utf8')), out.locations ?? [])
  fs.rmSync(pp, { force: true })
  return { ...out, imports }
}

export interface ProjectRead {
  facts: ProjectFacts
  restoreFiles: string[]
  /** NuGet.config / global.json files above the context, which the build cannot see. */
  aboveContext: string[]
  /**
   * Every file the build consumes, relative to the context (inputs.ts: the projects' folders,
   * restore inputs, item files, .editorconfig); undefined when no SDK could list the items.
   */
  contextFiles?: string[]
  /** Item files in the workspace but outside the context. */
  itemsOutside: string[]
  /** What the build cannot see that restore or the evaluation reads (local package sources, files read by property functions). */
  notes?: string[]
  evaluatedBy: 'dotnet msbuild' | 'XML fallback'
}

/** Each listed framework of a multi-targeted project that was evaluated without one. */
function innerFrameworks(e: MsbuildEvaluation): string[] {
  if ((e.properties.TargetFramework ?? '').trim() !== '') return []
  return (e.properties.TargetFrameworks ?? '')
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t !== '')
}

export async function readProject(projectInput: string, framework: string, context: string, workspace: string, configuration = 'Release', tempDir = os.tmpdir()): Promise<ProjectRead> {
  const projectFile = locateProject(projectInput)
  const useSdk = onPath('dotnet')
  if (!useSdk) core.warning('No .NET SDK on PATH: reading the project XML instead (conditions and SDK defaults are not evaluated). actions/setup-dotnet gives exact results.')
  const home = fs.mkdtempSync(path.join(tempDir, 'aot-buildx-eval-'))
  try {
    const ev: Evaluator = { useSdk, workspace, configuration, home }
    // Evaluate without a framework first: forcing TargetFramework on a single-target project
    // would hide a mismatch with the "framework" input.
    let top = await evaluate(projectFile, '', ev)
    const listed = (top.properties.TargetFrameworks ?? '').split(';').map((t) => t.trim())
    if (framework !== '' && listed.includes(framework)) {
      const inner = await evaluate(projectFile, framework, ev)
      top = { ...inner, properties: { ...inner.properties, TargetFrameworks: top.properties.TargetFrameworks } }
    }
    // Follow ProjectReference transitively: the restore layer needs every project file and
    // every file each of them imports, and the build every file their items name.
    const imports = new Set<string>(top.imports ?? [])
    const items = new Set<string>(top.items ?? [])
    const seen = new Set<string>([projectFile])
    let level = [...top.references]
    while (level.length > 0) {
      const next = [...new Set(level.map((r) => path.resolve(r)))].filter((r) => !seen.has(r))
      for (const ref of next) {
        if (!fs.existsSync(ref)) throw new ProjectError(`${path.basename(projectFile)} references ${ref}, which does not exist`)
        seen.add(ref)
      }
      // One level at a time, evaluated side by side.
      const evs = await Promise.all(next.map((ref) => evaluate(ref, '', ev)))
      // A multi-targeted library's items can depend on the framework: each one's count.
      const inner = useSdk ? await Promise.all(next.flatMap((ref, i) => innerFrameworks(evs[i] ?? { properties: {}, references: [] }).map((tf) => evaluate(ref, tf, ev)))) : []
      for (const e of [...evs, ...inner]) {
        for (const f of e.imports ?? []) imports.add(f)
        for (const f of e.items ?? []) items.add(f)
      }
      // A reference may be conditioned on the framework: the inner evaluations' count too.
      level = [...evs, ...inner].flatMap((e) => e.references)
    }
    const refs = [...seen].filter((p) => p !== projectFile)
    const facts = projectFacts(projectFile, top, framework, refs)
    const projects = [projectFile, ...refs]
    const view = repositoryView(workspace)
    const restore = restoreFiles(context, projects, (p) => fs.existsSync(p), useSdk ? [...imports] : undefined, workspace, view)
    const consumed = useSdk ? contextInputs(context, workspace, restore.files, projects, [...items], view) : undefined
    return {
      facts,
      restoreFiles: restore.files,
      aboveContext: restore.warnings,
      contextFiles: consumed?.files,
      itemsOutside: consumed?.outside ?? [],
      notes: restore.notes,
      evaluatedBy: useSdk ? 'dotnet msbuild' : 'XML fallback'
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
}

/**
 * Properties of many projects (discovery), each evaluated alone without following references:
 * a few at a time, as MSBuild evaluations are CPU-bound.
 */
export async function evaluateProperties(projectFiles: string[], workspace: string, configuration: string, tempDir: string): Promise<Map<string, ProjectProperties>> {
  const useSdk = onPath('dotnet')
  if (!useSdk) core.warning('No .NET SDK on PATH: reading the project XML instead (conditions and SDK defaults are not evaluated). actions/setup-dotnet gives exact results.')
  const home = fs.mkdtempSync(path.join(tempDir, 'aot-buildx-eval-'))
  const out = new Map<string, ProjectProperties>()
  try {
    const ev: Evaluator = { useSdk, workspace, configuration, home, propertiesOnly: true }
    const queue = [...projectFiles]
    const failed: string[] = []
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        try {
          out.set(f, (await evaluate(f, '', ev)).properties)
        } catch (e) {
          failed.push((e as Error).message)
        }
      }
    }
    // Every worker finishes before the folder they evaluate in is removed.
    await Promise.all(Array.from({ length: Math.min(4, queue.length) }, worker))
    // A project that cannot be evaluated may be an app: never skipped without a word.
    if (failed.length > 0) throw new ProjectError(failed.join('\n'))
    return out
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
}
