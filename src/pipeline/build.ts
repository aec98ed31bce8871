// mode: build, as a list of named phases, each returning a typed value:
// project -> plan -> files -> engine -> seed -> images -> push -> keep packages -> finish.
// Decisions are made by the pure modules each phase calls; this file runs them in order.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import type { Runner } from '../action/env.js'
import type { Settings } from '../action/inputs.js'
import { setOutput, setOutputs, STATE } from '../action/outputs.js'
import { admitted, allowList, dockerignorePath, generateDockerignore, inGitFolder, restoreCopies, type DirEntry } from '../dockerfile/ignore.js'
import { icuWarning, lacksIcuByName } from '../dockerfile/icu.js'
import { hintTexts, locateProject, readProject, sandboxesGone, withSandbox, type ProjectRead } from '../dotnet/evaluate.js'
import { evaluationImage, frameworkHint } from '../dotnet/sandbox.js'
import { archFromNode, archOf, type Platform } from '../dotnet/platforms.js'
import { qemuForGivenBuilder } from '../engine/builders.js'
import { buildArgv, displayCommand, KEPT_VARIABLE, redactArgv } from '../engine/buildx.js'
import { cacheFaults, cacheFaultWarning } from '../engine/cachelog.js'
import { failureReport, pushFailureReport } from '../engine/diagnose.js'
import { decideQemu, type QemuDecision } from '../engine/qemu.js'
import { chooseBuilder, ensureBuildx, installQemu, probeBuilder, probeBuildx, registeredBinfmt, type BuilderChoice, type BuilderProbe, type BuildxProbe } from '../engine/setup.js'
import type { PlatformReport } from '../image/inspect.js'
import { alreadyHeld, checkDefaultImages } from '../image/exists.js'
import { signRefs } from '../sign/cosign.js'
import { checkSigning, signImages } from '../sign/run.js'
import { builtImages, inspectLayout, readLayoutRoot } from '../image/layout.js'
import { pushLayout } from '../image/layoutpush.js'
import { nativeSummary } from '../image/native.js'
import { pushByDigestMethod, repositories } from '../image/scale.js'
import { keptPackagesNeeded, mayKeepPackages } from '../nuget/cache.js'
import { fetchKeptPackages, keepNugetPackages, prepareNugetSeed, shouldKeepPackages } from '../nuget/store.js'
import { buildFrame, humanBytes, imagesOf, sizeOutputs, sizesJson, sizesTable } from '../size/report.js'
import { inTargetOrder, SMOKE_TIMEOUT_MS, smokeBreaches, smokeJson, smokeLine, smokeMemoryLimit, smokePlan, smokeToken, splitByProof, type SmokePlan, type SmokeResult } from '../smoke/plan.js'
import { proofsToSave, restoreProofs, reusedResult, saveProof, type ProofSettings, type StoredProof } from '../smoke/proven.js'
import { smokeTest } from '../smoke/run.js'
import { restoreInputsHash, saveKeptSboms, type KeptSet, type KeptSettings } from '../sbom/kept.js'
import { SBOM_TOOL } from '../sbom/spdx.js'
import { attachToLayout, describeImages, exportFacts, lookupKept, sbomLines, withIndex, type SbomSource } from '../sbom/run.js'
import { BuildError, InputError, printable } from '../util/errors.js'
import { cell, text } from '../util/markdown.js'
import { checkInsideWorkspace, checkPathInputs, checkTempDir, liesInside, readRepositoryFile, writeGenerated } from '../util/files.js'
import { buildxGitEnv, commitTime, gitVersion } from '../util/git.js'
import { toPosix } from '../util/paths.js'
import { run } from '../util/proc.js'
import { showUntrusted } from '../util/untrusted.js'
import { finish, summarize } from './finish.js'
import { planBuild, type Plan } from './plan.js'

