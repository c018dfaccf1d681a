// The real `ssestore` binary (node bin/ssestore.js) against a real server process.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

const BIN = path.join(ROOT, "bin/ssestore.js");

interface CliRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  out: string;
}

let server: ServerProcess;
let work: string;

beforeAll(async () => {
  server = await startServer();
  work = tempDir("sse-cli-e2e-");
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function cli(args: string[], opts: { token?: string; stdin?: Buffer | string } = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SSE_")) env[k] = v;
  Object.assign(env, {
    SSE_URL: server.url,
    SSE_TOKEN: opts.token ?? server.token,
    // Never the developer's own ~/.config/ssestore/config.json.
    SSE_CONFIG: path.join(work, "no-config.json"),
  });
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: work, env, stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.stdout.on("data", (d: Buffer) => out.push(d));
  proc.stderr.on("data", (d: Buffer) => err.push(d));
  proc.stdin.end(opts.stdin ?? "");
  return new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, out: stdout.toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const lines = (s: string) => s.split("\n").filter(Boolean);

describe("ssestore against a real server", () => {
  it("put and get round-trip a multi-megabyte random file", async () => {
    const data = randomBytes(6 * 1024 * 1024 + 12345);
    const src = path.join(work, "big.bin");
    fs.writeFileSync(src, data);
    const put = await cli(["put", src, "e2e/big.bin"]);
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    expect(put.out).toMatch(/^created e2e\/big\.bin/);

    const dest = path.join(work, "big.out");
    const get = await cli(["get", "e2e/big.bin", "-o", dest]);
    expect(get.stderr).toBe("");
    expect(get.code).toBe(0);
    expect(sha256(fs.readFileSync(dest))).toBe(sha256(data));
    expect(fs.existsSync(`${dest}.part`)).toBe(false);

    const toStdout = await cli(["get", "e2e/big.bin"]);
    expect(toStdout.code).toBe(0);
    expect(sha256(toStdout.stdout)).toBe(sha256(data));
  });

  it("put from stdin, then stat, ls and rm", async () => {
    const text = "hello from stdin\n";
    const put = await cli(["put", "-", "e2e/stdin.txt"], { stdin: text });
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);

    const get = await cli(["get", "e2e/stdin.txt"]);
    expect(get.out).toBe(text);

    const stat = await cli(["--json", "stat", "e2e/stdin.txt"]);
    expect(stat.code).toBe(0);
    const info = JSON.parse(stat.out);
    expect(info).toMatchObject({
      id: "e2e/stdin.txt",
      size: Buffer.byteLength(text),
      contentType: expect.stringMatching(/^text\/plain/),
    });
    expect(info.etag).toBeTruthy();

    const ls = await cli(["ls", "--prefix", "e2e/"]);
    expect(ls.code).toBe(0);
    expect(lines(ls.out)).toEqual(expect.arrayContaining(["e2e/stdin.txt"]));

    const long = await cli(["ls", "--long", "--prefix", "e2e/stdin"]);
    expect(long.out).toMatch(/text\/plain.*e2e\/stdin\.txt/);

    const rm = await cli(["rm", "e2e/stdin.txt"]);
    expect(rm.code).toBe(0);
    const after = await cli(["stat", "e2e/stdin.txt"]);
    expect(after.code).toBe(3);
  });

  it("ls pages through more ids than one page", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await cli(["put", "-", `page/${i}`], { stdin: `n${i}` });
      expect(r.code).toBe(0);
    }
    const ls = await cli(["--json", "ls", "--prefix", "page/", "--page-size", "2"]);
    expect(JSON.parse(ls.out)).toEqual(["page/0", "page/1", "page/2"]);
    const limited = await cli(["ls", "--limit", "1", "--prefix", "page/"]);
    expect(limited.code).toBe(0);
    expect(limited.out).toBe("page/0\n");
  });

  it("ls takes a prefix, shows folders, and --long reads the listing with a header row", async () => {
    for (const id of ["fold/a.txt", "fold/sub/b.txt", "fold/sub/deeper/c.txt"])
      expect((await cli(["put", "-", id], { stdin: id })).code).toBe(0);
    const ls = await cli(["ls", "fold/"]);
    expect([ls.code, ls.stderr]).toEqual([0, ""]);
    expect(ls.out).toBe("fold/sub/\nfold/a.txt\n");
    const rec = await cli(["ls", "--recursive", "fold/"]);
    expect(rec.out).toBe("fold/a.txt\nfold/sub/b.txt\nfold/sub/deeper/c.txt\n");
    const long = await cli(["ls", "-l", "fold/"]);
    expect(lines(long.out)[0]).toMatch(/^SIZE\s+TYPE\s+MODIFIED\s+ID$/);
    expect(lines(long.out).slice(1)).toEqual([
      expect.stringMatching(/^-\s+folder\s+-\s+fold\/sub\/$/),
      expect.stringMatching(/^10 B\s+text\/plain\s+\d{4}-\d\d-\d\dT\S+Z\s+fold\/a\.txt$/),
    ]);
  });

  it("an item has one size everywhere: its data's UTF-8 bytes in ls -l, stat and GET /objects", async () => {
    const res = await server.fetch("/data", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: 424242, data: "héllo" }),
    });
    expect(res.status).toBe(200);
    const listed = (await (await server.fetch("/objects?prefix=424242")).json()) as {
      objects: { id: number; size: number }[];
    };
    expect(listed.objects).toEqual([expect.objectContaining({ id: 424242, size: 6, kind: "item" })]);
    const stat = await cli(["--json", "stat", "424242"]);
    expect(JSON.parse(stat.out)).toMatchObject({ id: 424242, size: 6, kind: "item" });
    const long = await cli(["ls", "-l", "424242"]);
    expect(lines(long.out)[1]).toMatch(/^6 B\s+item\s+\S+\s+424242$/);
  });

  it("a missing id exits 3 with one line on stderr", async () => {
    const r = await cli(["get", "no/such/object"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("error: no/such/object not found\n");
    expect(r.stdout.length).toBe(0);
  });

  it("a wrong token exits 4 with one line on stderr", async () => {
    const r = await cli(["ls"], { token: "sse_wrong_token_000000000000000000000000000000000000" });
    expect(r.code).toBe(4);
    expect(lines(r.stderr)).toEqual([
      "error: the token in SSE_TOKEN is wrong, expired or revoked; set a working one, or unset SSE_TOKEN to use the one `ssestore login` saved",
    ]);
  });

  it("--json output parses", async () => {
    const put = await cli(["--json", "put", "-", "e2e/json.txt"], { stdin: "j" });
    expect(JSON.parse(put.out)).toMatchObject({ id: "e2e/json.txt", size: 1, created: true });
    const ls = await cli(["--json", "ls", "--recursive"]);
    expect(JSON.parse(ls.out)).toEqual(expect.arrayContaining(["e2e/json.txt"]));
    const top = await cli(["--json", "ls"]);
    expect(JSON.parse(top.out)).toEqual(expect.arrayContaining(["e2e/"]));
    const missing = await cli(["--json", "stat", "e2e/none"]);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { exitCode: 3, status: 404 } });
  });

  it("link prints a URL that downloads the object without a token", async () => {
    const body = randomBytes(200_000);
    expect((await cli(["put", "-", "e2e/linked.bin"], { stdin: body })).code).toBe(0);
    const r = await cli(["link", "e2e/linked.bin", "--expires-in", "600"]);
    expect(r.code).toBe(0);
    const url = r.out.trim();
    expect(lines(r.out)).toEqual([url]);
    expect(r.stderr).toMatch(/works without a token until/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(body));

    const json = await cli(["--json", "link", "e2e/linked.bin"]);
    const made = JSON.parse(json.out) as { id: string; url: string; expiresAt: string };
    expect(made.id).toBe("e2e/linked.bin");
    // The server's default lifetime, one hour.
    const left = Date.parse(made.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(3500_000);
    expect(left).toBeLessThanOrEqual(3600_000);

    expect((await cli(["link", "e2e/none"])).code).toBe(3);
    const zero = await cli(["link", "e2e/linked.bin", "--expires-in", "0"]);
    expect(zero.code).toBe(2);
    const bad = await cli(["link", "../x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a valid object id/);
  });

  it("whoami --json names the bootstrap admin", async () => {
    const me = await cli(["--json", "whoami"]);
    expect(me.stderr).toBe("");
    expect(me.code).toBe(0);
    expect(JSON.parse(me.out)).toMatchObject({ name: "admin", role: "admin" });
  });

  it("--if-none-match refuses to overwrite", async () => {
    await cli(["put", "-", "e2e/once"], { stdin: "1" });
    const again = await cli(["put", "-", "e2e/once", "--if-none-match"], { stdin: "2" });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe("error: e2e/once already exists\n");
  });

  it("put of a file checks the token and --if-none-match before hashing it", async () => {
    const src = path.join(work, "pre.bin");
    fs.writeFileSync(src, randomBytes(100_000));
    expect((await cli(["put", src, "e2e/pre.bin"])).code).toBe(0);
    const again = await cli(["put", src, "e2e/pre.bin", "--if-none-match"]);
    expect([again.code, again.stderr]).toEqual([1, "error: e2e/pre.bin already exists\n"]);
    const wrong = await cli(["put", src, "e2e/pre2.bin"], {
      token: "sse_wrong_token_000000000000000000000000000000000000",
    });
    expect(wrong.code).toBe(4);
  });

  it("users create + tokens create, then act with the new token", async () => {
    const user = await cli(["users", "create", "carol"]);
    expect(user.stderr).toBe("");
    expect(user.code).toBe(0);
    const tok = await cli([
      "tokens",
      "create",
      "--user",
      "carol",
      "--label",
      "e2e",
      "--scopes",
      "read,write",
    ]);
    expect(tok.code).toBe(0);
    const token = tok.out.trim();
    expect(token).toMatch(/^sse_/);

    const me = await cli(["--json", "whoami"], { token });
    expect(JSON.parse(me.out)).toMatchObject({ name: "carol" });
    const put = await cli(["put", "-", "mine.txt"], { token, stdin: "carol's" });
    expect(put.code).toBe(0);
    expect((await cli(["get", "mine.txt"], { token })).out).toBe("carol's");
    // Objects are private to their owner: the admin does not see carol's.
    expect((await cli(["stat", "mine.txt"])).code).toBe(3);

    const list = await cli(["--json", "tokens", "ls"], { token });
    expect(JSON.parse(list.out)).toEqual(expect.arrayContaining([expect.objectContaining({ label: "e2e" })]));
    const users = await cli(["--json", "users", "ls"]);
    expect(JSON.stringify(JSON.parse(users.out))).toContain("carol");
    const table = await cli(["tokens", "ls", "--user", "carol"]);
    expect(table.out).toMatch(/ISSUED BY/);
    expect(table.out).toMatch(/e2e .* admin\s*$/m);

    // carol has enrolled: the admin can no longer issue her tokens, only reset her.
    const late = await cli(["tokens", "create", "--user", "carol"]);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/enrolled/);
    expect((await cli(["users", "reset", "carol"])).code).not.toBe(0);
    const reset = await cli(["users", "reset", "carol", "--yes", "--label", "again"]);
    expect(reset.code, reset.stderr).toBe(0);
    const fresh = reset.out.trim();
    expect(fresh).toMatch(/^sse_/);
    expect(reset.stderr).toMatch(/1 credential\(s\) revoked/);
    expect((await cli(["whoami"], { token })).code).not.toBe(0);
    expect((await cli(["get", "mine.txt"], { token: fresh })).out).toBe("carol's");
    const mine = JSON.parse((await cli(["--json", "tokens", "ls"], { token: fresh })).out);
    expect(mine).toEqual([expect.objectContaining({ label: "again", issuedBy: "reset" })]);
    const ls = await cli(["users", "ls"]);
    expect(ls.out).toMatch(/STATUS/);
    expect(ls.out).toMatch(/^carol\s+user\s+enrolled/m);
  });
});

