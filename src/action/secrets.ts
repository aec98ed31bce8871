// The secrets, secret-envs and secret-files inputs (as docker/build-push-action names them),
// validated. Each secret becomes an environment variable of its id in the restore and publish
// steps only, so a NuGet.config's %VAR% and NuGet's NuGetPackageSourceCredentials_<source>
// both work. Pure: the caller passes the process environment.
import * as path from 'node:path'
import { InputError } from '../util/errors.js'
import { parseLines, parseList } from '../util/lists.js'
import { SECRET_ID } from '../dockerfile/generate.js'
import { KEPT_SECRET_ID } from '../dockerfile/scripts.js'

/** A build argument's name (build-args), as parseInputs accepts it. */
export const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** One secret for the build: its value comes from the action's environment or from a file. */
export type BuildSecret =
  | { id: string; kind: 'value'; value: string }
  | { id: string; kind: 'env'; env: string; value: string }
  | { id: string; kind: 'file'; file: string }


const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Names the build itself sets; a secret of that name would break the step or the SDK. */
const RESERVED = /^(PATH|HOME|HOSTNAME|PWD|SHELL|IFS|DOTNET_\w*|NUGET_PACKAGES|NUGET_HTTP_CACHE_PATH|AOT_\w*)$/
/** The ids of the action's own BuildKit secrets: a user's secret of that id would replace one. */
export const OWN_SECRET_IDS = ['nuget-config', KEPT_SECRET_ID] as const

const ID_ACCEPTED = 'an id of letters, digits, _, . and - starting with a letter or _ (it becomes an environment variable of that name in the restore and publish steps), e.g. CORP_FEED_TOKEN or NuGetPackageSourceCredentials_corp-feed'

/** What is wrong with an entry's id (undefined: a usable id). Nothing of the id is in the answer. */
function idProblem(id: string): string | undefined {
  if (!SECRET_ID.test(id) || id.length > 200) return 'is not an environment variable name'
  if (RESERVED.test(id)) return 'is a variable the build sets itself'
  if ((OWN_SECRET_IDS as readonly string[]).includes(id.toLowerCase())) return `is one the action uses for its own secrets (${OWN_SECRET_IDS.join(', ')})`
  return undefined
}

// Nothing of an entry is ever shown, only the input and its number: a bare token, a padded
// token whose "=" reads as a separator, a value where a variable name belongs, or a line of a
// multi-line value can sit anywhere in it.
function splitPair(input: string, item: string, n: number, accepted: string): { id: string; rest: string } {
  const eq = item.indexOf('=')
  if (eq <= 0) throw new InputError(input, `entry ${n} is not id=${input === 'secrets' ? 'value' : input === 'secret-envs' ? 'ENV_NAME' : 'path'} (it has no "=" after an id)`, accepted)
  const id = item.slice(0, eq).trim()
  const rest = item.slice(eq + 1)
  // A padded base64 token given without an id reads as "<most of the token>=" and a value of
  // "" or "=": refused before its first part can be taken for an id.
  if (input === 'secrets' && /^=*$/.test(rest.trim())) {
    throw new InputError(input, `entry ${n} has no value after its "=" (or only "="): a token without an id, or a secret that is empty (GitHub passes no secrets to workflows run for pull requests from forks)`, accepted)
  }
  const problem = idProblem(id)
  if (problem !== undefined) throw new InputError(input, `the id of entry ${n} ${problem}`, `another id; ${ID_ACCEPTED}`)
  return { id, rest }
}

/**
 * Every text that must be masked in the log, read as leniently as possible (before validation,
 * so even an input error cannot print one): `secrets` values and the variables `secret-envs`
 * names, whole and line by line; and of every entry of secrets, secret-envs, secret-files and
 * build-args that is not well formed, the whole entry and each of its parts (a token typed
 * into the wrong place). The id of a well-formed entry, the variable name and path of a
 * well-formed secret-envs or secret-files entry, and a build argument's name are not masked:
 * they are names the log shows (the generated Dockerfile, buildx's command), and masking a
 * short one would star that word across the whole log.
 */
