/**
 * A `connect` room message as twilio-video 2.x sends it (signaling/v2/twilioconnectiontransport.js),
 * for the scripted test clients of both the workerd and the Node suites.
 */
export interface ConnectOptions {
  /** Tracks announced in `participant.tracks` (id, kind, name, enabled, priority). */
  tracks?: unknown[];
  /** Id of the client's own initial peer connection (random by default). */
  offerId?: string;
  /** Media-signaling features to ask for (`dominantSpeaker: true` asks for active_speaker, …). */
  mediaSignaling?: string[];
}

export function connectMessage(room: string, jwt: string, opts: ConnectOptions = {}) {
  return {
    type: 'connect',
    version: 2,
    name: room,
    token: jwt,
    format: 'unified',
    ice_servers: 'acquire',
    participant: { revision: 1, tracks: opts.tracks ?? [] },
    peer_connections: [{ id: opts.offerId ?? crypto.randomUUID(), description: { type: 'offer', revision: 1, sdp: 'v=0\r\n' } }],
    publisher: { name: 'atrium-tests', sdk_version: '2.36.0', user_agent: 'scripted' },
    media_signaling: Object.fromEntries((opts.mediaSignaling ?? []).map((f) => [f, { transports: [{ type: 'data-channel' }] }])),
    subscribe: { rules: [{ type: 'include', all: true }], revision: 1 },
  };
}