export async function build(s: Settings, runner: Runner, started: number): Promise<void> {
  const rel = (p: string): string => toPosix(path.relative(s.workspace, p)) || '.'
  // Symlinked parents, secret files in the context, a RUNNER_TEMP without room: refused
  // before anything is read, written or run.
  checkInsideWorkspace('context', s.workspace, s.context)
  checkInsideWorkspace('project', s.workspace, s.project)
  const keepOut = checkPathInputs({ ...s, secretFiles: s.secrets.flatMap((x) => (x.kind === 'file' ? [{ id: x.id, file: x.file }] : [])) })
  if (s.build) checkTempDir(s.tempDir)
  // Signing on an untrusted event, or keyless without the job's OIDC token: refused before the project is read.
  if (s.build && (s.push || s.pushByDigest)) checkSigning(s.sign, runner.trustedEvent, runner.eventName)
  // Read-only engine questions, answered while the project is evaluated.
  const buildxProbe = s.build ? probeBuildx() : undefined
  const builderProbe = s.build && s.builder === '' ? probeBuilder() : undefined

  const proj = await readProjectPhase(s, rel)
  const runDir = fs.mkdtempSync(path.join(s.tempDir, 'aot-buildx-'))
  const plan = planBuild(s, proj, runner, runDir)
  plan.build.sourceDateEpoch = await epochPhase(s)
  for (const w of plan.warnings) core.warning(w)
  for (const n of plan.notes) core.info(n)
  // Written before any engine command, so a user gets it even where no engine runs.
  await writeFilesPhase(s, plan, keepOut, proj, rel)
  if (!s.build) {
    showUntrusted(`build: false, so nothing is built. The build would run:\n${displayCommand(redactArgv(buildArgv(plan.build)))}`)
    await sandboxesGone()
    return
  }

  // Which platforms the smoke test can start here, decided before the engine is touched: with
  // smoke-test: true, a platform that cannot run is an input error, and QEMU is installed for it.
  const qemuMode = s.setupQemu === 'auto' && s.smokeTest === 'true' && s.builder === '' ? 'true' : s.setupQemu
  const registered = registeredBinfmt()
  const native = archFromNode(process.arch)
  const willInstall = s.builder !== '' ? [] : decideQemu(qemuMode, s.platforms.map(archOf), native, registered).install
  const smoke = smokePlan(s.smokeTest, s.platforms, native, [...registered, ...willInstall])
  if (smoke.error !== undefined) {
    throw new InputError('smoke-test', smoke.error, 'smoke-test: auto (the platforms that can start here), false, or setup-qemu: true to register QEMU for the others')
  }

  const { builder, qemu } = await enginePhase(s, runner, plan, { buildx: buildxProbe, builder: builderProbe }, qemuMode, runDir)
  // A default tag Microsoft does not publish fails here, in seconds, with what exists.
  await checkDefaultImages(plan.defaultImages, proj.facts.dotnetMajor, (line) => {
    core.debug(line)
  })
  plan.build.builder = builder.name
  const seed = await prepareNugetSeed(plan.nugetMode, s, rel(proj.facts.projectFile), proj.restoreFiles, plan.sdkImage, runner.trustedEvent)
  plan.build.nugetKept = seed.available
  // The docker driver cannot push by digest, and pushes a tag twice: there the OCI layout is
  // pushed once, after the build and the images' checks.
  // A smoke-tested image is pushed only after it started: from its OCI layout, on any driver.
  // With the SBOM, the index pushed is the layout's with the SBOM attached: pushed from there too.
  // One platform without provenance is a single manifest: no index to attach an SBOM to.
  const sbomOn = s.dotnetSbom && plan.factsStage && (s.platforms.length > 1 || plan.build.provenance !== 'false')
  if (s.dotnetSbom && !plan.factsStage) core.info('dotnet-sbom: no SBOM: the restore writes project.assets.json outside the context, where the build cannot export it from.')
  else if (s.dotnetSbom && !sbomOn) core.info('dotnet-sbom: no SBOM: one platform with provenance: false is a single manifest, and an SBOM is attached beside it in an index.')
  const layoutPush = (s.push || s.pushByDigest) && (pushByDigestMethod(builder.info.driver) === 'layout' || smoke.targets.length > 0 || sbomOn)
  if (layoutPush) {
    plan.build.push = false
    plan.build.pushByDigest = undefined
    core.info(
      smoke.targets.length > 0
        ? 'The images are pushed from their OCI layout, once, after the build, their checks and the smoke test.'
        : pushByDigestMethod(builder.info.driver) === 'layout'
          ? `On the ${builder.info.driver} driver the images are pushed from their OCI layout, once, after the build and their checks.`
          : 'The images are pushed from their OCI layout, once, after the build, their checks and the SBOM.'
    )
  }

  // The SBOM's source, once the images are built: the statements a trusted run kept for these
  // very images, else what restore resolved, exported by a small cached build that runs while
  // the images are inspected and is awaited before the smoke test starts (never beside what
  // that measures). Statements are kept only where the images' time is fixed.
  const keep = sbomOn && runner.actionsCache && plan.build.sourceDateEpoch !== undefined ? keptSettings(s, proj, plan, plan.build.sourceDateEpoch) : undefined
  let sbom: Promise<SbomSource> | undefined
  const startFacts = async (): Promise<void> => {
    if (!sbomOn) return
    const kept = keep !== undefined ? await lookupKept(plan.build.ociDir, keep, s.tempDir) : undefined
    sbom = kept !== undefined ? Promise.resolve({ kept }) : exportFacts(plan.build, buildEnvironment(plan), runDir).then((facts) => ({ facts }))
  }
  // A failed inspection ends the step: the facts build it started ends first.
  const buildImages = async (): Promise<Awaited<ReturnType<typeof imagesPhase>>> => {
    try {
      return await imagesPhase(s, runner, plan, rel(proj.facts.projectFile), startFacts)
    } catch (e) {
      await sbom
      throw e
    }
  }
  let built = await buildImages()
  if (built === 'kept packages needed') {
    core.info('A step needs NuGet packages the emptied builder does not have: loading the kept ones, then building again (the steps built so far come from the cache).')
    await fetchKeptPackages(plan.nugetMode, seed, builder.name, s)
    plan.build.nugetKept = false
    built = await buildImages()
  }
  if (built === 'kept packages needed') throw new BuildError('the build asked for the kept NuGet packages without the kept-packages secret')
  const images = built
  // The name said nothing (planBuild warns on names); the built image's config may.
  if (!lacksIcuByName(plan.runtimeImage)) {
    const icu = icuWarning(proj.facts.targetName, !proj.facts.invariantGlobalization, plan.runtimeImage, images.reports.some((r) => r.invariantGlobalization === true))
    if (icu !== undefined) core.warning(icu)
  }
  const problems = images.reports.flatMap((r) => r.problems.map((p) => `${r.platform}: ${p}`))
  const proof = proofSettings(s, proj.facts.isWeb)
  const source = await sbom
  const smoked = problems.length === 0 ? await smokePhase(s, runner, plan, proof, smoke, images.reports, runDir) : []
  problems.push(...smokeProblems(smoked, s))
  await keepProofs(s, runner, proof, smoked, problems.length, images.reports)
  if (source !== undefined && problems.length === 0) await sbomPhase(plan, proj, images, source, keep !== undefined && runner.trustedEvent ? { settings: keep, tempDir: s.tempDir } : undefined)
  const pushed = await pushPhase(s, runner, plan, builder, layoutPush, images.indexDigest, problems, rel(proj.facts.projectFile))
  if (problems.length === 0 && shouldKeepPackages(seed)) {
    if (mayKeepPackages(plan.nugetMode, runner.trustedEvent, runner.eventName)) await keepNugetPackages(plan.nugetMode, seed, builder.name, s, runDir)
    else core.info(`NuGet packages are not kept on ${runner.eventName === '' ? 'a run without GITHUB_EVENT_NAME' : `${printable(runner.eventName)} events`}${plan.nugetMode === 'dir' ? ' in nuget-cache-dir' : ''}: the code built may come from a pull request, and trusted runs would restore what it saved.`)
  }
  // Only what passed its checks was pushed; that is what is signed. A refusal is reported with the rest.
  if (problems.length === 0 && pushed.refs.length > 0) {
    const refused = await signImages(s.sign, signRefs(repositories(s.tags), pushed.digest || images.indexDigest, images.reports.map((r) => r.digest)), s.tempDir)
    if (refused !== undefined) problems.push(`signing (the images are pushed, unsigned): ${refused}`)
  }
  await sandboxesGone()
  await finish(s, runner, {
    title: rel(proj.facts.projectFile),
    images: imagesOf(images.reports, plan.runtimeImage, smoked),
    problems,
    problemsHeading: 'the built images failed their checks',
    timings: { build: images.seconds },
    summary: buildFrame({
      project: rel(proj.facts.projectFile),
      flavor: s.runtimeImage === '' ? plan.flavor : undefined,
      runtimeImage: plan.runtimeImage,
      buildSeconds: images.seconds,
      qemu: qemu.reason,
      pushed: pushed.refs,
      indexDigest: pushed.digest || images.indexDigest,
      dockerfile: rel(s.dockerfile),
      smoke: smoked,
      versioning: plan.versioning
    }),
    started
  })
}

