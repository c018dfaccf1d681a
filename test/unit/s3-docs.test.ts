import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { S3_ERRORS } from "../../src/s3/errors.js";

const doc = readFileSync(new URL("../../docs/S3.md", import.meta.url), "utf8");

describe("docs/S3.md", () => {
  it("lists every S3 error code with its HTTP status, and no other", () => {
    const section = doc.slice(doc.indexOf("## Error codes"));
    const rows = [...section.matchAll(/^\|\s*([A-Za-z0-9]+)\s*\|\s*(\d{3})\s*\|$/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const catalogue = Object.entries(S3_ERRORS).map(([code, e]) => [code, e.status]);
    expect(rows.sort()).toEqual(catalogue.sort());
  });

  it("names every x-amz-content-sha256 mode the verifier accepts", () => {
    for (const mode of [
      "UNSIGNED-PAYLOAD",
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    ])
      expect(doc).toContain(`\`${mode}\``);
  });
});
