package topology

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scfgate/scfgate/localcloud/runtime"
)

// inputKeys are the scf component's inputs: those its docs/configure.md
// documents, those its src/*.js read, and those tencent-component-toolkit
// passes on to the SCF API.
var inputKeys = []string{
	"src", "type", "name", "namespace", "handler", "entryFile", "role", "runtime", "region",
	"description", "memorySize", "timeout", "initTimeout", "eip", "publicAccess", "environment",
	"vpcConfig", "layers", "deadLetter", "cls", "asyncRunEnable", "traceEnable", "msgTTL",
	"retryNum", "installDependency", "tags", "cfs", "ignoreTriggers", "events", "image",
	"protocolType", "protocolParams", "provisionedNum", "qualifier", "traffic", "aliasName",
	"aliasDescription", "publish", "lastVersion", "autoCreateApi", "l5Enable", "diskSize",
	"nodeType", "nodeSpec", "instanceConcurrencyConfig",
}

// boolInputs are inputs the component's schema types as booleans.
var boolInputs = []string{
	"eip", "publicAccess", "asyncRunEnable", "traceEnable", "installDependency",
	"ignoreTriggers", "autoCreateApi", "l5Enable", "publish",
}

// runtimes is the component's allow list (serverless.component.yml).
var runtimes = []string{
	"Python2.7", "Python3.6", "Python3.7",
	"Nodejs6.10", "Nodejs8.9", "Nodejs10.15", "Nodejs12.16", "Nodejs14.18", "Nodejs16.13",
	"Php5", "Php7", "Php7.4", "Php8.0",
	"Go1", "Java8", "Java11", "CustomRuntime",
}

// localRuntimes are those whose code is a native executable, which is all
// the runtime host can start.
var localRuntimes = []string{"Go1", "CustomRuntime"}

// Trigger types the component accepts (its CONFIGS.triggerTypes plus the
// Function URL of newer registry versions).
var triggerTypes = []string{"timer", "http", "apigw", "cos", "cmq", "ckafka", "cls", "mps", "clb"}

var (
	functionNameRE = regexp.MustCompile(`^[A-Za-z][\w-]{0,58}[A-Za-z0-9]$`)
	envNameRE      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{1,63}$`)
	serviceNameRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9(_)]{0,48}[a-zA-Z0-9]?$`)
)

// Limits from the component schema and SCF's quota page (583/11637).
const (
	minTimeout, maxTimeout         = 1, 900
	minInitTimeout, maxInitTimeout = 3, 300
	maxEnvBytes                    = 4096
	maxArgumentBytes               = 4096
	maxDescription                 = 1000
	maxLayers                      = 5
	// SCF's init timeout when none is configured; the component sends
	// initTimeout only when it is set.
	defaultInitTimeout = 65 * time.Second
	defaultQualifier   = "$DEFAULT"
)

func memoryAllowed(mb int64) bool {
	return mb == 64 || (mb >= 128 && mb <= 3072 && mb%128 == 0)
}

const memoryAllowedText = "64, or 128 to 3072 in steps of 128"

