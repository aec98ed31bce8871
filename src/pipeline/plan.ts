// The build plan: settings + project facts -> Dockerfile text and buildx plan. Pure.
import { createHash } from 'node:crypto'
import * as path from 'node:path'
import type { Settings } from '../action/inputs.js'
import { runUrl, type Runner } from '../action/env.js'
import { defaultRuntimeImage, defaultSdkImage, generateDockerfile, resolveFlavor, type ResolvedFlavor } from '../dockerfile/generate.js'
import { icuWarning } from '../dockerfile/icu.js'
import type { ProjectRead } from '../dotnet/evaluate.js'
import { archOf } from '../dotnet/platforms.js'
import { cacheScope, provenanceFlag, secretVariable, type BuildPlan, type SecretSource } from '../engine/buildx.js'
import { repositories } from '../image/scale.js'
import { nugetCacheMode, type NugetCacheMode } from '../nuget/cache.js'
import { toPosix } from '../util/paths.js'

export interface Plan {
  flavor: ResolvedFlavor
  sdkImage: string
  runtimeImage: string
  dockerfileText: string
  nugetMode: NugetCacheMode
  /** The buildx plan; `builder` is the input until the engine phase picks one. */
  build: BuildPlan
  /** Variables only the build command gets: the values of the `secrets` input, read by buildx. */
  buildEnv: Record<string, string>
  warnings: string[]
}

export function planBuild(s: Settings, proj: ProjectRead, runner: Runner, runDir: string): Plan {
  const facts = proj.facts
  const rel = (p: string): string => toPosix(path.relative(s.workspace, p)) || '.'
  const flavor = resolveFlavor(s.flavor, facts.invariantGlobalization)
  const sdkImage = s.sdkImage || defaultSdkImage(facts.dotnetMajor)
  const runtimeImage = s.runtimeImage || defaultRuntimeImage(facts.dotnetMajor, flavor)
  const nugetMode = nugetCacheMode(s.nugetCache, s.nugetCacheDir, runner.actionsCache)
  const warnings: string[] = []
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
  const dockerfileText = generateDockerfile({
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
    generatedFrom: `${rel(facts.projectFile)} (${facts.targetFramework})`,
    nugetSeed: nugetMode !== 'off',
    healthcheck: s.healthcheck
  })
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
    cacheFrom: s.cacheFrom,
    cacheTo: s.cacheTo,
    push: s.push && !s.pushByDigest,
    pushByDigest: s.pushByDigest ? repositories(s.tags) : undefined,
    metadataFile: path.join(runDir, 'metadata.json'),
    ociDir: path.join(runDir, 'oci'),
    nugetConfig: s.nugetConfig,
    secrets,
    load: s.load,
    annotations: s.annotations,
    provenance: provenanceFlag(s.provenance, { load: s.load, repositoryPrivate: runner.repositoryPrivate, builderId: runUrl(runner) }),
    sbom: s.sbom,
    progress: 'plain',
    dockerfileSha256: createHash('sha256').update(dockerfileText).digest('hex')
  }
  return { flavor, sdkImage, runtimeImage, dockerfileText, nugetMode, build, buildEnv, warnings }
}
