// The docker-container builder this action creates: its `buildx create` argv and the
// driver options it accepts. Pure: setup.ts runs the command.
import { parse as parseToml } from 'smol-toml'
import { splitCsv } from '../util/lists.js'

/**
 * The docker-container driver's options (buildx driver/docker-container/factory.go), with the
 * first buildx release that reads each; older releases refuse an unknown key themselves.
 */
export const DRIVER_OPTS: Record<string, string> = {
  image: '0.13',
  network: '0.13',
  memory: '0.13',
  'memory-swap': '0.13',
  'cpu-period': '0.13',
  'cpu-quota': '0.13',
  'cpu-shares': '0.13',
  'cpuset-cpus': '0.13',
  'cpuset-mems': '0.13',
  'cgroup-parent': '0.13',
  'restart-policy': '0.13',
  'env.<NAME>': '0.13',
  'default-load': '0.14',
  'provenance-add-gha': '0.30',
  'allow-untrusted-image': '0.36'
}

export const DRIVER_OPTS_ACCEPTED =
  'one option per line (buildx reads each line as CSV: several key=value fields joined by commas, a field with a comma "quoted"), each key=value with a key of the docker-container driver: ' +
  Object.entries(DRIVER_OPTS)
    .map(([k, v]) => (v === '0.13' ? k : `${k} (buildx ${v}+)`))
    .join(', ')

export const BUILDKITD_CONFIG_ACCEPTED = 'a BuildKit daemon configuration in TOML (buildkitd.toml: [registry."docker.io"] mirrors, [registry."host:port"] http/insecure, ...)'

export interface DriverOpt {
  key: string
  value: string
}

/** The key=value fields of one driver-opts line, or what is wrong with it (without its value: env.* may hold a token). */
export function readDriverOpt(line: string): { fields: DriverOpt[] } | { problem: string } {
  const raw = splitCsv(line)
  if (raw === undefined) return { problem: 'has unbalanced double quotes' }
  const fields: DriverOpt[] = []
  for (const f of raw) {
    const eq = f.indexOf('=')
    if (eq < 0) return { problem: `has no "=" in a field (${fieldShown(f)})` }
    const key = f.slice(0, eq)
    const known = key in DRIVER_OPTS || /^env\.[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    if (!known) return { problem: `names ${JSON.stringify(key.slice(0, 40))}, which is not an option of the docker-container driver` }
    fields.push({ key, value: f.slice(eq + 1) })
  }
  return { fields }
}

/** A field without "=" may be a bare secret: only its length is shown. */
function fieldShown(f: string): string {
  return f.trim() === '' ? 'an empty field' : `a field of ${f.length} characters`
}

/** What a user asks of the builder the action creates; any of it means one is created. */
export interface OwnBuilderConfig {
  /** driver-opts lines, validated, passed as given. */
  driverOpts: string[]
  /** Absolute path of buildkitd-config ('' = none). */
  buildkitdConfig: string
  /** buildkitd-config-inline TOML ('' = none); setup.ts writes it to a file. */
  buildkitdConfigInline: string
}

export function wantsConfiguredBuilder(c: OwnBuilderConfig): boolean {
  return c.driverOpts.length > 0 || c.buildkitdConfig !== '' || c.buildkitdConfigInline !== ''
}

/** The label of the bridge network the action creates for its builder (untrusted events). */
export const BUILDER_NETWORK_LABEL = 'io.github.aot-buildx.builder'

/**
 * The network our builder joins, or undefined for the user's own network= (driver-opts). Trusted
 * events: the host's. Untrusted events: a bridge network of the builder's own, named as the
 * builder: on the default bridge its RUN steps would reach every other container there by
 * address (a job's services, a Docker-in-Docker daemon), whatever port they publish.
 */
export function builderNetwork(name: string, driverOpts: string[], trustedEvent: boolean): string | undefined {
  const userNetwork = driverOpts.some((line) => {
    const r = readDriverOpt(line)
    return 'fields' in r && r.fields.some((f) => f.key === 'network')
  })
  if (userNetwork) return undefined
  return trustedEvent ? 'host' : name
}

/** `docker network create` for that bridge network, labelled so the post step knows it as ours. */
export function builderNetworkCreateArgv(name: string): string[] {
  return ['network', 'create', '--driver', 'bridge', '--label', `${BUILDER_NETWORK_LABEL}=${name}`, name]
}

/**
 * `docker buildx create` for the action's builder. On trusted events (push, workflow_dispatch)
 * on the host network, as setup-buildx-action users set it, so the builder reaches a registry
 * or cache on the runner's localhost (a `registry:2` service on localhost:5000, a pull-through
 * mirror). Untrusted events may build a pull request's code, whose restore and publish steps
 * would then reach every service bound to the runner's 127.0.0.1 (the Docker API over TCP, a
 * local registry): their builder gets a bridge network of its own (builderNetwork). A user's own network=
 * (driver-opts, the workflow author's choice) replaces either. `configFile` is
 * buildkitd-config or the inline text's file. --buildkitd-config is the spelling since
 * buildx 0.13 (the oldest this action runs).
 */
export function createBuilderArgv(name: string, driverOpts: string[], configFile: string, trustedEvent: boolean): string[] {
  const network = builderNetwork(name, driverOpts, trustedEvent)
  return [
    'buildx',
    'create',
    '--name',
    name,
    '--driver',
    'docker-container',
    ...(network === undefined ? [] : ['--driver-opt', `network=${network}`]),
    ...driverOpts.flatMap((o) => ['--driver-opt', o]),
    ...(configFile !== '' ? ['--buildkitd-config', configFile] : []),
    '--bootstrap'
  ]
}

/**
 * Why a buildkitd config is not TOML, or undefined when it is. Only the parser's reason and the
 * position: its excerpt of the text is left out (a config may name hosts or tokens).
 */
export function tomlProblem(text: string): string | undefined {
  try {
    parseToml(text)
    return undefined
  } catch (e) {
    const err = e as { message?: string; line?: number; column?: number }
    const reason = (err.message ?? '').split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? ''
    return `is not valid TOML${typeof err.line === 'number' ? ` (line ${err.line}, column ${err.column ?? 0})` : ''}: ${reason.slice(0, 120)}`
  }
}
