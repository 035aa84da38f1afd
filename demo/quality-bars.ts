/**
 * Network-quality bars: five bars, lit up to the participant's level (0–5), as Twilio's Network
 * Quality API reports it. `data-level` holds the level, and is absent while it is unknown (the
 * first report arrives a few seconds after joining; until then the bars are dimmed).
 */
import { el } from './dom';

export function createQualityBars(): HTMLElement {
  const bars = el('span', 'quality');
  for (let i = 1; i <= 5; i++) bars.append(el('i'));
  setQualityLevel(bars, null);
  return bars;
}

export function setQualityLevel(bars: HTMLElement, level: number | null): void {
  if (level === null || !Number.isInteger(level) || level < 0 || level > 5) {
    delete bars.dataset.level;
    bars.title = 'Network quality: measuring…';
  } else {
    bars.dataset.level = String(level);
    bars.title = `Network quality: ${level} of 5`;
  }
  bars.setAttribute('aria-label', bars.title);
  bars.setAttribute('role', 'img');
}
