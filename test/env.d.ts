// Types for the test files: `env` from cloudflare:test is the Worker's Env, and
// `exports.default` from cloudflare:workers is the Worker's default export.
declare namespace Cloudflare {
  interface Env extends import('../workers/env').Env {}
  interface GlobalProps {
    mainModule: typeof import('../workers/index');
    durableNamespaces: 'RoomObject' | 'CatalogObject';
  }
}
