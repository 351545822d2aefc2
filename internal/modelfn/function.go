package modelfn

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/modelserver"
)

// Function is the model function: the model service, preloaded before it
// serves.
type Function struct {
	svc *modelserver.Service
	log *slog.Logger
}

// New returns the model function for cfg (see [FromEnv]). The service
// signs Hunyuan and COS calls with SCF's role credentials, read through
// getenv when they are needed (SCF refreshes them).
func New(cfg Config, log *slog.Logger, getenv func(string) string) (*Function, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Credential = tencentcloud.RoleCredential{Getenv: getenv}
	return &Function{svc: modelserver.New(cfg.Config, log, nil), log: log}, nil
}

// Service is the model service the function runs.
func (f *Function) Service() *modelserver.Service { return f.svc }

// Preload runs the preload plan and starts the engine; until it is done
// requests wait (see modelserver.Config.ReadyWait), and after a failure
// they are refused with its error.
func (f *Function) Preload(ctx context.Context) error {
	_, err := f.svc.Preload(ctx)
	return err
}

// Invoke answers one SCF event (see modelserver.Service.HandleEvent) with
// its JSON.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.svc.HandleEvent(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// Handler serves the OpenAI API over HTTP (the web function), one log
// line per answered request.
func (f *Function) Handler() http.Handler { return logged(f.log, f.svc.Handler()) }

// Close releases nothing: the engines hold no connection to close.
func (f *Function) Close() error { return nil }

// logged writes one log line per answered request.
func logged(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begin := time.Now()
		next.ServeHTTP(w, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "ms", time.Since(begin).Milliseconds())
	})
}
