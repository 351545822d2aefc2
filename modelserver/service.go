package modelserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/scfgate/scfgate/chatreq"
	"github.com/scfgate/scfgate/engine"
	"github.com/scfgate/scfgate/latency"
	"github.com/scfgate/scfgate/preload"
	"github.com/scfgate/scfgate/scfevent"
)

// maxBody bounds a request body.
const maxBody = 6 << 20

// Service is the model service: a preload gate in front of an engine.
type Service struct {
	cfg   Config
	log   *slog.Logger
	clock engine.Clock
	ready *preload.Readiness

	mu  sync.Mutex
	eng engine.Engine
}

// New returns a service that refuses or holds requests until Preload has
// run. A nil clock means the wall clock; a nil logger discards.
func New(cfg Config, log *slog.Logger, clock engine.Clock) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = engine.RealClock{}
	}
	return &Service{cfg: cfg, log: log, clock: clock, ready: preload.NewReadiness()}
}

// Ready reports whether the preload has completed and the engine serves.
func (s *Service) Ready() bool { return s.ready.Ready() }

// Preload runs the configured plan and then starts the engine with the
// plan's tuning; only then does the service answer. Its error is also what
// every later request is refused with.
func (s *Service) Preload(ctx context.Context) (preload.Report, error) {
	rep, err := s.preload(ctx)
	if err == nil {
		err = s.startEngine(rep.Tuning)
	}
	if err != nil {
		s.log.Error("preload failed", "err", err)
	} else {
		s.log.Info("preload done", "bytes", rep.Bytes, "ms", rep.Duration.Milliseconds(), "stages", len(rep.Stages))
	}
	s.ready.Finish(rep, err)
	return rep, err
}

func (s *Service) preload(ctx context.Context) (preload.Report, error) {
	plan := preload.SeedPlan()
	if s.cfg.PlanFile != "" {
		var err error
		if plan, err = preload.LoadPlan(s.cfg.PlanFile); err != nil {
			return preload.Report{}, err
		}
	}
	var src preload.Source
	if s.cfg.Source != "" {
		var err error
		if src, err = preload.OpenSource(s.cfg.Source, nil, s.cosCredentials()); err != nil {
			return preload.Report{}, err
		}
	} else {
		mb := s.cfg.SynthMB
		if mb == 0 {
			mb = 64
		}
		dir := synthDir(mb)
		if err := preload.WriteSynthetic(dir, preload.SeedLayout(int64(mb)<<20)); err != nil {
			return preload.Report{}, err
		}
		src = preload.DirSource{Root: dir}
	}
	return preload.Run(ctx, plan, src, preload.Options{Dest: s.cfg.Dest, ChunkSize: int64(s.cfg.ChunkMB) << 20,
		Now: s.clock.Now, Logger: s.log})
}

// cosCredentials are the credentials of the moment for the preload's COS
// reads.
func (s *Service) cosCredentials() preload.COSCredentials {
	if s.cfg.Credential == nil {
		return preload.COSCredentials{}
	}
	id, key, token := s.cfg.Credential.GetCredential()
	return preload.COSCredentials{SecretID: id, SecretKey: key, SessionToken: token}
}

