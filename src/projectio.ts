// Finds the project and reads its facts: `dotnet msbuild -getProperty` when an SDK is on
// the runner (Directory.Build.props, conditions and defaults count), XML as a fallback.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { InputError, ProjectError } from './errors.js'
import { evaluateXml, msbuildArgv, parseMsbuildJson, projectFacts, restoreFiles, type MsbuildEvaluation, type ProjectFacts } from './project.js'
import { onPath, run } from './proc.js'

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
  const found = fs.readdirSync(p).filter((f) => PROJECT_EXT.test(f)).sort()
  if (found.length === 0) throw new InputError('project', `no .csproj file in ${p}`, 'a .csproj file, or a folder that holds exactly one')
  if (found.length > 1) throw new InputError('project', `${p} holds several projects (${found.join(', ')})`, 'the path of one of them')
  return path.join(p, found[0])
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

async function evaluate(projectFile: string, framework: string, useSdk: boolean, workspace: string): Promise<MsbuildEvaluation> {
  if (useSdk) {
    const env = { ...(process.env as Record<string, string>), DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1', DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1' }
    const r = await run('dotnet', msbuildArgv(projectFile, framework), { cwd: path.dirname(projectFile), env })
    if (r.code !== 0) {
      throw new ProjectError(`dotnet msbuild could not evaluate ${path.basename(projectFile)}:\n${(r.stdout + r.stderr).trim().split('\n').slice(-15).join('\n')}`)
    }
    return parseMsbuildJson(r.stdout)
  }
  return evaluateXml(projectFile, fs.readFileSync(projectFile, 'utf8'), directoryBuildProps(projectFile, workspace))
}

export interface ProjectRead {
  facts: ProjectFacts
  restoreFiles: string[]
  evaluatedBy: 'dotnet msbuild' | 'XML fallback'
}

export async function readProject(projectInput: string, framework: string, context: string, workspace: string): Promise<ProjectRead> {
  const projectFile = locateProject(projectInput)
  const useSdk = onPath('dotnet')
  if (!useSdk) core.warning('No .NET SDK on PATH: reading the project XML instead (conditions and SDK defaults are not evaluated). actions/setup-dotnet gives exact results.')
  // Evaluate without a framework first: forcing TargetFramework on a single-target project
  // would hide a mismatch with the "framework" input.
  let top = await evaluate(projectFile, '', useSdk, workspace)
  const listed = (top.properties.TargetFrameworks ?? '').split(';').map((t) => t.trim())
  if (framework !== '' && listed.includes(framework)) {
    const inner = await evaluate(projectFile, framework, useSdk, workspace)
    top = { properties: { ...inner.properties, TargetFrameworks: top.properties.TargetFrameworks }, references: inner.references }
  }
  // Follow ProjectReference transitively: the restore layer needs every project file.
  const seen = new Set<string>([projectFile])
  const queue = [...top.references]
  while (queue.length > 0) {
    const ref = path.resolve(queue.shift() as string)
    if (seen.has(ref)) continue
    if (!fs.existsSync(ref)) throw new ProjectError(`${path.basename(projectFile)} references ${ref}, which does not exist`)
    seen.add(ref)
    const ev = await evaluate(ref, '', useSdk, workspace)
    queue.push(...ev.references)
  }
  const refs = [...seen].filter((p) => p !== projectFile)
  const facts = projectFacts(projectFile, top, framework, refs)
  return { facts, restoreFiles: restoreFiles(context, [projectFile, ...refs], (p) => fs.existsSync(p)), evaluatedBy: useSdk ? 'dotnet msbuild' : 'XML fallback' }
}
