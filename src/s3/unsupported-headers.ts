// Request headers that ask for a protection or an exposure this server does not provide: SSE-C and
// SSE-KMS keys, public ACLs and grants, object lock, tags, website redirects. Ignoring one would store
// the object without what the caller asked for and answer 200, so each is refused, clearly, before
// anything is read or written.
import { S3Error } from "./errors.js";
import type { HeaderIndex } from "./headers.js";

/** The canned ACLs that grant nobody but the owner anything: what this server does anyway. */
const OWNER_ONLY_ACLS = new Set(["private", "bucket-owner-full-control", "bucket-owner-read"]);

function notImplemented(message: string): never {
  throw new S3Error("NotImplemented", message);
}

/** Throws NotImplemented (or InvalidArgument for an unknown encryption) for such a header. */
export function refuseUnsupportedHeaders(method: string, headers: HeaderIndex): void {
  for (const name of headers.names()) {
    if (!name.startsWith("x-amz-")) continue;
    if (
      name.startsWith("x-amz-server-side-encryption-customer-") ||
      name.startsWith("x-amz-copy-source-server-side-encryption-customer-")
    )
      notImplemented(
        "SSE-C (customer-provided keys) is not supported: every object is encrypted at rest under keys SSE Store manages.",
      );
  }
  // Reads ignore write-only headers, as S3 does; only writes could be stored without what they ask.
  if (method !== "PUT" && method !== "POST") return;
  const sse = headers.get("x-amz-server-side-encryption");
  if (sse !== undefined && sse !== "AES256") {
    if (sse.startsWith("aws:kms"))
      notImplemented(
        "SSE-KMS is not supported: every object is encrypted at rest under keys SSE Store manages (x-amz-server-side-encryption: AES256).",
      );
    throw new S3Error("InvalidArgument", `The encryption method '${sse}' is not supported: use AES256.`, {
      ArgumentName: "x-amz-server-side-encryption",
      ArgumentValue: sse,
    });
  }
  if (
    headers.has("x-amz-server-side-encryption-aws-kms-key-id") ||
    headers.has("x-amz-server-side-encryption-context")
  )
    notImplemented("SSE-KMS keys are not supported: every object is encrypted under keys SSE Store manages.");
  const acl = headers.get("x-amz-acl");
  if (acl !== undefined && !OWNER_ONLY_ACLS.has(acl))
    notImplemented(
      `The canned ACL '${acl}' is not supported: objects and buckets are readable only by their owner's access keys (x-amz-acl: private).`,
    );
  for (const name of headers.names())
    if (name.startsWith("x-amz-grant-"))
      notImplemented(
        "ACL grants are not supported: objects and buckets are readable only by their owner's access keys.",
      );
  if (
    headers.has("x-amz-object-lock-mode") ||
    headers.has("x-amz-object-lock-retain-until-date") ||
    headers.get("x-amz-object-lock-legal-hold")?.toUpperCase() === "ON" ||
    headers.get("x-amz-bucket-object-lock-enabled")?.toLowerCase() === "true"
  )
    notImplemented("Object lock (retention and legal holds) is not supported.");
  const tagging = headers.get("x-amz-tagging");
  if (tagging !== undefined && tagging !== "")
    notImplemented("Object tags are not supported: the object was not written.");
  if (headers.has("x-amz-website-redirect-location"))
    notImplemented("Website hosting (x-amz-website-redirect-location) is not supported.");
}
