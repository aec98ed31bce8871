// run() with stream: true relays a command's output live: what a repository's build prints must
// reach the log as text, never as a workflow command, even when the command fails or never starts.
import { jest } from '@jest/globals'
import { run } from '../../src/util/proc.js'
import { liveCommands, readAsRunner } from '../runnerlog.js'
import { HOSTILE, MARK } from './hostile.js'

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

describe('run(): streamed output, read as the runner reads a step', () => {
  test('stdout and stderr of a failing command: no command survives, the text is shown', async () => {
    const script = `process.stdout.write(${JSON.stringify(HOSTILE)}); process.stderr.write(${JSON.stringify(`\n::set-output name=err::${MARK}\r##[save-state name=s;]${MARK}`)}); process.exit(3)`
    const r = await run(process.execPath, ['-e', script], { stream: true })
    expect(r.code).toBe(3)
    expect(r.stdout).toBe(HOSTILE)
    process.stdout.write('::warning::ours\n')
    expect(liveCommands(out).map((c) => c.line)).toEqual(['::warning::ours'])
    const shown = readAsRunner(out).shown.join('\n')
    expect(shown).toContain(`::set-output name=x::${MARK}`)
    expect(shown).toContain(`##[save-state name=s;]${MARK}`)
  })

  test('a command that cannot start leaves the runner reading commands again', async () => {
    await expect(run('/nonexistent/aot-buildx-no-such-tool', [], { stream: true })).rejects.toThrow()
    process.stdout.write('::warning::ours\n')
    expect(liveCommands(out).map((c) => c.line)).toEqual(['::warning::ours'])
    expect(readAsRunner(out).stoppedAtEnd).toBeUndefined()
  })
})
