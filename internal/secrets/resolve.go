package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultTimeout bounds Resolve, credentials and retries included: init must not wait on AWS.
const DefaultTimeout = 2 * time.Second

// Option adjusts Resolve.
type Option func(*options)

type options struct {
	timeout     time.Duration
	endpoint    string
	credentials aws.CredentialsProvider
	httpClient  aws.HTTPClient
}

// WithTimeout replaces DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithEndpoint sends the request to url instead of the service's regional endpoint (a VPC
// endpoint, a local stand-in). Without it the SDK's own AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_SSM variables still apply.
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithCredentials replaces the SDK's default credential chain (in Lambda, the execution
// role's credentials from the environment).
func WithCredentials(p aws.CredentialsProvider) Option {
	return func(o *options) { o.credentials = p }
}

// WithHTTPClient replaces the SDK's HTTP client.
func WithHTTPClient(c aws.HTTPClient) Option { return func(o *options) { o.httpClient = c } }

// Resolve reads the OTLP headers stored at ref, a Secrets Manager secret ARN or an SSM
// parameter ARN (SecureString parameters are decrypted), in the ARN's region, and returns
// them in OTEL_EXPORTER_OTLP_HEADERS form (see Headers). It makes one request, retried by
// the SDK on transient errors, all within the timeout. Errors name the ARN, never the value.
func Resolve(ctx context.Context, ref string, opts ...Option) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	// A hand-built configuration rather than config.LoadDefaultConfig: on Lambda the
	// role's credentials are in the environment, and the default chain (SSO, STS, IMDS,
	// shared files) would add megabytes to the layer for nothing.
	cfg := aws.Config{Region: r.Region, Credentials: o.credentials, BaseEndpoint: nonEmpty(o.endpoint), HTTPClient: o.httpClient}
	if cfg.Credentials == nil {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	}
	if cfg.BaseEndpoint == nil {
		// The SDK's service-specific endpoint variable first, as its clients would read it.
		specific := "AWS_ENDPOINT_URL_SECRETS_MANAGER"
		if r.Service == SSM {
			specific = "AWS_ENDPOINT_URL_SSM"
		}
		cfg.BaseEndpoint = nonEmpty(os.Getenv(specific))
	}
	if cfg.BaseEndpoint == nil {
		cfg.BaseEndpoint = nonEmpty(os.Getenv("AWS_ENDPOINT_URL"))
	}

	value, err := fetch(ctx, cfg, r)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return "", fmt.Errorf("read OTLP headers from %s: no answer within %v: %w", r.ARN, o.timeout, err)
		}
		return "", fmt.Errorf("read OTLP headers from %s: %w", r.ARN, err)
	}
	headers, err := Headers(value)
	if err != nil {
		return "", fmt.Errorf("read OTLP headers from %s: %w", r.ARN, err)
	}
	return headers, nil
}

// fetch returns the secret's or parameter's value. The whole ARN is sent as the id: both
// APIs accept it, and it is the only form that reaches a resource shared from another account.
func fetch(ctx context.Context, cfg aws.Config, r Ref) (string, error) {
	switch r.Service {
	case SecretsManager:
		var out struct {
			SecretString *string
			SecretBinary []byte
		}
		if err := call(ctx, cfg, "secretsmanager", "secretsmanager.GetSecretValue", map[string]any{"SecretId": r.ARN}, &out); err != nil {
			return "", err
		}
		if out.SecretString != nil {
			return *out.SecretString, nil
		}
		return string(out.SecretBinary), nil
	case SSM:
		var out struct {
			Parameter *struct{ Value *string }
		}
		if err := call(ctx, cfg, "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": r.ARN, "WithDecryption": true}, &out); err != nil {
			return "", err
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", errors.New("the parameter has no value")
		}
		return *out.Parameter.Value, nil
	}
	return "", fmt.Errorf("unsupported service %q", r.Service)
}

// call makes one SigV4-signed AWS JSON 1.1 call, retried once on a server error. Built on
// the SDK's signer, not its service clients: those cost 1.9 ms of package init on every
// cold start and 2.5 MB of layer, for one call that most functions never make.
func call(ctx context.Context, cfg aws.Config, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	endpoint := "https://" + service + "." + cfg.Region + ".amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		endpoint += ".cn"
	}
	if cfg.BaseEndpoint != nil {
		endpoint = strings.TrimSuffix(*cfg.BaseEndpoint, "/")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, cfg.Region, time.Now()); err != nil {
			return fmt.Errorf("sign request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK {
			return json.Unmarshal(data, out)
		}
		if resp.StatusCode >= 500 && attempt == 0 && ctx.Err() == nil {
			continue
		}
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		if e.Type == "" {
			e.Type = resp.Header.Get("X-Amzn-ErrorType")
		}
		return fmt.Errorf("%s: %s (HTTP %d)", e.Type, e.Message, resp.StatusCode)
	}
}

// nonEmpty returns a pointer to s, or nil when s is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
