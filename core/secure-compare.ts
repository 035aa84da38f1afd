const encoder = new TextEncoder();

/** Digests of the configured secrets: a few per account, so the map stays small. */
const expectedDigests = new Map<string, ArrayBuffer>();
const MAX_CACHED = 1024;

const digest = (s: string): Promise<ArrayBuffer> => crypto.subtle.digest('SHA-256', encoder.encode(s));

/**
 * Compares a supplied secret with a configured one in constant time. Both are hashed first so that
 * neither their contents nor their lengths leak through timing (the comparison needs equal
 * lengths). The configured side's digest is computed once and kept: it is on every REST request.
 */
export async function secretsEqual(supplied: string, expected: string): Promise<boolean> {
  // Values, not promises, are kept: a promise made while serving one request must not be awaited
  // by another (the runtime ties pending work to the request that started it).
  let known = expectedDigests.get(expected);
  if (!known) {
    known = await digest(expected);
    if (expectedDigests.size >= MAX_CACHED) expectedDigests.clear();
    expectedDigests.set(expected, known);
  }
  return equalBytes(new Uint8Array(await digest(supplied)), new Uint8Array(known));
}

/** Compares two equal-length digests in time that does not depend on where they differ. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