// function reads inputs into fn.
func (c *checker) function(fn *Function, in *node, dir string, meta *fileMeta) {
	c.checkKeys(in, "inputs", inputKeys, "the scf component ignores unknown inputs, so it would deploy without them")
	spec := &fn.Spec

	n, l := field(in, "name")
	if s, ok := c.str(n, l, "inputs.name"); ok && s != "" {
		spec.Name = s
		if !functionNameRE.MatchString(s) {
			c.failf(lineOf(n, l), "inputs.name", "%q is not a valid SCF function name: 2 to 60 letters, digits, _ and -, starting with a letter and ending with a letter or digit (%s)", s, functionNameRE)
		}
	} else {
		spec.Name = fmt.Sprintf("%s-%s-%s", fn.Instance, meta.stage, meta.app)
		if fn.Instance != "" && !functionNameRE.MatchString(spec.Name) {
			c.failf(l, "inputs.name", "not set, and the default ${name}-${stage}-${app} = %q is not a valid SCF function name: 2 to 60 letters, digits, _ and -, starting with a letter and ending with a letter or digit (%s); set inputs.name", spec.Name, functionNameRE)
		}
	}

	spec.Namespace = "default"
	if n, l := field(in, "namespace"); !n.absent() {
		if s, ok := c.str(n, l, "inputs.namespace"); ok && s != "" {
			spec.Namespace = s
		}
	}

	spec.Type = runtime.EventFunction
	if n, l := field(in, "type"); !n.absent() {
		switch s, _ := c.str(n, l, "inputs.type"); s {
		case "event", "":
		case "web":
			spec.Type = runtime.WebFunction
		default:
			c.failf(lineOf(n, l), "inputs.type", "%q is not a function type; allowed: event, web", s)
		}
	}
	web := spec.Type == runtime.WebFunction

	n, l = field(in, "runtime")
	if rt, ok := c.str(n, l, "inputs.runtime"); !ok || rt == "" {
		c.failf(l, "inputs.runtime", "not set: the scf component then deploys Nodejs10.15, which localcloud cannot run; set runtime: Go1 (or CustomRuntime)")
	} else {
		spec.Runtime = rt
		switch {
		case !slices.Contains(runtimes, rt):
			c.failf(lineOf(n, l), "inputs.runtime", "%q is not a runtime the scf component accepts; allowed: %s", rt, strings.Join(runtimes, ", "))
		case !slices.Contains(localRuntimes, rt):
			c.failf(lineOf(n, l), "inputs.runtime", "%q deploys to SCF, but localcloud cannot run it: it runs only native executables, runtime Go1 or CustomRuntime", rt)
		}
	}

	spec.Handler = "index.main_handler" // the component's default for every runtime but Go and Java
	if spec.Runtime == "Go1" {
		spec.Handler = "main"
	}
	if n, l := field(in, "handler"); !n.absent() {
		if s, ok := c.str(n, l, "inputs.handler"); ok && s != "" {
			spec.Handler = s
		}
	}

	c.src(spec, in, dir)
	if n, l := field(in, "image"); !n.absent() {
		c.failf(lineOf(n, l), "inputs.image", "image-based functions cannot run in localcloud, which runs the code folder in inputs.src")
	}

	spec.Region = "ap-guangzhou"
	if n, l := field(in, "region"); !n.absent() {
		if s, ok := c.str(n, l, "inputs.region"); ok && s != "" {
			spec.Region = s
		}
	}

	spec.Description = fmt.Sprintf("This is a function in %s application", meta.app)
	if n, l := field(in, "description"); !n.absent() {
		if s, ok := c.str(n, l, "inputs.description"); ok && s != "" {
			spec.Description = s
			if utf8.RuneCountInString(s) > maxDescription {
				c.failf(lineOf(n, l), "inputs.description", "%d characters; allowed: at most %d", utf8.RuneCountInString(s), maxDescription)
			}
		}
	}

	spec.MemoryMB = 128
	if n, l := field(in, "memorySize"); !n.absent() {
		if v, ok := c.integer(n, l, "inputs.memorySize"); ok {
			if memoryAllowed(v) {
				spec.MemoryMB = int(v)
			} else {
				c.failf(lineOf(n, l), "inputs.memorySize", "%d MB is not allowed; allowed: %s", v, memoryAllowedText)
			}
		}
	}

	spec.Timeout = 3 * time.Second
	if n, l := field(in, "timeout"); !n.absent() {
		if v, ok := c.integer(n, l, "inputs.timeout"); ok {
			if v >= minTimeout && v <= maxTimeout {
				spec.Timeout = time.Duration(v) * time.Second
			} else {
				c.failf(lineOf(n, l), "inputs.timeout", "%d s is not allowed; allowed: %d to %d seconds", v, minTimeout, maxTimeout)
			}
		}
	}

	spec.InitTimeout = defaultInitTimeout
	if n, l := field(in, "initTimeout"); !n.absent() {
		if v, ok := c.integer(n, l, "inputs.initTimeout"); ok {
			if v >= minInitTimeout && v <= maxInitTimeout {
				spec.InitTimeout = time.Duration(v) * time.Second
			} else {
				c.failf(lineOf(n, l), "inputs.initTimeout", "%d s is not allowed; allowed: %d to %d seconds", v, minInitTimeout, maxInitTimeout)
			}
		}
	}

	c.environment(spec, in)

	for _, k := range boolInputs {
		n, l := field(in, k)
		c.boolean(n, l, "inputs."+k)
	}
	if n, l := field(in, "layers"); !n.absent() {
		if s, ok := c.sequence(n, l, "inputs.layers"); ok && len(s.items) > maxLayers {
			c.failf(lineOf(n, l), "inputs.layers", "%d layers; allowed: at most %d", len(s.items), maxLayers)
		}
	}
	if n, l := field(in, "traffic"); !n.absent() {
		if v, ok := c.number(n, l, "inputs.traffic"); ok && (v < 0 || v > 1) {
			c.failf(lineOf(n, l), "inputs.traffic", "%v is not allowed; allowed: 0 to 1 (the share of $LATEST)", v)
		}
	}

	c.instanceConcurrency(spec, in, web)
	c.provisioned(fn, in)
	c.events(fn, in, meta, web)
}

