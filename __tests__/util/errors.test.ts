import { jest } from '@jest/globals'
import * as core from '@actions/core'
import { clip, printable } from '../../src/util/errors.js'
import { liveCommands, readAsRunner } from '../runnerlog.js'
import { HOSTILE, HOSTILE_LINES, MARK } from './hostile.js'

describe('printable', () => {
  it('escapes newlines and every other control character, and breaks up :: and ##, so a repository name cannot start or hold a workflow command', () => {
    const line = printable('src/App\n::error::pwned\r\t\u0007\u0085\u2028##[x].csproj')
    expect(line).toBe('src/App\\x0a:\\x3aerror:\\x3apwned\\x0d\\x09\\x07\\x85\\u2028#\\x23[x].csproj')
    expect(line.split('\n')).toHaveLength(1)
  })

  it('leaves ordinary paths alone', () => {
    expect(printable('src/Shop.Api/Shop.Api.csproj')).toBe('src/Shop.Api/Shop.Api.csproj')
  })

  it('read as the runner reads a line: no hostile value survives, at the start of a line, after white space or inside one', () => {
    for (const value of [...HOSTILE_LINES, HOSTILE, `::${MARK}`, `:${MARK}`]) {
      const p = printable(value)
      const lines = `${p}\n  ${p}\n\u00a0${p}: a message\nsrc/${p}/x.csproj: changed (${p})\n`
      expect(liveCommands(lines)).toEqual([])
      expect(readAsRunner(lines).shown.join('\n')).toContain(`src/${p}/x.csproj`)
    }
  })
})

describe('clip', () => {
  it('keeps newlines (for multi-line errors), but no line of the clipped text holds a command', () => {
    const text = clip(HOSTILE, 10_000)
    expect(text.split('\n').length).toBeGreaterThan(5)
    expect(liveCommands(`${text}\n  ${text.split('\n').join('\n  ')}\n`)).toEqual([])
    expect(text).toContain(`set-output name=x:\\x3a${MARK}`)
  })
})

describe("@actions/core's own commands with hostile text (what the writer relies on)", () => {
  let out = ''
  beforeEach(() => {
    out = ''
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
      return true
    })
  })
  afterEach(() => {
    jest.restoreAllMocks()
  })

  it('warning, error, notice and group carry any text as the one command they are: newlines escaped, :: and ##[ left in the value', () => {
    core.warning(HOSTILE)
    core.error(HOSTILE)
    core.notice(HOSTILE)
    core.startGroup(HOSTILE)
    const commands = readAsRunner(out).commands
    expect(commands.map((c) => c.name)).toEqual(['warning', 'error', 'notice', 'group'])
    for (const c of commands) expect(c.value).toContain(`::set-output name=x::${MARK}`)
  })

  it('info writes the text as it is: hostile text must not reach it unescaped', () => {
    core.info(HOSTILE)
    expect(liveCommands(out).length).toBeGreaterThan(3)
    out = ''
    core.info(`Project: ${printable(HOSTILE)}`)
    expect(liveCommands(out)).toEqual([])
  })
})
