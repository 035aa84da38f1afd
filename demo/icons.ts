/**
 * The demo's icons, drawn inline (the page loads nothing from elsewhere): 24×24, stroked with
 * the current text colour, so CSS colours them.
 */
const SVG = 'http://www.w3.org/2000/svg';

const shapes = {
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"/>',
  micOff: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M4 4l16 16"/>',
  camera: '<rect x="3" y="6.5" width="12.5" height="11" rx="2.5"/><path d="M15.5 10.5l5-3v9l-5-3"/>',
  cameraOff: '<rect x="3" y="6.5" width="12.5" height="11" rx="2.5"/><path d="M15.5 10.5l5-3v9l-5-3M4 4l16 16"/>',
  screen: '<rect x="3" y="4" width="18" height="12.5" rx="2"/><path d="M8.5 20h7M12 16.5V20M12 13V7.5M9.5 10l2.5-2.5 2.5 2.5"/>',
  chat: '<path d="M4.5 5.5h15a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H10l-4.5 3.5v-3.5h-1a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1z"/>',
  leave: '<path d="M3.5 13.5c4.7-4 12.3-4 17 0l-1.6 2.6-3.6-1V12.5c-2.1-.7-4.5-.7-6.6 0v2.6l-3.6 1z"/>',
  pause: '<rect x="7" y="5.5" width="3.5" height="13" rx="1"/><rect x="13.5" y="5.5" width="3.5" height="13" rx="1"/>',
  people: '<circle cx="9" cy="8.5" r="3.5"/><path d="M3 19.5c.6-3.4 3-5.5 6-5.5s5.4 2.1 6 5.5M15.5 5.2a3.5 3.5 0 0 1 0 6.6M17.5 14.4c1.8.7 3 2.5 3.5 5.1"/>',
} as const;

export type IconName = keyof typeof shapes;

export function icon(name: IconName, className = 'icon'): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  // The shapes are constants of this file, never data from the room.
  svg.innerHTML = shapes[name];
  return svg;
}