func (s *Service) startEngine(t *preload.Tuning) error {
	var eng engine.Engine
	var err error
	switch s.cfg.Engine {
	case EngineOpenAI:
		eng, err = s.openAIEngine(t)
	case EngineHunyuan:
		eng, err = s.hunyuanEngine(t)
	default:
		eng, err = s.syntheticEngine(t)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.eng = eng
	s.mu.Unlock()
	return nil
}

func (s *Service) syntheticEngine(t *preload.Tuning) (engine.Engine, error) {
	batch := s.cfg.BatchSize
	if batch < 1 {
		batch = DefaultBatchSize
	}
	m, err := latency.FromCalibration(latency.H200Calibration(), s.cfg.Profile, batch)
	if err != nil {
		return nil, err
	}
	if t != nil {
		s.log.Info("engine tuning", "max_batch_size", t.MaxBatchSize, "fp16", t.FP16, "kv_cache", t.KVCache)
		if t.MaxBatchSize > 0 && t.MaxBatchSize != batch {
			s.log.Warn("the plan's max_batch_size is not the configured batch size; the batch size wins (it must match the function's MaxConcurrency)",
				"max_batch_size", t.MaxBatchSize, "batch_size", batch)
		}
	}
	s.log.Info("engine", "engine", "synthetic", "batch_size", batch, "profile", s.cfg.Profile)
	return engine.NewSynthetic(m, s.clock, s.cfg.Name), nil
}

// openAIEngine forwards to the configured server. Of the tuning, kv_cache
// caps max_tokens and max_batch_size bounds the requests in flight; all
// three are logged as the vLLM flags the server should run with, since
// they are launch options there. The key is never logged.
func (s *Service) openAIEngine(t *preload.Tuning) (engine.Engine, error) {
	oc := engine.OpenAIConfig{BaseURL: s.cfg.OpenAIURL, APIKey: s.cfg.OpenAIKey, Model: s.cfg.Name}
	if t != nil {
		oc.MaxTokens, oc.MaxConcurrent = t.KVCache, t.MaxBatchSize
		s.log.Info("engine tuning", "engine", "openai", "max_batch_size", t.MaxBatchSize, "fp16", t.FP16, "kv_cache", t.KVCache,
			"applied", "max_tokens capped at kv_cache, in-flight requests bounded by max_batch_size",
			"server_launch_flags", strings.Join(engine.VLLMFlags(t.MaxBatchSize, t.FP16, t.KVCache), " "))
	}
	e, err := engine.NewOpenAI(oc)
	if err != nil {
		return nil, fmt.Errorf("modelserver: openai_url: %w", err)
	}
	shown := s.cfg.OpenAIURL
	if u, err := url.Parse(shown); err == nil {
		shown = u.Redacted()
	}
	s.log.Info("engine", "engine", "openai", "url", shown, "bearer_key", s.cfg.OpenAIKey != "", "model", s.cfg.Name)
	return e, nil
}

// hunyuanEngine calls the Hunyuan API; the tuning does not apply to a
// model the cloud runs, and is only logged.
func (s *Service) hunyuanEngine(t *preload.Tuning) (engine.Engine, error) {
	e, err := engine.NewHunyuan(engine.HunyuanConfig{Model: s.cfg.HunyuanModel, Region: s.cfg.HunyuanRegion,
		Endpoint: s.cfg.Endpoint, Credential: s.cfg.Credential})
	if err != nil {
		return nil, fmt.Errorf("modelserver: %w", err)
	}
	if t != nil {
		s.log.Info("engine tuning not applied", "engine", "hunyuan", "max_batch_size", t.MaxBatchSize, "fp16", t.FP16, "kv_cache", t.KVCache)
	}
	s.log.Info("engine", "engine", "hunyuan", "model", s.cfg.HunyuanModel, "region", s.cfg.HunyuanRegion, "endpoint", s.cfg.Endpoint.Host)
	return e, nil
}

// ErrLoading is the refusal of a request that arrived during the preload
// and waited ReadyWait in vain.
var ErrLoading = errors.New("model is loading")

// engineFor waits up to ReadyWait for the preload and returns the engine.
func (s *Service) engineFor(ctx context.Context) (engine.Engine, error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyWait)
	defer cancel()
	if s.cfg.ReadyWait <= 0 && !s.ready.Ready() {
		return nil, fmt.Errorf("modelserver: %w", ErrLoading)
	}
	_, err := s.ready.Wait(wctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("modelserver: %w (waited %s)", ErrLoading, s.cfg.ReadyWait)
	default:
		return nil, fmt.Errorf("modelserver: preload failed: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with status and an OpenAI error body.
func writeError(w http.ResponseWriter, status int, body chatreq.ErrorBody) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// Handler serves the OpenAI API: POST /v1/chat/completions (streamed as
// SSE when "stream" is true), GET /v1/models, and GET /healthz, which is
// 200 once the preload is done and 503 before (with the preload report
// once there is one).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		data := []map[string]any{}
		if s.cfg.Name != "" {
			data = append(data, map[string]any{"id": s.cfg.Name, "object": "model", "owned_by": "scfgate"})
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.statusCode(), s.Status())
	})
	return mux
}

// Status is the state the service reports: the preload's, and the
// engine's batch when it batches itself (the synthetic engine).
type Status struct {
	Ready   bool            `json:"ready"`
	Error   string          `json:"error,omitempty"`
	Preload *preload.Report `json:"preload,omitempty"`
	// Batch is the synthetic engine's batch size, running and queued
	// sequences.
	Batch *engine.BatchStats `json:"batch,omitempty"`
}

// batcher is an engine that reports its batch.
type batcher interface{ Stats() engine.BatchStats }

// Status reports the preload's and the batch's state without waiting.
func (s *Service) Status() Status {
	rep, done, err := s.ready.Outcome()
	if !done {
		return Status{}
	}
	st := Status{Ready: err == nil, Preload: &rep}
	if err != nil {
		st.Error = err.Error()
	}
	s.mu.Lock()
	b, ok := s.eng.(batcher)
	s.mu.Unlock()
	if ok {
		stats := b.Stats()
		st.Batch = &stats
	}
	return st
}

