// Whether to set up QEMU binfmt handlers. Pure decision; the shell does the work.
import type { QemuMode } from '../action/inputs.js'
import type { Arch } from '../dotnet/platforms.js'

export interface QemuDecision {
  install: Arch[]
  reason: string
}

/** QEMU binfmt handler names for each arch, as registered in /proc/sys/fs/binfmt_misc. */
export const BINFMT_NAME: Record<Arch, string> = { amd64: 'qemu-x86_64', arm64: 'qemu-aarch64' }

/**
 * `auto`: the generated Dockerfile runs every RUN on $BUILDPLATFORM, so nothing executes
 * on the target platform and no emulation is needed. `true`: install handlers for every
 * foreign target that has none yet (already-registered handlers are kept).
 */
export function decideQemu(mode: QemuMode, targets: Arch[], buildArch: Arch | undefined, registered: Arch[]): QemuDecision {
  const foreign = targets.filter((a) => a !== buildArch)
  if (mode === 'false') return { install: [], reason: 'off (setup-qemu: false)' }
  if (mode === 'auto') return { install: [], reason: 'not needed: every RUN of the generated Dockerfile runs on the build platform' }
  const missing = foreign.filter((a) => !registered.includes(a))
  if (foreign.length === 0) return { install: [], reason: 'not needed: no foreign platform' }
  if (missing.length === 0) return { install: [], reason: `already registered for ${foreign.join(', ')}` }
  return { install: missing, reason: `installed for ${missing.join(', ')}` }
}
