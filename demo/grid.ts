/**
 * The stage: every tile, positioned by layout.ts. Tiles stay where they were inserted in the DOM
 * (moving a playing <video> can pause it); only their position and size change, and CSS animates
 * that. The layout follows the stage's size (ResizeObserver) and the tile count; when someone
 * shares a screen, the newest screen takes the spotlight and everyone else moves to a strip.
 */
import { gridLayout, spotlightLayout, type Rect } from './layout';
import type { Tile } from './tile';

const GAP = 10;
const RING = 4;
/** 16:9 tiles on a landscape stage; 4:3 on a portrait one (phones), where 16:9 tiles get tiny. */
const aspectFor = (area: Rect) => (area.w >= area.h ? 16 / 9 : 4 / 3);

export class Grid {
  private readonly tiles = new Map<string, Tile>();
  private readonly observer: ResizeObserver;
  private frame = 0;

  constructor(private readonly stage: HTMLElement) {
    this.observer = new ResizeObserver(() => this.schedule());
    this.observer.observe(stage);
  }

  get(key: string): Tile | undefined {
    return this.tiles.get(key);
  }

  all(): Tile[] {
    return [...this.tiles.values()];
  }

  add(tile: Tile): Tile {
    const existing = this.tiles.get(tile.key);
    if (existing) return existing;
    this.tiles.set(tile.key, tile);
    tile.element.classList.add('entering');
    this.stage.append(tile.element);
    this.schedule();
    return tile;
  }

  remove(key: string): void {
    const tile = this.tiles.get(key);
    if (!tile) return;
    this.tiles.delete(key);
    tile.remove();
    this.schedule();
  }

  clear(): void {
    for (const tile of this.tiles.values()) tile.remove();
    this.tiles.clear();
    this.schedule();
  }

  /** Lays out once per frame however many changes arrive in it. */
  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.layout();
    });
  }

  private layout(): void {
    // A few pixels of margin, so the dominant speaker's ring and glow are not cut at the edges.
    const area: Rect = { x: RING, y: RING, w: this.stage.clientWidth - 2 * RING, h: this.stage.clientHeight - 2 * RING };
    const tiles = this.all();
    const screens = tiles.filter((t) => t.kind === 'screen');
    const spotlight = screens.at(-1);
    this.stage.dataset.count = String(tiles.filter((t) => t.kind === 'camera').length);
    this.stage.classList.toggle('spotlight', spotlight !== undefined);

    if (spotlight) {
      const others = tiles.filter((t) => t !== spotlight);
      const { main, strip } = spotlightLayout(others.length, area, GAP, aspectFor(area));
      place(spotlight, main, true);
      others.forEach((tile, i) => place(tile, strip[i]!, false));
    } else {
      const rects = gridLayout(tiles.length, area, GAP, aspectFor(area));
      tiles.forEach((tile, i) => place(tile, rects[i]!, false));
    }
  }
}

function place(tile: Tile, rect: Rect, spotlighted: boolean): void {
  const style = tile.element.style;
  style.width = `${rect.w}px`;
  style.height = `${rect.h}px`;
  style.transform = `translate(${rect.x}px, ${rect.y}px)`;
  tile.element.classList.toggle('spotlighted', spotlighted);
  tile.element.classList.toggle('small', rect.w < 220);
  // A new tile appears where it belongs; only later moves are animated.
  if (tile.element.classList.contains('entering')) {
    void tile.element.offsetWidth;
    tile.element.classList.remove('entering');
  }
}
