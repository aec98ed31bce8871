// Prints the timeline of one `docker buildx build --progress rawjson` log: start, end and
// duration (seconds from the first vertex) of every step that ran (cached steps left out).
// Usage: node bench/variants/steps.mjs LOG
import fs from 'node:fs'

const text = fs.readFileSync(process.argv[2], 'utf8')
// rawjson is a stream of pretty-printed JSON objects; buildx may end it with plain text.
const objects = []
let depth = 0
let start = -1
let inString = false
for (let i = 0; i < text.length; i++) {
  const c = text[i]
  if (inString) {
    if (c === '\\') i++
    else if (c === '"') inString = false
    continue
  }
  if (c === '"' && depth > 0) inString = true
  else if (c === '{') {
    if (depth === 0) start = i
    depth++
  } else if (c === '}' && depth > 0 && --depth === 0) objects.push(JSON.parse(text.slice(start, i + 1)))
}
const vertexes = new Map()
for (const o of objects) for (const v of o.vertexes ?? []) vertexes.set(v.digest, { ...vertexes.get(v.digest), ...v })
const all = [...vertexes.values()].filter((v) => v.started)
const t0 = Math.min(...all.map((v) => Date.parse(v.started)))
const rows = all
  .filter((v) => v.completed && !v.cached)
  .map((v) => ({ from: (Date.parse(v.started) - t0) / 1000, to: (Date.parse(v.completed) - t0) / 1000, name: v.name }))
  .filter((r) => r.to - r.from >= 0.3)
  .sort((a, b) => a.from - b.from)
for (const r of rows) console.log(`${r.from.toFixed(1).padStart(6)} ${r.to.toFixed(1).padStart(6)} ${(r.to - r.from).toFixed(1).padStart(6)}  ${r.name.slice(0, 100)}`)
