// `npm run build` step: bundles the web console into dist/console/ beside the compiled server.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { writeConsoleAssets } from "./http/console-assets.js";

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const out = path.resolve(process.argv[2] ?? "dist/console");
  const files = await writeConsoleAssets(out);
  process.stdout.write(`console: ${files.join(", ")} → ${out}\n`);
}
