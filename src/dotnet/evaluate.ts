// Finds the project and reads its facts: `dotnet msbuild -getProperty`/`-getItem`/`-preprocess`
// (Directory.Build.props, conditions and defaults count), run in the evaluation sandbox, a
// container of the SDK image: no code of the repository runs on the runner.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as readline from 'node:readline'
import { clip, InputError, printable, ProjectError } from '../util/errors.js'
import { isInside } from '../util/paths.js'
import { GIT_SAFETY_ENV, run } from '../util/proc.js'
import { contextInputs } from './inputs.js'
import { existsInside, liesInside, repositoryView } from '../util/files.js'
import { evaluationKey, evaluatorRequest, EVALUATOR_METADATA, parseEvaluatorOutput, type BatchEvaluation } from './evaluator.js'
import { FILE_PROPERTIES, INPUT_ITEMS, LOCATION_PROPERTIES, MSBUILD_PROPERTIES, msbuildArgv, msbuildError, parseImports, parseMsbuildJson, preprocessArgv, projectFacts, repositoryImports, restoreFiles, type MsbuildEvaluation, type ProjectFacts, type ProjectProperties } from './project.js'
import { detectVersioning, VERSIONING_PROPERTIES, type GitVersionTool } from './versioning.js'
import { gitFolderCandidates, parseResponse, preprocessPath, requestLine, sandboxArgv, sandboxLimits, type RequestKind, type SandboxResult } from './sandbox.js'

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

/** A running sandbox: evaluations go in as argv, results come back as validated JSON lines. */
export interface Sandbox {
  image: string
  /** Evaluations it may run at once. */
  jobs: number
  run(kind: RequestKind, argv: string[] | ((id: number) => string[])): Promise<SandboxResult>
}

/** Longest an evaluation sandbox may live: a repository that hangs MSBuild gets an error, not a stuck job. */
const SANDBOX_TIMEOUT_MS = 15 * 60 * 1000

/** Sandboxes whose input was ended but which may still be going away (withSandbox's `wait: false`). */
const closing: Promise<unknown>[] = []

/** Resolves once every sandbox started by this process is gone. */
export async function sandboxesGone(): Promise<void> {
  await Promise.all(closing)
}

/**
 * Runs `f` with one evaluation sandbox (one container for every evaluation it asks), then
 * ends the container's input and waits for it to be gone (--rm). With `wait: false` it returns
 * once `f` has its answers, and the container goes away meanwhile (docker run --rm returns only
 * after the engine removed it: a few hundred ms); sandboxesGone() waits for it.
 */
export async function withSandbox<T>(image: string, workspace: string, projectPaths: string[], f: (sb: Sandbox) => Promise<T>, opts: { wait?: boolean } = {}): Promise<T> {
  const name = `aot-buildx-eval-${process.pid}-${randomBytes(4).toString('hex')}`
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  const hidden = gitFolderCandidates(workspace, projectPaths.map((p) => path.resolve(p)), topFolders(workspace)).filter(isRealFolder)
  const limits = sandboxLimits(os.availableParallelism(), os.totalmem())
  const argv = sandboxArgv({ image, workspace, name, user: `${uid}:${gid}`, limits, hidden })
  // The docker client is ours and gets the runner's environment (DOCKER_HOST, DOCKER_CONFIG); the container gets none of it.
  const child = spawn('docker', argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...GIT_SAFETY_ENV } })
  const pending = new Map<number, { resolve: (r: SandboxResult) => void; reject: (e: Error) => void }>()
  let stderr = ''
  let ended: Error | undefined
  const fail = (e: Error): void => {
    ended ??= e
    for (const p of pending.values()) p.reject(ended)
    pending.clear()
  }
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString()
  })
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const r = parseResponse(line)
    const p = r === undefined ? undefined : pending.get(r.id)
    if (r === undefined || p === undefined) {
      fail(new ProjectError('the evaluation sandbox printed a line that is not an answer to a request'))
      return
    }
    pending.delete(r.id)
    p.resolve(r)
  })
  const exited = new Promise<number>((resolve) => {
    child.on('error', (e) => {
      fail(new ProjectError(`the project is evaluated in a container, and docker could not be started (${(e as NodeJS.ErrnoException).code ?? e.message}): a Docker engine is needed`))
      resolve(-1)
    })
    child.on('close', (code) => {
      fail(new ProjectError(`the evaluation sandbox (docker run ${image}) stopped with exit code ${code ?? -1}${stderr.trim() !== '' ? `: ${clip(printable(stderr.trim().split('\n').slice(-3).join(' | ')), 400)}` : ''}`))
      resolve(code ?? -1)
    })
  })
  child.stdin.on('error', () => {
    // The container went away: its exit reports why.
  })
  const timer = setTimeout(() => {
    fail(new ProjectError(`the project's evaluation took longer than ${SANDBOX_TIMEOUT_MS / 60000} minutes`))
    void run('docker', ['rm', '--force', name])
  }, SANDBOX_TIMEOUT_MS)
  let next = 0
  const sb: Sandbox = {
    image,
    jobs: limits.jobs,
    run: (kind, argvOf) =>
      new Promise<SandboxResult>((resolve, reject) => {
        if (ended !== undefined) {
          reject(ended)
          return
        }
        const id = next++
        pending.set(id, { resolve, reject })
        child.stdin.write(requestLine(id, kind, typeof argvOf === 'function' ? argvOf(id) : argvOf))
      })
  }
  const gone = exited.then(() => {
    clearTimeout(timer)
  })
  try {
    return await f(sb)
  } finally {
    child.stdin.end()
    if (opts.wait === false) closing.push(gone)
    else await gone
  }
}

