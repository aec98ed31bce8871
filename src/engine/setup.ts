// Engine setup: buildx present and recent enough, a builder that can build every requested
// platform, and QEMU only when something needs it.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { BuildError, clip, InputError, printable } from '../util/errors.js'
import { STATE } from '../action/outputs.js'
import { dockerInfoHasContainerdStore, dockerInfoServerMajor, MIN_ENGINE_GHA, parseBuilderInspect, parseBuildxVersion, type BuilderInfo } from './buildx.js'
import { parseBuilderNodes, planBuilderPlatforms, type BuilderNode } from './builders.js'
import { buildxArch, decideBuildx, downloadBase, DOWNLOAD_URL_ENV } from './buildxinstall.js'
import { installBuildx, prepareDockerConfig, userDockerConfig } from './buildxtool.js'
import { BUILDER_NETWORK_LABEL, builderNetwork, builderNetworkCreateArgv, createBuilderArgv, wantsConfiguredBuilder, type OwnBuilderConfig } from './ownbuilder.js'
import { BINFMT_NAME, type QemuDecision } from './qemu.js'
import type { Arch, Platform } from '../dotnet/platforms.js'
import { run, type ProcResult } from '../util/proc.js'

async function buildxVersion(): Promise<{ version?: string; detail: string }> {
  let r
  try {
    r = await run('docker', ['buildx', 'version'])
  } catch {
    throw new BuildError('docker is not on PATH. Install Docker (GitHub-hosted Ubuntu runners have it) or use a runner that has it.')
  }
  if (r.code !== 0) return { detail: (r.stderr || r.stdout).trim() }
  const version = parseBuildxVersion(r.stdout)
  if (version === undefined) throw new BuildError(`could not read the buildx version from: ${r.stdout.trim()}`)
  return { version, detail: '' }
}

export type BuildxProbe = Promise<{ ok: Awaited<ReturnType<typeof buildxVersion>> } | { error: unknown }>

/** Asks for the runner's buildx version without waiting: main starts it while it reads the project. */
export function probeBuildx(): BuildxProbe {
  return buildxVersion().then(
    (ok) => ({ ok }),
    (error: unknown) => ({ error })
  )
}

/**
 * buildx present and recent enough: the runner's own, or the pinned `wanted` release installed
 * for this step when the runner's is missing or too old (see buildxtool).
 */
export async function ensureBuildx(needGha: boolean, wanted: string, tempDir: string, probe: BuildxProbe = probeBuildx()): Promise<string> {
  const probed = await probe
  if ('error' in probed) throw probed.error
  const current = probed.ok
  const decision = decideBuildx(current.version, needGha, wanted, current.detail)
  if (decision.action === 'use') return decision.version
  if (decision.action === 'fail') throw new BuildError(decision.message)
  const arch = buildxArch(process.arch)
  if (arch === undefined) throw new BuildError(`${decision.reason}, and buildx releases exist for x64 and arm64 runners only, not ${process.arch}.`)
  core.info(`${decision.reason}: installing buildx ${decision.version}.`)
  const { binary, cached } = await installBuildx(decision.version, arch, downloadBase(process.env[DOWNLOAD_URL_ENV]))
  const dir = prepareDockerConfig(binary, tempDir, userDockerConfig())
  // This step's commands only (every child process inherits it); later steps keep theirs.
  process.env.DOCKER_CONFIG = dir
  core.saveState(STATE.dockerConfig, dir)
  core.info(`buildx ${decision.version} ${cached ? 'found in the tool cache' : 'downloaded and verified (sha256)'}: ${binary}`)
  const after = await buildxVersion()
  if (after.version === undefined) throw new BuildError(`the installed buildx ${decision.version} does not run: ${after.detail}`)
  if (after.version !== decision.version.replace(/^v/, '')) throw new BuildError(`docker still runs buildx ${after.version} after installing ${decision.version} into ${dir}/cli-plugins`)
  return after.version
}

async function inspect(name: string): Promise<{ info: BuilderInfo; nodes: BuilderNode[] } | undefined> {
  const r = await run('docker', ['buildx', 'inspect', ...(name ? [name] : []), '--bootstrap'])
  return r.code === 0 ? { info: parseBuilderInspect(r.stdout), nodes: parseBuilderNodes(r.stdout) } : undefined
}

/**
 * The engine's read-only answers chooseBuilder needs, asked while the project is evaluated:
 * `docker info` and the current builder as it is (not started: a builder whose every node runs
 * needs no bootstrap). Answers given under another DOCKER_CONFIG (buildx installed for this
 * step) are not used.
 */
export type BuilderProbe = Promise<{ dockerConfig: string | undefined; info: ProcResult; current: ProcResult } | undefined>