describe("ssestore access-keys against a real server", () => {
  it("create prints the id and secret once, ls never, rm revokes; the admin only while the user enrolls", async () => {
    expect((await cli(["users", "create", "dora"])).code).toBe(0);
    const made = await cli(["access-keys", "create", "--user", "dora", "--label", "e2e", "--scopes", "read"]);
    expect(made.code, made.stderr).toBe(0);
    const [idLine, secretLine] = lines(made.out);
    const id = /^AWS_ACCESS_KEY_ID=(SSEK[0-9A-F]{16})$/.exec(idLine ?? "")?.[1];
    const secret = /^AWS_SECRET_ACCESS_KEY=([A-Za-z0-9_-]{43})$/.exec(secretLine ?? "")?.[1];
    expect(id, made.out).toBeDefined();
    expect(secret, made.out).toBeDefined();
    expect(made.stderr).toMatch(/shown only this once/);

    const json = await cli(["--json", "access-keys", "create", "--user", "dora"]);
    const second = JSON.parse(json.out);
    expect(second).toMatchObject({ user: "dora", issuedBy: "admin", scopes: ["read", "write"] });
    expect(second.secretAccessKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const table = await cli(["access-keys", "ls", "--user", "dora"]);
    expect(table.out).toMatch(/^ACCESS KEY ID/);
    expect(table.out).toMatch(new RegExp(`^${id} +e2e +read .* admin$`, "m"));
    const listed = await cli(["--json", "access-keys", "ls", "--user", "dora"]);
    expect(
      JSON.parse(listed.out)
        .map((k: { accessKeyId: string }) => k.accessKeyId)
        .sort(),
    ).toEqual([id, second.accessKeyId].sort());
    for (const out of [table.out, listed.out]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(second.secretAccessKey);
    }
    const keys = await cli(["keys", "show", "--user", "dora"]);
    expect(keys.out).toMatch(/VERSION +CREATED +OBJECTS +ACCESS KEYS/);
    expect(keys.out).toMatch(/^1 +\S+ +0 +2$/m);

    const rm = await cli(["access-keys", "rm", id!, "--user", "dora"]);
    expect([rm.code, rm.out]).toEqual([0, `revoked access key ${id}\n`]);
    const again = await cli(["access-keys", "rm", id!, "--user", "dora"]);
    expect(again.code).toBe(3);

    // Dora signs in once with a token of her own: from then on the admin is refused, she is not.
    const tok = (await cli(["tokens", "create", "--user", "dora"])).out.trim();
    expect((await cli(["whoami"], { token: tok })).code).toBe(0);
    const late = await cli(["access-keys", "create", "--user", "dora"]);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/enrolled/);
    const own = await cli(["--json", "access-keys", "create"], { token: tok });
    expect(JSON.parse(own.out)).toMatchObject({ user: "dora", issuedBy: "dora" });

    for (const s of [secret!, second.secretAccessKey, JSON.parse(own.out).secretAccessKey])
      expect(server.output()).not.toContain(s);
  });
});
