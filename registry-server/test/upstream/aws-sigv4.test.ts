// The SigV4 signer against AWS's published vectors: the Signature Version 4 test suite
// (get-vanilla, get-vanilla-query-order-key-case, post-vanilla) and the IAM guide's worked example
// (signing key and signature of ListUsers).

import { describe, expect, it } from "vitest";
import { amzDate, signAwsRequest, signingKey } from "../../src/upstream/aws-sigv4.ts";

const SUITE = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const AT = new Date("2015-08-30T12:36:00Z");
const SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";

function sign(method: string, url: string, headers: Record<string, string> = {}, service = "service"): string {
  return signAwsRequest({ method, url: new URL(url), headers, body: "" }, SUITE, "us-east-1", service, AT)[
    "Authorization"
  ] as string;
}

describe("AWS Signature Version 4", () => {
  it("formats the timestamp as AWS does", () => {
    expect(amzDate(AT)).toBe("20150830T123600Z");
  });

  it("signs the test suite's get-vanilla", () => {
    expect(sign("GET", "https://example.amazonaws.com/")).toBe(
      `AWS4-HMAC-SHA256 ${SCOPE}, SignedHeaders=host;x-amz-date, ` +
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it("sorts the query as get-vanilla-query-order-key-case does", () => {
    expect(sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1")).toContain(
      "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
  });

  it("signs the test suite's post-vanilla", () => {
    expect(sign("POST", "https://example.amazonaws.com/")).toContain(
      "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    );
  });

  it("derives the IAM guide's signing key and signature", () => {
    expect(signingKey(SUITE.secretAccessKey, "20150830", "us-east-1", "iam").toString("hex")).toBe(
      "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
    );
    const authorization = sign(
      "GET",
      "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
      { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      "iam",
    );
    expect(authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
        "SignedHeaders=content-type;host;x-amz-date, " +
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
  });

  it("signs the session token of temporary credentials", () => {
    const headers = signAwsRequest(
      { method: "POST", url: new URL("https://api.ecr.eu-west-1.amazonaws.com/"), headers: {}, body: "{}" },
      { ...SUITE, sessionToken: "session" },
      "eu-west-1",
      "ecr",
      AT,
    );
    expect(headers["X-Amz-Security-Token"]).toBe("session");
    expect(headers["Authorization"]).toContain("SignedHeaders=host;x-amz-date;x-amz-security-token,");
  });
});
