// Control characters: never part of an id, a name, a label or a cursor of ours.

/** C0 control characters (U+0000 to U+001F): refused in ids (any other UTF-8 is an S3 key). */
export function hasC0Control(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** C0 control characters and DEL: refused in labels and other text shown to people. */
export function hasControlCharacter(s: string): boolean {
  return hasC0Control(s) || s.includes("\x7f");
}
