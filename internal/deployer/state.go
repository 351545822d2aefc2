package deployer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scfgate/scfgate/internal/pack"
	"github.com/scfgate/scfgate/internal/tencentcloud"
	"github.com/scfgate/scfgate/localcloud/runtime"
	"github.com/scfgate/scfgate/localcloud/topology"
)

// Config is a function's configuration as SCF stores it ($LATEST): what
// [Plan] compares, field by field.
type Config struct {
	Type           string // "Event" or "HTTP" (web function)
	Runtime        string
	Handler        string // event functions only
	Description    string
	Role           string // role name
	MemoryMB       int
	TimeoutS       int
	InitTimeoutS   int
	Env            map[string]string
	MaxConcurrency int // InstanceConcurrencyConfig.MaxConcurrency; 0: none
}

// Trigger is one trigger as [Plan] compares it.
type Trigger struct {
	Type      string // "timer" or "http" (Function URL)
	Name      string
	Qualifier string
	// Desc is the creation TriggerDesc: the cron expression of a timer,
	// the {"AuthType","NetConfig"} JSON of a Function URL.
	Desc     string
	Enable   bool
	Argument string // timer CustomArgument
}

// key identifies a trigger: SCF names are unique per function and type.
func (t Trigger) key() string { return t.Type + "/" + t.Name }

// Desired is one function as the project describes it.
type Desired struct {
	Namespace, Name, Region string
	Instance                string // component instance name, for messages
	Config                  Config
	Code                    []byte // the zip
	CodeSHA256              string // hex SHA-256 of Code
	Triggers                []Trigger
	// Alias is the alias the deploy moves; Provisioned the initial
	// provisioned concurrency of each new version (inputs.provisionedNum).
	Alias       string
	Provisioned int
	// Warnings are things that deploy but may not be what was meant.
	Warnings []string
}

// Current is what SCF has of one function.
type Current struct {
	Exists bool
	Config Config
	// CodeSHA256 is the deployed zip's hash (hex), "" when unknown.
	CodeSHA256 string
	Triggers   []Trigger
	// AliasVersion is the version the alias points at, "" when the alias
	// does not exist; Provisioned is that version's provisioned
	// concurrency (allocated), 0 for none.
	AliasVersion string
	Provisioned  int
}

