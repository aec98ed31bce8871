// Microsoft's base images per .NET major and distro: the one table the default SDK and
// runtime-deps images come from. Pure.
//
// Read from dotnet/dotnet-docker at commit 3ed00b611cc88eaa5995525a0549a5703965cd02
// (2026-08-21): manifest.json (tags "$(sdk|11.0|minor-tag)-resolute-aot",
// "$(dotnet|11.0|minor-tag)-resolute-chiseled", ...), manifest.versions.json (minor-tag is
// "11.0-preview" before GA and "<major>.0" after it, as for 10.0), README.sdk.md and
// README.runtime-deps.md (the tag lists), src/sdk/*/*-aot/amd64/Dockerfile (what each -aot
// image adds). .NET 11 is on Ubuntu only as 26.04 "resolute" (no 11.0-noble tag exists);
// its -aot SDK image carries gcc and zlib1g-dev, not clang or llvm (PR 7231). Only the Ubuntu
// distros are here: the toolchain stage installs with apt, and Alpine and Azure Linux
// (which Microsoft also ships) have no apt.
import type { ResolvedFlavor } from './generate.js'

export const MCR = 'mcr.microsoft.com/dotnet'

/** Where the table's facts were read, for errors and the README. */
export const IMAGE_FACTS_SOURCE = 'dotnet/dotnet-docker manifest.json and README tag lists at commit 3ed00b6 (2026-08-21)'

export interface DistroImages {
  /** The tag word, and the value of the `distro` input. */
  distro: string
  os: string
  /** Tag of mcr.microsoft.com/dotnet/sdk. */
  sdk: string
  /** Tags of mcr.microsoft.com/dotnet/runtime-deps, per flavor: always of the same distro as the SDK. */
  runtimeDeps: Record<ResolvedFlavor, string>
  /** Whether Microsoft's SDK image has clang and llvm (the cross link needs them). */
  sdkHasClang: boolean
}

export interface MajorImages {
  major: number
  /** Microsoft's recommended distro for this major (its default tags' distro). */
  recommended: string
  distros: DistroImages[]
  /** Distros Microsoft ships this major on that the toolchain stage cannot use (no apt). */
  withoutApt: string[]
  /** Microsoft's end of support (YYYY-MM-DD), once past or announced. */
  endOfSupport?: string
}

function ubuntu(major: number, distro: string, os: string, sdkSuffix: string, sdkHasClang: boolean): DistroImages {
  const v = `${major}.0-${distro}`
  return { distro, os, sdk: `${v}${sdkSuffix}`, runtimeDeps: { chiseled: `${v}-chiseled`, 'chiseled-extra': `${v}-chiseled-extra`, full: v }, sdkHasClang }
}

export const IMAGE_TABLE: readonly MajorImages[] = [
  // No -aot SDK image for 9.0 (removed in dotnet-docker PR 5476): the plain SDK, clang installed by us.
  { major: 9, recommended: 'noble', distros: [ubuntu(9, 'noble', 'Ubuntu 24.04', '', false)], withoutApt: ['alpine', 'alpine3.23', 'alpine3.24', 'azurelinux3.0'], endOfSupport: '2026-11-10' },
  {
    major: 10,
    recommended: 'noble',
    distros: [ubuntu(10, 'noble', 'Ubuntu 24.04', '-aot', true), ubuntu(10, 'resolute', 'Ubuntu 26.04', '-aot', true)],
    withoutApt: ['alpine', 'alpine3.23', 'alpine3.24', 'azurelinux3.0']
  },
  { major: 11, recommended: 'resolute', distros: [ubuntu(11, 'resolute', 'Ubuntu 26.04', '-aot', false)], withoutApt: ['alpine', 'alpine3.24', 'azurelinux4.0'] }
]

export function majorImages(major: number): MajorImages | undefined {
  return IMAGE_TABLE.find((m) => m.major === major)
}

/** The distros the `distro` input accepts for a major, Microsoft's recommended one first. */
export function acceptedDistros(major: number): string[] {
  const m = majorImages(major)
  if (m === undefined) return []
  return [m.recommended, ...m.distros.map((d) => d.distro).filter((d) => d !== m.recommended)]
}

/** Why a distro cannot be used for a known major (for an InputError on `distro`); undefined when it can. */
export function distroProblem(major: number, distro: string): { problem: string; accepted: string } | undefined {
  const m = majorImages(major)
  if (m === undefined || distro === '' || m.distros.some((d) => d.distro === distro)) return undefined
  const accepted = `for .NET ${major}: ${acceptedDistros(major).join(', ')} (empty: ${m.recommended}, Microsoft's recommended)`
  if (m.withoutApt.includes(distro)) {
    return { problem: `Microsoft ships .NET ${major} on ${distro}, but those images have no apt, which the cross toolchain stage installs with`, accepted }
  }
  return { problem: `.NET ${major} has no ${distro} images known to this action (${IMAGE_FACTS_SOURCE})`, accepted }
}

/** The SDK and runtime-deps images of one distro: '' distro = Microsoft's recommended one. */
export function defaultImages(major: number, distro: string, flavor: ResolvedFlavor): { distro: string; sdk: string; runtime: string } {
  const m = majorImages(major)
  const d = m?.distros.find((x) => x.distro === (distro || m.recommended))
  if (m === undefined || d === undefined) throw new Error(`no images for .NET ${major} on ${distro || 'the default distro'}`)
  return { distro: d.distro, sdk: `${MCR}/sdk:${d.sdk}`, runtime: `${MCR}/runtime-deps:${d.runtimeDeps[flavor]}` }
}

/** Every image the table names for a major, for an error about one that does not exist. */
export function knownImages(major: number): string[] {
  const m = majorImages(major)
  if (m === undefined) return []
  return m.distros.flatMap((d) => [`${MCR}/sdk:${d.sdk}`, ...Object.values(d.runtimeDeps).map((t) => `${MCR}/runtime-deps:${t}`)])
}

/** The warning a build of an out-of-support major gets; undefined while it is supported. */
export function supportWarning(major: number, today: string): string | undefined {
  const end = majorImages(major)?.endOfSupport
  if (end === undefined || today < end) return undefined
  return `.NET ${major} is out of support since ${end}: Microsoft ships no more fixes for it or its images. Move the project to net10.0 (LTS) or net11.0.`
}
