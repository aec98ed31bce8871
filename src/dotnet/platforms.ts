// The platforms Native AOT can target from a Linux container build, and their names in
// each tool: buildx (linux/arm64), Docker's TARGETARCH (arm64), .NET RIDs (linux-arm64),
// ELF e_machine and Debian cross-toolchain packages.

export type Platform = 'linux/amd64' | 'linux/arm64'
export type Arch = 'amd64' | 'arm64'

export const PLATFORMS: readonly Platform[] = ['linux/amd64', 'linux/arm64']

const ALIASES: Record<string, Platform> = {
  'linux/amd64': 'linux/amd64',
  'linux/x86_64': 'linux/amd64',
  'linux/x86-64': 'linux/amd64',
  'linux/amd64/v1': 'linux/amd64',
  'linux/arm64': 'linux/arm64',
  'linux/arm64/v8': 'linux/arm64',
  'linux/aarch64': 'linux/arm64'
}

export function normalizePlatform(raw: string): Platform | undefined {
  return ALIASES[raw.trim().toLowerCase()]
}

export function isArch(s: string | undefined): s is Arch {
  return s === 'amd64' || s === 'arm64'
}

export function archOf(p: Platform): Arch {
  return p === 'linux/amd64' ? 'amd64' : 'arm64'
}

export function platformOfArch(a: Arch): Platform {
  return a === 'amd64' ? 'linux/amd64' : 'linux/arm64'
}

/** Node's process.arch to a Docker arch; undefined for hosts we cannot build on. */
export function archFromNode(nodeArch: string): Arch | undefined {
  if (nodeArch === 'x64') return 'amd64'
  if (nodeArch === 'arm64') return 'arm64'
  return undefined
}

/** .NET runtime identifiers. */
export const RID: Record<Arch, string> = { amd64: 'linux-x64', arm64: 'linux-arm64' }

/** ELF e_machine values, to check a binary was built for its image's platform. */
export const ELF_MACHINE: Record<Arch, { code: number; name: string }> = {
  amd64: { code: 0x3e, name: 'x86-64' },
  arm64: { code: 0xb7, name: 'AArch64' }
}

/** The GNU triples clang targets (--target) and the cross binutils are prefixed with. */
export const GNU_TRIPLE: Record<Arch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }

/** Debian/Ubuntu packages that let clang link for `target` on another build arch. */
export const CROSS_PACKAGES: Record<Arch, string[]> = {
  // libc6-dev-*-cross is only a Recommends of gcc-*: name it, or the link misses crti.o.
  arm64: ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'],
  amd64: ['gcc-x86-64-linux-gnu', 'libc6-dev-amd64-cross']
}

/** A slug safe for cache scopes, tags and output names: linux/arm64 -> linux-arm64. */
export function platformSlug(p: Platform): string {
  return p.replace(/\//g, '-')
}
