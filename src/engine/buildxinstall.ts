// Installing a pinned buildx release when the runner's is missing or too old: which file,
// from where, and whether the download is the one the release's checksums.txt names. Pure.
import semver from 'semver'
import { BuildError, InputError } from '../util/errors.js'
import { buildxTooOld, MIN_BUILDX } from './buildx.js'

export const DEFAULT_BUILDX_DOWNLOAD_URL = 'https://github.com/docker/buildx/releases/download'
/** Overrides where releases are downloaded from (a mirror; the tests' local server). */
export const DOWNLOAD_URL_ENV = 'AOT_BUILDX_DOWNLOAD_URL'
/** The tool-cache name of the plugin binary. */
export const TOOL_NAME = 'docker-buildx'

/** The buildx-version input: '' (use what is there) or a release tag such as v0.21.2. */
export function parseBuildxVersionInput(raw: string): string {
  const v = raw.trim()
  if (v === '') return ''
  const version = /^v?(\d+\.\d+\.\d+)$/.exec(v)?.[1]
  if (version === undefined) throw new InputError('buildx-version', `"${v}" is not a buildx release`, 'a release tag such as v0.21.2, or empty to use the installed buildx')
  if (semver.lt(version, MIN_BUILDX)) {
    throw new InputError('buildx-version', `buildx ${version} is older than ${MIN_BUILDX}, the oldest this action runs`, `a release from v${MIN_BUILDX} on, such as v0.21.2`)
  }
  return `v${version}`
}

/** Docker's name for the runner's CPU (node's process.arch); undefined where no buildx release exists for us. */
export function buildxArch(nodeArch: string): 'amd64' | 'arm64' | undefined {
  if (nodeArch === 'x64') return 'amd64'
  if (nodeArch === 'arm64') return 'arm64'
  return undefined
}

export function buildxAsset(version: string, arch: 'amd64' | 'arm64'): string {
  return `buildx-${version}.linux-${arch}`
}

/** The base URL: the env override when set (http or https only), else GitHub releases. */
export function downloadBase(env: string | undefined): string {
  const v = (env ?? '').trim()
  if (v === '') return DEFAULT_BUILDX_DOWNLOAD_URL
  let url: URL
  try {
    url = new URL(v)
  } catch {
    throw new BuildError(`${DOWNLOAD_URL_ENV}="${v}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BuildError(`${DOWNLOAD_URL_ENV} must be an http(s) URL, not ${url.protocol}`)
  return v.replace(/\/+$/, '')
}

export function buildxUrls(base: string, version: string, arch: 'amd64' | 'arm64'): { binary: string; checksums: string } {
  const b = base.replace(/\/+$/, '')
  return { binary: `${b}/${version}/${buildxAsset(version, arch)}`, checksums: `${b}/${version}/checksums.txt` }
}

/**
 * checksums.txt of a buildx release: `<sha256> <file>` per line, the file name possibly
 * prefixed with `*` (binary mode) and separated by one or two spaces.
 */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const [, hash, file] = /^([a-fA-F0-9]{64})\s+\*?(\S+)\s*$/.exec(line.trim()) ?? []
    if (hash !== undefined && file !== undefined) out.set(file.replace(/^.*\//, ''), hash.toLowerCase())
  }
  return out
}

/** undefined when the download matches its line in checksums.txt; otherwise why it is refused. */
export function checksumProblem(asset: string, actualHex: string, checksumsText: string): string | undefined {
  const want = parseChecksums(checksumsText).get(asset)
  if (want === undefined) return `the release's checksums.txt has no line for ${asset}, so the download cannot be verified`
  if (want !== actualHex.toLowerCase()) return `checksum mismatch for ${asset}: checksums.txt says sha256 ${want}, the download is ${actualHex.toLowerCase()}`
  return undefined
}

export type BuildxDecision = { action: 'use'; version: string } | { action: 'install'; version: string; reason: string } | { action: 'fail'; message: string }

/**
 * Whether to use the runner's buildx or install the pinned one. `current` is the installed
 * version, undefined when buildx is missing.
 */
export function decideBuildx(current: string | undefined, needGha: boolean, wanted: string, missingDetail = ''): BuildxDecision {
  const old = current === undefined ? undefined : buildxTooOld(current, needGha)
  if (current !== undefined && old === undefined) return { action: 'use', version: current }
  const why = current === undefined ? `docker buildx is not available${missingDetail !== '' ? `: ${missingDetail}` : ''}` : (old as string)
  if (wanted === '') {
    return { action: 'fail', message: `${why}. Set buildx-version (e.g. v0.21.2) to install a release, or update buildx (docker/setup-buildx-action installs a current one).` }
  }
  const wantedOld = buildxTooOld(wanted.replace(/^v/, ''), needGha)
  if (wantedOld !== undefined) return { action: 'fail', message: `${why}, and buildx-version ${wanted} is not recent enough either: ${wantedOld}.` }
  return { action: 'install', version: wanted, reason: why }
}

/** Entries of the user's docker config folder to link into the one that holds our plugin. */
export function configEntriesToLink(entries: string[]): string[] {
  return entries.filter((e) => e !== 'cli-plugins').sort()
}