export function probeBuilder(): BuilderProbe {
  const dockerConfig = process.env.DOCKER_CONFIG
  return Promise.all([run('docker', ['info', '--format', '{{json .}}']), run('docker', ['buildx', 'inspect'])]).then(
    ([info, current]) => ({ dockerConfig, info, current }),
    () => undefined
  )
}

/** Every node of `docker buildx inspect` text output says Status: running. */
export function allNodesRunning(text: string): boolean {
  const states = [...text.matchAll(/^Status:\s+(\S+)/gm)].map((m) => m[1])
  return states.length > 0 && states.every((x) => x === 'running')
}

async function probed(probe: BuilderProbe | undefined): Promise<{ info: ProcResult; current?: { info: BuilderInfo; nodes: BuilderNode[] } } | undefined> {
  const p = await probe
  if (p === undefined || p.dockerConfig !== process.env.DOCKER_CONFIG) return undefined
  const running = p.current.code === 0 && allNodesRunning(p.current.stdout)
  return { info: p.info, ...(running ? { current: { info: parseBuilderInspect(p.current.stdout), nodes: parseBuilderNodes(p.current.stdout) } } : {}) }
}

export interface BuilderChoice {
  name: string
  info: BuilderInfo
  created: boolean
  /** Where each target is built: natively, or cross-compiled on which platform. */
  notes: string[]
}

/**
 * A given builder is used as is: never replaced, its platforms read from `docker buildx
 * inspect` and checked before the build. Otherwise the current one, unless it is the docker
 * driver on the classic image store, which can neither hold a multi-platform image nor export
 * a build cache (gha or cache-to), or the user configured the builder (driver-opts,
 * buildkitd-config): then a docker-container builder is created for this job and removed in
 * the post step. `own.dir` is where an inline buildkitd config is written; `own.trustedEvent`
 * decides its network (ownbuilder.ts).
 */
export async function chooseBuilder(
  given: string,
  platforms: Platform[],
  needCacheExport: boolean,
  load: boolean,
  runId: string,
  userCacheExport = false,
  own: OwnBuilderConfig & { dir: string; trustedEvent: boolean } = { driverOpts: [], buildkitdConfig: '', buildkitdConfigInline: '', dir: '', trustedEvent: false },
  probe?: BuilderProbe
): Promise<BuilderChoice> {
  // Read-only, before any builder is created: a multi-platform image loads only into the
  // containerd image store, whatever the builder.
  const early = await probed(probe)
  const [info, current] = await Promise.all([
    early?.info ?? run('docker', ['info', '--format', '{{json .}}']),
    given !== '' ? Promise.resolve(undefined) : (early?.current ?? inspect(''))
  ])
  if (load && platforms.length > 1 && !(info.code === 0 && dockerInfoHasContainerdStore(info.stdout))) {
    throw new InputError(
      'load',
      `is true for ${platforms.length} platforms, but this Docker engine ${info.code === 0 ? 'uses the classic image store, which holds one platform per image' : 'did not answer docker info'}`,
      'load: true with one platform, or an engine with the containerd image store ("features": {"containerd-snapshotter": true} in daemon.json; the default from Docker 29)'
    )
  }
  if (given !== '') {
    const found = await inspect(given)
    if (found === undefined) throw new BuildError(`Input "builder": no buildx builder named "${given}" (see docker buildx ls). Accepted: the name of an existing builder.`)
    return { name: given, info: found.info, created: false, notes: checkBuildPlatforms(given, found.nodes, platforms) }
  }
  if (current === undefined) throw new BuildError('docker buildx inspect failed: is the Docker daemon running?')
  let needOwn = false
  if (wantsConfiguredBuilder(own)) {
    // Asked for explicitly: even where the current builder would do.
    core.info('driver-opts or a buildkitd config is given: creating a docker-container builder configured with them.')
    needOwn = true
  } else if (current.info.driver === 'docker') {
    const multi = info.code === 0 && dockerInfoHasContainerdStore(info.stdout)
    if (platforms.length > 1 && !multi) {
      core.info('The current builder uses the docker driver on the classic image store, which cannot build several platforms in one image: creating a docker-container builder.')
      needOwn = true
    } else if ((needCacheExport || userCacheExport) && !multi) {
      // With the containerd image store the docker driver exports gha, local and registry caches itself.
      core.info(`The docker driver reads and writes the gha cache, and exports any build cache, only with the containerd image store: creating a docker-container builder for ${needCacheExport ? 'the gha cache' : 'cache-to'}.`)
      needOwn = true
    } else if (needCacheExport && (dockerInfoServerMajor(info.stdout) ?? 0) < MIN_ENGINE_GHA) {
      const major = dockerInfoServerMajor(info.stdout)
      core.info(
        `The docker driver's BuildKit (Docker Engine ${major ?? 'of unknown version'}) speaks GitHub's cache service v2 only from Docker Engine ${MIN_ENGINE_GHA}: creating a docker-container builder for the gha cache.`
      )
      needOwn = true
    }
  }
  if (!needOwn) return { name: current.info.name, info: current.info, created: false, notes: checkBuildPlatforms(current.info.name, current.nodes, platforms) }
  const name = ownBuilderName(runId)
  const configFile = own.buildkitdConfigInline !== '' ? writeBuildkitdConfig(own.dir, own.buildkitdConfigInline) : own.buildkitdConfig
  if (builderNetwork(name, own.driverOpts, own.trustedEvent) === name) {
    // Saved first: the post step removes the network even when the builder is never made.
    core.saveState(STATE.builder, name)
    const n = await run('docker', builderNetworkCreateArgv(name))
    if (n.code !== 0) throw new BuildError(`could not create the builder's own network ${name}: ${clip(n.stderr.trim(), 400)}`)
  }
  const r = await run('docker', createBuilderArgv(name, own.driverOpts, configFile, own.trustedEvent), { stream: true })
  if (r.code !== 0) {
    const yours = wantsConfiguredBuilder(own) ? ' (check driver-opts and the buildkitd config: buildx names what it refused above)' : ''
    throw new BuildError(`could not create a docker-container builder${yours}: ${r.stderr.trim()}`)
  }
  core.saveState(STATE.builder, name)
  const created = await inspect(name)
  if (created === undefined) throw new BuildError(`the builder ${name} was created but cannot be inspected`)
  return { name, info: created.info, created: true, notes: checkBuildPlatforms(name, created.nodes, platforms) }
}

