/**
 * The contract between Node-side browser tests and the in-page harness (../page/harness.ts).
 * Everything here crosses `page.evaluate`, so it is plain JSON: no SDK objects, no DOM types.
 * This file imports nothing so that both the Node and the DOM typecheck can include it.
 */

export type MediaKind = 'audio' | 'video' | 'data';

export interface ConnectRequest {
  token: string;
  room: string;
  wsServer: string;
  /** Local tracks to publish at connect: fake camera/microphone, and a LocalDataTrack. */
  audio: boolean;
  video: boolean;
  data: boolean;
  /** Publish VP8 simulcast (`preferredVideoCodecs: [{codec: 'VP8', simulcast: true}]`), at 640x480. */
  simulcast?: boolean;
  /** More connect options, as JSON (dominantSpeaker, networkQuality, bandwidthProfile, maxVideoBitrate…). */
  connectOptions?: Record<string, unknown>;
  /**
   * Ports of the server's ICE candidates to replace in every remote description, e.g. to reach the
   * media server through a lossy relay: `{ "<server port>": <relay port> }`.
   */
  candidatePorts?: Record<string, number>;
}

/** A failure as the SDK reports it: TwilioError code (null for non-Twilio errors) and message. */
export interface Failure {
  ok: false;
  code: number | null;
  message: string;
}

export type ConnectResult =
  | { ok: true; roomSid: string; participantSid: string; identity: string; localTrackSids: Record<MediaKind, string[]> }
  | Failure;

/** A participant's connections as the page sees them. */
export interface ConnectionStats {
  /** room.getStats(): one report per peer connection. */
  reports: number;
  /** RTCPeerConnections the SDK constructed since the page loaded, and how many are not closed. */
  created: number;
  open: number;
  /** outbound-rtp entries (audio and video) over every open connection: one per SSRC sent. */
  outboundStreams: number;
  /** Bytes sent on them (RTP payload and headers, as the browser counts them). */
  bytesSent: number;
  local: { kind: MediaKind; trackSid: string; bytesSent: number }[];
  remote: { kind: MediaKind; trackSid: string; bytesReceived: number }[];
}

export type PublishResult = { ok: true; trackSid: string; kind: MediaKind; name: string } | Failure;

/** What happened in the page's Room, in order; `at` is Date.now() in the page. */
export type HarnessEvent = { at: number } & (
  | { type: 'participantConnected'; identity: string; participantSid: string }
  | { type: 'participantDisconnected'; identity: string; participantSid: string }
  | { type: 'trackSubscribed'; identity: string; kind: MediaKind; trackSid: string; trackName: string }
  | { type: 'trackUnsubscribed'; identity: string; kind: MediaKind; trackSid: string }
  | { type: 'trackSubscriptionFailed'; identity: string; trackSid: string; code: number | null; message: string }
  | { type: 'message'; from: string; trackSid: string; data: string }
  | { type: 'reconnecting'; code: number | null; message: string }
  | { type: 'reconnected' }
  | { type: 'disconnected'; code: number | null; message: string | null }
  | { type: 'dominantSpeakerChanged'; identity: string | null }
  | { type: 'recordingStarted' }
  | { type: 'recordingStopped' }
  | { type: 'networkQualityLevelChanged'; identity: string; local: boolean; level: number | null }
  | { type: 'trackSwitchedOff'; identity: string; trackSid: string }
  | { type: 'trackSwitchedOn'; identity: string; trackSid: string }
);

export type HarnessEventType = HarnessEvent['type'];

export interface HarnessApi {
  /** Twilio.Video.version of the SDK the page loaded. */
  sdkVersion(): string;
  /** getUserMedia with the fake devices: what the browser hands out. */
  probeMedia(): Promise<{ kind: string; label: string; readyState: string }[]>;
  /** Connects this page's one participant; events are recorded from here on. */
  connect(request: ConnectRequest): Promise<ConnectResult>;
  events(): HarnessEvent[];
  /** The Room's state ('connected', 'reconnecting', 'disconnected') or null before connect. */
  roomState(): string | null;
  /** Creates and publishes one more local track after connect. */
  publish(kind: MediaKind, name: string): Promise<PublishResult>;
  /** Sends on every published LocalDataTrack; returns how many it sent on. */
  send(text: string): number;
  /** bytesReceived per subscribed remote video track sid, from room.getStats(). */
  videoBytesReceived(): Promise<Record<string, number>>;
  /** Peer connections, outbound streams, bytes sent and received per track. */
  connectionStats(): Promise<ConnectionStats>;
  /** The codec (mimeType) of every video stream received, from the connections' statistics. */
  receivedVideoCodecs(): Promise<string[]>;
  /** Enables or disables every local audio track (LocalAudioTrack.enable/disable). */
  setMicrophoneEnabled(enabled: boolean): void;
  /** room.dominantSpeaker's identity, or null. */
  dominantSpeaker(): string | null;
  /** room.isRecording, or null before a room. */
  isRecording(): boolean | null;
  /** networkQualityLevel of the local participant and of each remote one, by identity. */
  networkQuality(): { local: number | null; remote: Record<string, number | null> };
  /** RemoteVideoTrack.switchOff() (on = false) or switchOn(); false if no such subscribed track. */
  switchVideo(trackSid: string, on: boolean): boolean;
  /** Whether the subscribed remote video track is switched off (RemoteVideoTrack.isSwitchedOff), null if unknown. */
  isSwitchedOff(trackSid: string): boolean | null;
  /** RemoteVideoTrack.setContentPreferences({renderDimensions}); false if no such subscribed track. */
  setRenderDimensions(trackSid: string, width: number, height: number): boolean;
  /** LocalTrackPublication.setPriority on every local track of `kind`. */
  setPublishPriority(kind: MediaKind, priority: 'low' | 'standard' | 'high'): void;
  /**
   * Closes the signaling WebSocket(s) the SDK opened with a non-1000 code, as a network or server
   * failure would: the SDK must then reconnect (`reconnecting` → `reconnected`). Returns how many.
   */
  dropSignaling(): number;
  /** Local disconnect (Room.disconnect()) and stop of all local tracks. */
  disconnect(): void;
}

/** What the harness page puts on `window`. */
export interface HarnessGlobals {
  atriumTest: HarnessApi;
}
