// The action's outputs (action.yml) and state names, and one typed writer for each.
import * as core from '@actions/core'

export interface Outputs {
  dockerfile: string
  metadata: string
  digest: string
  sizes: string
  'size-report': string
  timings: string
  /** JSON per smoke-tested platform: startupMs, memoryPeak (bytes), emulated, ok, outcome. */
  smoke: string
  /** mode: discover: {"include": [...]} for strategy.matrix, and how many entries it has. */
  matrix: string
  count: string
  /** size-linux-amd64, size-linux-arm64: compressed bytes of one platform's image. */
  [perPlatform: `size-${string}`]: string
}

export function setOutput<K extends keyof Outputs>(name: K, value: Outputs[K]): void {
  core.setOutput(name, value)
}

export function setOutputs(values: Partial<Outputs>): void {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) core.setOutput(k, v)
}

/** Names kept in GITHUB_STATE between the main and the post step. */
export const STATE = {
  isPost: 'isPost',
  /** A builder this job created (the post step removes it). */
  builder: 'builder',
  /** The DOCKER_CONFIG holding a buildx this step installed. */
  dockerConfig: 'docker-config',
  /** The smoke run's token (smokeToken): what the post step removes after a cancelled job. */
  smoke: 'smoke'
} as const
