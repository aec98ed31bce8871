// Turns the action's raw inputs into a validated, typed Settings object.
// Pure: the caller passes a getter for raw inputs and the runner's environment facts.
import * as path from 'node:path'
import { parseMaxIncrease, parseMaxSize, parseSize, type MaxIncrease } from '../size/budget.js'
import { parseBuildxVersionInput } from '../engine/buildxinstall.js'
import { clip, InputError, quote } from '../util/errors.js'
import { normalizePlatform, type Platform } from '../dotnet/platforms.js'
import type { Mode } from '../image/scale.js'
import { isInside } from '../util/paths.js'
import { parseLines, parseList } from '../util/lists.js'
import { validRevision } from '../dotnet/solution.js'
import { parseEpoch } from '../util/git.js'
import { BUILD_ARG_NAME, parseSecrets, type BuildSecret } from './secrets.js'
import { healthcheckPathProblem, MAX_HEALTHCHECK_PATH } from '../dockerfile/healthcheck.js'
import { parseSignSettings, type SignSettings } from '../sign/cosign.js'
import { BUILDKITD_CONFIG_ACCEPTED, DRIVER_OPTS_ACCEPTED, readDriverOpt, tomlProblem } from '../engine/ownbuilder.js'

export type Flavor = 'chiseled' | 'chiseled-extra' | 'full' | 'auto'
export type QemuMode = 'auto' | 'true' | 'false'
export type CacheMode = 'auto' | 'gha' | 'none'

/** Inputs of the build itself (its secrets, caches, attestations, image checks): neither a merge nor discovery reads them. */
const BUILD_STEP_INPUTS = [
  'secrets',
  'secret-envs',
  'secret-files',
  'load',
  'no-cache',
  'provenance',
  'sbom',
  'dotnet-sbom',
  'source-date-epoch',
  'smoke-test',
  'smoke-url',
  'smoke-args',
  'smoke-window',
  'max-startup',
  'max-memory',
  'cache-from',
  'cache-to',
  'healthcheck',
  'driver-opts',
  'buildkitd-config',
  'buildkitd-config-inline'
] as const

/** Inputs that only shape a build, which a merge job does not read. */
export const MERGE_IGNORES = [
  'project',
  'framework',
  'configuration',
  'flavor',
  'context',
  'context-files',
  'dockerfile',
  'build-args',
  'sdk-image',
  'runtime-image',
  'distro',
  'nuget-config',
  'nuget-cache',
  'nuget-cache-dir',
  'cache',
  'cache-mode',
  'setup-qemu',
  'labels',
  ...BUILD_STEP_INPUTS
] as const

/**
 * action.yml's defaults: a runner passes them as if given, so an input counts as given (and,
 * in a mode that does not read it, as ignored) only when it differs from its default.
 */
export const INPUT_DEFAULTS: Record<string, string> = {
  framework: '',
  configuration: 'Release',
  flavor: 'auto',
  platforms: 'linux/amd64,linux/arm64',
  context: '.',
  'context-files': 'project',
  dockerfile: '',
  tags: '',
  labels: '',
  'build-args': '',
  push: 'false',
  'push-by-digest': 'false',
  mode: 'build',
  digests: '',
  build: 'true',
  builder: '',
  'buildx-version': '',
  cache: 'auto',
  'cache-mode': 'min',
  'sdk-image': '',
  'runtime-image': '',
  distro: '',
  'setup-qemu': 'auto',
  'qemu-image': 'docker.io/tonistiigi/binfmt:qemu-v9.2.2',
  'nuget-config': '',
  'nuget-cache': 'auto',
  'nuget-cache-dir': '',
  summary: 'true',
  'baseline-image': '',
  'max-size': '',
  'max-increase': '',
  comment: 'false',
  'changed-since': '',
  reports: '',
  secrets: '',
  'secret-envs': '',
  'secret-files': '',
  load: 'false',
  'no-cache': 'false',
  annotations: '',
  provenance: '',
  sbom: '',
  'dotnet-sbom': 'true',
  'source-date-epoch': '',
  'smoke-test': 'auto',
  'smoke-url': '/',
  'smoke-args': '',
  'smoke-window': '5s',
  'max-startup': '',
  'max-memory': '',
  'cache-from': '',
  'cache-to': '',
  healthcheck: '',
  'driver-opts': '',
  'buildkitd-config': '',
  'buildkitd-config-inline': '',
  sign: 'false',
  'cosign-key': '',
  'cosign-password': '',
  'transparency-log': 'true'
}

