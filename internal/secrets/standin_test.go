package secrets

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// standIn is a local stand-in for the Secrets Manager and SSM JSON 1.1 APIs (AWS itself
// cannot be reached from the tests): it answers GetSecretValue and GetParameter from a
// map of ids to values, records what it was asked, and can stall or fail on demand.
type standIn struct {
	*httptest.Server
	values map[string]string // SecretId or parameter Name → value

	mu       sync.Mutex
	requests []standInRequest

	stall  chan struct{} // when not nil, every request waits for it (or the client's departure)
	status int           // when not 0, every request fails with this status
}

type standInRequest struct {
	Target        string // X-Amz-Target
	ID            string // SecretId or Name
	Decrypt       bool   // GetParameter's WithDecryption
	Authorization string // the SigV4 header: names the access key, region and service
}

func newStandIn(t *testing.T, values map[string]string) *standIn {
	t.Helper()
	s := &standIn{values: values}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve)) // 127.0.0.1: loopback only
	t.Cleanup(func() {
		if s.stall != nil {
			close(s.stall)
		}
		s.Close()
	})
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		SecretID       string `json:"SecretId"`
		Name           string `json:"Name"`
		WithDecryption bool   `json:"WithDecryption"`
	}
	_ = json.Unmarshal(body, &in)
	req := standInRequest{Target: r.Header.Get("X-Amz-Target"), ID: in.SecretID + in.Name,
		Decrypt: in.WithDecryption, Authorization: r.Header.Get("Authorization")}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if s.stall != nil {
		select {
		case <-s.stall:
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(status int, typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if s.status != 0 {
		fail(s.status, "InternalServiceError", "stand-in failure")
		return
	}
	value, ok := s.values[req.ID]
	switch {
	case req.Target == "secretsmanager.GetSecretValue" && ok:
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": req.ID, "Name": "otlp", "SecretString": value, "VersionId": "v1"})
	case req.Target == "secretsmanager.GetSecretValue":
		fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	case req.Target == "AmazonSSM.GetParameter" && ok:
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"ARN": req.ID, "Name": "/otlp/headers", "Type": "SecureString", "Value": value, "Version": 1}})
	case req.Target == "AmazonSSM.GetParameter":
		fail(http.StatusBadRequest, "ParameterNotFound", "")
	default:
		fail(http.StatusBadRequest, "UnknownOperationException", "stand-in does not answer "+req.Target)
	}
}

func (s *standIn) asked() []standInRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]standInRequest(nil), s.requests...)
}

// signedFor reports whether a request was signed with the test's key for region and service.
func (r standInRequest) signedFor(region, service string) bool {
	return strings.Contains(r.Authorization, "Credential="+testAccessKey+"/") &&
		strings.Contains(r.Authorization, "/"+region+"/"+service+"/aws4_request")
}
