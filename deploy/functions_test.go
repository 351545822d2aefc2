package deploy_test

import (
	"maps"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// The gateway's web variant deploys the same binary with the same
// configuration; only the function type and the timeout differ.
func TestGatewayVariantsShareConfiguration(t *testing.T) {
	type file struct {
		Inputs struct {
			Src struct {
				Src string `yaml:"src"`
			} `yaml:"src"`
			Type        string `yaml:"type"`
			Role        string `yaml:"role"`
			Region      string `yaml:"region"`
			Environment struct {
				Variables map[string]string `yaml:"variables"`
			} `yaml:"environment"`
		} `yaml:"inputs"`
	}
	read := func(path string) file {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f file
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return f
	}
	event := read("../fn-gateway/serverless.yml")
	web := read("../fn-gateway-web/serverless.yml")
	if web.Inputs.Type != "web" || event.Inputs.Type != "" {
		t.Errorf("types: gateway %q, gateway-web %q; want event (unset) and web", event.Inputs.Type, web.Inputs.Type)
	}
	if event.Inputs.Src.Src != "../functions/gateway/dist" || web.Inputs.Src.Src != event.Inputs.Src.Src {
		t.Errorf("src: gateway %q, gateway-web %q; want both ../functions/gateway/dist (one build)", event.Inputs.Src.Src, web.Inputs.Src.Src)
	}
	if event.Inputs.Region != web.Inputs.Region {
		t.Errorf("regions differ: %q and %q", event.Inputs.Region, web.Inputs.Region)
	}
	// The backend timeout follows each function's own timeout (a web
	// function streams for longer), and the burst each instance's
	// concurrency (a web instance serves many requests at once);
	// everything else is shared.
	ev, wv := maps.Clone(event.Inputs.Environment.Variables), maps.Clone(web.Inputs.Environment.Variables)
	for _, perShape := range []string{"SCFGATE_GATEWAY_TIMEOUT", "SCFGATE_GATEWAY_LIMITS_GLOBAL_BURST"} {
		delete(ev, perShape)
		delete(wv, perShape)
	}
	if !maps.Equal(ev, wv) {
		t.Errorf("environment differs:\ngateway     %v\ngateway-web %v", event.Inputs.Environment.Variables, web.Inputs.Environment.Variables)
	}
}
