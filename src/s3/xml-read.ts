// Reads the few XML request bodies S3 takes (CompleteMultipartUpload, Delete, CreateBucketConfiguration,
// Tagging). Hand-written on purpose: these are element-only documents of a handful of shapes, and a
// strict reader of ~150 lines that refuses DTDs, entity declarations and processing instructions
// outright, with size, depth and element-count limits, is safer and smaller than a general parser
// (none is installed; fast-xml-parser's history of entity-expansion bugs is what we avoid here).
import { S3Error } from "./errors.js";

export interface XmlElement {
  /** The local name (a namespace prefix is dropped). */
  name: string;
  children: XmlElement[];
  /** The element's own character data, entities decoded, exactly as sent (not trimmed). */
  text: string;
}

export interface XmlLimits {
  maxBytes?: number;
  maxDepth?: number;
  maxElements?: number;
}

const DEFAULT_LIMITS = { maxBytes: 1 << 20, maxDepth: 16, maxElements: 100_000 };
const NAME = /[A-Za-z_][A-Za-z0-9_.:-]*/y;
const ATTRIBUTE = /\s+[A-Za-z_][A-Za-z0-9_.:-]*\s*=\s*("[^"<]*"|'[^'<]*')/y;
// XML 1.0's Char production: no C0 controls but tab, LF, CR; no U+FFFE/U+FFFF.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 forbids
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

function malformed(why: string): S3Error {
  return new S3Error(
    "MalformedXML",
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}.`,
  );
}

function decodeEntities(raw: string): string {
  // XML's end-of-line handling: CRLF and lone CR read as LF (a &#xD; reference survives).
  const s = raw.includes("\r") ? raw.replace(/\r\n?/g, "\n") : raw;
  if (!s.includes("&")) return s;
  return s.replace(/&([^;&]*);|&/g, (all, ref: string | undefined) => {
    switch (ref) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const m = ref === undefined ? null : /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (!m) throw malformed(`'${all.slice(0, 20)}' is not one of XML's predefined entities`);
    const cp = m[1] !== undefined ? Number.parseInt(m[1], 16) : Number(m[2]);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw malformed("a character reference names no character");
    const c = String.fromCodePoint(cp);
    if (ILLEGAL.test(c)) throw malformed("a character reference names a character XML 1.0 forbids");
    return c;
  });
}

/** Parses an XML document into its root element; throws MalformedXML (or MaxMessageLengthExceeded). */
export function parseXml(body: Buffer | string, limits: XmlLimits = {}): XmlElement {
  const { maxBytes, maxDepth, maxElements } = { ...DEFAULT_LIMITS, ...limits };
  if (Buffer.byteLength(body) > maxBytes) throw new S3Error("MaxMessageLengthExceeded");
  let s: string;
  try {
    s = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw malformed("the body is not UTF-8");
  }
  if (ILLEGAL.test(s)) throw malformed("the body holds a character XML 1.0 forbids");
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  const skipSpace = () => {
    while (i < s.length && " \t\r\n".includes(s[i]!)) i++;
  };
  skipSpace();
  if (s.startsWith("<?xml", i) && /\s/.test(s[i + 5] ?? "")) {
    const end = s.indexOf("?>", i);
    if (end < 0) throw malformed("the XML declaration is not closed");
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  while (i < s.length) {
    const lt = s.indexOf("<", i);
    const chunk = s.slice(i, lt < 0 ? s.length : lt);
    if (stack.length > 0) stack[stack.length - 1]!.text += decodeEntities(chunk);
    else if (chunk.trim() !== "") throw malformed("text outside the root element");
    if (lt < 0) break;
    i = lt;
    if (s.startsWith("<!--", i)) {
      const end = s.indexOf("-->", i + 4);
      if (end < 0) throw malformed("a comment is not closed");
      i = end + 3;
    } else if (s.startsWith("<![CDATA[", i)) {
      const end = s.indexOf("]]>", i + 9);
      if (end < 0 || stack.length === 0) throw malformed("a CDATA section is not closed or outside the root");
      stack[stack.length - 1]!.text += s.slice(i + 9, end).replace(/\r\n?/g, "\n");
      i = end + 3;
    } else if (s.startsWith("<!", i)) {
      throw malformed("document type and entity declarations are not allowed");
    } else if (s.startsWith("<?", i)) {
      throw malformed("processing instructions are not allowed");
    } else if (s.startsWith("</", i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(s);
      const open = stack.pop();
      if (!m || !open || localName(m[0]) !== open.name)
        throw malformed("a closing tag does not match its opening tag");
      i = NAME.lastIndex;
      skipSpace();
      if (s[i] !== ">") throw malformed("a closing tag is not closed");
      i++;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(s);
      if (!m) throw malformed("a tag has no valid name");
      i = NAME.lastIndex;
      for (;;) {
        ATTRIBUTE.lastIndex = i;
        const a = ATTRIBUTE.exec(s);
        if (!a) break;
        decodeEntities(a[1]!.slice(1, -1));
        i = ATTRIBUTE.lastIndex;
      }
      skipSpace();
      const selfClosing = s.startsWith("/>", i);
      if (!selfClosing && s[i] !== ">") throw malformed("a tag is not closed");
      i += selfClosing ? 2 : 1;
      if (++count > maxElements) throw malformed("too many elements");
      if (stack.length >= maxDepth) throw malformed("elements are nested too deeply");
      const el: XmlElement = { name: localName(m[0]), children: [], text: "" };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
      else if (root) throw malformed("more than one root element");
      else root = el;
      if (!selfClosing) stack.push(el);
    }
  }
  if (stack.length > 0 || !root)
    throw malformed(root ? "an element is not closed" : "there is no root element");
  return root;
}

function localName(qualified: string): string {
  const colon = qualified.lastIndexOf(":");
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}
