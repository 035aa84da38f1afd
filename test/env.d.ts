// Types for the test files: `env` from cloudflare:test is the Worker's Env, and
// `exports.default` from cloudflare:workers is the Worker's default export.
import type { Env as WorkerEnv } from '../durable-objects/env';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import('../workers/index');
      durableNamespaces: 'RoomObject' | 'CatalogObject';
    }
  }
}
