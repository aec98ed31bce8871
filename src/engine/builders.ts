// Bring your own builder: what an existing buildx builder can build for us. Pure.
//
// The generated Dockerfile never RUNs on the target platform: the SDK runs on the build
// platform (the builder node's own) and cross-compiles; the final stage only copies. So a
// target is buildable when the node that gets it lists it, or when that node is a linux/amd64
// or linux/arm64 machine, where the SDK runs natively. The one real failure is a node the
// SDK cannot run on.
import { normalizePlatform, type Platform } from '../dotnet/platforms.js'
import type { QemuDecision } from './qemu.js'

export interface BuilderNode {
  name: string
  /** Every platform the node lists, `*` markers removed. */
  platforms: string[]
  /** The node's own platform: the first one that was not configured by hand (`*`). '' when it lists none. */
  native: string
}

/** The nodes of `docker buildx inspect [name]` text output. */
export function parseBuilderNodes(text: string): BuilderNode[] {
  const nodes: BuilderNode[] = []
  const start = /^Nodes:\s*$/m.exec(text)
  if (start === null) return nodes
  let cur: { name: string; raw: string[] } | undefined
  const finish = (): void => {
    if (cur === undefined) return
    const platforms = cur.raw.map((p) => p.replace(/\*$/, ''))
    const native = cur.raw.find((p) => !p.endsWith('*')) ?? platforms[0] ?? ''
    nodes.push({ name: cur.name, platforms, native: native.replace(/\*$/, '') })
  }
  for (const line of text.slice(start.index + start[0].length).split('\n')) {
    const name = /^Name:\s+(\S+)/.exec(line)?.[1]
    if (name !== undefined) {
      finish()
      cur = { name, raw: [] }
      continue
    }
    const platforms = /^Platforms:\s+(.*)$/.exec(line)?.[1]
    if (platforms !== undefined && cur !== undefined) {
      cur.raw.push(...platforms.split(',').map((p) => p.trim()).filter((p) => p !== ''))
    }
  }
  finish()
  return nodes
}

/** linux/amd64/v3 -> linux/amd64, linux/arm64/v8 -> linux/arm64; undefined for anything else. */
export function sdkPlatform(p: string): Platform | undefined {
  const [os, arch] = p.split('/')
  return normalizePlatform(`${os}/${arch}`)
}

export interface BuilderPlatformPlan {
  /** Set when the build cannot work on this builder: say it before the build starts. */
  error?: string
  /** One line per target: where it is built, natively or cross-compiled. */
  notes: string[]
}

/**
 * Which node builds each target, and whether that works. buildx gives a platform to the node
 * whose own platform it is, else to a node that lists it, else to the first node.
 */
export function planBuilderPlatforms(builder: string, nodes: BuilderNode[], targets: Platform[]): BuilderPlatformPlan {
  const known = nodes.filter((n) => n.platforms.length > 0)
  const [first] = known
  if (first === undefined) return { notes: [`builder "${builder}" lists no platforms, so its platforms were not checked`] }
  const notes: string[] = []
  for (const t of targets) {
    const own = known.find((n) => sdkPlatform(n.native) === t)
    const listing = known.find((n) => n.platforms.some((p) => sdkPlatform(p) === t))
    const node = own ?? listing ?? first
    const native = sdkPlatform(node.native)
    const where = known.length > 1 ? `node "${node.name}" of builder "${builder}"` : `builder "${builder}"`
    if (native === undefined) {
      return {
        error:
          `${t} would be built on ${where}, which runs on ${node.native}: the .NET SDK, which the generated Dockerfile runs on the ` +
          'build platform to cross-compile, runs only on linux/amd64 or linux/arm64. Use a builder with a linux/amd64 or linux/arm64 node',
        notes
      }
    }
    if (native === t) notes.push(`${t}: built natively on ${where} (${node.native})`)
    else if (listing === node) notes.push(`${t}: cross-compiled on ${where} (${node.native})`)
    else notes.push(`${t}: not listed by ${where}; it will be cross-compiled on ${node.native}, since nothing in the generated Dockerfile runs on the target platform`)
  }
  return { notes }
}

/** A given builder is used as is: QEMU on this runner would not reach it, and nothing needs it. */
export function qemuForGivenBuilder(builder: string, decision: QemuDecision): QemuDecision {
  if (builder === '') return decision
  return { install: [], reason: `not set up: the given builder "${builder}" is used as is (nothing runs on the target platform)` }
}
