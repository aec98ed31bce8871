import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { GENERATED_MARKER } from '../../src/dockerfile/generate.js'
import dockerignoreModule, { type Ignore } from '@balena/dockerignore'
import { admitted, allowList, dockerignorePath, generateDockerignore, ignorePattern, inGitFolder, type DirEntry } from '../../src/dockerfile/ignore.js'
import { at } from '../helpers.js'

// The same matcher the action applies (CommonJS with or without a default export).
const ignore = ((dockerignoreModule as unknown as { default?: () => Ignore }).default ?? (dockerignoreModule as unknown as () => Ignore))

describe('generateDockerignore', () => {
  const text = generateDockerignore()
  const lines = text.split('\n')

  it('starts with the marker', () => {
    expect(at(lines, 0).startsWith(GENERATED_MARKER)).toBe(true)
  })

  it.each(['**/bin/', '**/obj/', '.git/'])('ignores %s', (pattern) => {
    expect(lines).toContain(pattern)
  })
})

describe('the Dockerfile-specific ignore file', () => {
  it('copies the context .dockerignore whole (honoured, never edited), then keeps secrets and package folders out', () => {
    const text = generateDockerignore('# mine\n**/bin/\n!keep.txt\n', ['.nuget/kept'])
    const lines = text.split('\n')
    expect(at(lines, 0).startsWith(GENERATED_MARKER)).toBe(true)
    expect(lines).toEqual(expect.arrayContaining(['# mine', '**/bin/', '!keep.txt', '/.nuget/kept']))
    // The exclusions come last, so no pattern of the repository's can bring them back.
    expect(lines.indexOf('/.nuget/kept')).toBeGreaterThan(lines.indexOf('!keep.txt'))
    expect(lines).not.toContain('**/obj/')
  })

  it('escapes pattern characters in excluded paths', () => {
    expect(ignorePattern('a[1]/b*c?')).toBe('/a\\[1\\]/b\\*c\\?')
  })

  it('turns trailing white space, which Docker trims from each line, into ? so the file still matches', () => {
    expect(ignorePattern('docs/odd name ')).toBe('/docs/odd name?')
  })

  it('escapes a leading ! (Docker would read it, after the slash is stripped, as "bring back")', () => {
    expect(ignorePattern('!secret/kept')).toBe('/\\!secret/kept')
    expect(ignorePattern('a/!b')).toBe('/a/!b')
  })

  it('refuses a path with a newline or other control character, which would split a line', () => {
    expect(() => generateDockerignore(undefined, ['bad\nname'])).toThrow(/control characters/)
    expect(() => generateDockerignore(undefined, [], { paths: ['src/x\r.cs'], project: 'p' })).toThrow(/control characters/)
  })

  it('sits next to the Dockerfile, named after it, where BuildKit looks for it', () => {
    expect(dockerignorePath('/ws/app/Dockerfile.aot')).toBe('/ws/app/Dockerfile.aot.dockerignore')
  })

  it('with an allow-list: ignores everything, then admits each path, then still keeps the exclusions out', () => {
    const text = generateDockerignore('docs/\n', ['.nuget/kept'], { paths: ['src/App', 'src/Shared/a[1].cs'], project: 'src/App/App.csproj' })
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    expect(lines).toEqual(['*', '!/src/App', '!/src/Shared/a\\[1\\].cs', '/.nuget/kept', '.git', '**/.git'])
    expect(text).toContain("less what the context's .dockerignore excludes")
    // The repository's patterns were applied already (admitted()); they are not copied again.
    expect(text).not.toContain('docs/')
  })
})

describe('git folders are never sent, whatever admits them', () => {
  // A checkout keeps the job's token in .git/config: neither an allow-list that names it (the
  // evaluation can name a file through a condition) nor a repository's !.git may admit it.
  const sent = (text: string, p: string): boolean => !ignore().add(text.split('\n')).ignores(p)
  it('the allow-list, the repository copy and the defaults all end with the git folders', () => {
    const only = generateDockerignore(undefined, [], { paths: ['.git/config', 'src/App'], project: 'src/App/App.csproj' })
    const copied = generateDockerignore('**/bin/\n!.git\n!**/.git\n')
    const defaults = generateDockerignore(undefined)
    for (const text of [only, copied, defaults]) {
      expect(sent(text, '.git/config')).toBe(false)
      expect(sent(text, 'src/App/.git/config')).toBe(false)
    }
    expect(sent(only, 'src/App/Program.cs')).toBe(true)
    expect(sent(copied, 'src/App/Program.cs')).toBe(true)
  })
  it('inGitFolder names a path in any git folder, and only those', () => {
    expect(['.git/config', 'a/.git/HEAD', '.git'].map(inGitFolder)).toEqual([true, true, true])
    expect(['.gitignore', 'a/.github/x.yml', 'my.git/x'].map(inGitFolder)).toEqual([false, false, false])
  })
})

