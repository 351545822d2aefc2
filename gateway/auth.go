package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// KeySource supplies API keys that change while the gateway runs, so that
// keys can be rotated without a redeploy (internal/gatewayfn reads a file
// that it re-reads when it changes). Its keys are merged with
// Config.Keys; a set that does not validate (a duplicate name, a bad
// hash) is refused and the previous keys stay.
type KeySource interface {
	// Keys returns the current keys and a generation that changes
	// whenever they do. The gateway calls it on every request that needs
	// a key, with its clock, so it must be cheap when nothing changed.
	Keys(now time.Time) (keys []Key, generation uint64)
}

// apiKey is a configured key, its hash decoded.
type apiKey struct {
	name   string
	hash   [sha256.Size]byte
	bucket Bucket
	tokens TokenLimit
}

func decodeKeys(keys []Key, l Limits) []apiKey {
	out := make([]apiKey, 0, len(keys))
	for _, k := range keys {
		ak := apiKey{name: k.Name, bucket: l.PerKey, tokens: keyTokenLimit(k, l)}
		h, _ := hex.DecodeString(k.SHA256) // validated
		copy(ak.hash[:], h)
		if k.QPS > 0 {
			ak.bucket = Bucket{QPS: k.QPS, Burst: k.Burst}
		}
		out = append(out, ak)
	}
	return out
}

// ValidateKeys reports every invalid key (names must be unique and
// non-empty, hashes 64 hex digits), naming its index, never its hash.
func ValidateKeys(keys []Key) error {
	var errs []error
	names := map[string]bool{}
	for i, k := range keys {
		key := fmt.Sprintf("keys[%d]", i)
		if k.Name == "" || names[k.Name] {
			errs = append(errs, fmt.Errorf("gateway: config %s.name: invalid value %q (allowed: a unique non-empty name)", key, k.Name))
		}
		names[k.Name] = true
		if !hexSHA256.MatchString(k.SHA256) {
			errs = append(errs, fmt.Errorf("gateway: config %s.sha256: invalid value (hidden) (allowed: 64 hex digits)", key))
		}
		if k.QPS < 0 || k.Burst < 0 {
			errs = append(errs, fmt.Errorf("gateway: config %s.qps/burst: invalid value %v/%d (allowed: >= 0)", key, k.QPS, k.Burst))
		}
		if k.TokensPerMinute < 0 {
			errs = append(errs, fmt.Errorf("gateway: config %s.tokens_per_minute: invalid value %d (allowed: >= 0 (0: limits.per_key_tokens))", key, k.TokensPerMinute))
		}
		if k.OutputTokensPerMinute < 0 {
			errs = append(errs, fmt.Errorf("gateway: config %s.output_tokens_per_minute: invalid value %d (allowed: >= 0 (0: limits.per_key_tokens))", key, k.OutputTokensPerMinute))
		}
	}
	return errors.Join(errs...)
}

// keyring holds the keys auth compares against: Config.Keys merged with
// the KeySource's, swapped atomically when the source's generation moves.
type keyring struct {
	open   bool // no key needed: Config.Open, or nothing that could ever hold a key
	fixed  []Key
	limits Limits
	src    KeySource
	log    *slog.Logger
	mu     sync.Mutex // serialises rebuilds
	cur    atomic.Pointer[keySet]
}

// keySet is the decoded keys of one generation of the source.
type keySet struct {
	gen  uint64
	keys []apiKey
}

func (k *keyring) init(cfg Config, src KeySource, log *slog.Logger) {
	// With no keys and no source, a gateway built directly (tests,
	// embedding) stays open as before; the functions refuse to start so
	// unless Open is set (internal/gatewayfn). With a source, an empty
	// set refuses everyone rather than opening the door.
	k.open = cfg.Open || (len(cfg.Keys) == 0 && src == nil)
	k.fixed, k.limits, k.src, k.log = cfg.Keys, cfg.Limits, src, log
	k.cur.Store(&keySet{keys: decodeKeys(cfg.Keys, cfg.Limits)})
}

// current returns the keys in force at now, re-reading the source.
func (k *keyring) current(now time.Time) *keySet {
	set := k.cur.Load()
	if k.src == nil {
		return set
	}
	keys, gen := k.src.Keys(now)
	if gen == set.gen {
		return set
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if set = k.cur.Load(); set.gen == gen {
		return set
	}
	merged := append(slices.Clip(k.fixed), keys...)
	next := &keySet{gen: gen, keys: set.keys}
	if err := ValidateKeys(merged); err != nil {
		// Keep serving the keys that worked; the error names fields,
		// never a hash.
		k.log.Error("gateway: refused the new API keys, keeping the previous ones", "generation", gen, "error", err)
	} else {
		next.keys = decodeKeys(merged, k.limits)
		k.log.Info("gateway: API keys updated", "generation", gen, "keys", len(merged))
	}
	k.cur.Store(next)
	return next
}

// auth checks "Authorization: Bearer <key>" against the keys in force.
// Every hash is compared, in constant time, so the time taken tells
// nothing about which key was close. An open gateway lets every request
// pass as anonymous.
func (g *Gateway) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.keys.open {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(headerValue(r.Header, "Authorization"))
		if !ok {
			writeError(w, http.StatusUnauthorized, errAuthentication,
				"missing API key: send it as 'Authorization: Bearer <key>'", "", "missing_api_key")
			return
		}
		st := requestStateFrom(r.Context())
		now := st.start
		if now.IsZero() {
			now = g.now()
		}
		keys := g.keys.current(now).keys
		sum := sha256.Sum256([]byte(token))
		match := -1
		for i := range keys {
			if subtle.ConstantTimeCompare(sum[:], keys[i].hash[:]) == 1 {
				match = i
			}
		}
		if match < 0 {
			writeError(w, http.StatusUnauthorized, errAuthentication, "incorrect API key provided", "", "invalid_api_key")
			return
		}
		st.key, st.bucket, st.keyTokens = keys[match].name, keys[match].bucket, keys[match].tokens
		next.ServeHTTP(w, r)
	})
}

func bearer(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(h[len(prefix):])
	return t, t != ""
}