/** Inputs that only shape a build or a push, which discovery does not read. */
export const DISCOVER_IGNORES = [
  'framework',
  'flavor',
  'dockerfile',
  'tags',
  'labels',
  'build-args',
  'push',
  'push-by-digest',
  'digests',
  'build',
  'builder',
  'buildx-version',
  'cache',
  'cache-mode',
  'runtime-image',
  'distro',
  'setup-qemu',
  'qemu-image',
  'nuget-config',
  'nuget-cache',
  'nuget-cache-dir',
  'baseline-image',
  'max-size',
  'max-increase',
  'comment',
  'annotations',
  'sign',
  'cosign-key',
  'cosign-password',
  'transparency-log',
  ...BUILD_STEP_INPUTS
] as const

/** Inputs the report of a whole run does not read: it reads reports, project (its title), summary, comment and github-token. */
export const REPORT_IGNORES = [...DISCOVER_IGNORES.filter((n) => n !== 'comment'), 'configuration', 'context', 'context-files', 'sdk-image', 'platforms'] as const

export interface Settings {
  /** mode: merge, discover or report: inputs that were given but are not read in that mode. */
  ignoredInputs: string[]
  /** mode: discover: list only the apps whose inputs changed since this git revision ('' = list all). */
  changedSince: string
  /** mode: report: the folder of the build jobs' report files ('' in other modes). */
  reports: string
  /** build: build (and push) images; merge: join per-architecture digests under the tags. */
  mode: Mode
  /** Absolute path to the .csproj or a folder that holds exactly one; '' in merge mode when not given. */
  project: string
  framework: string
  configuration: string
  flavor: Flavor
  platforms: Platform[]
  /** Absolute build context, inside the workspace. */
  context: string
  /** project: the build sees only the files the project consumes (MSBuild's lists); all: the whole context. */
  contextFiles: 'project' | 'all'
  /** Absolute path the generated Dockerfile is written to, inside the workspace. */
  dockerfile: string
  tags: string[]
  labels: string[]
  buildArgs: { name: string; value: string }[]
  push: boolean
  /** Push by digest only, no tag (one platform per job; a merge job tags the index). */
  pushByDigest: boolean
  /** merge mode: sha256 digests or repo@sha256 references of the per-architecture images. */
  digests: string[]
  build: boolean
  builder: string
  /** A buildx release (v0.21.2) installed when the runner's is missing or too old; '' = use what is there. */
  buildxVersion: string
  cache: CacheMode
  /** What our gha cache exports: the image's layers (min, the default) or every stage's (max). */
  cacheMode: 'min' | 'max'
  sdkImage: string
  runtimeImage: string
  /** The distro of Microsoft's default images ('' = Microsoft's recommended one for the project's .NET major); checked against that major in the plan. */
  distro: string
  setupQemu: QemuMode
  qemuImage: string
  nugetConfig: string
  /** Keep NuGet packages across runs: auto (with the Actions cache), true, false. */
  nugetCache: 'auto' | 'true' | 'false'
  /** A folder that keeps the packages instead of the Actions cache (self-hosted runners). */
  nugetCacheDir: string
  summary: boolean
  /** Size report (pull requests): baseline, budgets, sticky comment. */
  baselineImage: string
  maxSize: Record<string, number>
  maxIncrease: MaxIncrease
  comment: boolean
  githubToken: string
  workspace: string
  tempDir: string
  /** secrets, secret-envs and secret-files: variables of the restore and publish steps. */
  secrets: BuildSecret[]
  /** Also load the image into the engine's image store (next steps can run it). */
  load: boolean
  /** --no-cache: every build step runs again (build-push-action's no-cache). */
  noCache: boolean
  /** metadata-action's annotations: [type[,type][platform]:]key=value, passed as --annotation. */
  annotations: string[]
  /** --provenance as given ('' = build-push-action's default, decided with the runner facts). */
  provenance: string
  /** --sbom as given ('' = none). */
  sbom: string
  /** Attach an SPDX SBOM of the NuGet packages and runtime packs in each platform's binary (sbom/). */
  dotnetSbom: boolean
  /**
   * The images' timestamps (source-date-epoch on every image output):
   * 'commit' = the committer time of the checkout's HEAD, a Unix time, or 'off' (as built).
   */
  sourceDateEpoch: 'commit' | 'off' | number
  /** Start each platform's image before the push: auto (where it can run), true (fail where it cannot), false. */
  smokeTest: 'auto' | 'true' | 'false'
  /** The path a web app is asked for. */
  smokeUrl: string
  /** Arguments a console app is started with. */
  smokeArgs: string[]
  /** How long a console app that has not exited must run before it is stopped with SIGTERM, ms. */
  smokeWindowMs: number
  /** Budgets on native platforms: start-up (ms) and peak memory (bytes). */
  maxStartup?: number
  maxMemory?: number
  /** The user's own build caches (as build-push-action): when either is set, our gha default is off. */
  cacheFrom: string[]
  cacheTo: string[]
  /** The path the image's HEALTHCHECK asks the app for ('' = no health check). */
  healthcheck: string
  /** sign, cosign-key, cosign-password, transparency-log: cosign signatures of what is pushed. */
  sign: SignSettings
  /** driver-opts lines for the docker-container builder the action creates (any of these three means it creates one). */
  driverOpts: string[]
  /** Absolute path of a BuildKit daemon TOML config ('' = none); checked on the disk by checkPathInputs. */
  buildkitdConfig: string
  /** BuildKit daemon TOML text ('' = none), written to a file in RUNNER_TEMP before the builder is created. */
  buildkitdConfigInline: string
}

