// Call the HTTP API with a SigV4-signed request: Node.js 18+, built-in crypto and fetch, no npm packages.
//
//   API_URL=https://abc123.execute-api.ap-northeast-1.amazonaws.com AWS_REGION=ap-northeast-1 \
//   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... [AWS_SESSION_TOKEN=...] \
//   node call_api.mjs POST /payments '{"out_order_no": "A1", "total_amount": 100, "subject": "s", "body": "b"}'
//
// The caller's role needs execute-api:Invoke on the routes it calls (README, "Call the API from your
// backend"). In real use take the keys from the AWS SDK's default chain (for a backend outside AWS,
// IAM Roles Anywhere's credential_process), not from long-lived keys in the environment.
// The path is written as in a URL; a literal "+" is a plus sign (write a space as %20).
// --dry-run prints the URL and headers instead of sending; SIGV4_FIXED_TIME=20260101T000000Z signs
// as of that instant (both for tests).
import { createHash, createHmac } from "node:crypto";

const SERVICE = "execute-api";
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

// RFC 3986 encoding of bytes: everything but A-Z a-z 0-9 - _ . ~ becomes %XX.
const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;
const encode = (bytes) =>
  [...bytes]
    .map((b) => String.fromCharCode(b))
    .map((c) => (UNRESERVED.test(c) ? c : "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")))
    .join("");

// Percent-decoding to bytes ("%2A" -> "*"; a "%" not followed by two hex digits stays as it is).
function decode(text) {
  const out = [];
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.subarray(i + 1, i + 3).toString("latin1");
    if (bytes[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]);
    }
  }
  return Buffer.from(out);
}

function sign({ method, url, body, region, accessKey, secretKey, token, amzDate }) {
  const date = amzDate.slice(0, 8);
  const headers = { host: url.host, "x-amz-date": amzDate };
  if (token) headers["x-amz-security-token"] = token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    method,
    // Once more over the path as sent: "%2A" on the wire is "%252A" here (what API Gateway computes).
    url.pathname.split("/").map((segment) => encode(Buffer.from(segment))).join("/"),
    url.search.slice(1), // already canonical: sorted and encoded by buildUrl
    names.map((name) => `${name}:${headers[name].trim()}\n`).join(""),
    names.join(";"),
    sha256(body ?? ""),
  ].join("\n");
  const scope = `${date}/${region}/${SERVICE}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secretKey}`, date);
  for (const part of [region, SERVICE, "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return headers;
}

// The URL exactly as it goes on the wire: each path segment and query key/value encoded the
// RFC 3986 way, the query sorted by key then value (SigV4's canonical query string).
function buildUrl(apiUrl, pathAndQuery) {
  const base = new URL(apiUrl);
  const [path, query = ""] = pathAndQuery.split(/\?(.*)/s);
  const segments = (base.pathname.replace(/\/$/, "") + path).split("/");
  const wirePath = segments.map((segment) => encode(decode(segment))).join("/");
  const pairs = query
    .split("&")
    .filter(Boolean)
    .map((pair) => pair.split(/=(.*)/s).slice(0, 2))
    .map(([key, value = ""]) => [encode(decode(key)), encode(decode(value))]);
  const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  pairs.sort(([k1, v1], [k2, v2]) => compare(k1, k2) || compare(v1, v2));
  const search = pairs.map(([key, value]) => `${key}=${value}`).join("&");
  return new URL(`${base.origin}${wirePath || "/"}${search ? "?" + search : ""}`);
}

const args = process.argv.slice(2).filter((a) => a !== "--dry-run");
const dryRun = process.argv.includes("--dry-run");
const [method, pathAndQuery, body] = args;
if (!method || !pathAndQuery) {
  console.error("usage: node call_api.mjs [--dry-run] METHOD /path[?query] [JSON body]");
  process.exit(2);
}
const env = process.env;
const missing = ["API_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].filter((name) => !env[name]);
if (missing.length) {
  console.error(`set ${missing.join(", ")}`);
  process.exit(2);
}
const url = buildUrl(env.API_URL, pathAndQuery);
const amzDate = env.SIGV4_FIXED_TIME ?? new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
const headers = sign({
  method: method.toUpperCase(),
  url,
  body,
  region: env.AWS_REGION,
  accessKey: env.AWS_ACCESS_KEY_ID,
  secretKey: env.AWS_SECRET_ACCESS_KEY,
  token: env.AWS_SESSION_TOKEN,
  amzDate,
});
if (dryRun) {
  console.log(JSON.stringify({ url: url.href, headers }));
} else {
  delete headers.host; // fetch sends the same Host itself
  const response = await fetch(url, { method: method.toUpperCase(), headers, body });
  console.log(response.status);
  console.log(await response.text());
}
