// Text from the repository or a build log, made inert in the Markdown we write (job summary,
// pull-request comment): it may hold backticks, HTML, @mentions, links or table pipes.

/** An inline code span that holds any text literally (no fence it holds can close it). */
export function code(s: string): string {
  const flat = s.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|')
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat === '' ? ' ' : ''
  return `${fence}${pad}${flat}${pad}${fence}`
}

/** Plain Markdown text: every ASCII punctuation character that Markdown or HTML could read is escaped. */
export function text(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+\-.!|~@:]/g, (c) => `\\${c}`)
}

/** A fenced block that the text cannot close: the fence is longer than any backtick run in it. */
export function fenced(s: string): string {
  const longest = Math.max(2, ...[...s.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  return `${fence}\n${s}\n${fence}`
}

/** Our own wording in a table cell or line: pipes and HTML made inert (text from elsewhere goes through code or text). */
export function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Blocks of lines separated by blank lines, empty blocks dropped, with a final newline. */
export function blocks(...parts: string[][]): string {
  return `${parts
    .filter((p) => p.length > 0)
    .map((p) => p.join('\n'))
    .join('\n\n')}\n`
}
