// The build plan: settings + project facts -> Dockerfile text and buildx plan. Pure.
import { createHash } from 'node:crypto'
import * as path from 'node:path'
import type { Settings } from '../action/inputs.js'
import { READ_ONLY_TOKEN, runUrl, type Runner } from '../action/env.js'
import { factsAssets, generateDockerfile, resolveFlavor, type DockerfilePlan, type ResolvedFlavor } from '../dockerfile/generate.js'
import { defaultImages, distroProblem, IMAGE_TABLE, majorImages, supportWarning } from '../dockerfile/images.js'
import { icuWarning } from '../dockerfile/icu.js'
import type { ProjectRead } from '../dotnet/evaluate.js'
import { archOf, type Arch } from '../dotnet/platforms.js'
import { versioningPlan, type VersioningPlan } from '../dotnet/versioning.js'
import { cacheScope, provenanceFlag, secretVariable, type BuildPlan, type SecretSource } from '../engine/buildx.js'
import { repositories } from '../image/scale.js'
import { nugetCacheMode, PRIVATE_PACKAGES_NOT_KEPT, type NugetCacheMode } from '../nuget/cache.js'
import { InputError, printable, ProjectError } from '../util/errors.js'
import { toPosix } from '../util/paths.js'

export interface Plan {
  flavor: ResolvedFlavor
  sdkImage: string
  runtimeImage: string
  /** The images that are Microsoft's defaults (not given by sdk-image or runtime-image): checked to exist before the build. */
  defaultImages: string[]
  dockerfileText: string
  nugetMode: NugetCacheMode
  /** The buildx plan; `builder` is the input until the engine phase picks one. */
  build: BuildPlan
  /** Variables only the build command gets: the values of the `secrets` input, read by buildx. */
  buildEnv: Record<string, string>
  warnings: string[]
  /** Decisions the log states (not problems). */
  notes: string[]
  /** What the binary's version is where a versioning tool reads git history, for the summary. */
  versioning: VersioningPlan['summary']
  /** The Dockerfile has the aot-facts stage (the restore's assets file is inside the context). */
  factsStage: boolean
}

const ALL_ARCHES: readonly Arch[] = ['amd64', 'arm64']

/** project.assets.json relative to the context, or undefined where the container build cannot see it. */
export function assetsInContext(context: string, assetsFile: string): string | undefined {
  if (assetsFile === '') return undefined
  const r = toPosix(path.relative(context, assetsFile))
  return r === '' || r.startsWith('../') || path.isAbsolute(r) ? undefined : r
}

