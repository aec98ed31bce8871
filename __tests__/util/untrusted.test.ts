import { setSink, showUntrusted, untrustedStream } from '../../src/util/untrusted.js'
import { liveCommands, readAsRunner } from '../runnerlog.js'
import { HOSTILE, MARK } from './hostile.js'

let out = ''
let before: (text: string) => void
beforeEach(() => {
  out = ''
  before = setSink((t) => {
    out += t
  })
})
afterEach(() => {
  setSink(before)
})

/** Our own command right after the writer's text: the runner must read it (the block was closed). */
const OURS = '::warning::ours\n'

function expectInertAndShown(shownText: string): void {
  const all = out + OURS
  expect(liveCommands(all).map((c) => c.line)).toEqual(['::warning::ours'])
  expect(readAsRunner(all).stoppedAtEnd).toBeUndefined()
  // Every line of the text is still there for the user, as the runner splits it.
  const shown = readAsRunner(all).shown.join('\n')
  for (const line of shownText.split(/\r\n|\r|\n/)) expect(shown).toContain(line)
}

describe('the runner-rules parser the tests read with', () => {
  test('finds every form in the hostile text: at a line start, after white space, ##[ inside a line, after a bare CR, and honours a stop token', () => {
    const r = readAsRunner(HOSTILE)
    expect(r.commands.map((c) => c.name)).toEqual(['set-output', 'add-mask', 'save-state', 'set-output', 'notice', 'stop-commands', 'guessed-token', 'warning', 'debug'])
    // The ::error:: inside the guessed token's block is shown, not read.
    expect(r.shown).toContain(`::error::${MARK} while the guessed token is in force`)
  })
})

describe('the untrusted writer, read as the runner reads a step', () => {
  test('a block of hostile text: no command survives, every line is shown', () => {
    showUntrusted(HOSTILE)
    expect(out).toContain(MARK)
    expectInertAndShown(HOSTILE)
  })

  test('a stream cut at every byte (multi-byte characters too) shows the text unchanged', () => {
    const text = `é€ ${HOSTILE} ✓`
    const s = untrustedStream()
    for (const b of Buffer.from(text)) s.write(Buffer.from([b]))
    s.end()
    s.end()
    expectInertAndShown(text)
    expect(readAsRunner(out).shown.join('\n')).toContain('é€ ::set-output')
  })

  test('the token, once printed in the text in any case, is struck: it cannot resume the runner early', () => {
    const s = untrustedStream()
    const token = /^::stop-commands::(.+)$/m.exec(out)?.[1] ?? ''
    expect(token).toMatch(/^[0-9a-f-]{36}$/)
    s.write(`::${token}::\n::set-output name=a::${MARK}\n::${token.toUpperCase()}::\n::add-mask::${MARK}\n`)
    s.write(`::${token.slice(0, 10)}`)
    s.write(`${token.slice(10)}::\n::save-state name=b::${MARK}\n`)
    s.end()
    expectInertAndShown(`::set-output name=a::${MARK}`)
    expect(out.split(token)).toHaveLength(3)
  })

  test('two streams at once share one block: the first to end does not resume the runner for the other', () => {
    const a = untrustedStream()
    const b = untrustedStream()
    a.write('a partial line, ')
    b.write(`b: ::set-output name=b::${MARK}\n`)
    a.end()
    b.write(`::set-output name=c::${MARK}\n##[add-mask]${MARK}`)
    b.end()
    expectInertAndShown(`::set-output name=c::${MARK}`)
    expect(out.match(/::stop-commands::/g)).toHaveLength(1)
  })

  test('a line longer than the buffer is shown in pieces, still inside the block', () => {
    const long = `::set-output name=x::${'y'.repeat(200_000)}${MARK}`
    showUntrusted(long)
    expectInertAndShown(long)
  })
})
