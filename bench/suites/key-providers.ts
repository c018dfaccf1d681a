// Item GET with the passphrase and pkcs11 (SoftHSM2) root-key providers next to the file provider,
// each a real server with 1,000 items of 1 KiB, measured in alternating slices. The unwrapped-KEK
// cache keeps Argon2id and the HSM off the request path. Target: each ≥ 0.9 of file.
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createSoftHsmToken, softhsmAvailable } from "../../test/helpers/softhsm.js";
import { alternate, describeLoad, type Side } from "../alternate.js";
import { checkItem, type ItemTarget, itemGetLoad, preloadItems } from "../item-load.js";
import type { SseServer } from "../sse-server.js";
import { type Row, ratioRow, type Suite, type SuiteContext } from "../suite.js";

const POOL_SIZE = 1000;

const suite: Suite = {
  name: "key-providers",
  order: 30,
  defaultOn: true,
  description: "item GET req/s with the passphrase and pkcs11 providers vs file (target ≥ 0.9)",
  async run(ctx: SuiteContext): Promise<Row[]> {
    const token = softhsmAvailable ? createSoftHsmToken({ label: "sse-bench", pin: "13579" }) : undefined;
    if (!token) ctx.log("key-providers: SoftHSM2 not installed; the pkcs11 figure is skipped");
    const servers: { label: string; server: SseServer; side?: Side }[] = [];
    const passFile = path.join(ctx.opts.dataRoot, `sse-bench-passphrase-${process.pid}`);
    try {
      writeFileSync(passFile, "a bench passphrase, not a secret\n", { mode: 0o600 });
      const configs: [string, Record<string, string>][] = [
        ["file", { SSE_KEY_PROVIDER: "file" }],
        ["passphrase", { SSE_KEY_PROVIDER: "passphrase", SSE_PASSPHRASE_FILE: passFile }],
      ];
      if (token)
        configs.push([
          "pkcs11",
          {
            ...token.env,
            SSE_KEY_PROVIDER: "pkcs11",
            SSE_PKCS11_MODULE: token.module,
            SSE_PKCS11_TOKEN_LABEL: token.tokenLabel,
            SSE_PKCS11_PIN: token.pin,
          },
        ]);
      for (const [label, env] of configs) {
        const server = await ctx.startSse(`key-providers-${label}`, env);
        servers.push({ label, server });
        const target: ItemTarget = { url: server.url, token: server.token };
        ctx.log(`key-providers: preloading ${POOL_SIZE} items (${label})`);
        const ids = await preloadItems(target, POOL_SIZE);
        await checkItem(target, ids[0]!);
        servers[servers.length - 1]!.side = {
          target,
          pid: server.pid,
          run: (t, sh) => itemGetLoad(t, ids, sh),
        };
      }

      // Each provider in alternating slices with the file provider, so both see the same noise.
      const [file, ...others] = servers;
      const rows: Row[] = [];
      const details: Record<string, unknown> = {};
      for (const s of others) {
        const [base, measured] = await alternate(
          ctx,
          `key-providers: GET ${s.label} vs file`,
          file!.side!,
          s.side!,
        );
        details[s.label] = { file: base, [s.label]: measured };
        rows.push(
          ratioRow({
            suite: "key-providers",
            figure: `item GET 1 KiB, ${s.label} provider`,
            value: measured.rps,
            unit: "req/s",
            baseline: { label: "file provider", value: base.rps },
            target: { op: ">=", value: 0.9 },
            otherLoad: Math.max(base.otherCores, measured.otherCores),
            note: `${s.label}: ${describeLoad(measured)} | file: ${describeLoad(base)}`,
          }),
        );
      }
      ctx.detail("keyProviders", details);
      return rows;
    } finally {
      for (const s of servers) await s.server.stop();
      token?.cleanup();
      rmSync(passFile, { force: true });
    }
  },
};

export default suite;