async function readProjectPhase(s: Settings, rel: (p: string) => string): Promise<ProjectRead> {
  return core.group('Read the project', async () => {
    const image = evaluationImage(s.sdkImage, frameworkHint(hintTexts([locateProject(s.project)], s.workspace)))
    core.info(`Evaluating in a sandbox: a container of ${image} (pulled first if the engine lacks it) with no network, the workspace read-only and none of the runner's variables`)
    // The container goes away while the build is prepared (awaited before the step ends).
    const read = await withSandbox(image, s.workspace, [s.project], (sb) => readProject(s.project, s.framework, s.context, s.workspace, s.configuration, sb), { wait: false })
    // Nothing in a git folder is ever sent to the builder (ignore.ts GIT_FOLDERS), whatever the
    // evaluation names: the evaluation sees an empty folder there, but a condition can name one.
    const inGit = [...new Set([...read.restoreFiles, ...(read.contextFiles ?? [])].filter(inGitFolder))]
    if (inGit.length > 0) core.warning(printable(`The project names ${inGit.join(', ')}, in a git folder: never sent to the builder (a checkout keeps its token there).`))
    // A restore input the context's .dockerignore leaves out cannot be named in a COPY (BuildKit: "not found").
    const { copied, dropped } = restoreCopies(
      read.restoreFiles.filter((f) => !inGitFolder(f)),
      readRepositoryFile('context', s.context, path.join(s.context, '.dockerignore'))
    )
    const r = { ...read, restoreFiles: copied, contextFiles: read.contextFiles?.filter((f) => !inGitFolder(f)) }
    if (dropped.length > 0) {
      core.warning(
        printable(
          `The context's .dockerignore excludes ${dropped.join(', ')}, which restore reads: the container build restores without ${dropped.length === 1 ? 'it' : 'them'}. Remove the pattern that matches from .dockerignore if the build needs ${dropped.length === 1 ? 'it' : 'them'}.`
        )
      )
    }
    for (const n of r.notes ?? []) core.warning(printable(n))
    // Repository paths on log lines: control characters escaped, so no line becomes a workflow command.
    core.info(`${printable(rel(r.facts.projectFile))}: ${r.facts.targetName}, ${r.facts.targetFramework}, ${r.facts.isWeb ? 'web' : 'console'} app (evaluated by ${r.evaluatedBy})`)
    if (r.facts.references.length > 0) core.info(`Project references: ${printable(r.facts.references.map(rel).join(', '))}`)
    core.info(`Restore layer inputs: ${printable(r.restoreFiles.join(', '))}`)
    for (const f of r.itemsOutside) {
      core.warning(`${rel(f)} is named by an item of the project or a project it references, but lies outside the build context ${rel(s.context)}: the container build does not see it. Set "context" to a folder that holds it.`)
    }
    for (const f of r.aboveContext) {
      core.warning(
        `${rel(f)} lies above the build context ${rel(s.context)}, so the container build does not see it (restore there uses its own sources and SDK settings). Set "context" to a folder that holds it if the build needs it.`
      )
    }
    return r
  })
}