export interface RunnerEnv {
  workspace: string
  tempDir: string
}

export type InputGetter = (name: string) => string

export const DEFAULT_PLATFORMS = 'linux/amd64,linux/arm64'
// Pinned: recent unpinned binfmt images have crashed on ubuntu-24.04 runners.
export const DEFAULT_QEMU_IMAGE = 'docker.io/tonistiigi/binfmt:qemu-v9.2.2'


export function parseBoolean(name: string, raw: string, fallback: boolean): boolean {
  const v = raw.trim()
  if (v === '') return fallback
  // Strict like @actions/core getBooleanInput (YAML 1.2 core schema).
  if (['true', 'True', 'TRUE'].includes(v)) return true
  if (['false', 'False', 'FALSE'].includes(v)) return false
  throw new InputError(name, `${quote(v)} is not a boolean`, 'true or false')
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[], fallback: T): T {
  const v = raw.trim()
  if (v === '') return fallback
  if ((allowed as readonly string[]).includes(v)) return v as T
  throw new InputError(name, `${quote(v)} is not a known value`, allowed.join(', '))
}

/** Whether p is root or below it (a folder named "..cache" is inside; "../x" is not). */

/** Resolves p against base and checks it stays inside root (no ../ escapes). */
export function resolveInside(name: string, root: string, p: string): string {
  const abs = path.resolve(root, p)
  if (!isInside(root, abs)) {
    throw new InputError(name, `${quote(p)} resolves to ${clip(abs, 120)}, outside the workspace ${root}`, 'a path inside the workspace')
  }
  return abs
}

// A docker image reference: [registry[:port]/]path[:tag][@digest], lower-case path.
const REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/

export function isImageReference(ref: string): boolean {
  return ref.length <= 255 && REFERENCE.test(ref)
}

function imageRef(name: string, raw: string): string {
  const v = raw.trim()
  if (v === '') return ''
  if (!isImageReference(v)) {
    throw new InputError(name, `${quote(v)} is not a valid image reference`, 'an image reference such as registry/repo:tag or repo@sha256:<digest>')
  }
  return v
}

/** A distro word as Microsoft's tags spell it (noble, resolute); whether the project's .NET major has it is the plan's question. */
function parseDistro(raw: string): string {
  const v = raw.trim().toLowerCase()
  if (v !== '' && !/^[a-z][a-z0-9.]{0,31}$/.test(v)) {
    throw new InputError('distro', `${quote(raw.trim())} is not a distro name`, 'empty (Microsoft\'s recommended distro for the project\'s .NET major: noble for .NET 10, resolute for .NET 11), or noble or resolute')
  }
  return v
}

function parsePlatforms(raw: string): Platform[] {
  const items = parseList(raw === '' ? DEFAULT_PLATFORMS : raw)
  if (items.length === 0) {
    throw new InputError('platforms', 'no platform given', 'linux/amd64, linux/arm64')
  }
  const out: Platform[] = []
  for (const item of items) {
    const p = normalizePlatform(item)
    if (p === undefined) {
      throw new InputError(
        'platforms',
        `${quote(item)} is not a platform Native AOT can target from a Linux container build`,
        'linux/amd64, linux/arm64 (linux/arm64/v8 and linux/x86_64 are read as those)'
      )
    }
    if (out.includes(p)) {
      throw new InputError('platforms', `${quote(item)} is listed twice (as ${p})`, 'each platform once')
    }
    out.push(p)
  }
  return out
}

function parseTags(raw: string): string[] {
  const tags = parseList(raw)
  for (const t of tags) {
    if (!isImageReference(t) || t.includes('@')) {
      throw new InputError('tags', `${quote(t)} is not a valid image tag`, 'references like ghcr.io/owner/app:1.0 (lower-case repository, tag of letters, digits, . _ -)')
    }
  }
  return tags
}

