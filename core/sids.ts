/** Twilio sids: a two-letter prefix and 32 lowercase hex digits. */
export type SidPrefix = 'RM' | 'PA' | 'MT' | 'AC' | 'SK' | 'RT';

export function newSid(prefix: SidPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return prefix + hex;
}

export function isSid(value: string, prefix: SidPrefix): boolean {
  return value.length === 34 && value.startsWith(prefix) && /^[0-9a-fA-F]{32}$/.test(value.slice(2));
}
