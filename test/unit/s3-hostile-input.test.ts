// Whatever a client sends, the S3 protocol core answers with a typed S3Error, never another
// exception (which would become a 5xx). Deterministic pseudo-random inputs, so a failure replays.
import { describe, it } from "vitest";
import { S3Error } from "../../src/s3/errors.js";
import { HeaderIndex } from "../../src/s3/headers.js";
import { type PayloadAuth, PayloadDecoder, planPayload } from "../../src/s3/payload.js";
import { verifyRequest } from "../../src/s3/sigv4.js";
import { parseCompleteMultipartUpload, parseDeleteObjects } from "../../src/s3/xml-requests.js";
import { ACCESS_KEY, SECRET, signHeader } from "../helpers/s3-sign.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  "%",
  "%2",
  "%zz",
  "%C3",
  "%C3%A9",
  "+",
  "&",
  "=",
  "/",
  "//",
  "?",
  "\u0000",
  "\r\n",
  " ",
  ";",
  ",",
  "é",
  "\ud800",
  "🎉",
  "a",
  "Z",
  "0",
  "AWS4-HMAC-SHA256",
  "Credential=",
  "X-Amz-Signature",
  "X-Amz-Date",
  "aws4_request",
  '"',
  "<",
  "&amp;",
  "&#0;",
  "<!DOCTYPE",
  "]]>",
];

function noise(r: () => number, max: number): string {
  let out = "";
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++)
    out +=
      r() < 0.5 ? ALPHABET[Math.floor(r() * ALPHABET.length)] : String.fromCharCode(Math.floor(r() * 0x3000));
  return out;
}

function mutate(r: () => number, s: string): string {
  const at = Math.floor(r() * (s.length + 1));
  const cut = Math.floor(r() * 4);
  return s.slice(0, at) + noise(r, 4) + s.slice(at + cut);
}

async function onlyS3Errors(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
  }
}

describe("hostile input to the S3 protocol core", () => {
  it("the verifier: mutated signed requests and garbage", async () => {
    const r = rng(42);
    const lookup = async (id: string) => (id === ACCESS_KEY ? { secret: SECRET } : null);
    const at = new Date(Date.UTC(2026, 4, 1));
    const base = await signHeader(
      {
        method: "PUT",
        path: "/b/k",
        query: { partNumber: "1", uploadId: "u" },
        headers: { "x-amz-meta-a": "1" },
      },
      { signingDate: at },
    );
    const pairs = [...base.headers.names()].map((n) => [n, base.headers.get(n)!] as [string, string]);
    for (let i = 0; i < 3000; i++) {
      const headers = pairs.map(([n, v]) => [n, r() < 0.2 ? mutate(r, v) : v] as [string, string]);
      if (r() < 0.2) headers.push([noise(r, 10) || "x-amz-x", noise(r, 20)]);
      const input = {
        method: r() < 0.1 ? noise(r, 5) : base.method,
        rawPath: r() < 0.3 ? mutate(r, base.rawPath) : base.rawPath,
        rawQuery: r() < 0.3 ? mutate(r, base.rawQuery) : r() < 0.1 ? noise(r, 40) : base.rawQuery,
        headers: new HeaderIndex(headers.flat()),
      };
      await onlyS3Errors(() => verifyRequest(input, { lookup, now: at.getTime() }));
    }
  });

  it("the body decoder: random bytes in every mode", async () => {
    const r = rng(7);
    const modes: PayloadAuth["payload"][] = [
      { kind: "unsigned" },
      { kind: "sha256", sha256: Buffer.alloc(32) },
      { kind: "streaming-signed", trailer: false },
      { kind: "streaming-signed", trailer: true },
      { kind: "streaming-unsigned-trailer" },
    ];
    const starts = [
      "5\r\nhello\r\n0\r\n",
      "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
      `5;chunk-signature=${"a".repeat(64)}\r\nhello\r\n`,
      "",
    ];
    for (let i = 0; i < 3000; i++) {
      const payload = modes[Math.floor(r() * modes.length)]!;
      const headers: Record<string, string> = {};
      if (r() < 0.5) headers["x-amz-trailer"] = r() < 0.8 ? "x-amz-checksum-crc32" : noise(r, 10);
      if (r() < 0.3) headers["x-amz-decoded-content-length"] = String(Math.floor(r() * 20));
      if (r() < 0.2) headers["content-md5"] = noise(r, 24);
      const auth: PayloadAuth = {
        payload,
        signingKey: Buffer.alloc(32, 1),
        amzDate: "20260501T000000Z",
        scope: "s",
        seedSignature: "a".repeat(64),
      };
      const body = Buffer.from(mutate(r, starts[Math.floor(r() * starts.length)]! + noise(r, 30)), "latin1");
      await onlyS3Errors(async () => {
        const d = new PayloadDecoder(planPayload(auth, HeaderIndex.fromObject(headers)));
        const pieces = [];
        for (let at = 0; at < body.length; ) {
          const n = 1 + Math.floor(r() * 8);
          pieces.push(body.subarray(at, at + n));
          at += n;
        }
        for await (const _ of d.body(pieces));
      });
    }
  });

  it("the XML reader: mutated documents and garbage", async () => {
    const r = rng(99);
    const docs = [
      '<?xml version="1.0"?><Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object></Delete>',
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>',
    ];
    for (let i = 0; i < 5000; i++) {
      let doc = docs[i % 2]!;
      for (let k = Math.floor(r() * 3); k >= 0; k--) doc = mutate(r, doc);
      await onlyS3Errors(async () => (i % 2 ? parseCompleteMultipartUpload(doc) : parseDeleteObjects(doc)));
    }
  });
});
