import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  configFilePath,
  DEFAULT_URL,
  readConfigFile,
  resolveClientSettings,
  writeConfigFile,
} from "../../src/cli/config-file.js";
import type { CliError } from "../../src/cli/errors.js";
import { json, runCli, tempHome } from "../helpers/cli-fakes.js";

const file = (settings: { url?: string; token?: string }) => () => ({ file: "/cfg.json", settings });

describe("client settings precedence: flag > env > file > default", () => {
  it("flag wins over env and file", () => {
    const s = resolveClientSettings(
      { url: "http://flag:1", token: "t-flag" },
      { SSE_URL: "http://env:1", SSE_TOKEN: "t-env" },
      file({ url: "http://file:1", token: "t-file" }),
    );
    expect(s).toMatchObject({
      url: "http://flag:1",
      token: "t-flag",
      source: { url: "flag", token: "flag" },
    });
  });

  it("env wins over file, field by field", () => {
    const s = resolveClientSettings(
      {},
      { SSE_TOKEN: "t-env" },
      file({ url: "http://file:1", token: "t-file" }),
    );
    expect(s).toMatchObject({ url: "http://file:1", token: "t-env", source: { url: "file", token: "env" } });
  });

  it("defaults the URL, leaves the token unset", () => {
    const s = resolveClientSettings({}, {}, file({}));
    expect(s.url).toBe(DEFAULT_URL);
    expect(s.token).toBeUndefined();
  });

  it("does not read the file when flags and env say everything", () => {
    let read = false;
    resolveClientSettings({ url: "http://x" }, { SSE_TOKEN: "t" }, () => {
      read = true;
      return { file: "f", settings: undefined };
    });
    expect(read).toBe(false);
  });

  it("empty env values count as unset", () => {
    const s = resolveClientSettings({}, { SSE_URL: "", SSE_TOKEN: "" }, file({ token: "t-file" }));
    expect(s).toMatchObject({ url: DEFAULT_URL, token: "t-file" });
  });

  it("rejects a URL that is not http(s), exit 2", () => {
    expect(() => resolveClientSettings({ url: "ftp://x" }, {}, file({}))).toThrow(
      /--url must be an http\(s\) URL/,
    );
    try {
      resolveClientSettings({}, { SSE_URL: "not a url" }, file({}));
    } catch (e) {
      expect((e as CliError).exitCode).toBe(2);
    }
  });

  it("strips trailing slashes", () => {
    expect(resolveClientSettings({ url: "http://h:1/base/" }, { SSE_TOKEN: "t" }, file({})).url).toBe(
      "http://h:1/base",
    );
  });
});

describe("config file", () => {
  it("lives at SSE_CONFIG, XDG_CONFIG_HOME or ~/.config", () => {
    expect(configFilePath({ SSE_CONFIG: "/etc/x.json" }, "/home/u")).toBe("/etc/x.json");
    expect(configFilePath({ XDG_CONFIG_HOME: "/xdg" }, "/home/u")).toBe("/xdg/ssestore/config.json");
    expect(configFilePath({}, "/home/u")).toBe("/home/u/.config/ssestore/config.json");
  });

  it("is written with mode 0600 in a 0700 directory", () => {
    const home = tempHome();
    const f = configFilePath({}, home);
    writeConfigFile(f, { url: "http://h:1", token: "sse_x" }, { ownDir: true });
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(f)).mode & 0o777).toBe(0o700);
    expect(readConfigFile(f)).toEqual({ url: "http://h:1", token: "sse_x" });
    expect(fs.readdirSync(path.dirname(f))).toEqual(["config.json"]);
  });

  it("is refused when group or others can read it", () => {
    const f = path.join(tempHome(), "config.json");
    fs.writeFileSync(f, JSON.stringify({ token: "sse_x" }), { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    expect(() => readConfigFile(f)).toThrow(/mode 0644.*chmod 600/);
    try {
      readConfigFile(f);
    } catch (e) {
      expect((e as CliError).exitCode).toBe(2);
    }
    fs.chmodSync(f, 0o600);
    expect(readConfigFile(f)).toEqual({ token: "sse_x", url: undefined });
  });

  it("a missing file is no error; a malformed one is", () => {
    expect(readConfigFile(path.join(tempHome(), "none.json"))).toBeUndefined();
    const f = path.join(tempHome(), "bad.json");
    fs.writeFileSync(f, "{not json", { mode: 0o600 });
    expect(() => readConfigFile(f)).toThrow(/not valid JSON/);
    fs.writeFileSync(f, JSON.stringify({ token: 5 }));
    expect(() => readConfigFile(f)).toThrow(/"token" must be a string/);
  });

  it("an insecure file fails a client command with exit 2 and one line", async () => {
    const f = path.join(tempHome(), "config.json");
    fs.writeFileSync(f, JSON.stringify({ url: "http://h:1", token: "sse_x" }), { mode: 0o666 });
    fs.chmodSync(f, 0o666);
    const r = await runCli(["whoami"], { env: { SSE_URL: undefined, SSE_TOKEN: undefined, SSE_CONFIG: f } });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("the file supplies url and token to a command", async () => {
    const f = path.join(tempHome(), "config.json");
    fs.writeFileSync(f, JSON.stringify({ url: "http://from-file:8000", token: "sse_file" }), { mode: 0o600 });
    let seen: { url: string; auth: string | null } | undefined;
    const r = await runCli(["whoami"], {
      env: { SSE_URL: undefined, SSE_TOKEN: undefined, SSE_CONFIG: f },
      fetch: async (input, init) => {
        seen = { url: String(input), auth: new Headers(init?.headers).get("authorization") };
        return json(200, {
          name: "ann",
          role: "user",
          token: { id: "t1", scopes: ["read"], expiresAt: null },
        });
      },
    });
    expect(r.code).toBe(0);
    expect(seen).toEqual({ url: "http://from-file:8000/me", auth: "Bearer sse_file" });
    expect(r.stdout).toContain("ann (user)");
  });

  it("login checks the token, then saves the file 0600 in a 0700 dir", async () => {
    const home = tempHome();
    const r = await runCli(["login", "--url", "http://h:9", "--token", "sse_login"], {
      env: { SSE_URL: undefined, SSE_TOKEN: undefined },
      deps: { homedir: home },
      fetch: async (_i, init) =>
        new Headers(init?.headers).get("authorization") === "Bearer sse_login"
          ? json(200, { name: "admin", role: "admin" })
          : json(401, {}),
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const f = path.join(home, ".config/ssestore/config.json");
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(f)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(f, "utf8"))).toEqual({ url: "http://h:9", token: "sse_login" });
  });

  it("login with a wrong token saves nothing, exit 4", async () => {
    const home = tempHome();
    const r = await runCli(["login", "--url", "http://h:9", "--token", "bad"], {
      deps: { homedir: home },
      env: { SSE_CONFIG: undefined },
      fetch: async () => json(401, { code: "unauthorized" }),
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe("error: this token is wrong, expired or revoked: nothing was saved\n");
    expect(fs.existsSync(path.join(home, ".config/ssestore/config.json"))).toBe(false);
  });

  it("login reads the token from piped stdin", async () => {
    const home = tempHome();
    const r = await runCli(["login", "--url", "http://h:9", "--no-check"], {
      env: { SSE_TOKEN: undefined },
      deps: { homedir: home },
      stdin: Buffer.from("sse_piped\n"),
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(home, ".config/ssestore/config.json"), "utf8")).token).toBe(
      "sse_piped",
    );
  });
});
