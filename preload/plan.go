// Package preload loads a model's files before the model function takes
// traffic: a declarative plan of ordered stages, each a set of files (globs
// allowed) read with bounded parallelism from a source (a local directory
// such as a CFS mount, or HTTP(S) with parallel range requests), verified
// against optional sha256 sums, and either copied into a directory or
// warmed in place through the page cache. Stages run one after another;
// the first error cancels the stage, names the file and stops the plan.
// Readiness flips only after every stage has been loaded and verified.
//
// The package reads no environment and no global clock in its logic: the
// caller hands it a plan, a source, a destination and options.
package preload

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxParallel bounds a stage's parallelism.
const MaxParallel = 256

// Plan is an ordered list of stages.
type Plan struct {
	Stages []Stage `yaml:"stages" json:"stages"`
}

// Stage is one step of a plan.
type Stage struct {
	// Name identifies the stage in reports and errors; required, unique.
	Name string `yaml:"name" json:"name"`
	// Files are file names or path.Match globs relative to the source's
	// root ("transformer_block_*.bin"). Every pattern must match at least
	// one file. Empty for a stage that only carries Tuning.
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// Parallel is how many reads run at once in this stage; 0 means 1.
	Parallel int `yaml:"parallel,omitempty" json:"parallel,omitempty"`
	// SHA256 maps a file name (as resolved from Files) to its hex sha256;
	// files without an entry are not verified.
	SHA256 map[string]string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	// Tuning, when set, is handed to the inference engine once the plan
	// has completed (the seed's stage 3, runtime tuning).
	Tuning *Tuning `yaml:"tuning,omitempty" json:"tuning,omitempty"`
}

// Tuning is the engine's runtime tuning.
type Tuning struct {
	// MaxBatchSize is how many sequences the engine decodes together;
	// 0 means the engine's default.
	MaxBatchSize int `yaml:"max_batch_size" json:"max_batch_size"`
	// FP16 runs the model in half precision.
	FP16 bool `yaml:"fp16" json:"fp16"`
	// KVCache is the KV cache size in tokens per sequence; 0 means the
	// engine's default.
	KVCache int `yaml:"kv_cache" json:"kv_cache"`
}

// ErrInvalidPlan marks plan errors; the message names the field.
var ErrInvalidPlan = errors.New("preload: invalid plan")

// SeedPlanYAML is the seed's three-stage plan: stage 1 the base runtime
// and the embedding layer, stage 2 the transformer blocks four at a time,
// stage 3 the runtime tuning handed to the engine.
const SeedPlanYAML = `# The seed's preload: base environment, then transformer blocks, then tuning.
stages:
  - name: base
    files: ["runtime/*", "embedding_layer.bin"]
    parallel: 2
  - name: transformer
    files: ["transformer_block_*.bin"]
    parallel: 4
  - name: tuning
    tuning:
      max_batch_size: 8
      fp16: true
      kv_cache: 2048
`

// SeedPlan returns the parsed SeedPlanYAML.
func SeedPlan() Plan {
	p, err := ParsePlan([]byte(SeedPlanYAML))
	if err != nil {
		panic(err)
	}
	return p
}

// ParsePlan decodes a plan from YAML or JSON (JSON is YAML) and validates
// it. Unknown fields are errors.
func ParsePlan(data []byte) (Plan, error) {
	var p Plan
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Plan{}, fmt.Errorf("%w: %v", ErrInvalidPlan, err)
	}
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// LoadPlan reads and parses a plan file.
func LoadPlan(file string) (Plan, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Plan{}, fmt.Errorf("preload: plan: %w", err)
	}
	p, err := ParsePlan(b)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidPlan, field, fmt.Sprintf(format, args...))
}

// Validate checks the plan; the error names the first bad field, e.g.
// "stages[1].parallel: -1: want 0..256".
func (p Plan) Validate() error {
	if len(p.Stages) == 0 {
		return invalid("stages", "empty: want at least one stage")
	}
	names := map[string]bool{}
	tunings := 0
	for i, s := range p.Stages {
		f := fmt.Sprintf("stages[%d]", i)
		if strings.TrimSpace(s.Name) == "" {
			return invalid(f+".name", "empty")
		}
		if names[s.Name] {
			return invalid(f+".name", "%q used by an earlier stage", s.Name)
		}
		names[s.Name] = true
		if s.Parallel < 0 || s.Parallel > MaxParallel {
			return invalid(f+".parallel", "%d: want 0..%d", s.Parallel, MaxParallel)
		}
		if len(s.Files) == 0 && s.Tuning == nil {
			return invalid(f+".files", "empty: a stage loads files or carries tuning")
		}
		for j, pat := range s.Files {
			ff := fmt.Sprintf("%s.files[%d]", f, j)
			if pat == "" {
				return invalid(ff, "empty")
			}
			if _, err := path.Match(pat, ""); err != nil {
				return invalid(ff, "%q: %v", pat, err)
			}
			if path.IsAbs(pat) || strings.HasPrefix(path.Clean(pat), "..") {
				return invalid(ff, "%q: want a path inside the source", pat)
			}
		}
		for name, sum := range s.SHA256 {
			b, err := hex.DecodeString(sum)
			if err != nil || len(b) != 32 {
				return invalid(fmt.Sprintf("%s.sha256[%q]", f, name), "%q: want 64 hex digits", sum)
			}
		}
		if t := s.Tuning; t != nil {
			tunings++
			if tunings > 1 {
				return invalid(f+".tuning", "only one stage may carry tuning")
			}
			if t.MaxBatchSize < 0 || t.MaxBatchSize > 1024 {
				return invalid(f+".tuning.max_batch_size", "%d: want 0..1024", t.MaxBatchSize)
			}
			if t.KVCache < 0 {
				return invalid(f+".tuning.kv_cache", "%d: want 0 or more", t.KVCache)
			}
		}
	}
	return nil
}

// Tuning returns the plan's tuning block, nil when it has none.
func (p Plan) Tuning() *Tuning {
	for _, s := range p.Stages {
		if s.Tuning != nil {
			t := *s.Tuning
			return &t
		}
	}
	return nil
}