function parseLabels(raw: string): string[] {
  const labels = parseLines(raw)
  for (const l of labels) {
    const eq = l.indexOf('=')
    if (eq <= 0) {
      throw new InputError('labels', `${quote(l)} has no key`, 'one key=value per line')
    }
  }
  return labels
}

function parseBuildArgs(raw: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = []
  for (const [i, line] of parseLines(raw).entries()) {
    const eq = line.indexOf('=')
    const name = eq < 0 ? line : line.slice(0, eq)
    // Only the entry's number: a token pasted here (masked, secretValuesToMask) is not shown.
    // A value of only "=" is a padded token's tail: its body would become the name.
    if (eq < 0 || !BUILD_ARG_NAME.test(name) || /^=+$/.test(line.slice(eq + 1))) {
      throw new InputError('build-args', `entry ${i + 1} is not NAME=value`, 'one NAME=value per line, a value other than only "="; NAME of letters, digits and _, starting with a letter or _ (secrets belong in secrets or secret-envs, never in build-args)')
    }
    if (['TARGETARCH', 'TARGETPLATFORM', 'BUILDARCH', 'BUILDPLATFORM', 'TARGETOS', 'BUILDOS'].includes(name)) {
      throw new InputError('build-args', `${name} is set by BuildKit for each platform`, 'your own build arguments')
    }
    if (out.some((a) => a.name === name)) throw new InputError('build-args', `${name} is given twice`, 'each build argument once')
    out.push({ name, value: line.slice(eq + 1) })
  }
  return out
}

const BARE_DIGEST = /^sha256:[a-f0-9]{64}$/

function parseDigests(raw: string): string[] {
  const out: string[] = []
  for (const d of parseList(raw)) {
    if (!BARE_DIGEST.test(d) && !(isImageReference(d) && /@sha256:[a-f0-9]{64}$/.test(d))) {
      throw new InputError('digests', `${quote(d)} is not an image digest`, 'sha256:<64 hex digits> (the digest output of a push-by-digest job), or a reference such as ghcr.io/o/app@sha256:<64 hex digits>')
    }
    if (out.includes(d)) throw new InputError('digests', `"${d}" is listed twice`, 'each platform job\'s digest once')
    out.push(d)
  }
  return out
}

/** The action writes this folder, so it must be in the workspace or the runner's temp folder. */
function parseCacheDir(raw: string, workspace: string, tempDir: string): string {
  const v = raw.trim()
  if (v === '') return ''
  const abs = path.resolve(workspace, v)
  if (!isInside(workspace, abs) && !isInside(tempDir, abs)) {
    throw new InputError('nuget-cache-dir', `${quote(v)} resolves to ${clip(abs, 120)}, outside the workspace and the runner's temp folder`, 'a folder inside the workspace or RUNNER_TEMP')
  }
  return abs
}

const TFM = /^net\d+\.\d+$/
const CONFIGURATION = /^[A-Za-z][A-Za-z0-9_.-]*$/
const BUILDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

const ANNOTATION_TYPES = ['manifest', 'index', 'manifest-descriptor', 'index-descriptor']
const ANNOTATIONS_ACCEPTED =
  "one key=value per line, optionally prefixed by where it goes (manifest:, index:, manifest-descriptor:, index-descriptor:, several joined by commas, a platform in brackets: manifest[linux/arm64]:), as docker/metadata-action's annotations output gives them"

/** Annotations as buildx's --annotation takes them; values may hold commas, so one per line. */
function parseAnnotations(raw: string): string[] {
  const out: string[] = []
  for (const line of parseLines(raw)) {
    const eq = line.indexOf('=')
    const head = eq < 0 ? line : line.slice(0, eq)
    const colon = head.lastIndexOf(':')
    const key = colon < 0 ? head : head.slice(colon + 1)
    if (eq < 0 || key.trim() === '' || /\s/.test(key)) throw new InputError('annotations', `${quote(line)} is not key=value`, ANNOTATIONS_ACCEPTED)
    if (colon >= 0) {
      const types = head.slice(0, colon).replace(/\[[^\]]*\]$/, '')
      for (const t of types.split(',')) {
        if (!ANNOTATION_TYPES.includes(t.trim())) throw new InputError('annotations', `${quote(line)}: "${clip(t, 40)}" is not a place for an annotation`, ANNOTATIONS_ACCEPTED)
      }
    }
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(line)) throw new InputError('annotations', `${quote(line)} holds control characters`, ANNOTATIONS_ACCEPTED)
    out.push(line)
  }
  return out
}

const ATTEST_VALUE = /^[A-Za-z0-9_.:/@+-]*$/

