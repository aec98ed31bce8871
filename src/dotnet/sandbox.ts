// The evaluation sandbox: the repository's MSBuild evaluation runs in a throwaway container of
// the SDK image, never on the runner. Pure: the `docker run` argv, the driver script it runs,
// the request lines we send and the JSON lines we accept back.
import { defaultImages, majorImages } from '../dockerfile/images.js'
import { ProjectError } from '../util/errors.js'
import { EVALUATOR_CS, EVALUATOR_PROJ } from './evaluator.js'

/** The container's writable place (tmpfs, with /tmp): HOME, TMPDIR and the driver's work files. */
export const SANDBOX_DIR = '/aot-eval'

/**
 * The newest .NET major the action knows: when `sdk-image` is empty, its default SDK image
 * evaluates (the project's major is what the evaluation tells us; this SDK evaluates every
 * supported target framework).
 */
export const EVALUATION_DOTNET_MAJOR = 10

/**
 * The SDK that evaluates must know the project's target framework (an older one fails with
 * NETSDK1045), which only the evaluation tells. So the texts of the project files and the
 * props above them are read for `net<N>.0` as a hint: a major newer than the default, that the
 * table knows, picks that major's SDK image. A hint only chooses which SDK evaluates; no fact
 * about the project comes from it.
 */
export function frameworkHint(texts: string[]): number | undefined {
  let top: number | undefined
  for (const t of texts) {
    for (const m of t.matchAll(/\bnet(\d{1,2})\.0\b/gi)) {
      const major = Number(m[1])
      if (top === undefined || major > top) top = major
    }
  }
  return top
}

export function evaluationImage(sdkImageInput: string, hintMajor?: number): string {
  if (sdkImageInput !== '') return sdkImageInput
  const major = hintMajor !== undefined && hintMajor > EVALUATION_DOTNET_MAJOR && majorImages(hintMajor) !== undefined ? hintMajor : EVALUATION_DOTNET_MAJOR
  return defaultImages(major, '', 'chiseled').sdk
}

/**
 * The evaluation's whole environment: locations and switches, no value of the runner's. The
 * image's own ENV (PATH, DOTNET_RUNNING_IN_CONTAINER, ...) stays, as in the build.
 */
export const SANDBOX_ENV: Record<string, string> = {
  HOME: `${SANDBOX_DIR}/home`,
  DOTNET_CLI_HOME: `${SANDBOX_DIR}/home`,
  TMPDIR: `${SANDBOX_DIR}/tmp`,
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_NOLOGO: '1',
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
  DOTNET_GENERATE_ASPNET_CERTIFICATE: 'false',
  MSBUILDDISABLENODEREUSE: '1'
}

export interface SandboxLimits {
  cpus: number
  /** Bytes of memory (and of memory plus swap: no swap). */
  memory: number
  pids: number
  /** Evaluations the driver runs at once. */
  jobs: number
}

/**
 * All the cores (the evaluation is what runs now), half the memory up to 4 GiB, room for a few
 * MSBuild processes' threads; at least 4 evaluations at once, as discovery ran them on the
 * runner (each spends part of its time starting up and reading files).
 */
export function sandboxLimits(cores: number, totalMemory: number): SandboxLimits {
  const cpus = Math.max(1, cores)
  const memory = Math.max(1024 ** 3, Math.min(4 * 1024 ** 3, Math.floor(totalMemory / 2)))
  return { cpus, memory, pids: 1024, jobs: Math.max(4, cpus) }
}

export interface SandboxSpec {
  image: string
  /** Absolute; mounted read-only at the same path, so the paths MSBuild reports need no mapping. */
  workspace: string
  /** The container's name, so a stuck evaluation can be removed by name. */
  name: string
  /** The runner's user: the container reads the checkout as its owner does, and no more. */
  user: string
  limits: SandboxLimits
  /**
   * Folders of the workspace the evaluation must not read, each covered by an empty read-only
   * tmpfs: the checkouts' `.git` (actions/checkout keeps the job's token in .git/config).
   */
  hidden?: string[]
}

