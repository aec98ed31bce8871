// mode: discover, as named phases: candidates -> apps -> changed files -> inputs per app ->
// matrix. Every evaluation runs in one sandbox container of the SDK image (the engine's
// `docker run`, never buildx); git for changed-since.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import type { Runner } from '../action/env.js'
import type { Settings } from '../action/inputs.js'
import { setOutputs } from '../action/outputs.js'
import { admitted } from '../dockerfile/ignore.js'
import { evaluateBatch, evaluateProperties, hintTexts, readProject, withSandbox, type Sandbox } from '../dotnet/evaluate.js'
import { batchPays, type BatchEvaluation } from '../dotnet/evaluator.js'
import { evaluationImage, frameworkHint } from '../dotnet/sandbox.js'
import { firstChangedInput, isAotApp, matrixEntries, newestFramework, parseSln, parseSlnx, type MatrixEntry } from '../dotnet/solution.js'
import { clip, InputError, printable, ProjectError } from '../util/errors.js'
import { checkInsideWorkspace, existsInside, liesInside, readRepositoryFile } from '../util/files.js'
import { checkoutArgs, checkoutOf, ownGitEnv } from '../util/git.js'
import { code } from '../util/markdown.js'
import { isInside, toPosix } from '../util/paths.js'
import { run } from '../util/proc.js'
import { showUntrusted } from '../util/untrusted.js'
import { summarize } from './finish.js'

const SKIP_FOLDERS = new Set(['bin', 'obj', 'node_modules', '.git', '.vs', '.vscode'])

export async function discover(s: Settings, runner: Runner, started: number): Promise<void> {
  if (s.ignoredInputs.length > 0) core.warning(`mode: discover builds nothing, so these inputs are ignored: ${s.ignoredInputs.join(', ')}. They belong in the build jobs of the matrix.`)
  checkInsideWorkspace('context', s.workspace, s.context)
  checkInsideWorkspace('project', s.workspace, s.project)
  const candidates = listProjects(s.project, s.workspace)
  const image = evaluationImage(s.sdkImage, frameworkHint(hintTexts(candidates, s.workspace)))
  core.info(`Evaluating in a sandbox: one container of ${image} (pulled first if the engine lacks it) with no network, the workspace read-only and none of the runner's variables`)
  // Before the container starts: a revision git cannot compare fails at once.
  const changed = s.changedSince === '' ? [] : await changedFiles(s.changedSince, s.context, s.workspace, s.tempDir)
  await withSandbox(image, s.workspace, candidates, (sb) => discoverIn(sb, candidates, changed, s, runner, started))
}

