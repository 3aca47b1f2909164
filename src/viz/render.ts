/**
 * Turning figures into files.
 *   figureToHtml: a standalone page that loads plotly.js from ONE shared local copy through a
 *     relative <script src> (copyPlotly puts it next to the pages once), never inlining the
 *     4.8 MB bundle per figure.
 *   Renderer: one headless Chromium (playwright-core, Debian's /usr/bin/chromium) kept open for
 *     many figures; png()/svg() go through Plotly.toImage. Call close() when done.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { writeFileAtomic } from "../util/fsx.js";
import type { Figure } from "./figures.js";

const require = createRequire(import.meta.url);

/** Path of the installed plotly.js bundle (plotly.js-dist-min). */
export function plotlyBundlePath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

/** Copy plotly.min.js into `dir` unless an identical-size copy is there; returns its path. */
export function copyPlotly(dir: string): string {
  const src = plotlyBundlePath();
  const dst = path.join(dir, "plotly.min.js");
  if (!fs.existsSync(dst) || fs.statSync(dst).size !== fs.statSync(src).size) {
    writeFileAtomic(dst, fs.readFileSync(src));
  }
  return dst;
}

/** JSON safe to embed inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface HtmlOptions {
  /** URL of plotly.js as written into <script src> (default "plotly.min.js", i.e. beside the page). */
  plotlySrc?: string;
  /** Page title (default: the figure's title). */
  title?: string;
  /** Tried in order when plotlySrc did not load (e.g. the bundle in node_modules of a fresh clone). */
  fallbackSrcs?: string[];
}

/**
 * The <script> elements that load plotly.js from `src`, then from each fallback in turn while
 * Plotly is still undefined (a page and a report share this, so both find the one shared copy).
 */
export function plotlyScriptTags(src: string, fallbackSrcs: readonly string[] = []): string {
  return `<script src="${escapeHtml(src)}"></script>
${fallbackSrcs.map((f) => `<script>if (typeof Plotly === "undefined") document.write(${scriptJson(`<script src="${f}"></` + "script>")});</script>`).join("\n")}`;
}

/** Path of the installed bundle relative to `dir`, with forward slashes (a fresh clone's fallback). */
export function plotlyFallbackSrc(dir: string): string {
  return path.relative(path.resolve(dir), plotlyBundlePath()).split(path.sep).join("/");
}

/** A standalone HTML page showing the figure; plotly.js is referenced, not inlined. */
export function figureToHtml(fig: Figure, opts?: HtmlOptions): string {
  const src = opts?.plotlySrc ?? "plotly.min.js";
  const title = opts?.title ?? fig.layout.title?.text ?? "figure";
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
${plotlyScriptTags(src, opts?.fallbackSrcs)}
<style>html, body { margin: 0; height: 100%; } #fig { width: 100%; height: 100vh; }</style>
</head>
<body>
<div id="fig"></div>
<script>
const figure = ${scriptJson(fig)};
Plotly.newPlot("fig", figure.data, figure.layout, { responsive: true });
</script>
</body>
</html>
`;
}

/** Write `file` (an .html page) with plotly.min.js copied once into the same folder. */
export function writeFigureHtml(file: string, fig: Figure, opts?: { title?: string }): void {
  copyPlotly(path.dirname(file));
  // The copy beside the page is not committed (one 4.8 MB bundle); a fresh clone finds the one
  // npm installed instead.
  const fallback = plotlyFallbackSrc(path.dirname(file));
  writeFileAtomic(
    file,
    figureToHtml(fig, { plotlySrc: "plotly.min.js", title: opts?.title, fallbackSrcs: [fallback] }),
  );
}

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

export interface ImageOptions {
  width?: number;
  height?: number;
  scale?: number;
}

// Minimal structural types of the playwright-core objects we use (no import at module load, so
// importing this file never requires a browser).
interface PwPage {
  setContent(html: string): Promise<void>;
  addScriptTag(opts: { path?: string; content?: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}
interface PwBrowser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}

/** One headless Chromium rendering many figures to PNG / SVG via Plotly.toImage. */
export class Renderer {
  readonly executablePath: string;
  private browser: PwBrowser | null = null;
  private page: PwPage | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts?: { executablePath?: string }) {
    this.executablePath = opts?.executablePath ?? process.env.BCR_CHROMIUM ?? DEFAULT_CHROMIUM;
  }

  /** Whether the Chromium binary exists (tests skip rendering when it does not). */
  static available(executablePath = process.env.BCR_CHROMIUM ?? DEFAULT_CHROMIUM): boolean {
    return fs.existsSync(executablePath);
  }

  private async ensurePage(): Promise<PwPage> {
    if (this.page) return this.page;
    if (!fs.existsSync(this.executablePath)) {
      throw new Error(
        `Renderer: Chromium not found at ${this.executablePath}. Install Debian's package: ` +
          "`apt-get install -y chromium` (or set BCR_CHROMIUM / pass executablePath).",
      );
    }
    const { chromium } = await import("playwright-core");
    const browser = (await chromium.launch({
      executablePath: this.executablePath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
    })) as unknown as PwBrowser;
    this.browser = browser;
    const page = await browser.newPage();
    await page.setContent("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body></body></html>");
    await page.addScriptTag({ path: plotlyBundlePath() });
    this.page = page;
    return page;
  }

  private async toImage(fig: Figure, format: "png" | "svg", opts?: ImageOptions): Promise<string> {
    const run = async () => {
      const page = await this.ensurePage();
      const arg = {
        fig: JSON.parse(JSON.stringify(fig)) as Figure,
        format,
        width: opts?.width ?? 900,
        height: opts?.height ?? 560,
        scale: opts?.scale ?? 1,
      };
      return page.evaluate(async (a: typeof arg) => {
        const Plotly = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } })
          .Plotly;
        return Plotly.toImage(
          { data: a.fig.data, layout: a.fig.layout },
          { format: a.format, width: a.width, height: a.height, scale: a.scale },
        );
      }, arg);
    };
    // One page, one render at a time.
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** PNG bytes of the figure. */
  async png(fig: Figure, opts?: ImageOptions): Promise<Uint8Array> {
    const url = await this.toImage(fig, "png", opts);
    const b64 = url.slice(url.indexOf(",") + 1);
    return new Uint8Array(Buffer.from(b64, "base64"));
  }

  /** SVG text of the figure. */
  async svg(fig: Figure, opts?: ImageOptions): Promise<string> {
    const url = await this.toImage(fig, "svg", opts);
    const body = url.slice(url.indexOf(",") + 1);
    return url.includes(";base64,") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
  }

  /** Render and write a PNG atomically. */
  async writePng(file: string, fig: Figure, opts?: ImageOptions): Promise<void> {
    writeFileAtomic(file, await this.png(fig, opts));
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = null;
    this.page = null;
    if (b) await b.close();
  }
}
