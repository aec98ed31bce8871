// Versioning packages that compute the version from git history (MinVer, Nerdbank.GitVersioning,
// GitVersion), found in the evaluated PackageReference items. The build never sees `.git` (a
// checkout keeps its token there: ignore.ts, and the sandbox hides it), so each tool falls back:
// what it then does, the switch that keeps the build from failing, and the property through
// which a user passes the version the tool computed on the runner. Pure.
import { clip, printable } from '../util/errors.js'

/** A user's value on one log line: inert and clipped. */
const shown = (v: string): string => clip(printable(v), 100)

export type GitVersionTool = 'minver' | 'nbgv' | 'gitversion'

interface ToolFacts {
  name: string
  /** Package ids (case-insensitive) that bring the tool's MSBuild targets. */
  packages: string[]
  /** A property that, when true in the project, turns the tool off already. */
  offProperty: string
  /**
   * Variables the publish step gets so the tool does not fail without git: switches that
   * MSBuild's docs, the tool's docs (NBGV_GitEngine) or its own MSBuild files (GitVersion's
   * DisableGitVersionTask, in GitVersion.MsBuild.props) define.
   */
  env: Record<string, string>
  /** What the binary's version is without git. */
  fallback: string
  /** The property (a build arg, so an MSBuild property) that carries a version computed elsewhere; undefined: the tool has none. */
  override?: string
  /** How to get the real version into the build: a sentence. */
  remedy: string
}

export const TOOLS: Record<GitVersionTool, ToolFacts> = {
  minver: {
    name: 'MinVer',
    packages: ['MinVer'],
    offProperty: 'MinVerSkip',
    // Without git MinVer warns MINVER1001 and uses its default version; with
    // MSBuildTreatWarningsAsErrors that warning fails the build, so it stays a warning.
    env: { MSBuildWarningsNotAsErrors: 'MINVER1001' },
    fallback: "MinVer's default version, 0.0.0-alpha.0 (higher if the project sets MinVerMinimumMajorMinor), with warning MINVER1001",
    override: 'MinVerVersionOverride',
    remedy: 'To pass the real version, run MinVer on the runner, where the checkout has its history (e.g. `dotnet minver` from the minver-cli tool, after actions/checkout with fetch-depth: 0), and pass its output in build-args as MinVerVersionOverride (e.g. `MinVerVersionOverride=2.3.5`).'
  },
  nbgv: {
    name: 'Nerdbank.GitVersioning',
    packages: ['Nerdbank.GitVersioning'],
    offProperty: '',
    // Its documented switch for builds without git history (e.g. shallow clones).
    env: { NBGV_GitEngine: 'Disabled' },
    fallback: "version.json's version with git height 0 and no commit id (NBGV_GitEngine=Disabled)",
    remedy:
      'Nerdbank.GitVersioning has no property that takes a version computed elsewhere (a Version build arg does not reach its assembly attributes), so the binary carries the fallback; name the released version in version.json, or version the image by its tags and labels.'
  },
  gitversion: {
    name: 'GitVersion',
    packages: ['GitVersion.MsBuild', 'GitVersionTask'],
    offProperty: 'DisableGitVersionTask',
    // Without git its task fails the build; turned off, the SDK's own Version applies and the
    // GitVersionInformation class is not generated.
    env: { DisableGitVersionTask: 'true' },
    fallback: "the project's own Version (1.0.0 unless it sets one): GitVersion's task fails without git, so it is turned off (DisableGitVersionTask=true) and its GitVersionInformation class is not generated",
    override: 'Version',
    remedy: 'To pass the real version, run GitVersion on the runner, where the checkout has its history (e.g. gittools/actions with fetch-depth: 0), and pass its SemVer in build-args as Version (e.g. `Version=2.3.5`).'
  }
}

/** Properties each evaluation reports so a tool the project turned off is not counted. */
export const VERSIONING_PROPERTIES = [...new Set(Object.values(TOOLS).map((t) => t.offProperty).filter((p) => p !== ''))]

/** One evaluated project as detection needs it: its PackageReference ids and its properties. */
export interface PackageFacts {
  packages: string[]
  properties: Record<string, string | undefined>
}

/** The git-history versioning tools the evaluated projects use (and have not turned off), in a fixed order. */
export function detectVersioning(projects: PackageFacts[]): GitVersionTool[] {
  const found = new Set<GitVersionTool>()
  for (const p of projects) {
    const ids = new Set(p.packages.map((id) => id.trim().toLowerCase()))
    for (const [tool, t] of Object.entries(TOOLS) as [GitVersionTool, ToolFacts][]) {
      if (!t.packages.some((id) => ids.has(id.toLowerCase()))) continue
      if (t.offProperty !== '' && (p.properties[t.offProperty] ?? '').trim().toLowerCase() === 'true') continue
      found.add(tool)
    }
  }
  return (Object.keys(TOOLS) as GitVersionTool[]).filter((t) => found.has(t))
}

export const VERSION_LABEL = 'org.opencontainers.image.version'

export interface VersioningPlan {
  /** Variables set in the publish stage (ENV): the tools' no-git switches the user's build args do not name. */
  env: Record<string, string>
  /** Lines for the job summary, our own wording with the user's values in `code` spans by the caller: [text, value?]. */
  summary: { tool: string; text: string; value?: string }[]
  /** Warnings for the log, user text made inert. */
  warnings: string[]
}

/**
 * What the build does about each tool: its no-git switch (unless a build arg names the same
 * variable: the user's value wins), and what the version is: the one the user passed through
 * the tool's override property in build-args, or the tool's fallback, said in the summary and a
 * warning that tells how to pass the real one. A `org.opencontainers.image.version` label that
 * disagrees with what the binary carries is named too.
 */
export function versioningPlan(tools: GitVersionTool[], buildArgs: { name: string; value: string }[], labels: string[]): VersioningPlan {
  const out: VersioningPlan = { env: {}, summary: [], warnings: [] }
  const arg = (name: string): string | undefined => buildArgs.find((a) => a.name === name)?.value
  const label = labels.find((l) => l.startsWith(`${VERSION_LABEL}=`))?.slice(VERSION_LABEL.length + 1)
  for (const tool of tools) {
    const t = TOOLS[tool]
    for (const [k, v] of Object.entries(t.env)) if (arg(k) === undefined) out.env[k] = v
    const passed = t.override !== undefined ? arg(t.override) : undefined
    if (passed !== undefined) {
      out.summary.push({ tool: t.name, text: `from build-args ${t.override ?? ''} (${t.name} computes none without git history)`, value: passed })
      if (label !== undefined && label !== passed) {
        out.warnings.push(`The label ${VERSION_LABEL}=${shown(label)} differs from the version the binary carries, ${shown(passed)} (build-args ${t.override ?? ''}).`)
      }
      continue
    }
    out.summary.push({ tool: t.name, text: `the fallback, ${t.fallback}, as the build has no git history (.git is never sent to the builder). ${t.remedy}` })
    out.warnings.push(
      `${t.name} computes the version from git history, which the container build does not have (.git is never sent to the builder): the binary carries ${t.fallback}. ` +
        t.remedy +
        (label !== undefined ? ` The image's label ${VERSION_LABEL}=${shown(label)} does not match the binary's fallback version.` : '')
    )
  }
  return out
}
