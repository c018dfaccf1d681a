// Download links over HTTP against a real server process: made with a bearer token, used without
// one (as curl would), refused once expired, altered, redirected to another owner, made stale by a
// change of the object, or orphaned by a revoked token or a deleted user; never logged.
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeClaims, openToken, sealToken } from "../../src/objects/link-token.js";
import { expectProblem } from "../helpers/problem.js";
import { rawRequest } from "../helpers/raw-http.js";
import { freePort, type ServerProcess, startServer } from "../helpers/server-process.js";
import { randomData, sha256 } from "../helpers/transfer.js";
import { waitFor } from "../helpers/wait-for.js";

let server: ServerProcess;
let publicBase: string;

type Json = Record<string, unknown>;

async function as(token: string | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers = new Headers();
  if (token) headers.set("authorization", `Bearer ${token}`);
  let payload: BodyInit | undefined;
  if (Buffer.isBuffer(body)) payload = new Uint8Array(body);
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers.set("content-type", "application/json");
  }
  return fetch(server.url + path, { method, headers, body: payload });
}

async function put(
  token: string,
  id: string,
  bytes: Buffer,
  type = "application/octet-stream",
): Promise<Json> {
  const r = await fetch(`${server.url}/data/${id}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": type },
    body: new Uint8Array(bytes),
  });
  expect([200, 201]).toContain(r.status);
  return (await r.json()) as Json;
}

async function makeLink(
  token: string,
  id: string,
  body?: unknown,
): Promise<{ url: string; expiresAt: string }> {
  const r = await as(token, "POST", `/data/${id}/link`, body);
  const text = await r.text();
  expect(r.status, text).toBe(201);
  return JSON.parse(text);
}

/** The token part of a link URL. */
function tokenOf(url: string): string {
  const m = /\/links\/([^/]+)/.exec(new URL(url).pathname);
  if (!m?.[1]) throw new Error(`not a link: ${url}`);
  return m[1];
}

function withToken(url: string, token: string): string {
  const u = new URL(url);
  u.pathname = u.pathname.replace(/\/links\/[^/]+/, `/links/${token}`);
  return u.toString();
}

async function newUser(name: string, scopes?: string[]): Promise<{ token: string; id: string }> {
  const u = await as(server.token, "POST", "/users", { name, role: "user" });
  expect([201, 409]).toContain(u.status);
  const t = await as(server.token, "POST", `/users/${name}/tokens`, scopes ? { scopes } : {});
  expect(t.status, await t.clone().text()).toBe(201);
  const body = (await t.json()) as { token: string; id: string };
  return body;
}

beforeAll(async () => {
  const port = await freePort();
  // Links are built on SSE_PUBLIC_URL when it is set (a name other than the one we connect to).
  publicBase = `http://localhost:${port}`;
  server = await startServer({ port, env: { SSE_PUBLIC_URL: `${publicBase}/` } });
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

describe("making a link", () => {
  it("answers 201 {url, expiresAt} on SSE_PUBLIC_URL, an hour by default", async () => {
    await put(server.token, "docs/report.pdf", randomData(1000), "application/pdf");
    const before = Date.now();
    const r = await as(server.token, "POST", "/data/docs/report.pdf/link");
    expect(r.status).toBe(201);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const body = (await r.json()) as { url: string; expiresAt: string };
    expect(body.url.startsWith(`${publicBase}/links/`)).toBe(true);
    expect(body.url.endsWith("/report.pdf")).toBe(true);
    const exp = Date.parse(body.expiresAt);
    expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it("takes expiresInSeconds from 1 to 7 days and refuses anything else with 422", async () => {
    const ok = await makeLink(server.token, "docs/report.pdf", { expiresInSeconds: 604800 });
    expect(Date.parse(ok.expiresAt) - Date.now()).toBeGreaterThan(604790_000);
    for (const bad of [0, -5, 604801, 1.5, "60", null])
      await expectProblem(
        await as(server.token, "POST", "/data/docs/report.pdf/link", { expiresInSeconds: bad }),
        422,
        "validation_error",
      );
    await expectProblem(await as(server.token, "POST", "/data/docs/report.pdf/link", [1]), 422);
  });

  it("needs a token with the read scope, an existing object and a valid id", async () => {
    await expectProblem(await as(null, "POST", "/data/docs/report.pdf/link"), 401, "unauthorized");
    await expectProblem(await as(server.token, "POST", "/data/nothing/here/link"), 404, "not_found");
    await expectProblem(await as(server.token, "POST", "/data/a%00b/link"), 400, "invalid_id");
    await expectProblem(await as(server.token, "POST", "/data/link"), 405, "method_not_allowed");
    const writer = await newUser("writer", ["write"]);
    await put(writer.token, "w", Buffer.from("w"));
    await expectProblem(await as(writer.token, "POST", "/data/w/link"), 403, "forbidden");
  });

  it("still answers any other POST /data/{id} with 405, whatever the body", async () => {
    const r = await fetch(`${server.url}/data/docs/report.pdf`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/pdf" },
      body: "%PDF-1.7",
    });
    expect(r.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE");
    await expectProblem(r, 405, "method_not_allowed");
  });

  it("is documented in OpenAPI: POST /data/{id}/link and a public GET /links/{token}", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses?: Record<string, unknown> }>>;
    };
    expect(doc.paths["/data/{id}/link"]?.post?.responses?.["201"]).toBeDefined();
    const get = doc.paths["/links/{token}"]?.get;
    expect(get?.security).toEqual([]);
    expect(Object.keys(get?.responses ?? {})).toEqual(expect.arrayContaining(["200", "206", "403", "410"]));
  });
});

describe("using a link", () => {
  it("downloads the object without a token, with its type, name, ETag and ranges", async () => {
    const bytes = randomData(200_000);
    const info = await put(server.token, "media/clip.bin", bytes, "video/mp4");
    const { url } = await makeLink(server.token, "media/clip.bin", { expiresInSeconds: 120 });
    const local = url.replace(publicBase, server.url);
    const r = await fetch(local);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("video/mp4");
    expect(r.headers.get("content-disposition")).toBe('attachment; filename="clip.bin"');
    expect(r.headers.get("etag")).toBe(info.etag);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("cache-control")).toBe("private, no-store");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(sha256(bytes));

    const part = await fetch(local, { headers: { range: "bytes=70000-70009" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 70000-70009/200000");
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(70000, 70010))).toBe(true);

    const head = await fetch(local, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("200000");
    // The file name may be left out: the token alone names the object.
    const bare = await fetch(`${server.url}/links/${tokenOf(url)}`);
    expect(sha256(Buffer.from(await bare.arrayBuffer()))).toBe(sha256(bytes));
    await expectProblem(await fetch(local, { method: "DELETE" }), 405, "method_not_allowed");
  });

  it("serves only under the object's own file name, or none: any other name is 404", async () => {
    await put(server.token, "named/report-v1.2_final~x.pdf", Buffer.from("%PDF-named"), "application/pdf");
    const { url } = await makeLink(server.token, "named/report-v1.2_final~x.pdf");
    expect(new URL(url).pathname.endsWith("/report-v1.2_final~x.pdf")).toBe(true);
    const token = tokenOf(url);
    const base = `${server.url}/links/${token}`;
    for (const good of [
      url.replace(publicBase, server.url),
      base,
      // The same name, other percent-spellings.
      `${base}/report%2Dv1.2_final%7Ex.pdf`,
      `${base}/%72eport-v1.2_final~x.pdf`,
    ]) {
      const r = await fetch(good);
      expect(r.status, good).toBe(200);
      expect(r.headers.get("content-disposition")).toBe('attachment; filename="report-v1.2_final~x.pdf"');
      expect(await r.text()).toBe("%PDF-named");
      expect((await fetch(good, { method: "HEAD" })).status, good).toBe(200);
    }
    for (const bad of [
      "anything.html",
      "report-v1.2_final~x.pdf.html",
      "REPORT-v1.2_final~x.pdf",
      "named/report-v1.2_final~x.pdf",
      "named%2Freport-v1.2_final~x.pdf",
      "x/report-v1.2_final~x.pdf",
      "",
    ]) {
      await expectProblem(await fetch(`${base}/${bad}`), 404, "not_found");
      const head = await fetch(`${base}/${bad}`, { method: "HEAD" });
      expect(head.status, bad).toBe(404);
    }
    // A bad link is still a bad link, whatever name follows it.
    await expectProblem(
      await fetch(`${server.url}/links/${token.slice(0, -3)}AAA/anything.html`),
      403,
      "invalid_link",
    );
    // An item's file is <id>.json.
    const item = (await (await as(server.token, "POST", "/data", { data: "item body" })).json()) as {
      id: number;
    };
    const itemLink = (await makeLink(server.token, String(item.id))).url.replace(publicBase, server.url);
    expect(itemLink.endsWith(`/${item.id}.json`)).toBe(true);
    expect(((await (await fetch(itemLink)).json()) as { data: string }).data).toBe("item body");
    await expectProblem(await fetch(itemLink.replace(/\.json$/, ".html")), 404, "not_found");
  });

  it("is refused with 410 link_expired once it expires", async () => {
    await put(server.token, "short", Buffer.from("short-lived"));
    const { url, expiresAt } = await makeLink(server.token, "short", { expiresInSeconds: 1 });
    const local = url.replace(publicBase, server.url);
    expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now() + 1000);
    // Poll until the server refuses it (never a fixed sleep); it must then be 410.
    const res = await waitFor(
      "the link to expire",
      async () => {
        const r = await fetch(local);
        if (r.status === 200) {
          await r.arrayBuffer();
          return null;
        }
        return r;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    await expectProblem(res, 410, "link_expired");
  });

  it("is refused with 403 invalid_link when altered, truncated or made up", async () => {
    await put(server.token, "t", Buffer.from("tamper me"));
    const { url } = await makeLink(server.token, "t");
    const token = tokenOf(url);
    const flip = (i: number) => {
      const c = token[i] === "A" ? "B" : "A";
      return token.slice(0, i) + c + token.slice(i + 1);
    };
    for (const bad of [
      flip(2),
      flip(20),
      flip(token.length - 2),
      token.slice(0, -4),
      `${token}AAAA`,
      "x",
      "A".repeat(300),
    ]) {
      await expectProblem(
        await fetch(withToken(url, bad).replace(publicBase, server.url)),
        403,
        "invalid_link",
      );
    }
  });

  it("cannot be redirected to another user's object, and cannot be made for one", async () => {
    const bob = await newUser("bob");
    await put(server.token, "shared-name", Buffer.from("admin's bytes"));
    await put(bob.token, "shared-name", Buffer.from("bob's bytes"));
    const admins = openToken(tokenOf((await makeLink(server.token, "shared-name")).url));
    const bobs = openToken(tokenOf((await makeLink(bob.token, "shared-name")).url));
    if (!admins || !bobs) throw new Error("unparseable link");
    // Bob's link rewritten to name the admin's object (owner, token, ETag), keeping Bob's MAC.
    const forged = sealToken(
      encodeClaims({
        ...bobs.claims,
        owner: admins.claims.owner,
        tokenId: admins.claims.tokenId,
        etag: admins.claims.etag,
      }),
      bobs.mac,
    );
    await expectProblem(await fetch(`${server.url}/links/${forged}`), 403, "invalid_link");
    // Bob's own link still gives Bob's bytes, never the admin's.
    const own = await fetch(`${server.url}/links/${sealToken(encodeClaims(bobs.claims), bobs.mac)}`);
    expect(await own.text()).toBe("bob's bytes");
    // An id is looked up in the caller's namespace only.
    await put(server.token, "admin-only", Buffer.from("x"));
    await expectProblem(await as(bob.token, "POST", "/data/admin-only/link"), 404, "not_found");
  });

  it("is refused with 410 object_changed once the object is replaced or deleted", async () => {
    await put(server.token, "changing", Buffer.from("v1"));
    const first = await makeLink(server.token, "changing");
    await put(server.token, "changing", Buffer.from("v1"));
    await expectProblem(await fetch(first.url.replace(publicBase, server.url)), 410, "object_changed");
    const second = await makeLink(server.token, "changing");
    expect(await (await fetch(second.url.replace(publicBase, server.url))).text()).toBe("v1");
    expect((await as(server.token, "DELETE", "/data/changing")).status).toBe(204);
    await expectProblem(await fetch(second.url.replace(publicBase, server.url)), 410, "object_changed");
  });

  it("dies with the token that made it, and with its user", async () => {
    const carol = await newUser("carol");
    await put(carol.token, "c", Buffer.from("carol's"));
    const link = (await makeLink(carol.token, "c")).url.replace(publicBase, server.url);
    expect(await (await fetch(link)).text()).toBe("carol's");
    const second = await as(carol.token, "POST", "/users/carol/tokens", {});
    const other = (await second.json()) as { token: string; id: string };
    const link2 = (await makeLink(other.token, "c")).url.replace(publicBase, server.url);
    expect((await as(server.token, "DELETE", `/users/carol/tokens/${carol.id}`)).status).toBe(204);
    await expectProblem(await fetch(link), 403, "invalid_link");
    expect(await (await fetch(link2)).text()).toBe("carol's");
    expect((await as(server.token, "DELETE", "/users/carol")).status).toBe(204);
    await expectProblem(await fetch(link2), 403, "invalid_link");
  });

  it("never reaches the log: neither the token nor any long part of it", async () => {
    await put(server.token, "logged", Buffer.from("x"));
    const { url } = await makeLink(server.token, "logged");
    const token = tokenOf(url);
    await (await fetch(url.replace(publicBase, server.url))).arrayBuffer();
    await (await fetch(`${server.url}/links/${token}?q=1`)).arrayBuffer();
    await (await fetch(`${server.url}/LINKS%2F${token}`)).arrayBuffer();
    await (await fetch(`${server.url}/links/${token}x/a/b`)).arrayBuffer();
    const out = server.output();
    expect(out).toContain("/links/[redacted]");
    for (let i = 0; i + 24 <= token.length; i += 12) expect(out).not.toContain(token.slice(i, i + 24));
  });

  it("never reaches the log under another spelling of /links, matched by the router or not", async () => {
    await put(server.token, "spelled", Buffer.from("spelled"));
    const token = tokenOf((await makeLink(server.token, "spelled")).url);
    const requests: [string, string, number][] = [
      // The router decodes these to /links/…: they download the object.
      ["HEAD", `/%6cinks/${token}/spelled`, 200],
      ["GET", `/l%69nks/${token}`, 200],
      ["GET", `/%6C%49%4e%4b%53/${token}`, 404],
      ["DELETE", `/link%73/${token}`, 405],
      // No route: still never logged.
      ["GET", `/%256cinks/${token}`, 404],
      ["GET", `/nowhere/links/${token}/x`, 404],
      ["GET", `/Links%2f${token}`, 404],
      ["GET", `/links;x/${token}`, 404],
      // Refused before routing (bad percent-encoding): no request line, but the answer is checked.
      ["GET", `/l%69nks/${token}/%zz`, 400],
    ];
    const ids: string[] = [];
    for (const [method, path, status] of requests) {
      const id = `spelling-${ids.length}-${Date.now()}`;
      if (status !== 400) ids.push(id);
      const r = await rawRequest({ port: server.port, method, path, headers: { "x-request-id": id } });
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.body.toString(), `${method} ${path}`).not.toContain(token.slice(0, 24));
    }
    // The log is written asynchronously: wait for the line of every routed request.
    await waitFor("every request's log line", () =>
      ids.every((id) => server.output().includes(`"reqId":"${id}"`)),
    );
    const out = server.output();
    for (let i = 0; i + 24 <= token.length; i += 12) expect(out).not.toContain(token.slice(i, i + 24));
  });
});

describe("link URLs without SSE_PUBLIC_URL", () => {
  const started: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of started) {
      await s.stop();
      s.cleanup();
    }
  });

  async function linkWith(s: ServerProcess, headers: Record<string, string>) {
    const name = `host-${started.length}-${Math.random().toString(36).slice(2)}`;
    expect((await s.fetch(`/data/${name}.txt`, { method: "PUT", body: "hosted" })).status).toBe(201);
    return rawRequest({
      port: s.port,
      method: "POST",
      path: `/data/${name}.txt/link`,
      token: s.token,
      headers,
    });
  }

  it("are built on the listen address, never on the client's Host or X-Forwarded-Host", async () => {
    const s = await startServer();
    started.push(s);
    for (const headers of <Record<string, string>[]>[
      { host: "evil.example" },
      { host: "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" },
    ]) {
      const r = await linkWith(s, headers);
      expect(r.status, r.body.toString()).toBe(201);
      const { url } = JSON.parse(r.body.toString()) as { url: string };
      expect(url.startsWith(`http://127.0.0.1:${s.port}/links/`), url).toBe(true);
      expect(url).not.toContain("evil");
      expect(await (await fetch(url)).text()).toBe("hosted");
    }
  });

  it("on a wildcard listen address, are built on the local address the client reached", async () => {
    // Dual-stack "::" where the machine has IPv6 loopback (IPv4 clients then show as ::ffff:127.0.0.1).
    const v6Loopback = Object.values(networkInterfaces()).some((l) =>
      (l ?? []).some((a) => a.internal && a.family === "IPv6"),
    );
    const s = await startServer({ env: { SSE_HOST: v6Loopback ? "::" : "0.0.0.0" } });
    started.push(s);
    const v4 = await linkWith(s, { host: "evil.example" });
    expect((JSON.parse(v4.body.toString()) as { url: string }).url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${s.port}/links/`),
    );
    if (!v6Loopback) return;
    expect((await s.fetch("/data/v6.txt", { method: "PUT", body: "six" })).status).toBe(201);
    const v6 = await fetch(`http://[::1]:${s.port}/data/v6.txt/link`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.token}` },
    });
    const { url } = (await v6.json()) as { url: string };
    expect(url.startsWith(`http://[::1]:${s.port}/links/`), url).toBe(true);
    expect(await (await fetch(url)).text()).toBe("six");
  });

  it("follow the one trusted proxy's X-Forwarded-Proto and X-Forwarded-Host with SSE_TRUST_PROXY", async () => {
    const s = await startServer({ env: { SSE_TRUST_PROXY: "true" } });
    started.push(s);
    const r = await linkWith(s, {
      host: "127.0.0.1",
      "x-forwarded-host": "files.example.com",
      "x-forwarded-proto": "https",
    });
    expect(r.status, r.body.toString()).toBe(201);
    expect((JSON.parse(r.body.toString()) as { url: string }).url).toMatch(
      /^https:\/\/files\.example\.com\/links\/[^/]+\/host-/,
    );
    // Only a host[:port] and http(s): nothing that would turn the link into another URL.
    for (const headers of [
      { "x-forwarded-host": "evil.example/x?", "x-forwarded-proto": "https" },
      { "x-forwarded-host": "a@evil.example", "x-forwarded-proto": "https" },
      { "x-forwarded-host": "files.example.com", "x-forwarded-proto": "javascript" },
    ]) {
      const bad = await linkWith(s, headers);
      expect(bad.status, JSON.stringify(headers)).toBe(400);
      expect(JSON.parse(bad.body.toString())).toMatchObject({ code: "invalid_header" });
    }
  });

  it("are refused with 501 public_url_required in production, and the start says so", async () => {
    const s = await startServer({ env: { NODE_ENV: "production" } });
    started.push(s);
    const r = await linkWith(s, { host: "evil.example" });
    expect(r.status).toBe(501);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.body.toString())).toMatchObject({ code: "public_url_required" });
    expect(r.body.toString()).not.toContain("evil");
    await waitFor("the start-up warning", () => s.output().includes("SSE_PUBLIC_URL is not set"));
  });
});
