// Signing what was pushed (I/O): finds a cosign that can sign (or installs the pinned release
// into the tool cache, verified against the release's checksums), masks the key, and signs.
// The decisions are in cosign.ts.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import { buildxArch, checksumProblem, downloadBase } from '../engine/buildxinstall.js'
import { download, sha256File } from '../engine/buildxtool.js'
import { lastMeaningfulLines } from '../engine/diagnose.js'
import { BuildError, InputError, printable } from '../util/errors.js'
import { run } from '../util/proc.js'
import { COSIGN_TOOL, COSIGN_VERSION, cosignCanSign, cosignUrls, DEFAULT_COSIGN_DOWNLOAD_URL, KEY_ENV, keylessProblem, NO_TLOG_SIGNING_CONFIG, signArgv, type SignSettings } from './cosign.js'

/** Overrides where cosign releases are downloaded from (a mirror). */
const COSIGN_DOWNLOAD_URL_ENV = 'AOT_COSIGN_DOWNLOAD_URL'

/**
 * Before anything is built: only trusted events sign (an untrusted one may build a pull
 * request's code, which would then carry the workflow's identity or key), and a keyless
 * signature needs the job's OIDC token.
 */
export function checkSigning(s: SignSettings, trustedEvent: boolean, eventName: string): void {
  if (!s.enabled) return
  if (!trustedEvent) {
    throw new InputError('sign', `is true on a ${printable(eventName || 'run without GITHUB_EVENT_NAME')} event, which may build a pull request's code: a signature would vouch for it`, "sign: true on push and workflow_dispatch runs only (e.g. sign: ${{ github.event_name == 'push' }})")
  }
  if (s.key !== '') return
  const problem = keylessProblem(process.env)
  if (problem !== undefined) throw new BuildError(`sign: ${problem}.`)
}

/** `cosign sign --help` of the cosign on PATH, or undefined where there is none (exec throws then). */
async function helpOfPathCosign(): Promise<{ code: number; text: string } | undefined> {
  try {
    const r = await run('cosign', ['sign', '--help'])
    return { code: r.code, text: r.stdout + r.stderr }
  } catch {
    return undefined
  }
}

/** The cosign to run: the runner's when it can sign this way, else the pinned release. */
async function findCosign(): Promise<string> {
  const here = await helpOfPathCosign()
  if (here?.code === 0 && cosignCanSign(here.text)) return 'cosign'
  const arch = buildxArch(process.arch)
  if (arch === undefined) throw new BuildError(`sign: no cosign release for this runner's CPU (${process.arch}), and none on PATH that can sign`)
  const semverVersion = COSIGN_VERSION.replace(/^v/, '')
  const found = tc.find(COSIGN_TOOL, semverVersion, arch)
  if (found !== '' && fs.existsSync(path.join(found, COSIGN_TOOL))) return path.join(found, COSIGN_TOOL)
  const base = process.env[COSIGN_DOWNLOAD_URL_ENV] ? downloadBase(process.env[COSIGN_DOWNLOAD_URL_ENV]) : DEFAULT_COSIGN_DOWNLOAD_URL
  const urls = cosignUrls(base, COSIGN_VERSION, arch)
  core.info(`Installing cosign ${COSIGN_VERSION} (${here === undefined ? 'none on PATH' : 'the one on PATH cannot sign with a signing config (cosign 3)'})`)
  const binary = await download(urls.binary, urls.asset)
  try {
    const sums = await download(urls.checksums, `the checksums of cosign ${COSIGN_VERSION}`)
    const text = fs.readFileSync(sums, 'utf8')
    fs.rmSync(sums, { force: true })
    const problem = checksumProblem(urls.asset, await sha256File(binary), text)
    if (problem !== undefined) throw new BuildError(`refusing to install cosign ${COSIGN_VERSION}: ${problem}.`)
    const dir = await tc.cacheFile(binary, COSIGN_TOOL, COSIGN_TOOL, semverVersion, arch)
    fs.chmodSync(path.join(dir, COSIGN_TOOL), 0o755)
    return path.join(dir, COSIGN_TOOL)
  } finally {
    fs.rmSync(binary, { force: true })
  }
}

/**
 * Signs refs (digests only). A failure is returned as a problem of the step (the images are
 * pushed, unsigned), reported with the rest: never a stack trace, never a lost summary.
 */
export async function signImages(s: SignSettings, refs: string[], tempDir: string): Promise<string | undefined> {
  try {
    await sign(s, refs, tempDir)
    return undefined
  } catch (e) {
    return e instanceof BuildError ? e.message : `cosign could not sign: ${(e as Error).message}`
  }
}

async function sign(s: SignSettings, refs: string[], tempDir: string): Promise<void> {
  if (!s.enabled || refs.length === 0) return
  // Masked line by line too: a log prints a multi-line secret's lines one at a time.
  for (const secret of [s.key, s.password]) {
    if (secret === '') continue
    core.setSecret(secret)
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 8 && !/^-----(BEGIN|END) /.test(line)) core.setSecret(line.trim())
  }
  await core.group(`Sign ${refs.length} manifests with cosign (${s.key !== '' ? 'key' : 'keyless'}${s.tlog ? ', recorded in Rekor' : ', no transparency log'})`, async () => {
    const cosign = await findCosign()
    let config = ''
    if (!s.tlog) {
      config = path.join(tempDir, `aot-buildx-signing-config-${process.pid}.json`)
      fs.writeFileSync(config, NO_TLOG_SIGNING_CONFIG, { mode: 0o600 })
    }
    try {
      const env = { ...(process.env as Record<string, string>), [KEY_ENV]: s.key, COSIGN_PASSWORD: s.password }
      const r = await run(cosign, signArgv(s, refs, config), { env })
      if (r.code !== 0) throw new BuildError(`cosign could not sign ${refs[0] ?? ''}${refs.length > 1 ? ` and ${refs.length - 1} more` : ''} (exit ${r.code}); the images are pushed, unsigned: ${printable(lastMeaningfulLines(r.stdout + r.stderr, 6).join(' | '))}`)
      for (const ref of refs) core.info(`Signed ${ref}`)
    } finally {
      if (config !== '') fs.rmSync(config, { force: true })
    }
  })
}
