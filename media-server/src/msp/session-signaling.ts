import type { MediaSignalingFeature, TrackPriority, VideoBandwidthProfile } from '../../../core/media-signaling';
import { isTrackPriority, mediaSignalingLabel } from '../../../core/media-signaling';
import type { Peer } from '../session/peer';
import { MspChannel } from './channel';
import type { Quality, QualityInputs } from './network-quality';
import { quality, qualityMessage } from './network-quality';
import type { VideoCandidate } from './switch-off';
import { allocate } from './switch-off';

/** A video track the participant receives, as its session knows it. */
export interface ReceivedVideo {
  sid: string;
  publisherPriority: TrackPriority;
  /** Participant sid of the publisher. */
  publisher: string;
  /** Bits per second its publication sends now, at its best layer. */
  bitrate: number;
  /** With simulcast: each layer's bits per second and picture height, lowest first; empty otherwise. */
  layers: number[];
  layerHeights: number[];
  /** The highest layer it is allowed now (Infinity: the best). */
  layer: number;
}

/** What a session offers its media signaling. */
export interface MspSession {
  /** Video tracks the participant receives, in subscription order. */
  receivedVideo(): ReceivedVideo[];
  /** Forwards the videos in `on` (by sid) up to their layer, and stops forwarding the others. */
  setAllocation(on: ReadonlyMap<string, number>): void;
  /** The figures network quality is computed from, with what the client reported. */
  qualityInputs(client: ClientReport): QualityInputs;
}

/** What it needs of the room. */
export interface MspRoom {
  readonly dominantSpeaker: string | null;
  /** The latest quality of every other participant that has one. */
  qualities(except: string): { sid: string; quality: Quality }[];
}

/** The parts of a client's network-quality report the server uses (networkqualitysignaling.js). */
export interface ClientReport {
  /** Seconds, the selected candidate pair's round trip. */
  rtt: number | null;
  /** Bits per second the client estimates it may send. */
  availableSend: number | null;
}

/** At most this many tracks are remembered per subscriber (hints, priorities): one room's worth. */
const MAX_TRACKS = 512;

/**
 * A participant's media-signaling features, served by the media server on data channels it opens
 * toward the client (core/media-signaling.ts): the dominant speaker, its network quality and the
 * others', and track switch-off driven by its render hints, its priorities and its bandwidth
 * profile. Everything the client sends is checked; what is not understood is ignored, never
 * thrown: a feature's channel can no more harm the session than a data track can.
 */
export class SessionSignaling {
  private readonly channels = new Map<MediaSignalingFeature, MspChannel>();
  /** Render hints (`enabled`) and subscriber priorities, by track sid. */
  private readonly enabled = new Map<string, boolean>();
  private readonly renderHeights = new Map<string, number>();
  private readonly priorities = new Map<string, TrackPriority>();
  private off = new Set<string>();
  private reportedOff = new Set<string>();
  private lastSpeaker: string | null | undefined = undefined;
  /** The latest level computed for this participant; null before its client's first report. */
  latest: Quality | null = null;

  constructor(
    readonly participant: string,
    private readonly features: ReadonlySet<MediaSignalingFeature>,
    private profile: VideoBandwidthProfile,
    private readonly session: MspSession,
    private readonly room: MspRoom,
  ) {}

  get active(): boolean {
    return this.features.size > 0;
  }

  /** Opens the features' channels on the participant's connection (they open once SCTP is up). */
  open(peer: Peer): void {
    for (const feature of this.features) {
      if (this.channels.has(feature)) continue;
      const channel = new MspChannel(peer.createDataChannel(mediaSignalingLabel(feature), {}), (m) => this.onMessage(feature, m));
      this.channels.set(feature, channel);
    }
  }

  setProfile(profile: VideoBandwidthProfile): void {
    this.profile = profile;
    this.reallocate();
  }

  /** The room's dominant speaker changed (or a client just became ready for it). */
  activeSpeaker(participant: string | null): void {
    this.lastSpeaker = participant;
    this.channels.get('active_speaker')?.send({ type: 'active_speaker', participant });
  }