// instanceConcurrency reads inputs.instanceConcurrencyConfig {enable,
// dynamicEnabled, maxConcurrency}: request multi-concurrency, which the
// toolkit passes on as InstanceConcurrencyConfig for web functions only.
// Assumed toolkit behaviour (its code is not in the component's docs): the
// setting reaches SCF only with enable: true, as DynamicEnabled
// "TRUE"/"FALSE" and MaxConcurrency.
//
// Dynamic concurrency lets SCF lower an instance's concurrency below
// maxConcurrency while the instance's CPU or memory run high. localcloud
// does not model instance load, so it runs dynamicEnabled: true as static
// concurrency at maxConcurrency (the most the cloud would allow) and says
// so in a warning: the local run is then as optimistic as the cloud can
// be, never more.
func (c *checker) instanceConcurrency(spec *runtime.FunctionSpec, in *node, web bool) {
	const path = "inputs.instanceConcurrencyConfig"
	n, l := field(in, "instanceConcurrencyConfig")
	cfg, ok := c.mapping(n, l, path)
	if !ok {
		return
	}
	c.checkKeys(cfg, path, []string{"enable", "dynamicEnabled", "maxConcurrency"}, "")
	if !web {
		c.failf(lineOf(cfg, l), path, "request multi-concurrency is for web functions only; set inputs.type: web or remove it")
		return
	}
	en, el := field(cfg, "enable")
	enabled, _ := c.boolean(en, el, path+".enable")
	dn, dl := field(cfg, "dynamicEnabled")
	dynamic, _ := c.boolean(dn, dl, path+".dynamicEnabled")
	mn, ml := field(cfg, "maxConcurrency")
	maxc, hasMax := c.integer(mn, ml, path+".maxConcurrency")
	if hasMax && (maxc < 1 || maxc > runtime.MaxInstanceConcurrency) {
		c.failf(lineOf(mn, ml), path+".maxConcurrency", "%d is not allowed; allowed: 1 to %d requests per instance", maxc, runtime.MaxInstanceConcurrency)
		return
	}
	if !enabled {
		if en.absent() {
			c.warnf(path+".enable", "not set: the toolkit then sends no InstanceConcurrencyConfig and each instance serves one request; set enable: true")
		}
		return
	}
	if !hasMax {
		if mn.absent() {
			c.failf(lineOf(cfg, l), path+".maxConcurrency", "required with enable: true; allowed: 1 to %d requests per instance", runtime.MaxInstanceConcurrency)
		}
		return
	}
	if dynamic {
		c.warnf(path+".dynamicEnabled", "true: SCF would lower each instance's concurrency below maxConcurrency %d while the instance is loaded; localcloud does not emulate that and serves up to %d requests per instance (static); set dynamicEnabled: false to deploy what localcloud runs", maxc, maxc)
	}
	spec.MaxConcurrency = int(maxc)
}

