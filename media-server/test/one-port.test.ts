/**
 * SFU_RTC_PORT_MIN = SFU_RTC_PORT_MAX: every connection on one UDP port (ICE multiplexed by
 * username), the deployment docs/deploying.md recommends. Two participants get candidates on that
 * one port only, and their media still reaches each other.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, test } from 'vitest';
import { mediaFixture } from './support/fixture';

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const port = await freeUdpPort();
const f = mediaFixture({ rtcPortRange: [port, port] });

const candidatePorts = (sdp: string) => [...sdp.matchAll(/^a=candidate:\S+ 1 UDP \d+ \S+ (\d+) typ host/gm)].map((m) => Number(m[1]));

describe('one UDP port for every connection', () => {
  test('announces only that port, to every participant, and forwards between them', async () => {
    const alice = f.participant('PAalice');
    const bob = f.participant('PAbob');
    const answers = [...(await alice.join()), ...(await bob.join())].filter((e) => e.description?.type === 'answer');
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(new Set(candidatePorts(answer.description!.sdp!))).toEqual(new Set([port]));
    alice.startMedia();
    await alice.waitConnected();
    await bob.waitConnected();
    await bob.subscribe(alice.tracksToSubscribe(['audio', 'video']));
    await bob.waitForMedia(alice, 'audio', 10);
    await bob.waitForMedia(alice, 'video', 5);
  });
});
