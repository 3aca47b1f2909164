/**
 * Notebook outputs that render when a notebook is opened, not only when it runs.
 *
 * Jupyter Notebook 6 treats a notebook it did not sign as untrusted: it drops `text/markdown`
 * outputs and strips <script> from HTML. So every output here is a MIME bundle whose richest
 * part needs no trust to show and whose plain part needs nothing at all:
 *   tables:  text/html (arquero's <table>, sortable by a header click where scripts run) + text/plain
 *   figures: application/vnd.plotly.v1+json (the figure itself: JupyterLab with its Plotly
 *            renderer and VS Code draw it natively, no script, no trust) + text/html (a <div>
 *            holding the PNG as an <img>, replaced by the interactive Plotly figure where scripts
 *            run: the classic Notebook) + image/png (viewers that skip HTML) + text/plain (the title)
 * plotly.js comes from ONE local copy, `notebooks/assets/plotly.min.js` (copied from
 * node_modules by `npm run notebooks:setup`, git-ignored), loaded through the notebook page's
 * require.js from Jupyter's /files/ route: no network, nothing inlined per figure.
 *
 * tslab's own `display.raw` sends one MIME type per message; the bundle goes through the same
 * kernel writer (`jupyterSink`). Tests pass a fake sink.
 *
 * Outputs are deterministic, so a re-executed notebook differs from the committed one only where
 * its numbers do: a figure's or table's element id is a hash of what it shows (`stableId`), never
 * a time; `newElementId` (live outputs, which are replaced in place) counts within the kernel.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { toHtml, toText, type FormatOptions, type TableLike } from "../analysis/tables.js";
import type { Figure } from "../viz/figures.js";

/** The MIME type of a Plotly figure as JSON (JupyterLab's and VS Code's renderers read it). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** One output's representations by MIME type: text for most, the figure object for Plotly's. */
export interface MimeBundle {
  "text/plain"?: string;
  "text/html"?: string;
  "image/png"?: string;
  [PLOTLY_MIME]?: Figure;
  [mime: string]: string | Figure | undefined;
}
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
/** Sends one display message; `update` replaces the output that has the same display_id. */
export type DisplaySink = (msg: DisplayMessage, update: boolean) => void;

