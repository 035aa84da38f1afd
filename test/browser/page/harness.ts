/**
 * Runs inside the test page, before the twilio-video browser build: it drives one participant
 * through the real SDK and records what the SDK reports, for the Node-side tests to read through
 * `page.evaluate` (see ../support/browser.ts and ../support/harness-api.ts).
 *
 * It must load first because the SDK captures `window.WebSocket` when its script runs: wrapping the
 * constructor before that is how the harness gets hold of the signaling socket to drop it.
 */
import type * as VideoSdk from 'twilio-video';
import type { ConnectOptions, LocalDataTrack, LocalTrack, RemoteParticipant, RemoteTrack, RemoteVideoTrack, Room } from 'twilio-video';
import type { ConnectionStats, ConnectResult, Failure, HarnessApi, HarnessEvent, MediaKind, PublishResult } from '../support/harness-api';

declare global {
  interface Window {
    Twilio?: { Video: typeof VideoSdk };
    atriumTest: HarnessApi;
  }
}

const sockets: WebSocket[] = [];
/** Every signaling frame received, for diagnostics (window.atriumFrames). */
const frames: string[] = [];
(window as unknown as { atriumFrames: string[] }).atriumFrames = frames;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class TrackedWebSocket extends NativeWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    sockets.push(this);
    this.addEventListener('message', (e: MessageEvent) => {
      if (frames.length < 500 && typeof e.data === 'string') frames.push(e.data.slice(0, 20_000));
    });
  }
};

// Every peer connection the SDK creates, to count them and read their raw statistics.
const peerConnections: RTCPeerConnection[] = [];
const trackEvents: unknown[] = [];
(window as unknown as { atriumTrackEvents: unknown[] }).atriumTrackEvents = trackEvents;
(window as unknown as { atriumPeerConnections: RTCPeerConnection[] }).atriumPeerConnections = peerConnections;
const NativePeerConnection = window.RTCPeerConnection;
// A function, not a subclass: the SDK's Chrome shim proxies the own properties of
// `RTCPeerConnection.prototype`, which must stay the native prototype (a subclass's prototype has
// none of them, and the shim would then hear no `track` event).
function CountedPeerConnection(config?: RTCConfiguration): RTCPeerConnection {
  const pc = new NativePeerConnection(config);
  if (Object.keys(candidatePorts).length) {
    // Server candidates at another port (a relay in front of the media server): rewritten in every
    // remote description before the browser sees it.
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (d: RTCSessionDescriptionInit) =>
      setRemote(d.sdp ? { type: d.type, sdp: d.sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ \S+ )(\d+)( typ host)/gim, (all, a: string, port: string, b: string) => (candidatePorts[port] ? `${a}${candidatePorts[port]}${b}` : all)) } : d);
  }
  peerConnections.push(pc);
  pc.addEventListener('track', (e: RTCTrackEvent) => {
    trackEvents.push({ mid: e.transceiver.mid, track: e.track.id, kind: e.track.kind });
  });
  return pc;
}
CountedPeerConnection.prototype = NativePeerConnection.prototype;
Object.setPrototypeOf(CountedPeerConnection, NativePeerConnection);
window.RTCPeerConnection = CountedPeerConnection as unknown as typeof RTCPeerConnection;

let candidatePorts: Record<string, number> = {};
let room: Room | null = null;
const localTracks: LocalTrack[] = [];
const recorded: HarnessEvent[] = [];

type EventBody = HarnessEvent extends infer E ? (E extends HarnessEvent ? Omit<E, 'at'> : never) : never;
const record = (event: EventBody): void => {
  recorded.push({ at: Date.now(), ...event } as HarnessEvent);
};

function sdk(): typeof VideoSdk {
  const video = window.Twilio?.Video;
  if (!video) throw new Error('twilio-video is not loaded (window.Twilio.Video is missing)');
  return video;
}

function failure(error: unknown): Failure {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    ok: false,
    code: typeof code === 'number' ? code : null,
    message: error instanceof Error ? error.message : String(error),
  };
}

function trackSubscribed(track: RemoteTrack, trackSid: string, participant: RemoteParticipant): void {
  record({ type: 'trackSubscribed', identity: participant.identity, kind: track.kind, trackSid, trackName: track.name });
}

