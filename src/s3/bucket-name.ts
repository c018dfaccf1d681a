// S3's rules for bucket names (general purpose buckets): 3-63 characters of lowercase letters,
// digits, `.` and `-`, starting and ending with a letter or digit, no `..`, not an IPv4 address,
// and none of the prefixes and suffixes AWS reserves.
const SHAPE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

export function isValidBucketName(name: string): boolean {
  if (!SHAPE.test(name) || name.includes("..") || IPV4.test(name)) return false;
  if (RESERVED_PREFIXES.some((p) => name.startsWith(p))) return false;
  return !RESERVED_SUFFIXES.some((s) => name.endsWith(s));
}
