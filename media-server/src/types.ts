import type { TrackPriority } from '../../core/media-signaling';

/** Shapes the control API and the sessions share. */

export type TrackKind = 'audio' | 'video' | 'data';

/** An ICE candidate as twilio-video trickles it (RTCIceCandidateInit). */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/**
 * One peer connection entry of twilio-video's signaling (`peer_connections[]`), in either
 * direction: a description with its revision, and/or the ICE gathered so far for a ufrag.
 */
export interface PeerConnectionEntry {
  id: string;
  description?: { type: 'offer' | 'answer' | 'pranswer' | 'rollback' | 'close' | 'create-offer'; revision: number; sdp?: string };
  ice?: { revision: number; ufrag?: string; candidates: IceCandidate[]; complete?: boolean };
}

/** A track a session's participant receives: the publisher's session and its own id for the track. */
export interface TrackRef {
  session: string;
  /** The publisher's `a=msid` track id, or the label of its data channel. */
  id: string;
  kind: TrackKind;
  /** MT… sid: how the participant's client names the track (switch-off, render hints, priorities). */
  sid: string;
  /** The publisher's priority for the track (its `priority` in twilio-video's track state). */
  priority?: TrackPriority;
}

export interface SessionInfo {
  id: string;
  pc: string;
  /** new, connecting, connected, disconnected, failed or closed. */
  state: string;
}
