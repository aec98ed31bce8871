// The thin shell: reads inputs, runs commands, writes files and outputs. Every decision is
// made by the pure modules it calls.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as core from '@actions/core'
import { budgetFailure } from './budget.js'
import { buildArgv, cacheScope, displayCommand, redactArgv, type BuildPlan } from './buildx.js'
import { defaultRuntimeImage, defaultSdkImage, dockerignorePath, generateDockerfile, generateDockerignore, resolveFlavor } from './dockerfile.js'
import { failureReport, lastMeaningfulLines } from './diagnose.js'
import { BuildError, InputError, ProjectError } from './errors.js'
import { checkPathInputs, checkTempDir, writeGenerated } from './files.js'
import { parseInputs, type Settings } from './inputs.js'
import { inspectImage, type PlatformReport } from './inspect.js'
import { layoutRoot, platformImages, type BlobStore } from './oci.js'
import { archFromNode, archOf } from './platforms.js'
import { run as runProc } from './proc.js'
import { readProject } from './projectio.js'
import { decideQemu } from './qemu.js'
import { sizeOutputs, sizesJson, sizesTable, summaryMarkdown } from './report.js'
import { sizeSetOf } from './sizediff.js'
import { NUGET_STORE_MARKER, exportArgv, mayKeepPackages, hasPackages, nugetCacheKey, nugetCacheMode, restoreSeed, saveSeed, storeMarkerText, storedKey, type NugetCacheMode } from './nugetcache.js'
import { sizeReport } from './sizereport.js'
import { chooseBuilder, ensureBuildx, installQemu, probeBuildx, registeredBinfmt, removeBuilder } from './setup.js'
import { qemuForGivenBuilder } from './builders.js'
import { pushLayoutByDigest } from './layoutpush.js'
import { runMerge } from './merge.js'
import { pushByDigestMethod, repositories } from './scale.js'

export function layoutStore(dir: string): BlobStore {
  return {
    read: async (digest: string) => {
      const [alg, hex] = digest.split(':')
      if (!/^[a-z0-9]+$/.test(alg ?? '') || !/^[a-f0-9]+$/.test(hex ?? '')) throw new Error(`bad digest ${digest}`)
      return fs.promises.readFile(path.join(dir, 'blobs', alg, hex))
    }
  }
}

function ghaCacheAvailable(): boolean {
  return Boolean(process.env.ACTIONS_RESULTS_URL || process.env.ACTIONS_CACHE_URL) && Boolean(process.env.ACTIONS_RUNTIME_TOKEN)
}

