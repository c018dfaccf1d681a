// SSE_LIBRARY_SHORTCUTS: the operator's switch for the speed-ups that rely on libraries' internals.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { LIBRARY_SHORTCUTS } from "../../src/settings.js";

describe("SSE_LIBRARY_SHORTCUTS", () => {
  it("takes every shortcut by default and with all", () => {
    expect(loadConfig({}).libraryShortcuts).toEqual([...LIBRARY_SHORTCUTS]);
    expect(loadConfig({ SSE_LIBRARY_SHORTCUTS: "all" }).libraryShortcuts).toEqual([...LIBRARY_SHORTCUTS]);
    expect(loadConfig({ SSE_LIBRARY_SHORTCUTS: " ALL " }).libraryShortcuts).toEqual([...LIBRARY_SHORTCUTS]);
  });

  it("takes none, or the ones listed, each once", () => {
    expect(loadConfig({ SSE_LIBRARY_SHORTCUTS: "none" }).libraryShortcuts).toEqual([]);
    expect(loadConfig({ SSE_LIBRARY_SHORTCUTS: "binary-copy" }).libraryShortcuts).toEqual(["binary-copy"]);
    expect(
      loadConfig({ SSE_LIBRARY_SHORTCUTS: "lazy-logger, request-line,lazy-logger" }).libraryShortcuts,
    ).toEqual(["lazy-logger", "request-line"]);
    expect(loadConfig({}, { libraryShortcuts: "request-line" }).libraryShortcuts).toEqual(["request-line"]);
  });

  it("refuses unknown words and empty entries, naming the choices", () => {
    for (const bad of ["young-gc", "binary-copy,", "all,none", "on"])
      expect(() => loadConfig({ SSE_LIBRARY_SHORTCUTS: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ SSE_LIBRARY_SHORTCUTS: "nope" })).toThrow(
      /all, none, or a comma list of request-line, lazy-logger, binary-copy/,
    );
  });
});
