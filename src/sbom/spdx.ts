// One platform's SBOM as an SPDX 2.3 document inside an in-toto statement, the form BuildKit's
// own SBOM attestations take (so `docker buildx imagetools inspect --format '{{json .SBOM}}'`
// shows it, and scanners that read image attestations find it). Pure and deterministic: the
// same components, image and time give the same bytes, so a rebuilt image keeps its digest.
import { createHash } from 'node:crypto'
import type { Component } from './assets.js'

export const SPDX_PREDICATE = 'https://spdx.dev/Document'
export const INTOTO_STATEMENT = 'https://in-toto.io/Statement/v0.1'
/** creationInfo's tool. */
export const SBOM_TOOL = 'aot-buildx-action'

export interface SbomInput {
  /** The app's assembly name (the binary's file name). */
  app: string
  appVersion: string
  /** linux/amd64 */
  platform: string
  /** The platform image's manifest digest (sha256:...). */
  manifestDigest: string
  components: Component[]
  /** The image the final stage starts from, as the Dockerfile names it, and its digest when known. */
  base: { ref: string; digest?: string }
  /** creationInfo.created: the image's timestamp (source-date-epoch) or the build's time, in seconds. */
  created: number
  tool: string
}

/** SPDX element ids allow letters, digits, '.' and '-'. */
function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-')
}

/** A purl component: only the characters purl leaves as they are pass unencoded. */
function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function nugetPurl(name: string, version: string): string {
  return `pkg:nuget/${purlEncode(name)}@${purlEncode(version)}`
}

/** repo[:tag][@digest] split; the tag is the part after the last ':' past the last '/'. */
export function splitImageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  const [nameTag = '', digest] = ref.split('@')
  const slash = nameTag.lastIndexOf('/')
  const colon = nameTag.lastIndexOf(':')
  const hasTag = colon > slash
  return { repository: hasTag ? nameTag.slice(0, colon) : nameTag, ...(hasTag ? { tag: nameTag.slice(colon + 1) } : {}), ...(digest !== undefined ? { digest } : {}) }
}

/** pkg:oci, as purl names an image by digest: the last path segment, and where it lives. */
export function ociPurl(ref: string, digest: string, arch: string): string {
  const r = splitImageRef(ref)
  const last = r.repository.slice(r.repository.lastIndexOf('/') + 1)
  const q = [`arch=${purlEncode(arch)}`, `repository_url=${purlEncode(r.repository)}`, ...(r.tag !== undefined ? [`tag=${purlEncode(r.tag)}`] : [])]
  return `pkg:oci/${purlEncode(last.toLowerCase())}@${purlEncode(digest)}?${q.sort().join('&')}`
}

function sha256Hex(digest: string): string | undefined {
  return /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1]
}

/** A UUID-shaped name derived from the content: unique per document, the same for the same document. */
function contentUuid(text: string): string {
  const h = createHash('sha256').update(text).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

export function spdxDocument(i: SbomInput): Record<string, unknown> {
  const arch = i.platform.split('/')[1] ?? i.platform
  // Named by the app, never by a tag or repository: the same build pushed under any name keeps its digest.
  const imageName = i.app.toLowerCase()
  const imageHex = sha256Hex(i.manifestDigest)
  const packages: Record<string, unknown>[] = []
  const relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] = []
  const rel = (a: string, type: string, b: string): void => {
    relationships.push({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b })
  }
  const IMAGE = 'SPDXRef-Image'
  const APP = 'SPDXRef-App'
  packages.push({
    SPDXID: IMAGE,
    name: imageName,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    ...(imageHex !== undefined
      ? {
          checksums: [{ algorithm: 'SHA256', checksumValue: imageHex }],
          externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/${purlEncode(imageName)}@${purlEncode(i.manifestDigest)}?arch=${purlEncode(arch)}` }]
        }
      : {}),
    comment: `The ${i.platform} image, by its manifest digest.`
  })
  rel('SPDXRef-DOCUMENT', 'DESCRIBES', IMAGE)
  packages.push({
    SPDXID: APP,
    name: i.app,
    ...(i.appVersion !== '' ? { versionInfo: i.appVersion } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'APPLICATION',
    comment: `The Native AOT binary /app/${i.app} for ${i.platform}.`
  })
  rel(IMAGE, 'CONTAINS', APP)
  const base = splitImageRef(i.base.ref)
  const baseDigest = i.base.digest ?? base.digest
  const baseHex = baseDigest !== undefined ? sha256Hex(baseDigest) : undefined
  const BASE = 'SPDXRef-BaseImage'
  packages.push({
    SPDXID: BASE,
    name: base.repository,
    ...(base.tag !== undefined ? { versionInfo: base.tag } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    ...(baseHex !== undefined && baseDigest !== undefined
      ? { checksums: [{ algorithm: 'SHA256', checksumValue: baseHex }], externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(i.base.ref, baseDigest, arch) }] }
      : {})
  })
  rel(IMAGE, 'DESCENDANT_OF', BASE)
  for (const [n, c] of i.components.entries()) {
    const id = `SPDXRef-${c.kind === 'project' ? 'Project' : c.kind === 'runtime-pack' ? 'RuntimePack' : 'NuGet'}-${n + 1}-${idPart(c.name)}-${idPart(c.version)}`
    packages.push({
      SPDXID: id,
      name: c.name,
      versionInfo: c.version,
      // Where it came from (nuget.org or a private feed) is not in the assets file.
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: c.kind === 'runtime-pack' ? 'FRAMEWORK' : 'LIBRARY',
      ...(c.sha512 !== undefined ? { checksums: [{ algorithm: 'SHA512', checksumValue: c.sha512 }] } : {}),
      ...(c.kind !== 'project' ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: nugetPurl(c.name, c.version) }] } : {}),
      ...(c.kind === 'project' ? { comment: 'A project reference of the app, compiled from the repository.' } : {})
    })
    // Native AOT compiles managed code into the binary: a static link. Native files ship in the image.
    if (c.compiled) rel(APP, 'STATIC_LINK', id)
    if (c.native) rel(IMAGE, 'CONTAINS', id)
    if (!c.compiled && !c.native) rel(APP, 'DEPENDS_ON', id)
  }
  const body = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${imageName} ${i.platform}`,
    documentNamespace: '',
    creationInfo: { created: new Date(i.created * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: ${i.tool}`] },
    comment: `The NuGet packages, project references and .NET runtime packs the restore resolved for ${i.platform} and Native AOT compiled into /app/${i.app} or shipped beside it, and the base image. Read from project.assets.json by aot-buildx-action.`,
    packages,
    relationships
  }
  body.documentNamespace = `https://spdx.org/spdxdocs/aot-buildx-action/${idPart(imageName)}-${arch}-${contentUuid(JSON.stringify(body))}`
  return body
}

/** The in-toto statement BuildKit's SBOM attestations carry: the image it describes by digest, the document as predicate. */
export function sbomStatement(i: SbomInput): Buffer {
  const hex = sha256Hex(i.manifestDigest)
  if (hex === undefined) throw new Error(`${i.platform}'s manifest digest ${i.manifestDigest} is not a sha256 digest`)
  const statement = {
    _type: INTOTO_STATEMENT,
    predicateType: SPDX_PREDICATE,
    // No image name or tag: the same build pushed under any name keeps its digest; the digest names the image.
    subject: [{ name: '_', digest: { sha256: hex } }],
    predicate: spdxDocument(i)
  }
  return Buffer.from(JSON.stringify(statement))
}