async function summarize(text: string, enabled: boolean): Promise<void> {
  if (!enabled || !process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(text).write()
}

interface NugetSeed {
  /** The folder passed as the nuget-seed build context ('' when there is none yet). */
  dir: string
  /** Where the packages are kept between runs. */
  store: string
  key: string
  /** Whether to export the package cache after the build (not needed after an exact hit). */
  save: boolean
}

async function prepareNugetSeed(mode: NugetCacheMode, s: Settings, project: string, restoreFiles: string[], sdkImage: string): Promise<NugetSeed> {
  if (mode === 'off') return { dir: '', store: '', key: '', save: false }
  return core.group('NuGet packages from an earlier run', async () => {
    const store = mode === 'dir' ? s.nugetCacheDir : path.join(s.tempDir, 'aot-buildx-nuget')
    const contents: Record<string, string> = {}
    for (const f of restoreFiles) contents[f] = fs.readFileSync(path.join(s.context, f), 'utf8')
    const { key, restoreKeys } = nugetCacheKey(project, contents, s.platforms, sdkImage)
    let save = true
    if (mode === 'actions') {
      const hit = await restoreSeed(store, key, restoreKeys)
      core.info(`Actions cache: ${hit} (key ${key})`)
      save = hit !== 'exact'
    } else {
      // The folder's own exact hit: exporting the same package set again would only cost time.
      const marker = path.join(store, NUGET_STORE_MARKER)
      save = !(fs.existsSync(marker) && storedKey(fs.readFileSync(marker, 'utf8')) === key && hasPackages(store))
      if (!save) core.info(`${store} holds the packages for this key (${key}): they are not exported again.`)
    }
    const have = hasPackages(store)
    core.info(have ? `Seeding the build's NuGet cache from ${store}` : 'No packages kept yet: restore downloads them.')
    return { dir: have ? store : '', store, key, save }
  })
}

/** Writes the builder's NuGet package cache out to the store, for the next run. */
async function keepNugetPackages(mode: NugetCacheMode, seed: NugetSeed, builder: string, s: Settings, runDir: string): Promise<void> {
  await core.group('Keep NuGet packages for the next run', async () => {
    const dest = path.join(runDir, 'nuget-export')
    const r = await runProc('docker', exportArgv(builder, s.dockerfile, s.context, dest, `${Date.now()}-${process.pid}`), { cwd: s.workspace })
    if (r.code !== 0 || !hasPackages(dest)) {
      core.warning(`Could not export the NuGet packages (exit ${r.code}); the next run downloads them again.\n${lastMeaningfulLines(r.stdout + r.stderr, 10).join('\n')}`)
      return
    }
    // Only a folder this action made (its marker) or an empty one is replaced.
    if (fs.existsSync(seed.store) && fs.readdirSync(seed.store).length > 0 && !fs.existsSync(path.join(seed.store, NUGET_STORE_MARKER))) {
      core.warning(`${seed.store} holds files this action did not write: the NuGet packages are not kept there.`)
      return
    }
    fs.rmSync(seed.store, { recursive: true, force: true })
    fs.mkdirSync(path.dirname(seed.store), { recursive: true })
    try {
      fs.renameSync(dest, seed.store)
    } catch {
      fs.cpSync(dest, seed.store, { recursive: true })
      fs.rmSync(dest, { recursive: true, force: true })
    }
    fs.writeFileSync(path.join(seed.store, NUGET_STORE_MARKER), storeMarkerText(seed.key))
    core.info(`Kept ${fs.readdirSync(path.join(seed.store, 'packages')).length} packages in ${seed.store}`)
    if (mode === 'actions') await saveSeed(seed.store, seed.key)
  })
}

/** The images a failed build still wrote to its OCI layout (none when the layout is missing or incomplete). */
async function builtImages(ociDir: string): Promise<PlatformReport[]> {
  try {
    const store = layoutStore(ociDir)
    const images = await platformImages(store, layoutRoot(fs.readFileSync(path.join(ociDir, 'index.json'), 'utf8')))
    return await Promise.all(images.map((img) => inspectImage(store, img)))
  } catch {
    return []
  }
}

export async function main(): Promise<void> {
  const started = Date.now()
  const env = { workspace: process.env.GITHUB_WORKSPACE || process.cwd(), tempDir: process.env.RUNNER_TEMP || os.tmpdir() }
  const s: Settings = parseInputs((n) => core.getInput(n), env)
  // Symlinked parents and secret files in the context: refused before anything is read or written.
  const keepOut = s.mode === 'build' ? checkPathInputs(s) : []
  if (s.mode === 'build' && s.build) checkTempDir(s.tempDir)
  // Scale-out: join the per-architecture digests; nothing is built.
  if (s.mode === 'merge') {
    if (s.ignoredInputs.length > 0) core.warning(`mode: merge builds nothing, so these inputs are ignored: ${s.ignoredInputs.join(', ')}. They belong in the per-architecture build jobs.`)
    return runMerge(s, started)
  }
  // Read-only engine question, answered while the project is evaluated.
  const buildxProbe = s.build ? probeBuildx() : undefined
  const projectRel = (p: string): string => path.relative(s.workspace, p).split(path.sep).join('/') || '.'

  const proj = await core.group('Read the project', async () => {
    const r = await readProject(s.project, s.framework, s.context, s.workspace, s.configuration, s.tempDir)
    core.info(`${projectRel(r.facts.projectFile)}: ${r.facts.targetName}, ${r.facts.targetFramework}, ${r.facts.isWeb ? 'web' : 'console'} app (evaluated by ${r.evaluatedBy})`)
    if (r.facts.references.length > 0) core.info(`Project references: ${r.facts.references.map(projectRel).join(', ')}`)
    core.info(`Restore layer inputs: ${r.restoreFiles.join(', ')}`)
    for (const f of r.aboveContext) core.warning(`${projectRel(f)} lies above the build context ${projectRel(s.context)}, so the container build does not see it (restore there uses its own sources and SDK settings). Set "context" to a folder that holds it if the build needs it.`)
    return r
  })
  const facts = proj.facts
  const flavor = resolveFlavor(s.flavor, facts.invariantGlobalization)
  const sdkImage = s.sdkImage || defaultSdkImage(facts.dotnetMajor)
  const runtimeImage = s.runtimeImage || defaultRuntimeImage(facts.dotnetMajor, flavor)
  const targets = s.platforms.map(archOf)
  const relProject = path.relative(s.context, facts.projectFile).split(path.sep).join('/')
  const nugetMode = nugetCacheMode(s.nugetCache, s.nugetCacheDir, ghaCacheAvailable())
  if (s.nugetCache === 'true' && nugetMode === 'off') core.warning('nuget-cache: true, but neither the Actions cache service nor nuget-cache-dir is available: packages are not kept.')

  const dockerfileText = generateDockerfile({
    sdkImage,
    runtimeImage,
    flavor,
    targets,
    dotnetMajor: facts.dotnetMajor,
    project: relProject,
    framework: facts.multiTargeted ? facts.targetFramework : '',
    configuration: s.configuration,
    restoreFiles: proj.restoreFiles,
    targetName: facts.targetName,
    isWeb: facts.isWeb,
    nugetSecret: s.nugetConfig !== '',
    buildArgNames: s.buildArgs.map((a) => a.name),
    generatedFrom: `${projectRel(facts.projectFile)} (${facts.targetFramework})`,
    nugetSeed: nugetMode !== 'off'
  })
  // Written before any engine command, so a user gets it even where no engine runs.
  await core.group('Generate the Dockerfile', async () => {
    const how = writeGenerated('dockerfile', s.workspace, s.dockerfile, dockerfileText)
    core.info(`${projectRel(s.dockerfile)}: ${how}`)
    // BuildKit reads <dockerfile>.dockerignore instead of the context's .dockerignore, which
    // it copies: the repository's file is honoured and never edited.
    const own = path.join(s.context, '.dockerignore')
    const ignore = dockerignorePath(s.dockerfile)
    const ignoreHow = writeGenerated('dockerfile', s.workspace, ignore, generateDockerignore(fs.existsSync(own) ? fs.readFileSync(own, 'utf8') : undefined, keepOut))
    core.info(`${projectRel(ignore)}: ${ignoreHow} (${fs.existsSync(own) ? `from ${projectRel(own)}` : 'defaults: the context has no .dockerignore'}${keepOut.length > 0 ? `; never sent: ${keepOut.join(', ')}` : ''})`)
    core.info(`Flavor ${flavor}${s.flavor === 'auto' ? ` (auto: InvariantGlobalization is ${facts.invariantGlobalization})` : ''}; SDK ${sdkImage}; runtime ${runtimeImage}`)
    core.info(dockerfileText)
  })
  core.setOutput('dockerfile', s.dockerfile)

  const runDir = fs.mkdtempSync(path.join(s.tempDir, 'aot-buildx-'))
  const cache = s.cache === 'gha' || (s.cache === 'auto' && ghaCacheAvailable()) ? 'gha' : 'none'
  if (s.cache === 'gha' && !ghaCacheAvailable()) {
    core.warning('cache: gha, but this job has no GitHub Actions cache service (ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL, and ACTIONS_RUNTIME_TOKEN, are unset): BuildKit will fail to import or export it. Use cache: auto to cache only where the service exists.')
  }
  const plan: BuildPlan = {
    builder: s.builder,
    dockerfile: s.dockerfile,
    context: s.context,
    platforms: s.platforms,
    // push-by-digest: no tag anywhere; the merge job tags the index.
    tags: s.pushByDigest ? [] : s.tags,
    labels: s.labels,
    buildArgs: s.buildArgs,
    cacheScope: cacheScope(projectRel(facts.projectFile), s.platforms),
    cache,
    push: s.push && !s.pushByDigest,
    pushByDigest: s.pushByDigest ? repositories(s.tags) : undefined,
    metadataFile: path.join(runDir, 'metadata.json'),
    ociDir: path.join(runDir, 'oci'),
    nugetConfig: s.nugetConfig,
    progress: 'plain',
    dockerfileSha256: createHash('sha256').update(dockerfileText).digest('hex')
  }
  if (!s.build) {
    core.info(`build: false, so nothing is built. The build would run:\n${displayCommand(redactArgv(buildArgv(plan)))}`)
    return
  }

  const { builder, qemu } = await core.group('Set up buildx and QEMU', async () => {
    const version = await ensureBuildx(cache === 'gha', s.buildxVersion, s.tempDir, buildxProbe)
    const b = await chooseBuilder(s.builder, s.platforms, cache === 'gha', process.env.GITHUB_RUN_ID ? `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_JOB ?? ''}-${process.pid}` : String(process.pid))
    core.info(`buildx ${version}; builder ${b.name} (${b.info.driver}${b.created ? ', created for this job' : ''}); platforms ${b.info.platforms.join(', ')}`)
    for (const n of b.notes) core.info(n)
    const q = qemuForGivenBuilder(s.builder, s.builder !== '' ? { install: [], reason: '' } : decideQemu(s.setupQemu, targets, archFromNode(process.arch), registeredBinfmt()))
    await installQemu(q, s.qemuImage)
    core.info(`QEMU: ${q.reason}`)
    return { builder: b, qemu: q }
  })
  plan.builder = builder.name
  const seed = await prepareNugetSeed(nugetMode, s, projectRel(facts.projectFile), proj.restoreFiles, sdkImage)
  if (seed.dir !== '') plan.nugetSeedDir = seed.dir
  // The docker driver cannot push by digest: the OCI layout is pushed after the build instead.
  const layoutPush = s.pushByDigest && pushByDigestMethod(builder.info.driver) === 'layout'
  if (layoutPush) {
    plan.pushByDigest = undefined
    core.info(`The ${builder.info.driver} driver cannot push by digest: the image is pushed from its OCI layout after the build and its checks.`)
  }
  const argv = buildArgv(plan)

  const buildStart = Date.now()
  const result = await core.group(`Build ${s.platforms.join(', ')}`, async () => {
    core.info(displayCommand(redactArgv(argv)))
    return runProc('docker', argv, { stream: true, cwd: s.workspace })
  })
  const buildSeconds = (Date.now() - buildStart) / 1000
  if (fs.existsSync(plan.metadataFile)) core.setOutput('metadata', fs.readFileSync(plan.metadataFile, 'utf8'))
  if (result.code !== 0) {
    // A push can fail after the images were built and written to the layout: say what was built.
    const built = await builtImages(plan.ociDir)
    if (built.length > 0) {
      core.setOutput('sizes', JSON.stringify(sizesJson(built)))
      for (const [k, v] of Object.entries(sizeOutputs(built))) core.setOutput(k, v)
    }
    const failure = failureReport(result.stdout + result.stderr, result.code, projectRel(facts.projectFile), built.map((r) => r.platform))
    await summarize(failure.markdown, s.summary)
    throw new BuildError(failure.message)
  }

  const metadata = JSON.parse(fs.readFileSync(plan.metadataFile, 'utf8')) as Record<string, unknown>
  const indexDigest = String(metadata['containerimage.digest'] ?? '')
  core.setOutput('digest', indexDigest)

  const reports: PlatformReport[] = await core.group('Inspect the images', async () => {
    const store = layoutStore(plan.ociDir)
    const images = await platformImages(store, layoutRoot(fs.readFileSync(path.join(plan.ociDir, 'index.json'), 'utf8')))
    // In parallel: decompressing the layers is most of the action's own time.
    const out: PlatformReport[] = await Promise.all(images.map((img) => inspectImage(store, img)))
    core.info(sizesTable(out))
    return out
  })
  const missing = s.platforms.filter((p) => !reports.some((r) => r.platform === p))
  if (missing.length > 0) throw new BuildError(`the build produced no image for ${missing.join(', ')}`)

  core.setOutput('sizes', JSON.stringify(sizesJson(reports)))
  for (const [k, v] of Object.entries(sizeOutputs(reports))) core.setOutput(k, v)
  const problems = reports.flatMap((r) => r.problems.map((p) => `${r.platform}: ${p}`))
  // push-by-digest: buildx pushed already, or (docker driver) the layout is pushed now, and
  // only when the image passed its checks.
  const digestRepos = s.pushByDigest ? repositories(s.tags) : []
  let pushedDigest = s.pushByDigest && !layoutPush ? indexDigest : ''
  if (layoutPush && problems.length === 0) {
    pushedDigest = layoutRoot(fs.readFileSync(path.join(plan.ociDir, 'index.json'), 'utf8')).digest
    await core.group(`Push ${pushedDigest} by digest to ${digestRepos.join(', ')}`, () => pushLayoutByDigest(plan.ociDir, builder.name, digestRepos, pushedDigest))
    core.setOutput('digest', pushedDigest)
  }
  if (problems.length === 0 && seed.save) {
    const event = process.env.GITHUB_EVENT_NAME ?? ''
    if (mayKeepPackages(event)) await keepNugetPackages(nugetMode, seed, builder.name, s, runDir)
    else core.info(`NuGet packages are not kept on ${event} events: the code built may come from a fork, and trusted runs would restore what it saved.`)
  }
  // The size report runs only for images that passed their checks, so a broken image never
  // becomes a baseline.
  const report =
    problems.length === 0
      ? await core.group('Size report', async () =>
          sizeReport(
            { baselineImage: s.baselineImage, maxSize: s.maxSize, maxIncrease: s.maxIncrease, comment: s.comment, githubToken: s.githubToken, tempDir: s.tempDir, platforms: s.platforms },
            projectRel(facts.projectFile),
            sizeSetOf(reports)
          )
        )
      : undefined
  if (report !== undefined) core.setOutput('size-report', JSON.stringify(report.json))
  const total = (Date.now() - started) / 1000
  core.setOutput('timings', JSON.stringify({ total: Number(total.toFixed(3)), build: Number(buildSeconds.toFixed(3)) }))
  await summarize(
    summaryMarkdown({
      project: projectRel(facts.projectFile),
      flavor,
      runtimeImage,
      reports,
      buildSeconds,
      qemu: qemu.reason,
      pushed: s.pushByDigest ? (pushedDigest !== '' ? digestRepos.map((r) => `${r}@${pushedDigest}`) : []) : s.push ? s.tags : [],
      indexDigest: pushedDigest || indexDigest,
      dockerfile: projectRel(s.dockerfile)
    }) + (report !== undefined ? `\n${report.markdown}\n` : ''),
    s.summary
  )
  if (problems.length > 0) throw new BuildError(`the built images failed their checks:\n${problems.join('\n')}`)
  if (report !== undefined && report.breaches.length > 0) throw new BuildError(budgetFailure(report.breaches))
  core.info(`Done in ${total.toFixed(1)} s (buildx ${buildSeconds.toFixed(1)} s, action overhead ${(total - buildSeconds).toFixed(1)} s).`)
}

export async function post(): Promise<void> {
  // The buildx this step installed (buildx-version), so `buildx rm` finds the same plugin.
  const dockerConfig = core.getState('docker-config')
  if (dockerConfig !== '' && fs.existsSync(dockerConfig)) process.env.DOCKER_CONFIG = dockerConfig
  const builder = core.getState('builder')
  if (builder !== '') await removeBuilder(builder)
}

export async function run(): Promise<void> {
  try {
    if (core.getState('isPost') === 'true') {
      await post()
      return
    }
    core.saveState('isPost', 'true')
    // Before anything can print it.
    const token = core.getInput('github-token')
    if (token !== '') core.setSecret(token)
    await main()
  } catch (e) {
    const err = e as Error
    if (err instanceof InputError || err instanceof ProjectError || err instanceof BuildError) core.setFailed(err.message)
    else core.setFailed(`${err.message}\n${err.stack ?? ''}`)
  }
}
