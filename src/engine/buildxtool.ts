// Installs a pinned buildx release for this step: downloaded once per runner into the tool
// cache (found there by later jobs), verified against the release's checksums.txt, and put
// in a docker config folder of its own under RUNNER_TEMP. The user's ~/.docker is never
// changed: its entries (config.json with the registry logins, contexts, buildx builders) are
// linked into that folder, which DOCKER_CONFIG points at for this step's commands only.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import { BuildError } from '../util/errors.js'
import { buildxAsset, buildxUrls, checksumProblem, configEntriesToLink, TOOL_NAME } from './buildxinstall.js'

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

async function download(url: string, what: string): Promise<string> {
  try {
    return await tc.downloadTool(url)
  } catch (e) {
    const status = e instanceof tc.HTTPError ? ` (HTTP ${e.httpStatusCode ?? '?'})` : `: ${(e as Error).message}`
    throw new BuildError(`could not download ${what} from ${url}${status}`)
  }
}

/**
 * The path of the docker-buildx binary of `version` for `arch`: from the tool cache when a
 * job on this runner installed it before, else downloaded, verified and cached.
 */
export async function installBuildx(version: string, arch: 'amd64' | 'arm64', base: string): Promise<{ binary: string; cached: boolean }> {
  const semverVersion = version.replace(/^v/, '')
  const found = tc.find(TOOL_NAME, semverVersion, arch)
  if (found !== '' && fs.existsSync(path.join(found, TOOL_NAME))) return { binary: path.join(found, TOOL_NAME), cached: true }
  const asset = buildxAsset(version, arch)
  const urls = buildxUrls(base, version, arch)
  const binary = await download(urls.binary, asset)
  try {
    const sums = await download(urls.checksums, `the checksums of buildx ${version}`)
    const text = fs.readFileSync(sums, 'utf8')
    fs.rmSync(sums, { force: true })
    const problem = checksumProblem(asset, await sha256File(binary), text)
    if (problem !== undefined) throw new BuildError(`refusing to install buildx ${version}: ${problem}.`)
    const dir = await tc.cacheFile(binary, TOOL_NAME, TOOL_NAME, semverVersion, arch)
    const installed = path.join(dir, TOOL_NAME)
    fs.chmodSync(installed, 0o755)
    return { binary: installed, cached: false }
  } finally {
    fs.rmSync(binary, { force: true })
  }
}

/** The user's docker config folder, as the docker CLI finds it. */
export function userDockerConfig(): string {
  return process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
}

/**
 * A docker config folder under `tempDir` whose cli-plugins holds only `binary` (as
 * docker-buildx), with every other entry of `source` linked in, so logins, contexts and
 * builders stay the user's own.
 */
export function prepareDockerConfig(binary: string, tempDir: string, source: string): string {
  const dir = fs.mkdtempSync(path.join(tempDir, 'aot-buildx-docker-config-'))
  fs.mkdirSync(path.join(dir, 'cli-plugins'))
  fs.symlinkSync(binary, path.join(dir, 'cli-plugins', 'docker-buildx'))
  let entries: string[] = []
  try {
    entries = fs.readdirSync(source)
  } catch {
    // No docker config yet: nothing to carry over.
  }
  for (const e of configEntriesToLink(entries)) fs.symlinkSync(path.join(source, e), path.join(dir, e))
  core.debug(`docker config for this step: ${dir} (linked from ${source}: ${configEntriesToLink(entries).join(', ') || 'nothing'})`)
  return dir
}
