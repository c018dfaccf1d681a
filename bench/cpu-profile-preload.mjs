// Loaded with NODE_OPTIONS=--import into the server under test when the bench runs with --profile
// (Node 20 refuses --cpu-prof in NODE_OPTIONS, and the harness starts the server through tsx).
// Profiles the process that runs BENCH_CPU_PROFILE_MAIN and writes a .cpuprofile when it exits.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
const main = process.env.BENCH_CPU_PROFILE_MAIN;
// tsx's wrapper process loads this too; only the process running the server script profiles.
if (dir && main && process.argv[1]?.endsWith(main)) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  // The in-process inspector answers synchronously, so this works inside an exit handler.
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      const file = path.join(dir, `server-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
