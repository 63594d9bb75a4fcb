// Call the HTTP API with a SigV4-signed request: Go 1.19+, standard library only.
//
//	API_URL=https://abc123.execute-api.ap-northeast-1.amazonaws.com AWS_REGION=ap-northeast-1 \
//	AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... [AWS_SESSION_TOKEN=...] \
//	go run call_api.go POST /payments '{"out_order_no": "A1", "total_amount": 100, "subject": "s", "body": "b"}'
//
// The caller's role needs execute-api:Invoke on the routes it calls (README, "Call the API from your
// backend"). In real use take the keys from the AWS SDK's default chain (for a backend outside AWS,
// IAM Roles Anywhere's credential_process), not from long-lived keys in the environment.
// The path is written as in a URL; a literal "+" is a plus sign (write a space as %20).
// --dry-run prints the URL and headers instead of sending; SIGV4_FIXED_TIME=20260101T000000Z signs
// as of that instant (both for tests).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

func sha256Hex(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// encode is RFC 3986 encoding: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX.
func encode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// decode percent-decodes ("%2A" -> "*"); a "%" not followed by two hex digits stays as it is.
func decode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.WriteByte(v[0])
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func eachSegment(path string, f func(string) string) string {
	segments := strings.Split(path, "/")
	for i, s := range segments {
		segments[i] = f(s)
	}
	return strings.Join(segments, "/")
}

func main() {
	env, args, dryRun := os.Getenv, []string{}, false
	for _, a := range os.Args[1:] {
		dryRun = dryRun || a == "--dry-run"
		if a != "--dry-run" {
			args = append(args, a)
		}
	}
	if len(args) < 2 || len(args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: go run call_api.go [--dry-run] METHOD /path[?query] [JSON body]")
		os.Exit(2)
	}
	for _, name := range []string{"API_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if env(name) == "" {
			fmt.Fprintln(os.Stderr, "set "+name)
			os.Exit(2)
		}
	}
	method, body := strings.ToUpper(args[0]), ""
	base, err := url.Parse(env("API_URL"))
	if err != nil {
		panic(err)
	}
	// The request exactly as it goes on the wire: each path segment and query key/value encoded the
	// RFC 3986 way, the query sorted by key, then value (SigV4's canonical query string).
	host := strings.TrimSuffix(base.Host, map[string]string{"http": ":80", "https": ":443"}[base.Scheme])
	rawPath, rawQuery, _ := strings.Cut(args[1], "?")
	path := eachSegment(strings.TrimSuffix(base.EscapedPath(), "/")+rawPath, func(s string) string {
		return encode(decode(s))
	})
	var pairs [][2]string
	for _, pair := range strings.Split(rawQuery, "&") {
		if k, v, _ := strings.Cut(pair, "="); pair != "" {
			pairs = append(pairs, [2]string{encode(decode(k)), encode(decode(v))})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		return pairs[i][0] < pairs[j][0] || pairs[i][0] == pairs[j][0] && pairs[i][1] < pairs[j][1]
	})
	var joined []string
	for _, p := range pairs {
		joined = append(joined, p[0]+"="+p[1])
	}
	query := strings.Join(joined, "&")

	amzDate := env("SIGV4_FIXED_TIME")
	if amzDate == "" {
		amzDate = time.Now().UTC().Format("20060102T150405Z")
	}
	headers := map[string]string{"host": host, "x-amz-date": amzDate}
	if env("AWS_SESSION_TOKEN") != "" {
		headers["x-amz-security-token"] = env("AWS_SESSION_TOKEN")
	}
	if len(args) == 3 {
		body, headers["content-type"] = args[2], "application/json" // the argument's bytes, signed and sent as they are
	}
	names, canonicalHeaders := []string{}, ""
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		canonicalHeaders += name + ":" + strings.TrimSpace(headers[name]) + "\n"
	}
	// The path once more encoded: "%2A" on the wire is "%252A" here (what API Gateway computes).
	canonicalRequest := strings.Join([]string{method, eachSegment(path, encode), query,
		canonicalHeaders, strings.Join(names, ";"), sha256Hex(body)}, "\n")
	scope := amzDate[:8] + "/" + env("AWS_REGION") + "/execute-api/aws4_request"
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest)
	key := []byte("AWS4" + env("AWS_SECRET_ACCESS_KEY"))
	for _, part := range []string{amzDate[:8], env("AWS_REGION"), "execute-api", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + env("AWS_ACCESS_KEY_ID") + "/" + scope +
		", SignedHeaders=" + strings.Join(names, ";") + ", Signature=" + hex.EncodeToString(hmacSHA256(key, stringToSign))

	target := base.Scheme + "://" + host + path
	if query != "" {
		target += "?" + query
	}
	if dryRun {
		out, _ := json.Marshal(map[string]any{"url": target, "headers": headers})
		fmt.Println(string(out))
		return
	}
	request, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	request.Host = host
	for name, value := range headers {
		request.Header.Set(name, value) // "host" is sent from request.Host
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		panic(err)
	}
	defer response.Body.Close()
	data, _ := io.ReadAll(response.Body)
	fmt.Printf("%d\n%s\n", response.StatusCode, data)
}
