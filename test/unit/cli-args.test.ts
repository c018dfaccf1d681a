import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jobBar } from "../../src/cli/progress.js";
import type { Config } from "../../src/config.js";
import { fakeFetch, json, problem, runCli, tempHome } from "../helpers/cli-fakes.js";

const sha256b64 = (b: Buffer) => createHash("sha256").update(b).digest("base64");

describe("global behaviour", () => {
  it("--version prints the package version", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("--help works on every command", async () => {
    for (const args of [
      ["--help"],
      ["put", "--help"],
      ["tokens", "create", "--help"],
      ["access-keys", "create", "--help"],
      ["keys", "min-version", "--help"],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: ssestore");
    }
  });

  it("usage errors exit 2 with one line", async () => {
    for (const args of [
      ["put"],
      ["nope"],
      ["ls", "--bogus"],
      ["ls", "--limit", "0"],
      ["tokens", "create", "--scopes", ""],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: /);
    }
  });

  it("global options work after the command, and --token beats SSE_TOKEN", async () => {
    const f = fakeFetch(() => json(200, { name: "x", role: "user" }));
    const r = await runCli(["whoami", "--json", "--token", "sse_flag"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ name: "x", role: "user" });
    expect(f.calls[0]?.headers.get("authorization")).toBe("Bearer sse_flag");
  });
});

describe("put", () => {
  it("streams a file with Content-Length, Content-Digest and a guessed type; id = basename", async () => {
    const dir = tempHome();
    const file = path.join(dir, "report.json");
    const data = Buffer.from(JSON.stringify({ hello: "world".repeat(1000) }));
    fs.writeFileSync(file, data);
    const f = fakeFetch((req) =>
      req.method === "HEAD"
        ? new Response(null, { status: 404 })
        : json(201, {
            id: "report.json",
            size: req.body.length,
            etag: '"e1"',
            contentType: "application/json",
            keyVersion: 1,
          }),
    );
    const r = await runCli(["put", file, "--if-none-match"], { fetch: f.fetch });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(f.calls.map((c) => c.method)).toEqual(["HEAD", "PUT"]);
    const call = f.calls[1]!;
    expect(call.method).toBe("PUT");
    expect(call.url.href).toBe("http://sse.test/data/report.json");
    expect(call.headers.get("content-length")).toBe(String(data.length));
    expect(call.headers.get("content-digest")).toBe(`sha-256=:${sha256b64(data)}:`);
    expect(call.headers.get("content-type")).toBe("application/json");
    expect(call.headers.get("if-none-match")).toBe("*");
    expect(call.headers.get("authorization")).toBe("Bearer sse_unit");
    expect(call.body.equals(data)).toBe(true);
    expect(r.stdout).toMatch(/^created report\.json \(/);
  });

  it("from stdin needs an id, sends no length or digest", async () => {
    expect((await runCli(["put", "-"])).code).toBe(2);
    const f = fakeFetch(() => json(200, { id: "in/x.txt", size: 5 }));
    const r = await runCli(["--json", "put", "-", "in/x.txt"], {
      fetch: f.fetch,
      stdin: Buffer.from("hello"),
    });
    expect(r.code).toBe(0);
    const call = f.calls[0]!;
    expect(call.url.pathname).toBe("/data/in/x.txt");
    expect(call.headers.get("content-length")).toBeNull();
    expect(call.headers.get("content-digest")).toBeNull();
    expect(call.headers.get("content-type")).toBe("text/plain");
    expect(call.body.toString()).toBe("hello");
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "in/x.txt", size: 5, created: false });
  });

  it("refuses an invalid id before uploading", async () => {
    const dir = tempHome();
    const file = path.join(dir, "my file.txt");
    fs.writeFileSync(file, "x");
    const f = fakeFetch(() => json(201, {}));
    const r = await runCli(["put", file], { fetch: f.fetch });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid object id.*give an id as the second argument/);
    expect(f.calls).toHaveLength(0);
  });

  it("--content-type and --no-digest are honoured; 412 explains itself", async () => {
    const file = path.join(tempHome(), "a.bin");
    fs.writeFileSync(file, "abc");
    const f = fakeFetch(() => problem(412, "precondition_failed", "exists"));
    const r = await runCli(
      ["put", file, "k", "--content-type", "text/csv", "--no-digest", "--if-none-match"],
      {
        fetch: f.fetch,
      },
    );
    expect(f.calls[0]?.headers.get("content-type")).toBe("text/csv");
    expect(f.calls[0]?.headers.get("content-digest")).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: k already exists\n");
  });

  describe("checks the server, the token and the condition before hashing the file", () => {
    const file = () => {
      const f = path.join(tempHome(), "big.bin");
      fs.writeFileSync(f, "before");
      return f;
    };

    it("hashes only after the HEAD answered: the digest is of the bytes present then", async () => {
      const src = file();
      const f = fakeFetch((req) => {
        if (req.method === "HEAD") {
          fs.writeFileSync(src, "after!");
          return new Response(null, { status: 404 });
        }
        return json(201, { id: "big.bin", size: req.body.length });
      });
      const r = await runCli(["put", src], { fetch: f.fetch });
      expect(r.code, r.stderr).toBe(0);
      expect(f.calls[1]?.headers.get("content-digest")).toBe(`sha-256=:${sha256b64(Buffer.from("after!"))}:`);
    });

    it("a wrong token fails at the HEAD, exit 4, nothing uploaded", async () => {
      const f = fakeFetch(() => problem(401, "unauthorized", "no"));
      const r = await runCli(["put", file()], { fetch: f.fetch });
      expect(r.code).toBe(4);
      expect(f.calls.map((c) => c.method)).toEqual(["HEAD"]);
    });

    it("an unreachable server fails at once", async () => {
      const r = await runCli(["put", file()], {
        fetch: async () => {
          throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
        },
      });
      expect([r.code, r.stderr]).toEqual([1, "error: cannot reach http://sse.test\n"]);
    });

    it("--if-none-match on an existing object and --if-match on another ETag fail before the upload", async () => {
      const exists = () =>
        fakeFetch((req) =>
          req.method === "HEAD"
            ? new Response(null, { status: 200, headers: { etag: '"k1-now"' } })
            : json(200, {}),
        );
      let f = exists();
      let r = await runCli(["put", file(), "x", "--if-none-match"], { fetch: f.fetch });
      expect([r.code, r.stderr]).toEqual([1, "error: x already exists\n"]);
      expect(f.calls.map((c) => c.method)).toEqual(["HEAD"]);
      f = exists();
      r = await runCli(["put", file(), "x", "--if-match", '"k1-old"'], { fetch: f.fetch });
      expect([r.code, r.stderr]).toEqual([1, "error: x has changed (ETag mismatch)\n"]);
      expect(f.calls.map((c) => c.method)).toEqual(["HEAD"]);
      f = exists();
      r = await runCli(["put", file(), "x", "--if-match", '"k1-now"'], { fetch: f.fetch });
      expect(r.code).toBe(0);
      expect(f.calls.map((c) => c.method)).toEqual(["HEAD", "PUT"]);
      const gone = fakeFetch(() => new Response(null, { status: 404 }));
      r = await runCli(["put", file(), "x", "--if-match", '"k1-now"'], { fetch: gone.fetch });
      expect([r.code, gone.calls.length]).toEqual([1, 1]);
    });

    it("a token that may write but not read (403 on HEAD) still uploads", async () => {
      const f = fakeFetch((req) =>
        req.method === "HEAD" ? new Response(null, { status: 403 }) : json(201, { id: "x" }),
      );
      const r = await runCli(["put", file(), "x", "--if-none-match"], { fetch: f.fetch });
      expect(r.code, r.stderr).toBe(0);
      expect(f.calls.map((c) => c.method)).toEqual(["HEAD", "PUT"]);
    });
  });

  it("a missing local file is one line", async () => {
    const r = await runCli(["put", "/nonexistent/file.bin"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: /nonexistent/file.bin: no such file or directory\n");
  });
});

describe("get", () => {
  it("writes to <file>.part and renames it when complete", async () => {
    const data = Buffer.from("0123456789".repeat(10_000));
    const f = fakeFetch(
      () => new Response(data, { headers: { "content-length": String(data.length), etag: '"e"' } }),
    );
    const dir = tempHome();
    const out = path.join(dir, "out.bin");
    const r = await runCli(["get", "a/b", "-o", out], { fetch: f.fetch });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out).equals(data)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["out.bin"]);
    expect(f.calls[0]?.url.pathname).toBe("/data/a/b");
  });

  it("into a directory uses the id's last segment", async () => {
    const f = fakeFetch(() => new Response("hi", { headers: { "content-length": "2" } }));
    const dir = tempHome();
    const r = await runCli(["--json", "get", "x/y.txt", "-o", dir], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, "y.txt"), "utf8")).toBe("hi");
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "x/y.txt", file: path.join(dir, "y.txt"), size: 2 });
  });

  it("to stdout by default", async () => {
    const f = fakeFetch(() => new Response("payload", { headers: { "content-length": "7" } }));
    const r = await runCli(["get", "k"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("payload");
  });

  it("a response cut short leaves no file and exits 5", async () => {
    const f = fakeFetch(() => {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) c.error(new TypeError("terminated"));
          else c.enqueue(new Uint8Array(1000));
          sent = true;
        },
      });
      return new Response(body, { headers: { "content-length": "5000" } });
    });
    const dir = tempHome();
    const r = await runCli(["get", "k", "-o", path.join(dir, "k.bin")], { fetch: f.fetch });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^error: the download of k ended early after 1000 of 5000 bytes/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a short body without an error is caught by the length check", async () => {
    const f = fakeFetch(() => new Response("abc", { headers: { "content-length": "10" } }));
    const dir = tempHome();
    const r = await runCli(["get", "k", "-o", path.join(dir, "k")], { fetch: f.fetch });
    expect(r.code).toBe(5);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("404 → exit 3, '<id> not found'", async () => {
    const r = await runCli(["get", "nope"], { fetch: async () => problem(404, "not_found", "unknown id") });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("error: nope not found\n");
  });
});

