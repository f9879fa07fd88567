package secrets

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// EnvARN is the variable naming the secret or parameter that holds the OTLP headers.
const EnvARN = "BODYTRACE_OTLP_HEADERS_SECRET_ARN"

// Services a Ref can point at.
const (
	SecretsManager = "secretsmanager"
	SSM            = "ssm"
)

// acceptedForms is named in every error about a malformed reference.
const acceptedForms = "use a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) " +
	"or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)"

// Ref is a parsed secret or parameter ARN.
type Ref struct {
	ARN     string
	Service string // SecretsManager or SSM
	Region  string // the client's region: the resource's, whatever the function's is
	Name    string // the secret's name (with its suffix, when given) or the parameter's name
}

// ParseRef reads a Secrets Manager secret ARN or an SSM parameter ARN.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	a, err := arn.Parse(s)
	if err != nil || a.Region == "" || a.AccountID == "" {
		return Ref{}, malformed(s)
	}
	r := Ref{ARN: s, Service: a.Service, Region: a.Region}
	switch a.Service {
	case SecretsManager:
		r.Name, _ = strings.CutPrefix(a.Resource, "secret:")
		if r.Name == a.Resource {
			return Ref{}, malformed(s)
		}
	case SSM:
		name, ok := strings.CutPrefix(a.Resource, "parameter")
		if !ok || !strings.HasPrefix(name, "/") {
			return Ref{}, malformed(s)
		}
		// arn:...:parameter/app/key names /app/key; arn:...:parameter/key names key.
		if strings.Count(name, "/") == 1 {
			name = name[1:]
		}
		r.Name = name
	default:
		return Ref{}, malformed(s)
	}
	if strings.Trim(r.Name, "/") == "" {
		return Ref{}, malformed(s)
	}
	return r, nil
}

// malformed names the reference only when it looks like an ARN: a value pasted into the
// variable by mistake may be the API key itself.
func malformed(s string) error {
	if strings.HasPrefix(s, "arn:") {
		return fmt.Errorf("%s=%q is not a secret or parameter ARN: %s", EnvARN, s, acceptedForms)
	}
	return fmt.Errorf("%s is not an ARN (its value is not shown: it does not start with arn:): %s", EnvARN, acceptedForms)
}