async function writeFilesPhase(s: Settings, plan: Plan, keepOut: string[], proj: ProjectRead, rel: (p: string) => string): Promise<void> {
  await core.group('Generate the Dockerfile', () => {
    core.info(`${printable(rel(s.dockerfile))}: ${writeGenerated('dockerfile', s.workspace, s.dockerfile, plan.dockerfileText)}`)
    // BuildKit reads <dockerfile>.dockerignore instead of the context's .dockerignore, which
    // is honoured and never edited: copied whole, or applied to the project's own file list.
    const own = path.join(s.context, '.dockerignore')
    const ownText = readRepositoryFile('context', s.context, own)
    const ignore = dockerignorePath(s.dockerfile)
    // Our own generated files are never build inputs: in a project's folder they would change
    // the context (and the app layer's cache key) whenever the Dockerfile's text changes, and
    // between a first run (not yet written when the project was read) and the next.
    const generated = [s.dockerfile, ignore].map((f) => path.relative(s.context, f).split(path.sep).join('/')).filter((r) => r !== '' && !r.startsWith('../') && !path.isAbsolute(r))
    const consumed = proj.contextFiles?.filter((f) => !generated.includes(f))
    const only = s.contextFiles === 'project' && consumed !== undefined ? admitted(consumed, ownText) : undefined
    const paths = only === undefined ? undefined : allowList(only, (d) => listFolder(s.workspace, path.join(s.context, d)))
    const text = generateDockerignore(ownText, [...keepOut, ...generated], paths === undefined ? undefined : { paths, project: rel(proj.facts.projectFile) })
    const how = writeGenerated('dockerfile', s.workspace, ignore, text)
    const source = ownText !== undefined ? `the context's .dockerignore ${rel(own)}` : 'the default ignores (the context has no .dockerignore)'
    if (only !== undefined && paths !== undefined) core.info(`${printable(rel(ignore))}: ${how}: the build sees ${only.length} files the project consumes, as ${paths.length} paths, less ${printable(source)}`)
    else core.info(`${printable(rel(ignore))}: ${how}: the whole context, less ${printable(source)}${s.contextFiles === 'project' ? ' (no .NET SDK listed the project\'s files)' : ' (context-files: all)'}`)
    if (keepOut.length > 0) core.info(`Never sent to the builder: ${printable(keepOut.join(', '))}`)
    const flavor = s.runtimeImage !== '' ? 'runtime-image given' : `Flavor ${plan.flavor}${s.flavor === 'auto' ? ` (auto: InvariantGlobalization is ${proj.facts.invariantGlobalization})` : ''}`
    core.info(`${flavor}; SDK ${plan.sdkImage}; runtime ${plan.runtimeImage}`)
    // Its COPY lines name the repository's files.
    showUntrusted(plan.dockerfileText)
    // Nothing here is asynchronous; core.group takes a function that returns a promise.
    return Promise.resolve()
  })
  setOutput('dockerfile', s.dockerfile)
}

