/**
 * Atrium's demo: a group video call built on the unmodified twilio-video SDK, pointed at this
 * Atrium with `wsServer`. The token comes from the development-only `/dev/token` endpoint; a real
 * app mints it on its own server with a Twilio helper library, exactly as it would for Twilio.
 *
 * This file is the call's lifecycle (join, leave) and wiring; the grid (grid.ts, layout.ts), its
 * tiles (tile.ts, quality-bars.ts), what they show (room-view.ts), the control bar (controls.ts),
 * the chat (chat.ts) and screen sharing (screen-share.ts) live in their own modules.
 */
import * as Video from 'twilio-video';
import type { LocalAudioTrack, LocalVideoTrack, Room } from 'twilio-video';
import { Chat } from './chat';
import { Controls } from './controls';
import { byId } from './dom';
import { Grid } from './grid';
import { RoomView, type LocalMedia } from './room-view';
import { canShareScreen, startScreenShare, stopScreenShare } from './screen-share';

/** `wsServer` is honoured by every published build but missing from the SDK's type definitions. */
type AtriumConnectOptions = Video.ConnectOptions & { wsServer: string };

const ui = {
  status: byId<HTMLParagraphElement>('status'),
  roomInfo: byId<HTMLElement>('room-info'),
  roomName: byId<HTMLElement>('room-name'),
  peopleCount: byId<HTMLElement>('people-count'),
  lobby: byId<HTMLElement>('lobby'),
  joinForm: byId<HTMLFormElement>('join-form'),
  identity: byId<HTMLInputElement>('identity'),
  room: byId<HTMLInputElement>('room'),
  join: byId<HTMLButtonElement>('join'),
  call: byId<HTMLElement>('call'),
  grid: byId<HTMLElement>('grid'),
};

interface Call extends LocalMedia {
  room: Room;
  data: Video.LocalDataTrack;
  view: RoomView;
  screen?: LocalVideoTrack;
}
let call: Call | undefined;
let chatOpen = !matchMedia('(max-width: 48rem)').matches;
let unread = 0;

const grid = new Grid(ui.grid);
const chat = new Chat(byId('messages'), byId('chat-form'), byId('chat-input'), (text) => {
  if (!call) return false;
  call.data.send(text);
  chat.add(`${call.room.localParticipant.identity} (you)`, text, true);
  return true;
});
const controls = new Controls({
  toggleAudio() {
    // disable()/enable() keep the track published; the others see it as muted rather than gone.
    if (call?.audio) call.audio.enable(!call.audio.isEnabled);
    refresh();
  },
  toggleVideo() {
    if (call?.video) call.video.enable(!call.video.isEnabled);
    refresh();
  },
  toggleScreen() {
    if (call?.screen) endScreenShare(call.screen);
    else void shareScreen();
  },
  toggleChat() {
    chatOpen = !chatOpen;
    if (chatOpen) unread = 0;
    refresh();
  },
  leave() {
    call?.room.disconnect();
  },
});

function setStatus(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

/** Everything that depends on the call's state but not on one event: controls, panel, header. */
function refresh(): void {
  controls.update({
    hasAudio: !!call?.audio,
    audioOn: call?.audio?.isEnabled ?? false,
    hasVideo: !!call?.video,
    videoOn: call?.video?.isEnabled ?? false,
    canShare: canShareScreen(),
    sharing: !!call?.screen,
    chatOpen,
    unread,
  });
  call?.view.refreshLocal();
  ui.call.classList.toggle('chat-open', chatOpen);
  const people = call ? call.room.participants.size + 1 : 0;
  ui.peopleCount.textContent = people === 1 ? '1 person' : `${people} people`;
}

function watchRoom(room: Room): void {
  const here = [...room.participants.values()].map((p) => p.identity);
  chat.add(null, here.length ? `You joined. Already here: ${here.join(', ')}.` : 'You joined. Nobody else is here yet.');
  room.on('participantConnected', (participant) => {
    chat.add(null, `${participant.identity} joined`);
    refresh();
  });
  room.on('participantDisconnected', (participant) => {
    chat.add(null, `${participant.identity} left`);
    refresh();
  });
  room.on('trackMessage', (data, _track, participant) => {
    chat.add(participant.identity, typeof data === 'string' ? data : `(${data.byteLength} bytes)`);
    if (!chatOpen) {
      unread++;
      refresh();
    }
  });
  room.on('reconnecting', () => setStatus('Connection lost, reconnecting…'));
  room.on('reconnected', () => setStatus(`In room ${room.name}`));
  room.on('disconnected', (_room, error) => {
    endCall();
    // A plain Leave disconnects without an error; anything else says why (e.g. 53118 room completed).
    if (error) setStatus(`Disconnected: ${error.message} (${error.code})`, true);
    else setStatus('You left the room.');
  });
}

async function fetchToken(identity: string, room: string): Promise<string> {
  const query = new URLSearchParams({ identity, room });
  const res = await fetch(`/dev/token?${query}`);
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string; code?: number };
  if (!res.ok || !body.token) {
    throw new Error(body.message ? `${body.message} (${body.code})` : `token request failed with HTTP ${res.status}`);
  }
  return body.token;
}

