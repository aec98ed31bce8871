// Engine setup: buildx present and recent enough, a builder that can build every requested
// platform, and QEMU only when something needs it.
import * as fs from 'node:fs'
import * as core from '@actions/core'
import { BuildError } from './errors.js'
import { buildxTooOld, dockerInfoHasContainerdStore, parseBuilderInspect, parseBuildxVersion, type BuilderInfo } from './buildx.js'
import { BINFMT_NAME, type QemuDecision } from './qemu.js'
import type { Arch, Platform } from './platforms.js'
import { run } from './proc.js'

export async function checkBuildx(needGha: boolean): Promise<string> {
  let r
  try {
    r = await run('docker', ['buildx', 'version'])
  } catch {
    throw new BuildError('docker is not on PATH. Install Docker (GitHub-hosted Ubuntu runners have it) or use a runner that has it.')
  }
  if (r.code !== 0) {
    throw new BuildError(`docker buildx is not available: ${(r.stderr || r.stdout).trim()}. Install the buildx plugin (docker/setup-buildx-action does).`)
  }
  const version = parseBuildxVersion(r.stdout)
  if (version === undefined) throw new BuildError(`could not read the buildx version from: ${r.stdout.trim()}`)
  const old = buildxTooOld(version, needGha)
  if (old !== undefined) throw new BuildError(`${old}. Update buildx (docker/setup-buildx-action installs a current one).`)
  return version
}

async function inspect(name: string): Promise<BuilderInfo | undefined> {
  const r = await run('docker', ['buildx', 'inspect', ...(name ? [name] : []), '--bootstrap'])
  return r.code === 0 ? parseBuilderInspect(r.stdout) : undefined
}

export interface BuilderChoice {
  name: string
  info: BuilderInfo
  created: boolean
}

/**
 * A given builder is used as is. Otherwise the current one, unless it is the docker driver on
 * the classic image store (which cannot hold a multi-platform image) or the gha cache is
 * wanted (the docker driver cannot export cache): then a docker-container builder is created
 * for this job and removed in the post step.
 */
export async function chooseBuilder(given: string, platforms: Platform[], needCacheExport: boolean, runId: string): Promise<BuilderChoice> {
  if (given !== '') {
    const info = await inspect(given)
    if (info === undefined) throw new BuildError(`Input "builder": no buildx builder named "${given}" (see docker buildx ls). Accepted: the name of an existing builder.`)
    checkBuildPlatform(info)
    return { name: given, info, created: false }
  }
  const current = await inspect('')
  if (current === undefined) throw new BuildError('docker buildx inspect failed: is the Docker daemon running?')
  let needOwn = false
  if (current.driver === 'docker') {
    const info = await run('docker', ['info', '--format', '{{json .}}'])
    const multi = info.code === 0 && dockerInfoHasContainerdStore(info.stdout)
    if (platforms.length > 1 && !multi) {
      core.info('The current builder uses the docker driver on the classic image store, which cannot build several platforms in one image: creating a docker-container builder.')
      needOwn = true
    } else if (needCacheExport) {
      core.info('The docker driver cannot export build cache: creating a docker-container builder for the gha cache.')
      needOwn = true
    }
  }
  if (!needOwn) {
    checkBuildPlatform(current)
    return { name: current.name, info: current, created: false }
  }
  const name = `aot-buildx-${runId}`
  const r = await run('docker', ['buildx', 'create', '--name', name, '--driver', 'docker-container', '--bootstrap'], { stream: true })
  if (r.code !== 0) throw new BuildError(`could not create a docker-container builder: ${r.stderr.trim()}`)
  core.saveState('builder', name)
  const info = await inspect(name)
  if (info === undefined) throw new BuildError(`the builder ${name} was created but cannot be inspected`)
  return { name, info, created: true }
}

/** The SDK runs on the builder's own platform: it must be one .NET runs on natively. */
function checkBuildPlatform(info: BuilderInfo): void {
  const native = info.platforms[0] ?? ''
  if (native !== '' && !['linux/amd64', 'linux/arm64'].some((p) => native.startsWith(p))) {
    throw new BuildError(`the builder "${info.name}" runs on ${native}; the .NET SDK must run natively on linux/amd64 or linux/arm64 to cross-compile.`)
  }
}

export async function removeBuilder(name: string): Promise<void> {
  const r = await run('docker', ['buildx', 'rm', '--force', name])
  if (r.code !== 0) core.warning(`could not remove the builder ${name}: ${r.stderr.trim()}`)
  else core.info(`Removed the builder ${name}.`)
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