/** One field of docker's CSV --mount syntax, quoted when the text needs it. */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * argv of `docker run` for the sandbox: no network, read-only root and workspace, a tmpfs
 * for HOME/TMPDIR, no capability, no privilege gain, limits on memory, processes and CPU,
 * only the variables of SANDBOX_ENV, no log kept by the engine, removed when it exits. The
 * engine's own `docker run`, not the builder: the same on every buildx driver.
 */
export function sandboxArgv(s: SandboxSpec): string[] {
  if (!s.workspace.startsWith('/') || s.workspace === '/' || s.workspace === SANDBOX_DIR || s.workspace.startsWith(`${SANDBOX_DIR}/`)) {
    throw new ProjectError(`the workspace ${JSON.stringify(s.workspace)} cannot be mounted into the evaluation sandbox (an absolute folder other than / and ${SANDBOX_DIR} is needed)`)
  }
  const argv = [
    'run',
    '--rm',
    '--interactive',
    '--name',
    s.name,
    '--label',
    'aot-buildx.evaluation=true',
    '--pull',
    'missing',
    '--network',
    'none',
    '--read-only',
    '--tmpfs',
    `${SANDBOX_DIR}:rw,nosuid,nodev,noexec,size=512m,mode=1777`,
    // The runtime keeps its named mutexes under /tmp/.dotnet whatever TMPDIR says.
    '--tmpfs',
    '/tmp:rw,nosuid,nodev,noexec,size=64m,mode=1777',
    '--mount',
    ['type=bind', `source=${s.workspace}`, `target=${s.workspace}`, 'readonly'].map(csvField).join(','),
    ...(s.hidden ?? []).flatMap((d) => ['--mount', ['type=tmpfs', `destination=${d}`, 'tmpfs-size=4096', 'readonly'].map(csvField).join(',')]),
    '--user',
    s.user,
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    String(s.limits.memory),
    '--memory-swap',
    String(s.limits.memory),
    '--pids-limit',
    String(s.limits.pids),
    '--cpus',
    String(s.limits.cpus),
    '--log-driver',
    'none',
    '--workdir',
    SANDBOX_DIR
  ]
  for (const [k, v] of Object.entries({ ...SANDBOX_ENV, AOT_EVAL_JOBS: String(s.limits.jobs) })) argv.push('--env', `${k}=${v}`)
  argv.push('--entrypoint', 'bash', s.image, '-c', DRIVER)
  return argv
}

/**
 * The driver, run by bash in the container. Each request line is `ID KIND ARG...` (ARG in
 * base64); it runs `dotnet ARG...`, AOT_EVAL_JOBS at a time, and prints one JSON line per
 * request whose values are digits or base64, so no text from the evaluation can shape the
 * line. KIND p: `out` is dotnet's stdout (the -getProperty/-getItem JSON). KIND i: `out` is
 * each line of the preprocessed project ID.xml that a line of '=' follows (the imports).
 * KIND g: the one ARG is the batch evaluator's request file (evaluator.ts), which it runs in
 * one `dotnet msbuild` (compiling the evaluator the first time); `out` is its JSON lines.
 * `err` is the tail of dotnet's output when it failed. One line is printed at a time (flock);
 * nothing goes to stderr, so docker's stderr holds only docker's own messages.
 */
