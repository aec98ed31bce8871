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
