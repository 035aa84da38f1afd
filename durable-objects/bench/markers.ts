/** Constants shared by the bench floor routes, the floor object and the bench runner (which runs in Node). */

/** What GET /bench/noop answers; distinctive, so the bench can tell this Worker's own socket from others. */
export const NOOP_BODY = 'atrium-bench-noop';

/** Set by the route on the upgrade of an echo socket whose object stores each message before echoing it. */
export const ECHO_WRITES_HEADER = 'x-atrium-bench-echo-writes';

/** Set by the route on the upgrade of a broadcast socket: the object sends each message to every other socket it holds. */
export const BROADCAST_HEADER = 'x-atrium-bench-broadcast';
