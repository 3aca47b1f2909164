/**
 * One color per method, the same in every figure, carrying meaning:
 * - a hue per method family: the run kinds (`sft`, `single`, `bcr`) and every reward shaping
 *   have fixed, distinct base colors; a label that starts with one of those names followed by a
 *   separator (`@ - _ / : (` or a space: `linear@1`, `l1-exact@0.01`, `bcr/seed-0`,
 *   `sft (before RL)`) belongs to that family;
 * - strength as lightness: `<family>@<number>` (linear@0.5 ... linear@5) is the family's hue,
 *   lighter for a weaker strength and darker for a stronger one, on a fixed log scale
 *   (0.1 lightest ... 10 darkest), so one strength has one shade in every figure whatever
 *   else is drawn beside it;
 * - controls a shade of their own: a budget control `<kind>@b<tokens>` (single@b40, the matched
 *   per-problem budget) is a fixed teal, not the black of `single`.
 * - variants a shade of their family's hue: `bcr-split` (bcr's budget split into equal
 *   per-problem caps, the sharing experiment's control) is bcr's blue, darker (lightness 0.28
 *   against bcr's 0.41), so it reads as bcr's relative and is never taken for bcr; its runs
 *   (`bcr-split/seed-1`) keep it.
 * Any other name gets a color from a hash of the name, so it is stable across figures and
 * processes too.
 */
const FIXED: Record<string, string> = {
  sft: "#7f7f7f",
  base: "#c7c7c7",
  single: "#111111",
  bcr: "#1f77b4",
  "bcr-split": "#15517a",
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

/** The color of budget-matched controls (`single@b40`): distinct from every family's base. */
export const CONTROL_COLOR = "#17a589";

/**
 * Lightness of a strength on the fixed log scale: 0.1 -> 0.80, 10 -> 0.25 (HSL), clamped outside.
 * A decade spans half the range, so the strengths a sweep uses (0.5, 1, 2, 5) stay
 * tellable apart (0.61, 0.53, 0.44, 0.33).
 */
function strengthLightness(strength: number): number {
  const t = Math.min(1, Math.max(0, (Math.log10(strength) + 1) / 2));
  return 0.8 - t * 0.55;
}

function hexToHsl(hex: string): [number, number, number] {
  const r = parseInt(hex.slice(1, 3), 16) / 255,
    g = parseInt(hex.slice(3, 5), 16) / 255,
    b = parseInt(hex.slice(5, 7), 16) / 255;
  const max = Math.max(r, g, b),
    min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === r ? (g - b) / d + (g < b ? 6 : 0) : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return [h / 6, s, l];
}

function hslToHex(h: number, s: number, l: number): string {
  const f = (n: number) => {
    const k = (n + h * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** The family's hue and saturation at the strength's lightness. */
export function shadeFor(base: string, strength: number): string {
  const [h, s] = hexToHsl(base);
  return hslToHex(h, s, strengthLightness(strength));
}

export function methodColor(method: string): string {
  const key = method.trim().toLowerCase();
  if (FIXED[key]) return FIXED[key];
  for (const name of NAMES) {
    if (!(key.startsWith(name) && SEPARATORS.includes(key.charAt(name.length)))) continue;
    if (key.charAt(name.length) === "@") {
      // `@<number>` up to the next separator (a seed suffix such as /seed-1 does not change it)
      const param = /^@(b?)(\d+(?:\.\d+)?(?:e-?\d+)?)(?=$|[/:( _-])/.exec(key.slice(name.length));
      if (param?.[1] === "b") return CONTROL_COLOR;
      if (param && Number(param[2]) > 0) return shadeFor(FIXED[name]!, Number(param[2]));
    }
    return FIXED[name]!;
  }
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