// src reads inputs.src: a folder, or {src: folder, exclude: [...]}.
func (c *checker) src(spec *runtime.FunctionSpec, in *node, dir string) {
	n, l := field(in, "src")
	if n.absent() {
		c.failf(l, "inputs.src", "required: the folder holding the built code (e.g. src: ./dist); without it the component deploys its Node.js demo")
		return
	}
	switch n.kind {
	case scalarKind:
		if s, ok := c.str(n, l, "inputs.src"); ok && s != "" {
			spec.CodeDir = resolveSrc(dir, s)
		} else if ok {
			c.failf(lineOf(n, l), "inputs.src", "must not be empty: the folder holding the built code (e.g. src: ./dist)")
		}
		return
	case seqKind:
		c.failf(lineOf(n, l), "inputs.src", "must be a folder path or a mapping {src, exclude}, not a list")
		return
	}
	c.checkKeys(n, "inputs.src", []string{"src", "exclude", "bucket", "object", "dist"}, "")
	if ex, exl := field(n, "exclude"); !ex.absent() {
		if s, ok := c.sequence(ex, exl, "inputs.src.exclude"); ok {
			for i, it := range s.items {
				c.str(it, exl, fmt.Sprintf("inputs.src.exclude[%d]", i))
			}
		}
	}
	s, sl := field(n, "src")
	if s.absent() {
		if obj, ol := field(n, "object"); !obj.absent() {
			c.failf(lineOf(obj, ol), "inputs.src.object", "code stored in COS cannot run in localcloud; use src: {src: <folder>}")
			return
		}
		c.failf(sl, "inputs.src.src", "required: the folder holding the built code")
		return
	}
	if p, ok := c.str(s, sl, "inputs.src.src"); ok && p != "" {
		spec.CodeDir = resolveSrc(dir, p)
	} else if ok {
		c.failf(lineOf(s, sl), "inputs.src.src", "must not be empty: the folder holding the built code")
	}
}

// environment reads inputs.environment.variables. Values are stringified
// as the toolkit does ({Key, Value: String(val)}).
func (c *checker) environment(spec *runtime.FunctionSpec, in *node) {
	n, l := field(in, "environment")
	env, ok := c.mapping(n, l, "inputs.environment")
	if !ok {
		return
	}
	c.checkKeys(env, "inputs.environment", []string{"variables"}, "")
	vn, vl := field(env, "variables")
	vars, ok := c.mapping(vn, vl, "inputs.environment.variables")
	if !ok {
		return
	}
	spec.Environment = map[string]string{}
	total := 0
	for _, e := range vars.entries {
		path := "inputs.environment.variables." + e.key
		if !envNameRE.MatchString(e.key) {
			c.failf(e.line, path, "%q is not a valid environment variable name: 2 to 64 letters, digits and _, starting with a letter (%s)", e.key, envNameRE)
		}
		v := e.val
		if v.unset {
			continue // undefined: the CLI drops the key
		}
		if v.kind != scalarKind {
			c.failf(lineOf(v, e.line), path, "must be a string, number or boolean, not a %s", kindName(v))
			continue
		}
		if v.tag == "!!null" {
			c.warnf(path, "has no value; SCF receives the string \"null\" (write \"\" for an empty value)")
		}
		s := v.jsString()
		spec.Environment[e.key] = s
		total += len(e.key) + 1 + len(s)
	}
	if total > maxEnvBytes {
		c.failf(lineOf(vars, vl), "inputs.environment.variables", "%d bytes in total (KEY=VALUE) is over SCF's limit; allowed: at most %d bytes (4 KB)", total, maxEnvBytes)
	}
}

// provisioned reads inputs.provisionedNum and inputs.qualifier.
func (c *checker) provisioned(fn *Function, in *node) {
	if n, l := field(in, "qualifier"); !n.absent() {
		if s, ok := c.str(n, l, "inputs.qualifier"); ok {
			fn.Qualifier = s
		}
	}
	n, l := field(in, "provisionedNum")
	if n.absent() {
		return
	}
	v, ok := c.integer(n, l, "inputs.provisionedNum")
	if !ok {
		return
	}
	if v < 0 || v > 1<<20 {
		c.failf(lineOf(n, l), "inputs.provisionedNum", "%d is not allowed; allowed: 0 or more (and at most the account's concurrency quota)", v)
		return
	}
	fn.ProvisionedNum = int(v)
	switch {
	case v > 0 && fn.Qualifier == runtime.LatestVersion:
		c.failf(lineOf(n, l), "inputs.qualifier", "$LATEST cannot have provisioned concurrency; allowed: a published version number")
	case v > 0 && fn.Qualifier == "":
		c.warnf("inputs.provisionedNum", "no inputs.qualifier: every sls deploy publishes a new version and puts %d provisioned instances on it", v)
	}
}

