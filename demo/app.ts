/**
 * Atrium's demo: a small video call built on the unmodified twilio-video SDK, pointed at this
 * Atrium with `wsServer`. The token comes from the development-only `/dev/token` endpoint; a real
 * app mints it on its own server with a Twilio helper library, exactly as it would for Twilio.
 */
import * as Video from 'twilio-video';
import type { LocalAudioTrack, LocalVideoTrack, Participant, RemoteTrack, Room } from 'twilio-video';

/** `wsServer` is honoured by every published build but missing from the SDK's type definitions. */
type AtriumConnectOptions = Video.ConnectOptions & { wsServer: string };

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};

const ui = {
  status: byId<HTMLParagraphElement>('status'),
  joinForm: byId<HTMLFormElement>('join-form'),
  identity: byId<HTMLInputElement>('identity'),
  room: byId<HTMLInputElement>('room'),
  join: byId<HTMLButtonElement>('join'),
  call: byId<HTMLElement>('call'),
  grid: byId<HTMLElement>('grid'),
  messages: byId<HTMLOListElement>('messages'),
  chatForm: byId<HTMLFormElement>('chat-form'),
  chatInput: byId<HTMLInputElement>('chat-input'),
  toggleAudio: byId<HTMLButtonElement>('toggle-audio'),
  toggleVideo: byId<HTMLButtonElement>('toggle-video'),
  leave: byId<HTMLButtonElement>('leave'),
};

interface Call {
  room: Room;
  audio?: LocalAudioTrack;
  video?: LocalVideoTrack;
  data: Video.LocalDataTrack;
}
let call: Call | undefined;

