// Call the HTTP API with a SigV4-signed request: Java 17+, java.net.http and javax.crypto, no Maven.
//
//   API_URL=https://abc123.execute-api.ap-northeast-1.amazonaws.com AWS_REGION=ap-northeast-1 \
//   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... [AWS_SESSION_TOKEN=...] \
//   java CallApi.java POST /payments '{"out_order_no": "A1", "total_amount": 100, "subject": "s", "body": "b"}'
//
// The caller's role needs execute-api:Invoke on the routes it calls (README, "Call the API from your
// backend"). In real use take the keys from the AWS SDK's default chain (for a backend outside AWS,
// IAM Roles Anywhere's credential_process), not from long-lived keys in the environment.
// The path is written as in a URL; a literal "+" is a plus sign (write a space as %20). Run it in a
// UTF-8 locale: Java decodes the arguments with the locale's charset.
// --dry-run prints the URL and headers instead of sending; SIGV4_FIXED_TIME=20260101T000000Z signs
// as of that instant (both for tests).
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import static java.nio.charset.StandardCharsets.UTF_8;

public class CallApi {
    /** RFC 3986 encoding: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX. */
    static String encode(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            char c = (char) (b & 0xff);
            if (c < 128 && (Character.isLetterOrDigit(c) || "-_.~".indexOf(c) >= 0)) out.append(c);
            else out.append(String.format("%%%02X", b & 0xff));
        }
        return out.toString();
    }

    /** Percent-decoding to bytes ("%2A" -> "*"); a "%" not followed by two hex digits stays as it is. */
    static byte[] decode(String text) {
        byte[] in = text.getBytes(UTF_8);
        var out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < in.length; i++) {
            int high = i + 2 < in.length ? Character.digit(in[i + 1], 16) : -1;
            int low = i + 2 < in.length ? Character.digit(in[i + 2], 16) : -1;
            if (in[i] == '%' && high >= 0 && low >= 0) {
                out.write(high * 16 + low);
                i += 2;
            } else out.write(in[i]);
        }
        return out.toByteArray();
    }

    static String eachSegment(String path, UnaryOperator<String> f) {
        return Stream.of(path.split("/", -1)).map(f).collect(Collectors.joining("/"));
    }

    static byte[] hmac(byte[] key, String data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data.getBytes(UTF_8));
    }

    static String sha256Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    public static void main(String[] argv) throws Exception {
        List<String> args = new ArrayList<>(List.of(argv));
        boolean dryRun = args.remove("--dry-run");
        if (args.size() < 2 || args.size() > 3) {
            System.err.println("usage: java CallApi.java [--dry-run] METHOD /path[?query] [JSON body]");
            System.exit(2);
        }
        String method = args.get(0).toUpperCase();
        String body = args.size() == 3 ? args.get(2) : null;
        if (String.join("", args).indexOf('\uFFFD') >= 0) { // a non-UTF-8 locale lost the arguments' characters
            System.err.println("the arguments did not arrive as UTF-8: run in a UTF-8 locale (LC_ALL=C.UTF-8)");
            System.exit(2);
        }
        byte[] payload = body == null ? new byte[0] : body.getBytes(UTF_8);
        Map<String, String> env = System.getenv();
        for (String name : List.of("API_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")) {
            if (env.getOrDefault(name, "").isEmpty()) {
                System.err.println("set " + name);
                System.exit(2);
            }
        }

        // The request exactly as it goes on the wire: each path segment and query key/value encoded
        // the RFC 3986 way, the query sorted by key, then value (SigV4's canonical query string).
        URI base = URI.create(env.get("API_URL"));
        int port = base.getPort(), defaultPort = base.getScheme().equals("https") ? 443 : 80;
        String host = base.getHost() + (port == -1 || port == defaultPort ? "" : ":" + port);
        String[] pathAndQuery = args.get(1).split("\\?", 2);
        String basePath = base.getRawPath() == null ? "" : base.getRawPath().replaceAll("/$", "");
        String path = eachSegment(basePath + pathAndQuery[0], s -> encode(decode(s)));
        String query = pathAndQuery.length < 2 ? "" : Stream.of(pathAndQuery[1].split("&"))
                .filter(pair -> !pair.isEmpty())
                .map(pair -> pair.split("=", 2))
                .map(kv -> new String[] {encode(decode(kv[0])), encode(decode(kv.length > 1 ? kv[1] : ""))})
                .sorted((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]))
                .map(kv -> kv[0] + "=" + kv[1])
                .collect(Collectors.joining("&"));

        String amzDate = env.getOrDefault("SIGV4_FIXED_TIME",
                ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")));
        Map<String, String> headers = new TreeMap<>(Map.of("host", host, "x-amz-date", amzDate)); // sorted by name
        String token = env.get("AWS_SESSION_TOKEN");
        if (token != null && !token.isEmpty()) headers.put("x-amz-security-token", token);
        if (body != null) headers.put("content-type", "application/json");
        String signedHeaders = String.join(";", headers.keySet());
        String canonicalHeaders = headers.entrySet().stream()
                .map(h -> h.getKey() + ":" + h.getValue().trim() + "\n")
                .collect(Collectors.joining());
        String canonicalRequest = String.join("\n", method,
                eachSegment(path, s -> encode(s.getBytes(UTF_8))), // once more: "%2A" sent is "%252A" signed
                query, canonicalHeaders, signedHeaders, sha256Hex(payload));
        String date = amzDate.substring(0, 8), region = env.get("AWS_REGION");
        String scope = date + "/" + region + "/execute-api/aws4_request";
        String stringToSign = String.join("\n",
                "AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest.getBytes(UTF_8)));
        byte[] key = ("AWS4" + env.get("AWS_SECRET_ACCESS_KEY")).getBytes(UTF_8);
        for (String part : List.of(date, region, "execute-api", "aws4_request")) key = hmac(key, part);
        String signature = HexFormat.of().formatHex(hmac(key, stringToSign));
        headers.put("authorization", "AWS4-HMAC-SHA256 Credential=" + env.get("AWS_ACCESS_KEY_ID") + "/" + scope
                + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature);

        URI target = URI.create(base.getScheme() + "://" + host + path + (query.isEmpty() ? "" : "?" + query));
        if (dryRun) { // header values are ASCII without quotes or backslashes: plain JSON strings
            String json = headers.entrySet().stream()
                    .map(h -> "\"" + h.getKey() + "\": \"" + h.getValue() + "\"")
                    .collect(Collectors.joining(", ", "{\"url\": \"" + target + "\", \"headers\": {", "}}"));
            System.out.println(json);
            return;
        }
        var request = HttpRequest.newBuilder(target).method(method, HttpRequest.BodyPublishers.ofByteArray(payload));
        headers.forEach((name, value) -> {
            if (!name.equals("host")) request.header(name, value); // Host is sent from the URI
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString(UTF_8));
        System.out.println(response.statusCode());
        System.out.println(response.body());
    }
}