/**
 * provenance / sbom: true, false, or buildx's key=value attributes (mode=max; generator=IMAGE),
 * passed on as build-push-action passes them. Commas separate attributes, so values have none.
 */
function parseAttestation(name: 'provenance' | 'sbom', raw: string): string {
  const v = raw.trim()
  if (v === '' || ['true', 'false'].includes(v.toLowerCase())) return v.toLowerCase()
  const keys = name === 'provenance' ? ['mode', 'builder-id', 'inline-only', 'version', 'reproducible', 'filename'] : ['generator', 'scan-context', 'scan-stage', 'filename']
  const accepted = `true, false, or comma-separated attributes (${keys.map((k) => `${k}=`).join(', ')})${name === 'provenance' ? ', e.g. mode=max' : ', e.g. generator=docker/buildkit-syft-scanner'}`
  for (const attr of v.split(',')) {
    const eq = attr.indexOf('=')
    const key = eq < 0 ? attr.trim() : attr.slice(0, eq).trim()
    const val = eq < 0 ? '' : attr.slice(eq + 1).trim()
    if (eq < 0 || !keys.includes(key)) throw new InputError(name, `${quote(attr.trim())} is not one of its attributes`, accepted)
    if (val === '' || !ATTEST_VALUE.test(val)) throw new InputError(name, `the value of ${key} (${quote(val)}) is not accepted`, accepted)
    if (key === 'mode' && !['min', 'max'].includes(val)) throw new InputError(name, `mode=${val} is not a provenance mode`, 'mode=min or mode=max')
  }
  return v
}

const CACHE_TYPES = ['registry', 'local', 'gha', 's3', 'azblob', 'inline']
const CACHES_ACCEPTED =
  'one cache per line, as buildx takes it: type=registry,ref=<image>[,mode=max], type=local,src=<dir> or dest=<dir>, type=gha[,scope=...], type=s3,..., type=azblob,..., type=inline, or an image reference (a registry cache)'

/** cache-from / cache-to: buildx's CSV values, one per line (values hold commas); an image reference alone is a registry cache. */
function parseCaches(name: 'cache-from' | 'cache-to', raw: string): string[] {
  const out: string[] = []
  for (const line of parseLines(raw)) {
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(line)) throw new InputError(name, `${quote(line)} holds control characters`, CACHES_ACCEPTED)
    if (!line.includes('=')) {
      if (!isImageReference(line)) throw new InputError(name, `${quote(line)} is neither type=... nor an image reference`, CACHES_ACCEPTED)
      out.push(`type=registry,ref=${line}`)
      continue
    }
    const type = /(?:^|,)type=([^,]*)/.exec(line)?.[1]
    if (type === undefined || !CACHE_TYPES.includes(type)) throw new InputError(name, `${quote(line)} names no known type`, CACHES_ACCEPTED)
    if (name === 'cache-to' && type === 'local' && !/(?:^|,)dest=/.test(line)) throw new InputError(name, `${quote(line)} has no dest=`, 'type=local,dest=<dir> (a local cache is written to a folder)')
    if (name === 'cache-from' && type === 'local' && !/(?:^|,)src=/.test(line)) throw new InputError(name, `${quote(line)} has no src=`, 'type=local,src=<dir> (a local cache is read from a folder)')
    out.push(line)
  }
  return out
}

/** smoke-url: a path on the app, asked over HTTP on the container's port. */
function parseSmokeUrl(raw: string): string {
  const v = raw.trim() || '/'
  if (!/^\/[\x21-\x7e]{0,1999}$/.test(v)) throw new InputError('smoke-url', `${quote(v)} is not a path`, 'a path starting with / of printable characters without spaces, e.g. /healthz')
  return v
}

function parseMaxStartup(raw: string): number | undefined {
  const v = raw.trim()
  if (v === '') return undefined
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(v)
  const n = m === null ? NaN : Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  if (!Number.isFinite(n) || n <= 0) throw new InputError('max-startup', `${quote(v)} is not a duration`, 'milliseconds (250 or 250ms) or seconds (1.5s), more than 0')
  return n
}

const EPOCH_ACCEPTED = "empty (the commit time of the checkout's HEAD, or the step's SOURCE_DATE_EPOCH variable when set), a Unix time in seconds such as 1735689600, or false (the times the build ran)"