// events reads inputs.events (and autoCreateApi / ignoreTriggers).
func (c *checker) events(fn *Function, in *node, meta *fileMeta, web bool) {
	n, l := field(in, "events")
	list, _ := c.sequence(n, l, "inputs.events")
	timerNames := map[string]bool{}
	hasAPIGW := false
	var items []*node
	if list != nil {
		items = list.items
	}
	for i, it := range items {
		path := fmt.Sprintf("inputs.events[%d]", i)
		line := lineOf(it, l)
		if it.kind != mapKind || len(it.entries) == 0 {
			c.failf(line, path, "must be a mapping with the trigger type as its key, e.g. - timer: {parameters: {cronExpression: ...}}")
			continue
		}
		if len(it.entries) > 1 {
			keys := make([]string, len(it.entries))
			for j, e := range it.entries {
				keys[j] = e.key
			}
			c.failf(line, path, "has keys %s; one trigger per list item (the component reads only the first key)", quoteList(keys))
			continue
		}
		typ, body := it.entries[0].key, it.entries[0].val
		line = it.entries[0].line
		if !slices.Contains(triggerTypes, typ) {
			c.failf(line, path, "unknown trigger type %q; allowed: %s", typ, strings.Join(triggerTypes, ", "))
			continue
		}
		path += "." + typ
		if body.absent() {
			body = &node{kind: mapKind, line: line}
		}
		if body.kind != mapKind {
			c.failf(lineOf(body, line), path, "must be a mapping {name, parameters}, not %s", describe(body))
			continue
		}
		c.checkKeys(body, path, []string{"name", "parameters"}, "")
		var name string
		if nn, nl := field(body, "name"); !nn.absent() {
			name, _ = c.str(nn, nl, path+".name")
		}
		pn, pl := field(body, "parameters")
		params, _ := c.mapping(pn, pl, path+".parameters")
		if params == nil {
			params = &node{kind: mapKind, line: line}
		}
		ppath := path + ".parameters"
		if web && typ != KindHTTP && typ != KindAPIGW {
			c.failf(line, path, "web functions (inputs.type: web) accept only http and apigw triggers")
			continue
		}
		switch typ {
		case "timer":
			t := c.timer(params, ppath, name, fn, meta)
			if t == nil {
				continue
			}
			if timerNames[t.Name] {
				c.failf(line, ppath+".name", "timer name %q is used twice; SCF trigger names must be unique per function", t.Name)
			}
			timerNames[t.Name] = true
			fn.Timers = append(fn.Timers, *t)
		case KindHTTP:
			fn.HTTP = append(fn.HTTP, c.functionURL(params, ppath))
		case KindAPIGW:
			hasAPIGW = true
			if name == "" {
				name = fmt.Sprintf("apigw-%s-%s", fn.Instance, meta.stage)
			}
			fn.HTTP = append(fn.HTTP, c.apigw(params, ppath, name))
		default:
			c.warnf(path, "%s triggers are accepted by SCF but not emulated by localcloud; the function runs without it", typ)
		}
	}

	if n, _ := field(in, "autoCreateApi"); !n.absent() {
		if isTrue(n) && !hasAPIGW {
			c.warnf("inputs.autoCreateApi", "adds an API Gateway trigger on / (ANY); SCF no longer lets anyone create apigw triggers (since 2024-07-01)")
			fn.HTTP = append(fn.HTTP, HTTPTrigger{Kind: KindAPIGW, Name: fmt.Sprintf("apigw-%s-%s", fn.Instance, meta.stage), Qualifier: defaultQualifier,
				Paths: []APIGWEndpoint{{Path: "/", Method: "ANY", Qualifier: defaultQualifier}}})
		}
	}
	if n, _ := field(in, "ignoreTriggers"); !n.absent() {
		if isTrue(n) && (len(fn.Timers) > 0 || len(fn.HTTP) > 0) {
			c.warnf("inputs.ignoreTriggers", "true: sls deploy leaves the function's triggers as they are in the cloud, so localcloud runs it without the triggers in inputs.events")
			fn.Timers, fn.HTTP = nil, nil
		}
	}
}

