// The size report's data: shared by the diff, the budgets and the report, so none of them imports another for a type.

export interface SizeEntry {
  /** Config + layers, compressed: the figure every baseline source has. */
  compressed: number
  /** Only known when the image was scanned locally; a registry baseline never has it. */
  uncompressed?: number
}

export type SizeSet = Record<string, SizeEntry>

export type RowStatus = 'changed' | 'unchanged' | 'new' | 'removed' | 'no-baseline'

export interface DiffRow {
  platform: string
  /** Compressed bytes of the baseline; undefined for a new platform or without a baseline. */
  baseline?: number
  /** Compressed bytes of this build; undefined for a platform the build no longer has. */
  current?: number
  delta?: number
  /** delta / baseline * 100, unrounded; undefined when there is nothing to compare. */
  percent?: number
  status: RowStatus
}

export interface SizeDiff {
  hasBaseline: boolean
  /** Sorted by platform. */
  rows: DiffRow[]
  /** Sums over the rows; the platform is 'total'. */
  total: DiffRow
}

export interface Breach {
  platform: string
  kind: 'max-size' | 'max-increase'
  /** Bytes for max-size and a byte max-increase; percent for a percent max-increase. */
  figure: number
  /** The budget as a person would write it: "15 MB", "5%". */
  budget: string
  message: string
}

export interface MaxIncrease {
  bytes?: number
  percent?: number
}