/** source-date-epoch; empty reads SOURCE_DATE_EPOCH from the step's environment, as buildx would. */
function parseSourceDateEpoch(raw: string, environ: Record<string, string | undefined>): Settings['sourceDateEpoch'] {
  const v = raw.trim()
  if (v === 'false') return 'off'
  if (v === '') {
    const fromEnv = (environ.SOURCE_DATE_EPOCH ?? '').trim()
    if (fromEnv === '') return 'commit'
    const n = parseEpoch(fromEnv)
    if (n === undefined) throw new InputError('source-date-epoch', `the step's SOURCE_DATE_EPOCH variable, ${quote(clip(fromEnv, 40))}, is not a Unix time`, EPOCH_ACCEPTED)
    return n
  }
  const n = parseEpoch(v)
  if (n === undefined) throw new InputError('source-date-epoch', `${quote(clip(v, 40))} is not a Unix time`, EPOCH_ACCEPTED)
  return n
}

/** smoke-window: a console app still running after it, without having crashed, has started. */
function parseSmokeWindow(raw: string): number {
  const v = raw.trim() || '5s'
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(v)
  const n = m === null ? NaN : Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  if (!Number.isFinite(n) || n < 100 || n > 300_000) throw new InputError('smoke-window', `${quote(v)} is not a window the smoke test can use`, 'a duration from 100ms to 300s, e.g. 5s (a bare number is milliseconds)')
  return n
}

const MAX_MEMORY_ACCEPTED = 'a size more than 0, such as 64MB (B, kB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024); empty for no budget'

function parseMaxMemory(raw: string): number | undefined {
  if (raw.trim() === '') return undefined
  const n = parseSize(raw, 'max-memory', MAX_MEMORY_ACCEPTED)
  // Zero would fail every run that measured anything (and means no limit to docker run --memory).
  if (n === 0) throw new InputError('max-memory', `${quote(raw.trim())} is zero, which no running app fits in`, MAX_MEMORY_ACCEPTED)
  return n
}

function parseHealthcheck(raw: string): string {
  const v = raw.trim()
  if (v === '') return ''
  const problem = healthcheckPathProblem(v)
  if (problem !== undefined) {
    throw new InputError('healthcheck', `${quote(v)} ${problem}`, `a URL path the app answers with 2xx or 3xx when healthy, such as /healthz: starting with /, printable ASCII without spaces, at most ${MAX_HEALTHCHECK_PATH} characters; empty for no health check`)
  }
  return v
}

/** driver-opts: one --driver-opt per line, as setup-buildx-action passes them; keys checked here, values by buildx. */
function parseDriverOpts(raw: string): string[] {
  const lines = parseLines(raw)
  for (const [i, line] of lines.entries()) {
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(line)) throw new InputError('driver-opts', `entry ${i + 1} holds control characters`, DRIVER_OPTS_ACCEPTED)
    const r = readDriverOpt(line)
    if ('problem' in r) throw new InputError('driver-opts', `entry ${i + 1} ${r.problem}`, DRIVER_OPTS_ACCEPTED)
  }
  return lines
}

const BUILDER_CONFIG_INPUTS = ['driver-opts', 'buildkitd-config', 'buildkitd-config-inline'] as const

/**
 * The three inputs that configure the builder the action creates. Read in mode: build only
 * (a merge or discovery builds nothing); a given builder is used as is, so not with it.
 */
function parseBuilderConfig(get: InputGetter, mode: Mode, builder: string, workspace: string): Pick<Settings, 'driverOpts' | 'buildkitdConfig' | 'buildkitdConfigInline'> {
  if (mode !== 'build') return { driverOpts: [], buildkitdConfig: '', buildkitdConfigInline: '' }
  const driverOpts = parseDriverOpts(get('driver-opts'))
  const file = get('buildkitd-config').trim()
  const inline = get('buildkitd-config-inline').trim()
  if (file !== '' && inline !== '') {
    throw new InputError('buildkitd-config-inline', 'is given together with buildkitd-config', 'one of the two: the path of a BuildKit daemon TOML file in buildkitd-config, or the TOML text in buildkitd-config-inline')
  }
  const toml = inline === '' ? undefined : tomlProblem(inline)
  if (toml !== undefined) throw new InputError('buildkitd-config-inline', toml, BUILDKITD_CONFIG_ACCEPTED)
  const given = BUILDER_CONFIG_INPUTS.find((n) => get(n).trim() !== '')
  if (given !== undefined && builder !== '') {
    throw new InputError(
      given,
      `is given with builder: ${builder}, which is used as is (the action configures only a builder it creates)`,
      'either builder (configure that builder yourself), or driver-opts / buildkitd-config / buildkitd-config-inline without builder (the action creates a docker-container builder with them)'
    )
  }
  // Relative to the workspace, like the other paths; where it may lie is checked on the disk (checkPathInputs).
  return { driverOpts, buildkitdConfig: file === '' ? '' : path.resolve(workspace, file), buildkitdConfigInline: inline }
}

