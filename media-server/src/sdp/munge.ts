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