func (c *checker) timer(p *node, path, eventName string, fn *Function, meta *fileMeta) *Timer {
	c.checkKeys(p, path, []string{"name", "qualifier", "cronExpression", "enable", "argument"}, "")
	t := &Timer{Qualifier: defaultQualifier}
	if n, l := field(p, "name"); !n.absent() {
		t.Name, _ = c.str(n, l, path+".name")
	}
	if t.Name == "" {
		t.Name = eventName
	}
	if t.Name == "" {
		t.Name = fmt.Sprintf("timer-%s-%s", fn.Instance, meta.stage)
	}
	if n, l := field(p, "qualifier"); !n.absent() {
		if s, ok := c.str(n, l, path+".qualifier"); ok && s != "" {
			t.Qualifier = s
		}
	}
	n, l := field(p, "cronExpression")
	cron, ok := c.str(n, l, path+".cronExpression")
	if !ok || strings.TrimSpace(cron) == "" {
		c.failf(l, path+".cronExpression", "required: a 7-field cron expression, sec min hour day month week year (e.g. '0 */1 * * * * *')")
		return nil
	}
	if f := strings.Fields(cron); len(f) != 7 {
		c.failf(lineOf(n, l), path+".cronExpression", "%q has %d fields; SCF timers take 7: sec min hour day month week year (e.g. '0 */1 * * * * *')", cron, len(f))
		return nil
	}
	t.Cron = cron
	if n, l := field(p, "enable"); n.absent() {
		c.warnf(path+".enable", "not set: the toolkit creates the timer disabled (CLOSE); set enable: true")
	} else {
		t.Enabled, _ = c.boolean(n, l, path+".enable")
	}
	if n, l := field(p, "argument"); !n.absent() {
		if n.kind != scalarKind {
			c.failf(lineOf(n, l), path+".argument", "must be a string (quote JSON: argument: '{\"min\":1}'), not a %s", kindName(n))
		} else {
			t.Argument = n.jsString()
			if len(t.Argument) > maxArgumentBytes {
				c.failf(lineOf(n, l), path+".argument", "%d bytes; allowed: at most %d bytes (4 KB)", len(t.Argument), maxArgumentBytes)
			}
		}
	}
	return t
}

func (c *checker) functionURL(p *node, path string) HTTPTrigger {
	c.checkKeys(p, path, []string{"name", "qualifier", "authType", "netConfig", "corsConfig"}, "")
	h := HTTPTrigger{Kind: KindHTTP, Name: "url-trigger", Qualifier: defaultQualifier, AuthType: "NONE"}
	if n, l := field(p, "name"); !n.absent() {
		if s, ok := c.str(n, l, path+".name"); ok && s != "" {
			h.Name = s
		}
	}
	if n, l := field(p, "qualifier"); !n.absent() {
		if s, ok := c.str(n, l, path+".qualifier"); ok && s != "" {
			h.Qualifier = s
		}
	}
	if n, l := field(p, "authType"); !n.absent() {
		s, _ := c.str(n, l, path+".authType")
		switch s {
		case "NONE", "CAM":
			h.AuthType = s
		default:
			c.failf(lineOf(n, l), path+".authType", "%q is not allowed; allowed: NONE, CAM", s)
		}
	}
	if n, l := field(p, "netConfig"); !n.absent() {
		if nc, ok := c.mapping(n, l, path+".netConfig"); ok {
			c.checkKeys(nc, path+".netConfig", []string{"enableIntranet", "enableExtranet"}, "")
			en, el := field(nc, "enableExtranet")
			h.EnableExtranet, _ = c.boolean(en, el, path+".netConfig.enableExtranet")
			in, il := field(nc, "enableIntranet")
			h.EnableIntranet, _ = c.boolean(in, il, path+".netConfig.enableIntranet")
		}
	}
	if !h.EnableExtranet && !h.EnableIntranet {
		c.warnf(path+".netConfig", "neither enableExtranet nor enableIntranet is true (both default to false), so SCF serves this URL nowhere; localcloud serves it anyway")
	}
	return h
}

