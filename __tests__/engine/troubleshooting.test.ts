// TROUBLESHOOTING.md lists every failure the action recognises, word for word: change a rule's
// cause or fix and this fails until the page says the same.
import * as fs from 'node:fs'
import { ENGINE_ADVICE, RULES } from '../../src/engine/diagnose.js'
import { BASELINE_ADVICE } from '../../src/image/registry.js'

const page = fs.readFileSync(new URL('../../TROUBLESHOOTING.md', import.meta.url), 'utf8')

describe('TROUBLESHOOTING.md', () => {
  it.each(RULES.map((r) => [r.re.source, r]))('explains the rule %s with its cause and fix', (_name, r) => {
    expect(page).toContain(`- Cause: ${r.cause}`)
    expect(page).toContain(`- Fix: ${r.fix}`)
  })

  it.each(Object.entries(ENGINE_ADVICE))('gives the advice for %s', (_name, advice) => {
    expect(page).toContain(`- Fix: ${advice}`)
  })

  it.each(Object.entries(BASELINE_ADVICE))('gives the baseline advice for %s', (_name, advice) => {
    expect(page).toContain(`- Fix: ${advice}`)
  })

  it('has one entry per rule and per piece of advice, no stale ones', () => {
    expect(page.match(/^- Fix: /gm)?.length).toBe(RULES.length + Object.keys(ENGINE_ADVICE).length + Object.keys(BASELINE_ADVICE).length)
  })
})
