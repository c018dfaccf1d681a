// Worker threads run modules of this program, so that a thread and the main thread share one
// implementation. Built, a thread's module is the .js beside its starter's in dist/; from source
// (npm start, the tests) it is the .ts one, and the thread needs a TypeScript loader of its own:
// on Node 20, tsx registers itself on the main thread only, so the thread registers it first.
import path from "node:path";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** The module `name` beside the module `base` (its import.meta.url), with its extension: .ts or .js. */
export function threadModule(base: string, name: string): URL {
  return new URL(`./${name}${path.extname(new URL(base).pathname)}`, base);
}

/** Starts a worker thread on the module `entry`; a .ts module through tsx (from source only). */
export function startThread(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, options);
  // Resolved here, where tsx is installed (a dev dependency: dist never takes this branch).
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
