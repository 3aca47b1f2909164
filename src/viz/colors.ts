/**
 * One color per method, the same in every figure. The run kinds (`sft`, `single`, `bcr`) and every
 * reward shaping have fixed, distinct colors; a label that starts with one of those names followed
 * by a separator (`@ - _ / : (` or a space: `linear@1`, `l1-exact@0.01`, `bcr/seed-0`,
 * `sft (before RL)`) takes that name's color. Any other name gets a color from a hash of the name,
 * so it is stable across figures and processes too.
 */
const FIXED: Record<string, string> = {
  sft: "#7f7f7f",
  base: "#c7c7c7",
  single: "#111111",
  bcr: "#1f77b4",
  accuracy: "#6baed6",
  linear: "#d62728",
  kimi: "#ff7f0e",
  efficient: "#2ca02c",
  "l1-exact": "#9467bd",
  "l1-max": "#8c564b",
  "dapo-overlong": "#e377c2",
  thinkprune: "#bcbd22",
  "shorter-better": "#17becf",
};

/** Longest names first, so `l1-exact@…` is not taken for a shorter name. */
const NAMES = Object.keys(FIXED).sort((a, b) => b.length - a.length);
const SEPARATORS = "@-_/:( ";

const PALETTE = [
  "#393b79",
  "#637939",
  "#8c6d31",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#e6550d",
  "#31a354",
  "#756bb1",
  "#636363",
];

export function methodColor(method: string): string {
  const key = method.trim().toLowerCase();
  if (FIXED[key]) return FIXED[key];
  for (const name of NAMES)
    if (key.startsWith(name) && SEPARATORS.includes(key.charAt(name.length))) return FIXED[name]!;
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