async function discoverIn(sb: Sandbox, candidates: string[], changed: string[], s: Settings, runner: Runner, started: number): Promise<void> {
  const rel = (p: string): string => toPosix(path.relative(s.workspace, p)) || '.'
  let known: Map<string, BatchEvaluation> | undefined
  const apps = await core.group(`Find the Native AOT apps among ${candidates.length} projects`, async () => {
    // Every project in one MSBuild process (where that beats one process each); with changed-since its items, imports and references too.
    const full = s.changedSince !== ''
    if (batchPays(candidates.length, full, sb.jobs)) {
      const batch = await evaluateBatch(candidates, s.configuration, s.workspace, full, sb)
      if (batch.failure !== undefined) core.warning(`The projects could not be evaluated in one MSBuild process (${printable(batch.failure)}): each is evaluated on its own, which takes longer.`)
      known = batch.evaluations
    }
    const props = await evaluateProperties(candidates, s.configuration, sb, known)
    const found: { project: string; framework: string }[] = []
    for (const f of candidates) {
      const p = props.get(f) ?? {}
      const app = isAotApp(p)
      core.info(`${printable(rel(f))}: ${app ? 'Native AOT app' : `not listed (OutputType ${printable(p.OutputType ?? '')}, PublishAot ${printable(p.PublishAot ?? '')}${(p.IsTestProject ?? '') === 'true' ? ', a test project' : ''})`}`)
      if (app) found.push({ project: f, framework: (p.TargetFramework ?? '').trim() === '' ? newestFramework(p.TargetFrameworks ?? '') : '' })
    }
    return found
  })
  let listed = apps
  const why = new Map<string, string>()
  if (s.changedSince !== '') {
    listed = await core.group(`Which apps consume one of the ${changed.length} files changed since ${s.changedSince}`, async () => {
      const out: typeof apps = []
      const ignoreText = readRepositoryFile('context', s.context, path.join(s.context, '.dockerignore'))
      // Every app's inputs read side by side in the one sandbox; reported in order.
      const hits = await Promise.all(apps.map((a) => changedInput(a.project, a.framework, changed, ignoreText, s, sb, known)))
      for (const [i, a] of apps.entries()) {
        const hit = hits[i]
        core.info(`${printable(rel(a.project))}: ${hit === undefined ? 'unchanged' : `changed (${printable(rel(hit))})`}`)
        if (hit !== undefined) {
          why.set(a.project, rel(hit))
          out.push(a)
        }
      }
      return out
    })
  }
  const entries = matrixEntries(
    listed.map((a) => ({ project: rel(a.project), framework: a.framework })),
    s.platforms.join(',')
  )
  setOutputs({ matrix: JSON.stringify({ include: entries }), count: String(entries.length) })
  // JSON escapes every control character: the line cannot become a workflow command.
  showUntrusted(`matrix: ${JSON.stringify({ include: entries })}`)
  await summarize(discoverySummary(entries, apps.length, s.changedSince, (p) => why.get(path.join(s.workspace, p))), s, runner)
  core.info(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${entries.length} of ${apps.length} apps listed.`)
}

/** The .csproj files a solution lists, or that a folder holds at any depth (build output and tool folders skipped). */
function listProjects(target: string, workspace: string): string[] {
  let st: fs.Stats
  try {
    st = fs.statSync(target)
  } catch {
    throw new InputError('project', `${target} does not exist`, 'in mode: discover, a .sln or .slnx file, a folder, or a .csproj')
  }
  if (st.isFile()) {
    // Read only where it really lies inside the workspace: a link to /dev/zero or a runner file is refused.
    const dir = path.dirname(target)
    let listed: string[]
    if (/\.csproj$/i.test(target)) return [target]
    if (/\.slnx$/i.test(target)) {
      try {
        listed = parseSlnx(readRepositoryFile('project', workspace, target) ?? '')
      } catch (e) {
        throw new ProjectError(`${path.basename(target)}: ${(e as Error).message}`)
      }
    } else if (/\.sln$/i.test(target)) listed = parseSln(readRepositoryFile('project', workspace, target) ?? '')
    else throw new InputError('project', `${target} is not a solution or project file`, 'in mode: discover, a .sln or .slnx file, a folder, or a .csproj')
    const out: string[] = []
    for (const p of listed) {
      const abs = path.resolve(dir, p)
      // The solution is the repository's: it cannot send us outside the workspace, through a
      // symlink either, and whether a path out there exists is never looked at.
      if (!liesInside(workspace, abs)) throw new ProjectError(`${path.basename(target)} lists ${clip(p, 200)}, which lies outside the workspace`)
      if (fs.existsSync(abs)) out.push(abs)
      else core.warning(`${path.basename(target)} lists ${clip(p, 200)}, which does not exist: skipped.`)
    }
    return [...new Set(out)].sort()
  }
  const out: string[] = []
  const walk = (dir: string): void => {
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch (e) {
      throw new InputError('project', `the folder ${printable(toPosix(path.relative(workspace, dir)) || '.')} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'a folder the runner can read, or a .sln/.slnx file')
    }
    for (const e of entries) {
      // A name with control characters could not reach a Dockerfile or a log line intact.
      // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
      if (/[\u0000-\u001f\u007f]/.test(e.name)) {
        core.warning(`Skipped ${printable(e.name)} in ${printable(toPosix(path.relative(workspace, dir)) || '.')}: its name has control characters.`)
        continue
      }
      // Never through a symlink: it could lead out of the workspace or loop.
      if (e.isDirectory() && !SKIP_FOLDERS.has(e.name)) walk(path.join(dir, e.name))
      else if (e.isFile() && /\.csproj$/i.test(e.name)) out.push(path.join(dir, e.name))
    }
  }
  walk(target)
  return out.sort()
}