export const DRIVER = `set -u -f
S=${SANDBOX_DIR}
mkdir -p "$S/home" "$S/tmp" "$S/w" "$S/e" || exit 70
cat >"$S/e/AotEvaluate.cs" <<'AOT_EVALUATOR_CS'
${EVALUATOR_CS}AOT_EVALUATOR_CS
cat >"$S/e/eval.proj" <<'AOT_EVALUATOR_PROJ'
${EVALUATOR_PROJ}AOT_EVALUATOR_PROJ
exec 2>/dev/null
one() {
  local id=$1 kind=$2 a o code
  shift 2
  local args=()
  for a in "$@"; do args+=("$(printf %s "$a" | base64 -d)"); done
  o="$S/w/$id"
  if [ "$kind" = g ]; then
    printf '%s\n' "\${args[0]}" >"$o.req"
    flock "$S/e/.lock" dotnet msbuild "$S/e/eval.proj" -nologo -noAutoResponse -nodeReuse:false -verbosity:quiet -target:AotEvaluate "-property:AotDir=$S/e" "-property:AotRequests=$o.req" "-property:AotOutput=$o.jsonl" >"$o.out" 2>"$o.err" </dev/null
  else
    dotnet "\${args[@]}" >"$o.out" 2>"$o.err" </dev/null
  fi
  code=$?
  if [ "$kind" = g ]; then
    head -c 67108864 "$o.jsonl" >"$o.res" 2>/dev/null
  elif [ "$kind" = i ]; then
    grep -B1 -E '^[[:space:]]*={20,}[[:space:]]*$' "$S/w/$id.xml" >"$o.res" 2>/dev/null
  else
    head -c 67108864 "$o.out" >"$o.res"
  fi
  : >"$o.fail"
  if [ "$code" != 0 ]; then cat "$o.out" "$o.err" | tail -c 16384 >"$o.fail"; fi
  {
    printf '{"id":%s,"code":%s,"out":"' "$id" "$code"
    base64 -w0 <"$o.res"
    printf '","err":"'
    base64 -w0 <"$o.fail"
    printf '"}\\n'
  } >"$o.json"
  flock "$S/w/.lock" cat "$o.json"
  rm -f "$o".*
}
while IFS= read -r line; do
  while [ "$(jobs -rp | wc -l)" -ge "$AOT_EVAL_JOBS" ]; do wait -n; done
  one $line &
done
wait
`

export type RequestKind = 'p' | 'i' | 'g'

/** One request line: the id, the kind and dotnet's argv, each argument in base64. */
export function requestLine(id: number, kind: RequestKind, argv: string[]): string {
  return `${id} ${kind} ${argv.map((a) => Buffer.from(a, 'utf8').toString('base64')).join(' ')}\n`
}

export interface SandboxResult {
  id: number
  code: number
  /** stdout (p) or the import lines (i). */
  out: string
  /** The tail of dotnet's output when it failed; '' otherwise. */
  err: string
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/

/** A response line, or undefined when it is not one the driver prints (nothing else is believed). */
export function parseResponse(line: string): SandboxResult | undefined {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const r = v as Record<string, unknown>
  const { id, code, out, err } = r
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(code) || typeof out !== 'string' || typeof err !== 'string') return undefined
  if (!B64.test(out) || !B64.test(err) || Object.keys(r).length !== 4) return undefined
  return { id: id as number, code: code as number, out: Buffer.from(out, 'base64').toString('utf8'), err: Buffer.from(err, 'base64').toString('utf8') }
}

/**
 * Where a checkout's `.git` may be, for the project paths given: every folder from each
 * project's up to the workspace, and the workspace's own subfolders (a second checkout).
 */
export function gitFolderCandidates(workspace: string, projectPaths: string[], topFolders: string[]): string[] {
  const out = new Set<string>()
  const inside = (d: string): boolean => d === workspace || d.startsWith(`${workspace}/`)
  for (const p of projectPaths) {
    for (let d = p; inside(d); d = d.slice(0, Math.max(d.lastIndexOf('/'), 1))) {
      out.add(`${d}/.git`)
      if (d === workspace) break
    }
  }
  out.add(`${workspace}/.git`)
  for (const t of topFolders) out.add(`${workspace}/${t}/.git`)
  return [...out].sort()
}

/** Where MSBuild's work files go inside the sandbox (the preprocessed project of request `id`). */
export function preprocessPath(id: number): string {
  return `${SANDBOX_DIR}/w/${id}.xml`
}