// FromProject builds the desired state of every function of p: each
// function's code is its inputs.src folder zipped reproducibly. alias is
// the alias to move ("" means [DefaultAlias]).
func FromProject(p *topology.Project, alias string) ([]Desired, error) {
	if alias == "" {
		alias = DefaultAlias
	}
	var out []Desired
	for _, fn := range p.Functions {
		d, err := fromFunction(p, fn, alias)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DefaultAlias is the alias a deploy moves unless told otherwise.
const DefaultAlias = "live"

func fromFunction(p *topology.Project, fn topology.Function, alias string) (Desired, error) {
	s := fn.Spec
	d := Desired{
		Namespace: s.Namespace, Name: s.Name, Region: s.Region, Instance: fn.Instance,
		Alias: alias, Provisioned: fn.ProvisionedNum,
	}
	if d.Namespace == "" {
		d.Namespace = "default"
	}
	typ := string(s.Type)
	if typ == "" {
		typ = string(runtime.EventFunction)
	}
	init := s.InitTimeout
	if init == 0 {
		init = 65e9
	}
	d.Config = Config{
		Type: typ, Runtime: s.Runtime, Description: s.Description,
		MemoryMB: max(s.MemoryMB, 128), TimeoutS: int(s.Timeout.Seconds()), InitTimeoutS: int(init.Seconds()),
		Env: maps.Clone(s.Environment), MaxConcurrency: s.MaxConcurrency,
	}
	if d.Config.MemoryMB == 128 && s.MemoryMB == 64 {
		d.Config.MemoryMB = 64
	}
	if typ == string(runtime.EventFunction) {
		d.Config.Handler = s.Handler
	}
	if d.Config.MaxConcurrency == 1 {
		d.Config.MaxConcurrency = 0
	}
	role, err := readRole(fn, p)
	if err != nil {
		return Desired{}, err
	}
	d.Config.Role = role
	if fn.Qualifier != "" {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: inputs.qualifier %s is ignored by scfgate deploy: provisioned concurrency goes on the version it publishes, behind alias %s", fn.File, fn.Qualifier, alias))
	}
	for _, t := range fn.Timers {
		d.Triggers = append(d.Triggers, Trigger{Type: "timer", Name: t.Name, Qualifier: t.Qualifier, Desc: t.Cron, Enable: t.Enabled, Argument: t.Argument})
	}
	for _, h := range fn.HTTP {
		if h.Kind != topology.KindHTTP {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %s trigger %s skipped: SCF refuses new API Gateway triggers; use a Function URL (events: - http)", fn.File, h.Kind, h.Name))
			continue
		}
		var desc tencentcloud.FunctionURLTrigger
		desc.AuthType = h.AuthType
		desc.NetConfig.EnableExtranet = h.EnableExtranet
		desc.NetConfig.EnableIntranet = h.EnableIntranet
		b, _ := json.Marshal(desc)
		d.Triggers = append(d.Triggers, Trigger{Type: tencentcloud.FunctionURLTriggerType, Name: h.Name, Qualifier: h.Qualifier, Desc: string(b), Enable: true})
	}
	for _, t := range d.Triggers {
		if t.Qualifier != alias {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %s trigger %s invokes %s, not alias %s: its traffic does not reach the version the deploy publishes and provisions", fn.File, t.Type, t.Name, t.Qualifier, alias))
		}
	}
	d.Code, err = zipDir(s.CodeDir)
	if err != nil {
		return Desired{}, fmt.Errorf("deployer: %s: inputs.src: %w", fn.File, err)
	}
	sum := sha256.Sum256(d.Code)
	d.CodeSHA256 = hex.EncodeToString(sum[:])
	return d, nil
}

// readRole reads inputs.role, which topology does not carry, resolving
// the platform variables ${name}, ${stage} and ${app}.
func readRole(fn topology.Function, p *topology.Project) (string, error) {
	b, err := os.ReadFile(fn.File)
	if err != nil {
		return "", fmt.Errorf("deployer: %w", err)
	}
	var doc struct {
		Inputs struct {
			Role string `yaml:"role"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("deployer: %s: %w", fn.File, err)
	}
	role := strings.NewReplacer("${name}", fn.Instance, "${stage}", p.Stage, "${app}", p.App).Replace(doc.Inputs.Role)
	if strings.Contains(role, "${") {
		return "", fmt.Errorf("deployer: %s: inputs.role %q: only ${name}, ${stage} and ${app} can be used in a role", fn.File, doc.Inputs.Role)
	}
	return role, nil
}

// MaxZipBytes is the largest zip sent inline (ZipFile, base64): the
// whole API request must stay within API 3.0's 10 MB body limit (which
// localcloud enforces too), although UpdateFunctionCode's page allows 20
// MB (583/18581). Larger code goes through COS, which this deployer does
// not do yet. Strip the binary (-ldflags "-s -w", as make functions and
// internal/pack do) to stay below it.
const MaxZipBytes = (10<<20 - 64<<10) / 4 * 3

// zipDir zips every regular file of dir (not recursive: SCF's Go
// packages are flat), sorted by name, executables 0755 and the rest 0644,
// with pack's fixed times: the same folder gives the same bytes.
func zipDir(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (build the function first: make functions)", err)
	}
	var files []pack.File
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, pack.File{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Mode: mode})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s is empty (build the function first: make functions)", dir)
	}
	slices.SortFunc(files, func(a, b pack.File) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	if err := pack.Zip(&buf, files); err != nil {
		return nil, err
	}
	if buf.Len() > MaxZipBytes {
		return nil, fmt.Errorf("%s zips to %d bytes, more than the %d an API request carries inline (strip the binary with -ldflags \"-s -w\", or upload through COS)", dir, buf.Len(), MaxZipBytes)
	}
	return buf.Bytes(), nil
}
