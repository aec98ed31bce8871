// buildx: the exact `docker buildx build` argv, and parsers for what buildx tells us
// about itself and its builders. Pure.
import semver from 'semver'
import type { Platform } from '../dotnet/platforms.js'
import { platformSlug } from '../dotnet/platforms.js'
import { KEPT_SECRET_ID } from '../dockerfile/scripts.js'
import { pushByDigestOutput } from '../image/scale.js'

/**
 * Oldest buildx we run: 0.13 is the first that takes several --output flags in one build
 * (the OCI layout we measure plus the registry push). The gha cache backend needs 0.21
 * since GitHub's cache service v2.
 */
export const MIN_BUILDX = '0.13.0'
export const MIN_BUILDX_GHA = '0.21.0'

export interface BuildPlan {
  builder: string
  dockerfile: string
  context: string
  platforms: Platform[]
  tags: string[]
  labels: string[]
  buildArgs: { name: string; value: string }[]
  /** Cache scope base; one scope per project and platform set, so matrix jobs do not collide. */
  cacheScope: string
  cache: 'gha' | 'none'
  /** What our gha cache exports: every stage's layers (max) or the image's (min); default max. */
  cacheMode?: 'min' | 'max'
  /** Whether our gha cache is written too (false: read only, e.g. with a read-only cache token); default true. */
  cacheExport?: boolean
  /** The user's cache-from / cache-to values, passed as given. */
  cacheFrom?: string[]
  cacheTo?: string[]
  push: boolean
  /** Repositories buildx pushes the image to by digest only (no tag); unset or empty: no such push. */
  pushByDigest?: string[]
  metadataFile: string
  ociDir: string
  /** Path of the NuGet.config given as a BuildKit secret, or ''. */
  nugetConfig: string
  /** The user's secrets as buildx reads them: from a variable of its own environment, or a file. */
  secrets?: SecretSource[]
  /** Kept NuGet packages exist: their secret is passed, so a step that needs them stops (see scripts.ts). */
  nugetKept?: boolean
  progress: 'plain' | 'rawjson' | 'auto'
  /** Also load the image into the engine's image store (--load). */
  load?: boolean
  /** --no-cache: no step is taken from the cache. */
  noCache?: boolean
  /** --annotation values, as given. */
  annotations?: string[]
  /** --provenance value ('' = no flag: buildx's own default), see provenanceFlag. */
  provenance?: string
  /** --sbom value ('' = none). */
  sbom?: string
  /** sha256 of the generated Dockerfile for both architectures (the recipe, whichever of them a job builds), recorded as a label. */
  dockerfileSha256: string
  /** The images' timestamps (Unix seconds) on every image output; undefined: as built. */
  sourceDateEpoch?: number
}

/**
 * An image output's timestamps fixed: the config's and history's times and every file of the
 * layers the build made (rewrite-timestamp) become the epoch, so the same commit gives the same
 * bytes. Exporter attributes, not the SOURCE_DATE_EPOCH build arg: the Dockerfile frontend
 * would give every WORKDIR that time, a new cache key for each commit. (Files given one time in
 * the publish step instead cost no rewrite, but the final COPY then missed the gha cache on a
 * fresh runner: e2e/warmci.)
 */
export function epochAttrs(epoch: number | undefined): string[] {
  return epoch === undefined ? [] : [`source-date-epoch=${epoch}`, 'rewrite-timestamp=true']
}

/** A secret for `--secret`: buildx reads the value itself, so it is never on a command line. */
export type SecretSource = { id: string; env: string } | { id: string; src: string }

/** The variable that carries the kept-packages secret to buildx (its value, 1, is unused). */
export const KEPT_VARIABLE = 'AOT_BUILDX_NUGET_KEPT'

/** The variable that carries a `secrets` value to buildx (set only in the build command's environment). */
export function secretVariable(id: string): string {
  return `AOT_BUILDX_SECRET_${id}`
}

export const DOCKERFILE_LABEL = 'io.github.aot-buildx.dockerfile.sha256'

export function cacheScope(projectRel: string, platforms: Platform[]): string {
  const proj = projectRel.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')
  return `aot-buildx-${proj}-${platforms.map(platformSlug).join('+')}`
}

/** How long BuildKit retries a refused (429) cache request before giving up on the export. */
export const GHA_TIMEOUT = '2m'

/**
 * Our gha cache export. ignore-error: a write the service refuses (429, a read-only token, an
 * entry evicted mid-upload) must not fail a build whose images are made; the build log says
 * what failed (see cachelog.ts). timeout: GitHub's rate limit is per minute and BuildKit backs
 * off from 1 s doubling, so 2 minutes wait one window out instead of BuildKit's 10.
 */
export function ghaCacheTo(scope: string, mode: 'min' | 'max'): string {
  return `type=gha,scope=${scope},mode=${mode},ignore-error=true,timeout=${GHA_TIMEOUT}`
}