func (s *Service) statusCode() int {
	if s.Ready() {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

func (s *Service) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, chatreq.NewErrorBody("invalid_request_error", "reading the request body: "+err.Error(), "", ""))
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, chatreq.NewErrorBody("invalid_request_error",
			fmt.Sprintf("The request body is over %d bytes.", maxBody), "", "request_too_large"))
		return
	}
	req, rerr := engine.ParseChatRequest(body, s.cfg.Limits())
	if rerr != nil {
		writeError(w, http.StatusBadRequest, rerr.Body())
		return
	}
	eng, err := s.engineFor(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		writeError(w, http.StatusServiceUnavailable, chatreq.NewErrorBody("service_unavailable", err.Error(), "", "model_loading"))
		return
	}
	if !req.Stream {
		res, err := eng.Complete(r.Context(), req, nil)
		if err != nil {
			s.engineError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
		return
	}
	s.stream(w, r, eng, req)
}

// errorFor maps an engine error to its HTTP status and OpenAI body, and
// logs what is the server's fault.
func (s *Service) errorFor(err error) (int, chatreq.ErrorBody) {
	var re *chatreq.Error
	var ue *engine.UpstreamError
	switch {
	case errors.As(err, &re):
		return http.StatusBadRequest, re.Body()
	case errors.Is(err, engine.ErrBadRequest) && errors.As(err, &ue):
		// The upstream server refused the client's request: its words,
		// without the engine's.
		return http.StatusBadRequest, chatreq.NewErrorBody("invalid_request_error", ue.Message, ue.Param, "")
	case errors.Is(err, engine.ErrBadRequest):
		return http.StatusBadRequest, chatreq.NewErrorBody("invalid_request_error", err.Error(), "", "")
	case errors.Is(err, engine.ErrUnavailable):
		s.log.Warn("engine unavailable", "err", err)
		return http.StatusServiceUnavailable, chatreq.NewErrorBody("service_unavailable", err.Error(), "", "engine_unavailable")
	case errors.As(err, new(*engine.UpstreamError)):
		s.log.Error("engine upstream", "err", err)
		return http.StatusBadGateway, chatreq.NewErrorBody("upstream_error", err.Error(), "", "")
	}
	s.log.Error("engine", "err", err)
	return http.StatusInternalServerError, chatreq.NewErrorBody("server_error", err.Error(), "", "")
}

func (s *Service) engineError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && !errors.Is(err, engine.ErrBadRequest) {
		return // the client is gone
	}
	status, body := s.errorFor(err)
	writeError(w, status, body)
}

// HandleEvent is the event function's handler. It takes an API Gateway or
// Function URL event (answered through Handler as an integration
// response), {"scfgate":"status"} (answered with Status), or an OpenAI
// chat completions request (answered with the completion JSON, or with
// OpenAI's error body when the request is invalid; "stream" is ignored, an
// event function cannot stream).
func (s *Service) HandleEvent(ctx context.Context, event json.RawMessage) (any, error) {
	var probe struct {
		HTTPMethod *string `json:"httpMethod"`
		SCFGate    string  `json:"scfgate"`
	}
	if err := json.Unmarshal(event, &probe); err != nil {
		return nil, fmt.Errorf("modelserver: event is not a JSON object: %w", err)
	}
	switch {
	case probe.HTTPMethod != nil:
		return s.httpEvent(ctx, event)
	case probe.SCFGate == "status":
		return s.Status(), nil
	}
	req, rerr := engine.ParseChatRequest(event, s.cfg.Limits())
	req.Stream, req.StreamOptions = false, nil
	if rerr != nil {
		// The client's mistake is an answer, not a function error: the
		// gateway reads OpenAI's error body as a 400 that it neither
		// retries nor counts against this function.
		return rerr.Body(), nil
	}
	eng, err := s.engineFor(ctx)
	if err != nil {
		return nil, err
	}
	res, err := eng.Complete(ctx, req, nil)
	if err != nil {
		return nil, fmt.Errorf("modelserver: %w", err)
	}
	return res, nil
}

// httpEvent runs an API Gateway / Function URL event through Handler.
func (s *Service) httpEvent(ctx context.Context, event json.RawMessage) (events.APIGatewayResponse, error) {
	resp, err := scfevent.Adapter{Handler: s.Handler()}.Serve(ctx, event)
	if err != nil {
		return events.APIGatewayResponse{}, fmt.Errorf("modelfn: http event: %w", err)
	}
	return events.APIGatewayResponse(*resp), nil // the same fields, as scf-go-lib encodes them
}