/**
 * Absolute paths of the files in the context changed between the revision's merge base with
 * HEAD and HEAD. Git runs in the context and names paths relative to it, so a checkout in a
 * subfolder of the workspace or a workspace behind a symlink compares like for like. The
 * checkout is named (--git-dir, --work-tree): git never looks for a repository above the context.
 */
async function changedFiles(since: string, context: string, workspace: string, tempDir: string): Promise<string[]> {
  const checkout = checkoutOf(context, workspace)
  if (checkout === undefined) throw new InputError('changed-since', 'the context is not in a git checkout (no .git folder from the context up to the workspace)', 'a workspace checked out with actions/checkout, or no changed-since')
  // Plain git: no pager, no external diff or textconv driver from the repository's attributes.
  const d = await run('git', [...checkoutArgs(checkout), 'diff', '--name-only', '--relative', '--no-renames', '--no-ext-diff', '--no-textconv', '-z', `${since}...HEAD`, '--'], {
    cwd: context,
    env: ownGitEnv(workspace, tempDir)
  })
  if (d.code !== 0) {
    const why = d.stderr.trim().split('\n')[0] ?? ''
    if (/not a git repository/i.test(why)) throw new InputError('changed-since', `the context is not in a git checkout (${clip(why, 200)})`, 'a workspace checked out with actions/checkout, or no changed-since')
    throw new InputError(
      'changed-since',
      `git cannot compare ${since} with HEAD: ${clip(why, 300)}`,
      'a revision present in the checkout: check out with fetch-depth: 0 (or fetch the base), e.g. changed-since: ${{ github.event.pull_request.base.sha }}'
    )
  }
  return d.stdout
    .split('\0')
    .filter((f) => f !== '')
    .map((f) => path.join(context, f))
}

/** The first changed file the app's build would see (or a source deleted from its folders). */
async function changedInput(project: string, framework: string, changed: string[], ignoreText: string | undefined, s: Settings, sb: Sandbox, known?: Map<string, BatchEvaluation>): Promise<string | undefined> {
  let r
  try {
    r = await readProject(project, framework, s.context, s.workspace, s.configuration, sb, known)
  } catch (e) {
    // An app whose inputs cannot be read is listed: its build job will say why.
    core.warning(`${printable(toPosix(path.relative(s.workspace, project)))}: ${printable((e as Error).message.split('\n')[0] ?? '')} Listed so its build job reports it.`)
    return project
  }
  const own = path.join(s.context, '.dockerignore')
  // Without an SDK the build sends the whole context: then any change in it counts.
  const files =
    r.contextFiles === undefined || s.contextFiles === 'all'
      ? new Set(changed.filter((f) => isInside(s.context, f)))
      : new Set([...admitted(r.contextFiles, ignoreText).map((f) => path.join(s.context, f)), own])
  const folders = [r.facts.projectFile, ...r.facts.references].map((p) => path.dirname(p))
  return firstChangedInput({ files, projectFolders: folders, context: s.context }, changed, (f) => existsInside(s.workspace, f))
}

function discoverySummary(entries: MatrixEntry[], apps: number, since: string, why: (project: string) => string | undefined): string {
  const L = [`### Native AOT apps: ${entries.length} of ${apps} listed${since !== '' ? ` (changed since ${code(since)})` : ''}`, '']
  if (entries.length === 0) return `${L.join('\n')}\nNothing to build.\n`
  L.push(since !== '' ? '| project | image name | changed input |' : '| project | image name |', since !== '' ? '|---|---|---|' : '|---|---|')
  for (const e of entries) {
    const w = why(e.project)
    L.push(since !== '' ? `| ${code(e.project)} | ${code(e.name)} | ${w === undefined ? '' : code(w)} |` : `| ${code(e.project)} | ${code(e.name)} |`)
  }
  return `${L.join('\n')}\n`
}
