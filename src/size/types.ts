// The size report's data: shared by the diff, the budgets and the report, so none of them imports another for a type.

export interface SizeEntry {
  /** Config + layers, compressed: the figure every baseline source has. */
  compressed: number
  /** Only known when the image was scanned locally; a registry baseline never has it. */
  uncompressed?: number
  /**
   * Compressed bytes of the layer that holds the app (the entrypoint's layer); the rest of
   * `compressed` is the base image (its layers, and the image config). Unknown for a merged
   * image, a cached baseline written before this figure existed, and a registry image whose
   * last layer is not a COPY.
   */
  appLayer?: number
  /** The smoke test's native figures (never QEMU's): start-up ms and peak memory bytes, where measured. */
  startupMs?: number
  memoryPeak?: number
}

export type SizeSet = Record<string, SizeEntry>

export type RowStatus = 'changed' | 'unchanged' | 'new' | 'removed' | 'no-baseline'

/** One part of an image (its app layer, or the rest) on both sides. */
export interface PartDiff {
  baseline: number
  current: number
  delta: number
  /** delta / baseline * 100, unrounded; undefined for an empty baseline part. */
  percent?: number
}

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
  /** The change split into app layer and base (compressed - app layer): only where both sides know their app layer. */
  app?: PartDiff
  base?: PartDiff
  /** Start-up ms and peak memory against the baseline's, where both runs measured them natively. */
  startup?: PartDiff
  memory?: PartDiff
}

export interface SizeDiff {
  hasBaseline: boolean
  /** Sorted by platform. */
  rows: DiffRow[]
}

export interface Breach {
  platform: string
  kind: 'max-size' | 'max-increase'
  /** What the figure measures: the whole image, or (app-scoped max-increase) its app layer. */
  scope: 'image' | 'app'
  /** Bytes for max-size and a byte max-increase; percent for a percent max-increase. */
  figure: number
  /** The budget as a person would write it: "15 MB", "5%", "app:500 kB". */
  budget: string
  message: string
}

export interface MaxIncrease {
  bytes?: number
  percent?: number
  /** Growth of the app layer alone (app:500kB): base-image growth does not count against it. */
  appBytes?: number
  /** Growth of the app layer as a percentage of the baseline's app layer (app:5%). */
  appPercent?: number
}

/** This build's image of one platform, as the size table shows it. */
export interface ImageRow {
  platform: string
  digest: string
  compressed: number
  /** Unknown where only manifests were read (a merge). */
  uncompressed?: number
  /** Compressed bytes of the layer holding the entrypoint; unknown for a merge. */
  appLayer?: number
  /** The smoke test's figures, where the platform was started. */
  /** reused: not started; an earlier run's figures for this very image (same digest). */
  smoke?: { startupMs?: number; memoryPeak?: number; emulated: boolean; failed: boolean; outcome?: string; reused?: boolean }
}

export interface Images {
  /** The runtime image the app was copied into; '' where unknown (a merge), and then no column. */
  baseImage: string
  rows: ImageRow[]
}

/** The size report in parts, so the summary and the comment show the same table around their own lines. */
export interface ReportParts {
  overBudget: boolean
  /** The baseline (or why there is none) and the budgets: lines before the table. */
  intro: string[]
  table: string[]
  /** The breaches, listed after the table; [] within budget. */
  breaches: string[]
  /** Footnote sentences. */
  notes: string[]
}
