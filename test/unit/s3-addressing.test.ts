import { describe, expect, it } from "vitest";
import { resolveAddress } from "../../src/s3/addressing.js";
import { isValidBucketName } from "../../src/s3/bucket-name.js";

describe("bucket names", () => {
  it.each(["abc", "my-bucket", "my.bucket.2026", "0ab", "a".repeat(63), "backup"])("accepts %s", (n) =>
    expect(isValidBucketName(n)).toBe(true),
  );
  it.each([
    "ab",
    "a".repeat(64),
    "MyBucket",
    "-abc",
    "abc-",
    ".abc",
    "a..b",
    "a_b",
    "192.168.1.1",
    "xn--abc",
    "sthree-x",
    "abc-s3alias",
    "abc--ol-s3",
    "a b",
    "ab/c",
    "caf\u00e9",
  ])("refuses %j", (n) => expect(isValidBucketName(n)).toBe(false));
});

describe("addressing", () => {
  it("path-style", () => {
    expect(resolveAddress("/", "localhost:9000", undefined)).toEqual({ bucket: null, key: null });
    expect(resolveAddress("/photos", "localhost:9000", undefined)).toEqual({ bucket: "photos", key: null });
    expect(resolveAddress("/photos/", "h", undefined)).toEqual({ bucket: "photos", key: null });
    expect(resolveAddress("/photos/2026/a.jpg", "h", undefined)).toEqual({
      bucket: "photos",
      key: "2026/a.jpg",
    });
    expect(resolveAddress("/photos//x/", "h", undefined)).toEqual({ bucket: "photos", key: "/x/" });
  });

  it("virtual-hosted under SSE_S3_DOMAIN, and path-style still for the domain itself", () => {
    const d = "s3.example.com";
    expect(resolveAddress("/2026/a.jpg", "photos.s3.example.com:9000", d)).toEqual({
      bucket: "photos",
      key: "2026/a.jpg",
    });
    expect(resolveAddress("/", "Photos.S3.Example.com", d)).toEqual({ bucket: "photos", key: null });
    expect(resolveAddress("/photos/a", "s3.example.com", d)).toEqual({ bucket: "photos", key: "a" });
    expect(resolveAddress("/photos/a", "other.host", d)).toEqual({ bucket: "photos", key: "a" });
    expect(resolveAddress("/photos/a", "[::1]:9000", d)).toEqual({ bucket: "photos", key: "a" });
  });
});