/** What dotnet said when it failed, as much as we relay: the MSBuild code, file:line and a clipped message. */
function msbuildFailed(what: string, projectFile: string, r: SandboxResult): ProjectError {
  return new ProjectError(`dotnet msbuild could not ${what} ${printable(path.basename(projectFile))} (exit code ${r.code}): ${msbuildError(r.err)}`)
}

interface Evaluator {
  sandbox: Sandbox
  configuration: string
  /** Properties only (discovery): no -preprocess, so no import list. */
  propertiesOnly?: boolean
  /** Evaluations done already, in one batch (evaluateBatch); anything else is evaluated on its own. */
  known?: Map<string, BatchEvaluation>
}

async function evaluate(projectFile: string, framework: string, ev: Evaluator): Promise<MsbuildEvaluation & { imports?: string[] }> {
  const done = ev.known?.get(evaluationKey(projectFile, framework))
  if (done?.error !== undefined) throw new ProjectError(`dotnet msbuild could not evaluate ${printable(path.basename(projectFile))}: ${msbuildError(done.error)}`)
  // Properties serve any request; items and imports only one that asked for them.
  if (done?.evaluation !== undefined && (ev.propertiesOnly === true || done.evaluation.imports !== undefined)) return done.evaluation
  const props = ev.sandbox.run('p', msbuildArgv(projectFile, framework, ev.configuration))
  if (ev.propertiesOnly === true) {
    const r = await props
    if (r.code !== 0) throw msbuildFailed('evaluate', projectFile, r)
    return parseMsbuildJson(r.out)
  }
  // Properties and the preprocessed project (the one place MSBuild names every import) side by side.
  const [r, p] = await Promise.all([props, ev.sandbox.run('i', (id) => preprocessArgv(projectFile, framework, ev.configuration, preprocessPath(id)))])
  if (r.code !== 0) throw msbuildFailed('evaluate', projectFile, r)
  const out = parseMsbuildJson(r.out)
  if (p.code !== 0) throw msbuildFailed('list the imports of', projectFile, p)
  const imports = repositoryImports(parseImports(p.out), out.locations ?? [])
  return { ...out, imports }
}

export interface ProjectRead {
  facts: ProjectFacts
  restoreFiles: string[]
  /** NuGet.config / global.json files above the context, which the build cannot see. */
  aboveContext: string[]
  /**
   * Every file the build consumes, relative to the context (inputs.ts: the projects' folders,
   * restore inputs, item files, .editorconfig).
   */
  contextFiles?: string[]
  /** Item files in the workspace but outside the context. */
  itemsOutside: string[]
  /** What the build cannot see that restore or the evaluation reads (local package sources, files read by property functions). */
  notes?: string[]
  /** How the project was evaluated, for the log. */
  evaluatedBy: string
  /** Versioning tools of the project or its references that compute the version from git history. */
  versioning?: GitVersionTool[]
}

/** Each listed framework of a multi-targeted project that was evaluated without one. */
function innerFrameworks(e: MsbuildEvaluation): string[] {
  if ((e.properties.TargetFramework ?? '').trim() !== '') return []
  return (e.properties.TargetFrameworks ?? '')
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t !== '')
}

/**
 * What sandbox.ts frameworkHint reads to choose the evaluating SDK: each project file and the
 * Directory.Build.props files above it up to the workspace, as text, from inside the workspace
 * only (nothing of it is evaluated).
 */
export function hintTexts(projectFiles: string[], workspace: string): string[] {
  const view = repositoryView(workspace)
  const root = path.resolve(workspace)
  const files = new Set<string>()
  for (const p of projectFiles) {
    files.add(path.resolve(p))
    for (let dir = path.dirname(path.resolve(p)); isInside(root, dir); dir = path.dirname(dir)) {
      files.add(path.join(dir, 'Directory.Build.props'))
      if (dir === root) break
    }
  }
  return [...files].flatMap((f) => (view.isFile(f) ? (view.read(f) ?? []) : []))
}