var apigwMethods = []string{"ANY", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}

func (c *checker) apigw(p *node, path, name string) HTTPTrigger {
	c.warnf(path, "SCF no longer lets anyone create API Gateway triggers (since 2024-07-01) and retires existing ones; use a Function URL (events: - http:)")
	h := HTTPTrigger{Kind: KindAPIGW, Name: name, Qualifier: defaultQualifier}
	if n, l := field(p, "serviceName"); !n.absent() {
		if s, ok := c.str(n, l, path+".serviceName"); ok && !serviceNameRE.MatchString(s) {
			c.failf(lineOf(n, l), path+".serviceName", "%q is not allowed: letters, digits and _ only, starting with a letter, at most 50 characters (%s)", s, serviceNameRE)
		}
	}
	if n, l := field(p, "protocols"); !n.absent() {
		if s, ok := c.sequence(n, l, path+".protocols"); ok {
			for i, it := range s.items {
				if v, _ := c.str(it, l, fmt.Sprintf("%s.protocols[%d]", path, i)); v != "http" && v != "https" {
					c.failf(lineOf(it, l), fmt.Sprintf("%s.protocols[%d]", path, i), "%q is not allowed; allowed: http, https", v)
				}
			}
		}
	}
	if n, l := field(p, "environment"); !n.absent() {
		if s, _ := c.str(n, l, path+".environment"); s != "release" && s != "test" && s != "prepub" {
			c.failf(lineOf(n, l), path+".environment", "%q is not allowed; allowed: release, test, prepub", s)
		}
	}
	n, l := field(p, "endpoints")
	eps, ok := c.sequence(n, l, path+".endpoints")
	if !ok {
		// The toolkit's default when endpoints is missing.
		h.Paths = []APIGWEndpoint{{Path: "/", Method: "ANY", Qualifier: defaultQualifier}}
		return h
	}
	for i, it := range eps.items {
		ep := fmt.Sprintf("%s.endpoints[%d]", path, i)
		m, ok := c.mapping(it, l, ep)
		if !ok {
			if it.absent() {
				c.failf(lineOf(it, l), ep, "must be a mapping {path, method, ...}")
			}
			continue
		}
		e := APIGWEndpoint{Method: "ANY", Qualifier: defaultQualifier}
		pn, pl := field(m, "path")
		e.Path, _ = c.str(pn, pl, ep+".path")
		if !strings.HasPrefix(e.Path, "/") {
			c.failf(lineOf(pn, pl), ep+".path", "required: a path starting with / (e.g. path: /)")
		}
		if mn, ml := field(m, "method"); !mn.absent() {
			s, _ := c.str(mn, ml, ep+".method")
			if u := strings.ToUpper(s); slices.Contains(apigwMethods, u) {
				e.Method = u
			} else {
				c.failf(lineOf(mn, ml), ep+".method", "%q is not allowed; allowed: %s", s, strings.Join(apigwMethods, ", "))
			}
		}
		if fnn, fl := field(m, "function"); !fnn.absent() {
			if f, ok := c.mapping(fnn, fl, ep+".function"); ok {
				in, il := field(f, "isIntegratedResponse")
				e.IntegratedResponse, _ = c.boolean(in, il, ep+".function.isIntegratedResponse")
				if qn, ql := field(f, "functionQualifier"); !qn.absent() {
					if s, ok := c.str(qn, ql, ep+".function.functionQualifier"); ok && s != "" {
						e.Qualifier = s
					}
				}
			}
		}
		h.Paths = append(h.Paths, e)
	}
	if len(h.Paths) > 0 {
		h.Qualifier = h.Paths[0].Qualifier
	}
	return h
}

// isTrue reports whether n is the boolean true; type errors are reported
// where boolInputs are checked.
func isTrue(n *node) bool {
	if n.absent() || n.kind != scalarKind {
		return false
	}
	var b bool
	y := n.scalarNode()
	return y.ShortTag() == "!!bool" && y.Decode(&b) == nil && b
}
