// List inputs, split the way Docker's actions split them. The one splitter every input uses.

/** Newlines or commas, trimmed, blanks dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(/[\r\n,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** Newlines only, so values may hold commas (labels, build args). */
export function parseLines(raw: string): string[] {
  return raw
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/**
 * One CSV record split as Go's encoding/csv reads it (buildx reads each --driver-opt so):
 * fields may be "quoted", with "" for a quote inside. undefined when the quotes are malformed.
 */
export function splitCsv(line: string): string[] | undefined {
  const fields: string[] = []
  let i = 0
  for (;;) {
    if (line[i] === '"') {
      let field = ''
      i++
      for (;;) {
        const q = line.indexOf('"', i)
        if (q < 0) return undefined
        field += line.slice(i, q)
        if (line[q + 1] === '"') {
          field += '"'
          i = q + 2
          continue
        }
        i = q + 1
        break
      }
      if (i < line.length && line[i] !== ',') return undefined
      fields.push(field)
    } else {
      const comma = line.indexOf(',', i)
      const field = line.slice(i, comma < 0 ? line.length : comma)
      if (field.includes('"')) return undefined
      fields.push(field)
      i = comma < 0 ? line.length : comma
    }
    if (i >= line.length) return fields
    i++ // past the comma
  }
}
