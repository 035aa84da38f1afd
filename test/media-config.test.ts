import { describe, expect, it, vi } from 'vitest';
import { sfuConfig } from '../durable-objects/room/media/sfu/sfu-config';
import { ConfigError, configFailure } from '../core/config-error';

const SECRET = 'a-secret-of-sixteen-or-more';

describe('media server settings (SFU_URL, SFU_SECRET)', () => {
  it('means no media server when SFU_URL is unset or empty', () => {
    expect(sfuConfig({})).toBeNull();
    expect(sfuConfig({ SFU_URL: '', SFU_SECRET: 'x' })).toBeNull();
    expect(sfuConfig({ SFU_URL: ' , ', SFU_SECRET: 'x' })).toBeNull();
  });

  it('takes one URL or several, in order, without trailing slashes', () => {
    expect(sfuConfig({ SFU_URL: 'https://sfu-1.example.com/', SFU_SECRET: SECRET })).toEqual({ servers: ['https://sfu-1.example.com'], secret: SECRET });
    expect(sfuConfig({ SFU_URL: ' http://127.0.0.1:8788 , https://sfu.example.com/media/ ,', SFU_SECRET: SECRET })?.servers).toEqual([
      'http://127.0.0.1:8788',
      'https://sfu.example.com/media',
    ]);
  });

  it('refuses what it cannot use with a 20500 that names the variable and leaks no secret', () => {
    const attempt = (env: { SFU_URL?: string; SFU_SECRET?: string }) => {
      try {
        sfuConfig(env);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('no error');
    };
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      for (const [env, variable] of [
        [{ SFU_URL: 'not a url', SFU_SECRET: 'hunter2-hunter2-hunter2' }, 'SFU_URL'],
        [{ SFU_URL: 'ftp://sfu.example.com', SFU_SECRET: 'hunter2-hunter2-hunter2' }, 'SFU_URL'],
        [{ SFU_URL: 'https://admin:hunter2@sfu.example.com', SFU_SECRET: 'hunter2-hunter2-hunter2' }, 'SFU_URL'],
        [{ SFU_URL: 'https://sfu.example.com' }, 'SFU_SECRET'],
        [{ SFU_URL: 'https://sfu.example.com', SFU_SECRET: 'hunter2' }, 'SFU_SECRET'],
      ] as const) {
        const err = attempt(env);
        expect(err).toBeInstanceOf(ConfigError);
        expect(err.variable).toBe(variable);
        expect(err.message).not.toContain('hunter2');
        // The same env object gives the same error: parsed once.
        expect(attempt(env)).toBe(err);
        const failure = configFailure(err);
        expect(failure.toJSON()).toEqual({
          code: 20500,
          message: `Internal server error: the server is misconfigured (${variable})`,
          more_info: 'https://www.twilio.com/docs/errors/20500',
          status: 500,
        });
        configFailure(err);
      }
      // One line per error, however often it is answered, naming the variable and no secret.
      expect(log).toHaveBeenCalledTimes(5);
      for (const [line] of log.mock.calls) {
        expect(JSON.parse(line as string)).toMatchObject({ event: 'config-invalid', code: 20500, variable: expect.stringMatching(/^SFU_(URL|SECRET)$/) });
        expect(line).not.toContain('hunter2');
      }
    } finally {
      log.mockRestore();
    }
  });
});
