/**
 * A training run watched from a notebook cell: one output that is replaced in place as the run
 * goes (Jupyter's update_display_data), holding a progress bar, the latest numbers and the
 * curves (reward, held-out accuracy, tokens per problem, gradient cosine by default).
 *
 * Pass `onMetrics` to trainRl / trainSft (they call it with every metrics record). Redraws are
 * throttled to one per `minIntervalMs`, except that the first record and eval records always
 * draw; `finish()` draws the final state with its PNG, so a saved notebook shows the end.
 *
 * Timing (ETA, steps/s, "took") counts training only: the time spent drawing (building the
 * figure, sending it, rendering the final PNG) is measured and left out.
 */
import { formatDuration } from "../util/progress.js";
import { LIVE_METRICS, liveCurvesFigure, metricLabel } from "../viz/figures.js";
import { figureBundle, newElementId, type MimeBundle, type NotebookDisplay } from "./display.js";

export interface LiveTrainingOptions {
  /** Steps in the run (the bar's end). */
  total: number;
  /** Shown above the bar, e.g. "bcr (N = 3)". */
  label?: string;
  /** Metrics drawn, one panel each (at most 4; default LIVE_METRICS). */
  metrics?: readonly string[];
  /** Method name, for the curves' color. */
  method?: string;
  /** Shortest time between redraws (default 1000 ms). */
  minIntervalMs?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3));

export class LiveTraining {
  readonly id = newElementId("bcr-live");
  /** Display messages sent: 1 for the first draw, then one per redraw. */
  updates = 0;
  private readonly records: Record<string, unknown>[] = [];
  private readonly latest: Record<string, number> = {};
  private readonly start: number;
  private lastDraw = -Infinity;
  /** Milliseconds spent drawing (figure, display messages, PNG), not training. */
  private renderMs = 0;
  private readonly opts: Required<Pick<LiveTrainingOptions, "total" | "minIntervalMs">> & LiveTrainingOptions;
  private readonly now: () => number;

  constructor(
    private readonly display: NotebookDisplay,
    opts: LiveTrainingOptions,
  ) {
    this.opts = { minIntervalMs: 1000, ...opts };
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Feed one metrics record (pass as `onMetrics: live.onMetrics`). */
  readonly onMetrics = (record: Record<string, unknown>): void => {
    this.records.push(record);
    for (const [k, v] of Object.entries(record)) if (typeof v === "number" && Number.isFinite(v)) this.latest[k] = v;
    const t = this.now();
    const isEval = Object.keys(record).some((k) => k.startsWith("eval/"));
    if (this.updates === 0 || isEval || t - this.lastDraw >= this.opts.minIntervalMs) {
      this.draw(this.html(null, t), t);
      this.renderMs += this.now() - t;
    }
  };

  /** Steps done so far (records are 0-based per step). */
  get step(): number {
    const s = this.latest.step;
    return s === undefined ? 0 : Math.min(this.opts.total, s + (s < this.opts.total ? 1 : 0));
  }

  /** The final frame, curves with their PNG for viewers without scripts. */
  async finish(): Promise<void> {
    const t = this.now();
    const fig = this.figure();
    this.draw(this.html(await this.display.figureData(fig, { height: 520 }), t), t);
    this.renderMs += this.now() - t;
  }

  /** Seconds spent training up to `t` (wall time since the start less the time spent drawing). */
  trainingSeconds(t = this.now()): number {
    return Math.max(0, t - this.start - this.renderMs) / 1000;
  }

  /** Training steps per second so far (drawing left out); null before the first step. */
  stepsPerSecond(t = this.now()): number | null {
    const s = this.trainingSeconds(t);
    return this.step > 0 && s > 0 ? this.step / s : null;
  }

  private figure() {
    return liveCurvesFigure(this.records, {
      metrics: this.opts.metrics ?? LIVE_METRICS,
      method: this.opts.method,
      title: this.opts.label ?? "training",
    });
  }

  /** The progress line as plain text: `120/400  30%  ETA 1m10s  1.7 steps/s  reward 0.812  ...`. */
  line(t = this.now()): string {
    const done = this.step,
      total = this.opts.total;
    const elapsed = this.trainingSeconds(t);
    const eta =
      done >= total
        ? `took ${formatDuration(elapsed)}`
        : done > 0
          ? `ETA ${formatDuration(((total - done) * elapsed) / done)}`
          : "ETA ?";
    const rate = this.stepsPerSecond(t);
    const speed = rate === null ? [] : [rate >= 1 ? `${rate.toFixed(1)} steps/s` : `${(1 / rate).toFixed(1)} s/step`];
    const nums = (this.opts.metrics ?? LIVE_METRICS)
      .filter((m) => this.latest[m] !== undefined)
      .map((m) => `${metricLabel(m)} ${fmt(this.latest[m]!)}`);
    return [
      `${this.opts.label ?? "training"}: ${done}/${total}`,
      `${Math.floor((100 * done) / Math.max(1, total))}%`,
      eta,
      ...speed,
      ...nums,
    ].join("  ·  ");
  }

  /** The bundle of one frame; its progress line as of `t` (when the draw began). */
  private html(final: MimeBundle | null, t: number): MimeBundle {
    const pct = Math.floor((100 * this.step) / Math.max(1, this.opts.total));
    const line = this.line(t);
    const bar =
      `<div style="font-family:monospace;margin:4px 0">${esc(line)}</div>` +
      `<div style="background:#eaeef2;border-radius:4px;height:10px;width:100%;max-width:900px"><div style="background:#1f77b4;height:10px;border-radius:4px;width:${pct}%"></div></div>`;
    const curves = final ?? figureBundle(this.figure(), null, { height: 520 }); // PNG only at the end: rendering is slow
    const out: MimeBundle = {
      "text/html": `<div id="${this.id}">${bar}${curves["text/html"]}</div>`,
      "text/plain": line,
    };
    if (curves["image/png"]) out["image/png"] = curves["image/png"];
    return out;
  }

  private draw(bundle: MimeBundle, t: number): void {
    this.display.show(bundle, this.id, this.updates > 0);
    this.updates += 1;
    this.lastDraw = t;
  }
}
