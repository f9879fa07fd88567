package secrets

import "testing"

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{secretARN, Ref{ARN: secretARN, Service: SecretsManager, Region: "eu-west-3", Name: "bodytrace/otlp-AbCdEf"}, true},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:k", Ref{ARN: "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:k", Service: SecretsManager, Region: "cn-north-1", Name: "k"}, true},
		{paramARN, Ref{ARN: paramARN, Service: SSM, Region: "ap-southeast-2", Name: "/bodytrace/otlp-headers"}, true},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/plain", Ref{ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/plain", Service: SSM, Region: "us-east-1", Name: "plain"}, true},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/", Ref{}, false},
		{"arn:aws:ssm:us-east-1:123456789012:parameterx/a", Ref{}, false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:", Ref{}, false},
		{"arn:aws:secretsmanager:us-east-1::secret:x", Ref{}, false},
		{"/bodytrace/otlp", Ref{}, false},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v", tt.in, got, err)
		}
	}
}
