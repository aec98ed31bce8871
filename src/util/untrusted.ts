// The one writer through which text we did not write reaches the step's log: the build's own
// output, the smoke-tested app's, names read from images and repositories. The runner reads
// workflow commands in everything a step prints (`::name::value` where a line starts, after
// whitespace; the legacy `##[name]value` anywhere in a line; lines end at \n and at a bare \r),
// so that text is shown between `::stop-commands::<token>` and `::<token>::`, with a token
// nobody can guess, struck from the text should it appear there, so the runner reads none of it.
// Single values on our own lines go through printable() instead (util/errors).
import { randomUUID } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'

export interface UntrustedStream {
  write(chunk: Buffer | string): void
  /** Shows what is left and closes the block; safe to call twice. */
  end(): void
}

type Sink = (text: string) => void

let sink: Sink = (text) => {
  process.stdout.write(text)
}
/** Open streams: one block spans them all, so one closing cannot resume the runner's reading of another. */
let open = 0
let token = ''
let atLineStart = true

/** Where the writer's text goes (tests); returns the previous sink. */
export function setSink(next: Sink): Sink {
  const before = sink
  sink = next
  return before
}

function emit(text: string): void {
  if (text === '') return
  sink(text)
  atLineStart = text.endsWith('\n')
}

function begin(): void {
  if (open++ > 0) return
  token = randomUUID()
  // The block's first line must start a line of its own, or the runner would not read it.
  emit(`${atLineStart ? '' : '\n'}::stop-commands::${token}\n`)
}

function finish(): void {
  if (--open > 0) return
  // The runner compares the resume token without regard to case; it must start a line.
  emit(`${atLineStart ? '' : '\n'}::${token}::\n`)
}

// A process that exits with a stream still open (an uncaught error) resumes the runner's reading anyway.
process.on('exit', () => {
  if (open > 0) {
    open = 1
    finish()
  }
})

/** Lines longer than this are shown in pieces, keeping a token's length back. */
const MAX_PENDING = 64 * 1024
const KEEP = 64

/** A stream of untrusted text, shown as it comes, a line at a time. */
export function untrustedStream(): UntrustedStream {
  begin()
  const decoder = new StringDecoder('utf8')
  const stopToken = new RegExp(token.replace(/-/g, '\\-'), 'gi')
  let pending = ''
  let closed = false
  return {
    write(chunk) {
      if (closed) return
      pending = (pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).replace(stopToken, '(stop token)')
      const cut = Math.max(pending.lastIndexOf('\n'), pending.lastIndexOf('\r'))
      // Up to a line break (a token holds none), or all but a tail that could begin one.
      const upTo = cut >= 0 ? cut + 1 : pending.length > MAX_PENDING ? pending.length - KEEP : 0
      emit(pending.slice(0, upTo))
      pending = pending.slice(upTo)
    },
    end() {
      if (closed) return
      closed = true
      emit((pending + decoder.end()).replace(stopToken, '(stop token)'))
      pending = ''
      finish()
    }
  }
}

/** A block of untrusted text (several lines, or a line that mixes ours and theirs), shown inert. */
export function showUntrusted(text: string): void {
  const s = untrustedStream()
  try {
    s.write(text.endsWith('\n') ? text : `${text}\n`)
  } finally {
    s.end()
  }
}
