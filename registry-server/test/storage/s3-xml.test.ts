// Reading S3's answers: elements picked by name, entities and character data decoded, names that
// start alike kept apart; and the escaping of the one body the client writes.

import { describe, expect, it } from "vitest";
import { xmlDecode, xmlElements, xmlEscape, xmlText } from "../../src/storage/s3-xml.ts";

const LISTING = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>a/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>a/one&amp;two</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified><Size>12</Size></Contents>
  <Contents>
    <Key>a/&#x3C;three&#62;</Key>
    <Size>0</Size>
  </Contents>
  <NextContinuationToken>token/+=</NextContinuationToken>
</ListBucketResult>`;

describe("S3's XML", () => {
  it("reads each listed object's fields, and the page's", () => {
    const entries = xmlElements(LISTING, "Contents");
    expect(entries).toHaveLength(2);
    expect(entries.map((entry) => xmlText(entry, "Key"))).toEqual(["a/one&two", "a/<three>"]);
    expect(entries.map((entry) => xmlText(entry, "Size"))).toEqual(["12", "0"]);
    expect(xmlText(entries[0] ?? "", "LastModified")).toBe("2026-12-07T10:00:00.000Z");
    expect(xmlText(entries[1] ?? "", "LastModified")).toBeUndefined();
    expect(xmlText(LISTING, "IsTruncated")).toBe("true");
    expect(xmlText(LISTING, "NextContinuationToken")).toBe("token/+=");
  });

  it("tells an element from another whose name starts alike", () => {
    expect(xmlText(LISTING, "Key")).toBe("a/one&two");
    expect(xmlText(LISTING, "KeyCount")).toBe("2");
    expect(xmlText("<KeyCount>2</KeyCount>", "Key")).toBeUndefined();
  });

  it("reads empty elements, attributes and character data", () => {
    expect(xmlElements("<A/><A x='1'>b</A><A></A>", "A")).toEqual(["", "b", ""]);
    expect(xmlText("<Message><![CDATA[a <b> & c]]></Message>", "Message")).toBe("a <b> & c");
    expect(xmlText('<Error><Code>NoSuchKey</Code><Message>The key "k" is missing</Message></Error>', "Code")).toBe(
      "NoSuchKey",
    );
  });

  it("leaves unknown or invalid references as they are", () => {
    expect(xmlDecode("&nbsp; &#xFFFFFFF; &#65;")).toBe("&nbsp; &#xFFFFFFF; A");
  });

  it("escapes what would end an element or an attribute", () => {
    expect(xmlEscape(`"etag" <&> 'x'`)).toBe("&quot;etag&quot; &lt;&amp;&gt; &apos;x&apos;");
    expect(xmlDecode(xmlEscape(`"a" & <b>`))).toBe(`"a" & <b>`);
  });
});
