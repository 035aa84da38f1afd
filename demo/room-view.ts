/**
 * Binds a connected Room to the grid: a camera tile per participant (the local one first), a
 * tile per shared screen, and each tile's state (picture or avatar, muted, paused, dominant
 * speaker, network quality) recomputed from the SDK's own properties whenever an event says it
 * may have changed. Recomputing rather than patching keeps every tile right whatever order the
 * events come in.
 */
import type {
  LocalAudioTrack,
  LocalVideoTrack,
  RemoteParticipant,
  RemoteVideoTrackPublication,
  Room,
} from 'twilio-video';
import type { Grid } from './grid';
import { Tile } from './tile';

/** The name the demo gives the video track it publishes from getDisplayMedia. */
export const SCREEN_TRACK_NAME = 'screen';

/** Events after which a remote participant's tiles are recomputed. */
const PARTICIPANT_EVENTS = [
  'trackPublished',
  'trackUnpublished',
  'trackSubscribed',
  'trackUnsubscribed',
  'trackStarted',
  'trackEnabled',
  'trackDisabled',
  'trackSwitchedOff',
  'trackSwitchedOn',
] as const;

export interface LocalMedia {
  audio?: LocalAudioTrack;
  video?: LocalVideoTrack;
}

export class RoomView {
  constructor(
    private readonly room: Room,
    private readonly grid: Grid,
    private readonly local: LocalMedia,
  ) {
    this.watchLocal();
    // People already here, and tracks subscribed before connect() resolved.
    for (const participant of room.participants.values()) this.watchRemote(participant);
    room.on('participantConnected', (participant: RemoteParticipant) => this.watchRemote(participant));
    room.on('participantDisconnected', (participant: RemoteParticipant) => this.forget(participant));
    room.on('dominantSpeakerChanged', () => this.showDominantSpeaker());
    this.showDominantSpeaker();
  }

  /** The local camera tile, for the controls to refresh after a toggle. */
  refreshLocal(): void {
    const tile = this.grid.get(this.room.localParticipant.sid);
    if (!tile) return;
    const { audio, video } = this.local;
    tile.setVideoOff(!video || !video.isEnabled);
    tile.setMuted(!audio || !audio.isEnabled);
    tile.setQuality(this.room.localParticipant.networkQualityLevel);
  }

  /** Shows what this tab shares, in its own tile. */
  showLocalScreen(track: LocalVideoTrack): void {
    const me = this.room.localParticipant;
    const tile = this.grid.add(new Tile({ key: `screen:${track.id}`, identity: me.identity, kind: 'screen', isLocal: true }));
    tile.attach(track);
    tile.setVideoOff(false);
  }

  hideLocalScreen(track: LocalVideoTrack): void {
    this.grid.remove(`screen:${track.id}`);
  }

  private watchLocal(): void {
    const me = this.room.localParticipant;
    const tile = this.grid.add(new Tile({ key: me.sid, identity: me.identity, kind: 'camera', isLocal: true }));
    if (this.local.video) tile.attach(this.local.video);
    for (const track of [this.local.audio, this.local.video]) {
      track?.on('enabled', () => this.refreshLocal());
      track?.on('disabled', () => this.refreshLocal());
    }
    me.on('networkQualityLevelChanged', () => this.refreshLocal());
    this.refreshLocal();
  }

  private watchRemote(participant: RemoteParticipant): void {
    this.grid.add(new Tile({ key: participant.sid, identity: participant.identity, kind: 'camera', isLocal: false }));
    const refresh = () => this.refreshRemote(participant);
    for (const event of PARTICIPANT_EVENTS) participant.on(event, refresh);
    participant.on('networkQualityLevelChanged', refresh);
    refresh();
  }

  private forget(participant: RemoteParticipant): void {
    this.grid.remove(participant.sid);
    for (const tile of this.grid.all()) {
      if (tile.kind === 'screen' && tile.element.dataset.owner === participant.sid) this.grid.remove(tile.key);
    }
  }

  private refreshRemote(participant: RemoteParticipant): void {
    const tile = this.grid.get(participant.sid);
    if (!tile || participant.state === 'disconnected') return;
    const videos = [...participant.videoTracks.values()];
    const camera = videos.find((p) => p.trackName !== SCREEN_TRACK_NAME);
    const audios = [...participant.audioTracks.values()];

    // What is subscribed now; an unsubscribed track is already gone from its publication.
    tile.show([camera?.track, ...audios.map((p) => p.track)]);

    // A picture once frames arrive; a video switched off before its first frame shows "paused" too.
    const track = camera?.track;
    const pictureOn = !!track && camera.isTrackEnabled && (track.isStarted || track.isSwitchedOff);
    tile.setVideoOff(!pictureOn);
    tile.setSwitchedOff(pictureOn && track.isSwitchedOff);
    tile.setMuted(!audios.some((p) => p.isTrackEnabled));
    tile.setQuality(participant.networkQualityLevel);

    this.refreshScreens(participant, videos.filter((p) => p.trackName === SCREEN_TRACK_NAME));
  }

  private refreshScreens(participant: RemoteParticipant, screens: RemoteVideoTrackPublication[]): void {
    const wanted = new Set<string>();
    for (const publication of screens) {
      if (!publication.track) continue;
      const key = `screen:${publication.trackSid}`;
      wanted.add(key);
      const tile = this.grid.get(key) ?? this.grid.add(new Tile({ key, identity: participant.identity, kind: 'screen', isLocal: false }));
      tile.element.dataset.owner = participant.sid;
      tile.show([publication.track]);
      tile.setVideoOff(!publication.isTrackEnabled || !publication.track.isStarted);
      tile.setSwitchedOff(publication.track.isSwitchedOff);
    }
    for (const tile of this.grid.all()) {
      if (tile.kind === 'screen' && tile.element.dataset.owner === participant.sid && !wanted.has(tile.key)) {
        this.grid.remove(tile.key);
      }
    }
  }

  private showDominantSpeaker(): void {
    const sid = this.room.dominantSpeaker?.sid;
    for (const tile of this.grid.all()) tile.setDominant(tile.kind === 'camera' && tile.key === sid);
  }
}
