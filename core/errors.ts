/**
 * The one error type of Atrium. It carries Twilio's error code, the HTTP status and a message, and
 * renders as the JSON body that Twilio's helper libraries parse into a RestException.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 503;

/** Twilio's code → [HTTP status, default message]. Codes 531xx–535xx are Video's own. */
const CODES: Record<number, [ErrorStatus, string]> = {
  20001: [400, 'Unknown parameter'],
  20003: [401, 'Authenticate'],
  20004: [405, 'Method not allowed'],
  20101: [401, 'Invalid Access Token'],
  20102: [401, 'Invalid Access Token header'],
  20103: [401, 'Invalid Access Token issuer/subject'],
  20104: [401, 'Access Token expired or expiration date invalid'],
  20105: [401, 'Access Token not yet valid'],
  20106: [401, 'Invalid Access Token grants'],
  20107: [401, 'Invalid Access Token signature'],
  20404: [404, 'The requested resource was not found'],
  20429: [429, 'Too Many Requests'],
  20500: [500, 'Internal server error'],
  70002: [400, 'Bad request'],
  53100: [400, 'Room name is invalid'],
  53101: [400, 'Room name is too long'],
  53102: [400, 'Room name contains invalid characters'],
  53103: [400, 'Unable to create Room'],
  53105: [400, 'Room contains too many Participants'],
  53106: [404, 'Room not found'],
  53107: [400, 'MaxParticipants is out of range'],
  53108: [400, 'RoomType is not valid'],
  53109: [400, 'Timeout is out of range'],
  53110: [400, 'StatusCallbackMethod is invalid'],
  53111: [400, 'StatusCallback is invalid'],
  53112: [400, 'Status is invalid'],
  53113: [400, 'Room exists'],
  53114: [400, 'Room creation parameter(s) incompatible with the Room type'],
  53115: [400, 'MediaRegion is invalid'],
  53116: [400, 'There are no media servers available in the MediaRegion'],
  53117: [400, 'The subscription operation requested is not supported for the Room type'],
  53120: [400, 'Invalid Recording Rule(s)'],
  53121: [400, 'The recording operation requested is not supported for the Room type'],
  53200: [400, 'Participant identity is invalid'],
  53201: [400, 'Participant identity is too long'],
  53202: [400, 'Participant identity contains invalid characters'],
  53204: [404, 'Participant not found'],
  53215: [400, 'Invalid Subscribe Rule(s)'],
};

/** The plain, serializable shape of an error: what crosses Durable Object RPC. */
export interface ErrorBody {
  code: number;
  status: ErrorStatus;
  message: string;
}

export class TwilioError extends Error {
  readonly code: number;
  readonly status: ErrorStatus;

  /** `message` defaults to Twilio's text for the code; pass one that says what exactly was wrong. */
  constructor(code: number, message?: string, status?: ErrorStatus) {
    const known = CODES[code];
    super(message ?? known?.[1] ?? 'Error');
    this.name = 'TwilioError';
    this.code = code;
    this.status = status ?? known?.[0] ?? 400;
  }

  static from(body: ErrorBody): TwilioError {
    return new TwilioError(body.code, body.message, body.status);
  }

  toBody(): ErrorBody {
    return { code: this.code, status: this.status, message: this.message };
  }

  /** The JSON Twilio sends: twilio-node reads code, message, more_info and status. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}

/** What a Durable Object method returns: a value, or the error a caller rethrows as TwilioError. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: number, message?: string): Result<never> => ({
  ok: false,
  error: new TwilioError(code, message).toBody(),
});

/** Unwraps a Result in the Worker, throwing the TwilioError it carries. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw TwilioError.from(result.error);
  return result.value;
}
