// What a build's cache import and export did wrong, read from buildx's plain progress log. With
// ignore-error=true BuildKit still prints the export's error (`#7 ERROR: ...`) and the build
// succeeds; a failed cache import never fails a build. Either way the user gets one warning
// that says what was not saved or read, and why. Pure.

export interface CacheFault {
  kind: 'export' | 'import'
  /** Where: "GitHub Actions Cache", "registry", "gha", an image reference, ... */
  target: string
  /** BuildKit's error: its first line, and Azure's error code where one follows. */
  error: string
  /** Layers the export uploaded before the error (BuildKit marks the layer that failed "done" too). */
  layersWritten: number
}

const EXPORT = /^exporting (?:cache to (.+)|to (GitHub Actions Cache))$/
const IMPORT = /^importing cache manifest from (.+)$/

/** Signed URLs carry their signature in the query: never repeated. */
function unsigned(text: string): string {
  return text.replace(/(https?:\/\/[^\s?]+)\?\S*/g, '$1')
}

export function cacheFaults(log: string): CacheFault[] {
  const lines = log.split(/\r?\n/)
  const names = new Map<string, string>()
  const written = new Map<string, Set<string>>()
  const faults: CacheFault[] = []
  for (let i = 0; i < lines.length; i++) {
    const m = /^#(\d+) (.*)$/.exec(lines[i] ?? '')
    if (m === null) continue
    const [, id = '', rest = ''] = m
    if (!names.has(id)) {
      names.set(id, rest)
      continue
    }
    const layer = /^writing layer (sha256:[0-9a-f]+)(?: [\d.]+s)? done$/.exec(rest)
    if (layer !== null) {
      written.set(id, (written.get(id) ?? new Set<string>()).add(layer[1] ?? ''))
      continue
    }
    const err = /^ERROR: (.*)$/.exec(rest)
    if (err === null) continue
    const name = names.get(id) ?? ''
    const exp = EXPORT.exec(name)
    const imp = IMPORT.exec(name)
    if (exp === null && imp === null) continue
    // A multi-line error (Azure's) continues until the next vertex line or a section rule.
    let code = ''
    for (let j = i + 1; j < lines.length && !/^(#\d+ |------$)/.test(lines[j] ?? ''); j++) {
      const c = /^ERROR CODE: (\S+)/.exec(lines[j] ?? '')
      if (c !== null) code = c[1] ?? ''
    }
    const first = unsigned(err[1] ?? '').trim()
    faults.push({
      kind: exp !== null ? 'export' : 'import',
      target: exp !== null ? (exp[1] ?? exp[2] ?? '') : (imp?.[1] ?? ''),
      error: code !== '' && !first.includes(code) ? `${first} (${code})` : first,
      layersWritten: Math.max(0, (written.get(id)?.size ?? 0) - (/^error writing layer blob\b/.test(first) ? 1 : 0))
    })
  }
  return faults
}

/** Why, in the user's terms: the causes GitHub's cache service has, by what BuildKit reports. */
export function cacheFaultReason(f: CacheFault): string {
  const e = f.error
  if (/resource_exhausted|too many requests|\b429\b/i.test(e)) {
    return "the cache service refused the uploads with 429 Too Many Requests (GitHub allows 200 cache-entry uploads a minute per repository; a wide matrix that saves at once reaches it) and BuildKit gave up after retrying"
  }
  if (/insufficient usage|quota/i.test(e)) return "the repository's cache storage is used up"
  if (/failed to reserve cache|write denied/i.test(e)) {
    return "the cache service refused to create an entry: this run's cache token can only read (GitHub gives read-only cache tokens to pull_request_target, issue_comment and fork workflow_run runs)"
  }
  if (/not_found|BlobNotFound|\b404\b/i.test(e)) {
    return f.kind === 'export'
      ? 'an entry was evicted while BuildKit wrote it (GitHub evicts the least recently used entries when a repository is past its 10 GB)'
      : 'an entry was evicted between its lookup and its download (GitHub evicts the least recently used entries when a repository is past its 10 GB)'
  }
  if (/maximum timeout reached/i.test(e)) return 'the cache service did not answer before the timeout'
  return 'the cache service or its storage refused the request'
}

/** The one warning for a fault: what was not saved (or read), why, and what the next run gets. */
export function cacheFaultWarning(f: CacheFault): string {
  const why = `${cacheFaultReason(f)} (BuildKit: ${f.error})`
  if (f.kind === 'import') {
    return `The build cache was not read from ${f.target}: ${why}. The build ran without it (steps the builder held were still cached), and this run's export saves a fresh cache.`
  }
  const layers = f.layersWritten === 1 ? '1 layer was' : `${f.layersWritten} layers were`
  return (
    `The build cache was not saved to ${f.target}: ${why}. The images are not affected. ` +
    `${f.layersWritten > 0 ? `${layers} uploaded before the error, but not` : 'Nothing was uploaded, not even'} the cache index that names them, so the next run reads the cache saved before this run (if any) and builds again what changed since.`
  )
}
