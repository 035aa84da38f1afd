import { app } from './app';
import type { Env } from '../durable-objects/env';

export { BenchObject } from '../durable-objects/bench/bench-object';
export { CatalogObject } from '../durable-objects/catalog/catalog-object';
export { RoomObject } from '../durable-objects/room/room-object';

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