/** The build's secrets: buildx reads each value itself, from a file or its own environment. */
function secretArgs(p: BuildPlan): string[] {
  const argv: string[] = []
  if (p.nugetConfig !== '') argv.push('--secret', csv(['id=nuget-config', `src=${p.nugetConfig}`]))
  for (const sec of p.secrets ?? []) argv.push('--secret', csv([`id=${sec.id}`, 'env' in sec ? `env=${sec.env}` : `src=${sec.src}`]))
  if (p.nugetKept === true) argv.push('--secret', csv([`id=${KEPT_SECRET_ID}`, `env=${KEPT_VARIABLE}`]))
  return argv
}

export function buildArgv(p: BuildPlan): string[] {
  const argv = ['buildx', 'build']
  if (p.builder !== '') argv.push('--builder', p.builder)
  argv.push('--file', p.dockerfile)
  argv.push('--platform', p.platforms.join(','))
  argv.push('--progress', p.progress)
  argv.push('--metadata-file', p.metadataFile)
  for (const t of p.tags) argv.push('--tag', t)
  for (const l of p.labels) argv.push('--label', l)
  if (p.dockerfileSha256 !== '') argv.push('--label', `${DOCKERFILE_LABEL}=${p.dockerfileSha256}`)
  for (const a of p.buildArgs) argv.push('--build-arg', `${a.name}=${a.value}`)
  for (const a of p.annotations ?? []) argv.push('--annotation', a)
  if (p.provenance !== undefined && p.provenance !== '') argv.push('--provenance', p.provenance)
  if (p.sbom !== undefined && p.sbom !== '') argv.push('--sbom', p.sbom)
  if (p.noCache === true) argv.push('--no-cache')
  argv.push(...secretArgs(p))
  if (p.cache === 'gha') {
    argv.push('--cache-from', `type=gha,scope=${p.cacheScope}`)
    if (p.cacheExport !== false) argv.push('--cache-to', ghaCacheTo(p.cacheScope, p.cacheMode ?? 'max'))
  }
  for (const c of p.cacheFrom ?? []) argv.push('--cache-from', c)
  for (const c of p.cacheTo ?? []) argv.push('--cache-to', c)
  // A fresh folder each build: with tar=false buildx appends to an existing index.json.
  // attestation-inline: with one platform the registry export attaches the provenance
  // attestation inline (an index) while the layout would hold a bare manifest, and buildx then
  // writes the registry's root into the layout's index.json, naming a blob the layout lacks.
  const epoch = epochAttrs(p.sourceDateEpoch)
  argv.push('--output', csv(['type=oci', 'tar=false', 'attestation-inline=true', `dest=${p.ociDir}`, ...epoch]))
  if (p.pushByDigest !== undefined && p.pushByDigest.length > 0) argv.push('--output', [pushByDigestOutput(p.pushByDigest), ...epoch].join(','))
  else if (p.push) argv.push('--output', ['type=registry', ...epoch].join(','))
  // --load is --output type=docker, which takes the same attributes.
  if (p.load === true) argv.push(...(epoch.length === 0 ? ['--load'] : ['--output', ['type=docker', ...epoch].join(',')]))
  argv.push(p.context)
  return argv
}

/** The gha cache scope of the SBOM's facts build: its own, so the image's cache (mode=min) needs no restore layer. */
export function factsScope(scope: string): string {
  return `${scope}-facts`
}

/**
 * The small build after the images' build that exports what restore resolved (the Dockerfile's
 * `stage`, on the build platform): the same file, context, build args, secrets and cache
 * sources, so on a warm builder every step it needs is the one just built. With mode=min the
 * image's gha cache holds no restore layer, so on a fresh runner the facts come from a gha scope
 * of their own, written where the image's cache is. No platform, tag, attestation or push; not
 * the kept-packages secret (a restore that runs again here downloads what it needs).
 */
export function factsArgv(p: BuildPlan, stage: string, dest: string): string[] {
  const argv = ['buildx', 'build']
  if (p.builder !== '') argv.push('--builder', p.builder)
  argv.push('--file', p.dockerfile, '--progress', 'plain', '--target', stage, '--provenance', 'false')
  for (const a of p.buildArgs) argv.push('--build-arg', `${a.name}=${a.value}`)
  argv.push(...secretArgs({ ...p, nugetKept: false }))
  if (p.cache === 'gha') {
    argv.push('--cache-from', `type=gha,scope=${factsScope(p.cacheScope)}`, '--cache-from', `type=gha,scope=${p.cacheScope}`)
    if (p.cacheExport !== false) argv.push('--cache-to', ghaCacheTo(factsScope(p.cacheScope), 'min'))
  }
  for (const c of p.cacheFrom ?? []) argv.push('--cache-from', c)
  argv.push('--output', csv(['type=local', `dest=${dest}`]), p.context)
  return argv
}

