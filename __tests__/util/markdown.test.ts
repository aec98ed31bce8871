import { cell, code, fenced, text } from '../../src/util/markdown.js'

describe('code', () => {
  it.each([
    ['plain', 'src/Api/Api.csproj', '`src/Api/Api.csproj`'],
    ['a backtick inside', 'a`b', '``a`b``'],
    ['backticks at the ends', '`x`', '`` `x` ``'],
    ['a table pipe', 'a|b', '`a\\|b`'],
    ['a newline', 'a\nb', '`a b`']
  ])('%s', (_l, input, want) => {
    expect(code(input)).toBe(want)
  })

  it('a lone carriage return cannot end the table row it sits in', () => {
    expect(code('a\rb')).toBe('`a b`')
    expect(text('a\r\n\rb')).toBe('a b')
  })

  it('no backtick run inside can close the span', () => {
    const s = 'x ``` y ` z'
    const out = code(s)
    const fence = /^`+/.exec(out)?.[0] ?? ''
    expect(fence.length).toBe(4)
    expect(out.slice(fence.length, -fence.length)).not.toContain(fence)
  })
})

describe('text', () => {
  it('escapes HTML, mentions, emphasis and links', () => {
    const out = text('<img src=x> @team **b** [l](http://e) `c`')
    expect(out).not.toMatch(/<img|(?<!\\)@|(?<!\\)\*|(?<!\\)\[|(?<!\\)`/)
    expect(out).toContain('&lt;img src=x&gt;')
  })
})

describe('fenced and cell', () => {
  it('a fence longer than any backtick run in the text', () => {
    expect(fenced('a ``` b')).toBe('````\na ``` b\n````')
    expect(fenced('plain')).toBe('```\nplain\n```')
  })

  it('cell makes pipes and HTML inert', () => {
    expect(cell('a|<b>')).toBe('a\\|&lt;b&gt;')
  })
})
