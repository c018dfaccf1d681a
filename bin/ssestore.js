#!/usr/bin/env node
// Runs the production build when there is one, else the TypeScript source through tsx: no build step needed.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli/main.js", import.meta.url);
let cli;
if (existsSync(fileURLToPath(built))) {
  cli = await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
  cli = await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
await cli.run();
