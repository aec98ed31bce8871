/** An invalid input: the message names the input, what was wrong and what is accepted. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    problem: string,
    accepted: string
  ) {
    super(`Input "${input}": ${problem}. Accepted: ${accepted}.`)
    this.name = 'InputError'
  }
}

/** A problem with the .NET project that the user must fix in the project itself. */
export class ProjectError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProjectError'
  }
}

/** A failure of the build engine or its setup, with the cause and fix when we recognise it. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BuildError'
  }
}

/**
 * Text from the repository or a tool, made safe to quote in an error or a log: control
 * characters shown as escapes, and at most `max` characters (a value can be a whole file).
 */
export function clip(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex -- showing control characters is the point
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return clean.length <= max ? clean : `${clean.slice(0, max)}… (${clean.length - max} more characters)`
}

/**
 * Repository text on one log line: every control character, newlines too, shown as an escape,
 * so a file name cannot start a line the runner reads as a workflow command (::error:: ...).
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- showing control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** A value quoted in an error: clipped and with control characters made visible. */
export function quote(value: string, max = 80): string {
  return `"${clip(value, max)}"`
}
