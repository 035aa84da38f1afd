import { describe, expect, it } from 'vitest';
import { parseRoomMessage } from '../durable-objects/room/signaling/protocol';
import { TwilioError } from '../core/errors';

const connect = (extra: Record<string, unknown>) => ({
  type: 'connect',
  version: 2,
  name: 'r',
  token: 't',
  participant: { revision: 1, tracks: [] },
  peer_connections: [],
  ...extra,
});

describe('signaling protocol: media signaling and bandwidth profiles in connect and update', () => {
  it('keeps the media-signaling features a group room serves, and drops the others', () => {
    const transports = { transports: [{ type: 'data-channel' }] };
    const m = parseRoomMessage(
      connect({ media_signaling: { active_speaker: transports, network_quality: transports, publisher_hints: transports, extension_transcriptions: transports, render_hints: transports, track_priority: transports, track_switch_off: transports } }),
    );
    expect(m.type === 'connect' && m.mediaSignaling.sort()).toEqual(['active_speaker', 'network_quality', 'render_hints', 'track_priority', 'track_switch_off']);
    const none = parseRoomMessage(connect({}));
    expect(none.type === 'connect' && none.mediaSignaling).toEqual([]);
  });

  it("takes twilio-video's bandwidth profile payload (util/index.js createBandwidthProfilePayload)", () => {
    const m = parseRoomMessage(
      connect({ bandwidth_profile: { video: { active_speaker_priority: 'high', max_subscription_bandwidth: 2_400_000, max_tracks: 5, mode: 'collaboration', track_switch_off: 'predicted', render_dimensions: { high: { height: 720, width: 1280 } } } } }),
    );
    expect(m.type === 'connect' && m.bandwidthProfile).toEqual({ dominantSpeakerPriority: 'high', maxSubscriptionBitrate: 2_400_000, maxTracks: 5, mode: 'collaboration', trackSwitchOffMode: 'predicted' });
    const update = parseRoomMessage({ type: 'update', version: 2, bandwidth_profile: { video: { max_subscription_bandwidth: 300_000 } } });
    expect(update).toMatchObject({ type: 'update', bandwidthProfile: { maxSubscriptionBitrate: 300_000 } });
    expect(parseRoomMessage({ type: 'update', version: 2 })).not.toHaveProperty('bandwidthProfile');
  });

  it.each([
    ['media_signaling that is a list', { media_signaling: ['active_speaker'] }],
    ['a bandwidth profile that is a string', { bandwidth_profile: 'fast' }],
    ['a negative bandwidth', { bandwidth_profile: { video: { max_subscription_bandwidth: -1 } } }],
    ['an unknown dominant speaker priority', { bandwidth_profile: { video: { active_speaker_priority: 'urgent' } } }],
  ])('refuses %s with 53004', (_label, extra) => {
    try {
      parseRoomMessage(connect(extra));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TwilioError);
      expect((err as TwilioError).code).toBe(53004);
    }
  });
});
