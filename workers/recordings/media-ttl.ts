import { TwilioError } from '../../core/errors';
import type { Params } from '../../core/form';
import { DEFAULT_MEDIA_TTL_SECONDS, MAX_MEDIA_TTL_SECONDS } from './recording-media';

/** `…/Media?Ttl=` (seconds the redirect's URL works, 1–3600, as Twilio takes it); the default otherwise. */
export function readTtl(params: Params): number {
  params.rejectUnknown(['Ttl']);
  const raw = params.get('Ttl');
  if (raw === undefined || raw === '') return DEFAULT_MEDIA_TTL_SECONDS;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_MEDIA_TTL_SECONDS) {
    throw new TwilioError(70002, `Ttl must be an integer from 1 to ${MAX_MEDIA_TTL_SECONDS}`);
  }
  return Number(raw);
}
