/**
 * One tile of the grid: a participant's camera (or a shared screen), with their name, an avatar
 * while there is no picture, a muted-microphone badge, network-quality bars, a "paused" overlay
 * when the media server switches their video off, and a ring while they are the dominant speaker.
 * A tile only shows state; room-view.ts decides it from the room's events.
 */
import type { AudioTrack, VideoTrack } from 'twilio-video';
import { el, hueOf, initials } from './dom';
import { icon } from './icons';
import { createQualityBars, setQualityLevel } from './quality-bars';

export type TileKind = 'camera' | 'screen';

export interface TileOptions {
  /** Unique in the grid: a participant sid for cameras, a track sid for screens. */
  key: string;
  identity: string;
  kind: TileKind;
  isLocal: boolean;
}

export class Tile {
  readonly element: HTMLElement;
  readonly key: string;
  readonly kind: TileKind;
  readonly isLocal: boolean;
  private readonly media: HTMLElement;
  private readonly quality: HTMLElement;
  private readonly tracks = new Set<AudioTrack | VideoTrack>();

  constructor({ key, identity, kind, isLocal }: TileOptions) {
    this.key = key;
    this.kind = kind;
    this.isLocal = isLocal;

    this.media = el('div', 'media');
    const avatar = el('div', 'avatar', el('span', 'initials', initials(identity)));
    avatar.style.setProperty('--hue', String(hueOf(identity)));
    const paused = el('div', 'paused', icon('pause'), el('span', '', 'Video paused to save bandwidth'));
    this.quality = createQualityBars();

    const label = el('div', 'label');
    if (kind === 'camera') {
      const speaking = el('span', 'speaking', el('i'), el('i'), el('i'));
      speaking.title = 'Speaking';
      label.append(el('span', 'mic-off', icon('micOff')), el('span', 'name', isLocal ? `${identity} (you)` : identity), speaking);
    } else {
      label.append(icon('screen'), el('span', 'presenter', isLocal ? 'You are presenting' : `${identity} is presenting`));
    }

    this.element = el('div', `tile ${kind}`, this.media, avatar, paused, label);
    if (kind === 'camera') this.element.append(el('div', 'badges', this.quality));
    if (isLocal) this.element.classList.add('local');
    this.element.dataset.key = key;
    this.element.dataset.identity = identity;
    // Until a picture arrives, the avatar shows.
    this.setVideoOff(true);
  }

  /** Adds the track's element (idempotent: a track is attached to a tile once). */
  attach(track: AudioTrack | VideoTrack): void {
    if (this.tracks.has(track)) return;
    this.tracks.add(track);
    const element = track.attach();
    if (track.kind === 'video') this.media.prepend(element);
    else this.media.append(element);
  }

  detach(track: AudioTrack | VideoTrack): void {
    if (!this.tracks.delete(track)) return;
    for (const element of track.detach()) if (this.media.contains(element)) element.remove();
  }

  /** Shows exactly these tracks: attaches the new ones, detaches the ones no longer listed. */
  show(tracks: (AudioTrack | VideoTrack | null | undefined)[]): void {
    const wanted = new Set(tracks.filter((t) => t != null));
    for (const track of [...this.tracks]) if (!wanted.has(track)) this.detach(track);
    for (const track of wanted) this.attach(track);
  }

  detachAll(): void {
    for (const track of [...this.tracks]) this.detach(track);
  }

  setVideoOff(off: boolean): void {
    this.element.classList.toggle('video-off', off);
  }

  setMuted(muted: boolean): void {
    this.element.classList.toggle('muted', muted);
  }

  setSwitchedOff(off: boolean): void {
    this.element.classList.toggle('switched-off', off);
  }

  setDominant(dominant: boolean): void {
    this.element.classList.toggle('dominant', dominant);
  }

  setQuality(level: number | null): void {
    setQualityLevel(this.quality, level);
  }

  remove(): void {
    this.detachAll();
    this.element.remove();
  }
}