/** The project's facts and the files its build consumes, every evaluation in `sandbox`. */
export async function readProject(projectInput: string, framework: string, context: string, workspace: string, configuration: string, sandbox: Sandbox, known?: Map<string, BatchEvaluation>): Promise<ProjectRead> {
  const projectFile = locateProject(projectInput)
  const ev: Evaluator = { sandbox, configuration, known }
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
  const evaluated: MsbuildEvaluation[] = [top]
  const seen = new Set<string>([projectFile])
  let level = [...top.references]
  while (level.length > 0) {
    const next = [...new Set(level.map((r) => path.resolve(r)))].filter((r) => !seen.has(r))
    for (const ref of next) {
      // Through a symlink too, and without looking at whether a path out there exists.
      if (!liesInside(workspace, ref)) throw new ProjectError(`${path.basename(projectFile)} references ${printable(ref)}, which lies outside the workspace`)
      if (!fs.existsSync(ref)) throw new ProjectError(`${path.basename(projectFile)} references ${printable(ref)}, which does not exist`)
      seen.add(ref)
    }
    // One level at a time, evaluated side by side.
    const evs = await Promise.all(next.map((ref) => evaluate(ref, '', ev)))
    // A multi-targeted library's items can depend on the framework: each one's count.
    const inner = await Promise.all(next.flatMap((ref, i) => innerFrameworks(evs[i] ?? { properties: {}, references: [] }).map((tf) => evaluate(ref, tf, ev))))
    for (const e of [...evs, ...inner]) {
      evaluated.push(e)
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
  // Never stat'ed through a link out: whether a runner file exists must not change what we do.
  const restore = restoreFiles(context, projects, (p) => existsInside(workspace, p), [...imports], workspace, view)
  const consumed = contextInputs(context, workspace, restore.files, projects, [...items], view)
  return {
    facts,
    restoreFiles: restore.files,
    aboveContext: restore.warnings,
    contextFiles: consumed.files,
    itemsOutside: consumed.outside,
    notes: restore.notes,
    evaluatedBy: `dotnet msbuild in a sandbox container of ${sandbox.image}`,
    versioning: detectVersioning(evaluated.map((e) => ({ packages: e.packages ?? [], properties: e.properties })))
  }
}

/**
 * Properties of many projects (discovery), each evaluated alone without following references,
 * all in `sandbox` (which runs as many at once as it has cores), or taken from `known`.
 */
export async function evaluateProperties(projectFiles: string[], configuration: string, sandbox: Sandbox, known?: Map<string, BatchEvaluation>): Promise<Map<string, ProjectProperties>> {
  const ev: Evaluator = { sandbox, configuration, propertiesOnly: true, known }
  const out = new Map<string, ProjectProperties>()
  const failed: string[] = []
  await Promise.all(
    projectFiles.map(async (f) => {
      try {
        out.set(f, (await evaluate(f, '', ev)).properties)
      } catch (e) {
        failed.push((e as Error).message)
      }
    })
  )
  // A project that cannot be evaluated may be an app: never skipped without a word.
  if (failed.length > 0) throw new ProjectError(failed.sort().join('\n'))
  return out
}

/**
 * Every project evaluated in one MSBuild process of the sandbox (evaluator.ts): properties
 * only, or (`full`) properties, items and imports, with each ProjectReference inside the
 * workspace and each framework of a multi-targeted project followed. A failure (the batch could
 * not run: an SDK image whose MSBuild lacks what the evaluator uses, say) says why; the caller
 * then evaluates each project on its own, as readProject does.
 */
export async function evaluateBatch(projectFiles: string[], configuration: string, workspace: string, full: boolean, sandbox: Sandbox): Promise<{ evaluations: Map<string, BatchEvaluation>; failure?: undefined } | { evaluations?: undefined; failure: string }> {
  let request: string[]
  try {
    request = evaluatorRequest({
      configuration,
      workspace,
      full,
      jobs: sandbox.jobs,
      // The same names msbuildArgv asks for: a batch result stands in for that evaluation.
      properties: [...MSBUILD_PROPERTIES, ...LOCATION_PROPERTIES, ...FILE_PROPERTIES, ...VERSIONING_PROPERTIES],
      items: ['ProjectReference', 'PackageReference', ...INPUT_ITEMS],
      metadata: EVALUATOR_METADATA,
      // A path with a line break (a solution can name one) is evaluated on its own.
      projects: projectFiles.map((f) => path.resolve(f)).filter((f) => !/[\r\n]/.test(f))
    })
  } catch (e) {
    return { failure: (e as Error).message }
  }
  const r = await sandbox.run('g', [request.join('\n')])
  if (r.code !== 0) return { failure: `exit code ${r.code}: ${msbuildError(r.err)}` }
  return { evaluations: parseEvaluatorOutput(r.out) }
}

function topFolders(workspace: string): string[] {
  try {
    return fs
      .readdirSync(workspace, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  } catch {
    return []
  }
}

/** A folder itself, not a symlink (a tmpfs cannot cover a link, and a link's target is not in the sandbox). */
function isRealFolder(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory()
  } catch {
    return false
  }
}
