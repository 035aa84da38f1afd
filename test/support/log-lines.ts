/** A console spy, as vitest's `vi.spyOn(console, …)` returns it. */
type ConsoleSpy = { mock: { calls: unknown[][] } };

/** The structured lines (core/log.ts) printed through `spy` so far; other output is skipped. */
export const lines = (spy: ConsoleSpy): Record<string, any>[] =>
  spy.mock.calls.flatMap((c) => {
    try {
      const parsed = JSON.parse(String(c[0]));
      return parsed && typeof parsed === 'object' ? [parsed] : [];
    } catch {
      return [];
    }
  });

/** The calls through `spy` whose text mentions `text`, however they were printed. */
export const mentioning = (spy: ConsoleSpy, text: string): unknown[][] =>
  spy.mock.calls.filter((c) => c.map(String).join(' ').includes(text));
