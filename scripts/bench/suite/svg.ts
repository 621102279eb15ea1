/**
 * The chart of `deno task bench:all`: small multiples, one panel per
 * (project, mode) build series, bars per tool (median wall time, with the
 * min–max whisker), each panel on its own linear scale. Hand-written SVG.
 *
 * @module
 */
import { label } from "./report.ts";
import type { Results } from "./types.ts";

const COLORS: Record<string, string> = {
  none: "#8c8c8c",
  ccache: "#4e79a7",
  sccache: "#f28e2b",
  zccache: "#59a14f",
  "zccache-lib": "#b07aa1",
};
const ORDER = ["none", "ccache", "sccache", "zccache", "zccache-lib"];

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const fmt = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(x >= 10000 ? 0 : 1)} s` : `${x.toFixed(x >= 100 ? 0 : 1)} ms`;

/** The SVG document for `r` (a panel per build series present). */
export function renderSvg(r: Results): string {
  const groups: { project: string; mode: string }[] = [];
  for (const s of r.series) {
    if (s.kind !== "build" || s.samples_ms.length === 0) continue;
    if (!groups.some((g) => g.project === s.project && g.mode === s.mode)) {
      groups.push({ project: s.project, mode: s.mode });
    }
  }
  const tools = ORDER.filter((l) => r.series.some((s) => s.kind === "build" && s.launcher === l));
  const pw = 60 + 34 * Math.max(tools.length, 1);
  const ph = 220;
  const top = 56;
  const W = Math.max(480, 20 + groups.length * (pw + 16), 30 + tools.length * 150);
  const H = top + ph + 70;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(
    `<text x="10" y="18" font-size="14" font-weight="bold">${
      esc(`zccache-ts bench:all — build wall time, median of rounds (${r.date.slice(0, 10)})`)
    }</text>`,
  );
  o.push(
    `<text x="10" y="34" fill="#555">${
      esc(
        `${r.machine.nproc} CPUs, make -j${r.options.jobs}; each panel has its own scale; whiskers: min–max${
          r.options.smoke ? "; SMOKE RUN" : ""
        }`,
      )
    }</text>`,
  );
  groups.forEach((g, gi) => {
    const x0 = 20 + gi * (pw + 16);
    const rows = tools.map((l) =>
      r.series.find((s) =>
        s.kind === "build" && s.project === g.project && s.mode === g.mode && s.launcher === l
      )
    );
    const max = Math.max(1e-9, ...rows.map((s) => (s ? s.summary.max : 0)));
    o.push(
      `<rect x="${x0}" y="${top}" width="${pw}" height="${ph}" fill="#f7f7f7" stroke="#ddd"/>`,
    );
    o.push(
      `<text x="${x0 + pw / 2}" y="${top - 6}" text-anchor="middle" font-weight="bold">${
        esc(`${g.project} ${g.mode}`)
      }</text>`,
    );
    const inner = ph - 30;
    rows.forEach((s, i) => {
      const bx = x0 + 30 + i * 34;
      if (!s) return;
      const h = inner * s.summary.median / max;
      const y = top + ph - 10 - h;
      const c = COLORS[s.launcher] ?? "#999";
      o.push(
        `<rect x="${bx}" y="${y.toFixed(1)}" width="24" height="${
          h.toFixed(1)
        }" fill="${c}"><title>${
          esc(`${label(s.launcher)}: ${fmt(s.summary.median)}`)
        }</title></rect>`,
      );
      const ylo = top + ph - 10 - inner * s.summary.min / max;
      const yhi = top + ph - 10 - inner * s.summary.max / max;
      o.push(
        `<line x1="${bx + 12}" x2="${bx + 12}" y1="${ylo.toFixed(1)}" y2="${
          yhi.toFixed(1)
        }" stroke="#333"/>`,
      );
      o.push(
        `<text x="${bx + 12}" y="${
          (Math.min(y, yhi) - 4).toFixed(1)
        }" text-anchor="middle" font-size="9">${esc(fmt(s.summary.median))}</text>`,
      );
    });
  });
  // Legend.
  tools.forEach((l, i) => {
    const lx = 20 + i * 150;
    const ly = top + ph + 30;
    o.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[l] ?? "#999"}"/>`);
    o.push(`<text x="${lx + 18}" y="${ly}">${esc(label(l))}</text>`);
  });
  o.push("</svg>");
  return o.join("\n") + "\n";
}
