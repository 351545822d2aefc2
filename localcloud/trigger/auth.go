package trigger

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/scfgate/scfgate/internal/tencentcloud/tc3"
	"github.com/scfgate/scfgate/localcloud/runtime"
)

// signatureHeaders are what a CAM signature adds to a request; the
// function never sees them.
var signatureHeaders = []string{tc3.HeaderAuthorization, tc3.HeaderTimestamp, tc3.HeaderToken, tc3.HeaderContentSHA256}

// authenticate checks the TC3 signature of a request to a CAM-
// authenticated Function URL and strips it. It answers the refusal itself
// and reports false: 401 when the request is not signed, 403 when the
// signature does not verify (unknown SecretId, expired, wrong token or
// signature). The body is read (up to MaxBodyBytes) to hash it, unless
// the request says X-TC-Content-SHA256: UNSIGNED-PAYLOAD, and handed on
// unchanged.
func (fd *FrontDoor) authenticate(w http.ResponseWriter, r *http.Request, log *slog.Logger, requestID string) bool {
	if r.Header.Get(tc3.HeaderAuthorization) == "" {
		log.Info("unsigned request to a CAM-authenticated Function URL")
		writeJSON(w, http.StatusUnauthorized, runtime.SCFErrorBody{ErrorCode: http.StatusUnauthorized,
			ErrorMessage: "AuthFailure.InvalidAuthorization: this Function URL uses CAM authentication: sign the request (TC3-HMAC-SHA256, service scf) with credentials allowed scf:InvokeFunctionUrl",
			RequestID:    requestID})
		return false
	}
	var body []byte
	if r.Header.Get(tc3.HeaderContentSHA256) != tc3.UnsignedPayload {
		b, err := readBody(w, r, fd.maxBody)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				fd.refuseTooLarge(w, log, requestID)
				return false
			}
			log.Info("reading request body", "error", err)
			writeJSON(w, http.StatusBadRequest, runtime.SCFErrorBody{ErrorCode: http.StatusBadRequest,
				ErrorMessage: "reading request body: " + err.Error(), RequestID: requestID})
			return false
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	token := r.Header.Get(tc3.HeaderToken)
	lookup := func(id string) (tc3.Secret, bool) {
		// One SecretId may be known both as a permanent key and as a role
		// credential with a token: take the one the request's token names.
		var found *tc3.Credential
		for i, c := range fd.creds {
			if c.SecretID != id {
				continue
			}
			if found == nil || c.Token == token {
				found = &fd.creds[i]
			}
		}
		if found == nil {
			return tc3.Secret{}, false
		}
		return tc3.Secret{Key: found.SecretKey, Token: found.Token}, true
	}
	caller, err := tc3.Verify(r, body, lookup, fd.now())
	if err != nil {
		code, msg := "AuthFailure", err.Error()
		var te *tc3.Error
		if errors.As(err, &te) {
			code, msg = te.Code, te.Message
			if te.CanonicalRequest != "" {
				log.Debug("signature mismatch", "canonical_request", te.CanonicalRequest)
			}
		}
		log.Info("refused a request to a CAM-authenticated Function URL", "code", code)
		writeJSON(w, http.StatusForbidden, runtime.SCFErrorBody{ErrorCode: http.StatusForbidden,
			ErrorMessage: code + ": " + msg, RequestID: requestID})
		return false
	}
	for _, h := range signatureHeaders {
		r.Header.Del(h)
	}
	log.Debug("signed request accepted", "secret_id", caller.SecretID)
	return true
}
