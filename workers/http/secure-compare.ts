const encoder = new TextEncoder();

/**
 * Compares two secrets in constant time. Both are hashed first so that neither their contents
 * nor their lengths leak through timing (timingSafeEqual needs equal lengths).
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}
