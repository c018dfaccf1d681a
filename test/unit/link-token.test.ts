import { describe, expect, it } from "vitest";
import { generateKey } from "../../src/crypto/envelope.js";
import { LINK_MAC_BYTES, linkMac } from "../../src/crypto/link-mac.js";
import {
  encodeClaims,
  LINK_FORMAT_VERSION,
  type LinkClaims,
  macInput,
  openToken,
  sealToken,
} from "../../src/objects/link-token.js";

const claims: LinkClaims = {
  owner: "3f0c8a6e-5a2b-4c71-9f64-2b1f0e7d9a11",
  objectId: "docs/2024/report.pdf",
  etag: '"k1-AAAAAAAAAAAAAAAAAAAAAA"',
  tokenId: "0123456789abcdef",
  kekVersion: 3,
  expiresAt: 1_900_000_000,
};

function seal(c: LinkClaims, kek: Buffer): string {
  const signed = encodeClaims(c);
  return sealToken(signed, linkMac(kek, macInput(signed)));
}

function verifies(token: string, kek: Buffer): boolean {
  const o = openToken(token);
  return o !== null && linkMac(kek, macInput(o.signed)).equals(o.mac);
}

describe("download-link tokens", () => {
  it("round-trip their claims and verify under the key that made them", () => {
    const kek = generateKey();
    const token = seal(claims, kek);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openToken(token)?.claims).toEqual(claims);
    expect(verifies(token, kek)).toBe(true);
  });

  it("do not verify under another key (another owner's KEK, another version)", () => {
    const token = seal(claims, generateKey());
    expect(verifies(token, generateKey())).toBe(false);
  });

  it("detect a change of any single byte", () => {
    const kek = generateKey();
    const raw = Buffer.from(seal(claims, kek), "base64url");
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      expect(verifies(bad.toString("base64url"), kek), `byte ${i}`).toBe(false);
    }
  });

  it("detect truncation and extension", () => {
    const kek = generateKey();
    const raw = Buffer.from(seal(claims, kek), "base64url");
    for (const n of [0, 1, 9, 40, raw.length - LINK_MAC_BYTES, raw.length - 1])
      expect(verifies(raw.subarray(0, n).toString("base64url"), kek), `first ${n}`).toBe(false);
    expect(verifies(Buffer.concat([raw, Buffer.of(0)]).toString("base64url"), kek)).toBe(false);
  });

  it("refuse a claim moved into another field (owner ↔ object id stay apart)", () => {
    const kek = generateKey();
    const a = seal({ ...claims, owner: "ab", objectId: "c" }, kek);
    const b = seal({ ...claims, owner: "a", objectId: "bc" }, kek);
    expect(openToken(a)?.mac.equals(openToken(b)?.mac ?? Buffer.alloc(0))).toBe(false);
  });

  it("reject what is not exactly a v1 token: junk, padding, other alphabets, other versions", () => {
    const kek = generateKey();
    const token = seal(claims, kek);
    for (const junk of [
      "",
      "!!!",
      `${token}=`,
      `${token.slice(0, 5)}+${token.slice(6)}`,
      `${token.slice(0, 5)}/${token.slice(6)}`,
      "a".repeat(5000),
      `${token} `,
    ])
      expect(openToken(junk), junk.slice(0, 20)).toBeNull();
    const raw = Buffer.from(token, "base64url");
    raw[0] = LINK_FORMAT_VERSION + 1;
    expect(openToken(raw.toString("base64url"))).toBeNull();
    // Version 1 but an empty owner field, and a field longer than what follows.
    expect(openToken(Buffer.concat([Buffer.of(1), Buffer.alloc(119)]).toString("base64url"))).toBeNull();
    expect(
      openToken(
        Buffer.concat([Buffer.of(1, 0, 0, 0, 1, 0, 0, 0, 0, 200), Buffer.alloc(60)]).toString("base64url"),
      ),
    ).toBeNull();
  });

  it("reject a non-canonical spelling of the same bytes", () => {
    const kek = generateKey();
    const token = seal(claims, kek);
    // The last character carries unused low bits when the length is not a multiple of 3.
    const len = Buffer.from(token, "base64url").length;
    if (len % 3 === 0) return;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = token.at(-1) ?? "A";
    const twin = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
    expect(Buffer.from(twin, "base64url").equals(Buffer.from(token, "base64url"))).toBe(true);
    expect(openToken(twin)).toBeNull();
  });

  it("refuse claims out of range when sealing", () => {
    expect(() => encodeClaims({ ...claims, kekVersion: 0 })).toThrow(RangeError);
    expect(() => encodeClaims({ ...claims, expiresAt: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeClaims({ ...claims, owner: "" })).toThrow(RangeError);
    expect(() => encodeClaims({ ...claims, etag: "x".repeat(256) })).toThrow(RangeError);
  });

  it('match the vector published in docs/FORMAT.md, "Download links"', () => {
    const kek = Buffer.from("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "hex");
    const signed = encodeClaims({
      owner: "u_alice",
      objectId: "docs/report.pdf",
      etag: '"k1-SavgNxZBOsOBJCyfvh2DsQ"',
      tokenId: "0123456789abcdef",
      kekVersion: 3,
      expiresAt: 1_900_000_000,
    });
    expect(signed.toString("hex")).toBe(
      "0100000003713fb30007755f616c69636510303132333435363738396162636465661b226b312d" +
        "536176674e785a424f734f424a43796676683244735122000f646f63732f7265706f72742e706466",
    );
    const mac = linkMac(kek, macInput(signed));
    expect(mac.toString("hex")).toBe("922c12b98abbb6e516ee13979f93e8c701e85fcf74d9d4e6f5adb9c81d9bcf84");
    expect(sealToken(signed, mac)).toBe(
      "AQAAAANxP7MAB3VfYWxpY2UQMDEyMzQ1Njc4OWFiY2RlZhsiazEtU2F2Z054WkJPc09CSkN5ZnZoMkRzUSIAD2RvY3Mv" +
        "cmVwb3J0LnBkZpIsErmKu7blFu4Tl5-T6McB6F_PdNnU5vWtucgdm8-E",
    );
  });

  it("derive the MAC key from the KEK: same inputs, same MAC; a 32-byte KEK is required", () => {
    const kek = generateKey();
    const m = Buffer.from("message");
    expect(linkMac(kek, m).equals(linkMac(Buffer.from(kek), m))).toBe(true);
    expect(linkMac(kek, m)).toHaveLength(LINK_MAC_BYTES);
    expect(() => linkMac(Buffer.alloc(16), m)).toThrow(RangeError);
  });
});
