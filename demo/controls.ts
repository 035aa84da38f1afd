/**
 * The control bar: microphone, camera, screen sharing, chat panel and leave. Each button shows an
 * icon and a label saying what pressing it does ("Mute", "Start video"), and `.off` when the
 * thing it controls is off.
 */
import { byId, el } from './dom';
import { icon, type IconName } from './icons';

export interface ControlState {
  hasAudio: boolean;
  audioOn: boolean;
  hasVideo: boolean;
  videoOn: boolean;
  canShare: boolean;
  sharing: boolean;
  chatOpen: boolean;
  unread: number;
}

export interface ControlActions {
  toggleAudio(): void;
  toggleVideo(): void;
  toggleScreen(): void;
  toggleChat(): void;
  leave(): void;
}

export class Controls {
  private readonly audio = byId<HTMLButtonElement>('toggle-audio');
  private readonly video = byId<HTMLButtonElement>('toggle-video');
  private readonly screen = byId<HTMLButtonElement>('toggle-screen');
  private readonly chat = byId<HTMLButtonElement>('toggle-chat');
  private readonly leave = byId<HTMLButtonElement>('leave');

  constructor(actions: ControlActions) {
    this.audio.addEventListener('click', () => actions.toggleAudio());
    this.video.addEventListener('click', () => actions.toggleVideo());
    this.screen.addEventListener('click', () => actions.toggleScreen());
    this.chat.addEventListener('click', () => actions.toggleChat());
    this.leave.addEventListener('click', () => actions.leave());
    render(this.leave, 'leave', 'Leave');
  }

  update(state: ControlState): void {
    this.audio.disabled = !state.hasAudio;
    render(this.audio, state.audioOn ? 'mic' : 'micOff', state.audioOn || !state.hasAudio ? 'Mute' : 'Unmute', !state.audioOn);

    this.video.disabled = !state.hasVideo;
    render(this.video, state.videoOn ? 'camera' : 'cameraOff', state.videoOn || !state.hasVideo ? 'Stop video' : 'Start video', !state.videoOn);

    // getDisplayMedia is missing on most phones and in some embedded browsers: no button there.
    this.screen.hidden = !state.canShare;
    render(this.screen, 'screen', state.sharing ? 'Stop sharing' : 'Share screen');
    this.screen.classList.toggle('live', state.sharing);

    render(this.chat, 'chat', 'Chat');
    this.chat.classList.toggle('active', state.chatOpen);
    this.chat.setAttribute('aria-expanded', String(state.chatOpen));
    if (state.unread > 0 && !state.chatOpen) this.chat.append(el('span', 'badge', String(Math.min(state.unread, 99))));
  }
}

/** Icon and label; the label alone is the button's text (what tests and screen readers read). */
function render(button: HTMLButtonElement, iconName: IconName, label: string, off = false): void {
  button.replaceChildren(icon(iconName), el('span', 'label', label));
  button.classList.toggle('off', off);
  button.title = label;
}
