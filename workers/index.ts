import { app } from './app';
import type { Env } from './env';

export { CatalogObject } from '../durable-objects/catalog/catalog-object';
export { RoomObject } from '../durable-objects/room/room-object';

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
