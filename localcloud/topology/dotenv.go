package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// loadDotEnv reads the one .env file the components CLI would load for a
// run in dir: the first of .env.<stage>, .env, ../.env.<stage>, ../.env,
// ../../.env.<stage>, ../../.env that exists. It returns no values and ""
// when there is none.
func loadDotEnv(dir, stage string) (map[string]string, string, error) {
	for _, d := range []string{dir, filepath.Join(dir, ".."), filepath.Join(dir, "..", "..")} {
		for _, name := range []string{".env." + stage, ".env"} {
			p := filepath.Join(d, name)
			data, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				if st, serr := os.Stat(p); serr == nil && st.IsDir() {
					continue
				}
				return nil, "", fmt.Errorf("topology: %w", err)
			}
			return parseDotEnv(string(data)), p, nil
		}
	}
	return nil, "", nil
}

var dotEnvLineRE = regexp.MustCompile(`^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$`)

// parseDotEnv reads KEY=VALUE lines the way the dotenv package does:
// blank lines and lines starting with # are skipped, a value in matching
// quotes is unquoted, and "\n" in a double-quoted value is a newline. Like
// the dotenv version the CLI bundles, it has no inline comments.
func parseDotEnv(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		m := dotEnvLineRE.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		v := m[2]
		if n := len(v); n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n-1] == v[0] {
			dq := v[0] == '"'
			v = v[1 : n-1]
			if dq {
				v = strings.ReplaceAll(v, `\n`, "\n")
			}
		}
		out[m[1]] = v // a repeated key: the last wins, as in dotenv.parse

	}
	return out
}

// withDotEnv looks names up in env first: dotenv never overrides a
// variable the process already has.
func withDotEnv(env func(string) (string, bool), file map[string]string) func(string) (string, bool) {
	if len(file) == 0 {
		return env
	}
	return func(name string) (string, bool) {
		if env != nil {
			if v, ok := env(name); ok {
				return v, true
			}
		}
		v, ok := file[name]
		return v, ok
	}
}