describe('admitted: the context .dockerignore applied with Docker rules', () => {
  const files = ['README.md', 'src/README.md', 'docs/ops.md', 'docs/keep.md', 'src/A/bin/x.dll', 'src/A/Program.cs', 'src/A/appsettings.Development.json']

  it('a top-level pattern matches only the top level; a folder takes its files; ! brings one back', () => {
    expect(admitted(files, '# comment\n*.md\ndocs\n!docs/keep.md\n')).toEqual(['src/README.md', 'docs/keep.md', 'src/A/bin/x.dll', 'src/A/Program.cs', 'src/A/appsettings.Development.json'])
  })

  it('no .dockerignore: our defaults (bin/, obj/, Development settings) apply', () => {
    expect(admitted(files, undefined)).toEqual(['README.md', 'src/README.md', 'docs/ops.md', 'docs/keep.md', 'src/A/Program.cs'])
  })

  it("reads '#' as a comment only in the first column, as Docker does", () => {
    expect(admitted(['#x', 'y'], '#x\n')).toEqual(['#x', 'y'])
  })

  it('matches case-sensitively, as Docker does on Linux', () => {
    expect(admitted(['Docs/a.md'], 'docs\n')).toEqual(['Docs/a.md'])
  })
})

describe('allowList: wholly wanted folders collapse, others are listed file by file', () => {
  // A tree as the lister sees it.
  const tree: Record<string, DirEntry[]> = {
    src: [
      { name: 'App', kind: 'dir' },
      { name: 'Other', kind: 'dir' }
    ],
    'src/App': [
      { name: 'App.csproj', kind: 'file' },
      { name: 'Program.cs', kind: 'file' },
      { name: 'README.md', kind: 'file' },
      { name: 'Models', kind: 'dir' }
    ],
    'src/App/Models': [
      { name: 'A.cs', kind: 'file' },
      { name: 'B.cs', kind: 'file' },
      { name: 'Deep', kind: 'dir' }
    ],
    'src/App/Models/Deep': [{ name: 'C.cs', kind: 'file' }],
    'src/Other': [{ name: 'X.cs', kind: 'file' }]
  }
  const list = (rel: string): DirEntry[] => {
    const e = tree[rel]
    if (e === undefined) throw new Error(`not listed: ${rel}`)
    return e
  }

  it('collapses a folder of wanted files, keeps a folder with an unwanted file (README.md) as files', () => {
    const files = ['src/App/App.csproj', 'src/App/Program.cs', 'src/App/Models/A.cs', 'src/App/Models/B.cs', 'src/App/Models/Deep/C.cs', 'Directory.Build.props']
    expect(allowList(files, list)).toEqual(['Directory.Build.props', 'src/App/App.csproj', 'src/App/Models', 'src/App/Program.cs'])
  })

  it('does not collapse a folder whose subfolder holds nothing wanted, or one that cannot be listed', () => {
    const tree2 = (rel: string): DirEntry[] => (rel === 'src/App/Models' ? [...list(rel), { name: 'Empty', kind: 'dir' }] : rel === 'src/App/Models/Deep' ? (() => { throw new Error('EACCES') })() : list(rel))
    expect(allowList(['src/App/Models/A.cs', 'src/App/Models/B.cs', 'src/App/Models/Deep/C.cs'], tree2)).toEqual(['src/App/Models/A.cs', 'src/App/Models/B.cs', 'src/App/Models/Deep/C.cs'])
  })

  it('never collapses through a symlink or other special entry', () => {
    const withLink = (rel: string): DirEntry[] => (rel === 'src/Other' ? [...list(rel), { name: 'link', kind: 'other' }] : list(rel))
    expect(allowList(['src/Other/X.cs'], withLink)).toEqual(['src/Other/X.cs'])
    expect(allowList(['src/Other/X.cs'], list)).toEqual(['src/Other'])
  })

  // The same matcher on both sides: this proves the collapsing, not BuildKit's reading of the
  // file, which the e2e suite proves (every step cached after a change outside the list).
  it('the collapsed list admits exactly the wanted files of a real tree', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'allow-'))
    const all = ['src/App/App.csproj', 'src/App/Program.cs', 'src/App/notes.txt', 'src/App/Models/A.cs', 'src/Lib/L.cs', 'docs/ops.md', 'Directory.Build.props']
    for (const f of all) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true })
      fs.writeFileSync(path.join(dir, f), '')
    }
    const wanted = ['src/App/App.csproj', 'src/App/Program.cs', 'src/App/Models/A.cs', 'src/Lib/L.cs', 'Directory.Build.props']
    const lister = (rel: string): DirEntry[] => fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).map((d) => ({ name: d.name, kind: d.isFile() ? 'file' : d.isDirectory() ? 'dir' : 'other' }))
    const text = generateDockerignore(undefined, [], { paths: allowList(wanted, lister), project: 'src/App/App.csproj' })
    // Docker's own rule order: the last matching pattern wins.
    expect(admitted(all, text).sort()).toEqual([...wanted].sort())
    fs.rmSync(dir, { recursive: true, force: true })
  })
})