export function parseInputs(get: InputGetter, env: RunnerEnv, environ: Record<string, string | undefined> = {}): Settings {
  const workspace = path.resolve(env.workspace)
  const mode = oneOf('mode', get('mode'), ['build', 'merge', 'discover', 'report'] as const, 'build')
  // Discovery looks through the whole workspace unless told where.
  const project = get('project').trim() || (mode === 'discover' ? '.' : '')
  if (project === '' && mode === 'build') {
    throw new InputError('project', 'is required', 'a path to a .csproj file, or a folder that holds exactly one')
  }
  const framework = get('framework').trim()
  if (framework !== '' && !TFM.test(framework)) {
    throw new InputError('framework', `${quote(framework)} is not a target framework moniker`, 'a TFM such as net10.0')
  }
  const configuration = get('configuration').trim() || 'Release'
  if (!CONFIGURATION.test(configuration)) {
    throw new InputError('configuration', `${quote(configuration)} is not a configuration name`, 'a name such as Release')
  }
  const context = resolveInside('context', workspace, get('context').trim() || '.')
  const projectPath = project === '' ? '' : resolveInside('project', workspace, project)
  const dockerfileRaw = get('dockerfile').trim()
  const dockerfile = resolveInside(
    'dockerfile',
    workspace,
    dockerfileRaw === '' ? path.join(path.relative(workspace, context), 'Dockerfile.aot') : dockerfileRaw
  )
  if (/[\\/]$/.test(dockerfileRaw) || path.basename(dockerfile) === '.dockerignore') {
    throw new InputError('dockerfile', `${quote(dockerfileRaw)} is not a file name`, 'a file path such as Dockerfile.aot')
  }
  const tags = parseTags(get('tags'))
  const push = parseBoolean('push', get('push'), false)
  if (push && tags.length === 0) {
    throw new InputError('push', 'is true but no tags are given', 'at least one entry in tags when push is true')
  }
  const pushByDigest = parseBoolean('push-by-digest', get('push-by-digest'), false)
  const load = mode === 'build' && parseBoolean('load', get('load'), false)
  if (load && tags.length === 0) throw new InputError('load', 'is true but no tags are given', 'at least one entry in tags: the loaded image is named by them')
  if (load && pushByDigest) throw new InputError('load', 'is true with push-by-digest, which gives the image no name', 'load: true with tags, and push-by-digest: false')
  const digests = parseDigests(get('digests'))
  const builder = get('builder').trim()
  if (builder !== '' && !BUILDER_NAME.test(builder)) {
    throw new InputError('builder', `${quote(builder)} is not a builder name`, 'the name of an existing buildx builder')
  }
  const nugetConfig = get('nuget-config').trim()
  const platforms = parsePlatforms(get('platforms').trim())
  if (pushByDigest) {
    if (mode === 'merge') throw new InputError('push-by-digest', 'is true in mode: merge', 'push-by-digest: true in the per-architecture build jobs, and mode: merge (without it) in the job that joins them')
    if (tags.length === 0) {
      throw new InputError('push-by-digest', 'is true but no tags are given', 'tags naming the repository to push to (their tags are not created: the merge job sets them)')
    }
    if (platforms.length !== 1) {
      throw new InputError(
        'platforms',
        `push-by-digest builds one platform per job, but ${platforms.length} are given (${platforms.join(', ')})`,
        'exactly one platform per job, e.g. linux/amd64 in one job and linux/arm64 in another, then a mode: merge job'
      )
    }
  }
  if (mode === 'merge') {
    if (tags.length === 0) throw new InputError('tags', 'is required in mode: merge', 'the tags of the multi-platform image the merge creates')
    if (digests.length === 0) throw new InputError('digests', 'is required in mode: merge', 'the digest outputs of the push-by-digest jobs, one per line')
  } else if (digests.length > 0) {
    throw new InputError('digests', 'is only read in mode: merge', 'empty here, or mode: merge')
  }
  const changedSince = get('changed-since').trim()
  if (changedSince !== '' && mode !== 'discover') throw new InputError('changed-since', `is only read in mode: discover (mode is ${mode})`, 'empty here, or mode: discover')
  if (changedSince !== '' && !validRevision(changedSince)) {
    throw new InputError('changed-since', `${quote(changedSince)} is not a git revision`, 'a branch, tag or commit such as origin/main or ${{ github.event.pull_request.base.sha }} (not starting with -)')
  }
  const reportsRaw = get('reports').trim()
  if (mode === 'report' && reportsRaw === '') throw new InputError('reports', 'is required in mode: report', 'the folder the build jobs\' report files were downloaded to (actions/download-artifact)')
  if (mode !== 'report' && reportsRaw !== '') throw new InputError('reports', `is only read in mode: report (mode is ${mode})`, 'empty here, or mode: report')
  // A merge, discover or report job builds nothing: inputs that only shape a build are named, not silently dropped.
  const ignores: readonly string[] = mode === 'merge' ? MERGE_IGNORES : mode === 'discover' ? DISCOVER_IGNORES : mode === 'report' ? REPORT_IGNORES : []
  const ignoredInputs = ignores.filter((n) => get(n).trim() !== '' && get(n).trim() !== INPUT_DEFAULTS[n])
  return {
    mode,
    ignoredInputs,
    changedSince,
    // Anywhere the runner can read (RUNNER_TEMP, typically): the files are checked one by one.
    reports: reportsRaw === '' ? '' : path.resolve(workspace, reportsRaw),
    project: projectPath,
    framework,
    configuration,
    flavor: oneOf('flavor', get('flavor'), ['chiseled', 'chiseled-extra', 'full', 'auto'] as const, 'auto'),
    platforms,
    context,
    contextFiles: oneOf('context-files', get('context-files'), ['project', 'all'] as const, 'project'),
    dockerfile,
    tags,
    labels: parseLabels(get('labels')),
    buildArgs: parseBuildArgs(get('build-args')),
    push,
    pushByDigest,
    digests,
    build: parseBoolean('build', get('build'), true),
    builder,
    buildxVersion: parseBuildxVersionInput(get('buildx-version')),
    cache: oneOf('cache', get('cache'), ['auto', 'gha', 'none'] as const, 'auto'),
    cacheMode: oneOf('cache-mode', get('cache-mode'), ['min', 'max'] as const, 'min'),
    sdkImage: imageRef('sdk-image', get('sdk-image')),
    runtimeImage: imageRef('runtime-image', get('runtime-image')),
    distro: parseDistro(get('distro')),
    setupQemu: oneOf('setup-qemu', get('setup-qemu'), ['auto', 'true', 'false'] as const, 'auto'),
    qemuImage: imageRef('qemu-image', get('qemu-image')) || DEFAULT_QEMU_IMAGE,
    // The NuGet.config may sit anywhere readable (often written to RUNNER_TEMP by an earlier step).
    nugetConfig: nugetConfig === '' ? '' : path.resolve(workspace, nugetConfig),
    nugetCache: oneOf('nuget-cache', get('nuget-cache'), ['auto', 'true', 'false'] as const, 'auto'),
    nugetCacheDir: parseCacheDir(get('nuget-cache-dir'), workspace, path.resolve(env.tempDir)),
    summary: parseBoolean('summary', get('summary'), true),
    baselineImage: imageRef('baseline-image', get('baseline-image')),
    maxSize: parseMaxSize(get('max-size'), platforms),
    maxIncrease: parseMaxIncrease(get('max-increase')),
    comment: parseBoolean('comment', get('comment'), false),
    githubToken: get('github-token').trim(),
    workspace,
    tempDir: path.resolve(env.tempDir),
    secrets: mode === 'build' ? parseSecrets(get, environ, workspace) : [],
    load,
    noCache: parseBoolean('no-cache', get('no-cache'), false),
    annotations: parseAnnotations(get('annotations')),
    provenance: parseAttestation('provenance', get('provenance')),
    sbom: parseAttestation('sbom', get('sbom')),
    dotnetSbom: parseBoolean('dotnet-sbom', get('dotnet-sbom'), true),
    sourceDateEpoch: parseSourceDateEpoch(get('source-date-epoch'), environ),
    smokeTest: oneOf('smoke-test', get('smoke-test'), ['auto', 'true', 'false'] as const, 'auto'),
    smokeUrl: parseSmokeUrl(get('smoke-url')),
    smokeArgs: parseLines(get('smoke-args')),
    smokeWindowMs: parseSmokeWindow(get('smoke-window')),
    maxStartup: parseMaxStartup(get('max-startup')),
    cacheFrom: parseCaches('cache-from', get('cache-from')),
    cacheTo: parseCaches('cache-to', get('cache-to')),
    maxMemory: parseMaxMemory(get('max-memory')),
    healthcheck: parseHealthcheck(get('healthcheck')),
    // Discovery and the report push nothing: their sign inputs are only reported as ignored.
    sign:
      mode === 'build' || mode === 'merge'
        ? parseSignSettings(parseBoolean('sign', get('sign'), false), get('cosign-key'), get('cosign-password'), parseBoolean('transparency-log', get('transparency-log'), true), push || pushByDigest || mode === 'merge')
        : { enabled: false, key: '', password: '', tlog: true },
    ...parseBuilderConfig(get, mode, builder, workspace)
  }
}
