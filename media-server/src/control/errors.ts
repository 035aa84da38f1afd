/**
 * What the control API answers when it cannot do what was asked: an HTTP status, a Twilio code the
 * Room object can hand a participant (53403 for a description the server cannot apply, 53004 for a
 * malformed message), and a message that says why. Rendered as JSON `{code, message, status}`.
 */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  toJSON(): { code: number; message: string; status: number } {
    return { code: this.code, message: this.message, status: this.status };
  }
}

export const badRequest = (why: string, code = 53004) => new ControlError(400, code, why);
export const notFound = (what: string) => new ControlError(404, 53000, `${what} not found`);
