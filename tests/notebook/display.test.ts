import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bannerBundle,
  figureBundle,
  newElementId,
  NotebookDisplay,
  PLOTLY_MIME,
  stableId,
  tableBundle,
  type DisplayMessage,
} from "../../src/notebook/display.js";
import { band } from "../../src/viz/px.js";
import { taskScalingFigure } from "../../src/viz/figures.js";

const rows = [
  { method: "bcr", formula: "y = 456.9*exp(-0.5751*N)", acc: 0.51234 },
  { method: "<single>", formula: "", acc: 0.9 },
];

test("tableBundle: HTML (escaped, sortable where scripts run) and a plain-text fallback, no Markdown", () => {
  const b = tableBundle(rows, { caption: "fits" });
  assert.deepEqual(
    Object.keys(b).sort(),
    ["text/html", "text/plain"],
    "untrusted Jupyter drops text/markdown: none is sent",
  );
  assert.match(b["text/html"]!, /<table>/);
  assert.match(b["text/html"]!, /&lt;single&gt;/);
  assert.match(b["text/html"]!, /456\.9\*exp/, "no Markdown escaping inside HTML");
  assert.match(b["text/html"]!, /<script>.*click to sort/s);
  assert.equal(
    b["text/plain"],
    "fits\nmethod    formula                      acc\n--------  ------------------------  ------\nbcr       y = 456.9*exp(-0.5751*N)  0.5123\n<single>                               0.9\n",
  );
});

test("figureBundle: the PNG inside the HTML (shown without scripts) and beside it; plotly loaded from the local assets copy", () => {
  const fig = taskScalingFigure([{ method: "bcr", ns: [1, 2], tokensPerProblem: [30, 28], accuracy: [0.9, 0.8] }]);
  const png = new Uint8Array([137, 80, 78, 71]);
  const b = figureBundle(fig, png);
  const b64 = Buffer.from(png).toString("base64");
  assert.equal(b["image/png"], b64);
  assert.match(b["text/html"]!, new RegExp(`<img src="data:image/png;base64,${b64}"`));
  assert.match(b["text/html"]!, /plotly:base\+"files\/"\+dir\+"assets\/plotly\.min"/);
  assert.doesNotMatch(b["text/html"]!, /https?:\/\//, "no network");
  assert.doesNotMatch(b["text/html"]!, /<\/script>[\s\S]*<\/script>[\s\S]*<\/script>/, "one script only");
  assert.equal(b["text/plain"], `[figure] ${fig.layout.title!.text}`);
  // The figure JSON is embedded safely: a title with </script> cannot close the element.
  const evil = figureBundle({ data: [], layout: { title: { text: "</script><b>x" } } }, null);
  assert.equal(evil["text/html"]!.split("</script>").length, 2);
  assert.equal(evil["image/png"], undefined);
});

test("NotebookDisplay sends bundles to its sink; a display id makes later sends updates", async () => {
  const sent: [DisplayMessage, boolean][] = [];
  let rendered = 0;
  const nb = new NotebookDisplay({
    sink: (m, u) => sent.push([m, u]),
    renderer: {
      png: async () => {
        rendered++;
        return new Uint8Array([1]);
      },
    },
  });
  nb.table(rows);
  await nb.figure(taskScalingFigure([]));
  nb.banner("SMOKE TEST, NOT A RESULT");
  nb.show({ "text/plain": "a" }, "id-1");
  nb.show({ "text/plain": "b" }, "id-1", true);
  assert.equal(rendered, 1);
  assert.deepEqual(
    sent.map(([m, u]) => [Object.keys(m.data).sort().join(","), m.transient.display_id ?? null, u]),
    [
      ["text/html,text/plain", null, false],
      ["application/vnd.plotly.v1+json,image/png,text/html,text/plain", null, false],
      ["text/html,text/plain", null, false],
      ["text/plain", "id-1", false],
      ["text/plain", "id-1", true],
    ],
  );
  assert.deepEqual(bannerBundle("x")["text/plain"], "x");
});

test("figureBundle carries the Plotly JSON mime type (JupyterLab, VS Code) beside the HTML and the PNG", () => {
  const fig = band([{ x: 1, mean: 0.5, lo: 0.4, hi: 0.6 }], { x: "x", y: "mean", rateAxis: true, title: "b" });
  const b = figureBundle(fig, new Uint8Array([1, 2]), { height: 300 });
  assert.deepEqual(Object.keys(b).sort(), [PLOTLY_MIME, "image/png", "text/html", "text/plain"].sort());
  const json = b[PLOTLY_MIME]!;
  assert.deepEqual(json.data, fig.data);
  assert.deepEqual(json.layout, { ...fig.layout, height: 300 });
  assert.equal(typeof json, "object", "a JSON mime type carries the object, not a string");
});

test("element ids are hashes of what is shown: the same figure or table gives the same id in every call, never a time", () => {
  const fig = taskScalingFigure([{ method: "bcr", ns: [1, 2], tokensPerProblem: [30, 28], accuracy: [0.9, 0.8] }]);
  const id = (html: string) => /id="([^"]+)"/.exec(html)![1]!;
  const a = id(figureBundle(fig, null)["text/html"]!);
  const b = id(figureBundle(fig, null)["text/html"]!);
  assert.equal(a, b);
  assert.match(a, /^bcr-fig-[0-9a-f]{12}$/);
  assert.notEqual(id(figureBundle(taskScalingFigure([]), null)["text/html"]!), a, "another figure, another id");
  assert.equal(id(tableBundle(rows)["text/html"]!), id(tableBundle(rows)["text/html"]!));
  assert.notEqual(id(tableBundle(rows)["text/html"]!), id(tableBundle(rows, { caption: "x" })["text/html"]!));
  assert.equal(stableId("p", "abc"), "p-ba7816bf8f01");
  // a figure shown twice on one page: each script draws into the last element with its id
  assert.match(figureBundle(fig, null)["text/html"]!, /querySelectorAll\('\[id="bcr-fig-[0-9a-f]{12}"\]'\)/);
  // ids of outputs updated in place count within the kernel, with no time in them
  const [x, y] = [newElementId("live"), newElementId("live")];
  assert.match(x, /^live-\d+$/);
  assert.equal(Number(y.split("-")[1]), Number(x.split("-")[1]) + 1);
});
