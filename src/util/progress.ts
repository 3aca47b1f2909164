/**
 * A progress bar for long work, written to stderr.
 *
 * On a TTY it redraws one line (`sft  [#####.....]  120/400  3.1 it/s  ETA 1m30s  loss 1.234`),
 * at most every `redrawMs`. Elsewhere (CI logs, notebooks, pipes) it prints a plain line every
 * `everyPercent` percent or every `everySeconds` seconds, whichever comes first, so logs stay
 * short but a stalled job still shows signs of life.
 */

/** The part of a stream the bar needs; tests pass a fake. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Number of steps in the whole job. */
  total: number;
  /** Shown at the start of every line. */
  label?: string;
  /** Where to write (default process.stderr). */
  stream?: ProgressStream;
  /** Force TTY (redrawn line) or plain mode; default: stream.isTTY. */
  tty?: boolean;
  /** Plain mode: print a line each time progress crosses another multiple of this percent. */
  everyPercent?: number;
  /** Plain mode: also print when this many seconds have passed since the last line. */
  everySeconds?: number;
  /** TTY mode: the shortest interval between redraws. */
  redrawMs?: number;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
  /** Step the job starts from (a resumed run); the rate counts only steps done here. */
  startStep?: number;
}

export type Metrics = Record<string, number | string | undefined>;

