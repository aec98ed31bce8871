// Path helpers: the one containment check every caller uses.
import * as path from 'node:path'

/** Is p the folder root or inside it? Lexical: resolve symlinks first where they matter (files.ts). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

/** A platform path in the forward-slash form Dockerfiles, MSBuild logs and reports use. */
export function toPosix(p: string): string {
  return p.split(path.sep).join('/')
}
