/**
 * Screen sharing: getDisplayMedia's video published as a LocalVideoTrack named "screen", which
 * is how every tab (room-view.ts) tells a shared screen from a camera. The share ends from the
 * page's button or from the browser's own "Stop sharing" control, which ends the track.
 */
import * as Video from 'twilio-video';
import type { LocalVideoTrack, Room } from 'twilio-video';
import { SCREEN_TRACK_NAME } from './room-view';

export function canShareScreen(): boolean {
  return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

/**
 * Asks the browser for a screen, window or tab and publishes it. `onEnded` runs once when the
 * track stops, whoever stopped it: the caller unpublishes there (stopScreenShare is idempotent).
 */
export async function startScreenShare(room: Room, onEnded: (track: LocalVideoTrack) => void): Promise<LocalVideoTrack> {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  const [mediaStreamTrack] = stream.getVideoTracks();
  if (!mediaStreamTrack) throw new Error('the browser returned no video to share');
  // Text and edges matter more than motion on a shared screen.
  mediaStreamTrack.contentHint = 'detail';
  const track = new Video.LocalVideoTrack(mediaStreamTrack, { name: SCREEN_TRACK_NAME });
  try {
    await room.localParticipant.publishTrack(track, { priority: 'high' });
  } catch (error) {
    track.stop();
    throw error;
  }
  // The SDK emits 'stopped' when the MediaStreamTrack ends, e.g. from the browser's own control.
  track.on('stopped', () => onEnded(track));
  return track;
}

/** Unpublishes and stops a share; safe to call more than once. */
export function stopScreenShare(room: Room, track: LocalVideoTrack): void {
  if (room.state !== 'disconnected') room.localParticipant.unpublishTrack(track);
  if (!track.isStopped) track.stop();
}