  /** Decides again which received videos are on, and tells the client what changed. */
  reallocate(): void {
    if (!this.features.has('track_switch_off')) return;
    const received = this.session.receivedVideo();
    const dominant = this.room.dominantSpeaker;
    const candidates: VideoCandidate[] = received.map((v) => ({
      sid: v.sid,
      subscriberPriority: this.priorities.get(v.sid) ?? null,
      publisherPriority: v.publisherPriority,
      dominant: v.publisher === dominant,
      bitrate: v.bitrate,
      layers: v.layers,
      layerHeights: v.layerHeights,
      renderHeight: this.renderHeights.get(v.sid) ?? null,
      enabled: this.enabled.get(v.sid) ?? true,
      on: !this.off.has(v.sid),
      layer: v.layer,
    }));
    const on = allocate(candidates, this.profile);
    this.off = new Set(received.filter((v) => !on.has(v.sid)).map((v) => v.sid));
    this.session.setAllocation(on);
    this.report();
  }

  /** For GET /v1/stats: what the client asked for and what is switched off. */
  stats(): Record<string, unknown> {
    return { features: [...this.features], profile: this.profile, switchedOff: [...this.off], quality: this.latest };
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }

  /** Sends the switch-off states that changed since the last message (unknown sids are cached by the client). */
  private report(full = false): void {
    const channel = this.channels.get('track_switch_off');
    if (!channel) return;
    const sids = new Set(this.session.receivedVideo().map((v) => v.sid));
    const off = [...this.off].filter((sid) => full || !this.reportedOff.has(sid));
    const on = [...sids].filter((sid) => !this.off.has(sid) && (full || this.reportedOff.has(sid)));
    this.reportedOff = new Set(this.off);
    if (off.length || on.length) channel.send({ type: 'track_switch_off', off, on });
  }

  private onMessage(feature: MediaSignalingFeature, m: Record<string, unknown> & { type: string }): void {
    if (m.type === 'ready') return this.onReady(feature);
    if (feature === 'network_quality' && m.type === 'network_quality') return this.onQualityReport(m);
    if (feature === 'track_priority' && m.type === 'track_priority') return this.onPriority(m);
    if (feature === 'render_hints' && m.type === 'render_hints') return this.onRenderHints(m);
  }

  /** A client (re)opened a feature's transport: it is told the current state. */
  private onReady(feature: MediaSignalingFeature): void {
    if (feature === 'active_speaker') this.activeSpeaker(this.lastSpeaker === undefined ? this.room.dominantSpeaker : this.lastSpeaker);
    if (feature === 'track_switch_off') this.report(true);
  }

  private onQualityReport(m: Record<string, unknown>): void {
    const ice = isObject(m.ice) ? m.ice : {};
    const report: ClientReport = { rtt: finite(ice.rtt, 0, 60), availableSend: finite(ice.availableSend, 0, 1e10) };
    this.latest = quality(this.session.qualityInputs(report));
    const reportLevel = level(m.reportLevel, 1, 3, 1);
    const remoteReportLevel = level(m.remoteReportLevel, 0, 3, 0);
    this.channels.get('network_quality')?.send(qualityMessage(this.latest, this.room.qualities(this.participant), reportLevel, remoteReportLevel));
  }

  private onPriority(m: Record<string, unknown>): void {
    if (typeof m.track !== 'string' || m.track.length > 64) return;
    if (isTrackPriority(m.subscribe)) {
      if (this.priorities.size < MAX_TRACKS || this.priorities.has(m.track)) this.priorities.set(m.track, m.subscribe);
    } else if (m.subscribe === null) {
      this.priorities.delete(m.track);
    } else {
      return;
    }
    this.reallocate();
  }

  private onRenderHints(m: Record<string, unknown>): void {
    const subscriber = isObject(m.subscriber) ? m.subscriber : null;
    if (!subscriber || !Array.isArray(subscriber.hints)) return;
    const results: { track: string; result: string }[] = [];
    for (const hint of subscriber.hints.slice(0, MAX_TRACKS)) {
      if (!isObject(hint) || typeof hint.track !== 'string' || hint.track.length > 64) continue;
      if (typeof hint.enabled === 'boolean' && (this.enabled.size < MAX_TRACKS || this.enabled.has(hint.track))) this.enabled.set(hint.track, hint.enabled);
      // With simulcast, the height it is shown at caps the layer it gets.
      const height = isObject(hint.render_dimensions) ? finite(hint.render_dimensions.height, 1, 100_000) : null;
      if (height !== null && (this.renderHeights.size < MAX_TRACKS || this.renderHeights.has(hint.track))) this.renderHeights.set(hint.track, height);
      results.push({ track: hint.track, result: 'OK' });
    }
    this.reallocate();
    this.channels.get('render_hints')?.send({ type: 'render_hints', subscriber: { id: subscriber.id, hints: results } });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function finite(v: unknown, min: number, max: number): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : null;
}

function level(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fallback;
}
