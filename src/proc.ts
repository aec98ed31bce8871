// Running commands: argv only, never a shell, so no user text is ever parsed as shell code.
import * as exec from '@actions/exec'

export interface ProcResult {
  code: number
  stdout: string
  stderr: string
}

export interface ProcOptions {
  /** Stream output into the log as it comes (otherwise it is only captured). */
  stream?: boolean
  cwd?: string
  env?: Record<string, string>
  input?: Buffer
}

export async function run(cmd: string, args: string[], opts: ProcOptions = {}): Promise<ProcResult> {
  let stdout = ''
  let stderr = ''
  const code = await exec.exec(cmd, args, {
    ignoreReturnCode: true,
    // Always silent: exec would echo the command line, and build args may hold secrets.
    // We stream the output ourselves instead.
    silent: true,
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    listeners: {
      stdout: (b: Buffer) => {
        stdout += b.toString()
        if (opts.stream) process.stdout.write(b)
      },
      stderr: (b: Buffer) => {
        stderr += b.toString()
        if (opts.stream) process.stdout.write(b)
      }
    }
  })
  return { code, stdout, stderr }
}

/** Is `cmd` on PATH and runnable? */
export async function available(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await run(cmd, args)).code === 0
  } catch {
    return false
  }
}
