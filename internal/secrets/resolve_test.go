package secrets

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	testAccessKey = "AKIDSTANDIN"
	secretARN     = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:bodytrace/otlp-AbCdEf"
	paramARN      = "arn:aws:ssm:ap-southeast-2:123456789012:parameter/bodytrace/otlp-headers"
	apiKey        = "hcaik_01SECRETVALUE"
)

func hermetic(t *testing.T) {
	t.Helper()
	// No shared config, profile or endpoint variable from the machine may steer the SDK.
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func standInOptions(s *standIn, extra ...Option) []Option {
	return append([]Option{
		WithEndpoint(s.URL),
		WithCredentials(credentials.NewStaticCredentialsProvider(testAccessKey, "fake-secret-access-key", "")),
	}, extra...)
}

func TestResolve(t *testing.T) {
	hermetic(t)
	tests := []struct {
		name, arn, stored, want string
		target, region, service string
	}{
		{"secret, header string", secretARN, "x-honeycomb-team=" + apiKey, "x-honeycomb-team=" + apiKey,
			"secretsmanager.GetSecretValue", "eu-west-3", "secretsmanager"},
		{"secret, JSON object", secretARN, `{"x-honeycomb-team":"` + apiKey + `","x-honeycomb-dataset":"my data"}`,
			"x-honeycomb-dataset=my%20data,x-honeycomb-team=" + apiKey, "secretsmanager.GetSecretValue", "eu-west-3", "secretsmanager"},
		{"parameter, header string", paramARN, " DD-API-KEY=" + apiKey + " \n", "DD-API-KEY=" + apiKey,
			"AmazonSSM.GetParameter", "ap-southeast-2", "ssm"},
		{"parameter, JSON object", paramARN, `{"Authorization":"Basic ` + apiKey + `"}`, "Authorization=Basic%20" + apiKey,
			"AmazonSSM.GetParameter", "ap-southeast-2", "ssm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t, map[string]string{tt.arn: tt.stored})
			got, err := Resolve(context.Background(), tt.arn, standInOptions(s)...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
			reqs := s.asked()
			if len(reqs) != 1 {
				t.Fatalf("stand-in asked %d times, want once: %+v", len(reqs), reqs)
			}
			r := reqs[0]
			if r.Target != tt.target || r.ID != tt.arn {
				t.Errorf("asked %s for %q, want %s for %q", r.Target, r.ID, tt.target, tt.arn)
			}
			if tt.service == "ssm" && !r.Decrypt {
				t.Error("GetParameter without WithDecryption: a SecureString would come back encrypted")
			}
			if !r.signedFor(tt.region, tt.service) {
				t.Errorf("request not signed for the ARN's region %s: %s", tt.region, r.Authorization)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	hermetic(t)
	tests := []struct {
		name   string
		arn    string
		stored map[string]string
		status int
		want   string // fragment of the error
	}{
		{"secret not found", secretARN, nil, 0, "ResourceNotFoundException"},
		{"parameter not found", paramARN, nil, 0, "ParameterNotFound"},
		{"service failing", secretARN, map[string]string{secretARN: "a=" + apiKey}, http.StatusInternalServerError, "InternalServiceError"},
		{"value not headers", secretARN, map[string]string{secretARN: apiKey}, 0, "pair 1 has no '='"},
		{"value JSON but not an object of strings", paramARN, map[string]string{paramARN: `{"x-key":["` + apiKey + `"]}`}, 0, "not a string"},
		{"value badly escaped", paramARN, map[string]string{paramARN: "x-key=" + apiKey + "%zz"}, 0, "percent-encoded"},
		{"value malformed JSON", paramARN, map[string]string{paramARN: `{"x-key":"` + apiKey + `"`}, 0, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t, tt.stored)
			s.status = tt.status
			_, err := Resolve(context.Background(), tt.arn, standInOptions(s)...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.arn) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want the ARN and %q", msg, tt.want)
			}
			if strings.Contains(msg, apiKey) || strings.Contains(msg, apiKey[:8]) {
				t.Errorf("error shows the value: %q", msg)
			}
		})
	}
}

func TestResolveTimeout(t *testing.T) {
	hermetic(t)
	s := newStandIn(t, map[string]string{secretARN: "a=b"})
	s.stall = make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Resolve(context.Background(), secretARN, standInOptions(s, WithTimeout(100*time.Millisecond))...)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 100ms") || !strings.Contains(err.Error(), secretARN) {
			t.Errorf("error = %v, want a deadline naming the ARN", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a measurement
		t.Fatal("Resolve ignored its timeout against a stalled stand-in")
	}
	// The caller's own deadline, when shorter, applies too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Resolve(ctx, secretARN, standInOptions(s)...); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the caller's deadline", err)
	}
}

func TestResolveMalformedRef(t *testing.T) {
	for _, ref := range []string{"", "arn:aws:s3:::bucket", "arn:aws:secretsmanager:us-east-1:123456789012:parameter/x",
		"arn:aws:ssm:us-east-1:123456789012:secret:x", "arn:aws:ssm::123456789012:parameter/x", "x-honeycomb-team=" + apiKey} {
		_, err := Resolve(context.Background(), ref, WithEndpoint("http://127.0.0.1:1"))
		if err == nil {
			t.Errorf("%q: no error", ref)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, EnvARN) || !strings.Contains(msg, "arn:aws:secretsmanager:<region>:<account>:secret:<name>") ||
			!strings.Contains(msg, "arn:aws:ssm:<region>:<account>:parameter/<name>") {
			t.Errorf("%q: error %q does not name the variable and the accepted forms", ref, msg)
		}
		if strings.Contains(msg, apiKey) {
			t.Errorf("%q: error shows a value pasted in place of an ARN: %q", ref, msg)
		}
	}
}