export interface ProvenanceFacts {
  load: boolean
  /** The repository's visibility from the event payload; undefined outside Actions. */
  repositoryPrivate: boolean | undefined
  /** `<server>/<owner>/<repo>/actions/runs/<id>[/attempts/<n>]`, or '' outside Actions. */
  builderId: string
}

/**
 * The --provenance value, with docker/build-push-action's defaults: none given means max-level
 * provenance for a public repository, min-level (inline only) for a private one, and no flag
 * when the image is loaded (the docker exporter takes no attestations); the run is named as the
 * builder id. Secrets never appear in it: they are mounts, not build args.
 */
export function provenanceFlag(input: string, f: ProvenanceFacts): string {
  const withId = (attrs: string): string => (f.builderId === '' || /(^|,)builder-id=/.test(attrs) ? attrs : `${attrs},builder-id=${f.builderId}`)
  if (input === 'false') return 'false'
  if (input === '') {
    if (f.load) return ''
    return withId(f.repositoryPrivate === true ? 'mode=min,inline-only=true' : 'mode=max')
  }
  if (input === 'true') return f.builderId === '' ? 'true' : `builder-id=${f.builderId}`
  return withId(input)
}

/**
 * One buildx option value in its CSV form (--output, --secret, --cache-to): a field holding a
 * comma or a quote is quoted, as Go's encoding/csv, which buildx parses them with, expects.
 */
export function csv(fields: string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')
}

/** Renders argv for the log as a copy-pasteable command (display only; we never run a shell). */
export function displayCommand(argv: string[]): string {
  return ['docker', ...argv].map((a) => (/^[A-Za-z0-9_./:=,+@-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

/** Hides build-arg values in the displayed command: they may hold secrets a user passed by mistake. */
export function redactArgv(argv: string[]): string[] {
  return argv.map((a, i) => (i > 0 && argv[i - 1] === '--build-arg' ? a.replace(/=.*/s, '=***') : a))
}

/** `docker buildx version` -> semver, e.g. "github.com/docker/buildx 0.13.1 ..." or "v0.21.2". */
export function parseBuildxVersion(text: string): string | undefined {
  const m = /\bv?(\d+\.\d+\.\d+)(?:[-+][\w.]+)?/.exec(text)
  return m ? m[1] : undefined
}

export function buildxTooOld(version: string, needGha: boolean): string | undefined {
  if (semver.lt(version, MIN_BUILDX)) return `buildx ${version} is older than ${MIN_BUILDX}, the first that writes the OCI layout and pushes in one build`
  if (needGha && semver.lt(version, MIN_BUILDX_GHA)) return `buildx ${version} is older than ${MIN_BUILDX_GHA}, which the gha cache needs since GitHub's cache service v2`
  return undefined
}

export interface BuilderInfo {
  name: string
  driver: string
  platforms: string[]
}

/** Parses `docker buildx inspect [name]` text output. */
export function parseBuilderInspect(text: string): BuilderInfo {
  const name = /^Name:\s+(\S+)/m.exec(text)?.[1] ?? ''
  const driver = /^Driver:\s+(\S+)/m.exec(text)?.[1] ?? ''
  const platforms = new Set<string>()
  for (const [, list = ''] of text.matchAll(/^Platforms:\s+(.*)$/gm)) {
    for (const p of list.split(',')) {
      const v = p.trim().replace(/\*$/, '')
      if (v !== '') platforms.add(v)
    }
  }
  return { name, driver, platforms: [...platforms] }
}

/** The docker driver builds several platforms only on the containerd image store. */
/**
 * The engine's own BuildKit exports the gha cache (docker driver): it speaks GitHub's cache
 * service v2 from BuildKit 0.20, first shipped in Docker Engine 28. (Debian's builds report
 * BuildKit v0.0.0+unknown, so the engine's version decides.)
 */
export const MIN_ENGINE_GHA = 28

/** The engine's major version from `docker info` JSON (ServerVersion "28.5.2+dfsg4"), or undefined. */
export function dockerInfoServerMajor(infoJson: string): number | undefined {
  try {
    const v = (JSON.parse(infoJson) as { ServerVersion?: unknown }).ServerVersion
    const m = typeof v === 'string' ? /^v?(\d+)\./.exec(v) : null
    return m?.[1] !== undefined ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

export function dockerInfoHasContainerdStore(infoJson: string): boolean {
  try {
    const info = JSON.parse(infoJson) as { DriverStatus?: [string, string][]; Driver?: string }
    if ((info.Driver ?? '').startsWith('overlayfs') || (info.Driver ?? '').includes('snapshotter')) return true
    return (info.DriverStatus ?? []).some(([k, v]) => /driver-type/i.test(k) && /io\.containerd\.snapshotter/.test(v))
  } catch {
    return false
  }
}
