/**
 * The token rows of a training step that are real, not padding, so the native kernels can skip
 * the padding's rows without changing one bit of any result (issue 31).
 *
 * A training batch is right-padded to its longest sequence: row r of the flattened [B*T, C]
 * activations is position r % T of sequence floor(r / T). Padding rows never reach a real row:
 * attention is causal and the pads come last, and the loss masks them, so their gradient is
 * exactly zero in every layer. So for the products whose rows are token rows (every linear layer's
 * forward, x W, and its input gradient, dy W^T), the padding's rows can be left out and written as
 * zeros; the weight gradients (x^T dy, summed over token rows) still run over the whole padded
 * matrix, where the padding rows are zeros both before and after, so their sums, and every bit of
 * every weight, are unchanged. tests/engine/real-rows.test.ts trains with and without skipping and
 * compares the weights bit for bit.
 *
 * One condition is BLAS's, not ours: a row's product must not depend on which other rows are in
 * the call. OpenBLAS computes each output in register tiles of a fixed number of rows (24 on its
 * Haswell kernels) and a row's sum can depend on its place in the tile, so the runs a kernel
 * computes are widened to whole tiles of the full matrix (alignRuns); the tile is measured, not
 * assumed (native-kernels.ts: rowTile), per product shape, and a shape with no tile that
 * reproduces the full product is not skipped at all.
 *
 * This module holds the bookkeeping only: which rows are real, for the duration of one
 * forward-and-backward pass (withRealRows), and how many rows the kernels skipped.
 */

/** Sorted, disjoint [start, end) row ranges, as a flat array [s0, e0, s1, e1, ...]. */
export type Runs = number[];

/**
 * Real rows of a right-padded [B, T] layout whose sequence b holds lengths[b] real tokens
 * (clamped to T): one run per sequence, adjacent runs merged.
 */
export function paddedRuns(lengths: readonly number[], T: number): Runs {
  const out: Runs = [];
  lengths.forEach((len, b) => {
    const n = Math.max(0, Math.min(T, len));
    if (n === 0) return;
    const start = b * T;
    if (out.length && out[out.length - 1] === start) out[out.length - 1] = start + n;
    else out.push(start, start + n);
  });
  return out;
}

/**
 * The runs widened to whole tiles of `tile` rows of an M-row matrix (tiles start at row 0; the
 * last may be short), merged where they touch. A run of one row is widened by a tile backwards:
 * the kernels compute one row with a matrix-vector product, whose sums differ from sgemm's.
 */
export function alignRuns(runs: Runs, tile: number, M: number): Runs {
  const out: Runs = [];
  for (let i = 0; i < runs.length; i += 2) {
    let s = Math.floor(runs[i]! / tile) * tile;
    const e = Math.min(M, Math.ceil(runs[i + 1]! / tile) * tile);
    if (e - s === 1) s = Math.max(0, s - tile);
    if (out.length && out[out.length - 1]! >= s) out[out.length - 1] = Math.max(out[out.length - 1]!, e);
    else out.push(s, e);
  }
  return out;
}

/** Rows the runs cover. */
export function runRows(runs: Runs): number {
  let n = 0;
  for (let i = 0; i < runs.length; i += 2) n += runs[i + 1]! - runs[i]!;
  return n;
}

/** The real rows per row count M of the matrices they apply to, while withRealRows runs. */
let current: Map<number, Runs> | null = null;
let skipping = process.env.BCR_SKIP_PADDING?.trim() !== "0";
const stats = { rows: 0, skipped: 0 };

/**
 * Runs fn with the batch's real rows known to the native kernels: `lengths[b]` real tokens of
 * sequence b in a right-padded [B, T] batch. Both layouts the model uses are registered: [B*T]
 * (the transformer) and [B*(T-1)] (the head over the predicting positions). Nested calls are
 * refused: one batch at a time.
 */
export function withRealRows<R>(lengths: readonly number[], T: number, fn: () => R): R {
  if (current) throw new Error("withRealRows: already inside a withRealRows call (one batch at a time)");
  const B = lengths.length;
  const layouts = new Map<number, Runs>([[B * T, paddedRuns(lengths, T)]]);
  if (T > 1) layouts.set(B * (T - 1), paddedRuns(lengths, T - 1));
  current = skipping ? layouts : null;
  try {
    return fn();
  } finally {
    current = null;
  }
}

/** The real rows of an M-row token matrix of the current batch, or null (none known, or skipping off). */
export function realRowsFor(M: number): Runs | null {
  return current?.get(M) ?? null;
}

/** Counts one product or elementwise pass: `rows` in the matrix, `computed` of them computed. */
export function countRows(rows: number, computed: number): void {
  stats.rows += rows;
  stats.skipped += rows - computed;
}

/**
 * Turns the skipping off or on (BCR_SKIP_PADDING=0 starts it off): off, every padding row is
 * computed, for the tests that prove the results the same and for timing both.
 */
export function setPaddingSkip(on: boolean): void {
  skipping = on;
}

export function paddingSkip(): boolean {
  return skipping;
}

/** Rows seen and skipped by the kernels since the last reset (tests, bcr profile). */
export function paddingSkipStats(reset = false): { rows: number; skipped: number } {
  const s = { ...stats };
  if (reset) stats.rows = stats.skipped = 0;
  return s;
}