/** `today` (YYYY-MM-DD) dates the support warning; the shell passes the clock's. */
export function planBuild(s: Settings, proj: ProjectRead, runner: Runner, runDir: string, today = new Date().toISOString().slice(0, 10)): Plan {
  const facts = proj.facts
  const rel = (p: string): string => toPosix(path.relative(s.workspace, p)) || '.'
  const flavor = resolveFlavor(s.flavor, facts.invariantGlobalization)
  const warnings: string[] = []
  // The SDK and runtime-deps defaults come from one row of the table, so they are always of one
  // distro (an app linked on a newer glibc than its runtime image has fails to start).
  const needDefaults = s.sdkImage === '' || s.runtimeImage === ''
  if (needDefaults && majorImages(facts.dotnetMajor) === undefined) {
    throw new ProjectError(
      `${rel(facts.projectFile)} targets ${facts.targetFramework}, and this action knows no Microsoft image of .NET ${facts.dotnetMajor} (it knows .NET ${IMAGE_TABLE.map((m) => m.major).join(', ')}): set sdk-image and runtime-image, both of one distro`
    )
  }
  const problem = needDefaults ? distroProblem(facts.dotnetMajor, s.distro) : undefined
  if (problem !== undefined) throw new InputError('distro', `"${s.distro}": ${problem.problem}`, problem.accepted)
  if (!needDefaults && s.distro !== '') warnings.push(`distro: ${s.distro} is not read: sdk-image and runtime-image are both given.`)
  const defaults = needDefaults ? defaultImages(facts.dotnetMajor, s.distro, flavor) : undefined
  const sdkImage = s.sdkImage || (defaults?.sdk ?? '')
  const runtimeImage = s.runtimeImage || (defaults?.runtime ?? '')
  const defaultRefs = [s.sdkImage === '' ? sdkImage : '', s.runtimeImage === '' ? runtimeImage : ''].filter((r) => r !== '')
  const support = supportWarning(facts.dotnetMajor, today)
  if (support !== undefined) warnings.push(`${rel(facts.projectFile)} targets ${facts.targetFramework}: ${support}`)
  const hasSecrets = s.secrets.length > 0 || s.nugetConfig !== ''
  const nugetMode = nugetCacheMode(s.nugetCache, s.nugetCacheDir, runner.actionsCache, hasSecrets)
  // Known from the image's name; an image that says so only in its config is warned about after the build.
  const icu = icuWarning(facts.targetName, !facts.invariantGlobalization, runtimeImage)
  if (icu !== undefined) warnings.push(icu)
  if (s.nugetCache === 'true' && nugetMode === 'off') warnings.push('nuget-cache: true, but neither the Actions cache service nor nuget-cache-dir is available: packages are not kept.')
  if (s.cache === 'gha' && !runner.actionsCache) {
    warnings.push(
      'cache: gha, but this job has no GitHub Actions cache service (ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL, and ACTIONS_RUNTIME_TOKEN, are unset): BuildKit will fail to import or export it. Use cache: auto to cache only where the service exists.'
    )
  }
  if (s.healthcheck !== '' && !facts.isWeb) {
    // A warning, not an error: isWeb means the Web SDK, and an app on another SDK can still
    // serve HTTP (a FrameworkReference to ASP.NET Core, its own listener).
    warnings.push(
      `healthcheck: ${s.healthcheck} is set, but ${facts.targetName} is not a web app (its project does not use Microsoft.NET.Sdk.Web): the image's HEALTHCHECK asks http://127.0.0.1:8080${s.healthcheck} (or the first port in ASPNETCORE_HTTP_PORTS), and a container that answers nothing there is reported unhealthy. Leave healthcheck empty for an app that serves no HTTP.`
    )
  }
  const gha = s.cache === 'gha' || (s.cache === 'auto' && runner.actionsCache && s.cacheFrom.length === 0 && s.cacheTo.length === 0)
  if (s.cacheTo.length + (gha ? 1 : 0) > 1 && s.cacheTo.some((c) => /(?:^|,)type=local(?:,|$)/.test(c))) {
    warnings.push(
      'cache-to: a local cache exported beside another cache in one build lacks its index on some engines (seen with BuildKit 0.13, Docker 26: the next cache-from fails with "content sha256:…: not found"); export the local cache on its own where that matters.'
    )
  }
  // Untrusted events never write the gha cache. A pull_request's cache would live under
  // refs/pull/N/merge, which only its own later runs read, and each push changes the code it would
  // hit: it would cost the repository's 10 GB and its uploads a minute for little (README, "What
  // the cache costs"). Every other untrusted event (pull_request_target, workflow_run,
  // issue_comment, schedule, ...) runs in a branch's scope, which that branch's push runs read: a
  // cache built from a pull request's code would be restored by a trusted build. They read it.
  const untrustedReadOnly = gha && !runner.trustedEvent
  const notes: string[] = []
  if (s.nugetCache === 'auto' && s.nugetCacheDir === '' && runner.actionsCache && hasSecrets) notes.push(PRIVATE_PACKAGES_NOT_KEPT)
  if (untrustedReadOnly) {
    notes.push(
      runner.eventName === 'pull_request'
        ? 'Pull request run: the gha cache is read (the base branch\'s), not written; runs on branches write it.'
        : `${runner.eventName === '' ? 'A run without GITHUB_EVENT_NAME' : `A ${printable(runner.eventName)} run`} may build a pull request's code: the gha cache is read, not written; push and workflow_dispatch runs write it.`
    )
  }
  // The user's own cache-to likewise: a registry, local or gha cache written from a pull
  // request's code would be imported by the next trusted build that reads it.
  const userCacheTo = runner.trustedEvent ? s.cacheTo : []
  if (!runner.trustedEvent && s.cacheTo.length > 0) {
    notes.push(`cache-to is not exported on ${runner.eventName === '' ? 'a run without GITHUB_EVENT_NAME' : `a ${printable(runner.eventName)} run`}: a cache built from a pull request's code would be imported by the trusted builds that read it; push and workflow_dispatch runs export it.`)
  }
  // A read-only token (trusted events rarely have one): BuildKit's export would upload layers
  // only to be refused at the first create; the cache is read, and one warning says why.
  const readOnly = gha && !untrustedReadOnly && runner.cacheWritable === false
  if (readOnly) {
    warnings.push(`The build cache is read but not saved: ${READ_ONLY_TOKEN}${runner.eventName !== '' ? `; this run is a ${runner.eventName} run` : ''}. The next run with a writable token saves it.`)
  }
  // .git never reaches the builder: a tool that reads git history falls back (versioning.ts).
  const versioning = versioningPlan(proj.versioning ?? [], s.buildArgs, s.labels)
  warnings.push(...versioning.warnings)
  const cacheExport = !readOnly && !untrustedReadOnly
  const dockerfilePlan: DockerfilePlan = {
    sdkImage,
    runtimeImage,
    flavor,
    targets: s.platforms.map(archOf),
    dotnetMajor: facts.dotnetMajor,
    project: toPosix(path.relative(s.context, facts.projectFile)),
    framework: facts.multiTargeted ? facts.targetFramework : '',
    configuration: s.configuration,
    restoreFiles: proj.restoreFiles,
    targetName: facts.targetName,
    isWeb: facts.isWeb,
    nugetSecret: s.nugetConfig !== '',
    secretIds: s.secrets.map((x) => x.id),
    buildArgNames: s.buildArgs.map((a) => a.name),
    publishEnv: versioning.env,
    generatedFrom: `${rel(facts.projectFile)} (${facts.targetFramework})`,
    nugetSeed: nugetMode !== 'off',
    healthcheck: s.healthcheck,
    trustedEvent: runner.trustedEvent,
    untrustedScope: untrustedScope(runner, runDir),
    assetsFile: assetsInContext(s.context, facts.assetsFile ?? '')
  }
  const dockerfileText = generateDockerfile(dockerfilePlan)
  // The recipe the image names (a label): the Dockerfile for both architectures, whichever of
  // them this job builds, so one job per platform labels its image as a two-platform build
  // does, and the same commit gives the same image either way.
  const recipe = dockerfilePlan.targets.join() === ALL_ARCHES.join() ? dockerfileText : generateDockerfile({ ...dockerfilePlan, targets: [...ALL_ARCHES] })
  const buildEnv: Record<string, string> = {}
  const secrets: SecretSource[] = s.secrets.map((x) => {
    if (x.kind === 'file') return { id: x.id, src: x.file }
    if (x.kind === 'env') return { id: x.id, env: x.env }
    buildEnv[secretVariable(x.id)] = x.value
    return { id: x.id, env: secretVariable(x.id) }
  })
  const build: BuildPlan = {
    builder: s.builder,
    dockerfile: s.dockerfile,
    context: s.context,
    platforms: s.platforms,
    // push-by-digest: no tag anywhere; the merge job tags the index.
    tags: s.pushByDigest ? [] : s.tags,
    labels: s.labels,
    buildArgs: s.buildArgs,
    cacheScope: cacheScope(rel(facts.projectFile), s.platforms),
    // The user's own caches replace our gha default (cache: gha keeps it beside them).
    cache: gha ? 'gha' : 'none',
    cacheMode: s.cacheMode,
    cacheExport,
    cacheFrom: s.cacheFrom,
    cacheTo: userCacheTo,
    push: s.push && !s.pushByDigest,
    pushByDigest: s.pushByDigest ? repositories(s.tags) : undefined,
    metadataFile: path.join(runDir, 'metadata.json'),
    ociDir: path.join(runDir, 'oci'),
    nugetConfig: s.nugetConfig,
    secrets,
    load: s.load,
    noCache: s.noCache,
    annotations: s.annotations,
    provenance: provenanceFlag(s.provenance, { load: s.load, repositoryPrivate: runner.repositoryPrivate, builderId: runUrl(runner) }),
    sbom: s.sbom,
    progress: 'plain',
    dockerfileSha256: createHash('sha256').update(recipe).digest('hex')
  }
  return { flavor, sdkImage, runtimeImage, defaultImages: defaultRefs, dockerfileText, nugetMode, build, buildEnv, warnings, notes, versioning: versioning.summary, factsStage: factsAssets(dockerfilePlan) !== undefined }
}

/**
 * Which untrusted builds share a NuGet package cache mount (generate.ts nugetCacheId): one pull
 * request's runs of one event, or else one run. A fork's pull request cannot write a package that
 * another pull request (one from a branch of the repository, which has its secrets) or another
 * event's run of the same pull request links. The price: on a persistent builder each pull
 * request restores into an empty package cache once.
 */
export function untrustedScope(runner: Runner, runDir: string): string {
  const event = runner.eventName.replace(/[^A-Za-z0-9]+/g, '-') || 'no-event'
  const pr = runner.pullRequest ?? /^refs\/pull\/(\d{1,10})\//.exec(runner.ref)?.[1]
  if (pr !== undefined) return `${event}-pr-${pr}`
  // No run id outside Actions: the run folder (mkdtemp) is this run's own.
  return `${event}-run-${/^\d{1,20}$/.test(runner.runId) ? runner.runId : path.basename(runDir).replace(/[^A-Za-z0-9]+/g, '-')}`
}
