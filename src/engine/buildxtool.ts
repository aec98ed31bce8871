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

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

export async function download(url: string, what: string): Promise<string> {
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

/** The folders prepareDockerConfig makes: directly in RUNNER_TEMP, mkdtemp's six random characters after the prefix. */
const DOCKER_CONFIG_PREFIX = 'aot-buildx-docker-config-'
const OWN_DOCKER_CONFIG = /^aot-buildx-docker-config-[A-Za-z0-9]{6}$/

/**
 * Why the post step's docker-config state is not a folder prepareDockerConfig made, or
 * undefined when it is. State comes back from a file the job's steps can write, and docker runs
 * that folder's cli-plugins/docker-buildx: so only RUNNER_TEMP/aot-buildx-docker-config-XXXXXX,
 * a real folder of this user with no symlink on the way, whose cli-plugins holds nothing but
 * docker-buildx linked to a buildx in the tool cache, and whose other entries link to the
 * user's docker config, as written.
 */
export function dockerConfigProblem(dir: string, tempDir: string, toolCache: string, source: string): string | undefined {
  if (tempDir === '' || toolCache === '') return 'RUNNER_TEMP or RUNNER_TOOL_CACHE is not set'
  if (!path.isAbsolute(dir) || path.dirname(dir) !== path.resolve(tempDir) || !OWN_DOCKER_CONFIG.test(path.basename(dir))) return `it is not a folder ${DOCKER_CONFIG_PREFIX}XXXXXX directly in RUNNER_TEMP`
  try {
    const st = fs.lstatSync(dir)
    if (!st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) return 'it is a symlink, not a folder, or not this user\'s'
    if (fs.realpathSync(dir) !== path.join(fs.realpathSync(tempDir), path.basename(dir))) return 'it is reached through a symlink'
    const plugins = path.join(dir, 'cli-plugins')
    if (!fs.lstatSync(plugins).isDirectory() || fs.readdirSync(plugins).join('/') !== TOOL_NAME) return `its cli-plugins holds more than ${TOOL_NAME}, or is not a folder`
    const plugin = path.join(plugins, TOOL_NAME)
    const cache = `${path.join(fs.realpathSync(toolCache), TOOL_NAME)}${path.sep}`
    if (!fs.lstatSync(plugin).isSymbolicLink() || !fs.realpathSync(plugin).startsWith(cache)) return `its ${TOOL_NAME} is not a link into the tool cache`
    for (const e of fs.readdirSync(dir)) {
      if (e === 'cli-plugins') continue
      if (!fs.lstatSync(path.join(dir, e)).isSymbolicLink() || fs.readlinkSync(path.join(dir, e)) !== path.join(source, e)) return `it holds ${JSON.stringify(e)}, not a link to the user's docker config`
    }
  } catch (e) {
    return `it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
  }
  return undefined
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
  const dir = fs.mkdtempSync(path.join(tempDir, DOCKER_CONFIG_PREFIX))
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