function watch(r: Room): void {
  // connect() can resolve after some tracks of participants already in the room were subscribed;
  // record those first so that the event log is the complete history of subscriptions.
  for (const participant of r.participants.values()) {
    for (const publication of participant.tracks.values()) {
      if (publication.track) trackSubscribed(publication.track, publication.trackSid, participant);
    }
  }
  r.on('participantConnected', (p) => record({ type: 'participantConnected', identity: p.identity, participantSid: p.sid }));
  r.on('participantDisconnected', (p) => record({ type: 'participantDisconnected', identity: p.identity, participantSid: p.sid }));
  r.on('trackSubscribed', (track, publication, p) => trackSubscribed(track, publication.trackSid, p));
  r.on('trackUnsubscribed', (track, publication, p) =>
    record({ type: 'trackUnsubscribed', identity: p.identity, kind: track.kind, trackSid: publication.trackSid }),
  );
  r.on('trackSubscriptionFailed', (error, publication, p) =>
    record({ type: 'trackSubscriptionFailed', identity: p.identity, trackSid: publication.trackSid, ...codeAndMessage(error) }),
  );
  r.on('trackMessage', (data, track, p) =>
    record({ type: 'message', from: p.identity, trackSid: track.sid, data: typeof data === 'string' ? data : `[${data.byteLength} bytes]` }),
  );
  r.on('dominantSpeakerChanged', (p: RemoteParticipant | null) => record({ type: 'dominantSpeakerChanged', identity: p ? p.identity : null }));
  r.on('recordingStarted', () => record({ type: 'recordingStarted' }));
  r.on('recordingStopped', () => record({ type: 'recordingStopped' }));
  const quality = (p: { identity: string; networkQualityLevel: number | null }, local: boolean) => {
    record({ type: 'networkQualityLevelChanged', identity: p.identity, local, level: p.networkQualityLevel });
  };
  r.localParticipant.on('networkQualityLevelChanged', () => quality(r.localParticipant, true));
  const watchQuality = (p: RemoteParticipant) => p.on('networkQualityLevelChanged', () => quality(p, false));
  r.participants.forEach(watchQuality);
  r.on('participantConnected', watchQuality);
  r.on('trackSwitchedOff', (track: RemoteTrack, publication: { trackSid: string }, p: RemoteParticipant) =>
    record({ type: 'trackSwitchedOff', identity: p.identity, trackSid: publication.trackSid }),
  );
  r.on('trackSwitchedOn', (track: RemoteTrack, publication: { trackSid: string }, p: RemoteParticipant) =>
    record({ type: 'trackSwitchedOn', identity: p.identity, trackSid: publication.trackSid }),
  );
  r.on('reconnecting', (error) => record({ type: 'reconnecting', ...codeAndMessage(error) }));
  r.on('reconnected', () => record({ type: 'reconnected' }));
  r.on('disconnected', (_room, error) => {
    record({ type: 'disconnected', code: error ? error.code : null, message: error ? error.message : null });
    for (const track of localTracks) if (track.kind !== 'data') track.stop();
  });
}

function remoteVideo(trackSid: string): RemoteVideoTrack | null {
  for (const p of room?.participants.values() ?? []) {
    const track = p.videoTracks.get(trackSid)?.track;
    if (track) return track;
  }
  return null;
}

function codeAndMessage(error: unknown): { code: number | null; message: string } {
  const { code, message } = failure(error);
  return { code, message };
}

function publishedSids(r: Room): Record<MediaKind, string[]> {
  const sids: Record<MediaKind, string[]> = { audio: [], video: [], data: [] };
  for (const publication of r.localParticipant.tracks.values()) sids[publication.kind].push(publication.trackSid);
  return sids;
}

async function createTrack(kind: MediaKind, name?: string, large = false): Promise<LocalTrack> {
  const Video = sdk();
  // Small video keeps three fake cameras and their encoders cheap on a CI machine; simulcast needs
  // a size that has more than one layer.
  if (kind === 'video') return Video.createLocalVideoTrack({ name, width: large ? 640 : 320, height: large ? 480 : 240, frameRate: 15 });
  if (kind === 'audio') return Video.createLocalAudioTrack({ name });
  return new Video.LocalDataTrack({ name });
}

