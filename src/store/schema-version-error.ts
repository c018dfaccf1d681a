/** The database holds a schema this release cannot use (newer, or not ours). Refuses to start. */
export class SchemaVersionError extends Error {
  override name = "SchemaVersionError";
}