/** The running tslab kernel's display writer, or null outside a tslab kernel. */
export function jupyterSink(): DisplaySink | null {
  try {
    const jupyter = createRequire(import.meta.url)("tslab/dist/jupyter.js") as {
      lastWriteDisplayData?: DisplaySink | null;
    };
    // Read at each call: tslab sets the writer per executed cell.
    return jupyter.lastWriteDisplayData ? (msg, update) => jupyter.lastWriteDisplayData!(msg, update) : null;
  } catch {
    return null;
  }
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");

let counter = 0;
/**
 * Ids for outputs replaced in place (a live view's display id): numbered within the kernel, so a
 * notebook run from the top gives the same ids every time.
 */
export function newElementId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * An element id from what the element shows: `<prefix>-<first 12 hex digits of sha256(content)>`.
 * The same figure gives the same id in every run (git sees no change); the scripts below draw into
 * the last element with their id, so the same figure shown twice on one page still draws twice.
 */
export function stableId(prefix: string, content: string): string {
  return `${prefix}-${createHash("sha256").update(content).digest("hex").slice(0, 12)}`;
}

/** The last element with this id (the one just added when the same output is shown twice). */
const lastById = (id: string) =>
  `(function(){var a=document.querySelectorAll('[id="${id}"]');return a[a.length-1];})()`;

// Sorting a table by a header click: numbers numerically, text alphabetically, click again to reverse.
const SORT_SCRIPT = (
  id: string,
) => `<script>(function(){var d=${lastById(id)};var t=d&&d.querySelector("table");if(!t)return;
var hs=t.querySelectorAll("thead th");hs.forEach(function(h,c){h.style.cursor="pointer";h.title="click to sort";h.onclick=function(){
var b=t.tBodies[0],rs=Array.prototype.slice.call(b.rows),d=h.dataset.dir==="a"?-1:1;h.dataset.dir=d>0?"a":"d";
var v=function(r){var x=r.cells[c].textContent.trim(),n=parseFloat(x);return x!==""&&isFinite(n)&&String(n)!=="NaN"?n:x;};
rs.sort(function(p,q){var a=v(p),z=v(q);return (typeof a==="number"&&typeof z==="number"?a-z:String(a).localeCompare(String(z)))*d;});
rs.forEach(function(r){b.appendChild(r);});};});})();</script>`;

export interface TableDisplayOptions extends FormatOptions {
  /** A caption above the table. */
  caption?: string;
}

/** A table as HTML (sortable where scripts run) with a plain-text fallback. */
export function tableBundle(data: TableLike, opts: TableDisplayOptions = {}): MimeBundle {
  const caption = opts.caption ? `<p><b>${esc(opts.caption)}</b></p>` : "";
  const table = toHtml(data, opts);
  const id = stableId("bcr-table", caption + table);
  return {
    "text/html": `<div id="${id}" class="bcr-table" style="max-width:100%;overflow-x:auto">${caption}${table}</div>${SORT_SCRIPT(id)}`,
    "text/plain": (opts.caption ? `${opts.caption}\n` : "") + toText(data, opts),
  };
}

/** Where the notebook page loads plotly.js from, relative to the notebook's folder (no extension: require.js). */
export const NOTEBOOK_PLOTLY = "assets/plotly.min";

/**
 * The script that swaps the PNG for the interactive figure: plotly.js from the page if loaded,
 * else through the classic Notebook's require.js from `<files>/<notebook folder>/assets/`.
 * Nothing happens (the PNG stays) where scripts do not run or the file is missing. plotly.js
 * defines itself as the AMD module "plotly", so that is the name its path is configured under.
 */
function plotlyScript(id: string, fig: Figure, height: number): string {
  return `<script>(function(){var el=${lastById(id)};if(!el)return;var fig=${scriptJson(fig)};
function draw(P){el.innerHTML="";el.style.height="${height}px";var l=Object.assign({},fig.layout,{autosize:true});delete l.width;delete l.height;
P.newPlot(el,fig.data,l,{responsive:true});}
if(window.Plotly)return draw(window.Plotly);var rq=window.requirejs||window.require;if(typeof rq!=="function"||!rq.config)return;
var base=(document.body&&document.body.getAttribute("data-base-url"))||"/";
var nb=(window.Jupyter&&window.Jupyter.notebook&&window.Jupyter.notebook.notebook_path)||"";var dir=nb.lastIndexOf("/")>=0?nb.slice(0,nb.lastIndexOf("/")+1):"";
rq.config({paths:{plotly:base+"files/"+dir+"${NOTEBOOK_PLOTLY}"}});
rq(["plotly"],function(P){P=P||window.Plotly;if(!P)return;window.Plotly=P;draw(P);},function(){});})();</script>`;
}

export interface FigureDisplayOptions {
  width?: number;
  height?: number;
}

/**
 * A figure as Plotly JSON (native in JupyterLab and VS Code), as interactive Plotly HTML with its
 * PNG inside (the classic Notebook), and as the PNG beside them for viewers without either.
 */
export function figureBundle(fig: Figure, png: Uint8Array | null, opts: FigureDisplayOptions = {}): MimeBundle {
  const height = opts.height ?? 460;
  const id = stableId("bcr-fig", JSON.stringify([fig, height]));
  const title = fig.layout.title?.text ?? "figure";
  const b64 = png ? Buffer.from(png).toString("base64") : null;
  const fallback = b64
    ? `<img src="data:image/png;base64,${b64}" alt="${esc(title)}" style="max-width:100%">`
    : `<p>${esc(title)} (interactive: needs a trusted notebook)</p>`;
  const bundle: MimeBundle = {
    "text/html": `<div id="${id}" class="bcr-figure" style="width:100%;min-height:${png ? 0 : height}px">${fallback}</div>${plotlyScript(id, fig, height)}`,
    "text/plain": `[figure] ${title}`,
    [PLOTLY_MIME]: { data: fig.data, layout: { ...fig.layout, height: fig.layout.height ?? height } },
  };
  if (b64) bundle["image/png"] = b64;
  return bundle;
}

/** A highlighted one-line message (a banner), HTML with a plain fallback. */
export function bannerBundle(text: string, kind: "warning" | "info" = "warning"): MimeBundle {
  const color =
    kind === "warning"
      ? "#9a6700;background:#fff8c5;border:1px solid #d4a72c"
      : "#0969da;background:#ddf4ff;border:1px solid #54aeff";
  return {
    "text/html": `<div style="color:${color};padding:6px 10px;border-radius:6px;font-weight:600">${esc(text)}</div>`,
    "text/plain": text,
  };
}

/** The rendering part of `Renderer` a NotebookDisplay needs (tests pass a fake). */
export interface PngRenderer {
  png(fig: Figure, opts?: { width?: number; height?: number }): Promise<Uint8Array>;
}

export interface NotebookDisplayOptions {
  /** Default: the tslab kernel's writer; without one, plain text goes to console.log. */
  sink?: DisplaySink | null;
  /** Renders each figure's PNG; null: interactive HTML only. */
  renderer?: PngRenderer | null;
  width?: number;
  height?: number;
}

/** One handle per notebook: `table(rows)`, `await figure(fig)`, `banner(text)`, and live outputs. */
export class NotebookDisplay {
  readonly sink: DisplaySink;
  private readonly renderer: PngRenderer | null;
  readonly width: number;
  readonly height: number;

  constructor(opts: NotebookDisplayOptions = {}) {
    const sink = opts.sink === undefined ? jupyterSink() : opts.sink;
    this.sink = sink ?? ((msg) => console.log(msg.data["text/plain"] ?? ""));
    this.renderer = opts.renderer ?? null;
    this.width = opts.width ?? 900;
    this.height = opts.height ?? 460;
  }

  /** Send a bundle; with `displayId`, a later `show(..., id, true)` replaces it in place. */
  show(data: MimeBundle, displayId?: string, update = false): void {
    this.sink({ data, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
  }

  table(data: TableLike, opts?: TableDisplayOptions): void {
    this.show(tableBundle(data, opts));
  }

  async figure(fig: Figure, opts?: FigureDisplayOptions): Promise<void> {
    this.show(await this.figureData(fig, opts));
  }

  /** The bundle of a figure, its PNG rendered when a renderer is set. */
  async figureData(fig: Figure, opts?: FigureDisplayOptions): Promise<MimeBundle> {
    const size = { width: opts?.width ?? this.width, height: opts?.height ?? this.height };
    const png = this.renderer ? await this.renderer.png(fig, size) : null;
    return figureBundle(fig, png, size);
  }

  banner(text: string, kind?: "warning" | "info"): void {
    this.show(bannerBundle(text, kind));
  }
}