describe("ls / stat / rm", () => {
  const meta = (id: string | number, size = 12) => ({
    id,
    size,
    etag: `"e-${id}"`,
    contentType: "text/plain",
    created: "2025-11-25T09:00:00.000Z",
    modified: "2025-11-25T10:00:00.000Z",
    keyVersion: 2,
    kind: typeof id === "number" ? "item" : "blob",
  });
  const IDS: (string | number)[] = [
    1,
    2,
    "a/x",
    "b",
    "b/y",
    "b/z/1",
    "c",
    "docs/2024/q1.pdf",
    "docs/report.pdf",
  ];
  /** GET /objects as the server answers it: prefix, delimiter, limit and an opaque cursor (an index here). */
  const lister = () =>
    fakeFetch((req) => {
      if (req.url.pathname !== "/objects") return problem(404, "not_found", "no route");
      const q = req.url.searchParams;
      const prefix = q.get("prefix") ?? "";
      const limit = Number(q.get("limit") ?? 100);
      let i = Number(q.get("cursor") ?? 0);
      const folders: string[] = [];
      const objects: unknown[] = [];
      let taken = 0;
      const ids = IDS.filter((id) => String(id).startsWith(prefix));
      while (i < ids.length && taken < limit) {
        const id = String(ids[i]);
        const cut = q.get("delimiter") === "/" ? id.indexOf("/", prefix.length) : -1;
        if (cut >= 0) {
          const folder = id.slice(0, cut + 1);
          folders.push(folder);
          while (i < ids.length && String(ids[i]).startsWith(folder)) i++;
        } else {
          objects.push(meta(ids[i]!));
          i++;
        }
        taken++;
      }
      return json(200, { prefix, folders, objects, next: i < ids.length ? String(i) : null });
    });

  it("shows the top level as folders and ids, every page", async () => {
    const f = lister();
    const r = await runCli(["ls", "--page-size", "2"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n2\na/\nb\nb/\nc\ndocs/\n");
    expect(f.calls.map((c) => c.url.searchParams.get("delimiter"))).toEqual(["/", "/", "/", "/"]);
  });

  it("takes a prefix argument, as aws s3 ls and mc ls do", async () => {
    const f = lister();
    const r = await runCli(["ls", "docs/"], { fetch: f.fetch });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("docs/2024/\ndocs/report.pdf\n");
    expect(f.calls[0]?.url.searchParams.get("prefix")).toBe("docs/");
    const both = await runCli(["ls", "docs/", "--prefix", "b"], { fetch: lister().fetch });
    expect(both.code).toBe(2);
  });

  it("--recursive lists every id under the prefix, without folders", async () => {
    const f = lister();
    const r = await runCli(["--json", "ls", "-r", "b"], { fetch: f.fetch });
    expect(JSON.parse(r.stdout)).toEqual(["b", "b/y", "b/z/1"]);
    expect(f.calls[0]?.url.searchParams.has("delimiter")).toBe(false);
  });

  it("--limit stops early; --page-size is sent", async () => {
    const f = lister();
    const l = await runCli(["ls", "--json", "-r", "--limit", "2"], { fetch: f.fetch });
    expect(JSON.parse(l.stdout)).toEqual([1, 2]);
    expect(f.calls[0]?.url.searchParams.get("limit")).toBe("2");
    expect(f.calls).toHaveLength(1);
    const g = lister();
    await runCli(["ls", "--page-size", "7"], { fetch: g.fetch });
    expect(g.calls[0]?.url.searchParams.get("limit")).toBe("7");
    expect((await runCli(["ls", "--page-size", "5000"])).code).toBe(2);
  });

  it("--long has a header row and reads the metadata from the listing, not one HEAD per object", async () => {
    const f = lister();
    const human = await runCli(["ls", "-l", "b"], { fetch: f.fetch });
    expect(human.stdout).toBe(
      [
        "SIZE  TYPE        MODIFIED              ID",
        "-     folder      -                     b/",
        "12 B  text/plain  2025-11-25T10:00:00Z  b",
        "",
      ].join("\n"),
    );
    expect(f.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual(["GET /objects"]);
    const j = await runCli(["ls", "--long", "--json", "-r", "b/"], { fetch: lister().fetch });
    expect(JSON.parse(j.stdout)).toEqual([meta("b/y"), meta("b/z/1")]);
    const items = await runCli(["ls", "-l", "--json", "1"], { fetch: lister().fetch });
    expect(JSON.parse(items.stdout)).toEqual([meta(1)]);
    const folders = await runCli(["ls", "-l", "--json", "docs/"], { fetch: lister().fetch });
    expect(JSON.parse(folders.stdout)).toEqual([{ folder: "docs/2024/" }, meta("docs/report.pdf")]);
  });

  it("an empty listing prints nothing, or only the header with --long", async () => {
    expect((await runCli(["ls", "nothing/"], { fetch: lister().fetch })).stdout).toBe("");
    expect((await runCli(["ls", "-l", "nothing/"], { fetch: lister().fetch })).stdout).toBe(
      "SIZE  TYPE  MODIFIED  ID\n",
    );
    expect((await runCli(["--json", "ls", "nothing/"], { fetch: lister().fetch })).stdout).toBe("[]\n");
  });

  it("stat shows the listing's metadata, so an item's size is the same as in ls and the console", async () => {
    const f = lister();
    const r = await runCli(["--json", "stat", "b"], { fetch: f.fetch });
    expect(JSON.parse(r.stdout)).toEqual(meta("b"));
    expect(f.calls.map((c) => c.method)).toEqual(["GET"]);
    const item = await runCli(["stat", "1"], { fetch: lister().fetch });
    expect(item.stdout).toMatch(/^kind\s+item$/m);
    expect(item.stdout).toMatch(/^size\s+12 \(12 B\)$/m);
    const missing = await runCli(["stat", "b/zz"], { fetch: lister().fetch });
    expect([missing.code, missing.stderr]).toEqual([3, "error: b/zz not found\n"]);
  });

  it("rm sends DELETE; a missing id exits 3", async () => {
    const f = fakeFetch(() => new Response(null, { status: 204 }));
    const r = await runCli(["rm", "x/y"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(f.calls[0]).toMatchObject({ method: "DELETE" });
    expect(f.calls[0]?.url.pathname).toBe("/data/x/y");
    const m = await runCli(["rm", "gone"], { fetch: async () => problem(404, "not_found", "x") });
    expect([m.code, m.stderr]).toEqual([3, "error: gone not found\n"]);
  });
});

describe("users, tokens, keys, jobs", () => {
  it("tokens create defaults to the caller and prints only the token on stdout", async () => {
    const f = fakeFetch((req) =>
      req.url.pathname === "/me"
        ? json(200, { name: "ann", role: "user" })
        : json(201, { id: "tok1", token: "sse_new", scopes: ["read"], expiresAt: null }),
    );
    const r = await runCli(
      ["tokens", "create", "--scopes", "read", "--expires-in", "3600", "--label", "ci"],
      {
        fetch: f.fetch,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("sse_new\n");
    expect(r.stderr).toContain("shown only this once");
    expect(f.calls[1]?.url.pathname).toBe("/users/ann/tokens");
    expect(JSON.parse(f.calls[1]!.body.toString())).toEqual({
      label: "ci",
      scopes: ["read"],
      expiresInSeconds: 3600,
    });
  });

  it("tokens revoke --user goes straight to that user", async () => {
    const f = fakeFetch(() => new Response(null, { status: 204 }));
    const r = await runCli(["tokens", "revoke", "t9", "--user", "bob"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(f.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual(["DELETE /users/bob/tokens/t9"]);
  });

  it("access-keys create defaults to the caller and prints the id and secret once, as AWS variables", async () => {
    const f = fakeFetch((req) =>
      req.url.pathname === "/me"
        ? json(200, { name: "ann", role: "user" })
        : json(201, {
            accessKeyId: "SSEK0123456789ABCDEF",
            secretAccessKey: "s3cr3t",
            label: "restic",
            scopes: ["read"],
            expiresAt: null,
            issuedBy: "ann",
          }),
    );
    const r = await runCli(
      ["access-keys", "create", "--scopes", "read", "--expires-in", "600", "--label", "restic"],
      { fetch: f.fetch },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("AWS_ACCESS_KEY_ID=SSEK0123456789ABCDEF\nAWS_SECRET_ACCESS_KEY=s3cr3t\n");
    expect(r.stderr).toMatch(
      /access key SSEK0123456789ABCDEF for ann: scopes read, expires never; .*shown only this once/,
    );
    expect(f.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "GET /me",
      "POST /users/ann/access-keys",
    ]);
    expect(JSON.parse(f.calls[1]!.body.toString())).toEqual({
      label: "restic",
      scopes: ["read"],
      expiresInSeconds: 600,
    });

    const j = await runCli(["--json", "access-keys", "create", "--user", "bob"], { fetch: f.fetch });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      user: "bob",
      accessKeyId: "SSEK0123456789ABCDEF",
      secretAccessKey: "s3cr3t",
    });
    expect(j.stderr).toBe("");
    expect(f.calls.at(-1)?.url.pathname).toBe("/users/bob/access-keys");
    expect(JSON.parse(f.calls.at(-1)!.body.toString())).toEqual({});
  });

  it("access-keys ls shows a table without secrets; rm (or revoke) deletes one; usage errors exit 2", async () => {
    const f = fakeFetch((req) =>
      req.method === "DELETE"
        ? new Response(null, { status: 204 })
        : json(200, [
            {
              accessKeyId: "SSEK0123456789ABCDEF",
              label: null,
              scopes: ["read", "write"],
              created: "2026-01-02T03:04:05.000Z",
              lastUsed: null,
              expiresAt: null,
              issuedBy: "admin",
            },
          ]),
    );
    const ls = await runCli(["access-keys", "ls", "--user", "bob"], { fetch: f.fetch });
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(
      /^ACCESS KEY ID\s+LABEL\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\s+ISSUED BY\n/,
    );
    expect(ls.stdout).toMatch(
      /SSEK0123456789ABCDEF\s+-\s+read,write\s+2026-01-02T03:04:05Z\s+-\s+never\s+admin\n$/,
    );
    for (const verb of ["rm", "revoke"]) {
      const rm = await runCli(["access-keys", verb, "SSEK0123456789ABCDEF", "--user", "bob"], {
        fetch: f.fetch,
      });
      expect(rm.code, verb).toBe(0);
      expect(rm.stdout).toBe("revoked access key SSEK0123456789ABCDEF\n");
    }
    expect(f.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "GET /users/bob/access-keys",
      "DELETE /users/bob/access-keys/SSEK0123456789ABCDEF",
      "DELETE /users/bob/access-keys/SSEK0123456789ABCDEF",
    ]);
    const gone = await runCli(["access-keys", "rm", "SSEK0000000000000000", "--user", "bob"], {
      fetch: async () => problem(404, "not_found", "no such access key"),
    });
    expect([gone.code, gone.stderr]).toEqual([
      3,
      "error: access key SSEK0000000000000000 of user bob not found\n",
    ]);
    for (const args of [
      ["access-keys", "rm"],
      ["access-keys", "create", "--expires-in", "0"],
      ["access-keys", "create", "--scopes", ","],
    ]) {
      const r = await runCli(args, { fetch: f.fetch });
      expect(r.code, args.join(" ")).toBe(2);
    }
  });

  it("users create sends the role; users rm needs --yes off a terminal", async () => {
    const f = fakeFetch(() => json(201, { name: "bob", role: "admin" }));
    const r = await runCli(["users", "create", "bob", "--admin"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(JSON.parse(f.calls[0]!.body.toString())).toEqual({ name: "bob", role: "admin" });
    const g = fakeFetch(() => new Response(null, { status: 204 }));
    const no = await runCli(["users", "rm", "bob"], { fetch: g.fetch });
    expect(no.code).toBe(2);
    expect(g.calls).toHaveLength(0);
    const yes = await runCli(["users", "rm", "bob", "--yes"], { fetch: g.fetch });
    expect(yes.code).toBe(0);
    expect(g.calls[0]).toMatchObject({ method: "DELETE" });
  });

  it("users ls accepts a bare array or a wrapped list", async () => {
    for (const body of [[{ name: "admin", role: "admin" }], { users: [{ name: "admin", role: "admin" }] }]) {
      const r = await runCli(["users", "ls"], { fetch: async () => json(200, body) });
      expect(r.stdout).toMatch(/^NAME\s+ROLE\s+STATUS\s+CREATED\nadmin\s+admin\s+-\s+-\n$/);
    }
  });

  it("keys --user uses the admin routes; min-version posts the version", async () => {
    const f = fakeFetch(() => json(200, { primaryVersion: 2, minDecryptionVersion: 1, versions: [] }));
    await runCli(["keys", "show", "--user", "bob"], { fetch: f.fetch });
    await runCli(["keys", "rotate"], { fetch: f.fetch });
    await runCli(["keys", "min-version", "2", "--user", "bob"], { fetch: f.fetch });
    expect(f.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "GET /users/bob/key",
      "POST /keys/rotate",
      "POST /users/bob/key/min-decryption-version",
    ]);
    expect(JSON.parse(f.calls[2]!.body.toString())).toEqual({ version: 2 });
    expect((await runCli(["keys", "min-version", "x"])).code).toBe(2);
  });

  it("rewrap --wait polls the job to the end", async () => {
    let polls = 0;
    const f = fakeFetch((req) => {
      if (req.url.pathname === "/keys/rewrap") return json(202, { jobId: "j1" });
      polls++;
      return json(200, {
        id: "j1",
        kind: "rewrap",
        state: polls < 3 ? "running" : "done",
        done: polls,
        total: 3,
      });
    });
    const r = await runCli(["keys", "rewrap", "--wait"], { fetch: f.fetch });
    expect(r.code).toBe(0);
    expect(polls).toBe(3);
    expect(r.stdout).toBe("job j1 (rewrap): done 3/3\n");
  });

  it("without --wait prints the job id", async () => {
    const r = await runCli(["--json", "root-key", "rotate"], {
      fetch: async () => json(202, { jobId: "r1" }),
    });
    expect(JSON.parse(r.stdout)).toEqual({ jobId: "r1" });
  });

  it("verify --wait exits 5 and lists damaged ids", async () => {
    const f = fakeFetch((req) =>
      req.method === "POST"
        ? json(202, { jobId: "v1" })
        : json(200, { id: "v1", kind: "verify", state: "done", done: 4, total: 4, damaged: ["a", "b"] }),
    );
    const r = await runCli(["verify", "--wait", "--user", "bob"], { fetch: f.fetch });
    expect(r.code).toBe(5);
    expect(r.stdout).toBe("job v1 (verify): done 4/4, 2 damaged\ndamaged: a\ndamaged: b\n");
    expect(r.stderr).toBe("error: 2 objects are damaged\n");
    expect(JSON.parse(f.calls[0]!.body.toString())).toEqual({ user: "bob" });
  });

  it("the last line of a clean verify says 0 damaged, with the bytes it read", async () => {
    const r = await runCli(["jobs", "v2"], {
      fetch: async () =>
        json(200, {
          id: "v2",
          kind: "verify",
          state: "done",
          done: 3008,
          total: 3008,
          bytesDone: 300 * 1024 ** 2,
          bytesTotal: 300 * 1024 ** 2,
          result: { damaged: [], damagedCount: 0, truncated: false },
        }),
    });
    expect([r.code, r.stdout]).toEqual([0, "job v2 (verify): done 3008/3008, 300 MiB, 0 damaged\n"]);
  });

  it("the job bar follows bytes when the job counts them, objects otherwise", () => {
    expect(
      jobBar({
        state: "running",
        done: 1,
        total: 3008,
        bytesDone: 150 * 1024 ** 2,
        bytesTotal: 300 * 1024 ** 2,
      }),
    ).toEqual({
      value: 150 * 1024 ** 2,
      max: 300 * 1024 ** 2,
      items: "1/3008",
      bytes: "150 MiB of 300 MiB | ",
      state: "running",
    });
    expect(jobBar({ state: "running", done: 2, total: 5 })).toMatchObject({ value: 2, max: 5, bytes: "" });
    expect(jobBar({ state: "running" })).toMatchObject({ value: 0, max: 1 });
  });

  it("a failed job exits 1 with its error", async () => {
    const r = await runCli(["jobs", "j2"], {
      fetch: async () =>
        json(200, { id: "j2", kind: "rewrap", state: "failed", done: 1, total: 9, error: "boom" }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: job j2 failed: boom\n");
  });
});

describe("serve", () => {
  it("turns flags into config, flags over env", async () => {
    let got: Config | undefined;
    const dir = tempHome();
    const r = await runCli(
      ["serve", "--port", "9001", "--data-dir", dir, "--trust-proxy", "--log-level", "warn"],
      {
        env: { SSE_PORT: "8001", SSE_HOST: "0.0.0.0", SSE_KEY_CACHE_TTL: "7" },
        deps: {
          runServer: async (c) => {
            got = c;
            return { close: async () => {} };
          },
        },
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(got).toMatchObject({
      port: 9001,
      host: "0.0.0.0",
      dataDir: dir,
      trustProxy: true,
      logLevel: "warn",
      keyCacheTtlSeconds: 7,
    });
  });

  it("a ConfigError is one line, exit 2", async () => {
    const runServer = async () => ({ close: async () => {} });
    for (const args of [
      ["serve", "--port", "70000"],
      ["serve", "--key-provider", "passphrase"],
      ["serve", "--log-level", "loud"],
    ]) {
      const r = await runCli(args, { deps: { runServer } });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("--help lists every setting with its env name and never a secret's value", async () => {
    const r = await runCli(["serve", "--help"], {
      env: { SSE_PASSPHRASE: "hunter2-secret", SSE_PORT: "1234" },
    });
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, " ");
    for (const env of ["SSE_HOST", "SSE_DATA_DIR", "SSE_DATABASE_URL", "SSE_PKCS11_PIN", "SSE_KEY_CACHE_TTL"])
      expect(help).toContain(env);
    expect(help).toContain("[env SSE_PASSPHRASE or SSE_PASSPHRASE_FILE] (secret)");
    expect(help).toContain("default 8000");
    expect(help).not.toContain("hunter2");
  });

  it("a server that fails to start is one line, exit 1", async () => {
    const r = await runCli(["serve"], {
      deps: {
        runServer: async () => {
          throw Object.assign(new Error("listen EADDRINUSE: address already in use 127.0.0.1:8000\n  at x"), {
            code: "EADDRINUSE",
          });
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: the server did not start: listen EADDRINUSE: address already in use 127.0.0.1:8000 at x\n",
    );
  });
});
