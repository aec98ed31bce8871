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

const hex = (c: string): string => {
  const n = c.charCodeAt(0)
  return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`
}

/**
 * What the runner could read as a workflow command, made inert and still readable: a `::`
 * (a command where a line starts with it) shows its second colon as \x3a, a `##` (the legacy
 * `##[cmd]` form, read anywhere in a line) its second hash as \x23; neither pair survives.
 */
function inert(text: string): string {
  return text.replace(/(?<=:):/g, '\\x3a').replace(/(?<=#)#/g, '\\x23')
}

/**
 * Text from the repository or a tool, made safe to quote in an error or a log: control
 * characters other than tabs and newlines shown as escapes, no workflow-command sequence (see inert), and
 * at most `max` characters (a value can be a whole file).
 */
export function clip(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex -- showing control characters is the point
  const clean = inert(text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, hex))
  return clean.length <= max ? clean : `${clean.slice(0, max)}… (${clean.length - max} more characters)`
}

/**
 * Repository text on one log line: every control character, newlines and carriage returns too,
 * shown as an escape, and no workflow-command sequence (see inert), so a file name can neither
 * start a line nor hold a command the runner reads (::set-output::, ##[set-output]).
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- showing control characters is the point
  return inert(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, hex))
}

/** A value quoted in an error: clipped and with control characters made visible. */
export function quote(value: string, max = 80): string {
  return `"${clip(value, max)}"`
}
