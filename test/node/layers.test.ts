import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import rules of the tree (README, "How it is built"): core/ imports nothing of the project, the
 * objects never import the Worker, and the media server reaches only core/. A move that breaks
 * one fails here, with the offending file and import.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every relative import of `file`, as a path from the repository root. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

function offending(dir: string, allowed: (target: string) => boolean): string[] {
  return sources(dir).flatMap((f) => imports(f).filter((t) => !allowed(t)).map((t) => `${f} → ${t}`));
}

describe('layers', () => {
  it('core/ imports only core/', () => {
    expect(offending('core', (t) => t.startsWith('core/'))).toEqual([]);
  });

  it('durable-objects/ never imports workers/', () => {
    expect(offending('durable-objects', (t) => !t.startsWith('workers/'))).toEqual([]);
  });

  it('the media server imports only itself and core/', () => {
    expect(offending('media-server/src', (t) => t.startsWith('media-server/') || t.startsWith('core/'))).toEqual([]);
  });
});
