// The API schema module (src/api/): importable by the web console and the CLI (no Fastify, no Node
// import), and in step with the domain rules it documents.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import { AccessKeyId } from "../../src/api/access-keys.js";
import { NAMED_SCHEMAS } from "../../src/api/components.js";
import { Problem } from "../../src/api/problem.js";
import { generateAccessKeyId, isAccessKeyId } from "../../src/auth/access-key-format.js";
import { ERROR_CATALOGUE } from "../../src/errors.js";

const API_DIR = path.resolve(import.meta.dirname, "../../src/api");
const CONSOLE_DIR = path.resolve(import.meta.dirname, "../../console/src");

/** Every .ts file below `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

describe("src/api", () => {
  it("imports neither Fastify nor Node: the console bundles it", () => {
    for (const file of readdirSync(API_DIR)) {
      const text = readFileSync(path.join(API_DIR, file), "utf8");
      const imports = [...text.matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
      for (const spec of imports) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/fastify|^node:/);
        // Within the project only its own files and the error catalogue (whose codes it lists).
        if (spec?.startsWith("..")) expect(spec, file).toBe("../errors.js");
      }
    }
  });

  it("reaches the console's bundle only as types, but for the dependency-free paths and sizes", () => {
    const valueImports = sources(CONSOLE_DIR).flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/^import (?!type )[^;]*from "([^"]*\/src\/api\/[^"]+)"/gm)].map(
        (m) => `${path.basename(file)}: ${path.basename(m[1] ?? "")}`,
      ),
    );
    expect(valueImports.length).toBeGreaterThan(0);
    for (const i of valueImports) expect(i).toMatch(/: (paths|size-format)\.js$/);
  });

  it("describes the access key ids the server makes", () => {
    for (let i = 0; i < 50; i++) {
      const id = generateAccessKeyId();
      expect(Value.Check(AccessKeyId, id), id).toBe(true);
    }
    for (const id of ["SSEK0123456789abcdef", "SSEK0123", "AKIA0123456789ABCDEF"]) {
      expect(isAccessKeyId(id)).toBe(false);
      expect(Value.Check(AccessKeyId, id), id).toBe(false);
    }
  });

  it("lists every error code of the catalogue in the problem document", () => {
    const problem = (code: string) => ({
      type: `https://sse-store.dev/problems/${code}`,
      title: "t",
      status: 400,
      code,
      requestId: "r",
    });
    for (const code of Object.keys(ERROR_CATALOGUE))
      expect(Value.Check(Problem, problem(code)), code).toBe(true);
    expect(Value.Check(Problem, problem("no_such_code"))).toBe(false);
  });

  it("names each shared schema once", () => {
    const texts = Object.values(NAMED_SCHEMAS).map((s) => JSON.stringify(s));
    expect(new Set(texts).size).toBe(texts.length);
  });
});
