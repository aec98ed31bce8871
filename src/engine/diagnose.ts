// Recognises the build failures .NET users keep hitting and says cause and fix. Pure.
import { cell, code, fenced } from '../util/markdown.js'

export interface Diagnosis {
  match: string
  cause: string
  fix: string
}

export interface Rule {
  re: RegExp
  /** The rule does not apply when this matches too (a more precise rule does). */
  not?: RegExp
  cause: string
  fix: string
}

/** Every dotnet/toolchain failure we recognise (TROUBLESHOOTING.md lists each; a test keeps them in step). */
export const RULES: readonly Rule[] = [
  {
    re: /Platform linker \('?clang'?\) not found|Platform linker not found/i,
    cause: 'the Native AOT compile ran in an image without clang.',
    fix: 'leave "sdk-image" empty so the action picks the SDK image from Microsoft, or use a Debian or Ubuntu SDK image: the toolchain stage installs clang and llvm with apt where they are missing (as in the .NET 11 -aot image); an image without apt needs them already.'
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
    re: /error CS0103: The name 'GitVersionInformation' does not exist/,
    cause: "`.git` never reaches the builder, so a versioning package that reads git history falls back there: the action turns GitVersion's task off (`DisableGitVersionTask=true`; it would fail the build), which also stops it generating `GitVersionInformation`; MinVer stamps its default `0.0.0-alpha.0` (warning MINVER1001); Nerdbank.GitVersioning stamps `version.json`'s version with git height 0. The warning and the summary's `Version` line say which.",
    fix: "run the tool on the runner (checkout with `fetch-depth: 0`) and pass its version in `build-args` (`MinVerVersionOverride=…`, or `Version=…` for GitVersion); read the version from the assembly's `AssemblyInformationalVersionAttribute` rather than `GitVersionInformation` (README, \"A version from git history\")."
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
    fix: 'use the SDK and runtime-deps images of the same distro (noble with noble, resolute with resolute): leave "sdk-image" and "runtime-image" empty and choose with "distro", or give both of one distro.'
  },
  {
    re: /unknown flag: start-interval/,
    cause: 'the builder\'s Dockerfile frontend is older than 1.6 (BuildKit 0.12, Docker Engine 25) and does not know HEALTHCHECK --start-interval, which the "healthcheck" input writes.',
    fix: 'build on Docker Engine 25 or later (the default builder is the engine\'s own BuildKit), or with a "builder" of a recent BuildKit (docker-container driver); or leave "healthcheck" empty.'
  },
  {
    // The NU1301 line just before this one names the source.
    re: /Response status code does not indicate success: 40[13] \((?:Unauthorized|Forbidden)\)/,
    cause: 'a NuGet feed refused the restore (401 or 403): the build has no credentials, or wrong ones, for the source named in the error above.',
    fix: 'pass the feed\'s token with the "secrets" or "secret-envs" input under the name your NuGet.config reads (%CORP_FEED_TOKEN%), or as NuGetPackageSourceCredentials_<source key>=Username=<user>;Password=<token>; GitHub gives no secrets to pull requests from forks.'
  },
  {
    re: /NU1301|Unable to load the service index for source/i,
    not: /Response status code does not indicate success: 40[13]/,
    cause: 'NuGet could not reach a package source from inside the build.',
    fix: 'check the source URL from inside a container on this runner; a private feed\'s credentials go in the "secrets", "secret-envs" or "nuget-config" inputs (passed as BuildKit secrets).'
  }
]

export function diagnose(log: string): Diagnosis[] {
  const out: Diagnosis[] = []
  for (const r of RULES) {
    const m = r.re.exec(log)
    if (m && !(r.not?.test(log) ?? false)) out.push({ match: m[0], cause: r.cause, fix: r.fix })
  }
  return out
}