/** The images' timestamps: given, or the commit time of the checkout the context is in (our own git, never one the repository names). */
async function epochPhase(s: Settings): Promise<number | undefined> {
  const how = 'the same commit gives the same image bytes'
  if (s.sourceDateEpoch === 'off') return undefined
  if (typeof s.sourceDateEpoch === 'number') {
    core.info(`Image timestamps: source-date-epoch ${s.sourceDateEpoch} (${new Date(s.sourceDateEpoch * 1000).toISOString()}), as given: ${how}`)
    return s.sourceDateEpoch
  }
  const t = await commitTime(s.context, s.workspace, s.tempDir)
  if ('why' in t) {
    core.info(`Image timestamps: the times of this build (${printable(t.why)}; source-date-epoch names a time instead)`)
    return undefined
  }
  core.info(`Image timestamps: source-date-epoch ${t.epoch} (${new Date(t.epoch * 1000).toISOString()}), the commit time of HEAD: ${how}`)
  return t.epoch
}

async function enginePhase(s: Settings, runner: Runner, plan: Plan, probe: { buildx?: BuildxProbe; builder?: BuilderProbe }, qemuMode: Settings['setupQemu'], runDir: string): Promise<{ builder: BuilderChoice; qemu: QemuDecision }> {
  return core.group('Set up buildx and QEMU', async () => {
    const gha = plan.build.cache === 'gha'
    // buildx runs git in the context unless told not to: only with a git that honours GIT_SAFETY_ENV.
    const git = buildxGitEnv(await gitVersion())
    // This step's commands only (every child process inherits it), as DOCKER_CONFIG below.
    Object.assign(process.env, git.env)
    if (git.note !== '') core.info(git.note)
    const version = await ensureBuildx(gha, s.buildxVersion, s.tempDir, probe.buildx)
    // A run that only reads the gha cache (untrusted events, read-only tokens) needs the same
    // builder: the docker driver on the classic image store has no gha importer either (moby's
    // graph-driver controller registers registry and local only), and one before Docker 28 speaks
    // only the retired cache protocol. On untrusted events that builder is off the host network.
    const b = await chooseBuilder(s.builder, s.platforms, gha, s.load, runner.runId !== '' ? `${runner.runId}-${runner.job}-${process.pid}` : String(process.pid), s.cacheTo.length > 0, {
      driverOpts: s.driverOpts,
      buildkitdConfig: s.buildkitdConfig,
      buildkitdConfigInline: s.buildkitdConfigInline,
      dir: runDir,
      trustedEvent: runner.trustedEvent
    }, probe.builder)
    core.info(`buildx ${version}; builder ${b.name} (${b.info.driver}${b.created ? ', created for this job' : ''}); platforms ${b.info.platforms.join(', ')}`)
    for (const n of b.notes) core.info(n)
    const q = qemuForGivenBuilder(s.builder, s.builder !== '' ? { install: [], reason: '' } : decideQemu(qemuMode, s.platforms.map(archOf), archFromNode(process.arch), registeredBinfmt()))
    await installQemu(q, s.qemuImage)
    core.info(`QEMU: ${q.reason}`)
    return { builder: b, qemu: q }
  })
}

