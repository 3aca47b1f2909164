import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Figure } from "../../src/viz/figures.js";
import { Renderer, copyPlotly, figureToHtml, plotlyBundlePath, writeFigureHtml } from "../../src/viz/render.js";

const fig: Figure = {
  data: [{ type: "scatter", mode: "lines+markers", name: "bcr </script>", x: [1, 2, 4], y: [900, 600, 400] }],
  layout: { title: { text: "tokens vs N" }, xaxis: { title: { text: "N" } }, yaxis: { title: { text: "tokens" } } },
};

test("figureToHtml references the shared plotly.js and embeds the figure JSON safely", () => {
  const html = figureToHtml(fig, { plotlySrc: "../plotly.min.js" });
  assert.match(html, /<script src="\.\.\/plotly\.min\.js"><\/script>/);
  assert.ok(html.length < 10_000, "the bundle must not be inlined");
  assert.match(html, /<title>tokens vs N<\/title>/);
  const json = /const figure = (.*);\n/.exec(html)![1]!;
  assert.ok(!json.includes("</script>"));
  assert.deepEqual(JSON.parse(json), fig);
  assert.equal(html.match(/<\/script>/g)!.length, 2);
});

test("writeFigureHtml copies plotly.min.js once beside the pages", () => {
  const dir = tempDir("bcr-html-");
  try {
    writeFigureHtml(path.join(dir, "a.html"), fig);
    const mtime = fs.statSync(path.join(dir, "plotly.min.js")).mtimeMs;
    writeFigureHtml(path.join(dir, "b.html"), fig);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["a.html", "b.html", "plotly.min.js"]);
    assert.equal(fs.statSync(path.join(dir, "plotly.min.js")).size, fs.statSync(plotlyBundlePath()).size);
    assert.equal(fs.statSync(path.join(dir, "plotly.min.js")).mtimeMs, mtime);
    assert.equal(copyPlotly(dir), path.join(dir, "plotly.min.js"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Renderer names the apt package when Chromium is missing", async () => {
  const r = new Renderer({ executablePath: "/nonexistent/chromium" });
  await assert.rejects(r.png(fig), /Chromium not found at \/nonexistent\/chromium.*apt-get install -y chromium/);
  await r.close();
});

test("Renderer renders valid PNGs (and SVG) with one browser", {
  skip: Renderer.available() ? false : "skipped: /usr/bin/chromium is absent (apt-get install -y chromium)",
}, async () => {
  const r = new Renderer();
  try {
    const png = await r.png(fig, { width: 400, height: 300 });
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset);
    assert.equal(view.getUint32(16), 400); // IHDR width
    assert.equal(view.getUint32(20), 300); // IHDR height
    assert.ok(png.length > 5_000 && png.length < 500_000, `size ${png.length}`);
    const png2 = await r.png(fig, { width: 200, height: 150, scale: 2 });
    assert.equal(new DataView(png2.buffer, png2.byteOffset).getUint32(16), 400);
    const svg = await r.svg(fig);
    assert.match(svg, /^<svg/);
    assert.match(svg, /tokens vs N/);
  } finally {
    await r.close();
  }
});
