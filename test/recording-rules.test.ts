import { describe, expect, it } from 'vitest';
import { initialRecordingRules, isRecorded, parseRecordingRules } from '../core/recording-rules';
import { TwilioError } from '../core/errors';
import { planRecordings } from '../durable-objects/room/recordings/recording-plan';
import { durationSeconds } from '../durable-objects/room/recordings/recording-states';
import { storageFor } from '../durable-objects/room/recordings/recording-storage';
import type { StoredRecording } from '../durable-objects/room/recordings/recording-store';
import type { ParticipantRecord, TrackRecord } from '../durable-objects/room/participants/participant-record';
import { DEFAULT_RECORDING_SETTINGS } from '../core/recording-settings';

const refusal = (raw: unknown): TwilioError => {
  try {
    parseRecordingRules(raw);
  } catch (err) {
    return err as TwilioError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
};

describe('parseRecordingRules', () => {
  it('normalizes rules, and takes an empty set (record nothing) or {rules: [...]}', () => {
    expect(parseRecordingRules([])).toEqual([]);
    expect(parseRecordingRules({ rules: [{ type: 'include', all: true }] })).toEqual([{ type: 'include', all: true }]);
    expect(
      parseRecordingRules([
        { type: 'include', all: null, publisher: 'alice', track: null, kind: null },
        { type: 'exclude', kind: 'video', publisher: null },
        { type: 'include', track: 'screen' },
      ]),
    ).toEqual([{ type: 'include', publisher: 'alice' }, { type: 'exclude', kind: 'video' }, { type: 'include', track: 'screen' }]);
  });

  it.each([
    ['not an array', 'x', 'rules must be a JSON array'],
    ['an object without rules', { type: 'include', all: true }, 'rules must be a JSON array'],
    ['too many rules', Array.from({ length: 21 }, () => ({ type: 'include', all: true })), 'at most 20 rules are allowed'],
    ['a rule that is not an object', ['include'], 'rule 0 must be an object'],
    ['an unknown field', [{ type: 'include', all: true, priority: 'high' }], "rule 0 has an unknown field 'priority'"],
    ['a missing type', [{ all: true }], 'rule 0 needs a type of include or exclude'],
    ['a wrong type', [{ type: 'record', all: true }], 'rule 0 needs a type of include or exclude'],
    ['all other than true', [{ type: 'include', all: false }], 'rule 0: all must be true'],
    ['an empty publisher', [{ type: 'include', publisher: '' }], 'rule 0: publisher must be a string of 1 to 128 characters'],
    ['a long track name', [{ type: 'include', track: 'x'.repeat(129) }], 'rule 0: track must be a string of 1 to 128 characters'],
    ['a wrong kind', [{ type: 'include', kind: 'screen' }], 'rule 0: kind must be audio, video or data'],
    ['all with a filter', [{ type: 'include', all: true, kind: 'audio' }], 'rule 0: a rule with all takes no other filter'],
    ['no filter at all', [{ type: 'include', all: true }, { type: 'exclude' }], 'rule 1 needs all, or a publisher, track or kind'],
  ])('refuses %s with 53120', (_what, raw, why) => {
    const err = refusal(raw);
    expect(err).toBeInstanceOf(TwilioError);
    expect(err.code).toBe(53120);
    expect(err.status).toBe(400);
    expect(err.message).toBe(`Invalid Recording Rule(s): ${why}`);
  });

  it('starts a room with everything when it records on connect, else nothing', () => {
    expect(initialRecordingRules({ recordParticipantsOnConnect: true })).toEqual([{ type: 'include', all: true }]);
    expect(initialRecordingRules({ recordParticipantsOnConnect: false })).toEqual([]);
    // RecordingRules given at creation win over RecordParticipantsOnConnect.
    expect(initialRecordingRules({ recordParticipantsOnConnect: true, recordingRules: [{ type: 'include', kind: 'audio' }] })).toEqual([{ type: 'include', kind: 'audio' }]);
  });
});

describe('isRecorded', () => {
  const alice = { sid: 'PA' + 'a'.repeat(32), identity: 'alice' };
  const mic = { sid: 'MT' + '1'.repeat(32), name: 'mic', kind: 'audio' as const };
  const cam = { sid: 'MT' + '2'.repeat(32), name: 'cam', kind: 'video' as const };
  const chat = { sid: 'MT' + '3'.repeat(32), name: 'chat', kind: 'data' as const };

  it('matches by all, publisher (identity or sid), track (name or sid) and kind; excludes win', () => {
    expect(isRecorded([{ type: 'include', all: true }], alice, mic)).toBe(true);
    expect(isRecorded([], alice, mic)).toBe(false);
    expect(isRecorded([{ type: 'include', publisher: 'alice' }], alice, cam)).toBe(true);
    expect(isRecorded([{ type: 'include', publisher: alice.sid }], alice, cam)).toBe(true);
    expect(isRecorded([{ type: 'include', publisher: 'bob' }], alice, cam)).toBe(false);
    expect(isRecorded([{ type: 'include', track: 'cam' }], alice, cam)).toBe(true);
    expect(isRecorded([{ type: 'include', track: cam.sid }], alice, cam)).toBe(true);
    expect(isRecorded([{ type: 'include', kind: 'audio' }], alice, cam)).toBe(false);
    expect(isRecorded([{ type: 'include', publisher: 'alice', kind: 'audio' }], alice, mic)).toBe(true);
    expect(isRecorded([{ type: 'exclude', kind: 'video' }, { type: 'include', all: true }], alice, cam)).toBe(false);
    expect(isRecorded([{ type: 'include', all: true }, { type: 'exclude', kind: 'video' }], alice, mic)).toBe(true);
  });

  it('never records data tracks', () => {
    expect(isRecorded([{ type: 'include', all: true }], alice, chat)).toBe(false);
    expect(isRecorded([{ type: 'include', kind: 'data' }], alice, chat)).toBe(false);
  });
});

describe('planRecordings', () => {
  const track = (id: string, kind: TrackRecord['kind']): TrackRecord => ({ id, sid: `MT-${id}`, kind, name: id, enabled: true, priority: 'standard', publishedAt: 0 });
  const participant = (identity: string, tracks: TrackRecord[]) => ({ sid: `PA-${identity}`, identity, tracks }) as ParticipantRecord;
  const alice = participant('alice', [track('a-mic', 'audio'), track('a-cam', 'video'), track('a-chat', 'data')]);
  const bob = participant('bob', [track('b-mic', 'audio')]);
  const sessions: Record<string, string> = { 'PA-alice': 'PA-alice.1', 'PA-bob': 'PA-bob.1' };
  const sessionOf = (sid: string) => (sessions[sid] ? { id: sessions[sid]!, server: 'http://sfu.test' } : null);
  const writing = (trackSid: string, session: string) => ({ record: { sourceSid: trackSid }, session }) as unknown as StoredRecording;

  it('starts every matching audio and video track with a session, and nothing else', () => {
    const plan = planRecordings([{ type: 'include', all: true }], [alice, bob, participant('carol', [track('c-mic', 'audio')])], sessionOf, []);
    expect(plan.start.map((w) => `${w.track.sid}@${w.session.id}`)).toEqual(['MT-a-mic@PA-alice.1', 'MT-a-cam@PA-alice.1', 'MT-b-mic@PA-bob.1']);
    expect(plan.stop).toEqual([]);
  });

  it('keeps what is writing, stops what no longer matches, and restarts a moved session', () => {
    const micWriting = writing('MT-a-mic', 'PA-alice.1');
    const camWriting = writing('MT-a-cam', 'PA-alice.1');
    const bobWriting = writing('MT-b-mic', 'PA-bob.0');
    const plan = planRecordings([{ type: 'include', all: true }, { type: 'exclude', kind: 'video' }], [alice, bob], sessionOf, [micWriting, camWriting, bobWriting]);
    expect(plan.stop).toEqual([camWriting, bobWriting]);
    expect(plan.start.map((w) => `${w.track.sid}@${w.session.id}`)).toEqual(['MT-b-mic@PA-bob.1']);
  });
});

describe('recording values', () => {
  it("rounds durations to whole seconds, any media counting at least one", () => {
    expect([0, 1, 499, 500, 1499, 1500, 10_400].map(durationSeconds)).toEqual([0, 1, 1, 1, 1, 2, 10]);
  });

  it('stores in the account bucket only when it is enabled with a URL and a key pair', () => {
    expect(storageFor(null, 'http://sfu.test')).toEqual({ type: 'local', server: 'http://sfu.test' });
    const bucket = { ...DEFAULT_RECORDING_SETTINGS, awsS3Url: 'https://b.s3.us-east-1.amazonaws.com/rec', accessKeyId: 'AKIA', secretAccessKey: 'secret' };
    expect(storageFor(bucket, 'http://sfu.test')).toEqual({ type: 'local', server: 'http://sfu.test' });
    expect(storageFor({ ...bucket, awsStorageEnabled: true, region: 'us-east-1' }, 'http://sfu.test')).toEqual({
      type: 's3',
      url: 'https://b.s3.us-east-1.amazonaws.com/rec',
      region: 'us-east-1',
      accessKeyId: 'AKIA',
      secretAccessKey: 'secret',
    });
    // Without AwsRegion: an AWS bucket's region is read from its URL (SigV4 needs it); other stores take auto.
    expect(storageFor({ ...bucket, awsStorageEnabled: true }, 'x')).toMatchObject({ type: 's3', region: 'us-east-1' });
    expect(storageFor({ ...bucket, awsS3Url: 'https://b.s3.eu-west-1.amazonaws.com', awsStorageEnabled: true }, 'x')).toMatchObject({ region: 'eu-west-1' });
    expect(storageFor({ ...bucket, awsS3Url: 'https://acct.r2.cloudflarestorage.com/b', awsStorageEnabled: true }, 'x')).toMatchObject({ region: 'auto' });
  });
});