/** Camera and microphone if the browser grants them; joining without them still allows chat. */
async function localMedia(): Promise<LocalMedia> {
  try {
    const tracks = await Video.createLocalTracks({
      audio: { name: 'microphone' },
      video: { name: 'camera', width: 640, height: 360, frameRate: 24 },
    });
    return {
      audio: tracks.find((t): t is LocalAudioTrack => t.kind === 'audio'),
      video: tracks.find((t): t is LocalVideoTrack => t.kind === 'video'),
    };
  } catch (error) {
    chat.add(null, `No camera or microphone: ${error instanceof Error ? error.message : String(error)}`);
    return {};
  }
}

async function join(identity: string, roomName: string): Promise<void> {
  ui.join.disabled = true;
  setStatus('Connecting…');
  let media: LocalMedia = {};
  try {
    const token = await fetchToken(identity, roomName);
    media = await localMedia();
    const data = new Video.LocalDataTrack();
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const options: AtriumConnectOptions = {
      name: roomName,
      tracks: [media.audio, media.video, data].filter((t) => t !== undefined),
      wsServer: scheme + location.host + '/signaling/' + encodeURIComponent(roomName),
      // Who is speaking, and everyone's network quality (their own and the others', level 1).
      dominantSpeaker: true,
      networkQuality: { local: 1, remote: 1 },
      // Grid mode: every tile matters equally. The SDK switches off videos nobody can see and
      // asks for the size each tile is shown at.
      bandwidthProfile: { video: { mode: 'grid', clientTrackSwitchOffControl: 'auto', contentPreferencesMode: 'auto' } },
      // Otherwise the SDK also reports telemetry to Twilio's servers, token included.
      insights: false,
    };
    const room = await Video.connect(token, options);
    history.replaceState(null, '', `?room=${encodeURIComponent(roomName)}`);
    ui.lobby.hidden = true;
    ui.call.hidden = false;
    ui.roomInfo.hidden = false;
    ui.roomName.textContent = room.name;
    // The grid measures the stage, which has a size only now that it is shown.
    call = { room, data, ...media, view: new RoomView(room, grid, media) };
    setStatus(`In room ${room.name}`);
    watchRoom(room);
    refresh();
  } catch (error) {
    media.audio?.stop();
    media.video?.stop();
    const code = (error as { code?: unknown }).code;
    setStatus(`Could not join: ${error instanceof Error ? error.message : String(error)}${typeof code === 'number' ? ` (${code})` : ''}`, true);
  } finally {
    ui.join.disabled = false;
  }
}

async function shareScreen(): Promise<void> {
  const room = call?.room;
  if (!room) return;
  try {
    const track = await startScreenShare(room, endScreenShare);
    // The call may have ended, or another share started, while the browser was asking.
    if (!call || call.room !== room || call.screen) {
      stopScreenShare(room, track);
      return;
    }
    call.screen = track;
    call.view.showLocalScreen(track);
    refresh();
  } catch (error) {
    // Cancelling the browser's picker is a NotAllowedError: nothing to report.
    if (!(error instanceof DOMException && error.name === 'NotAllowedError')) {
      chat.add(null, `Could not share the screen: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function endScreenShare(track: LocalVideoTrack): void {
  if (call?.screen === track) {
    call.screen = undefined;
    call.view.hideLocalScreen(track);
    stopScreenShare(call.room, track);
  } else if (!track.isStopped) {
    track.stop();
  }
  refresh();
}

function endCall(): void {
  if (!call) return;
  const ended = call;
  call = undefined;
  if (ended.screen) stopScreenShare(ended.room, ended.screen);
  ended.audio?.stop();
  ended.video?.stop();
  grid.clear();
  chat.clear();
  unread = 0;
  ui.call.hidden = true;
  ui.roomInfo.hidden = true;
  ui.lobby.hidden = false;
  refresh();
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void join(ui.identity.value.trim(), ui.room.value.trim());
});

// Leaving the page should leave the room at once, not after the server's heartbeat timeout.
window.addEventListener('pagehide', () => call?.room.disconnect());

ui.room.value = new URLSearchParams(location.search).get('room') ?? 'demo';
ui.identity.value = `guest-${Math.random().toString(36).slice(2, 6)}`;
refresh();
ui.join.disabled = false;
