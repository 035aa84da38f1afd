import { Hono } from 'hono';
import { ACCOUNT_HEADER, ROOM_HEADER } from '../../durable-objects/room/room-object';
import { accountsOf } from '../../core/accounts';
import type { Env } from '../../durable-objects/env';
import { TwilioError } from '../../core/errors';
import { roomStub } from '../../durable-objects/addresses';

/** Longest room name segment routed at all; names are checked properly (531xx) at connect. */
const MAX_ROUTED_NAME = 1024;

/**
 * `GET /signaling/{RoomName}`: the WebSocket a twilio-video client opens when its `wsServer`
 * option points here. The room name must be in the URL because the socket is routed to the room's
 * Durable Object before any message is read. The default account's rooms are addressed as is;
 * another account's with `?AccountSid=AC…`. Access tokens are checked by the Room object.
 */
export const signaling = new Hono<{ Bindings: Env }>();

signaling.get('/:name', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new TwilioError(70002, 'Signaling needs a WebSocket upgrade', 400);
  }
  const raw = c.req.param('name');
  if (!raw || raw.length > MAX_ROUTED_NAME) throw new TwilioError(53100, 'Room name is invalid');
  const accounts = accountsOf(c.env);
  const requested = new URL(c.req.url).searchParams.get('AccountSid');
  const account = requested ? accounts.byAccountSid(requested) : accounts.default;
  if (!account) throw new TwilioError(20404, 'No such account on this server', 404);
  const headers = new Headers(c.req.raw.headers);
  headers.set(ACCOUNT_HEADER, account.sid);
  // Hono has already percent-decoded the name; re-encode it so any header-unsafe character survives.
  headers.set(ROOM_HEADER, encodeURIComponent(raw));
  return roomStub(c.env, account.sid, raw).fetch(new Request(c.req.raw, { headers }));
});
