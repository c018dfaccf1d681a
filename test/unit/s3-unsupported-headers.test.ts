// Headers asking for what the server cannot honour (SSE-C, SSE-KMS, public ACLs, object lock, tags)
// are refused, not ignored: an ignored one would store the object without the protection asked for.
import { describe, expect, it } from "vitest";
import { S3Error } from "../../src/s3/errors.js";
import { HeaderIndex } from "../../src/s3/headers.js";
import { refuseUnsupportedHeaders } from "../../src/s3/unsupported-headers.js";

function outcome(method: string, headers: Record<string, string>): string {
  try {
    refuseUnsupportedHeaders(method, HeaderIndex.fromObject(headers));
    return "accepted";
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    return (err as S3Error).code;
  }
}

describe("refuseUnsupportedHeaders", () => {
  it("accepts what the server does anyway: AES256, owner-only canned ACLs, empty tags, no lock", () => {
    for (const method of ["PUT", "POST"]) {
      expect(outcome(method, { "x-amz-server-side-encryption": "AES256" })).toBe("accepted");
      for (const acl of ["private", "bucket-owner-full-control", "bucket-owner-read"])
        expect(outcome(method, { "x-amz-acl": acl })).toBe("accepted");
      expect(outcome(method, { "x-amz-tagging": "" })).toBe("accepted");
      expect(outcome(method, { "x-amz-object-lock-legal-hold": "OFF" })).toBe("accepted");
      expect(outcome(method, { "x-amz-bucket-object-lock-enabled": "false" })).toBe("accepted");
      expect(outcome(method, { "x-amz-storage-class": "STANDARD", "x-amz-meta-a": "b" })).toBe("accepted");
    }
  });

  it("refuses SSE-C on every request, reads included", () => {
    for (const method of ["GET", "HEAD", "PUT", "POST"]) {
      expect(outcome(method, { "x-amz-server-side-encryption-customer-algorithm": "AES256" })).toBe(
        "NotImplemented",
      );
      expect(outcome(method, { "x-amz-copy-source-server-side-encryption-customer-key": "k" })).toBe(
        "NotImplemented",
      );
    }
  });

  it("refuses on writes SSE-KMS, unknown encryptions, public ACLs, grants, object lock, tags, redirects", () => {
    const refused: [Record<string, string>, string][] = [
      [{ "x-amz-server-side-encryption": "aws:kms" }, "NotImplemented"],
      [{ "x-amz-server-side-encryption": "aws:kms:dsse" }, "NotImplemented"],
      [{ "x-amz-server-side-encryption": "AES512" }, "InvalidArgument"],
      [{ "x-amz-server-side-encryption-aws-kms-key-id": "arn:k" }, "NotImplemented"],
      [{ "x-amz-server-side-encryption-context": "e30=" }, "NotImplemented"],
      [{ "x-amz-acl": "public-read" }, "NotImplemented"],
      [{ "x-amz-acl": "public-read-write" }, "NotImplemented"],
      [{ "x-amz-acl": "authenticated-read" }, "NotImplemented"],
      [{ "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }, "NotImplemented"],
      [{ "x-amz-object-lock-mode": "GOVERNANCE" }, "NotImplemented"],
      [{ "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z" }, "NotImplemented"],
      [{ "x-amz-object-lock-legal-hold": "ON" }, "NotImplemented"],
      [{ "x-amz-bucket-object-lock-enabled": "True" }, "NotImplemented"],
      [{ "x-amz-tagging": "a=b" }, "NotImplemented"],
      [{ "x-amz-website-redirect-location": "/x" }, "NotImplemented"],
    ];
    for (const [headers, code] of refused)
      for (const method of ["PUT", "POST"])
        expect(outcome(method, headers), JSON.stringify(headers)).toBe(code);
    // On a read these mean nothing (S3 ignores them there too).
    for (const [headers] of refused) expect(outcome("GET", headers)).toBe("accepted");
  });
});
