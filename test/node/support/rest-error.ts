/// <reference types="node" />
import twilio from 'twilio';
import { expect } from 'vitest';

/** The RestException a twilio-node call rejects with; fails the test if it resolves or throws anything else. */
export async function restError(call: Promise<unknown>): Promise<InstanceType<typeof twilio.RestException>> {
  const err: unknown = await call.then(
    (value) => {
      throw new Error(`expected a RestException, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(twilio.RestException);
  return err as InstanceType<typeof twilio.RestException>;
}
