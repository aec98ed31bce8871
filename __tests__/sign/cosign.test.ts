import { InputError } from '../../src/util/errors.js'
import { checksumProblem } from '../../src/engine/buildxinstall.js'
import { secretValuesToMask } from '../../src/action/secrets.js'
import { checkSigning } from '../../src/sign/run.js'
import { cosignCanSign, cosignUrls, keylessProblem, KEY_ENV, NO_TLOG_SIGNING_CONFIG, parseSignSettings, signArgv, signRefs } from '../../src/sign/cosign.js'

const KEY = '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n'

function inputError(f: () => unknown): InputError {
  try {
    f()
  } catch (e) {
    if (e instanceof InputError) return e
    throw e
  }
  throw new Error('no InputError')
}

describe('parseSignSettings', () => {
  test('off by default; a key without sign: true is an error naming cosign-key', () => {
    expect(parseSignSettings(false, '', '', true, true).enabled).toBe(false)
    expect(inputError(() => parseSignSettings(false, KEY, '', true, true)).message).toMatch(/cosign-key.*sign is not true/)
  })

  test('keyless or with a key; the key text is never quoted in an error', () => {
    expect(parseSignSettings(true, '', '', true, true)).toEqual({ enabled: true, key: '', password: '', tlog: true })
    expect(parseSignSettings(true, `  ${KEY}`, 'pw', false, true)).toEqual({ enabled: true, key: KEY.trim(), password: 'pw', tlog: false })
    const e = inputError(() => parseSignSettings(true, 'hunter2-not-a-key', '', true, true))
    expect(e.message).toContain('cosign-key')
    expect(e.message).not.toContain('hunter2')
    // A public key by mistake.
    expect(inputError(() => parseSignSettings(true, '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----', '', true, true)).message).toContain('not a PEM private key')
  })

  test('nothing pushed, or keyless without the transparency log: an error naming the input', () => {
    expect(inputError(() => parseSignSettings(true, '', '', true, false)).message).toMatch(/sign.*nothing is pushed/)
    expect(inputError(() => parseSignSettings(true, '', '', false, true)).message).toMatch(/transparency-log.*keyless/)
  })
})

test('keyless needs the OIDC token a job gets with id-token: write', () => {
  expect(keylessProblem({})).toMatch(/permissions: id-token: write/)
  expect(keylessProblem({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' })).toMatch(/id-token: write/)
  expect(keylessProblem({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' })).toBeUndefined()
})

test('signRefs: the index and each platform manifest, by digest, in every repository', () => {
  const i = `sha256:${'1'.repeat(64)}`
  const a = `sha256:${'a'.repeat(64)}`
  const b = `sha256:${'b'.repeat(64)}`
  expect(signRefs(['ghcr.io/o/app', 'docker.io/o/app'], i, [a, b])).toEqual([`ghcr.io/o/app@${i}`, `ghcr.io/o/app@${a}`, `ghcr.io/o/app@${b}`, `docker.io/o/app@${i}`, `docker.io/o/app@${a}`, `docker.io/o/app@${b}`])
  // A one-platform job whose pushed digest is the manifest itself signs it once.
  expect(signRefs(['r/app'], a, [a])).toEqual([`r/app@${a}`])
})

test('signArgv: keyless, or the key from the environment (never a file or an argument); the no-log config', () => {
  const refs = [`r/app@sha256:${'1'.repeat(64)}`]
  expect(signArgv({ enabled: true, key: '', password: '', tlog: true }, refs, '')).toEqual(['sign', '--yes', ...refs])
  const withKey = signArgv({ enabled: true, key: KEY, password: 'pw', tlog: false }, refs, '/tmp/sc.json')
  expect(withKey).toEqual(['sign', '--yes', '--key', `env://${KEY_ENV}`, '--signing-config', '/tmp/sc.json', ...refs])
  expect(withKey.join(' ')).not.toContain('SIGSTORE PRIVATE KEY')
  expect(withKey.join(' ')).not.toContain('pw')
  expect(JSON.parse(NO_TLOG_SIGNING_CONFIG)).toEqual({ mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json', rekorTlogConfig: {}, tsaConfig: {} })
})

test('the pinned release: its asset, its checksums file, verified as buildx is', () => {
  const u = cosignUrls('https://mirror.example/cosign/', 'v3.1.1', 'arm64')
  expect(u).toEqual({ asset: 'cosign-linux-arm64', binary: 'https://mirror.example/cosign/v3.1.1/cosign-linux-arm64', checksums: 'https://mirror.example/cosign/v3.1.1/cosign_checksums.txt' })
  const sums = `${'c'.repeat(64)}  cosign-linux-amd64\n${'d'.repeat(64)}  cosign-linux-arm64\n`
  expect(checksumProblem(u.asset, 'd'.repeat(64), sums)).toBeUndefined()
  expect(checksumProblem(u.asset, 'c'.repeat(64), sums)).toMatch(/checksum mismatch/)
})

test('a cosign on PATH is used only if it signs with a signing config (cosign 3)', () => {
  expect(cosignCanSign('Flags:\n      --signing-config string   path to a signing config file')).toBe(true)
  expect(cosignCanSign('Flags:\n      --tlog-upload   whether to upload to the tlog (default true)')).toBe(false)
})

describe('checkSigning: before anything is built', () => {
  const on = { enabled: true, key: '', password: '', tlog: true }
  const saved = { ...process.env }
  afterEach(() => {
    process.env = { ...saved }
  })

  test.each(['pull_request', 'pull_request_target', 'workflow_run', 'issue_comment', ''])('refused on %j (the code built may be a pull request\'s): an error naming sign', (event) => {
    expect(inputError(() => { checkSigning({ ...on, key: KEY }, false, event); }).message).toMatch(/^Input "sign": is true on a .* event, which may build a pull request's code/)
  })

  test('keyless without the OIDC token: an error naming the permission; with it, or with a key, nothing', () => {
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
    expect(() => { checkSigning(on, true, 'push'); }).toThrow(/id-token: write/)
    expect(() => { checkSigning({ ...on, key: KEY }, true, 'push'); }).not.toThrow()
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://token.example'
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 't'
    expect(() => { checkSigning(on, true, 'workflow_dispatch'); }).not.toThrow()
    expect(() => { checkSigning({ ...on, enabled: false }, false, 'pull_request'); }).not.toThrow()
  })
})

test('the key (each line but its armour) and the password are masked from the start', () => {
  const got = secretValuesToMask((n) => ({ 'cosign-key': KEY, 'cosign-password': 'hunter2-pw' })[n] ?? '', {})
  expect(got).toEqual(expect.arrayContaining(['eyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==', 'hunter2-pw']))
  expect(got).not.toContain('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----')
})
