import type { IceCandidate, PeerConnectionEntry } from '../types';
import type { Peer } from './peer';

/**
 * The ICE candidates a client trickles (cumulative lists per ufrag, as twilio-video sends them),
 * each handed to the connection's agent once. Candidates that arrive before the connection has a
 * remote description wait for it.
 */
export class RemoteCandidates {
  private readonly seen = new Set<string>();
  private queued: IceCandidate[] = [];

  constructor(
    private readonly peer: Peer,
    /** The mid to give a candidate that names none. */
    private readonly firstMid: () => string,
  ) {}

  /** `ready`: the connection has a remote description. `ufrag`: the generation now in use. */
  add(ice: NonNullable<PeerConnectionEntry['ice']>, ufrag: string | null, ready: boolean): void {
    if (ice.ufrag && ufrag && ice.ufrag !== ufrag) return; // for an older generation
    for (const c of ice.candidates) {
      if (!c.candidate || this.seen.has(c.candidate)) continue;
      this.seen.add(c.candidate);
      if (ready) this.apply(c);
      else this.queued.push(c);
    }
  }

  /** The connection has a remote description now: what waited is applied. */
  flush(): void {
    const queued = this.queued;
    this.queued = [];
    for (const c of queued) this.apply(c);
  }

  private apply(c: IceCandidate): void {
    // Host names (mDNS .local) cannot be resolved here and TCP is not offered: the client's
    // connectivity checks still find it (peer-reflexive), so nothing is lost by skipping them.
    const candidate = c.candidate.replace(/^a=/, '');
    const parts = candidate.split(/\s+/);
    if (parts.length < 8 || parts[2]?.toLowerCase() !== 'udp' || parts[4]!.endsWith('.local')) return;
    try {
      this.peer.addRemoteCandidate(candidate, c.sdpMid ?? this.firstMid());
    } catch {
      // A candidate the agent refuses is one path fewer, nothing more.
    }
  }
}