function proofSettings(s: Settings, isWeb: boolean): ProofSettings {
  return { isWeb, path: s.smokeUrl, args: s.smokeArgs, windowMs: s.smokeWindowMs, memoryLimit: smokeMemoryLimit(s.maxMemory), port: 8080, timeoutMs: SMOKE_TIMEOUT_MS }
}

/**
 * Each platform's image started once, before anything is pushed, side by side; an image whose
 * digest passed before (its proof in the Actions cache) is not started again. The results go
 * into the report.
 */
async function smokePhase(s: Settings, runner: Runner, plan: Plan, proof: ProofSettings, smoke: SmokePlan, reports: PlatformReport[], runDir: string): Promise<SmokeResult[]> {
  for (const k of smoke.skipped) core.info(`Smoke test: ${k.platform} is not started: ${k.reason}.`)
  if (smoke.targets.length === 0) return []
  const digests = smoke.targets.flatMap((t) => reports.filter((r) => r.platform === t.platform).map((r) => ({ target: t, digest: r.digest })))
  const proofs = runner.actionsCache ? await restoreProofs(digests, proof, s.tempDir) : new Map<string, StoredProof>()
  const { start, reuse } = splitByProof(smoke.targets, proofs)
  const what = proof.isWeb ? `GET ${s.smokeUrl} answers below 500` : `exits 0, or runs ${s.smokeWindowMs / 1000} s and then stops on SIGTERM`
  const names = smoke.targets.map((t) => `${t.platform}${t.emulated ? ' (QEMU)' : ''}${proofs.has(t.platform) ? ' (proven before)' : ''}`)
  return core.group(`Smoke test ${names.join(', ')}: ${what}`, async () => {
    let fresh: SmokeResult[] = []
    if (start.length > 0) {
      // Saved before anything starts: a cancelled job's post step removes what this run left.
      const token = smokeToken(process.pid, Date.now())
      core.saveState(STATE.smoke, token)
      fresh = await smokeTest(start, reports, { ociDir: plan.build.ociDir, workDir: runDir, isWeb: proof.isWeb, path: proof.path, args: proof.args, timeoutMs: proof.timeoutMs, windowMs: proof.windowMs, port: proof.port, memoryLimit: proof.memoryLimit, token })
    }
    const results = inTargetOrder(smoke.targets, [...fresh, ...reuse.map(reusedResult)])
    // A failure quotes the app's own output.
    for (const r of results) showUntrusted(`${r.platform}${r.emulated ? ' (QEMU)' : ''}: ${smokeLine(r)}`)
    setOutput('smoke', JSON.stringify(smokeJson(results)))
    return results
  })
}

/** A trusted run keeps what it proved, for the next run of the same images (smoke/proven.ts). */
async function keepProofs(s: Settings, runner: Runner, proof: ProofSettings, results: SmokeResult[], problems: number, reports: PlatformReport[]): Promise<void> {
  if (!runner.actionsCache) return
  for (const r of proofsToSave(results, problems, runner.trustedEvent)) {
    const digest = reports.find((x) => x.platform === r.platform)?.digest
    if (digest !== undefined) await saveProof(r, digest, proof, s.tempDir, { runId: runner.runId, sha: runner.sha })
  }
}

/** Platforms that did not start, and native figures over their budgets: the images are not pushed. */
function smokeProblems(results: SmokeResult[], s: Settings): string[] {
  const failed = results.flatMap((r) => (r.failure !== undefined ? [`${r.platform}: the smoke test failed: ${r.failure}`] : []))
  return [...failed, ...smokeBreaches(results, { startupMs: s.maxStartup, memory: s.maxMemory }, humanBytes)]
}

/** The build command's environment: the secrets input's values and the kept-packages flag, for buildx to read. */
function buildEnvironment(plan: Plan): Record<string, string> {
  const kept: Record<string, string> = plan.build.nugetKept === true ? { [KEPT_VARIABLE]: '1' } : {}
  // buildx would turn a SOURCE_DATE_EPOCH variable into a build arg, which gives every WORKDIR
  // that time: a new cache key per commit. The epoch goes to the image outputs instead.
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...plan.buildEnv, ...kept }
  delete env.SOURCE_DATE_EPOCH
  return env
}

