// Recognises the build failures .NET users keep hitting and says cause and fix. Pure.

export interface Diagnosis {
  match: string
  cause: string
  fix: string
}

interface Rule {
  re: RegExp
  cause: string
  fix: string
}

const RULES: Rule[] = [
  {
    re: /Platform linker \('?clang'?\) not found|Platform linker not found/i,
    cause: 'the Native AOT compile ran in an image without clang.',
    fix: 'use an -aot SDK image (mcr.microsoft.com/dotnet/sdk:10.0-noble-aot) or leave "sdk-image" empty so the action picks it; a custom SDK image needs clang and llvm.'
  },
  {
    re: /cannot find (crti\.o|Scrt1\.o|crt1\.o)/i,
    cause: 'the cross linker has no C runtime for the target architecture (libc6-dev-<arch>-cross is only a Recommends of the gcc cross package).',
    fix: 'install libc6-dev-arm64-cross (or libc6-dev-amd64-cross) next to the gcc cross package; the generated Dockerfile does, so check a custom "sdk-image".'
  },
  {
    re: /unrecogni[sz]ed emulation mode: aarch64linux/i,
    cause: 'the host linker (x86-64 ld) was asked to link an arm64 binary.',
    fix: 'cross-link with clang and the aarch64 binutils (gcc-aarch64-linux-gnu); do not symlink objcopy or ld by hand.'
  },
  {
    re: /objcopy: Unable to recogni[sz]e the format of the input file/i,
    cause: 'a host-arch objcopy tried to strip a binary of another architecture.',
    fix: 'install llvm (llvm-objcopy handles every architecture and the SDK tries it first with clang), or set -p:ObjCopyName=aarch64-linux-gnu-objcopy.'
  },
  {
    re: /NETSDK1203/,
    cause: 'Native AOT was asked for without a RuntimeIdentifier (NETSDK1203).',
    fix: 'publish with -a/-r (the generated Dockerfile does); check a custom Directory.Build.props that clears RuntimeIdentifier.'
  },
  {
    re: /NETSDK1047/,
    cause: 'the restore did not include the target runtime (NETSDK1047: assets file has no target for the RID).',
    fix: 'restore and publish with the same -a/-r; do not pass --no-restore after a restore without a runtime; delete stale obj/ folders from the context (.dockerignore bin/ and obj/).'
  },
  {
    re: /qemu: uncaught target signal|qemu-\w+: .*(Segmentation fault|signal 11)/i,
    cause: 'the .NET SDK ran under QEMU emulation and crashed; Microsoft does not support running dotnet under QEMU.',
    fix: 'cross-compile on the build platform (FROM --platform=$BUILDPLATFORM, then dotnet publish -a amd64 or -a arm64), as the generated Dockerfile does, or use native runners per architecture.'
  },
  {
    re: /exec format error/i,
    cause: 'a binary for another CPU was run: a stage ran on the target platform without QEMU, or the image holds a wrong-arch binary.',
    fix: 'keep every RUN on $BUILDPLATFORM (the generated Dockerfile does); if a custom step must run on the target, set setup-qemu: true.'
  },
  {
    re: /GLIBC_\d+\.\d+'? not found/i,
    cause: 'the binary was linked against a newer glibc than the runtime image has (build and runtime distros differ).',
    fix: 'use the SDK and runtime-deps images of the same distro (noble with noble); check "sdk-image" and "runtime-image".'
  },
  {
    re: /NU1301|Unable to load the service index for source/i,
    cause: 'NuGet could not reach a package source from inside the build.',
    fix: 'check the source URL and credentials; private feeds go in the "nuget-config" input (passed as a BuildKit secret).'
  }
]

export function diagnose(log: string): Diagnosis[] {
  const out: Diagnosis[] = []
  for (const r of RULES) {
    const m = r.re.exec(log)
    if (m) out.push({ match: m[0], cause: r.cause, fix: r.fix })
  }
  return out
}

// Progress chatter that says nothing about why a build failed.
const NOISE = /^#\d+ (?:\[internal\]|DONE|CACHED|sha256:|extracting|resolve |transferring)|^\s*$|^#\d+ \d+(\.\d+)?s?\s*$/

/** The last meaningful lines of a build log, for the error message. */
export function lastMeaningfulLines(log: string, count = 25): string[] {
  const lines = log.split(/\r?\n/).filter((l) => !NOISE.test(l))
  return lines.slice(-count)
}
