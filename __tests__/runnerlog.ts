// The GitHub runner's reading of a step's output, for tests: lines end at \n, \r\n or a bare \r;
// `::name props::value` is a command where a line starts with it (after any whitespace); the
// legacy `##[name props]value` is one anywhere in a line; after `::stop-commands::TOKEN` nothing
// is a command until a line `::TOKEN::` (compared without regard to case). Stricter than the
// runner: any name counts, not only the commands it knows, so a test finds more, never less.

export interface Command {
  name: string
  /** The text after the name, up to the closing :: or ]. */
  props: string
  value: string
  line: string
}

export interface RunnerReading {
  /** Commands the runner would act on, in order (stop-commands and resume lines included). */
  commands: Command[]
  /** Lines shown as text: everything that was not read as a command. */
  shown: string[]
  /** The stop token still in force when the output ended (commands stayed off), or undefined. */
  stoppedAtEnd: string | undefined
}

/** .NET's String.TrimStart: Unicode white space, plus the C1 next-line character JavaScript's \s lacks. */
const LEADING_SPACE = /^[\s\u0085]+/

function parseLine(line: string): Command | undefined {
  const trimmed = line.replace(LEADING_SPACE, '')
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2)
    if (end >= 0) {
      const info = trimmed.slice(2, end)
      const space = info.indexOf(' ')
      const name = space < 0 ? info : info.slice(0, space)
      if (name !== '') return { name: name.toLowerCase(), props: space < 0 ? '' : info.slice(space + 1), value: trimmed.slice(end + 2), line }
    }
  }
  const start = line.indexOf('##[')
  if (start < 0) return undefined
  const close = line.indexOf(']', start)
  if (close < 0) return undefined
  const info = line.slice(start + 3, close)
  const space = info.indexOf(' ')
  const name = space < 0 ? info : info.slice(0, space)
  if (name === '') return undefined
  return { name: name.toLowerCase(), props: space < 0 ? '' : info.slice(space + 1), value: line.slice(close + 1), line }
}

export function readAsRunner(output: string): RunnerReading {
  const commands: Command[] = []
  const shown: string[] = []
  let stopped: string | undefined
  for (const line of output.split(/\r\n|\r|\n/)) {
    const c = parseLine(line)
    if (stopped !== undefined) {
      if (c !== undefined && c.name === stopped.toLowerCase()) {
        commands.push(c)
        stopped = undefined
      } else {
        shown.push(line)
      }
      continue
    }
    if (c === undefined) {
      shown.push(line)
      continue
    }
    commands.push(c)
    if (c.name === 'stop-commands' && c.value !== '') stopped = c.value
  }
  return { commands, shown, stoppedAtEnd: stopped }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * The commands the runner would act on, less the writer's own blocks: a whole line
 * `::stop-commands::<random UUID>` and its whole resume line `::<UUID>::`. What is left
 * survived of the text shown.
 */
export function liveCommands(output: string): Command[] {
  const r = readAsRunner(output)
  const ours = new Set(r.commands.filter((c) => c.name === 'stop-commands' && UUID.test(c.value) && c.line === `::stop-commands::${c.value}`).map((c) => c.value))
  return r.commands.filter((c) => !(c.name === 'stop-commands' && ours.has(c.value) && c.line === `::stop-commands::${c.value}`) && !(ours.has(c.name) && c.line === `::${c.name}::`))
}