/** `75` -> `1m15s`, `3700` -> `1h01m`, `9.3` -> `9s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function formatMetric(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4);
}

export class Progress {
  readonly total: number;
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly everyPercent: number;
  private readonly everySeconds: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private readonly startStep: number;
  private readonly startTime: number;
  private step: number;
  private metrics: Metrics = {};
  private lastDraw = -Infinity;
  private lastPrintedBucket = -1;
  private drawn = false;
  private lastStepDrawn = -1;
  private finished = false;

  constructor(opts: ProgressOptions) {
    this.total = Math.max(0, opts.total);
    this.label = opts.label ?? "";
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.everyPercent = opts.everyPercent ?? 10;
    this.everySeconds = opts.everySeconds ?? 30;
    this.redrawMs = opts.redrawMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
    this.startStep = opts.startStep ?? 0;
    this.step = this.startStep;
    this.startTime = this.now();
    // Plain mode: the "every T seconds" clock starts now; TTY mode draws on the first update.
    if (!this.tty) this.lastDraw = this.startTime;
    this.lastPrintedBucket = this.bucket(this.startStep);
  }

  /** Report that `step` steps (of `total`) are done, with the metrics to show. */
  update(step: number, metrics?: Metrics): void {
    if (this.finished) return;
    this.step = step;
    if (metrics) this.metrics = { ...this.metrics, ...metrics };
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.redrawMs || step >= this.total) this.draw(t);
      return;
    }
    const b = this.bucket(step);
    if (b > this.lastPrintedBucket || (t - this.lastDraw) / 1000 >= this.everySeconds) {
      this.lastPrintedBucket = b;
      this.draw(t);
    }
  }

  /** Advance by `n` steps. */
  tick(n = 1, metrics?: Metrics): void {
    this.update(this.step + n, metrics);
  }

  /** Print a message above the bar without garbling it. */
  log(message: string): void {
    if (this.tty && this.drawn) {
      this.stream.write(`\r\x1b[2K${message}\n`);
      this.draw(this.now());
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Draw the final state and end the line. Idempotent. */
  done(metrics?: Metrics): void {
    if (this.finished) return;
    if (metrics) this.metrics = { ...this.metrics, ...metrics };
    const t = this.now();
    if (this.tty) {
      this.draw(t);
      this.stream.write("\n");
    } else if (this.lastStepDrawn !== this.step || !this.drawn) {
      this.draw(t);
    }
    this.finished = true;
  }

  /** The current line (no control characters); exposed for tests and logs. */
  line(t = this.now()): string {
    const elapsed = (t - this.startTime) / 1000;
    const done = this.step - this.startStep;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.step) / rate : Infinity;
    const frac = this.total > 0 ? Math.min(1, this.step / this.total) : 1;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.tty) {
      const width = 20;
      const filled = Math.round(frac * width);
      parts.push(`[${"#".repeat(filled)}${".".repeat(width - filled)}]`);
    }
    parts.push(`${this.step}/${this.total}`, `${Math.floor(frac * 100)}%`);
    parts.push(rate >= 1 || rate === 0 ? `${rate.toFixed(1)} it/s` : `${(1 / rate).toFixed(1)} s/it`);
    parts.push(this.step >= this.total ? `took ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`);
    for (const [k, v] of Object.entries(this.metrics)) if (v !== undefined) parts.push(`${k} ${formatMetric(v)}`);
    return parts.join("  ");
  }

  private bucket(step: number): number {
    if (this.total <= 0 || this.everyPercent <= 0) return 0;
    return Math.floor(((step / this.total) * 100) / this.everyPercent);
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.lastStepDrawn = this.step;
    this.drawn = true;
    let text = this.line(t);
    if (this.tty) {
      const cols = this.stream.columns ?? 120;
      if (text.length > cols - 1) text = text.slice(0, Math.max(0, cols - 1));
      this.stream.write(`\r\x1b[2K${text}`);
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Several RL runs at once (bcr reproduce's workers): one line per run, from its metric records.

/** What a run's line shows, picked from its latest metric records (stable metric names). */
export const RUN_LINE_METRICS: readonly [key: string, label: string][] = [
  ["reward/accuracy", "reward"],
  ["length/tokens_per_problem", "tokens/problem"],
  ["eval/accuracy", "eval acc"],
];

interface RunState {
  label: string;
  total: number;
  /** Metric record steps are 0-based; a record for step s means s + 1 steps are done. */
  done: number;
  startStep: number;
  startTime: number;
  metrics: Record<string, number>;
  log?: string;
  finished: boolean;
  lastPrinted: number;
  lastBucket: number;
  /** Steps done when the last line was printed (plain mode: finish does not repeat it). */
  printedDone: number;
}

export interface RunBoardOptions {
  stream?: ProgressStream;
  tty?: boolean;
  now?: () => number;
  /** Plain mode: print a run's line each time it crosses another multiple of this percent (default 10). */
  everyPercent?: number;
  /** Plain mode: or when this many seconds passed since that run's last line (default 60). */
  everySeconds?: number;
}

/**
 * One progress line per run, fed with each run's per-step metric records:
 * `bcr/seed-1  120/400  30%  ETA 3m20s  reward 0.8125  tokens/problem 31.0  eval acc 0.9219`.
 * On a TTY the block of lines is redrawn in place; elsewhere a run's line is printed every
 * `everyPercent` of its steps (or `everySeconds`). `start` prints where the run's log goes.
 */
export class RunBoard {
  private readonly runs = new Map<string, RunState>();
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly everyPercent: number;
  private readonly everySeconds: number;
  private drawnLines = 0;

  constructor(opts: RunBoardOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.everyPercent = opts.everyPercent ?? 10;
    this.everySeconds = opts.everySeconds ?? 60;
  }

  /** A run begins (`startStep` > 0 when it resumes); its log file is named once, here. */
  start(id: string, opts: { label?: string; total: number; startStep?: number; log?: string }): void {
    const t = this.now();
    const startStep = opts.startStep ?? 0;
    this.runs.set(id, {
      label: opts.label ?? id,
      total: opts.total,
      done: startStep,
      startStep,
      startTime: t,
      metrics: {},
      log: opts.log,
      finished: false,
      lastPrinted: t,
      lastBucket: this.bucket(startStep, opts.total),
      printedDone: -1,
    });
    this.message(`${opts.label ?? id}: started${opts.log ? `, log ${opts.log}` : ""}`);
  }

  /** A metric record of run `id` (one per step, as written to metrics.jsonl). */
  record(id: string, rec: Record<string, unknown>): void {
    const r = this.runs.get(id);
    if (!r || r.finished) return;
    if (typeof rec.step === "number")
      r.done = Math.min(r.total, Math.max(r.done, rec.step + (rec.step < r.total ? 1 : 0)));
    for (const [k] of RUN_LINE_METRICS)
      if (typeof rec[k] === "number" && Number.isFinite(rec[k])) r.metrics[k] = rec[k] as number;
    this.refresh(id, r, false);
  }

  /** The run ended; its final line is printed. */
  finish(id: string): void {
    const r = this.runs.get(id);
    if (!r || r.finished) return;
    r.finished = true;
    this.refresh(id, r, true);
    if (this.tty) this.runs.delete(id);
  }

  /** The line of run `id` (no control characters). */
  line(id: string, t = this.now()): string {
    const r = this.runs.get(id);
    if (!r) return "";
    const elapsed = (t - r.startTime) / 1000;
    const rate = elapsed > 0 ? (r.done - r.startStep) / elapsed : 0;
    const eta =
      r.done >= r.total
        ? `took ${formatDuration(elapsed)}`
        : `ETA ${rate > 0 ? formatDuration((r.total - r.done) / rate) : "?"}`;
    const frac = r.total > 0 ? r.done / r.total : 1;
    const parts = [r.label, `${r.done}/${r.total}`, `${Math.floor(frac * 100)}%`, eta];
    for (const [k, label] of RUN_LINE_METRICS)
      if (r.metrics[k] !== undefined) parts.push(`${label} ${formatMetric(r.metrics[k]!)}`);
    return parts.join("  ");
  }

  /** A message above the lines. */
  message(text: string): void {
    if (this.tty) {
      this.clear();
      this.stream.write(`${text}\n`);
      this.redraw();
    } else this.stream.write(`${text}\n`);
  }

  private bucket(done: number, total: number): number {
    return total > 0 && this.everyPercent > 0 ? Math.floor(((done / total) * 100) / this.everyPercent) : 0;
  }

  private refresh(id: string, r: RunState, final: boolean): void {
    const t = this.now();
    if (this.tty) {
      this.clear();
      if (final) this.stream.write(`${this.line(id, t)}\n`); // stays above the live block
      this.redraw();
      return;
    }
    const b = this.bucket(r.done, r.total);
    if ((final && r.printedDone !== r.done) || b > r.lastBucket || (t - r.lastPrinted) / 1000 >= this.everySeconds) {
      r.lastBucket = b;
      r.lastPrinted = t;
      r.printedDone = r.done;
      this.stream.write(`${this.line(id, t)}\n`);
    }
  }

  private clear(): void {
    if (this.drawnLines > 0) this.stream.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    const cols = this.stream.columns ?? 120;
    const live = [...this.runs.entries()].filter(([, r]) => !r.finished);
    for (const [id] of live) this.stream.write(`${this.line(id).slice(0, Math.max(0, cols - 1))}\n`);
    this.drawnLines = live.length;
  }
}
