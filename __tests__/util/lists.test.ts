import { parseLines, parseList, splitCsv } from '../../src/util/lists.js'

describe('parseList and parseLines', () => {
  it('split on newlines and commas, or newlines only', () => {
    expect(parseList(' a, b\n\nc ')).toEqual(['a', 'b', 'c'])
    expect(parseLines(' a=1,2\r\n\nb ')).toEqual(['a=1,2', 'b'])
  })
})

describe('splitCsv reads a record as Go encoding/csv does (buildx --driver-opt)', () => {
  it('splits on commas; quoted fields keep commas and "" is a quote', () => {
    expect(splitCsv('a=1')).toEqual(['a=1'])
    expect(splitCsv('a=1,b=2')).toEqual(['a=1', 'b=2'])
    expect(splitCsv('"a=1,2",b=3')).toEqual(['a=1,2', 'b=3'])
    expect(splitCsv('"a=say ""hi"""')).toEqual(['a=say "hi"'])
    expect(splitCsv('a=1,')).toEqual(['a=1', ''])
    expect(splitCsv('')).toEqual([''])
  })

  it('refuses what Go refuses: a bare quote, an unclosed quote, text after a closing quote', () => {
    expect(splitCsv('a="1"')).toBeUndefined()
    expect(splitCsv('"a=1')).toBeUndefined()
    expect(splitCsv('"a=1"x,b=2')).toBeUndefined()
  })
})