export function secretValuesToMask(get: (name: string) => string, env: Record<string, string | undefined>): string[] {
  const out = new Set<string>()
  const add = (v: string | undefined): void => {
    // Only "=" (a padded token's tail) would mask every "=" in the log.
    if (v === undefined || /^[\s=]*$/.test(v)) return
    out.add(v)
    if (v.trim() !== v) out.add(v.trim())
    for (const line of v.split(/\r?\n/)) if (line.trim() !== '') out.add(line.trim())
    // NuGetPackageSourceCredentials_<source>=Username=...;Password=...: the password on its own too.
    for (const [, pw = ''] of v.matchAll(/(?:^|;)\s*Password\s*=\s*([^;\r\n]+)/gi)) if (pw.trim() !== '') out.add(pw.trim())
  }
  /** The entry and every part of it the parsers split on "=". */
  const addEntry = (entry: string): void => {
    add(entry)
    for (const part of entry.split('=')) add(part)
  }
  const idOk = (id: string): boolean => idProblem(id.trim()) === undefined
  for (const line of parseLines(get('secrets'))) {
    const eq = line.indexOf('=')
    add(line)
    add(line.slice(eq + 1))
    if (eq <= 0 || !idOk(line.slice(0, eq)) || /^=*$/.test(line.slice(eq + 1).trim())) addEntry(line)
  }
  for (const item of parseList(get('secret-envs'))) {
    const eq = item.indexOf('=')
    const name = item.slice(eq + 1).trim()
    add(env[name])
    if (eq <= 0 || !idOk(item.slice(0, eq)) || !ENV_NAME.test(name) || env[name] === undefined) addEntry(item)
  }
  for (const line of parseLines(get('secret-files'))) {
    const eq = line.indexOf('=')
    if (eq <= 0 || !idOk(line.slice(0, eq)) || line.slice(eq + 1).trim() === '') addEntry(line)
  }
  for (const line of parseLines(get('build-args'))) {
    const eq = line.indexOf('=')
    if (eq <= 0 || !BUILD_ARG_NAME.test(line.slice(0, eq)) || /^=+$/.test(line.slice(eq + 1))) addEntry(line)
  }
  // The signing key (each line, the PEM armour aside: it is no secret) and its password, from the start.
  add(get('cosign-password'))
  for (const line of get('cosign-key').split(/\r?\n/)) if (!/^-----(BEGIN|END) /.test(line.trim())) add(line)
  return [...out]
}

/**
 * The three inputs as one list of build secrets, ids unique. `secret-files` paths are absolute
 * (relative ones from the workspace); where they may lie is checked with the other paths.
 */
export function parseSecrets(get: (name: string) => string, env: Record<string, string | undefined>, workspace: string): BuildSecret[] {
  const out: BuildSecret[] = []
  const seen = (input: string, id: string, n: number): void => {
    if (out.some((s) => s.id === id)) throw new InputError(input, `the id of entry ${n} is given before (in this input or another of secrets, secret-envs and secret-files)`, 'each id once across secrets, secret-envs and secret-files')
  }
  const empty = 'is empty (GitHub passes no secrets to workflows run for pull requests from forks)'

  const valueAccepted = `one id=value per line, e.g. CORP_FEED_TOKEN=\${{ secrets.CORP_FEED_TOKEN }}; ${ID_ACCEPTED}`
  for (const [i, line] of parseLines(get('secrets')).entries()) {
    const { id, rest } = splitPair('secrets', line, i + 1, valueAccepted)
    seen('secrets', id, i + 1)
    out.push({ id, kind: 'value', value: rest })
  }

  const envAccepted = `id=ENV_NAME entries (comma or newline separated) naming variables set on this step with env:, e.g. CORP_FEED_TOKEN=CORP_FEED_TOKEN; ${ID_ACCEPTED}`
  for (const [i, item] of parseList(get('secret-envs')).entries()) {
    const n = i + 1
    const { id, rest } = splitPair('secret-envs', item, n, envAccepted)
    const name = rest.trim()
    // The name is not shown either: a value typed where the name belongs can look like one.
    if (!ENV_NAME.test(name)) throw new InputError('secret-envs', `the part after "=" of entry ${n} is not an environment variable name (a value given instead of the name of a variable that holds it?)`, envAccepted)
    seen('secret-envs', id, n)
    const value = env[name]
    if (value === undefined) throw new InputError('secret-envs', `entry ${n} names an environment variable that is not set on this step (or a value was given instead of its name)`, `the name of a variable set with env: on the step, e.g. env: { CORP_FEED_TOKEN: \${{ secrets.CORP_FEED_TOKEN }} } with secret-envs: CORP_FEED_TOKEN=CORP_FEED_TOKEN`)
    if (value.trim() === '') throw new InputError('secret-envs', `the environment variable that entry ${n} names ${empty}`, 'a variable with a value')
    out.push({ id, kind: 'env', env: name, value })
  }

  const fileAccepted = `one id=path per line, the path of a file outside the build context (e.g. written to $RUNNER_TEMP by an earlier step); ${ID_ACCEPTED}`
  for (const [i, line] of parseLines(get('secret-files')).entries()) {
    const { id, rest } = splitPair('secret-files', line, i + 1, fileAccepted)
    seen('secret-files', id, i + 1)
    if (rest.trim() === '') throw new InputError('secret-files', `the path of entry ${i + 1} is empty`, fileAccepted)
    out.push({ id, kind: 'file', file: path.resolve(workspace, rest.trim()) })
  }
  return out
}
