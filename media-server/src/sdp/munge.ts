/**
 * The few edits a media server makes to SDP it did not write itself, or before it sends its own.
 */

/**
 * Puts the server's candidates for the addresses it announces in place of those its ICE agent
 * gathered. The agent listens on every interface; which addresses clients can reach is
 * configuration (SFU_ANNOUNCED_ADDRESSES: a public address behind 1:1 NAT, or the host's own
 * interfaces and loopback for development). The ports are the agent's own.
 */
export function announceCandidates(sdp: string, addresses: readonly string[]): string {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const ports = new Set<number>();
  for (const line of lines) {
    const m = /^a=candidate:\S+ 1 (?:udp|UDP) \d+ \S+ (\d+) typ host/.exec(line);
    if (m) ports.add(Number(m[1]));
  }
  if (ports.size === 0) return sdp;
  const ours: string[] = [];
  let foundation = 1;
  let priority = 2130706431;
  for (const address of addresses) {
    for (const port of ports) ours.push(`a=candidate:${foundation++} 1 UDP ${priority--} ${address} ${port} typ host`);
  }
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (line.startsWith('a=candidate:') || line === 'a=end-of-candidates') {
      if (!placed) {
        out.push(...ours, 'a=end-of-candidates');
        placed = true;
      }
      continue;
    }
    out.push(line);
  }
  return out.join('\r\n') + '\r\n';
}

/**
 * Firefox answers a re-offer with `a=setup:active` on the sections the offer added and `passive`
 * on the others, all in one BUNDLE; the DTLS role is the transport's and cannot differ, and
 * libdatachannel refuses the mix. Every section takes the first section's role.
 */
export function unifySetup(sdp: string): string {
  const first = /a=setup:(\w+)/.exec(sdp)?.[1];
  return first ? sdp.replace(/a=setup:\w+/g, `a=setup:${first}`) : sdp;
}

/** The mid of the application section the server adds to a client's offer that has none (see withApplication). */
export const ADDED_APPLICATION_MID = 'atrium-dc';

/**
 * Splits SDP into its session part and its media sections (each starting at its `m=` line).
 */
function split(sdp: string): { session: string[]; sections: string[][] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const sections: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([line]);
    else if (sections.length) sections[sections.length - 1]!.push(line);
    else session.push(line);
  }
  return { session, sections };
}

const join = (session: string[], sections: string[][]): string => [...session, ...sections.flat()].join('\r\n') + '\r\n';

/**
 * A client offer without an application section, with one added for the server's eyes only.
 *
 * libdatachannel deadlocks (0.24: SctpTransport::start replays an SCTP packet stored before it
 * existed, and waits inside that for its own INIT, which it sends only afterwards) when an
 * application section is first negotiated on a connection whose DTLS is already up and the
 * client's SCTP INIT arrived first, which is what a browser does the moment it answers a re-offer
 * adding data channels. So the server's side negotiates SCTP from the first offer on, starting it
 * the moment DTLS connects, while the client has not yet got one and sends nothing; the section
 * is cut from the answer the client gets (withoutSection), and offered to it for real, as a new
 * section, when the server first needs a channel. Null when the offer already has one.
 */
export function withApplication(sdp: string): string | null {
  const { session, sections } = split(sdp);
  if (sections.some((s) => s[0]!.startsWith('m=application'))) return null;
  const first = sections[0] ?? [];
  const from = (name: string) => first.find((l) => l.startsWith(`a=${name}:`)) ?? session.find((l) => l.startsWith(`a=${name}:`));
  const copied = ['ice-ufrag', 'ice-pwd', 'fingerprint', 'setup'].map(from).filter((l): l is string => !!l);
  sections.push([
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    ...copied,
    `a=mid:${ADDED_APPLICATION_MID}`,
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ]);
  const bundle = session.findIndex((l) => l.startsWith('a=group:BUNDLE'));
  if (bundle >= 0) session[bundle] = `${session[bundle]} ${ADDED_APPLICATION_MID}`;
  return join(session, sections);
}

/** `sdp` without the media section `mid` (and without it in its groups). */
export function withoutSection(sdp: string, mid: string): string {
  const { session, sections } = split(sdp);
  const kept = sections.filter((s) => !s.includes(`a=mid:${mid}`));
  const groups = session.map((l) => (l.startsWith('a=group:') ? l.split(' ').filter((token) => token !== mid).join(' ') : l));
  return join(groups, kept);
}
