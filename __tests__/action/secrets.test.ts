import { InputError } from '../../src/util/errors.js'
import { thrownBy } from '../helpers.js'
import { parseSecrets, secretValuesToMask } from '../../src/action/secrets.js'
import { parseInputs } from '../../src/action/inputs.js'

const getter =
  (values: Record<string, string>) =>
  (name: string): string =>
    values[name] ?? ''

const parse = (values: Record<string, string>, env: Record<string, string | undefined> = {}) => parseSecrets(getter(values), env, '/ws')
const fail = (values: Record<string, string>, env: Record<string, string | undefined> = {}): InputError => thrownBy(() => parse(values, env), InputError)

describe('secrets, secret-envs, secret-files', () => {
  it('reads id=value lines; values keep their = and ; (NuGet credentials)', () => {
    expect(parse({ secrets: 'CORP_FEED_TOKEN=abc=def\nNuGetPackageSourceCredentials_corp=Username=ci;Password=p@ss' })).toEqual([
      { id: 'CORP_FEED_TOKEN', kind: 'value', value: 'abc=def' },
      { id: 'NuGetPackageSourceCredentials_corp', kind: 'value', value: 'Username=ci;Password=p@ss' }
    ])
  })

  it('reads id=ENV_NAME from the step environment, comma or newline separated', () => {
    expect(parse({ 'secret-envs': 'A=X, B=Y' }, { X: 'x1', Y: 'y1' })).toEqual([
      { id: 'A', kind: 'env', env: 'X', value: 'x1' },
      { id: 'B', kind: 'env', env: 'Y', value: 'y1' }
    ])
  })

  it('resolves secret-files paths from the workspace', () => {
    expect(parse({ 'secret-files': 'VSS=creds/feeds.json\nK=/abs/key' })).toEqual([
      { id: 'VSS', kind: 'file', file: '/ws/creds/feeds.json' },
      { id: 'K', kind: 'file', file: '/abs/key' }
    ])
  })

  it('refuses an id that cannot be an environment variable, and shows neither it nor the value', () => {
    const e = fail({ secrets: 'A=ok\nab+cd/efSECRET=hunter2' })
    expect(e.input).toBe('secrets')
    expect(e.message).toContain('the id of entry 2 is not an environment variable name')
    expect(e.message).not.toMatch(/hunter2|SECRET|ab\+cd/)
  })

  it('takes ids with . and - (NuGet source keys such as corp-feed)', () => {
    expect(parse({ secrets: 'NuGetPackageSourceCredentials_corp-feed.v3=Username=u;Password=p' })[0]?.id).toBe('NuGetPackageSourceCredentials_corp-feed.v3')
  })

  it('refuses a padded token given without an id instead of using most of it as the id', () => {
    const e = fail({ secrets: 'dXNlcjpwYXNzd29yZA==' })
    expect(e.message).toContain('entry 1 has no value after its "="')
    expect(e.message).not.toContain('dXNlcjpwYXNzd29yZA')
  })

  // One "=" of padding: the token minus its "=" looks like an id with an empty value.
  it.each([
    ['secrets', 'A=x\ndXNlcjpwYXNzd29yZDE=', 2],
    ['secrets', 'Z2hwX3NlY3JldHRva2VuMTIzNDU2Nzg5MA==\n', 1],
    ['secret-files', 'dXNlcjpwYXNzd29yZDE=', 1]
  ])('%s: a token with "=" padding and no id is refused by its number, never shown, and masked whole and without its "="', (input, raw, n) => {
    const token = (raw.split('\n').find((l) => l.includes('dXNl') || l.includes('Z2hw')) ?? '').replace(/=+$/, '')
    const e = fail({ [input]: raw })
    expect(e.input).toBe(input)
    expect(e.message).toContain(`entry ${n} `)
    expect(e.message).not.toContain(token.slice(0, 10))
    expect(secretValuesToMask(getter({ [input]: raw }), {})).toContain(token)
  })

  it('secret-envs: a value where the variable name belongs is neither shown nor left unmasked, whether or not it looks like a name', () => {
    for (const [raw, value] of [
      ['A=X, B=ghp_0123456789abcdefABCDEF0123456789abcd', 'ghp_0123456789abcdefABCDEF0123456789abcd'],
      ['A=X\nB=s3cr3t-v@lue/with+chars', 's3cr3t-v@lue/with+chars']
    ] as const) {
      const e = fail({ 'secret-envs': raw }, { X: 'x' })
      expect(e.input).toBe('secret-envs')
      expect(e.message).toContain('entry 2 ')
      expect(e.message).not.toContain(value.slice(0, 8))
      expect(secretValuesToMask(getter({ 'secret-envs': raw }), { X: 'x' })).toContain(value)
    }
  })

  it('no error names an entry by its text: ids and variable names neither', () => {
    const messages = [
      fail({ secrets: 'hunter2token=' }),
      fail({ secrets: 'A=x\nA=y' }),
      fail({ secrets: 'PATH=x' }),
      fail({ 'secret-envs': 'A=hunter2token' }),
      fail({ 'secret-envs': 'A=E' }, { E: '' }),
      fail({ 'secret-files': 'hunter2token=' })
    ].map((e) => e.message)
    for (const m of messages) expect(m).toMatch(/entry \d/)
    expect(messages.join('\n')).not.toMatch(/hunter2token|PATH is/)
  })

  it.each(['nuget-config', 'aot-buildx-nuget-kept', 'NuGet-Config'])('reserves %s, an id of the action\'s own secrets, in every input', (id) => {
    for (const input of ['secrets', 'secret-envs', 'secret-files']) {
      const e = fail({ [input]: `${id}=${input === 'secret-envs' ? 'X' : 'v'}` }, { X: 'x' })
      expect(e.input).toBe(input)
      expect(e.message).toContain("the id of entry 1 is one the action uses for its own secrets (nuget-config, aot-buildx-nuget-kept)")
    }
  })

  it('refuses an entry without = without echoing it (it may be a bare token)', () => {
    const e = fail({ secrets: 'ghp_abcdef' })
    expect(e.message).toContain('is not id=value')
    expect(e.message).not.toContain('ghp_abcdef')
  })

  it('refuses ids the build sets itself and ids given twice across the inputs', () => {
    expect(fail({ secrets: 'PATH=x' }).message).toContain('the id of entry 1 is a variable the build sets itself')
    expect(fail({ secrets: 'DOTNET_ROOT=x' }).message).toContain('sets itself')
    const twice = fail({ secrets: 'A=x', 'secret-envs': 'A=Y' }, { Y: 'y' })
    expect(twice.input).toBe('secret-envs')
    expect(twice.message).toContain('the id of entry 1 is given before')
  })

  it('says an empty secret is what forks get, and an unset variable must be set with env:', () => {
    expect(fail({ secrets: 'A=' }).message).toMatch(/is empty \(GitHub passes no secrets to workflows run for pull requests from forks\)/)
    expect(fail({ 'secret-envs': 'A=NOPE' }).message).toContain('entry 1 names an environment variable that is not set on this step')
    expect(fail({ 'secret-envs': 'A=E' }, { E: '  ' }).message).toContain('is empty')
    expect(fail({ 'secret-envs': 'A=not a name' }).message).toContain('is not an environment variable name')
  })

  it('masks values, their lines, and the password inside NuGet credentials, before any validation', () => {
    const masked = secretValuesToMask(getter({ secrets: 'A=one\nB=Username=ci;Password=s3cret\nbad-id=line1', 'secret-envs': 'C=ENV' }), { ENV: 'multi\nline' })
    expect(masked).toEqual(expect.arrayContaining(['one', 'A=one', 'Username=ci;Password=s3cret', 's3cret', 'line1', 'bad-id=line1', 'multi\nline', 'multi', 'line']))
  })

  it('masks a whole line whose "id" is really a token, and never a bare "=" run', () => {
    const masked = secretValuesToMask(getter({ secrets: 'dXNlcjpwYXNzd29yZA==' }), {})
    expect(masked).toContain('dXNlcjpwYXNzd29yZA==')
    expect(masked.some((m) => /^=+$/.test(m))).toBe(false)
  })

  it('are read in build mode only, and name the inputs a merge ignores', () => {
    const env = { workspace: '/ws', tempDir: '/rt' }
    const build = parseInputs(getter({ project: 'a.csproj', secrets: 'A=x' }), env)
    expect(build.secrets).toEqual([{ id: 'A', kind: 'value', value: 'x' }])
    const merge = parseInputs(getter({ mode: 'merge', tags: 'r/x:1', digests: `sha256:${'a'.repeat(64)}`, secrets: 'A=x' }), env)
    expect(merge.secrets).toEqual([])
    expect(merge.ignoredInputs).toContain('secrets')
  })
})
