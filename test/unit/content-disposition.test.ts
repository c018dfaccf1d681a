import { describe, expect, it } from "vitest";
import { attachment, downloadName } from "../../src/http/content-disposition.js";

describe("Content-Disposition", () => {
  it("quotes a plain ASCII name and adds nothing else", () => {
    expect(attachment("report.pdf")).toBe('attachment; filename="report.pdf"');
    expect(attachment("a b.txt")).toBe('attachment; filename="a b.txt"');
  });

  it("adds an RFC 8187 filename* when the fallback had to change the name", () => {
    expect(attachment("résumé.pdf")).toBe(
      `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
    );
    expect(attachment('a"b\\c%d.txt')).toBe(
      `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%5Cc%25d.txt`,
    );
    expect(attachment("x\r\ny")).toBe(`attachment; filename="x__y"; filename*=UTF-8''x%0D%0Ay`);
  });

  it("never emits an empty name", () => {
    expect(attachment("")).toBe('attachment; filename="download"');
  });

  it("names a download after the id's last segment (items as JSON)", () => {
    expect(downloadName("docs/2024/report.pdf", "blob")).toBe("report.pdf");
    expect(downloadName("plain", "blob")).toBe("plain");
    expect(downloadName("7", "item")).toBe("7.json");
  });
});
