// Signing the pushed images with cosign: the settings (keyless through GitHub's OIDC token, or a
// key given as a secret), what is signed (the index and each platform manifest, by digest, in
// every repository pushed to), cosign's argv, and which cosign release is installed where the
// runner has none that can sign this way. Pure.
import { InputError } from '../util/errors.js'

export interface SignSettings {
  /** sign: true. */
  enabled: boolean
  /** cosign-key: the PEM text of a cosign private key; '' signs keyless. */
  key: string
  /** cosign-password: the key's password ('' for a key without one). */
  password: string
  /** transparency-log: record the signatures in Rekor (keyless always does). */
  tlog: boolean
}

const PRIVATE_KEY = /^-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----\r?\n[\s\S]+\r?\n-----END \1-----\s*$/

/** sign, cosign-key, cosign-password and transparency-log, checked together. */
export function parseSignSettings(sign: boolean, keyRaw: string, password: string, tlog: boolean, pushes: boolean): SignSettings {
  const key = keyRaw.trim()
  if (!sign) {
    if (key !== '') throw new InputError('cosign-key', 'is given but sign is not true', 'sign: true with cosign-key, or neither')
    return { enabled: false, key: '', password: '', tlog }
  }
  if (!pushes) throw new InputError('sign', 'is true but nothing is pushed', 'sign: true with push: true, push-by-digest: true or mode: merge (the signature is pushed beside the image)')
  // The text is a secret: the error never quotes it.
  if (key !== '' && !PRIVATE_KEY.test(key)) {
    throw new InputError('cosign-key', 'is not a PEM private key', 'the text of cosign.key as `cosign generate-key-pair` writes it (-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----), from a secret')
  }
  if (key === '' && !tlog) {
    throw new InputError('transparency-log', 'is false for keyless signing', 'transparency-log: true (keyless signatures are only verifiable through Rekor), or a cosign-key')
  }
  return { enabled: true, key, password, tlog }
}

/**
 * Why keyless signing cannot run on this runner, or undefined: cosign asks GitHub for an OIDC
 * token, which a job gets only with `permissions: id-token: write`.
 */
export function keylessProblem(env: Record<string, string | undefined>): string | undefined {
  if ((env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '') !== '' && (env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? '') !== '') return undefined
  return 'keyless signing needs an OIDC token, which this job does not get: add `permissions: id-token: write` to the job (or give cosign-key)'
}

/** What is signed: the index and each platform manifest, by digest, in each repository. */
export function signRefs(repositories: string[], indexDigest: string, platformDigests: string[]): string[] {
  const digests = [indexDigest, ...platformDigests.filter((d) => d !== indexDigest)]
  return repositories.flatMap((r) => digests.map((d) => `${r}@${d}`))
}

/** The variable that carries the key to cosign (`--key env://...`): never a file, never argv. */
export const KEY_ENV = 'AOT_BUILDX_COSIGN_KEY'

/**
 * A Sigstore signing config without a transparency log or timestamp authority: how cosign 3
 * signs with a key and records nothing in Rekor (its --tlog-upload=false is refused there).
 */
export const NO_TLOG_SIGNING_CONFIG = `${JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json', rekorTlogConfig: {}, tsaConfig: {} })}\n`

/** `cosign sign` for the refs; `signingConfig` is the no-log config's file ('' = cosign's own). */
export function signArgv(s: SignSettings, refs: string[], signingConfig: string): string[] {
  return ['sign', '--yes', ...(s.key !== '' ? ['--key', `env://${KEY_ENV}`] : []), ...(signingConfig !== '' ? ['--signing-config', signingConfig] : []), ...refs]
}

/** The release installed where the runner's cosign is missing or cannot sign this way (no --signing-config). */
export const COSIGN_VERSION = 'v3.1.1'
export const COSIGN_TOOL = 'cosign'
export const DEFAULT_COSIGN_DOWNLOAD_URL = 'https://github.com/sigstore/cosign/releases/download'

export function cosignUrls(base: string, version: string, arch: 'amd64' | 'arm64'): { asset: string; binary: string; checksums: string } {
  const b = base.replace(/\/+$/, '')
  const asset = `cosign-linux-${arch}`
  return { asset, binary: `${b}/${version}/${asset}`, checksums: `${b}/${version}/cosign_checksums.txt` }
}

/** Whether a cosign's `sign --help` shows it signs the way this action asks (cosign 3: --signing-config). */
export function cosignCanSign(signHelp: string): boolean {
  return /--signing-config\b/.test(signHelp)
}