/** buildkitd-config-inline as a file buildx can read (it copies the text into the builder at create). */
export function writeBuildkitdConfig(dir: string, text: string): string {
  const file = path.join(dir, 'buildkitd.toml')
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`, { flag: 'wx', mode: 0o600 })
  return file
}

/** The SDK runs on the node's own platform: it must be one .NET runs on natively (see builders.ts). */
function checkBuildPlatforms(name: string, nodes: BuilderNode[], platforms: Platform[]): string[] {
  const plan = planBuilderPlatforms(name, nodes, platforms)
  if (plan.error !== undefined) throw new BuildError(`${plan.error}.`)
  return plan.notes
}

/** The name of a builder this action creates: the post step removes only names of this shape. */
export function ownBuilderName(runId: string): string {
  return `aot-buildx-${runId.replace(/[^A-Za-z0-9_.-]+/g, '-')}`
}

export const OWN_BUILDER = /^aot-buildx-[A-Za-z0-9_.-]+$/

export async function removeBuilder(name: string): Promise<void> {
  // State comes back from a file the job's steps can write: never pass it as an option.
  if (!OWN_BUILDER.test(name)) {
    core.warning(`Not removing the builder ${printable(JSON.stringify(clip(name, 60)))}: this action only removes builders it created (aot-buildx-*).`)
    return
  }
  const r = await run('docker', ['buildx', 'rm', '--force', '--', name])
  if (r.code !== 0 && !/no builder .* found/i.test(r.stderr)) core.warning(`could not remove the builder ${name}: ${r.stderr.trim()}`)
  else if (r.code === 0) core.info(`Removed the builder ${name}.`)
  // Its own network (untrusted events), found by our label: a network the action did not make is never removed.
  const nets = await run('docker', ['network', 'ls', '--quiet', '--filter', `label=${BUILDER_NETWORK_LABEL}=${name}`])
  const ids = nets.code === 0 ? nets.stdout.split('\n').filter((l) => /^[a-f0-9]+$/.test(l)) : []
  if (ids.length === 0) return
  const n = await run('docker', ['network', 'rm', ...ids])
  if (n.code !== 0) core.warning(`could not remove the builder's network ${name}: ${n.stderr.trim()}`)
  else core.info(`Removed the builder's network ${name}.`)
}

export function registeredBinfmt(): Arch[] {
  const out: Arch[] = []
  for (const [arch, name] of Object.entries(BINFMT_NAME) as [Arch, string][]) {
    try {
      if (fs.readFileSync(`/proc/sys/fs/binfmt_misc/${name}`, 'utf8').startsWith('enabled')) out.push(arch)
    } catch {
      // Not registered (or binfmt_misc not mounted).
    }
  }
  return out
}

export async function installQemu(decision: QemuDecision, image: string): Promise<void> {
  if (decision.install.length === 0) return
  const r = await run('docker', ['run', '--rm', '--privileged', image, '--install', decision.install.join(',')], { stream: true })
  if (r.code !== 0) throw new BuildError(`QEMU setup with ${image} failed (exit ${r.code}). Pin another image with "qemu-image", or set setup-qemu: false.`)
}
