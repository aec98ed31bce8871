// Whether the runtime image has the ICU culture data an app needs (InvariantGlobalization
// false), pure. Known from the image's name before the build (Microsoft's chiseled and
// distroless runtime-deps tags carry ICU only in their -extra variants), and from its config
// after it (images without ICU set DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true).

/** The tag of an image reference ('' for none): what names the variant. */
function tagOf(image: string): string {
  const name = image.split('@')[0] ?? ''
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  return colon > slash ? name.slice(colon + 1) : ''
}

/** A chiseled or distroless tag without -extra: no ICU, and no package manager to add it. */
export function lacksIcuByName(image: string): boolean {
  const tag = tagOf(image).toLowerCase()
  return /(?:^|-)(?:chiseled|distroless)(?:-|$)/.test(tag) && !/(?:^|-)extra(?:-|$)/.test(tag)
}

/** The image config's Env says globalization is invariant (so the image ships no ICU). */
export function invariantByEnv(env: readonly string[] | undefined): boolean {
  return (env ?? []).some((e) => /^DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=(?:true|1)$/i.test(e))
}

/**
 * A warning when the app needs culture data and the runtime image has none; undefined
 * otherwise. `byEnv`: the built image's config set DOTNET_SYSTEM_GLOBALIZATION_INVARIANT.
 */
export function icuWarning(app: string, needsIcu: boolean, runtimeImage: string, byEnv = false): string | undefined {
  if (!needsIcu) return undefined
  const why = lacksIcuByName(runtimeImage) ? 'a chiseled or distroless image without -extra' : byEnv ? 'its environment sets DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true' : undefined
  if (why === undefined) return undefined
  return (
    `${app} needs culture data (InvariantGlobalization is false), but the runtime image ${runtimeImage} has no ICU (${why}): ` +
    `the app fails at start ("Couldn't find a valid ICU package") where InvariantGlobalization is set to false, and runs with invariant culture data where it is unset. ` +
    'Use an image with ICU (a -chiseled-extra tag, or flavor: chiseled-extra without runtime-image), or set InvariantGlobalization to true.'
  )
}
