import { Hono } from 'hono';
import { ACCOUNT_HEADER, CLIENT_HEADER, ROOM_HEADER } from '../../durable-objects/room/room-object';
import { accountsOf } from '../../core/accounts';
import type { Env } from '../../durable-objects/env';
import { TwilioError } from '../../core/errors';
import { roomStub } from '../../durable-objects/addresses';
import { clientAddress, TOO_MANY_TOKEN_FAILURES, TOO_MANY_UPGRADES, tokenBlocks, tooManyRequests, withinLimit } from '../../core/rate-limit';

/** Longest room name segment routed at all; names are checked properly (531xx) at connect. */
const MAX_ROUTED_NAME = 1024;

/**
 * `GET /signaling/{RoomName}`: the WebSocket a twilio-video client opens when its `wsServer`
 * option points here. The room name must be in the URL because the socket is routed to the room's
 * Durable Object before any message is read. The default account's rooms are addressed as is;
 * another account's with `?AccountSid=AC…`. Access tokens are checked by the Room object.
 *
 * Before any Durable Object is touched, an address blocked for refused access tokens, or over
 * SIGNALING_UPGRADES, is answered HTTP 429 with code 20429 (workers/http/rate-limit.ts). The
 * client's address goes to the Room object in CLIENT_HEADER, which counts its refused tokens.
 */
export const signaling = new Hono<{ Bindings: Env }>();

signaling.get('/:name', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new TwilioError(70002, 'Signaling needs a WebSocket upgrade', 400);
  }
  const address = clientAddress(c.req.raw.headers);
  const blocked = tokenBlocks.remaining(address);
  if (blocked > 0) {
    c.header('Retry-After', String(blocked));
    throw tooManyRequests(TOO_MANY_TOKEN_FAILURES);
  }
  if (!(await withinLimit(c.env, 'SIGNALING_UPGRADES', address))) throw tooManyRequests(TOO_MANY_UPGRADES);
  const raw = c.req.param('name');
  if (!raw || raw.length > MAX_ROUTED_NAME) throw new TwilioError(53100, 'Room name is invalid');
  const accounts = accountsOf(c.env);
  const requested = new URL(c.req.url).searchParams.get('AccountSid');
  const account = requested ? accounts.byAccountSid(requested) : accounts.default;
  if (!account) throw new TwilioError(20404, 'No such account on this server', 404);
  const headers = new Headers(c.req.raw.headers);
  headers.set(ACCOUNT_HEADER, account.sid);
  // Only the Worker says who the client is: a header of that name from the client is dropped.
  headers.delete(CLIENT_HEADER);
  if (address !== null) headers.set(CLIENT_HEADER, address);
  // Hono has already percent-decoded the name; re-encode it so any header-unsafe character survives.
  headers.set(ROOM_HEADER, encodeURIComponent(raw));
  return roomStub(c.env, account.sid, raw).fetch(new Request(c.req.raw, { headers }));
});
