import { printable } from '../../src/util/errors.js'

describe('printable', () => {
  it('escapes newlines and every other control character, so a repository name cannot start a workflow-command line', () => {
    const line = printable('src/App\n::error::pwned\r\t\u0007.csproj')
    expect(line).toBe('src/App\\x0a::error::pwned\\x0d\\x09\\x07.csproj')
    expect(line.split('\n')).toHaveLength(1)
  })

  it('leaves ordinary paths alone', () => {
    expect(printable('src/Shop.Api/Shop.Api.csproj')).toBe('src/Shop.Api/Shop.Api.csproj')
  })
})
