import { twilioSignature } from '../../core/twilio-signature';

/** Where a status callback goes: the room's StatusCallback and StatusCallbackMethod. */
export interface CallbackTarget {
  url: string;
  method: 'GET' | 'POST';
}

/**
 * The signed HTTP request of one status callback. POST sends the parameters as an
 * application/x-www-form-urlencoded body and signs URL + sorted parameters; GET appends them to
 * the URL's query and signs that full URL alone.
 *
 * The signature covers the URL exactly as it goes on the wire: the configured URL is parsed (and
 * so normalized: lower-case host, default port dropped, unsafe characters escaped) before signing,
 * because that normalized form is what fetch sends and what a receiver rebuilds from its request.
 * The fragment is dropped: it never leaves the client.
 */
export async function signedCallbackRequest(target: CallbackTarget, params: Record<string, string>, authToken: string): Promise<Request> {
  const parsed = new URL(target.url);
  parsed.hash = '';
  const headers = new Headers();
  if (target.method === 'GET') {
    const url = withQuery(parsed, new URLSearchParams(params).toString());
    headers.set('X-Twilio-Signature', await twilioSignature(authToken, url, null));
    return new Request(url, { method: 'GET', headers, redirect: 'manual' });
  }
  const url = parsed.toString();
  headers.set('Content-Type', 'application/x-www-form-urlencoded');
  headers.set('X-Twilio-Signature', await twilioSignature(authToken, url, params));
  return new Request(url, { method: 'POST', headers, body: new URLSearchParams(params).toString(), redirect: 'manual' });
}

/** Appends `query` to the URL's own query string, keeping what is there byte for byte. */
function withQuery(url: URL, query: string): string {
  const base = url.toString();
  if (!query) return base;
  // `search` is '' both for no query and for a bare trailing '?', which must not become '??'.
  const separator = url.search ? '&' : base.endsWith('?') ? '' : '?';
  // Parsed once more so the signed string is exactly what Request/fetch will send (idempotent for
  // URLSearchParams output, which escapes everything the URL parser would).
  return new URL(base + separator + query).toString();
}