// Progress chatter that says nothing about why a build failed, and BuildKit's echo of the
// RUN script (the step title and the `>` / `NN |` lines of its error report).
const NOISE = /^#\d+ (?:\[internal\]|DONE|CACHED|sha256:|extracting|resolve |transferring)|^\s*$|^#\d+ \d+(\.\d+)?s?\s*$|^#\d+ \[.*\] RUN |^\s*>|^\s*\d+ \||^-{6,}$/
// .NET stack frames, wherever BuildKit's prefix leaves them.
const STACK_FRAME = /^\s*at [\w.<>`$|]+[.(]/

/** The last meaningful lines of a build log, for the error message. */
export function lastMeaningfulLines(log: string, count = 25): string[] {
  const lines = log
    .split(/\r?\n/)
    .filter((l) => !NOISE.test(l) && !STACK_FRAME.test(l.replace(STEP_PREFIX_ANY, '')))
    // BuildKit quotes the whole RUN script in its "did not complete" lines.
    .map((l) => l.replace(/process "\/bin\/sh -c .*" did not complete successfully/, 'the RUN step did not complete successfully'))
  return lines.slice(-count)
}

const STEP_PREFIX_ANY = /^(?:#\d+ )?\d+\.\d+ /

/** BuildKit's plain progress prefix: `#23 26.73 ` (step and seconds), or the `26.73 ` of its error echo. */
const STEP_PREFIX = /^(?:#\d+ )?\d+\.\d+ /

/** An MSBuild error line: `file(line,col): error CODE: message [project]`, or `tool : error CODE: ...`. */
const MSBUILD_ERROR = /(?:^|\s|:)error ([A-Z]{2,}\d{3,5}|:)/

export interface PublishError {
  /** The error line with BuildKit's prefix removed and build-tree paths made context-relative. */
  line: string
  /** Platforms whose publish printed it (linux/<arch>), in build order; empty when none could be told. */
  platforms: string[]
}

/** A publish-tree path (/build/<arch>/x or /src/x) as the user knows it: x, relative to the context. */
function contextRelative(line: string): { text: string; arch?: string } {
  let arch: string | undefined
  const text = line
    .replace(/\/build\/(amd64|arm64)\//g, (_m, a: string) => {
      arch = a
      return ''
    })
    .replace(/(^|[\s[('"])\/src\//g, '$1')
  return { text, arch }
}

/**
 * dotnet's own error lines from a failed build log, each once, with the platforms whose
 * publish printed them, in the order they first appeared: what a user must read first.
 * Stack frames, warnings and BuildKit's echo of the RUN script are left out.
 */
export function publishErrors(log: string, max = 12): PublishError[] {
  const found = new Map<string, PublishError>()
  let current: string | undefined
  for (const raw of log.split(/\r?\n/)) {
    const l = raw.replace(STEP_PREFIX, '')
    const header = /^==> (linux\/(?:amd64|arm64)): (published|dotnet publish failed)/.exec(l)
    if (header) {
      current = header[1]
      continue
    }
    if (/^#\d+ \[/.test(raw) || /^\s*>/.test(l) || /^\s*\d+ \|/.test(l)) continue // step titles and the script echo
    if (!MSBUILD_ERROR.test(l) || STACK_FRAME.test(l)) continue
    const { text, arch } = contextRelative(l.trim())
    const platform = arch !== undefined ? `linux/${arch}` : current
    const e = found.get(text) ?? { line: text, platforms: [] }
    if (platform !== undefined && !e.platforms.includes(platform)) e.platforms.push(platform)
    found.set(text, e)
  }
  return [...found.values()].slice(0, max)
}

/** The engine's or a registry's own words when the build failed outside dotnet (push, pull, resolve). */
export function engineErrors(log: string, max = 5): string[] {
  const out: string[] = []
  for (const raw of log.split(/\r?\n/)) {
    const said = /^(?:ERROR|error): (?:failed to solve: )?(.*)$/.exec(raw.trim())?.[1]
    if (said === undefined || /did not complete successfully/.test(said)) continue
    const line = said.trim()
    if (line !== '' && !out.includes(line)) out.push(line)
  }
  return out.slice(0, max)
}

/** What to do about failures that are not dotnet's (TROUBLESHOOTING.md lists each; a test keeps them in step). */
export const ENGINE_ADVICE = {
  engineGone:
    'the Docker engine (dockerd and its BuildKit) stopped answering during the build: check that the engine on this runner is up (e.g. `docker info`) and was not restarted or out of memory; nothing was pushed.',
  mcrUnreachable: 'the builder cannot reach mcr.microsoft.com. Set "sdk-image" and "runtime-image" to a mirror the builder can reach.',
  registryDown: 'the registry did not answer: check the registry address in "tags" and that it is up.',
  unauthorized: 'the registry refused the credentials (401): log in first with docker/login-action.',
  forbidden: 'the registry refused the push (403): the credentials lack write access to this repository (for GHCR: permissions: packages: write).',
  nameUnknown: 'the registry does not know the repository: create it first, or check the name in "tags".'
} as const

/** Advice for failures that are not dotnet's: what the engine or a registry said, and what to do. */
export function engineAdvice(cause: string): string | undefined {
  if (/Cannot connect to the Docker daemon|error reading from server: EOF|Unavailable: connection error|docker\.sock.*(connection refused|no such file)|transport is closing/i.test(cause)) return ENGINE_ADVICE.engineGone
  if (/failed to resolve source metadata for mcr\.microsoft\.com|mcr\.microsoft\.com.*(no such host|i\/o timeout|connection refused)/i.test(cause)) return ENGINE_ADVICE.mcrUnreachable
  if (/failed to push|failed to do request|push access denied/i.test(cause)) {
    if (/connection refused|no such host|i\/o timeout|dial tcp/i.test(cause)) return ENGINE_ADVICE.registryDown
    if (/401|unauthorized|authentication required/i.test(cause)) return ENGINE_ADVICE.unauthorized
    if (/403|forbidden|denied/i.test(cause)) return ENGINE_ADVICE.forbidden
    if (/name unknown|NAME_UNKNOWN|repository .* not found/i.test(cause)) return ENGINE_ADVICE.nameUnknown
  }
  return undefined
}

export interface FailureReport {
  /** The error message: its first line is the cause. */
  message: string
  /** The job summary's Markdown. */
  markdown: string
}

/** The Dockerfile stage of the step BuildKit reports as failed (`#18 [linux/amd64 restore 6/6] RUN ...`, then `#18 ERROR:`). */
export function failedStage(log: string): string | undefined {
  const step = /^#(\d+) ERROR:/m.exec(log)?.[1]
  if (step === undefined) return undefined
  return new RegExp(`^#${step} \\[(?:\\S+ )?([\\w.-]+) \\d+/\\d+\\]`, 'm').exec(log)?.[1]
}

/**
 * What a failed build says first: dotnet's own error lines (which platform, which file), or
 * the engine's or registry's words, then the known-failure advice, then the log's last lines.
 * Pure; `project` is the project path for the summary title.
 */
export function failureReport(log: string, exitCode: number, project: string, built: string[] = []): FailureReport {
  const errors = publishErrors(log)
  const tool = failedStage(log) === 'restore' ? 'dotnet restore' : 'dotnet publish'
  const failed = [...new Set([...log.matchAll(/==> (linux\/(?:amd64|arm64)): dotnet publish failed/g)].map(([, p = '']) => p))]
  const engine = errors.length === 0 ? engineErrors(log) : []
  const found = diagnose(log)
  const tail = lastMeaningfulLines(log)
  const lead: string[] = []
  if (errors.length > 0) {
    lead.push(`${tool} failed${failed.length > 0 ? ` for ${failed.join(', ')}` : ''}:`)
    for (const e of errors) lead.push(`  ${e.line}${e.platforms.length > 0 ? ` (${e.platforms.join(', ')})` : ''}`)
  } else if (engine.length > 0) {
    lead.push(...engine)
    const advice = engineAdvice(engine.join('\n'))
    if (advice !== undefined) lead.push(`Fix: ${advice}`)
  } else {
    lead.push(`docker buildx build failed (exit ${exitCode}).`)
  }
  if (built.length > 0) lead.push(`Built, but not pushed: ${built.join(', ')} (the sizes outputs are set).`)
  const advice = found.map((d) => `Cause: ${d.cause}\nFix: ${d.fix}`)
  const message = [...lead, ...advice, `docker buildx build exited with ${exitCode}. Last lines of the build log (the whole log is in the build group above):`, ...tail].join('\n')
  const md: string[] = [`### Native AOT image build failed: ${code(project)}`, '']
  if (errors.length > 0) {
    md.push(`${tool} failed${failed.length > 0 ? ` for ${failed.map(code).join(', ')}` : ''}:`, '')
    for (const e of errors) md.push(`- ${code(e.line)}${e.platforms.length > 0 ? ` (${e.platforms.join(', ')})` : ''}`)
    md.push('')
  } else if (engine.length > 0) {
    for (const e of engine) md.push(`- ${code(e)}`)
    const a = engineAdvice(engine.join('\n'))
    if (a !== undefined) md.push('', `Fix: ${cell(a)}`)
    md.push('')
  }
  if (built.length > 0) md.push(`Built, but not pushed: ${built.join(', ')}.`, '')
  for (const d of found) md.push(`- ${code(d.match)}: ${cell(d.cause)} ${cell(d.fix)}`)
  if (found.length > 0) md.push('')
  md.push('<details><summary>Last lines of the build log</summary>', '', fenced(tail.join('\n')), '', '</details>', '')
  return { message, markdown: md.join('\n') }
}

/**
 * A push of built images that failed (the layout push after the checks): the registry's own
 * words first, the fix, then what was built. `log` is imagetools' output.
 */
export function pushFailureReport(log: string, exitCode: number, project: string, refs: string[], digest: string, built: string[]): FailureReport {
  const cause = engineErrors(log)[0] ?? lastMeaningfulLines(log, 1)[0] ?? `docker buildx imagetools create exited with ${exitCode}`
  const advice = engineAdvice(`failed to push ${refs.join(' ')}: ${cause}`)
  const lead = `pushing ${digest} to ${refs.join(', ')} failed: ${cause}`
  const builtLine = `Built, but not pushed: ${built.join(', ')} (the sizes outputs are set).`
  const tail = lastMeaningfulLines(log, 10)
  const message = [lead, ...(advice !== undefined ? [`Fix: ${advice}`] : []), builtLine, `docker buildx imagetools create exited with ${exitCode}:`, ...tail].join('\n')
  const md = [`### Native AOT image push failed: ${code(project)}`, '', `- ${code(lead)}`, ...(advice !== undefined ? ['', `Fix: ${cell(advice)}`] : []), '', cell(builtLine), '', fenced(tail.join('\n')), '']
  return { message, markdown: md.join('\n') }
}
