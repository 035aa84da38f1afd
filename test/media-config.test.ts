import { describe, expect, it } from 'vitest';
import { sfuConfig } from '../durable-objects/room/media/sfu/sfu-config';
import { TwilioError } from '../core/errors';

describe('media server settings (SFU_URL, SFU_SECRET)', () => {
  it('means no media server when SFU_URL is unset or empty', () => {
    expect(sfuConfig({})).toBeNull();
    expect(sfuConfig({ SFU_URL: '', SFU_SECRET: 'x' })).toBeNull();
    expect(sfuConfig({ SFU_URL: ' , ', SFU_SECRET: 'x' })).toBeNull();
  });

  it('takes one URL or several, in order, without trailing slashes', () => {
    expect(sfuConfig({ SFU_URL: 'https://sfu-1.example.com/', SFU_SECRET: 's' })).toEqual({ servers: ['https://sfu-1.example.com'], secret: 's' });
    expect(sfuConfig({ SFU_URL: ' http://127.0.0.1:8788 , https://sfu.example.com/media/ ', SFU_SECRET: 's' })?.servers).toEqual([
      'http://127.0.0.1:8788',
      'https://sfu.example.com/media',
    ]);
  });

  it('refuses what it cannot use with a 53000 that names the variable and leaks no secret', () => {
    const attempt = (env: { SFU_URL?: string; SFU_SECRET?: string }) => {
      try {
        sfuConfig(env);
      } catch (err) {
        return err as TwilioError;
      }
      throw new Error('no error');
    };
    for (const [env, names] of [
      [{ SFU_URL: 'not a url', SFU_SECRET: 'hunter2' }, 'SFU_URL'],
      [{ SFU_URL: 'ftp://sfu.example.com', SFU_SECRET: 'hunter2' }, 'SFU_URL'],
      [{ SFU_URL: 'https://sfu.example.com' }, 'SFU_SECRET'],
    ] as const) {
      const err = attempt(env);
      expect(err).toBeInstanceOf(TwilioError);
      expect(err.code).toBe(53000);
      expect(err.message).toContain(names);
      expect(err.message).not.toContain('hunter2');
    }
  });
});
