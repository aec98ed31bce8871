// The secrets, secret-envs and secret-files inputs (as docker/build-push-action names them),
// validated. Each secret becomes an environment variable of its id in the restore and publish
// steps only, so a NuGet.config's %VAR% and NuGet's NuGetPackageSourceCredentials_<source>
// both work. Pure: the caller passes the process environment.
import * as path from 'node:path'
import { clip, InputError } from '../util/errors.js'
import { parseLines, parseList } from '../util/lists.js'
import { SECRET_ID } from '../dockerfile/generate.js'

/** One secret for the build: its value comes from the action's environment or from a file. */
export type BuildSecret =
  | { id: string; kind: 'value'; value: string }
  | { id: string; kind: 'env'; env: string; value: string }
  | { id: string; kind: 'file'; file: string }


const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Names the build itself sets; a secret of that name would break the step or the SDK. */
const RESERVED = /^(PATH|HOME|HOSTNAME|PWD|SHELL|IFS|DOTNET_\w*|NUGET_PACKAGES|NUGET_HTTP_CACHE_PATH|AOT_\w*)$/

const ID_ACCEPTED = 'an id of letters, digits, _, . and - starting with a letter or _ (it becomes an environment variable of that name in the restore and publish steps), e.g. CORP_FEED_TOKEN or NuGetPackageSourceCredentials_corp-feed'

function splitPair(input: string, item: string, n: number, accepted: string): { id: string; rest: string } {
  const eq = item.indexOf('=')
  // Nothing of an entry that fails here is shown, only its number: a bare token, a token that
  // happens to hold "=", or a line of a multi-line value can sit where the id should be.
  if (eq <= 0) throw new InputError(input, `entry ${n} is not id=${input === 'secrets' ? 'value' : input === 'secret-envs' ? 'ENV_NAME' : 'path'} (it has no "=" after an id)`, accepted)
  const id = item.slice(0, eq).trim()
  if (!SECRET_ID.test(id) || id.length > 200) throw new InputError(input, `the id of entry ${n} is not an environment variable name`, ID_ACCEPTED)
  if (RESERVED.test(id)) throw new InputError(input, `the id ${id} is a variable the build sets itself`, `another id; ${ID_ACCEPTED}`)
  const rest = item.slice(eq + 1)
  // A padded base64 token given without an id reads as "<most of the token>=": refuse it
  // rather than use the token as an id (ids are shown in the log and the Dockerfile).
  if (input === 'secrets' && /^=*$/.test(rest.trim()) && rest.length > 0) {
    throw new InputError(input, `entry ${n} looks like a token without an id (its value is only "=")`, accepted)
  }
  return { id, rest }
}

/**
 * Every value that must be masked in the log, read as leniently as possible (before validation,
 * so even an input error cannot print one): `secrets` values and the variables `secret-envs`
 * names, whole and line by line.
 */
export function secretValuesToMask(get: (name: string) => string, env: Record<string, string | undefined>): string[] {
  const out = new Set<string>()
  const add = (v: string | undefined): void => {
    // Only "=" (a padded token's tail) would mask every "=" in the log.
    if (v === undefined || /^[\s=]*$/.test(v)) return
    out.add(v)
    for (const line of v.split(/\r?\n/)) if (line.trim() !== '') out.add(line.trim())
    // NuGetPackageSourceCredentials_<source>=Username=...;Password=...: the password on its own too.
    for (const [, pw = ''] of v.matchAll(/(?:^|;)\s*Password\s*=\s*([^;\r\n]+)/gi)) if (pw.trim() !== '') out.add(pw.trim())
  }
  // The whole line too: an entry whose id part is really the secret is masked as well.
  for (const line of parseLines(get('secrets'))) {
    add(line)
    add(line.slice(line.indexOf('=') + 1))
  }
  for (const item of parseList(get('secret-envs'))) add(env[item.slice(item.indexOf('=') + 1).trim()])
  return [...out]
}

/**
 * The three inputs as one list of build secrets, ids unique. `secret-files` paths are absolute
 * (relative ones from the workspace); where they may lie is checked with the other paths.
 */
export function parseSecrets(get: (name: string) => string, env: Record<string, string | undefined>, workspace: string): BuildSecret[] {
  const out: BuildSecret[] = []
  const seen = (input: string, id: string): void => {
    if (out.some((s) => s.id === id)) throw new InputError(input, `the id ${id} is given twice`, 'each id once across secrets, secret-envs and secret-files')
  }
  const empty = 'is empty (GitHub passes no secrets to workflows run for pull requests from forks)'

  const valueAccepted = `one id=value per line, e.g. CORP_FEED_TOKEN=\${{ secrets.CORP_FEED_TOKEN }}; ${ID_ACCEPTED}`
  for (const [i, line] of parseLines(get('secrets')).entries()) {
    const { id, rest } = splitPair('secrets', line, i + 1, valueAccepted)
    seen('secrets', id)
    if (rest.trim() === '') throw new InputError('secrets', `the value of ${id} ${empty}`, 'a non-empty value for every id')
    out.push({ id, kind: 'value', value: rest })
  }

  const envAccepted = `id=ENV_NAME entries (comma or newline separated) naming variables set on this step with env:, e.g. CORP_FEED_TOKEN=CORP_FEED_TOKEN; ${ID_ACCEPTED}`
  for (const [i, item] of parseList(get('secret-envs')).entries()) {
    const { id, rest } = splitPair('secret-envs', item, i + 1, envAccepted)
    const name = rest.trim()
    if (!ENV_NAME.test(name)) throw new InputError('secret-envs', `"${clip(name, 60)}" (for ${id}) is not an environment variable name`, envAccepted)
    seen('secret-envs', id)
    const value = env[name]
    if (value === undefined) throw new InputError('secret-envs', `${id} names the environment variable ${name}, which is not set on this step`, `a variable set with env: on the step, e.g. env: { ${name}: \${{ secrets.${name} }} }`)
    if (value.trim() === '') throw new InputError('secret-envs', `the environment variable ${name} (for ${id}) ${empty}`, 'a variable with a value')
    out.push({ id, kind: 'env', env: name, value })
  }

  const fileAccepted = `one id=path per line, the path of a file outside the build context (e.g. written to $RUNNER_TEMP by an earlier step); ${ID_ACCEPTED}`
  for (const [i, line] of parseLines(get('secret-files')).entries()) {
    const { id, rest } = splitPair('secret-files', line, i + 1, fileAccepted)
    seen('secret-files', id)
    if (rest.trim() === '') throw new InputError('secret-files', `the path for ${id} is empty`, fileAccepted)
    out.push({ id, kind: 'file', file: path.resolve(workspace, rest.trim()) })
  }
  return out
}
