// The SigV4 signer against AWS's published vectors: the Signature Version 4 test suite
// (get-vanilla, get-vanilla-query-order-key-case, post-vanilla), the IAM guide's worked example
// (signing key and signature of ListUsers) and the S3 guide's examples of signing with the
// Authorization header (GET Object, PUT Object, GET Bucket Lifecycle, ListObjects).

import { describe, expect, it } from "vitest";
import { amzDate, signAwsRequest, signingKey } from "../../src/http/aws-sigv4.ts";

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

describe("AWS Signature Version 4 for S3", () => {
  const S3_KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
  const S3_AT = new Date("2013-05-24T00:00:00Z");
  const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  function signS3(method: string, url: string, headers: Record<string, string>, payloadHash: string): string {
    return signAwsRequest(
      { method, url: new URL(url), headers, body: "", payloadHash },
      S3_KEYS,
      "us-east-1",
      "s3",
      S3_AT,
    )["Authorization"] as string;
  }

  it("signs the S3 guide's GET Object, with its range", () => {
    const headers = { Range: "bytes=0-9", "x-amz-content-sha256": EMPTY_HASH };
    expect(signS3("GET", "https://examplebucket.s3.amazonaws.com/test.txt", headers, EMPTY_HASH)).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("signs the S3 guide's PUT Object, its key encoded once", () => {
    const payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
    const headers = {
      Date: "Fri, 24 May 2013 00:00:00 GMT",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": payloadHash,
    };
    expect(signS3("PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text", headers, payloadHash)).toContain(
      "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, " +
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    );
  });

  it("signs the S3 guide's GET Bucket Lifecycle and ListObjects, their queries included", () => {
    const headers = { "x-amz-content-sha256": EMPTY_HASH };
    expect(signS3("GET", "https://examplebucket.s3.amazonaws.com/?lifecycle", headers, EMPTY_HASH)).toContain(
      "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    );
    expect(signS3("GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", headers, EMPTY_HASH)).toContain(
      "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
  });
});
