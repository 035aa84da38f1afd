import type { RoomRecord } from '../../../core/room-record';
import type { ParticipantRecord, TrackRecord } from './participant-record';
import type { ClientParticipant } from '../signaling/protocol';
import type { ClientTrack } from '../signaling/protocol';
import { newSid } from '../../../core/sids';

const MAX_TRACK_NAME_LENGTH = 128;

export interface TrackChange {
  added: TrackRecord[];
  removed: TrackRecord[];
  enabled: TrackRecord[];
  disabled: TrackRecord[];
  /** Tracks whose priority changed (subscribe rules may filter on priority). */
  reprioritized: TrackRecord[];
  /** Something other participants see changed (tracks, enabled, priority). */
  visibleChanged: boolean;
  /** The participant's own `published` map changed (new sids, failures, removals). */
  publishedChanged: boolean;
}

/**
 * Brings `p.tracks` in line with the tracks the client announces (its whole list, every time):
 * new ones get `MT` sids or fail with Twilio's track codes, missing ones are unpublished, and
 * enabled/priority changes are noted. Mutates `p`; the caller bumps revisions and saves.
 */
export function applyTracks(p: ParticipantRecord, announced: ClientTrack[], room: RoomRecord, now: number): TrackChange {
  const change: TrackChange = { added: [], removed: [], enabled: [], disabled: [], reprioritized: [], visibleChanged: false, publishedChanged: false };
  const ids = new Set(announced.map((t) => t.id));
  const kept = p.tracks.filter((t) => ids.has(t.id));
  change.removed = p.tracks.filter((t) => !ids.has(t.id));
  const failed = p.failed.filter((f) => ids.has(f.id));
  if (failed.length !== p.failed.length) change.publishedChanged = true;
  for (const t of announced) {
    const current = kept.find((k) => k.id === t.id);
    if (current) {
      if (current.enabled !== t.enabled) {
        current.enabled = t.enabled;
        (t.enabled ? change.enabled : change.disabled).push(current);
      }
      if (current.priority !== t.priority) {
        current.priority = t.priority;
        change.reprioritized.push(current);
        change.visibleChanged = true;
      }
      continue;
    }
    if (failed.some((f) => f.id === t.id)) continue;
    const error = trackError(t, kept, room);
    if (error) {
      failed.push({ id: t.id, error });
      change.publishedChanged = true;
      continue;
    }
    const track: TrackRecord = { id: t.id, sid: newSid('MT'), kind: t.kind, name: t.name, enabled: t.enabled, priority: t.priority, publishedAt: now };
    kept.push(track);
    change.added.push(track);
  }
  p.tracks = kept;
  p.failed = failed;
  if (change.added.length || change.removed.length) change.publishedChanged = true;
  if (change.added.length || change.removed.length || change.enabled.length || change.disabled.length) change.visibleChanged = true;
  return change;
}

/** Whether what other participants receive may have changed, so each needs a new `subscribed`. */
export function changesSubscriptions(change: TrackChange): boolean {
  return change.added.length > 0 || change.removed.length > 0 || change.reprioritized.length > 0;
}

function trackError(t: ClientTrack, published: TrackRecord[], room: RoomRecord): { code: number; message: string } | null {
  if ([...t.name].length > MAX_TRACK_NAME_LENGTH) return { code: 53302, message: 'Track name is too long' };
  if (t.name.length === 0) return { code: 53301, message: 'Track name is invalid' };
  if (/[\u0000-\u001f\u007f-\u009f]/.test(t.name)) return { code: 53303, message: 'Track name contains invalid characters' };
  if (published.some((o) => o.name === t.name)) return { code: 53304, message: 'Track name is duplicated' };
  if (room.audioOnly && t.kind === 'video') return { code: 53125, message: 'The track kind is not supported by the Room' };
  return null;
}

/** Track changes, reported in the same step as the change (status callbacks). */
export interface TrackEvents {
  trackAdded(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void;
  trackRemoved(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void;
  trackEnabled(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void;
  trackDisabled(room: RoomRecord, p: ParticipantRecord, t: TrackRecord): void;
}

/**
 * Applies the participant state a client sent (its whole track list) to `p`, in place: tracks,
 * the client revision seen, and the revisions of what others and the participant itself are sent.
 * Reports every track change to `events`. The caller saves `p` and sends the updates.
 */
export function applyClientState(events: TrackEvents, p: ParticipantRecord, state: ClientParticipant, room: RoomRecord): TrackChange {
  const change = applyTracks(p, state.tracks, room, Date.now());
  p.clientRevision = Math.max(p.clientRevision, state.revision);
  if (change.visibleChanged) p.revision += 1;
  if (change.publishedChanged) p.publishedRevision += 1;
  for (const t of change.added) events.trackAdded(room, p, t);
  for (const t of change.removed) events.trackRemoved(room, p, t);
  for (const t of change.enabled) events.trackEnabled(room, p, t);
  for (const t of change.disabled) events.trackDisabled(room, p, t);
  return change;
}
