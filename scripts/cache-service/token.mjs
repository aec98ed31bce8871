// Makes an ACTIONS_RUNTIME_TOKEN for the cache service stand-in (server.mjs): a JWT, HS256-signed
// with the state folder's secret, whose `ac` claim lists the run's cache scopes as GitHub's
// tokens do ({Scope, Permission}; 1 read, 2 write, 3 both). The first writable scope is where
// the run saves; lookups search the scopes in the order given.
//
//   node token.mjs STATE_DIR SCOPE[:PERMISSION] ...      (PERMISSION: r, w or rw; default rw)
//   e.g. a pull request: node token.mjs "$STATE" refs/pull/7/merge:rw refs/heads/main:r
import { createHmac } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

const [state, ...scopes] = process.argv.slice(2)
if (!state || scopes.length === 0) {
  console.error('usage: node token.mjs STATE_DIR SCOPE[:r|w|rw] ...')
  process.exit(2)
}
const PERMISSION = { r: 1, w: 2, rw: 3 }
const ac = scopes.map((s) => {
  const m = /^(.+?)(?::(r|w|rw))?$/.exec(s)
  return { Scope: m[1], Permission: PERMISSION[m[2] ?? 'rw'] }
})
const now = Math.floor(Date.now() / 1000)
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const head = `${b64url({ typ: 'JWT', alg: 'HS256' })}.${b64url({ ac: JSON.stringify(ac), nbf: now - 60, iat: now, exp: now + 6 * 3600, iss: 'aot-buildx cache service stand-in' })}`
const sig = createHmac('sha256', fs.readFileSync(path.join(state, 'secret'))).update(head).digest('base64url')
process.stdout.write(`${head}.${sig}\n`)
