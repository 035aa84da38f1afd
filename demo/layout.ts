/**
 * Where each tile goes: pure arithmetic, so the grid can place tiles absolutely (and animate
 * them) without moving video elements around the DOM.
 *
 * gridLayout: n tiles of one aspect ratio, as large as the area allows. It tries every column
 * count, keeps the one with the largest tiles (preferring rows of side-by-side tiles to a column
 * of them when the sizes are close), spreads tiles evenly over the rows (10 → 4+3+3, not 4+4+2)
 * and centres each row, so 1–16 people always fill the stage without scrolling.
 *
 * spotlightLayout: one large tile (a shared screen) beside a strip of the others, on the right
 * in landscape and along the bottom in portrait.
 */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function gridLayout(n: number, area: Rect, gap: number, aspect: number): Rect[] {
  if (n <= 0 || area.w <= 0 || area.h <= 0) return [];
  const candidates: { cols: number; rows: number; w: number }[] = [];
  for (let rows = 1; rows <= n; rows++) {
    // The widest row decides the size; rows are filled evenly.
    const cols = Math.ceil(n / rows);
    if (candidates.some((c) => c.cols === cols)) continue;
    const w = Math.min((area.w - gap * (cols - 1)) / cols, ((area.h - gap * (rows - 1)) / rows) * aspect);
    candidates.push({ cols, rows, w });
  }
  const largest = Math.max(...candidates.map((c) => c.w));
  // Side by side reads better than stacked: a layout with at least as many columns as rows wins
  // over a slightly larger one (within 15%) with more rows.
  const wide = candidates.filter((c) => c.cols >= c.rows && c.w >= largest * 0.85);
  const best = wide.length ? wide.reduce((a, b) => (b.w > a.w ? b : a)) : candidates.find((c) => c.w === largest)!;
  const w = Math.max(0, Math.floor(best.w));
  const h = Math.floor(w / aspect);
  const rows = best.rows;
  const perRow = Math.floor(n / rows);
  const longRows = n % rows; // the first rows take one more tile
  const blockH = rows * h + (rows - 1) * gap;
  let y = area.y + (area.h - blockH) / 2;
  const rects: Rect[] = [];
  for (let row = 0; row < rows; row++) {
    const count = perRow + (row < longRows ? 1 : 0);
    const rowW = count * w + (count - 1) * gap;
    let x = area.x + (area.w - rowW) / 2;
    for (let i = 0; i < count; i++) {
      rects.push({ x: Math.round(x), y: Math.round(y), w, h });
      x += w + gap;
    }
    y += h + gap;
  }
  return rects;
}

export function spotlightLayout(others: number, area: Rect, gap: number, aspect: number): { main: Rect; strip: Rect[] } {
  if (others === 0) return { main: area, strip: [] };
  if (area.w >= area.h) {
    const stripW = Math.round(Math.min(320, Math.max(160, area.w * 0.22)));
    const main = { x: area.x, y: area.y, w: area.w - stripW - gap, h: area.h };
    const strip = { x: area.x + main.w + gap, y: area.y, w: stripW, h: area.h };
    return { main, strip: gridLayout(others, strip, gap, aspect) };
  }
  const stripH = Math.round(Math.min(220, Math.max(96, area.h * 0.25)));
  const main = { x: area.x, y: area.y, w: area.w, h: area.h - stripH - gap };
  const strip = { x: area.x, y: area.y + main.h + gap, w: area.w, h: stripH };
  return { main, strip: gridLayout(others, strip, gap, aspect) };
}
