/**
 * The chat panel: messages sent over each participant's LocalDataTrack, and one-line notes about
 * people joining and leaving. Text is only ever set with textContent: it comes from other people.
 */
import { el } from './dom';

export class Chat {
  constructor(
    private readonly list: HTMLOListElement,
    form: HTMLFormElement,
    input: HTMLInputElement,
    send: (text: string) => boolean,
  ) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (text && send(text)) input.value = '';
    });
  }

  /** A message; `from` null is a note from the page itself (joins, leaves, problems). */
  add(from: string | null, text: string, mine = false): void {
    const item = el('li');
    if (from === null) {
      item.className = 'system';
    } else {
      if (mine) item.className = 'mine';
      item.append(el('span', 'from', from));
    }
    item.append(el('span', 'text', text));
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    if (atBottom || mine) this.list.scrollTop = this.list.scrollHeight;
  }

  clear(): void {
    this.list.replaceChildren();
  }
}
