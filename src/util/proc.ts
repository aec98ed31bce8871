// Running commands: argv only, never a shell, so no user text is ever parsed as shell code.
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as exec from '@actions/exec'
import { untrustedStream } from './untrusted.js'

export interface ProcResult {
  code: number
  stdout: string
  /** stdout's exact bytes: a manifest's digest is the hash of these, not of a re-encoded string. */
  stdoutBytes: Buffer
  stderr: string
}

export interface ProcOptions {
  /** Stream output into the log as it comes, through the untrusted writer (otherwise it is only captured). */
  stream?: boolean
  cwd?: string
  env?: Record<string, string>
  input?: Buffer
}

/**
 * Git settings every command we start carries: git itself, and buildx, which runs git in the
 * context for its provenance. A folder of the repository laid out like a bare repository is
 * never taken for one (its config could name a command for a lazy fetch), objects are never
 * fetched lazily, the ext transport is off, and no fsmonitor hook runs (defence in depth: a
 * planted config's core.fsmonitor is a command `git status` runs). Configuration from the
 * environment wins over a repository's own. Git reads GIT_CONFIG_COUNT from 2.31 and
 * safe.bareRepository from 2.38: below that, buildx gets no git work at all (git.ts).
 * core.fsmonitor=false: from git 2.36 a boolean; before, a hook path run through the shell, so
 * "false" runs false(1), which exits 1, and git falls back to a full scan: harmless.
 */
export const GIT_SAFETY_ENV: Record<string, string> = {
  GIT_CONFIG_COUNT: '3',
  GIT_CONFIG_KEY_0: 'safe.bareRepository',
  GIT_CONFIG_VALUE_0: 'explicit',
  GIT_CONFIG_KEY_1: 'protocol.ext.allow',
  GIT_CONFIG_VALUE_1: 'never',
  GIT_CONFIG_KEY_2: 'core.fsmonitor',
  GIT_CONFIG_VALUE_2: 'false',
  GIT_NO_LAZY_FETCH: '1'
}

export async function run(cmd: string, args: string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const out: Buffer[] = []
  let stderr = ''
  // A build's log holds whatever the repository's targets print: never read as workflow commands.
  const shown = opts.stream ? untrustedStream() : undefined
  const code = await exec.exec(cmd, args, {
    ignoreReturnCode: true,
    // Always silent: exec would echo the command line, and build args may hold secrets.
    // We stream the output ourselves instead.
    silent: true,
    cwd: opts.cwd,
    // Explicit: the environment this process holds now (DOCKER_CONFIG may have been set by this step).
    env: { ...(opts.env ?? (process.env as Record<string, string>)), ...GIT_SAFETY_ENV },
    input: opts.input,
    listeners: {
      stdout: (b: Buffer) => {
        out.push(b)
        shown?.write(b)
      },
      stderr: (b: Buffer) => {
        stderr += b.toString()
        shown?.write(b)
      }
    }
  }).finally(() => {
    shown?.end()
  })
  // Decoded once, whole: a character split across two chunks stays one character.
  const stdoutBytes = Buffer.concat(out)
  return { code, stdout: stdoutBytes.toString(), stdoutBytes, stderr }
}

/** Is an executable `cmd` on PATH? A file check: spawning `cmd --version` costs ~0.2 s. */
export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK)
      return true
    } catch {
      // not here
    }
  }
  return false
}
