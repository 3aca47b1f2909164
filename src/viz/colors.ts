/**
 * One color per method, the same in every figure. Known method names (the reward shapings and
 * the usual run labels) have fixed colors; any other name gets a color from a hash of the name,
 * so it is stable across figures and processes too.
 */
const FIXED: Record<string, string> = {
  bcr: "#1f77b4",
  accuracy: "#6baed6",
  base: "#7f7f7f",
  linear: "#d62728",
  kimi: "#ff7f0e",
  efficient: "#2ca02c",
  "l1-exact": "#9467bd",
  "l1-max": "#8c564b",
  "dapo-overlong": "#e377c2",
  thinkprune: "#bcbd22",
  "shorter-better": "#17becf",
};

const PALETTE = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];

export function methodColor(method: string): string {
  const key = method.toLowerCase();
  if (FIXED[key]) return FIXED[key];
  for (const [name, color] of Object.entries(FIXED)) if (key.startsWith(`${name}-`) || key.startsWith(`${name}_`)) return color;
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

/** "#rrggbb" -> "rgba(r,g,b,alpha)". */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`withAlpha: expected #rrggbb, got ${hex}`);
  return `rgba(${parseInt(m[1]!, 16)},${parseInt(m[2]!, 16)},${parseInt(m[3]!, 16)},${alpha})`;
}
