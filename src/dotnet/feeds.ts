// Local package sources: folders a NuGet.config names as <packageSources>, which restore
// reads like any other input. Pure: the caller passes the config's text in.
import * as path from 'node:path'
import { XMLParser } from 'fast-xml-parser'

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false, isArray: (name) => ['add', 'remove', 'clear'].includes(name) })

interface SourceEntry {
  '@_key'?: string
  '@_value'?: string
}

interface ConfigXml {
  configuration?: { packageSources?: { add?: SourceEntry[]; remove?: SourceEntry[]; clear?: unknown[] } | string }
}

export interface LocalSources {
  /** Absolute folders (or files) the sources name. */
  folders: string[]
  /** Values that name a local path through an environment variable: not resolvable here. */
  unresolved: string[]
}

/**
 * The local folders a NuGet.config's package sources name. A value that is not a URL is a
 * path, relative to the config's own folder (NuGet's rule), with '\' read as '/'. `<clear />`
 * drops only what the outer configs added, which this file does not know: every local source
 * this file adds counts. `%VAR%` values are reported, not guessed.
 */
export function localPackageSources(configFile: string, text: string): LocalSources {
  let doc: ConfigXml
  try {
    doc = xml.parse(text) as ConfigXml
  } catch {
    // A config NuGet cannot read fails the restore with NuGet's own message.
    return { folders: [], unresolved: [] }
  }
  const sources = doc.configuration?.packageSources
  if (sources === undefined || typeof sources === 'string') return { folders: [], unresolved: [] }
  const removed = new Set((sources.remove ?? []).map((r) => (r['@_key'] ?? '').toLowerCase()))
  const folders: string[] = []
  const unresolved: string[] = []
  for (const add of sources.add ?? []) {
    const value = (add['@_value'] ?? '').trim()
    if (value === '' || removed.has((add['@_key'] ?? '').toLowerCase())) continue
    // http(s), file:// and other URLs: file:// folders are absolute, like any absolute path.
    if (/^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(value) && !/^file:\/\//i.test(value)) continue
    if (value.includes('%') || value.includes('$(')) {
      unresolved.push(value)
      continue
    }
    const p = value.replace(/^file:\/\//i, '').replace(/\\/g, '/')
    // A Windows drive path is no folder a Linux build can reach.
    if (/^[A-Za-z]:\//.test(p)) {
      unresolved.push(value)
      continue
    }
    folders.push(path.resolve(path.dirname(configFile), p))
  }
  return { folders, unresolved }
}
