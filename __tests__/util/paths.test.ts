import { isInside, toPosix } from '../../src/util/paths.js'

describe('isInside: the one containment check', () => {
  it.each([
    ['/ws', '/ws', true],
    ['/ws', '/ws/a/b', true],
    ['/ws', '/ws/..cache/Dockerfile.aot', true],
    ['/ws', '/ws2/a', false],
    ['/ws', '/', false],
    ['/ws', '/ws/../etc', false]
  ])('%s contains %s: %s', (r, p, want) => {
    expect(isInside(r, p)).toBe(want)
  })
})

describe('toPosix', () => {
  it('keeps forward slashes', () => {
    expect(toPosix('a/b/c')).toBe('a/b/c')
  })
})