function setStatus(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

function addMessage(from: string | null, text: string): void {
  const item = document.createElement('li');
  if (from === null) {
    item.className = 'system';
  } else {
    const name = document.createElement('span');
    name.className = 'from';
    name.textContent = from;
    item.append(name);
  }
  // textContent, never innerHTML: messages come from other people.
  item.append(text);
  ui.messages.append(item);
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

/** One tile per participant, keyed by participant sid so that a leave removes exactly it. */
function tileFor(participant: Participant, isLocal: boolean): HTMLElement {
  const existing = ui.grid.querySelector<HTMLElement>(`[data-sid="${CSS.escape(participant.sid)}"]`);
  if (existing) return existing;
  const tile = document.createElement('div');
  tile.className = isLocal ? 'tile local' : 'tile';
  tile.dataset.sid = participant.sid;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = isLocal ? `${participant.identity} (you)` : participant.identity;
  tile.append(name);
  ui.grid.append(tile);
  return tile;
}

function attachTrack(track: RemoteTrack | LocalVideoTrack, tile: HTMLElement): void {
  if (track.kind === 'data') return;
  tile.prepend(track.attach());
  tile.classList.toggle('video-off', track.kind === 'video' && !track.isEnabled);
}

function detachTrack(track: RemoteTrack): void {
  if (track.kind === 'data') return;
  for (const element of track.detach()) element.remove();
}

function watchRoom(room: Room): void {
  const local = tileFor(room.localParticipant, true);
  if (call?.video) attachTrack(call.video, local);

  // Tracks of people already here may have been subscribed before connect() resolved.
  for (const participant of room.participants.values()) {
    const tile = tileFor(participant, false);
    for (const publication of participant.tracks.values()) {
      if (publication.track) attachTrack(publication.track, tile);
    }
  }

  room.on('participantConnected', (participant) => {
    tileFor(participant, false);
    addMessage(null, `${participant.identity} joined`);
  });
  room.on('participantDisconnected', (participant) => {
    tileFor(participant, false).remove();
    addMessage(null, `${participant.identity} left`);
  });
  room.on('trackSubscribed', (track, _publication, participant) => attachTrack(track, tileFor(participant, false)));
  room.on('trackUnsubscribed', (track) => detachTrack(track));
  room.on('trackDisabled', (publication, participant) => {
    if (publication.kind === 'video') tileFor(participant, false).classList.add('video-off');
  });
  room.on('trackEnabled', (publication, participant) => {
    if (publication.kind === 'video') tileFor(participant, false).classList.remove('video-off');
  });
  room.on('trackMessage', (data, _track, participant) => {
    addMessage(participant.identity, typeof data === 'string' ? data : `(${data.byteLength} bytes)`);
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
async function localMedia(): Promise<{ audio?: LocalAudioTrack; video?: LocalVideoTrack }> {
  try {
    const tracks = await Video.createLocalTracks({ audio: true, video: { width: 640, height: 480 } });
    return {
      audio: tracks.find((t): t is LocalAudioTrack => t.kind === 'audio'),
      video: tracks.find((t): t is LocalVideoTrack => t.kind === 'video'),
    };
  } catch (error) {
    addMessage(null, `No camera or microphone: ${error instanceof Error ? error.message : String(error)}`);
    return {};
  }
}

async function join(identity: string, roomName: string): Promise<void> {
  ui.join.disabled = true;
  setStatus('Connecting…');
  let media: { audio?: LocalAudioTrack; video?: LocalVideoTrack } = {};
  try {
    const token = await fetchToken(identity, roomName);
    media = await localMedia();
    const data = new Video.LocalDataTrack();
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const options: AtriumConnectOptions = {
      name: roomName,
      tracks: [media.audio, media.video, data].filter((t) => t !== undefined),
      wsServer: scheme + location.host + '/signaling/' + encodeURIComponent(roomName),
      // Otherwise the SDK also reports telemetry to Twilio's servers, token included.
      insights: false,
    };
    const room = await Video.connect(token, options);
    call = { room, data, ...media };
    history.replaceState(null, '', `?room=${encodeURIComponent(roomName)}`);
    ui.joinForm.hidden = true;
    ui.call.hidden = false;
    updateToggles();
    setStatus(`In room ${room.name}`);
    watchRoom(room);
  } catch (error) {
    media.audio?.stop();
    media.video?.stop();
    const code = (error as { code?: unknown }).code;
    setStatus(`Could not join: ${error instanceof Error ? error.message : String(error)}${typeof code === 'number' ? ` (${code})` : ''}`, true);
  } finally {
    ui.join.disabled = false;
  }
}

function endCall(): void {
  if (!call) return;
  call.audio?.stop();
  call.video?.stop();
  call = undefined;
  ui.grid.replaceChildren();
  ui.messages.replaceChildren();
  ui.call.hidden = true;
  ui.joinForm.hidden = false;
}

function updateToggles(): void {
  ui.toggleAudio.disabled = !call?.audio;
  ui.toggleVideo.disabled = !call?.video;
  ui.toggleAudio.textContent = call?.audio?.isEnabled === false ? 'Unmute' : 'Mute';
  ui.toggleVideo.textContent = call?.video?.isEnabled === false ? 'Start video' : 'Stop video';
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void join(ui.identity.value.trim(), ui.room.value.trim());
});

ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text || !call) return;
  call.data.send(text);
  addMessage(`${call.room.localParticipant.identity} (you)`, text);
  ui.chatInput.value = '';
});

// disable()/enable() keep the track published; the others see it as muted rather than gone.
ui.toggleAudio.addEventListener('click', () => {
  if (call?.audio) call.audio.isEnabled ? call.audio.disable() : call.audio.enable();
  updateToggles();
});
ui.toggleVideo.addEventListener('click', () => {
  if (!call?.video) return;
  call.video.isEnabled ? call.video.disable() : call.video.enable();
  ui.grid.querySelector('.tile.local')?.classList.toggle('video-off', !call.video.isEnabled);
  updateToggles();
});

ui.leave.addEventListener('click', () => call?.room.disconnect());
// Leaving the page should leave the room at once, not after the server's heartbeat timeout.
window.addEventListener('pagehide', () => call?.room.disconnect());

ui.room.value = new URLSearchParams(location.search).get('room') ?? 'demo';
ui.identity.value = `guest-${Math.random().toString(36).slice(2, 6)}`;
ui.join.disabled = false;