window.atriumTest = {
  sdkVersion: () => sdk().version,

  async probeMedia() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const tracks = stream.getTracks().map((t) => ({ kind: t.kind, label: t.label, readyState: t.readyState }));
    for (const track of stream.getTracks()) track.stop();
    return tracks;
  },

  async connect(request): Promise<ConnectResult> {
    if (room) return { ok: false, code: null, message: 'this page already connected once; open a new page' };
    const kinds = (['audio', 'video', 'data'] as const).filter((kind) => request[kind]);
    candidatePorts = request.candidatePorts ?? {};
    try {
      for (const kind of kinds) localTracks.push(await createTrack(kind, undefined, request.simulcast));
      // wsServer is honoured by every SDK build but absent from its ConnectOptions type.
      const options: ConnectOptions & { wsServer: string } = {
        name: request.room,
        tracks: localTracks,
        wsServer: request.wsServer,
        insights: false,
        ...(request.simulcast ? { preferredVideoCodecs: [{ codec: 'VP8', simulcast: true }] } : {}),
        ...(request.connectOptions ?? {}),
        ...((window as unknown as { atriumLogLevel?: string }).atriumLogLevel ? { logLevel: (window as unknown as { atriumLogLevel: 'debug' }).atriumLogLevel } : {}),
      };
      const r = await sdk().connect(request.token, options);
      room = r;
      (window as unknown as { atriumRoom: Room }).atriumRoom = r;
      watch(r);
      return {
        ok: true,
        roomSid: r.sid,
        participantSid: r.localParticipant.sid,
        identity: r.localParticipant.identity,
        localTrackSids: publishedSids(r),
      };
    } catch (error) {
      for (const track of localTracks) if (track.kind !== 'data') track.stop();
      return failure(error);
    }
  },

  events: () => recorded.slice(),

  roomState: () => room?.state ?? null,

  async publish(kind, name): Promise<PublishResult> {
    if (!room) return { ok: false, code: null, message: 'not connected' };
    try {
      const track = await createTrack(kind, name);
      localTracks.push(track);
      const publication = await room.localParticipant.publishTrack(track);
      return { ok: true, trackSid: publication.trackSid, kind, name: publication.trackName };
    } catch (error) {
      return failure(error);
    }
  },

  send(text) {
    const dataTracks = localTracks.filter((t): t is LocalDataTrack => t.kind === 'data');
    for (const track of dataTracks) track.send(text);
    return dataTracks.length;
  },

  async videoBytesReceived() {
    const bytes: Record<string, number> = {};
    if (!room) return bytes;
    for (const report of await room.getStats()) {
      for (const stats of report.remoteVideoTrackStats) {
        bytes[stats.trackSid] = (bytes[stats.trackSid] ?? 0) + (stats.bytesReceived ?? 0);
      }
    }
    return bytes;
  },

  async connectionStats() {
    const reports = room ? await room.getStats() : [];
    const local: ConnectionStats['local'] = [];
    const remote: ConnectionStats['remote'] = [];
    for (const report of reports) {
      for (const t of report.localAudioTrackStats) local.push({ kind: 'audio', trackSid: t.trackSid, bytesSent: t.bytesSent ?? 0 });
      for (const t of report.localVideoTrackStats) local.push({ kind: 'video', trackSid: t.trackSid, bytesSent: t.bytesSent ?? 0 });
      for (const t of report.remoteAudioTrackStats) remote.push({ kind: 'audio', trackSid: t.trackSid, bytesReceived: t.bytesReceived ?? 0 });
      for (const t of report.remoteVideoTrackStats) remote.push({ kind: 'video', trackSid: t.trackSid, bytesReceived: t.bytesReceived ?? 0 });
    }
    let outboundStreams = 0;
    let bytesSent = 0;
    for (const pc of peerConnections) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesSent?: number }) => {
        if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) {
          outboundStreams++;
          bytesSent += s.bytesSent ?? 0;
        }
      });
    }
    return {
      reports: reports.length,
      created: peerConnections.length,
      open: peerConnections.filter((pc) => pc.connectionState !== 'closed').length,
      outboundStreams,
      bytesSent,
      local,
      remote,
    };
  },

  async receivedVideoCodecs() {
    const names: string[] = [];
    for (const pc of peerConnections) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s: { type: string; kind?: string; codecId?: string }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId) names.push((stats.get(s.codecId) as { mimeType: string }).mimeType);
      });
    }
    return names;
  },

  setMicrophoneEnabled(enabled) {
    for (const track of localTracks) if (track.kind === 'audio') track[enabled ? 'enable' : 'disable']();
  },

  dominantSpeaker: () => room?.dominantSpeaker?.identity ?? null,

  isRecording: () => room?.isRecording ?? null,

  networkQuality() {
    const remote: Record<string, number | null> = {};
    room?.participants.forEach((p) => (remote[p.identity] = p.networkQualityLevel));
    return { local: room?.localParticipant.networkQualityLevel ?? null, remote };
  },

  switchVideo(trackSid, on) {
    const track = remoteVideo(trackSid);
    if (!track) return false;
    if (on) track.switchOn();
    else track.switchOff();
    return true;
  },

  isSwitchedOff: (trackSid) => remoteVideo(trackSid)?.isSwitchedOff ?? null,

  setRenderDimensions(trackSid, width, height) {
    const track = remoteVideo(trackSid);
    track?.setContentPreferences({ renderDimensions: { width, height } });
    return !!track;
  },

  setPublishPriority(kind, priority) {
    room?.localParticipant.tracks.forEach((publication) => {
      if (publication.kind === kind) publication.setPriority(priority);
    });
  },

  dropSignaling() {
    const open = sockets.filter((ws) => ws.readyState === NativeWebSocket.OPEN);
    for (const ws of open) {
      // The server gets a real close (4000: not a normal 1000 or a `bye`). The SDK is told what the
      // browser reports when a connection dies without a closing handshake, 1006, at once, so the
      // outcome does not depend on what close code, if any, the server answers with. By the time
      // the real close event arrives the SDK has already replaced this connection and ignores it.
      ws.close(4000, 'dropped by test');
      ws.dispatchEvent(new CloseEvent('close', { code: 1006, reason: 'dropped by test', wasClean: false }));
    }
    return open.length;
  },

  disconnect() {
    room?.disconnect();
    for (const track of localTracks) if (track.kind !== 'data') track.stop();
  },
};