/** What an SBOM kept for these images is keyed by besides their digests (sbom/kept.ts). */
function keptSettings(s: Settings, proj: ProjectRead, plan: Plan, created: number): KeptSettings {
  const contents: Record<string, string> = {}
  // Repository files: read only where they really lie inside the context (no symlink out).
  for (const f of proj.restoreFiles) contents[f] = readRepositoryFile('context', s.context, path.join(s.context, f)) ?? ''
  return { app: proj.facts.targetName, framework: proj.facts.targetFramework, runtimeImage: plan.runtimeImage, created, tool: SBOM_TOOL, restoreInputs: restoreInputsHash(contents) }
}

/**
 * Each platform's SPDX SBOM attached to the layout before it is pushed (sbom/). A failure here
 * leaves the images as built, without it, and says why: the images themselves are sound. A
 * trusted run keeps the statements it made (`keep`) for the next run of the same images.
 */
async function sbomPhase(plan: Plan, proj: ProjectRead, images: Images, source: SbomSource, keep: { settings: KeptSettings; tempDir: string } | undefined): Promise<void> {
  const without = 'dotnet-sbom: the images carry no SBOM of their .NET packages'
  const attachNow = (): KeptSet | undefined => {
    let made: KeptSet | undefined
    try {
      if ('facts' in source) {
        const facts = source.facts
        if ('why' in facts) {
          core.warning(printable(`${without}: exporting what restore resolved failed: ${facts.why}`))
          return undefined
        }
        if (facts.restoredAgain) core.info('dotnet-sbom: no cached restore was found, so the facts build restored again: the SBOM lists what that restore resolved.')
        made = describeImages({
          ociDir: plan.build.ociDir,
          factsDir: facts.dir,
          framework: proj.facts.targetFramework,
          images: images.reports.map((x) => ({ platform: x.platform as Platform, digest: x.digest })),
          app: proj.facts.targetName,
          runtimeImage: plan.runtimeImage,
          created: plan.build.sourceDateEpoch ?? Math.floor(Date.now() / 1000),
          tool: SBOM_TOOL
        })
      }
      const statements = made?.images ?? ('kept' in source ? source.kept.images : [])
      const r = attachToLayout(plan.build.ociDir, statements)
      if ('skipped' in r) {
        core.info(`${without}: ${r.skipped}.`)
        return undefined
      }
      for (const line of sbomLines(statements, made === undefined)) core.info(line)
      const rejected = made?.rejected ?? ('kept' in source ? source.kept.rejected : 0)
      if (rejected > 0) core.warning(`dotnet-sbom: ${rejected} entr${rejected === 1 ? 'y' : 'ies'} of project.assets.json left out of the SBOM: a name or version NuGet does not allow.`)
      images.indexDigest = r.digest
      setOutput('digest', r.digest)
      // buildx's metadata names the index it wrote; the one pushed is the layout's now.
      if (fs.existsSync(plan.build.metadataFile)) setOutput('metadata', withIndex(fs.readFileSync(plan.build.metadataFile, 'utf8'), r.digest, r.size))
      return made
    } catch (e) {
      core.warning(printable(`${without}: ${(e as Error).message}`))
      return undefined
    }
  }
  await core.group('Attach the SBOM', async () => {
    const made = attachNow()
    if (made !== undefined && keep !== undefined) await saveKeptSboms(made, keep.settings, keep.tempDir)
  })
}

interface Images {
  reports: PlatformReport[]
  indexDigest: string
  seconds: number
}

/**
 * The one buildx build, then the images read back from its OCI layout; 'kept packages needed'
 * when a step stopped for the kept NuGet packages. `built` runs once the build succeeded, before the inspection.
 */
