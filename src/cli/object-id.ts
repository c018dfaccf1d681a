// The id rule of API.md, checked before an upload starts so a bad id fails fast with a useful hint.

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Why `id` is not a valid object id, or undefined when it is. */
export function objectIdProblem(id: string): string | undefined {
  if (id.length === 0) return "an id must not be empty";
  if (Buffer.byteLength(id) > 1024) return "an id is at most 1024 bytes";
  for (const s of id.split("/")) {
    if (s === "") return "an id has no empty segments (no leading, trailing or double '/')";
    if (s === "." || s === "..") return "an id has no '.' or '..' segments";
    if (!SEGMENT.test(s)) return "an id uses only A-Z a-z 0-9 . _ ~ - and '/' between segments";
  }
  return undefined;
}