async function imagesPhase(s: Settings, runner: Runner, plan: Plan, title: string, built: () => Promise<void>): Promise<Images | 'kept packages needed'> {
  const argv = buildArgv(plan.build)
  const start = Date.now()
  const result = await core.group(`Build ${s.platforms.join(', ')}`, async () => {
    showUntrusted(displayCommand(redactArgv(argv)))
    // The secrets input's values reach buildx through its environment only (--secret env=).
    return run('docker', argv, { stream: true, cwd: s.workspace, env: buildEnvironment(plan) })
  })
  const seconds = (Date.now() - start) / 1000
  if (fs.existsSync(plan.build.metadataFile)) setOutput('metadata', fs.readFileSync(plan.build.metadataFile, 'utf8'))
  if (result.code !== 0 && plan.build.nugetKept === true && keptPackagesNeeded(result.stdout + result.stderr)) return 'kept packages needed'
  if (result.code !== 0) {
    // A push can fail after the images were built and written to the layout: say what was built.
    const built = await builtImages(plan.build.ociDir)
    if (built.length > 0) setOutputs({ sizes: JSON.stringify(sizesJson(built)), ...sizeOutputs(built) })
    const failure = failureReport(result.stdout + result.stderr, result.code, title, built.map((r) => r.platform))
    await summarize(failure.markdown, s, runner)
    throw new BuildError(failure.message)
  }
  await built()
  // ignore-error=true: a refused cache export leaves the build green; one warning says what was not saved and why.
  for (const f of cacheFaults(result.stdout + result.stderr)) core.warning(cacheFaultWarning(f))
  const metadata = JSON.parse(fs.readFileSync(plan.build.metadataFile, 'utf8')) as Record<string, unknown>
  const indexDigest = typeof metadata['containerimage.digest'] === 'string' ? metadata['containerimage.digest'] : ''
  setOutput('digest', indexDigest)
  const reports = await core.group('Inspect the images', async () => {
    let out
    try {
      out = await inspectLayout(plan.build.ociDir)
    } catch (e) {
      // The build succeeded (and a builder that pushes during the build has pushed): say so first.
      const message = `The build succeeded${indexDigest !== '' ? ` (index ${indexDigest})` : ''}, but ${(e as Error).message}. The images were not checked, smoke-tested or reported.`
      await summarize(`### ${cell(title)}: failed\n\n${text(message)}\n`, s, runner)
      throw new BuildError(message)
    }
    core.info(sizesTable(out))
    // File names read from the images.
    showUntrusted(out.map((r) => nativeSummary(r.platform, r.native)).join('\n'))
    return out
  })
  const missing = s.platforms.filter((p) => !reports.some((r) => r.platform === p))
  if (missing.length > 0) throw new BuildError(`the build produced no image for ${missing.join(', ')}`)
  setOutputs({ sizes: JSON.stringify(sizesJson(reports)), ...sizeOutputs(reports) })
  return { reports, indexDigest, seconds }
}

/**
 * buildx pushed already, or (docker driver) the layout is pushed now, and only when the images
 * passed their checks: by digest, or under the tags. Returns what the summary names as pushed.
 */
async function pushPhase(s: Settings, runner: Runner, plan: Plan, builder: BuilderChoice, layoutPush: boolean, indexDigest: string, problems: string[], title: string): Promise<{ refs: string[]; digest: string }> {
  if (!s.push && !s.pushByDigest) return { refs: [], digest: '' }
  if (!layoutPush) return { refs: s.pushByDigest ? repositories(s.tags).map((r) => `${r}@${indexDigest}`) : s.tags, digest: s.pushByDigest ? indexDigest : '' }
  if (problems.length > 0) return { refs: [], digest: '' }
  const digest = readLayoutRoot(plan.build.ociDir).digest
  const refs = s.pushByDigest ? repositories(s.tags).map((r) => `${r}@${digest}`) : s.tags
  // The same commit built again gives the same index: what the registry holds already is not pushed again.
  const held = await alreadyHeld(refs, digest)
  if (held.length > 0) core.info(`The registry already holds ${digest} under ${held.join(', ')}: not pushed again.`)
  const toPush = refs.filter((r) => !held.includes(r))
  if (toPush.length === 0) {
    setOutput('digest', digest)
    return { refs, digest }
  }
  const pushed = await core.group(`Push ${digest} to ${toPush.join(', ')}`, () => pushLayout(plan.build.ociDir, builder.name, toPush, digest))
  if (pushed.code !== 0) {
    const failure = pushFailureReport(pushed.log, pushed.code, title, toPush, digest, s.platforms)
    await summarize(failure.markdown, s, runner)
    throw new BuildError(failure.message)
  }
  setOutput('digest', digest)
  return { refs, digest }
}

/**
 * A folder's entries as the allow-list needs them; symlinks in it are never followed, and a
 * folder reached through a link out of the workspace is not listed (its names would be the
 * runner's): it reads as empty, so nothing is admitted whole there.
 */
function listFolder(workspace: string, dir: string): DirEntry[] {
  if (!liesInside(workspace, dir)) return []
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).map((d) => ({ name: d.name, kind: d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other' }))
  } catch {
    return []
  }
}
